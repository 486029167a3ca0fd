/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-sync"

#include "rfl-sync-private.h"
#include "rfl-envelope.h"
#include "rfl-roster.h"
#include "rfl-file.h"
#include "rfl-json.h"

#include <sodium.h>
#include <string.h>
#include <glib/gi18n-lib.h>

/* Ids and encodings. */

char *
rfl_sync_id_to_hex (const guint8 *id)
{
  char hex[RFL_ENVELOPE_ID_BYTES * 2 + 1];

  sodium_bin2hex (hex, sizeof hex, id, RFL_ENVELOPE_ID_BYTES);
  return g_strdup (hex);
}

gboolean
rfl_sync_id_from_hex (const char *hex,
                      guint8     *id)
{
  gsize len = 0;

  return hex != NULL && strlen (hex) == RFL_ENVELOPE_ID_BYTES * 2 &&
         sodium_hex2bin (id, RFL_ENVELOPE_ID_BYTES, hex, strlen (hex), NULL, &len, NULL) == 0 &&
         len == RFL_ENVELOPE_ID_BYTES;
}

/* A stream runs from one party to another; its id names both ends. */
static void
stream_id (const guint8 *from,
           const guint8 *to,
           guint8       *out)
{
  crypto_generichash_state state;

  crypto_generichash_init (&state, NULL, 0, RFL_ENVELOPE_ID_BYTES);
  crypto_generichash_update (&state, (const guint8 *) "reunite-stream-v1", 17);
  crypto_generichash_update (&state, from, RFL_ENVELOPE_ID_BYTES);
  crypto_generichash_update (&state, to, RFL_ENVELOPE_ID_BYTES);
  crypto_generichash_final (&state, out, RFL_ENVELOPE_ID_BYTES);
}

/* The stream an envelope names is the one from its sender to @to: a
 * sender cannot pass off one stream's bundle as another's. */
gboolean
rfl_sync_check_stream (RflEnvelope   *env,
                       const guint8  *to,
                       GError       **error)
{
  guint8 expected[RFL_ENVELOPE_ID_BYTES];

  stream_id (rfl_envelope_get_sender (env), to, expected);
  if (sodium_memcmp (expected, rfl_envelope_get_stream (env), RFL_ENVELOPE_ID_BYTES) != 0)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED,
                           _("the envelope names another stream than its sender's to this receiver"));
      return FALSE;
    }
  return TRUE;
}

JsonObject *
rfl_sync_parse_object (GBytes      *bytes,
                       const char  *what,
                       GError     **error)
{
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  g_autoptr(GError) local = NULL;
  JsonObject *obj = rfl_json_parse_object (data != NULL ? data : "", len, what, &local);

  if (obj == NULL)
    g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED, "%s", local->message);
  return obj;
}

GBytes *
rfl_sync_object_to_bytes (JsonObject *obj)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), obj);
  gsize len;
  char *text = json_to_string (node, FALSE);

  len = strlen (text);
  return g_bytes_new_take (text, len);
}

gboolean
rfl_sync_store_error (GError  *local,
                      GError **error)
{
  if (g_error_matches (local, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID))
    g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED, "%s", local->message);
  else if (g_error_matches (local, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION))
    g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_CHAIN, "%s", local->message);
  else
    g_propagate_error (error, g_error_copy (local));
  return FALSE;
}

/* Bundles. */

/* @ops are JSON texts from the store's journal, spliced in unparsed. */
GBytes *
rfl_sync_bundle_payload (GPtrArray  *ops,
                         guint64     through,
                         JsonObject *receipt)
{
  GString *out = g_string_sized_new (1024 * (ops->len + 1));

  g_string_append (out, "{\"format\":\"" BUNDLE_FORMAT "\",\"ops\":[");
  for (guint i = 0; i < ops->len; i++)
    {
      if (i > 0)
        g_string_append_c (out, ',');
      g_string_append (out, g_ptr_array_index (ops, i));
    }
  g_string_append_c (out, ']');
  if (through > 0)
    g_string_append_printf (out, ",\"through\":%" G_GUINT64_FORMAT, through);
  if (receipt != NULL)
    {
      g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), receipt);
      g_autofree char *text = json_to_string (node, FALSE);

      g_string_append_printf (out, ",\"receipt\":%s", text);
    }
  g_string_append_c (out, '}');
  return g_string_free_to_bytes (out);
}

