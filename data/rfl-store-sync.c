/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-store"

#include "rfl-store-private.h"
#include "rfl-json.h"
#include "rfl-store-sync.h"
#include "rfl-keyfile-private.h"

#include <sodium.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#define MAX_OP_ID_BYTES 64

/* Keys. */

static gboolean
run_write (RflStore      *self,
           sqlite3_stmt  *st,
           const char    *what,
           GError       **error)
{
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, what);
  return TRUE;
}


void
rfl_device_keys_free (RflDeviceKeys *keys)
{
  if (keys != NULL)
    sodium_free (keys);
}

/* Guarded memory; like g_malloc(), aborts when there is none. */
static RflDeviceKeys *
keys_alloc (void)
{
  RflDeviceKeys *keys = sodium_malloc (sizeof *keys);

  if (keys == NULL)
    g_error ("out of guarded memory for keys");
  return keys;
}

RflDeviceKeys *
rfl_device_keys_copy (const RflDeviceKeys *keys)
{
  RflDeviceKeys *copy = keys_alloc ();

  memcpy (copy, keys, sizeof *copy);
  return copy;
}

/**
 * rfl_store_dup_keys:
 *
 * Returns: (transfer full): this store's key pairs, in guarded memory
 */
RflDeviceKeys *
rfl_store_dup_keys (RflStore  *self,
                    GError   **error)
{
  RflDeviceKeys *keys = NULL;
  sqlite3_stmt *st;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  rfl_store_lock (self);
  if (!rfl_store_check_open (self, error) ||
      (st = rfl_store_stmt (self, "SELECT device_id, sign_pk, sign_sk, box_pk, box_sk FROM device", error)) == NULL)
    goto out;
  if (sqlite3_step (st) != SQLITE_ROW ||
      sqlite3_column_bytes (st, 0) != 32 || sqlite3_column_bytes (st, 1) != 32 ||
      sqlite3_column_bytes (st, 2) != 64 || sqlite3_column_bytes (st, 3) != 32 ||
      sqlite3_column_bytes (st, 4) != 32)
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_CORRUPT,
                           _("this device's keys cannot be read"));
      goto out;
    }
  keys = keys_alloc ();
  memcpy (keys->device_id, sqlite3_column_text (st, 0), 32);
  keys->device_id[32] = '\0';
  memcpy (keys->sign_pk, sqlite3_column_blob (st, 1), 32);
  memcpy (keys->sign_sk, sqlite3_column_blob (st, 2), 64);
  memcpy (keys->box_pk, sqlite3_column_blob (st, 3), 32);
  memcpy (keys->box_sk, sqlite3_column_blob (st, 4), 32);
  sqlite3_reset (st);
out:
  rfl_store_unlock (self);
  return keys;
}

/**
 * rfl_store_destroy_keys:
 *
 * Remote wipe: closes the store and destroys the wrapped data key, so that
 * the database can never be opened again, with any passphrase.
 */
gboolean
rfl_store_destroy_keys (RflStore  *self,
                        GError   **error)
{
  gboolean ok;

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  rfl_store_lock (self);
  rfl_store_close (self);
  ok = rfl_keyfile_destroy (self->key_path, error);
  rfl_store_unlock (self);
  return ok;
}

/* Settings: sync state that is not a table of its own. */

char *
rfl_store_get_setting (RflStore   *self,
                       const char *key)
{
  g_autofree char *name = g_strconcat ("sync.", key, NULL);
  char *value = NULL;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  rfl_store_lock (self);
  if (self->db != NULL)
    value = rfl_store_meta_get (self, name);
  rfl_store_unlock (self);
  return value;
}

gboolean
rfl_store_set_setting (RflStore    *self,
                       const char  *key,
                       const char  *value,
                       GError     **error)
{
  g_autofree char *name = g_strconcat ("sync.", key, NULL);
  gboolean ok;

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  rfl_store_lock (self);
  ok = rfl_store_check_open (self, error) && rfl_store_begin (self, error);
  if (ok)
    {
      if (value != NULL)
        ok = rfl_store_meta_set (self, name, value, error);
      else
        {
          sqlite3_stmt *st = rfl_store_stmt (self, "DELETE FROM meta WHERE key = ?1", error);

          if ((ok = st != NULL))
            {
              rfl_bind_text (st, 1, name);
              ok = run_write (self, st, "saving a setting", error);
            }
        }
      ok = ok && rfl_store_commit (self, error);
      if (!ok)
        rfl_store_rollback (self);
    }
  rfl_store_unlock (self);
  return ok;
}

/* The journal as operations. */

/* A JSON object this store wrote, spliced in as it is; anything else (a
 * redacted entry's NULL) as an empty object. */
static void
append_object_text (GString    *out,
                    const char *text)
{
  gsize len = text != NULL ? strlen (text) : 0;

  if (len >= 2 && text[0] == '{' && text[len - 1] == '}')
    g_string_append_len (out, text, (gssize) len);
  else
    g_string_append (out, "{}");
}

/* One journal row (seq, record_id, op, hlc, device, changes, base, clocks,
 * cl) as the operation bundles carry, in JSON. The documents are copied
 * from the journal, not parsed and written again: a sync reads every row. */
static char *
op_from_row (sqlite3_stmt *st)
{
  GString *out = g_string_sized_new (256 + (gsize) sqlite3_column_bytes (st, 5));

  g_string_append (out, "{\"r\":");
  rfl_json_string ((const char *) sqlite3_column_text (st, 1), out);
  g_string_append (out, ",\"o\":");
  rfl_json_string ((const char *) sqlite3_column_text (st, 2), out);
  g_string_append_printf (out, ",\"h\":%" G_GINT64_FORMAT ",\"d\":", (gint64) sqlite3_column_int64 (st, 3));
  rfl_json_string ((const char *) sqlite3_column_text (st, 4), out);
  g_string_append (out, ",\"c\":");
  append_object_text (out, (const char *) sqlite3_column_text (st, 5));
  if (sqlite3_column_type (st, 6) != SQLITE_NULL)
    {
      g_string_append (out, ",\"b\":");
      append_object_text (out, (const char *) sqlite3_column_text (st, 6));
    }
  if (sqlite3_column_type (st, 7) != SQLITE_NULL)
    {
      g_string_append (out, ",\"k\":");
      append_object_text (out, (const char *) sqlite3_column_text (st, 7));
    }
  if (sqlite3_column_type (st, 8) != SQLITE_NULL)
    g_string_append_printf (out, ",\"l\":%" G_GINT64_FORMAT, (gint64) sqlite3_column_int64 (st, 8));
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
}

/**
 * rfl_store_read_local_ops:
 * @after: the journal seq to start after
 * @max_ops: at most this many
 * @last_seq: (out): the seq of the last operation returned, or @after
 *
 * Returns: (transfer full) (element-type utf8): the operations this device
 *   made itself, each a JSON object, oldest first; those it applied from
 *   peers are not sent back
 */
GPtrArray *
rfl_store_read_local_ops (RflStore  *self,
                          guint64    after,
                          guint      max_ops,
                          guint64   *last_seq,
                          GError   **error)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *st;
  int rc;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  *last_seq = after;
  rfl_store_lock (self);
  if (!rfl_store_check_open (self, error) ||
      (st = rfl_store_stmt (self, "SELECT seq, record_id, op, hlc, device, changes, base, clocks, cl"
                                  " FROM journal WHERE seq > ?1 AND origin IS NULL AND redacted = 0"
                                  " ORDER BY seq LIMIT ?2", error)) == NULL)
    {
      g_clear_pointer (&ops, g_ptr_array_unref);
      goto out;
    }
  sqlite3_bind_int64 (st, 1, (sqlite3_int64) after);
  sqlite3_bind_int64 (st, 2, max_ops);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      g_ptr_array_add (ops, op_from_row (st));
      *last_seq = (guint64) sqlite3_column_int64 (st, 0);
    }
  if (rc != SQLITE_DONE)
    {
      rfl_store_sql_fail (self, error, "reading the journal");
      g_clear_pointer (&ops, g_ptr_array_unref);
    }
out:
  rfl_store_unlock (self);
  return g_steal_pointer (&ops);
}

gint64
rfl_store_count_local_ops (RflStore  *self,
                           guint64    after,
                           GError   **error)
{
  sqlite3_stmt *st;
  gint64 n = -1;

  g_return_val_if_fail (RFL_IS_STORE (self), -1);

  rfl_store_lock (self);
  if (rfl_store_check_open (self, error) &&
      (st = rfl_store_stmt (self, "SELECT count(*) FROM journal WHERE seq > ?1 AND origin IS NULL"
                                  " AND redacted = 0", error)) != NULL)
    {
      sqlite3_bind_int64 (st, 1, (sqlite3_int64) after);
      if (sqlite3_step (st) == SQLITE_ROW)
        n = sqlite3_column_int64 (st, 0);
      else
        rfl_store_sql_fail (self, error, "reading the journal");
    }
  rfl_store_unlock (self);
  return n;
}

/**
 * rfl_store_read_scope_ops:
 * @after: the journal seq to start after
 * @office: the office whose scope is read: records it owns or that were
 *   shared with it
 * @for_device: the device the operations go to; its own are left out,
 *   unless the hub changed them (a clamped clock)
 * @max_ops: at most this many
 * @through: (out): the journal seq the caller has now seen everything
 *   through, in or out of scope
 *
 * Returns: (transfer full) (element-type utf8): the operations, each a JSON
 *   object, oldest first
 */
GPtrArray *
rfl_store_read_scope_ops (RflStore    *self,
                          guint64      after,
                          const char  *office,
                          const char  *for_device,
                          guint        max_ops,
                          guint64     *through,
                          GError     **error)
{
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *st;
  gint64 head = 0;
  int rc;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  g_return_val_if_fail (office != NULL, NULL);

  *through = after;
  rfl_store_lock (self);
  if (!rfl_store_check_open (self, error) || !rfl_store_begin_read (self, error))
    {
      g_clear_pointer (&ops, g_ptr_array_unref);
      goto out;
    }
  if ((st = rfl_store_stmt (self, "SELECT coalesce (max (seq), 0) FROM journal", error)) == NULL ||
      sqlite3_step (st) != SQLITE_ROW)
    goto fail;
  head = sqlite3_column_int64 (st, 0);
  if ((st = rfl_store_stmt (self,
         "SELECT j.seq, j.record_id, j.op, j.hlc, j.device, j.changes, j.base, j.clocks, j.cl"
         " FROM journal j JOIN records r ON r.rowid = j.record_row"
         " WHERE j.seq > ?1 AND j.seq <= ?5 AND j.redacted = 0"
         "   AND (r.owner = ?2 OR EXISTS (SELECT 1 FROM shares s"
         "                                WHERE s.record_row = j.record_row AND s.office = ?2))"
         "   AND (j.device IS NOT ?3 OR j.op IN ('snapshot', 'conflict')"
         "        OR j.changes ->> '$.\"$was\"' IS NOT NULL"
         "        OR j.seq <= (SELECT own_through FROM peers WHERE id = ?3))"
         " ORDER BY j.seq LIMIT ?4", error)) == NULL)
    goto fail;
  sqlite3_bind_int64 (st, 1, (sqlite3_int64) after);
  rfl_bind_text (st, 2, office);
  rfl_bind_text (st, 3, for_device);
  sqlite3_bind_int64 (st, 4, max_ops);
  sqlite3_bind_int64 (st, 5, head);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      g_ptr_array_add (ops, op_from_row (st));
      *through = (guint64) sqlite3_column_int64 (st, 0);
    }
  if (rc != SQLITE_DONE)
    goto fail;
  /* Fewer than asked for: everything up to the head has been looked at. */
  if (ops->len < max_ops)
    *through = MAX (after, (guint64) head);
  rfl_store_end_read (self);
  goto out;

