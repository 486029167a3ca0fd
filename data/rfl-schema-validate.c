/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-schema"

#include "rfl-schema-private.h"
#include "rfl-json.h"
#include "rfl-error.h"

#include <string.h>
#include <glib/gi18n-lib.h>

/*
 * Checking a record against the schema: every field known, of its type,
 * within its limits, required ones present, conditions ("when") and dates
 * ("past") respected, and the status one its lifecycle allows. Every error
 * names the field by its path and the rule, in one line, as the store and
 * the forms show it. Also here: the persons a record holds, for the name
 * index.
 */

#define STRING_MAX_BYTES 500
#define TEXT_MAX_BYTES   20000
#define YEAR_MIN         1800
#define YEAR_MAX         2200

typedef struct
{
  RflSchema *schema;
  GString   *path;
} Walk;

void
rfl_schema_person_free (RflSchemaPerson *person)
{
  if (person == NULL)
    return;
  g_free (person->person_id);
  g_free (person->role);
  g_clear_pointer (&person->names, g_ptr_array_unref);
  g_clear_pointer (&person->other_names, g_ptr_array_unref);
  g_free (person);
}

static gboolean
invalid (Walk        *walk,
         GError     **error,
         const char  *format,
         ...) G_GNUC_PRINTF (3, 4);

static gboolean
invalid (Walk        *walk,
         GError     **error,
         const char  *format,
         ...)
{
  g_autofree char *rule = NULL;
  va_list args;

  va_start (args, format);
  rule = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
               _("field '%s': %s"), walk->path->str, rule);
  return FALSE;
}

static gboolean
parse_digits (const char *s,
              guint       n,
              guint      *out)
{
  guint v = 0;

  for (guint i = 0; i < n; i++)
    {
      if (!g_ascii_isdigit (s[i]))
        return FALSE;
      v = v * 10 + (s[i] - '0');
    }
  *out = v;
  return TRUE;
}

static gboolean
check_date (const char *text,
            gboolean    allow_partial)
{
  gsize len = strlen (text);
  guint year, month, day;

  if (!parse_digits (text, 4, &year) || year < YEAR_MIN || year > YEAR_MAX)
    return FALSE;
  if (len == 4)
    return allow_partial;
  if (text[4] != '-' || !parse_digits (text + 5, 2, &month) || month < 1 || month > 12)
    return FALSE;
  if (len == 7)
    return allow_partial;
  if (len != 10 || text[7] != '-' || !parse_digits (text + 8, 2, &day))
    return FALSE;
  return g_date_valid_dmy (day, month, year);
}

/* Whether the earliest day a (partial) date can mean is after @today
 * (YYYY-MM-DD). Without @today, the latest date it is anywhere on Earth
 * now: a volunteer east of UTC is not refused today's date. */
static gboolean
is_future (const char *text,
           const char *today)
{
  g_autofree char *latest = NULL;
  gsize len = strlen (text);

  if (today == NULL)
    {
      g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
      g_autoptr(GDateTime) east = g_date_time_add_hours (now, 14);

      today = latest = g_date_time_format (east, "%Y-%m-%d");
    }
  return strncmp (text, today, MIN (len, strlen (today))) > 0;
}

/**
 * rfl_schema_is_future_date:
 * @text: a partial date ("2009", "2009-04", "2009-04-17")
 * @today: (nullable): today's date as YYYY-MM-DD where the user is; %NULL
 *   for the latest date it is anywhere now
 *
 * Returns: whether even the earliest day @text can mean is after @today
 */
gboolean
rfl_schema_is_future_date (const char *text,
                           const char *today)
{
  g_return_val_if_fail (text != NULL, FALSE);
  return is_future (text, today);
}

gboolean
rfl_schema_is_partial_date (const char *text)
{
  g_return_val_if_fail (text != NULL, FALSE);
  return check_date (text, TRUE);
}

