/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Conflicts and the local operations that only sync has: a conflict is
 * stored and journalled so that every replica shows it; sharing a record
 * with another office and resolving a conflict are written here and sent
 * as operations like any change. */
#define G_LOG_DOMAIN "rfl-store"

#include "rfl-store-private.h"
#include "rfl-op.h"
#include "rfl-json.h"
#include "rfl-store-sync.h"

#include <sodium.h>
#include <string.h>
#include <glib/gi18n-lib.h>

static JsonObject *
conflict_side (JsonNode  *value,
               JsonArray *clock)
{
  JsonObject *side = json_object_new ();

  json_object_set_member (side, "value", value != NULL ? json_node_copy (value) : json_node_new (JSON_NODE_NULL));
  json_object_set_array_member (side, "clock", json_array_ref (clock));
  return side;
}

/* Stores a conflict and journals it, so that it reaches every replica of the record. */
gboolean
rfl_store_write_conflict (RflStore       *self,
                          const char     *record_id,
                          sqlite3_int64   rowid,
                          JsonObject     *conflict,
                          const char     *origin,
                          guint64         hlc,
                          const char     *device,
                          GError        **error)
{
  g_autoptr(JsonObject) changes = json_object_new ();
  g_autofree char *winner = NULL, *loser = NULL, *text = NULL;
  RflJournalEntry entry = { 0 };
  sqlite3_stmt *st;

  winner = rfl_doc_to_string (json_object_get_object_member (conflict, "winner"));
  loser = rfl_doc_to_string (json_object_get_object_member (conflict, "loser"));
  if ((st = rfl_store_stmt (self, "INSERT OR IGNORE INTO conflicts (id, record_id, record_row, field,"
                                  " winner, loser, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                            error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, json_object_get_string_member (conflict, "id"));
  rfl_bind_text (st, 2, record_id);
  sqlite3_bind_int64 (st, 3, rowid);
  rfl_bind_text (st, 4, json_object_get_string_member (conflict, "field"));
  rfl_bind_text (st, 5, winner);
  rfl_bind_text (st, 6, loser);
  sqlite3_bind_int64 (st, 7, rfl_now_ms ());
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "recording a conflict");
  if (sqlite3_changes (self->db) == 0)
    return TRUE;

  json_object_set_object_member (changes, "$conflict", json_object_ref (conflict));
  text = rfl_doc_to_string (changes);
  entry.record_id = record_id;
  entry.record_row = rowid;
  entry.op = rfl_op_name (RFL_OP_CONFLICT);
  entry.hlc = hlc;
  entry.device = device;
  entry.changes = text;
  entry.origin = origin;
  return rfl_store_journal_write (self, &entry, error) &&
         rfl_store_audit_append (self, "conflict", record_id, json_object_get_string_member (conflict, "field"), error);
}

gboolean
rfl_store_record_conflict (RflStore      *self,
                           const char    *record_id,
                           RflRecordRow  *rec,
                           const char    *field,
                           JsonNode      *win_value,
                           JsonArray     *win_clock,
                           JsonNode      *lose_value,
                           JsonArray     *lose_clock,
                           GError       **error)
{
  g_autoptr(JsonObject) conflict = json_object_new ();
  g_autofree char *id = g_uuid_string_random ();

  json_object_set_string_member (conflict, "id", id);
  json_object_set_string_member (conflict, "field", field);
  json_object_set_object_member (conflict, "winner", conflict_side (win_value, win_clock));
  json_object_set_object_member (conflict, "loser", conflict_side (lose_value, lose_clock));
  return rfl_store_write_conflict (self, record_id, rec->rowid, conflict, NULL,
                         rfl_store_hlc_tick (self), self->device_id, error);
}

/* Local operations that only sync has. */

typedef struct
{
  const char *id;
  const char *office;
} ShareArgs;

static gboolean
share_locked (RflStore  *self,
              gpointer   data,
              GError   **error)
{
  const ShareArgs *args = data;
  const char *id = args->id, *office = args->office;
  g_auto(RflRecordRow) rec = { 0 };
  g_autoptr(JsonObject) changes = json_object_new ();
  g_autofree char *text = NULL;
  gboolean added = FALSE;
  RflJournalEntry entry = { 0 };

  if (!rfl_store_load_record (self, id, RFL_LOAD_ANY | RFL_LOAD_CLOCKS, &rec, error))
    {
      if (error == NULL || *error == NULL)
        g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND, _("no record with id %s"), id);
      return FALSE;
    }
  if (rec.doc == NULL || rec.cl % 2 == 0)
    {
      if (rec.doc == NULL)
        g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND, _("record %s was purged"), id);
      else
        g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND, _("record %s was deleted"), id);
      return FALSE;
    }
  /* What HQ told this office is for this office: its interest, and its
   * reasons, stay here. */
  if (g_strcmp0 (rec.type, "office_match") == 0)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                   _("%s is a proposal from another office: it is not shared; share the case instead"), id);
      return FALSE;
    }
  /* A case goes to another office only as far as the person agreed. */
  if (json_object_has_member (rec.doc, "consent") &&
      JSON_NODE_HOLDS_OBJECT (json_object_get_member (rec.doc, "consent")) &&
      !rfl_json_bool_or (json_object_get_object_member (rec.doc, "consent"), "share_within_movement", FALSE))
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                   _("not shared: case %s does not record consent to sharing within the Movement"), id);
      return FALSE;
    }
  if (!rfl_store_add_share (self, rec.rowid, office, &added, error))
    return FALSE;
  if (!added)
    return TRUE;
  json_object_set_string_member (changes, "$share", office);
  text = rfl_doc_to_string (changes);
  entry.record_id = id;
  entry.record_row = rec.rowid;
  entry.op = rfl_op_name (RFL_OP_SHARE);
  entry.hlc = rfl_store_hlc_tick (self);
  entry.device = self->device_id;
  entry.changes = text;
  entry.cl = rec.cl;
  return rfl_store_journal_write (self, &entry, error) &&
         rfl_store_audit_append (self, "share", id, office, error);
}

