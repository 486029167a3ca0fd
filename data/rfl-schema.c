/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-schema"

#include "rfl-schema-private.h"
#include "rfl-error.h"
#include "rfl-file.h"
#include "rfl-json.h"

/*
 * The record schema: what a record of each type holds, the lifecycles its
 * status follows, and the vocabulary the app shows. It is data
 * (data/schema/records.json, compiled into the library), so that a field is
 * added without touching code, and an office extends it with no rebuild
 * through an override file read at start (rfl-schema-override.c). This file
 * parses both into the structures the other files of RflSchema read, and
 * keeps the one schema every store of the process uses.
 */

#define SCHEMA_RESOURCE "/io/github/reunite/data/records.json"

/* The built-in schema is 8 KiB; an override adding a dozen record types
 * stays far below this, and nothing larger is read. */
#define OVERRIDE_MAX_BYTES (256 * 1024)

const char * const rfl_schema_kind_names[N_KINDS] = {
  "string", "text", "integer", "boolean", "enum", "partial_date", "date", "phone",
  "object", "array", "id", "status", "record_ref", "number",
};

G_DEFINE_FINAL_TYPE (RflSchema, rfl_schema, G_TYPE_OBJECT)

G_DEFINE_QUARK (rfl-store-error-quark, rfl_store_error)

void
rfl_schema_field_free (Field *field)
{
  if (field == NULL)
    return;
  g_free (field->name);
  g_strfreev (field->values);
  g_free (field->struct_name);
  rfl_schema_field_free (field->items);
  g_free (field->default_value);
  g_free (field->label);
  g_clear_pointer (&field->when, g_hash_table_unref);
  g_free (field);
}

void
rfl_schema_field_set_free (FieldSet *set)
{
  g_hash_table_unref (set->by_name);
  g_ptr_array_unref (set->order);
  g_free (set);
}

FieldSet *
rfl_schema_field_set_new (void)
{
  FieldSet *set = g_new0 (FieldSet, 1);

  set->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  set->order = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_schema_field_free);
  return set;
}

/* Adds @field (taking it) at the end of @set. A record type may redefine a
 * common field; the later definition wins. */
void
rfl_schema_field_set_add (FieldSet *set,
                          Field    *field)
{
  Field *old = g_hash_table_lookup (set->by_name, field->name);

  if (old != NULL)
    {
      g_hash_table_remove (set->by_name, field->name);
      g_ptr_array_remove (set->order, old);
    }
  g_hash_table_insert (set->by_name, field->name, field);
  g_ptr_array_add (set->order, field);
}

static void
lifecycle_free (Lifecycle *lc)
{
  g_strfreev (lc->initial);
  g_strfreev (lc->retained);
  g_ptr_array_unref (lc->states);
  g_hash_table_unref (lc->transitions);
  g_hash_table_unref (lc->reasons);
  g_free (lc);
}

static void
record_type_free (RecordType *rt)
{
  g_free (rt->name);
  rfl_schema_field_set_free (rt->fields);
  g_free (rt->label);
  g_free (rt->plural);
  g_free (rt->list);
  g_clear_pointer (&rt->subtypes, g_hash_table_unref);
  g_strfreev (rt->display);
  g_free (rt);
}

/* Members of a file that may lack them or hold something else: json-glib's
 * getters stop with a critical then. */
JsonObject *
rfl_schema_object_member (JsonObject *obj,
                          const char *member)
{
  JsonNode *node = json_object_get_member (obj, member);

  return node != NULL && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

JsonArray *
rfl_schema_array_member (JsonObject *obj,
                         const char *member)
{
  JsonNode *node = json_object_get_member (obj, member);

  return node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
}

GStrv
rfl_schema_strv_from_array (JsonArray *array)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  if (array != NULL)
    for (guint i = 0; i < json_array_get_length (array); i++)
      {
        const char *s = json_array_get_string_element (array, i);
        if (s != NULL)
          g_strv_builder_add (builder, s);
      }
  return g_strv_builder_end (builder);
}

gboolean
rfl_schema_fail (GError     **error,
                 const char  *what,
                 const char  *name)
{
  g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_CORRUPT,
               "record schema: %s '%s'", what, name);
  return FALSE;
}

