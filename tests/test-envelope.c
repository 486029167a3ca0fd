/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <gio/gio.h>
#include <sodium.h>
#include <string.h>

#include "rfl-envelope.h"
#include "rfl-test-util.h"

/* A device's keys, derived from a seed so that test vectors are repeatable. */
typedef struct
{
  guint8 id[RFL_ENVELOPE_ID_BYTES];
  guint8 sign_pk[crypto_sign_PUBLICKEYBYTES];
  guint8 sign_sk[crypto_sign_SECRETKEYBYTES];
  guint8 box_pk[crypto_box_PUBLICKEYBYTES];
  guint8 box_sk[crypto_box_SECRETKEYBYTES];
} Device;

static void
device_init (Device *d,
             guint8  seed_byte)
{
  guint8 seed[32];

  memset (seed, seed_byte, sizeof seed);
  crypto_sign_seed_keypair (d->sign_pk, d->sign_sk, seed);
  seed[0] ^= 0x80;
  crypto_box_seed_keypair (d->box_pk, d->box_sk, seed);
  /* As the store derives it: a hash of the signing key. */
  crypto_generichash (d->id, sizeof d->id, d->sign_pk, sizeof d->sign_pk, NULL, 0);
}

static RflEnvelopeRecipient
recipient_of (const Device *d)
{
  RflEnvelopeRecipient r;

  memcpy (r.id, d->id, sizeof r.id);
  memcpy (r.box_pk, d->box_pk, sizeof r.box_pk);
  return r;
}

typedef struct
{
  Device   office;   /* the sender */
  Device   hq;
  Device   other;    /* an enrolled device that is not a recipient */
  guint8   stream[RFL_ENVELOPE_ID_BYTES];
  GBytes  *plaintext;
  GBytes  *sealed;
} Fixture;

static GBytes *
bundle_text (guint n)
{
  GString *s = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    g_string_append_printf (s, "{\"seq\":%u,\"record\":\"6f1c1fb4-1111-4c8e-9a39-%012u\","
                               "\"changes\":{\"status\":\"tracing\",\"given_name\":\"Amina %u\"}}\n", i, i, i);
  return g_string_free_to_bytes (s);
}

static GBytes *
seal_for (Fixture      *f,
          const Device *signer,
          guint64       from,
          guint64       to,
          const guint8 *prev)
{
  RflEnvelopeRecipient rcpts[] = { recipient_of (&f->hq), recipient_of (&f->office) };
  g_autoptr(GError) error = NULL;
  GBytes *sealed = rfl_envelope_seal (f->office.id, f->stream, from, to, prev, rcpts, G_N_ELEMENTS (rcpts),
                                      signer->sign_sk, f->plaintext, &error);

  g_assert_no_error (error);
  return sealed;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  device_init (&f->office, 1);
  device_init (&f->hq, 2);
  device_init (&f->other, 3);
  memset (f->stream, 0x5a, sizeof f->stream);
  f->plaintext = bundle_text (GPOINTER_TO_UINT (data) ? GPOINTER_TO_UINT (data) : 3);
  f->sealed = seal_for (f, &f->office, 1, 3, NULL);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_bytes_unref (f->plaintext);
  g_bytes_unref (f->sealed);
}

/* Parse, verify against the office's key, check the chain, open as HQ. */
static GBytes *
receive (GBytes        *sealed,
         const Fixture *f,
         GError       **error)
{
  g_autoptr(RflEnvelope) env = rfl_envelope_parse (sealed, error);

  if (env == NULL || !rfl_envelope_verify (env, f->office.sign_pk, error) ||
      !rfl_envelope_check_chain (env, 1, NULL, error))
    return NULL;
  return rfl_envelope_open (env, f->hq.id, f->hq.box_pk, f->hq.box_sk, error);
}

