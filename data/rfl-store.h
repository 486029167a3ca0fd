/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "rfl-error.h"
#include "rfl-types.h"

G_BEGIN_DECLS

/**
 * RflKdfLevel:
 * @RFL_KDF_INTERACTIVE: libsodium's interactive Argon2id limits (64 MiB).
 * @RFL_KDF_MODERATE: libsodium's moderate limits (256 MiB); the default.
 * @RFL_KDF_SENSITIVE: libsodium's sensitive limits (1 GiB).
 */
typedef enum
{
  RFL_KDF_INTERACTIVE,
  RFL_KDF_MODERATE,
  RFL_KDF_SENSITIVE,
} RflKdfLevel;

/* The shortest passphrase the store accepts, in bytes. */
#define RFL_STORE_MIN_PASSPHRASE 8

#define RFL_TYPE_STORE (rfl_store_get_type ())

G_DECLARE_FINAL_TYPE (RflStore, rfl_store, RFL, STORE, GObject)

RflStore    *rfl_store_create                 (const char           *path,
                                               const char           *passphrase,
                                               gsize                 passphrase_len,
                                               RflKdfLevel           level,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;
RflStore    *rfl_store_open                   (const char           *path,
                                               const char           *passphrase,
                                               gsize                 passphrase_len,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;
void         rfl_store_open_async             (const char           *path,
                                               const char           *passphrase,
                                               gsize                 passphrase_len,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
RflStore    *rfl_store_open_finish            (GAsyncResult         *result,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;
void         rfl_store_close                  (RflStore             *self);
gboolean     rfl_store_is_open                (RflStore             *self);
const char  *rfl_store_get_path               (RflStore             *self);
const char  *rfl_store_get_device_id          (RflStore             *self);
void         rfl_store_set_actor              (RflStore             *self,
                                               const char           *actor);
gboolean     rfl_store_change_passphrase      (RflStore             *self,
                                               const char           *old_passphrase,
                                               gsize                 old_len,
                                               const char           *new_passphrase,
                                               gsize                 new_len,
                                               RflKdfLevel           level,
                                               GError              **error);

char        *rfl_store_add                    (RflStore             *self,
                                               JsonObject           *record,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;
JsonObject  *rfl_store_get                    (RflStore             *self,
                                               const char           *id,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean     rfl_store_update                 (RflStore             *self,
                                               const char           *id,
                                               JsonObject           *patch,
                                               GError              **error);
gboolean     rfl_store_delete                 (RflStore             *self,
                                               const char           *id,
                                               GError              **error);
gboolean     rfl_store_delete_as_operator     (RflStore             *self,
                                               const char           *id,
                                               const char           *reason,
                                               GError              **error);
GPtrArray   *rfl_store_list                   (RflStore             *self,
                                               const char           *type,
                                               const char           *status,
                                               guint                 offset,
                                               guint                 limit,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;
gint64       rfl_store_count                  (RflStore             *self,
                                               const char           *type,
                                               const char           *status,
                                               GError              **error);
GPtrArray   *rfl_store_search                 (RflStore             *self,
                                               const char           *query,
                                               guint                 limit,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;

GPtrArray   *rfl_store_list_notes             (RflStore             *self,
                                               const char           *record_id,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;
GPtrArray   *rfl_store_propose_matches        (RflStore             *self,
                                               const char           *case_id,
                                               double                min_score,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;
GPtrArray   *rfl_store_list_duplicates        (RflStore             *self,
                                               double                min_score,
                                               guint                 offset,
                                               guint                 limit,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;
JsonObject  *rfl_store_explain_match          (RflStore             *self,
                                               JsonObject           *proposal,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;
GPtrArray   *rfl_store_list_proposals         (RflStore             *self,
                                               const char           *case_id,
                                               double                min_score,
                                               guint                 offset,
                                               guint                 limit,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;

/**
 * RflProgressFunc:
 * @done: how much is done
 * @total: of how much
 * @data: the caller's
 */
typedef void (*RflProgressFunc) (guint64  done,
                                 guint64  total,
                                 gpointer data);

gint64       rfl_store_count_stale_proposals  (RflStore             *self,
                                               GError              **error);
gboolean     rfl_store_refresh_proposals      (RflStore             *self,
                                               GCancellable         *cancellable,
                                               RflProgressFunc       progress,
                                               gpointer              data,
                                               GError              **error);
gboolean     rfl_store_rebuild_proposals      (RflStore             *self,
                                               GCancellable         *cancellable,
                                               RflProgressFunc       progress,
                                               gpointer              data,
                                               GError              **error);
JsonObject  *rfl_store_decide_match           (RflStore             *self,
                                               const char           *id,
                                               const char           *decision,
                                               const char           *reason,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;
GPtrArray   *rfl_store_list_office_matches    (RflStore             *self,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean     rfl_store_show_interest          (RflStore             *self,
                                               const char           *id,
                                               const char           *reason,
                                               GError              **error);
JsonObject  *rfl_store_merge_duplicate        (RflStore             *self,
                                               const char           *id,
                                               const char           *into,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;
JsonObject  *rfl_store_unmerge_duplicate      (RflStore             *self,
                                               const char           *id,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;
JsonObject  *rfl_store_share_whereabouts      (RflStore             *self,
                                               const char           *id,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;
JsonObject  *rfl_store_summarize              (RflStore             *self,
                                               guint                 weeks,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;

char        *rfl_record_display_name          (JsonObject           *doc) G_GNUC_WARN_UNUSED_RESULT;
char        *rfl_person_display_name          (JsonObject           *person) G_GNUC_WARN_UNUSED_RESULT;

typedef gboolean (*RflStoreForeachFunc) (JsonObject *record,
                                         gpointer    user_data);
gboolean     rfl_store_export                 (RflStore             *self,
                                               RflStoreForeachFunc   func,
                                               gpointer              user_data,
                                               GError              **error);
typedef struct _RflStoreBatch RflStoreBatch;
RflStoreBatch *rfl_store_prepare_batch        (RflStore             *self,
                                               GPtrArray            *records,
                                               guint                *failed_index,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;
guint        rfl_store_batch_get_length       (RflStoreBatch        *batch);
void         rfl_store_batch_free             (RflStoreBatch        *batch);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflStoreBatch, rfl_store_batch_free)
gboolean     rfl_store_write_batch            (RflStore             *self,
                                               const char           *source,
                                               guint64               through,
                                               RflStoreBatch        *batch,
                                               guint                *failed_index,
                                               GError              **error);
gboolean     rfl_store_import_batch           (RflStore             *self,
                                               const char           *source,
                                               guint64               through,
                                               GPtrArray            *records,
                                               guint                *failed_index,
                                               GError              **error);
gboolean     rfl_store_set_retention_days     (RflStore             *self,
                                              gint                  days,
                                              GError              **error);
gboolean     rfl_store_find_records           (RflStore             *self,
                                              GPtrArray            *ids,
                                              guint                *found,
                                              GError              **error);
guint64      rfl_store_get_import_progress    (RflStore             *self,
                                               const char           *source);

GPtrArray   *rfl_store_audit_list             (RflStore             *self,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean     rfl_store_audit_verify           (RflStore             *self,
                                               gint64               *first_broken,
                                               gint64               *n_entries,
                                               GError              **error);
gint64       rfl_store_purge_expired          (RflStore             *self,
                                               GError              **error);
gint64       rfl_store_get_journal_length     (RflStore             *self);

void         rfl_store_list_async             (RflStore             *self,
                                               const char           *type,
                                               const char           *status,
                                               guint                 offset,
                                               guint                 limit,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
GPtrArray   *rfl_store_list_finish            (RflStore             *self,
                                               GAsyncResult         *result,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;
void         rfl_store_search_async           (RflStore             *self,
                                               const char           *query,
                                               guint                 limit,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
GPtrArray   *rfl_store_search_finish          (RflStore             *self,
                                               GAsyncResult         *result,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;
void         rfl_store_get_async              (RflStore             *self,
                                               const char           *id,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
JsonObject  *rfl_store_get_finish             (RflStore             *self,
                                               GAsyncResult         *result,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;
void         rfl_store_summarize_async        (RflStore             *self,
                                               guint                 weeks,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
JsonObject  *rfl_store_summarize_finish       (RflStore             *self,
                                               GAsyncResult         *result,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;
void         rfl_store_save_async             (RflStore             *self,
                                               const char           *id,
                                               JsonObject           *record,
                                               GCancellable         *cancellable,
                                               GAsyncReadyCallback   callback,
                                               gpointer              user_data);
char        *rfl_store_save_finish            (RflStore             *self,
                                               GAsyncResult         *result,
                                               GError              **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
