/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Merging the fields of a create, update or snapshot: per field, the later
 * clock wins; at HQ, an update that overwrote a value it had not seen is
 * concurrent with it, and the losing value is kept as a conflict. A record
 * this replica never had is made from the operation. */
#define G_LOG_DOMAIN "rfl-store"

#include "rfl-merge-private.h"
#include "rfl-json.h"

#include <glib/gi18n-lib.h>

/* The fields of a create, update or snapshot, merged one by one. */
typedef struct
{
  RflOpApply    *a;
  JsonObject    *base;            /* an update's "b", or NULL */
  gint64         op_cl;
  RflRecordRow   rec;
  JsonObject    *applied;         /* what changed here, as journalled */
  JsonObject    *applied_clocks;  /* their clocks where they differ from the op's */
  gboolean       mixed;
  gboolean       changed;
  gboolean       was_clamped;     /* HQ clamped this device's own clock */
} FieldMerge;

static void
field_merge_clear (FieldMerge *m)
{
  rfl_record_row_clear (&m->rec);
  g_clear_pointer (&m->applied, json_object_unref);
  g_clear_pointer (&m->applied_clocks, json_object_unref);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (FieldMerge, field_merge_clear)

/* A record this replica never had: a create or snapshot makes it, with
 * every field the operation carries. */
static RflOpOutcome
merge_new_record (RflStore    *self,
                  FieldMerge  *m,
                  GError     **error)
{
  RflOpApply *a = m->a;
  RflRecordRow *rec = &m->rec;
  JsonNode *type = json_object_get_member (a->c, "type");
  JsonNode *clocks_node = json_object_get_member (a->op, RFL_OP_KEY_CLOCKS);
  JsonObjectIter iter;
  const char *field;
  JsonNode *value;

  if (a->info->kind == RFL_OP_UPDATE || type == NULL || json_node_get_value_type (type) != G_TYPE_STRING)
    return RFL_OP_KNOWN;   /* a change to a record this replica never had: nothing to attach it to */
  rec->type = g_strdup (json_node_get_string (type));
  rec->doc = json_object_new ();
  rec->cl = m->op_cl;
  if (clocks_node != NULL)
    rec->clocks = json_object_ref (json_node_get_object (clocks_node));
  else
    {
      rec->clocks = json_object_new ();
      json_object_set_array_member (rec->clocks, "", json_array_ref (a->clock));
    }
  json_object_iter_init_ordered (&iter, a->c);
  while (json_object_iter_next_ordered (&iter, &field, &value))
    {
      if (field[0] == '$' || JSON_NODE_HOLDS_NULL (value))
        continue;
      json_object_set_member (rec->doc, field, json_node_copy (value));
      json_object_set_member (m->applied, field, json_node_copy (value));
    }
  /* The hub decides which office a record belongs to: the creator's. */
  if (a->ctx->role == RFL_MERGE_HUB)
    rec->owner = g_strdup (a->ctx->office);
  else if (json_object_has_member (a->c, RFL_OP_C_OWNER))
    rec->owner = g_strdup (json_object_get_string_member (a->c, RFL_OP_C_OWNER));
  if ((rec->cl % 2 == 1 && !rfl_merge_check_record (self, a->id, rec, error)) || !rfl_merge_insert_record (self, a->id, rec, error))
    return RFL_OP_FAILED;
  if (rec->owner != NULL)
    json_object_set_string_member (m->applied, RFL_OP_C_OWNER, rec->owner);
  if (!rfl_merge_add_shares_from (self, rec->rowid, a->c, error))
    return RFL_OP_FAILED;
  if (clocks_node != NULL)
    json_object_set_object_member (m->applied_clocks, "", json_object_ref (rec->clocks));
  m->changed = TRUE;
  return RFL_OP_APPLIED;
}

/* One field: the later clock wins. At HQ, an update that overwrote
 * something other than what is here was concurrent with it: the other
 * value is kept as a conflict. */
static gboolean
merge_field (RflStore    *self,
             FieldMerge  *m,
             const char  *field,
             JsonNode    *value,
             GError     **error)
{
  RflOpApply *a = m->a;
  JsonArray *rc, *lc;
  int order;

  if ((rc = rfl_op_clock (a->op, a->clock, field)) == NULL)
    return rfl_op_malformed (error);
  lc = rfl_clocks_lookup (m->rec.clocks, field);
  order = rfl_clock_compare (rc, lc);
  /* The hub clamped this device's own clock: take the hub's version. */
  if (m->was_clamped && lc != NULL &&
      json_array_get_int_element (lc, 0) == json_object_get_int_member (a->c, RFL_OP_C_WAS) &&
      g_strcmp0 (json_array_get_string_element (lc, 1), self->device_id) == 0)
    order = 1;
  if (order == 0)
    return TRUE;

  if (a->ctx->role == RFL_MERGE_HUB && a->info->kind == RFL_OP_UPDATE && lc != NULL)
    {
      JsonNode *b = m->base != NULL ? json_object_get_member (m->base, field) : NULL;

      if (!rfl_clock_is_valid (b) || rfl_clock_compare (json_node_get_array (b), lc) != 0)
        {
          JsonNode *mine = json_object_get_member (m->rec.doc, field);
          gboolean ok = order > 0 ?
            rfl_store_record_conflict (self, a->id, &m->rec, field, value, rc, mine, lc, error) :
            rfl_store_record_conflict (self, a->id, &m->rec, field, mine, lc, value, rc, error);

          if (!ok)
            return FALSE;
          a->ctx->stats->conflicts++;
        }
    }
  /* Two creates of one record (a decision on the same pair on two
   * laptops) never saw each other: where both gave a value and the values
   * differ, the loser is kept for a person to look at. */
  if (a->ctx->role == RFL_MERGE_HUB && a->info->kind == RFL_OP_CREATE && !JSON_NODE_HOLDS_NULL (value))
    {
      JsonNode *mine = json_object_get_member (m->rec.doc, field);

      if (mine != NULL && !json_node_equal (mine, value))
        {
          gboolean ok = order > 0 ?
            rfl_store_record_conflict (self, a->id, &m->rec, field, value, rc, mine, lc, error) :
            rfl_store_record_conflict (self, a->id, &m->rec, field, mine, lc, value, rc, error);

          if (!ok)
            return FALSE;
          a->ctx->stats->conflicts++;
        }
    }
  if (order < 0)
    return TRUE;

  if (JSON_NODE_HOLDS_NULL (value))
    json_object_remove_member (m->rec.doc, field);
  else
    json_object_set_member (m->rec.doc, field, json_node_copy (value));
  json_object_set_array_member (m->rec.clocks, field, json_array_ref (rc));
  json_object_set_member (m->applied, field, json_node_copy (value));
  if (rc != a->clock)
    {
      json_object_set_array_member (m->applied_clocks, field, json_array_ref (rc));
      m->mixed = TRUE;
    }
  m->changed = TRUE;
  return TRUE;
}

/* A create of a record this replica already has, made by another device
 * under the same id without seeing this one: it states the whole record as
 * of its clock, so a field it lacks is absent as of that clock, unless
 * written later. Then the clocks are written in one form whatever order
 * the two creates came in: the later create's clock as the default, and a
 * field's own clock only where it differs. */
static gboolean
merge_create_over (RflStore    *self,
                   FieldMerge  *m,
                   GError     **error)
{
  RflOpApply *a = m->a;
  g_autoptr(JsonNode) absent = json_node_new (JSON_NODE_NULL);
  g_autoptr(GList) members = json_object_get_members (m->rec.doc);
  g_autoptr(GPtrArray) fields = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GList) clocked = NULL;
  JsonArray *now_default;

  if (json_object_has_member (a->op, RFL_OP_KEY_CLOCKS))
    return TRUE;   /* forwarded with clocks of its own: merged field by field */
  /* Copied: a field merged away frees its name. */
  for (GList *l = members; l != NULL; l = l->next)
    if (!json_object_has_member (a->c, l->data))
      g_ptr_array_add (fields, g_strdup (l->data));
  for (guint i = 0; i < fields->len; i++)
    if (!merge_field (self, m, g_ptr_array_index (fields, i), absent, error))
      return FALSE;

  now_default = rfl_clocks_lookup (m->rec.clocks, "");
  if (rfl_clock_compare (a->clock, now_default) <= 0)
    return TRUE;
  json_object_set_array_member (m->rec.clocks, "", json_array_ref (a->clock));
  clocked = json_object_get_members (m->rec.clocks);
  for (GList *l = clocked; l != NULL; l = l->next)
    {
      g_autofree char *field = g_strdup (l->data);
      JsonArray *clock;

      if (*field == '\0')
        continue;
      clock = json_object_get_array_member (m->rec.clocks, field);
      /* Equal to the default, or older than it for a field now absent. */
      if (rfl_clock_compare (clock, a->clock) == 0 ||
          (rfl_clock_compare (clock, a->clock) < 0 && !json_object_has_member (m->rec.doc, field)))
        json_object_remove_member (m->rec.clocks, field);
    }
  m->changed = TRUE;
  return TRUE;
}

