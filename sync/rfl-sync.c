/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-sync"

#include "rfl-sync.h"
#include "rfl-envelope.h"
#include "rfl-roster.h"
#include "rfl-file.h"
#include "rfl-json.h"

#include <sodium.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#define BUNDLE_FORMAT      "reunite-bundle-v1"
#define TOKEN_FORMAT       "reunite-enrollment-v1"
#define NOTICE_FORMAT      "reunite-revocation-v1"
#define NOTICE_MAGIC       "RFLN"
#define MAX_TOKEN_BYTES    (64 * 1024)
#define MAX_NOTICE_BYTES   4096
#define MAX_ENROLL_BYTES   4096

/* Device settings (rfl_store_get_setting()). */
#define SETTING_HQ          "hq"
#define SETTING_OFFICE      "office"
#define SETTING_ROSTER_SEEN "roster_seen"

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
static gboolean
check_stream (RflEnvelope   *env,
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

static JsonObject *
parse_object (GBytes      *bytes,
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

static GBytes *
object_to_bytes (JsonObject *obj)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), obj);
  gsize len;
  char *text = json_to_string (node, FALSE);

  len = strlen (text);
  return g_bytes_new_take (text, len);
}

static gboolean
store_to_sync_error (GError  *local,
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
static GBytes *
bundle_payload (GPtrArray  *ops,
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

static JsonObject *
parse_bundle (GBytes  *plaintext,
              GError **error)
{
  g_autoptr(JsonObject) obj = parse_object (plaintext, "the bundle", error);
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
static RflOutboxItem *
seal_to_peer (RflStore       *store,
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

static JsonObject *
receipt_new (RflDeviceKeys *hq,
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

static RflPeer *
hq_peer (RflStore  *device,
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
  g_autoptr(RflPeer) peer = hq_peer (device, NULL);

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
  g_autoptr(RflPeer) peer = hq_peer (device, error);

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
  g_autoptr(RflPeer) peer = hq_peer (device, error);
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(GBytes) payload = NULL;
  guint64 last = 0;

  if (peer == NULL ||
      (ops = rfl_store_read_local_ops (device, peer->out_through, RFL_SYNC_BUNDLE_OPS, &last, error)) == NULL ||
      ops->len == 0)
    return NULL;
  payload = bundle_payload (ops, peer->in_next - 1, NULL);
  return seal_to_peer (device, keys, peer, peer->out_through + 1, last, last, payload, error);
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
  g_autoptr(RflPeer) peer = hq_peer (device, error);
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
  g_autoptr(RflPeer) peer = hq_peer (device, error);
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
    return store_to_sync_error (local, error);
  if (report != NULL)
    report->rebased = TRUE;
  return TRUE;
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
  guint64 next;

  if (!rfl_store_apply_ops (device, peer->id, rfl_envelope_get_seq_from (env), rfl_envelope_get_seq_to (env),
                            rfl_envelope_get_hash (env), json_object_get_array_member (bundle, "ops"),
                            RFL_MERGE_DEVICE, NULL, &stats, &local))
    return store_to_sync_error (local, error);
  report->received++;
  rfl_merge_stats_add (&report->merge, &stats);

  if (json_object_has_member (bundle, "receipt") &&
      JSON_NODE_HOLDS_OBJECT (json_object_get_member (bundle, "receipt")) &&
      !rfl_sync_device_take_receipt (device, json_object_get_object_member (bundle, "receipt"), report, error))
    return FALSE;

  /* A bundle that came early may now follow on. */
  next = rfl_envelope_get_seq_to (env) + 1;
  {
    g_autoptr(GBytes) held = rfl_store_take_held (device, peer->id, next);

    if (held != NULL)
      return rfl_sync_device_accept (device, held, report, error);
  }
  return TRUE;
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
  g_autoptr(RflPeer) peer = hq_peer (device, error);
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
      !rfl_sync_id_from_hex (rfl_store_get_device_id (device), me) || !check_stream (env, me, error))
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
      (bundle = parse_bundle (plaintext, error)) == NULL)
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
  g_autoptr(RflPeer) peer = hq_peer (device, error);
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
      !check_stream (env, o->me, NULL) ||
      rfl_envelope_get_seq_from (env) != o->next ||
      !rfl_envelope_check_chain (env, o->next, o->prev, NULL) ||
      (plaintext = rfl_envelope_open (env, o->me, o->keys->box_pk, o->keys->box_sk, NULL)) == NULL ||
      (out->bundle = parse_bundle (plaintext, NULL)) == NULL)
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
  if ((peer = hq_peer (device, error)) == NULL)
    return FALSE;
  if (rfl_envelope_get_seq_from (opened->env) != peer->in_next ||
      !rfl_envelope_check_chain (opened->env, peer->in_next, peer->in_next > 1 ? peer->in_hash : zeros, NULL))
    return rfl_sync_device_accept (device, opened->envelope, report, error);
  return apply_from_hq (device, peer, opened->env, opened->bundle, report, error);
}

/* HQ side. */

static RflPeer *
known_device (RflStore       *hq,
              const guint8   *sender,
              GError        **error)
{
  g_autofree char *id = rfl_sync_id_to_hex (sender);
  RflPeer *peer = rfl_store_get_peer (hq, id, NULL);

  if (peer == NULL || g_strcmp0 (peer->role, "device") != 0)
    {
      g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_UNAUTHENTICATED, _("device %s is not enrolled"), id);
      rfl_peer_free (peer);
      return NULL;
    }
  return peer;
}

/**
 * rfl_sync_hub_accept:
 * @envelope: a bundle a device sent
 * @hold_gaps: keep a bundle that comes before its predecessor (USB), rather
 *   than refuse it (HTTP, where the device sends in order)
 *
 * Verifies a device's bundle (sizes, signature, chain), then decrypts and
 * merges it. Sending the newest bundle again returns the same receipt and
 * changes nothing.
 *
 * Returns: (transfer full) (nullable): HQ's signed receipt, or %NULL when
 *   the bundle was held or on error
 */
JsonObject *
rfl_sync_hub_accept (RflStore       *hq,
                     GBytes         *envelope,
                     gboolean        hold_gaps,
                     RflSyncReport  *report,
                     GError        **error)
{
  static const guint8 zeros[RFL_ENVELOPE_HASH_BYTES];
  g_autoptr(RflEnvelope) env = NULL;
  g_autoptr(RflPeer) peer = NULL;
  g_autoptr(RflDeviceKeys) keys = NULL;
  g_autoptr(GBytes) plaintext = NULL;
  g_autoptr(JsonObject) bundle = NULL;
  g_autoptr(GError) local = NULL;
  guint8 me[RFL_ENVELOPE_ID_BYTES];
  RflMergeStats stats;

  if ((env = rfl_envelope_parse (envelope, error)) == NULL ||
      (peer = known_device (hq, rfl_envelope_get_sender (env), error)) == NULL)
    return NULL;
  if (g_strcmp0 (peer->status, "active") != 0)
    {
      g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REVOKED, _("device %s was revoked"), peer->id);
      return NULL;
    }
  if (!rfl_envelope_verify (env, peer->sign_pk, error) ||
      (keys = rfl_store_dup_keys (hq, error)) == NULL)
    return NULL;
  if (!rfl_sync_id_from_hex (keys->device_id, me))
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED, _("a device id is malformed"));
      return NULL;
    }
  if (!check_stream (env, me, error))
    return NULL;

  /* The newest bundle again: the device did not get its receipt. */
  if (peer->in_next > 1 && rfl_envelope_get_seq_to (env) == peer->in_next - 1 &&
      sodium_memcmp (rfl_envelope_get_hash (env), peer->in_hash, 32) == 0)
    {
      report->duplicates++;
      return receipt_new (keys, peer);
    }
  if (rfl_envelope_get_seq_from (env) < peer->in_next)
    {
      g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REPLAY,
                   _("bundle %llu from %s was already applied"),
                   (unsigned long long) rfl_envelope_get_seq_from (env), peer->id);
      return NULL;
    }
  if (hold_gaps && rfl_envelope_get_seq_from (env) > peer->in_next)
    {
      report->held++;
      rfl_store_hold (hq, peer->id, rfl_envelope_get_seq_from (env), envelope, error);
      return NULL;
    }
  if (!rfl_envelope_check_chain (env, peer->in_next, peer->in_next > 1 ? peer->in_hash : zeros, error))
    return NULL;
  if ((plaintext = rfl_envelope_open (env, me, keys->box_pk, keys->box_sk, error)) == NULL ||
      (bundle = parse_bundle (plaintext, error)) == NULL)
    return NULL;

  if (!rfl_store_apply_ops (hq, peer->id, rfl_envelope_get_seq_from (env), rfl_envelope_get_seq_to (env),
                            rfl_envelope_get_hash (env), json_object_get_array_member (bundle, "ops"),
                            RFL_MERGE_HUB, peer->office, &stats, &local))
    {
      store_to_sync_error (local, error);
      return NULL;
    }
  report->received++;
  rfl_merge_stats_add (&report->merge, &stats);

  /* The device says how far it got with HQ's bundles (USB has no other way). */
  {
    gint64 have = rfl_json_int_or (bundle, "through", 0);

    if (have > 0 && (guint64) have > peer->acked && (guint64) have < peer->out_next &&
        !rfl_store_outbox_ack (hq, peer->id, (guint64) have, error))
      return NULL;
  }

  {
    g_autoptr(GBytes) held = rfl_store_take_held (hq, peer->id, rfl_envelope_get_seq_to (env) + 1);

    if (held != NULL)
      {
        g_autoptr(GError) later = NULL;
        JsonObject *receipt = rfl_sync_hub_accept (hq, held, TRUE, report, &later);

        if (receipt != NULL)
          return receipt;
        if (later != NULL)
          g_warning ("a held bundle from %s failed: %s", peer->id, later->message);
      }
  }
  {
    g_autofree char *id = g_strdup (peer->id);

    g_clear_pointer (&peer, rfl_peer_free);
    peer = rfl_store_get_peer (hq, id, error);
  }
  {
    JsonObject *receipt = peer != NULL ? receipt_new (keys, peer) : NULL;

    /* Outside the signed part: which operations HQ refused, for the
     * device to report. The audit log holds why. */
    if (receipt != NULL && stats.n_named > 0)
      {
        JsonArray *refused = json_array_new ();

        for (guint i = 0; i < stats.n_named; i++)
          json_array_add_string_element (refused, stats.named[i]);
        json_object_set_array_member (receipt, "refused", refused);
      }
    return receipt;
  }
}

