/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * RflHqServer: HQ's HTTP endpoint, as an object the reunite-hq program, the
 * tests and the fuzz target all run the same way. It holds what stands
 * between the network and the store: how many connections it takes and for
 * how long, how large a body it reads, how often an address or a device may
 * ask, and whose signature a request carries. Then a table of routes sends
 * each request to its handler (rfl-hq-handlers.c).
 *
 * libsoup's SoupServer is not meant for untrusted clients (it has no body
 * limit, and no timeout for headers that trickle in), so every such limit is
 * enforced here; in production nginx stands in front as well
 * (docs/OPERATIONS.md). The server runs in the thread, and on the main
 * context, it was made in.
 */
#define G_LOG_DOMAIN "reunite-hq"

#include <malloc.h>
#include <string.h>

/* Under AddressSanitizer, freed memory waits in its quarantine and its own
 * allocator's free lists, which malloc_trim() does not reach. */
#if defined(__SANITIZE_ADDRESS__)
#define RFL_HQ_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RFL_HQ_ASAN 1
#endif
#endif
#ifdef RFL_HQ_ASAN
/* From the ASan runtime of GCC and clang alike (allocator_interface.h,
 * which GCC does not install). */
void __sanitizer_purge_allocator (void);
#endif

#include "rfl-hq-server-private.h"

#include "rfl-envelope.h"
#include "rfl-protocol.h"
#include "rfl-sync.h"

#define DEFAULT_BURST           200.0
#define MAX_BUCKETS             10000
/* Connections at once, in all and from one address, and how long a
 * request's headers may take to arrive, however slowly they trickle. */
#define MAX_CONNECTIONS         512
#define MAX_CONNECTIONS_PER_ADDRESS 64
#define HEADER_TIMEOUT_S        10
#define MAX_ENROLL_BODY         4096
#define MAX_REBASE_BODY         256
#define MAX_PUSH_BODY           RFL_ENVELOPE_MAX_BYTES
/* Request bodies being received at once, from anyone: bodies are read
 * before the signature over them can be checked, so this bounds what
 * unauthenticated clients can make HQ hold. Four of the largest pushes. */
#define MAX_INFLIGHT_BODIES     (4 * (gint64) MAX_PUSH_BODY)
#define REPLAY_CACHE_ENTRIES    200000

/* Every endpoint of docs/PROTOCOL.md, "HTTP". */
static const RflHqRoute routes[] = {
  { "POST", RFL_PROTOCOL_PATH_ENROLL, MAX_ENROLL_BODY, RFL_HQ_PAID_BY_ADDRESS, rfl_hq_handle_enroll },
  { "POST", RFL_PROTOCOL_PATH_PUSH,   MAX_PUSH_BODY,   RFL_HQ_PAID_BY_DEVICE,  rfl_hq_handle_push },
  { "POST", RFL_PROTOCOL_PATH_RESYNC, 0,               RFL_HQ_PAID_BY_DEVICE,  rfl_hq_handle_resync },
  { "POST", RFL_PROTOCOL_PATH_REBASE, MAX_REBASE_BODY, RFL_HQ_PAID_BY_DEVICE,  rfl_hq_handle_rebase },
  { "GET",  RFL_PROTOCOL_PATH_PULL,   0,               RFL_HQ_PAID_BY_DEVICE,  rfl_hq_handle_pull },
  { "GET",  RFL_PROTOCOL_PATH_ROSTER, 0,               RFL_HQ_PAID_BY_DEVICE,  rfl_hq_handle_roster },
  { "GET",  RFL_PROTOCOL_PATH_STATE,  0,               RFL_HQ_PAID_BY_DEVICE,  rfl_hq_handle_state },
  { "GET",  RFL_PROTOCOL_PATH_PING,   0,               RFL_HQ_PAID_BY_DEVICE,  rfl_hq_handle_ping },
};

typedef struct
{
  double tokens;
  gint64 last;
} Bucket;

typedef struct
{
  RflHqServer *server;      /* weak: NULL once the server is disposed */
  gint64       length;
  gboolean     done;
} Inflight;

typedef struct
{
  RflHqServer       *server;
  char              *address;
  GSocketConnection *connection;   /* weak: its finalization frees this */
  GSocket           *socket;       /* borrowed: the connection holds it */
  GSource           *header_timer;
} Connection;

static void initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (RflHqServer, rfl_hq_server, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, initable_iface_init))