JsonObject *
rfl_sync_parse_bundle (GBytes  *plaintext,
                       GError **error)
{
  g_autoptr(JsonObject) obj = rfl_sync_parse_object (plaintext, "the bundle", error);
  JsonNode *ops, *through, *receipt;

  if (obj == NULL)
    return NULL;
  if (g_strcmp0 (rfl_json_string_or (obj, "format", NULL), BUNDLE_FORMAT) != 0 ||
      (ops = json_object_get_member (obj, "ops")) == NULL || !JSON_NODE_HOLDS_ARRAY (ops) ||
      json_array_get_length (json_node_get_array (ops)) > RFL_SYNC_MAX_OPS ||
      ((through = json_object_get_member (obj, "through")) != NULL &&
       (json_node_get_value_type (through) != G_TYPE_INT64 || json_node_get_int (through) < 0)) ||
      ((receipt = json_object_get_member (obj, "receipt")) != NULL && !JSON_NODE_HOLDS_OBJECT (receipt)))
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED, _("the bundle is not a Reunite bundle"));
      return NULL;
    }
  return g_steal_pointer (&obj);
}

/* Seals @payload from @keys to @peer as the next bundle of their stream and
 * keeps it in the outbox until the peer acknowledges it. */
RflOutboxItem *
rfl_sync_seal_to_peer (RflStore       *store,
                       RflDeviceKeys  *keys,
                       RflPeer        *peer,
                       guint64         seq_from,
                       guint64         seq_to,
                       guint64         through,
                       GBytes         *payload,
                       GError        **error)
{
  static const guint8 zeros[RFL_ENVELOPE_HASH_BYTES];
  RflEnvelopeRecipient recipient;
  guint8 me[RFL_ENVELOPE_ID_BYTES], stream[RFL_ENVELOPE_ID_BYTES];
  g_autoptr(GBytes) envelope = NULL;
  g_autoptr(RflEnvelope) parsed = NULL;
  g_autoptr(RflOutboxItem) item = g_new0 (RflOutboxItem, 1);

  if (!rfl_sync_id_from_hex (keys->device_id, me) || !rfl_sync_id_from_hex (peer->id, recipient.id))
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED, _("a device id is malformed"));
      return NULL;
    }
  memcpy (recipient.box_pk, peer->box_pk, 32);
  stream_id (me, recipient.id, stream);
  envelope = rfl_envelope_seal (me, stream, seq_from, seq_to,
                                peer->out_next > 1 || peer->out_through > 0 ? peer->out_hash : zeros,
                                &recipient, 1, keys->sign_sk, payload, error);
  if (envelope == NULL || (parsed = rfl_envelope_parse (envelope, error)) == NULL)
    return NULL;
  item->seq_from = seq_from;
  item->seq_to = seq_to;
  item->through = through;
  memcpy (item->hash, rfl_envelope_get_hash (parsed), 32);
  item->envelope = g_steal_pointer (&envelope);
  if (!rfl_store_outbox_add (store, peer->id, item, error))
    return NULL;
  return g_steal_pointer (&item);
}

/* Receipts: HQ's signed word that it applied a device's bundles through a seq. */

static char *
receipt_message (const char *device,
                 gint64      seq_to,
                 const char *hash)
{
  return g_strdup_printf ("reunite-receipt-v1\n%s\n%" G_GINT64_FORMAT "\n%s", device, seq_to, hash);
}

JsonObject *
rfl_sync_receipt_new (RflDeviceKeys *hq,
                      RflPeer       *device)
{
  JsonObject *receipt;
  char hash[65], sig_hex[129];
  guint8 sig[crypto_sign_BYTES];
  g_autofree char *msg = NULL;

  if (device->in_next <= 1)
    return NULL;
  sodium_bin2hex (hash, sizeof hash, device->in_hash, 32);
  msg = receipt_message (device->id, (gint64) device->in_next - 1, hash);
  crypto_sign_detached (sig, NULL, (const guint8 *) msg, strlen (msg), hq->sign_sk);
  sodium_bin2hex (sig_hex, sizeof sig_hex, sig, sizeof sig);

  receipt = json_object_new ();
  json_object_set_string_member (receipt, "device", device->id);
  json_object_set_int_member (receipt, "seq_to", (gint64) device->in_next - 1);
  json_object_set_string_member (receipt, "hash", hash);
  json_object_set_string_member (receipt, "signature", sig_hex);
  return receipt;
}

