/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-envelope"

#include "rfl-envelope.h"

#include <gio/gio.h>
#include <sodium.h>
#include <string.h>
#include <glib/gi18n-lib.h>

/*
 * The envelope that carries a bundle over HTTP or on a USB stick. The exact
 * bytes are specified in docs/PROTOCOL.md; in short:
 *
 *   header  = fixed part, recipients, Ed25519 signature over all before it
 *   payload = XChaCha20-Poly1305 secretstream of the zlib-compressed bundle,
 *             in 64 KiB chunks, the last tagged FINAL
 *
 * A receiver checks sizes, then the signature, then the chain, then the
 * payload hash, and only then decrypts and inflates (with a size cap).
 */

#define MAGIC          "RFLE"
#define VERSION        1
#define SUITE          1
#define FIXED_BYTES    130
#define SEALED_BYTES   (crypto_box_SEALBYTES + crypto_secretstream_xchacha20poly1305_KEYBYTES)
#define RCPT_BYTES     (RFL_ENVELOPE_ID_BYTES + SEALED_BYTES)
#define SIG_BYTES      crypto_sign_BYTES
#define CHUNK_BYTES    65536
#define CHUNK_OVERHEAD crypto_secretstream_xchacha20poly1305_ABYTES
#define STREAM_HEADER  crypto_secretstream_xchacha20poly1305_HEADERBYTES

G_STATIC_ASSERT (RCPT_BYTES == 96);

struct _RflEnvelope
{
  GObject  parent_instance;

  GBytes  *data;
  gsize    header_len;
  guint8   sender[RFL_ENVELOPE_ID_BYTES];
  guint8   stream[RFL_ENVELOPE_ID_BYTES];
  guint64  seq_from;
  guint64  seq_to;
  guint8   prev_hash[RFL_ENVELOPE_HASH_BYTES];
  guint64  payload_len;
  guint8   payload_hash[RFL_ENVELOPE_HASH_BYTES];
  guint    n_recipients;
  guint8   hash[RFL_ENVELOPE_HASH_BYTES];
  gboolean verified;
};

G_DEFINE_FINAL_TYPE (RflEnvelope, rfl_envelope, G_TYPE_OBJECT)

G_DEFINE_QUARK (rfl-sync-error-quark, rfl_sync_error)

static void
put_u16 (guint8 *p, guint16 v)
{
  p[0] = v >> 8;
  p[1] = v;
}

static void
put_u64 (guint8 *p, guint64 v)
{
  for (int i = 7; i >= 0; i--, v >>= 8)
    p[i] = v & 0xff;
}

static guint16
get_u16 (const guint8 *p)
{
  return (guint16) (p[0] << 8 | p[1]);
}

static guint64
get_u64 (const guint8 *p)
{
  guint64 v = 0;

  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

static GBytes *
zlib_convert (GBytes        *input,
              GConverter    *converter,
              gsize          limit,
              GError       **error)
{
  g_autoptr(GByteArray) out = g_byte_array_new ();
  static const guint8 nothing[1];
  const guint8 *in = g_bytes_get_size (input) > 0 ? g_bytes_get_data (input, NULL) : nothing;
  gsize in_left = g_bytes_get_size (input);
  guint8 buf[CHUNK_BYTES];
  GConverterResult result;

  do
    {
      gsize read = 0, written = 0;

      result = g_converter_convert (converter, in, in_left, buf, sizeof buf,
                                    G_CONVERTER_INPUT_AT_END, &read, &written, error);
      if (result == G_CONVERTER_ERROR)
        return NULL;
      in += read;
      in_left -= read;
      if (out->len + written > limit)
        {
          g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_TOO_LARGE,
                       _("the bundle is larger than %zu bytes"), limit);
          return NULL;
        }
      g_byte_array_append (out, buf, written);
    }
  while (result != G_CONVERTER_FINISHED);

  /* One zlib stream and nothing after it: bytes the reader would ignore
   * are bytes a second reader might not. */
  if (in_left != 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("bytes follow the compressed bundle"));
      return NULL;
    }
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

static void
blake2b (const guint8 *data,
         gsize         len,
         guint8        out[RFL_ENVELOPE_HASH_BYTES])
{
  crypto_generichash (out, RFL_ENVELOPE_HASH_BYTES, data, len, NULL, 0);
}