fail:
  rfl_store_sql_fail (self, error, "reading the journal");
  rfl_store_end_read (self);
  g_clear_pointer (&ops, g_ptr_array_unref);
out:
  rfl_store_unlock (self);
  return g_steal_pointer (&ops);
}

/* Merge. */

typedef struct
{
  RflMergeRole    role;
  const char     *peer;
  const char     *office;
  RflMergeStats  *stats;
} ApplyCtx;

typedef struct
{
  sqlite3_int64  rowid;
  const char    *id;
  char          *type;
  JsonObject    *doc;       /* NULL when purged */
  JsonObject    *clocks;
  gint64         cl;
  char          *owner;
} Rec;

static void
rec_clear (Rec *rec)
{
  g_clear_pointer (&rec->type, g_free);
  g_clear_pointer (&rec->doc, json_object_unref);
  g_clear_pointer (&rec->clocks, json_object_unref);
  g_clear_pointer (&rec->owner, g_free);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Rec, rec_clear)

/* Loads any record, deleted or purged too. Returns FALSE with no error when
 * there is none. */
static gboolean
load_rec (RflStore    *self,
          const char  *id,
          Rec         *rec,
          GError     **error)
{
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "SELECT rowid, type, doc, clocks, cl, owner FROM records"
                                  " WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, id);
  if (sqlite3_step (st) != SQLITE_ROW)
    return FALSE;
  rec->id = id;
  rec->rowid = sqlite3_column_int64 (st, 0);
  rec->type = g_strdup ((const char *) sqlite3_column_text (st, 1));
  rec->doc = rfl_parse_doc ((const char *) sqlite3_column_text (st, 2));
  rec->cl = sqlite3_column_int64 (st, 4);
  rec->owner = g_strdup ((const char *) sqlite3_column_text (st, 5));
  {
    g_autofree char *clocks = g_strdup ((const char *) sqlite3_column_text (st, 3));
    rec->clocks = rfl_store_load_clocks (self, rec->rowid, clocks, error);
  }
  return rec->clocks != NULL;
}

static gboolean
in_scope (RflStore       *self,
          sqlite3_int64   rowid,
          const char     *owner,
          const char     *office)
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

static gboolean
add_share (RflStore       *self,
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
static gboolean
add_shares_from (RflStore       *self,
                 sqlite3_int64   rowid,
                 JsonObject     *c,
                 GError        **error)
{
  JsonNode *node = json_object_get_member (c, "$shares");
  JsonArray *shares;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return TRUE;
  shares = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (shares); i++)
    {
      JsonNode *office = json_array_get_element (shares, i);

      if (json_node_get_value_type (office) == G_TYPE_STRING && *json_node_get_string (office) != '\0' &&
          strlen (json_node_get_string (office)) <= 200 &&
          !add_share (self, rowid, json_node_get_string (office), NULL, error))
        return FALSE;
    }
  return TRUE;
}

static JsonArray *
shares_of (RflStore       *self,
           sqlite3_int64   rowid)
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
static gboolean
save_rec (RflStore    *self,
          Rec         *rec,
          gboolean     was_alive,
          GPtrArray   *before,
          GError     **error)
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

static gboolean
insert_rec (RflStore    *self,
            const char  *id,
            Rec         *rec,
            GError     **error)
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

static gboolean
clock_equal (JsonArray *a,
             JsonArray *b)
{
  return rfl_clock_compare (a, b) == 0;
}

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
static gboolean
write_conflict (RflStore       *self,
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
  entry.op = "conflict";
  entry.hlc = hlc;
  entry.device = device;
  entry.changes = text;
  entry.origin = origin;
  return rfl_store_journal_write (self, &entry, error) &&
         rfl_store_audit_append (self, "conflict", record_id, json_object_get_string_member (conflict, "field"), error);
}

static gboolean
record_conflict (RflStore    *self,
                 const char  *record_id,
                 Rec         *rec,
                 const char  *field,
                 JsonNode    *win_value,
                 JsonArray   *win_clock,
                 JsonNode    *lose_value,
                 JsonArray   *lose_clock,
                 GError     **error)
{
  g_autoptr(JsonObject) conflict = json_object_new ();
  g_autofree char *id = g_uuid_string_random ();

  json_object_set_string_member (conflict, "id", id);
  json_object_set_string_member (conflict, "field", field);
  json_object_set_object_member (conflict, "winner", conflict_side (win_value, win_clock));
  json_object_set_object_member (conflict, "loser", conflict_side (lose_value, lose_clock));
  return write_conflict (self, record_id, rec->rowid, conflict, NULL,
                         rfl_store_hlc_tick (self), self->device_id, error);
}

static gboolean
is_clock (JsonNode *node)
{
  JsonArray *a;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;
  a = json_node_get_array (node);
  return json_array_get_length (a) == 2 &&
         json_node_get_value_type (json_array_get_element (a, 0)) == G_TYPE_INT64 &&
         json_node_get_value_type (json_array_get_element (a, 1)) == G_TYPE_STRING;
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
static gboolean
check_merged (RflStore    *self,
              const char  *id,
              const Rec   *rec,
              GError     **error)
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
purge_allowed (RflStore   *self,
               const Rec  *rec,
               JsonObject *changes)
{
  const char *status = rfl_json_string_or (rec->doc, "status", NULL);
  JsonArray *clock = rfl_clocks_lookup (rec->clocks, "status");
  JsonNode *theirs = json_object_get_member (changes, "$status_clock");

  if (g_strcmp0 (rec->type, "note") == 0)
    {
      const char *about = rfl_json_string_or (rec->doc, "record", NULL);
      g_auto(Rec) case_rec = { 0 };

      if (about == NULL || !load_rec (self, about, &case_rec, NULL))
        return FALSE;
      return case_rec.doc == NULL ||
             closing_expired (self, case_rec.type,
                              rfl_json_string_or (case_rec.doc, "status", NULL),
                              rfl_clocks_lookup (case_rec.clocks, "status"));
    }
  if (is_clock (theirs) && json_object_has_member (changes, "$status") &&
      json_node_get_value_type (json_object_get_member (changes, "$status")) == G_TYPE_STRING &&
      rfl_clock_compare (json_node_get_array (theirs), clock) > 0)
    {
      status = json_object_get_string_member (changes, "$status");
      clock = json_node_get_array (theirs);
    }
  return closing_expired (self, rec->type, status, clock);
}

static gboolean
clocks_valid (JsonObject *clocks,
              gboolean    null_allowed)
{
  JsonObjectIter iter;
  JsonNode *clock;

  json_object_iter_init (&iter, clocks);
  while (json_object_iter_next (&iter, NULL, &clock))
    {
      if (null_allowed && JSON_NODE_HOLDS_NULL (clock))
        continue;
      if (!is_clock (clock) || json_array_get_int_element (json_node_get_array (clock), 0) < 0 ||
          strlen (json_array_get_string_element (json_node_get_array (clock), 1)) != 32)
        return FALSE;
    }
  return TRUE;
}

/* Checks the shape of an operation from a peer; nothing else reads it before. */
static gboolean
check_op (JsonNode  *node,
          GError   **error)
{
  static const char * const kinds[] = { "create", "update", "delete", "purge", "share",
                                        "snapshot", "conflict", "resolve", NULL };
  JsonObject *op;
  JsonNode *member;
  const char *text;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    goto bad;
  op = json_node_get_object (node);
  if ((member = json_object_get_member (op, "r")) == NULL ||
      json_node_get_value_type (member) != G_TYPE_STRING ||
      (text = json_node_get_string (member), strlen (text) == 0 || strlen (text) > MAX_OP_ID_BYTES) ||
      (member = json_object_get_member (op, "o")) == NULL ||
      json_node_get_value_type (member) != G_TYPE_STRING ||
      !g_strv_contains (kinds, json_node_get_string (member)) ||
      (member = json_object_get_member (op, "h")) == NULL ||
      json_node_get_value_type (member) != G_TYPE_INT64 || json_node_get_int (member) < 0 ||
      (member = json_object_get_member (op, "d")) == NULL ||
      json_node_get_value_type (member) != G_TYPE_STRING ||
      strlen (json_node_get_string (member)) != 32 ||
      (member = json_object_get_member (op, "c")) == NULL || !JSON_NODE_HOLDS_OBJECT (member))
    goto bad;
  /* Every clock is [h, d]: a non-negative integer and a device id. A base
   * may be null (the field had no value); per-field clocks may not. */
  if ((member = json_object_get_member (op, "b")) != NULL &&
      (!JSON_NODE_HOLDS_OBJECT (member) || !clocks_valid (json_node_get_object (member), TRUE)))
    goto bad;
  if ((member = json_object_get_member (op, "k")) != NULL &&
      (!JSON_NODE_HOLDS_OBJECT (member) || !clocks_valid (json_node_get_object (member), FALSE)))
    goto bad;
  if ((member = json_object_get_member (op, "l")) != NULL &&
      (json_node_get_value_type (member) != G_TYPE_INT64 || json_node_get_int (member) < 1 ||
       json_node_get_int (member) > RFL_MAX_CAUSAL_LENGTH))
    goto bad;
  return TRUE;

bad:
  g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                       _("a bundle holds a malformed operation"));
  return FALSE;
}

/* The clock the sender gave @field, checked. */
static JsonArray *
op_clock (JsonObject *op,
          JsonArray  *default_clock,
          const char *field)
{
  JsonObject *k = json_object_has_member (op, "k") ? json_object_get_object_member (op, "k") : NULL;

  if (k != NULL)
    {
      JsonNode *node = json_object_get_member (k, field);

      if (node == NULL)
        node = json_object_get_member (k, "");
      return is_clock (node) ? json_node_get_array (node) : NULL;
    }
  return default_clock;
}