enum
{
  PROP_0,
  PROP_STORE,
  PROP_CLIENT_TIMEOUT,
  PROP_RATE,
  PROP_MAX_BODY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
respond_rate_limited (SoupServerMessage *msg)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After", "1");
  rfl_hq_respond_error (msg, 429, "rate_limited", "too many requests; slow down");
}

/* libsoup reads a request's body whatever the answer set from the early
 * handler: to spare HQ a body it refuses, the answer is written here and
 * the connection closed, so not a byte more of it is read. */
static void
refuse_and_close (SoupServerMessage *msg,
                  const char        *status_line,
                  const char        *code,
                  const char        *message)
{
  g_autoptr(GIOStream) io = soup_server_message_steal_connection (msg);
  g_autofree char *body = g_strdup_printf ("{\"error\":\"%s\",\"code\":\"%s\"}", message, code);
  g_autofree char *text = g_strdup_printf ("HTTP/1.1 %s\r\nContent-Type: " RFL_PROTOCOL_TYPE_JSON
                                           "\r\nRetry-After: 5\r\nConnection: close\r\n"
                                           "Content-Length: %zu\r\n\r\n%s",
                                           status_line, strlen (body), body);

  if (io == NULL)
    return;
  g_output_stream_write_all (g_io_stream_get_output_stream (io), text, strlen (text),
                             NULL, NULL, NULL);
  g_io_stream_close (io, NULL, NULL);
}

/* Rates. */

/* A token bucket per key: "device:ID" for what a device's verified
 * requests cost, "addr:ADDRESS" for what an address spends without being a
 * known device (failed authentication, enrollment). A header anyone can
 * write is never a key. With @take FALSE, only whether a request may come.
 * The router and the workers both ask. */
gboolean
rfl_hq_server_rate_ok (RflHqServer *self,
                       const char  *key,
                       gboolean     take)
{
  g_autoptr(GMutexLocker) locker = g_mutex_locker_new (&self->lock);
  gint64 now = g_get_monotonic_time ();
  Bucket *b = g_hash_table_lookup (self->buckets, key);

  if (b == NULL)
    {
      if (g_hash_table_size (self->buckets) >= MAX_BUCKETS)
        {
          GHashTableIter iter;
          gpointer value;

          /* Forget buckets that have refilled; they hold no information. */
          g_hash_table_iter_init (&iter, self->buckets);
          while (g_hash_table_iter_next (&iter, NULL, &value))
            if ((now - ((Bucket *) value)->last) / 1e6 * self->rate >= DEFAULT_BURST)
              g_hash_table_iter_remove (&iter);
          if (g_hash_table_size (self->buckets) >= MAX_BUCKETS)
            return FALSE;
        }
      b = g_new (Bucket, 1);
      b->tokens = DEFAULT_BURST;
      b->last = now;
      g_hash_table_insert (self->buckets, g_strdup (key), b);
    }
  b->tokens = MIN (DEFAULT_BURST, b->tokens + (now - b->last) / 1e6 * self->rate);
  b->last = now;
  if (b->tokens < 1.0)
    return FALSE;
  if (take)
    b->tokens -= 1.0;
  return TRUE;
}

char *
rfl_hq_address_key (SoupServerMessage *msg)
{
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);
  g_autofree char *address = NULL;

  if (G_IS_INET_SOCKET_ADDRESS (remote))
    address = g_inet_address_to_string (
      g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  return g_strconcat ("addr:", address != NULL ? address : "?", NULL);
}

/* Bodies being received. */

static void
give_back_memory (void)
{
#ifdef RFL_HQ_ASAN
  __sanitizer_purge_allocator ();
#else
  malloc_trim (0);
#endif
}

/* The message is answered, or its client went away: once either way. */
static void
body_done_cb (SoupServerMessage *msg,
              gpointer           user_data)
{
  Inflight *in = user_data;

  if (in->done)
    return;
  in->done = TRUE;
  if (in->server != NULL)
    in->server->inflight -= in->length;
}

/* With the message, whatever happened to it: the budget never leaks. */
static void
inflight_free (gpointer data)
{
  Inflight *in = data;

  body_done_cb (NULL, in);
  /* The message has freed its body by now: give a large one's memory back
   * to the system, not to the heap. */
  if (in->length >= 1024 * 1024)
    give_back_memory ();
  if (in->server != NULL)
    g_object_remove_weak_pointer (G_OBJECT (in->server), (gpointer *) &in->server);
  g_free (in);
}