/* An edit made without knowing of a delete: the record stays deleted, and
 * the edit is kept for a person to look at. */
static gboolean
keep_edit_of_deleted (RflStore    *self,
                      FieldMerge  *m,
                      GError     **error)
{
  RflOpApply *a = m->a;
  g_autoptr(JsonNode) deleted = NULL, edit = NULL;
  g_autoptr(JsonArray) now = NULL;

  if (a->ctx->role != RFL_MERGE_HUB || a->info->kind != RFL_OP_UPDATE || m->rec.cl % 2 != 0 ||
      m->op_cl >= m->rec.cl || json_object_get_size (m->applied) == 0)
    return TRUE;
  deleted = json_node_init_boolean (json_node_alloc (), TRUE);
  edit = json_node_init_object (json_node_alloc (), m->applied);
  now = rfl_clock_new (rfl_store_hlc_tick (self), self->device_id);
  if (!rfl_store_record_conflict (self, a->id, &m->rec, "$deleted", deleted, now, edit, a->clock, error))
    return FALSE;
  a->ctx->stats->conflicts++;
  return TRUE;
}

/* A snapshot also carries the causal length, the owner and the shares. */
static gboolean
merge_snapshot_extras (RflStore    *self,
                       FieldMerge  *m,
                       GError     **error)
{
  JsonObject *c = m->a->c;
  JsonNode *shares = json_object_get_member (c, RFL_OP_C_SHARES);

  if (m->op_cl > m->rec.cl)
    {
      m->rec.cl = m->op_cl;
      m->changed = TRUE;
    }
  if (m->rec.owner == NULL && json_object_has_member (c, RFL_OP_C_OWNER))
    {
      m->rec.owner = g_strdup (json_object_get_string_member (c, RFL_OP_C_OWNER));
      m->changed = TRUE;
    }
  if (shares == NULL || !JSON_NODE_HOLDS_ARRAY (shares))
    return TRUE;
  for (guint i = 0; i < json_array_get_length (json_node_get_array (shares)); i++)
    {
      JsonNode *office = json_array_get_element (json_node_get_array (shares), i);
      gboolean added = FALSE;

      if (json_node_get_value_type (office) == G_TYPE_STRING &&
          !rfl_store_add_share (self, m->rec.rowid, json_node_get_string (office), &added, error))
        return FALSE;
      m->changed |= added;
    }
  return TRUE;
}

