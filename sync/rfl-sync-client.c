/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-sync"

#include "rfl-sync-client.h"
#include "rfl-envelope.h"
#include "rfl-json.h"
#include "rfl-protocol.h"
#include "rfl-request-auth.h"
#include "rfl-roster.h"

#include <libsoup/soup.h>
#include <sodium.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#define DEFAULT_IO_TIMEOUT_S  30
#define MAX_ATTEMPTS          6
#define BACKOFF_BASE_MS       500
#define BACKOFF_MAX_MS        30000
#define MAX_PULLS             100000
#define MAX_RESPONSE_BYTES    (RFL_ENVELOPE_MAX_PAYLOAD + 16 * 1024)

typedef struct
{
  SoupSession   *session;
  GTlsDatabase  *tls;          /* HQ's CA only, for https */
  char          *base;
  RflStore      *store;
  RflDeviceKeys *keys;
  gint64         deadline;     /* monotonic µs */
  guint          io_timeout_s;
  GCancellable  *cancellable;
  guint64        bytes_up;
  guint64        bytes_down;
  RflSyncProgressFunc progress;
  gpointer       progress_data;
} Client;

static void
client_clear (Client *c)
{
  g_clear_object (&c->session);
  g_clear_object (&c->tls);
  g_clear_pointer (&c->base, g_free);
  g_clear_pointer (&c->keys, rfl_device_keys_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Client, client_clear)

/* The CA file kept beside the database for an https HQ. */
static char *
ca_path (RflStore *store)
{
  g_autofree char *db = g_canonicalize_filename (rfl_store_get_path (store), NULL);

  /* GTlsFileDatabase wants an absolute path. */
  return g_strconcat (db, ".hq-ca.pem", NULL);
}

static SoupSession *
session_new (Client *c)
{
  /* HTTP/2 support in libsoup 3.2 is young: programs set SOUP_FORCE_HTTP1=1
   * before any thread starts (see rfl_sync_client_prepare()). */
  SoupSession *session = soup_session_new_with_options ("timeout", c->io_timeout_s,
                                                        "idle-timeout", 60,
                                                        "user-agent", "reunite/" PACKAGE_VERSION,
                                                        NULL);
  if (c->tls != NULL)
    soup_session_set_tls_database (session, c->tls);
  return session;
}

static gboolean
client_init (Client                *c,
             RflStore              *store,
             const char            *url,
             const char            *ca_pem,
             const RflSyncOptions  *options,
             GCancellable          *cancellable,
             GError               **error)
{
  g_autoptr(GUri) uri = NULL;
  guint deadline_s = options != NULL && options->deadline_s > 0 ? options->deadline_s : RFL_SYNC_DEFAULT_DEADLINE_S;

  c->store = store;
  c->cancellable = cancellable;
  c->io_timeout_s = options != NULL && options->io_timeout_s > 0 ? options->io_timeout_s : DEFAULT_IO_TIMEOUT_S;
  c->progress = options != NULL ? options->progress : NULL;
  c->progress_data = options != NULL ? options->progress_data : NULL;
  c->deadline = g_get_monotonic_time () + (gint64) deadline_s * G_USEC_PER_SEC;
  if (url == NULL)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_NOT_ENROLLED,
                           _("no HQ address: give --hq URL"));
      return FALSE;
    }
  if ((uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL)) == NULL ||
      (g_strcmp0 (g_uri_get_scheme (uri), "http") != 0 && g_strcmp0 (g_uri_get_scheme (uri), "https") != 0))
    {
      g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_NETWORK, _("'%s' is not an http or https address"), url);
      return FALSE;
    }
  c->base = g_strdup (url);
  if (g_str_has_suffix (c->base, "/"))
    c->base[strlen (c->base) - 1] = '\0';

  /* HQ's certificate is checked against HQ's own CA only, never the
   * system's: any public CA could vouch for a man in the middle. */
  if (g_str_equal (g_uri_get_scheme (uri), "https") && ca_pem == NULL)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_NETWORK,
                           _("HQ's address is https, but this device holds no CA for HQ; "
                             "enroll with a token HQ made with --ca"));
      return FALSE;
    }
  if (g_str_equal (g_uri_get_scheme (uri), "https"))
    {
      g_autofree char *path = ca_path (store);

      if (!g_file_set_contents_full (path, ca_pem, -1,
                                     G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0644, error) ||
          (c->tls = g_tls_file_database_new (path, error)) == NULL)
        return FALSE;
    }
  c->session = session_new (c);
  c->keys = rfl_store_dup_keys (store, error);
  return c->keys != NULL;
}