/* Merges the fields of a create, update or snapshot. */
static gboolean
merge_fields (RflStore       *self,
              const ApplyCtx *ctx,
              const char     *id,
              JsonObject     *op,
              JsonArray      *clock,
              GError        **error)
{
  const char *kind = json_object_get_string_member (op, "o");
  JsonObject *c = json_object_get_object_member (op, "c");
  JsonObject *base = json_object_has_member (op, "b") ? json_object_get_object_member (op, "b") : NULL;
  gint64 op_cl = rfl_json_int_or (op, "l", 1);
  g_autoptr(JsonObject) applied = json_object_new ();
  g_autoptr(JsonObject) applied_clocks = json_object_new ();
  g_auto(Rec) rec = { 0 };
  g_autoptr(GList) fields = json_object_get_members (c);
  g_autoptr(GPtrArray) before = NULL;
  gboolean exists, was_alive, mixed = FALSE, changed = FALSE;
  const char *was = NULL;

  exists = load_rec (self, id, &rec, error);
  if (!exists && error != NULL && *error != NULL)
    return FALSE;
  /* A device writes at the causal length it holds, which HQ, where every
   * change meets, has reached too: one ahead would delete or revive the
   * record behind the lifecycle's back. */
  if (ctx->role == RFL_MERGE_HUB && op_cl > (exists ? rec.cl : 1))
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                           _("the operation's causal length is ahead of the record's"));
      return FALSE;
    }

  if (!exists)
    {
      JsonNode *type = json_object_get_member (c, "type");
      JsonNode *clocks_node = json_object_get_member (op, "k");

      if (g_str_equal (kind, "update") || type == NULL ||
          json_node_get_value_type (type) != G_TYPE_STRING)
        {
          /* A change to a record this replica never had: nothing to attach it to. */
          ctx->stats->skipped++;
          return TRUE;
        }
      rec.type = g_strdup (json_node_get_string (type));
      rec.doc = json_object_new ();
      rec.cl = op_cl;
      if (clocks_node != NULL)
        rec.clocks = json_object_ref (json_node_get_object (clocks_node));
      else
        {
          rec.clocks = json_object_new ();
          json_object_set_array_member (rec.clocks, "", json_array_ref (clock));
        }
      for (GList *l = fields; l != NULL; l = l->next)
        {
          JsonNode *value = json_object_get_member (c, l->data);

          if (((const char *) l->data)[0] == '$' || JSON_NODE_HOLDS_NULL (value))
            continue;
          json_object_set_member (rec.doc, l->data, json_node_copy (value));
          json_object_set_member (applied, l->data, json_node_copy (value));
        }
      /* The hub decides which office a record belongs to: the creator's. */
      if (ctx->role == RFL_MERGE_HUB)
        rec.owner = g_strdup (ctx->office);
      else if (json_object_has_member (c, "$owner"))
        rec.owner = g_strdup (json_object_get_string_member (c, "$owner"));
      if ((rec.cl % 2 == 1 && !check_merged (self, id, &rec, error)) || !insert_rec (self, id, &rec, error))
        return FALSE;
      if (rec.owner != NULL)
        json_object_set_string_member (applied, "$owner", rec.owner);
      if (!add_shares_from (self, rec.rowid, c, error))
        return FALSE;
      if (clocks_node != NULL)
        json_object_set_object_member (applied_clocks, "", json_object_ref (rec.clocks));
      changed = TRUE;
      goto journal;
    }

  if (ctx->role == RFL_MERGE_HUB && !in_scope (self, rec.rowid, rec.owner, ctx->office))
    {
      note_refused (ctx->stats, id);
      return rfl_store_audit_append (self, "refused", id, ctx->peer, error);
    }
  if (rec.doc == NULL)
    {
      /* Purged: its content is gone everywhere and stays gone. */
      ctx->stats->skipped++;
      return TRUE;
    }

  was_alive = rec.cl % 2 == 1;
  if (was_alive)
    before = rfl_schema_collect_persons (self->schema, rec.doc);
  if (json_object_has_member (c, "$was") && ctx->role == RFL_MERGE_DEVICE &&
      g_strcmp0 (json_object_get_string_member (op, "d"), self->device_id) == 0)
    was = "yes";

  for (GList *l = fields; l != NULL; l = l->next)
    {
      const char *field = l->data;
      JsonNode *value = json_object_get_member (c, field);
      JsonArray *rc, *lc;
      int order;

      if (field[0] == '$')
        continue;
      if ((rc = op_clock (op, clock, field)) == NULL)
        {
          g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                               _("a bundle holds a malformed operation"));
          return FALSE;
        }
      lc = rfl_clocks_lookup (rec.clocks, field);
      order = rfl_clock_compare (rc, lc);
      /* The hub clamped this device's own clock: take the hub's version. */
      if (was != NULL && lc != NULL &&
          json_array_get_int_element (lc, 0) == json_object_get_int_member (c, "$was") &&
          g_strcmp0 (json_array_get_string_element (lc, 1), self->device_id) == 0)
        order = 1;
      if (order == 0)
        continue;

      if (ctx->role == RFL_MERGE_HUB && g_str_equal (kind, "update") && lc != NULL)
        {
          JsonNode *b = base != NULL ? json_object_get_member (base, field) : NULL;

          /* The writer overwrote something other than what is here: the two
           * writes were concurrent. The later one wins; the other is kept. */
          if (!is_clock (b) || !clock_equal (json_node_get_array (b), lc))
            {
              JsonNode *mine = json_object_get_member (rec.doc, field);
              gboolean ok = order > 0 ?
                record_conflict (self, id, &rec, field, value, rc, mine, lc, error) :
                record_conflict (self, id, &rec, field, mine, lc, value, rc, error);

              if (!ok)
                return FALSE;
              ctx->stats->conflicts++;
            }
        }
      if (order < 0)
        continue;

      if (JSON_NODE_HOLDS_NULL (value))
        json_object_remove_member (rec.doc, field);
      else
        json_object_set_member (rec.doc, field, json_node_copy (value));
      json_object_set_array_member (rec.clocks, field, json_array_ref (rc));
      json_object_set_member (applied, field, json_node_copy (value));
      if (rc != clock)
        {
          json_object_set_array_member (applied_clocks, field, json_array_ref (rc));
          mixed = TRUE;
        }
      changed = TRUE;
    }

  /* An edit made without knowing of a delete: the record stays deleted,
   * and the edit is kept for a person to look at. */
  if (ctx->role == RFL_MERGE_HUB && g_str_equal (kind, "update") && rec.cl % 2 == 0 && op_cl < rec.cl &&
      json_object_get_size (applied) > 0)
    {
      g_autoptr(JsonNode) deleted = json_node_init_boolean (json_node_alloc (), TRUE);
      g_autoptr(JsonNode) edit = json_node_init_object (json_node_alloc (), applied);
      g_autoptr(JsonArray) now = rfl_clock_new (rfl_store_hlc_tick (self), self->device_id);

      if (!record_conflict (self, id, &rec, "$deleted", deleted, now, edit, clock, error))
        return FALSE;
      ctx->stats->conflicts++;
    }

  if (g_str_equal (kind, "snapshot"))
    {
      JsonNode *shares = json_object_get_member (c, "$shares");

      if (op_cl > rec.cl)
        {
          rec.cl = op_cl;
          changed = TRUE;
        }
      if (rec.owner == NULL && json_object_has_member (c, "$owner"))
        {
          rec.owner = g_strdup (json_object_get_string_member (c, "$owner"));
          changed = TRUE;
        }
      if (shares != NULL && JSON_NODE_HOLDS_ARRAY (shares))
        for (guint i = 0; i < json_array_get_length (json_node_get_array (shares)); i++)
          {
            JsonNode *office = json_array_get_element (json_node_get_array (shares), i);
            gboolean added = FALSE;

            if (json_node_get_value_type (office) == G_TYPE_STRING &&
                !add_share (self, rec.rowid, json_node_get_string (office), &added, error))
              return FALSE;
            changed |= added;
          }
    }

  if (!changed)
    {
      ctx->stats->skipped++;
      return TRUE;
    }
  if ((rec.cl % 2 == 1 && !check_merged (self, id, &rec, error)) || !save_rec (self, &rec, was_alive, before, error))
    return FALSE;

journal:
  ctx->stats->applied++;
  {
    g_autofree char *changes = NULL, *clocks = NULL;
    RflJournalEntry entry = {
      .record_id = id, .record_row = rec.rowid, .op = kind,
      .hlc = (guint64) json_array_get_int_element (clock, 0),
      .device = json_array_get_string_element (clock, 1),
      .cl = rec.cl, .origin = ctx->peer,
    };

    if (json_object_has_member (c, "$was"))
      json_object_set_int_member (applied, "$was", json_object_get_int_member (c, "$was"));
    if (g_str_equal (kind, "snapshot"))
      {
        json_object_set_array_member (applied, "$shares", shares_of (self, rec.rowid));
        if (rec.owner != NULL)
          json_object_set_string_member (applied, "$owner", rec.owner);
      }
    changes = rfl_doc_to_string (applied);
    if (mixed || json_object_get_size (applied_clocks) > 0)
      clocks = rfl_doc_to_string (json_object_has_member (applied_clocks, "") ?
                                  json_object_get_object_member (applied_clocks, "") : applied_clocks);
    entry.changes = changes;
    entry.clocks = clocks;
    if (g_str_equal (kind, "update") && base != NULL)
      {
        g_autofree char *b = rfl_doc_to_string (base);
        entry.base = b;
        return rfl_store_journal_write (self, &entry, error);
      }
    return rfl_store_journal_write (self, &entry, error);
  }
}

/* A snapshot carries all of a record, for an office that gains it by a share. */
static gboolean
journal_snapshot (RflStore    *self,
                  const char  *id,
                  GError     **error)
{
  g_auto(Rec) rec = { 0 };
  g_autoptr(JsonObject) changes = NULL;
  g_autofree char *text = NULL, *clocks = NULL;
  RflJournalEntry entry = { 0 };

  if (!load_rec (self, id, &rec, error) || rec.doc == NULL)
    return error == NULL || *error == NULL;
  changes = json_object_ref (rec.doc);
  json_object_set_array_member (changes, "$shares", shares_of (self, rec.rowid));
  if (rec.owner != NULL)
    json_object_set_string_member (changes, "$owner", rec.owner);
  text = rfl_doc_to_string (changes);
  clocks = rfl_doc_to_string (rec.clocks);
  entry.record_id = id;
  entry.record_row = rec.rowid;
  entry.op = "snapshot";
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
  JsonObject *c = json_object_get_object_member (op, "c");
  const char *type = rfl_json_string_or (c, "$type", NULL);
  const char *status = rfl_json_string_or (c, "$status", NULL);
  JsonNode *clock = json_object_get_member (c, "$status_clock");
  gint64 cl = rfl_json_int_or (op, "l", 1);
  g_autoptr(JsonObject) no_clocks = json_object_new ();
  g_autofree char *changes = rfl_doc_to_string (c);
  g_autofree char *owner = NULL;
  guint8 rhash[RFL_RECORD_HASH_BYTES];
  sqlite3_stmt *st;
  sqlite3_int64 rowid;
  RflJournalEntry entry = {
    .record_id = id, .op = "purge", .hlc = (guint64) json_object_get_int_member (op, "h"),
    .device = json_object_get_string_member (op, "d"), .changes = changes, .cl = cl, .origin = ctx->peer,
  };

  if (type == NULL || !rfl_schema_has_record_type (self->schema, type) || !g_uuid_string_is_valid (id))
    {
      ctx->stats->skipped++;
      return TRUE;
    }
  if (ctx->role == RFL_MERGE_HUB &&
      !closing_expired (self, type, status, is_clock (clock) ? json_node_get_array (clock) : NULL))
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                           _("only a closed record past its retention date may be purged"));
      return FALSE;
    }
  owner = ctx->role == RFL_MERGE_HUB ? g_strdup (ctx->office)
                                     : g_strdup (rfl_json_string_or (c, "$owner", NULL));
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
  if (!rfl_store_put_hash (self, rowid, owner, rhash, error) || !add_shares_from (self, rowid, c, error))
    return FALSE;
  entry.record_row = rowid;
  ctx->stats->applied++;
  return rfl_store_journal_write (self, &entry, error);
}