/**
 * rfl_envelope_seal:
 * @sender: the sending device's id (16 bytes)
 * @stream: the stream id (16 bytes)
 * @seq_from: the first journal seq in the bundle
 * @seq_to: the last journal seq in the bundle
 * @prev_hash: (nullable): hash of the stream's previous envelope, %NULL for the first
 * @recipients: (array length=n_recipients): who can open it
 * @n_recipients: how many, 1 to %RFL_ENVELOPE_MAX_RECIPIENTS
 * @sign_sk: the sender's Ed25519 secret key
 * @plaintext: the bundle
 * @error: return location for an error
 *
 * Returns: (transfer full): the envelope's bytes
 */
GBytes *
rfl_envelope_seal (const guint8               *sender,
                   const guint8               *stream,
                   guint64                     seq_from,
                   guint64                     seq_to,
                   const guint8               *prev_hash,
                   const RflEnvelopeRecipient *recipients,
                   guint                       n_recipients,
                   const guint8               *sign_sk,
                   GBytes                     *plaintext,
                   GError                    **error)
{
  g_autoptr(GZlibCompressor) compressor = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB, 6);
  g_autoptr(GBytes) compressed = NULL;
  g_autoptr(GByteArray) out = NULL;
  crypto_secretstream_xchacha20poly1305_state state;
  guint8 *file_key;
  const guint8 *in;
  gsize header_len, in_len, payload_len, n_chunks;
  guint8 *h, *payload;

  g_return_val_if_fail (sender != NULL && stream != NULL && sign_sk != NULL, NULL);
  g_return_val_if_fail (recipients != NULL || n_recipients == 0, NULL);
  g_return_val_if_fail (plaintext != NULL, NULL);

  if (n_recipients == 0 || n_recipients > RFL_ENVELOPE_MAX_RECIPIENTS)
    {
      g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_TOO_LARGE,
                   _("an envelope has 1 to %d recipients, not %u"), RFL_ENVELOPE_MAX_RECIPIENTS, n_recipients);
      return NULL;
    }
  for (guint i = 1; i < n_recipients; i++)
    for (guint j = 0; j < i; j++)
      if (memcmp (recipients[i].id, recipients[j].id, RFL_ENVELOPE_ID_BYTES) == 0)
        {
          g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED, _("a recipient is named twice"));
          return NULL;
        }
  if (g_bytes_get_size (plaintext) > RFL_ENVELOPE_MAX_PLAINTEXT ||
      (compressed = zlib_convert (plaintext, G_CONVERTER (compressor), RFL_ENVELOPE_MAX_PAYLOAD, error)) == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_TOO_LARGE, _("the bundle is too large"));
      return NULL;
    }

  in = g_bytes_get_data (compressed, &in_len);
  n_chunks = in_len / CHUNK_BYTES + 1;
  payload_len = STREAM_HEADER + in_len + n_chunks * CHUNK_OVERHEAD;
  header_len = FIXED_BYTES + n_recipients * RCPT_BYTES + SIG_BYTES;

  out = g_byte_array_sized_new (header_len + payload_len);
  g_byte_array_set_size (out, header_len + payload_len);
  h = out->data;
  payload = out->data + header_len;

  /* Payload first: the header carries its hash. */
  file_key = sodium_malloc (crypto_secretstream_xchacha20poly1305_KEYBYTES);
  crypto_secretstream_xchacha20poly1305_keygen (file_key);
  crypto_secretstream_xchacha20poly1305_init_push (&state, payload, file_key);
  {
    guint8 *c = payload + STREAM_HEADER;

    for (gsize i = 0; i < n_chunks; i++)
      {
        gsize n = MIN (CHUNK_BYTES, in_len - i * CHUNK_BYTES);
        guint8 tag = i + 1 == n_chunks ? crypto_secretstream_xchacha20poly1305_TAG_FINAL : 0;

        crypto_secretstream_xchacha20poly1305_push (&state, c, NULL, in + i * CHUNK_BYTES, n, NULL, 0, tag);
        c += n + CHUNK_OVERHEAD;
      }
    g_assert (c == payload + payload_len);
  }
  sodium_memzero (&state, sizeof state);

  memcpy (h, MAGIC, 4);
  h[4] = VERSION;
  h[5] = SUITE;
  put_u16 (h + 6, header_len);
  memcpy (h + 8, sender, RFL_ENVELOPE_ID_BYTES);
  memcpy (h + 24, stream, RFL_ENVELOPE_ID_BYTES);
  put_u64 (h + 40, seq_from);
  put_u64 (h + 48, seq_to);
  if (prev_hash != NULL)
    memcpy (h + 56, prev_hash, RFL_ENVELOPE_HASH_BYTES);
  else
    memset (h + 56, 0, RFL_ENVELOPE_HASH_BYTES);
  put_u64 (h + 88, payload_len);
  blake2b (payload, payload_len, h + 96);
  put_u16 (h + 128, n_recipients);
  for (guint i = 0; i < n_recipients; i++)
    {
      guint8 *r = h + FIXED_BYTES + i * RCPT_BYTES;

      memcpy (r, recipients[i].id, RFL_ENVELOPE_ID_BYTES);
      crypto_box_seal (r + RFL_ENVELOPE_ID_BYTES, file_key, crypto_secretstream_xchacha20poly1305_KEYBYTES,
                       recipients[i].box_pk);
    }
  sodium_free (file_key);
  crypto_sign_detached (h + header_len - SIG_BYTES, NULL, h, header_len - SIG_BYTES, sign_sk);

  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

