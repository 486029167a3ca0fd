/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-store"

#include "rfl-store-internal.h"
#include "rfl-json.h"
#include "rfl-store-private.h"
#include "rfl-keyfile-private.h"
#include "rfl-names.h"
#include "rfl-rank.h"
#include "rfl-schema.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <sqlite3.h>
#include <string.h>
#include <glib/gi18n-lib.h>

/* 64 MiB of page cache: with SQLCipher's 2 MiB default, every cache miss
 * decrypts a page and writes cost three times as much (measured). */
#define CACHE_KIB            65536
#define PAGE_SIZE            16384
#define BUSY_TIMEOUT_MS      10000
#define DEFAULT_RETENTION    1826     /* days: five years after a case is closed */
#define MAX_PERSONS          RFL_STORE_MAX_PERSONS
#define MAX_QUERY_BYTES      400
#define MAX_QUERY_WORDS      8
#define SEARCH_CANDIDATES    200
#define DEVICE_ID_BYTES      16
#define READ_AUDIT_WAIT_MS   20


G_DEFINE_FINAL_TYPE (RflStore, rfl_store, G_TYPE_OBJECT)

/* Migrations: entry N takes a database from user_version N to N + 1. Never
 * edit a released entry; append a new one. */
static const char * const migrations[] = {
  /* 0 -> 1: records, their journal, and this device's identity. */
  "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
  "CREATE TABLE device (id INTEGER PRIMARY KEY CHECK (id = 1), device_id TEXT NOT NULL,"
  "  sign_pk BLOB NOT NULL, sign_sk BLOB NOT NULL, box_pk BLOB NOT NULL, box_sk BLOB NOT NULL,"
  "  created_at INTEGER NOT NULL);"
  "CREATE TABLE records (id TEXT PRIMARY KEY, type TEXT NOT NULL, status TEXT, doc TEXT,"
  "  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL, cl INTEGER NOT NULL DEFAULT 1,"
  "  retention_until TEXT);"
  "CREATE INDEX records_by_type ON records (type, status, updated_at);"
  "CREATE INDEX records_by_update ON records (updated_at);"
  "CREATE INDEX records_by_retention ON records (retention_until) WHERE retention_until IS NOT NULL;"
  /* Journal entries are found by the record's rowid: ids arrive in random
   * order and an index on them would rewrite most of its pages per batch. */
  "CREATE TABLE journal (seq INTEGER PRIMARY KEY, record_id TEXT NOT NULL, record_row INTEGER NOT NULL,"
  "  op TEXT NOT NULL, hlc INTEGER NOT NULL, device TEXT NOT NULL, changes TEXT,"
  "  redacted INTEGER NOT NULL DEFAULT 0);"
  "CREATE INDEX journal_by_record ON journal (record_row);",

  /* 1 -> 2: the hash-chained audit log. */
  "CREATE TABLE audit (seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL,"
  "  action TEXT NOT NULL, record_id TEXT, detail TEXT, hash BLOB NOT NULL);",

  /* 2 -> 3: the name index. Rows are filled from the records by backfill_names(). */
  "CREATE VIRTUAL TABLE names USING fts5 (person_id UNINDEXED, role UNINDEXED, latin, skel,"
  "  latin2, skel2, tokenize = 'unicode61 remove_diacritics 2');",

  /* 3 -> 4: sync. Field clocks (NULL: derived from the journal on first
   * use), the office a record belongs to and the offices it is shared with,
   * conflicts, the peers this store exchanges bundles with, bundles waiting to
   * be acknowledged or applied, and HQ's enrollment tokens. */
  "ALTER TABLE records ADD COLUMN clocks TEXT;"
  "ALTER TABLE records ADD COLUMN owner TEXT;"
  "CREATE INDEX records_by_owner ON records (owner) WHERE owner IS NOT NULL;"
  "ALTER TABLE journal ADD COLUMN base TEXT;"
  "ALTER TABLE journal ADD COLUMN clocks TEXT;"
  "ALTER TABLE journal ADD COLUMN cl INTEGER;"
  "ALTER TABLE journal ADD COLUMN origin TEXT;"
  "CREATE TABLE shares (record_row INTEGER NOT NULL, office TEXT NOT NULL,"
  "  PRIMARY KEY (record_row, office)) WITHOUT ROWID;"
  "CREATE INDEX shares_by_office ON shares (office, record_row);"
  "CREATE TABLE conflicts (id TEXT PRIMARY KEY, record_id TEXT NOT NULL, record_row INTEGER NOT NULL,"
  "  field TEXT NOT NULL, winner TEXT NOT NULL, loser TEXT NOT NULL, created_at INTEGER NOT NULL,"
  "  resolution TEXT, resolved_clock TEXT);"
  "CREATE INDEX conflicts_open ON conflicts (created_at) WHERE resolution IS NULL;"
  "CREATE TABLE peers (id TEXT PRIMARY KEY, role TEXT NOT NULL, office TEXT, status TEXT NOT NULL,"
  "  sign_pk BLOB NOT NULL, box_pk BLOB NOT NULL, url TEXT, enrolled_at INTEGER NOT NULL,"
  "  last_seen INTEGER, in_next INTEGER NOT NULL DEFAULT 1, in_hash BLOB,"
  "  out_next INTEGER NOT NULL DEFAULT 1, out_hash BLOB, out_through INTEGER NOT NULL DEFAULT 0,"
  "  acked INTEGER NOT NULL DEFAULT 0);"
  "CREATE TABLE outbox (peer TEXT NOT NULL, seq_from INTEGER NOT NULL, seq_to INTEGER NOT NULL,"
  "  through INTEGER NOT NULL, hash BLOB NOT NULL, envelope BLOB NOT NULL,"
  "  PRIMARY KEY (peer, seq_from));"
  "CREATE TABLE held (peer TEXT NOT NULL, seq_from INTEGER NOT NULL, envelope BLOB NOT NULL,"
  "  PRIMARY KEY (peer, seq_from));"
  "CREATE TABLE tokens (id TEXT PRIMARY KEY, secret_hash BLOB NOT NULL, office TEXT NOT NULL,"
  "  expires INTEGER NOT NULL, used_by TEXT, used_at INTEGER);"
  /* Each record's hash, apart from the records so that the state hash reads
   * a few megabytes, not every document. Filled by backfill_hashes(). */
  "CREATE TABLE hashes (record_row INTEGER PRIMARY KEY, owner TEXT, hash BLOB NOT NULL);",

  /* 4 -> 5: what a case view and the dashboard ask for without reading every
   * record: the notes about one case, and the cases opened since a date. */
  "CREATE INDEX records_by_ref ON records (doc ->> '$.record') WHERE type = 'note';"
  "CREATE INDEX records_by_created ON records (type, created_at);",

  /* 5 -> 6: live records by type and status, so that counting them (the case
   * list at unlock, the dashboard) reads a small index instead of every
   * document: at 515,000 records the count took seconds. Queries must repeat
   * the WHERE clause as written here for SQLite to use it. */
  "CREATE INDEX records_live ON records (type, status) WHERE cl % 2 = 1 AND doc IS NOT NULL;"
  /* The same for this device's own changes not yet sent, which the sync page
   * counts at every unlock. */
  "CREATE INDEX journal_local ON journal (seq) WHERE origin IS NULL AND redacted = 0;",

  /* 6 -> 7: the name index again, with the two- and three-letter prefixes of
   * every word indexed too. Searching as one types ends in a short prefix
   * ("hassan al"), which without them merges the posting lists of every
   * word that begins so: up to 90 ms at 515,000 records. FTS5 options are
   * fixed at creation, so the rows are copied into a new table. */
  "CREATE VIRTUAL TABLE names_v7 USING fts5 (person_id UNINDEXED, role UNINDEXED, latin, skel,"
  "  latin2, skel2, tokenize = 'unicode61 remove_diacritics 2', prefix = '2 3');"
  "INSERT INTO names_v7 (rowid, person_id, role, latin, skel, latin2, skel2)"
  "  SELECT rowid, person_id, role, latin, skel, latin2, skel2 FROM names;"
  "DROP TABLE names;"
  "ALTER TABLE names_v7 RENAME TO names;"
  "INSERT INTO names (names) VALUES ('optimize');",

  /* 7 -> 8: closures by when they happened. The dashboard counted a closed
   * case in the week of its last change, so correcting a closed case moved
   * its closure to this week. Queries must repeat the WHERE clause. The
   * cases opened in a week are counted from an index that also holds the
   * causal length, without reading each record: 1.9 s for a week of
   * 515,000 new cases. */
  "CREATE INDEX journal_closures ON journal (hlc) WHERE changes ->> '$.status' = 'closed';"
  "CREATE INDEX records_opened ON records (type, created_at, cl);"
  "DROP INDEX records_by_created;",

  /* 8 -> 9: the requests HQ accepted, by device and nonce, until they are
   * stale: a request captured and replayed after HQ restarts is refused. */
  "CREATE TABLE nonces (device TEXT NOT NULL, nonce TEXT NOT NULL, expires INTEGER NOT NULL,"
  "  PRIMARY KEY (device, nonce)) WITHOUT ROWID;"
  "CREATE INDEX nonces_by_expiry ON nonces (expires);",

  /* 9 -> 10: after a device was restored from an older copy of its
   * database, HQ sends it its own operations too, up to this journal seq:
   * the copy lacks those it made after the copy was taken. */
  "ALTER TABLE peers ADD COLUMN own_through INTEGER NOT NULL DEFAULT 0;",
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == RFL_STORE_SCHEMA_VERSION);


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

/* Returns a cached statement for @sql, which must be a string literal. */
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

static gboolean
exec (RflStore    *self,
      const char  *sql,
      GError     **error)
{
  if (sqlite3_exec (self->db, sql, NULL, NULL, NULL) != SQLITE_OK)
    return rfl_store_sql_fail (self, error, "running a statement");
  return TRUE;
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

static gboolean audit_append_at (RflStore *self, gint64 at, const char *action,
                                 const char *record_id, const char *detail, GError **error);

/* Every write transaction first writes the audit entries of reads that could
 * not be written when they happened (see audit_now()). They leave the queue
 * only when the transaction commits. */

/* Writes the queued audit entries of reads inside the open transaction. */
static gboolean
append_pending (RflStore  *self,
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

gboolean
rfl_store_begin (RflStore  *self,
       GError   **error)
{
  if (!exec (self, "BEGIN IMMEDIATE", error))
    return FALSE;
  if (!append_pending (self, error))
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

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
update_hook (void          *data,
             int            op,
             const char    *database,
             const char    *table,
             sqlite3_int64  rowid)
{
  RflStore *self = data;

  if (g_str_equal (table, "audit") || g_str_has_prefix (table, "names") || g_str_equal (table, "meta"))
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
  g_signal_emit (self, signals[CHANGED], 0);
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
  if (!exec (self, "COMMIT", error))
    return FALSE;
  for (; self->n_flushing > 0; self->n_flushing--)
    pending_audit_free (g_queue_pop_head (&self->pending));
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
  return exec (self, "BEGIN", error);
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

/* Time. */

gint64
rfl_now_ms (void)
{
  return g_get_real_time () / 1000;
}

/*
 * Hybrid logical clock: 48 bits of milliseconds and a 16-bit counter. It never
 * goes backwards even when the laptop's clock does, which the merge of sync
 * relies on to order writes.
 */
guint64
rfl_store_hlc_tick (RflStore *self)
{
  guint64 wall = (guint64) rfl_now_ms () << 16;

  self->hlc = wall > self->hlc ? wall : self->hlc + 1;
  return self->hlc;
}

static char *
iso_from_ms (gint64 ms)
{
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc (ms / 1000);

  return dt != NULL ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ") : g_strdup ("");
}

char *
rfl_store_today (RflStore *self)
{
  g_autoptr(GDateTime) now = NULL;

  if (self->today != NULL)
    return g_strdup (self->today);
  now = g_date_time_new_now_utc ();
  return g_date_time_format (now, "%Y-%m-%d");
}

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
static gboolean
audit_now (RflStore    *self,
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
  sqlite3_busy_timeout (self->db, BUSY_TIMEOUT_MS);
  if ((rc & 0xff) == SQLITE_BUSY)
    return TRUE;
  if (rc != SQLITE_OK)
    return rfl_store_sql_fail (self, error, "writing the audit log");

  if (!append_pending (self, error) || !rfl_store_commit (self, error))
    {
      rfl_store_rollback (self);
      return FALSE;
    }
  return TRUE;
}

/* Journal. */

gboolean
rfl_store_journal_write (RflStore               *self,
                         const RflJournalEntry  *entry,
                         GError                **error)
{
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "INSERT INTO journal (record_id, op, hlc, device, changes, record_row,"
                                  " base, clocks, cl, origin)"
                                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, entry->record_id);
  rfl_bind_text (st, 2, entry->op);
  sqlite3_bind_int64 (st, 3, (sqlite3_int64) entry->hlc);
  rfl_bind_text (st, 4, entry->device);
  rfl_bind_text (st, 5, entry->changes);
  sqlite3_bind_int64 (st, 6, entry->record_row);
  rfl_bind_text (st, 7, entry->base);
  rfl_bind_text (st, 8, entry->clocks);
  if (entry->cl > 0)
    sqlite3_bind_int64 (st, 9, entry->cl);
  else
    sqlite3_bind_null (st, 9);
  rfl_bind_text (st, 10, entry->origin);
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "writing the journal");
  return TRUE;
}

/* A change made on this device, at clock @hlc. */
static gboolean
journal_append (RflStore       *self,
                const char     *record_id,
                sqlite3_int64   record_row,
                const char     *op,
                guint64         hlc,
                const char     *changes,
                const char     *base,
                gint64          cl,
                GError        **error)
{
  RflJournalEntry entry = {
    .record_id = record_id, .record_row = record_row, .op = op,
    .hlc = hlc != 0 ? hlc : rfl_store_hlc_tick (self), .device = self->device_id,
    .changes = changes, .base = base, .cl = cl,
  };

  return rfl_store_journal_write (self, &entry, error);
}

/* Canonical JSON and record hashes. */

/* JSON with object members sorted, so that equal values hash equal
 * whatever order their members arrived in. */
void
rfl_json_string (const char *text,
                 GString    *out)
{
  g_string_append_c (out, '"');
  for (const guchar *c = (const guchar *) text; *c != '\0'; c++)
    {
      if (*c == '"' || *c == '\\')
        {
          g_string_append_c (out, '\\');
          g_string_append_c (out, (char) *c);
        }
      else if (*c < 0x20)
        g_string_append_printf (out, "\\u%04x", *c);
      else
        g_string_append_c (out, (char) *c);
    }
  g_string_append_c (out, '"');
}

/* Compact JSON, written here rather than with JsonGenerator, which costs an
 * object per call: this runs for every record merged. */
static void
write_json (JsonNode *node,
            gboolean  sorted,
            GString  *out)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    {
      JsonObject *obj = json_node_get_object (node);
      g_autoptr(GList) names = json_object_get_members (obj);

      if (sorted)
        names = g_list_sort (names, (GCompareFunc) strcmp);
      g_string_append_c (out, '{');
      for (GList *l = names; l != NULL; l = l->next)
        {
          if (l != names)
            g_string_append_c (out, ',');
          rfl_json_string (l->data, out);
          g_string_append_c (out, ':');
          write_json (json_object_get_member (obj, l->data), sorted, out);
        }
      g_string_append_c (out, '}');
    }
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      g_string_append_c (out, '[');
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          if (i > 0)
            g_string_append_c (out, ',');
          write_json (json_array_get_element (array, i), sorted, out);
        }
      g_string_append_c (out, ']');
    }
  else if (JSON_NODE_HOLDS_NULL (node))
    g_string_append (out, "null");
  else
    switch (json_node_get_value_type (node))
      {
      case G_TYPE_STRING:
        rfl_json_string (json_node_get_string (node), out);
        break;
      case G_TYPE_INT64:
        g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
        break;
      case G_TYPE_BOOLEAN:
        g_string_append (out, json_node_get_boolean (node) ? "true" : "false");
        break;
      default:
        {
          char buf[G_ASCII_DTOSTR_BUF_SIZE];
          g_string_append (out, g_ascii_dtostr (buf, sizeof buf, json_node_get_double (node)));
        }
        break;
      }
}