/* Device state. */

RflPeer *
rfl_sync_hq_peer (RflStore  *device,
                  GError   **error)
{
  g_autofree char *hq = rfl_store_get_setting (device, SETTING_HQ);
  RflPeer *peer;

  if (hq == NULL)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_NOT_ENROLLED,
                           _("this device is not enrolled with HQ; run 'enroll TOKEN_FILE' first"));
      return NULL;
    }
  peer = rfl_store_get_peer (device, hq, error);
  return peer;
}

gboolean
rfl_sync_device_is_enrolled (RflStore *device)
{
  g_autofree char *hq = rfl_store_get_setting (device, SETTING_HQ);

  return hq != NULL;
}

guint64
rfl_sync_device_have (RflStore *device)
{
  g_autoptr(RflPeer) peer = rfl_sync_hq_peer (device, NULL);

  return peer != NULL ? peer->in_next - 1 : 0;
}

/**
 * rfl_sync_device_unreceipted:
 *
 * Returns: (transfer full) (element-type RflOutboxItem): the bundles sealed
 *   for HQ that HQ has not yet receipted, oldest first. Sending them again
 *   is harmless: HQ recognises what it has applied.
 */
GPtrArray *
rfl_sync_device_unreceipted (RflStore  *device,
                             GError   **error)
{
  g_autoptr(RflPeer) peer = rfl_sync_hq_peer (device, error);

  return peer != NULL ? rfl_store_outbox_list (device, peer->id, error) : NULL;
}

/**
 * rfl_sync_device_seal_next:
 * @keys: this device's keys (rfl_store_dup_keys())
 *
 * Seals up to %RFL_SYNC_BUNDLE_OPS of this device's changes that follow the
 * last bundle sealed for HQ, and keeps the bundle in the outbox.
 *
 * Returns: (transfer full) (nullable): the bundle, or %NULL with no error
 *   when there is nothing new
 */
RflOutboxItem *
rfl_sync_device_seal_next (RflStore       *device,
                           RflDeviceKeys  *keys,
                           GError        **error)
{
  g_autoptr(RflPeer) peer = rfl_sync_hq_peer (device, error);
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(GBytes) payload = NULL;
  guint64 last = 0;

  if (peer == NULL ||
      (ops = rfl_store_read_local_ops (device, peer->out_through, RFL_SYNC_BUNDLE_OPS, RFL_SYNC_BUNDLE_BYTES, &last, error)) == NULL ||
      ops->len == 0)
    return NULL;
  payload = rfl_sync_bundle_payload (ops, peer->in_next - 1, NULL);
  return rfl_sync_seal_to_peer (device, keys, peer, peer->out_through + 1, last, last, payload, error);
}

/**
 * rfl_sync_device_outbox:
 *
 * Seals all of this device's new changes into bundles for HQ, then returns
 * every bundle HQ has not yet receipted, oldest first.
 *
 * Returns: (transfer full) (element-type RflOutboxItem):
 */
GPtrArray *
rfl_sync_device_outbox (RflStore  *device,
                        GError   **error)
{
  g_autoptr(RflDeviceKeys) keys = NULL;

  if ((keys = rfl_store_dup_keys (device, error)) == NULL)
    return NULL;
  for (;;)
    {
      g_autoptr(GError) local = NULL;
      g_autoptr(RflOutboxItem) item = rfl_sync_device_seal_next (device, keys, &local);

      if (local != NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local));
          return NULL;
        }
      if (item == NULL)
        break;
    }
  return rfl_sync_device_unreceipted (device, error);
}

/**
 * rfl_sync_device_take_receipt:
 *
 * Checks HQ's receipt and drops the receipted bundles from the outbox.
 */
