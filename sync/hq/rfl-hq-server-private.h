/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* What rfl-hq-server.c (listening, limits, authentication, the router) and
 * rfl-hq-handlers.c (how HQ answers, and one function per endpoint) share. */

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
};

/* An endpoint. @peer is the enrolled device whose signature the request
 * carries, or NULL where the route is open to anyone (enrollment); @body
 * is NULL for a GET. */
typedef void (*RflHqHandler) (RflHqServer       *self,
                              SoupServerMessage *msg,
                              RflPeer           *peer,
                              GBytes            *body,
                              GHashTable        *query);

void        rfl_hq_respond_error  (SoupServerMessage *msg,
                                   guint              status,
                                   const char        *code,
                                   const char        *message);
void        rfl_hq_respond_json   (SoupServerMessage *msg,
                                   JsonObject        *obj);
void        rfl_hq_respond_bytes  (SoupServerMessage *msg,
                                   guint              status,
                                   const char        *type,
                                   GBytes            *bytes);
void        rfl_hq_respond_gerror (SoupServerMessage *msg,
                                   const GError      *error);
const char *rfl_hq_error_code     (const GError      *error);

void rfl_hq_handle_enroll  (RflHqServer       *self,
                            SoupServerMessage *msg,
                            RflPeer           *peer,
                            GBytes            *body,
                            GHashTable        *query);
void rfl_hq_handle_push    (RflHqServer       *self,
                            SoupServerMessage *msg,
                            RflPeer           *peer,
                            GBytes            *body,
                            GHashTable        *query);
void rfl_hq_handle_pull    (RflHqServer       *self,
                            SoupServerMessage *msg,
                            RflPeer           *peer,
                            GBytes            *body,
                            GHashTable        *query);
void rfl_hq_handle_roster  (RflHqServer       *self,
                            SoupServerMessage *msg,
                            RflPeer           *peer,
                            GBytes            *body,
                            GHashTable        *query);
void rfl_hq_handle_state   (RflHqServer       *self,
                            SoupServerMessage *msg,
                            RflPeer           *peer,
                            GBytes            *body,
                            GHashTable        *query);
void rfl_hq_handle_resync  (RflHqServer       *self,
                            SoupServerMessage *msg,
                            RflPeer           *peer,
                            GBytes            *body,
                            GHashTable        *query);
void rfl_hq_handle_rebase  (RflHqServer       *self,
                            SoupServerMessage *msg,
                            RflPeer           *peer,
                            GBytes            *body,
                            GHashTable        *query);
void rfl_hq_handle_ping    (RflHqServer       *self,
                            SoupServerMessage *msg,
                            RflPeer           *peer,
                            GBytes            *body,
                            GHashTable        *query);

G_END_DECLS