/**
 * rfl_sync_hub_next:
 * @device_id: the device asking
 * @have: the last bundle of HQ's stream to it that the device applied
 * @after: the last bundle the device has received, applied or not; at least
 *   @have. A device fetches the next bundle while it applies this one.
 * @always: make a bundle even with no changes, to carry the receipt (USB)
 *
 * Returns: (transfer full) (nullable): the next bundle for the device, or
 *   %NULL with no error when there is nothing new
 */
GBytes *
rfl_sync_hub_next (RflStore    *hq,
                   const char  *device_id,
                   guint64      have,
                   guint64      after,
                   gboolean     always,
                   GError     **error)
{
  g_autoptr(RflPeer) peer = rfl_store_get_peer (hq, device_id, error);
  g_autoptr(GError) local = NULL;
  RflOutboxItem *item;

  if (peer == NULL)
    return NULL;
  if (g_strcmp0 (peer->status, "active") != 0)
    {
      g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REVOKED, _("device %s was revoked"), peer->id);
      return NULL;
    }
  if (after < have || (after > have && after >= peer->out_next))
    {
      g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED,
                   _("asked for the bundle after %llu, which HQ has not sent"), (unsigned long long) after);
      return NULL;
    }
  if (have > peer->acked && have < peer->out_next && !rfl_store_outbox_ack (hq, peer->id, have, error))
    return NULL;
  /* A bundle sealed before but not yet confirmed goes again, unchanged. */
  if ((item = rfl_store_outbox_next (hq, peer->id, after, &local)) != NULL)
    {
      GBytes *envelope = g_bytes_ref (item->envelope);

      rfl_outbox_item_free (item);
      return envelope;
    }
  if (local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  return rfl_sync_hub_seal (hq, device_id, always, error);
}

