/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-schema"

#include "rfl-schema.h"
#include "rfl-json.h"
#include "rfl-error.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#define SCHEMA_RESOURCE "/io/github/reunite/data/records.json"
#define STRING_MAX_BYTES 500
#define TEXT_MAX_BYTES   20000
#define YEAR_MIN         1800
#define YEAR_MAX         2200

typedef enum
{
  KIND_STRING,
  KIND_TEXT,
  KIND_INTEGER,
  KIND_BOOLEAN,
  KIND_ENUM,
  KIND_PARTIAL_DATE,
  KIND_DATE,
  KIND_PHONE,
  KIND_OBJECT,
  KIND_ARRAY,
  KIND_ID,
  KIND_STATUS,
  KIND_RECORD_REF,
} FieldKind;

static const char * const kind_names[] = {
  "string", "text", "integer", "boolean", "enum", "partial_date", "date", "phone",
  "object", "array", "id", "status", "record_ref",
};

typedef struct _Field Field;
struct _Field
{
  char     *name;
  FieldKind kind;
  gboolean  required;
  guint     searchable;   /* 0: not searched, 1: the person's own name, 2: a secondary name */
  GStrv     values;
  gint64    min;
  gint64    max;
  guint     min_items;
  guint     max_items;
  char     *struct_name;
  Field    *items;
  char     *default_value;
  char     *label;        /* how forms name it, when its name alone would not say */
  gboolean  past;         /* a date that cannot be in the future: a birth, a last sighting */
  GHashTable *when;       /* field name -> GStrv: the values of a sibling field it applies to */
};

/* An ordered set of fields: a struct, or the fields of one record type. */
typedef struct
{
  GHashTable *by_name;
  GPtrArray  *order;
} FieldSet;

typedef struct
{
  GStrv       initial;
  GHashTable *transitions;  /* from -> GStrv of allowed targets */
  GHashTable *reasons;      /* target status -> name of the field that must explain it */
  GStrv       retained;
} Lifecycle;

typedef struct
{
  char      *name;
  Lifecycle *lifecycle;
  FieldSet  *fields;
} RecordType;

struct _RflSchema
{
  GObject     parent_instance;

  guint       version;
  GHashTable *structs;     /* name -> FieldSet */
  GHashTable *lifecycles;  /* name -> Lifecycle */
  GHashTable *records;     /* name -> RecordType */
};

G_DEFINE_FINAL_TYPE (RflSchema, rfl_schema, G_TYPE_OBJECT)

G_DEFINE_QUARK (rfl-store-error-quark, rfl_store_error)

static void
field_free (Field *field)
{
  if (field == NULL)
    return;
  g_free (field->name);
  g_strfreev (field->values);
  g_free (field->struct_name);
  field_free (field->items);
  g_free (field->default_value);
  g_free (field->label);
  g_clear_pointer (&field->when, g_hash_table_unref);
  g_free (field);
}

static void
field_set_free (FieldSet *set)
{
  g_hash_table_unref (set->by_name);
  g_ptr_array_unref (set->order);
  g_free (set);
}

static FieldSet *
field_set_new (void)
{
  FieldSet *set = g_new0 (FieldSet, 1);

  set->by_name = g_hash_table_new (g_str_hash, g_str_equal);
  set->order = g_ptr_array_new_with_free_func ((GDestroyNotify) field_free);
  return set;
}

static void
lifecycle_free (Lifecycle *lc)
{
  g_strfreev (lc->initial);
  g_strfreev (lc->retained);
  g_hash_table_unref (lc->transitions);
  g_hash_table_unref (lc->reasons);
  g_free (lc);
}

static void
record_type_free (RecordType *rt)
{
  g_free (rt->name);
  field_set_free (rt->fields);
  g_free (rt);
}

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

static GStrv
strv_from_array (JsonArray *array)
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

static gboolean
schema_fail (GError **error, const char *what, const char *name)
{
  g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_CORRUPT,
               "record schema: %s '%s'", what, name);
  return FALSE;
}

