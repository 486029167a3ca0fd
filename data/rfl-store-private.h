/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Shared between the files that make up RflStore; not installed, not for
 * callers outside data/. The files, each with one concern:
 *
 *   rfl-store.c         the GObject, open and create, keys and passphrase
 *   rfl-store-db.c      the lock, statements, transactions, "changed"
 *   rfl-migrations.c    schema migrations and backfills
 *   rfl-journal.c       the clock, the journal, canonical JSON, hashes, field clocks
 *   rfl-audit.c         the audit chain
 *   rfl-name-index.c    the name index and search
 *   rfl-records.c       the write path, loading a record, batches
 *   rfl-queries.c       lists, counts, notes, summary, export
 *   rfl-purge.c         retention and purge
 *   rfl-store-async.c   the _async/_finish pairs
 *   rfl-op.c            the operation kinds as a table; an operation's wire form
 *   rfl-merge.c         applying a peer's operations (rfl-merge-private.h)
 *   rfl-merge-fields.c  create, update and snapshot, field by field
 *   rfl-conflicts.c     conflicts, shares and resolutions
 *   rfl-state-hash.c    the state hash
 *   rfl-peers.c         peers, roster, settings, re-bases, nonces, tokens
 *   rfl-outbox.c        the outbox and held bundles
 */

#include <sodium.h>
#include <sqlite3.h>

#include "rfl-names.h"
#include "rfl-schema.h"
#include "rfl-store.h"

/* The journal entries that locate a person or reunite a family (a move to
 * the status, or a closure for the reason), as the partial index
 * journal_outcomes (schema 14) holds them. */
#define RFL_JOURNAL_OUTCOME \
  "(changes ->> '$.status' IN ('located', 'reunited') OR changes ->> '$.closure_reason' IN ('located', 'reunited'))"

G_BEGIN_DECLS

#define RFL_STORE_MAX_PERSONS 64   /* name-index rows per record */
#define RFL_STORE_BUSY_TIMEOUT_MS 10000

struct _RflStore
{
  GObject     parent_instance;

  GRecMutex   lock;
  sqlite3    *db;
  GHashTable *statements;   /* static SQL text -> prepared sqlite3_stmt */
  GQueue      pending;      /* audit entries of reads not yet written (PendingAudit) */
  guint       n_flushing;   /* how many of them the open transaction holds */
  char       *path;
  char       *key_path;
  char       *device_id;
  char       *actor;
  char       *today;        /* fixed "today" for tests, or NULL */
  RflSchema  *schema;
  RflNames   *names;
  guint64     hlc;
  gint        retention_days;
  guint       lock_depth;   /* how deep the calling thread holds @lock */
  gboolean    dirty;        /* the open transaction changed cases or sync state */
  gboolean    notifying;    /* a "changed" emission is queued */
  GMainContext *context;    /* where "changed" is emitted */
  /* Group commit (rfl-merge-batch.c): batches that wait while another is
   * merged go in one transaction together. */
  GMutex      group_lock;
  GCond       group_cond;
  GQueue      group_queue;  /* BatchWaiter */
  gboolean    group_busy;   /* a thread is merging a group */
};

G_DEFINE_AUTOPTR_CLEANUP_FUNC (sqlite3_stmt, sqlite3_finalize)

/* One journal entry as written. */
typedef struct
{
  const char     *record_id;
  sqlite3_int64   record_row;
  const char     *op;
  guint64         hlc;
  const char     *device;
  const char     *changes;   /* JSON object */
  const char     *base;      /* JSON object: field -> clock overwritten, or NULL */
  const char     *clocks;    /* JSON object: per-field clocks when they differ, or NULL */
  gint64          cl;        /* the record's causal length after the entry */
  const char     *origin;    /* the peer it came from; NULL when written here */
} RflJournalEntry;

/* Work done with the store's lock held; see rfl_store_read(). */
typedef gboolean (*RflStoreFunc) (RflStore  *self,
                                  gpointer   data,
                                  GError   **error);

G_GNUC_INTERNAL gboolean      rfl_store_read            (RflStore *self, RflStoreFunc func,
                                                         gpointer data, GError **error)
                                                         G_GNUC_WARN_UNUSED_RESULT;
