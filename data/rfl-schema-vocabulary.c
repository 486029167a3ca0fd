/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-schema"

#include "rfl-schema-private.h"

/*
 * The schema as the one vocabulary of records, for the forms and views that
 * would otherwise copy it into code: the kinds of record a volunteer opens
 * and their labels, the statuses of each lifecycle, the values of an enum,
 * the kinds of note, the fields whose persons name a record, and each
 * record type's fields described for a form. A kind, status or field an
 * override file adds reaches every view through these, with no rebuild.
 */

/* Describing the schema to form builders. */

static JsonObject *describe_field (RflSchema *self, Field *field, guint depth);

static JsonArray *
describe_set (RflSchema *self,
              FieldSet  *set,
              guint      depth)
{
  JsonArray *out = json_array_new ();

  for (guint i = 0; i < set->order->len; i++)
    json_array_add_object_element (out, describe_field (self, g_ptr_array_index (set->order, i), depth));
  return out;
}

static JsonObject *
describe_field (RflSchema *self,
                Field     *field,
                guint      depth)
{
  JsonObject *out = json_object_new ();

  if (field->name != NULL)
    json_object_set_string_member (out, "name", field->name);
  json_object_set_string_member (out, "kind", rfl_schema_kind_names[field->kind]);
  json_object_set_boolean_member (out, "required", field->required);
  if (field->searchable > 0)
    json_object_set_boolean_member (out, "searchable", TRUE);
  if (field->values != NULL)
    {
      JsonArray *values = json_array_new ();

      for (guint i = 0; field->values[i] != NULL; i++)
        json_array_add_string_element (values, field->values[i]);
      json_object_set_array_member (out, "values", values);
    }
  if (field->kind == KIND_INTEGER || field->kind == KIND_NUMBER)
    {
      json_object_set_int_member (out, "min", field->min);
      json_object_set_int_member (out, "max", field->max);
    }
  if (field->kind == KIND_ARRAY)
    {
      json_object_set_int_member (out, "min_items", field->min_items);
      json_object_set_int_member (out, "max_items", field->max_items);
      if (field->items != NULL)
        json_object_set_object_member (out, "items", describe_field (self, field->items, depth));
    }
  if (field->default_value != NULL)
    json_object_set_string_member (out, "default", field->default_value);
  if (field->label != NULL)
    json_object_set_string_member (out, "label", field->label);
  if (field->past)
    json_object_set_boolean_member (out, "past", TRUE);
  if (field->added)
    json_object_set_boolean_member (out, "added", TRUE);
  if (field->when != NULL)
    {
      JsonObject *when = json_object_new ();
      GHashTableIter iter;
      gpointer name, values;

      g_hash_table_iter_init (&iter, field->when);
      while (g_hash_table_iter_next (&iter, &name, &values))
        {
          JsonArray *allowed = json_array_new ();

          for (guint i = 0; ((GStrv) values)[i] != NULL; i++)
            json_array_add_string_element (allowed, ((GStrv) values)[i]);
          json_object_set_array_member (when, name, allowed);
        }
      json_object_set_object_member (out, "when", when);
    }
  if (field->struct_name != NULL)
    {
      FieldSet *set = g_hash_table_lookup (self->structs, field->struct_name);

      json_object_set_string_member (out, "struct", field->struct_name);
      /* Structs do not nest in the schema files; the bound is a guard. */
      if (set != NULL && depth < 4)
        json_object_set_array_member (out, "fields", describe_set (self, set, depth + 1));
    }
  return out;
}

/**
 * rfl_schema_describe:
 * @type: a record type
 *
 * The fields of @type in the schema's order, for a form: each an object
 * with "name", "kind" (string, text, integer, boolean, enum, partial_date,
 * date, phone, object, array, id, status, record_ref), "required", and
 * where they apply "values", "min", "max", "min_items", "max_items",
 * "items" (an array's element), "default", "label" (an English label
 * for forms, where the name alone would be unclear), "when" (the field
 * applies only where each sibling field named there holds one of the
 * values listed), "past" (a date that cannot lie in the future), "added"
 * (an override file added the field, so no view but the form has a place
 * made for it) and "fields" (a struct's fields, described the same way).
 *
 * Returns: (transfer full) (nullable): the fields, or %NULL for an unknown type
 */
JsonArray *
rfl_schema_describe (RflSchema  *self,
                     const char *type)
{
  RecordType *rt;

  g_return_val_if_fail (RFL_IS_SCHEMA (self), NULL);
  g_return_val_if_fail (type != NULL, NULL);

  if ((rt = g_hash_table_lookup (self->records, type)) == NULL)
    return NULL;
  return describe_set (self, rt->fields, 0);
}