gboolean
rfl_schema_is_date (const char *text)
{
  g_return_val_if_fail (text != NULL, FALSE);
  return check_date (text, FALSE);
}

static gboolean
has_control_chars (const char *s,
                   gboolean    allow_newlines)
{
  for (; *s; s++)
    {
      guchar c = *s;
      if (c < 0x20 || c == 0x7f)
        if (!(allow_newlines && (c == '\n' || c == '\t' || c == '\r')))
          return TRUE;
    }
  return FALSE;
}

static gboolean
is_phone (const char *s)
{
  guint digits = 0;

  for (const char *p = s; *p; p++)
    {
      if (g_ascii_isdigit (*p))
        digits++;
      else if (!(*p == '+' && p == s) && !strchr (" ()-.", *p))
        return FALSE;
    }
  return digits >= 4 && digits <= 20;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* Returns: (transfer full): the keys of @table, sorted. */
GStrv
rfl_schema_sorted_keys (GHashTable *table)
{
  g_autoptr(GPtrArray) keys = g_ptr_array_new ();
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  GHashTableIter iter;
  gpointer key;

  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (keys, key);
  g_ptr_array_sort (keys, compare_strings);
  for (guint i = 0; i < keys->len; i++)
    g_strv_builder_add (builder, g_ptr_array_index (keys, i));
  return g_strv_builder_end (builder);
}

static char *
join_values (GStrv values)
{
  return g_strjoinv (", ", values);
}

static gboolean validate_set (Walk *walk, FieldSet *set, JsonObject *obj, const char *type_name,
                              GError **error);

/* Whether a field with a "when" applies to the object that holds it. */
static gboolean
field_applies (Field      *field,
               JsonObject *obj)
{
  GHashTableIter iter;
  gpointer name, allowed;

  if (field->when == NULL)
    return TRUE;
  g_hash_table_iter_init (&iter, field->when);
  while (g_hash_table_iter_next (&iter, &name, &allowed))
    {
      const char *value = rfl_json_string_or (obj, name, NULL);

      if (value == NULL || !g_strv_contains ((const char * const *) allowed, value))
        return FALSE;
    }
  return TRUE;
}

/* Whether @node is of the JSON type @field's kind takes; a text is given
 * back in @s. */
static gboolean
check_json_type (Walk         *walk,
                 Field        *field,
                 JsonNode     *node,
                 const char  **s,
                 GError      **error)
{
  GType vtype = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;

  switch (field->kind)
    {
    case KIND_STRING:
    case KIND_TEXT:
    case KIND_ENUM:
    case KIND_PARTIAL_DATE:
    case KIND_DATE:
    case KIND_PHONE:
    case KIND_ID:
    case KIND_STATUS:
    case KIND_RECORD_REF:
      if (vtype != G_TYPE_STRING)
        return invalid (walk, error, _("must be a string"));
      *s = json_node_get_string (node);
      if (!g_utf8_validate (*s, -1, NULL))
        return invalid (walk, error, _("is not valid UTF-8"));
      break;
    case KIND_INTEGER:
      if (vtype != G_TYPE_INT64)
        return invalid (walk, error, _("must be a whole number"));
      break;
    case KIND_NUMBER:
      if (vtype != G_TYPE_INT64 && vtype != G_TYPE_DOUBLE)
        return invalid (walk, error, _("must be a number"));
      break;
    case KIND_BOOLEAN:
      if (vtype != G_TYPE_BOOLEAN)
        return invalid (walk, error, _("must be true or false"));
      break;
    case KIND_OBJECT:
      if (!JSON_NODE_HOLDS_OBJECT (node))
        return invalid (walk, error, _("must be an object"));
      break;
    case KIND_ARRAY:
      if (!JSON_NODE_HOLDS_ARRAY (node))
        return invalid (walk, error, _("must be a list"));
      break;
    default:
      g_assert_not_reached ();
    }
  return TRUE;
}

static gboolean
validate_value (Walk        *walk,
                Field       *field,
                JsonNode    *node,
                GError     **error)
{
  const char *s = NULL;

  if (!check_json_type (walk, field, node, &s, error))
    return FALSE;

  switch (field->kind)
    {
    case KIND_STRING:
      if (strlen (s) > STRING_MAX_BYTES)
        return invalid (walk, error, _("is longer than %d bytes"), STRING_MAX_BYTES);
      if (has_control_chars (s, FALSE))
        return invalid (walk, error, _("must be a single line without control characters"));
      break;
    case KIND_TEXT:
      if (strlen (s) > TEXT_MAX_BYTES)
        return invalid (walk, error, _("is longer than %d bytes"), TEXT_MAX_BYTES);
      if (has_control_chars (s, TRUE))
        return invalid (walk, error, _("contains control characters"));
      break;
    case KIND_ENUM:
      if (!g_strv_contains ((const char * const *) field->values, s))
        {
          g_autofree char *allowed = join_values (field->values);
          return invalid (walk, error, _("'%s' is not one of: %s"), s, allowed);
        }
      break;
    case KIND_PARTIAL_DATE:
      if (!check_date (s, TRUE))
        return invalid (walk, error, _("invalid partial date '%s' (use YYYY, YYYY-MM or YYYY-MM-DD)"), s);
      if (field->past && is_future (s, NULL))
        return invalid (walk, error, _("'%s' is in the future"), s);
      break;
    case KIND_DATE:
      if (!check_date (s, FALSE))
        return invalid (walk, error, _("invalid date '%s' (use YYYY-MM-DD)"), s);
      if (field->past && is_future (s, NULL))
        return invalid (walk, error, _("'%s' is in the future"), s);
      break;
    case KIND_PHONE:
      if (!is_phone (s))
        return invalid (walk, error, _("invalid phone number (digits, spaces, ()-. and a leading +)"));
      break;
    case KIND_ID:
    case KIND_RECORD_REF:
      if (!g_uuid_string_is_valid (s))
        return invalid (walk, error, _("'%s' is not a record or person id"), s);
      break;
    case KIND_STATUS:
      /* Checked against the lifecycle by the caller, which knows the record type. */
      break;
    case KIND_INTEGER:
      {
        gint64 v = json_node_get_int (node);
        if (v < field->min || v > field->max)
          return invalid (walk, error, _("%lld is outside %lld..%lld"), (long long) v, (long long) field->min,
                          (long long) field->max);
      }
      break;
    case KIND_NUMBER:
      {
        double v = json_node_get_double (node);

        /* NaN and infinities are not JSON, but a parser may still make them. */
        if (!(v >= (double) field->min && v <= (double) field->max))
          return invalid (walk, error, _("%g is outside %lld..%lld"), v, (long long) field->min,
                          (long long) field->max);
      }
      break;
    case KIND_BOOLEAN:
      break;
    case KIND_OBJECT:
      {
        FieldSet *set = g_hash_table_lookup (walk->schema->structs, field->struct_name);
        return validate_set (walk, set, json_node_get_object (node), field->struct_name, error);
      }
    case KIND_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        guint n = json_array_get_length (array);
        gsize base = walk->path->len;

        if (n < field->min_items)
          return invalid (walk, error, g_dngettext (GETTEXT_PACKAGE, "needs at least %u entry",
                                                     "needs at least %u entries", field->min_items),
                          field->min_items);
        if (n > field->max_items)
          return invalid (walk, error, _("has more than %u entries"), field->max_items);
        for (guint i = 0; i < n; i++)
          {
            g_string_append_printf (walk->path, "[%u]", i);
            if (!validate_value (walk, field->items, json_array_get_element (array, i), error))
              return FALSE;
            g_string_truncate (walk->path, base);
          }
      }
      break;
    default:
      g_assert_not_reached ();
    }

  return TRUE;
}

