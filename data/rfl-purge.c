/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Retention: a closed case is kept for the configured number of days, then
 * its content is purged here and on every replica, leaving only the id and
 * the fact that it was purged. */
#define G_LOG_DOMAIN "rfl-store"

#include "rfl-store-private.h"
#include "rfl-op.h"
#include "rfl-json.h"

#include <sodium.h>
#include <sqlite3.h>
#include <string.h>
#include <glib/gi18n-lib.h>

static gboolean
set_retention_locked (RflStore  *self,
                      gpointer   data,
                      GError   **error)
{
  const char *text = data;

  return rfl_store_meta_set (self, "retention_days", text, error) &&
         rfl_store_audit_append (self, "retention", NULL, text, error);
}

/**
 * rfl_store_set_retention_days:
 * @days: how long a closed case is kept, 0 to 36,500
 *
 * Sets how long this store keeps a case after it is closed: the retention
 * date of cases closed from now on, and, on HQ, how old a closing must be
 * before HQ applies and relays a purge.
 */
gboolean
rfl_store_set_retention_days (RflStore  *self,
                              gint       days,
                              GError   **error)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  if (days < 0 || days > 36500)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                   _("a retention period is 0 to %d days"), 36500);
      return FALSE;
    }
  text = g_strdup_printf ("%d", days);
  if (!rfl_store_write (self, set_retention_locked, text, error))
    return FALSE;
  g_atomic_int_set (&self->retention_days, days);
  return TRUE;
}

gboolean
rfl_store_purge_content (RflStore       *self,
                         const char     *id,
                         sqlite3_int64   rowid,
                         GError        **error)
{
  sqlite3_stmt *st;

  if (!rfl_store_unindex_record (self, rowid, error))
    return FALSE;

  /* The record keeps its id and causal length as a tombstone, so older
   * changes arriving from elsewhere cannot bring it back; its content goes,
   * and so do its field clocks: replicas that saw different edits before
   * the purge hash the same tombstone. */
  if ((st = rfl_store_stmt (self, "UPDATE records SET doc = NULL, status = NULL, retention_until = NULL,"
                        " clocks = '{}', updated_at = ?2 WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, id);
  sqlite3_bind_int64 (st, 2, rfl_now_ms ());
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "purging a record");

  /* Its conflicts hold values of it too; and a replica that has a conflict
   * the purge kept from another would never agree with it on the state. */
  if ((st = rfl_store_stmt (self, "DELETE FROM conflicts WHERE record_row = ?1", error)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, rowid);
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "purging a record");

  /* Earlier journal entries that carry the record's values keep their place
   * in the sequence and lose their content. Deletes, shares and
   * resolutions carry none, and still travel: the replicas that have not
   * seen them need them to agree on the record's tombstone. */
  if ((st = rfl_store_stmt (self, "UPDATE journal SET changes = NULL, redacted = 1 WHERE record_row = ?1"
                                  " AND op IN ('create', 'update', 'snapshot', 'conflict')", error)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, rowid);
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "purging a record");

  return rfl_store_rehash (self, rowid, error);
}

static gboolean
purge_locked (RflStore       *self,
              const char     *id,
              sqlite3_int64   rowid,
              GError        **error)
{
  g_autoptr(JsonObject) changes = json_object_new ();
  g_autofree char *text = NULL;
  sqlite3_stmt *st;

  /* The purge says why it is allowed: the closing status and its clock.
   * The edits before it leave the journal with the content, so without
   * this a receiver that had not seen the closing could not check it. */
  json_object_set_boolean_member (changes, "$purged", TRUE);
  if ((st = rfl_store_stmt (self, "SELECT doc ->> '$.status', clocks, type FROM records WHERE rowid = ?1", error)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, rowid);
  if (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_type (st, 0) != SQLITE_NULL)
    {
      g_autoptr(JsonObject) clocks = rfl_store_load_clocks (self, rowid, (const char *) sqlite3_column_text (st, 1),
                                                            NULL);
      JsonArray *clock = clocks != NULL ? rfl_clocks_lookup (clocks, "status") : NULL;

      json_object_set_string_member (changes, "$status", (const char *) sqlite3_column_text (st, 0));
      json_object_set_string_member (changes, "$type", (const char *) sqlite3_column_text (st, 2));
      if (clock != NULL)
        json_object_set_array_member (changes, "$status_clock", json_array_ref (clock));
    }
  sqlite3_reset (st);
  /* And the offices it was shared with, so that a receiver that never had
   * the record (created, shared and closed here, then purged before any
   * sync) keeps the same tombstone, shares and all. */
  if ((st = rfl_store_stmt (self, "SELECT office FROM shares WHERE record_row = ?1 ORDER BY office",
                            error)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, rowid);
  {
    JsonArray *shares = json_array_new ();

    while (sqlite3_step (st) == SQLITE_ROW)
      json_array_add_string_element (shares, (const char *) sqlite3_column_text (st, 0));
    if (json_array_get_length (shares) > 0)
      json_object_set_array_member (changes, "$shares", shares);
    else
      json_array_unref (shares);
  }
  sqlite3_reset (st);
  text = rfl_doc_to_string (changes);
  return rfl_store_purge_content (self, id, rowid, error) &&
         rfl_store_journal_append (self, id, rowid, rfl_op_name (RFL_OP_PURGE), 0, text, NULL, 0, error) &&
         rfl_store_audit_append (self, "purge", id, "retention expired", error);
}

static gboolean
purge_expired_locked (RflStore  *self,
                      gpointer   data,
                      GError   **error)
{
  gint64 *purged = data;
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) rowids = g_array_new (FALSE, FALSE, sizeof (sqlite3_int64));
  g_autofree char *now = rfl_store_today (self);
  sqlite3_stmt *st;
  int rc;

  st = rfl_store_stmt (self, "SELECT id, rowid FROM records WHERE retention_until IS NOT NULL"
                       " AND retention_until < ?1 AND doc IS NOT NULL"
                       " UNION SELECT n.id, n.rowid FROM records n JOIN records r"
                       "  ON n.type = 'note' AND n.doc ->> '$.record' = r.id"
                       " WHERE r.retention_until IS NOT NULL AND r.retention_until < ?1"
                       "  AND n.doc IS NOT NULL", error);
  if (st == NULL)
    return FALSE;
  rfl_bind_text (st, 1, now);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      sqlite3_int64 rowid = sqlite3_column_int64 (st, 1);
      g_ptr_array_add (ids, g_strdup ((const char *) sqlite3_column_text (st, 0)));
      g_array_append_val (rowids, rowid);
    }
  sqlite3_reset (st);
  if (rc != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "finding expired records");

  for (guint i = 0; i < ids->len; i++)
    if (!purge_locked (self, g_ptr_array_index (ids, i), g_array_index (rowids, sqlite3_int64, i), error))
      return FALSE;
  *purged = ids->len;
  return TRUE;
}

/**
 * rfl_store_purge_expired:
 * @self: an open store
 * @error: return location for an error
 *
 * Removes the content of every record whose retention date has passed, and
 * of the notes about it, leaving tombstones in the journal.
 *
 * Returns: the number of records purged, or -1 on error
 */
gint64
rfl_store_purge_expired (RflStore  *self,
                         GError   **error)
{
  gint64 purged = 0;

  g_return_val_if_fail (RFL_IS_STORE (self), -1);

  if (!rfl_store_write (self, purge_expired_locked, &purged, error))
    return -1;
  return purged;
}