/**
 * rfl_sync_hub_seal:
 * @device_id: an enrolled device
 * @always: make a bundle even with no changes, to carry the receipt (USB)
 *
 * Seals what changed in the device's scope since the last bundle to it.
 *
 * Returns: (transfer full) (nullable): the bundle, or %NULL with no error
 *   when there is nothing new
 */
GBytes *
rfl_sync_hub_seal (RflStore    *hq,
                   const char  *device_id,
                   gboolean     always,
                   GError     **error)
{
  g_autoptr(RflPeer) peer = rfl_store_get_peer (hq, device_id, error);
  g_autoptr(RflDeviceKeys) keys = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(JsonObject) receipt = NULL;
  g_autoptr(GBytes) payload = NULL;
  g_autoptr(RflOutboxItem) item = NULL;
  guint64 through = 0;

  if (peer == NULL)
    return NULL;
  if ((ops = rfl_store_read_scope_ops (hq, peer->out_through, peer->office, peer->id,
                                       RFL_SYNC_BUNDLE_OPS, &through, error)) == NULL ||
      (keys = rfl_store_dup_keys (hq, error)) == NULL)
    return NULL;
  if (ops->len == 0 && !always)
    {
      if (through != peer->out_through && !rfl_store_set_peer_through (hq, peer->id, through, error))
        return NULL;
      return NULL;
    }
  receipt = receipt_new (keys, peer);
  payload = bundle_payload (ops, through, receipt);
  item = seal_to_peer (hq, keys, peer, peer->out_next, peer->out_next, through, payload, error);
  return item != NULL ? g_bytes_ref (item->envelope) : NULL;
}

/* The roster. */

GBytes *
rfl_sync_hub_roster (RflStore  *hq,
                     GError   **error)
{
  g_autoptr(GPtrArray) peers = rfl_store_list_peers (hq, "device", error);
  g_autoptr(RflDeviceKeys) keys = NULL;
  g_autofree char *version = NULL;
  g_autoptr(RflRoster) roster = NULL;

  if (peers == NULL || (keys = rfl_store_dup_keys (hq, error)) == NULL)
    return NULL;
  version = rfl_store_get_setting (hq, "roster_version");
  roster = rfl_roster_new (version != NULL ? g_ascii_strtoull (version, NULL, 10) : 0);
  for (guint i = 0; i < peers->len; i++)
    {
      RflPeer *peer = g_ptr_array_index (peers, i);

      rfl_roster_add_device (roster, peer->id, peer->office, g_strcmp0 (peer->status, "active") != 0,
                             peer->sign_pk, peer->box_pk);
    }
  return rfl_roster_sign (roster, keys->sign_sk);
}

/**
 * rfl_sync_device_take_roster:
 *
 * Checks a roster from HQ and remembers its version: an older one is
 * refused from then on.
 */