/* JSON with object members sorted, so that equal values hash equal
 * whatever order their members arrived in. */
void
rfl_canonical_json (JsonNode *node,
                    GString  *out)
{
  write_json (node, TRUE, out);
}

void
rfl_hash_text (crypto_generichash_state *state,
           const char               *text)
{
  gsize len = text != NULL ? strlen (text) + 1 : 0;
  guint8 prefix[8];

  for (int i = 0; i < 8; i++)
    prefix[i] = (guint8) (len >> (56 - 8 * i));
  crypto_generichash_update (state, prefix, sizeof prefix);
  if (text != NULL)
    crypto_generichash_update (state, (const guint8 *) text, len);
}

/* A record's hash: its causal length, its document and its field clocks,
 * canonical. Replicas that agree on a record have the same hash, so the
 * state hash need not parse every record. */
void
rfl_record_hash (const char  *id,
                 gint64       cl,
                 const char  *canonical_doc,
                 const char  *canonical_clocks,
                 guint8      *out)
{
  crypto_generichash_state state;
  char cl_text[24];

  g_snprintf (cl_text, sizeof cl_text, "%" G_GINT64_FORMAT, cl);
  crypto_generichash_init (&state, NULL, 0, RFL_RECORD_HASH_BYTES);
  rfl_hash_text (&state, "reunite-record-v1");
  rfl_hash_text (&state, id);
  rfl_hash_text (&state, cl_text);
  rfl_hash_text (&state, canonical_doc);
  rfl_hash_text (&state, canonical_clocks);
  crypto_generichash_final (&state, out, RFL_RECORD_HASH_BYTES);
}

char *
rfl_canonical_object (JsonObject *obj)
{
  g_autoptr(JsonNode) node = NULL;
  GString *out = g_string_new (NULL);

  node = json_node_init_object (json_node_alloc (), obj);
  rfl_canonical_json (node, out);
  return g_string_free (out, FALSE);
}

void
rfl_record_hash_objects (const char *id,
                         gint64      cl,
                         JsonObject *doc,
                         JsonObject *clocks,
                         guint8     *out)
{
  g_autofree char *canonical_doc = doc != NULL ? rfl_canonical_object (doc) : NULL;
  g_autofree char *canonical_clocks = clocks != NULL ? rfl_canonical_object (clocks) : NULL;

  rfl_record_hash (id, cl, canonical_doc, canonical_clocks, out);
}

/* Records @rowid's hash; @owner, when given, for HQ's scope. */
gboolean
rfl_store_put_hash (RflStore       *self,
                    sqlite3_int64   rowid,
                    const char     *owner,
                    const guint8   *hash,
                    GError        **error)
{
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "INSERT INTO hashes (record_row, owner, hash) VALUES (?1, ?2, ?3)"
                                  " ON CONFLICT (record_row) DO UPDATE SET hash = excluded.hash,"
                                  " owner = coalesce (excluded.owner, owner)", error)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, rowid);
  rfl_bind_text (st, 2, owner);
  sqlite3_bind_blob (st, 3, hash, RFL_RECORD_HASH_BYTES, SQLITE_STATIC);
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "saving a record hash");
  return TRUE;
}

/* Recomputes @rowid's hash from what the store holds. */
gboolean
rfl_store_rehash (RflStore       *self,
                  sqlite3_int64   rowid,
                  GError        **error)
{
  g_autoptr(JsonObject) doc = NULL, clocks = NULL;
  g_autofree char *id = NULL, *clocks_text = NULL, *owner = NULL;
  guint8 hash[RFL_RECORD_HASH_BYTES];
  sqlite3_stmt *st;
  gint64 cl;

  if ((st = rfl_store_stmt (self, "SELECT id, cl, doc, clocks, owner FROM records WHERE rowid = ?1", error)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, rowid);
  if (sqlite3_step (st) != SQLITE_ROW)
    return rfl_store_sql_fail (self, error, "hashing a record");
  id = g_strdup ((const char *) sqlite3_column_text (st, 0));
  cl = sqlite3_column_int64 (st, 1);
  doc = rfl_parse_doc ((const char *) sqlite3_column_text (st, 2));
  clocks_text = g_strdup ((const char *) sqlite3_column_text (st, 3));
  owner = g_strdup ((const char *) sqlite3_column_text (st, 4));
  sqlite3_reset (st);
  if ((clocks = rfl_store_load_clocks (self, rowid, clocks_text, error)) == NULL)
    return FALSE;
  rfl_record_hash_objects (id, cl, doc, clocks, hash);
  return rfl_store_put_hash (self, rowid, owner, hash, error);
}

/* Clocks. */

JsonArray *
rfl_clock_new (guint64     hlc,
               const char *device)
{
  JsonArray *clock = json_array_sized_new (2);

  json_array_add_int_element (clock, (gint64) hlc);
  json_array_add_string_element (clock, device);
  return clock;
}

JsonArray *
rfl_clocks_lookup (JsonObject *clocks,
                   const char *field)
{
  JsonNode *node = json_object_get_member (clocks, field);

  if (node == NULL)
    node = json_object_get_member (clocks, "");
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node) ||
      json_array_get_length (json_node_get_array (node)) != 2)
    return NULL;
  return json_node_get_array (node);
}

/* Orders clocks by HLC, then device id; a missing clock is the oldest. */
int
rfl_clock_compare (JsonArray *a,
                   JsonArray *b)
{
  gint64 ha, hb;

  if (a == NULL || b == NULL)
    return (a != NULL) - (b != NULL);
  ha = json_array_get_int_element (a, 0);
  hb = json_array_get_int_element (b, 0);
  if (ha != hb)
    return ha < hb ? -1 : 1;
  return g_strcmp0 (json_array_get_string_element (a, 1), json_array_get_string_element (b, 1));
}

/* A record's field clocks. Records written before clocks were kept get them
 * from their journal entries. */
JsonObject *
rfl_store_load_clocks (RflStore       *self,
                       sqlite3_int64   rowid,
                       const char     *text,
                       GError        **error)
{
  JsonObject *clocks;
  sqlite3_stmt *st;
  int rc;

  if (text != NULL && (clocks = rfl_parse_doc (text)) != NULL)
    return clocks;

  clocks = json_object_new ();
  if ((st = rfl_store_stmt (self, "SELECT op, hlc, device, changes FROM journal"
                                  " WHERE record_row = ?1 ORDER BY seq", error)) == NULL)
    {
      json_object_unref (clocks);
      return NULL;
    }
  sqlite3_bind_int64 (st, 1, rowid);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      const char *op = (const char *) sqlite3_column_text (st, 0);
      guint64 hlc = (guint64) sqlite3_column_int64 (st, 1);
      const char *device = (const char *) sqlite3_column_text (st, 2);
      g_autoptr(JsonObject) changes = rfl_parse_doc ((const char *) sqlite3_column_text (st, 3));

      if (g_str_equal (op, "create"))
        json_object_set_array_member (clocks, "", rfl_clock_new (hlc, device));
      else if (g_str_equal (op, "update") && changes != NULL)
        {
          g_autoptr(GList) names = json_object_get_members (changes);

          for (GList *l = names; l != NULL; l = l->next)
            json_object_set_array_member (clocks, l->data, rfl_clock_new (hlc, device));
        }
    }
  if (rc != SQLITE_DONE)
    {
      json_object_unref (clocks);
      rfl_store_sql_fail (self, error, "reading the journal");
      return NULL;
    }
  return clocks;
}

/* The name index. A record's persons occupy FTS rowids record_rowid * 64 + n,
 * so a record's rows are found and replaced by rowid range, without a scan. */

gboolean
rfl_store_unindex_record (RflStore       *self,
                sqlite3_int64   rowid,
                GError        **error)
{
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "DELETE FROM names WHERE rowid BETWEEN ?1 AND ?2", error)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, rowid * MAX_PERSONS);
  sqlite3_bind_int64 (st, 2, rowid * MAX_PERSONS + MAX_PERSONS - 1);
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "updating the name index");
  return TRUE;
}

/* One row of the name index: a person's names in their searchable forms. */
typedef struct
{
  char *person_id;
  char *role;
  char *latin;
  char *skel;
  char *latin2;
  char *skel2;
} NameRow;

static void
name_row_free (NameRow *row)
{
  g_free (row->person_id);
  g_free (row->role);
  g_free (row->latin);
  g_free (row->skel);
  g_free (row->latin2);
  g_free (row->skel2);
  g_free (row);
}

/* Returns the transliteration and skeletons of @names, joined. */
static void
normalise_names (RflStore   *self,
                 GPtrArray  *names,
                 char      **latin,
                 char      **skel)
{
  g_autofree char *joined = NULL;

  if (names->len == 0)
    return;
  g_ptr_array_add (names, NULL);
  joined = g_strjoinv (" ", (char **) names->pdata);
  g_ptr_array_remove_index (names, names->len - 1);
  *latin = rfl_names_to_latin (self->names, joined);
  *skel = rfl_names_skeleton (*latin);
}

/* The name-index rows of @record. Needs no database, so it can run on any thread. */
static GPtrArray *
name_rows (RflStore   *self,
           JsonObject *record)
{
  g_autoptr(GPtrArray) persons = rfl_schema_collect_persons (self->schema, record);
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) name_row_free);

  for (guint i = 0; i < persons->len && i < MAX_PERSONS; i++)
    {
      RflSchemaPerson *person = g_ptr_array_index (persons, i);
      NameRow *row;

      if (person->names->len == 0 && person->other_names->len == 0)
        continue;
      row = g_new0 (NameRow, 1);
      row->person_id = g_strdup (person->person_id);
      row->role = g_strdup (person->role);
      normalise_names (self, person->names, &row->latin, &row->skel);
      normalise_names (self, person->other_names, &row->latin2, &row->skel2);
      g_ptr_array_add (rows, row);
    }
  return rows;
}

static gboolean
write_name_rows (RflStore       *self,
                 sqlite3_int64   rowid,
                 GPtrArray      *rows,
                 GError        **error)
{
  sqlite3_stmt *st;

  for (guint i = 0; i < rows->len; i++)
    {
      NameRow *row = g_ptr_array_index (rows, i);

      if ((st = rfl_store_stmt (self, "INSERT INTO names (rowid, person_id, role, latin, skel, latin2, skel2)"
                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", error)) == NULL)
        return FALSE;
      sqlite3_bind_int64 (st, 1, rowid * MAX_PERSONS + i);
      rfl_bind_text (st, 2, row->person_id);
      rfl_bind_text (st, 3, row->role);
      rfl_bind_text (st, 4, row->latin);
      rfl_bind_text (st, 5, row->skel);
      rfl_bind_text (st, 6, row->latin2);
      rfl_bind_text (st, 7, row->skel2);
      if (sqlite3_step (st) != SQLITE_DONE)
        return rfl_store_sql_fail (self, error, "updating the name index");
    }
  return TRUE;
}

gboolean
rfl_store_index_record (RflStore       *self,
              sqlite3_int64   rowid,
              JsonObject     *record,
              GError        **error)
{
  g_autoptr(GPtrArray) rows = name_rows (self, record);

  return write_name_rows (self, rowid, rows, error);
}

/* Writes the name index rows of a live record again for @record, unless
 * @before, rfl_schema_collect_persons() of the record as it was, shows
 * that they would come out the same. Most edits (a status, consent, a
 * contact attempt) leave the names alone, and rewriting a record's rows in
 * FTS5, with its prefix indexes, is most of what such an edit costs. */
gboolean
rfl_store_reindex_record (RflStore       *self,
                          sqlite3_int64   rowid,
                          GPtrArray      *before,
                          JsonObject     *record,
                          GError        **error)
{
  if (before != NULL)
    {
      g_autoptr(GPtrArray) after = rfl_schema_collect_persons (self->schema, record);

      if (rfl_schema_persons_equal (before, after))
        return TRUE;
    }
  return rfl_store_unindex_record (self, rowid, error) && rfl_store_index_record (self, rowid, record, error);
}

JsonObject *
rfl_parse_doc (const char *text)
{
  g_autoptr(JsonNode) node = text != NULL ? json_from_string (text, NULL) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  return json_object_ref (json_node_get_object (node));
}

/* Copies every member of @src into @dst, in @src's order. */
static void
copy_members (JsonObject *dst,
              JsonObject *src)
{
  g_autoptr(GList) names = json_object_get_members (src);

  for (GList *l = names; l != NULL; l = l->next)
    json_object_set_member (dst, l->data, json_node_copy (json_object_get_member (src, l->data)));
}

/* Compact JSON, members in their order. */
char *
rfl_doc_to_string (JsonObject *obj)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), obj);
  GString *out = g_string_sized_new (512);

  write_json (node, FALSE, out);
  return g_string_free (out, FALSE);
}

/* Sets the retention date when a record enters a status that is kept only for
 * a while (a closed case, a delivered message), unless one is set already. */
void
rfl_store_apply_retention (RflStore   *self,
                 JsonObject *record)
{
  const char *type = json_object_get_string_member (record, "type");
  const char *status = rfl_json_string_or (record, "status", NULL);
  g_autofree char *now = NULL;
  g_autoptr(GDate) date = NULL;
  char buf[16];
  gint64 days;

  if (json_object_has_member (record, "retention_until") ||
      !rfl_schema_is_retained_status (self->schema, type, status))
    return;

  days = g_atomic_int_get (&self->retention_days);
  now = rfl_store_today (self);
  date = g_date_new ();
  g_date_set_parse (date, now);
  if (!g_date_valid (date))
    return;
  g_date_add_days (date, CLAMP (days, 0, 36500));
  g_date_strftime (buf, sizeof buf, "%Y-%m-%d", date);
  json_object_set_string_member (record, "retention_until", buf);
}

