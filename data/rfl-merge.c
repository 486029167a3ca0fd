/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Merge: operations from a peer applied to this store, field by field with
 * their clocks, with the causal length deciding deletions, the scope and
 * retention rules, and a conflict recorded where both sides changed a field. */
#define G_LOG_DOMAIN "rfl-store"

#include "rfl-merge-private.h"
#include "rfl-json.h"
#include "rfl-store-sync.h"

#include <sodium.h>
#include <string.h>
#include <glib/gi18n-lib.h>

gboolean
rfl_merge_in_scope (RflStore      *self,
                    sqlite3_int64  rowid,
                    const char    *owner,
                    const char    *office)
{
  sqlite3_stmt *st;

  if (g_strcmp0 (owner, office) == 0)
    return TRUE;
  st = rfl_store_stmt (self, "SELECT 1 FROM shares WHERE record_row = ?1 AND office = ?2", NULL);
  if (st == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, rowid);
  rfl_bind_text (st, 2, office);
  return sqlite3_step (st) == SQLITE_ROW;
}

gboolean
rfl_store_add_share (RflStore       *self,
                     sqlite3_int64   rowid,
                     const char     *office,
                     gboolean       *added,
                     GError        **error)
{
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "INSERT OR IGNORE INTO shares (record_row, office) VALUES (?1, ?2)",
                            error)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, rowid);
  rfl_bind_text (st, 2, office);
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "sharing a record");
  if (added != NULL)
    *added = sqlite3_changes (self->db) > 0;
  return TRUE;
}

/* The offices in @c's "$shares", as a snapshot or a purge carries them. */
gboolean
rfl_merge_add_shares_from (RflStore       *self,
                           sqlite3_int64   rowid,
                           JsonObject     *c,
                           GError        **error)
{
  JsonNode *node = json_object_get_member (c, RFL_OP_C_SHARES);
  JsonArray *shares;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return TRUE;
  shares = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (shares); i++)
    {
      JsonNode *office = json_array_get_element (shares, i);

      if (json_node_get_value_type (office) == G_TYPE_STRING && *json_node_get_string (office) != '\0' &&
          strlen (json_node_get_string (office)) <= 200 &&
          !rfl_store_add_share (self, rowid, json_node_get_string (office), NULL, error))
        return FALSE;
    }
  return TRUE;
}

JsonArray *
rfl_merge_shares_of (RflStore      *self,
                     sqlite3_int64  rowid)
{
  JsonArray *out = json_array_new ();
  sqlite3_stmt *st = rfl_store_stmt (self, "SELECT office FROM shares WHERE record_row = ?1"
                                           " ORDER BY office", NULL);

  if (st == NULL)
    return out;
  sqlite3_bind_int64 (st, 1, rowid);
  while (sqlite3_step (st) == SQLITE_ROW)
    json_array_add_string_element (out, (const char *) sqlite3_column_text (st, 0));
  return out;
}

/* Writes @rec's document, clocks and causal length back, and its names;
 * @before, if known, is rfl_schema_collect_persons() of the document as it
 * was. */