/**
 * rfl_schema_dup_next_statuses:
 * @type: a record type
 * @from: (nullable): the current status, or %NULL for a new record
 *
 * Returns: (transfer full): the statuses a record of @type may take next
 *   (for a new record, the initial ones); empty for a type with no lifecycle
 */
GStrv
rfl_schema_dup_next_statuses (RflSchema  *self,
                              const char *type,
                              const char *from)
{
  RecordType *rt;
  const char * const *next = NULL;

  g_return_val_if_fail (RFL_IS_SCHEMA (self), NULL);

  rt = type != NULL ? g_hash_table_lookup (self->records, type) : NULL;
  if (rt != NULL && rt->lifecycle != NULL)
    next = from == NULL ? (const char * const *) rt->lifecycle->initial
                        : g_hash_table_lookup (rt->lifecycle->transitions, from);
  return g_strdupv ((char **) (next != NULL ? next : (const char * const[]) { NULL }));
}

/**
 * rfl_schema_has_field:
 * @type: a record type
 * @name: a field name
 *
 * Returns: whether records of @type have a field @name
 */
gboolean
rfl_schema_has_field (RflSchema  *self,
                      const char *type,
                      const char *name)
{
  RecordType *rt;

  g_return_val_if_fail (RFL_IS_SCHEMA (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  rt = type != NULL ? g_hash_table_lookup (self->records, type) : NULL;
  return rt != NULL && g_hash_table_contains (rt->fields->by_name, name);
}

/**
 * rfl_schema_get_reason_field:
 * @to: a status
 *
 * Returns: (nullable): the field that must say why a record of @type
 *   entered @to ("closure_reason" for a closed case), or %NULL
 */
const char *
rfl_schema_get_reason_field (RflSchema  *self,
                             const char *type,
                             const char *to)
{
  RecordType *rt;

  g_return_val_if_fail (RFL_IS_SCHEMA (self), NULL);

  rt = type != NULL ? g_hash_table_lookup (self->records, type) : NULL;
  if (rt == NULL || rt->lifecycle == NULL || to == NULL)
    return NULL;
  return g_hash_table_lookup (rt->lifecycle->reasons, to);
}

static RecordType *
find_type (RflSchema  *self,
           const char *type)
{
  return type != NULL ? g_hash_table_lookup (self->records, type) : NULL;
}

/* Field @name of @type, or %NULL. */
static Field *
find_field (RflSchema  *self,
            const char *type,
            const char *name)
{
  RecordType *rt = find_type (self, type);

  return rt != NULL ? g_hash_table_lookup (rt->fields->by_name, name) : NULL;
}

static GStrv
strv_copy_or_empty (const char * const *strv)
{
  return g_strdupv ((char **) (strv != NULL ? strv : (const char * const[]) { NULL }));
}

/**
 * rfl_schema_dup_kinds:
 * @list: (nullable): "cases" or "messages", or %NULL for both
 *
 * The record types a volunteer opens and creates, which a list of the app
 * shows ("list" in the schema file), in the order of the file: a tracing
 * request, a registration, a Red Cross Message. A note is none of them: it
 * belongs to a case's timeline.
 *
 * Returns: (transfer full): the record types @list shows
 */
GStrv
rfl_schema_dup_kinds (RflSchema  *self,
                      const char *list)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  g_return_val_if_fail (RFL_IS_SCHEMA (self), NULL);

  for (guint i = 0; i < self->order->len; i++)
    {
      RecordType *rt = g_ptr_array_index (self->order, i);

      if (rt->list != NULL && (list == NULL || g_str_equal (rt->list, list)))
        g_strv_builder_add (builder, rt->name);
    }
  return g_strv_builder_end (builder);
}

/**
 * rfl_schema_get_list:
 * @type: a record type
 *
 * Returns: (nullable): the list that shows records of @type ("cases",
 *   "messages"), or %NULL
 */
const char *
rfl_schema_get_list (RflSchema  *self,
                     const char *type)
{
  RecordType *rt;

  g_return_val_if_fail (RFL_IS_SCHEMA (self), NULL);

  rt = find_type (self, type);
  return rt != NULL ? rt->list : NULL;
}

/**
 * rfl_schema_dup_enum_values:
 * @type: a record type
 * @field: one of its fields
 *
 * Returns: (transfer full): the values @field of @type may hold, in the
 *   schema's order; empty when it is not an enum
 */
GStrv
rfl_schema_dup_enum_values (RflSchema  *self,
                            const char *type,
                            const char *field)
{
  Field *f;

  g_return_val_if_fail (RFL_IS_SCHEMA (self), NULL);
  g_return_val_if_fail (field != NULL, NULL);

  f = find_field (self, type, field);
  if (f == NULL || f->kind != KIND_ENUM)
    return strv_copy_or_empty (NULL);
  return strv_copy_or_empty ((const char * const *) f->values);
}

/**
 * rfl_schema_get_field_default:
 * @type: a record type
 * @field: one of its fields
 *
 * Returns: (nullable): the value a new record of @type gets in @field when
 *   it has none ("note" for the kind of a note), or %NULL
 */
const char *
rfl_schema_get_field_default (RflSchema  *self,
                              const char *type,
                              const char *field)
{
  Field *f;

  g_return_val_if_fail (RFL_IS_SCHEMA (self), NULL);
  g_return_val_if_fail (field != NULL, NULL);

  f = find_field (self, type, field);
  return f != NULL ? f->default_value : NULL;
}

/**
 * rfl_schema_dup_subtypes:
 * @type: a record type
 *
 * A registration is five kinds of case, told apart by its `subtype`: the
 * new-case form offers each as a kind of its own.
 *
 * Returns: (transfer full): the values of the `subtype` field of @type, in
 *   the schema's order; empty when it has none
 */
GStrv
rfl_schema_dup_subtypes (RflSchema  *self,
                         const char *type)
{
  return rfl_schema_dup_enum_values (self, type, "subtype");
}

/**
 * rfl_schema_get_kind_label:
 * @type: a record type
 * @subtype: (nullable): its subtype
 *
 * Returns: (nullable): the English label the schema gives a record of
 *   @type and @subtype ("Deceased person"), or of @type when it gives
 *   @subtype none ("Registration"); %NULL for an unknown type
 */
const char *
rfl_schema_get_kind_label (RflSchema  *self,
                           const char *type,
                           const char *subtype)
{
  RecordType *rt;
  const char *label = NULL;

  g_return_val_if_fail (RFL_IS_SCHEMA (self), NULL);

  if ((rt = find_type (self, type)) == NULL)
    return NULL;
  if (subtype != NULL && rt->subtypes != NULL)
    label = g_hash_table_lookup (rt->subtypes, subtype);
  return label != NULL ? label : rt->label;
}

/**
 * rfl_schema_get_plural_label:
 * @type: a record type
 *
 * Returns: (nullable): the English label of several records of @type
 *   ("Tracing requests"), or %NULL for an unknown type
 */
const char *
rfl_schema_get_plural_label (RflSchema  *self,
                             const char *type)
{
  RecordType *rt;

  g_return_val_if_fail (RFL_IS_SCHEMA (self), NULL);

  if ((rt = find_type (self, type)) == NULL)
    return NULL;
  return rt->plural != NULL ? rt->plural : rt->label;
}

/**
 * rfl_schema_dup_statuses:
 * @type: a record type
 *
 * Returns: (transfer full): every status of the lifecycle of @type, in
 *   the schema's order; empty for a type with no lifecycle
 */
GStrv
rfl_schema_dup_statuses (RflSchema  *self,
                         const char *type)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  RecordType *rt;

  g_return_val_if_fail (RFL_IS_SCHEMA (self), NULL);

  rt = find_type (self, type);
  for (guint i = 0; rt != NULL && rt->lifecycle != NULL && i < rt->lifecycle->states->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (rt->lifecycle->states, i));
  return g_strv_builder_end (builder);
}

