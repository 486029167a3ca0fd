/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Time and history: the hybrid logical clock, the journal of every change,
 * the canonical JSON and record hashes the sync state hash is built from, and
 * per-field clocks. */
#define G_LOG_DOMAIN "rfl-store"

#include "rfl-store-private.h"
#include "rfl-op.h"
#include "rfl-store-sync.h"
#include "rfl-json.h"

#include <sodium.h>
#include <sqlite3.h>
#include <string.h>
#include <glib/gi18n-lib.h>

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

char *
rfl_iso_from_ms (gint64 ms)
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
gboolean
rfl_store_journal_append (RflStore       *self,
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
void
rfl_write_json (JsonNode *node,
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
          rfl_write_json (json_object_get_member (obj, l->data), sorted, out);
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
          rfl_write_json (json_array_get_element (array, i), sorted, out);
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
  rfl_write_json (node, TRUE, out);
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
rfl_record_hash (const char *id,
                 gint64      cl,
                 const char *canonical_doc,
                 const char *canonical_clocks,
                 guint8     *out)
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

/* Whether @node has the shape of a clock: [hlc, device]. */
gboolean
rfl_clock_is_valid (JsonNode *node)
{
  JsonArray *a;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;
  a = json_node_get_array (node);
  return json_array_get_length (a) == 2 &&
         json_node_get_value_type (json_array_get_element (a, 0)) == G_TYPE_INT64 &&
         json_node_get_value_type (json_array_get_element (a, 1)) == G_TYPE_STRING;
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

      if (g_str_equal (op, rfl_op_name (RFL_OP_CREATE)))
        json_object_set_array_member (clocks, "", rfl_clock_new (hlc, device));
      else if (g_str_equal (op, rfl_op_name (RFL_OP_UPDATE)) && changes != NULL)
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

static gboolean
journal_length_locked (RflStore  *self,
                       gpointer   data,
                       GError   **error)
{
  gint64 *n = data;
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "SELECT count(*) FROM journal", error)) == NULL)
    return FALSE;
  if (sqlite3_step (st) == SQLITE_ROW)
    *n = sqlite3_column_int64 (st, 0);
  sqlite3_reset (st);
  return TRUE;
}

gint64
rfl_store_get_journal_length (RflStore *self)
{
  gint64 n = -1;

  g_return_val_if_fail (RFL_IS_STORE (self), -1);

  if (!rfl_store_read (self, journal_length_locked, &n, NULL))
    return -1;
  return n;
}

/* The journal as operations: what a device sends (its own changes), and
 * what HQ sends a device (the changes in its office's scope). */

typedef struct
{
  guint64    after;
  guint      max_ops;
  gsize      max_bytes;
  guint64   *last_seq;
  GPtrArray *out;
} LocalOpsArgs;

