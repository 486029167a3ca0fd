/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-keyfile"

#include "rfl-keyfile-private.h"
#include "rfl-error.h"
#include "rfl-file.h"
#include "rfl-json.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <sodium.h>
#include <string.h>
#include <glib/gi18n-lib.h>

/*
 * The key file sits beside the database and holds the data key wrapped
 * (XChaCha20-Poly1305) under a key derived from the passphrase with Argon2id.
 * The KDF parameters are stored in the file and bound to the ciphertext as
 * associated data, so they can be raised later and cannot be swapped silently.
 * Deleting this file makes the database permanently unreadable.
 */
#define KEYFILE_FORMAT    "reunite-key-v1"
#define KEYFILE_MAX_BYTES 4096
#define KEK_BYTES         crypto_aead_xchacha20poly1305_ietf_KEYBYTES

guint8 *
rfl_keyfile_new_data_key (void)
{
  guint8 *key = sodium_malloc (RFL_DATA_KEY_BYTES);

  if (key == NULL)
    g_error ("cannot allocate protected memory for the data key");
  randombytes_buf (key, RFL_DATA_KEY_BYTES);
  return key;
}

void
rfl_keyfile_free_key (guint8 *key)
{
  /* sodium_free wipes the buffer before releasing it. */
  if (key != NULL)
    sodium_free (key);
}

static void
kdf_limits (RflKdfLevel  level,
            guint64     *ops,
            gsize       *mem)
{
  switch (level)
    {
    case RFL_KDF_INTERACTIVE:
      *ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
      *mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
      break;
    case RFL_KDF_SENSITIVE:
      *ops = crypto_pwhash_OPSLIMIT_SENSITIVE;
      *mem = crypto_pwhash_MEMLIMIT_SENSITIVE;
      break;
    case RFL_KDF_MODERATE:
    default:
      *ops = crypto_pwhash_OPSLIMIT_MODERATE;
      *mem = crypto_pwhash_MEMLIMIT_MODERATE;
      break;
    }
}

static char *
associated_data (guint64       ops,
                 gsize         mem,
                 const guint8 *salt)
{
  g_autofree char *salt_b64 = g_base64_encode (salt, crypto_pwhash_SALTBYTES);

  return g_strdup_printf ("%s|argon2id13|%" G_GUINT64_FORMAT "|%" G_GSIZE_FORMAT "|%s",
                          KEYFILE_FORMAT, ops, mem, salt_b64);
}

static guint8 *
derive_kek (const char   *passphrase,
            gsize         passphrase_len,
            const guint8 *salt,
            guint64       ops,
            gsize         mem,
            GError      **error)
{
  guint8 *kek = sodium_malloc (KEK_BYTES);

  if (kek == NULL)
    g_error ("cannot allocate protected memory for the key-encryption key");
  if (crypto_pwhash (kek, KEK_BYTES, passphrase, passphrase_len, salt, ops, mem,
                     crypto_pwhash_ALG_ARGON2ID13) != 0)
    {
      sodium_free (kek);
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_IO,
                   _("not enough memory to derive the key (Argon2id needs %zu MiB)"),
                   mem >> 20);
      return NULL;
    }
  return kek;
}

gboolean
rfl_keyfile_write (const char    *path,
                   const guint8  *data_key,
                   const char    *passphrase,
                   gsize          passphrase_len,
                   RflKdfLevel    level,
                   GError       **error)
{
  guint8 salt[crypto_pwhash_SALTBYTES];
  guint8 nonce[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES];
  guint8 wrapped[RFL_DATA_KEY_BYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES];
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) gen = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GError) local_error = NULL;
  g_autofree char *ad = NULL;
  g_autofree char *salt_b64 = NULL, *nonce_b64 = NULL, *wrapped_b64 = NULL;
  g_autofree char *text = NULL;
  guint8 *kek;
  guint64 ops;
  gsize mem;

  kdf_limits (level, &ops, &mem);
  randombytes_buf (salt, sizeof salt);
  randombytes_buf (nonce, sizeof nonce);

  if ((kek = derive_kek (passphrase, passphrase_len, salt, ops, mem, error)) == NULL)
    return FALSE;
  ad = associated_data (ops, mem, salt);
  crypto_aead_xchacha20poly1305_ietf_encrypt (wrapped, NULL, data_key, RFL_DATA_KEY_BYTES,
                                              (const guint8 *) ad, strlen (ad), NULL, nonce, kek);
  sodium_free (kek);

  salt_b64 = g_base64_encode (salt, sizeof salt);
  nonce_b64 = g_base64_encode (nonce, sizeof nonce);
  wrapped_b64 = g_base64_encode (wrapped, sizeof wrapped);

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "format");
  json_builder_add_string_value (builder, KEYFILE_FORMAT);
  json_builder_set_member_name (builder, "kdf");
  json_builder_add_string_value (builder, "argon2id13");
  json_builder_set_member_name (builder, "opslimit");
  json_builder_add_int_value (builder, ops);
  json_builder_set_member_name (builder, "memlimit");
  json_builder_add_int_value (builder, mem);
  json_builder_set_member_name (builder, "salt");
  json_builder_add_string_value (builder, salt_b64);
  json_builder_set_member_name (builder, "aead");
  json_builder_add_string_value (builder, "xchacha20poly1305-ietf");
  json_builder_set_member_name (builder, "nonce");
  json_builder_add_string_value (builder, nonce_b64);
  json_builder_set_member_name (builder, "wrapped_key");
  json_builder_add_string_value (builder, wrapped_b64);
  json_builder_end_object (builder);

  root = json_builder_get_root (builder);
  json_generator_set_root (gen, root);
  json_generator_set_pretty (gen, TRUE);
  text = json_generator_to_data (gen, NULL);

  /* Consistent and durable: a crash leaves either the old or the new file, never half of one. */
  if (!g_file_set_contents_full (path, text, -1,
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE,
                                 0600, &local_error))
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_IO,
                   _("cannot write the key file: %s"), local_error->message);
      return FALSE;
    }
  return TRUE;
}