static gboolean
record_exists (RflStore   *self,
               const char *id)
{
  sqlite3_stmt *st = rfl_store_stmt (self, "SELECT 1 FROM records WHERE id = ?1", NULL);

  if (st == NULL)
    return FALSE;
  rfl_bind_text (st, 1, id);
  return sqlite3_step (st) == SQLITE_ROW;
}

/* A new record, validated and in the form it is written in. */
typedef struct
{
  char      *id;
  gboolean   id_given;
  char      *type;
  char      *status;
  char      *retention_until;
  char      *doc;
  char      *canonical_doc;
  GPtrArray *names;
} Prepared;

static void
prepared_free (Prepared *p)
{
  g_free (p->id);
  g_free (p->type);
  g_free (p->status);
  g_free (p->retention_until);
  g_free (p->doc);
  g_free (p->canonical_doc);
  g_clear_pointer (&p->names, g_ptr_array_unref);
  g_free (p);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Prepared, prepared_free)

/* Validates a new record and computes everything written for it. Touches no
 * database, so callers may run it on another thread than the writes. */
static Prepared *
prepare (RflStore    *self,
         JsonObject  *record,
         GError     **error)
{
  g_autoptr(Prepared) p = g_new0 (Prepared, 1);

  if (!rfl_schema_prepare_new (self->schema, record, error))
    return NULL;

  if (json_object_has_member (record, "id"))
    {
      p->id = g_strdup (json_object_get_string_member (record, "id"));
      p->id_given = TRUE;
      json_object_remove_member (record, "id");
    }
  else
    p->id = g_uuid_string_random ();

  rfl_store_apply_retention (self, record);
  p->type = g_strdup (json_object_get_string_member (record, "type"));
  p->status = g_strdup (rfl_json_string_or (record, "status", NULL));
  p->retention_until = g_strdup (rfl_json_string_or (record, "retention_until", NULL));
  p->doc = rfl_doc_to_string (record);
  p->canonical_doc = rfl_canonical_object (record);
  p->names = name_rows (self, record);
  return g_steal_pointer (&p);
}

/* Writes a prepared record inside the caller's transaction. */
static gboolean
write_prepared (RflStore    *self,
                Prepared    *p,
                GError     **error)
{
  g_autofree char *clocks = NULL;
  guint8 rhash[RFL_RECORD_HASH_BYTES];
  sqlite3_stmt *st;
  sqlite3_int64 rowid;
  guint64 hlc;

  if (p->id_given && record_exists (self, p->id))
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_EXISTS,
                   _("field 'id': record %s already exists"), p->id);
      return FALSE;
    }

  hlc = rfl_store_hlc_tick (self);
  /* Written as canonical JSON writes it, so it hashes as it is. */
  clocks = g_strdup_printf ("{\"\":[%" G_GUINT64_FORMAT ",\"%s\"]}", hlc, self->device_id);
  rfl_record_hash (p->id, 1, p->canonical_doc, clocks, rhash);
  if ((st = rfl_store_stmt (self, "INSERT INTO records (id, type, status, doc, created_at, updated_at, cl,"
                        " retention_until, clocks) VALUES (?1, ?2, ?3, ?4, ?5, ?5, 1, ?6, ?7)", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, p->id);
  rfl_bind_text (st, 2, p->type);
  rfl_bind_text (st, 3, p->status);
  rfl_bind_text (st, 4, p->doc);
  sqlite3_bind_int64 (st, 5, rfl_now_ms ());
  rfl_bind_text (st, 6, p->retention_until);
  rfl_bind_text (st, 7, clocks);
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "saving the record");

  rowid = sqlite3_last_insert_rowid (self->db);
  return rfl_store_put_hash (self, rowid, NULL, rhash, error) &&
         write_name_rows (self, rowid, p->names, error) &&
         journal_append (self, p->id, rowid, "create", hlc, p->doc, NULL, 1, error);
}

typedef struct
{
  sqlite3_int64  rowid;
  char          *type;
  char          *status;
  JsonObject    *doc;
  gint64         created_at;
  gint64         updated_at;
  gint64         cl;
  char          *clocks;
} Row;

static void
row_clear (Row *row)
{
  g_clear_pointer (&row->type, g_free);
  g_clear_pointer (&row->status, g_free);
  g_clear_pointer (&row->doc, json_object_unref);
  g_clear_pointer (&row->clocks, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Row, row_clear)

/* Loads a live record; deleted and purged records are not found. */
static gboolean
load_row (RflStore    *self,
          const char  *id,
          Row         *row,
          GError     **error)
{
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "SELECT rowid, type, status, doc, created_at, updated_at, cl,"
                        " clocks FROM records WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, id);
  if (sqlite3_step (st) != SQLITE_ROW)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND, _("no record with id %s"), id);
      return FALSE;
    }
  row->cl = sqlite3_column_int64 (st, 6);
  if (row->cl % 2 == 0 || sqlite3_column_type (st, 3) == SQLITE_NULL)
    {
      if (row->cl % 2 == 0)
        g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND, _("record %s was deleted"), id);
      else
        g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND, _("record %s was purged"), id);
      return FALSE;
    }
  row->rowid = sqlite3_column_int64 (st, 0);
  row->type = g_strdup ((const char *) sqlite3_column_text (st, 1));
  row->status = g_strdup ((const char *) sqlite3_column_text (st, 2));
  row->doc = rfl_parse_doc ((const char *) sqlite3_column_text (st, 3));
  row->created_at = sqlite3_column_int64 (st, 4);
  row->updated_at = sqlite3_column_int64 (st, 5);
  row->clocks = g_strdup ((const char *) sqlite3_column_text (st, 7));
  if (row->doc == NULL)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_CORRUPT,
                   _("record %s cannot be read"), id);
      return FALSE;
    }
  return TRUE;
}

gboolean
rfl_store_update_locked (RflStore    *self,
               const char  *id,
               JsonObject  *patch,
               GError     **error)
{
  g_auto(Row) row = { 0 };
  g_autoptr(JsonObject) changes = json_object_new ();
  g_autoptr(JsonObject) base = json_object_new ();
  g_autoptr(JsonObject) clocks = NULL;
  g_autofree char *text = NULL, *changes_text = NULL, *base_text = NULL, *clocks_text = NULL;
  g_autoptr(GPtrArray) before = NULL;
  guint8 rhash[RFL_RECORD_HASH_BYTES];
  guint64 hlc;
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;
  sqlite3_stmt *st;

  if (!load_row (self, id, &row, error))
    return FALSE;
  before = rfl_schema_collect_persons (self->schema, row.doc);

  json_object_iter_init (&iter, patch);
  while (json_object_iter_next (&iter, &name, &value))
    {
      JsonNode *old = json_object_get_member (row.doc, name);

      if (g_str_equal (name, "type") || g_str_equal (name, "id"))
        {
          if (g_str_equal (name, "type") && JSON_NODE_HOLDS_VALUE (value) &&
              g_strcmp0 (json_node_get_string (value), row.type) == 0)
            continue;
          if (g_str_equal (name, "id") && JSON_NODE_HOLDS_VALUE (value) &&
              g_strcmp0 (json_node_get_string (value), id) == 0)
            continue;
          g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                       _("field '%s': cannot be changed"), name);
          return FALSE;
        }
      if (old != NULL && json_node_equal (old, value))
        continue;
      if (old == NULL && JSON_NODE_HOLDS_NULL (value))
        continue;
      json_object_set_member (changes, name, json_node_copy (value));
      /* A JSON merge patch: null removes the field. */
      if (JSON_NODE_HOLDS_NULL (value))
        json_object_remove_member (row.doc, name);
      else
        json_object_set_member (row.doc, name, json_node_copy (value));
    }

  if (json_object_get_size (changes) == 0)
    return TRUE;

  if (!rfl_schema_validate (self->schema, row.doc, error) ||
      !rfl_schema_check_transition (self->schema, row.doc, row.status, error))
    return FALSE;

  /* Persons added by the patch get ids as on create, and the journal carries them. */
  rfl_schema_assign_person_ids (self->schema, row.doc);
  {
    g_autoptr(GList) changed = json_object_get_members (changes);
    for (GList *l = changed; l != NULL; l = l->next)
      if (json_object_has_member (row.doc, l->data))
        json_object_set_member (changes, l->data,
                                json_node_copy (json_object_get_member (row.doc, l->data)));
  }

  if (g_strcmp0 (row.status, rfl_json_string_or (row.doc, "status", NULL)) != 0)
    {
      /* Who changed the status goes with the change, to every replica. */
      if (self->actor != NULL && !json_object_has_member (changes, "status_by") &&
          rfl_schema_has_field (self->schema, rfl_json_string_or (row.doc, "type", ""),
                                "status_by"))
        {
          json_object_set_string_member (row.doc, "status_by", self->actor);
          json_object_set_string_member (changes, "status_by", self->actor);
        }
      /* A case reopened is no longer due for purging. */
      if (json_object_has_member (row.doc, "retention_until") &&
          !rfl_schema_is_retained_status (self->schema,
                                          rfl_json_string_or (row.doc, "type", ""),
                                          rfl_json_string_or (row.doc, "status", NULL)))
        {
          json_object_remove_member (row.doc, "retention_until");
          json_object_set_null_member (changes, "retention_until");
        }
      rfl_store_apply_retention (self, row.doc);
      if (json_object_has_member (row.doc, "retention_until") &&
          !json_object_has_member (changes, "retention_until"))
        json_object_set_string_member (changes, "retention_until",
                                       json_object_get_string_member (row.doc, "retention_until"));
    }

  /* Each changed field records the clock it overwrote, so that a replica
   * holding a different value can tell a concurrent write from a later one. */
  if ((clocks = rfl_store_load_clocks (self, row.rowid, row.clocks, error)) == NULL)
    return FALSE;
  hlc = rfl_store_hlc_tick (self);
  {
    g_autoptr(GList) changed = json_object_get_members (changes);
    for (GList *l = changed; l != NULL; l = l->next)
      {
        JsonArray *old_clock = rfl_clocks_lookup (clocks, l->data);

        if (old_clock != NULL)
          json_object_set_array_member (base, l->data, json_array_ref (old_clock));
        else
          json_object_set_null_member (base, l->data);
        json_object_set_array_member (clocks, l->data, rfl_clock_new (hlc, self->device_id));
      }
  }

  text = rfl_doc_to_string (row.doc);
  changes_text = rfl_doc_to_string (changes);
  base_text = rfl_doc_to_string (base);
  clocks_text = rfl_doc_to_string (clocks);

  rfl_record_hash_objects (id, row.cl, row.doc, clocks, rhash);
  if ((st = rfl_store_stmt (self, "UPDATE records SET status = ?2, doc = ?3, updated_at = ?4,"
                        " retention_until = ?5, clocks = ?6 WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, id);
  rfl_bind_text (st, 2, rfl_json_string_or (row.doc, "status", NULL));
  rfl_bind_text (st, 3, text);
  sqlite3_bind_int64 (st, 4, rfl_now_ms ());
  rfl_bind_text (st, 5, rfl_json_string_or (row.doc, "retention_until", NULL));
  rfl_bind_text (st, 6, clocks_text);
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "saving the record");

  return rfl_store_put_hash (self, row.rowid, NULL, rhash, error) &&
         rfl_store_reindex_record (self, row.rowid, before, row.doc, error) &&
         journal_append (self, id, row.rowid, "update", hlc, changes_text, base_text, row.cl, error);
}

/**
 * rfl_store_may_delete:
 * @device: the device deleting
 *
 * An open case (one whose status the lifecycle does not retain as closed)
 * is deleted only by the device that registered it; any other closes it,
 * or asks HQ's operators. Closed cases, and records without a status, may
 * be deleted by any device that holds them.
 */
gboolean
rfl_store_may_delete (RflStore       *self,
                      sqlite3_int64   rowid,
                      const char     *type,
                      const char     *status,
                      const char     *device)
{
  sqlite3_stmt *st;
  gboolean creator;

  if (status == NULL || rfl_schema_is_retained_status (self->schema, type, status))
    return TRUE;
  if ((st = rfl_store_stmt (self, "SELECT device FROM journal WHERE record_row = ?1 AND op = 'create'"
                                  " ORDER BY seq LIMIT 1", NULL)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, rowid);
  creator = sqlite3_step (st) == SQLITE_ROW && g_strcmp0 ((const char *) sqlite3_column_text (st, 0), device) == 0;
  sqlite3_reset (st);
  return creator;
}

static gboolean
delete_locked (RflStore    *self,
               const char  *id,
               gboolean     by_operator,
               GError     **error)
{
  g_auto(Row) row = { 0 };
  g_autofree char *changes = NULL;
  sqlite3_stmt *st;

  if (!load_row (self, id, &row, error))
    return FALSE;
  if (!by_operator && !rfl_store_may_delete (self, row.rowid, row.type, row.status, self->device_id))
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_ALLOWED,
                   _("case %s is open and was registered on another device: close it instead, or ask HQ's"
                     " operators to delete it"), id);
      return FALSE;
    }

  /* A causal-length counter: odd is alive, even is deleted. The record is
   * kept so that a later resurrection from another replica can restore it. */
  if ((st = rfl_store_stmt (self, "UPDATE records SET cl = cl + 1, updated_at = ?2 WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, id);
  sqlite3_bind_int64 (st, 2, rfl_now_ms ());
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "deleting the record");

  changes = g_strdup_printf ("{\"$cl\":%" G_GINT64_FORMAT "}", row.cl + 1);
  return rfl_store_rehash (self, row.rowid, error) &&
         rfl_store_unindex_record (self, row.rowid, error) &&
         journal_append (self, id, row.rowid, "delete", 0, changes, NULL, row.cl + 1, error);
}

/* Runs @func inside one write transaction with an audit entry. */
typedef gboolean (*WriteFunc) (RflStore *self, const char *id, JsonObject *obj, GError **error);

static gboolean
write_txn (RflStore    *self,
           WriteFunc    func,
           const char  *action,
           const char  *id,
           JsonObject  *obj,
           GError     **error)
{
  gboolean ok;

  rfl_store_lock (self);
  ok = rfl_store_check_open (self, error) && rfl_store_begin (self, error);
  if (ok)
    {
      ok = func (self, id, obj, error) &&
           rfl_store_audit_append (self, action, id, NULL, error) &&
           rfl_store_commit (self, error);
      if (!ok)
        rfl_store_rollback (self);
    }
  rfl_store_unlock (self);
  return ok;
}

static gboolean
update_func (RflStore *self, const char *id, JsonObject *obj, GError **error)
{
  return rfl_store_update_locked (self, id, obj, error);
}

static gboolean
delete_func (RflStore *self, const char *id, JsonObject *obj, GError **error)
{
  return delete_locked (self, id, FALSE, error);
}

static gboolean
operator_delete_func (RflStore *self, const char *id, JsonObject *obj, GError **error)
{
  return delete_locked (self, id, TRUE, error) &&
         rfl_store_audit_append (self, "operator-delete", id,
                                 rfl_json_string_or (obj, "reason", NULL), error);
}

/**
 * rfl_store_add:
 * @self: an open store
 * @record: the record to add; defaults and person ids are filled in
 * @error: return location for an error
 *
 * Validates @record against the record schema and adds it, with its journal
 * entry and an audit entry, in one transaction.
 *
 * Returns: (transfer full): the new record's id, or %NULL on error
 */
char *
rfl_store_add (RflStore    *self,
               JsonObject  *record,
               GError     **error)
{
  g_autoptr(Prepared) p = NULL;
  g_autofree char *id = NULL;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  g_return_val_if_fail (record != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Who wrote a note, and who gave a case its first status, go with the
   * record to every replica. */
  {
    const char *type = rfl_json_string_or (record, "type", "");
    g_autofree char *actor = NULL;

    rfl_store_lock (self);
    actor = g_strdup (self->actor);
    rfl_store_unlock (self);
    if (actor != NULL && !json_object_has_member (record, "by") && rfl_schema_has_field (self->schema, type, "by"))
      json_object_set_string_member (record, "by", actor);
    if (actor != NULL && !json_object_has_member (record, "status_by") &&
        rfl_schema_has_field (self->schema, type, "status_by"))
      json_object_set_string_member (record, "status_by", actor);
  }

  if ((p = prepare (self, record, error)) == NULL)
    return NULL;

  rfl_store_lock (self);
  if (rfl_store_check_open (self, error) && rfl_store_begin (self, error))
    {
      if (write_prepared (self, p, error) &&
          rfl_store_audit_append (self, "create", p->id, NULL, error) &&
          rfl_store_commit (self, error))
        id = g_strdup (p->id);
      else
        rfl_store_rollback (self);
    }
  rfl_store_unlock (self);
  return g_steal_pointer (&id);
}

/**
 * rfl_store_update:
 * @self: an open store
 * @id: the record's id
 * @patch: a JSON merge patch of top-level fields; null removes a field
 * @error: return location for an error
 *
 * Changes a record. Status changes must follow the record type's lifecycle.
 */
gboolean
rfl_store_update (RflStore    *self,
                  const char  *id,
                  JsonObject  *patch,
                  GError     **error)
{
  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);
  g_return_val_if_fail (patch != NULL, FALSE);

  return write_txn (self, update_func, "update", id, patch, error);
}

gboolean
rfl_store_delete (RflStore    *self,
                  const char  *id,
                  GError     **error)
{
  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  return write_txn (self, delete_func, "delete", id, NULL, error);
}

/**
 * rfl_store_delete_as_operator:
 * @reason: why, for the audit log
 *
 * Deletes a record as HQ's operators may: an open case too, whoever
 * registered it. The deletion syncs like any other.
 */
gboolean
rfl_store_delete_as_operator (RflStore    *self,
                              const char  *id,
                              const char  *reason,
                              GError     **error)
{
  g_autoptr(JsonObject) why = json_object_new ();

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (id != NULL && reason != NULL, FALSE);

  json_object_set_string_member (why, "reason", reason);
  return write_txn (self, operator_delete_func, "delete", id, why, error);
}

/* The record's status changes, oldest first: to what, when, on which
 * device, by whom (the "status_by" the change carried) and why (the field
 * the lifecycle asks to explain the new status). */
static JsonArray *
status_history (RflStore       *self,
                sqlite3_int64   rowid,
                const char     *type,
                GError        **error)
{
  g_autoptr(JsonArray) history = json_array_new ();
  sqlite3_stmt *st;
  int rc;

  st = rfl_store_stmt (self, "SELECT hlc, device, changes ->> '$.status', changes ->> '$.status_by', changes"
                   " FROM journal WHERE record_row = ?1 AND changes ->> '$.status' IS NOT NULL"
                   " ORDER BY hlc", error);
  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, rowid);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      JsonObject *entry = json_object_new ();
      g_autofree char *at = iso_from_ms ((gint64) ((guint64) sqlite3_column_int64 (st, 0) >> 16));
      const char *status = (const char *) sqlite3_column_text (st, 2);
      const char *reason_field = rfl_schema_get_reason_field (self->schema, type, status);

      json_object_set_string_member (entry, "status", status);
      json_object_set_string_member (entry, "at", at);
      json_object_set_string_member (entry, "device", (const char *) sqlite3_column_text (st, 1));
      if (sqlite3_column_type (st, 3) != SQLITE_NULL)
        json_object_set_string_member (entry, "by", (const char *) sqlite3_column_text (st, 3));
      if (reason_field != NULL)
        {
          g_autoptr(JsonNode) changes = json_from_string ((const char *) sqlite3_column_text (st, 4), NULL);
          JsonObject *obj = changes != NULL && JSON_NODE_HOLDS_OBJECT (changes) ? json_node_get_object (changes)
                                                                               : NULL;
          const char *reason = obj != NULL ? rfl_json_string_or (obj, reason_field, NULL)
                                           : NULL;

          if (reason != NULL)
            json_object_set_string_member (entry, "reason", reason);
        }
      json_array_add_object_element (history, entry);
    }
  if (rc != SQLITE_DONE)
    {
      rfl_store_sql_fail (self, error, "reading the status history");
      return NULL;
    }
  return g_steal_pointer (&history);
}