/* Counts @length against the bodies received at once; FALSE when over. */
static gboolean
inflight_take (RflHqServer       *self,
               SoupServerMessage *msg,
               gint64             length)
{
  Inflight *in;

  if (self->inflight + length > MAX_INFLIGHT_BODIES)
    return FALSE;
  in = g_new0 (Inflight, 1);
  /* The message may outlive the server. */
  in->server = self;
  g_object_add_weak_pointer (G_OBJECT (self), (gpointer *) &in->server);
  in->length = length;
  self->inflight += length;
  g_object_set_data_full (G_OBJECT (msg), "rfl-inflight", in, inflight_free);
  g_signal_connect (msg, "finished", G_CALLBACK (body_done_cb), in);
  g_signal_connect (msg, "disconnected", G_CALLBACK (body_done_cb), in);
  return TRUE;
}

/* Connections. */

static void
stop_header_timer (Connection *c)
{
  if (c->header_timer == NULL)
    return;
  g_source_destroy (c->header_timer);
  g_clear_pointer (&c->header_timer, g_source_unref);
}

static void
connection_free (Connection *c)
{
  stop_header_timer (c);
  g_free (c->address);
  g_free (c);
}

static void
connection_gone (gpointer  data,
                 GObject  *where_the_object_was)
{
  Connection *c = data;
  RflHqServer *self = c->server;
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_address, c->address));

  g_hash_table_remove (self->by_socket, c->socket);
  self->n_connections--;
  if (n <= 1)
    g_hash_table_remove (self->per_address, c->address);
  else
    g_hash_table_insert (self->per_address, g_strdup (c->address), GUINT_TO_POINTER (n - 1));
  connection_free (c);
}

/* A request whose headers have not all arrived in time: its connection
 * is closed, however steadily they trickle in. */
static gboolean
header_timeout_cb (gpointer user_data)
{
  Connection *c = user_data;

  g_clear_pointer (&c->header_timer, g_source_unref);
  g_socket_shutdown (c->socket, TRUE, TRUE, NULL);
  return G_SOURCE_REMOVE;
}

static void
start_header_timer (Connection *c)
{
  c->header_timer = g_timeout_source_new_seconds (HEADER_TIMEOUT_S);
  g_source_set_callback (c->header_timer, header_timeout_cb, c, NULL);
  g_source_attach (c->header_timer, c->server->context);
}

static Connection *
connection_of (RflHqServer       *self,
               SoupServerMessage *msg)
{
  GSocket *socket = soup_server_message_get_socket (msg);

  return socket != NULL ? g_hash_table_lookup (self->by_socket, socket) : NULL;
}

/* A request answered: the next one on the connection has the same time
 * for its headers. */
static void
request_over_cb (SoupServer        *server,
                 SoupServerMessage *msg,
                 gpointer           user_data)
{
  Connection *c = connection_of (user_data, msg);

  if (c != NULL && c->header_timer == NULL)
    start_header_timer (c);
}

/* Each connection gets a read and write timeout: a client that stalls is
 * dropped and does not hold the server. */
static gboolean
incoming_cb (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source,
             gpointer           user_data)
{
  RflHqServer *self = user_data;
  GSocket *socket = g_socket_connection_get_socket (connection);
  g_autoptr(GSocketAddress) local = g_socket_connection_get_local_address (connection, NULL);
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address (connection, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *address = G_IS_INET_SOCKET_ADDRESS (remote)
    ? g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)))
    : g_strdup ("?");
  guint from_there = GPOINTER_TO_UINT (g_hash_table_lookup (self->per_address, address));
  Connection *c;

  /* Too many at once, in all or from one address, or gone already (reset
   * before it was accepted, so it has no addresses): closed at once. */
  if (local == NULL || remote == NULL ||
      self->n_connections >= MAX_CONNECTIONS || from_there >= MAX_CONNECTIONS_PER_ADDRESS)
    {
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      return TRUE;
    }
  c = g_new0 (Connection, 1);
  c->server = self;
  c->address = g_strdup (address);
  c->connection = connection;
  c->socket = socket;
  start_header_timer (c);
  g_hash_table_insert (self->by_socket, socket, c);
  self->n_connections++;
  g_hash_table_insert (self->per_address, g_steal_pointer (&address),
                       GUINT_TO_POINTER (from_there + 1));
  g_object_weak_ref (G_OBJECT (connection), connection_gone, c);

  g_socket_set_timeout (socket, self->client_timeout);
  if (!soup_server_accept_iostream (self->server, G_IO_STREAM (connection), local, remote, &error))
    g_debug ("refused a connection: %s", error->message);
  return TRUE;
}