G_STATIC_ASSERT (sizeof ((RflKeyfileParams *) 0)->salt == crypto_pwhash_SALTBYTES);
G_STATIC_ASSERT (sizeof ((RflKeyfileParams *) 0)->nonce == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
G_STATIC_ASSERT (sizeof ((RflKeyfileParams *) 0)->wrapped ==
                 RFL_DATA_KEY_BYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES);

/**
 * rfl_keyfile_parse:
 *
 * Reads a key file's contents: the format, the algorithm, Argon2id limits
 * within bounds (a doctored file must not make the program spin or
 * allocate without limit), and the salt, nonce and wrapped key at their
 * sizes. Nothing is derived or decrypted.
 *
 * Returns: whether @contents is a key file
 */
gboolean
rfl_keyfile_parse (const char       *contents,
                   gsize             len,
                   RflKeyfileParams *out)
{
  g_autoptr(JsonObject) obj = NULL;

  if (len > KEYFILE_MAX_BYTES || (obj = rfl_json_parse_object (contents, len, "the key file", NULL)) == NULL)
    return FALSE;
  if (g_strcmp0 (rfl_json_string_or (obj, "format", ""), KEYFILE_FORMAT) != 0 ||
      g_strcmp0 (rfl_json_string_or (obj, "kdf", ""), "argon2id13") != 0)
    return FALSE;

  out->ops = rfl_json_int_or (obj, "opslimit", 0);
  out->mem = rfl_json_int_or (obj, "memlimit", 0);
  if (out->ops < (gint64) crypto_pwhash_OPSLIMIT_MIN || out->ops > 64 ||
      out->mem < (gint64) crypto_pwhash_MEMLIMIT_INTERACTIVE || out->mem > ((gint64) 4 << 30))
    return FALSE;
  return rfl_json_get_base64 (obj, "salt", out->salt, sizeof out->salt) &&
         rfl_json_get_base64 (obj, "nonce", out->nonce, sizeof out->nonce) &&
         rfl_json_get_base64 (obj, "wrapped_key", out->wrapped, sizeof out->wrapped);
}

guint8 *
rfl_keyfile_unwrap (const char  *path,
                    const char  *passphrase,
                    gsize        passphrase_len,
                    GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  RflKeyfileParams p;
  const char *contents;
  g_autofree char *ad = NULL;
  guint8 *kek, *data_key;
  gsize len;

  /* A symlink to /dev/zero, or a file that keeps growing, is refused
   * while it is read. */
  if ((bytes = rfl_file_read (path, KEYFILE_MAX_BYTES, RFL_FILE_REGULAR, &local_error)) == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND, _("cannot read the key file %s: %s"), path,
                     g_strerror (ENOENT));
      else if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE))
        g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_CORRUPT,
                     _("the key file %s is too large to be a key file"), path);
      else
        g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_IO, _("cannot read the key file: %s"),
                     local_error->message);
      return NULL;
    }
  contents = g_bytes_get_data (bytes, &len);
  if (!rfl_keyfile_parse (contents != NULL ? contents : "", len, &p))
    goto corrupt;

  if ((kek = derive_kek (passphrase, passphrase_len, p.salt, (guint64) p.ops, (gsize) p.mem, error)) == NULL)
    return NULL;
  ad = associated_data ((guint64) p.ops, (gsize) p.mem, p.salt);
  data_key = sodium_malloc (RFL_DATA_KEY_BYTES);
  if (data_key == NULL)
    g_error ("cannot allocate protected memory for the data key");
  if (crypto_aead_xchacha20poly1305_ietf_decrypt (data_key, NULL, NULL, p.wrapped, sizeof p.wrapped,
                                                  (const guint8 *) ad, strlen (ad), p.nonce, kek) != 0)
    {
      sodium_free (kek);
      sodium_free (data_key);
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_WRONG_PASSPHRASE,
                           _("wrong passphrase"));
      return NULL;
    }
  sodium_free (kek);
  return data_key;

corrupt:
  g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_CORRUPT,
               _("the key file %s is damaged; restore it from a backup"), path);
  return NULL;
}

gboolean
rfl_keyfile_destroy (const char  *path,
                     GError     **error)
{
  guint8 noise[KEYFILE_MAX_BYTES];
  int fd;

  /* Overwrite in place before unlinking, so the wrapped key is not left in
   * free blocks on file systems that write in place. */
  randombytes_buf (noise, sizeof noise);
  fd = g_open (path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0);
  if (fd >= 0)
    {
      if (write (fd, noise, sizeof noise) == (ssize_t) sizeof noise)
        fsync (fd);
      g_close (fd, NULL);
    }
  if (g_unlink (path) != 0 && errno != ENOENT)
    {
      int saved = errno;
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_IO,
                   _("cannot remove the key file: %s"), g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}