static gboolean
refuse_delete (RflStore        *self,
               const ApplyCtx  *ctx,
               Rec             *rec,
               gint64           cl,
               GError         **error)
{
  g_autofree char *changes = g_strdup_printf ("{\"$cl\":%" G_GINT64_FORMAT "}", cl + 1);
  g_autofree char *detail = g_strdup_printf ("%s: deleting an open case it did not register", ctx->peer);
  RflJournalEntry entry = {
    .record_id = rec->id, .record_row = rec->rowid, .op = "delete", .hlc = rfl_store_hlc_tick (self),
    .device = self->device_id, .changes = changes, .cl = cl + 1,
  };

  note_refused (ctx->stats, rec->id);
  rec->cl = cl + 1;
  return save_rec (self, rec, TRUE, NULL, error) &&
         rfl_store_journal_write (self, &entry, error) &&
         rfl_store_audit_append (self, "refused", rec->id, detail, error);
}

static gboolean
apply_op (RflStore        *self,
          const ApplyCtx  *ctx,
          JsonObject      *op,
          GError         **error)
{
  const char *id = json_object_get_string_member (op, "r");
  const char *kind = json_object_get_string_member (op, "o");
  const char *device = json_object_get_string_member (op, "d");
  JsonObject *c = json_object_get_object_member (op, "c");
  guint64 hlc = (guint64) json_object_get_int_member (op, "h");
  g_autoptr(JsonArray) clock = NULL;
  g_auto(Rec) rec = { 0 };

  if (ctx->role == RFL_MERGE_HUB)
    {
      guint64 limit = (guint64) (rfl_now_ms () + RFL_MERGE_MAX_SKEW_MS) << 16;

      /* A device speaks only for itself, and only about what it may write. */
      if (g_strcmp0 (device, ctx->peer) != 0 ||
          g_str_equal (kind, "snapshot") || g_str_equal (kind, "conflict"))
        {
          g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                               _("a bundle holds an operation its sender may not make"));
          return FALSE;
        }
      if (hlc > limit)
        {
          json_object_set_int_member (c, "$was", (gint64) hlc);
          hlc = limit;
          ctx->stats->clamped++;
          if (!rfl_store_audit_append (self, "clock-clamped", id, device, error))
            return FALSE;
        }
    }
  if (hlc > self->hlc)
    self->hlc = hlc;
  clock = rfl_clock_new (hlc, device);

  if (g_str_equal (kind, "create") || g_str_equal (kind, "update") || g_str_equal (kind, "snapshot"))
    return merge_fields (self, ctx, id, op, clock, error);

  if (!load_rec (self, id, &rec, error))
    {
      if (error != NULL && *error != NULL)
        return FALSE;
      if (g_str_equal (kind, "purge"))
        return purge_unknown (self, ctx, id, op, error);
      ctx->stats->skipped++;
      return TRUE;
    }
  if (ctx->role == RFL_MERGE_HUB && !in_scope (self, rec.rowid, rec.owner, ctx->office))
    {
      note_refused (ctx->stats, id);
      return rfl_store_audit_append (self, "refused", id, ctx->peer, error);
    }

  {
    g_autofree char *changes = rfl_doc_to_string (c);
    RflJournalEntry entry = {
      .record_id = id, .record_row = rec.rowid, .op = kind, .hlc = hlc, .device = device,
      .changes = changes, .cl = rec.cl, .origin = ctx->peer,
    };

    if (g_str_equal (kind, "delete"))
      {
        JsonNode *cl_node = json_object_get_member (c, "$cl");
        gint64 cl;
        gboolean was_alive = rec.cl % 2 == 1 && rec.doc != NULL;

        if (cl_node == NULL || json_node_get_value_type (cl_node) != G_TYPE_INT64 ||
            (cl = json_node_get_int (cl_node)) < 1 || cl > RFL_MAX_CAUSAL_LENGTH)
          goto bad;
        if (cl <= rec.cl)
          goto known;
        /* From a device, a delete is the next, even length: one that skips
         * ahead, or brings a record back (odd), is HQ's alone to write. */
        if (ctx->role == RFL_MERGE_HUB && (cl != rec.cl + 1 || cl % 2 == 1))
          {
            g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                                 _("a delete must follow the record's causal length"));
            return FALSE;
          }
        /* An open case deleted by a device that did not register it: HQ
         * refuses, and brings the record back on the deleting device too
         * (a causal length past the delete's), so that every replica
         * agrees. */
        if (ctx->role == RFL_MERGE_HUB && cl % 2 == 0 && was_alive &&
            !rfl_store_may_delete (self, rec.rowid, rec.type,
                                   rfl_json_string_or (rec.doc, "status", NULL), device))
          return refuse_delete (self, ctx, &rec, cl, error);
        rec.cl = cl;
        entry.cl = cl;
        if (!save_rec (self, &rec, was_alive, NULL, error))
          return FALSE;
      }
    else if (g_str_equal (kind, "purge"))
      {
        if (rec.doc == NULL)
          goto known;
        /* HQ checks what retention allows before it applies or relays a
         * purge: a record closed long enough ago, or a note about one. */
        if (ctx->role == RFL_MERGE_HUB && !purge_allowed (self, &rec, c))
          {
            g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                                 _("only a closed record past its retention date may be purged"));
            return FALSE;
          }
        /* The offices it was shared with: a share made before the purge
         * travels on its own, but a receiver that never had the record
         * skipped it. */
        if (!rfl_store_purge_content (self, id, rec.rowid, error) || !add_shares_from (self, rec.rowid, c, error))
          return FALSE;
      }
    else if (g_str_equal (kind, "share"))
      {
        const char *office = rfl_json_string_or (c, "$share", NULL);
        gboolean added = FALSE;

        if (office == NULL || *office == '\0')
          goto bad;
        if (!add_share (self, rec.rowid, office, &added, error))
          return FALSE;
        if (!added)
          goto known;
        /* The office gaining the record needs all of it, not just what changes next. */
        if (ctx->role == RFL_MERGE_HUB && !journal_snapshot (self, id, error))
          return FALSE;
      }
    else if (g_str_equal (kind, "conflict"))
      {
        JsonNode *node = json_object_get_member (c, "$conflict");
        JsonObject *conflict;

        if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
          goto bad;
        conflict = json_node_get_object (node);
        if (rfl_json_string_or (conflict, "id", NULL) == NULL ||
            rfl_json_string_or (conflict, "field", NULL) == NULL ||
            !json_object_has_member (conflict, "winner") || !json_object_has_member (conflict, "loser") ||
            !JSON_NODE_HOLDS_OBJECT (json_object_get_member (conflict, "winner")) ||
            !JSON_NODE_HOLDS_OBJECT (json_object_get_member (conflict, "loser")))
          goto bad;
        /* A purged record keeps no conflicts: their values are its content. */
        if (rec.doc == NULL)
          goto known;
        ctx->stats->applied++;
        return write_conflict (self, id, rec.rowid, conflict, ctx->peer, hlc, device, error);
      }
    else if (g_str_equal (kind, "resolve"))
      {
        const char *conflict = rfl_json_string_or (c, "$conflict", NULL);
        const char *choice = rfl_json_string_or (c, "$choice", NULL);
        g_autofree char *clock_text = NULL;
        sqlite3_stmt *st;

        if (conflict == NULL || (g_strcmp0 (choice, "keep") != 0 && g_strcmp0 (choice, "take") != 0))
          goto bad;
        clock_text = g_strdup_printf ("[%" G_GUINT64_FORMAT ",\"%s\"]", hlc, device);
        /* Last resolution wins, as for fields. */
        if ((st = rfl_store_stmt (self, "UPDATE conflicts SET resolution = ?2, resolved_clock = ?3"
                                        " WHERE id = ?1 AND record_row = ?4 AND (resolved_clock IS NULL"
                                        "   OR resolved_clock ->> '$[0]' < ?5"
                                        "   OR (resolved_clock ->> '$[0]' = ?5 AND resolved_clock ->> '$[1]' < ?6))",
                                  error)) == NULL)
          return FALSE;
        rfl_bind_text (st, 1, conflict);
        rfl_bind_text (st, 2, choice);
        rfl_bind_text (st, 3, clock_text);
        sqlite3_bind_int64 (st, 4, rec.rowid);
        sqlite3_bind_int64 (st, 5, (sqlite3_int64) hlc);
        rfl_bind_text (st, 6, device);
        if (sqlite3_step (st) != SQLITE_DONE)
          return rfl_store_sql_fail (self, error, "resolving a conflict");
        if (sqlite3_changes (self->db) == 0)
          goto known;
      }
    ctx->stats->applied++;
    return rfl_store_journal_write (self, &entry, error);
  }

known:
  ctx->stats->skipped++;
  return TRUE;

bad:
  g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                       _("a bundle holds a malformed operation"));
  return FALSE;
}

/**
 * rfl_store_apply_ops:
 * @self: an open store
 * @peer: the peer the bundle came from
 * @seq_from: the bundle's first seq, which must be the next the stream expects
 * @seq_to: its last
 * @hash: the envelope hash, which the stream's next bundle must chain to
 * @ops: the bundle's operations, as the peer sent them
 * @role: how to merge them
 * @office: for %RFL_MERGE_HUB, the sender's office
 * @stats: (out caller-allocates): what happened
 * @error: return location for an error
 *
 * Applies a bundle and advances the stream, in one transaction: after a
 * crash either both happened or neither did, so the bundle is applied
 * exactly once.
 */
