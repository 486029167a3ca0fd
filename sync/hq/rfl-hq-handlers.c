/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * What HQ does for each endpoint of docs/PROTOCOL.md ("HTTP"), once the
 * router has checked the request's size, its rate and, for all but
 * enrollment, the device's signature. Each handler is one route of the
 * table in rfl-hq-server.c; what it does to the store is in librfl-sync.
 * Here too is how HQ answers, errors included, so that every answer has
 * the shape PROTOCOL.md gives it.
 */
#define G_LOG_DOMAIN "reunite-hq"

#include "rfl-hq-server-private.h"

#include "rfl-envelope.h"
#include "rfl-json.h"
#include "rfl-protocol.h"
#include "rfl-sync.h"

/* Answers, for the handlers and for the router's refusals. */

void
rfl_hq_reply_error (RflHqReply  *reply,
                    guint        status,
                    const char  *code,
                    const char  *message)
{
  g_autoptr(JsonObject) obj = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  char *text;

  json_object_set_string_member (obj, "error", message);
  json_object_set_string_member (obj, "code", code);
  node = json_node_init_object (json_node_alloc (), obj);
  text = json_to_string (node, FALSE);
  rfl_hq_reply_clear (reply);
  reply->status = status;
  reply->type = RFL_PROTOCOL_TYPE_JSON;
  reply->body = g_bytes_new_take (text, strlen (text));
}

void
rfl_hq_reply_json (RflHqReply *reply,
                   JsonObject *obj)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), obj);
  char *text = json_to_string (node, FALSE);

  rfl_hq_reply_clear (reply);
  reply->status = 200;
  reply->type = RFL_PROTOCOL_TYPE_JSON;
  reply->body = g_bytes_new_take (text, strlen (text));
}

void
rfl_hq_reply_bytes (RflHqReply  *reply,
                    guint        status,
                    const char  *type,
                    GBytes      *bytes)
{
  rfl_hq_reply_clear (reply);
  reply->status = status;
  reply->type = type;
  reply->body = g_bytes_ref (bytes);
}

void
rfl_hq_reply_clear (RflHqReply *reply)
{
  g_clear_pointer (&reply->body, g_bytes_unref);
  reply->status = 0;
  reply->type = NULL;
  reply->retry_after = 0;
}

/* In the server's main context: @reply becomes @msg's answer. */
void
rfl_hq_reply_send (RflHqReply        *reply,
                   SoupServerMessage *msg)
{
  if (reply->retry_after > 0)
    {
      char seconds[16];

      g_snprintf (seconds, sizeof seconds, "%u", reply->retry_after);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After", seconds);
    }
  soup_server_message_set_status (msg, reply->status != 0 ? reply->status : 500, NULL);
  if (reply->body != NULL)
    {
      /* The bytes themselves, not a copy: a bundle may be megabytes. */
      soup_message_headers_set_content_type (soup_server_message_get_response_headers (msg),
                                             reply->type, NULL);
      soup_message_body_truncate (soup_server_message_get_response_body (msg));
      soup_message_body_append_bytes (soup_server_message_get_response_body (msg), reply->body);
    }
}

/* For refusals made on the main context, before any worker. */
void
rfl_hq_respond_error (SoupServerMessage *msg,
                      guint              status,
                      const char        *code,
                      const char        *message)
{
  RflHqReply reply = { 0 };

  rfl_hq_reply_error (&reply, status, code, message);
  rfl_hq_reply_send (&reply, msg);
  rfl_hq_reply_clear (&reply);
}

/* The code of an error, as docs/PROTOCOL.md names them ("HTTP"). */
const char *
rfl_hq_error_code (const GError *error)
{
  static const char * const names[] = {
    "too_large", "malformed", "unsupported", "bad_signature", "chain", "not_recipient",
    "corrupt_payload", "unauthenticated", "stale", "replay", "rollback", "revoked",
    "not_enrolled", "network", "refused",
  };

  if (error->domain == RFL_SYNC_ERROR && error->code >= 0 &&
      (gsize) error->code < G_N_ELEMENTS (names))
    return names[error->code];
  if (error->domain == RFL_STORE_ERROR && error->code == RFL_STORE_ERROR_NOT_FOUND)
    return "not_found";
  if (error->domain == RFL_STORE_ERROR && error->code == RFL_STORE_ERROR_TRANSITION)
    return "refused";
  return "internal";
}

