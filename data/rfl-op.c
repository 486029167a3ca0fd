/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The operation kinds as a table, and an operation's wire form: written from
 * a journal row, and checked when it arrives from a peer before anything
 * else reads it (PROTOCOL.md, "The bundle"). A new kind is one row here, a
 * handler in rfl-merge.c, a PROTOCOL.md entry and a test. */
#define G_LOG_DOMAIN "rfl-store"

#include "rfl-op.h"
#include "rfl-store-private.h"
#include "rfl-json.h"
#include "rfl-store-sync.h"

#include <string.h>
#include <glib/gi18n-lib.h>

/* create, update and snapshot load the record themselves: a new record is
 * theirs to make. */
static const RflOpInfo kinds[RFL_OP_N_KINDS] = {
  /* kind            name        device  back to  needs   apply                absent
   *                             sends   author   record */
  { RFL_OP_CREATE,   "create",   TRUE,   FALSE,   FALSE,  rfl_merge_fields,    NULL },
  { RFL_OP_UPDATE,   "update",   TRUE,   FALSE,   FALSE,  rfl_merge_fields,    NULL },
  { RFL_OP_DELETE,   "delete",   TRUE,   FALSE,   TRUE,   rfl_merge_delete,    NULL },
  { RFL_OP_PURGE,    "purge",    TRUE,   FALSE,   TRUE,   rfl_merge_purge,     rfl_merge_purge_unknown },
  { RFL_OP_SHARE,    "share",    TRUE,   FALSE,   TRUE,   rfl_merge_share,     NULL },
  { RFL_OP_SNAPSHOT, "snapshot", FALSE,  TRUE,    FALSE,  rfl_merge_fields,    NULL },
  { RFL_OP_CONFLICT, "conflict", FALSE,  TRUE,    TRUE,   rfl_merge_conflict,  NULL },
  { RFL_OP_RESOLVE,  "resolve",  TRUE,   FALSE,   TRUE,   rfl_merge_resolve,   NULL },
};

/* Returns: (nullable): the kind called @name */
const RflOpInfo *
rfl_op_lookup (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (g_str_equal (kinds[i].name, name))
      return &kinds[i];
  return NULL;
}

const char *
rfl_op_name (RflOpKind kind)
{
  g_return_val_if_fail (kind < RFL_OP_N_KINDS, NULL);
  return kinds[kind].name;
}

/* The kinds HQ sends back to their author, as an SQL list: "'snapshot','conflict'". */
const char *
rfl_op_back_to_author (void)
{
  static char *list;
  static gsize once;

  if (g_once_init_enter (&once))
    {
      GString *out = g_string_new (NULL);

      for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
        if (kinds[i].back_to_author)
          g_string_append_printf (out, "%s'%s'", out->len > 0 ? "," : "", kinds[i].name);
      list = g_string_free (out, FALSE);
      g_once_init_leave (&once, 1);
    }
  return list;
}

