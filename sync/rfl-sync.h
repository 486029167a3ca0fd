/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "rfl-store-sync.h"
#include "rfl-sync-error.h"

G_BEGIN_DECLS

/* Operations a receiver accepts in one bundle. */
#define RFL_SYNC_MAX_OPS 5000
/* Operations a sender puts in one: small enough that the receiver merges
 * one bundle while the sender seals the next, large enough to compress well. */
#define RFL_SYNC_BUNDLE_OPS 1000
/* and no more once the operations' JSON reaches this: far below the 256 MiB
 * a receiver inflates, whatever size the records are. */
#define RFL_SYNC_BUNDLE_BYTES (16 * 1024 * 1024)

/* What one sync or bundle import did, for people and tests. */
typedef struct
{
  guint          sent;        /* bundles sent or written */
  guint          received;    /* bundles applied */
  guint          duplicates;  /* bundles that were already applied */
  guint          held;        /* bundles waiting for an earlier one */
  guint64        acked;       /* highest seq HQ has receipted */
  guint64        bytes_up;    /* request bodies sent over HTTP */
  guint64        bytes_down;  /* response bodies received */
  gboolean       compared;    /* the state hashes were compared */
  gboolean       converged;   /* ... and were equal */
  gboolean       behind;      /* ... HQ had more for this device than it could pull in time */
  gboolean       resynced;    /* HQ was asked to send the whole scope again */
  gboolean       rebased;     /* restored from an older copy: the streams went on from HQ's */
  RflMergeStats  merge;       /* summed over the bundles applied */
} RflSyncReport;

char       *rfl_sync_id_to_hex          (const guint8   *id);
gboolean    rfl_sync_id_from_hex        (const char     *hex,
                                         guint8         *id);

/* Enrollment, on the device: what the token file carries. */
typedef struct
{
  char   *hq_url;
  char   *hq_id;
  guint8  hq_sign_pk[32];
  guint8  hq_box_pk[32];
  char   *office;
  char   *token_id;
  char   *secret;      /* hex */
  gint64  expires;     /* ms since the epoch */
  char   *ca_pem;      /* HQ's CA for https, or NULL */
} RflEnrollToken;

void            rfl_enroll_token_free   (RflEnrollToken *token);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflEnrollToken, rfl_enroll_token_free)
RflEnrollToken *rfl_enroll_token_load   (GBytes          *data,
                                         GError         **error) G_GNUC_WARN_UNUSED_RESULT;
GBytes         *rfl_enroll_token_new    (RflStore        *hq,
                                         const char      *office,
                                         const char      *url,
                                         const char      *ca_pem,
                                         gint64           lifetime_ms,
                                         GError         **error) G_GNUC_WARN_UNUSED_RESULT;
char           *rfl_enroll_request_body (RflStore        *device,
                                         const RflEnrollToken *token,
                                         GError         **error) G_GNUC_WARN_UNUSED_RESULT;