G_GNUC_INTERNAL gboolean      rfl_store_write           (RflStore *self, RflStoreFunc func,
                                                         gpointer data, GError **error)
                                                         G_GNUC_WARN_UNUSED_RESULT;
G_GNUC_INTERNAL void          rfl_store_lock            (RflStore *self);
G_GNUC_INTERNAL void          rfl_store_unlock          (RflStore *self);
G_GNUC_INTERNAL gboolean      rfl_store_may_delete      (RflStore *self, sqlite3_int64 rowid, const char *type,
                                                         const char *status, const char *device);
G_GNUC_INTERNAL gboolean      rfl_store_sql_fail        (RflStore *self, GError **error, const char *what);
G_GNUC_INTERNAL gboolean      rfl_store_check_open      (RflStore *self, GError **error);
G_GNUC_INTERNAL sqlite3_stmt *rfl_store_stmt            (RflStore *self, const char *sql, GError **error);
G_GNUC_INTERNAL gboolean      rfl_store_begin           (RflStore *self, GError **error);
G_GNUC_INTERNAL gboolean      rfl_store_commit          (RflStore *self, GError **error);
G_GNUC_INTERNAL void          rfl_store_rollback        (RflStore *self);
G_GNUC_INTERNAL gboolean      rfl_store_begin_read      (RflStore *self, GError **error);
G_GNUC_INTERNAL char         *rfl_store_today           (RflStore *self);
G_GNUC_INTERNAL void          rfl_store_end_read        (RflStore *self);
G_GNUC_INTERNAL void          rfl_bind_text             (sqlite3_stmt *st, int idx, const char *text);
G_GNUC_INTERNAL char         *rfl_store_meta_get        (RflStore *self, const char *key);
G_GNUC_INTERNAL gboolean      rfl_store_meta_set        (RflStore *self, const char *key,
                                                         const char *value, GError **error);
G_GNUC_INTERNAL gint64        rfl_now_ms                (void);
G_GNUC_INTERNAL guint64       rfl_store_hlc_tick        (RflStore *self);
G_GNUC_INTERNAL gboolean      rfl_store_audit_append    (RflStore *self, const char *action,
                                                         const char *record_id, const char *detail,
                                                         GError **error);
G_GNUC_INTERNAL gboolean      rfl_store_index_record    (RflStore *self, sqlite3_int64 rowid,
                                                         JsonObject *record, GError **error);
G_GNUC_INTERNAL gboolean      rfl_store_unindex_record  (RflStore *self, sqlite3_int64 rowid,
                                                         GError **error);
G_GNUC_INTERNAL gboolean      rfl_store_reindex_record  (RflStore *self, sqlite3_int64 rowid,
                                                         GPtrArray *before, JsonObject *record,
                                                         GError **error);
G_GNUC_INTERNAL JsonObject   *rfl_parse_doc             (const char *text);
G_GNUC_INTERNAL char         *rfl_doc_to_string         (JsonObject *obj);
G_GNUC_INTERNAL void          rfl_store_apply_retention (RflStore *self, JsonObject *record);
G_GNUC_INTERNAL gboolean      rfl_store_journal_write   (RflStore *self, const RflJournalEntry *entry,
                                                         GError **error);
G_GNUC_INTERNAL gboolean      rfl_store_purge_content   (RflStore *self, const char *id,
                                                         sqlite3_int64 rowid, GError **error);
G_GNUC_INTERNAL gboolean      rfl_store_add_locked      (RflStore *self, JsonObject *record, char **id,
                                                         GError **error);
G_GNUC_INTERNAL gboolean      rfl_store_update_locked   (RflStore *self, const char *id,
                                                         JsonObject *patch, GError **error);
G_GNUC_INTERNAL gboolean      rfl_store_restore_locked  (RflStore *self, const char *id,
                                                         JsonObject *patch, GError **error);
G_GNUC_INTERNAL gboolean      rfl_store_delete_locked   (RflStore *self, const char *id, GError **error);
G_GNUC_INTERNAL JsonObject   *rfl_store_load_clocks     (RflStore *self, sqlite3_int64 rowid,
                                                         const char *text, GError **error);

/* The connection (rfl-store-db.c). */
G_GNUC_INTERNAL gboolean      rfl_store_run_write       (RflStore *self, sqlite3_stmt *st, const char *what,
                                                         GError **error);