static gboolean
malformed (GError     **error,
           const char  *what)
{
  g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED, _("not a Reunite envelope: %s"), what);
  return FALSE;
}

/**
 * rfl_envelope_parse:
 * @data: bytes received
 * @error: return location for an error
 *
 * Checks the sizes and layout of an envelope, and nothing else: its fields
 * are not to be trusted until rfl_envelope_verify() succeeds.
 *
 * Returns: (transfer full): the envelope, or %NULL if malformed
 */
RflEnvelope *
rfl_envelope_parse (GBytes  *data,
                    GError **error)
{
  g_autoptr(RflEnvelope) self = NULL;
  const guint8 *h;
  gsize len;
  guint n;

  g_return_val_if_fail (data != NULL, NULL);

  h = g_bytes_get_data (data, &len);
  if (len > (gsize) FIXED_BYTES + RFL_ENVELOPE_MAX_RECIPIENTS * RCPT_BYTES + SIG_BYTES + RFL_ENVELOPE_MAX_PAYLOAD)
    {
      g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_TOO_LARGE,
                   _("the envelope is larger than %d MiB"), RFL_ENVELOPE_MAX_PAYLOAD >> 20);
      return NULL;
    }
  if (len < FIXED_BYTES + SIG_BYTES || memcmp (h, MAGIC, 4) != 0)
    {
      malformed (error, "no envelope header");
      return NULL;
    }
  if (h[4] != VERSION || h[5] != SUITE)
    {
      g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_UNSUPPORTED,
                   _("envelope format %u suite %u is not supported by this Reunite"), h[4], h[5]);
      return NULL;
    }

  self = g_object_new (RFL_TYPE_ENVELOPE, NULL);
  self->header_len = get_u16 (h + 6);
  n = get_u16 (h + 128);
  self->payload_len = get_u64 (h + 88);
  if (n == 0 || n > RFL_ENVELOPE_MAX_RECIPIENTS ||
      self->header_len != FIXED_BYTES + n * RCPT_BYTES + SIG_BYTES)
    {
      malformed (error, "the recipient list does not match the header length");
      return NULL;
    }
  if (self->header_len > len || self->payload_len != len - self->header_len ||
      self->payload_len < STREAM_HEADER + CHUNK_OVERHEAD)
    {
      malformed (error, "the payload length does not match the envelope size");
      return NULL;
    }

  for (guint i = 1; i < n; i++)
    for (guint j = 0; j < i; j++)
      if (memcmp (h + FIXED_BYTES + i * RCPT_BYTES, h + FIXED_BYTES + j * RCPT_BYTES, RFL_ENVELOPE_ID_BYTES) == 0)
        {
          malformed (error, "a recipient is named twice");
          return NULL;
        }

  self->data = g_bytes_ref (data);
  self->n_recipients = n;
  memcpy (self->sender, h + 8, RFL_ENVELOPE_ID_BYTES);
  memcpy (self->stream, h + 24, RFL_ENVELOPE_ID_BYTES);
  self->seq_from = get_u64 (h + 40);
  self->seq_to = get_u64 (h + 48);
  memcpy (self->prev_hash, h + 56, RFL_ENVELOPE_HASH_BYTES);
  memcpy (self->payload_hash, h + 96, RFL_ENVELOPE_HASH_BYTES);
  blake2b (h, self->header_len, self->hash);
  if (self->seq_to < self->seq_from)
    {
      malformed (error, "the sequence range is reversed");
      return NULL;
    }
  return g_steal_pointer (&self);
}

