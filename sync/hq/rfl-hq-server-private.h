/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* What rfl-hq-server.c (listening, limits, the router), rfl-hq-workers.c
 * (authentication and the handlers, on worker threads) and
 * rfl-hq-handlers.c (how HQ answers, and one function per endpoint)
 * share. */

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "rfl-hq-server.h"
#include "rfl-request-auth.h"
#include "rfl-store-sync.h"

G_BEGIN_DECLS

struct _RflHqServer
{
  GObject         parent_instance;

  RflStore       *store;
  GMainContext   *context;        /* the thread's it was made in: its timers run there */
  SoupServer     *server;
  GSocketService *service;
  RflReplayCache *replays;
  GHashTable     *buckets;        /* "device:ID" or "addr:ADDRESS" -> Bucket */
  GHashTable     *per_address;    /* address -> connections open from it */
  GHashTable     *by_socket;      /* GSocket -> Connection */
  gint64          inflight;       /* bytes of request bodies being received */
  guint           n_connections;
  guint           client_timeout;
  double          rate;
  gint64          max_body;

  /* Requests run on workers (rfl-hq-workers.c). */
  GMutex          lock;           /* guards replays and buckets, which workers use */
  GThreadPool    *workers;
  GHashTable     *busy;           /* device id -> GQueue of its requests waiting */
  GPtrArray      *answering;      /* GSource: finished requests about to be answered */
};

/* An answer, made on a worker and sent from the server's main context. */
typedef struct
{
  guint       status;
  const char *type;          /* static */
  GBytes     *body;          /* nullable */
  guint       retry_after;   /* seconds, or 0 for no Retry-After */
} RflHqReply;

/* An endpoint, run on a worker thread. @peer is the enrolled device whose
 * signature the request carries, or NULL where the route is open to
 * anyone (enrollment); @body is NULL for a GET. */
typedef void (*RflHqHandler) (RflHqServer       *self,
                              RflHqReply        *reply,
                              RflPeer           *peer,
                              GBytes            *body,
                              GHashTable        *query);

/* Who pays for a request: the address it came from (it is open to anyone),
 * or the enrolled device that signed it, which is checked first. */
typedef enum
{
  RFL_HQ_PAID_BY_ADDRESS,
  RFL_HQ_PAID_BY_DEVICE,
} RflHqPayer;

typedef struct
{
  const char   *method;
  const char   *path;
  gint64        body_limit;
  RflHqPayer    payer;
  RflHqHandler  handler;
} RflHqRoute;

void        rfl_hq_reply_error    (RflHqReply        *reply,
                                   guint              status,
                                   const char        *code,
                                   const char        *message);
void        rfl_hq_reply_json     (RflHqReply        *reply,
                                   JsonObject        *obj);
void        rfl_hq_reply_bytes    (RflHqReply        *reply,
                                   guint              status,
                                   const char        *type,
                                   GBytes            *bytes);
void        rfl_hq_reply_gerror   (RflHqReply        *reply,
                                   const GError      *error);
void        rfl_hq_reply_send     (RflHqReply        *reply,
                                   SoupServerMessage *msg);
void        rfl_hq_reply_clear    (RflHqReply        *reply);
void        rfl_hq_respond_error  (SoupServerMessage *msg,
                                   guint              status,
                                   const char        *code,
                                   const char        *message);
const char *rfl_hq_error_code     (const GError      *error);

/* Rates, for the router and the workers alike. */
gboolean    rfl_hq_server_rate_ok (RflHqServer       *self,
                                   const char        *key,
                                   gboolean           take);
char       *rfl_hq_address_key    (SoupServerMessage *msg);

void        rfl_hq_workers_init   (RflHqServer       *self);
void        rfl_hq_workers_stop   (RflHqServer       *self);
void        rfl_hq_server_run     (RflHqServer       *self,
                                   SoupServerMessage *msg,
                                   const RflHqRoute  *route,
                                   GBytes            *body,
                                   GHashTable        *query);

void rfl_hq_handle_enroll  (RflHqServer       *self,
                            RflHqReply        *reply,
                            RflPeer           *peer,
                            GBytes            *body,
                            GHashTable        *query);
void rfl_hq_handle_push    (RflHqServer       *self,
                            RflHqReply        *reply,
                            RflPeer           *peer,
                            GBytes            *body,
                            GHashTable        *query);
void rfl_hq_handle_pull    (RflHqServer       *self,
                            RflHqReply        *reply,
                            RflPeer           *peer,
                            GBytes            *body,
                            GHashTable        *query);
void rfl_hq_handle_roster  (RflHqServer       *self,
                            RflHqReply        *reply,
                            RflPeer           *peer,
                            GBytes            *body,
                            GHashTable        *query);
void rfl_hq_handle_state   (RflHqServer       *self,
                            RflHqReply        *reply,
                            RflPeer           *peer,
                            GBytes            *body,
                            GHashTable        *query);
void rfl_hq_handle_resync  (RflHqServer       *self,
                            RflHqReply        *reply,
                            RflPeer           *peer,
                            GBytes            *body,
                            GHashTable        *query);
void rfl_hq_handle_rebase  (RflHqServer       *self,
                            RflHqReply        *reply,
                            RflPeer           *peer,
                            GBytes            *body,
                            GHashTable        *query);
void rfl_hq_handle_ping    (RflHqServer       *self,
                            RflHqReply        *reply,
                            RflPeer           *peer,
                            GBytes            *body,
                            GHashTable        *query);

G_END_DECLS
