/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The connection: the lock every entry point takes, the statement cache,
 * transactions with the audit entries of reads queued until a write, and the
 * "changed" notification a commit queues. rfl_store_read() and
 * rfl_store_write() hold the whole sequence in one place. */
#define G_LOG_DOMAIN "rfl-store"

#include "rfl-store-private.h"
#include "rfl-json.h"

#include <sodium.h>
#include <sqlite3.h>
#include <string.h>
#include <glib/gi18n-lib.h>

/* Errors and statements. */

void
rfl_store_lock (RflStore *self)
{
  g_rec_mutex_lock (&self->lock);
  self->lock_depth++;
}

/* Leaving the store, every statement is reset: one left on a row would keep
 * its read snapshot, so a long-running process (HQ, the app) would go on
 * seeing the database as it was, and fail to write once another process
 * had changed it. */
void
rfl_store_unlock (RflStore *self)
{
  if (--self->lock_depth == 0 && self->db != NULL && sqlite3_get_autocommit (self->db))
    {
      sqlite3_stmt *st = NULL;

      while ((st = sqlite3_next_stmt (self->db, st)) != NULL)
        if (sqlite3_stmt_busy (st))
          sqlite3_reset (st);
    }
  g_rec_mutex_unlock (&self->lock);
}

gboolean
rfl_store_sql_fail (RflStore    *self,
                    GError     **error,
                    const char  *what)
{
  int code = sqlite3_extended_errcode (self->db);

  g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_SQL,
               _("%s: %s (SQLite error %d)"), what, sqlite3_errmsg (self->db), code);
  return FALSE;
}

gboolean
rfl_store_check_open (RflStore  *self,
                      GError   **error)
{
  if (self->db == NULL)
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_CLOSED,
                           _("the case store is locked; unlock it first"));
      return FALSE;
    }
  return TRUE;
}

/* Returns a cached statement for @sql, which must live as long as the
 * process (a string literal, or built once): the cache keys on the pointer. */
sqlite3_stmt *
rfl_store_stmt (RflStore    *self,
                const char  *sql,
                GError     **error)
{
  sqlite3_stmt *st = g_hash_table_lookup (self->statements, sql);

  if (st != NULL)
    {
      sqlite3_reset (st);
      sqlite3_clear_bindings (st);
      return st;
    }
  if (sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK)
    {
      rfl_store_sql_fail (self, error, "preparing a query");
      return NULL;
    }
  g_hash_table_insert (self->statements, (gpointer) sql, st);
  return st;
}