/**
 * rfl_envelope_verify:
 * @self: a parsed envelope
 * @sign_pk: the Ed25519 public key of the device it claims to come from
 * @error: return location for an error
 *
 * Checks the header's signature, then that the payload matches the signed
 * hash. Nothing of the payload is decrypted or parsed.
 */
gboolean
rfl_envelope_verify (RflEnvelope  *self,
                     const guint8 *sign_pk,
                     GError      **error)
{
  const guint8 *h;
  guint8 hash[RFL_ENVELOPE_HASH_BYTES];

  g_return_val_if_fail (RFL_IS_ENVELOPE (self), FALSE);
  g_return_val_if_fail (sign_pk != NULL, FALSE);

  h = g_bytes_get_data (self->data, NULL);
  if (crypto_sign_verify_detached (h + self->header_len - SIG_BYTES, h, self->header_len - SIG_BYTES,
                                   sign_pk) != 0)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_BAD_SIGNATURE,
                           _("the envelope's signature does not match its sender"));
      return FALSE;
    }
  blake2b (h + self->header_len, self->payload_len, hash);
  if (sodium_memcmp (hash, self->payload_hash, sizeof hash) != 0)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_CORRUPT_PAYLOAD,
                           _("the envelope's payload was changed or cut short"));
      return FALSE;
    }
  self->verified = TRUE;
  return TRUE;
}

/**
 * rfl_envelope_check_chain:
 * @self: a verified envelope
 * @next_seq: the seq the receiver expects next on this stream
 * @prev_hash: (nullable): the hash of the last envelope applied from this
 *   stream, %NULL if none
 * @error: return location for an error
 *
 * Refuses replays, gaps and forks: the envelope must start at @next_seq and
 * name @prev_hash as its predecessor.
 */
gboolean
rfl_envelope_check_chain (RflEnvelope  *self,
                          guint64       next_seq,
                          const guint8 *prev_hash,
                          GError      **error)
{
  static const guint8 zero[RFL_ENVELOPE_HASH_BYTES];

  g_return_val_if_fail (RFL_IS_ENVELOPE (self), FALSE);
  g_return_val_if_fail (self->verified, FALSE);

  if (self->seq_from != next_seq)
    {
      if (self->seq_from < next_seq)
        g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_CHAIN,
                     _("the envelope starts at seq %llu, already applied; %llu was expected"),
                     (unsigned long long) self->seq_from, (unsigned long long) next_seq);
      else
        g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_CHAIN,
                     _("the envelope starts at seq %llu, a gap before it; %llu was expected"),
                     (unsigned long long) self->seq_from, (unsigned long long) next_seq);
      return FALSE;
    }
  if (sodium_memcmp (self->prev_hash, prev_hash != NULL ? prev_hash : zero, RFL_ENVELOPE_HASH_BYTES) != 0)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_CHAIN,
                           _("the envelope does not follow the last one received from this stream"));
      return FALSE;
    }
  return TRUE;
}

/**
 * rfl_envelope_open:
 * @self: a verified envelope
 * @my_id: this device's id (16 bytes)
 * @box_pk: this device's X25519 public key
 * @box_sk: this device's X25519 secret key
 * @error: return location for an error
 *
 * Decrypts and inflates the payload, at most %RFL_ENVELOPE_MAX_PLAINTEXT bytes.
 *
 * Returns: (transfer full): the bundle, or %NULL on error
 */
