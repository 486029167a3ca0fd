/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Shared by the files of the merge: rfl-merge.c (the bundle, the dispatch
 * and the handlers of the kinds about an existing record) and
 * rfl-merge-fields.c (create, update, snapshot). */

#include "rfl-op.h"
#include "rfl-store-private.h"
#include "rfl-store-sync.h"

G_BEGIN_DECLS

typedef struct
{
  RflMergeRole    role;
  const char     *peer;
  const char     *office;
  RflMergeStats  *stats;
} ApplyCtx;

struct _RflOpApply
{
  const ApplyCtx  *ctx;
  const RflOpInfo *info;
  JsonObject      *op;
  const char      *id;
  const char      *device;
  JsonObject      *c;       /* the changes */
  guint64          hlc;     /* clamped at HQ when too far ahead */
  JsonArray       *clock;   /* [hlc, device] */
  RflRecordRow    *rec;     /* for the kinds that need the record */
};

G_GNUC_INTERNAL gboolean      rfl_merge_device_may_write (RflOpApply *a, const char *type);
G_GNUC_INTERNAL gboolean      rfl_merge_in_scope        (RflStore *self, sqlite3_int64 rowid,
                                                         const char *owner, const char *office);
G_GNUC_INTERNAL RflOpOutcome  rfl_merge_refuse_out_of_scope (RflStore *self, RflOpApply *a,
                                                             GError **error);
G_GNUC_INTERNAL gboolean      rfl_merge_check_record    (RflStore *self, const char *id,
                                                         const RflRecordRow *rec, GError **error);
G_GNUC_INTERNAL gboolean      rfl_merge_insert_record   (RflStore *self, const char *id,
                                                         RflRecordRow *rec, GError **error);
G_GNUC_INTERNAL gboolean      rfl_merge_save_record     (RflStore *self, RflRecordRow *rec,
                                                         gboolean was_alive, GPtrArray *before,
                                                         GError **error);
G_GNUC_INTERNAL gboolean      rfl_merge_add_shares_from (RflStore *self, sqlite3_int64 rowid,
                                                         JsonObject *c, GError **error);
G_GNUC_INTERNAL JsonArray    *rfl_merge_shares_of       (RflStore *self, sqlite3_int64 rowid);
G_GNUC_INTERNAL gboolean      rfl_merge_check_next      (RflStore *self, const char *peer,
                                                         guint64 seq_from, GError **error);
G_GNUC_INTERNAL gboolean      rfl_merge_savepoint       (RflStore *self, const char *sql);
G_GNUC_INTERNAL gboolean      rfl_merge_apply_one       (RflStore *self, ApplyCtx *ctx, JsonObject *op,
                                                         gboolean careful, GError **error);

G_END_DECLS
