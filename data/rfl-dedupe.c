/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-store"

/*
 * Merging a duplicate into the case it duplicates, and undoing it.
 *
 * A merge is two ordinary updates in one transaction, so it syncs, merges
 * and is audited like any edit:
 *
 * - the case kept takes every value of the duplicate it lacks, and the
 *   names the duplicate spells differently as alternate names, so that
 *   search and matching find it under either spelling. A value it holds
 *   differently stays as it is, and the other is kept beside it as an
 *   alternate. Each value taken or kept is an entry of its `merged` list
 *   (from, field, value, added), which is what an unmerge takes away again.
 *   Consent is never taken from another record: its values are only kept.
 * - the duplicate is closed as a duplicate, with `merged_into` naming the
 *   case kept and its status before in `status_before_merge`. It keeps its
 *   document, so nothing is lost, but has no persons for the name index
 *   (rfl_schema_collect_persons()): it is no longer searched, matched or
 *   proposed. Its notes and the decisions on its pairs are shown with the
 *   case kept (rfl-queries.c, rfl-proposals.c).
 *
 * An unmerge takes from the case kept each value the merge added that is
 * still as the merge left it, but for a sensitivity it raised, drops the
 * alternates, and gives the duplicate its status back.
 */

#include "rfl-store-private.h"
#include "rfl-json.h"

#include <string.h>
#include <glib/gi18n-lib.h>

/* What a merge never takes from the duplicate: what identifies a record,
 * its own state, where it belongs, and the merge's bookkeeping. */
static const char * const own_fields[] = {
  "id", "type", "status", "status_by", "closure_reason", "reopen_reason", "retention_until", "office",
  "merged", "merged_into", "status_before_merge", NULL
};

/* Differing values of these are kept as alternates, never taken: consent
 * given for one registration is no consent for another. */
static const char * const noted_only[] = { "consent", NULL };

static const char * const name_members[] = { "given_name", "middle_name", "family_name", NULL };

static const char * const sensitivities[] = { "normal", "sensitive", "highly_sensitive", NULL };

/* Arrays hold at most this many values from a merge; the schema allows
 * 20 alternate names, and 10 of the other lists. */
#define MAX_ALTERNATE_NAMES 20
#define MAX_OTHER_ITEMS 10

typedef struct
{
  RflSchema  *schema;
  const char *from;
  JsonArray  *entries;   /* the case kept's `merged` list, growing */
  guint       added;
  guint       alternates;
} Merge;

static char *
value_text (JsonNode *node)
{
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (node));
  return json_to_string (node, FALSE);
}

static void
note_value (Merge      *m,
            const char *field,
            JsonNode   *value,
            gboolean    added)
{
  JsonObject *entry = json_object_new ();
  g_autofree char *text = value_text (value);

  json_object_set_string_member (entry, "from", m->from);
  json_object_set_string_member (entry, "field", field);
  json_object_set_string_member (entry, "value", text);
  json_object_set_boolean_member (entry, "added", added);
  json_array_add_object_element (m->entries, entry);
  if (added)
    m->added++;
  else
    m->alternates++;
}

static gboolean
array_contains (JsonArray *array,
                JsonNode  *node)
{
  for (guint i = 0; i < json_array_get_length (array); i++)
    if (json_node_equal (json_array_get_element (array, i), node))
      return TRUE;
  return FALSE;
}

/* Adds the items of @from that @into lacks, up to @max; the others are kept as alternates. */
static void
merge_arrays (Merge      *m,
              const char *field,
              JsonArray  *into,
              JsonArray  *from,
              guint       max)
{
  for (guint i = 0; i < json_array_get_length (from); i++)
    {
      JsonNode *item = json_array_get_element (from, i);

      if (array_contains (into, item))
        continue;
      if (json_array_get_length (into) < max)
        {
          json_array_add_element (into, json_node_copy (item));
          note_value (m, field, item, TRUE);
        }
      else
        note_value (m, field, item, FALSE);
    }
}

/* Merges the members of @from into @into, a copy of the case kept's object
 * @field: a person, or consent when @take is FALSE. Returns whether @into
 * changed. */
