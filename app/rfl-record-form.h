/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>
#include <json-glib/json-glib.h>

#include "rfl-record-labels.h"
#include "rfl-schema.h"

G_BEGIN_DECLS

#define RFL_TYPE_RECORD_FORM (rfl_record_form_get_type ())

G_DECLARE_FINAL_TYPE (RflRecordForm, rfl_record_form, RFL, RECORD_FORM, AdwBin)

GtkWidget  *rfl_record_form_new        (RflSchema     *schema,
                                        const char    *type,
                                        const char    *subtype) G_GNUC_WARN_UNUSED_RESULT;
const char *rfl_record_form_get_record_type (RflRecordForm *self);
gboolean    rfl_record_form_get_valid  (RflRecordForm *self);
JsonObject *rfl_record_form_dup_record (RflRecordForm *self) G_GNUC_WARN_UNUSED_RESULT;
GtkWidget  *rfl_record_form_get_field  (RflRecordForm *self,
                                        const char    *path);
void        rfl_record_form_add_item   (RflRecordForm *self,
                                        const char    *array);
void        rfl_record_form_set_record (RflRecordForm *self,
                                        JsonObject    *record);
JsonObject *rfl_record_form_dup_patch  (RflRecordForm *self,
                                        JsonObject    *original) G_GNUC_WARN_UNUSED_RESULT;

GtkWidget  *rfl_record_form_check      (RflRecordForm *self);
char       *rfl_record_form_dup_problem (RflRecordForm *self,
                                        const char    *path) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