/* Routing. */

static gint64
body_limit (const char *path)
{
  for (gsize i = 0; i < G_N_ELEMENTS (routes); i++)
    if (g_str_equal (path, routes[i].path))
      return routes[i].body_limit;
  return 0;
}

/* Two Content-Lengths, or one that is not a number: libsoup would wait
 * for a body it cannot delimit until the connection times out. */
static gboolean
content_length_malformed (SoupMessageHeaders *headers)
{
  const char *declared = soup_message_headers_get_list (headers, "Content-Length");
  gsize digits = declared != NULL ? strspn (declared, "0123456789") : 0;

  return declared != NULL && (digits == 0 || digits > 18 || declared[digits] != '\0');
}

/* Runs once the headers are in, before any of the body is read: an
 * oversized or unlimited body is refused here, so with Expect: 100-continue
 * the client never sends it. */
static void
early_handler (SoupServer        *server,
               SoupServerMessage *msg,
               const char        *path,
               GHashTable        *query,
               gpointer           user_data)
{
  RflHqServer *self = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  g_autofree char *key = rfl_hq_address_key (msg);
  gint64 limit = body_limit (path);
  Connection *c = connection_of (self, msg);
  goffset length;

  /* The headers are in: the body has its own limits. */
  if (c != NULL)
    stop_header_timer (c);

  if (content_length_malformed (headers))
    {
      refuse_and_close (msg, "400 Bad Request", "malformed",
                        "the Content-Length must be one number");
      return;
    }
  length = soup_message_headers_get_content_length (headers);
  /* An address that has spent its unauthenticated requests waits. Whose
   * request it is, the headers cannot say yet: they are unverified. */
  if (!rfl_hq_server_rate_ok (self, key, FALSE))
    {
      if (length > 0 || soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CHUNKED)
        refuse_and_close (msg, "429 Too Many Requests", "rate_limited",
                          "too many requests; slow down");
      else
        respond_rate_limited (msg);
      return;
    }

  /* A body HQ refuses is not read: the connection is closed after the answer. */
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CHUNKED)
    {
      refuse_and_close (msg, "411 Length Required", "length_required",
                        "send a Content-Length, not a chunked body");
      return;
    }
  if (length > (self->max_body > 0 ? MIN (limit, self->max_body) : limit))
    {
      refuse_and_close (msg, "413 Content Too Large", "too_large", "the request body is too large");
      return;
    }
  if (g_str_equal (soup_server_message_get_method (msg), "POST") &&
      soup_message_headers_get_encoding (headers) != SOUP_ENCODING_CONTENT_LENGTH)
    {
      rfl_hq_respond_error (msg, 411, "length_required", "a Content-Length is required");
      return;
    }
  if (length > 0 && !inflight_take (self, msg, length))
    refuse_and_close (msg, "503 Service Unavailable", "busy",
                      "HQ is receiving too much at once; try again shortly");
}

static const RflHqRoute *
find_route (const char *method,
            const char *path)
{
  for (gsize i = 0; i < G_N_ELEMENTS (routes); i++)
    if (g_str_equal (method, routes[i].method) && g_str_equal (path, routes[i].path))
      return &routes[i];
  return NULL;
}

static void
router (SoupServer        *server,
        SoupServerMessage *msg,
        const char        *path,
        GHashTable        *query,
        gpointer           user_data)
{
  RflHqServer *self = user_data;
  const RflHqRoute *route = find_route (soup_server_message_get_method (msg), path);
  g_autoptr(GBytes) body = NULL;

  /* Already answered by the early handler. */
  if (soup_server_message_get_status (msg) != 0)
    return;
  if (route == NULL)
    {
      rfl_hq_respond_error (msg, 404, "not_found", "no such endpoint");
      return;
    }
  if (g_str_equal (route->method, "POST"))
    body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  if (route->payer == RFL_HQ_PAID_BY_ADDRESS)
    {
      g_autofree char *address = rfl_hq_address_key (msg);

      /* Nobody is known yet: the request costs the address. */
      if (!rfl_hq_server_rate_ok (self, address, TRUE))
        {
          respond_rate_limited (msg);
          return;
        }
    }
  /* The signature, the store and the answer: on a worker. */
  rfl_hq_server_run (self, msg, route, body, query);
}

static void
remember_request (const char *device,
                  const char *nonce,
                  gint64      expires,
                  gpointer    user_data)
{
  rfl_replay_cache_add (user_data, device, nonce, expires);
}