static gboolean
merge_object (Merge      *m,
              const char *field,
              JsonObject *into,
              JsonObject *from,
              gboolean    take)
{
  gboolean changed = FALSE, names_differ = FALSE;
  JsonObjectIter iter;
  const char *member;
  JsonNode *value;

  json_object_iter_init_ordered (&iter, from);
  while (json_object_iter_next_ordered (&iter, &member, &value))
    {
      g_autofree char *path = g_strconcat (field, ".", member, NULL);
      JsonNode *mine = json_object_get_member (into, member);

      if (g_str_equal (member, "id") || (mine != NULL && json_node_equal (mine, value)))
        continue;
      if (!take)
        note_value (m, path, value, FALSE);
      else if (mine == NULL && JSON_NODE_HOLDS_ARRAY (value))
        {
          /* Item by item, so that an unmerge takes back only these. */
          JsonArray *items = json_array_new ();

          json_object_set_array_member (into, member, items);
          merge_arrays (m, path, items, json_node_get_array (value),
                        g_str_equal (member, "alternate_names") ? MAX_ALTERNATE_NAMES : MAX_OTHER_ITEMS);
          changed = TRUE;
        }
      else if (mine == NULL)
        {
          json_object_set_member (into, member, json_node_copy (value));
          note_value (m, path, value, TRUE);
          changed = TRUE;
        }
      else if (JSON_NODE_HOLDS_ARRAY (mine) && JSON_NODE_HOLDS_ARRAY (value))
        {
          guint before = m->added;

          merge_arrays (m, path, json_node_get_array (mine), json_node_get_array (value),
                        g_str_equal (member, "alternate_names") ? MAX_ALTERNATE_NAMES : MAX_OTHER_ITEMS);
          changed |= m->added != before;
        }
      else
        {
          note_value (m, path, value, FALSE);
          names_differ |= g_strv_contains (name_members, member);
        }
    }

  /* The other spelling of the name is searched and matched from now on. */
  if (names_differ)
    {
      g_autofree char *name = rfl_person_display_name (from);
      g_autofree char *path = g_strconcat (field, ".alternate_names", NULL);
      g_autoptr(JsonArray) one = json_array_new ();
      JsonArray *names;

      if (!json_object_has_member (into, "alternate_names") ||
          !JSON_NODE_HOLDS_ARRAY (json_object_get_member (into, "alternate_names")))
        json_object_set_array_member (into, "alternate_names", json_array_new ());
      names = json_object_get_array_member (into, "alternate_names");
      if (name != NULL)
        {
          guint before = m->added;

          json_array_add_string_element (one, name);
          merge_arrays (m, path, names, one, MAX_ALTERNATE_NAMES);
          changed |= m->added != before;
        }
      if (json_array_get_length (names) == 0)
        json_object_remove_member (into, "alternate_names");
    }
  return changed;
}

static guint
sensitivity_rank (JsonObject *doc)
{
  const char *value = rfl_json_string_or (doc, "sensitivity", "normal");

  for (guint i = 0; sensitivities[i] != NULL; i++)
    if (g_str_equal (value, sensitivities[i]))
      return i;
  return 0;
}

/* The patch that merges @dup into @keep. */
static JsonObject *
survivor_patch (Merge      *m,
                JsonObject *keep,
                JsonObject *dup)
{
  JsonObject *patch = json_object_new ();
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  json_object_iter_init_ordered (&iter, dup);
  while (json_object_iter_next_ordered (&iter, &name, &value))
    {
      JsonNode *mine = json_object_get_member (keep, name);

      if (g_strv_contains (own_fields, name) || (mine != NULL && json_node_equal (mine, value)))
        continue;
      if (g_str_equal (name, "sensitivity"))
        {
          /* The merged case is as sensitive as the more sensitive of the two. */
          if (sensitivity_rank (dup) > sensitivity_rank (keep))
            {
              json_object_set_member (patch, name, json_node_copy (value));
              note_value (m, name, value, TRUE);
            }
          continue;
        }
      /* A value the kept record's kind cannot hold (a detainee's place of
       * detention, on a found person's registration) is kept beside it. */
      if (mine == NULL && !g_strv_contains (noted_only, name) && rfl_schema_field_applies (m->schema, keep, name))
        {
          json_object_set_member (patch, name, json_node_copy (value));
          note_value (m, name, value, TRUE);
        }
      else if (mine != NULL && JSON_NODE_HOLDS_OBJECT (mine) && JSON_NODE_HOLDS_OBJECT (value))
        {
          g_autoptr(JsonNode) copy = json_node_copy (mine);

          if (merge_object (m, name, json_node_get_object (copy), json_node_get_object (value),
                            !g_strv_contains (noted_only, name)))
            json_object_set_member (patch, name, g_steal_pointer (&copy));
        }
      else
        note_value (m, name, value, FALSE);
    }
  return patch;
}

