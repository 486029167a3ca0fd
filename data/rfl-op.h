/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Operations: what a bundle carries, one per journal entry. Their wire form
 * is docs/PROTOCOL.md, "The bundle": the keys below, and what `c` holds for
 * each kind. Each kind is one row of a table (rfl-op.c) that says whether a
 * device may send it, whether HQ sends it back to the device that wrote it,
 * and which function applies it (rfl-merge.c). Not for callers outside data/. */

#include <json-glib/json-glib.h>

#include "rfl-store.h"

G_BEGIN_DECLS

/* Keys of an operation (PROTOCOL.md, "The bundle"). */
#define RFL_OP_KEY_RECORD   "r"   /* record id, 1-64 bytes */
#define RFL_OP_KEY_KIND     "o"   /* one of the kinds below */
#define RFL_OP_KEY_HLC      "h"   /* hybrid logical clock */
#define RFL_OP_KEY_DEVICE   "d"   /* the device that wrote it, 32 hex digits */
#define RFL_OP_KEY_CHANGES  "c"   /* fields, and the members below */
#define RFL_OP_KEY_BASE     "b"   /* update: the clocks of the values overwritten */
#define RFL_OP_KEY_CLOCKS   "k"   /* per-field clocks when they differ from [h, d] */
#define RFL_OP_KEY_LENGTH   "l"   /* the record's causal length when written */

/* Members of `c` that are not fields (PROTOCOL.md, "What c must hold"). */
#define RFL_OP_C_CL          "$cl"
#define RFL_OP_C_SHARE       "$share"
#define RFL_OP_C_OWNER       "$owner"
#define RFL_OP_C_SHARES      "$shares"
#define RFL_OP_C_CONFLICT    "$conflict"
#define RFL_OP_C_CHOICE      "$choice"
#define RFL_OP_C_WAS         "$was"

#define RFL_OP_MAX_ID_BYTES 64

/**
 * RflOpKind:
 *
 * The kinds of operation, in the order of PROTOCOL.md's table. The order is
 * not on the wire: kinds travel by name.
 */
typedef enum
{
  RFL_OP_CREATE,
  RFL_OP_UPDATE,
  RFL_OP_DELETE,
  RFL_OP_PURGE,
  RFL_OP_SHARE,
  RFL_OP_SNAPSHOT,
  RFL_OP_CONFLICT,
  RFL_OP_RESOLVE,
  RFL_OP_N_KINDS
} RflOpKind;

/* What applying one operation came to. */
typedef enum
{
  RFL_OP_FAILED,    /* the error is set */
  RFL_OP_APPLIED,   /* changed the record: journal it */
  RFL_OP_KNOWN,     /* nothing new here: count it as known */
  RFL_OP_DONE,      /* the handler journalled and counted it itself */
} RflOpOutcome;

/* One operation being applied; defined in rfl-merge.c. */
typedef struct _RflOpApply RflOpApply;

typedef RflOpOutcome (*RflOpHandler) (RflStore    *self,
                                      RflOpApply  *apply,
                                      GError     **error);

typedef struct
{
  RflOpKind     kind;
  const char   *name;
  /* A device may send it to HQ; snapshots and conflicts are HQ's to write. */
  gboolean      device_may_send;
  /* HQ sends it back to the device that wrote it: a snapshot or conflict
   * HQ made about the device's record is news to the device. */
  gboolean      back_to_author;
  /* The record is loaded, and checked to be in the sender's scope at HQ,
   * before the handler runs. */
  gboolean      needs_record;
  RflOpHandler  apply;
  /* What applies when the record is not here; NULL: nothing, it is known. */
  RflOpHandler  absent;
} RflOpInfo;

G_GNUC_INTERNAL const RflOpInfo *rfl_op_lookup         (const char *name);
G_GNUC_INTERNAL const char      *rfl_op_name           (RflOpKind kind);
G_GNUC_INTERNAL const char      *rfl_op_back_to_author (void);
G_GNUC_INTERNAL gboolean         rfl_op_check          (JsonNode *node, GError **error);
G_GNUC_INTERNAL JsonArray       *rfl_op_clock          (JsonObject *op, JsonArray *default_clock,
                                                        const char *field);
G_GNUC_INTERNAL gboolean         rfl_op_malformed      (GError **error);

/* The handlers (rfl-merge.c). */
G_GNUC_INTERNAL RflOpOutcome     rfl_merge_fields      (RflStore *self, RflOpApply *apply, GError **error);
G_GNUC_INTERNAL RflOpOutcome     rfl_merge_delete      (RflStore *self, RflOpApply *apply, GError **error);
G_GNUC_INTERNAL RflOpOutcome     rfl_merge_purge       (RflStore *self, RflOpApply *apply, GError **error);
G_GNUC_INTERNAL RflOpOutcome     rfl_merge_purge_unknown (RflStore *self, RflOpApply *apply, GError **error);
G_GNUC_INTERNAL RflOpOutcome     rfl_merge_share       (RflStore *self, RflOpApply *apply, GError **error);
G_GNUC_INTERNAL RflOpOutcome     rfl_merge_conflict    (RflStore *self, RflOpApply *apply, GError **error);
G_GNUC_INTERNAL RflOpOutcome     rfl_merge_resolve     (RflStore *self, RflOpApply *apply, GError **error);

G_END_DECLS