static gboolean
validate_set (Walk        *walk,
              FieldSet    *set,
              JsonObject  *obj,
              const char  *type_name,
              GError     **error)
{
  gsize base = walk->path->len;
  JsonObjectIter iter;
  const char *name;
  JsonNode *node;

  json_object_iter_init (&iter, obj);
  while (json_object_iter_next (&iter, &name, &node))
    {
      Field *field = g_hash_table_lookup (set->by_name, name);

      if (base > 0)
        g_string_append_c (walk->path, '.');
      g_string_append (walk->path, name);

      if (field == NULL)
        return invalid (walk, error, _("is not a field of %s"), type_name);
      if (!JSON_NODE_HOLDS_NULL (node) && !field_applies (field, obj))
        return invalid (walk, error, _("does not apply to this kind of %s"), type_name);
      if (JSON_NODE_HOLDS_NULL (node))
        {
          if (field->required)
            return invalid (walk, error, _("is required"));
        }
      else if (!validate_value (walk, field, node, error))
        return FALSE;
      g_string_truncate (walk->path, base);
    }

  for (guint i = 0; i < set->order->len; i++)
    {
      Field *field = g_ptr_array_index (set->order, i);

      if (field->required && !json_object_has_member (obj, field->name) && field_applies (field, obj))
        {
          if (base > 0)
            g_string_append_c (walk->path, '.');
          g_string_append (walk->path, field->name);
          return invalid (walk, error, _("is required"));
        }
    }

  return TRUE;
}