gboolean
rfl_sync_device_take_receipt (RflStore       *device,
                              JsonObject     *receipt,
                              RflSyncReport  *report,
                              GError        **error)
{
  g_autoptr(RflPeer) peer = rfl_sync_hq_peer (device, error);
  const char *who, *hash, *sig_hex;
  g_autofree char *msg = NULL;
  guint8 sig[crypto_sign_BYTES];
  gsize len = 0;
  gint64 seq_to;

  if (peer == NULL)
    return FALSE;
  who = rfl_json_string_or (receipt, "device", NULL);
  hash = rfl_json_string_or (receipt, "hash", NULL);
  sig_hex = rfl_json_string_or (receipt, "signature", NULL);
  seq_to = rfl_json_int_or (receipt, "seq_to", -1);
  if (who == NULL || hash == NULL || sig_hex == NULL || seq_to < 1 || strlen (sig_hex) != 128 ||
      sodium_hex2bin (sig, sizeof sig, sig_hex, 128, NULL, &len, NULL) != 0 || len != sizeof sig)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED, _("HQ's receipt is malformed"));
      return FALSE;
    }
  msg = receipt_message (who, seq_to, hash);
  if (g_strcmp0 (who, rfl_store_get_device_id (device)) != 0 ||
      crypto_sign_verify_detached (sig, (const guint8 *) msg, strlen (msg), peer->sign_pk) != 0)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_BAD_SIGNATURE,
                           _("HQ's receipt does not verify; the outbox is kept"));
      return FALSE;
    }
  /* A receipt past what HQ confirmed before is for a bundle this device
   * holds, with its hash. Another hash means HQ applied a different bundle
   * at that seq: this database is an older copy than the one HQ knows, and
   * its bundle must not leave the outbox unsent. A re-base sorts it out. */
  if ((guint64) seq_to > peer->acked)
    {
      guint8 mine[32], theirs[32];

      if (strlen (hash) != 64 || sodium_hex2bin (theirs, sizeof theirs, hash, 64, NULL, NULL, NULL) != 0 ||
          !rfl_store_outbox_find (device, peer->id, (guint64) seq_to, mine) ||
          sodium_memcmp (mine, theirs, sizeof mine) != 0)
        {
          g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REPLAY,
                       _("HQ confirmed bundle %lld of this device, which this device did not send: this database"
                         " is an older copy than the one HQ knows; sync over the network to re-base, and nothing"
                         " will be lost"), (long long) seq_to);
          return FALSE;
        }
    }
  if (report != NULL)
    report->acked = MAX (report->acked, (guint64) seq_to);
  return rfl_store_outbox_ack (device, peer->id, (guint64) seq_to, error);
}

/* Re-basing: a device restored from an older copy of its database is
 * behind HQ on both streams. HQ's signed word says where they stand. */

static char *
rebase_message (const char *device,
                const char *challenge,
                gint64      received,
                const char *received_hash,
                gint64      sent,
                const char *sent_hash)
{
  return g_strdup_printf ("reunite-rebase-v1\n%s\n%s\n%" G_GINT64_FORMAT "\n%s\n%" G_GINT64_FORMAT "\n%s",
                          device, challenge, received, received_hash, sent, sent_hash);
}

static gboolean
is_hex (const char *text,
        gsize       len)
{
  if (text == NULL || strlen (text) != len)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    if (!g_ascii_isxdigit (text[i]) || g_ascii_isupper (text[i]))
      return FALSE;
  return TRUE;
}

/**
 * rfl_sync_hub_rebase:
 * @device_id: an active enrolled device
 * @challenge: 32 lowercase hex digits the device chose for this request
 *
 * Re-bases HQ's streams with a device restored from an older copy of its
 * database (rfl_store_rebase_hub()), and says where they now stand.
 *
 * Returns: (transfer full) (nullable): HQ's statement, signed over @challenge
 */
JsonObject *
rfl_sync_hub_rebase (RflStore    *hq,
                     const char  *device_id,
                     const char  *challenge,
                     GError     **error)
{
  static const guint8 zeros[RFL_ENVELOPE_HASH_BYTES];
  g_autoptr(RflPeer) peer = NULL;
  g_autoptr(RflDeviceKeys) keys = NULL;
  g_autofree char *msg = NULL;
  char received_hash[65], sent_hash[65], sig_hex[129];
  guint8 sig[crypto_sign_BYTES];
  JsonObject *out;

  if (!is_hex (challenge, 32))
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED,
                           _("the challenge must be 32 lowercase hex digits"));
      return NULL;
    }
  if ((peer = rfl_store_get_peer (hq, device_id, error)) == NULL)
    return NULL;
  if (g_strcmp0 (peer->status, "active") != 0)
    {
      g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REVOKED, _("device %s was revoked"), peer->id);
      return NULL;
    }
  if (!rfl_store_rebase_hub (hq, device_id, error) ||
      (keys = rfl_store_dup_keys (hq, error)) == NULL)
    return NULL;
  g_clear_pointer (&peer, rfl_peer_free);
  if ((peer = rfl_store_get_peer (hq, device_id, error)) == NULL)
    return NULL;
  sodium_bin2hex (received_hash, sizeof received_hash, peer->in_next > 1 ? peer->in_hash : zeros, 32);
  sodium_bin2hex (sent_hash, sizeof sent_hash, peer->out_next > 1 ? peer->out_hash : zeros, 32);
  msg = rebase_message (peer->id, challenge, (gint64) peer->in_next - 1, received_hash,
                        (gint64) peer->out_next - 1, sent_hash);
  crypto_sign_detached (sig, NULL, (const guint8 *) msg, strlen (msg), keys->sign_sk);
  sodium_bin2hex (sig_hex, sizeof sig_hex, sig, sizeof sig);

  out = json_object_new ();
  json_object_set_string_member (out, "device", peer->id);
  json_object_set_string_member (out, "challenge", challenge);
  json_object_set_int_member (out, "received_seq", (gint64) peer->in_next - 1);
  json_object_set_string_member (out, "received_hash", received_hash);
  json_object_set_int_member (out, "sent_seq", (gint64) peer->out_next - 1);
  json_object_set_string_member (out, "sent_hash", sent_hash);
  json_object_set_string_member (out, "signature", sig_hex);
  return out;
}