static gboolean
parse_when (Field       *field,
            JsonNode    *when,
            GError     **error)
{
  g_autoptr(GList) names = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (when))
    return rfl_schema_fail (error, "'when' is not an object in", field->name);
  field->when = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_strfreev);
  names = json_object_get_members (json_node_get_object (when));
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonNode *allowed = json_object_get_member (json_node_get_object (when), l->data);

      if (!JSON_NODE_HOLDS_ARRAY (allowed))
        return rfl_schema_fail (error, "a condition of 'when' is not a list of values in", field->name);
      g_hash_table_insert (field->when, g_strdup (l->data),
                           rfl_schema_strv_from_array (json_node_get_array (allowed)));
    }
  return TRUE;
}

Field *
rfl_schema_parse_field (const char  *name,
                        JsonNode    *node,
                        GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  Field *field;
  JsonObject *obj;
  const char *kind;
  guint k;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      rfl_schema_fail (error, "field is not an object", name);
      return NULL;
    }
  obj = json_node_get_object (node);
  kind = rfl_json_string_or (obj, "type", "");

  for (k = 0; k < N_KINDS; k++)
    if (g_str_equal (kind, rfl_schema_kind_names[k]))
      break;
  if (k == N_KINDS)
    {
      rfl_schema_fail (error, "unknown field type for", name);
      return NULL;
    }

  field = g_new0 (Field, 1);
  field->name = g_strdup (name);
  field->kind = k;
  field->required = rfl_json_bool_or (obj, "required", FALSE);
  if (json_object_has_member (obj, "searchable"))
    {
      JsonNode *searchable = json_object_get_member (obj, "searchable");

      if (JSON_NODE_HOLDS_VALUE (searchable) && json_node_get_value_type (searchable) == G_TYPE_BOOLEAN)
        field->searchable = json_node_get_boolean (searchable) ? 1 : 0;
      else if (g_strcmp0 (json_node_get_string (searchable), "secondary") == 0)
        field->searchable = 2;
    }
  field->min = rfl_json_int_or (obj, "min", G_MININT64);
  field->max = rfl_json_int_or (obj, "max", G_MAXINT64);
  field->min_items = rfl_json_int_or (obj, "min_items", 0);
  field->max_items = rfl_json_int_or (obj, "max_items", 1000);
  field->struct_name = g_strdup (rfl_json_string_or (obj, "struct", NULL));
  field->default_value = g_strdup (rfl_json_string_or (obj, "default", NULL));
  if (json_object_has_member (obj, "values"))
    field->values = rfl_schema_strv_from_array (rfl_schema_array_member (obj, "values"));
  field->label = g_strdup (rfl_json_string_or (obj, "label", NULL));
  field->past = rfl_json_bool_or (obj, "past", FALSE);
  if (json_object_has_member (obj, "when") && !parse_when (field, json_object_get_member (obj, "when"), error))
    {
      rfl_schema_field_free (field);
      return NULL;
    }

  if (field->kind == KIND_ENUM && (field->values == NULL || field->values[0] == NULL))
    {
      rfl_schema_field_free (field);
      rfl_schema_fail (error, "enum without values", name);
      return NULL;
    }
  if (field->kind == KIND_OBJECT && field->struct_name == NULL)
    {
      rfl_schema_field_free (field);
      rfl_schema_fail (error, "object without struct", name);
      return NULL;
    }
  if (field->kind == KIND_ARRAY)
    {
      JsonNode *items = json_object_get_member (obj, "items");

      if (items == NULL || (field->items = rfl_schema_parse_field (name, items, &local_error)) == NULL)
        {
          rfl_schema_field_free (field);
          if (local_error != NULL)
            g_propagate_error (error, g_steal_pointer (&local_error));
          else
            rfl_schema_fail (error, "array without items", name);
          return NULL;
        }
    }

  return field;
}

static gboolean
parse_field_set (JsonObject  *obj,
                 FieldSet    *into,
                 gboolean     added,
                 GError     **error)
{
  g_autoptr(GList) members = json_object_get_members (obj);

  for (GList *l = members; l != NULL; l = l->next)
    {
      Field *field = rfl_schema_parse_field (l->data, json_object_get_member (obj, l->data), error);

      if (field == NULL)
        return FALSE;
      field->added = added;
      rfl_schema_field_set_add (into, field);
    }
  return TRUE;
}