static gboolean
has_merged_into (RflStore    *self,
                 const char  *id,
                 char       **other,
                 GError     **error)
{
  sqlite3_stmt *st = rfl_store_stmt (self, "SELECT id FROM records WHERE doc ->> '$.merged_into' = ?1"
                                     " AND doc ->> '$.merged_into' IS NOT NULL AND cl % 2 = 1 LIMIT 1", error);

  if (st == NULL)
    return FALSE;
  rfl_bind_text (st, 1, id);
  if (sqlite3_step (st) == SQLITE_ROW)
    *other = g_strdup ((const char *) sqlite3_column_text (st, 0));
  sqlite3_reset (st);
  return TRUE;
}

typedef struct
{
  const char *id;
  const char *into;
  JsonObject *out;
} MergeArgs;

static gboolean
check_mergeable (RflStore     *self,
                 RflRecordRow *row,
                 GError      **error)
{
  if (!rfl_schema_has_field (self->schema, row->type, "merged_into"))
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                   _("%s is not a case: only tracing requests and registrations are merged"), row->id);
      return FALSE;
    }
  return TRUE;
}

static gboolean
merge_locked (RflStore  *self,
              gpointer   data,
              GError   **error)
{
  MergeArgs *args = data;
  g_auto(RflRecordRow) dup = { 0 };
  g_auto(RflRecordRow) keep = { 0 };
  g_autoptr(JsonNode) list = json_node_new (JSON_NODE_ARRAY);
  g_autoptr(JsonObject) patch = NULL, closing = json_object_new ();
  g_autofree char *other = NULL;
  Merge m = { self->schema, args->id, NULL, 0, 0 };
  JsonObject *out;

  if (g_strcmp0 (args->id, args->into) == 0)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID, _("A record cannot be merged into itself"));
      return FALSE;
    }
  if (!rfl_store_load_record (self, args->id, RFL_LOAD_LIVE, &dup, error) ||
      !rfl_store_load_record (self, args->into, RFL_LOAD_LIVE, &keep, error) ||
      !check_mergeable (self, &dup, error) || !check_mergeable (self, &keep, error))
    return FALSE;
  if (g_strcmp0 (dup.type, keep.type) != 0)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                   _("%s and %s are records of different types: only a duplicate of the same kind is merged"),
                   args->id, args->into);
      return FALSE;
    }
  if (json_object_has_member (dup.doc, "merged_into") || json_object_has_member (keep.doc, "merged_into"))
    {
      const char *which = json_object_has_member (dup.doc, "merged_into") ? args->id : args->into;
      JsonObject *doc = which == args->id ? dup.doc : keep.doc;

      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID, _("%s is already merged into %s"), which,
                   rfl_json_string_or (doc, "merged_into", ""));
      return FALSE;
    }
  /* A case shared with this office is another office's to close: it may
   * be merged into, but not closed as a duplicate from here. */
  {
    g_autofree char *office = rfl_store_meta_get (self, "sync.office");

    if (dup.owner != NULL && office != NULL && !g_str_equal (dup.owner, office))
      {
        g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                     _("%s belongs to office %s, which alone may close it as a duplicate: merge the other "
                       "record into it instead"), args->id, dup.owner);
        return FALSE;
      }
  }
  if (!has_merged_into (self, args->id, &other, error))
    return FALSE;
  if (other != NULL)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                   _("%s is merged into %s: unmerge it first, or merge it into %s"), other, args->id, args->into);
      return FALSE;
    }

  /* The list grows in a copy: the patch must differ from the document to change it. */
  m.entries = json_array_new ();
  json_node_take_array (list, m.entries);
  if (json_object_has_member (keep.doc, "merged") &&
      JSON_NODE_HOLDS_ARRAY (json_object_get_member (keep.doc, "merged")))
    {
      JsonArray *entries = json_object_get_array_member (keep.doc, "merged");

      for (guint i = 0; i < json_array_get_length (entries); i++)
        json_array_add_element (m.entries, json_node_copy (json_array_get_element (entries, i)));
    }
  patch = survivor_patch (&m, keep.doc, dup.doc);
  if (m.added + m.alternates > 0)
    json_object_set_member (patch, "merged", g_steal_pointer (&list));

  json_object_set_string_member (closing, "merged_into", args->into);
  if (!rfl_schema_is_retained_status (self->schema, dup.type, dup.status))
    {
      json_object_set_string_member (closing, "status_before_merge", dup.status);
      json_object_set_string_member (closing, "status", "closed");
      json_object_set_string_member (closing, "closure_reason", "duplicate");
    }

  if (!rfl_store_update_locked (self, args->into, patch, error) ||
      !rfl_store_update_locked (self, args->id, closing, error) ||
      !rfl_store_audit_append (self, "merge", args->id, args->into, error))
    return FALSE;

  out = json_object_new ();
  json_object_set_string_member (out, "merged", args->id);
  json_object_set_string_member (out, "into", args->into);
  json_object_set_int_member (out, "added", m.added);
  json_object_set_int_member (out, "alternates", m.alternates);
  json_object_set_string_member (out, "status", rfl_json_string_or (closing, "status", dup.status));
  args->out = out;
  return TRUE;
}