static void
test_roundtrip (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) opened = receive (f->sealed, f, &error);
  g_autoptr(RflEnvelope) env = rfl_envelope_parse (f->sealed, &error);
  g_autoptr(GBytes) own = NULL;

  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (opened, f->plaintext));

  g_assert_cmpmem (rfl_envelope_get_sender (env), RFL_ENVELOPE_ID_BYTES, f->office.id, RFL_ENVELOPE_ID_BYTES);
  g_assert_cmpuint (rfl_envelope_get_seq_from (env), ==, 1);
  g_assert_cmpuint (rfl_envelope_get_seq_to (env), ==, 3);
  g_assert_cmpuint (rfl_envelope_get_n_recipients (env), ==, 2);
  g_assert_false (rfl_envelope_is_verified (env));
  g_assert_true (rfl_envelope_verify (env, f->office.sign_pk, &error));
  /* Every recipient can open it. */
  own = rfl_envelope_open (env, f->office.id, f->office.box_pk, f->office.box_sk, &error);
  g_assert_no_error (error);
  g_assert_true (g_bytes_equal (own, f->plaintext));

  /* The payload is not readable in transit: no plaintext, not even compressed. */
  g_assert_null (memmem (g_bytes_get_data (f->sealed, NULL), g_bytes_get_size (f->sealed), "Amina", 5));
}

static void
test_large (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) opened = receive (f->sealed, f, &error);

  /* Many chunks of the secret stream, and a compressed payload. */
  g_assert_no_error (error);
  g_assert_cmpuint (g_bytes_get_size (f->plaintext), >, 10 * 65536);
  g_assert_cmpuint (g_bytes_get_size (f->sealed), <, g_bytes_get_size (f->plaintext) / 3);
  g_assert_true (g_bytes_equal (opened, f->plaintext));
}

/* One flipped byte anywhere, and the envelope is refused, never opened. */
static void
test_flip_every_byte (Fixture       *f,
                      gconstpointer  data)
{
  gsize len = g_bytes_get_size (f->sealed);
  const guint8 *orig = g_bytes_get_data (f->sealed, NULL);
  guint counts[RFL_SYNC_ERROR_CORRUPT_PAYLOAD + 1] = { 0 };

  for (gsize i = 0; i < len; i++)
    {
      g_autofree guint8 *copy = g_memdup2 (orig, len);
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GBytes) opened = NULL;
      g_autoptr(GError) error = NULL;

      copy[i] ^= 0x01;
      bytes = g_bytes_new (copy, len);
      opened = receive (bytes, f, &error);
      if (opened != NULL)
        g_error ("flipping byte %" G_GSIZE_FORMAT " went unnoticed", i);
      g_assert_true (error->domain == RFL_SYNC_ERROR);
      counts[error->code]++;
    }
  g_test_message ("malformed %u, unsupported %u, too large %u, bad signature %u, payload %u",
                  counts[RFL_SYNC_ERROR_MALFORMED], counts[RFL_SYNC_ERROR_UNSUPPORTED],
                  counts[RFL_SYNC_ERROR_TOO_LARGE], counts[RFL_SYNC_ERROR_BAD_SIGNATURE],
                  counts[RFL_SYNC_ERROR_CORRUPT_PAYLOAD]);
  /* The signature covers the header; the signed hash covers the payload. */
  g_assert_cmpuint (counts[RFL_SYNC_ERROR_BAD_SIGNATURE], >, 300);
  g_assert_cmpuint (counts[RFL_SYNC_ERROR_CORRUPT_PAYLOAD], >, 0);
}