gboolean
rfl_schema_parse_lifecycle (RflSchema   *self,
                            const char  *name,
                            JsonNode    *node,
                            GError     **error)
{
  JsonObject *lo = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  JsonObject *transitions, *reasons;
  g_autoptr(GList) from = NULL;
  Lifecycle *lc;

  if (lo == NULL)
    return rfl_schema_fail (error, "lifecycle is not an object", name);
  lc = g_new0 (Lifecycle, 1);
  lc->transitions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_strfreev);
  lc->reasons = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  lc->states = g_ptr_array_new_with_free_func (g_free);
  lc->initial = rfl_schema_strv_from_array (rfl_schema_array_member (lo, "initial"));
  lc->retained = rfl_schema_strv_from_array (rfl_schema_array_member (lo, "retained"));
  g_hash_table_insert (self->lifecycles, g_strdup (name), lc);

  transitions = rfl_schema_object_member (lo, "transitions");
  if (transitions == NULL || lc->initial[0] == NULL)
    return rfl_schema_fail (error, "lifecycle without states", name);
  from = json_object_get_members (transitions);
  for (GList *f = from; f != NULL; f = f->next)
    {
      g_hash_table_insert (lc->transitions, g_strdup (f->data),
                           rfl_schema_strv_from_array (rfl_schema_array_member (transitions, f->data)));
      g_ptr_array_add (lc->states, g_strdup (f->data));
    }

  reasons = rfl_schema_object_member (lo, "reason");
  if (reasons != NULL)
    {
      g_autoptr(GList) targets = json_object_get_members (reasons);
      for (GList *t = targets; t != NULL; t = t->next)
        {
          const char *field = rfl_json_string_or (reasons, t->data, NULL);

          if (field == NULL)
            return rfl_schema_fail (error, "a reason does not name a field in lifecycle", name);
          g_hash_table_insert (lc->reasons, g_strdup (t->data), g_strdup (field));
        }
    }
  return TRUE;
}

gboolean
rfl_schema_parse_struct (RflSchema   *self,
                         const char  *name,
                         JsonNode    *node,
                         gboolean     added,
                         GError     **error)
{
  FieldSet *set;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return rfl_schema_fail (error, "struct is not an object", name);
  set = rfl_schema_field_set_new ();
  g_hash_table_insert (self->structs, g_strdup (name), set);
  return parse_field_set (json_node_get_object (node), set, added, error);
}

/* What the app shows of a record type: its labels, its list, the labels of
 * its subtypes and the fields that name it. */
static gboolean
parse_presentation (RecordType  *rt,
                    JsonObject  *ro,
                    GError     **error)
{
  JsonObject *subtypes;

  rt->label = g_strdup (rfl_json_string_or (ro, "label", NULL));
  rt->plural = g_strdup (rfl_json_string_or (ro, "plural", NULL));
  rt->list = g_strdup (rfl_json_string_or (ro, "list", NULL));
  if (rt->list != NULL && !g_str_equal (rt->list, "cases") && !g_str_equal (rt->list, "messages"))
    return rfl_schema_fail (error, "a list is \"cases\" or \"messages\", not", rt->list);
  if ((subtypes = rfl_schema_object_member (ro, "subtypes")) != NULL)
    {
      g_autoptr(GList) values = json_object_get_members (subtypes);

      rt->subtypes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      for (GList *l = values; l != NULL; l = l->next)
        {
          const char *label = rfl_json_string_or (subtypes, l->data, NULL);

          if (label == NULL)
            return rfl_schema_fail (error, "the label of a subtype is not a string:", l->data);
          g_hash_table_insert (rt->subtypes, g_strdup (l->data), g_strdup (label));
        }
    }
  if (json_object_has_member (ro, "display"))
    {
      JsonArray *display = rfl_schema_array_member (ro, "display");

      if (display == NULL)
        return rfl_schema_fail (error, "'display' is not a list in", rt->name);
      rt->display = rfl_schema_strv_from_array (display);
    }
  return TRUE;
}

