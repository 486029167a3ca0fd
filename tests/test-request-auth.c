/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <sodium.h>
#include <string.h>

#include "rfl-request-auth.h"

#define DEVICE "0123456789abcdef0123456789abcdef"
#define NOW    1795000000

typedef struct
{
  guint8 pk[crypto_sign_PUBLICKEYBYTES];
  guint8 sk[crypto_sign_SECRETKEYBYTES];
  guint8 other_pk[crypto_sign_PUBLICKEYBYTES];
  guint8 other_sk[crypto_sign_SECRETKEYBYTES];
} Keys;

static void
keys_init (Keys *k)
{
  crypto_sign_keypair (k->pk, k->sk);
  crypto_sign_keypair (k->other_pk, k->other_sk);
}

static const guint8 body[] = "{\"bundle\": \"...\"}";

static void
test_valid_once (void)
{
  Keys k;
  g_autoptr(RflReplayCache) cache = rfl_replay_cache_new (100);
  g_autoptr(RflRequestAuth) auth = NULL;
  g_autoptr(GError) error = NULL;

  keys_init (&k);
  auth = rfl_request_auth_sign (DEVICE, "POST", "/v1/bundles?stream=1", NOW, body, sizeof body, k.sk);
  g_assert_cmpuint (strlen (auth->signature), ==, 128);
  g_assert_cmpuint (strlen (auth->nonce), ==, 32);
  g_assert_true (rfl_request_auth_verify (auth, "POST", "/v1/bundles?stream=1", body, sizeof body,
                                          k.pk, NOW + 30, cache, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (rfl_replay_cache_get_size (cache), ==, 1);

  /* The same request again is a replay. */
  g_assert_false (rfl_request_auth_verify (auth, "POST", "/v1/bundles?stream=1", body, sizeof body,
                                           k.pk, NOW + 31, cache, &error));
  g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REPLAY);
}

/* Whatever is changed on the way, the signature no longer matches. */
static void
test_tampered (void)
{
  static const guint8 other_body[] = "{\"bundle\": \"..!\"}";
  Keys k;
  g_autoptr(RflReplayCache) cache = rfl_replay_cache_new (100);
  g_autoptr(RflRequestAuth) auth = NULL;
  g_autoptr(GError) error = NULL;
  struct { const char *what; const char *method; const char *path; const guint8 *b; gsize len; } cases[] = {
    { "method", "PUT", "/v1/bundles", body, sizeof body },
    { "path", "POST", "/v1/bundles/other", body, sizeof body },
    { "body", "POST", "/v1/bundles", other_body, sizeof other_body },
    { "body cut short", "POST", "/v1/bundles", body, sizeof body - 1 },
    { "no body", "POST", "/v1/bundles", NULL, 0 },
  };

  keys_init (&k);
  auth = rfl_request_auth_sign (DEVICE, "POST", "/v1/bundles", NOW, body, sizeof body, k.sk);
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_test_message ("%s", cases[i].what);
      g_assert_false (rfl_request_auth_verify (auth, cases[i].method, cases[i].path,
                                               cases[i].b, cases[i].len, k.pk, NOW, cache,
                              &error));
      g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_BAD_SIGNATURE);
      g_clear_error (&error);
    }

  /* Signed by another enrolled device's key. */
  g_assert_false (rfl_request_auth_verify (auth, "POST", "/v1/bundles", body, sizeof body,
                                           k.other_pk, NOW, cache, &error));
  g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);

  /* Headers changed: time, nonce, device. */
  {
    g_autofree char *time = auth->time;
    auth->time = g_strdup_printf ("%d", NOW + 1);
    g_assert_false (rfl_request_auth_verify (auth, "POST", "/v1/bundles", body, sizeof body,
                                             k.pk, NOW, cache, &error));
    g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_BAD_SIGNATURE);
    g_clear_error (&error);
    g_free (auth->time);
    auth->time = g_steal_pointer (&time);
  }
  auth->nonce[0] = auth->nonce[0] == 'a' ? 'b' : 'a';
  g_assert_false (rfl_request_auth_verify (auth, "POST", "/v1/bundles", body, sizeof body,
                                           k.pk, NOW, cache, &error));
  g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);
  g_assert_cmpuint (rfl_replay_cache_get_size (cache), ==, 0);
}