/**
 * rfl_store_get:
 * @self: an open store
 * @id: a record id
 * @error: return location for an error
 *
 * Reads a record with its id, timestamps and status history. The view is
 * recorded in the audit log.
 *
 * Returns: (transfer full): the record, or %NULL on error
 */
JsonObject *
rfl_store_get (RflStore    *self,
               const char  *id,
               GError     **error)
{
  g_auto(Row) row = { 0 };
  g_autoptr(JsonObject) out = NULL;
  JsonArray *history = NULL;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  rfl_store_lock (self);
  if (rfl_store_check_open (self, error) && load_row (self, id, &row, error) &&
      (history = status_history (self, row.rowid,
                                 rfl_json_string_or (row.doc, "type", ""),
                                 error)) != NULL &&
      audit_now (self, "view", id, NULL, error))
    {
      g_autofree char *created = iso_from_ms (row.created_at);
      g_autofree char *updated = iso_from_ms (row.updated_at);

      out = json_object_new ();
      json_object_set_string_member (out, "id", id);
      copy_members (out, row.doc);
      json_object_set_string_member (out, "created_at", created);
      json_object_set_string_member (out, "updated_at", updated);
      if (json_array_get_length (history) > 0)
        json_object_set_array_member (out, "status_history", g_steal_pointer (&history));
    }
  g_clear_pointer (&history, json_array_unref);
  rfl_store_unlock (self);
  return g_steal_pointer (&out);
}

/**
 * rfl_person_display_name:
 * @person: a person of a record
 *
 * Returns: (transfer full) (nullable): "given family", or %NULL if neither
 *   is known
 */
char *
rfl_person_display_name (JsonObject *person)
{
  const char *given = rfl_json_string_or (person, "given_name", NULL);
  const char *family = rfl_json_string_or (person, "family_name", NULL);

  if (given == NULL && family == NULL)
    return NULL;
  return g_strjoin (" ", given ? given : family, given ? family : NULL, NULL);
}

/**
 * rfl_record_display_name:
 * @doc: a record
 *
 * The name a list shows for a record: the first person with a name, the
 * person registered or sought before the enquirer.
 *
 * Returns: (transfer full) (nullable): the name, or %NULL if no one is named
 */
char *
rfl_record_display_name (JsonObject *doc)
{
  static const char * const roles[] = { "person", "sought", "enquirer", "addressee", "sender", NULL };

  for (guint r = 0; roles[r] != NULL; r++)
    {
      JsonNode *node = json_object_get_member (doc, roles[r]);
      JsonObject *person = NULL;

      if (node == NULL)
        continue;
      if (JSON_NODE_HOLDS_ARRAY (node) && json_array_get_length (json_node_get_array (node)) > 0)
        person = json_array_get_object_element (json_node_get_array (node), 0);
      else if (JSON_NODE_HOLDS_OBJECT (node))
        person = json_node_get_object (node);
      if (person != NULL)
        {
          char *name = rfl_person_display_name (person);
          if (name != NULL)
            return name;
        }
    }
  return NULL;
}

/* The name of the person a search matched, rather than the record's first person. */
static char *
matched_name (JsonObject *doc,
              const char *person_id)
{
  g_autoptr(GList) members = NULL;

  if (doc == NULL || person_id == NULL)
    return NULL;
  members = json_object_get_values (doc);
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *node = l->data;
      JsonArray *array = NULL;
      guint n = 1;

      if (JSON_NODE_HOLDS_ARRAY (node))
        {
          array = json_node_get_array (node);
          n = json_array_get_length (array);
        }
      for (guint i = 0; i < n; i++)
        {
          JsonNode *el = array != NULL ? json_array_get_element (array, i) : node;
          JsonObject *person;

          if (!JSON_NODE_HOLDS_OBJECT (el))
            continue;
          person = json_node_get_object (el);
          if (g_strcmp0 (rfl_json_string_or (person, "id", NULL), person_id) == 0)
            return rfl_person_display_name (person);
        }
    }
  return NULL;
}

/* A record summary from columns id, type, status, doc, updated_at. With
 * @person_id, the name is that person's rather than the record's first. */
static JsonObject *
summary_for_person (RflStore     *self,
                    sqlite3_stmt *st,
                    const char   *person_id)
{
  JsonObject *out = json_object_new ();
  g_autoptr(JsonObject) doc = rfl_parse_doc ((const char *) sqlite3_column_text (st, 3));
  g_autofree char *name = NULL;
  g_autofree char *updated = iso_from_ms (sqlite3_column_int64 (st, 4));

  if (doc != NULL)
    name = person_id != NULL ? matched_name (doc, person_id) : rfl_record_display_name (doc);
  json_object_set_string_member (out, "id", (const char *) sqlite3_column_text (st, 0));
  json_object_set_string_member (out, "type", (const char *) sqlite3_column_text (st, 1));
  if (sqlite3_column_type (st, 2) != SQLITE_NULL)
    json_object_set_string_member (out, "status", (const char *) sqlite3_column_text (st, 2));
  if (doc != NULL && json_object_has_member (doc, "subtype"))
    json_object_set_string_member (out, "subtype", json_object_get_string_member (doc, "subtype"));
  if (name != NULL)
    json_object_set_string_member (out, "name", name);
  json_object_set_string_member (out, "updated_at", updated);
  return out;
}

static JsonObject *
summary_from_stmt (RflStore     *self,
                   sqlite3_stmt *st)
{
  return summary_for_person (self, st, NULL);
}

/**
 * rfl_store_list:
 * @self: an open store
 * @type: (nullable): only records of this type, or of these comma-separated
 *   types ("tracing_request,registration")
 * @status: (nullable): only records in this status
 * @offset: records to skip
 * @limit: most records to return
 * @error: return location for an error
 *
 * Lists live records, most recently changed first.
 *
 * Returns: (transfer full) (element-type JsonObject): record summaries
 */
GPtrArray *
rfl_store_list (RflStore    *self,
                const char  *type,
                const char  *status,
                guint        offset,
                guint        limit,
                GError     **error)
{
  g_autoptr(GPtrArray) out = NULL;
  g_autofree char *detail = NULL;
  sqlite3_stmt *st;
  int rc;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  rfl_store_lock (self);
  if (!rfl_store_check_open (self, error))
    goto out;
  st = rfl_store_stmt (self, "SELECT id, type, status, doc, updated_at FROM records"
                   " WHERE cl % 2 = 1 AND doc IS NOT NULL"
                   " AND (?1 IS NULL OR type = ?1"
                   "      OR (instr (?1, ',') > 0 AND instr (',' || ?1 || ',', ',' || type || ',') > 0))"
                   " AND (?2 IS NULL OR status = ?2)"
                   " ORDER BY updated_at DESC, rowid DESC LIMIT ?3 OFFSET ?4", error);
  if (st == NULL)
    goto out;
  rfl_bind_text (st, 1, type);
  rfl_bind_text (st, 2, status);
  sqlite3_bind_int64 (st, 3, limit);
  sqlite3_bind_int64 (st, 4, offset);

  out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (out, summary_from_stmt (self, st));
  if (rc != SQLITE_DONE)
    {
      rfl_store_sql_fail (self, error, "listing records");
      g_clear_pointer (&out, g_ptr_array_unref);
      goto out;
    }
  sqlite3_reset (st);

  detail = g_strdup_printf ("type=%s status=%s offset=%u count=%u",
                            type ? type : "*", status ? status : "*", offset, out->len);
  if (!audit_now (self, "list", NULL, detail, error))
    g_clear_pointer (&out, g_ptr_array_unref);

out:
  rfl_store_unlock (self);
  return g_steal_pointer (&out);
}

gint64
rfl_store_count (RflStore    *self,
                 const char  *type,
                 const char  *status,
                 GError     **error)
{
  sqlite3_stmt *st;
  gint64 n = -1;

  g_return_val_if_fail (RFL_IS_STORE (self), -1);

  rfl_store_lock (self);
  if (rfl_store_check_open (self, error) &&
      (st = rfl_store_stmt (self, "SELECT count(*) FROM records WHERE cl % 2 = 1 AND doc IS NOT NULL"
                        " AND (?1 IS NULL OR type = ?1"
                        "      OR (instr (?1, ',') > 0 AND instr (',' || ?1 || ',', ',' || type || ',') > 0))"
                        " AND (?2 IS NULL OR status = ?2)", error)) != NULL)
    {
      rfl_bind_text (st, 1, type);
      rfl_bind_text (st, 2, status);
      if (sqlite3_step (st) == SQLITE_ROW)
        n = sqlite3_column_int64 (st, 0);
      else
        rfl_store_sql_fail (self, error, "counting records");
      sqlite3_reset (st);
    }
  rfl_store_unlock (self);
  return n;
}

/**
 * rfl_store_list_notes:
 * @self: an open store
 * @record_id: a case or message
 * @error: return location for an error
 *
 * The notes, contact attempts and case actions recorded about @record_id,
 * newest first, each with its id and creation time.
 *
 * Returns: (transfer full) (element-type JsonObject): the notes, or %NULL
 *   on error
 */