/* A second client for another thread: the same HQ, keys and deadline, its
 * own session. It must not touch the store, which the first may hold. */
static void
client_init_copy (Client       *c,
                  const Client *from)
{
  c->store = NULL;
  c->base = g_strdup (from->base);
  c->tls = from->tls != NULL ? g_object_ref (from->tls) : NULL;
  c->io_timeout_s = from->io_timeout_s;
  c->deadline = from->deadline;
  c->keys = rfl_device_keys_copy (from->keys);
  c->session = session_new (c);
}

static gboolean
past_deadline (Client  *c,
               GError **error)
{
  if (g_get_monotonic_time () >= c->deadline)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_NETWORK,
                           _("sync took too long and was stopped; it resumes where it stopped next time"));
      return TRUE;
    }
  return g_cancellable_set_error_if_cancelled (c->cancellable, error);
}

/* Exponential backoff with full jitter, never past the deadline. */
static gboolean
back_off (Client  *c,
          guint    attempt,
          GError **error)
{
  guint64 cap = MIN ((guint64) BACKOFF_MAX_MS, (guint64) BACKOFF_BASE_MS << MIN (attempt, 10u));
  guint64 wait_ms = cap / 2 + randombytes_uniform ((guint32) (cap / 2 + 1));
  gint64 left_ms = (c->deadline - g_get_monotonic_time ()) / 1000;

  if ((gint64) wait_ms >= left_ms)
    return !past_deadline (c, error) && (g_usleep ((gulong) MAX (left_ms, 0) * 1000), !past_deadline (c, error));
  g_usleep (wait_ms * 1000);
  return !past_deadline (c, error);
}

typedef struct
{
  guint            status;
  GBytes          *body;
  char            *content_type;
  RflOpenedBundle *opened;   /* a bundle from HQ, opened ahead */
} Response;

