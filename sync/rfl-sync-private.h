/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Shared by the files of librfl-sync's rfl-sync.h API: rfl-sync.c (bundles,
 * receipts, a device's side), rfl-sync-hub.c (HQ's side, the roster,
 * revocation notices), rfl-enroll.c and rfl-sync-usb.c. Not installed. */

#include "rfl-envelope.h"
#include "rfl-sync.h"

G_BEGIN_DECLS

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

G_GNUC_INTERNAL JsonObject    *rfl_sync_parse_object    (GBytes *bytes, const char *what, GError **error);
G_GNUC_INTERNAL GBytes        *rfl_sync_object_to_bytes (JsonObject *obj);
G_GNUC_INTERNAL gboolean       rfl_sync_store_error     (GError *local, GError **error);
G_GNUC_INTERNAL gboolean       rfl_sync_check_stream    (RflEnvelope *env, const guint8 *to, GError **error);
G_GNUC_INTERNAL GBytes        *rfl_sync_bundle_payload  (GPtrArray *ops, guint64 through, JsonObject *receipt);
G_GNUC_INTERNAL JsonObject    *rfl_sync_parse_bundle    (GBytes *plaintext, GError **error);
G_GNUC_INTERNAL RflOutboxItem *rfl_sync_seal_to_peer    (RflStore *store, RflDeviceKeys *keys, RflPeer *peer,
                                                         guint64 seq_from, guint64 seq_to, guint64 through,
                                                         GBytes *payload, GError **error);
G_GNUC_INTERNAL JsonObject    *rfl_sync_receipt_new     (RflDeviceKeys *hq, RflPeer *device);
G_GNUC_INTERNAL RflPeer       *rfl_sync_hq_peer         (RflStore *device, GError **error);

G_END_DECLS