GPtrArray *
rfl_store_list_notes (RflStore    *self,
                      const char  *record_id,
                      GError     **error)
{
  g_autoptr(GPtrArray) out = NULL;
  sqlite3_stmt *st;
  int rc;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  g_return_val_if_fail (record_id != NULL, NULL);

  rfl_store_lock (self);
  /* The expression is the one records_by_ref indexes, written the same way. */
  if (!rfl_store_check_open (self, error) ||
      (st = rfl_store_stmt (self, "SELECT id, doc, created_at FROM records"
                            " WHERE type = 'note' AND doc ->> '$.record' = ?1"
                            " AND cl % 2 = 1 AND doc IS NOT NULL"
                            " ORDER BY created_at DESC, rowid DESC", error)) == NULL)
    goto out;
  rfl_bind_text (st, 1, record_id);
  out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      g_autoptr(JsonObject) doc = rfl_parse_doc ((const char *) sqlite3_column_text (st, 1));
      g_autofree char *created = iso_from_ms (sqlite3_column_int64 (st, 2));
      JsonObject *note = json_object_new ();

      json_object_set_string_member (note, "id", (const char *) sqlite3_column_text (st, 0));
      if (doc != NULL)
        copy_members (note, doc);
      json_object_set_string_member (note, "created_at", created);
      g_ptr_array_add (out, note);
    }
  if (rc != SQLITE_DONE)
    {
      rfl_store_sql_fail (self, error, "reading the notes");
      g_clear_pointer (&out, g_ptr_array_unref);
    }

out:
  rfl_store_unlock (self);
  return g_steal_pointer (&out);
}

static gboolean
count_range (RflStore    *self,
             const char  *sql,
             const char  *type,
             gint64       from_ms,
             gint64       to_ms,
             gint64      *n,
             GError     **error)
{
  sqlite3_stmt *st = rfl_store_stmt (self, sql, error);

  if (st == NULL)
    return FALSE;
  rfl_bind_text (st, 1, type);
  sqlite3_bind_int64 (st, 2, from_ms);
  sqlite3_bind_int64 (st, 3, to_ms);
  if (sqlite3_step (st) != SQLITE_ROW)
    return rfl_store_sql_fail (self, error, "counting cases by week");
  *n += sqlite3_column_int64 (st, 0);
  sqlite3_reset (st);
  return TRUE;
}

/**
 * rfl_store_summarize:
 * @self: an open store
 * @weeks: how many weeks back the weekly counts go, this week included
 * @error: return location for an error
 *
 * What a dashboard shows: `counts`, live records by type and status
 * (`{"tracing_request": {"open": 3}}`); `weeks`, oldest first, each week's
 * start (a Monday, local time) with the cases opened in it and the cases
 * closed in it (by the time of the change that closed it, here or on the
 * device that made it, from the journal); and `awaiting_delivery`, the Red
 * Cross Messages collected or transmitted but not yet delivered.
 *
 * Returns: (transfer full): the summary, or %NULL on error
 */
JsonObject *
rfl_store_summarize (RflStore  *self,
                     guint      weeks,
                     GError   **error)
{
  static const char * const case_types[] = { "tracing_request", "registration" };
  g_autoptr(JsonObject) out = NULL;
  g_autoptr(JsonObject) counts = json_object_new ();
  g_autoptr(JsonArray) by_week = json_array_new ();
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autoptr(GDateTime) today = NULL, monday = NULL;
  gint64 awaiting = 0;
  sqlite3_stmt *st;
  int rc;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  g_return_val_if_fail (weeks > 0 && weeks <= 520, NULL);

  rfl_store_lock (self);
  if (!rfl_store_check_open (self, error) ||
      (st = rfl_store_stmt (self, "SELECT type, coalesce (status, ''), count(*) FROM records"
                            " WHERE cl % 2 = 1 AND doc IS NOT NULL AND type != 'note'"
                            " GROUP BY type, status", error)) == NULL)
    goto out;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      const char *type = (const char *) sqlite3_column_text (st, 0);
      const char *status = (const char *) sqlite3_column_text (st, 1);
      gint64 n = sqlite3_column_int64 (st, 2);

      if (!json_object_has_member (counts, type))
        json_object_set_object_member (counts, type, json_object_new ());
      json_object_set_int_member (json_object_get_object_member (counts, type), status, n);
      if (g_str_equal (type, "message") && (g_str_equal (status, "collected") ||
                                            g_str_equal (status, "transmitted")))
        awaiting += n;
    }
  if (rc != SQLITE_DONE)
    {
      rfl_store_sql_fail (self, error, "counting records");
      goto out;
    }
  sqlite3_reset (st);

  today = g_date_time_new_local (g_date_time_get_year (now), g_date_time_get_month (now),
                                 g_date_time_get_day_of_month (now), 0, 0, 0);
  monday = g_date_time_add_days (today, 1 - g_date_time_get_day_of_week (today));
  for (guint w = weeks; w-- > 0;)
    {
      g_autoptr(GDateTime) start = g_date_time_add_weeks (monday, -(gint) w);
      g_autoptr(GDateTime) end = g_date_time_add_weeks (start, 1);
      gint64 from = g_date_time_to_unix (start) * 1000, to = g_date_time_to_unix (end) * 1000;
      g_autofree char *day = g_date_time_format (start, "%Y-%m-%d");
      gint64 opened = 0, closed = 0;
      JsonObject *week;

      for (guint t = 0; t < G_N_ELEMENTS (case_types); t++)
        if (!count_range (self, "SELECT count(*) FROM records WHERE type = ?1"
                          " AND created_at >= ?2 AND created_at < ?3 AND cl % 2 = 1",
                          case_types[t], from, to, &opened, error) ||
            /* The closures of the week first (CROSS JOIN keeps that order),
             * then their records: the other way round reads every case. */
            !count_range (self, "SELECT count(DISTINCT j.record_row) FROM journal AS j"
                          " INDEXED BY journal_closures CROSS JOIN records AS r ON r.rowid = j.record_row"
                          " WHERE j.changes ->> '$.status' = 'closed' AND j.hlc >= ?2 AND j.hlc < ?3"
                          " AND r.type = ?1 AND r.cl % 2 = 1",
                          case_types[t], (gint64) ((guint64) from << 16), (gint64) ((guint64) to << 16),
                          &closed, error))
          goto out;
      week = json_object_new ();
      json_object_set_string_member (week, "start", day);
      json_object_set_int_member (week, "opened", opened);
      json_object_set_int_member (week, "closed", closed);
      json_array_add_object_element (by_week, week);
    }

  out = json_object_new ();
  json_object_set_object_member (out, "counts", g_steal_pointer (&counts));
  json_object_set_array_member (out, "weeks", g_steal_pointer (&by_week));
  json_object_set_int_member (out, "awaiting_delivery", awaiting);

out:
  rfl_store_unlock (self);
  return g_steal_pointer (&out);
}

/* Builds an FTS5 query from what a person typed. Exact: every word must be
 * one of the person's own names as transliterated. Fuzzy: every word must
 * match a transliterated name or its consonant skeleton, in any name column,
 * and the last word may be a prefix (search as you type). Only quoted ASCII
 * words reach FTS5, so no query syntax can be injected. */
static char *
build_match (GStrv    words,
             gboolean fuzzy)
{
  GString *match = g_string_new (NULL);
  guint n = MIN (g_strv_length (words), MAX_QUERY_WORDS);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *skel = rfl_names_skeleton (words[i]);
      gboolean prefix = (i == n - 1) && strlen (words[i]) >= 2;

      if (match->len > 0)
        g_string_append (match, " AND ");
      if (fuzzy)
        g_string_append_printf (match, "({latin latin2} : \"%s\"%s OR {skel skel2} : \"%s\")",
                                words[i], prefix ? " *" : "", skel);
      else
        g_string_append_printf (match, "latin : \"%s\"", words[i]);
    }
  if (match->len == 0)
    {
      g_string_free (match, TRUE);
      return NULL;
    }
  return g_string_free (match, FALSE);
}

typedef struct
{
  double  score;
  gint64  rowid;
} Candidate;

static int
compare_candidates (gconstpointer a,
                    gconstpointer b)
{
  double x = ((const Candidate *) a)->score, y = ((const Candidate *) b)->score;
  return (x < y) - (x > y);
}

static JsonObject *
search_hit (RflStore     *self,
            Candidate    *c,
            GError      **error)
{
  sqlite3_stmt *st;
  JsonObject *hit;
  const char *person_id;

  st = rfl_store_stmt (self, "SELECT r.id, r.type, r.status, r.doc, r.updated_at, n.person_id, n.role"
                   " FROM names n JOIN records r ON r.rowid = (n.rowid >> 6) WHERE n.rowid = ?1", error);
  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, c->rowid);
  if (sqlite3_step (st) != SQLITE_ROW)
    {
      rfl_store_sql_fail (self, error, "reading a search result");
      return NULL;
    }
  person_id = (const char *) sqlite3_column_text (st, 5);
  hit = summary_for_person (self, st, person_id);
  json_object_set_string_member (hit, "person_id", person_id);
  json_object_set_string_member (hit, "role", (const char *) sqlite3_column_text (st, 6));
  json_object_set_double_member (hit, "score", c->score);
  sqlite3_reset (st);
  return hit;
}

/* Adds the best of at most SEARCH_CANDIDATES matches of @match to @out,
 * skipping persons already there. Matches are visited newest first and only
 * those are ranked, so a name shared by a hundred thousand people costs the
 * same as a rare one; records are read only for the results kept. */
static gboolean
search_stage (RflStore    *self,
              const char  *match,
              guint        limit,
              GPtrArray   *out,
              GHashTable  *seen,
              GError     **error)
{
  g_autoptr(GArray) candidates = g_array_new (FALSE, FALSE, sizeof (Candidate));
  sqlite3_stmt *st;
  int rc;

  st = rfl_store_stmt (self, "SELECT rowid, rfl_rank (names, 0.0, 0.0, 8.0, 2.0, 2.0, 0.5) FROM names"
                   " WHERE names MATCH ?1 ORDER BY rowid DESC LIMIT ?2", error);
  if (st == NULL)
    return FALSE;
  rfl_bind_text (st, 1, match);
  sqlite3_bind_int64 (st, 2, SEARCH_CANDIDATES);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      Candidate c = { sqlite3_column_double (st, 1), sqlite3_column_int64 (st, 0) };

      if (!g_hash_table_contains (seen, &c.rowid))
        g_array_append_val (candidates, c);
    }
  sqlite3_reset (st);
  if (rc != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "searching names");

  g_array_sort (candidates, compare_candidates);
  for (guint i = 0; i < candidates->len && out->len < limit; i++)
    {
      Candidate *c = &g_array_index (candidates, Candidate, i);
      JsonObject *hit = search_hit (self, c, error);

      if (hit == NULL)
        return FALSE;
      g_hash_table_add (seen, g_memdup2 (&c->rowid, sizeof c->rowid));
      g_ptr_array_add (out, hit);
    }
  return TRUE;
}

/**
 * rfl_store_search:
 * @self: an open store
 * @query: names in any script and spelling
 * @limit: most results to return
 * @error: return location for an error
 *
 * Finds persons by name: first those whose own names match every word
 * exactly (after transliteration), then spelling variants, prefixes and
 * secondary names; within each group, best BM25 score first. Each result is a
 * record summary with the matching person's name, id and role and a score.
 *
 * Returns: (transfer full) (element-type JsonObject): the results
 */
GPtrArray *
rfl_store_search (RflStore    *self,
                  const char  *query,
                  guint        limit,
                  GError     **error)
{
  g_autoptr(GPtrArray) out = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autofree char *exact = NULL, *fuzzy = NULL;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  g_return_val_if_fail (query != NULL, NULL);

  if (strlen (query) > MAX_QUERY_BYTES || !g_utf8_validate (query, -1, NULL))
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                   _("search: the query must be valid text of at most %d bytes"), MAX_QUERY_BYTES);
      return NULL;
    }

  rfl_store_lock (self);
  if (!rfl_store_check_open (self, error))
    goto out;

  out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  {
    /* Transliterated once, for both stages. */
    g_autofree char *latin = rfl_names_to_latin (self->names, query);
    g_auto(GStrv) words = rfl_names_tokenize (latin);

    exact = build_match (words, FALSE);
    fuzzy = build_match (words, TRUE);
  }
  if (exact != NULL &&
      (!search_stage (self, exact, limit, out, seen, error) ||
       (out->len < limit && !search_stage (self, fuzzy, limit, out, seen, error))))
    {
      g_clear_pointer (&out, g_ptr_array_unref);
      goto out;
    }

  if (!audit_now (self, "search", NULL, query, error))
    g_clear_pointer (&out, g_ptr_array_unref);
out:
  rfl_store_unlock (self);
  return g_steal_pointer (&out);
}

/**
 * rfl_store_export:
 * @self: an open store
 * @func: called with each live record, in the shape rfl_store_get() returns
 *   (without the status history); returning %FALSE stops the export
 * @user_data: data for @func
 * @error: return location for an error
 *
 * The export is recorded in the audit log before the first record is read.
 */
gboolean
rfl_store_export (RflStore             *self,
                  RflStoreForeachFunc   func,
                  gpointer              user_data,
                  GError              **error)
{
  g_autoptr(sqlite3_stmt) st = NULL;
  gboolean ok = FALSE;
  int rc;

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (func != NULL, FALSE);

  rfl_store_lock (self);
  if (!rfl_store_check_open (self, error) || !audit_now (self, "export", NULL, "all records", error))
    goto out;
  if (sqlite3_prepare_v2 (self->db, "SELECT id, doc, created_at, updated_at FROM records"
                                    " WHERE cl % 2 = 1 AND doc IS NOT NULL ORDER BY rowid",
                          -1, &st, NULL) != SQLITE_OK)
    {
      rfl_store_sql_fail (self, error, "exporting records");
      goto out;
    }
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      g_autoptr(JsonObject) doc = rfl_parse_doc ((const char *) sqlite3_column_text (st, 1));
      g_autoptr(JsonObject) rec = json_object_new ();
      g_autofree char *created = iso_from_ms (sqlite3_column_int64 (st, 2));
      g_autofree char *updated = iso_from_ms (sqlite3_column_int64 (st, 3));

      if (doc == NULL)
        continue;
      json_object_set_string_member (rec, "id", (const char *) sqlite3_column_text (st, 0));
      copy_members (rec, doc);
      json_object_set_string_member (rec, "created_at", created);
      json_object_set_string_member (rec, "updated_at", updated);
      if (!func (rec, user_data))
        break;
    }
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    rfl_store_sql_fail (self, error, "exporting records");
  else
    ok = TRUE;

out:
  rfl_store_unlock (self);
  return ok;
}

static char *
import_key (const char *source)
{
  return g_strconcat ("import:", source, NULL);
}

struct _RflStoreBatch
{
  GPtrArray *records;   /* Prepared */
};

void
rfl_store_batch_free (RflStoreBatch *batch)
{
  if (batch == NULL)
    return;
  g_ptr_array_unref (batch->records);
  g_free (batch);
}

guint
rfl_store_batch_get_length (RflStoreBatch *batch)
{
  g_return_val_if_fail (batch != NULL, 0);
  return batch->records->len;
}

/**
 * rfl_store_prepare_batch:
 * @self: a store
 * @records: (element-type JsonObject): new records; defaults and ids are filled in
 * @failed_index: (out) (optional): which record failed
 * @error: return location for an error
 *
 * Validates @records and computes what will be written for them, without
 * touching the database: an importer can prepare the next batch on one
 * thread while rfl_store_write_batch() writes the previous one on another.
 *
 * Returns: (transfer full): the prepared batch, or %NULL if a record is invalid
 */