static void
response_clear (Response *r)
{
  g_clear_pointer (&r->body, g_bytes_unref);
  g_clear_pointer (&r->opened, rfl_opened_bundle_free);
  g_clear_pointer (&r->content_type, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Response, response_clear)

/* One signed request, retried on network errors and on 429 and 5xx. */
static gboolean
request (Client      *c,
         const char  *method,
         const char  *path,
         GBytes      *body,
         gboolean     sign,
         Response    *out,
         GError     **error)
{
  for (guint attempt = 0;; attempt++)
    {
      g_autofree char *url = g_strconcat (c->base, path, NULL);
      g_autoptr(SoupMessage) msg = NULL;
      g_autoptr(GError) local = NULL;
      g_autoptr(GBytes) reply = NULL;
      SoupMessageHeaders *headers;
      gint64 left_s;

      if (past_deadline (c, error))
        return FALSE;
      if ((msg = soup_message_new (method, url)) == NULL)
        {
          g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_NETWORK, _("'%s' is not a valid address"), url);
          return FALSE;
        }
      headers = soup_message_get_request_headers (msg);
      if (sign)
        {
          gsize len = 0;
          const guint8 *data = body != NULL ? g_bytes_get_data (body, &len) : NULL;
          g_autoptr(RflRequestAuth) auth = rfl_request_auth_sign (c->keys->device_id, method, path,
                                                                  g_get_real_time () / G_USEC_PER_SEC,
                                                                  data, len, c->keys->sign_sk);

          soup_message_headers_replace (headers, RFL_REQUEST_HEADER_DEVICE, auth->device);
          soup_message_headers_replace (headers, RFL_REQUEST_HEADER_TIME, auth->time);
          soup_message_headers_replace (headers, RFL_REQUEST_HEADER_NONCE, auth->nonce);
          soup_message_headers_replace (headers, RFL_REQUEST_HEADER_SIGNATURE, auth->signature);
        }
      if (body != NULL)
        {
          soup_message_set_request_body_from_bytes (msg, RFL_PROTOCOL_TYPE_REQUEST, body);
          /* Let HQ refuse an oversized body before it is sent. */
          soup_message_headers_set_expectations (headers, SOUP_EXPECTATION_CONTINUE);
        }
      left_s = (c->deadline - g_get_monotonic_time ()) / G_USEC_PER_SEC;
      soup_session_set_timeout (c->session, (guint) CLAMP (left_s, 1, (gint64) c->io_timeout_s));

      reply = soup_session_send_and_read (c->session, msg, c->cancellable, &local);
      if (reply == NULL)
        {
          /* A certificate HQ's CA did not sign will not get better by waiting. */
          if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_CANCELLED) || local->domain == G_TLS_ERROR ||
              attempt + 1 >= MAX_ATTEMPTS ||
              g_get_monotonic_time () + (gint64) BACKOFF_BASE_MS * 1000 >= c->deadline)
            {
              if (local->domain == G_TLS_ERROR)
                g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_NETWORK,
                             _("HQ cannot be reached: its TLS certificate is not from HQ's CA: %s"), local->message);
              else
                g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_NETWORK, _("HQ cannot be reached: %s"),
                             local->message);
              return FALSE;
            }
          g_debug ("%s %s failed (%s); retrying", method, path, local->message);
          if (!back_off (c, attempt, error))
            return FALSE;
          continue;
        }
      out->status = soup_message_get_status (msg);
      if ((out->status == 429 || out->status >= 500) && attempt + 1 < MAX_ATTEMPTS)
        {
          g_debug ("%s %s answered %u; retrying", method, path, out->status);
          if (!back_off (c, attempt, error))
            return FALSE;
          continue;
        }
      if (g_bytes_get_size (reply) > MAX_RESPONSE_BYTES)
        {
          g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_TOO_LARGE, _("HQ's answer is too large"));
          return FALSE;
        }
      c->bytes_up += body != NULL ? g_bytes_get_size (body) : 0;
      c->bytes_down += g_bytes_get_size (reply);
      out->body = g_steal_pointer (&reply);
      out->content_type = g_strdup (soup_message_headers_get_content_type (soup_message_get_response_headers (msg),
                                                                           NULL));
      return TRUE;
    }
}

/* HQ's JSON error, as one line. */
static gboolean
refused (Client    *c,
         Response  *r,
         GError   **error)
{
  g_autoptr(JsonObject) obj = NULL;
  const char *message = NULL, *code = NULL;
  gsize len = 0;
  const char *data = r->body != NULL ? g_bytes_get_data (r->body, &len) : NULL;

  /* A revoked device is told so in a notice signed by HQ. */
  if (r->status == 403 && g_strcmp0 (r->content_type, RFL_PROTOCOL_TYPE_NOTICE) == 0)
    return rfl_sync_device_take_notice (c->store, r->body, error);

  if (data != NULL && len < 4096 && (obj = rfl_json_parse_object (data, len, "HQ's answer", NULL)) != NULL)
    {
      message = rfl_json_string_or (obj, "error", NULL);
      code = rfl_json_string_or (obj, "code", NULL);
    }
  /* HQ has more of a stream than this device (replay), or less, or another
   * history (chain): one of the two databases is an older copy. */
  g_set_error (error, RFL_SYNC_ERROR,
               r->status == 409 && g_strcmp0 (code, "replay") == 0 ? RFL_SYNC_ERROR_REPLAY :
               r->status == 409 && g_strcmp0 (code, "chain") == 0 ? RFL_SYNC_ERROR_CHAIN : RFL_SYNC_ERROR_REFUSED,
               _("HQ refused the request (%u): %s"),
               r->status, message != NULL ? message : soup_status_get_phrase (r->status));
  return FALSE;
}