gboolean
rfl_store_apply_ops (RflStore       *self,
                     const char     *peer,
                     guint64         seq_from,
                     guint64         seq_to,
                     const guint8   *hash,
                     JsonArray      *ops,
                     RflMergeRole    role,
                     const char     *office,
                     RflMergeStats  *stats,
                     GError        **error)
{
  ApplyCtx ctx = { role, peer, office, stats };
  sqlite3_stmt *st;
  gboolean ok;

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (peer != NULL && hash != NULL && ops != NULL && stats != NULL, FALSE);
  g_return_val_if_fail (role != RFL_MERGE_HUB || office != NULL, FALSE);

  memset (stats, 0, sizeof *stats);
  for (guint i = 0; i < json_array_get_length (ops); i++)
    if (!check_op (json_array_get_element (ops, i), error))
      return FALSE;

  rfl_store_lock (self);
  ok = rfl_store_check_open (self, error) && rfl_store_begin (self, error);
  if (!ok)
    goto out;

  if ((st = rfl_store_stmt (self, "SELECT in_next FROM peers WHERE id = ?1", error)) == NULL)
    goto fail;
  rfl_bind_text (st, 1, peer);
  if (sqlite3_step (st) != SQLITE_ROW)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND, _("no peer %s"), peer);
      goto fail;
    }
  if ((guint64) sqlite3_column_int64 (st, 0) != seq_from)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION,
                   _("bundle %llu is not the next from %s"), (unsigned long long) seq_from, peer);
      goto fail;
    }

  /* Each operation in a savepoint: one that is not valid (the schema, the
   * sender's rights) is undone, audited and named, and the rest apply. */
  for (guint i = 0; i < json_array_get_length (ops); i++)
    {
      JsonObject *op = json_array_get_object_element (ops, i);
      g_autoptr(GError) local = NULL;

      if (sqlite3_exec (self->db, "SAVEPOINT rfl_op", NULL, NULL, NULL) != SQLITE_OK)
        {
          rfl_store_sql_fail (self, error, "applying an operation");
          goto fail;
        }
      if (!apply_op (self, &ctx, op, &local))
        {
          g_autofree char *detail = NULL;

          if (!g_error_matches (local, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID) ||
              sqlite3_exec (self->db, "ROLLBACK TO rfl_op", NULL, NULL, NULL) != SQLITE_OK)
            {
              if (local != NULL)
                g_propagate_error (error, g_steal_pointer (&local));
              else
                rfl_store_sql_fail (self, error, "applying an operation");
              goto fail;
            }
          note_refused (stats, json_object_get_string_member (op, "r"));
          detail = g_strdup_printf ("from %s: %s", peer, local->message);
          if (!rfl_store_audit_append (self, "refused", json_object_get_string_member (op, "r"), detail, error))
            goto fail;
        }
      if (sqlite3_exec (self->db, "RELEASE rfl_op", NULL, NULL, NULL) != SQLITE_OK)
        {
          rfl_store_sql_fail (self, error, "applying an operation");
          goto fail;
        }
    }

  if ((st = rfl_store_stmt (self, "UPDATE peers SET in_next = ?2, in_hash = ?3, last_seen = ?4"
                                  " WHERE id = ?1", error)) == NULL)
    goto fail;
  rfl_bind_text (st, 1, peer);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64) seq_to + 1);
  sqlite3_bind_blob (st, 3, hash, 32, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 4, rfl_now_ms ());
  if (sqlite3_step (st) != SQLITE_DONE)
    {
      rfl_store_sql_fail (self, error, "advancing the stream");
      goto fail;
    }
  {
    g_autofree char *detail = g_strdup_printf ("from %s: seq %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT
                                               ", %u applied, %u known, %u conflicts, %u refused",
                                               peer, seq_from, seq_to, stats->applied, stats->skipped,
                                               stats->conflicts, stats->refused);
    if (!rfl_store_audit_append (self, "receive", NULL, detail, error))
      goto fail;
  }
  ok = rfl_store_commit (self, error);
  if (!ok)
    rfl_store_rollback (self);
  goto out;

fail:
  rfl_store_rollback (self);
  ok = FALSE;
out:
  rfl_store_unlock (self);
  return ok;
}

/* Local operations that only sync has. */

typedef struct
{
  const char *office;
  gboolean    take;
} LocalArgs;

static gboolean
share_locked (RflStore    *self,
              const char  *id,
              const char  *office,
              GError     **error)
{
  g_auto(Rec) rec = { 0 };
  g_autoptr(JsonObject) changes = json_object_new ();
  g_autofree char *text = NULL;
  gboolean added = FALSE;
  RflJournalEntry entry = { 0 };

  if (!load_rec (self, id, &rec, error))
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
  if (!add_share (self, rec.rowid, office, &added, error))
    return FALSE;
  if (!added)
    return TRUE;
  json_object_set_string_member (changes, "$share", office);
  text = rfl_doc_to_string (changes);
  entry.record_id = id;
  entry.record_row = rec.rowid;
  entry.op = "share";
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
  gboolean ok;

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  if (office == NULL || *office == '\0' || strlen (office) > 200)
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID, _("an office name is needed"));
      return FALSE;
    }
  rfl_store_lock (self);
  ok = rfl_store_check_open (self, error) && rfl_store_begin (self, error);
  if (ok)
    {
      ok = share_locked (self, id, office, error) && rfl_store_commit (self, error);
      if (!ok)
        rfl_store_rollback (self);
    }
  rfl_store_unlock (self);
  return ok;
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
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  sqlite3_stmt *st;
  int rc;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  rfl_store_lock (self);
  if (!rfl_store_check_open (self, error) ||
      (st = rfl_store_stmt (self, "SELECT id, record_id, field, winner, loser, resolution FROM conflicts"
                                  " WHERE ?1 OR resolution IS NULL ORDER BY created_at, id", error)) == NULL)
    {
      g_clear_pointer (&out, g_ptr_array_unref);
      goto out;
    }
  sqlite3_bind_int (st, 1, include_resolved);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (out, conflict_from_row (st));
  if (rc != SQLITE_DONE)
    {
      rfl_store_sql_fail (self, error, "reading conflicts");
      g_clear_pointer (&out, g_ptr_array_unref);
    }
out:
  rfl_store_unlock (self);
  return g_steal_pointer (&out);
}

static gboolean
resolve_locked (RflStore    *self,
                const char  *conflict_id,
                gboolean     take,
                GError     **error)
{
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
  entry.op = "resolve";
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
  gboolean ok;

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (conflict_id != NULL, FALSE);

  rfl_store_lock (self);
  ok = rfl_store_check_open (self, error) && rfl_store_begin (self, error);
  if (ok)
    {
      ok = resolve_locked (self, conflict_id, take, error) && rfl_store_commit (self, error);
      if (!ok)
        rfl_store_rollback (self);
    }
  rfl_store_unlock (self);
  return ok;
}

/* The state hash. */

/**
 * rfl_store_state_hash:
 * @office: (nullable): hash only this office's scope (records it owns or
 *   that were shared with it); %NULL for every record held
 * @n_records: (out) (optional): how many records were hashed
 *
 * A hash of the merged state: for each record, its hash (id, fields, their
 * clocks and its causal length, kept in the hashes table as it is written),
 * the offices it is shared with and its conflicts; the records' digests are
 * added up, so the order they are read in does not matter. Two
 * replicas that have applied the same changes have the same hash, so HQ and
 * a device can compare theirs to find out whether they diverged.
 *
 * Returns: (transfer full): 64 hex digits, or %NULL on error
 */
char *
rfl_store_state_hash (RflStore    *self,
                      const char  *office,
                      guint64     *n_records,
                      GError     **error)
{
  guint8 sum[RFL_RECORD_HASH_BYTES] = { 0 };
  guint8 digest[32];
  char hex[65], count[24];
  g_autoptr(sqlite3_stmt) st = NULL;
  crypto_generichash_state state;
  guint64 n = 0;
  char *out = NULL;
  int rc;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  rfl_store_lock (self);
  if (!rfl_store_check_open (self, error) || !rfl_store_begin_read (self, error))
    goto out;
  if (sqlite3_prepare_v2 (self->db,
        "SELECT h.hash,"
        "  (SELECT group_concat (office, ',') FROM (SELECT office FROM shares s"
        "    WHERE s.record_row = h.record_row ORDER BY office)),"
        "  (SELECT group_concat (id || '=' || coalesce (resolution, ''), ',') FROM (SELECT id, resolution"
        "    FROM conflicts c WHERE c.record_row = h.record_row ORDER BY id))"
        " FROM hashes h WHERE ?1 IS NULL OR h.owner = ?1"
        "   OR h.record_row IN (SELECT record_row FROM shares WHERE office = ?1)", -1, &st, NULL) != SQLITE_OK)
    {
      rfl_store_sql_fail (self, error, "computing the state hash");
      rfl_store_end_read (self);
      goto out;
    }
  rfl_bind_text (st, 1, office);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      guint8 one[RFL_RECORD_HASH_BYTES];
      guint carry = 0;

      /* Each record's hash with its shares and conflicts; the records are
       * combined by addition, so no order is needed. */
      crypto_generichash_init (&state, NULL, 0, sizeof one);
      crypto_generichash_update (&state, sqlite3_column_blob (st, 0), (gsize) sqlite3_column_bytes (st, 0));
      rfl_hash_text (&state, (const char *) sqlite3_column_text (st, 1));
      rfl_hash_text (&state, (const char *) sqlite3_column_text (st, 2));
      crypto_generichash_final (&state, one, sizeof one);
      for (gsize i = 0; i < sizeof sum; i++)
        {
          carry += (guint) sum[i] + one[i];
          sum[i] = (guint8) carry;
          carry >>= 8;
        }
      n++;
    }
  rfl_store_end_read (self);
  if (rc != SQLITE_DONE)
    {
      rfl_store_sql_fail (self, error, "computing the state hash");
      goto out;
    }
  g_snprintf (count, sizeof count, "%" G_GUINT64_FORMAT, n);
  crypto_generichash_init (&state, NULL, 0, sizeof digest);
  rfl_hash_text (&state, "reunite-state-v1");
  rfl_hash_text (&state, count);
  crypto_generichash_update (&state, sum, sizeof sum);
  crypto_generichash_final (&state, digest, sizeof digest);
  sodium_bin2hex (hex, sizeof hex, digest, sizeof digest);
  out = g_strdup (hex);
  if (n_records != NULL)
    *n_records = n;
out:
  rfl_store_unlock (self);
  return out;
}

/**
 * rfl_store_holds_record:
 *
 * Whether any trace of record @id is in this store, deleted or purged too.
 */
gboolean
rfl_store_holds_record (RflStore   *self,
                        const char *id)
{
  sqlite3_stmt *st;
  gboolean found = FALSE;

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  rfl_store_lock (self);
  if (self->db != NULL && (st = rfl_store_stmt (self, "SELECT 1 FROM records WHERE id = ?1", NULL)) != NULL)
    {
      rfl_bind_text (st, 1, id);
      found = sqlite3_step (st) == SQLITE_ROW;
    }
  rfl_store_unlock (self);
  return found;
}

/* Peers. */

void
rfl_peer_free (RflPeer *peer)
{
  if (peer == NULL)
    return;
  g_free (peer->id);
  g_free (peer->role);
  g_free (peer->office);
  g_free (peer->status);
  g_free (peer->url);
  g_free (peer);
}

void
rfl_outbox_item_free (RflOutboxItem *item)
{
  if (item == NULL)
    return;
  g_clear_pointer (&item->envelope, g_bytes_unref);
  g_free (item);
}

/* The roster HQ signs changes with every enrollment and revocation. */
static gboolean
bump_roster (RflStore  *self,
             GError   **error)
{
  g_autofree char *old = rfl_store_meta_get (self, "sync.roster_version");
  g_autofree char *new = g_strdup_printf ("%" G_GUINT64_FORMAT,
                                          (old != NULL ? g_ascii_strtoull (old, NULL, 10) : 0) + 1);

  return rfl_store_meta_set (self, "sync.roster_version", new, error);
}

static gboolean
add_peer_locked (RflStore       *self,
                 const RflPeer  *peer,
                 GError        **error)
{
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "INSERT INTO peers (id, role, office, status, sign_pk, box_pk, url, enrolled_at)"
                                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO UPDATE SET"
                                  " role = excluded.role, office = excluded.office, status = excluded.status,"
                                  " sign_pk = excluded.sign_pk, box_pk = excluded.box_pk, url = excluded.url",
                            error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, peer->id);
  rfl_bind_text (st, 2, peer->role);
  rfl_bind_text (st, 3, peer->office);
  rfl_bind_text (st, 4, peer->status != NULL ? peer->status : "active");
  sqlite3_bind_blob (st, 5, peer->sign_pk, 32, SQLITE_STATIC);
  sqlite3_bind_blob (st, 6, peer->box_pk, 32, SQLITE_STATIC);
  rfl_bind_text (st, 7, peer->url);
  sqlite3_bind_int64 (st, 8, rfl_now_ms ());
  return run_write (self, st, "saving a peer", error) &&
         bump_roster (self, error) &&
         rfl_store_audit_append (self, "peer", NULL, peer->id, error);
}