/* The journal entry: what changed here, so that it travels on as it applied. */
static gboolean
journal_fields (RflStore    *self,
                FieldMerge  *m,
                GError     **error)
{
  RflOpApply *a = m->a;
  g_autofree char *changes = NULL, *clocks = NULL, *base = NULL;
  RflJournalEntry entry = {
    .record_id = a->id, .record_row = m->rec.rowid, .op = a->info->name,
    .hlc = (guint64) json_array_get_int_element (a->clock, 0),
    .device = json_array_get_string_element (a->clock, 1),
    .cl = m->rec.cl, .origin = a->ctx->peer,
  };

  a->ctx->stats->applied++;
  if (json_object_has_member (a->c, RFL_OP_C_WAS))
    json_object_set_int_member (m->applied, RFL_OP_C_WAS, json_object_get_int_member (a->c, RFL_OP_C_WAS));
  if (a->info->kind == RFL_OP_SNAPSHOT)
    {
      json_object_set_array_member (m->applied, RFL_OP_C_SHARES, rfl_merge_shares_of (self, m->rec.rowid));
      if (m->rec.owner != NULL)
        json_object_set_string_member (m->applied, RFL_OP_C_OWNER, m->rec.owner);
    }
  changes = rfl_doc_to_string (m->applied);
  if (m->mixed || json_object_get_size (m->applied_clocks) > 0)
    clocks = rfl_doc_to_string (json_object_has_member (m->applied_clocks, "") ?
                                json_object_get_object_member (m->applied_clocks, "") : m->applied_clocks);
  if (a->info->kind == RFL_OP_UPDATE && m->base != NULL)
    base = rfl_doc_to_string (m->base);
  entry.changes = changes;
  entry.clocks = clocks;
  entry.base = base;
  return rfl_store_journal_write (self, &entry, error);
}