RflStoreBatch *
rfl_store_prepare_batch (RflStore    *self,
                         GPtrArray   *records,
                         guint       *failed_index,
                         GError     **error)
{
  RflStoreBatch *batch;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  g_return_val_if_fail (records != NULL, NULL);

  batch = g_new0 (RflStoreBatch, 1);
  batch->records = g_ptr_array_new_full (records->len, (GDestroyNotify) prepared_free);
  for (guint i = 0; i < records->len; i++)
    {
      Prepared *p = prepare (self, g_ptr_array_index (records, i), error);

      if (p == NULL)
        {
          if (failed_index != NULL)
            *failed_index = i;
          rfl_store_batch_free (batch);
          return NULL;
        }
      g_ptr_array_add (batch->records, p);
    }
  return batch;
}

/**
 * rfl_store_write_batch:
 * @self: an open store
 * @source: a stable name for the input (a hash of the file), so an
 *   interrupted import can resume
 * @through: the input position this batch ends at, saved with the batch
 * @batch: records from rfl_store_prepare_batch()
 * @failed_index: (out) (optional): which record failed
 * @error: return location for an error
 *
 * Adds all records of @batch in one transaction, or none of them.
 */
gboolean
rfl_store_write_batch (RflStore       *self,
                       const char     *source,
                       guint64         through,
                       RflStoreBatch  *batch,
                       guint          *failed_index,
                       GError        **error)
{
  g_autofree char *key = NULL, *value = NULL, *detail = NULL;
  gboolean ok;
  guint i = 0;

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (source != NULL, FALSE);
  g_return_val_if_fail (batch != NULL, FALSE);

  key = import_key (source);
  value = g_strdup_printf ("%" G_GUINT64_FORMAT, through);
  detail = g_strdup_printf ("%u records from %s through %" G_GUINT64_FORMAT,
                            batch->records->len, source, through);

  rfl_store_lock (self);
  ok = rfl_store_check_open (self, error) && rfl_store_begin (self, error);
  if (ok)
    {
      for (i = 0; ok && i < batch->records->len; i++)
        ok = write_prepared (self, g_ptr_array_index (batch->records, i), error);
      ok = ok && rfl_store_meta_set (self, key, value, error) &&
           rfl_store_audit_append (self, "import", NULL, detail, error) &&
           rfl_store_commit (self, error);
      if (!ok)
        rfl_store_rollback (self);
    }
  rfl_store_unlock (self);

  if (!ok && failed_index != NULL)
    *failed_index = i > 0 ? i - 1 : 0;
  return ok;
}

/**
 * rfl_store_import_batch:
 * @self: an open store
 * @source: see rfl_store_write_batch()
 * @through: see rfl_store_write_batch()
 * @records: (element-type JsonObject): the records to add
 * @failed_index: (out) (optional): which record failed
 * @error: return location for an error
 *
 * Prepares and writes @records in one transaction, or none of them.
 */
gboolean
rfl_store_import_batch (RflStore    *self,
                        const char  *source,
                        guint64      through,
                        GPtrArray   *records,
                        guint       *failed_index,
                        GError     **error)
{
  RflStoreBatch *batch = rfl_store_prepare_batch (self, records, failed_index, error);
  gboolean ok;

  if (batch == NULL)
    return FALSE;
  ok = rfl_store_write_batch (self, source, through, batch, failed_index, error);
  rfl_store_batch_free (batch);
  return ok;
}

guint64
rfl_store_get_import_progress (RflStore   *self,
                               const char *source)
{
  g_autofree char *key = NULL, *value = NULL;

  g_return_val_if_fail (RFL_IS_STORE (self), 0);
  g_return_val_if_fail (source != NULL, 0);

  key = import_key (source);
  rfl_store_lock (self);
  if (self->db != NULL)
    value = rfl_store_meta_get (self, key);
  rfl_store_unlock (self);
  return value != NULL ? g_ascii_strtoull (value, NULL, 10) : 0;
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
  gboolean ok;

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  if (days < 0 || days > 36500)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                   _("a retention period is 0 to %d days"), 36500);
      return FALSE;
    }
  text = g_strdup_printf ("%d", days);
  rfl_store_lock (self);
  ok = rfl_store_check_open (self, error) && rfl_store_begin (self, error);
  if (ok)
    {
      ok = rfl_store_meta_set (self, "retention_days", text, error) &&
           rfl_store_audit_append (self, "retention", NULL, text, error) && rfl_store_commit (self, error);
      if (!ok)
        rfl_store_rollback (self);
    }
  if (ok)
    g_atomic_int_set (&self->retention_days, days);
  rfl_store_unlock (self);
  return ok;
}

/**
 * rfl_store_find_records:
 * @ids: (element-type utf8): record ids
 * @found: (out): the index in @ids of the first that the store holds, if any
 *
 * Looks for records by id, live, deleted or purged: an id the store has
 * used is taken. In one read transaction, for an import to check all its
 * ids before it writes any.
 *
 * Returns: %TRUE if the store holds one of @ids; %FALSE if none, or on error
 */
gboolean
rfl_store_find_records (RflStore   *self,
                        GPtrArray  *ids,
                        guint      *found,
                        GError    **error)
{
  sqlite3_stmt *st;
  gboolean hit = FALSE;

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (ids != NULL && found != NULL, FALSE);

  rfl_store_lock (self);
  if (rfl_store_check_open (self, error) && rfl_store_begin_read (self, error))
    {
      if ((st = rfl_store_stmt (self, "SELECT 1 FROM records WHERE id = ?1", error)) != NULL)
        for (guint i = 0; i < ids->len && !hit; i++)
          {
            rfl_bind_text (st, 1, g_ptr_array_index (ids, i));
            if (sqlite3_step (st) == SQLITE_ROW)
              {
                hit = TRUE;
                *found = i;
              }
            sqlite3_reset (st);
          }
      rfl_store_end_read (self);
    }
  rfl_store_unlock (self);
  return hit;
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
  g_autoptr(GPtrArray) out = NULL;
  g_autoptr(sqlite3_stmt) st = NULL;
  int rc;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  rfl_store_lock (self);
  if (!rfl_store_check_open (self, error))
    goto out;
  if (sqlite3_prepare_v2 (self->db, "SELECT seq, at, actor, action, record_id, detail FROM audit"
                                    " ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
    {
      rfl_store_sql_fail (self, error, "reading the audit log");
      goto out;
    }
  out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      JsonObject *entry = json_object_new ();
      g_autofree char *at = iso_from_ms (sqlite3_column_int64 (st, 1));

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
    {
      rfl_store_sql_fail (self, error, "reading the audit log");
      g_clear_pointer (&out, g_ptr_array_unref);
    }
out:
  rfl_store_unlock (self);
  return g_steal_pointer (&out);
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
  guint8 prev[crypto_generichash_BYTES] = { 0 };
  g_autoptr(sqlite3_stmt) st = NULL;
  gint64 expected_seq = 1, n = 0;
  gboolean ok = FALSE;
  int rc;

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (first_broken != NULL, FALSE);

  *first_broken = 0;
  rfl_store_lock (self);
  if (!rfl_store_check_open (self, error))
    goto out;
  if (sqlite3_prepare_v2 (self->db, "SELECT seq, at, actor, action, record_id, detail, hash"
                                    " FROM audit ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
    {
      rfl_store_sql_fail (self, error, "reading the audit log");
      goto out;
    }
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      guint8 hash[crypto_generichash_BYTES];
      gint64 seq = sqlite3_column_int64 (st, 0);

      audit_hash (prev, seq, sqlite3_column_int64 (st, 1),
                  (const char *) sqlite3_column_text (st, 2),
                  (const char *) sqlite3_column_text (st, 3),
                  (const char *) sqlite3_column_text (st, 4),
                  (const char *) sqlite3_column_text (st, 5), hash);
      n++;
      /* A missing seq means a deleted entry: the chain is broken there too. */
      if (seq != expected_seq || sqlite3_column_bytes (st, 6) != sizeof hash ||
          sodium_memcmp (hash, sqlite3_column_blob (st, 6), sizeof hash) != 0)
        {
          *first_broken = seq != expected_seq && seq > expected_seq ? expected_seq : seq;
          break;
        }
      memcpy (prev, hash, sizeof prev);
      expected_seq++;
    }
  ok = rc == SQLITE_DONE || rc == SQLITE_ROW;
  if (!ok)
    rfl_store_sql_fail (self, error, "reading the audit log");
  else if (*first_broken == 0)
    {
      /* The newest entry must be the one this store last wrote: a truncated tail is a break. */
      g_autofree char *head = rfl_store_meta_get (self, "audit_head");
      gint64 head_seq = head != NULL ? g_ascii_strtoll (head, NULL, 10) : 0;

      if (head_seq > expected_seq - 1)
        *first_broken = expected_seq;
    }
  if (n_entries != NULL)
    *n_entries = n;

out:
  rfl_store_unlock (self);
  return ok;
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
         journal_append (self, id, rowid, "purge", 0, text, NULL, 0, error) &&
         rfl_store_audit_append (self, "purge", id, "retention expired", error);
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
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) rowids = g_array_new (FALSE, FALSE, sizeof (sqlite3_int64));
  g_autofree char *now = NULL;
  sqlite3_stmt *st;
  gint64 purged = -1;
  int rc;

  g_return_val_if_fail (RFL_IS_STORE (self), -1);

  rfl_store_lock (self);
  if (!rfl_store_check_open (self, error) || !rfl_store_begin (self, error))
    goto out;

  now = rfl_store_today (self);
  st = rfl_store_stmt (self, "SELECT id, rowid FROM records WHERE retention_until IS NOT NULL"
                   " AND retention_until < ?1 AND doc IS NOT NULL"
                   " UNION SELECT n.id, n.rowid FROM records n JOIN records r"
                   "  ON n.type = 'note' AND n.doc ->> '$.record' = r.id"
                   " WHERE r.retention_until IS NOT NULL AND r.retention_until < ?1"
                   "  AND n.doc IS NOT NULL", error);
  if (st == NULL)
    goto fail;
  rfl_bind_text (st, 1, now);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      sqlite3_int64 rowid = sqlite3_column_int64 (st, 1);
      g_ptr_array_add (ids, g_strdup ((const char *) sqlite3_column_text (st, 0)));
      g_array_append_val (rowids, rowid);
    }
  sqlite3_reset (st);
  if (rc != SQLITE_DONE)
    {
      rfl_store_sql_fail (self, error, "finding expired records");
      goto fail;
    }

  for (guint i = 0; i < ids->len; i++)
    if (!purge_locked (self, g_ptr_array_index (ids, i), g_array_index (rowids, sqlite3_int64, i), error))
      goto fail;
  if (!rfl_store_commit (self, error))
    goto fail;
  purged = ids->len;
  goto out;

fail:
  rfl_store_rollback (self);
out:
  rfl_store_unlock (self);
  return purged;
}

gint64
rfl_store_get_journal_length (RflStore *self)
{
  sqlite3_stmt *st;
  gint64 n = -1;

  g_return_val_if_fail (RFL_IS_STORE (self), -1);

  rfl_store_lock (self);
  if (self->db != NULL && (st = rfl_store_stmt (self, "SELECT count(*) FROM journal", NULL)) != NULL)
    {
      if (sqlite3_step (st) == SQLITE_ROW)
        n = sqlite3_column_int64 (st, 0);
      sqlite3_reset (st);
    }
  rfl_store_unlock (self);
  return n;
}

/* Opening, creating and migrating. */

static void
finalize_statement (gpointer st)
{
  sqlite3_finalize (st);
}

static void
close_db (RflStore *self)
{
  /* Queued audit entries of reads are written before the key goes. */
  if (self->db != NULL && self->pending.length > 0)
    {
      g_autoptr(GError) error = NULL;

      if (!rfl_store_begin (self, &error) || !rfl_store_commit (self, &error))
        {
          rfl_store_rollback (self);
          g_warning ("%u audit entries could not be written: %s", self->pending.length, error->message);
        }
    }
  g_queue_clear_full (&self->pending, (GDestroyNotify) pending_audit_free);
  g_hash_table_remove_all (self->statements);
  if (self->db != NULL)
    {
      sqlite3_close_v2 (self->db);
      self->db = NULL;
    }
  self->hlc = 0;
}

static char *
pragma_value (sqlite3    *db,
              const char *sql)
{
  g_autoptr(sqlite3_stmt) st = NULL;

  if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step (st) != SQLITE_ROW ||
      sqlite3_column_type (st, 0) == SQLITE_NULL)
    return NULL;
  return g_strdup ((const char *) sqlite3_column_text (st, 0));
}

/* Opens the database and applies the key and every guard of the store. A NULL
 * @data_key opens without encryption (benchmarks only). */