gboolean
rfl_store_exec_sql (RflStore    *self,
                    const char  *sql,
                    GError     **error)
{
  if (sqlite3_exec (self->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return rfl_store_sql_fail (self, error, "running a statement");
  return TRUE;
}

gboolean
rfl_store_begin (RflStore  *self,
                 GError   **error)
{
  if (!rfl_store_exec_sql (self, "BEGIN IMMEDIATE", error))
    return FALSE;
  if (!rfl_store_audit_flush_pending (self, error))
    {
      rfl_store_rollback (self);
      return FALSE;
    }
  return TRUE;
}

/* "changed": one signal for every page that shows what the store holds.
 * SQLite tells which tables a transaction writes; a commit that wrote to
 * any but the audit log and the name index queues one emission in the
 * context the store was opened in, however many commits come before it
 * runs. */

void
rfl_store_update_hook (void          *data,
                       int            op,
                       const char    *database,
                       const char    *table,
                       sqlite3_int64  rowid)
{
  RflStore *self = data;

  /* Derived tables: match proposals are made again from what changed, and
   * a page that shows them asks for them afresh. */
  if (g_str_equal (table, "audit") || g_str_has_prefix (table, "names") || g_str_equal (table, "meta") ||
      g_str_equal (table, "persons") || g_str_equal (table, "proposals") || g_str_equal (table, "match_stale"))
    return;
  self->dirty = TRUE;
}

static gboolean
emit_changed_cb (gpointer data)
{
  g_autoptr(RflStore) self = g_weak_ref_get (data);

  if (self == NULL)
    return G_SOURCE_REMOVE;
  rfl_store_lock (self);
  self->notifying = FALSE;
  rfl_store_unlock (self);
  rfl_store_emit_changed (self);
  return G_SOURCE_REMOVE;
}

static void
weak_ref_free (gpointer data)
{
  g_weak_ref_clear (data);
  g_free (data);
}

static void
queue_changed (RflStore *self)
{
  g_autoptr(GSource) source = NULL;
  GWeakRef *ref;

  if (self->notifying || self->context == NULL)
    return;
  self->notifying = TRUE;
  ref = g_new0 (GWeakRef, 1);
  g_weak_ref_init (ref, self);
  source = g_idle_source_new ();
  g_source_set_priority (source, G_PRIORITY_DEFAULT_IDLE);
  g_source_set_callback (source, emit_changed_cb, ref, weak_ref_free);
  g_source_set_static_name (source, "[reunite] store changed");
  g_source_attach (source, self->context);
}

gboolean
rfl_store_commit (RflStore  *self,
                  GError   **error)
{
  if (!rfl_store_exec_sql (self, "COMMIT", error))
    return FALSE;
  rfl_store_audit_drop_flushed (self);
  if (self->dirty)
    {
      self->dirty = FALSE;
      queue_changed (self);
    }
  return TRUE;
}

/* A read transaction, so that several queries see one state. */
gboolean
rfl_store_begin_read (RflStore  *self,
                      GError   **error)
{
  return rfl_store_exec_sql (self, "BEGIN", error);
}

void
rfl_store_end_read (RflStore *self)
{
  if (!sqlite3_get_autocommit (self->db))
    sqlite3_exec (self->db, "COMMIT", NULL, NULL, NULL);
}

void
rfl_store_rollback (RflStore *self)
{
  self->n_flushing = 0;
  self->dirty = FALSE;
  if (!sqlite3_get_autocommit (self->db))
    sqlite3_exec (self->db, "ROLLBACK", NULL, NULL, NULL);
}

/* The one way in. rfl_store_read() and rfl_store_write() take the lock, check
 * that the store is open, run @func, and leave the store as they found it:
 * a write commits when @func succeeds (with the queued audit entries of
 * reads, see rfl-audit.c) and rolls back when it fails; a read ends any read
 * transaction @func began for a consistent view (rfl_store_begin_read()),
 * unless the caller already held one.
 * A read runs without a transaction of its own, so that it can write its
 * audit entry (rfl_store_audit_read()) before it returns. */
gboolean
rfl_store_read (RflStore      *self,
                RflStoreFunc   func,
                gpointer       data,
                GError       **error)
{
  gboolean outermost, ok = FALSE;

  rfl_store_lock (self);
  if (rfl_store_check_open (self, error))
    {
      /* Called inside another read or a write (a peer's settings while
       * merging, say), the transaction is the caller's to end. */
      outermost = sqlite3_get_autocommit (self->db);
      ok = func (self, data, error);
      if (outermost)
        rfl_store_end_read (self);
    }
  rfl_store_unlock (self);
  return ok;
}

gboolean
rfl_store_write (RflStore      *self,
                 RflStoreFunc   func,
                 gpointer       data,
                 GError       **error)
{
  gboolean ok;

  rfl_store_lock (self);
  ok = rfl_store_check_open (self, error) && rfl_store_begin (self, error);
  if (ok)
    {
      ok = func (self, data, error) && rfl_store_commit (self, error);
      if (!ok)
        rfl_store_rollback (self);
    }
  rfl_store_unlock (self);
  return ok;
}

/* Steps a statement that returns no rows. */
gboolean
rfl_store_run_write (RflStore      *self,
                     sqlite3_stmt  *st,
                     const char    *what,
                     GError       **error)
{
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, what);
  return TRUE;
}

void
rfl_bind_text (sqlite3_stmt *st,
               int           idx,
               const char   *text)
{
  if (text != NULL)
    sqlite3_bind_text (st, idx, text, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null (st, idx);
}

char *
rfl_store_meta_get (RflStore   *self,
                    const char *key)
{
  sqlite3_stmt *st = rfl_store_stmt (self, "SELECT value FROM meta WHERE key = ?1", NULL);

  if (st == NULL)
    return NULL;
  rfl_bind_text (st, 1, key);
  if (sqlite3_step (st) == SQLITE_ROW)
    return g_strdup ((const char *) sqlite3_column_text (st, 0));
  return NULL;
}

gboolean
rfl_store_meta_set (RflStore    *self,
                    const char  *key,
                    const char  *value,
                    GError     **error)
{
  sqlite3_stmt *st = rfl_store_stmt (self, "INSERT INTO meta (key, value) VALUES (?1, ?2)"
                                 " ON CONFLICT (key) DO UPDATE SET value = excluded.value", error);

  if (st == NULL)
    return FALSE;
  rfl_bind_text (st, 1, key);
  rfl_bind_text (st, 2, value);
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "saving a setting");
  return TRUE;
}