G_GNUC_INTERNAL gboolean      rfl_store_exec_sql        (RflStore *self, const char *sql, GError **error);
G_GNUC_INTERNAL char         *rfl_db_pragma_value       (sqlite3 *db, const char *sql);
G_GNUC_INTERNAL void          rfl_store_update_hook     (void *data, int op, const char *database,
                                                         const char *table, sqlite3_int64 rowid);
G_GNUC_INTERNAL void          rfl_store_emit_changed    (RflStore *self);

/* Migrations (rfl-migrations.c). */
G_GNUC_INTERNAL gboolean      rfl_store_migrate         (RflStore *self, guint target, GError **error);

/* The audit log (rfl-audit.c). */
G_GNUC_INTERNAL gboolean      rfl_store_audit_read      (RflStore *self, const char *action,
                                                         const char *record_id, const char *detail,
                                                         GError **error);
G_GNUC_INTERNAL gboolean      rfl_store_audit_flush_pending (RflStore *self, GError **error);
G_GNUC_INTERNAL void          rfl_store_audit_drop_flushed  (RflStore *self);
G_GNUC_INTERNAL void          rfl_store_audit_clear_pending (RflStore *self);

/* The journal (rfl-journal.c). */
G_GNUC_INTERNAL char         *rfl_iso_from_ms           (gint64 ms);
G_GNUC_INTERNAL gboolean      rfl_store_journal_append  (RflStore *self, const char *record_id,
                                                         sqlite3_int64 record_row, const char *op,
                                                         guint64 hlc, const char *changes,
                                                         const char *base, gint64 cl, GError **error);
G_GNUC_INTERNAL void          rfl_write_json            (JsonNode *node, gboolean sorted, GString *out);

/* The name index (rfl-name-index.c). */
G_GNUC_INTERNAL GPtrArray    *rfl_store_name_rows       (RflStore *self, JsonObject *record);
G_GNUC_INTERNAL gboolean      rfl_store_write_name_rows (RflStore *self, sqlite3_int64 rowid,
                                                         GPtrArray *rows, GError **error);

/* The record ?1 and the ids of the duplicates merged into it
 * (rfl-dedupe.c), as an SQL list, with the expression records_merged indexes. */
#define RFL_CASE_AND_MERGED \
  "SELECT ?1 UNION ALL SELECT id FROM records WHERE doc ->> '$.merged_into' = ?1" \
  " AND doc ->> '$.merged_into' IS NOT NULL"

/* Records and queries (rfl-records.c, rfl-queries.c). */
typedef struct
{
  sqlite3_int64  rowid;
  const char    *id;          /* borrowed from the caller */
  char          *type;
  char          *status;
  JsonObject    *doc;         /* NULL when purged */
  gint64         created_at;
  gint64         updated_at;
  gint64         cl;          /* causal length: odd while the record lives */
  char          *clocks_text; /* as stored; NULL until derived from the journal */
  JsonObject    *clocks;      /* with RFL_LOAD_CLOCKS */
  char          *owner;
} RflRecordRow;

typedef enum
{
  RFL_LOAD_LIVE   = 0,        /* absent, deleted or purged is an error */
  RFL_LOAD_ANY    = 1 << 0,   /* deleted and purged too; absent is FALSE with no error */
  RFL_LOAD_CLOCKS = 1 << 1,   /* with the field clocks as an object */
} RflLoadFlags;

G_GNUC_INTERNAL void          rfl_record_row_clear      (RflRecordRow *row);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (RflRecordRow, rfl_record_row_clear)
G_GNUC_INTERNAL gboolean      rfl_store_load_record     (RflStore *self, const char *id,
                                                         RflLoadFlags flags, RflRecordRow *row,
                                                         GError **error) G_GNUC_WARN_UNUSED_RESULT;
G_GNUC_INTERNAL void          rfl_json_copy_members     (JsonObject *dst, JsonObject *src);
G_GNUC_INTERNAL JsonObject   *rfl_record_find_person    (JsonObject *doc, const char *person_id);
/* What matching asks of the persons a name search finds (rfl-match.c). */
enum { RFL_SEX_UNKNOWN, RFL_SEX_FEMALE, RFL_SEX_MALE };
typedef struct
{
  int sex;         /* RFL_SEX_*: other sexes are left out */
  int born_low;    /* years of birth, or 0; those further than @tolerance are left out */
  int born_high;
  int tolerance;
} RflPersonBlock;

