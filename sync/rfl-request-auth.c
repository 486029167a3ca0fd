/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-request-auth"

#include "rfl-request-auth.h"

#include <sodium.h>
#include <string.h>
#include <glib/gi18n-lib.h>

/*
 * Every request a device makes to HQ is signed with its Ed25519 key over the
 * method, the path with its query, the device id, the time, a random nonce
 * and the hash of the body (docs/PROTOCOL.md, "Request authentication"). HQ
 * checks the signature first, then that the time is within a window of its
 * own clock, then that the nonce has not been seen in that window.
 */

#define CONTEXT     "reunite-request-v1"
#define NONCE_BYTES 16
#define ID_BYTES    16

struct _RflReplayCache
{
  GObject     parent_instance;

  guint       max_entries;
  GHashTable *seen;      /* "device:nonce" -> expiry (gint64 in a pointer-sized box) */
  GQueue      order;     /* keys, oldest first */
};

G_DEFINE_FINAL_TYPE (RflReplayCache, rfl_replay_cache, G_TYPE_OBJECT)

void
rfl_request_auth_free (RflRequestAuth *auth)
{
  if (auth == NULL)
    return;
  g_free (auth->device);
  g_free (auth->time);
  g_free (auth->nonce);
  g_free (auth->signature);
  g_free (auth);
}

static char *
to_hex (const guint8 *bin,
        gsize         len)
{
  char *hex = g_malloc (len * 2 + 1);

  sodium_bin2hex (hex, len * 2 + 1, bin, len);
  return hex;
}

static gboolean
from_hex (const char *hex,
          guint8     *bin,
          gsize       len)
{
  gsize out = 0;

  return hex != NULL && strlen (hex) == len * 2 &&
         sodium_hex2bin (bin, len, hex, len * 2, NULL, &out, NULL) == 0 && out == len;
}

static char *
signed_message (const char   *method,
                const char   *path,
                const char   *device,
                const char   *time,
                const char   *nonce,
                const guint8 *body,
                gsize         body_len)
{
  guint8 hash[32];
  g_autofree char *hash_hex = NULL;

  crypto_generichash (hash, sizeof hash, body, body_len, NULL, 0);
  hash_hex = to_hex (hash, sizeof hash);
  return g_strjoin ("\n", CONTEXT, method, path, device, time, nonce, hash_hex, NULL);
}

/**
 * rfl_request_auth_sign:
 * @device: this device's id, 32 hex digits
 * @method: the HTTP method
 * @path: the path and query of the request
 * @time: seconds since the Unix epoch
 * @body: (array length=body_len) (nullable): the request body
 * @body_len: its length
 * @sign_sk: this device's Ed25519 secret key
 *
 * Returns: (transfer full): the values of the authentication headers
 */
RflRequestAuth *
rfl_request_auth_sign (const char   *device,
                       const char   *method,
                       const char   *path,
                       gint64        time,
                       const guint8 *body,
                       gsize         body_len,
                       const guint8 *sign_sk)
{
  RflRequestAuth *auth = g_new0 (RflRequestAuth, 1);
  guint8 nonce[NONCE_BYTES], sig[crypto_sign_BYTES];
  g_autofree char *message = NULL;

  g_return_val_if_fail (device != NULL && method != NULL && path != NULL && sign_sk != NULL, NULL);
  g_return_val_if_fail (body != NULL || body_len == 0, NULL);

  randombytes_buf (nonce, sizeof nonce);
  auth->device = g_strdup (device);
  auth->time = g_strdup_printf ("%" G_GINT64_FORMAT, time);
  auth->nonce = to_hex (nonce, sizeof nonce);
  message = signed_message (method, path, auth->device, auth->time, auth->nonce,
                            body != NULL ? body : (const guint8 *) "", body_len);
  crypto_sign_detached (sig, NULL, (const guint8 *) message, strlen (message), sign_sk);
  auth->signature = to_hex (sig, sizeof sig);
  return auth;
}

/* Whether the cache can take @device's @nonce: not seen, and room for it. */
static gboolean
check_new (RflReplayCache *self,
           const char     *device,
           const char     *nonce,
           gint64          now,
           GError        **error)
{
  g_autofree char *key = g_strconcat (device, ":", nonce, NULL);

  /* Forget what has left the window: it would be refused as stale anyway. */
  while (self->order.length > 0)
    {
      const char *oldest = g_queue_peek_head (&self->order);
      gint64 *expiry = g_hash_table_lookup (self->seen, oldest);

      if (*expiry >= now)
        break;
      g_hash_table_remove (self->seen, g_queue_pop_head (&self->order));
    }

  if (g_hash_table_contains (self->seen, key))
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REPLAY, _("this request was already received"));
      return FALSE;
    }
  if (self->order.length >= self->max_entries)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REPLAY,
                           _("too many requests in the replay window; try again in a few minutes"));
      return FALSE;
    }
  return TRUE;
}