static Field *
parse_field (const char  *name,
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
      schema_fail (error, "field is not an object", name);
      return NULL;
    }
  obj = json_node_get_object (node);
  kind = rfl_json_string_or (obj, "type", "");

  for (k = 0; k < G_N_ELEMENTS (kind_names); k++)
    if (g_str_equal (kind, kind_names[k]))
      break;
  if (k == G_N_ELEMENTS (kind_names))
    {
      schema_fail (error, "unknown field type for", name);
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
    field->values = strv_from_array (json_object_get_array_member (obj, "values"));
  field->label = g_strdup (rfl_json_string_or (obj, "label", NULL));
  field->past = rfl_json_bool_or (obj, "past", FALSE);
  if (json_object_has_member (obj, "when"))
    {
      JsonNode *when = json_object_get_member (obj, "when");
      GList *names;

      if (!JSON_NODE_HOLDS_OBJECT (when))
        {
          field_free (field);
          schema_fail (error, "'when' is not an object in", name);
          return NULL;
        }
      field->when = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_strfreev);
      names = json_object_get_members (json_node_get_object (when));
      for (GList *l = names; l != NULL; l = l->next)
        {
          JsonNode *allowed = json_object_get_member (json_node_get_object (when), l->data);

          if (!JSON_NODE_HOLDS_ARRAY (allowed))
            {
              g_list_free (names);
              field_free (field);
              schema_fail (error, "a condition of 'when' is not a list of values in", name);
              return NULL;
            }
          g_hash_table_insert (field->when, g_strdup (l->data), strv_from_array (json_node_get_array (allowed)));
        }
      g_list_free (names);
    }

  if (field->kind == KIND_ENUM && (field->values == NULL || field->values[0] == NULL))
    {
      field_free (field);
      schema_fail (error, "enum without values", name);
      return NULL;
    }
  if (field->kind == KIND_OBJECT && field->struct_name == NULL)
    {
      field_free (field);
      schema_fail (error, "object without struct", name);
      return NULL;
    }
  if (field->kind == KIND_ARRAY)
    {
      JsonNode *items = json_object_get_member (obj, "items");

      if (items == NULL || (field->items = parse_field (name, items, &local_error)) == NULL)
        {
          field_free (field);
          if (local_error != NULL)
            g_propagate_error (error, g_steal_pointer (&local_error));
          else
            schema_fail (error, "array without items", name);
          return NULL;
        }
    }

  return field;
}

static FieldSet *
parse_field_set (JsonObject  *obj,
                 FieldSet    *into,
                 GError     **error)
{
  g_autoptr(GList) members = json_object_get_members (obj);
  FieldSet *set = into != NULL ? into : field_set_new ();

  for (GList *l = members; l != NULL; l = l->next)
    {
      Field *field = parse_field (l->data, json_object_get_member (obj, l->data), error);
      Field *old;

      if (field == NULL)
        {
          if (into == NULL)
            field_set_free (set);
          return NULL;
        }
      /* A record type may redefine a common field; the later definition wins. */
      old = g_hash_table_lookup (set->by_name, field->name);
      if (old != NULL)
        {
          g_hash_table_remove (set->by_name, field->name);
          g_ptr_array_remove (set->order, old);
        }
      g_hash_table_insert (set->by_name, field->name, field);
      g_ptr_array_add (set->order, field);
    }

  return set;
}

static gboolean
load (RflSchema   *self,
      JsonNode    *root,
      GError     **error)
{
  JsonObject *obj, *lifecycles, *structs, *records, *common;
  g_autoptr(GList) names = NULL;

  if (!JSON_NODE_HOLDS_OBJECT (root))
    return schema_fail (error, "root is not an object", "");
  obj = json_node_get_object (root);
  if (g_strcmp0 (rfl_json_string_or (obj, "format", ""), "reunite-schema") != 0)
    return schema_fail (error, "format is not", "reunite-schema");
  self->version = rfl_json_int_or (obj, "version", 0);

  lifecycles = json_object_get_object_member (obj, "lifecycles");
  structs = json_object_get_object_member (obj, "structs");
  records = json_object_get_object_member (obj, "records");
  common = json_object_get_object_member (obj, "common");
  if (lifecycles == NULL || structs == NULL || records == NULL || common == NULL)
    return schema_fail (error, "missing section", "lifecycles/structs/records/common");

  names = json_object_get_members (lifecycles);
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonObject *lo = json_object_get_object_member (lifecycles, l->data);
      Lifecycle *lc;
      JsonObject *transitions, *reasons;
      g_autoptr(GList) from = NULL;

      if (lo == NULL)
        return schema_fail (error, "lifecycle is not an object", l->data);
      lc = g_new0 (Lifecycle, 1);
      lc->transitions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                               (GDestroyNotify) g_strfreev);
      lc->reasons = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
      lc->initial = strv_from_array (json_object_get_array_member (lo, "initial"));
      lc->retained = strv_from_array (json_object_get_array_member (lo, "retained"));
      g_hash_table_insert (self->lifecycles, g_strdup (l->data), lc);

      transitions = json_object_get_object_member (lo, "transitions");
      if (transitions == NULL || lc->initial[0] == NULL)
        return schema_fail (error, "lifecycle without states", l->data);
      from = json_object_get_members (transitions);
      for (GList *f = from; f != NULL; f = f->next)
        g_hash_table_insert (lc->transitions, g_strdup (f->data),
                             strv_from_array (json_object_get_array_member (transitions, f->data)));

      reasons = json_object_get_object_member (lo, "reason");
      if (reasons != NULL)
        {
          g_autoptr(GList) targets = json_object_get_members (reasons);
          for (GList *t = targets; t != NULL; t = t->next)
            g_hash_table_insert (lc->reasons, g_strdup (t->data),
                                 g_strdup (json_object_get_string_member (reasons, t->data)));
        }
    }

  g_clear_pointer (&names, g_list_free);
  names = json_object_get_members (structs);
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonObject *so = json_object_get_object_member (structs, l->data);
      FieldSet *set;

      if (so == NULL)
        return schema_fail (error, "struct is not an object", l->data);
      if ((set = parse_field_set (so, NULL, error)) == NULL)
        return FALSE;
      g_hash_table_insert (self->structs, g_strdup (l->data), set);
    }

  g_clear_pointer (&names, g_list_free);
  names = json_object_get_members (records);
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonObject *ro = json_object_get_object_member (records, l->data);
      JsonObject *fields;
      const char *lifecycle;
      RecordType *rt;

      if (ro == NULL || (fields = json_object_get_object_member (ro, "fields")) == NULL)
        return schema_fail (error, "record type without fields", l->data);
      rt = g_new0 (RecordType, 1);
      rt->name = g_strdup (l->data);
      rt->fields = field_set_new ();
      g_hash_table_insert (self->records, rt->name, rt);

      if (parse_field_set (common, rt->fields, error) == NULL ||
          parse_field_set (fields, rt->fields, error) == NULL)
        return FALSE;

      lifecycle = rfl_json_string_or (ro, "lifecycle", NULL);
      if (lifecycle != NULL &&
          (rt->lifecycle = g_hash_table_lookup (self->lifecycles, lifecycle)) == NULL)
        return schema_fail (error, "unknown lifecycle", lifecycle);
    }

  /* Every referenced struct must exist, so validation never meets a dangling name. */
  {
    GHashTableIter iter;
    RecordType *rt;

    g_hash_table_iter_init (&iter, self->records);
    while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &rt))
      for (guint i = 0; i < rt->fields->order->len; i++)
        {
          Field *f = g_ptr_array_index (rt->fields->order, i);
          Field *target = f->kind == KIND_ARRAY ? f->items : f;

          if (target->kind == KIND_OBJECT &&
              !g_hash_table_contains (self->structs, target->struct_name))
            return schema_fail (error, "unknown struct", target->struct_name);
        }
  }

  return TRUE;
}