GBytes *
rfl_envelope_open (RflEnvelope  *self,
                   const guint8 *my_id,
                   const guint8 *box_pk,
                   const guint8 *box_sk,
                   GError      **error)
{
  g_autoptr(GZlibDecompressor) decompressor = g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB);
  g_autoptr(GByteArray) compressed = NULL;
  g_autoptr(GBytes) compressed_bytes = NULL;
  g_autoptr(GError) local_error = NULL;
  crypto_secretstream_xchacha20poly1305_state state;
  const guint8 *h, *c, *end;
  const guint8 *sealed = NULL;
  guint8 *file_key;
  gboolean final = FALSE;
  GBytes *out;

  g_return_val_if_fail (RFL_IS_ENVELOPE (self), NULL);
  g_return_val_if_fail (self->verified, NULL);

  h = g_bytes_get_data (self->data, NULL);
  for (guint i = 0; i < self->n_recipients; i++)
    if (memcmp (h + FIXED_BYTES + i * RCPT_BYTES, my_id, RFL_ENVELOPE_ID_BYTES) == 0)
      sealed = h + FIXED_BYTES + i * RCPT_BYTES + RFL_ENVELOPE_ID_BYTES;

  file_key = sodium_malloc (crypto_secretstream_xchacha20poly1305_KEYBYTES);
  if (sealed == NULL || crypto_box_seal_open (file_key, sealed, SEALED_BYTES, box_pk, box_sk) != 0)
    {
      sodium_free (file_key);
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_NOT_RECIPIENT,
                           _("the envelope is not addressed to this device"));
      return NULL;
    }

  c = h + self->header_len;
  end = c + self->payload_len;
  if (crypto_secretstream_xchacha20poly1305_init_pull (&state, c, file_key) != 0)
    {
      sodium_free (file_key);
      goto corrupt;
    }
  sodium_free (file_key);
  c += STREAM_HEADER;

  compressed = g_byte_array_sized_new (self->payload_len);
  while (c < end && !final)
    {
      gsize n = MIN ((gsize) (end - c), CHUNK_BYTES + CHUNK_OVERHEAD);
      guint8 buf[CHUNK_BYTES];
      unsigned long long plain_len = 0;
      guint8 tag = 0;

      if (n < CHUNK_OVERHEAD ||
          crypto_secretstream_xchacha20poly1305_pull (&state, buf, &plain_len, &tag, c, n, NULL, 0) != 0)
        goto corrupt;
      g_byte_array_append (compressed, buf, plain_len);
      final = tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL;
      c += n;
    }
  /* Truncation shows as a missing final tag, padding as bytes after it. */
  if (!final || c != end)
    goto corrupt;
  sodium_memzero (&state, sizeof state);

  compressed_bytes = g_byte_array_free_to_bytes (g_steal_pointer (&compressed));
  out = zlib_convert (compressed_bytes, G_CONVERTER (decompressor), RFL_ENVELOPE_MAX_PLAINTEXT, &local_error);
  if (out == NULL)
    {
      if (g_error_matches (local_error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_TOO_LARGE))
        g_propagate_error (error, g_steal_pointer (&local_error));
      else
        g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_CORRUPT_PAYLOAD,
                     _("the envelope's payload does not inflate: %s"), local_error->message);
    }
  return out;

corrupt:
  sodium_memzero (&state, sizeof state);
  g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_CORRUPT_PAYLOAD,
                       _("the envelope's payload does not decrypt"));
  return NULL;
}

static void
rfl_envelope_finalize (GObject *object)
{
  RflEnvelope *self = (RflEnvelope *) object;

  g_clear_pointer (&self->data, g_bytes_unref);

  G_OBJECT_CLASS (rfl_envelope_parent_class)->finalize (object);
}

static void
rfl_envelope_class_init (RflEnvelopeClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rfl_envelope_finalize;

  if (sodium_init () < 0)
    g_error ("libsodium could not be initialised");
}

static void
rfl_envelope_init (RflEnvelope *self)
{
}

const guint8 *
rfl_envelope_get_sender (RflEnvelope *self)
{
  g_return_val_if_fail (RFL_IS_ENVELOPE (self), NULL);
  return self->sender;
}

const guint8 *
rfl_envelope_get_stream (RflEnvelope *self)
{
  g_return_val_if_fail (RFL_IS_ENVELOPE (self), NULL);
  return self->stream;
}

guint64
rfl_envelope_get_seq_from (RflEnvelope *self)
{
  g_return_val_if_fail (RFL_IS_ENVELOPE (self), 0);
  return self->seq_from;
}

guint64
rfl_envelope_get_seq_to (RflEnvelope *self)
{
  g_return_val_if_fail (RFL_IS_ENVELOPE (self), 0);
  return self->seq_to;
}

/**
 * rfl_envelope_get_hash:
 *
 * Returns: BLAKE2b-256 of the whole header, signature included: what the
 *   stream's next envelope names as its predecessor
 */
const guint8 *
rfl_envelope_get_hash (RflEnvelope *self)
{
  g_return_val_if_fail (RFL_IS_ENVELOPE (self), NULL);
  return self->hash;
}

guint
rfl_envelope_get_n_recipients (RflEnvelope *self)
{
  g_return_val_if_fail (RFL_IS_ENVELOPE (self), 0);
  return self->n_recipients;
}

gboolean
rfl_envelope_is_verified (RflEnvelope *self)
{
  g_return_val_if_fail (RFL_IS_ENVELOPE (self), FALSE);
  return self->verified;
}