static void
test_parts (Fixture       *f,
            gconstpointer  data)
{
  /* A flipped byte in each named part, and the error each must give. */
  static const struct { const char *part; gsize offset; int code; } parts[] = {
    { "magic", 0, RFL_SYNC_ERROR_MALFORMED },
    { "version", 4, RFL_SYNC_ERROR_UNSUPPORTED },
    { "suite", 5, RFL_SYNC_ERROR_UNSUPPORTED },
    { "header length", 7, RFL_SYNC_ERROR_MALFORMED },
    { "sender", 8, RFL_SYNC_ERROR_BAD_SIGNATURE },
    { "stream", 24, RFL_SYNC_ERROR_BAD_SIGNATURE },
    { "seq from", 47, RFL_SYNC_ERROR_BAD_SIGNATURE },
    { "seq to", 55, RFL_SYNC_ERROR_BAD_SIGNATURE },
    { "previous hash", 60, RFL_SYNC_ERROR_BAD_SIGNATURE },
    { "payload length", 95, RFL_SYNC_ERROR_MALFORMED },
    { "payload hash", 100, RFL_SYNC_ERROR_BAD_SIGNATURE },
    { "recipient count", 129, RFL_SYNC_ERROR_MALFORMED },
    { "recipient id", 131, RFL_SYNC_ERROR_BAD_SIGNATURE },
    { "sealed key", 200, RFL_SYNC_ERROR_BAD_SIGNATURE },
    { "signature", 130 + 2 * 96 + 10, RFL_SYNC_ERROR_BAD_SIGNATURE },
    { "payload", 130 + 2 * 96 + 64 + 30, RFL_SYNC_ERROR_CORRUPT_PAYLOAD },
  };
  gsize len = g_bytes_get_size (f->sealed);

  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      g_autofree guint8 *copy = g_memdup2 (g_bytes_get_data (f->sealed, NULL), len);
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GBytes) opened = NULL;
      g_autoptr(GError) error = NULL;

      copy[parts[i].offset] ^= 0x01;
      bytes = g_bytes_new (copy, len);
      opened = receive (bytes, f, &error);
      g_test_message ("%s: %s", parts[i].part, error ? error->message : "accepted");
      g_assert_null (opened);
      g_assert_error (error, RFL_SYNC_ERROR, parts[i].code);
    }

  /* Truncated, and padded. */
  {
    g_autoptr(GBytes) cut = g_bytes_new_from_bytes (f->sealed, 0, len - 1);
    g_autoptr(GBytes) opened = NULL;
    g_autoptr(GError) error = NULL;

    opened = receive (cut, f, &error);
    g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED);
  }
  {
    g_autofree guint8 *longer = g_malloc0 (len + 5);
    g_autoptr(GBytes) bytes = NULL;
    g_autoptr(GBytes) opened = NULL;
    g_autoptr(GError) error = NULL;

    memcpy (longer, g_bytes_get_data (f->sealed, NULL), len);
    bytes = g_bytes_new (longer, len + 5);
    opened = receive (bytes, f, &error);
    g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED);
  }
}

static void
test_wrong_recipient (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflEnvelope) env = rfl_envelope_parse (f->sealed, &error);
  g_autoptr(GBytes) opened = NULL;

  g_assert_true (rfl_envelope_verify (env, f->office.sign_pk, &error));
  opened = rfl_envelope_open (env, f->other.id, f->other.box_pk, f->other.box_sk, &error);
  g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_NOT_RECIPIENT);
  g_assert_null (opened);
  g_clear_error (&error);
  /* Claiming a recipient's id without its key does not help. */
  opened = rfl_envelope_open (env, f->hq.id, f->other.box_pk, f->other.box_sk, &error);
  g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_NOT_RECIPIENT);
  g_assert_null (opened);
}

/* Another enrolled device re-signs an envelope that names the office as sender. */
static void
test_resigned (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GBytes) forged = seal_for (f, &f->other, 1, 3, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) opened = receive (forged, f, &error);

  g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_BAD_SIGNATURE);
  g_assert_null (opened);
}

/* What a volunteer reads when a forged bundle is refused is in their language. */
static void
test_translated_errors (Fixture       *f,
                        gconstpointer  data)
{
  static const struct { const char *locale; const char *message; } cases[] = {
    { "fr_FR.UTF-8", "la signature de l’enveloppe ne correspond pas à son expéditeur" },
    { "ar_EG.UTF-8", "توقيع المغلّف لا يطابق مرسله" },
    { "C.UTF-8", "the envelope's signature does not match its sender" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GBytes) forged = seal_for (f, &f->other, 1, 3, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) opened = NULL;

      rfl_test_use_locale (cases[i].locale);
      opened = receive (forged, f, &error);
      g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_BAD_SIGNATURE);
      g_assert_cmpstr (error->message, ==, cases[i].message);
    }
}