static JsonObject *
response_object (Response  *r,
                 GError   **error)
{
  gsize len = 0;
  const char *data = r->body != NULL ? g_bytes_get_data (r->body, &len) : NULL;
  JsonObject *obj = rfl_json_parse_object (data != NULL ? data : "", len, "HQ's answer", NULL);

  if (obj == NULL)
    g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED, _("HQ's answer is not JSON"));
  return obj;
}

/**
 * rfl_sync_client_enroll:
 *
 * Registers this device with HQ using a one-time token.
 */
gboolean
rfl_sync_client_enroll (RflStore              *device,
                        const RflEnrollToken  *token,
                        const RflSyncOptions  *options,
                        GError               **error)
{
  g_auto(Client) c = { 0 };
  g_auto(Response) r = { 0 };
  g_autofree char *body = NULL;
  g_autoptr(GBytes) bytes = NULL;
  const char *url = options != NULL && options->url != NULL ? options->url : token->hq_url;

  if (rfl_sync_device_is_enrolled (device))
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REFUSED, _("this device is already enrolled"));
      return FALSE;
    }
  if (!client_init (&c, device, url, token->ca_pem, options, NULL, error) ||
      (body = rfl_enroll_request_body (device, token, error)) == NULL)
    return FALSE;
  bytes = g_bytes_new (body, strlen (body));
  if (!request (&c, "POST", RFL_PROTOCOL_PATH_ENROLL, bytes, FALSE, &r, error))
    return FALSE;
  if (r.status != 200)
    return refused (&c, &r, error);
  if (!rfl_enroll_finish (device, token, r.body, error))
    return FALSE;
  return url == token->hq_url || rfl_store_set_setting (device, "hq_url", url, error);
}

static gboolean
client_for_device (Client                *c,
                   RflStore              *device,
                   const RflSyncOptions  *options,
                   GCancellable          *cancellable,
                   GError               **error)
{
  g_autofree char *stored = rfl_store_get_setting (device, "hq_url");
  g_autofree char *ca = rfl_store_get_setting (device, "ca_pem");

  if (!rfl_sync_device_is_enrolled (device))
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_NOT_ENROLLED,
                           _("this device is not enrolled with HQ; run 'enroll TOKEN_FILE' first"));
      return FALSE;
    }
  return client_init (c, device, options != NULL && options->url != NULL ? options->url : stored,
                      ca, options, cancellable, error);
}

/**
 * rfl_sync_client_ping:
 *
 * Confirms that HQ answers, and knows this device, with one signed request.
 */
gboolean
rfl_sync_client_ping (RflStore              *device,
                      const RflSyncOptions  *options,
                      GCancellable          *cancellable,
                      GError               **error)
{
  g_auto(Client) c = { 0 };
  g_auto(Response) r = { 0 };

  if (!client_for_device (&c, device, options, cancellable, error) ||
      !request (&c, "GET", RFL_PROTOCOL_PATH_PING, NULL, TRUE, &r, error))
    return FALSE;
  return r.status == 200 || refused (&c, &r, error);
}

/* Pipelining. While this device merges one bundle from HQ, a fetcher
 * thread downloads and opens the next; while HQ merges one bundle from this
 * device, a sealer thread seals the next. A worker runs at most
 * PIPELINE_DEPTH bundles ahead. The fetcher never touches the store, which
 * the merge holds. */

#define PIPELINE_DEPTH 2
/* The fetcher runs further ahead: what waits when a merge ends is merged
 * next in one transaction (rfl_sync_device_accept_opened_batch()), with
 * one commit for all of it, up to RFL_SYNC_BUNDLE_BYTES of bundles. */
#define FETCH_DEPTH    4
#define END_OF_WORK    GUINT_TO_POINTER (1)