gboolean
rfl_merge_save_record (RflStore      *self,
                       RflRecordRow  *rec,
                       gboolean       was_alive,
                       GPtrArray     *before,
                       GError       **error)
{
  g_autofree char *doc = NULL;
  g_autofree char *clocks = rfl_doc_to_string (rec->clocks);
  gboolean alive = rec->cl % 2 == 1 && rec->doc != NULL;
  guint8 rhash[RFL_RECORD_HASH_BYTES];
  sqlite3_stmt *st;

  if (rec->doc != NULL && alive)
    rfl_store_apply_retention (self, rec->doc);
  doc = rec->doc != NULL ? rfl_doc_to_string (rec->doc) : NULL;
  rfl_record_hash_objects (rec->id, rec->cl, rec->doc, rec->clocks, rhash);
  if ((st = rfl_store_stmt (self, "UPDATE records SET status = ?2, doc = ?3, clocks = ?4, cl = ?5,"
                                  " updated_at = ?6, retention_until = ?7, owner = ?8 WHERE rowid = ?1",
                            error)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, rec->rowid);
  rfl_bind_text (st, 2, rec->doc != NULL ? rfl_json_string_or (rec->doc, "status", NULL) : NULL);
  rfl_bind_text (st, 3, doc);
  rfl_bind_text (st, 4, clocks);
  sqlite3_bind_int64 (st, 5, rec->cl);
  sqlite3_bind_int64 (st, 6, rfl_now_ms ());
  rfl_bind_text (st, 7, rec->doc != NULL ? rfl_json_string_or (rec->doc, "retention_until", NULL) : NULL);
  rfl_bind_text (st, 8, rec->owner);
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "merging a record");

  if (!rfl_store_put_hash (self, rec->rowid, rec->owner, rhash, error))
    return FALSE;
  if (was_alive && alive)
    return rfl_store_reindex_record (self, rec->rowid, before, rec->doc, error);
  if (was_alive && !rfl_store_unindex_record (self, rec->rowid, error))
    return FALSE;
  return !alive || rfl_store_index_record (self, rec->rowid, rec->doc, error);
}

gboolean
rfl_merge_insert_record (RflStore      *self,
                         const char    *id,
                         RflRecordRow  *rec,
                         GError       **error)
{
  g_autofree char *doc = rfl_doc_to_string (rec->doc);
  g_autofree char *clocks = rfl_doc_to_string (rec->clocks);
  guint8 rhash[RFL_RECORD_HASH_BYTES];
  sqlite3_stmt *st;

  rfl_record_hash_objects (id, rec->cl, rec->doc, rec->clocks, rhash);
  if ((st = rfl_store_stmt (self, "INSERT INTO records (id, type, status, doc, created_at, updated_at,"
                                  " cl, retention_until, clocks, owner)"
                                  " VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?7, ?8, ?9)", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, id);
  rfl_bind_text (st, 2, rec->type);
  rfl_bind_text (st, 3, rfl_json_string_or (rec->doc, "status", NULL));
  rfl_bind_text (st, 4, doc);
  sqlite3_bind_int64 (st, 5, rfl_now_ms ());
  sqlite3_bind_int64 (st, 6, rec->cl);
  rfl_bind_text (st, 7, rfl_json_string_or (rec->doc, "retention_until", NULL));
  rfl_bind_text (st, 8, clocks);
  rfl_bind_text (st, 9, rec->owner);
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "merging a record");
  rec->rowid = sqlite3_last_insert_rowid (self->db);
  if (!rfl_store_put_hash (self, rec->rowid, rec->owner, rhash, error))
    return FALSE;
  return rec->cl % 2 == 0 || rfl_store_index_record (self, rec->rowid, rec->doc, error);
}

/**
 * rfl_merge_stats_add:
 *
 * Adds what @more counted to @sum, with the refused operations it names.
 */
void
rfl_merge_stats_add (RflMergeStats       *sum,
                     const RflMergeStats *more)
{
  sum->applied += more->applied;
  sum->skipped += more->skipped;
  sum->conflicts += more->conflicts;
  sum->refused += more->refused;
  sum->clamped += more->clamped;
  for (guint i = 0; i < more->n_named && sum->n_named < RFL_MERGE_REFUSED_NAMED; i++)
    g_strlcpy (sum->named[sum->n_named++], more->named[i], sizeof sum->named[0]);
}

static void
note_refused (RflMergeStats *stats,
              const char    *id)
{
  stats->refused++;
  if (stats->n_named < RFL_MERGE_REFUSED_NAMED)
    g_strlcpy (stats->named[stats->n_named++], id, sizeof stats->named[0]);
}

/* A record that arrives by sync meets the schema as one typed here does:
 * a real id, its type unchanged, its fields, a status of its lifecycle.
 * Transitions are not checked again: concurrent edits merged field by
 * field can join two allowed changes into a step no one took. */
gboolean
rfl_merge_check_record (RflStore            *self,
                        const char          *id,
                        const RflRecordRow  *rec,
                        GError             **error)
{
  g_autoptr(GError) local = NULL;
  const char *doc_id = rfl_json_string_or (rec->doc, "id", NULL);
  const char *doc_type = rfl_json_string_or (rec->doc, "type", NULL);

  if (!g_uuid_string_is_valid (id) || (doc_id != NULL && g_strcmp0 (doc_id, id) != 0))
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID, _("the record id is not valid"));
      return FALSE;
    }
  if (g_strcmp0 (doc_type, rec->type) != 0)
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID, _("a record cannot change type"));
      return FALSE;
    }
  if (!rfl_schema_validate (self->schema, rec->doc, &local))
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID, "%s", local->message);
      return FALSE;
    }
  return TRUE;
}