static RecordType *
lookup_type (RflSchema   *self,
             JsonObject  *record,
             GError     **error)
{
  const char *type;
  RecordType *rt;

  type = rfl_json_string_or (record, "type", NULL);
  if (type == NULL)
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                           _("field 'type': is required"));
      return NULL;
    }
  if ((rt = g_hash_table_lookup (self->records, type)) == NULL)
    {
      g_autofree char *known = NULL;
      g_auto(GStrv) types = rfl_schema_dup_record_types (self);

      known = g_strjoinv (", ", types);
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                   _("field 'type': '%s' is not one of: %s"), type, known);
    }
  return rt;
}

static void
assign_person_ids (RflSchema  *self,
                   FieldSet   *set,
                   JsonObject *obj)
{
  for (guint i = 0; i < set->order->len; i++)
    {
      Field *field = g_ptr_array_index (set->order, i);
      Field *target = field->kind == KIND_ARRAY ? field->items : field;
      JsonNode *node = json_object_get_member (obj, field->name);
      FieldSet *inner;

      if (node == NULL || target->kind != KIND_OBJECT)
        continue;
      inner = g_hash_table_lookup (self->structs, target->struct_name);
      if (!g_hash_table_contains (inner->by_name, "id"))
        continue;

      if (field->kind == KIND_ARRAY && JSON_NODE_HOLDS_ARRAY (node))
        {
          JsonArray *array = json_node_get_array (node);
          for (guint j = 0; j < json_array_get_length (array); j++)
            {
              JsonNode *el = json_array_get_element (array, j);
              if (JSON_NODE_HOLDS_OBJECT (el) && !json_object_has_member (json_node_get_object (el), "id"))
                {
                  g_autofree char *id = g_uuid_string_random ();
                  json_object_set_string_member (json_node_get_object (el), "id", id);
                }
            }
        }
      else if (JSON_NODE_HOLDS_OBJECT (node) && !json_object_has_member (json_node_get_object (node), "id"))
        {
          g_autofree char *id = g_uuid_string_random ();
          json_object_set_string_member (json_node_get_object (node), "id", id);
        }
    }
}

/**
 * rfl_schema_check_new:
 * @self: a schema
 * @record: a record about to be created
 * @error: return location for an error
 *
 * Fills in defaults (sensitivity, the initial status), then validates @record
 * and checks that it starts in its lifecycle's first status.
 */
