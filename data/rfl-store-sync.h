/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "rfl-store.h"

G_BEGIN_DECLS

/*
 * What sync needs from the store: the journal as operations, the merge of
 * operations from elsewhere, conflicts, the peers bundles are exchanged with
 * and their cursors, and this device's keys. The envelope, its crypto and
 * the transports live in sync/; everything here is storage and merge.
 */

/**
 * RflMergeRole:
 * @RFL_MERGE_DEVICE: a field device applying what HQ relayed
 * @RFL_MERGE_HUB: HQ applying a device's own operations: it checks the
 *   sender's scope, clamps clocks from the future, and records conflicts
 */
typedef enum
{
  RFL_MERGE_DEVICE,
  RFL_MERGE_HUB,
} RflMergeRole;

/* Clocks more than this far ahead of the hub's own are clamped. */
#define RFL_MERGE_MAX_SKEW_MS (24 * 60 * 60 * 1000)

/* How many refused operations a merge names, by record id. */
#define RFL_MERGE_REFUSED_NAMED 16

/* A record's causal length never grows past this: each delete or revival adds
 * one, so no real record comes near it, and no sum with it overflows. */
#define RFL_MAX_CAUSAL_LENGTH ((gint64) 1 << 30)

typedef struct
{
  guint applied;     /* operations that changed something */
  guint skipped;     /* operations already known */
  guint conflicts;   /* conflicts recorded */
  guint refused;     /* operations refused: outside the sender's scope, or not valid */
  guint clamped;     /* clocks clamped */
  guint n_named;     /* refused operations named below */
  char  named[RFL_MERGE_REFUSED_NAMED][65];
} RflMergeStats;

void rfl_merge_stats_add (RflMergeStats       *sum,
                          const RflMergeStats *more);

/**
 * RflDeviceKeys:
 *
 * This store's identity, in guarded memory (sodium_malloc) that
 * rfl_device_keys_free() wipes.
 */
typedef struct
{
  char   device_id[33];
  guint8 sign_pk[32];
  guint8 sign_sk[64];
  guint8 box_pk[32];
  guint8 box_sk[32];
} RflDeviceKeys;

void           rfl_device_keys_free        (RflDeviceKeys *keys);
RflDeviceKeys *rfl_device_keys_copy        (const RflDeviceKeys *keys);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflDeviceKeys, rfl_device_keys_free)

/**
 * RflPeer:
 *
 * Someone this store exchanges bundles with: HQ, for a device; each
 * enrolled device, for HQ. @in_next and @in_hash are where the stream
 * from the peer stands, @out_next and @out_hash the stream to it.
 */
typedef struct
{
  char    *id;
  char    *role;          /* "hq" or "device" */
  char    *office;
  char    *status;        /* "active" or "revoked" */
  guint8   sign_pk[32];
  guint8   box_pk[32];
  char    *url;
  gint64   enrolled_at;
  gint64   last_seen;
  guint64  in_next;
  guint8   in_hash[32];
  guint64  out_next;
  guint8   out_hash[32];
  guint64  out_through;   /* journal seq the newest outgoing bundle reaches */
  guint64  acked;         /* highest outgoing seq the peer confirmed */
} RflPeer;

void           rfl_peer_free               (RflPeer *peer);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflPeer, rfl_peer_free)

typedef struct
{
  guint64  seq_from;
  guint64  seq_to;
  guint64  through;
  guint8   hash[32];
  GBytes  *envelope;
} RflOutboxItem;

void           rfl_outbox_item_free        (RflOutboxItem *item);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflOutboxItem, rfl_outbox_item_free)