static gboolean
open_db (RflStore      *self,
         const guint8  *data_key,
         gboolean       create,
         GError       **error)
{
  g_autofree char *cipher = NULL, *journal_mode = NULL;
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW |
              (create ? SQLITE_OPEN_CREATE : 0);
  int rc;

  /* Owner only. SQLite gives the -wal and -shm files the database file's
   * mode, so a file made 0600 here keeps all three private; one an older
   * build made 0644 is put right. */
  if (create)
    {
      int fd = g_open (self->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

      if (fd >= 0)
        close (fd);
    }
  else
    {
      GStatBuf st;

      if (g_lstat (self->path, &st) == 0 && S_ISREG (st.st_mode) && (st.st_mode & 077) != 0)
        {
          g_autofree char *wal = g_strconcat (self->path, "-wal", NULL);
          g_autofree char *shm = g_strconcat (self->path, "-shm", NULL);

          g_chmod (self->path, 0600);
          if (g_lstat (wal, &st) == 0 && S_ISREG (st.st_mode))
            g_chmod (wal, 0600);
          if (g_lstat (shm, &st) == 0 && S_ISREG (st.st_mode))
            g_chmod (shm, 0600);
        }
    }
  rc = sqlite3_open_v2 (self->path, &self->db, flags, NULL);
  if (rc != SQLITE_OK)
    {
      g_set_error (error, RFL_STORE_ERROR, rc == SQLITE_CANTOPEN ? RFL_STORE_ERROR_NOT_FOUND
                                                                 : RFL_STORE_ERROR_IO,
                   _("cannot open %s: %s"), self->path,
                   self->db ? sqlite3_errmsg (self->db) : sqlite3_errstr (rc));
      close_db (self);
      return FALSE;
    }
  sqlite3_extended_result_codes (self->db, TRUE);
  sqlite3_busy_timeout (self->db, BUSY_TIMEOUT_MS);
  sqlite3_update_hook (self->db, update_hook, self);
  /* SQLCipher logs decryption failures to stderr; the store reports them
   * itself. In 4.6 the level alone does not silence them: the source does. */
  sqlite3_exec (self->db, "PRAGMA cipher_log_level = NONE", NULL, NULL, NULL);
  sqlite3_exec (self->db, "PRAGMA cipher_log_source = NONE", NULL, NULL, NULL);

  if (data_key != NULL)
    {
      /* A process that loaded plain libsqlite3 first would ignore the key and
       * write plaintext, or crash inside sqlite3_key_v2() on SQLite's handle.
       * SQLCipher answers this pragma before any key is set; SQLite does not. */
      cipher = pragma_value (self->db, "PRAGMA cipher_version");
      if (cipher == NULL)
        {
          g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_ENCRYPTED,
                               _("this program is linked to SQLite without encryption; "
                               "refusing to open the case store"));
          close_db (self);
          return FALSE;
        }
    }

  if (data_key != NULL)
    {
      /* SQLCipher's raw-key form: x'<64 hex digits>', kept in guarded memory. */
      gsize hex_len = RFL_DATA_KEY_BYTES * 2 + 3;
      char *hex = sodium_malloc (hex_len + 1);

      hex[0] = 'x';
      hex[1] = '\'';
      sodium_bin2hex (hex + 2, RFL_DATA_KEY_BYTES * 2 + 1, data_key, RFL_DATA_KEY_BYTES);
      hex[hex_len - 1] = '\'';
      hex[hex_len] = '\0';
      rc = sqlite3_key_v2 (self->db, "main", hex, hex_len);
      sodium_free (hex);
      /* 16 KiB pages: fewer pages to encrypt, authenticate and write per
       * record; a 200,000-record import ran 16% faster than with 4 KiB. The
       * page size is not stored in the encrypted file, so it is set on every
       * open, before the first read. */
      if (rc == SQLITE_OK)
        rc = sqlite3_exec (self->db, "PRAGMA cipher_page_size = " G_STRINGIFY (PAGE_SIZE), NULL, NULL, NULL);
      if (rc != SQLITE_OK)
        {
          rfl_store_sql_fail (self, error, "applying the database key");
          close_db (self);
          return FALSE;
        }
    }
  else if (create)
    {
      /* The unencrypted baseline of the benchmarks uses the same page size. */
      sqlite3_exec (self->db, "PRAGMA page_size = " G_STRINGIFY (PAGE_SIZE), NULL, NULL, NULL);
    }

  /* With a wrong key, opening and keying succeed and the first read fails. */
  rc = sqlite3_exec (self->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    {
      if (rc == SQLITE_NOTADB)
        g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_CORRUPT,
                     _("%s is not a Reunite database or does not match its key file"), self->path);
      else
        rfl_store_sql_fail (self, error, "reading the database");
      close_db (self);
      return FALSE;
    }

  if (sqlite3_exec (self->db,
                    "PRAGMA temp_store = MEMORY;"
                    "PRAGMA secure_delete = ON;"
                    "PRAGMA foreign_keys = ON;"
                    "PRAGMA trusted_schema = OFF;"
                    "PRAGMA cache_size = -" G_STRINGIFY (CACHE_KIB) ";"
                    /* Checkpoints every 80 MiB rather than 4 MiB: 12% faster bulk
                     * imports (measured); the log is cut back to 16 MiB after each. */
                    "PRAGMA wal_autocheckpoint = 5000;"
                    "PRAGMA journal_size_limit = 16777216;",
                    NULL, NULL, NULL) != SQLITE_OK)
    {
      rfl_store_sql_fail (self, error, "configuring the database");
      close_db (self);
      return FALSE;
    }
  if (!rfl_rank_register (self->db))
    {
      rfl_store_sql_fail (self, error, "registering the name search's ranking");
      close_db (self);
      return FALSE;
    }
  journal_mode = pragma_value (self->db, "PRAGMA journal_mode = WAL");
  if (g_strcmp0 (journal_mode, "wal") != 0 ||
      sqlite3_exec (self->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK)
    {
      rfl_store_sql_fail (self, error, "enabling the write-ahead log");
      close_db (self);
      return FALSE;
    }
  return TRUE;
}

static gboolean
create_device (RflStore  *self,
               GError   **error)
{
  guint8 sign_pk[crypto_sign_PUBLICKEYBYTES], box_pk[crypto_box_PUBLICKEYBYTES];
  guint8 id_bytes[DEVICE_ID_BYTES];
  char id_hex[DEVICE_ID_BYTES * 2 + 1];
  guint8 *sign_sk = sodium_malloc (crypto_sign_SECRETKEYBYTES);
  guint8 *box_sk = sodium_malloc (crypto_box_SECRETKEYBYTES);
  sqlite3_stmt *st;
  gboolean ok = FALSE;

  crypto_sign_keypair (sign_pk, sign_sk);
  crypto_box_keypair (box_pk, box_sk);
  /* The device id is a hash of the signing key, so it cannot be claimed without the key. */
  crypto_generichash (id_bytes, sizeof id_bytes, sign_pk, sizeof sign_pk, NULL, 0);
  sodium_bin2hex (id_hex, sizeof id_hex, id_bytes, sizeof id_bytes);

  st = rfl_store_stmt (self, "INSERT INTO device (id, device_id, sign_pk, sign_sk, box_pk, box_sk, created_at)"
                   " VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)", error);
  if (st != NULL)
    {
      rfl_bind_text (st, 1, id_hex);
      sqlite3_bind_blob (st, 2, sign_pk, sizeof sign_pk, SQLITE_STATIC);
      sqlite3_bind_blob (st, 3, sign_sk, crypto_sign_SECRETKEYBYTES, SQLITE_STATIC);
      sqlite3_bind_blob (st, 4, box_pk, sizeof box_pk, SQLITE_STATIC);
      sqlite3_bind_blob (st, 5, box_sk, crypto_box_SECRETKEYBYTES, SQLITE_STATIC);
      sqlite3_bind_int64 (st, 6, rfl_now_ms ());
      ok = sqlite3_step (st) == SQLITE_DONE;
      sqlite3_clear_bindings (st);
      sqlite3_reset (st);
      if (!ok)
        rfl_store_sql_fail (self, error, "creating this device's keys");
    }
  sodium_free (sign_sk);
  sodium_free (box_sk);
  return ok;
}

/* Fills the name index from the records, for databases made before it existed. */
static gboolean
backfill_names (RflStore  *self,
                GError   **error)
{
  g_autoptr(sqlite3_stmt) st = NULL;
  int rc;

  if (sqlite3_prepare_v2 (self->db, "SELECT rowid, doc FROM records WHERE cl % 2 = 1 AND doc IS NOT NULL",
                          -1, &st, NULL) != SQLITE_OK)
    return rfl_store_sql_fail (self, error, "indexing names");
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      g_autoptr(JsonObject) doc = rfl_parse_doc ((const char *) sqlite3_column_text (st, 1));

      if (doc != NULL && !rfl_store_index_record (self, sqlite3_column_int64 (st, 0), doc, error))
        return FALSE;
    }
  if (rc != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "indexing names");
  return TRUE;
}

static gboolean
backfill_hashes (RflStore  *self,
                 GError   **error)
{
  g_autoptr(sqlite3_stmt) st = NULL;
  int rc;

  if (sqlite3_prepare_v2 (self->db, "SELECT rowid FROM records", -1, &st, NULL) != SQLITE_OK)
    return rfl_store_sql_fail (self, error, "hashing records");
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    if (!rfl_store_rehash (self, sqlite3_column_int64 (st, 0), error))
      return FALSE;
  if (rc != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "hashing records");
  return TRUE;
}

/* For tests: every record's hash, computed again from scratch. */
gboolean
rfl_store_rehash_all (RflStore  *self,
                      GError   **error)
{
  gboolean ok;

  rfl_store_lock (self);
  ok = rfl_store_check_open (self, error) && rfl_store_begin (self, error);
  if (ok)
    {
      ok = exec (self, "DELETE FROM hashes", error) && backfill_hashes (self, error) &&
           rfl_store_commit (self, error);
      if (!ok)
        rfl_store_rollback (self);
    }
  rfl_store_unlock (self);
  return ok;
}

static gboolean
migrate (RflStore  *self,
         guint      target,
         GError   **error)
{
  g_autofree char *text = pragma_value (self->db, "PRAGMA user_version");
  guint version = text != NULL ? (guint) g_ascii_strtoull (text, NULL, 10) : 0;

  if (version > RFL_STORE_SCHEMA_VERSION)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TOO_NEW,
                   _("this database was written by a newer Reunite (schema %u, this build knows %u); "
                   "update Reunite"), version, RFL_STORE_SCHEMA_VERSION);
      return FALSE;
    }

  for (; version < target; version++)
    {
      g_autofree char *bump = g_strdup_printf ("PRAGMA user_version = %u", version + 1);

      g_debug ("migrating %s from schema %u to %u", self->path, version, version + 1);
      if (!rfl_store_begin (self, error))
        return FALSE;
      if (!exec (self, migrations[version], error) ||
          (version + 1 == 3 && !backfill_names (self, error)) ||
          (version + 1 == 4 && !backfill_hashes (self, error)) ||
          !exec (self, bump, error) ||
          !rfl_store_commit (self, error))
        {
          g_prefix_error (error, _("upgrading the database to schema %u: "), version + 1);
          rfl_store_rollback (self);
          return FALSE;
        }
    }
  return TRUE;
}

static gboolean
load_identity (RflStore  *self,
               GError   **error)
{
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "SELECT device_id FROM device WHERE id = 1", error)) == NULL)
    return FALSE;
  if (sqlite3_step (st) != SQLITE_ROW)
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_CORRUPT,
                           _("the database has no device identity"));
      return FALSE;
    }
  g_free (self->device_id);
  self->device_id = g_strdup ((const char *) sqlite3_column_text (st, 0));
  sqlite3_reset (st);

  {
    g_autofree char *days = rfl_store_meta_get (self, "retention_days");
    g_atomic_int_set (&self->retention_days,
                      days != NULL ? (gint) g_ascii_strtoll (days, NULL, 10) : DEFAULT_RETENTION);
  }

  /* The clock only moves forward, so the newest journal entry carries its
   * highest value; max(hlc) would read the whole journal. */
  if ((st = rfl_store_stmt (self, "SELECT hlc FROM journal ORDER BY seq DESC LIMIT 1", error)) == NULL)
    return FALSE;
  if (sqlite3_step (st) == SQLITE_ROW)
    self->hlc = (guint64) sqlite3_column_int64 (st, 0);
  sqlite3_reset (st);
  return TRUE;
}

static char *
key_path_for (const char *path)
{
  return g_strconcat (path, ".key", NULL);
}

static RflStore *
store_new (const char *path)
{
  RflStore *self = g_object_new (RFL_TYPE_STORE, NULL);

  self->path = g_strdup (path);
  self->key_path = key_path_for (path);
  return self;
}

static gboolean
check_passphrase (gsize     len,
                  GError  **error)
{
  if (len < RFL_STORE_MIN_PASSPHRASE)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_WEAK_PASSPHRASE,
                   _("the passphrase must be at least %d characters long"), RFL_STORE_MIN_PASSPHRASE);
      return FALSE;
    }
  return TRUE;
}

static void
remove_database_files (const char *path)
{
  static const char * const suffixes[] = { "", "-wal", "-shm", NULL };

  for (guint i = 0; suffixes[i] != NULL; i++)
    {
      g_autofree char *file = g_strconcat (path, suffixes[i], NULL);
      g_unlink (file);
    }
}

static RflStore *
create_full (const char   *path,
             const char   *passphrase,
             gsize         passphrase_len,
             RflKdfLevel   level,
             guint         version,
             gboolean      encrypted,
             GError      **error)
{
  g_autoptr(RflStore) self = NULL;
  g_autofree char *pending_key = NULL;
  guint8 *data_key = NULL;
  gboolean ok;

  if (encrypted && !check_passphrase (passphrase_len, error))
    return NULL;

  self = store_new (path);
  if (g_file_test (path, G_FILE_TEST_EXISTS) || g_file_test (self->key_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_EXISTS,
                   _("%s already exists; open it, or choose another path"), path);
      return NULL;
    }

  /* The key file is written under a temporary name and moved into place only
   * when the database is complete, so a failed create leaves nothing behind. */
  if (encrypted)
    {
      data_key = rfl_keyfile_new_data_key ();
      pending_key = g_strconcat (self->key_path, ".new", NULL);
      if (!rfl_keyfile_write (pending_key, data_key, passphrase, passphrase_len, level, error))
        {
          rfl_keyfile_free_key (data_key);
          return NULL;
        }
    }

  ok = open_db (self, data_key, TRUE, error);
  rfl_keyfile_free_key (data_key);
  ok = ok && migrate (self, version, error);
  if (ok && version >= 1)
    {
      ok = rfl_store_begin (self, error) && create_device (self, error) &&
           rfl_store_meta_set (self, "created_by", PACKAGE_VERSION, error) && rfl_store_commit (self, error);
      if (!ok)
        rfl_store_rollback (self);
    }
  ok = ok && (version < 1 || load_identity (self, error));
  if (ok && encrypted && g_rename (pending_key, self->key_path) != 0)
    {
      int saved = errno;
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_IO,
                   _("cannot save the key file: %s"), g_strerror (saved));
      ok = FALSE;
    }
  if (ok && version >= 2)
    ok = audit_now (self, "init", NULL, self->device_id, error);

  if (!ok)
    {
      close_db (self);
      remove_database_files (path);
      if (pending_key != NULL)
        g_unlink (pending_key);
      return NULL;
    }
  return g_steal_pointer (&self);
}

/**
 * rfl_store_create:
 * @path: where the database goes; the key file is written beside it as PATH.key
 * @passphrase: the passphrase, not necessarily NUL-terminated
 * @passphrase_len: its length in bytes
 * @level: how hard the passphrase is to guess by brute force
 * @error: return location for an error
 *
 * Creates an encrypted case store with a random data key and this device's
 * signing and encryption keys.
 *
 * Returns: (transfer full): the open store, or %NULL on error
 */
RflStore *
rfl_store_create (const char   *path,
                  const char   *passphrase,
                  gsize         passphrase_len,
                  RflKdfLevel   level,
                  GError      **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (passphrase != NULL, NULL);

  return create_full (path, passphrase, passphrase_len, level, RFL_STORE_SCHEMA_VERSION, TRUE, error);
}

/**
 * rfl_store_open:
 * @path: the database
 * @passphrase: the passphrase, not necessarily NUL-terminated
 * @passphrase_len: its length in bytes
 * @error: return location for an error
 *
 * Unlocks the store and upgrades its schema if it was made by an earlier
 * version. A wrong passphrase fails with %RFL_STORE_ERROR_WRONG_PASSPHRASE and
 * changes nothing on disk.
 *
 * Returns: (transfer full): the open store, or %NULL on error
 */