gboolean
rfl_schema_check_new (RflSchema   *self,
                        JsonObject  *record,
                        GError     **error)
{
  RecordType *rt;

  g_return_val_if_fail (RFL_IS_SCHEMA (self), FALSE);
  g_return_val_if_fail (record != NULL, FALSE);

  if ((rt = lookup_type (self, record, error)) == NULL)
    return FALSE;

  for (guint i = 0; i < rt->fields->order->len; i++)
    {
      Field *field = g_ptr_array_index (rt->fields->order, i);

      if (field->default_value != NULL && !json_object_has_member (record, field->name))
        json_object_set_string_member (record, field->name, field->default_value);
    }
  if (rt->lifecycle != NULL && !json_object_has_member (record, "status"))
    json_object_set_string_member (record, "status", rt->lifecycle->initial[0]);

  if (!rfl_schema_validate (self, record, error))
    return FALSE;

  if (rt->lifecycle != NULL &&
      !g_strv_contains ((const char * const *) rt->lifecycle->initial,
                        json_object_get_string_member (record, "status")))
    {
      g_autofree char *allowed = join_values (rt->lifecycle->initial);
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION,
                   _("field 'status': a new %s starts as %s, not '%s'"),
                   rt->name, allowed, json_object_get_string_member (record, "status"));
      return FALSE;
    }

  return TRUE;
}

/**
 * rfl_schema_prepare_new:
 * @self: a schema
 * @record: a record about to be created
 * @error: return location for an error
 *
 * Like rfl_schema_check_new(), then gives every person without one an id.
 */
gboolean
rfl_schema_prepare_new (RflSchema   *self,
                        JsonObject  *record,
                        GError     **error)
{
  if (!rfl_schema_check_new (self, record, error))
    return FALSE;
  rfl_schema_assign_person_ids (self, record);
  return TRUE;
}

/**
 * rfl_schema_assign_person_ids:
 * @self: a schema
 * @record: a valid record
 *
 * Gives every person in @record that has no id a new one.
 */
void
rfl_schema_assign_person_ids (RflSchema  *self,
                              JsonObject *record)
{
  RecordType *rt;

  g_return_if_fail (RFL_IS_SCHEMA (self));

  rt = g_hash_table_lookup (self->records,
                            rfl_json_string_or (record, "type", ""));
  if (rt != NULL)
    assign_person_ids (self, rt->fields, record);
}

/**
 * rfl_schema_validate:
 * @self: a schema
 * @record: a whole record
 * @error: return location for an error
 *
 * Checks @record against its type. The error names the field and the rule.
 */
gboolean
rfl_schema_validate (RflSchema   *self,
                     JsonObject  *record,
                     GError     **error)
{
  g_autoptr(GString) path = g_string_new (NULL);
  Walk walk = { self, path };
  RecordType *rt;

  g_return_val_if_fail (RFL_IS_SCHEMA (self), FALSE);
  g_return_val_if_fail (record != NULL, FALSE);

  if ((rt = lookup_type (self, record, error)) == NULL)
    return FALSE;
  if (!validate_set (&walk, rt->fields, record, rt->name, error))
    return FALSE;

  if (rt->lifecycle != NULL)
    {
      const char *status = rfl_json_string_or (record, "status", NULL);

      if (status == NULL)
        {
          g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                               _("field 'status': is required"));
          return FALSE;
        }
      if (!g_hash_table_contains (rt->lifecycle->transitions, status))
        {
          g_auto(GStrv) states = rfl_schema_sorted_keys (rt->lifecycle->transitions);
          g_autofree char *allowed = join_values (states);

          g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                       _("field 'status': '%s' is not one of: %s"), status, allowed);
          return FALSE;
        }
    }
  else if (json_object_has_member (record, "status"))
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                   _("field 'status': a %s has no status"), rt->name);
      return FALSE;
    }

  return TRUE;
}