static void
test_chain (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflEnvelope) first = rfl_envelope_parse (f->sealed, &error);
  g_autoptr(GBytes) second_bytes = NULL;
  g_autoptr(GBytes) fork_bytes = NULL;
  g_autoptr(RflEnvelope) second = NULL;
  g_autoptr(RflEnvelope) fork = NULL;
  guint8 wrong[RFL_ENVELOPE_HASH_BYTES];

  g_assert_true (rfl_envelope_verify (first, f->office.sign_pk, &error));
  g_assert_true (rfl_envelope_check_chain (first, 1, NULL, &error));
  second_bytes = seal_for (f, &f->office, 4, 9, rfl_envelope_get_hash (first));
  second = rfl_envelope_parse (second_bytes, &error);
  g_assert_true (rfl_envelope_verify (second, f->office.sign_pk, &error));

  /* It follows the first. */
  g_assert_true (rfl_envelope_check_chain (second, 4, rfl_envelope_get_hash (first), &error));
  g_assert_no_error (error);
  /* A replay of the first, once the second is applied. */
  g_assert_false (rfl_envelope_check_chain (first, 10, rfl_envelope_get_hash (second), &error));
  g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_CHAIN);
  g_clear_error (&error);
  /* A seq from the future: something is missing before it. */
  g_assert_false (rfl_envelope_check_chain (second, 1, NULL, &error));
  g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_CHAIN);
  g_assert_nonnull (strstr (error->message, "gap"));
  g_clear_error (&error);
  /* Right seq, but a different history: a fork or a rolled-back sender. */
  memset (wrong, 7, sizeof wrong);
  fork_bytes = seal_for (f, &f->office, 4, 9, wrong);
  fork = rfl_envelope_parse (fork_bytes, &error);
  g_assert_true (rfl_envelope_verify (fork, f->office.sign_pk, &error));
  g_assert_false (rfl_envelope_check_chain (fork, 4, rfl_envelope_get_hash (first), &error));
  g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_CHAIN);
}

static void
test_limits (Fixture       *f,
             gconstpointer  data)
{
  RflEnvelopeRecipient many[RFL_ENVELOPE_MAX_RECIPIENTS + 1];
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) sealed = NULL;
  g_autoptr(GBytes) junk = g_bytes_new_static ("RFLE", 4);
  g_autoptr(RflEnvelope) env = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (many); i++)
    many[i] = recipient_of (&f->hq);
  sealed = rfl_envelope_seal (f->office.id, f->stream, 1, 1, NULL, many, G_N_ELEMENTS (many),
                              f->office.sign_sk, f->plaintext, &error);
  g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_TOO_LARGE);
  g_assert_null (sealed);
  g_clear_error (&error);

  env = rfl_envelope_parse (junk, &error);
  g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED);
  g_assert_null (env);
}

/* A second implementation, Python with PyNaCl, checks the C code's output. */
static void
test_python_vector (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *dir = rfl_test_make_dir ();
  g_autofree char *path = g_build_filename (dir, "vector.json", NULL);
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "check-envelope.py", NULL);
  g_autofree char *sealed_hex = NULL, *pk_hex = NULL, *box_pk_hex = NULL, *box_sk_hex = NULL, *id_hex = NULL;
  g_autofree char *plain_hex = NULL, *json = NULL, *out = NULL, *err = NULL;
  g_autoptr(GError) error = NULL;
  gsize sealed_len, plain_len;
  const guint8 *sealed = g_bytes_get_data (f->sealed, &sealed_len);
  const guint8 *plain = g_bytes_get_data (f->plaintext, &plain_len);
  int status = -1;

  sealed_hex = g_malloc (sealed_len * 2 + 1);
  sodium_bin2hex (sealed_hex, sealed_len * 2 + 1, sealed, sealed_len);
  plain_hex = g_malloc (plain_len * 2 + 1);
  sodium_bin2hex (plain_hex, plain_len * 2 + 1, plain, plain_len);
  pk_hex = g_malloc (65);
  sodium_bin2hex (pk_hex, 65, f->office.sign_pk, 32);
  box_pk_hex = g_malloc (65);
  sodium_bin2hex (box_pk_hex, 65, f->hq.box_pk, 32);
  box_sk_hex = g_malloc (65);
  sodium_bin2hex (box_sk_hex, 65, f->hq.box_sk, 32);
  id_hex = g_malloc (33);
  sodium_bin2hex (id_hex, 33, f->hq.id, 16);
  json = g_strdup_printf ("{\"sender_sign_pk\": \"%s\", \"recipient_id\": \"%s\", \"recipient_box_pk\": \"%s\","
                          " \"recipient_box_sk\": \"%s\", \"envelope\": \"%s\", \"plaintext\": \"%s\"}\n",
                          pk_hex, id_hex, box_pk_hex, box_sk_hex, sealed_hex, plain_hex);
  g_assert_true (g_file_set_contents (path, json, -1, NULL));

  {
    const char *argv[] = { "/usr/bin/python3", script, path, NULL };
    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status, &error);
  }
  g_assert_no_error (error);
  g_test_message ("python: %s%s", out, err);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_cmpstr (g_strstrip (out), ==, "ok");

  /* RFL_WRITE_VECTOR=tests/vectors/envelope-1.json regenerates the committed vector. */
  if (g_getenv ("RFL_WRITE_VECTOR") != NULL)
    g_assert_true (g_file_set_contents (g_getenv ("RFL_WRITE_VECTOR"), json, -1, NULL));
  rfl_test_remove_dir (dir);
}