gboolean
rfl_sync_device_take_roster (RflStore  *device,
                             GBytes    *bytes,
                             GError   **error)
{
  g_autoptr(RflPeer) peer = hq_peer (device, error);
  g_autofree char *seen = NULL, *version = NULL;
  g_autoptr(RflRoster) roster = NULL;
  const RflRosterDevice *me;

  if (peer == NULL)
    return FALSE;
  seen = rfl_store_get_setting (device, SETTING_ROSTER_SEEN);
  roster = rfl_roster_load (bytes, peer->sign_pk, seen != NULL ? g_ascii_strtoull (seen, NULL, 10) : 0, error);
  if (roster == NULL)
    return FALSE;
  me = rfl_roster_lookup (roster, rfl_store_get_device_id (device));
  if (me == NULL)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_NOT_ENROLLED,
                           _("HQ's roster does not list this device"));
      return FALSE;
    }
  version = g_strdup_printf ("%" G_GUINT64_FORMAT, rfl_roster_get_version (roster));
  return rfl_store_set_setting (device, SETTING_ROSTER_SEEN, version, error);
}

/* Revocation notices. */

GBytes *
rfl_sync_notice_new (RflStore    *hq,
                     const char  *device_id,
                     GError     **error)
{
  g_autoptr(RflDeviceKeys) keys = rfl_store_dup_keys (hq, error);
  g_autoptr(JsonObject) obj = json_object_new ();
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GByteArray) out = g_byte_array_new ();
  guint8 sig[crypto_sign_BYTES];
  gsize len;
  const guint8 *data;

  if (keys == NULL)
    return NULL;
  json_object_set_string_member (obj, "format", NOTICE_FORMAT);
  json_object_set_string_member (obj, "device", device_id);
  json_object_set_string_member (obj, "hq", keys->device_id);
  json_object_set_int_member (obj, "issued", g_get_real_time () / 1000);
  body = object_to_bytes (obj);
  data = g_bytes_get_data (body, &len);
  crypto_sign_detached (sig, NULL, data, len, keys->sign_sk);
  g_byte_array_append (out, (const guint8 *) NOTICE_MAGIC, 4);
  g_byte_array_append (out, sig, sizeof sig);
  g_byte_array_append (out, data, (guint) len);
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

/**
 * rfl_sync_device_take_notice:
 *
 * Acts on a revocation notice from HQ. A genuine notice for this device
 * destroys its keys and wrapped data key, so the database can never be
 * opened again, and fails with %RFL_SYNC_ERROR_REVOKED. Anything else,
 * forged notices included, changes nothing and fails with its own error.
 */
gboolean
rfl_sync_device_take_notice (RflStore  *device,
                             GBytes    *notice,
                             GError   **error)
{
  g_autoptr(RflPeer) peer = hq_peer (device, error);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonObject) obj = NULL;
  gsize len;
  const guint8 *data = g_bytes_get_data (notice, &len);
  g_autofree char *device_id = NULL;

  if (peer == NULL)
    return FALSE;
  if (len > MAX_NOTICE_BYTES || len < 4 + crypto_sign_BYTES || memcmp (data, NOTICE_MAGIC, 4) != 0)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED, _("HQ's refusal carries no revocation notice"));
      return FALSE;
    }
  if (crypto_sign_verify_detached (data + 4, data + 4 + crypto_sign_BYTES, len - 4 - crypto_sign_BYTES,
                                   peer->sign_pk) != 0)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_BAD_SIGNATURE,
                           _("a revocation notice did not verify with HQ's key; it was ignored"));
      return FALSE;
    }
  body = g_bytes_new_from_bytes (notice, 4 + crypto_sign_BYTES, len - 4 - crypto_sign_BYTES);
  if ((obj = parse_object (body, "the revocation notice", error)) == NULL)
    return FALSE;
  device_id = g_strdup (rfl_store_get_device_id (device));
  if (g_strcmp0 (rfl_json_string_or (obj, "format", NULL), NOTICE_FORMAT) != 0 ||
      g_strcmp0 (rfl_json_string_or (obj, "device", NULL), device_id) != 0)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED,
                           _("the revocation notice is for another device; it was ignored"));
      return FALSE;
    }
  if (!rfl_store_destroy_keys (device, error))
    return FALSE;
  g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REVOKED,
               _("HQ revoked device %s: its keys were destroyed and its database can no longer be opened"),
               device_id);
  return FALSE;
}

/* Enrollment. */

void
rfl_enroll_token_free (RflEnrollToken *token)
{
  if (token == NULL)
    return;
  g_free (token->hq_url);
  g_free (token->hq_id);
  g_free (token->office);
  g_free (token->token_id);
  if (token->secret != NULL)
    sodium_memzero (token->secret, strlen (token->secret));
  g_free (token->secret);
  g_free (token->ca_pem);
  g_free (token);
}

static void
hash_secret (const char *secret_hex,
             guint8     *out)
{
  crypto_generichash (out, 32, (const guint8 *) secret_hex, strlen (secret_hex), NULL, 0);
}

/**
 * rfl_enroll_token_new:
 * @hq: HQ's store
 * @office: the office the device will work for
 * @url: (nullable): where devices reach HQ
 * @ca_pem: (nullable): the CA that signed HQ's TLS certificate, to pin
 * @lifetime_ms: how long the token may be used
 *
 * Returns: (transfer full): the token file's content. It holds a secret:
 *   hand it over like a key.
 */
