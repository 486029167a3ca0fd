/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include "rfl-types.h"

G_BEGIN_DECLS

#define RFL_TYPE_SCHEMA (rfl_schema_get_type ())

G_DECLARE_FINAL_TYPE (RflSchema, rfl_schema, RFL, SCHEMA, GObject)

/**
 * RflSchemaPerson:
 * @person_id: the id of the person inside the record
 * @role: the record field the person sits in ("enquirer", "sought", ...)
 * @names: (element-type utf8): the person's own names (given, family, alternates)
 * @other_names: (element-type utf8): names that identify the person less
 *   directly (the father's or mother's name)
 */
typedef struct
{
  char      *person_id;
  char      *role;
  GPtrArray *names;
  GPtrArray *other_names;
} RflSchemaPerson;

void         rfl_schema_person_free         (RflSchemaPerson *person);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflSchemaPerson, rfl_schema_person_free)

RflSchema   *rfl_schema_get_default         (void);
gboolean     rfl_schema_load_default        (GError      **error) G_GNUC_WARN_UNUSED_RESULT;
GStrv        rfl_schema_dup_override_paths  (void) G_GNUC_WARN_UNUSED_RESULT;
RflSchema   *rfl_schema_new_from_data       (const char   *data,
                                             gsize         length,
                                             GError      **error) G_GNUC_WARN_UNUSED_RESULT;
RflSchema   *rfl_schema_new_with_overrides  (const char * const *paths,
                                             GError      **error) G_GNUC_WARN_UNUSED_RESULT;
guint        rfl_schema_get_version         (RflSchema    *self);
gboolean     rfl_schema_has_record_type     (RflSchema    *self,
                                             const char   *type);
GStrv        rfl_schema_dup_record_types    (RflSchema    *self) G_GNUC_WARN_UNUSED_RESULT;
gboolean     rfl_schema_check_new           (RflSchema    *self,
                                             JsonObject   *record,
                                             GError      **error);
gboolean     rfl_schema_prepare_new         (RflSchema    *self,
                                             JsonObject   *record,
                                             GError      **error);
void         rfl_schema_assign_person_ids   (RflSchema    *self,
                                             JsonObject   *record);
gboolean     rfl_schema_validate            (RflSchema    *self,
                                             JsonObject   *record,
                                             GError      **error);
gboolean     rfl_schema_check_transition    (RflSchema    *self,
                                             JsonObject   *record,
                                             const char   *from,
                                             GError      **error);
gboolean     rfl_schema_is_retained_status  (RflSchema    *self,
                                             const char   *type,
                                             const char   *status);
GPtrArray   *rfl_schema_collect_persons     (RflSchema    *self,
                                             JsonObject   *record) G_GNUC_WARN_UNUSED_RESULT;
gboolean     rfl_schema_persons_equal       (GPtrArray    *a,
                                             GPtrArray    *b);
JsonArray   *rfl_schema_describe            (RflSchema    *self,
                                             const char   *type) G_GNUC_WARN_UNUSED_RESULT;
GStrv        rfl_schema_dup_next_statuses   (RflSchema    *self,
                                             const char   *type,
                                             const char   *from) G_GNUC_WARN_UNUSED_RESULT;
gboolean     rfl_schema_has_field           (RflSchema    *self,
                                             const char   *type,
                                             const char   *name);
gboolean     rfl_schema_field_applies       (RflSchema    *self,
                                             JsonObject   *record,
                                             const char   *name);
const char  *rfl_schema_get_reason_field    (RflSchema    *self,
                                             const char   *type,
                                             const char   *to);
GStrv        rfl_schema_dup_kinds           (RflSchema    *self,
                                             const char   *list) G_GNUC_WARN_UNUSED_RESULT;
const char  *rfl_schema_get_list            (RflSchema    *self,
                                             const char   *type);
GStrv        rfl_schema_dup_subtypes        (RflSchema    *self,
                                             const char   *type) G_GNUC_WARN_UNUSED_RESULT;
const char  *rfl_schema_get_kind_label      (RflSchema    *self,
                                             const char   *type,
                                             const char   *subtype);
const char  *rfl_schema_get_plural_label    (RflSchema    *self,
                                             const char   *type);
GStrv        rfl_schema_dup_statuses        (RflSchema    *self,
                                             const char   *type) G_GNUC_WARN_UNUSED_RESULT;
GStrv        rfl_schema_dup_enum_values     (RflSchema    *self,
                                             const char   *type,
                                             const char   *field) G_GNUC_WARN_UNUSED_RESULT;
const char  *rfl_schema_get_field_default   (RflSchema    *self,
                                             const char   *type,
                                             const char   *field);
const char  *rfl_schema_get_note_type       (RflSchema    *self);
GStrv        rfl_schema_dup_note_kinds      (RflSchema    *self) G_GNUC_WARN_UNUSED_RESULT;
const char * const *rfl_schema_get_display_roles (RflSchema *self,
                                             const char   *type);
gboolean     rfl_schema_is_partial_date     (const char   *text);
gboolean     rfl_schema_is_date             (const char   *text);
gboolean     rfl_schema_is_future_date      (const char   *text,
                                             const char   *today);

G_END_DECLS