/* Whether @status, set at @clock, is a closing old enough to purge: a
 * status the schema retains, set at least this store's retention period
 * ago. The clock, not a date the sender states, decides: a closing dated
 * back loses to any later status change. */
static gboolean
closing_expired (RflStore   *self,
                 const char *type,
                 const char *status,
                 JsonArray  *clock)
{
  gint64 closed_ms, until_ms;

  if (clock == NULL || !rfl_schema_is_retained_status (self->schema, type, status))
    return FALSE;
  closed_ms = (gint64) ((guint64) json_array_get_int_element (clock, 0) >> 16);
  until_ms = closed_ms + (gint64) g_atomic_int_get (&self->retention_days) * 86400000;
  if (self->today != NULL)
    {
      /* A calendar fixed for tests: the day after the retention ends. */
      g_autoptr(GDateTime) until = g_date_time_new_from_unix_utc (until_ms / 1000);
      g_autofree char *until_text = until != NULL ? g_date_time_format (until, "%Y-%m-%d") : NULL;

      return until_text != NULL && strcmp (until_text, self->today) < 0;
    }
  return until_ms < rfl_now_ms ();
}

/* Whether retention allows the purge @op of @rec here: the record was
 * closed at least the retention period ago, by the latest status change
 * this store knows or the one the purge carries (as an update would win,
 * by its clock); or it is a note about a record purged or so closed. */
static gboolean
purge_allowed (RflStore           *self,
               const RflRecordRow *rec,
               JsonObject         *changes)
{
  const char *status = rfl_json_string_or (rec->doc, "status", NULL);
  JsonArray *clock = rfl_clocks_lookup (rec->clocks, "status");
  JsonNode *theirs = json_object_get_member (changes, "$status_clock");

  if (g_strcmp0 (rec->type, "note") == 0)
    {
      const char *about = rfl_json_string_or (rec->doc, "record", NULL);
      g_auto(RflRecordRow) case_rec = { 0 };

      if (about == NULL || !rfl_store_load_record (self, about, RFL_LOAD_ANY | RFL_LOAD_CLOCKS, &case_rec, NULL))
        return FALSE;
      return case_rec.doc == NULL ||
             closing_expired (self, case_rec.type,
                              rfl_json_string_or (case_rec.doc, "status", NULL),
                              rfl_clocks_lookup (case_rec.clocks, "status"));
    }
  if (rfl_clock_is_valid (theirs) && json_object_has_member (changes, "$status") &&
      json_node_get_value_type (json_object_get_member (changes, "$status")) == G_TYPE_STRING &&
      rfl_clock_compare (json_node_get_array (theirs), clock) > 0)
    {
      status = json_object_get_string_member (changes, "$status");
      clock = json_node_get_array (theirs);
    }
  return closing_expired (self, rec->type, status, clock);
}

