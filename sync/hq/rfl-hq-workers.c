/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Where HQ does the work of a request: on a pool of worker threads, so that
 * the main context keeps reading and writing every connection while one
 * device's bundle merges. A merge holds the store's write lock for a
 * tenth of a second or more; before this, it held the whole server, and a
 * device pulling waited for every push ahead of it to merge.
 *
 * The router (rfl-hq-server.c) pauses the message and hands it here. A
 * worker checks the device's signature, runs the route's handler into an
 * RflHqReply, and the main context sends it. The store serialises what
 * its lock must: one writer at a time, which merges the bundles of every
 * worker waiting for it in one transaction. Signatures, decryption and
 * parsing run outside that lock, on twice as many workers as the machine
 * has cores.
 *
 * One device's requests run one at a time, in the order they came: its
 * pushes chain, and a pull acknowledges what the one before delivered.
 * While it waits, a request's body still counts against the bodies HQ
 * holds at once (rfl-hq-server.c), so queued requests cannot pile up.
 */
#define G_LOG_DOMAIN "reunite-hq"

#include "rfl-hq-server-private.h"

#include "rfl-protocol.h"
#include "rfl-sync.h"

#define MAX_WORKERS 8

typedef struct
{
  RflHqServer       *server;     /* not a reference: the server waits for its jobs */
  SoupServerMessage *msg;
  const RflHqRoute  *route;
  GBytes            *body;
  GHashTable        *query;
  char              *queue_key;  /* the device the request names, or NULL */
  char              *address;
  char              *method;
  char              *path;       /* with its query, as the device signed it */
  RflRequestAuth     auth;
  RflHqReply         reply;
} Job;

static void
job_free (gpointer data)
{
  Job *job = data;

  g_clear_object (&job->msg);
  g_clear_pointer (&job->body, g_bytes_unref);
  g_clear_pointer (&job->query, g_hash_table_unref);
  g_free (job->queue_key);
  g_free (job->address);
  g_free (job->method);
  g_free (job->path);
  g_free (job->auth.device);
  g_free (job->auth.time);
  g_free (job->auth.nonce);
  g_free (job->auth.signature);
  rfl_hq_reply_clear (&job->reply);
  g_free (job);
}

/* The request's path with its query, as the device signed it. */
static char *
signed_path (SoupServerMessage *msg)
{
  GUri *uri = soup_server_message_get_uri (msg);

  if (g_uri_get_query (uri) == NULL)
    return g_strdup (g_uri_get_path (uri));
  return g_strconcat (g_uri_get_path (uri), "?", g_uri_get_query (uri), NULL);
}

/* Authenticates a request by its device signature. On failure the reply
 * is set and NULL returned. */
static RflPeer *
authenticate (RflHqServer *self,
              Job         *job)
{
  RflHqReply *reply = &job->reply;
  g_autoptr(RflPeer) peer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *device_key = NULL;
  gsize len = 0;
  const guint8 *data = job->body != NULL ? g_bytes_get_data (job->body, &len) : NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gboolean verified;

  if (job->auth.device == NULL || (peer = rfl_store_get_peer (self->store, job->auth.device, NULL)) == NULL ||
      g_strcmp0 (peer->role, "device") != 0)
    {
      rfl_hq_server_rate_ok (self, job->address, TRUE);
      rfl_hq_reply_error (reply, 401, "unauthenticated", "the request is not from an enrolled device");
      return NULL;
    }
  g_mutex_lock (&self->lock);
  verified = rfl_request_auth_verify (&job->auth, job->method, job->path, data, len, peer->sign_pk, now,
                                      self->replays, &error);
  g_mutex_unlock (&self->lock);
  if (!verified)
    {
      rfl_hq_server_rate_ok (self, job->address, TRUE);
      rfl_hq_reply_error (reply, error->code == RFL_SYNC_ERROR_REPLAY ? 409 : 401,
                          rfl_hq_error_code (error), error->message);
      return NULL;
    }
  /* Only a verified request counts against its device. */
  device_key = g_strconcat ("device:", peer->id, NULL);
  if (!rfl_hq_server_rate_ok (self, device_key, TRUE))
    {
      rfl_hq_reply_error (reply, 429, "rate_limited", "too many requests; slow down");
      reply->retry_after = 1;
      return NULL;
    }
  /* Remembered durably before anything is done for it: replayed after a
   * restart, it is refused. */
  if (!rfl_store_accept_request (self->store, peer->id, job->auth.nonce,
                                 rfl_request_auth_expiry (now), now, &error))
    {
      if (g_error_matches (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION))
        rfl_hq_reply_error (reply, 409, "replay", error->message);
      else
        rfl_hq_reply_gerror (reply, error);
      return NULL;
    }
  if (g_strcmp0 (peer->status, "active") != 0)
    {
      g_autoptr(GBytes) notice = rfl_sync_notice_new (self->store, peer->id, &error);

      if (notice != NULL)
        rfl_hq_reply_bytes (reply, 403, RFL_PROTOCOL_TYPE_NOTICE, notice);
      else
        rfl_hq_reply_gerror (reply, error);
      return NULL;
    }
  return g_steal_pointer (&peer);
}

static gboolean answer_cb (gpointer data);