/* Runs @func with @data in a write transaction. */
typedef gboolean (*LockedFunc) (RflStore *self, gconstpointer data, GError **error);

static gboolean
in_transaction (RflStore      *self,
                LockedFunc     func,
                gconstpointer  data,
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

gboolean
rfl_store_add_peer (RflStore       *self,
                    const RflPeer  *peer,
                    GError        **error)
{
  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (peer != NULL && peer->id != NULL && peer->role != NULL, FALSE);

  return in_transaction (self, (LockedFunc) add_peer_locked, peer, error);
}

static RflPeer *
peer_from_row (sqlite3_stmt *st)
{
  RflPeer *peer = g_new0 (RflPeer, 1);

  peer->id = g_strdup ((const char *) sqlite3_column_text (st, 0));
  peer->role = g_strdup ((const char *) sqlite3_column_text (st, 1));
  peer->office = g_strdup ((const char *) sqlite3_column_text (st, 2));
  peer->status = g_strdup ((const char *) sqlite3_column_text (st, 3));
  if (sqlite3_column_bytes (st, 4) == 32)
    memcpy (peer->sign_pk, sqlite3_column_blob (st, 4), 32);
  if (sqlite3_column_bytes (st, 5) == 32)
    memcpy (peer->box_pk, sqlite3_column_blob (st, 5), 32);
  peer->url = g_strdup ((const char *) sqlite3_column_text (st, 6));
  peer->enrolled_at = sqlite3_column_int64 (st, 7);
  peer->last_seen = sqlite3_column_int64 (st, 8);
  peer->in_next = (guint64) sqlite3_column_int64 (st, 9);
  if (sqlite3_column_bytes (st, 10) == 32)
    memcpy (peer->in_hash, sqlite3_column_blob (st, 10), 32);
  peer->out_next = (guint64) sqlite3_column_int64 (st, 11);
  if (sqlite3_column_bytes (st, 12) == 32)
    memcpy (peer->out_hash, sqlite3_column_blob (st, 12), 32);
  peer->out_through = (guint64) sqlite3_column_int64 (st, 13);
  peer->acked = (guint64) sqlite3_column_int64 (st, 14);
  return peer;
}

#define PEER_COLUMNS "id, role, office, status, sign_pk, box_pk, url, enrolled_at, last_seen," \
                     " in_next, in_hash, out_next, out_hash, out_through, acked"

RflPeer *
rfl_store_get_peer (RflStore    *self,
                    const char  *id,
                    GError     **error)
{
  RflPeer *peer = NULL;
  sqlite3_stmt *st;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  rfl_store_lock (self);
  if (rfl_store_check_open (self, error) &&
      (st = rfl_store_stmt (self, "SELECT " PEER_COLUMNS " FROM peers WHERE id = ?1", error)) != NULL)
    {
      rfl_bind_text (st, 1, id);
      if (sqlite3_step (st) == SQLITE_ROW)
        peer = peer_from_row (st);
      else
        g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND, _("no enrolled device %s"), id);
    }
  rfl_store_unlock (self);
  return peer;
}

/**
 * rfl_store_list_peers:
 * @role: (nullable): only peers with this role
 *
 * Returns: (transfer full) (element-type RflPeer): the peers, in enrollment order
 */
GPtrArray *
rfl_store_list_peers (RflStore    *self,
                      const char  *role,
                      GError     **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_peer_free);
  sqlite3_stmt *st;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  rfl_store_lock (self);
  if (!rfl_store_check_open (self, error) ||
      (st = rfl_store_stmt (self, "SELECT " PEER_COLUMNS " FROM peers WHERE ?1 IS NULL OR role = ?1"
                                  " ORDER BY enrolled_at, id", error)) == NULL)
    g_clear_pointer (&out, g_ptr_array_unref);
  else
    {
      rfl_bind_text (st, 1, role);
      while (sqlite3_step (st) == SQLITE_ROW)
        g_ptr_array_add (out, peer_from_row (st));
    }
  rfl_store_unlock (self);
  return g_steal_pointer (&out);
}

typedef struct
{
  const char *id;
  const char *status;
} StatusArgs;

static gboolean
peer_has_status (RflStore   *self,
                 const char *id,
                 const char *status)
{
  sqlite3_stmt *st = rfl_store_stmt (self, "SELECT 1 FROM peers WHERE id = ?1 AND status = ?2", NULL);
  gboolean found;

  if (st == NULL)
    return FALSE;
  rfl_bind_text (st, 1, id);
  rfl_bind_text (st, 2, status);
  found = sqlite3_step (st) == SQLITE_ROW;
  sqlite3_reset (st);
  return found;
}

static gboolean
set_status_locked (RflStore          *self,
                   const StatusArgs  *args,
                   GError           **error)
{
  sqlite3_stmt *st;

  /* Revocation is for good: nothing sets a revoked device's status again. */
  if ((st = rfl_store_stmt (self, "UPDATE peers SET status = ?2 WHERE id = ?1 AND status != 'revoked'",
                            error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->id);
  rfl_bind_text (st, 2, args->status);
  if (!run_write (self, st, "saving a peer", error))
    return FALSE;
  if (sqlite3_changes (self->db) == 0)
    {
      if (peer_has_status (self, args->id, "revoked"))
        g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION, _("device %s was revoked"), args->id);
      else
        g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND, _("no enrolled device %s"), args->id);
      return FALSE;
    }
  return bump_roster (self, error) &&
         rfl_store_audit_append (self, args->status, NULL, args->id, error);
}

gboolean
rfl_store_set_peer_status (RflStore    *self,
                           const char  *id,
                           const char  *status,
                           GError     **error)
{
  StatusArgs args = { id, status };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  return in_transaction (self, (LockedFunc) set_status_locked, &args, error);
}

typedef struct
{
  const char *id;
  const char *office;
} MoveArgs;

static gboolean
move_locked (RflStore        *self,
             const MoveArgs  *args,
             GError         **error)
{
  g_autofree char *detail = NULL;
  g_autofree char *from = NULL;
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "SELECT office, status FROM peers WHERE id = ?1 AND role = 'device'",
                            error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->id);
  if (sqlite3_step (st) != SQLITE_ROW)
    {
      sqlite3_reset (st);
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND, _("no enrolled device %s"), args->id);
      return FALSE;
    }
  from = g_strdup ((const char *) sqlite3_column_text (st, 0));
  if (g_strcmp0 ((const char *) sqlite3_column_text (st, 1), "active") != 0)
    {
      sqlite3_reset (st);
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION, _("device %s was revoked"), args->id);
      return FALSE;
    }
  sqlite3_reset (st);
  if ((st = rfl_store_stmt (self, "UPDATE peers SET office = ?2 WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->id);
  rfl_bind_text (st, 2, args->office);
  detail = g_strdup_printf ("%s office %s -> %s", args->id, from, args->office);
  return run_write (self, st, "saving a peer", error) &&
         bump_roster (self, error) &&
         rfl_store_audit_append (self, "move", NULL, detail, error);
}

/**
 * rfl_store_move_peer:
 * @id: an active device
 * @office: the office it works for from now on
 *
 * Moves a device to another office: the operator's decision, audited, and
 * never a side effect of enrolling.
 */
gboolean
rfl_store_move_peer (RflStore    *self,
                     const char  *id,
                     const char  *office,
                     GError     **error)
{
  MoveArgs args = { id, office };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  if (office == NULL || *office == '\0')
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID, _("an office name is needed"));
      return FALSE;
    }
  return in_transaction (self, (LockedFunc) move_locked, &args, error);
}

typedef struct
{
  const char *id;
  guint64     through;
} ThroughArgs;

static gboolean
through_locked (RflStore           *self,
                const ThroughArgs  *args,
                GError            **error)
{
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "UPDATE peers SET out_through = ?2 WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->id);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64) args->through);
  return run_write (self, st, "saving a peer", error);
}

/**
 * rfl_store_set_peer_through:
 *
 * Records that the journal up to @through holds nothing more for the peer.
 */
gboolean
rfl_store_set_peer_through (RflStore    *self,
                            const char  *id,
                            guint64      through,
                            GError     **error)
{
  ThroughArgs args = { id, through };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  return in_transaction (self, (LockedFunc) through_locked, &args, error);
}

static gboolean
touch_locked (RflStore    *self,
              const char  *id,
              GError     **error)
{
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "UPDATE peers SET last_seen = ?2 WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, id);
  sqlite3_bind_int64 (st, 2, rfl_now_ms ());
  return run_write (self, st, "saving a peer", error);
}

gboolean
rfl_store_touch_peer (RflStore    *self,
                      const char  *id,
                      GError     **error)
{
  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  return in_transaction (self, (LockedFunc) touch_locked, id, error);
}

/* Restores. */

/* A re-base starts both streams with @peer again from where HQ has them:
 * the bundles sealed for it or held from it go. */