/* create, update and snapshot. */
RflOpOutcome
rfl_merge_fields (RflStore    *self,
                  RflOpApply  *a,
                  GError     **error)
{
  g_auto(FieldMerge) m = { 0 };
  g_autoptr(GPtrArray) before = NULL;
  JsonObjectIter iter;
  const char *field;
  JsonNode *value;
  gboolean exists, was_alive;

  m.a = a;
  m.base = json_object_has_member (a->op, RFL_OP_KEY_BASE) ?
           json_object_get_object_member (a->op, RFL_OP_KEY_BASE) : NULL;
  m.op_cl = rfl_json_int_or (a->op, RFL_OP_KEY_LENGTH, 1);
  m.applied = json_object_new ();
  m.applied_clocks = json_object_new ();

  exists = rfl_store_load_record (self, a->id, RFL_LOAD_ANY | RFL_LOAD_CLOCKS, &m.rec, error);
  if (!exists && error != NULL && *error != NULL)
    return RFL_OP_FAILED;
  /* A device writes at the causal length it holds, which HQ, where every
   * change meets, has reached too: one ahead would delete or revive the
   * record behind the lifecycle's back. */
  if (a->ctx->role == RFL_MERGE_HUB && m.op_cl > (exists ? m.rec.cl : 1))
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                           _("the operation's causal length is ahead of the record's"));
      return RFL_OP_FAILED;
    }
  if (a->ctx->role == RFL_MERGE_HUB &&
      !rfl_merge_device_may_write (a, exists ? m.rec.type : rfl_json_string_or (a->c, "type", NULL)))
    return rfl_merge_refuse_out_of_scope (self, a, error);
  if (!exists)
    {
      RflOpOutcome outcome = merge_new_record (self, &m, error);

      if (outcome != RFL_OP_APPLIED)
        return outcome;
      return journal_fields (self, &m, error) ? RFL_OP_DONE : RFL_OP_FAILED;
    }
  if (a->ctx->role == RFL_MERGE_HUB && !rfl_merge_in_scope (self, m.rec.rowid, m.rec.owner, a->ctx->office))
    return rfl_merge_refuse_out_of_scope (self, a, error);
  if (m.rec.doc == NULL)
    return RFL_OP_KNOWN;   /* purged: its content is gone everywhere and stays gone */

  was_alive = m.rec.cl % 2 == 1;
  if (was_alive)
    before = rfl_schema_collect_persons (self->schema, m.rec.doc);
  m.was_clamped = json_object_has_member (a->c, RFL_OP_C_WAS) && a->ctx->role == RFL_MERGE_DEVICE &&
                  g_strcmp0 (a->device, self->device_id) == 0;
  json_object_iter_init_ordered (&iter, a->c);
  while (json_object_iter_next_ordered (&iter, &field, &value))
    if (field[0] != '$' && !merge_field (self, &m, field, value, error))
      return RFL_OP_FAILED;
  if (a->info->kind == RFL_OP_CREATE && !merge_create_over (self, &m, error))
    return RFL_OP_FAILED;
  if (!keep_edit_of_deleted (self, &m, error) ||
      (a->info->kind == RFL_OP_SNAPSHOT && !merge_snapshot_extras (self, &m, error)))
    return RFL_OP_FAILED;
  if (!m.changed)
    return RFL_OP_KNOWN;
  if ((m.rec.cl % 2 == 1 && !rfl_merge_check_record (self, a->id, &m.rec, error)) ||
      !rfl_merge_save_record (self, &m.rec, was_alive, before, error) ||
      !journal_fields (self, &m, error))
    return RFL_OP_FAILED;
  return RFL_OP_DONE;
}