/* A snapshot carries all of a record, for an office that gains it by a share. */
static gboolean
journal_snapshot (RflStore    *self,
                  const char  *id,
                  GError     **error)
{
  g_auto(RflRecordRow) rec = { 0 };
  g_autoptr(JsonObject) changes = NULL;
  g_autofree char *text = NULL, *clocks = NULL;
  RflJournalEntry entry = { 0 };

  if (!rfl_store_load_record (self, id, RFL_LOAD_ANY | RFL_LOAD_CLOCKS, &rec, error) || rec.doc == NULL)
    return error == NULL || *error == NULL;
  changes = json_object_ref (rec.doc);
  json_object_set_array_member (changes, RFL_OP_C_SHARES, rfl_merge_shares_of (self, rec.rowid));
  if (rec.owner != NULL)
    json_object_set_string_member (changes, RFL_OP_C_OWNER, rec.owner);
  text = rfl_doc_to_string (changes);
  clocks = rfl_doc_to_string (rec.clocks);
  entry.record_id = id;
  entry.record_row = rec.rowid;
  entry.op = rfl_op_name (RFL_OP_SNAPSHOT);
  entry.hlc = rfl_store_hlc_tick (self);
  entry.device = self->device_id;
  entry.changes = text;
  entry.clocks = clocks;
  entry.cl = rec.cl;
  return rfl_store_journal_write (self, &entry, error);
}

/* A purge of a record this store never had: the purging device created it
 * and closed it, and the purge took those edits out of its journal before
 * they were sent. The record is kept as the same tombstone as everywhere
 * else (id, causal length, no content, no clocks), so that the states
 * agree and the record can never arrive later. HQ checks the closing the
 * purge carries, as for any purge. */
static gboolean
purge_unknown (RflStore        *self,
               const ApplyCtx  *ctx,
               const char      *id,
               JsonObject      *op,
               GError         **error)
{
  JsonObject *c = json_object_get_object_member (op, RFL_OP_KEY_CHANGES);
  const char *type = rfl_json_string_or (c, "$type", NULL);
  const char *status = rfl_json_string_or (c, "$status", NULL);
  JsonNode *clock = json_object_get_member (c, "$status_clock");
  gint64 cl = rfl_json_int_or (op, RFL_OP_KEY_LENGTH, 1);
  g_autoptr(JsonObject) no_clocks = json_object_new ();
  g_autofree char *changes = rfl_doc_to_string (c);
  g_autofree char *owner = NULL;
  guint8 rhash[RFL_RECORD_HASH_BYTES];
  sqlite3_stmt *st;
  sqlite3_int64 rowid;
  RflJournalEntry entry = {
    .record_id = id, .op = rfl_op_name (RFL_OP_PURGE), .hlc = (guint64) json_object_get_int_member (op, RFL_OP_KEY_HLC),
    .device = json_object_get_string_member (op, RFL_OP_KEY_DEVICE), .changes = changes, .cl = cl, .origin = ctx->peer,
  };

  if (type == NULL || !rfl_schema_has_record_type (self->schema, type) || !g_uuid_string_is_valid (id))
    {
      ctx->stats->skipped++;
      return TRUE;
    }
  if (ctx->role == RFL_MERGE_HUB &&
      !closing_expired (self, type, status, rfl_clock_is_valid (clock) ? json_node_get_array (clock) : NULL))
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                           _("only a closed record past its retention date may be purged"));
      return FALSE;
    }
  owner = ctx->role == RFL_MERGE_HUB ? g_strdup (ctx->office)
                                     : g_strdup (rfl_json_string_or (c, RFL_OP_C_OWNER, NULL));
  rfl_record_hash_objects (id, cl, NULL, no_clocks, rhash);
  if ((st = rfl_store_stmt (self, "INSERT INTO records (id, type, status, doc, created_at, updated_at, cl,"
                                  " retention_until, clocks, owner) VALUES (?1, ?2, NULL, NULL, ?3, ?3, ?4,"
                                  " NULL, '{}', ?5)", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, id);
  rfl_bind_text (st, 2, type);
  sqlite3_bind_int64 (st, 3, rfl_now_ms ());
  sqlite3_bind_int64 (st, 4, cl);
  rfl_bind_text (st, 5, owner);
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "keeping a purged record");
  rowid = sqlite3_last_insert_rowid (self->db);
  if (!rfl_store_put_hash (self, rowid, owner, rhash, error) || !rfl_merge_add_shares_from (self, rowid, c, error))
    return FALSE;
  entry.record_row = rowid;
  ctx->stats->applied++;
  return rfl_store_journal_write (self, &entry, error);
}