/* The requests accepted before a restart stay refused as replays. */
static gboolean
rfl_hq_server_initable_init (GInitable     *initable,
                             GCancellable  *cancellable,
                             GError       **error)
{
  RflHqServer *self = RFL_HQ_SERVER (initable);

  g_return_val_if_fail (RFL_IS_STORE (self->store), FALSE);

  return rfl_store_foreach_request (self->store, g_get_real_time () / G_USEC_PER_SEC,
                                    remember_request, self->replays, error);
}

static void
initable_iface_init (GInitableIface *iface)
{
  iface->init = rfl_hq_server_initable_init;
}

/* Connections may outlive the server: they no longer report to it. */
static void
forget_connections (RflHqServer *self)
{
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, self->by_socket);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    {
      Connection *c = value;

      g_object_weak_unref (G_OBJECT (c->connection), connection_gone, c);
      g_hash_table_iter_remove (&iter);
      connection_free (c);
    }
  g_hash_table_remove_all (self->per_address);
  self->n_connections = 0;
}

static void
rfl_hq_server_dispose (GObject *object)
{
  RflHqServer *self = RFL_HQ_SERVER (object);

  /* Closed now: a pending accept keeps the service alive until its main
   * context runs again, which may be never, and the port taken. */
  if (self->service != NULL)
    {
      g_socket_service_stop (self->service);
      g_socket_listener_close (G_SOCKET_LISTENER (self->service));
    }
  g_clear_object (&self->service);
  if (self->server != NULL)
    soup_server_disconnect (self->server);
  g_clear_object (&self->server);
  rfl_hq_workers_stop (self);
  forget_connections (self);
  g_clear_object (&self->replays);
  g_clear_object (&self->store);

  G_OBJECT_CLASS (rfl_hq_server_parent_class)->dispose (object);
}

static void
rfl_hq_server_finalize (GObject *object)
{
  RflHqServer *self = RFL_HQ_SERVER (object);

  g_clear_pointer (&self->buckets, g_hash_table_unref);
  g_clear_pointer (&self->per_address, g_hash_table_unref);
  g_clear_pointer (&self->by_socket, g_hash_table_unref);
  g_mutex_clear (&self->lock);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (rfl_hq_server_parent_class)->finalize (object);
}