/* The committed vector in tests/vectors opens with this build. */
static void
test_committed_vector (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "vectors", "envelope-1.json", NULL);
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(RflEnvelope) env = NULL;
  g_autoptr(GBytes) bytes = NULL, opened = NULL;
  JsonObject *v;
  guint8 pk[32], box_pk[32], box_sk[32], id[16];
  g_autofree guint8 *sealed = NULL, *plain = NULL;
  gsize sealed_len, plain_len;
  const char *hex;

  g_assert_true (json_parser_load_from_file (parser, path, &error));
  v = json_node_get_object (json_parser_get_root (parser));
#define HEX(member, buf, len) \
  hex = json_object_get_string_member (v, member); \
  g_assert_cmpint (sodium_hex2bin (buf, len, hex, strlen (hex), NULL, NULL, NULL), ==, 0)
  HEX ("sender_sign_pk", pk, sizeof pk);
  HEX ("recipient_box_pk", box_pk, sizeof box_pk);
  HEX ("recipient_box_sk", box_sk, sizeof box_sk);
  HEX ("recipient_id", id, sizeof id);
#undef HEX
  hex = json_object_get_string_member (v, "envelope");
  sealed = g_malloc (strlen (hex) / 2);
  sodium_hex2bin (sealed, strlen (hex) / 2, hex, strlen (hex), NULL, &sealed_len, NULL);
  hex = json_object_get_string_member (v, "plaintext");
  plain = g_malloc (strlen (hex) / 2 + 1);
  sodium_hex2bin (plain, strlen (hex) / 2 + 1, hex, strlen (hex), NULL, &plain_len, NULL);

  bytes = g_bytes_new (sealed, sealed_len);
  env = rfl_envelope_parse (bytes, &error);
  g_assert_no_error (error);
  g_assert_true (rfl_envelope_verify (env, pk, &error));
  opened = rfl_envelope_open (env, id, box_pk, box_sk, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (opened, NULL), g_bytes_get_size (opened), plain, plain_len);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_assert_cmpint (sodium_init (), >=, 0);

#define ADD(path, func, n) \
  g_test_add ("/rfl/envelope/" path, Fixture, GUINT_TO_POINTER (n), fixture_set_up, func, fixture_tear_down)
  ADD ("roundtrip", test_roundtrip, 3);
  ADD ("large", test_large, 20000);
  ADD ("flip-every-byte", test_flip_every_byte, 3);
  ADD ("tampered-parts", test_parts, 3);
  ADD ("wrong-recipient", test_wrong_recipient, 3);
  ADD ("resigned-by-other-device", test_resigned, 3);
  ADD ("chain", test_chain, 3);
  ADD ("translated-errors", test_translated_errors, 3);
  ADD ("limits", test_limits, 3);
  ADD ("python-nacl", test_python_vector, 50);
#undef ADD
  g_test_add_func ("/rfl/envelope/committed-vector", test_committed_vector);

  return g_test_run ();
}