static gboolean
refuse_delete (RflStore        *self,
               const ApplyCtx  *ctx,
               RflRecordRow    *rec,
               gint64           cl,
               GError         **error)
{
  g_autofree char *changes = g_strdup_printf ("{\"$cl\":%" G_GINT64_FORMAT "}", cl + 1);
  g_autofree char *detail = g_strdup_printf ("%s: deleting an open case it did not register", ctx->peer);
  RflJournalEntry entry = {
    .record_id = rec->id, .record_row = rec->rowid, .op = rfl_op_name (RFL_OP_DELETE), .hlc = rfl_store_hlc_tick (self),
    .device = self->device_id, .changes = changes, .cl = cl + 1,
  };

  note_refused (ctx->stats, rec->id);
  rec->cl = cl + 1;
  return rfl_merge_save_record (self, rec, TRUE, NULL, error) &&
         rfl_store_journal_write (self, &entry, error) &&
         rfl_store_audit_append (self, "refused", rec->id, detail, error);
}

/* An operation about a record outside the sender's office: refused and
 * audited, and the rest of the bundle applies. */
RflOpOutcome
rfl_merge_refuse_out_of_scope (RflStore    *self,
                               RflOpApply  *a,
                               GError     **error)
{
  note_refused (a->ctx->stats, a->id);
  if (!rfl_store_audit_append (self, "refused", a->id, a->ctx->peer, error))
    return RFL_OP_FAILED;
  return RFL_OP_DONE;
}

RflOpOutcome
rfl_merge_delete (RflStore    *self,
                  RflOpApply  *a,
                  GError     **error)
{
  RflRecordRow *rec = a->rec;
  JsonNode *cl_node = json_object_get_member (a->c, RFL_OP_C_CL);
  gboolean was_alive = rec->cl % 2 == 1 && rec->doc != NULL;
  gint64 cl;

  if (cl_node == NULL || json_node_get_value_type (cl_node) != G_TYPE_INT64 ||
      (cl = json_node_get_int (cl_node)) < 1 || cl > RFL_MAX_CAUSAL_LENGTH)
    return rfl_op_malformed (error);
  if (cl <= rec->cl)
    return RFL_OP_KNOWN;
  /* From a device, a delete is the next, even length: one that skips
   * ahead, or brings a record back (odd), is HQ's alone to write. */
  if (a->ctx->role == RFL_MERGE_HUB && (cl != rec->cl + 1 || cl % 2 == 1))
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                           _("a delete must follow the record's causal length"));
      return RFL_OP_FAILED;
    }
  /* An open case deleted by a device that did not register it: HQ refuses,
   * and brings the record back on the deleting device too (a causal length
   * past the delete's), so that every replica agrees. */
  if (a->ctx->role == RFL_MERGE_HUB && cl % 2 == 0 && was_alive &&
      !rfl_store_may_delete (self, rec->rowid, rec->type,
                             rfl_json_string_or (rec->doc, "status", NULL), a->device))
    return refuse_delete (self, a->ctx, rec, cl, error) ? RFL_OP_DONE : RFL_OP_FAILED;
  rec->cl = cl;
  return rfl_merge_save_record (self, rec, was_alive, NULL, error) ? RFL_OP_APPLIED : RFL_OP_FAILED;
}

RflOpOutcome
rfl_merge_purge (RflStore    *self,
                 RflOpApply  *a,
                 GError     **error)
{
  RflRecordRow *rec = a->rec;

  if (rec->doc == NULL)
    return RFL_OP_KNOWN;
  /* HQ checks what retention allows before it applies or relays a purge: a
   * record closed long enough ago, or a note about one. */
  if (a->ctx->role == RFL_MERGE_HUB && !purge_allowed (self, rec, a->c))
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                           _("only a closed record past its retention date may be purged"));
      return RFL_OP_FAILED;
    }
  /* The offices it was shared with: a share made before the purge travels
   * on its own, but a receiver that never had the record skipped it. */
  if (!rfl_store_purge_content (self, a->id, rec->rowid, error) ||
      !rfl_merge_add_shares_from (self, rec->rowid, a->c, error))
    return RFL_OP_FAILED;
  return RFL_OP_APPLIED;
}

