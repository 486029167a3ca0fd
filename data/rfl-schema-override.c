/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-schema"

#include "rfl-schema-private.h"
#include "rfl-error.h"
#include "rfl-json.h"

#include <string.h>

/*
 * An office's additions to the record schema, from an override file read at
 * start: new record types, fields, structs, enum values and statuses, with
 * no rebuild. An override only adds. It cannot remove a field, value or
 * status, change a field's rules, require a field of records already saved
 * (they lack it), or allow a status change between statuses that already
 * exist: each of those would let through a record the built-in schema
 * refuses. A file that tries is refused whole, with one line naming the
 * file and the problem. Members an override does not know are refused too,
 * so a misspelt rule is never silently dropped.
 *
 * The file looks like records.json, with only what it adds:
 *
 *   {"format": "reunite-schema-override",
 *    "records": {"registration": {"fields": {"clan": {"type": "string"}}}}}
 */

#define OVERRIDE_FORMAT  "reunite-schema-override"
#define NAME_MAX_BYTES   64
#define LABEL_MAX_BYTES  100

typedef struct
{
  RflSchema  *schema;
  const char *origin;    /* the file, for errors */
} Merge;

static const char * const top_members[] = { "format", "lifecycles", "structs", "records", NULL };
static const char * const lifecycle_members[] = { "initial", "transitions", "reason", "retained",
                                                   NULL };
static const char * const added_lifecycle_members[] = { "transitions", "reason", "retained", NULL };
static const char * const record_members[] = { "label", "plural", "list", "display", "subtypes",
                                               "lifecycle", "fields", NULL };
static const char * const added_record_members[] = { "fields", "subtypes", NULL };
static const char * const field_members[] = { "type", "required", "searchable", "values", "min",
                                              "max", "min_items", "max_items", "struct", "items",
                                              "default", "label", "past", "when", NULL };
static const char * const extended_field_members[] = { "values", NULL };

static gboolean
refuse (Merge       *m,
        GError     **error,
        const char  *format,
        ...) G_GNUC_PRINTF (3, 4);

static gboolean
refuse (Merge       *m,
        GError     **error,
        const char  *format,
        ...)
{
  g_autofree char *problem = NULL;
  va_list args;

  va_start (args, format);
  problem = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_SCHEMA, "%s: %s", m->origin, problem);
  return FALSE;
}

/* An error of the parser shared with the built-in schema, as the override's. */
static gboolean
refuse_parsed (Merge      *m,
               GError    **error,
               const char *where,
               GError     *cause)
{
  const char *message = cause->message;

  if (g_str_has_prefix (message, "record schema: "))
    message += strlen ("record schema: ");
  if (where != NULL)
    refuse (m, error, "%s: %s", where, message);
  else
    refuse (m, error, "%s", message);
  g_error_free (cause);
  return FALSE;
}

/* Names become members of every record and words of the app: short,
 * lower-case ASCII, as the built-in ones are. */
static gboolean
check_name (Merge       *m,
            const char  *what,
            const char  *name,
            GError     **error)
{
  gsize len = strlen (name);

  gboolean ok = len > 0 && len <= NAME_MAX_BYTES && g_ascii_islower (name[0]);

  for (gsize i = 0; ok && i < len; i++)
    ok = g_ascii_islower (name[i]) || g_ascii_isdigit (name[i]) || name[i] == '_';
  if (!ok)
    return refuse (m, error, "%s '%s' is not a name (a-z, 0-9 and _, starting with a letter, "
                   "at most %d)", what, name, NAME_MAX_BYTES);
  return TRUE;
}

static gboolean
check_members (Merge               *m,
               JsonObject          *obj,
               const char * const  *allowed,
               const char          *where,
               GError             **error)
{
  g_autoptr(GList) members = json_object_get_members (obj);

  for (GList *l = members; l != NULL; l = l->next)
    if (!g_strv_contains (allowed, l->data))
      {
        g_autofree char *known = g_strjoinv (", ", (char **) allowed);

        return refuse (m, error, "%s: unknown member '%s' (allowed: %s)", where, (char *) l->data,
                       known);
      }
  return TRUE;
}