/**
 * rfl_schema_check_transition:
 * @self: a schema
 * @record: the record as it will be after the change
 * @from: the status before the change
 * @error: return location for an error
 *
 * Checks that the lifecycle allows going from @from to the status of @record,
 * and that a status which needs a reason (closing a case) has one.
 */
gboolean
rfl_schema_check_transition (RflSchema   *self,
                             JsonObject  *record,
                             const char  *from,
                             GError     **error)
{
  RecordType *rt;
  const char *to, *reason_field;
  const char * const *allowed;

  g_return_val_if_fail (RFL_IS_SCHEMA (self), FALSE);

  if ((rt = lookup_type (self, record, error)) == NULL)
    return FALSE;
  if (rt->lifecycle == NULL)
    return TRUE;

  to = rfl_json_string_or (record, "status", NULL);
  if (g_strcmp0 (from, to) == 0)
    return TRUE;

  allowed = g_hash_table_lookup (rt->lifecycle->transitions, from);
  if (allowed == NULL || to == NULL || !g_strv_contains (allowed, to))
    {
      g_autofree char *next = allowed && allowed[0] ? g_strjoinv (", ", (char **) allowed)
                                                     : g_strdup ("none (final status)");
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION,
                   _("field 'status': a %s cannot go from '%s' to '%s' (allowed: %s)"),
                   rt->name, from, to ? to : "(none)", next);
      return FALSE;
    }

  reason_field = g_hash_table_lookup (rt->lifecycle->reasons, to);
  if (reason_field != NULL)
    {
      JsonNode *reason = json_object_get_member (record, reason_field);

      if (reason == NULL || JSON_NODE_HOLDS_NULL (reason))
        {
          g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                       _("field '%s': is required when the status becomes '%s'"), reason_field, to);
          return FALSE;
        }
    }

  return TRUE;
}

/**
 * rfl_schema_is_retained_status:
 *
 * Returns: %TRUE if a record entering @status gets a retention date.
 */
gboolean
rfl_schema_is_retained_status (RflSchema  *self,
                               const char *type,
                               const char *status)
{
  RecordType *rt;

  g_return_val_if_fail (RFL_IS_SCHEMA (self), FALSE);

  rt = g_hash_table_lookup (self->records, type);
  return rt != NULL && rt->lifecycle != NULL && status != NULL &&
         g_strv_contains ((const char * const *) rt->lifecycle->retained, status);
}

static void
collect_names (FieldSet   *set,
               JsonObject *obj,
               guint       level,
               GPtrArray  *names)
{
  for (guint i = 0; i < set->order->len; i++)
    {
      Field *field = g_ptr_array_index (set->order, i);
      JsonNode *node;

      if (field->searchable != level || (node = json_object_get_member (obj, field->name)) == NULL)
        continue;
      if (field->kind == KIND_STRING && JSON_NODE_HOLDS_VALUE (node))
        g_ptr_array_add (names, g_strdup (json_node_get_string (node)));
      else if (field->kind == KIND_ARRAY && JSON_NODE_HOLDS_ARRAY (node))
        {
          JsonArray *array = json_node_get_array (node);
          for (guint j = 0; j < json_array_get_length (array); j++)
            {
              const char *s = json_array_get_string_element (array, j);
              if (s != NULL)
                g_ptr_array_add (names, g_strdup (s));
            }
        }
    }
}

static void
add_person (GPtrArray  *persons,
            FieldSet   *set,
            const char *role,
            JsonNode   *node)
{
  RflSchemaPerson *person;
  JsonObject *obj;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return;
  obj = json_node_get_object (node);
  person = g_new0 (RflSchemaPerson, 1);
  person->person_id = g_strdup (rfl_json_string_or (obj, "id", ""));
  person->role = g_strdup (role);
  person->names = g_ptr_array_new_with_free_func (g_free);
  person->other_names = g_ptr_array_new_with_free_func (g_free);
  collect_names (set, obj, 1, person->names);
  collect_names (set, obj, 2, person->other_names);
  g_ptr_array_add (persons, person);
}

