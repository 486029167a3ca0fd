/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "rfl-schema.h"

G_BEGIN_DECLS

/*
 * What the files of RflSchema share: the schema as parsed (rfl-schema.c),
 * validated against (rfl-schema-validate.c), read as vocabulary
 * (rfl-schema-vocabulary.c) and extended by an override file
 * (rfl-schema-override.c). Nothing here is for other files.
 */

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
  KIND_NUMBER,
  N_KINDS
} FieldKind;

extern const char * const rfl_schema_kind_names[N_KINDS];

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
  gboolean  added;        /* an override file added it: no view but the form knows it */
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
  GPtrArray  *states;       /* char *: every status, in the order of the schema file */
  GHashTable *transitions;  /* from -> GStrv of allowed targets */
  GHashTable *reasons;      /* target status -> name of the field that must explain it */
  GStrv       retained;
} Lifecycle;

typedef struct
{
  char       *name;
  Lifecycle  *lifecycle;
  FieldSet   *fields;
  char       *label;        /* "Tracing request": what a volunteer calls one */
  char       *plural;       /* "Tracing requests" */
  char       *list;         /* the list that shows it ("cases", "messages"), or NULL */
  GHashTable *subtypes;     /* subtype value -> label, for the kinds of a registration */
  GStrv       display;      /* the person fields whose first named person names the record */
} RecordType;

struct _RflSchema
{
  GObject     parent_instance;

  guint       version;
  char       *notes;       /* the record type a case's timeline holds */
  JsonObject *common;      /* the fields every record type has, as written, for new types too */
  GHashTable *structs;     /* name -> FieldSet */
  GHashTable *lifecycles;  /* name -> Lifecycle */
  GHashTable *records;     /* name -> RecordType */
  GPtrArray  *order;       /* RecordType *: the record types in the order of the schema file */
};

gboolean    rfl_schema_fail          (GError      **error,
                                      const char   *what,
                                      const char   *name);
JsonObject *rfl_schema_object_member (JsonObject  *obj,
                                      const char   *member);
JsonArray  *rfl_schema_array_member  (JsonObject   *obj,
                                      const char   *member);
GStrv       rfl_schema_strv_from_array (JsonArray *array) G_GNUC_WARN_UNUSED_RESULT;
Field      *rfl_schema_parse_field   (const char   *name,
                                      JsonNode     *node,
                                      GError      **error) G_GNUC_WARN_UNUSED_RESULT;
void        rfl_schema_field_free    (Field        *field);
FieldSet   *rfl_schema_field_set_new (void) G_GNUC_WARN_UNUSED_RESULT;
void        rfl_schema_field_set_free (FieldSet    *set);
void        rfl_schema_field_set_add (FieldSet     *set,
                                      Field        *field);
gboolean    rfl_schema_parse_lifecycle (RflSchema  *self,
                                      const char   *name,
                                      JsonNode     *node,
                                      GError      **error);
gboolean    rfl_schema_parse_struct  (RflSchema    *self,
                                      const char   *name,
                                      JsonNode     *node,
                                      gboolean      added,
                                      GError      **error);
RecordType *rfl_schema_parse_record_type (RflSchema *self,
                                      const char   *name,
                                      JsonNode     *node,
                                      JsonObject   *common,
                                      gboolean      added,
                                      GError      **error);
gboolean    rfl_schema_check_structs (RflSchema    *self,
                                      GError      **error);
gboolean    rfl_schema_merge_override (RflSchema   *self,
                                      const char   *data,
                                      gsize         length,
                                      const char   *origin,
                                      GError      **error);
GStrv       rfl_schema_sorted_keys   (GHashTable   *table) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