RecordType *
rfl_schema_parse_record_type (RflSchema   *self,
                              const char  *name,
                              JsonNode    *node,
                              JsonObject  *common,
                              gboolean     added,
                              GError     **error)
{
  JsonObject *ro = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  JsonObject *fields;
  const char *lifecycle;
  RecordType *rt;

  if (ro == NULL || (fields = rfl_schema_object_member (ro, "fields")) == NULL)
    {
      rfl_schema_fail (error, "record type without fields", name);
      return NULL;
    }
  rt = g_new0 (RecordType, 1);
  rt->name = g_strdup (name);
  rt->fields = rfl_schema_field_set_new ();
  g_hash_table_insert (self->records, rt->name, rt);
  g_ptr_array_add (self->order, rt);

  if (!parse_field_set (common, rt->fields, FALSE, error) ||
      !parse_field_set (fields, rt->fields, added, error) || !parse_presentation (rt, ro, error))
    return NULL;

  lifecycle = rfl_json_string_or (ro, "lifecycle", NULL);
  if (lifecycle != NULL)
    rt->lifecycle = g_hash_table_lookup (self->lifecycles, lifecycle);
  if (lifecycle != NULL && rt->lifecycle == NULL)
    {
      rfl_schema_fail (error, "unknown lifecycle", lifecycle);
      return NULL;
    }
  return rt;
}

/* Whether @field holds a person, or a list of them: a struct with an id. */
static gboolean
holds_persons (RflSchema *self,
               Field     *field)
{
  Field *target = field->kind == KIND_ARRAY ? field->items : field;
  FieldSet *set;

  if (target->kind != KIND_OBJECT)
    return FALSE;
  set = g_hash_table_lookup (self->structs, target->struct_name);
  if (set == NULL)
    return FALSE;
  return g_hash_table_contains (set->by_name, "id");
}

/* The fields that name a record of @rt: those the schema lists, else every
 * field that holds persons, in order. */
static gboolean
check_display (RflSchema   *self,
               RecordType  *rt,
               GError     **error)
{
  g_autoptr(GStrvBuilder) builder = NULL;

  if (rt->display != NULL)
    {
      for (guint i = 0; rt->display[i] != NULL; i++)
        {
          Field *field = g_hash_table_lookup (rt->fields->by_name, rt->display[i]);

          if (field == NULL || !holds_persons (self, field))
            return rfl_schema_fail (error, "'display' names a field that holds no person:",
                                    rt->display[i]);
        }
      return TRUE;
    }
  builder = g_strv_builder_new ();
  for (guint i = 0; i < rt->fields->order->len; i++)
    {
      Field *field = g_ptr_array_index (rt->fields->order, i);

      if (holds_persons (self, field))
        g_strv_builder_add (builder, field->name);
    }
  rt->display = g_strv_builder_end (builder);
  return TRUE;
}

/* Every referenced struct must exist, so validation never meets a dangling
 * name; so must the record type of the notes. */
gboolean
rfl_schema_check_structs (RflSchema  *self,
                          GError    **error)
{
  for (guint r = 0; r < self->order->len; r++)
    {
      RecordType *rt = g_ptr_array_index (self->order, r);

      for (guint i = 0; i < rt->fields->order->len; i++)
        {
          Field *f = g_ptr_array_index (rt->fields->order, i);
          Field *target = f->kind == KIND_ARRAY ? f->items : f;

          if (target->kind == KIND_OBJECT &&
              !g_hash_table_contains (self->structs, target->struct_name))
            return rfl_schema_fail (error, "unknown struct", target->struct_name);
        }
      if (!check_display (self, rt, error))
        return FALSE;
    }
  if (self->notes != NULL && !g_hash_table_contains (self->records, self->notes))
    return rfl_schema_fail (error, "the notes are of an unknown record type", self->notes);
  return TRUE;
}