static guint
error_status (const GError *error)
{
  if (error->domain == RFL_SYNC_ERROR)
    switch (error->code)
      {
      case RFL_SYNC_ERROR_TOO_LARGE:
        return 413;
      case RFL_SYNC_ERROR_CHAIN:
      case RFL_SYNC_ERROR_REPLAY:
        return 409;
      case RFL_SYNC_ERROR_UNAUTHENTICATED:
      case RFL_SYNC_ERROR_BAD_SIGNATURE:
      case RFL_SYNC_ERROR_STALE:
        return 401;
      case RFL_SYNC_ERROR_REVOKED:
        return 403;
      default:
        return 400;
      }
  if (error->domain == RFL_STORE_ERROR &&
      (error->code == RFL_STORE_ERROR_NOT_FOUND || error->code == RFL_STORE_ERROR_TRANSITION))
    return 403;
  return 500;
}

/* A failure below HQ's own checks is logged, and the device told only that
 * it happened: its message may name HQ's files. */
void
rfl_hq_reply_gerror (RflHqReply    *reply,
                     const GError  *error)
{
  guint status = error_status (error);

  rfl_hq_reply_error (reply, status, rfl_hq_error_code (error),
                      status >= 500 ? "internal error" : error->message);
  if (status >= 500)
    g_warning ("%s", error->message);
}

/* Endpoints. */

/* Anyone may ask: the token is the proof. The address has paid for it. */
void
rfl_hq_handle_enroll (RflHqServer       *self,
                      RflHqReply        *reply,
                      RflPeer           *peer,
                      GBytes            *body,
                      GHashTable        *query)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = NULL;

  if ((out = rfl_enroll_accept (self->store, body, &error)) == NULL)
    rfl_hq_reply_gerror (reply, error);
  else
    rfl_hq_reply_json (reply, out);
}

void
rfl_hq_handle_push (RflHqServer       *self,
                    RflHqReply        *reply,
                    RflPeer           *peer,
                    GBytes            *body,
                    GHashTable        *query)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflEnvelope) env = NULL;
  g_autoptr(JsonObject) receipt = NULL;
  g_autofree char *sender = NULL;
  RflSyncReport report = { 0 };

  /* A device pushes its own bundles only. */
  if ((env = rfl_envelope_parse (body, &error)) == NULL)
    {
      rfl_hq_reply_gerror (reply, error);
      return;
    }
  sender = rfl_sync_id_to_hex (rfl_envelope_get_sender (env));
  if (g_strcmp0 (sender, peer->id) != 0)
    {
      rfl_hq_reply_error (reply, 403, "not_sender", "a device may only push its own bundles");
      return;
    }
  if ((receipt = rfl_sync_hub_accept (self->store, body, FALSE, &report, &error)) == NULL)
    {
      if (error == NULL)
        g_set_error_literal (&error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_CHAIN,
                             "the bundle was not applied");
      rfl_hq_reply_gerror (reply, error);
      return;
    }
  rfl_hq_reply_json (reply, receipt);
}

/* A device only ever moves forward: one that says it applied less than it
 * said before runs on an older copy of its database, and so does HQ if the
 * device applied more than HQ remembers sending. Sets the answer if so. */
static gboolean
pull_went_back (RflHqReply        *reply,
                RflPeer           *peer,
                guint64            have)
{
  g_autofree char *text = NULL;

  if (have >= peer->out_next)
    text = g_strdup_printf ("HQ has sent this device %" G_GUINT64_FORMAT " bundles, not %"
                            G_GUINT64_FORMAT "; HQ's database is an older copy: re-base",
                            peer->out_next - 1, have);
  else if (have < peer->acked)
    text = g_strdup_printf ("this device applied bundle %" G_GUINT64_FORMAT " before; its database"
                            " is an older copy: re-base", peer->acked);
  if (text == NULL)
    return FALSE;
  rfl_hq_reply_error (reply, 409, "replay", text);
  return TRUE;
}