static void
test_unauthenticated (void)
{
  Keys k;
  g_autoptr(RflReplayCache) cache = rfl_replay_cache_new (100);
  RflRequestAuth none = { NULL, NULL, NULL, NULL };
  RflRequestAuth junk = { (char *) DEVICE, (char *) "soon", (char *) "00", (char *) "zz" };
  g_autoptr(GError) error = NULL;

  keys_init (&k);
  g_assert_false (rfl_request_auth_verify (&none, "GET", "/v1/ping", NULL, 0,
                                           k.pk, NOW, cache, &error));
  g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_UNAUTHENTICATED);
  g_clear_error (&error);
  g_assert_false (rfl_request_auth_verify (&junk, "GET", "/v1/ping", NULL, 0,
                                           k.pk, NOW, cache, &error));
  g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_UNAUTHENTICATED);
}

static void
test_window (void)
{
  Keys k;
  g_autoptr(RflReplayCache) cache = rfl_replay_cache_new (100);
  g_autoptr(GError) error = NULL;
  static const gint64 offsets[] = { -RFL_REQUEST_WINDOW_SECONDS - 1, RFL_REQUEST_WINDOW_SECONDS + 1, -86400 };

  keys_init (&k);
  for (guint i = 0; i < G_N_ELEMENTS (offsets); i++)
    {
      g_autoptr(RflRequestAuth) auth = rfl_request_auth_sign (DEVICE, "GET", "/v1/ping", NOW + offsets[i],
                                                              NULL, 0, k.sk);
      g_assert_false (rfl_request_auth_verify (auth, "GET", "/v1/ping", NULL, 0,
                                               k.pk, NOW, cache, &error));
      g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_STALE);
      g_clear_error (&error);
    }
  /* The edges of the window are inside it. */
  for (gint64 edge = -RFL_REQUEST_WINDOW_SECONDS; edge <= RFL_REQUEST_WINDOW_SECONDS; edge += RFL_REQUEST_WINDOW_SECONDS)
    {
      g_autoptr(RflRequestAuth) auth = rfl_request_auth_sign (DEVICE, "GET", "/v1/ping", NOW + edge, NULL, 0, k.sk);
      g_assert_true (rfl_request_auth_verify (auth, "GET", "/v1/ping", NULL, 0,
                                              k.pk, NOW, cache, &error));
      g_assert_no_error (error);
    }
}

/* The cache forgets what has left the window, and never grows past its bound. */
static void
test_cache_bounded (void)
{
  Keys k;
  g_autoptr(RflReplayCache) cache = rfl_replay_cache_new (10);
  g_autoptr(GError) error = NULL;
  g_autoptr(RflRequestAuth) first = NULL;

  keys_init (&k);
  first = rfl_request_auth_sign (DEVICE, "GET", "/v1/ping", NOW, NULL, 0, k.sk);
  g_assert_true (rfl_request_auth_verify (first, "GET", "/v1/ping", NULL, 0,
                                          k.pk, NOW, cache, &error));
  for (guint i = 1; i < 10; i++)
    {
      g_autoptr(RflRequestAuth) auth = rfl_request_auth_sign (DEVICE, "GET", "/v1/ping", NOW, NULL, 0, k.sk);
      g_assert_true (rfl_request_auth_verify (auth, "GET", "/v1/ping", NULL, 0,
                                              k.pk, NOW, cache, &error));
    }
  g_assert_cmpuint (rfl_replay_cache_get_size (cache), ==, 10);
  {
    g_autoptr(RflRequestAuth) auth = rfl_request_auth_sign (DEVICE, "GET", "/v1/ping", NOW, NULL, 0, k.sk);
    g_assert_false (rfl_request_auth_verify (auth, "GET", "/v1/ping", NULL, 0,
                                             k.pk, NOW, cache, &error));
    g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REPLAY);
    g_clear_error (&error);
  }
  /* Later, the old entries have expired; the first request is now stale rather than replayed. */
  {
    gint64 later = NOW + 3 * RFL_REQUEST_WINDOW_SECONDS;
    g_autoptr(RflRequestAuth) auth = rfl_request_auth_sign (DEVICE, "GET", "/v1/ping", later, NULL, 0, k.sk);

    g_assert_true (rfl_request_auth_verify (auth, "GET", "/v1/ping", NULL, 0,
                                            k.pk, later, cache, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (rfl_replay_cache_get_size (cache), ==, 1);
    g_assert_false (rfl_request_auth_verify (first, "GET", "/v1/ping", NULL, 0,
                                             k.pk, later, cache, &error));
    g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_STALE);
  }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_assert_cmpint (sodium_init (), >=, 0);

  g_test_add_func ("/rfl/request-auth/valid-once", test_valid_once);
  g_test_add_func ("/rfl/request-auth/tampered", test_tampered);
  g_test_add_func ("/rfl/request-auth/unauthenticated", test_unauthenticated);
  g_test_add_func ("/rfl/request-auth/window", test_window);
  g_test_add_func ("/rfl/request-auth/cache-bounded", test_cache_bounded);

  return g_test_run ();
}