GBytes *
rfl_enroll_token_new (RflStore    *hq,
                      const char  *office,
                      const char  *url,
                      const char  *ca_pem,
                      gint64       lifetime_ms,
                      GError     **error)
{
  g_autoptr(RflDeviceKeys) keys = rfl_store_dup_keys (hq, error);
  g_autoptr(JsonObject) obj = json_object_new ();
  g_autofree char *token_id = g_uuid_string_random ();
  g_autofree char *sign_b64 = NULL, *box_b64 = NULL;
  guint8 secret[32], secret_hash[32];
  char secret_hex[65];
  gint64 expires = g_get_real_time () / 1000 + lifetime_ms;

  if (keys == NULL)
    return NULL;
  randombytes_buf (secret, sizeof secret);
  sodium_bin2hex (secret_hex, sizeof secret_hex, secret, sizeof secret);
  sodium_memzero (secret, sizeof secret);
  hash_secret (secret_hex, secret_hash);
  if (!rfl_store_add_token (hq, token_id, secret_hash, office, expires, error))
    return NULL;

  sign_b64 = g_base64_encode (keys->sign_pk, 32);
  box_b64 = g_base64_encode (keys->box_pk, 32);
  json_object_set_string_member (obj, "format", TOKEN_FORMAT);
  if (url != NULL)
    json_object_set_string_member (obj, "hq_url", url);
  json_object_set_string_member (obj, "hq_id", keys->device_id);
  json_object_set_string_member (obj, "hq_sign_pk", sign_b64);
  json_object_set_string_member (obj, "hq_box_pk", box_b64);
  json_object_set_string_member (obj, "office", office);
  json_object_set_string_member (obj, "token", token_id);
  json_object_set_string_member (obj, "secret", secret_hex);
  json_object_set_int_member (obj, "expires", expires);
  if (ca_pem != NULL)
    json_object_set_string_member (obj, "ca_pem", ca_pem);
  sodium_memzero (secret_hex, sizeof secret_hex);
  return object_to_bytes (obj);
}

RflEnrollToken *
rfl_enroll_token_load (GBytes  *data,
                       GError **error)
{
  g_autoptr(RflEnrollToken) token = g_new0 (RflEnrollToken, 1);
  g_autoptr(JsonObject) obj = NULL;
  guint8 id[RFL_ENVELOPE_ID_BYTES];

  if (g_bytes_get_size (data) > MAX_TOKEN_BYTES)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_TOO_LARGE, _("the enrollment token file is too large"));
      return NULL;
    }
  if ((obj = parse_object (data, "the enrollment token", error)) == NULL)
    return NULL;
  token->hq_url = g_strdup (rfl_json_string_or (obj, "hq_url", NULL));
  token->hq_id = g_strdup (rfl_json_string_or (obj, "hq_id", NULL));
  token->office = g_strdup (rfl_json_string_or (obj, "office", NULL));
  token->token_id = g_strdup (rfl_json_string_or (obj, "token", NULL));
  token->secret = g_strdup (rfl_json_string_or (obj, "secret", NULL));
  token->expires = rfl_json_int_or (obj, "expires", 0);
  token->ca_pem = g_strdup (rfl_json_string_or (obj, "ca_pem", NULL));
  if (g_strcmp0 (rfl_json_string_or (obj, "format", NULL), TOKEN_FORMAT) != 0 ||
      token->hq_url == NULL || !g_uri_is_valid (token->hq_url, G_URI_FLAGS_NONE, NULL) ||
      (!g_str_has_prefix (token->hq_url, "http://") && !g_str_has_prefix (token->hq_url, "https://")) ||
      !rfl_sync_id_from_hex (token->hq_id, id) || token->office == NULL || token->token_id == NULL ||
      token->secret == NULL || strlen (token->secret) != 64 ||
      !rfl_json_get_base64 (obj, "hq_sign_pk", token->hq_sign_pk, 32) ||
      !rfl_json_get_base64 (obj, "hq_box_pk", token->hq_box_pk, 32))
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED, _("this is not a Reunite enrollment token"));
      return NULL;
    }
  if (token->expires < g_get_real_time () / 1000)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_STALE,
                           _("this enrollment token has expired; ask HQ for a new one"));
      return NULL;
    }
  return g_steal_pointer (&token);
}

static char *
enroll_message (const char *token_id,
                const char *device_id)
{
  return g_strdup_printf ("reunite-enroll-v1\n%s\n%s", token_id, device_id);
}

/**
 * rfl_enroll_request_body:
 *
 * The body of the enrollment request: the token, this device's public
 * keys, and a signature that proves it holds the signing key.
 */
char *
rfl_enroll_request_body (RflStore              *device,
                         const RflEnrollToken  *token,
                         GError               **error)
{
  g_autoptr(RflDeviceKeys) keys = rfl_store_dup_keys (device, error);
  g_autoptr(JsonObject) obj = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *msg = NULL, *sign_b64 = NULL, *box_b64 = NULL;
  guint8 sig[crypto_sign_BYTES];
  char sig_hex[129];

  if (keys == NULL)
    return NULL;
  msg = enroll_message (token->token_id, keys->device_id);
  crypto_sign_detached (sig, NULL, (const guint8 *) msg, strlen (msg), keys->sign_sk);
  sodium_bin2hex (sig_hex, sizeof sig_hex, sig, sizeof sig);
  sign_b64 = g_base64_encode (keys->sign_pk, 32);
  box_b64 = g_base64_encode (keys->box_pk, 32);
  json_object_set_string_member (obj, "token", token->token_id);
  json_object_set_string_member (obj, "secret", token->secret);
  json_object_set_string_member (obj, "device", keys->device_id);
  json_object_set_string_member (obj, "sign_pk", sign_b64);
  json_object_set_string_member (obj, "box_pk", box_b64);
  json_object_set_string_member (obj, "proof", sig_hex);
  node = json_node_init_object (json_node_alloc (), obj);
  return json_to_string (node, FALSE);
}