/**
 * rfl_sync_device_take_rebase:
 * @statement: HQ's answer to a re-base
 * @challenge: the challenge this device sent with the request
 *
 * Checks HQ's signed statement and re-bases both streams on it
 * (rfl_store_rebase_device()).
 */
gboolean
rfl_sync_device_take_rebase (RflStore       *device,
                             JsonObject     *statement,
                             const char     *challenge,
                             RflSyncReport  *report,
                             GError        **error)
{
  g_autoptr(RflPeer) peer = rfl_sync_hq_peer (device, error);
  const char *who, *received_hash, *sent_hash, *sig_hex;
  gint64 received, sent;
  guint8 sig[crypto_sign_BYTES], rh[32], sh[32];
  g_autofree char *msg = NULL;
  g_autoptr(GError) local = NULL;

  if (peer == NULL)
    return FALSE;
  who = rfl_json_string_or (statement, "device", NULL);
  received_hash = rfl_json_string_or (statement, "received_hash", NULL);
  sent_hash = rfl_json_string_or (statement, "sent_hash", NULL);
  sig_hex = rfl_json_string_or (statement, "signature", NULL);
  received = rfl_json_int_or (statement, "received_seq", -1);
  sent = rfl_json_int_or (statement, "sent_seq", -1);
  if (who == NULL || received < 0 || sent < 0 || !is_hex (received_hash, 64) || !is_hex (sent_hash, 64) ||
      !is_hex (sig_hex, 128))
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED, _("HQ's re-base statement is malformed"));
      return FALSE;
    }
  sodium_hex2bin (sig, sizeof sig, sig_hex, 128, NULL, NULL, NULL);
  sodium_hex2bin (rh, sizeof rh, received_hash, 64, NULL, NULL, NULL);
  sodium_hex2bin (sh, sizeof sh, sent_hash, 64, NULL, NULL, NULL);
  msg = rebase_message (who, challenge, received, received_hash, sent, sent_hash);
  if (g_strcmp0 (who, rfl_store_get_device_id (device)) != 0 ||
      crypto_sign_verify_detached (sig, (const guint8 *) msg, strlen (msg), peer->sign_pk) != 0)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_BAD_SIGNATURE,
                           _("HQ's re-base statement does not verify; nothing was changed"));
      return FALSE;
    }
  if (!rfl_store_rebase_device (device, peer->id, (guint64) received, rh, (guint64) sent, sh, &local))
    return rfl_sync_store_error (local, error);
  if (report != NULL)
    report->rebased = TRUE;
  return TRUE;
}

/* After a bundle from HQ applied: it counts, and the receipt it carries
 * is taken. */
static gboolean
took_from_hq (RflStore             *device,
              JsonObject           *bundle,
              const RflMergeStats  *stats,
              RflSyncReport        *report,
              GError              **error)
{
  report->received++;
  rfl_merge_stats_add (&report->merge, stats);
  if (json_object_has_member (bundle, "receipt") &&
      JSON_NODE_HOLDS_OBJECT (json_object_get_member (bundle, "receipt")) &&
      !rfl_sync_device_take_receipt (device, json_object_get_object_member (bundle, "receipt"), report, error))
    return FALSE;
  return TRUE;
}

