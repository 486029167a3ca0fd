/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The audit log: a hash chain over who did what, written in the transaction
 * of the change it records, or queued for a read that could not wait for the
 * write lock; listed and verified from the first entry. */
#define G_LOG_DOMAIN "rfl-store"

#include "rfl-store-private.h"
#include "rfl-json.h"

#include <sodium.h>
#include <sqlite3.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#define READ_AUDIT_WAIT_MS   20

/* Audit log. Each entry's hash covers the previous hash and the entry, so an
 * edited, inserted or deleted row breaks the chain at that point. */

static void
hash_field (crypto_generichash_state *state,
            const char               *text)
{
  guint8 len[4];
  gsize n = text != NULL ? strlen (text) : 0;

  len[0] = n >> 24; len[1] = n >> 16; len[2] = n >> 8; len[3] = n;
  crypto_generichash_update (state, (const guint8 *) (text != NULL ? "s" : "n"), 1);
  crypto_generichash_update (state, len, sizeof len);
  if (n > 0)
    crypto_generichash_update (state, (const guint8 *) text, n);
}

static void
audit_hash (const guint8 *prev,
            gint64        seq,
            gint64        at,
            const char   *actor,
            const char   *action,
            const char   *record_id,
            const char   *detail,
            guint8        out[crypto_generichash_BYTES])
{
  crypto_generichash_state state;
  g_autofree char *numbers = g_strdup_printf ("%" G_GINT64_FORMAT ":%" G_GINT64_FORMAT, seq, at);

  crypto_generichash_init (&state, (const guint8 *) "reunite-audit-v1", 16, crypto_generichash_BYTES);
  crypto_generichash_update (&state, prev, crypto_generichash_BYTES);
  hash_field (&state, numbers);
  hash_field (&state, actor);
  hash_field (&state, action);
  hash_field (&state, record_id);
  hash_field (&state, detail);
  crypto_generichash_final (&state, out, crypto_generichash_BYTES);
}