/**
 * rfl_store_share:
 * @id: a record
 * @office: the office that gains it
 *
 * Shares a case with another office, as a transfer between National
 * Societies would. HQ then sends the whole record to that office's devices.
 */
gboolean
rfl_store_share (RflStore    *self,
                 const char  *id,
                 const char  *office,
                 GError     **error)
{
  ShareArgs args = { id, office };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  if (office == NULL || *office == '\0' || strlen (office) > 200)
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID, _("an office name is needed"));
      return FALSE;
    }
  return rfl_store_write (self, share_locked, &args, error);
}

static JsonObject *
conflict_from_row (sqlite3_stmt *st)
{
  JsonObject *out = json_object_new ();
  JsonObject *side;

  json_object_set_string_member (out, "id", (const char *) sqlite3_column_text (st, 0));
  json_object_set_string_member (out, "record_id", (const char *) sqlite3_column_text (st, 1));
  json_object_set_string_member (out, "field", (const char *) sqlite3_column_text (st, 2));
  if ((side = rfl_parse_doc ((const char *) sqlite3_column_text (st, 3))) != NULL)
    json_object_set_object_member (out, "winner", side);
  if ((side = rfl_parse_doc ((const char *) sqlite3_column_text (st, 4))) != NULL)
    json_object_set_object_member (out, "loser", side);
  if (sqlite3_column_type (st, 5) != SQLITE_NULL)
    json_object_set_string_member (out, "resolution", (const char *) sqlite3_column_text (st, 5));
  return out;
}

typedef struct
{
  gboolean   include_resolved;
  GPtrArray *out;
} ListConflictsArgs;

static gboolean
list_conflicts_locked (RflStore  *self,
                       gpointer   data,
                       GError   **error)
{
  ListConflictsArgs *args = data;
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  sqlite3_stmt *st;
  int rc;

  if ((st = rfl_store_stmt (self, "SELECT id, record_id, field, winner, loser, resolution FROM conflicts"
                                  " WHERE ?1 OR resolution IS NULL ORDER BY created_at, id", error)) == NULL)
    return FALSE;
  sqlite3_bind_int (st, 1, args->include_resolved);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (out, conflict_from_row (st));
  if (rc != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "reading conflicts");
  args->out = g_steal_pointer (&out);
  return TRUE;
}

