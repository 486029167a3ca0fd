/* SPDX-License-Identifier: GPL-3.0-or-later */
/* HQ's side of sync: a device's bundle accepted and answered with a receipt,
 * the next bundle of a device's scope sealed for it, the roster HQ signs,
 * and the revocation notices HQ signs and a device takes. */
#define G_LOG_DOMAIN "rfl-sync"

#include "rfl-sync-private.h"
#include "rfl-envelope.h"
#include "rfl-roster.h"
#include "rfl-file.h"
#include "rfl-json.h"

#include <sodium.h>
#include <string.h>
#include <glib/gi18n-lib.h>

/* HQ side. */

static RflPeer *
known_device (RflStore      *hq,
              const guint8  *sender,
              GError       **error)
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
  if (!rfl_sync_check_stream (env, me, error))
    return NULL;

  /* The newest bundle again: the device did not get its receipt. */
  if (peer->in_next > 1 && rfl_envelope_get_seq_to (env) == peer->in_next - 1 &&
      sodium_memcmp (rfl_envelope_get_hash (env), peer->in_hash, 32) == 0)
    {
      report->duplicates++;
      return rfl_sync_receipt_new (keys, peer);
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
      (bundle = rfl_sync_parse_bundle (plaintext, error)) == NULL)
    return NULL;

  if (!rfl_store_apply_ops (hq, peer->id, rfl_envelope_get_seq_from (env), rfl_envelope_get_seq_to (env),
                            rfl_envelope_get_hash (env), json_object_get_array_member (bundle, "ops"),
                            RFL_MERGE_HUB, peer->office, &stats, &local))
    {
      rfl_sync_store_error (local, error);
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
    JsonObject *receipt = peer != NULL ? rfl_sync_receipt_new (keys, peer) : NULL;

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
                                       RFL_SYNC_BUNDLE_OPS, RFL_SYNC_BUNDLE_BYTES, &through, error)) == NULL ||
      (keys = rfl_store_dup_keys (hq, error)) == NULL)
    return NULL;
  if (ops->len == 0 && !always)
    {
      if (through != peer->out_through && !rfl_store_set_peer_through (hq, peer->id, through, error))
        return NULL;
      return NULL;
    }
  receipt = rfl_sync_receipt_new (keys, peer);
  payload = rfl_sync_bundle_payload (ops, through, receipt);
  item = rfl_sync_seal_to_peer (hq, keys, peer, peer->out_next, peer->out_next, through, payload, error);
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
  g_autoptr(RflPeer) peer = rfl_sync_hq_peer (device, error);
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
  body = rfl_sync_object_to_bytes (obj);
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
  g_autoptr(RflPeer) peer = rfl_sync_hq_peer (device, error);
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
  if ((obj = rfl_sync_parse_object (body, "the revocation notice", error)) == NULL)
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