/* A bundle that came early may now follow on. */
static gboolean
take_held_after (RflStore       *device,
                 RflPeer        *peer,
                 guint64         seq_to,
                 RflSyncReport  *report,
                 GError        **error)
{
  g_autoptr(GBytes) held = rfl_store_take_held (device, peer->id, seq_to + 1);

  return held == NULL || rfl_sync_device_accept (device, held, report, error);
}

/* Merges a bundle from HQ whose signature and chain were checked, then
 * takes the receipt it carries and any held bundle that now follows on. */
static gboolean
apply_from_hq (RflStore       *device,
               RflPeer        *peer,
               RflEnvelope    *env,
               JsonObject     *bundle,
               RflSyncReport  *report,
               GError        **error)
{
  g_autoptr(GError) local = NULL;
  RflMergeStats stats;

  if (!rfl_store_apply_ops (device, peer->id, rfl_envelope_get_seq_from (env), rfl_envelope_get_seq_to (env),
                            rfl_envelope_get_hash (env), json_object_get_array_member (bundle, "ops"),
                            RFL_MERGE_DEVICE, NULL, &stats, &local))
    return rfl_sync_store_error (local, error);
  return took_from_hq (device, bundle, &stats, report, error) &&
         take_held_after (device, peer, rfl_envelope_get_seq_to (env), report, error);
}

/**
 * rfl_sync_device_accept:
 * @envelope: a bundle from HQ, as it came over the network or off a stick
 *
 * Verifies and applies a bundle from HQ. One already applied changes
 * nothing; one that arrives before its predecessor is held until the
 * predecessor comes.
 */
gboolean
rfl_sync_device_accept (RflStore       *device,
                        GBytes         *envelope,
                        RflSyncReport  *report,
                        GError        **error)
{
  static const guint8 zeros[RFL_ENVELOPE_HASH_BYTES];
  g_autoptr(RflPeer) peer = rfl_sync_hq_peer (device, error);
  g_autoptr(RflEnvelope) env = NULL;
  g_autoptr(RflDeviceKeys) keys = NULL;
  g_autoptr(GBytes) plaintext = NULL;
  g_autoptr(JsonObject) bundle = NULL;
  g_autofree char *sender = NULL;
  guint8 me[RFL_ENVELOPE_ID_BYTES];

  if (peer == NULL || (env = rfl_envelope_parse (envelope, error)) == NULL)
    return FALSE;
  sender = rfl_sync_id_to_hex (rfl_envelope_get_sender (env));
  if (g_strcmp0 (sender, peer->id) != 0)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_UNAUTHENTICATED,
                           _("the bundle is not from this device's HQ"));
      return FALSE;
    }
  if (!rfl_envelope_verify (env, peer->sign_pk, error) ||
      !rfl_sync_id_from_hex (rfl_store_get_device_id (device), me) || !rfl_sync_check_stream (env, me, error))
    return FALSE;
  if (rfl_envelope_get_seq_to (env) < peer->in_next)
    {
      report->duplicates++;
      return TRUE;
    }
  if (rfl_envelope_get_seq_from (env) > peer->in_next)
    {
      report->held++;
      return rfl_store_hold (device, peer->id, rfl_envelope_get_seq_from (env), envelope, error);
    }
  if (!rfl_envelope_check_chain (env, peer->in_next, peer->in_next > 1 ? peer->in_hash : zeros, error))
    return FALSE;
  if ((keys = rfl_store_dup_keys (device, error)) == NULL)
    return FALSE;
  if ((plaintext = rfl_envelope_open (env, me, keys->box_pk, keys->box_sk, error)) == NULL ||
      (bundle = rfl_sync_parse_bundle (plaintext, error)) == NULL)
    return FALSE;
  return apply_from_hq (device, peer, env, bundle, report, error);
}

/* Opening ahead: a thread that receives HQ's bundles verifies, decrypts and
 * parses bundle k+1, in the same order of checks, while the store merges
 * bundle k. */

struct _RflBundleOpener
{
  char           hq_id[RFL_ENVELOPE_ID_BYTES * 2 + 1];
  guint8         hq_sign_pk[32];
  guint8         me[RFL_ENVELOPE_ID_BYTES];
  RflDeviceKeys *keys;
  guint64        next;       /* the seq the next bundle must start at */
  guint8         prev[RFL_ENVELOPE_HASH_BYTES];
};