typedef struct
{
  GThread       *thread;
  GAsyncQueue   *ready;        /* items, then END_OF_WORK */
  GAsyncQueue   *slots;        /* a token per bundle the worker may run ahead */
  GDestroyNotify free_item;
  GCancellable  *cancellable;  /* stops the worker's requests */
  GCancellable  *caller;       /* forwarded to @cancellable */
  gulong         forwarding;
  gint           stop;
  GError        *error;        /* why the worker ended early */
  /* fetcher */
  Client         c;
  GMutex         lock;
  guint64        have;         /* under @lock: the last bundle applied */
  guint64        after;        /* the last bundle fetched */
  RflBundleOpener *opener;
  /* sealer */
  RflStore      *store;
  RflDeviceKeys *keys;
} Worker;

static void
forward_cancel (GCancellable *caller,
                gpointer      data)
{
  g_cancellable_cancel (data);
}

static void
worker_start (Worker         *w,
              guint           depth,
              const char     *name,
              GThreadFunc     func,
              GDestroyNotify  free_item,
              GCancellable   *caller)
{
  w->ready = g_async_queue_new ();
  w->slots = g_async_queue_new ();
  w->free_item = free_item;
  for (guint i = 0; i < depth; i++)
    g_async_queue_push (w->slots, GUINT_TO_POINTER (1));
  w->cancellable = g_cancellable_new ();
  w->c.cancellable = w->cancellable;
  if (caller != NULL)
    {
      w->caller = g_object_ref (caller);
      w->forwarding = g_cancellable_connect (caller, G_CALLBACK (forward_cancel), w->cancellable, NULL);
    }
  g_mutex_init (&w->lock);
  w->thread = g_thread_new (name, func, w);
}

/* In the worker: waits until it may run one more bundle ahead. FALSE: stop. */
static gboolean
worker_may_go_on (Worker *w)
{
  g_async_queue_pop (w->slots);
  return !g_atomic_int_get (&w->stop);
}

/* In the worker: the last thing it does. */
static gpointer
worker_finish (Worker *w,
               GError *error)
{
  w->error = error;
  g_async_queue_push (w->ready, END_OF_WORK);
  return NULL;
}

/* The next item, or %NULL at the end, with the worker's error if it failed. */
static gpointer
worker_next (Worker  *w,
             GError **error)
{
  gpointer item = g_async_queue_pop (w->ready);

  if (item == END_OF_WORK)
    {
      g_async_queue_push_front (w->ready, END_OF_WORK);
      if (w->error != NULL)
        g_propagate_error (error, g_steal_pointer (&w->error));
      return NULL;
    }
  g_async_queue_push (w->slots, GUINT_TO_POINTER (1));
  return item;
}

/* The next item if one is ready, without waiting; %NULL otherwise or at
 * the end, which the next worker_next() reports. */
static gpointer
worker_try_next (Worker *w)
{
  gpointer item = g_async_queue_try_pop (w->ready);

  if (item == NULL)
    return NULL;
  if (item == END_OF_WORK)
    {
      g_async_queue_push_front (w->ready, END_OF_WORK);
      return NULL;
    }
  g_async_queue_push (w->slots, GUINT_TO_POINTER (1));
  return item;
}

