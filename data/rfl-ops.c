/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The journal as operations: what a device sends (its own changes, or a
 * peer's scope from HQ), in the wire form PROTOCOL.md specifies, and the
 * checks an operation from a peer passes before anything else reads it. */
#define G_LOG_DOMAIN "rfl-store"

#include "rfl-store-private.h"
#include "rfl-json.h"
#include "rfl-store-sync.h"

#include <sodium.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#define MAX_OP_ID_BYTES 64

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

typedef struct
{
  guint64    after;
  guint      max_ops;
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
  int rc;

  if ((st = rfl_store_stmt (self, "SELECT seq, record_id, op, hlc, device, changes, base, clocks, cl"
                                  " FROM journal WHERE seq > ?1 AND origin IS NULL AND redacted = 0"
                                  " ORDER BY seq LIMIT ?2", error)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, (sqlite3_int64) args->after);
  sqlite3_bind_int64 (st, 2, args->max_ops);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      g_ptr_array_add (ops, op_from_row (st));
      *args->last_seq = (guint64) sqlite3_column_int64 (st, 0);
    }
  if (rc != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "reading the journal");
  args->out = g_steal_pointer (&ops);
  return TRUE;
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
  LocalOpsArgs args = { after, max_ops, last_seq, NULL };

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
  guint64    *through;
  GPtrArray  *out;
} ScopeOpsArgs;

static gboolean
read_scope_ops_locked (RflStore  *self,
                       gpointer   data,
                       GError   **error)
{
  ScopeOpsArgs *args = data;
  g_autoptr(GPtrArray) ops = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *st;
  gint64 head;
  int rc;

  /* One read transaction: the head and the rows after it see one state. */
  if (!rfl_store_begin_read (self, error) ||
      (st = rfl_store_stmt (self, "SELECT coalesce (max (seq), 0) FROM journal", error)) == NULL)
    return FALSE;
  if (sqlite3_step (st) != SQLITE_ROW)
    return rfl_store_sql_fail (self, error, "reading the journal");
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
    return FALSE;
  sqlite3_bind_int64 (st, 1, (sqlite3_int64) args->after);
  rfl_bind_text (st, 2, args->office);
  rfl_bind_text (st, 3, args->for_device);
  sqlite3_bind_int64 (st, 4, args->max_ops);
  sqlite3_bind_int64 (st, 5, head);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      g_ptr_array_add (ops, op_from_row (st));
      *args->through = (guint64) sqlite3_column_int64 (st, 0);
    }
  if (rc != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "reading the journal");
  /* Fewer than asked for: everything up to the head has been looked at. */
  if (ops->len < args->max_ops)
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
  ScopeOpsArgs args = { after, office, for_device, max_ops, through, NULL };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  g_return_val_if_fail (office != NULL, NULL);

  *through = after;
  if (!rfl_store_read (self, read_scope_ops_locked, &args, error))
    return NULL;
  return args.out;
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
      if (!rfl_clock_is_valid (clock) || json_array_get_int_element (json_node_get_array (clock), 0) < 0 ||
          strlen (json_array_get_string_element (json_node_get_array (clock), 1)) != 32)
        return FALSE;
    }
  return TRUE;
}

/* Checks the shape of an operation from a peer; nothing else reads it before. */
gboolean
rfl_op_check (JsonNode  *node,
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
JsonArray *
rfl_op_clock (JsonObject *op,
              JsonArray  *default_clock,
              const char *field)
{
  JsonObject *k = json_object_has_member (op, "k") ? json_object_get_object_member (op, "k") : NULL;

  if (k != NULL)
    {
      JsonNode *node = json_object_get_member (k, field);

      if (node == NULL)
        node = json_object_get_member (k, "");
      return rfl_clock_is_valid (node) ? json_node_get_array (node) : NULL;
    }
  return default_clock;
}