RflOpOutcome
rfl_merge_purge_unknown (RflStore    *self,
                         RflOpApply  *a,
                         GError     **error)
{
  return purge_unknown (self, a->ctx, a->id, a->op, error) ? RFL_OP_DONE : RFL_OP_FAILED;
}

RflOpOutcome
rfl_merge_share (RflStore    *self,
                 RflOpApply  *a,
                 GError     **error)
{
  const char *office = rfl_json_string_or (a->c, RFL_OP_C_SHARE, NULL);
  gboolean added = FALSE;

  if (office == NULL || *office == '\0')
    return rfl_op_malformed (error);
  if (!rfl_store_add_share (self, a->rec->rowid, office, &added, error))
    return RFL_OP_FAILED;
  if (!added)
    return RFL_OP_KNOWN;
  /* The office gaining the record needs all of it, not just what changes next. */
  if (a->ctx->role == RFL_MERGE_HUB && !journal_snapshot (self, a->id, error))
    return RFL_OP_FAILED;
  return RFL_OP_APPLIED;
}

RflOpOutcome
rfl_merge_conflict (RflStore    *self,
                    RflOpApply  *a,
                    GError     **error)
{
  JsonNode *node = json_object_get_member (a->c, RFL_OP_C_CONFLICT);
  JsonObject *conflict;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return rfl_op_malformed (error);
  conflict = json_node_get_object (node);
  if (rfl_json_string_or (conflict, "id", NULL) == NULL ||
      rfl_json_string_or (conflict, "field", NULL) == NULL ||
      !json_object_has_member (conflict, "winner") || !json_object_has_member (conflict, "loser") ||
      !JSON_NODE_HOLDS_OBJECT (json_object_get_member (conflict, "winner")) ||
      !JSON_NODE_HOLDS_OBJECT (json_object_get_member (conflict, "loser")))
    return rfl_op_malformed (error);
  /* A purged record keeps no conflicts: their values are its content. */
  if (a->rec->doc == NULL)
    return RFL_OP_KNOWN;
  a->ctx->stats->applied++;
  if (!rfl_store_write_conflict (self, a->id, a->rec->rowid, conflict, a->ctx->peer, a->hlc, a->device,
                                 error))
    return RFL_OP_FAILED;
  return RFL_OP_DONE;
}

RflOpOutcome
rfl_merge_resolve (RflStore    *self,
                   RflOpApply  *a,
                   GError     **error)
{
  const char *conflict = rfl_json_string_or (a->c, RFL_OP_C_CONFLICT, NULL);
  const char *choice = rfl_json_string_or (a->c, RFL_OP_C_CHOICE, NULL);
  g_autofree char *clock_text = NULL;
  sqlite3_stmt *st;

  if (conflict == NULL || (g_strcmp0 (choice, "keep") != 0 && g_strcmp0 (choice, "take") != 0))
    return rfl_op_malformed (error);
  clock_text = g_strdup_printf ("[%" G_GUINT64_FORMAT ",\"%s\"]", a->hlc, a->device);
  /* Last resolution wins, as for fields. */
  if ((st = rfl_store_stmt (self, "UPDATE conflicts SET resolution = ?2, resolved_clock = ?3"
                                  " WHERE id = ?1 AND record_row = ?4 AND (resolved_clock IS NULL"
                                  "   OR resolved_clock ->> '$[0]' < ?5"
                                  "   OR (resolved_clock ->> '$[0]' = ?5 AND resolved_clock ->> '$[1]' < ?6))",
                            error)) == NULL)
    return RFL_OP_FAILED;
  rfl_bind_text (st, 1, conflict);
  rfl_bind_text (st, 2, choice);
  rfl_bind_text (st, 3, clock_text);
  sqlite3_bind_int64 (st, 4, a->rec->rowid);
  sqlite3_bind_int64 (st, 5, (sqlite3_int64) a->hlc);
  rfl_bind_text (st, 6, a->device);
  if (sqlite3_step (st) != SQLITE_DONE)
    {
      rfl_store_sql_fail (self, error, "resolving a conflict");
      return RFL_OP_FAILED;
    }
  return sqlite3_changes (self->db) == 0 ? RFL_OP_KNOWN : RFL_OP_APPLIED;
}

