/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Migrations and backfills. A database is at the schema version it was last
 * written by (SQLite's user_version); opening it takes it forward one
 * append-only step at a time, in one transaction per step, and fills what a
 * new table or column needs from the records already there. */
#define G_LOG_DOMAIN "rfl-store"

#include "rfl-store-private.h"
#include "rfl-json.h"
#include "rfl-store-testing.h"

#include <sodium.h>
#include <sqlite3.h>
#include <string.h>
#include <glib/gi18n-lib.h>

/* The records whose match proposals are to be made again: written with the
 * name index, so made with it by the migrations before schema 13. */
#define MATCH_STALE_TABLE "CREATE TABLE IF NOT EXISTS match_stale (record_row INTEGER PRIMARY KEY);"

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

  /* 10 -> 11: name keys instead of skeletons (rfl-name-keys.c), which meet
   * across scripts, romanisations and compounds. The rows are made again
   * from the records by backfill_names(). */
  "DELETE FROM names;",

  /* 11 -> 12: each person's sex and years of birth beside the name index,
   * so that matching looks at the people who could be the one sought
   * rather than everyone of the name (rfl-match.c). Filled with the name
   * index, from the records, by backfill_names(). */
  "CREATE TABLE IF NOT EXISTS persons (rowid INTEGER PRIMARY KEY, sex INTEGER NOT NULL,"
  "  born_low INTEGER NOT NULL, born_high INTEGER NOT NULL);"
  "DELETE FROM names;",

  /* 12 -> 13: match proposals kept, one row per pair of persons, so that a
   * list of them costs a read (rfl-proposals.c). A record whose persons
   * changed is marked stale when its name rows are written, and its
   * proposals are made again when someone next asks. Every case is stale
   * at first. Decisions on proposals are match records, and sync. */
  MATCH_STALE_TABLE
  "CREATE TABLE proposals (id TEXT PRIMARY KEY, case_row INTEGER NOT NULL,"
  "  candidate_row INTEGER NOT NULL, score REAL NOT NULL, basis TEXT NOT NULL, doc TEXT NOT NULL);"
  "CREATE INDEX proposals_by_case ON proposals (case_row);"
  "CREATE INDEX proposals_by_candidate ON proposals (candidate_row);"
  "CREATE INDEX proposals_by_score ON proposals (score DESC);"
  "INSERT OR IGNORE INTO match_stale (record_row) SELECT rowid FROM records"
  "  WHERE type IN ('tracing_request', 'registration') AND cl % 2 = 1;",

  /* 13 -> 14: what tracing is for, by week: the people located and the
   * families reunited (a case moved to reunited, or closed as reunited), by
   * when it happened. Queries must repeat the WHERE clause. */
  "CREATE INDEX journal_outcomes ON journal (hlc) WHERE " RFL_JOURNAL_OUTCOME ";",

  /* 14 -> 15: the records merged into a case as duplicates of it
   * (rfl-dedupe.c), whose notes and decisions the case shows as its own.
   * Queries must write the expression as written here. */
  "CREATE INDEX records_merged ON records (doc ->> '$.merged_into') WHERE doc ->> '$.merged_into' IS NOT NULL;",
};

G_STATIC_ASSERT (G_N_ELEMENTS (migrations) == RFL_STORE_SCHEMA_VERSION);

/* Fills the name index from the records, for databases made before it
 * existed or before its rows changed. The persons table is part of it
 * (schema 12), and made here for the migrations before it. */
static gboolean
backfill_names (RflStore  *self,
                GError   **error)
{
  g_autoptr(sqlite3_stmt) st = NULL;
  int rc;

  if (!rfl_store_exec_sql (self, "CREATE TABLE IF NOT EXISTS persons (rowid INTEGER PRIMARY KEY,"
                           " sex INTEGER NOT NULL, born_low INTEGER NOT NULL, born_high INTEGER NOT NULL);"
                           "DELETE FROM persons;" MATCH_STALE_TABLE, error))
    return FALSE;

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
static gboolean
rehash_all_locked (RflStore  *self,
                   gpointer   data,
                   GError   **error)
{
  return rfl_store_exec_sql (self, "DELETE FROM hashes", error) && backfill_hashes (self, error);
}

gboolean
rfl_store_rehash_all (RflStore  *self,
                      GError   **error)
{
  return rfl_store_write (self, rehash_all_locked, NULL, error);
}

gboolean
rfl_store_migrate (RflStore  *self,
                   guint      target,
                   GError   **error)
{
  g_autofree char *text = rfl_db_pragma_value (self->db, "PRAGMA user_version");
  guint version = text != NULL ? (guint) g_ascii_strtoull (text, NULL, 10) : 0;
  /* Migrations 3, 11 and 12 fill the name index afresh: only the last of
   * them on the way needs to. */
  guint last_refill = target >= 12 ? 12 : target >= 11 ? 11 : target >= 3 ? 3 : 0;

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
      if (!rfl_store_exec_sql (self, migrations[version], error) ||
          (version + 1 == last_refill && !backfill_names (self, error)) ||
          (version + 1 == 4 && !backfill_hashes (self, error)) ||
          !rfl_store_exec_sql (self, bump, error) ||
          !rfl_store_commit (self, error))
        {
          g_prefix_error (error, _("upgrading the database to schema %u: "), version + 1);
          rfl_store_rollback (self);
          return FALSE;
        }
    }
  return TRUE;
}