static gboolean
load (RflSchema   *self,
      JsonNode    *root,
      GError     **error)
{
  JsonObject *obj, *lifecycles, *structs, *records, *common;
  g_autoptr(GList) names = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (root))
    return rfl_schema_fail (error, "root is not an object", "");
  obj = json_node_get_object (root);
  if (g_strcmp0 (rfl_json_string_or (obj, "format", ""), "reunite-schema") != 0)
    return rfl_schema_fail (error, "format is not", "reunite-schema");
  self->version = rfl_json_int_or (obj, "version", 0);
  self->notes = g_strdup (rfl_json_string_or (obj, "notes", NULL));

  lifecycles = rfl_schema_object_member (obj, "lifecycles");
  structs = rfl_schema_object_member (obj, "structs");
  records = rfl_schema_object_member (obj, "records");
  common = rfl_schema_object_member (obj, "common");
  if (lifecycles == NULL || structs == NULL || records == NULL || common == NULL)
    return rfl_schema_fail (error, "missing section", "lifecycles/structs/records/common");
  self->common = json_object_ref (common);

  names = json_object_get_members (lifecycles);
  for (GList *l = names; l != NULL; l = l->next)
    if (!rfl_schema_parse_lifecycle (self, l->data, json_object_get_member (lifecycles, l->data),
                                     error))
      return FALSE;

  g_clear_pointer (&names, g_list_free);
  names = json_object_get_members (structs);
  for (GList *l = names; l != NULL; l = l->next)
    if (!rfl_schema_parse_struct (self, l->data, json_object_get_member (structs, l->data), FALSE,
                                  error))
      return FALSE;

  g_clear_pointer (&names, g_list_free);
  names = json_object_get_members (records);
  for (GList *l = names; l != NULL; l = l->next)
    if (!rfl_schema_parse_record_type (self, l->data, json_object_get_member (records, l->data),
                                       common, FALSE, error))
      return FALSE;

  return rfl_schema_check_structs (self, error);
}

static void
rfl_schema_finalize (GObject *object)
{
  RflSchema *self = (RflSchema *) object;

  g_clear_pointer (&self->order, g_ptr_array_unref);
  g_clear_pointer (&self->records, g_hash_table_unref);
  g_clear_pointer (&self->structs, g_hash_table_unref);
  g_clear_pointer (&self->lifecycles, g_hash_table_unref);
  g_clear_pointer (&self->common, json_object_unref);
  g_free (self->notes);

  G_OBJECT_CLASS (rfl_schema_parent_class)->finalize (object);
}

static void
rfl_schema_class_init (RflSchemaClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rfl_schema_finalize;
}

static void
rfl_schema_init (RflSchema *self)
{
  self->structs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) rfl_schema_field_set_free);
  self->lifecycles = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            (GDestroyNotify) lifecycle_free);
  self->records = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                         (GDestroyNotify) record_type_free);
  self->order = g_ptr_array_new ();
}

RflSchema *
rfl_schema_new_from_data (const char  *data,
                          gsize        length,
                          GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(RflSchema) self = NULL;

  g_return_val_if_fail (data != NULL, NULL);

  if (!json_parser_load_from_data (parser, data, length, error))
    return NULL;
  self = g_object_new (RFL_TYPE_SCHEMA, NULL);
  if (!load (self, json_parser_get_root (parser), error))
    return NULL;
  return g_steal_pointer (&self);
}

/**
 * rfl_schema_dup_override_paths:
 *
 * Where override files are looked for, in the order they are merged: each
 * `reunite/records.json` under the system configuration folders
 * (`/etc/xdg` for an office install), the least important first, then the
 * one under the user's (`$XDG_CONFIG_HOME`). Each can only add to what
 * comes before it.
 *
 * Returns: (transfer full): the paths, which need not exist
 */
GStrv
rfl_schema_dup_override_paths (void)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  const char * const *dirs = g_get_system_config_dirs ();

  for (guint i = g_strv_length ((char **) dirs); i-- > 0;)
    {
      g_autofree char *path = g_build_filename (dirs[i], "reunite", "records.json", NULL);

      g_strv_builder_add (builder, path);
    }
  {
    g_autofree char *path = g_build_filename (g_get_user_config_dir (), "reunite", "records.json",
                                              NULL);

    g_strv_builder_add (builder, path);
  }
  return g_strv_builder_end (builder);
}