/* On a worker. */
static void
work (gpointer data,
      gpointer user_data)
{
  Job *job = data;
  RflHqServer *self = job->server;
  g_autoptr(RflPeer) peer = NULL;
  GSource *source;

  if (job->route->payer == RFL_HQ_PAID_BY_ADDRESS || (peer = authenticate (self, job)) != NULL)
    job->route->handler (self, &job->reply, peer, job->body, job->query);

  /* The answer goes from the main context, which owns the connection. */
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT);
  g_source_set_callback (source, answer_cb, job, job_free);
  g_source_set_static_name (source, "[reunite-hq] answer");
  g_mutex_lock (&self->lock);
  g_ptr_array_add (self->answering, g_source_ref (source));
  g_mutex_unlock (&self->lock);
  g_source_attach (source, self->context);
  g_source_unref (source);
}

/* The next request of the same device, if one waits, goes to a worker. */
static void
start_next (RflHqServer *self,
            const char  *key)
{
  GQueue *waiting = g_hash_table_lookup (self->busy, key);
  Job *next = waiting != NULL ? g_queue_pop_head (waiting) : NULL;

  if (next != NULL)
    g_thread_pool_push (self->workers, next, NULL);
  else
    g_hash_table_remove (self->busy, key);
}

/* In the main context: the answer is sent. */
static gboolean
answer_cb (gpointer data)
{
  Job *job = data;
  RflHqServer *self = job->server;

  GSource *source = g_main_current_source ();

  g_mutex_lock (&self->lock);
  if (g_ptr_array_remove_fast (self->answering, source))
    g_source_unref (source);
  g_mutex_unlock (&self->lock);
  rfl_hq_reply_send (&job->reply, job->msg);
  soup_server_message_unpause (job->msg);
  if (job->queue_key != NULL)
    start_next (self, job->queue_key);
  return G_SOURCE_REMOVE;
}

/**
 * rfl_hq_server_run:
 * @route: where @msg goes
 * @body: (nullable): its body, for a POST
 * @query: (nullable): its query
 *
 * In the main context: @msg waits, and a worker authenticates it, if its
 * route wants a device, and runs its handler. The answer is sent from the
 * main context.
 */
void
rfl_hq_server_run (RflHqServer       *self,
                   SoupServerMessage *msg,
                   const RflHqRoute  *route,
                   GBytes            *body,
                   GHashTable        *query)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  Job *job = g_new0 (Job, 1);
  GQueue *waiting;

  job->server = self;
  job->msg = g_object_ref (msg);
  job->route = route;
  job->body = body != NULL ? g_bytes_ref (body) : NULL;
  job->query = query != NULL ? g_hash_table_ref (query) : NULL;
  job->address = rfl_hq_address_key (msg);
  job->method = g_strdup (soup_server_message_get_method (msg));
  job->path = signed_path (msg);
  job->auth.device = g_strdup (soup_message_headers_get_one (headers, RFL_REQUEST_HEADER_DEVICE));
  job->auth.time = g_strdup (soup_message_headers_get_one (headers, RFL_REQUEST_HEADER_TIME));
  job->auth.nonce = g_strdup (soup_message_headers_get_one (headers, RFL_REQUEST_HEADER_NONCE));
  job->auth.signature = g_strdup (soup_message_headers_get_one (headers, RFL_REQUEST_HEADER_SIGNATURE));
  soup_server_message_pause (msg);

  /* Requests that name the same device wait for each other, whether or not
   * the name is true: a forged one fails on its turn, quickly. */
  if (route->payer == RFL_HQ_PAID_BY_ADDRESS || job->auth.device == NULL)
    {
      g_thread_pool_push (self->workers, job, NULL);
      return;
    }
  job->queue_key = g_strdup (job->auth.device);
  if ((waiting = g_hash_table_lookup (self->busy, job->queue_key)) != NULL)
    {
      g_queue_push_tail (waiting, job);
      return;
    }
  g_hash_table_insert (self->busy, g_strdup (job->queue_key), g_queue_new ());
  g_thread_pool_push (self->workers, job, NULL);
}

static void
queue_free (gpointer data)
{
  g_queue_free_full (data, job_free);
}

void
rfl_hq_workers_init (RflHqServer *self)
{
  /* Twice the cores: a worker that waits for the store's group commit
   * (rfl_store_apply_bundles()) leaves its core to another, which checks
   * and opens the next device's bundle meanwhile and joins the group. */
  guint n = CLAMP (2 * g_get_num_processors (), 4, MAX_WORKERS);

  self->workers = g_thread_pool_new (work, self, (int) n, FALSE, NULL);
  self->busy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, queue_free);
  self->answering = g_ptr_array_new ();
}

/* The requests under way finish, and are dropped unanswered: their
 * clients see the connection close, as when HQ stops. */
void
rfl_hq_workers_stop (RflHqServer *self)
{
  if (self->workers != NULL)
    g_thread_pool_free (g_steal_pointer (&self->workers), FALSE, TRUE);
  g_clear_pointer (&self->busy, g_hash_table_unref);
  if (self->answering != NULL)
    {
      for (guint i = 0; i < self->answering->len; i++)
        {
          GSource *source = g_ptr_array_index (self->answering, i);

          g_source_destroy (source);
          g_source_unref (source);
        }
      g_clear_pointer (&self->answering, g_ptr_array_unref);
    }
}