/**
 * rfl_enroll_accept:
 * @hq: HQ's store
 * @body: an enrollment request
 *
 * Spends the token and enrolls the device.
 *
 * Returns: (transfer full): the response: the device's office and the new
 *   signed roster
 */
JsonObject *
rfl_enroll_accept (RflStore  *hq,
                   GBytes    *body,
                   GError   **error)
{
  g_autoptr(JsonObject) req = NULL;
  g_autoptr(GBytes) roster = NULL;
  g_autofree char *msg = NULL, *office = NULL, *roster_b64 = NULL;
  guint8 sig[crypto_sign_BYTES], id[RFL_ENVELOPE_ID_BYTES], hash[32], secret_hash[32];
  const char *device, *token, *secret, *proof;
  RflPeer peer = { 0 };
  JsonObject *out;
  gsize len = 0;

  if (g_bytes_get_size (body) > MAX_ENROLL_BYTES)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_TOO_LARGE, _("the enrollment request is too large"));
      return NULL;
    }
  if ((req = parse_object (body, "the enrollment request", error)) == NULL)
    return NULL;
  device = rfl_json_string_or (req, "device", NULL);
  token = rfl_json_string_or (req, "token", NULL);
  secret = rfl_json_string_or (req, "secret", NULL);
  proof = rfl_json_string_or (req, "proof", NULL);
  if (!rfl_sync_id_from_hex (device, id) || token == NULL || secret == NULL || strlen (secret) != 64 ||
      proof == NULL || strlen (proof) != 128 ||
      sodium_hex2bin (sig, sizeof sig, proof, 128, NULL, &len, NULL) != 0 ||
      !rfl_json_get_base64 (req, "sign_pk", peer.sign_pk, 32) || !rfl_json_get_base64 (req, "box_pk", peer.box_pk, 32))
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED, _("the enrollment request is malformed"));
      return NULL;
    }
  /* The id is the hash of the signing key, and the device holds that key. */
  crypto_generichash (hash, RFL_ENVELOPE_ID_BYTES, peer.sign_pk, 32, NULL, 0);
  msg = enroll_message (token, device);
  if (memcmp (hash, id, RFL_ENVELOPE_ID_BYTES) != 0 ||
      crypto_sign_verify_detached (sig, (const guint8 *) msg, strlen (msg), peer.sign_pk) != 0)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_BAD_SIGNATURE,
                           _("the enrollment request is not signed by the device's key"));
      return NULL;
    }
  hash_secret (secret, secret_hash);
  peer.id = (char *) device;
  if ((office = rfl_store_use_token (hq, token, secret_hash, &peer, error)) == NULL ||
      (roster = rfl_sync_hub_roster (hq, error)) == NULL)
    return NULL;
  roster_b64 = g_base64_encode (g_bytes_get_data (roster, NULL), g_bytes_get_size (roster));
  out = json_object_new ();
  json_object_set_string_member (out, "office", office);
  json_object_set_string_member (out, "roster", roster_b64);
  return out;
}

/**
 * rfl_enroll_finish:
 * @response: HQ's answer to the enrollment request
 *
 * Records HQ as this device's peer, with the keys from the token, once
 * HQ's signed roster lists this device.
 */
gboolean
rfl_enroll_finish (RflStore              *device,
                   const RflEnrollToken  *token,
                   GBytes                *response,
                   GError               **error)
{
  g_autoptr(JsonObject) obj = NULL;
  g_autoptr(GBytes) roster = NULL;
  g_autofree guint8 *raw = NULL;
  const char *roster_b64;
  RflPeer peer = { 0 };
  gsize len = 0;

  if (g_bytes_get_size (response) > RFL_ROSTER_MAX_BYTES * 2)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_TOO_LARGE, _("HQ's answer is too large"));
      return FALSE;
    }
  if ((obj = parse_object (response, "HQ's answer", error)) == NULL)
    return FALSE;
  roster_b64 = rfl_json_string_or (obj, "roster", NULL);
  if (roster_b64 == NULL)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED, _("HQ's answer carries no roster"));
      return FALSE;
    }
  raw = g_base64_decode (roster_b64, &len);
  roster = g_bytes_new (raw, len);

  peer.id = token->hq_id;
  peer.role = (char *) "hq";
  peer.office = token->office;
  peer.url = token->hq_url;
  memcpy (peer.sign_pk, token->hq_sign_pk, 32);
  memcpy (peer.box_pk, token->hq_box_pk, 32);
  if (!rfl_store_add_peer (device, &peer, error) ||
      !rfl_store_set_setting (device, SETTING_HQ, token->hq_id, error))
    return FALSE;
  if (!rfl_sync_device_take_roster (device, roster, error))
    {
      g_autoptr(GError) ignored = NULL;
      rfl_store_set_setting (device, SETTING_HQ, NULL, &ignored);
      return FALSE;
    }
  return rfl_store_set_setting (device, SETTING_OFFICE, token->office, error) &&
         (token->hq_url == NULL || rfl_store_set_setting (device, "hq_url", token->hq_url, error)) &&
         (token->ca_pem == NULL || rfl_store_set_setting (device, "ca_pem", token->ca_pem, error));
}