/**
 * rfl_schema_new_with_overrides:
 * @paths: (nullable) (array zero-terminated=1): override files, merged in
 *   this order; one that does not exist is skipped
 * @error: return location for an error
 *
 * The built-in schema with each override file merged over it. A file larger
 * than 256 KiB is refused before it is parsed. An override may add record
 * types, fields, enum values, statuses and structs; it may not remove or
 * weaken anything, and a file that tries is refused whole, with an error of
 * one line that names it and the problem (%RFL_STORE_ERROR_SCHEMA, or the
 * %G_IO_ERROR of reading it).
 *
 * Returns: (transfer full): the schema, or %NULL with @error set
 */
RflSchema *
rfl_schema_new_with_overrides (const char * const  *paths,
                               GError             **error)
{
  g_autoptr(GBytes) builtin = NULL;
  g_autoptr(RflSchema) self = NULL;

  builtin = g_resources_lookup_data (SCHEMA_RESOURCE, G_RESOURCE_LOOKUP_FLAGS_NONE, error);
  if (builtin == NULL)
    return NULL;
  self = rfl_schema_new_from_data (g_bytes_get_data (builtin, NULL), g_bytes_get_size (builtin), error);
  if (self == NULL)
    return NULL;
  for (guint i = 0; paths != NULL && paths[i] != NULL; i++)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(GBytes) bytes = rfl_file_read (paths[i], OVERRIDE_MAX_BYTES, RFL_FILE_REGULAR,
                                               &local_error);

      if (bytes == NULL && g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
        continue;
      if (bytes == NULL)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
      g_debug ("merging the record schema override %s", paths[i]);
      if (!rfl_schema_merge_override (self, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                      paths[i], error))
        return NULL;
    }
  return g_steal_pointer (&self);
}

typedef struct
{
  RflSchema *schema;
  GError    *error;   /* why the override files were not merged */
} Default;

static gpointer
load_default (gpointer data)
{
  static Default loaded;
  g_auto(GStrv) paths = rfl_schema_dup_override_paths ();
  g_autoptr(GError) error = NULL;

  loaded.schema = rfl_schema_new_with_overrides ((const char * const *) paths, &loaded.error);
  /* A bad override leaves the built-in schema, which accepts less, never
   * more; the programs refuse to start on it (rfl_schema_load_default()). */
  if (loaded.schema == NULL)
    loaded.schema = rfl_schema_new_with_overrides (NULL, &error);
  if (loaded.schema == NULL)
    g_error ("built-in record schema invalid: %s", error->message);
  return &loaded;
}

static Default *
get_default (void)
{
  static GOnce once = G_ONCE_INIT;

  return g_once (&once, load_default, NULL);
}

/**
 * rfl_schema_get_default:
 *
 * The schema every store of the process uses: the one compiled into the
 * library, with the override files of rfl_schema_dup_override_paths()
 * merged over it, read on first use. If they cannot be merged, it is the
 * built-in schema alone, and rfl_schema_load_default() says why.
 *
 * Returns: (transfer none): the schema
 */
RflSchema *
rfl_schema_get_default (void)
{
  return get_default ()->schema;
}

/**
 * rfl_schema_load_default:
 * @error: return location for an error
 *
 * Reads the default schema, with its override files, if that has not
 * happened yet. A program calls this at start and stops, showing the
 * error, when it fails: a store must not run with fewer record types than
 * the office defined.
 *
 * Returns: whether every override file was merged
 */
gboolean
rfl_schema_load_default (GError **error)
{
  Default *loaded = get_default ();

  if (loaded->error != NULL)
    {
      g_propagate_error (error, g_error_copy (loaded->error));
      return FALSE;
    }
  return TRUE;
}

guint
rfl_schema_get_version (RflSchema *self)
{
  g_return_val_if_fail (RFL_IS_SCHEMA (self), 0);
  return self->version;
}

gboolean
rfl_schema_has_record_type (RflSchema  *self,
                            const char *type)
{
  g_return_val_if_fail (RFL_IS_SCHEMA (self), FALSE);
  return type != NULL && g_hash_table_contains (self->records, type);
}

GStrv
rfl_schema_dup_record_types (RflSchema *self)
{
  g_return_val_if_fail (RFL_IS_SCHEMA (self), NULL);

  return rfl_schema_sorted_keys (self->records);
}