/**
 * rfl_store_list_conflicts:
 *
 * Returns: (transfer full) (element-type JsonObject): conflicts, oldest first
 */
GPtrArray *
rfl_store_list_conflicts (RflStore  *self,
                          gboolean   include_resolved,
                          GError   **error)
{
  ListConflictsArgs args = { include_resolved, NULL };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  if (!rfl_store_read (self, list_conflicts_locked, &args, error))
    return NULL;
  return args.out;
}

typedef struct
{
  const char *conflict_id;
  gboolean    take;
} ResolveArgs;

static gboolean
resolve_locked (RflStore  *self,
                gpointer   data,
                GError   **error)
{
  const ResolveArgs *args = data;
  const char *conflict_id = args->conflict_id;
  gboolean take = args->take;
  g_autoptr(JsonObject) conflict = NULL, changes = json_object_new ();
  g_autofree char *record_id = NULL, *text = NULL, *clock = NULL;
  sqlite3_int64 rowid;
  RflJournalEntry entry = { 0 };
  sqlite3_stmt *st;
  guint64 hlc;

  if ((st = rfl_store_stmt (self, "SELECT id, record_id, field, winner, loser, resolution, record_row"
                                  " FROM conflicts WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, conflict_id);
  if (sqlite3_step (st) != SQLITE_ROW)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND, _("no conflict with id %s"), conflict_id);
      return FALSE;
    }
  conflict = conflict_from_row (st);
  rowid = sqlite3_column_int64 (st, 6);
  record_id = g_strdup (json_object_get_string_member (conflict, "record_id"));
  if (json_object_has_member (conflict, "resolution"))
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION,
                   _("conflict %s was already settled (%s)"), conflict_id,
                   json_object_get_string_member (conflict, "resolution"));
      return FALSE;
    }

  if (take)
    {
      const char *field = json_object_get_string_member (conflict, "field");
      JsonObject *loser = json_object_get_object_member (conflict, "loser");
      g_autoptr(JsonObject) patch = json_object_new ();

      if (field[0] == '$' || loser == NULL || !json_object_has_member (loser, "value"))
        {
          g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                       _("conflict %s can only be kept: the record was deleted"), conflict_id);
          return FALSE;
        }
      json_object_set_member (patch, field, json_node_copy (json_object_get_member (loser, "value")));
      if (!rfl_store_update_locked (self, record_id, patch, error))
        return FALSE;
    }

  hlc = rfl_store_hlc_tick (self);
  clock = g_strdup_printf ("[%" G_GUINT64_FORMAT ",\"%s\"]", hlc, self->device_id);
  if ((st = rfl_store_stmt (self, "UPDATE conflicts SET resolution = ?2, resolved_clock = ?3 WHERE id = ?1",
                            error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, conflict_id);
  rfl_bind_text (st, 2, take ? "take" : "keep");
  rfl_bind_text (st, 3, clock);
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "resolving a conflict");

  json_object_set_string_member (changes, "$conflict", conflict_id);
  json_object_set_string_member (changes, "$choice", take ? "take" : "keep");
  text = rfl_doc_to_string (changes);
  entry.record_id = record_id;
  entry.record_row = rowid;
  entry.op = rfl_op_name (RFL_OP_RESOLVE);
  entry.hlc = hlc;
  entry.device = self->device_id;
  entry.changes = text;
  entry.cl = 1;
  return rfl_store_journal_write (self, &entry, error) &&
         rfl_store_audit_append (self, "resolve", record_id, take ? "take" : "keep", error);
}

/**
 * rfl_store_resolve_conflict:
 * @conflict_id: a conflict from rfl_store_list_conflicts()
 * @take: %TRUE to take the value that lost, %FALSE to keep the one the
 *   record has
 *
 * Settles a conflict. The resolution, and the value taken, sync like any change.
 */
gboolean
rfl_store_resolve_conflict (RflStore    *self,
                            const char  *conflict_id,
                            gboolean     take,
                            GError     **error)
{
  ResolveArgs args = { conflict_id, take };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (conflict_id != NULL, FALSE);

  return rfl_store_write (self, resolve_locked, &args, error);
}