void
rfl_hq_handle_pull (RflHqServer       *self,
                    RflHqReply        *reply,
                    RflPeer           *peer,
                    GBytes            *body,
                    GHashTable        *query)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bundle = NULL;
  const char *have_text = NULL, *after_text = NULL;
  guint64 have = 0, after = 0;

  if (query != NULL)
    {
      have_text = g_hash_table_lookup (query, RFL_PROTOCOL_PULL_HAVE);
      after_text = g_hash_table_lookup (query, RFL_PROTOCOL_PULL_AFTER);
    }
  if (have_text == NULL || !g_ascii_string_to_unsigned (have_text, 10, 0, G_MAXINT64, &have, NULL))
    {
      rfl_hq_reply_error (reply, 400, "malformed", "give have=N, the last bundle applied");
      return;
    }
  if (after_text == NULL)
    after = have;
  else if (!g_ascii_string_to_unsigned (after_text, 10, 0, G_MAXINT64, &after, NULL))
    {
      rfl_hq_reply_error (reply, 400, "malformed", "after=N must be the last bundle received");
      return;
    }
  if (pull_went_back (reply, peer, have))
    return;
  bundle = rfl_sync_hub_next (self->store, peer->id, have, after, FALSE, &error);
  if (bundle != NULL)
    rfl_hq_reply_bytes (reply, 200, RFL_PROTOCOL_TYPE_ENVELOPE, bundle);
  else if (error != NULL)
    rfl_hq_reply_gerror (reply, error);
  else
    reply->status = 204;
}

void
rfl_hq_handle_roster (RflHqServer       *self,
                      RflHqReply        *reply,
                      RflPeer           *peer,
                      GBytes            *body,
                      GHashTable        *query)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) roster = NULL;

  if ((roster = rfl_sync_hub_roster (self->store, &error)) == NULL)
    rfl_hq_reply_gerror (reply, error);
  else
    rfl_hq_reply_bytes (reply, 200, RFL_PROTOCOL_TYPE_ROSTER, roster);
}

void
rfl_hq_handle_state (RflHqServer       *self,
                     RflHqReply        *reply,
                     RflPeer           *peer,
                     GBytes            *body,
                     GHashTable        *query)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = NULL;
  g_autoptr(GPtrArray) unsent = NULL;
  g_autofree char *hash = NULL;
  guint64 n = 0, through = 0;

  /* The hash first: whatever it holds that the device was not sent yet,
   * the look at the journal after it finds, and the device is told it is
   * behind rather than diverged. */
  if ((hash = rfl_store_state_hash (self->store, peer->office, &n, &error)) == NULL ||
      (unsent = rfl_store_read_scope_ops (self->store, peer->out_through, peer->office, peer->id, 1, G_MAXSIZE,
                                          &through, &error)) == NULL)
    {
      rfl_hq_reply_gerror (reply, error);
      return;
    }
  out = json_object_new ();
  json_object_set_string_member (out, "hash", hash);
  json_object_set_int_member (out, "records", (gint64) n);
  json_object_set_boolean_member (out, "pending", unsent->len > 0);
  rfl_hq_reply_json (reply, out);
}

/* The device found its state differs from HQ's after a full exchange: send
 * it its whole scope again from the start of the journal. */
void
rfl_hq_handle_resync (RflHqServer       *self,
                      RflHqReply        *reply,
                      RflPeer           *peer,
                      GBytes            *body,
                      GHashTable        *query)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = NULL;

  if (!rfl_store_set_peer_through (self->store, peer->id, 0, &error))
    {
      rfl_hq_reply_gerror (reply, error);
      return;
    }
  out = json_object_new ();
  json_object_set_boolean_member (out, "resync", TRUE);
  rfl_hq_reply_json (reply, out);
}

/* A device restored from an older copy of its database: both streams go
 * on from where HQ has them, and HQ sends its whole scope again. */
void
rfl_hq_handle_rebase (RflHqServer       *self,
                      RflHqReply        *reply,
                      RflPeer           *peer,
                      GBytes            *body,
                      GHashTable        *query)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) request = NULL;
  g_autoptr(JsonObject) out = NULL;
  gsize len;
  const char *data = g_bytes_get_data (body, &len);

  request = rfl_json_parse_object (data != NULL ? data : "", len, "the request", &error);
  if (request == NULL)
    {
      rfl_hq_reply_error (reply, 400, "malformed", error->message);
      return;
    }
  if ((out = rfl_sync_hub_rebase (self->store, peer->id,
                                  rfl_json_string_or (request, "challenge", NULL),
                                  &error)) == NULL)
    {
      rfl_hq_reply_gerror (reply, error);
      return;
    }
  rfl_hq_reply_json (reply, out);
}

void
rfl_hq_handle_ping (RflHqServer       *self,
                    RflHqReply        *reply,
                    RflPeer           *peer,
                    GBytes            *body,
                    GHashTable        *query)
{
  g_autoptr(JsonObject) out = json_object_new ();

  json_object_set_boolean_member (out, "ok", TRUE);
  json_object_set_int_member (out, "time", g_get_real_time () / G_USEC_PER_SEC);
  rfl_hq_reply_json (reply, out);
}