/* At HQ, a device speaks only for itself, only with the kinds a device may
 * send, and with a clock no further ahead than HQ allows (clamped, and the
 * original kept as "$was"). */
static gboolean
check_sender (RflStore    *self,
              RflOpApply  *a,
              GError     **error)
{
  guint64 limit = (guint64) (rfl_now_ms () + RFL_MERGE_MAX_SKEW_MS) << 16;

  if (g_strcmp0 (a->device, a->ctx->peer) != 0 || !a->info->device_may_send)
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                           _("a bundle holds an operation its sender may not make"));
      return FALSE;
    }
  if (a->hlc > limit)
    {
      json_object_set_int_member (a->c, RFL_OP_C_WAS, (gint64) a->hlc);
      a->hlc = limit;
      a->ctx->stats->clamped++;
      if (!rfl_store_audit_append (self, "clock-clamped", a->id, a->device, error))
        return FALSE;
    }
  return TRUE;
}

/* What a device may do to a record of @type, beyond its scope. HQ alone
 * writes the proposals it tells offices of (rfl-office-matches.c): a
 * device may say its office is interested, and delete its own; it may not
 * make one, change what HQ wrote, or share one with another office. */
gboolean
rfl_merge_device_may_write (RflOpApply *a,
                            const char *type)
{
  static const char * const interest[] = { "interested", "interest_reason", "interest_by", NULL };
  JsonObjectIter iter;
  const char *field;

  if (g_strcmp0 (type, "office_match") != 0)
    return TRUE;
  if (a->info->kind == RFL_OP_DELETE)
    return TRUE;
  if (a->info->kind != RFL_OP_UPDATE)
    return FALSE;
  json_object_iter_init (&iter, a->c);
  while (json_object_iter_next (&iter, &field, NULL))
    if (field[0] != '$' && !g_strv_contains (interest, field))
      return FALSE;
  return TRUE;
}

/* Runs the handler the op table names for @a's kind, with the record
 * loaded into @rec when the kind needs one. */
static RflOpOutcome
dispatch (RflStore      *self,
          RflOpApply    *a,
          RflRecordRow  *rec,
          GError       **error)
{
  if (!a->info->needs_record)
    return a->info->apply (self, a, error);
  if (!rfl_store_load_record (self, a->id, RFL_LOAD_ANY | RFL_LOAD_CLOCKS, rec, error))
    {
      if (error != NULL && *error != NULL)
        return RFL_OP_FAILED;
      if (a->ctx->role == RFL_MERGE_HUB && !rfl_merge_device_may_write (a, rfl_json_string_or (a->c, "type", NULL)))
        return rfl_merge_refuse_out_of_scope (self, a, error);
      return a->info->absent != NULL ? a->info->absent (self, a, error) : RFL_OP_KNOWN;
    }
  if (a->ctx->role == RFL_MERGE_HUB &&
      (!rfl_merge_in_scope (self, rec->rowid, rec->owner, a->ctx->office) || !rfl_merge_device_may_write (a, rec->type)))
    return rfl_merge_refuse_out_of_scope (self, a, error);
  a->rec = rec;
  return a->info->apply (self, a, error);
}