RflStore *
rfl_store_open (const char  *path,
                const char  *passphrase,
                gsize        passphrase_len,
                GError     **error)
{
  g_autoptr(RflStore) self = NULL;
  guint8 *data_key;
  gboolean ok;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (passphrase != NULL, NULL);

  self = store_new (path);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND,
                   _("no case store at %s; create one with 'init'"), path);
      return NULL;
    }
  if ((data_key = rfl_keyfile_unwrap (self->key_path, passphrase, passphrase_len, error)) == NULL)
    return NULL;

  ok = open_db (self, data_key, FALSE, error);
  rfl_keyfile_free_key (data_key);
  if (!ok || !migrate (self, RFL_STORE_SCHEMA_VERSION, error) || !load_identity (self, error))
    {
      close_db (self);
      return NULL;
    }
  return g_steal_pointer (&self);
}

/**
 * rfl_store_change_passphrase:
 * @self: an open store
 * @old_passphrase: the current passphrase, checked again
 * @old_len: its length
 * @new_passphrase: the new passphrase
 * @new_len: its length
 * @level: Argon2id limits for the new passphrase
 * @error: return location for an error
 *
 * Re-wraps the data key under the new passphrase. The database itself is not
 * re-encrypted; the key file is replaced atomically.
 */
gboolean
rfl_store_change_passphrase (RflStore     *self,
                             const char   *old_passphrase,
                             gsize         old_len,
                             const char   *new_passphrase,
                             gsize         new_len,
                             RflKdfLevel   level,
                             GError      **error)
{
  guint8 *data_key;
  gboolean ok;

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (old_passphrase != NULL && new_passphrase != NULL, FALSE);

  if (!check_passphrase (new_len, error))
    return FALSE;

  rfl_store_lock (self);
  ok = rfl_store_check_open (self, error) &&
       (data_key = rfl_keyfile_unwrap (self->key_path, old_passphrase, old_len, error)) != NULL;
  if (ok)
    {
      ok = rfl_keyfile_write (self->key_path, data_key, new_passphrase, new_len, level, error);
      rfl_keyfile_free_key (data_key);
    }
  if (ok)
    ok = audit_now (self, "passwd", NULL, NULL, error);
  rfl_store_unlock (self);
  return ok;
}

/**
 * rfl_store_close:
 * @self: a store
 *
 * Locks the store: closes the database, which wipes SQLCipher's copy of the
 * key. The object stays valid; every operation then fails with
 * %RFL_STORE_ERROR_CLOSED.
 */
void
rfl_store_close (RflStore *self)
{
  g_return_if_fail (RFL_IS_STORE (self));

  rfl_store_lock (self);
  close_db (self);
  rfl_store_unlock (self);
}

gboolean
rfl_store_is_open (RflStore *self)
{
  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  return self->db != NULL;
}

const char *
rfl_store_get_path (RflStore *self)
{
  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  return self->path;
}

const char *
rfl_store_get_device_id (RflStore *self)
{
  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  return self->device_id;
}

/**
 * rfl_store_set_actor:
 * @self: a store
 * @actor: who is working, as the audit log should name them
 */
void
rfl_store_set_actor (RflStore   *self,
                     const char *actor)
{
  g_return_if_fail (RFL_IS_STORE (self));
  g_return_if_fail (actor != NULL);

  rfl_store_lock (self);
  g_free (self->actor);
  self->actor = g_strdup (actor);
  rfl_store_unlock (self);
}

/* Private API for tests and benchmarks. */

RflStore *
rfl_store_create_at_version (const char   *path,
                             const char   *passphrase,
                             gsize         passphrase_len,
                             RflKdfLevel   level,
                             guint         version,
                             GError      **error)
{
  g_return_val_if_fail (version <= RFL_STORE_SCHEMA_VERSION, NULL);
  return create_full (path, passphrase, passphrase_len, level, version, TRUE, error);
}

RflStore *
rfl_store_create_unencrypted (const char  *path,
                              GError     **error)
{
  return create_full (path, "", 0, RFL_KDF_INTERACTIVE, RFL_STORE_SCHEMA_VERSION, FALSE, error);
}

RflStore *
rfl_store_open_unencrypted (const char  *path,
                            GError     **error)
{
  g_autoptr(RflStore) self = store_new (path);

  if (!open_db (self, NULL, FALSE, error) || !migrate (self, RFL_STORE_SCHEMA_VERSION, error) ||
      !load_identity (self, error))
    {
      close_db (self);
      return NULL;
    }
  return g_steal_pointer (&self);
}

char *
rfl_store_dup_pragma (RflStore   *self,
                      const char *pragma)
{
  g_autofree char *sql = g_strdup_printf ("PRAGMA %s", pragma);
  char *value;

  rfl_store_lock (self);
  value = self->db != NULL ? pragma_value (self->db, sql) : NULL;
  rfl_store_unlock (self);
  return value;
}

gboolean
rfl_store_exec (RflStore    *self,
                const char  *sql,
                GError     **error)
{
  gboolean ok;

  rfl_store_lock (self);
  ok = rfl_store_check_open (self, error) && exec (self, sql, error);
  rfl_store_unlock (self);
  return ok;
}

gint64
rfl_store_query_int (RflStore    *self,
                     const char  *sql,
                     GError     **error)
{
  g_autoptr(sqlite3_stmt) st = NULL;
  gint64 value = -1;

  rfl_store_lock (self);
  if (rfl_store_check_open (self, error))
    {
      if (sqlite3_prepare_v2 (self->db, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step (st) != SQLITE_ROW)
        rfl_store_sql_fail (self, error, "running a test query");
      else
        value = sqlite3_column_int64 (st, 0);
    }
  rfl_store_unlock (self);
  return value;
}

void
rfl_store_set_today (RflStore   *self,
                     const char *date)
{
  rfl_store_lock (self);
  g_free (self->today);
  self->today = g_strdup (date);
  rfl_store_unlock (self);
}

/* GObject. */

static void
rfl_store_finalize (GObject *object)
{
  RflStore *self = (RflStore *) object;

  close_db (self);
  g_clear_pointer (&self->statements, g_hash_table_unref);
  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->key_path, g_free);
  g_clear_pointer (&self->device_id, g_free);
  g_clear_pointer (&self->actor, g_free);
  g_clear_pointer (&self->today, g_free);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_rec_mutex_clear (&self->lock);

  G_OBJECT_CLASS (rfl_store_parent_class)->finalize (object);
}

static void
rfl_store_class_init (RflStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rfl_store_finalize;

  /**
   * RflStore::changed:
   *
   * The cases, the journal or the sync state changed: a local write, a
   * merge, an import, a purge, a resolved conflict. Emitted in the main
   * context that was the thread's default when the store object was made,
   * after the transaction committed; writes close together give one
   * emission. Pages that show what the store holds read it again.
   */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                   NULL, G_TYPE_NONE, 0);

  if (sodium_init () < 0)
    g_error ("libsodium could not be initialised");
}

static void
rfl_store_init (RflStore *self)
{
  g_rec_mutex_init (&self->lock);
  self->retention_days = DEFAULT_RETENTION;
  self->statements = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                            finalize_statement);
  self->schema = rfl_schema_get_default ();
  self->names = rfl_names_get_default ();
  self->actor = g_strdup (g_get_user_name ());
  self->context = g_main_context_ref_thread_default ();
}

/* Asynchronous API: the same operations in a worker thread, so a UI thread
 * never waits on Argon2id or the disk. */

typedef struct
{
  char       *path;
  char       *passphrase;   /* sodium_malloc'd */
  gsize       passphrase_len;
  char       *type;
  char       *status;
  char       *id;
  guint       offset;
  guint       limit;
  JsonObject *record;
} TaskData;

static void
task_data_free (TaskData *data)
{
  g_free (data->path);
  if (data->passphrase != NULL)
    sodium_free (data->passphrase);
  g_free (data->type);
  g_free (data->status);
  g_free (data->id);
  g_clear_pointer (&data->record, json_object_unref);
  g_free (data);
}

static void
open_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  TaskData *data = task_data;
  GError *error = NULL;
  RflStore *store;

  store = rfl_store_open (data->path, data->passphrase, data->passphrase_len, &error);
  if (store == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, store, g_object_unref);
}

void
rfl_store_open_async (const char          *path,
                      const char          *passphrase,
                      gsize                passphrase_len,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  TaskData *data;

  g_return_if_fail (path != NULL);
  g_return_if_fail (passphrase != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  data = g_new0 (TaskData, 1);
  data->path = g_strdup (path);
  data->passphrase = sodium_malloc (passphrase_len + 1);
  memcpy (data->passphrase, passphrase, passphrase_len);
  data->passphrase[passphrase_len] = '\0';
  data->passphrase_len = passphrase_len;

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, rfl_store_open_async);
  g_task_set_task_data (task, data, (GDestroyNotify) task_data_free);
  g_task_run_in_thread (task, open_thread);
}

RflStore *
rfl_store_open_finish (GAsyncResult  *result,
                       GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == rfl_store_open_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
list_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  TaskData *data = task_data;
  GError *error = NULL;
  GPtrArray *rows;

  if (g_task_return_error_if_cancelled (task))
    return;
  rows = rfl_store_list (source_object, data->type, data->status, data->offset, data->limit, &error);
  if (rows == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, rows, (GDestroyNotify) g_ptr_array_unref);
}

void
rfl_store_list_async (RflStore            *self,
                      const char          *type,
                      const char          *status,
                      guint                offset,
                      guint                limit,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  TaskData *data;

  g_return_if_fail (RFL_IS_STORE (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  data = g_new0 (TaskData, 1);
  data->type = g_strdup (type);
  data->status = g_strdup (status);
  data->offset = offset;
  data->limit = limit;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rfl_store_list_async);
  g_task_set_task_data (task, data, (GDestroyNotify) task_data_free);
  g_task_run_in_thread (task, list_thread);
}

GPtrArray *
rfl_store_list_finish (RflStore      *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
search_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  TaskData *data = task_data;
  GError *error = NULL;
  GPtrArray *rows;

  /* Typing produces a stream of searches; a superseded one is dropped before it runs. */
  if (g_task_return_error_if_cancelled (task))
    return;
  rows = rfl_store_search (source_object, data->id, data->limit, &error);
  if (rows == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, rows, (GDestroyNotify) g_ptr_array_unref);
}

void
rfl_store_search_async (RflStore            *self,
                        const char          *query,
                        guint                limit,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  TaskData *data;

  g_return_if_fail (RFL_IS_STORE (self));
  g_return_if_fail (query != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  data = g_new0 (TaskData, 1);
  data->id = g_strdup (query);
  data->limit = limit;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rfl_store_search_async);
  g_task_set_task_data (task, data, (GDestroyNotify) task_data_free);
  g_task_run_in_thread (task, search_thread);
}

GPtrArray *
rfl_store_search_finish (RflStore      *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
get_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  TaskData *data = task_data;
  GError *error = NULL;
  g_autoptr(JsonObject) record = NULL;
  g_autoptr(GPtrArray) notes = NULL;
  JsonArray *array;

  if (g_task_return_error_if_cancelled (task))
    return;
  if ((record = rfl_store_get (source_object, data->id, &error)) == NULL ||
      (notes = rfl_store_list_notes (source_object, data->id, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  array = json_array_sized_new (notes->len);
  for (guint i = 0; i < notes->len; i++)
    json_array_add_object_element (array, json_object_ref (g_ptr_array_index (notes, i)));
  json_object_set_array_member (record, "notes", array);
  g_task_return_pointer (task, g_steal_pointer (&record), (GDestroyNotify) json_object_unref);
}

/**
 * rfl_store_get_async:
 * @self: an open store
 * @id: a record id
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the record
 * @user_data: data for @callback
 *
 * Reads a record as rfl_store_get() does, in a worker thread, with the notes
 * about it (rfl_store_list_notes()) in its `notes` member.
 */
void
rfl_store_get_async (RflStore            *self,
                     const char          *id,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  TaskData *data;

  g_return_if_fail (RFL_IS_STORE (self));
  g_return_if_fail (id != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  data = g_new0 (TaskData, 1);
  data->id = g_strdup (id);
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rfl_store_get_async);
  g_task_set_task_data (task, data, (GDestroyNotify) task_data_free);
  g_task_run_in_thread (task, get_thread);
}

/**
 * rfl_store_get_finish:
 *
 * Returns: (transfer full): the record with its notes, or %NULL on error
 */
JsonObject *
rfl_store_get_finish (RflStore      *self,
                      GAsyncResult  *result,
                      GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == rfl_store_get_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
summarize_thread (GTask        *task,
                  gpointer      source_object,
                  gpointer      task_data,
                  GCancellable *cancellable)
{
  TaskData *data = task_data;
  GError *error = NULL;
  JsonObject *summary;

  if (g_task_return_error_if_cancelled (task))
    return;
  if ((summary = rfl_store_summarize (source_object, data->limit, &error)) == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, summary, (GDestroyNotify) json_object_unref);
}

void
rfl_store_summarize_async (RflStore            *self,
                           guint                weeks,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  TaskData *data;

  g_return_if_fail (RFL_IS_STORE (self));
  g_return_if_fail (weeks > 0 && weeks <= 520);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  data = g_new0 (TaskData, 1);
  data->limit = weeks;
  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rfl_store_summarize_async);
  g_task_set_task_data (task, data, (GDestroyNotify) task_data_free);
  g_task_run_in_thread (task, summarize_thread);
}

JsonObject *
rfl_store_summarize_finish (RflStore      *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == rfl_store_summarize_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
save_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  TaskData *data = task_data;
  GError *error = NULL;

  if (data->id == NULL)
    {
      char *id = rfl_store_add (source_object, data->record, &error);

      if (id == NULL)
        g_task_return_error (task, error);
      else
        g_task_return_pointer (task, id, g_free);
    }
  else if (rfl_store_update (source_object, data->id, data->record, &error))
    g_task_return_pointer (task, g_strdup (data->id), g_free);
  else
    g_task_return_error (task, error);
}

/**
 * rfl_store_save_async:
 * @self: an open store
 * @id: (nullable): the record to update, or %NULL to add @record
 * @record: the new record, or a patch for @id
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the record is saved
 * @user_data: data for @callback
 *
 * Adds or updates a record in a worker thread. The record is copied.
 */
void
rfl_store_save_async (RflStore            *self,
                      const char          *id,
                      JsonObject          *record,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(JsonNode) copy = NULL;
  TaskData *data;

  g_return_if_fail (RFL_IS_STORE (self));
  g_return_if_fail (record != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  copy = json_node_copy (json_node_init_object (json_node_alloc (), record));
  data = g_new0 (TaskData, 1);
  data->id = g_strdup (id);
  data->record = json_object_ref (json_node_get_object (copy));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, rfl_store_save_async);
  g_task_set_task_data (task, data, (GDestroyNotify) task_data_free);
  g_task_run_in_thread (task, save_thread);
}

/**
 * rfl_store_save_finish:
 *
 * Returns: (transfer full): the id of the saved record, or %NULL on error
 */
char *
rfl_store_save_finish (RflStore      *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
