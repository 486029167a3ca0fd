/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <sodium.h>
#include <string.h>

#include "rfl-roster.h"

#define GOMA_DEVICE "0123456789abcdef0123456789abcdef"
#define JUBA_DEVICE "fedcba9876543210fedcba9876543210"

typedef struct
{
  guint8 hq_pk[crypto_sign_PUBLICKEYBYTES];
  guint8 hq_sk[crypto_sign_SECRETKEYBYTES];
  guint8 device_pk[32];
  guint8 box_pk[32];
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  crypto_sign_keypair (f->hq_pk, f->hq_sk);
  randombytes_buf (f->device_pk, sizeof f->device_pk);
  randombytes_buf (f->box_pk, sizeof f->box_pk);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
}

static GBytes *
signed_roster (Fixture  *f,
               guint64   version,
               gboolean  juba_revoked)
{
  g_autoptr(RflRoster) roster = rfl_roster_new (version);

  rfl_roster_add_device (roster, GOMA_DEVICE, "Goma", FALSE, f->device_pk, f->box_pk);
  rfl_roster_add_device (roster, JUBA_DEVICE, "Juba", juba_revoked, f->device_pk, f->box_pk);
  return rfl_roster_sign (roster, f->hq_sk);
}

static void
test_roundtrip (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GBytes) bytes = signed_roster (f, 7, TRUE);
  g_autoptr(GError) error = NULL;
  g_autoptr(RflRoster) roster = rfl_roster_load (bytes, f->hq_pk, 0, &error);
  const RflRosterDevice *juba;

  g_assert_no_error (error);
  g_assert_cmpuint (rfl_roster_get_version (roster), ==, 7);
  g_assert_cmpuint (rfl_roster_get_n_devices (roster), ==, 2);
  juba = rfl_roster_lookup (roster, JUBA_DEVICE);
  g_assert_nonnull (juba);
  g_assert_true (juba->revoked);
  g_assert_cmpstr (juba->office, ==, "Juba");
  g_assert_cmpmem (juba->sign_pk, 32, f->device_pk, 32);
  g_assert_false (rfl_roster_lookup (roster, GOMA_DEVICE)->revoked);
  g_assert_null (rfl_roster_lookup (roster, "00000000000000000000000000000000"));
}

/* An attacker replays the roster from before a revocation. */
static void
test_rollback (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GBytes) old = signed_roster (f, 6, FALSE);
  g_autoptr(GBytes) current = signed_roster (f, 7, TRUE);
  g_autoptr(GError) error = NULL;
  g_autoptr(RflRoster) accepted = rfl_roster_load (current, f->hq_pk, 0, &error);
  g_autoptr(RflRoster) refused = NULL;
  g_autoptr(RflRoster) same = NULL;

  g_assert_no_error (error);
  refused = rfl_roster_load (old, f->hq_pk, rfl_roster_get_version (accepted), &error);
  g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_ROLLBACK);
  g_assert_null (refused);
  g_clear_error (&error);
  /* The same version again is fine: rosters are fetched repeatedly. */
  same = rfl_roster_load (current, f->hq_pk, 7, &error);
  g_assert_no_error (error);
}

static void
test_forged (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GBytes) bytes = signed_roster (f, 7, TRUE);
  gsize len = g_bytes_get_size (bytes);
  const guint8 *orig = g_bytes_get_data (bytes, NULL);
  guint8 other_pk[crypto_sign_PUBLICKEYBYTES], other_sk[crypto_sign_SECRETKEYBYTES];
  g_autoptr(GError) error = NULL;

  /* Every flipped byte: un-revoking Juba by editing "revoked" is one of them. */
  for (gsize i = 0; i < len; i++)
    {
      g_autofree guint8 *copy = g_memdup2 (orig, len);
      g_autoptr(GBytes) edited = NULL;
      g_autoptr(RflRoster) roster = NULL;

      copy[i] ^= 0x20;
      edited = g_bytes_new (copy, len);
      roster = rfl_roster_load (edited, f->hq_pk, 0, &error);
      if (roster != NULL)
        g_error ("flipping byte %" G_GSIZE_FORMAT " of the roster went unnoticed", i);
      g_assert_true (g_error_matches (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_BAD_SIGNATURE) ||
                     g_error_matches (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED));
      g_clear_error (&error);
    }

  /* A roster signed by anyone but HQ. */
  crypto_sign_keypair (other_pk, other_sk);
  {
    g_autoptr(RflRoster) roster = rfl_roster_new (99);
    g_autoptr(GBytes) forged = NULL;
    g_autoptr(RflRoster) loaded = NULL;

    rfl_roster_add_device (roster, JUBA_DEVICE, "Juba", FALSE, f->device_pk, f->box_pk);
    forged = rfl_roster_sign (roster, other_sk);
    loaded = rfl_roster_load (forged, f->hq_pk, 0, &error);
    g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_BAD_SIGNATURE);
    g_assert_null (loaded);
    g_clear_error (&error);
  }

  /* Too large to be a roster: refused before anything else. */
  {
    g_autofree guint8 *big = g_malloc0 (RFL_ROSTER_MAX_BYTES + 1);
    g_autoptr(GBytes) huge = g_bytes_new_take (g_steal_pointer (&big), RFL_ROSTER_MAX_BYTES + 1);
    g_autoptr(RflRoster) loaded = rfl_roster_load (huge, f->hq_pk, 0, &error);

    g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_TOO_LARGE);
    g_assert_null (loaded);
  }
}

/* Signed by HQ but not a valid roster: refused, not half-loaded. */
static void
test_signed_garbage (Fixture       *f,
                     gconstpointer  data)
{
  static const char * const contents[] = {
    "[]",
    "{\"format\": \"reunite-roster-v9\", \"version\": 1, \"devices\": []}",
    "{\"format\": \"reunite-roster-v1\", \"devices\": []}",
    "{\"format\": \"reunite-roster-v1\", \"version\": 1, \"devices\": [{\"id\": \"short\"}]}",
    "{\"format\": \"reunite-roster-v1\", \"version\": 1, \"devices\": [{\"id\": \"" GOMA_DEVICE "\","
    " \"office\": \"Goma\", \"status\": \"asleep\", \"sign_pk\": \"AA==\", \"box_pk\": \"AA==\"}]}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (contents); i++)
    {
      g_autoptr(GByteArray) file = g_byte_array_new ();
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GError) error = NULL;
      g_autoptr(RflRoster) roster = NULL;
      gsize n = strlen (contents[i]);

      g_byte_array_append (file, (const guint8 *) "RFLR", 4);
      g_byte_array_set_size (file, 4 + crypto_sign_BYTES);
      crypto_sign_detached (file->data + 4, NULL, (const guint8 *) contents[i], n, f->hq_sk);
      g_byte_array_append (file, (const guint8 *) contents[i], n);
      bytes = g_byte_array_free_to_bytes (g_steal_pointer (&file));
      roster = rfl_roster_load (bytes, f->hq_pk, 0, &error);
      g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED);
      g_assert_null (roster);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_assert_cmpint (sodium_init (), >=, 0);

#define ADD(path, func) \
  g_test_add ("/rfl/roster/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("roundtrip", test_roundtrip);
  ADD ("rollback", test_rollback);
  ADD ("forged", test_forged);
  ADD ("signed-garbage", test_signed_garbage);
#undef ADD

  return g_test_run ();
}