/* USB files and reports. */

/**
 * rfl_sync_write_bundle:
 *
 * Writes an envelope to @dir/@name through a temporary file, flushed to
 * disk, then renamed: a stick pulled out half-way leaves the whole bundle
 * or none of it.
 */
gboolean
rfl_sync_write_bundle (const char  *dir,
                       const char  *name,
                       GBytes      *envelope,
                       GError     **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  return g_file_set_contents_full (path, g_bytes_get_data (envelope, NULL), (gssize) g_bytes_get_size (envelope),
                                   G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, error);
}

static int
compare_paths (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/**
 * rfl_sync_list_bundles:
 * @prefix: (nullable): only files whose name starts so
 * @skip_prefix: (nullable): leave out files whose name starts so
 *
 * Returns: (transfer full) (element-type filename): the paths of the
 *   envelope files (.rfle) in @dir, in name order
 */
GPtrArray *
rfl_sync_list_bundles (const char  *dir,
                       const char  *prefix,
                       const char  *skip_prefix,
                       GError     **error)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, error);
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (d == NULL)
    return NULL;
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".rfle") && (prefix == NULL || g_str_has_prefix (name, prefix)) &&
        (skip_prefix == NULL || !g_str_has_prefix (name, skip_prefix)))
      g_ptr_array_add (paths, g_build_filename (dir, name, NULL));
  g_ptr_array_sort (paths, compare_paths);
  return g_steal_pointer (&paths);
}

/**
 * rfl_sync_device_status:
 * @device: a device's store
 * @with_conflicts: whether to include the open conflicts themselves
 * @error: return location for an error
 *
 * Where this device stands with HQ: `device_id`, `enrollment` ("enrolled"
 * or "not enrolled"), `office`, `pending_changes` (its own changes HQ has
 * not receipted), `last_sync` (ISO 8601 or null), `open_conflicts`, and with
 * @with_conflicts the `conflicts` as rfl_store_list_conflicts() gives them.
 *
 * Returns: (transfer full): the status, or %NULL on error
 */
JsonObject *
rfl_sync_device_status (RflStore  *device,
                        gboolean   with_conflicts,
                        GError   **error)
{
  g_autoptr(JsonObject) out = json_object_new ();
  g_autoptr(GPtrArray) conflicts = NULL;
  g_autoptr(RflPeer) hq = NULL;
  g_autofree char *hq_id = NULL, *office = NULL, *last = NULL;
  gint64 pending;

  g_return_val_if_fail (RFL_IS_STORE (device), NULL);

  hq_id = rfl_store_get_setting (device, SETTING_HQ);
  office = rfl_store_get_setting (device, SETTING_OFFICE);
  last = rfl_store_get_setting (device, "last_sync");
  if (hq_id != NULL && (hq = rfl_store_get_peer (device, hq_id, error)) == NULL)
    return NULL;
  pending = rfl_store_count_local_ops (device, hq != NULL ? hq->acked : 0, error);
  if (pending < 0 || (conflicts = rfl_store_list_conflicts (device, FALSE, error)) == NULL)
    return NULL;
  json_object_set_string_member (out, "device_id", rfl_store_get_device_id (device));
  json_object_set_string_member (out, "enrollment", hq != NULL ? "enrolled" : "not enrolled");
  if (office != NULL)
    json_object_set_string_member (out, "office", office);
  json_object_set_int_member (out, "pending_changes", pending);
  if (last != NULL)
    json_object_set_string_member (out, "last_sync", last);
  else
    json_object_set_null_member (out, "last_sync");
  json_object_set_int_member (out, "open_conflicts", conflicts->len);
  if (with_conflicts)
    {
      JsonArray *array = json_array_sized_new (conflicts->len);

      for (guint i = 0; i < conflicts->len; i++)
        json_array_add_object_element (array, json_object_ref (g_ptr_array_index (conflicts, i)));
      json_object_set_array_member (out, "conflicts", array);
    }
  return g_steal_pointer (&out);
}

/**
 * rfl_sync_device_write_usb:
 * @device: an enrolled device's store
 * @dir: a folder, usually on a USB stick
 * @written: (out) (optional): how many bundles were written
 * @error: return location for an error
 *
 * Writes every bundle HQ has not receipted to @dir, sealing new changes
 * first. Each file is whole or absent (rfl_sync_write_bundle()); writing
 * again is harmless, as HQ applies a bundle once.
 */