JsonObject     *rfl_enroll_accept       (RflStore        *hq,
                                         GBytes          *body,
                                         GError         **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean        rfl_enroll_finish       (RflStore        *device,
                                         const RflEnrollToken *token,
                                         GBytes          *response,
                                         GError         **error);

/* The roster, as HQ serves it and devices keep it. */
GBytes     *rfl_sync_hub_roster         (RflStore       *hq,
                                         GError        **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean    rfl_sync_device_take_roster (RflStore       *device,
                                         GBytes         *roster,
                                         GError        **error);

/* Revocation notices. */
GBytes     *rfl_sync_notice_new         (RflStore       *hq,
                                         const char     *device_id,
                                         GError        **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean    rfl_sync_device_take_notice (RflStore       *device,
                                         GBytes         *notice,
                                         GError        **error);

/* Device side. */
gboolean    rfl_sync_device_is_enrolled (RflStore       *device);
GPtrArray  *rfl_sync_device_outbox      (RflStore       *device,
                                         GError        **error) G_GNUC_WARN_UNUSED_RESULT;
GPtrArray  *rfl_sync_device_unreceipted (RflStore       *device,
                                         GError        **error) G_GNUC_WARN_UNUSED_RESULT;
RflOutboxItem *rfl_sync_device_seal_next (RflStore      *device,
                                         RflDeviceKeys  *keys,
                                         GError        **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean    rfl_sync_device_take_receipt (RflStore      *device,
                                         JsonObject     *receipt,
                                         RflSyncReport  *report,
                                         GError        **error);
gboolean    rfl_sync_device_take_rebase (RflStore       *device,
                                         JsonObject     *statement,
                                         const char     *challenge,
                                         RflSyncReport  *report,
                                         GError        **error);
JsonObject *rfl_sync_hub_rebase         (RflStore       *hq,
                                         const char     *device_id,
                                         const char     *challenge,
                                         GError        **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean    rfl_sync_device_accept      (RflStore       *device,
                                         GBytes         *envelope,
                                         RflSyncReport  *report,
                                         GError        **error);
guint64     rfl_sync_device_have        (RflStore       *device);

typedef struct _RflBundleOpener RflBundleOpener;
typedef struct _RflOpenedBundle RflOpenedBundle;

RflBundleOpener *rfl_sync_device_opener_new   (RflStore         *device,
                                               GError          **error) G_GNUC_WARN_UNUSED_RESULT;
void             rfl_bundle_opener_free       (RflBundleOpener  *opener);
RflOpenedBundle *rfl_bundle_opener_open       (RflBundleOpener  *opener,
                                               GBytes           *envelope) G_GNUC_WARN_UNUSED_RESULT;
guint64          rfl_opened_bundle_get_seq_to (RflOpenedBundle  *opened);
void             rfl_opened_bundle_free       (RflOpenedBundle  *opened);
gboolean         rfl_sync_device_accept_opened (RflStore        *device,
                                               RflOpenedBundle  *opened,
                                               RflSyncReport    *report,
                                               GError          **error);
gboolean         rfl_sync_device_accept_opened_batch (RflStore          *device,
                                                     RflOpenedBundle  **opened,
                                                     guint              n,
                                                     RflSyncReport     *report,
                                                     GError           **error);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflBundleOpener, rfl_bundle_opener_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflOpenedBundle, rfl_opened_bundle_free)

/* HQ side. */
JsonObject *rfl_sync_hub_accept         (RflStore       *hq,
                                         GBytes         *envelope,
                                         gboolean        hold_gaps,
                                         RflSyncReport  *report,
                                         GError        **error) G_GNUC_WARN_UNUSED_RESULT;
GBytes     *rfl_sync_hub_next           (RflStore       *hq,
                                         const char     *device_id,
                                         guint64         have,
                                         guint64         after,
                                         gboolean        always,
                                         GError        **error) G_GNUC_WARN_UNUSED_RESULT;

GBytes     *rfl_sync_hub_seal           (RflStore       *hq,
                                         const char     *device_id,
                                         gboolean        always,
                                         GError        **error) G_GNUC_WARN_UNUSED_RESULT;

/* USB files and reports. */
gboolean    rfl_sync_write_bundle       (const char     *dir,
                                         const char     *name,
                                         GBytes         *envelope,
                                         GError        **error);
GPtrArray  *rfl_sync_list_bundles       (const char     *dir,
                                         const char     *prefix,
                                         const char     *skip_prefix,
                                         GError        **error) G_GNUC_WARN_UNUSED_RESULT;
JsonObject *rfl_sync_device_status      (RflStore       *device,
                                         gboolean        with_conflicts,
                                         GError        **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean    rfl_sync_device_write_usb   (RflStore       *device,
                                         const char     *dir,
                                         guint          *written,
                                         GError        **error);
gboolean    rfl_sync_device_read_usb    (RflStore       *device,
                                         const char     *dir,
                                         RflSyncReport  *report,
                                         GPtrArray     **rejections,
                                         GError        **error);
JsonObject *rfl_sync_report_to_json     (const RflSyncReport *report) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