/**
 * rfl_store_merge_duplicate:
 * @self: an open store
 * @id: the duplicate, a tracing request or registration
 * @into: the case to keep, of the same type
 * @error: return location for an error
 *
 * Merges @id into @into: @into takes every value of @id it lacks, and keeps
 * the ones it holds differently as alternates; @id is closed as a duplicate
 * with `merged_into`, and its notes and decisions are shown with @into. See
 * rfl_store_unmerge_duplicate().
 *
 * Returns: (transfer full): `merged`, `into`, how many values were `added`
 *   and kept as `alternates`, and the duplicate's `status`; or %NULL on error
 */
JsonObject *
rfl_store_merge_duplicate (RflStore    *self,
                           const char  *id,
                           const char  *into,
                           GError     **error)
{
  MergeArgs args = { id, into, NULL };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  g_return_val_if_fail (id != NULL && into != NULL, NULL);

  if (!rfl_store_write (self, merge_locked, &args, error))
    {
      g_clear_pointer (&args.out, json_object_unref);
      return NULL;
    }
  return args.out;
}

/* Takes from @doc's copy the value an entry of the merge added, if it is
 * still the one the merge put there. Returns whether it did. */
static gboolean
take_back (JsonObject *patch,
           JsonObject *doc,
           JsonObject *entry)
{
  const char *field = rfl_json_string_or (entry, "field", "");
  const char *value = rfl_json_string_or (entry, "value", "");
  g_auto(GStrv) path = g_strsplit (field, ".", 2);
  JsonNode *node;
  JsonObject *object;

  if (path[0] == NULL)
    return FALSE;
  if (path[1] == NULL)
    {
      g_autofree char *text = NULL;

      if ((node = json_object_get_member (doc, path[0])) == NULL || !g_str_equal ((text = value_text (node)), value))
        return FALSE;
      json_object_set_null_member (patch, path[0]);
      return TRUE;
    }

  /* A member of an object: the patch holds the whole object, as edited so far. */
  if (!json_object_has_member (patch, path[0]))
    {
      if ((node = json_object_get_member (doc, path[0])) == NULL || !JSON_NODE_HOLDS_OBJECT (node))
        return FALSE;
      json_object_set_member (patch, path[0], json_node_copy (node));
    }
  if ((node = json_object_get_member (patch, path[0])) == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;
  object = json_node_get_object (node);
  if ((node = json_object_get_member (object, path[1])) == NULL)
    return FALSE;
  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          g_autofree char *text = value_text (json_array_get_element (array, i));

          if (g_str_equal (text, value))
            {
              json_array_remove_element (array, i);
              if (json_array_get_length (array) == 0)
                json_object_remove_member (object, path[1]);
              return TRUE;
            }
        }
      return FALSE;
    }
  {
    g_autofree char *text = value_text (node);

    if (!g_str_equal (text, value))
      return FALSE;
  }
  json_object_remove_member (object, path[1]);
  return TRUE;
}