/* Whether @obj holds no member but those @allowed. */
static gboolean
only_members (JsonObject         *obj,
              const char * const *allowed)
{
  g_autoptr(GList) members = json_object_get_members (obj);

  for (GList *l = members; l != NULL; l = l->next)
    if (!g_strv_contains (allowed, l->data))
      return FALSE;
  return TRUE;
}

static JsonObject *
get_object (Merge       *m,
            JsonNode    *node,
            const char  *where,
            GError     **error)
{
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      refuse (m, error, "%s is not an object", where);
      return NULL;
    }
  return json_node_get_object (node);
}

/* A list of names, each checked. */
static gboolean
check_names (Merge       *m,
             JsonNode    *node,
             const char  *what,
             const char  *where,
             GError     **error)
{
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return refuse (m, error, "%s is not a list", where);
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      const char *name = json_array_get_string_element (array, i);

      if (name == NULL)
        return refuse (m, error, "%s holds something that is not a name", where);
      if (!check_name (m, what, name, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
check_label (Merge       *m,
             JsonObject  *obj,
             const char  *member,
             const char  *where,
             GError     **error)
{
  const char *label;

  if (!json_object_has_member (obj, member))
    return TRUE;
  label = rfl_json_string_or (obj, member, NULL);
  if (label == NULL || *label == '\0' || strlen (label) > LABEL_MAX_BYTES ||
      !g_utf8_validate (label, -1, NULL))
    return refuse (m, error, "%s: '%s' must be a text of 1 to %d bytes", where, member,
                   LABEL_MAX_BYTES);
  for (const char *p = label; *p != '\0'; p++)
    if ((guchar) *p < 0x20)
      return refuse (m, error, "%s: '%s' holds a control character", where, member);
  return TRUE;
}

/* A field as written in the file: only members the schema knows, and
 * names for its values. */
static gboolean
check_field_def (Merge       *m,
                 JsonNode    *node,
                 const char  *where,
                 GError     **error)
{
  JsonObject *obj = get_object (m, node, where, error);

  if (obj == NULL || !check_members (m, obj, field_members, where, error) ||
      !check_label (m, obj, "label", where, error))
    return FALSE;
  if (json_object_has_member (obj, "values") &&
      !check_names (m, json_object_get_member (obj, "values"), "value", where, error))
    return FALSE;
  if (json_object_has_member (obj, "items"))
    {
      g_autofree char *items = g_strdup_printf ("%s, its items", where);

      return check_field_def (m, json_object_get_member (obj, "items"), items, error);
    }
  return TRUE;
}

/* A field that exists already: the override may add values to an enum, and
 * nothing else. */
static gboolean
extend_field (Merge       *m,
              Field       *field,
              JsonNode    *node,
              const char  *where,
              GError     **error)
{
  Field *target = field->kind == KIND_ARRAY ? field->items : field;
  JsonObject *obj = get_object (m, node, where, error);
  g_autoptr(GStrvBuilder) builder = NULL;
  g_auto(GStrv) added = NULL;

  if (obj == NULL)
    return FALSE;
  if (!only_members (obj, extended_field_members) || !json_object_has_member (obj, "values"))
    return refuse (m, error, "%s exists: an override may add values to an enum, and cannot change "
                   "its rules", where);
  if (target->kind != KIND_ENUM)
    return refuse (m, error, "%s is not an enum: values cannot be added to it", where);
  if (!check_names (m, json_object_get_member (obj, "values"), "value", where, error))
    return FALSE;
  added = rfl_schema_strv_from_array (rfl_schema_array_member (obj, "values"));
  builder = g_strv_builder_new ();
  g_strv_builder_addv (builder, (const char **) target->values);
  for (guint i = 0; added[i] != NULL; i++)
    {
      if (g_strv_contains ((const char * const *) target->values, added[i]))
        return refuse (m, error, "%s has the value '%s' already", where, added[i]);
      g_strv_builder_add (builder, added[i]);
    }
  g_strfreev (target->values);
  target->values = g_strv_builder_end (builder);
  return TRUE;
}

/* New fields in @set, and values added to its enums. */
static gboolean
merge_fields (Merge       *m,
              FieldSet    *set,
              JsonObject  *fields,
              const char  *owner,
              GError     **error)
{
  g_autoptr(GList) names = json_object_get_members (fields);
  GError *local_error = NULL;

  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonNode *node = json_object_get_member (fields, l->data);
      Field *old = g_hash_table_lookup (set->by_name, l->data);
      g_autofree char *where = g_strdup_printf ("field '%s' of %s", (char *) l->data, owner);
      Field *field;

      if (old != NULL)
        {
          if (!extend_field (m, old, node, where, error))
            return FALSE;
          continue;
        }
      if (!check_name (m, "field", l->data, error) || !check_field_def (m, node, where, error))
        return FALSE;
      if ((field = rfl_schema_parse_field (l->data, node, &local_error)) == NULL)
        return refuse_parsed (m, error, NULL, local_error);
      if (field->required)
        {
          rfl_schema_field_free (field);
          return refuse (m, error, "%s cannot be required: the records saved before it do not "
                         "have it", where);
        }
      field->added = TRUE;
      rfl_schema_field_set_add (set, field);
    }
  return TRUE;
}

/* The reasons a lifecycle asks for, as written: each names a field. With
 * @added, only a status in it may ask for one. */
static gboolean
check_reasons (Merge       *m,
               JsonObject  *reasons,
               GHashTable  *added,
               const char  *where,
               GError     **error)
{
  g_autoptr(GList) targets = json_object_get_members (reasons);

  for (GList *l = targets; l != NULL; l = l->next)
    {
      const char *field = rfl_json_string_or (reasons, l->data, NULL);

      if (added != NULL && !g_hash_table_contains (added, l->data))
        return refuse (m, error, "%s: the reason for entering '%s' cannot change; a reason may be "
                       "asked only for a status this file adds", where, (char *) l->data);
      if (field == NULL)
        return refuse (m, error, "%s: the reason for entering '%s' must name a field", where,
                       (char *) l->data);
      if (!check_name (m, "field", field, error))
        return FALSE;
    }
  return TRUE;
}

/* New statuses of @lc, with where they lead, and transitions from the
 * statuses that exist to the new ones; @added gets the new statuses. */
static gboolean
extend_transitions (Merge       *m,
                    Lifecycle   *lc,
                    JsonObject  *transitions,
                    GHashTable  *added,
                    const char  *where,
                    GError     **error)
{
  g_autoptr(GList) from = json_object_get_members (transitions);

  for (GList *l = from; l != NULL; l = l->next)
    if (!g_hash_table_contains (lc->transitions, l->data))
      {
        if (!check_name (m, "status", l->data, error))
          return FALSE;
        g_hash_table_add (added, g_strdup (l->data));
      }
  for (GList *l = from; l != NULL; l = l->next)
    {
      JsonNode *node = json_object_get_member (transitions, l->data);
      gboolean is_new = g_hash_table_contains (added, l->data);
      const char * const *old = g_hash_table_lookup (lc->transitions, l->data);
      g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
      g_auto(GStrv) targets = NULL;

      if (!check_names (m, node, "status", where, error))
        return FALSE;
      targets = rfl_schema_strv_from_array (json_node_get_array (node));
      /* A status neither known nor added is reported once all is merged. */
      for (guint i = 0; targets[i] != NULL; i++)
        if (!is_new && g_hash_table_contains (lc->transitions, targets[i]) &&
            !g_hash_table_contains (added, targets[i]))
          return refuse (m, error, "%s: '%s' to '%s': a transition may be added only to or from a "
                         "status this file adds", where, (char *) l->data, targets[i]);
      if (old != NULL)
        g_strv_builder_addv (builder, (const char **) old);
      g_strv_builder_addv (builder, (const char **) targets);
      if (is_new)
        g_ptr_array_add (lc->states, g_strdup (l->data));
      g_hash_table_replace (lc->transitions, g_strdup (l->data), g_strv_builder_end (builder));
    }
  return TRUE;
}

/* Statuses added to a lifecycle that exists, with the transitions to and
 * from them, the reasons they ask for and whether they start the
 * retention clock. Statuses that exist keep their rules. */
static gboolean
extend_lifecycle (Merge       *m,
                  const char  *name,
                  gpointer     old,
                  JsonNode    *node,
                  const char  *where,
                  GError     **error)
{
  Lifecycle *lc = old;
  JsonObject *obj = json_node_get_object (node);
  g_autoptr(GHashTable) added = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  JsonObject *transitions, *reasons;

  if (json_object_has_member (obj, "initial"))
    return refuse (m, error, "%s: the statuses a record starts in cannot change", where);
  if (!check_members (m, obj, added_lifecycle_members, where, error))
    return FALSE;
  if (json_object_has_member (obj, "transitions") &&
      ((transitions = get_object (m, json_object_get_member (obj, "transitions"), where,
                                  error)) == NULL ||
       !extend_transitions (m, lc, transitions, added, where, error)))
    return FALSE;
  if (json_object_has_member (obj, "reason"))
    {
      g_autoptr(GList) targets = NULL;

      reasons = get_object (m, json_object_get_member (obj, "reason"), where, error);
      if (reasons == NULL ||
          !check_reasons (m, reasons, added, where, error))
        return FALSE;
      targets = json_object_get_members (reasons);
      for (GList *l = targets; l != NULL; l = l->next)
        g_hash_table_insert (lc->reasons, g_strdup (l->data),
                             g_strdup (rfl_json_string_or (reasons, l->data, "")));
    }
  if (json_object_has_member (obj, "retained"))
    {
      g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
      g_auto(GStrv) retained = NULL;

      if (!check_names (m, json_object_get_member (obj, "retained"), "status", where, error))
        return FALSE;
      retained = rfl_schema_strv_from_array (rfl_schema_array_member (obj, "retained"));
      for (guint i = 0; retained[i] != NULL; i++)
        if (!g_hash_table_contains (added, retained[i]))
          return refuse (m, error, "%s: '%s': only a status this file adds can start the retention "
                         "clock", where, retained[i]);
      g_strv_builder_addv (builder, (const char **) lc->retained);
      g_strv_builder_addv (builder, (const char **) retained);
      g_strfreev (lc->retained);
      lc->retained = g_strv_builder_end (builder);
    }
  return TRUE;
}

/* A new lifecycle: statuses that are names, where they lead, the reasons
 * they ask for. Whether each status exists is checked once everything is
 * merged. */
static gboolean
add_lifecycle (Merge       *m,
               const char  *name,
               JsonNode    *node,
               const char  *where,
               GError     **error)
{
  JsonObject *obj = json_node_get_object (node);
  g_autofree char *initial = g_strdup_printf ("%s, its \"initial\"", where);
  g_autofree char *retained = g_strdup_printf ("%s, its \"retained\"", where);
  g_autofree char *transitions_where = g_strdup_printf ("%s, its \"transitions\"", where);
  g_autofree char *reason = g_strdup_printf ("%s, its \"reason\"", where);
  JsonObject *transitions, *reasons;
  g_autoptr(GList) from = NULL;
  GError *local_error = NULL;

  if (!check_members (m, obj, lifecycle_members, where, error) ||
      !check_names (m, json_object_get_member (obj, "initial"), "status", initial, error) ||
      (json_object_has_member (obj, "retained") &&
       !check_names (m, json_object_get_member (obj, "retained"), "status", retained, error)))
    return FALSE;
  if ((transitions = get_object (m, json_object_get_member (obj, "transitions"), transitions_where,
                                 error)) == NULL)
    return FALSE;
  from = json_object_get_members (transitions);
  for (GList *l = from; l != NULL; l = l->next)
    if (!check_name (m, "status", l->data, error) ||
        !check_names (m, json_object_get_member (transitions, l->data), "status", transitions_where,
                      error))
      return FALSE;
  if (json_object_has_member (obj, "reason") &&
      ((reasons = get_object (m, json_object_get_member (obj, "reason"), reason, error)) == NULL ||
       !check_reasons (m, reasons, NULL, reason, error)))
    return FALSE;
  if (!rfl_schema_parse_lifecycle (m->schema, name, node, &local_error))
    return refuse_parsed (m, error, where, local_error);
  return TRUE;
}

static gboolean
extend_struct (Merge       *m,
               const char  *name,
               gpointer     old,
               JsonNode    *node,
               const char  *where,
               GError     **error)
{
  return merge_fields (m, old, json_node_get_object (node), name, error);
}

/* Each field of a new struct or record type, as written. */
static gboolean
check_new_fields (Merge       *m,
                  JsonObject  *fields,
                  const char  *owner,
                  GError     **error)
{
  g_autoptr(GList) names = json_object_get_members (fields);

  for (GList *l = names; l != NULL; l = l->next)
    {
      g_autofree char *where = g_strdup_printf ("field '%s' of %s", (char *) l->data, owner);

      if (!check_name (m, "field", l->data, error) ||
          !check_field_def (m, json_object_get_member (fields, l->data), where, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
add_struct (Merge       *m,
            const char  *name,
            JsonNode    *node,
            const char  *where,
            GError     **error)
{
  GError *local_error = NULL;

  if (!check_new_fields (m, json_node_get_object (node), name, error))
    return FALSE;
  if (!rfl_schema_parse_struct (m->schema, name, node, TRUE, &local_error))
    return refuse_parsed (m, error, where, local_error);
  return TRUE;
}

/* Labels for subtypes, which may only be new: a label the app shows for a
 * kind that exists is its own to translate. */
static gboolean
merge_subtype_labels (Merge       *m,
                      RecordType  *rt,
                      JsonObject  *obj,
                      GError     **error)
{
  g_autofree char *where = g_strdup_printf ("record type '%s', its subtypes", rt->name);
  g_auto(GStrv) values = rfl_schema_dup_subtypes (m->schema, rt->name);
  JsonObject *subtypes = get_object (m, json_object_get_member (obj, "subtypes"), where, error);
  g_autoptr(GList) names = NULL;

  if (subtypes == NULL)
    return FALSE;
  names = json_object_get_members (subtypes);
  for (GList *l = names; l != NULL; l = l->next)
    {
      if (!g_strv_contains ((const char * const *) values, l->data))
        return refuse (m, error, "%s: '%s' is not a value of its field 'subtype'", where,
                       (char *) l->data);
      if (rt->subtypes != NULL && g_hash_table_contains (rt->subtypes, l->data))
        return refuse (m, error, "%s: the label of '%s' cannot change", where, (char *) l->data);
      if (!check_label (m, subtypes, l->data, where, error))
        return FALSE;
      if (rt->subtypes == NULL)
        rt->subtypes = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      g_hash_table_insert (rt->subtypes, g_strdup (l->data),
                           g_strdup (rfl_json_string_or (subtypes, l->data, "")));
    }
  return TRUE;
}

static gboolean
extend_record_type (Merge       *m,
                    const char  *name,
                    gpointer     old,
                    JsonNode    *node,
                    const char  *where,
                    GError     **error)
{
  RecordType *rt = old;
  JsonObject *obj = json_node_get_object (node);
  JsonObject *fields;

  if (!only_members (obj, added_record_members))
    return refuse (m, error, "%s exists: an override may add fields and subtype labels to it, and "
                   "cannot change the rest", where);
  if (json_object_has_member (obj, "fields"))
    {
      g_autofree char *fields_where = g_strdup_printf ("%s, its fields", where);

      fields = get_object (m, json_object_get_member (obj, "fields"), fields_where, error);
      if (fields == NULL ||
          !merge_fields (m, rt->fields, fields, name, error))
        return FALSE;
    }
  return !json_object_has_member (obj, "subtypes") || merge_subtype_labels (m, rt, obj, error);
}

static gboolean
add_record_type (Merge       *m,
                 const char  *name,
                 JsonNode    *node,
                 const char  *where,
                 GError     **error)
{
  JsonObject *obj = json_node_get_object (node);
  JsonObject *fields;
  GError *local_error = NULL;

  if (!check_members (m, obj, record_members, where, error) ||
      !check_label (m, obj, "label", where, error) || !check_label (m, obj, "plural", where, error))
    return FALSE;
  if (!json_object_has_member (obj, "label"))
    return refuse (m, error, "%s needs a label: the app has no name of its own for it", where);
  if ((fields = rfl_schema_object_member (obj, "fields")) == NULL)
    return refuse (m, error, "%s has no fields", where);
  if (!check_new_fields (m, fields, name, error))
    return FALSE;
  if (!rfl_schema_parse_record_type (m->schema, name, node, m->schema->common, TRUE, &local_error))
    return refuse_parsed (m, error, where, local_error);
  return TRUE;
}

/* One section of the file ("lifecycles", "structs", "records"): what it
 * names that exists is extended, what is new is added. */
typedef struct
{
  const char *member;
  const char *what;
  gsize       existing;  /* offset of the section's table in RflSchema */
  gboolean  (*extend) (Merge *m, const char *name, gpointer old, JsonNode *node, const char *where,
                       GError **error);
  gboolean  (*add) (Merge *m, const char *name, JsonNode *node, const char *where, GError **error);
} Section;

static const Section sections[] = {
  { "lifecycles", "lifecycle", G_STRUCT_OFFSET (RflSchema, lifecycles),
    extend_lifecycle, add_lifecycle },
  { "structs", "struct", G_STRUCT_OFFSET (RflSchema, structs),
    extend_struct, add_struct },
  { "records", "record type", G_STRUCT_OFFSET (RflSchema, records),
    extend_record_type, add_record_type },
};

static gboolean
merge_section (Merge          *m,
               const Section  *section,
               JsonObject     *root,
               GError        **error)
{
  GHashTable *existing = G_STRUCT_MEMBER (GHashTable *, m->schema, section->existing);
  g_autofree char *what = g_strdup_printf ("\"%s\"", section->member);
  JsonObject *obj = get_object (m, json_object_get_member (root, section->member), what, error);
  g_autoptr(GList) names = NULL;

  if (obj == NULL)
    return FALSE;
  names = json_object_get_members (obj);
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonNode *node = json_object_get_member (obj, l->data);
      gpointer old = g_hash_table_lookup (existing, l->data);
      g_autofree char *where = g_strdup_printf ("%s '%s'", section->what, (char *) l->data);

      if (get_object (m, node, where, error) == NULL)
        return FALSE;
      if (old != NULL ? !section->extend (m, l->data, old, node, where, error)
                      : !check_name (m, section->what, l->data, error) ||
                        !section->add (m, l->data, node, where, error))
        return FALSE;
    }
  return TRUE;
}

/* What holds only once everything is merged: every status a transition
 * names exists, every reason a lifecycle asks for is a field of each record
 * type that follows it, and every field's "when" names a sibling. */
static gboolean
check_merged (Merge   *m,
              GError **error)
{
  GHashTableIter iter;
  gpointer name, value;
  GError *local_error = NULL;

  g_hash_table_iter_init (&iter, m->schema->lifecycles);
  while (g_hash_table_iter_next (&iter, &name, &value))
    {
      Lifecycle *lc = value;

      for (guint i = 0; i < lc->states->len; i++)
        {
          const char *state = g_ptr_array_index (lc->states, i);
          const char * const *targets = g_hash_table_lookup (lc->transitions, state);

          for (guint t = 0; targets[t] != NULL; t++)
            if (!g_hash_table_contains (lc->transitions, targets[t]))
              return refuse (m, error, "lifecycle '%s': '%s' leads to '%s', which is not one of "
                             "its statuses", (char *) name, state, targets[t]);
        }
      for (guint i = 0; lc->retained[i] != NULL; i++)
        if (!g_hash_table_contains (lc->transitions, lc->retained[i]))
          return refuse (m, error, "lifecycle '%s': '%s' is retained but is not one of its "
                         "statuses", (char *) name, lc->retained[i]);
      for (guint i = 0; lc->initial[i] != NULL; i++)
        if (!g_hash_table_contains (lc->transitions, lc->initial[i]))
          return refuse (m, error, "lifecycle '%s': it starts in '%s', which is not one of its "
                         "statuses", (char *) name, lc->initial[i]);
    }
  for (guint r = 0; r < m->schema->order->len; r++)
    {
      RecordType *rt = g_ptr_array_index (m->schema->order, r);

      if (rt->lifecycle != NULL)
        {
          Field *status = g_hash_table_lookup (rt->fields->by_name, "status");
          GHashTableIter reasons;
          gpointer field;

          if (status == NULL || status->kind != KIND_STATUS)
            return refuse (m, error, "record type '%s' follows a lifecycle, so it needs a field "
                           "'status' of type status", rt->name);

          g_hash_table_iter_init (&reasons, rt->lifecycle->reasons);
          while (g_hash_table_iter_next (&reasons, NULL, &field))
            if (!g_hash_table_contains (rt->fields->by_name, field))
              return refuse (m, error, "record type '%s' follows a lifecycle that asks for a "
                             "reason in the field '%s', which it does not have", rt->name,
                             (char *) field);
        }
      for (guint i = 0; i < rt->fields->order->len; i++)
        {
          Field *field = g_ptr_array_index (rt->fields->order, i);
          GHashTableIter when;
          gpointer sibling;

          if (!field->added || field->when == NULL)
            continue;
          g_hash_table_iter_init (&when, field->when);
          while (g_hash_table_iter_next (&when, &sibling, NULL))
            if (!g_hash_table_contains (rt->fields->by_name, sibling))
              return refuse (m, error, "field '%s' of %s applies 'when' a field '%s' it does not "
                             "have", field->name, rt->name, (char *) sibling);
        }
    }
  if (!rfl_schema_check_structs (m->schema, &local_error))
    return refuse_parsed (m, error, NULL, local_error);
  return TRUE;
}

/**
 * rfl_schema_merge_override:
 * @self: a schema being built, not yet shared
 * @data: (array length=length): the override file's text
 * @length: its length
 * @origin: the file, which errors name
 * @error: return location for an error
 *
 * Merges one override file into @self. On failure @self is left half
 * merged and must be dropped.
 *
 * Returns: whether the override was merged
 */
gboolean
rfl_schema_merge_override (RflSchema   *self,
                           const char  *data,
                           gsize        length,
                           const char  *origin,
                           GError     **error)
{
  Merge m = { self, origin };
  g_autoptr(JsonObject) root = NULL;
  g_autoptr(GError) local_error = NULL;

  g_return_val_if_fail (RFL_IS_SCHEMA (self), FALSE);
  g_return_val_if_fail (data != NULL || length == 0, FALSE);
  g_return_val_if_fail (origin != NULL, FALSE);

  /* The parser's message already starts with @origin. */
  if ((root = rfl_json_parse_object (data, length, origin, &local_error)) == NULL)
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_SCHEMA, local_error->message);
      return FALSE;
    }
  if (g_strcmp0 (rfl_json_string_or (root, "format", NULL), OVERRIDE_FORMAT) != 0)
    return refuse (&m, error, "\"format\" must be \"%s\"", OVERRIDE_FORMAT);
  if (!check_members (&m, root, top_members, "the file", error))
    return FALSE;

  /* Lifecycles and structs first: a new record type may use them. */
  for (guint i = 0; i < G_N_ELEMENTS (sections); i++)
    if (json_object_has_member (root, sections[i].member) &&
        !merge_section (&m, &sections[i], root, error))
      return FALSE;
  return check_merged (&m, error);
}