static gboolean
drop_bundles (RflStore    *self,
              const char  *peer,
              GError     **error)
{
  static const char * const sql[] = {
    "DELETE FROM outbox WHERE peer = ?1",
    "DELETE FROM held WHERE peer = ?1",
  };

  for (guint i = 0; i < G_N_ELEMENTS (sql); i++)
    {
      sqlite3_stmt *st = rfl_store_stmt (self, sql[i], error);

      if (st == NULL)
        return FALSE;
      rfl_bind_text (st, 1, peer);
      if (!run_write (self, st, "re-basing the streams", error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
rebase_hub_locked (RflStore    *self,
                   const char  *id,
                   GError     **error)
{
  sqlite3_stmt *st;

  if (!drop_bundles (self, id, error))
    return FALSE;
  if ((st = rfl_store_stmt (self, "UPDATE peers SET acked = out_next - 1, out_through = 0,"
                                  " own_through = (SELECT coalesce (max (seq), 0) FROM journal)"
                                  " WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, id);
  if (!run_write (self, st, "re-basing a device's streams", error))
    return FALSE;
  return rfl_store_audit_append (self, "rebase", NULL, id, error);
}

/**
 * rfl_store_rebase_hub:
 * @id: an enrolled device that says it was restored from an older copy
 *
 * HQ's side of a re-base. The device's stream to HQ stays where HQ has it;
 * the stream to the device goes on from HQ's last bundle, and carries the
 * device's whole scope again, its own operations included, since the copy
 * lacks those made after it was taken. Bundles not yet confirmed are
 * dropped: what they held is sent again.
 */
gboolean
rfl_store_rebase_hub (RflStore    *self,
                      const char  *id,
                      GError     **error)
{
  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  return in_transaction (self, (LockedFunc) rebase_hub_locked, id, error);
}

typedef struct
{
  const char   *hq;
  guint64       received;
  const guint8 *received_hash;
  guint64       sent;
  const guint8 *sent_hash;
} RebaseArgs;

static gboolean
rebase_device_locked (RflStore          *self,
                      const RebaseArgs  *args,
                      GError           **error)
{
  g_autoptr(RflPeer) peer = NULL;
  sqlite3_stmt *st;
  guint64 base;
  gint64 head;

  if ((peer = rfl_store_get_peer (self, args->hq, error)) == NULL)
    return FALSE;
  /* What HQ has of this device's stream: usually at least what it
   * receipted; less if HQ's own database was restored from an older copy,
   * and then this device sends again what HQ lost. */
  base = MIN (peer->acked, args->received);
  if ((st = rfl_store_stmt (self, "SELECT coalesce (max (seq), 0) FROM journal", error)) == NULL ||
      sqlite3_step (st) != SQLITE_ROW)
    return rfl_store_sql_fail (self, error, "reading the journal");
  head = sqlite3_column_int64 (st, 0);
  sqlite3_reset (st);

  /* This device's changes HQ may lack move past what HQ has of its
   * stream, keeping their order and clocks, to be sent again. Moved past
   * the head, they meet no other entry. */
  if ((st = rfl_store_stmt (self, "UPDATE journal SET seq = seq + ?2 WHERE seq > ?1 AND origin IS NULL",
                            error)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, (sqlite3_int64) base);
  sqlite3_bind_int64 (st, 2, MAX (head, (gint64) args->received) - (gint64) base);
  if (!run_write (self, st, "re-basing the journal", error))
    return FALSE;
  /* A marker at the head: new entries follow HQ's seq, and the clock is
   * read from the head when the store opens. It is never sent. */
  if ((st = rfl_store_stmt (self, "INSERT INTO journal (seq, record_id, record_row, op, hlc, device, redacted, origin)"
                                  " VALUES ((SELECT max (coalesce (max (seq), 0), ?1) + 1 FROM journal),"
                                  "         '', 0, 'rebase', ?2, ?3, 1, ?3)", error)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, (sqlite3_int64) args->received);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64) self->hlc);
  rfl_bind_text (st, 3, args->hq);
  if (!run_write (self, st, "re-basing the journal", error))
    return FALSE;

  if (!drop_bundles (self, args->hq, error))
    return FALSE;
  if ((st = rfl_store_stmt (self, "UPDATE peers SET out_next = ?2, out_hash = ?3, out_through = ?4, acked = ?4,"
                                  " in_next = ?5, in_hash = ?6 WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->hq);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64) args->received + 1);
  sqlite3_bind_blob (st, 3, args->received_hash, 32, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 4, (sqlite3_int64) args->received);
  sqlite3_bind_int64 (st, 5, (sqlite3_int64) args->sent + 1);
  sqlite3_bind_blob (st, 6, args->sent_hash, 32, SQLITE_STATIC);
  if (!run_write (self, st, "re-basing the streams", error))
    return FALSE;
  {
    g_autofree char *detail = g_strdup_printf ("on %s: sent through %" G_GUINT64_FORMAT ", received through %"
                                               G_GUINT64_FORMAT "; was %" G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT,
                                               args->hq, args->received, args->sent, peer->acked,
                                               peer->in_next - 1);
    return rfl_store_audit_append (self, "rebase", NULL, detail, error);
  }
}

/**
 * rfl_store_rebase_device:
 * @hq: HQ's id
 * @received: the last seq of this device's stream HQ applied
 * @received_hash: (array fixed-size=32): that bundle's hash
 * @sent: HQ's last bundle to this device
 * @sent_hash: (array fixed-size=32): that bundle's hash
 *
 * A device's side of a re-base, from HQ's verified word: both streams go on
 * from where HQ has them, and this device's changes HQ may lack (those it
 * never confirmed, and any after @received, if HQ lost them to a restore)
 * are renumbered after @received, to be sent again. In one transaction.
 */
gboolean
rfl_store_rebase_device (RflStore      *self,
                         const char    *hq,
                         guint64        received,
                         const guint8  *received_hash,
                         guint64        sent,
                         const guint8  *sent_hash,
                         GError       **error)
{
  RebaseArgs args = { hq, received, received_hash, sent, sent_hash };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  return in_transaction (self, (LockedFunc) rebase_device_locked, &args, error);
}

typedef struct
{
  const char *device;
  const char *nonce;
  gint64      expires;
  gint64      now;
} RequestArgs;

static gboolean
accept_request_locked (RflStore           *self,
                       const RequestArgs  *args,
                       GError            **error)
{
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "DELETE FROM nonces WHERE expires < ?1", error)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, args->now);
  if (!run_write (self, st, "forgetting stale requests", error))
    return FALSE;
  if ((st = rfl_store_stmt (self, "INSERT INTO nonces (device, nonce, expires) VALUES (?1, ?2, ?3)"
                                  " ON CONFLICT DO NOTHING", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->device);
  rfl_bind_text (st, 2, args->nonce);
  sqlite3_bind_int64 (st, 3, args->expires);
  if (!run_write (self, st, "remembering a request", error))
    return FALSE;
  if (sqlite3_changes (self->db) == 0)
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION, _("this request was already received"));
      return FALSE;
    }
  return touch_locked (self, args->device, error);
}

/**
 * rfl_store_accept_request:
 * @device: the device whose request was authenticated
 * @nonce: the request's nonce
 * @expires: until when the nonce must be remembered, seconds since the epoch
 * @now: the time now, in the same unit
 *
 * Remembers, durably and in one transaction with the device's last-seen
 * time, that a request was accepted, so that replaying it fails even
 * after a restart. Forgets the requests that are stale by @now.
 *
 * Returns: %FALSE with %RFL_STORE_ERROR_TRANSITION if it was accepted before
 */
gboolean
rfl_store_accept_request (RflStore    *self,
                          const char  *device,
                          const char  *nonce,
                          gint64       expires,
                          gint64       now,
                          GError     **error)
{
  RequestArgs args = { device, nonce, expires, now };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (device != NULL && nonce != NULL, FALSE);

  return in_transaction (self, (LockedFunc) accept_request_locked, &args, error);
}

/**
 * rfl_store_foreach_request:
 * @now: seconds since the epoch: requests stale by then are left out
 * @func: called with each device id, nonce and expiry
 *
 * Lists the requests accepted and not yet stale, for a server's replay
 * cache when it starts.
 */
gboolean
rfl_store_foreach_request (RflStore          *self,
                           gint64             now,
                           RflRequestFunc     func,
                           gpointer           user_data,
                           GError           **error)
{
  sqlite3_stmt *st;
  gboolean ok;

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  rfl_store_lock (self);
  ok = rfl_store_check_open (self, error) &&
       (st = rfl_store_stmt (self, "SELECT device, nonce, expires FROM nonces WHERE expires >= ?1"
                                   " ORDER BY expires", error)) != NULL;
  if (ok)
    {
      sqlite3_bind_int64 (st, 1, now);
      while (sqlite3_step (st) == SQLITE_ROW)
        func ((const char *) sqlite3_column_text (st, 0), (const char *) sqlite3_column_text (st, 1),
              sqlite3_column_int64 (st, 2), user_data);
      sqlite3_reset (st);
    }
  rfl_store_unlock (self);
  return ok;
}

/* Outbox and held bundles. */

typedef struct
{
  const char          *peer;
  const RflOutboxItem *item;
} OutboxArgs;

static gboolean
outbox_add_locked (RflStore          *self,
                   const OutboxArgs  *args,
                   GError           **error)
{
  sqlite3_stmt *st;
  gsize len;
  gconstpointer data = g_bytes_get_data (args->item->envelope, &len);

  if ((st = rfl_store_stmt (self, "INSERT INTO outbox (peer, seq_from, seq_to, through, hash, envelope)"
                                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->peer);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64) args->item->seq_from);
  sqlite3_bind_int64 (st, 3, (sqlite3_int64) args->item->seq_to);
  sqlite3_bind_int64 (st, 4, (sqlite3_int64) args->item->through);
  sqlite3_bind_blob (st, 5, args->item->hash, 32, SQLITE_STATIC);
  sqlite3_bind_blob64 (st, 6, data, len, SQLITE_STATIC);
  if (!run_write (self, st, "saving a bundle", error))
    return FALSE;
  if ((st = rfl_store_stmt (self, "UPDATE peers SET out_next = ?2, out_hash = ?3, out_through = ?4"
                                  " WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->peer);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64) args->item->seq_to + 1);
  sqlite3_bind_blob (st, 3, args->item->hash, 32, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 4, (sqlite3_int64) args->item->through);
  if (!run_write (self, st, "saving a bundle", error))
    return FALSE;
  {
    g_autofree char *detail = g_strdup_printf ("to %s: seq %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT
                                               ", %zu bytes", args->peer, args->item->seq_from,
                                               args->item->seq_to, g_bytes_get_size (args->item->envelope));
    return rfl_store_audit_append (self, "send", NULL, detail, error);
  }
}

/**
 * rfl_store_outbox_add:
 *
 * Keeps a sealed bundle for @peer until the peer acknowledges it, and
 * advances the outgoing stream past it.
 */
gboolean
rfl_store_outbox_add (RflStore             *self,
                      const char           *peer,
                      const RflOutboxItem  *item,
                      GError              **error)
{
  OutboxArgs args = { peer, item };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  return in_transaction (self, (LockedFunc) outbox_add_locked, &args, error);
}

/**
 * rfl_store_outbox_list:
 *
 * Returns: (transfer full) (element-type RflOutboxItem): the bundles for
 *   @peer not yet acknowledged, oldest first
 */
static RflOutboxItem *
outbox_item_from_row (sqlite3_stmt *st)
{
  RflOutboxItem *item = g_new0 (RflOutboxItem, 1);

  item->seq_from = (guint64) sqlite3_column_int64 (st, 0);
  item->seq_to = (guint64) sqlite3_column_int64 (st, 1);
  item->through = (guint64) sqlite3_column_int64 (st, 2);
  if (sqlite3_column_bytes (st, 3) == 32)
    memcpy (item->hash, sqlite3_column_blob (st, 3), 32);
  item->envelope = g_bytes_new (sqlite3_column_blob (st, 4), (gsize) sqlite3_column_bytes (st, 4));
  return item;
}

GPtrArray *
rfl_store_outbox_list (RflStore    *self,
                       const char  *peer,
                       GError     **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_outbox_item_free);
  sqlite3_stmt *st;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  rfl_store_lock (self);
  if (!rfl_store_check_open (self, error) ||
      (st = rfl_store_stmt (self, "SELECT seq_from, seq_to, through, hash, envelope FROM outbox"
                                  " WHERE peer = ?1 ORDER BY seq_from", error)) == NULL)
    g_clear_pointer (&out, g_ptr_array_unref);
  else
    {
      rfl_bind_text (st, 1, peer);
      while (sqlite3_step (st) == SQLITE_ROW)
        g_ptr_array_add (out, outbox_item_from_row (st));
    }
  rfl_store_unlock (self);
  return g_steal_pointer (&out);
}

/**
 * rfl_store_outbox_next:
 * @after: a seq the peer has
 *
 * Returns: (transfer full) (nullable): the first bundle for @peer that
 *   starts after @after, or %NULL
 */
RflOutboxItem *
rfl_store_outbox_next (RflStore    *self,
                       const char  *peer,
                       guint64      after,
                       GError     **error)
{
  RflOutboxItem *item = NULL;
  sqlite3_stmt *st;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  rfl_store_lock (self);
  if (rfl_store_check_open (self, error) &&
      (st = rfl_store_stmt (self, "SELECT seq_from, seq_to, through, hash, envelope FROM outbox"
                                  " WHERE peer = ?1 AND seq_from > ?2 ORDER BY seq_from LIMIT 1", error)) != NULL)
    {
      rfl_bind_text (st, 1, peer);
      sqlite3_bind_int64 (st, 2, (sqlite3_int64) after);
      if (sqlite3_step (st) == SQLITE_ROW)
        item = outbox_item_from_row (st);
    }
  rfl_store_unlock (self);
  return item;
}

typedef struct
{
  const char *peer;
  guint64     seq;
} AckArgs;

static gboolean
ack_locked (RflStore       *self,
            const AckArgs  *args,
            GError        **error)
{
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "DELETE FROM outbox WHERE peer = ?1 AND seq_to <= ?2", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->peer);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64) args->seq);
  if (!run_write (self, st, "compacting the outbox", error))
    return FALSE;
  if ((st = rfl_store_stmt (self, "UPDATE peers SET acked = max (acked, ?2) WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->peer);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64) args->seq);
  return run_write (self, st, "compacting the outbox", error);
}

/**
 * rfl_store_outbox_find:
 * @seq_to: the last seq of a bundle
 * @hash: (out caller-allocates) (array fixed-size=32): its envelope hash
 *
 * Returns: whether the outbox for @peer holds a bundle ending at @seq_to
 */
gboolean
rfl_store_outbox_find (RflStore    *self,
                       const char  *peer,
                       guint64      seq_to,
                       guint8      *hash)
{
  sqlite3_stmt *st;
  gboolean found = FALSE;

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  rfl_store_lock (self);
  if (rfl_store_check_open (self, NULL) &&
      (st = rfl_store_stmt (self, "SELECT hash FROM outbox WHERE peer = ?1 AND seq_to = ?2", NULL)) != NULL)
    {
      rfl_bind_text (st, 1, peer);
      sqlite3_bind_int64 (st, 2, (sqlite3_int64) seq_to);
      if (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_bytes (st, 0) == 32)
        {
          memcpy (hash, sqlite3_column_blob (st, 0), 32);
          found = TRUE;
        }
    }
  rfl_store_unlock (self);
  return found;
}

/**
 * rfl_store_outbox_ack:
 *
 * The peer confirmed everything through @seq_to: its bundles leave the outbox.
 */
gboolean
rfl_store_outbox_ack (RflStore    *self,
                      const char  *peer,
                      guint64      seq_to,
                      GError     **error)
{
  AckArgs args = { peer, seq_to };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  return in_transaction (self, (LockedFunc) ack_locked, &args, error);
}

typedef struct
{
  const char *peer;
  guint64     seq_from;
  GBytes     *envelope;
} HoldArgs;

static gboolean
hold_locked (RflStore        *self,
             const HoldArgs  *args,
             GError         **error)
{
  sqlite3_stmt *st;
  gsize len;
  gconstpointer data = g_bytes_get_data (args->envelope, &len);

  if ((st = rfl_store_stmt (self, "INSERT OR REPLACE INTO held (peer, seq_from, envelope) VALUES (?1, ?2, ?3)",
                            error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->peer);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64) args->seq_from);
  sqlite3_bind_blob64 (st, 3, data, len, SQLITE_STATIC);
  return run_write (self, st, "holding a bundle", error);
}

/**
 * rfl_store_hold:
 *
 * Keeps a bundle that arrived before the one it follows, until that one arrives.
 */
gboolean
rfl_store_hold (RflStore    *self,
                const char  *peer,
                guint64      seq_from,
                GBytes      *envelope,
                GError     **error)
{
  HoldArgs args = { peer, seq_from, envelope };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  return in_transaction (self, (LockedFunc) hold_locked, &args, error);
}

/**
 * rfl_store_take_held:
 *
 * Returns: (transfer full) (nullable): the held bundle of @peer starting at
 *   @seq_from, removed from the store, or %NULL
 */
GBytes *
rfl_store_take_held (RflStore    *self,
                     const char  *peer,
                     guint64      seq_from)
{
  GBytes *out = NULL;
  sqlite3_stmt *st;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  rfl_store_lock (self);
  if (self->db != NULL &&
      (st = rfl_store_stmt (self, "SELECT envelope FROM held WHERE peer = ?1 AND seq_from = ?2", NULL)) != NULL)
    {
      rfl_bind_text (st, 1, peer);
      sqlite3_bind_int64 (st, 2, (sqlite3_int64) seq_from);
      if (sqlite3_step (st) == SQLITE_ROW)
        out = g_bytes_new (sqlite3_column_blob (st, 0), (gsize) sqlite3_column_bytes (st, 0));
      if ((st = rfl_store_stmt (self, "DELETE FROM held WHERE peer = ?1 AND seq_from <= ?2", NULL)) != NULL)
        {
          rfl_bind_text (st, 1, peer);
          sqlite3_bind_int64 (st, 2, (sqlite3_int64) seq_from);
          sqlite3_step (st);
        }
    }
  rfl_store_unlock (self);
  return out;
}

/* Enrollment tokens (HQ). */

typedef struct
{
  const char   *id;
  const guint8 *secret_hash;
  const char   *office;
  gint64        expires;
} TokenArgs;

static gboolean
add_token_locked (RflStore         *self,
                  const TokenArgs  *args,
                  GError          **error)
{
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "INSERT INTO tokens (id, secret_hash, office, expires) VALUES (?1, ?2, ?3, ?4)",
                            error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->id);
  sqlite3_bind_blob (st, 2, args->secret_hash, 32, SQLITE_STATIC);
  rfl_bind_text (st, 3, args->office);
  sqlite3_bind_int64 (st, 4, args->expires);
  return run_write (self, st, "saving an enrollment token", error) &&
         rfl_store_audit_append (self, "token", NULL, args->office, error);
}

gboolean
rfl_store_add_token (RflStore      *self,
                     const char    *id,
                     const guint8  *secret_hash,
                     const char    *office,
                     gint64         expires,
                     GError       **error)
{
  TokenArgs args = { id, secret_hash, office, expires };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  return in_transaction (self, (LockedFunc) add_token_locked, &args, error);
}

typedef struct
{
  const char    *id;
  const guint8  *secret_hash;
  RflPeer       *device;
  char          *office;
  char          *known;    /* the status of a peer that holds one of the keys */
} UseArgs;

/* The status of any peer, enrolled or revoked, that has @device's id, or
 * its signing or its encryption key; NULL if none. */
static char *
known_keys_status (RflStore       *self,
                   const RflPeer  *device,
                   GError        **error)
{
  sqlite3_stmt *st;
  char *status = NULL;

  if ((st = rfl_store_stmt (self, "SELECT status FROM peers WHERE id = ?1 OR sign_pk = ?2 OR box_pk = ?3"
                                  " ORDER BY status = 'revoked' DESC LIMIT 1", error)) == NULL)
    return NULL;
  rfl_bind_text (st, 1, device->id);
  sqlite3_bind_blob (st, 2, device->sign_pk, 32, SQLITE_STATIC);
  sqlite3_bind_blob (st, 3, device->box_pk, 32, SQLITE_STATIC);
  if (sqlite3_step (st) == SQLITE_ROW)
    status = g_strdup ((const char *) sqlite3_column_text (st, 0));
  sqlite3_reset (st);
  return status;
}

static gboolean
use_token_locked (RflStore  *self,
                  UseArgs   *args,
                  GError   **error)
{
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "SELECT secret_hash, office, expires, used_by FROM tokens WHERE id = ?1",
                            error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->id);
  if (sqlite3_step (st) != SQLITE_ROW || sqlite3_column_bytes (st, 0) != 32 ||
      sodium_memcmp (sqlite3_column_blob (st, 0), args->secret_hash, 32) != 0)
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND, _("unknown enrollment token"));
      return FALSE;
    }
  if (sqlite3_column_type (st, 3) != SQLITE_NULL)
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION,
                           _("this enrollment token was already used"));
      return FALSE;
    }
  if (sqlite3_column_int64 (st, 2) < rfl_now_ms ())
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION,
                           _("this enrollment token has expired"));
      return FALSE;
    }
  args->office = g_strdup ((const char *) sqlite3_column_text (st, 1));
  sqlite3_reset (st);

  /* The token is spent whatever follows: one presented with keys HQ
   * already knows has leaked. */
  if ((st = rfl_store_stmt (self, "UPDATE tokens SET used_by = ?2, used_at = ?3 WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->id);
  rfl_bind_text (st, 2, args->device->id);
  sqlite3_bind_int64 (st, 3, rfl_now_ms ());
  if (!run_write (self, st, "using an enrollment token", error))
    return FALSE;

  /* A revoked key never comes back, and an enrolled device does not change
   * office by enrolling again: its operator moves it. The refusal is kept
   * (committed) in the audit log, with the token. */
  args->known = known_keys_status (self, args->device, error);
  if (args->known != NULL)
    {
      g_autofree char *detail = g_strdup_printf ("%s token %s office %s (%s)", args->device->id, args->id,
                                                 args->office, args->known);

      return rfl_store_audit_append (self, "enroll-refused", NULL, detail, error);
    }
  g_free (args->device->office);
  args->device->office = g_strdup (args->office);
  {
    g_autofree char *detail = g_strdup_printf ("%s token %s office %s", args->device->id, args->id, args->office);

    return add_peer_locked (self, args->device, error) &&
           rfl_store_audit_append (self, "enroll", NULL, detail, error);
  }
}

/**
 * rfl_store_use_token:
 * @device: the enrolling device; its office is taken from the token
 *
 * Spends a one-time enrollment token and enrolls @device, in one transaction.
 *
 * Returns: (transfer full): the office the device now works for
 */
char *
rfl_store_use_token (RflStore       *self,
                     const char     *id,
                     const guint8   *secret_hash,
                     const RflPeer  *device,
                     GError        **error)
{
  g_autoptr(RflPeer) copy = g_new0 (RflPeer, 1);
  UseArgs args = { id, secret_hash, copy, NULL };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  *copy = *device;
  copy->id = g_strdup (device->id);
  copy->role = g_strdup ("device");
  copy->office = NULL;
  copy->status = g_strdup ("active");
  copy->url = NULL;
  if (!in_transaction (self, (LockedFunc) use_token_locked, &args, error))
    {
      g_free (args.office);
      g_free (args.known);
      return NULL;
    }
  if (args.known != NULL)
    {
      if (g_str_equal (args.known, "revoked"))
        g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION,
                             _("these keys belong to a revoked device; a revoked device cannot enroll again"));
      else
        g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION,
                             _("this device is already enrolled; HQ's operator moves a device to another office"));
      g_free (args.office);
      g_free (args.known);
      return NULL;
    }
  return args.office;
}