RflDeviceKeys *rfl_store_dup_keys          (RflStore       *self,
                                            GError        **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean       rfl_store_destroy_keys      (RflStore       *self,
                                            GError        **error);

char          *rfl_store_get_setting       (RflStore       *self,
                                            const char     *key) G_GNUC_WARN_UNUSED_RESULT;
gboolean       rfl_store_set_setting       (RflStore       *self,
                                            const char     *key,
                                            const char     *value,
                                            GError        **error);

GPtrArray     *rfl_store_read_local_ops    (RflStore       *self,
                                            guint64         after,
                                            guint           max_ops,
                                            gsize           max_bytes,
                                            guint64        *last_seq,
                                            GError        **error) G_GNUC_WARN_UNUSED_RESULT;
GPtrArray     *rfl_store_read_scope_ops    (RflStore       *self,
                                            guint64         after,
                                            const char     *office,
                                            const char     *for_device,
                                            guint           max_ops,
                                            gsize           max_bytes,
                                            guint64        *through,
                                            GError        **error) G_GNUC_WARN_UNUSED_RESULT;
gint64         rfl_store_count_local_ops   (RflStore       *self,
                                            guint64         after,
                                            GError        **error);
/**
 * RflBundleApply:
 * @peer: the peer the bundle came from
 * @seq_from: the bundle's first seq, which must be the next the stream expects
 * @seq_to: its last
 * @hash: the envelope hash, which the stream's next bundle must chain to
 * @ops: the bundle's operations, as the peer sent them
 * @role: how to merge them
 * @office: for %RFL_MERGE_HUB, the sender's office
 * @stats: (out): what happened
 * @error: (out): why the bundle was not applied, or %NULL
 *
 * One bundle of a batch that rfl_store_apply_bundles() applies in one
 * transaction.
 */
typedef struct
{
  const char    *peer;
  guint64        seq_from;
  guint64        seq_to;
  const guint8  *hash;
  JsonArray     *ops;
  RflMergeRole   role;
  const char    *office;
  RflMergeStats  stats;
  GError        *error;
} RflBundleApply;

gboolean       rfl_store_apply_bundles     (RflStore       *self,
                                            RflBundleApply *bundles,
                                            guint           n,
                                            GError        **error);
gboolean       rfl_store_apply_ops         (RflStore       *self,
                                            const char     *peer,
                                            guint64         seq_from,
                                            guint64         seq_to,
                                            const guint8   *hash,
                                            JsonArray      *ops,
                                            RflMergeRole    role,
                                            const char     *office,
                                            RflMergeStats  *stats,
                                            GError        **error);

gboolean       rfl_store_share             (RflStore       *self,
                                            const char     *id,
                                            const char     *office,
                                            GError        **error);
GPtrArray     *rfl_store_list_conflicts    (RflStore       *self,
                                            gboolean        include_resolved,
                                            GError        **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean       rfl_store_resolve_conflict  (RflStore       *self,
                                            const char     *conflict_id,
                                            gboolean        take,
                                            GError        **error);
char          *rfl_store_state_hash        (RflStore       *self,
                                            const char     *office,
                                            guint64        *n_records,
                                            GError        **error) G_GNUC_WARN_UNUSED_RESULT;
JsonObject    *rfl_store_tell_offices_of_matches (RflStore         *self,
                                                 double            min_score,
                                                 GCancellable     *cancellable,
                                                 RflProgressFunc   progress,
                                                 gpointer          data,
                                                 GError          **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean       rfl_store_holds_record      (RflStore       *self,
                                            const char     *id);

gboolean       rfl_store_add_peer          (RflStore       *self,
                                            const RflPeer  *peer,
                                            GError        **error);
RflPeer       *rfl_store_get_peer          (RflStore       *self,
                                            const char     *id,
                                            GError        **error) G_GNUC_WARN_UNUSED_RESULT;
GPtrArray     *rfl_store_list_peers        (RflStore       *self,
                                            const char     *role,
                                            GError        **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean       rfl_store_set_peer_status   (RflStore       *self,
                                            const char     *id,
                                            const char     *status,
                                            GError        **error);
typedef void (*RflRequestFunc) (const char *device,
                                const char *nonce,
                                gint64      expires,
                                gpointer    user_data);

gboolean       rfl_store_accept_request    (RflStore       *self,
                                            const char     *device,
                                            const char     *nonce,
                                            gint64          expires,
                                            gint64          now,
                                            GError        **error);
gboolean       rfl_store_foreach_request   (RflStore       *self,
                                            gint64          now,
                                            RflRequestFunc  func,
                                            gpointer        user_data,
                                            GError        **error);
gboolean       rfl_store_move_peer         (RflStore       *self,
                                            const char     *id,
                                            const char     *office,
                                            GError        **error);
gboolean       rfl_store_set_peer_through  (RflStore       *self,
                                            const char     *id,
                                            guint64         through,
                                            GError        **error);
gboolean       rfl_store_rebase_hub        (RflStore       *self,
                                            const char     *id,
                                            GError        **error);
gboolean       rfl_store_rebase_device     (RflStore       *self,
                                            const char     *hq,
                                            guint64         received,
                                            const guint8   *received_hash,
                                            guint64         sent,
                                            const guint8   *sent_hash,
                                            GError        **error);
gboolean       rfl_store_touch_peer        (RflStore       *self,
                                            const char     *id,
                                            GError        **error);

gboolean       rfl_store_outbox_add        (RflStore       *self,
                                            const char     *peer,
                                            const RflOutboxItem *item,
                                            GError        **error);
GPtrArray     *rfl_store_outbox_list       (RflStore       *self,
                                            const char     *peer,
                                            GError        **error) G_GNUC_WARN_UNUSED_RESULT;
RflOutboxItem *rfl_store_outbox_next       (RflStore       *self,
                                            const char     *peer,
                                            guint64         after,
                                            GError        **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean       rfl_store_outbox_find       (RflStore       *self,
                                            const char     *peer,
                                            guint64         seq_to,
                                            guint8         *hash);
gboolean       rfl_store_outbox_ack        (RflStore       *self,
                                            const char     *peer,
                                            guint64         seq_to,
                                            GError        **error);
gboolean       rfl_store_hold              (RflStore       *self,
                                            const char     *peer,
                                            guint64         seq_from,
                                            GBytes         *envelope,
                                            GError        **error);
GBytes        *rfl_store_take_held         (RflStore       *self,
                                            const char     *peer,
                                            guint64         seq_from) G_GNUC_WARN_UNUSED_RESULT;

gboolean       rfl_store_add_token         (RflStore       *self,
                                            const char     *id,
                                            const guint8   *secret_hash,
                                            const char     *office,
                                            gint64          expires,
                                            GError        **error);
char          *rfl_store_use_token         (RflStore       *self,
                                            const char     *id,
                                            const guint8   *secret_hash,
                                            const RflPeer  *device,
                                            GError        **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