static void
insert (RflReplayCache *self,
        const char     *device,
        const char     *nonce,
        gint64          expires)
{
  char *key = g_strconcat (device, ":", nonce, NULL);

  if (g_hash_table_contains (self->seen, key))
    {
      g_free (key);
      return;
    }
  g_hash_table_insert (self->seen, key, g_memdup2 (&expires, sizeof expires));
  g_queue_push_tail (&self->order, key);
}

/**
 * rfl_replay_cache_add:
 * @device: a device id
 * @nonce: a nonce it used
 * @expires: when the request is stale for sure, seconds since the epoch
 *
 * Remembers a request accepted before: a server that keeps the nonces it
 * accepted fills a new cache with them when it starts, so that a request
 * captured before a restart is still refused after it.
 */
void
rfl_replay_cache_add (RflReplayCache *self,
                      const char     *device,
                      const char     *nonce,
                      gint64          expires)
{
  g_return_if_fail (RFL_IS_REPLAY_CACHE (self));
  g_return_if_fail (device != NULL && nonce != NULL);

  if (self->order.length < self->max_entries)
    insert (self, device, nonce, expires);
}

/**
 * rfl_request_auth_expiry:
 * @now: the server's time, seconds since the Unix epoch
 *
 * Returns: until when a request accepted at @now must be remembered
 */
gint64
rfl_request_auth_expiry (gint64 now)
{
  return now + 2 * RFL_REQUEST_WINDOW_SECONDS;
}

/**
 * rfl_request_auth_verify:
 * @auth: the request's authentication headers
 * @method: the request's method
 * @path: its path and query
 * @body: (array length=body_len) (nullable): its body
 * @body_len: the body's length
 * @sign_pk: the Ed25519 key the server holds for @auth's device
 * @now: the server's time, seconds since the Unix epoch
 * @replays: the server's memory of recent requests
 * @error: return location for an error
 *
 * Returns: %TRUE if the request is authentic, fresh, and new
 */
gboolean
rfl_request_auth_verify (const RflRequestAuth *auth,
                         const char           *method,
                         const char           *path,
                         const guint8         *body,
                         gsize                 body_len,
                         const guint8         *sign_pk,
                         gint64                now,
                         RflReplayCache       *replays,
                         GError              **error)
{
  guint8 sig[crypto_sign_BYTES], id[ID_BYTES], nonce[NONCE_BYTES];
  g_autofree char *message = NULL;
  guint64 time = 0;

  g_return_val_if_fail (auth != NULL && method != NULL && path != NULL && sign_pk != NULL, FALSE);
  g_return_val_if_fail (RFL_IS_REPLAY_CACHE (replays), FALSE);

  if (!from_hex (auth->device, id, sizeof id) || !from_hex (auth->nonce, nonce, sizeof nonce) ||
      !from_hex (auth->signature, sig, sizeof sig) || auth->time == NULL ||
      !g_ascii_string_to_unsigned (auth->time, 10, 0, G_MAXINT64, &time, NULL))
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_UNAUTHENTICATED,
                           _("the request is not signed by an enrolled device"));
      return FALSE;
    }

  /* The cheap checks first: the time, then the nonce; Ed25519 last. */
  if ((gint64) time < now - RFL_REQUEST_WINDOW_SECONDS || (gint64) time > now + RFL_REQUEST_WINDOW_SECONDS)
    {
      g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_STALE,
                   _("the request's time is %lld s from the server's; check the device's clock"),
                   (long long) ((gint64) time - now));
      return FALSE;
    }
  if (!check_new (replays, auth->device, auth->nonce, now, error))
    return FALSE;
  message = signed_message (method, path, auth->device, auth->time, auth->nonce,
                            body != NULL ? body : (const guint8 *) "", body_len);
  if (crypto_sign_verify_detached (sig, (const guint8 *) message, strlen (message), sign_pk) != 0)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_BAD_SIGNATURE,
                           _("the request's signature does not match"));
      return FALSE;
    }
  insert (replays, auth->device, auth->nonce, rfl_request_auth_expiry (now));
  return TRUE;
}

static void
rfl_replay_cache_finalize (GObject *object)
{
  RflReplayCache *self = (RflReplayCache *) object;

  g_queue_clear (&self->order);
  g_clear_pointer (&self->seen, g_hash_table_unref);

  G_OBJECT_CLASS (rfl_replay_cache_parent_class)->finalize (object);
}

static void
rfl_replay_cache_class_init (RflReplayCacheClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rfl_replay_cache_finalize;

  if (sodium_init () < 0)
    g_error ("libsodium could not be initialised");
}

static void
rfl_replay_cache_init (RflReplayCache *self)
{
  self->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_queue_init (&self->order);
}

/**
 * rfl_replay_cache_new:
 * @max_entries: the most requests remembered at once
 *
 * Returns: (transfer full): an empty cache
 */
RflReplayCache *
rfl_replay_cache_new (guint max_entries)
{
  RflReplayCache *self = g_object_new (RFL_TYPE_REPLAY_CACHE, NULL);

  self->max_entries = MAX (max_entries, 1);
  return self;
}

guint
rfl_replay_cache_get_size (RflReplayCache *self)
{
  g_return_val_if_fail (RFL_IS_REPLAY_CACHE (self), 0);
  return self->order.length;
}