struct _RflOpenedBundle
{
  GBytes      *envelope;
  RflEnvelope *env;          /* set when opened */
  JsonObject  *bundle;
};

/**
 * rfl_sync_device_opener_new:
 *
 * Returns: (transfer full): an opener for HQ's bundles that follow what this
 *   device has applied. It holds copies and may be used in another thread.
 */
RflBundleOpener *
rfl_sync_device_opener_new (RflStore  *device,
                            GError   **error)
{
  g_autoptr(RflPeer) peer = rfl_sync_hq_peer (device, error);
  g_autoptr(RflBundleOpener) o = g_new0 (RflBundleOpener, 1);

  if (peer == NULL || (o->keys = rfl_store_dup_keys (device, error)) == NULL)
    return NULL;
  if (!rfl_sync_id_from_hex (o->keys->device_id, o->me))
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED, _("a device id is malformed"));
      return NULL;
    }
  g_strlcpy (o->hq_id, peer->id, sizeof o->hq_id);
  memcpy (o->hq_sign_pk, peer->sign_pk, 32);
  o->next = peer->in_next;
  if (peer->in_next > 1)
    memcpy (o->prev, peer->in_hash, sizeof o->prev);
  return g_steal_pointer (&o);
}

void
rfl_bundle_opener_free (RflBundleOpener *opener)
{
  if (opener == NULL)
    return;
  rfl_device_keys_free (opener->keys);
  g_free (opener);
}

/**
 * rfl_bundle_opener_open:
 *
 * Verifies, decrypts and parses @envelope if it is the next bundle of HQ's
 * stream after the last one this opener opened. Anything else (a duplicate,
 * a gap, a forgery) is left for rfl_sync_device_accept_opened() to judge as
 * rfl_sync_device_accept() would, with the same errors.
 *
 * Returns: (transfer full): the bundle, opened or not
 */
RflOpenedBundle *
rfl_bundle_opener_open (RflBundleOpener *o,
                        GBytes          *envelope)
{
  g_autoptr(RflOpenedBundle) out = g_new0 (RflOpenedBundle, 1);
  g_autoptr(RflEnvelope) env = NULL;
  g_autoptr(GBytes) plaintext = NULL;
  g_autofree char *sender = NULL;

  out->envelope = g_bytes_ref (envelope);
  if ((env = rfl_envelope_parse (envelope, NULL)) == NULL ||
      (sender = rfl_sync_id_to_hex (rfl_envelope_get_sender (env)), !g_str_equal (sender, o->hq_id)) ||
      !rfl_envelope_verify (env, o->hq_sign_pk, NULL) ||
      !rfl_sync_check_stream (env, o->me, NULL) ||
      rfl_envelope_get_seq_from (env) != o->next ||
      !rfl_envelope_check_chain (env, o->next, o->prev, NULL) ||
      (plaintext = rfl_envelope_open (env, o->me, o->keys->box_pk, o->keys->box_sk, NULL)) == NULL ||
      (out->bundle = rfl_sync_parse_bundle (plaintext, NULL)) == NULL)
    return g_steal_pointer (&out);
  o->next = rfl_envelope_get_seq_to (env) + 1;
  memcpy (o->prev, rfl_envelope_get_hash (env), sizeof o->prev);
  out->env = g_steal_pointer (&env);
  return g_steal_pointer (&out);
}

/* The header's last seq, or 0 when it does not parse. Unverified. */
guint64
rfl_opened_bundle_get_seq_to (RflOpenedBundle *opened)
{
  g_autoptr(RflEnvelope) env = NULL;

  if (opened->env != NULL)
    return rfl_envelope_get_seq_to (opened->env);
  env = rfl_envelope_parse (opened->envelope, NULL);
  return env != NULL ? rfl_envelope_get_seq_to (env) : 0;
}

void
rfl_opened_bundle_free (RflOpenedBundle *opened)
{
  if (opened == NULL)
    return;
  g_clear_pointer (&opened->envelope, g_bytes_unref);
  g_clear_object (&opened->env);
  g_clear_pointer (&opened->bundle, json_object_unref);
  g_free (opened);
}

/**
 * rfl_sync_device_accept_opened:
 *
 * Applies a bundle rfl_bundle_opener_open() handled, as
 * rfl_sync_device_accept() would apply its envelope.
 */