G_GNUC_INTERNAL void          rfl_person_birth_years    (JsonObject *record, JsonObject *person,
                                                        int *sex, int *born_low, int *born_high);
G_GNUC_INTERNAL GPtrArray    *rfl_store_search_names    (RflStore *self, const char *query, guint limit,
                                                        gboolean summaries, const RflPersonBlock *block,
                                                        GError **error);
/* A proposal's hash of both persons' names, sex and date of birth: kept
 * with it in the proposals table, never shown. */
#define RFL_PROPOSAL_BASIS "$basis"
#define RFL_MATCH_DUPLICATE "duplicate"   /* a proposal's kind: one person registered twice */
G_GNUC_INTERNAL char         *rfl_match_pair_id         (const char *case_a, const char *person_a,
                                                        const char *case_b, const char *person_b);
G_GNUC_INTERNAL GPtrArray    *rfl_match_propose_for_record (RflStore *self, const char *id, JsonObject *record,
                                                           double min_score, GError **error);
G_GNUC_INTERNAL JsonObject   *rfl_match_score_again     (RflStore *self, JsonObject *proposal, double min_score,
                                                        gboolean for_display, GError **error);
G_GNUC_INTERNAL JsonObject   *rfl_store_summary_for_person (RflStore *self, sqlite3_stmt *st,
                                                           const char *person_id, const char *query);

#define RFL_RECORD_HASH_BYTES 32

G_GNUC_INTERNAL void          rfl_canonical_json        (JsonNode *node, GString *out);
G_GNUC_INTERNAL void          rfl_json_string           (const char *text, GString *out);
G_GNUC_INTERNAL char         *rfl_canonical_object      (JsonObject *obj);
G_GNUC_INTERNAL void          rfl_hash_text             (crypto_generichash_state *state, const char *text);
G_GNUC_INTERNAL void          rfl_record_hash           (const char *id, gint64 cl, const char *canonical_doc,
                                                         const char *canonical_clocks, guint8 *out);
G_GNUC_INTERNAL void          rfl_record_hash_objects   (const char *id, gint64 cl, JsonObject *doc,
                                                         JsonObject *clocks, guint8 *out);
G_GNUC_INTERNAL gboolean      rfl_store_put_hash        (RflStore *self, sqlite3_int64 rowid, const char *owner,
                                                         const guint8 *hash, GError **error);
G_GNUC_INTERNAL gboolean      rfl_store_rehash          (RflStore *self, sqlite3_int64 rowid, GError **error);

/* Clocks: a field's clock is [hlc, device]; "" holds the default for fields
 * without their own entry. */
G_GNUC_INTERNAL JsonArray    *rfl_clock_new             (guint64 hlc, const char *device);
G_GNUC_INTERNAL JsonArray    *rfl_clocks_lookup         (JsonObject *clocks, const char *field);
G_GNUC_INTERNAL int           rfl_clock_compare         (JsonArray *a, JsonArray *b);
G_GNUC_INTERNAL gboolean      rfl_clock_is_valid        (JsonNode *node);

/* Operations from peers (rfl-op.c), merge and conflicts (rfl-merge.c,
 * rfl-conflicts.c). */
G_GNUC_INTERNAL char         *rfl_op_from_row           (sqlite3_stmt *st);
G_GNUC_INTERNAL gboolean      rfl_store_add_share       (RflStore *self, sqlite3_int64 rowid,
                                                         const char *office, gboolean *added,
                                                         GError **error);
G_GNUC_INTERNAL gboolean      rfl_store_write_conflict  (RflStore *self, const char *record_id,
                                                         sqlite3_int64 rowid, JsonObject *conflict,
                                                         const char *origin, guint64 hlc,
                                                         const char *device, GError **error);
G_GNUC_INTERNAL gboolean      rfl_store_record_conflict (RflStore *self, const char *record_id,
                                                         RflRecordRow *rec, const char *field,
                                                         JsonNode *win_value, JsonArray *win_clock,
                                                         JsonNode *lose_value, JsonArray *lose_clock,
                                                         GError **error);

G_END_DECLS