typedef struct
{
  const char *id;
  JsonObject *out;
} UnmergeArgs;

static gboolean
unmerge_locked (RflStore  *self,
                gpointer   data,
                GError   **error)
{
  UnmergeArgs *args = data;
  g_auto(RflRecordRow) dup = { 0 };
  g_auto(RflRecordRow) keep = { 0 };
  g_autoptr(JsonObject) patch = json_object_new (), reopening = json_object_new ();
  g_autofree char *into = NULL;
  const char *before;
  guint removed = 0;
  gboolean kept_live;
  JsonObject *out;

  if (!rfl_store_load_record (self, args->id, RFL_LOAD_LIVE, &dup, error))
    return FALSE;
  if ((into = g_strdup (rfl_json_string_or (dup.doc, "merged_into", NULL))) == NULL)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID, _("%s is not merged into another record"),
                   args->id);
      return FALSE;
    }

  /* The case kept may have gone since (deleted, or purged): the duplicate
   * comes back all the same. */
  kept_live = rfl_store_load_record (self, into, RFL_LOAD_ANY, &keep, NULL) && keep.doc != NULL &&
              keep.cl % 2 == 1;
  if (kept_live && json_object_has_member (keep.doc, "merged") &&
      JSON_NODE_HOLDS_ARRAY (json_object_get_member (keep.doc, "merged")))
    {
      JsonArray *entries = json_object_get_array_member (keep.doc, "merged");
      g_autoptr(JsonArray) left = json_array_new ();

      for (guint i = 0; i < json_array_get_length (entries); i++)
        {
          JsonNode *node = json_array_get_element (entries, i);
          JsonObject *entry = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;

          if (entry == NULL || g_strcmp0 (rfl_json_string_or (entry, "from", NULL), args->id) != 0)
            {
              json_array_add_element (left, json_node_copy (node));
              continue;
            }
          removed++;
          /* The sensitivity a merge raised stays: lowering it is a person's
           * decision, not an undo's. */
          if (rfl_json_bool_or (entry, "added", FALSE) &&
              g_strcmp0 (rfl_json_string_or (entry, "field", NULL), "sensitivity") != 0)
            take_back (patch, keep.doc, entry);
        }
      if (json_array_get_length (left) > 0)
        json_object_set_array_member (patch, "merged", g_steal_pointer (&left));
      else
        json_object_set_null_member (patch, "merged");
    }

  json_object_set_null_member (reopening, "merged_into");
  before = rfl_json_string_or (dup.doc, "status_before_merge", NULL);
  if (before != NULL)
    {
      json_object_set_null_member (reopening, "status_before_merge");
      json_object_set_string_member (reopening, "status", before);
      json_object_set_null_member (reopening, "closure_reason");
    }

  if ((kept_live && !rfl_store_update_locked (self, into, patch, error)) ||
      !rfl_store_restore_locked (self, args->id, reopening, error) ||
      !rfl_store_audit_append (self, "unmerge", args->id, into, error))
    return FALSE;

  out = json_object_new ();
  json_object_set_string_member (out, "unmerged", args->id);
  json_object_set_string_member (out, "from", into);
  json_object_set_int_member (out, "removed", removed);
  json_object_set_string_member (out, "status", before != NULL ? before : dup.status);
  args->out = out;
  return TRUE;
}

/**
 * rfl_store_unmerge_duplicate:
 * @self: an open store
 * @id: a record merged into another by rfl_store_merge_duplicate()
 * @error: return location for an error
 *
 * Undoes the merge of @id: the case it was merged into loses the values
 * the merge added (those not changed since) and the alternates it kept,
 * and @id has its status back and is searched and matched again.
 *
 * Returns: (transfer full): `unmerged`, `from`, how many values of the
 *   merge were `removed`, and the record's `status`; or %NULL on error
 */
JsonObject *
rfl_store_unmerge_duplicate (RflStore    *self,
                             const char  *id,
                             GError     **error)
{
  UnmergeArgs args = { id, NULL };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  if (!rfl_store_write (self, unmerge_locked, &args, error))
    {
      g_clear_pointer (&args.out, json_object_unref);
      return NULL;
    }
  return args.out;
}