static gboolean
strings_equal (GPtrArray *a,
               GPtrArray *b)
{
  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    if (g_strcmp0 (g_ptr_array_index (a, i), g_ptr_array_index (b, i)) != 0)
      return FALSE;
  return TRUE;
}

/**
 * rfl_schema_persons_equal:
 * @a: (element-type RflSchemaPerson): persons from rfl_schema_collect_persons()
 * @b: (element-type RflSchemaPerson): persons from rfl_schema_collect_persons()
 *
 * Returns: whether @a and @b hold the same persons, in the same order, with
 *   the same roles and names: whether their records index the same names
 */
gboolean
rfl_schema_persons_equal (GPtrArray *a,
                          GPtrArray *b)
{
  g_return_val_if_fail (a != NULL && b != NULL, FALSE);

  if (a->len != b->len)
    return FALSE;
  for (guint i = 0; i < a->len; i++)
    {
      RflSchemaPerson *x = g_ptr_array_index (a, i), *y = g_ptr_array_index (b, i);

      if (g_strcmp0 (x->person_id, y->person_id) != 0 || g_strcmp0 (x->role, y->role) != 0 ||
          !strings_equal (x->names, y->names) || !strings_equal (x->other_names, y->other_names))
        return FALSE;
    }
  return TRUE;
}

/**
 * rfl_schema_field_applies:
 * @self: a schema
 * @record: a record
 * @name: a top-level field of its type
 *
 * Returns: whether @record may hold @name: a field of its type that applies
 *   to its kind ("place_of_detention" only to a detainee's registration)
 */
gboolean
rfl_schema_field_applies (RflSchema  *self,
                          JsonObject *record,
                          const char *name)
{
  RecordType *rt;
  Field *field;

  g_return_val_if_fail (RFL_IS_SCHEMA (self), FALSE);

  rt = g_hash_table_lookup (self->records, rfl_json_string_or (record, "type", ""));
  if (rt == NULL || (field = g_hash_table_lookup (rt->fields->by_name, name)) == NULL)
    return FALSE;
  return field_applies (field, record);
}

/**
 * rfl_schema_collect_persons:
 * @self: a schema
 * @record: a valid record
 *
 * Returns: (transfer full) (element-type RflSchemaPerson): every person in
 *   @record that has searchable names, in schema order. A record merged
 *   into another (`merged_into`) has none: its names are found under the
 *   record it was merged into.
 */
GPtrArray *
rfl_schema_collect_persons (RflSchema  *self,
                            JsonObject *record)
{
  GPtrArray *persons = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_schema_person_free);
  RecordType *rt;

  g_return_val_if_fail (RFL_IS_SCHEMA (self), persons);

  rt = g_hash_table_lookup (self->records,
                            rfl_json_string_or (record, "type", ""));
  if (rt == NULL || json_object_has_member (record, "merged_into"))
    return persons;

  for (guint i = 0; i < rt->fields->order->len; i++)
    {
      Field *field = g_ptr_array_index (rt->fields->order, i);
      Field *target = field->kind == KIND_ARRAY ? field->items : field;
      JsonNode *node = json_object_get_member (record, field->name);
      FieldSet *set;

      if (node == NULL || target->kind != KIND_OBJECT)
        continue;
      /* A person is a struct with an id of its own; consent is not a person. */
      set = g_hash_table_lookup (self->structs, target->struct_name);
      if (!g_hash_table_contains (set->by_name, "id"))
        continue;

      if (field->kind == KIND_ARRAY && JSON_NODE_HOLDS_ARRAY (node))
        {
          JsonArray *array = json_node_get_array (node);
          for (guint j = 0; j < json_array_get_length (array); j++)
            add_person (persons, set, field->name, json_array_get_element (array, j));
        }
      else
        add_person (persons, set, field->name, node);
    }

  return persons;
}