static gboolean
audit_append_at (RflStore    *self,
                 gint64       at,
                 const char  *action,
                 const char  *record_id,
                 const char  *detail,
                 GError     **error)
{
  guint8 prev[crypto_generichash_BYTES] = { 0 };
  guint8 hash[crypto_generichash_BYTES];
  sqlite3_stmt *st;
  gint64 seq = 1;

  if ((st = rfl_store_stmt (self, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", error)) == NULL)
    return FALSE;
  if (sqlite3_step (st) == SQLITE_ROW)
    {
      seq = sqlite3_column_int64 (st, 0) + 1;
      if (sqlite3_column_bytes (st, 1) == sizeof prev)
        memcpy (prev, sqlite3_column_blob (st, 1), sizeof prev);
    }
  sqlite3_reset (st);

  audit_hash (prev, seq, at, self->actor, action, record_id, detail, hash);

  if ((st = rfl_store_stmt (self, "INSERT INTO audit (seq, at, actor, action, record_id, detail, hash)"
                        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", error)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, seq);
  sqlite3_bind_int64 (st, 2, at);
  rfl_bind_text (st, 3, self->actor);
  rfl_bind_text (st, 4, action);
  rfl_bind_text (st, 5, record_id);
  rfl_bind_text (st, 6, detail);
  sqlite3_bind_blob (st, 7, hash, sizeof hash, SQLITE_STATIC);
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "writing the audit log");

  {
    char head[24];
    g_snprintf (head, sizeof head, "%" G_GINT64_FORMAT, seq);
    return rfl_store_meta_set (self, "audit_head", head, error);
  }
}

typedef struct
{
  gint64  at;
  char   *action;
  char   *record_id;
  char   *detail;
} PendingAudit;

static void
pending_audit_free (PendingAudit *entry)
{
  g_free (entry->action);
  g_free (entry->record_id);
  g_free (entry->detail);
  g_free (entry);
}

/* Every write transaction first writes the audit entries of reads that could
 * not be written when they happened (see audit_now()). They leave the queue
 * only when the transaction commits. */

/* Writes the queued audit entries of reads inside the open transaction. */
gboolean
rfl_store_audit_flush_pending (RflStore  *self,
                               GError   **error)
{
  self->n_flushing = 0;
  for (GList *l = self->pending.head; l != NULL; l = l->next)
    {
      PendingAudit *entry = l->data;

      if (!audit_append_at (self, entry->at, entry->action, entry->record_id, entry->detail, error))
        return FALSE;
      self->n_flushing++;
    }
  return TRUE;
}

/* After a commit: the entries it wrote leave the queue. */
void
rfl_store_audit_drop_flushed (RflStore *self)
{
  for (; self->n_flushing > 0; self->n_flushing--)
    pending_audit_free (g_queue_pop_head (&self->pending));
}

void
rfl_store_audit_clear_pending (RflStore *self)
{
  g_queue_clear_full (&self->pending, (GDestroyNotify) pending_audit_free);
}

gboolean
rfl_store_audit_append (RflStore    *self,
                        const char  *action,
                        const char  *record_id,
                        const char  *detail,
                        GError     **error)
{
  return audit_append_at (self, rfl_now_ms (), action, record_id, detail, error);
}

/*
 * An audit entry on its own, for reads that change nothing else. While another
 * connection (an import, say) holds the write lock, waiting for it would
 * starve reads; the entry is then queued, keeps its time, and is written by
 * this store's next write transaction or when it closes.
 */
gboolean
rfl_store_audit_read (RflStore    *self,
                      const char  *action,
                      const char  *record_id,
                      const char  *detail,
                      GError     **error)
{
  PendingAudit *entry = g_new0 (PendingAudit, 1);
  int rc;

  entry->at = rfl_now_ms ();
  entry->action = g_strdup (action);
  entry->record_id = g_strdup (record_id);
  entry->detail = g_strdup (detail);
  g_queue_push_tail (&self->pending, entry);

  sqlite3_busy_timeout (self->db, READ_AUDIT_WAIT_MS);
  rc = sqlite3_exec (self->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  sqlite3_busy_timeout (self->db, RFL_STORE_BUSY_TIMEOUT_MS);
  if ((rc & 0xff) == SQLITE_BUSY)
    return TRUE;
  if (rc != SQLITE_OK)
    return rfl_store_sql_fail (self, error, "writing the audit log");

  if (!rfl_store_audit_flush_pending (self, error) || !rfl_store_commit (self, error))
    {
      rfl_store_rollback (self);
      return FALSE;
    }
  return TRUE;
}

static gboolean
audit_list_locked (RflStore  *self,
                   gpointer   data,
                   GError   **error)
{
  GPtrArray **result = data;
  g_autoptr(GPtrArray) out = NULL;
  g_autoptr(sqlite3_stmt) st = NULL;
  int rc;

  if (sqlite3_prepare_v2 (self->db, "SELECT seq, at, actor, action, record_id, detail FROM audit"
                                    " ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
    return rfl_store_sql_fail (self, error, "reading the audit log");
  out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      JsonObject *entry = json_object_new ();
      g_autofree char *at = rfl_iso_from_ms (sqlite3_column_int64 (st, 1));

      json_object_set_int_member (entry, "seq", sqlite3_column_int64 (st, 0));
      json_object_set_string_member (entry, "at", at);
      json_object_set_string_member (entry, "actor", (const char *) sqlite3_column_text (st, 2));
      json_object_set_string_member (entry, "action", (const char *) sqlite3_column_text (st, 3));
      if (sqlite3_column_type (st, 4) != SQLITE_NULL)
        json_object_set_string_member (entry, "record_id", (const char *) sqlite3_column_text (st, 4));
      if (sqlite3_column_type (st, 5) != SQLITE_NULL)
        json_object_set_string_member (entry, "detail", (const char *) sqlite3_column_text (st, 5));
      g_ptr_array_add (out, entry);
    }
  if (rc != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "reading the audit log");
  *result = g_steal_pointer (&out);
  return TRUE;
}

/**
 * rfl_store_audit_list:
 *
 * Returns: (transfer full) (element-type JsonObject): every audit entry, oldest first
 */
GPtrArray *
rfl_store_audit_list (RflStore  *self,
                      GError   **error)
{
  GPtrArray *out = NULL;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  if (!rfl_store_read (self, audit_list_locked, &out, error))
    return NULL;
  return out;
}

typedef struct
{
  gint64 first_broken;
  gint64 n_entries;
} VerifyArgs;

static gboolean
audit_verify_locked (RflStore  *self,
                     gpointer   data,
                     GError   **error)
{
  VerifyArgs *args = data;
  guint8 prev[crypto_generichash_BYTES] = { 0 };
  g_autoptr(sqlite3_stmt) st = NULL;
  g_autofree char *head = NULL;
  gint64 expected_seq = 1, head_seq;
  int rc;

  if (sqlite3_prepare_v2 (self->db, "SELECT seq, at, actor, action, record_id, detail, hash"
                                    " FROM audit ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
    return rfl_store_sql_fail (self, error, "reading the audit log");
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      guint8 hash[crypto_generichash_BYTES];
      gint64 seq = sqlite3_column_int64 (st, 0);

      audit_hash (prev, seq, sqlite3_column_int64 (st, 1),
                  (const char *) sqlite3_column_text (st, 2),
                  (const char *) sqlite3_column_text (st, 3),
                  (const char *) sqlite3_column_text (st, 4),
                  (const char *) sqlite3_column_text (st, 5), hash);
      args->n_entries++;
      /* A missing seq means a deleted entry: the chain is broken there too. */
      if (seq != expected_seq || sqlite3_column_bytes (st, 6) != sizeof hash ||
          sodium_memcmp (hash, sqlite3_column_blob (st, 6), sizeof hash) != 0)
        {
          args->first_broken = seq != expected_seq && seq > expected_seq ? expected_seq : seq;
          return TRUE;
        }
      memcpy (prev, hash, sizeof prev);
      expected_seq++;
    }
  if (rc != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "reading the audit log");

  /* The newest entry must be the one this store last wrote: a truncated tail is a break. */
  head = rfl_store_meta_get (self, "audit_head");
  head_seq = head != NULL ? g_ascii_strtoll (head, NULL, 10) : 0;
  if (head_seq > expected_seq - 1)
    args->first_broken = expected_seq;
  return TRUE;
}

/**
 * rfl_store_audit_verify:
 * @self: an open store
 * @first_broken: (out): the seq of the first entry whose hash does not
 *   follow from its predecessor, or 0 if the chain is intact
 * @n_entries: (out) (optional): how many entries were checked
 * @error: return location for an error
 *
 * Returns: %TRUE if the chain could be checked (whatever the outcome)
 */
gboolean
rfl_store_audit_verify (RflStore  *self,
                        gint64    *first_broken,
                        gint64    *n_entries,
                        GError   **error)
{
  VerifyArgs args = { 0, 0 };
  gboolean ok;

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (first_broken != NULL, FALSE);

  ok = rfl_store_read (self, audit_verify_locked, &args, error);
  *first_broken = args.first_broken;
  if (ok && n_entries != NULL)
    *n_entries = args.n_entries;
  return ok;
}