gboolean
rfl_op_malformed (GError **error)
{
  g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                       _("a bundle holds a malformed operation"));
  return FALSE;
}

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
char *
rfl_op_from_row (sqlite3_stmt *st)
{
  GString *out = g_string_sized_new (256 + (gsize) sqlite3_column_bytes (st, 5));

  g_string_append (out, "{\"" RFL_OP_KEY_RECORD "\":");
  rfl_json_string ((const char *) sqlite3_column_text (st, 1), out);
  g_string_append (out, ",\"" RFL_OP_KEY_KIND "\":");
  rfl_json_string ((const char *) sqlite3_column_text (st, 2), out);
  g_string_append_printf (out, ",\"" RFL_OP_KEY_HLC "\":%" G_GINT64_FORMAT ",\"" RFL_OP_KEY_DEVICE "\":",
                          (gint64) sqlite3_column_int64 (st, 3));
  rfl_json_string ((const char *) sqlite3_column_text (st, 4), out);
  g_string_append (out, ",\"" RFL_OP_KEY_CHANGES "\":");
  append_object_text (out, (const char *) sqlite3_column_text (st, 5));
  if (sqlite3_column_type (st, 6) != SQLITE_NULL)
    {
      g_string_append (out, ",\"" RFL_OP_KEY_BASE "\":");
      append_object_text (out, (const char *) sqlite3_column_text (st, 6));
    }
  if (sqlite3_column_type (st, 7) != SQLITE_NULL)
    {
      g_string_append (out, ",\"" RFL_OP_KEY_CLOCKS "\":");
      append_object_text (out, (const char *) sqlite3_column_text (st, 7));
    }
  if (sqlite3_column_type (st, 8) != SQLITE_NULL)
    g_string_append_printf (out, ",\"" RFL_OP_KEY_LENGTH "\":%" G_GINT64_FORMAT,
                            (gint64) sqlite3_column_int64 (st, 8));
  g_string_append_c (out, '}');
  return g_string_free (out, FALSE);
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
  JsonObject *op;
  JsonNode *member;
  const char *text;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return rfl_op_malformed (error);
  op = json_node_get_object (node);
  if ((member = json_object_get_member (op, RFL_OP_KEY_RECORD)) == NULL ||
      json_node_get_value_type (member) != G_TYPE_STRING ||
      (text = json_node_get_string (member), strlen (text) == 0 || strlen (text) > RFL_OP_MAX_ID_BYTES) ||
      (member = json_object_get_member (op, RFL_OP_KEY_KIND)) == NULL ||
      json_node_get_value_type (member) != G_TYPE_STRING ||
      rfl_op_lookup (json_node_get_string (member)) == NULL ||
      (member = json_object_get_member (op, RFL_OP_KEY_HLC)) == NULL ||
      json_node_get_value_type (member) != G_TYPE_INT64 || json_node_get_int (member) < 0 ||
      (member = json_object_get_member (op, RFL_OP_KEY_DEVICE)) == NULL ||
      json_node_get_value_type (member) != G_TYPE_STRING ||
      strlen (json_node_get_string (member)) != 32 ||
      (member = json_object_get_member (op, RFL_OP_KEY_CHANGES)) == NULL || !JSON_NODE_HOLDS_OBJECT (member))
    return rfl_op_malformed (error);
  /* Every clock is [h, d]: a non-negative integer and a device id. A base
   * may be null (the field had no value); per-field clocks may not. */
  if ((member = json_object_get_member (op, RFL_OP_KEY_BASE)) != NULL &&
      (!JSON_NODE_HOLDS_OBJECT (member) || !clocks_valid (json_node_get_object (member), TRUE)))
    return rfl_op_malformed (error);
  if ((member = json_object_get_member (op, RFL_OP_KEY_CLOCKS)) != NULL &&
      (!JSON_NODE_HOLDS_OBJECT (member) || !clocks_valid (json_node_get_object (member), FALSE)))
    return rfl_op_malformed (error);
  if ((member = json_object_get_member (op, RFL_OP_KEY_LENGTH)) != NULL &&
      (json_node_get_value_type (member) != G_TYPE_INT64 || json_node_get_int (member) < 1 ||
       json_node_get_int (member) > RFL_MAX_CAUSAL_LENGTH))
    return rfl_op_malformed (error);
  return TRUE;
}

/* The clock the sender gave @field, checked. */
JsonArray *
rfl_op_clock (JsonObject *op,
              JsonArray  *default_clock,
              const char *field)
{
  JsonObject *k = json_object_has_member (op, RFL_OP_KEY_CLOCKS) ?
                  json_object_get_object_member (op, RFL_OP_KEY_CLOCKS) : NULL;

  if (k != NULL)
    {
      JsonNode *node = json_object_get_member (k, field);

      if (node == NULL)
        node = json_object_get_member (k, "");
      return rfl_clock_is_valid (node) ? json_node_get_array (node) : NULL;
    }
  return default_clock;
}