static void
rfl_hq_server_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  RflHqServer *self = RFL_HQ_SERVER (object);

  switch (prop_id)
    {
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    case PROP_CLIENT_TIMEOUT:
      g_value_set_uint (value, self->client_timeout);
      break;
    case PROP_RATE:
      g_value_set_double (value, self->rate);
      break;
    case PROP_MAX_BODY:
      g_value_set_int64 (value, self->max_body);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_hq_server_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  RflHqServer *self = RFL_HQ_SERVER (object);

  switch (prop_id)
    {
    case PROP_STORE:
      self->store = g_value_dup_object (value);
      /* What the endpoint does for devices is not an operator's doing. */
      if (self->store != NULL)
        rfl_store_set_actor (self->store, "hq-endpoint");
      break;
    case PROP_CLIENT_TIMEOUT:
      rfl_hq_server_set_client_timeout (self, g_value_get_uint (value));
      break;
    case PROP_RATE:
      rfl_hq_server_set_rate (self, g_value_get_double (value));
      break;
    case PROP_MAX_BODY:
      rfl_hq_server_set_max_body (self, g_value_get_int64 (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_hq_server_class_init (RflHqServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rfl_hq_server_dispose;
  object_class->finalize = rfl_hq_server_finalize;
  object_class->get_property = rfl_hq_server_get_property;
  object_class->set_property = rfl_hq_server_set_property;

  /**
   * RflHqServer:store:
   *
   * HQ's own store. The server acts in it as "hq-endpoint".
   */
  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, RFL_TYPE_STORE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * RflHqServer:client-timeout:
   *
   * Seconds a connection may stay idle, reading or writing, before it is dropped.
   */
  properties[PROP_CLIENT_TIMEOUT] =
    g_param_spec_uint ("client-timeout", NULL, NULL, 1, G_MAXUINT, RFL_HQ_DEFAULT_CLIENT_TIMEOUT,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * RflHqServer:rate:
   *
   * Requests per second each device may make once its signature verifies,
   * and each address without one; bursts of 200.
   */
  properties[PROP_RATE] =
    g_param_spec_double ("rate", NULL, NULL, G_MINDOUBLE, G_MAXDOUBLE, RFL_HQ_DEFAULT_RATE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * RflHqServer:max-body:
   *
   * The largest request body in bytes, below each endpoint's own limit; 0
   * for the endpoints' limits alone.
   */
  properties[PROP_MAX_BODY] =
    g_param_spec_int64 ("max-body", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
rfl_hq_server_init (RflHqServer *self)
{
  self->context = g_main_context_ref_thread_default ();
  self->client_timeout = RFL_HQ_DEFAULT_CLIENT_TIMEOUT;
  self->rate = RFL_HQ_DEFAULT_RATE;
  self->replays = rfl_replay_cache_new (REPLAY_CACHE_ENTRIES);
  self->buckets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->per_address = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->by_socket = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_mutex_init (&self->lock);
  rfl_hq_workers_init (self);
  self->server = soup_server_new ("server-header", "reunite-hq", NULL);
  g_signal_connect (self->server, "request-finished", G_CALLBACK (request_over_cb), self);
  soup_server_add_early_handler (self->server, NULL, early_handler, self, NULL);
  soup_server_add_handler (self->server, NULL, router, self, NULL);
}

/**
 * rfl_hq_server_new:
 * @store: HQ's store, open
 * @error: where a failure to read the requests already accepted goes
 *
 * Makes HQ's endpoint for @store, in the calling thread and on its
 * thread-default main context. It serves once rfl_hq_server_listen() has
 * been called.
 *
 * Returns: (transfer full): the server, or %NULL
 */
RflHqServer *
rfl_hq_server_new (RflStore  *store,
                   GError   **error)
{
  g_return_val_if_fail (RFL_IS_STORE (store), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (RFL_TYPE_HQ_SERVER, NULL, error, "store", store, NULL);
}

/**
 * rfl_hq_server_listen:
 * @address: where to listen; port 0 picks a free one
 * @effective: (out) (optional): where it listens
 *
 * Starts answering devices on @address.
 *
 * Returns: whether it listens
 */
gboolean
rfl_hq_server_listen (RflHqServer     *self,
                      GSocketAddress  *address,
                      GSocketAddress **effective,
                      GError         **error)
{
  g_return_val_if_fail (RFL_IS_HQ_SERVER (self), FALSE);
  g_return_val_if_fail (G_IS_SOCKET_ADDRESS (address), FALSE);
  g_return_val_if_fail (self->service == NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  self->service = g_socket_service_new ();
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (self->service), address,
                                      G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL,
                                      effective, error))
    {
      g_clear_object (&self->service);
      return FALSE;
    }
  g_signal_connect (self->service, "incoming", G_CALLBACK (incoming_cb), self);
  g_socket_service_start (self->service);
  return TRUE;
}

RflStore *
rfl_hq_server_get_store (RflHqServer *self)
{
  g_return_val_if_fail (RFL_IS_HQ_SERVER (self), NULL);

  return self->store;
}

guint
rfl_hq_server_get_client_timeout (RflHqServer *self)
{
  g_return_val_if_fail (RFL_IS_HQ_SERVER (self), 0);

  return self->client_timeout;
}

/* Connections accepted from then on. */
void
rfl_hq_server_set_client_timeout (RflHqServer *self,
                                  guint        seconds)
{
  g_return_if_fail (RFL_IS_HQ_SERVER (self));
  g_return_if_fail (seconds > 0);

  if (self->client_timeout == seconds)
    return;
  self->client_timeout = seconds;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CLIENT_TIMEOUT]);
}

double
rfl_hq_server_get_rate (RflHqServer *self)
{
  g_return_val_if_fail (RFL_IS_HQ_SERVER (self), 0);

  return self->rate;
}

void
rfl_hq_server_set_rate (RflHqServer *self,
                        double       per_second)
{
  g_return_if_fail (RFL_IS_HQ_SERVER (self));
  g_return_if_fail (per_second > 0);

  if (self->rate == per_second)
    return;
  self->rate = per_second;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RATE]);
}

gint64
rfl_hq_server_get_max_body (RflHqServer *self)
{
  g_return_val_if_fail (RFL_IS_HQ_SERVER (self), 0);

  return self->max_body;
}

void
rfl_hq_server_set_max_body (RflHqServer *self,
                            gint64       bytes)
{
  g_return_if_fail (RFL_IS_HQ_SERVER (self));
  g_return_if_fail (bytes >= 0);

  if (self->max_body == bytes)
    return;
  self->max_body = bytes;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_BODY]);
}