static gboolean
read_local_ops_locked (RflStore  *self,
                       gpointer   data,
                       GError   **error)
{
  LocalOpsArgs *args = data;
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *st;
  gsize bytes = 0;
  int rc;

  if ((st = rfl_store_stmt (self, "SELECT seq, record_id, op, hlc, device, changes, base, clocks, cl"
                                  " FROM journal WHERE seq > ?1 AND origin IS NULL AND redacted = 0"
                                  " ORDER BY seq LIMIT ?2", error)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, (sqlite3_int64) args->after);
  sqlite3_bind_int64 (st, 2, args->max_ops);
  while (bytes < args->max_bytes && (rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      char *op = rfl_op_from_row (st);

      bytes += strlen (op);
      g_ptr_array_add (ops, op);
      *args->last_seq = (guint64) sqlite3_column_int64 (st, 0);
    }
  if (bytes < args->max_bytes && rc != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "reading the journal");
  args->out = g_steal_pointer (&ops);
  return TRUE;
}

/**
 * rfl_store_read_local_ops:
 * @after: the journal seq to start after
 * @max_ops: at most this many
 * @max_bytes: and no more once their JSON reaches this many bytes; the
 *   first operation comes whatever its size
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
                          gsize      max_bytes,
                          guint64   *last_seq,
                          GError   **error)
{
  LocalOpsArgs args = { after, max_ops, max_bytes, last_seq, NULL };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  *last_seq = after;
  if (!rfl_store_read (self, read_local_ops_locked, &args, error))
    return NULL;
  return args.out;
}

typedef struct
{
  guint64 after;
  gint64  n;
} CountOpsArgs;

static gboolean
count_local_ops_locked (RflStore  *self,
                        gpointer   data,
                        GError   **error)
{
  CountOpsArgs *args = data;
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "SELECT count(*) FROM journal WHERE seq > ?1 AND origin IS NULL"
                                  " AND redacted = 0", error)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, (sqlite3_int64) args->after);
  if (sqlite3_step (st) != SQLITE_ROW)
    return rfl_store_sql_fail (self, error, "reading the journal");
  args->n = sqlite3_column_int64 (st, 0);
  return TRUE;
}

gint64
rfl_store_count_local_ops (RflStore  *self,
                           guint64    after,
                           GError   **error)
{
  CountOpsArgs args = { after, -1 };

  g_return_val_if_fail (RFL_IS_STORE (self), -1);

  if (!rfl_store_read (self, count_local_ops_locked, &args, error))
    return -1;
  return args.n;
}

typedef struct
{
  guint64     after;
  const char *office;
  const char *for_device;
  guint       max_ops;
  gsize       max_bytes;
  guint64    *through;
  GPtrArray  *out;
} ScopeOpsArgs;

/* The operations in an office's scope after a journal seq, for a device of
 * that office: not its own operations back (its own data), unless HQ
 * changed them (a clamped clock), wrote them (the kinds the op table sends
 * back to their author), or the device lost them in a restore (re-base).
 * Built once; the statement cache keys on the pointer. */
static const char *
scope_sql (void)
{
  static char *sql;
  static gsize once;

  if (g_once_init_enter (&once))
    {
      sql = g_strdup_printf (
        "SELECT j.seq, j.record_id, j.op, j.hlc, j.device, j.changes, j.base, j.clocks, j.cl"
        " FROM journal j JOIN records r ON r.rowid = j.record_row"
        " WHERE j.seq > ?1 AND j.seq <= ?5 AND j.redacted = 0"
        "   AND (r.owner = ?2 OR EXISTS (SELECT 1 FROM shares s"
        "                                WHERE s.record_row = j.record_row AND s.office = ?2))"
        "   AND (j.device IS NOT ?3 OR j.op IN (%s)"
        "        OR j.changes ->> '$.\"" RFL_OP_C_WAS "\"' IS NOT NULL"
        "        OR j.seq <= (SELECT own_through FROM peers WHERE id = ?3))"
        " ORDER BY j.seq LIMIT ?4", rfl_op_back_to_author ());
      g_once_init_leave (&once, 1);
    }
  return sql;
}

static gboolean
read_scope_ops_locked (RflStore  *self,
                       gpointer   data,
                       GError   **error)
{
  ScopeOpsArgs *args = data;
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *st;
  gsize bytes = 0;
  gint64 head;
  int rc;

  /* One read transaction: the head and the rows after it see one state. */
  if (!rfl_store_begin_read (self, error) ||
      (st = rfl_store_stmt (self, "SELECT coalesce (max (seq), 0) FROM journal", error)) == NULL)
    return FALSE;
  if (sqlite3_step (st) != SQLITE_ROW)
    return rfl_store_sql_fail (self, error, "reading the journal");
  head = sqlite3_column_int64 (st, 0);
  if ((st = rfl_store_stmt (self, scope_sql (), error)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, (sqlite3_int64) args->after);
  rfl_bind_text (st, 2, args->office);
  rfl_bind_text (st, 3, args->for_device);
  sqlite3_bind_int64 (st, 4, args->max_ops);
  sqlite3_bind_int64 (st, 5, head);
  while (bytes < args->max_bytes && (rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      char *op = rfl_op_from_row (st);

      bytes += strlen (op);
      g_ptr_array_add (ops, op);
      *args->through = (guint64) sqlite3_column_int64 (st, 0);
    }
  if (bytes < args->max_bytes && rc != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "reading the journal");
  /* Fewer than asked for, and not stopped by size: everything up to the
   * head has been looked at. */
  if (ops->len < args->max_ops && bytes < args->max_bytes)
    *args->through = MAX (args->after, (guint64) head);
  args->out = g_steal_pointer (&ops);
  return TRUE;
}

/**
 * rfl_store_read_scope_ops:
 * @after: the journal seq to start after
 * @office: the office whose scope is read: records it owns or that were
 *   shared with it
 * @for_device: the device the operations go to; its own are left out,
 *   unless the hub changed them (a clamped clock)
 * @max_ops: at most this many
 * @max_bytes: and no more once their JSON reaches this many bytes; the
 *   first operation comes whatever its size
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
                          gsize        max_bytes,
                          guint64     *through,
                          GError     **error)
{
  ScopeOpsArgs args = { after, office, for_device, max_ops, max_bytes, through, NULL };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  g_return_val_if_fail (office != NULL, NULL);

  *through = after;
  if (!rfl_store_read (self, read_scope_ops_locked, &args, error))
    return NULL;
  return args.out;
}