static gboolean
apply_op (RflStore        *self,
          const ApplyCtx  *ctx,
          JsonObject      *op,
          GError         **error)
{
  g_autoptr(JsonArray) clock = NULL;
  g_auto(RflRecordRow) rec = { 0 };
  RflOpApply a = {
    .ctx = ctx,
    .info = rfl_op_lookup (json_object_get_string_member (op, RFL_OP_KEY_KIND)),
    .op = op,
    .id = json_object_get_string_member (op, RFL_OP_KEY_RECORD),
    .device = json_object_get_string_member (op, RFL_OP_KEY_DEVICE),
    .c = json_object_get_object_member (op, RFL_OP_KEY_CHANGES),
    .hlc = (guint64) json_object_get_int_member (op, RFL_OP_KEY_HLC),
  };
  RflJournalEntry entry = { 0 };
  g_autofree char *changes = NULL;
  gint64 cl;

  g_assert (a.info != NULL);   /* rfl_op_check() ran first */
  if (ctx->role == RFL_MERGE_HUB && !check_sender (self, &a, error))
    return FALSE;
  if (a.hlc > self->hlc)
    self->hlc = a.hlc;
  a.clock = clock = rfl_clock_new (a.hlc, a.device);

  switch (dispatch (self, &a, &rec, error))
    {
    case RFL_OP_FAILED:
      return FALSE;
    case RFL_OP_KNOWN:
      ctx->stats->skipped++;
      return TRUE;
    case RFL_OP_DONE:
      return TRUE;
    case RFL_OP_APPLIED:
      break;
    default:
      g_assert_not_reached ();
    }

  /* The handler changed the record: the operation is journalled as it came. */
  g_assert (a.rec != NULL);
  cl = a.rec->cl;
  changes = rfl_doc_to_string (a.c);
  entry.record_id = a.id;
  entry.record_row = a.rec->rowid;
  entry.op = a.info->name;
  entry.hlc = a.hlc;
  entry.device = a.device;
  entry.changes = changes;
  entry.cl = cl;
  entry.origin = ctx->peer;
  ctx->stats->applied++;
  return rfl_store_journal_write (self, &entry, error);
}

/* Whether @seq_from is the next bundle expected from @peer. */
gboolean
rfl_merge_check_next (RflStore    *self,
                      const char  *peer,
                      guint64      seq_from,
                      GError     **error)
{
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "SELECT in_next FROM peers WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, peer);
  if (sqlite3_step (st) != SQLITE_ROW)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND, _("no peer %s"), peer);
      return FALSE;
    }
  if ((guint64) sqlite3_column_int64 (st, 0) != seq_from)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION,
                   _("bundle %llu is not the next from %s"), (unsigned long long) seq_from, peer);
      return FALSE;
    }
  return TRUE;
}

/* A savepoint statement, prepared once: a bundle runs three per operation. */
gboolean
rfl_merge_savepoint (RflStore    *self,
                     const char  *sql)
{
  sqlite3_stmt *st = rfl_store_stmt (self, sql, NULL);

  return st != NULL && sqlite3_step (st) == SQLITE_DONE;
}

/* Each operation in a savepoint: one that is not valid (the schema, the
 * sender's rights) is undone, audited and named, and the rest apply.
 *
 * Unless @careful is FALSE: then the operation applies without one, and
 * an operation that is not valid fails the batch with
 * RFL_STORE_ERROR_INVALID, for the caller to run it again with savepoints.
 * Savepoints were a fifth of a merge's time, and a bundle of valid
 * operations is the rule. */
gboolean
rfl_merge_apply_one (RflStore    *self,
                     ApplyCtx    *ctx,
                     JsonObject  *op,
                     gboolean     careful,
                     GError     **error)
{
  g_autoptr(GError) local = NULL;
  g_autofree char *detail = NULL;

  if (!careful)
    return apply_op (self, ctx, op, error);
  if (!rfl_merge_savepoint (self, "SAVEPOINT rfl_op"))
    return rfl_store_sql_fail (self, error, "applying an operation");
  if (!apply_op (self, ctx, op, &local))
    {
      if (!g_error_matches (local, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID) ||
          !rfl_merge_savepoint (self, "ROLLBACK TO rfl_op"))
        {
          if (local != NULL)
            g_propagate_error (error, g_steal_pointer (&local));
          else
            rfl_store_sql_fail (self, error, "applying an operation");
          return FALSE;
        }
      note_refused (ctx->stats, json_object_get_string_member (op, RFL_OP_KEY_RECORD));
      detail = g_strdup_printf ("from %s: %s", ctx->peer, local->message);
      if (!rfl_store_audit_append (self, "refused", json_object_get_string_member (op, RFL_OP_KEY_RECORD), detail, error))
        return FALSE;
    }
  if (!rfl_merge_savepoint (self, "RELEASE rfl_op"))
    return rfl_store_sql_fail (self, error, "applying an operation");
  return TRUE;
}