gboolean
rfl_sync_device_write_usb (RflStore    *device,
                           const char  *dir,
                           guint       *written,
                           GError     **error)
{
  g_autoptr(GPtrArray) outbox = NULL;

  g_return_val_if_fail (RFL_IS_STORE (device), FALSE);
  g_return_val_if_fail (dir != NULL, FALSE);

  if (written != NULL)
    *written = 0;
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY, _("%s is not a folder"), dir);
      return FALSE;
    }
  if ((outbox = rfl_sync_device_outbox (device, error)) == NULL)
    return FALSE;
  for (guint i = 0; i < outbox->len; i++)
    {
      RflOutboxItem *item = g_ptr_array_index (outbox, i);
      g_autofree char *name = g_strdup_printf ("%s-to-hq-%010" G_GUINT64_FORMAT ".rfle",
                                               rfl_store_get_device_id (device), item->seq_from);

      if (!rfl_sync_write_bundle (dir, name, item->envelope, error))
        return FALSE;
      if (written != NULL)
        (*written)++;
    }
  return TRUE;
}

/**
 * rfl_sync_device_read_usb:
 * @device: an enrolled device's store
 * @dir: a folder, usually on a USB stick
 * @report: what was applied is added here
 * @rejections: (out) (optional) (transfer full) (element-type utf8): one
 *   line per bundle that was refused, "FILE: why"
 * @error: return location for an error
 *
 * Applies the bundles HQ wrote for this device in @dir, in order; bundles
 * for other devices are left alone. A refused bundle (damaged, forged, for
 * another device) does not stop the others.
 *
 * Returns: %FALSE if @dir cannot be read, or if HQ revoked this device (the
 *   keys are then destroyed); %TRUE otherwise, even with rejections
 */
gboolean
rfl_sync_device_read_usb (RflStore       *device,
                          const char     *dir,
                          RflSyncReport  *report,
                          GPtrArray     **rejections,
                          GError        **error)
{
  g_autoptr(GPtrArray) files = NULL;
  g_autoptr(GPtrArray) refused = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *prefix = NULL;

  g_return_val_if_fail (RFL_IS_STORE (device), FALSE);
  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (report != NULL, FALSE);

  if (rejections != NULL)
    *rejections = NULL;
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY, _("%s is not a folder"), dir);
      return FALSE;
    }
  /* A revocation notice HQ wrote for this device comes first: a laptop
   * that only ever syncs by USB learns of its revocation this way. One that
   * does not verify is refused and changes nothing. */
  {
    g_autofree char *name = g_strdup_printf ("hq-to-%s-revoked.rfln", rfl_store_get_device_id (device));
    g_autofree char *path = g_build_filename (dir, name, NULL);

    if (g_file_test (path, G_FILE_TEST_EXISTS))
      {
        g_autoptr(GError) local = NULL;
        g_autoptr(GBytes) notice = rfl_file_read (path, MAX_NOTICE_BYTES, RFL_FILE_REGULAR, &local);

        if (notice != NULL && !rfl_sync_device_take_notice (device, notice, &local) &&
            g_error_matches (local, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REVOKED))
          {
            g_propagate_error (error, g_steal_pointer (&local));
            return FALSE;
          }
        if (local != NULL)
          g_ptr_array_add (refused, g_strdup_printf ("%s: %s", name, local->message));
      }
  }

  /* Only the bundles HQ wrote for this device. */
  prefix = g_strdup_printf ("hq-to-%s-", rfl_store_get_device_id (device));
  if ((files = rfl_sync_list_bundles (dir, prefix, NULL, error)) == NULL)
    return FALSE;
  for (guint i = 0; i < files->len; i++)
    {
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GError) local = NULL;

      /* Read, not mapped: a stick pulled out must not crash the program. */
      if ((bytes = rfl_file_read (g_ptr_array_index (files, i), RFL_ENVELOPE_MAX_BYTES, RFL_FILE_REGULAR,
                                  &local)) == NULL ||
          !rfl_sync_device_accept (device, bytes, report, &local))
        {
          g_autofree char *base = g_path_get_basename (g_ptr_array_index (files, i));

          if (g_error_matches (local, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REVOKED))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          g_ptr_array_add (refused, g_strdup_printf ("%s: %s", base, local->message));
        }
    }
  if (rejections != NULL)
    *rejections = g_steal_pointer (&refused);
  return TRUE;
}

/**
 * rfl_sync_report_to_json:
 *
 * Returns: (transfer full): what a sync or a bundle import did, as the
 *   programs print it
 */
JsonObject *
rfl_sync_report_to_json (const RflSyncReport *report)
{
  JsonObject *obj = json_object_new ();

  json_object_set_int_member (obj, "sent_bundles", report->sent);
  json_object_set_int_member (obj, "applied_bundles", report->received);
  json_object_set_int_member (obj, "duplicate_bundles", report->duplicates);
  json_object_set_int_member (obj, "held_bundles", report->held);
  json_object_set_int_member (obj, "changes_applied", report->merge.applied);
  json_object_set_int_member (obj, "conflicts", report->merge.conflicts);
  json_object_set_int_member (obj, "refused", report->merge.refused);
  json_object_set_int_member (obj, "clamped", report->merge.clamped);
  json_object_set_int_member (obj, "receipted_through", (gint64) report->acked);
  if (report->compared)
    json_object_set_boolean_member (obj, "converged", report->converged);
  if (report->resynced)
    json_object_set_boolean_member (obj, "resynced", TRUE);
  if (report->rebased)
    json_object_set_boolean_member (obj, "rebased", TRUE);
  return obj;
}