static void
worker_clear (Worker *w)
{
  gpointer item;

  if (w->thread == NULL)
    return;
  g_atomic_int_set (&w->stop, 1);
  g_cancellable_cancel (w->cancellable);
  g_async_queue_push (w->slots, GUINT_TO_POINTER (1));
  g_thread_join (w->thread);
  w->thread = NULL;
  while ((item = g_async_queue_try_pop (w->ready)) != NULL)
    if (item != END_OF_WORK)
      w->free_item (item);
  g_clear_pointer (&w->ready, g_async_queue_unref);
  g_clear_pointer (&w->slots, g_async_queue_unref);
  if (w->caller != NULL)
    g_cancellable_disconnect (w->caller, w->forwarding);
  g_clear_object (&w->caller);
  g_clear_object (&w->cancellable);
  g_clear_error (&w->error);
  g_mutex_clear (&w->lock);
  client_clear (&w->c);
  g_clear_pointer (&w->opener, rfl_bundle_opener_free);
  g_clear_pointer (&w->keys, rfl_device_keys_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Worker, worker_clear)

static void
response_free (Response *r)
{
  response_clear (r);
  g_free (r);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Response, response_free)

/* Asks for the bundle after the last one fetched, until HQ answers anything
 * but a bundle, and opens each bundle; every answer goes to the merge, which
 * has the last word. */
static gpointer
fetch_thread (gpointer data)
{
  Worker *w = data;
  GError *error = NULL;

  while (worker_may_go_on (w))
    {
      g_autofree char *path = NULL;
      Response *r = g_new0 (Response, 1);
      gboolean more = FALSE;

      g_mutex_lock (&w->lock);
      path = g_strdup_printf (RFL_PROTOCOL_PATH_PULL "?" RFL_PROTOCOL_PULL_HAVE "=%"
                              G_GUINT64_FORMAT "&" RFL_PROTOCOL_PULL_AFTER "=%" G_GUINT64_FORMAT,
                              w->have, MAX (w->after, w->have));
      g_mutex_unlock (&w->lock);
      if (!request (&w->c, "GET", path, NULL, TRUE, r, &error))
        {
          response_free (r);
          break;
        }
      if (r->status == 200)
        {
          guint64 seq_to;

          r->opened = rfl_bundle_opener_open (w->opener, r->body);
          /* Where to ask next; a bundle that did not open is judged by the merge. */
          seq_to = rfl_opened_bundle_get_seq_to (r->opened);
          if ((more = seq_to > w->after))
            w->after = seq_to;
        }
      g_async_queue_push (w->ready, r);
      if (!more)
        break;
    }
  return worker_finish (w, error);
}

/* Pulls until HQ has nothing more. */
static gboolean
pull_all (Client         *c,
          RflStore       *device,
          RflSyncReport  *report,
          GError        **error)
{
  g_auto(Worker) w = { 0 };
  g_autoptr(Response) carry = NULL;   /* an answer fetched after a batch */

  if ((w.opener = rfl_sync_device_opener_new (device, error)) == NULL)
    return FALSE;
  client_init_copy (&w.c, c);
  w.have = rfl_sync_device_have (device);
  worker_start (&w, FETCH_DEPTH, "rfl-fetch", fetch_thread, (GDestroyNotify) response_free, c->cancellable);
  for (guint pulled = 0; pulled < MAX_PULLS;)
    {
      g_autoptr(GError) local = NULL;
      g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func ((GDestroyNotify) response_free);
      g_autofree RflOpenedBundle **opened = NULL;
      Response *r = carry != NULL ? g_steal_pointer (&carry) : worker_next (&w, &local);
      gsize bytes = 0;
      gboolean ok;

      if (r == NULL)
        {
          if (local == NULL)
            local = g_error_new_literal (RFL_SYNC_ERROR, RFL_SYNC_ERROR_NETWORK, "HQ stopped answering");
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      if (r->status != 200)
        {
          c->bytes_down += r->body != NULL ? g_bytes_get_size (r->body) : 0;
          ok = r->status == 204 || refused (c, r, error);
          response_free (r);
          return ok;
        }
      /* With it, the bundles already fetched behind it. */
      for (; r != NULL; r = bytes < RFL_SYNC_BUNDLE_BYTES ? worker_try_next (&w) : NULL)
        {
          if (r->status != 200)
            {
              carry = r;
              break;
            }
          bytes += r->body != NULL ? g_bytes_get_size (r->body) : 0;
          g_ptr_array_add (batch, r);
        }
      c->bytes_down += bytes;
      opened = g_new0 (RflOpenedBundle *, batch->len);
      for (guint i = 0; i < batch->len; i++)
        opened[i] = ((Response *) g_ptr_array_index (batch, i))->opened;
      if (!rfl_sync_device_accept_opened_batch (device, opened, batch->len, report, error))
        return FALSE;
      g_mutex_lock (&w.lock);
      w.have = rfl_sync_device_have (device);
      g_mutex_unlock (&w.lock);
      if (c->progress != NULL)
        c->progress (report, c->progress_data);
      pulled += batch->len;
    }
  g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REFUSED, _("HQ kept sending bundles; try again later"));
  return FALSE;
}

/* Seals this device's new changes for HQ, one bundle at a time. */
static gpointer
seal_thread (gpointer data)
{
  Worker *w = data;
  GError *error = NULL;

  while (worker_may_go_on (w))
    {
      RflOutboxItem *item = rfl_sync_device_seal_next (w->store, w->keys, &error);

      if (item == NULL)
        break;
      g_async_queue_push (w->ready, item);
    }
  return worker_finish (w, error);
}

static gboolean
push_one (Client         *c,
          RflStore       *device,
          RflOutboxItem  *item,
          RflSyncReport  *report,
          GError        **error)
{
  g_auto(Response) r = { 0 };
  g_autoptr(JsonObject) receipt = NULL;

  if (!request (c, "POST", RFL_PROTOCOL_PATH_PUSH, item->envelope, TRUE, &r, error))
    return FALSE;
  if (r.status != 200)
    return refused (c, &r, error);
  if ((receipt = response_object (&r, error)) == NULL ||
      !rfl_sync_device_take_receipt (device, receipt, report, error))
    return FALSE;
  report->sent++;
  if (c->progress != NULL)
    c->progress (report, c->progress_data);
  return TRUE;
}

/* Sends what an earlier sync sealed but HQ never receipted, then each new
 * bundle as it is sealed. */
static gboolean
push_all (Client         *c,
          RflStore       *device,
          RflSyncReport  *report,
          GError        **error)
{
  g_autoptr(GPtrArray) unreceipted = NULL;
  g_auto(Worker) w = { 0 };

  if ((unreceipted = rfl_sync_device_unreceipted (device, error)) == NULL)
    return FALSE;
  w.store = device;
  w.keys = rfl_device_keys_copy (c->keys);
  worker_start (&w, PIPELINE_DEPTH, "rfl-seal", seal_thread, (GDestroyNotify) rfl_outbox_item_free, c->cancellable);
  for (guint i = 0; i < unreceipted->len; i++)
    if (!push_one (c, device, g_ptr_array_index (unreceipted, i), report, error))
      return FALSE;
  for (;;)
    {
      g_autoptr(GError) local = NULL;
      g_autoptr(RflOutboxItem) item = worker_next (&w, &local);

      if (item == NULL)
        {
          if (local == NULL)
            return TRUE;
          g_propagate_error (error, g_steal_pointer (&local));
          return FALSE;
        }
      if (!push_one (c, device, item, report, error))
        return FALSE;
    }
}

/* This device is behind HQ on a stream: its database was restored from an
 * older copy. HQ's signed statement, over a challenge chosen here, says
 * where both streams stand; the device goes on from there. */
static gboolean
rebase (Client         *c,
        RflStore       *device,
        RflSyncReport  *report,
        GError        **error)
{
  g_auto(Response) r = { 0 };
  g_autoptr(JsonObject) statement = NULL;
  g_autofree char *body = NULL;
  g_autoptr(GBytes) bytes = NULL;
  guint8 nonce[16];
  char challenge[33];

  randombytes_buf (nonce, sizeof nonce);
  sodium_bin2hex (challenge, sizeof challenge, nonce, sizeof nonce);
  body = g_strdup_printf ("{\"challenge\":\"%s\"}", challenge);
  bytes = g_bytes_new (body, strlen (body));
  if (!request (c, "POST", RFL_PROTOCOL_PATH_REBASE, bytes, TRUE, &r, error))
    return FALSE;
  if (r.status != 200)
    return refused (c, &r, error);
  if ((statement = response_object (&r, error)) == NULL)
    return FALSE;
  return rfl_sync_device_take_rebase (device, statement, challenge, report, error);
}

typedef gboolean (*StreamStep) (Client *c, RflStore *device, RflSyncReport *report, GError **error);

/* Runs @step; if HQ says it has more of a stream than this device, or less,
 * or another history, re-bases once and runs it again. */
static gboolean
with_rebase (Client         *c,
             RflStore       *device,
             StreamStep      step,
             RflSyncReport  *report,
             GError        **error)
{
  g_autoptr(GError) local = NULL;

  if (step (c, device, report, &local))
    return TRUE;
  if (report->rebased || !(g_error_matches (local, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REPLAY) ||
                            g_error_matches (local, RFL_SYNC_ERROR, RFL_SYNC_ERROR_CHAIN)))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  return rebase (c, device, report, error) && step (c, device, report, error);
}

/**
 * rfl_sync_client_run:
 *
 * One sync: check HQ's roster, push every bundle HQ has not receipted, pull
 * until HQ has nothing more, then compare state hashes; if they differ, ask
 * HQ to send the whole scope again, once. Every step is resumable: an
 * interrupted sync loses nothing and repeats nothing.
 */
gboolean
rfl_sync_client_run (RflStore              *device,
                     const RflSyncOptions  *options,
                     RflSyncReport         *report,
                     GCancellable          *cancellable,
                     GError               **error)
{
  g_auto(Client) c = { 0 };

  if (!client_for_device (&c, device, options, cancellable, error))
    return FALSE;

  {
    g_auto(Response) r = { 0 };

    if (!request (&c, "GET", RFL_PROTOCOL_PATH_ROSTER, NULL, TRUE, &r, error))
      return FALSE;
    if (r.status != 200)
      return refused (&c, &r, error);
    if (!rfl_sync_device_take_roster (device, r.body, error))
      return FALSE;
  }

  if (!with_rebase (&c, device, push_all, report, error))
    return FALSE;

  for (int attempt = 0, idle_rounds = 0;;)
    {
      g_auto(Response) r = { 0 };
      g_autoptr(JsonObject) obj = NULL;
      g_autofree char *mine = NULL;
      gboolean rebased_before = report->rebased;
      guint received_before = report->received;

      if (!with_rebase (&c, device, pull_all, report, error))
        return FALSE;
      /* Re-based on the way in: what HQ lost of this device's goes out now. */
      if (report->rebased && !rebased_before && !push_all (&c, device, report, error))
        return FALSE;
      if (!request (&c, "GET", RFL_PROTOCOL_PATH_STATE, NULL, TRUE, &r, error))
        return FALSE;
      if (r.status != 200)
        return refused (&c, &r, error);
      if ((obj = response_object (&r, error)) == NULL ||
          (mine = rfl_store_state_hash (device, NULL, NULL, error)) == NULL)
        return FALSE;
      report->compared = TRUE;
      report->converged = g_strcmp0 (mine, rfl_json_string_or (obj, "hash", NULL)) == 0;
      report->behind = !report->converged && rfl_json_bool_or (obj, "pending", FALSE);
      if (report->converged)
        break;
      /* HQ merged more for this device, from other devices, since its
       * last bundle here: behind, not diverged. It pulls again while that
       * brings something, within the deadline. */
      if (report->behind && report->received == received_before)
        idle_rounds++;
      if (report->behind && idle_rounds < 2 && g_get_monotonic_time () < c.deadline)
        continue;
      if (report->behind || attempt++ > 0)
        break;

      /* Diverged although everything was exchanged: have HQ send the whole
       * scope again. Merging it is idempotent; what is missing or stale here
       * is repaired. */
      {
        g_auto(Response) rr = { 0 };
        g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);

        if (!request (&c, "POST", RFL_PROTOCOL_PATH_RESYNC, empty, TRUE, &rr, error))
          return FALSE;
        if (rr.status != 200)
          return refused (&c, &rr, error);
        report->resynced = TRUE;
      }
    }

  {
    g_autofree char *now = NULL;
    g_autoptr(GDateTime) dt = g_date_time_new_now_utc ();

    report->bytes_up = c.bytes_up;
    report->bytes_down = c.bytes_down;
    now = g_date_time_format_iso8601 (dt);
    return rfl_store_set_setting (device, "last_sync", now, error);
  }
}

/**
 * rfl_sync_client_prepare:
 *
 * Call at the start of main(), before any thread: makes libsoup speak
 * HTTP/1.1 only, which is what HQ and its nginx front serve.
 */
void
rfl_sync_client_prepare (void)
{
  g_setenv ("SOUP_FORCE_HTTP1", "1", TRUE);
}