/**
 * rfl_schema_get_note_type:
 *
 * Returns: the record type of the notes, contact attempts and case actions
 *   a case's timeline holds ("note")
 */
const char *
rfl_schema_get_note_type (RflSchema *self)
{
  g_return_val_if_fail (RFL_IS_SCHEMA (self), NULL);

  return self->notes;
}

/**
 * rfl_schema_dup_note_kinds:
 *
 * Returns: (transfer full): the kinds of note a timeline holds ("note",
 *   "contact_attempt", "case_action"), in the schema's order
 */
GStrv
rfl_schema_dup_note_kinds (RflSchema *self)
{
  g_return_val_if_fail (RFL_IS_SCHEMA (self), NULL);

  return rfl_schema_dup_enum_values (self, self->notes, "kind");
}

/**
 * rfl_schema_get_display_roles:
 * @type: a record type
 *
 * The fields whose persons name a record of @type in a list, in order: the
 * person sought before the enquirer. The first person with a name in them
 * names the record.
 *
 * Returns: (transfer none) (array zero-terminated=1): the fields; empty for
 *   an unknown type
 */
const char * const *
rfl_schema_get_display_roles (RflSchema  *self,
                              const char *type)
{
  static const char * const none[] = { NULL };
  RecordType *rt;

  g_return_val_if_fail (RFL_IS_SCHEMA (self), none);

  rt = find_type (self, type);
  return rt != NULL && rt->display != NULL ? (const char * const *) rt->display : none;
}