static void
rfl_schema_finalize (GObject *object)
{
  RflSchema *self = (RflSchema *) object;

  g_clear_pointer (&self->records, g_hash_table_unref);
  g_clear_pointer (&self->structs, g_hash_table_unref);
  g_clear_pointer (&self->lifecycles, g_hash_table_unref);

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
                                         (GDestroyNotify) field_set_free);
  self->lifecycles = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                            (GDestroyNotify) lifecycle_free);
  self->records = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                         (GDestroyNotify) record_type_free);
}

/* Validation. */

typedef struct
{
  RflSchema *schema;
  GString   *path;
} Walk;

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
static GStrv
sorted_keys (GHashTable *table)
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

static gboolean
validate_value (Walk        *walk,
                Field       *field,
                JsonNode    *node,
                GError     **error)
{
  GType vtype = JSON_NODE_HOLDS_VALUE (node) ? json_node_get_value_type (node) : G_TYPE_INVALID;
  const char *s = NULL;

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
      s = json_node_get_string (node);
      if (!g_utf8_validate (s, -1, NULL))
        return invalid (walk, error, _("is not valid UTF-8"));
      break;
    case KIND_INTEGER:
      if (vtype != G_TYPE_INT64)
        return invalid (walk, error, _("must be a whole number"));
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
          g_auto(GStrv) states = sorted_keys (rt->lifecycle->transitions);
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
 * rfl_schema_collect_persons:
 * @self: a schema
 * @record: a valid record
 *
 * Returns: (transfer full) (element-type RflSchemaPerson): every person in
 *   @record that has searchable names, in schema order.
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
  if (rt == NULL)
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
 * rfl_schema_get_default:
 *
 * Returns: (transfer none): the schema compiled into the library.
 */
RflSchema *
rfl_schema_get_default (void)
{
  static RflSchema *schema;
  static gsize once;

  if (g_once_init_enter (&once))
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) bytes = NULL;
      RflSchema *loaded;

      bytes = g_resources_lookup_data (SCHEMA_RESOURCE, G_RESOURCE_LOOKUP_FLAGS_NONE, &error);
      if (bytes == NULL)
        g_error ("built-in record schema missing: %s", error->message);
      loaded = rfl_schema_new_from_data (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
      if (loaded == NULL)
        g_error ("built-in record schema invalid: %s", error->message);
      schema = loaded;
      g_once_init_leave (&once, 1);
    }
  return schema;
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

  return sorted_keys (self->records);
}

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
  json_object_set_string_member (out, "kind", kind_names[field->kind]);
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
  if (field->kind == KIND_INTEGER)
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
 * values listed), "past" (a date that cannot lie in the future) and
 * "fields" (a struct's fields, described the same way).
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