gboolean
rfl_sync_device_accept_opened (RflStore         *device,
                               RflOpenedBundle  *opened,
                               RflSyncReport    *report,
                               GError          **error)
{
  static const guint8 zeros[RFL_ENVELOPE_HASH_BYTES];
  g_autoptr(RflPeer) peer = NULL;

  if (opened->bundle == NULL)
    return rfl_sync_device_accept (device, opened->envelope, report, error);
  /* Opened against the chain as the opener saw it; the store has the last word. */
  if ((peer = rfl_sync_hq_peer (device, error)) == NULL)
    return FALSE;
  if (rfl_envelope_get_seq_from (opened->env) != peer->in_next ||
      !rfl_envelope_check_chain (opened->env, peer->in_next, peer->in_next > 1 ? peer->in_hash : zeros, NULL))
    return rfl_sync_device_accept (device, opened->envelope, report, error);
  return apply_from_hq (device, peer, opened->env, opened->bundle, report, error);
}

/* How many of @opened, from the first, were opened and follow on from
 * what the store applied and from each other. */
static guint
consecutive_run (RflPeer          *peer,
                 RflOpenedBundle **opened,
                 guint             n)
{
  static const guint8 zeros[RFL_ENVELOPE_HASH_BYTES];
  const guint8 *prev = peer->in_next > 1 ? peer->in_hash : zeros;
  guint64 next = peer->in_next;
  guint i;

  for (i = 0; i < n; i++)
    {
      RflEnvelope *env = opened[i]->env;

      if (opened[i]->bundle == NULL || rfl_envelope_get_seq_from (env) != next ||
          !rfl_envelope_check_chain (env, next, prev, NULL))
        break;
      next = rfl_envelope_get_seq_to (env) + 1;
      prev = rfl_envelope_get_hash (env);
    }
  return i;
}

/**
 * rfl_sync_device_accept_opened_batch:
 * @opened: (array length=n): bundles rfl_bundle_opener_open() handled, in
 *   the order they came
 * @n: how many
 *
 * Applies bundles as rfl_sync_device_accept_opened() would, one after the
 * other, with those that follow on from each other merged in one
 * transaction: one commit for many bundles, when HQ sends faster than this
 * device merges.
 */
gboolean
rfl_sync_device_accept_opened_batch (RflStore          *device,
                                     RflOpenedBundle  **opened,
                                     guint              n,
                                     RflSyncReport     *report,
                                     GError           **error)
{
  g_autoptr(RflPeer) peer = NULL;
  g_autofree RflBundleApply *batch = NULL;
  g_autoptr(GError) local = NULL;
  guint run, i;
  gboolean ok = TRUE;

  if (n == 0)
    return TRUE;
  if ((peer = rfl_sync_hq_peer (device, error)) == NULL)
    return FALSE;
  if ((run = consecutive_run (peer, opened, n)) < 2)
    {
      for (i = 0; i < n; i++)
        if (!rfl_sync_device_accept_opened (device, opened[i], report, error))
          return FALSE;
      return TRUE;
    }

  batch = g_new0 (RflBundleApply, run);
  for (i = 0; i < run; i++)
    {
      RflEnvelope *env = opened[i]->env;

      batch[i] = (RflBundleApply) {
        .peer = peer->id, .seq_from = rfl_envelope_get_seq_from (env),
        .seq_to = rfl_envelope_get_seq_to (env), .hash = rfl_envelope_get_hash (env),
        .ops = json_object_get_array_member (opened[i]->bundle, "ops"), .role = RFL_MERGE_DEVICE,
      };
    }
  if (!rfl_store_apply_bundles (device, batch, run, &local))
    ok = rfl_sync_store_error (local, error);
  /* In order: what applied counts and gives up its receipt; the first that
   * did not stops the rest, as it would have one at a time. */
  for (i = 0; i < run && ok; i++)
    {
      if (batch[i].error != NULL)
        ok = rfl_sync_store_error (batch[i].error, error);
      else
        ok = took_from_hq (device, opened[i]->bundle, &batch[i].stats, report, error);
    }
  for (i = 0; i < run; i++)
    g_clear_error (&batch[i].error);
  if (!ok)
    return FALSE;
  if (!take_held_after (device, peer, rfl_envelope_get_seq_to (opened[run - 1]->env), report, error))
    return FALSE;
  for (i = run; i < n; i++)
    if (!rfl_sync_device_accept_opened (device, opened[i], report, error))
      return FALSE;
  return TRUE;
}
