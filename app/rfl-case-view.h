/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>
#include <json-glib/json-glib.h>

#include "rfl-store.h"

G_BEGIN_DECLS

#define RFL_TYPE_CASE_VIEW (rfl_case_view_get_type ())

G_DECLARE_FINAL_TYPE (RflCaseView, rfl_case_view, RFL, CASE_VIEW, AdwBin)

GtkWidget  *rfl_case_view_new             (void) G_GNUC_WARN_UNUSED_RESULT;
void        rfl_case_view_set_store       (RflCaseView *self,
                                           RflStore    *store);
void        rfl_case_view_load            (RflCaseView *self,
                                           const char  *id);
void        rfl_case_view_clear           (RflCaseView *self);
const char *rfl_case_view_get_record_id   (RflCaseView *self);
JsonObject *rfl_case_view_get_record      (RflCaseView *self);
gboolean    rfl_case_view_get_busy        (RflCaseView *self);
const char *rfl_case_view_get_error       (RflCaseView *self);
GStrv       rfl_case_view_dup_next_statuses (RflCaseView *self) G_GNUC_WARN_UNUSED_RESULT;
void        rfl_case_view_change_status   (RflCaseView *self,
                                           const char  *status,
                                           const char  *reason);
void        rfl_case_view_add_note        (RflCaseView *self,
                                           const char  *kind,
                                           const char  *outcome,
                                           const char  *text);
void        rfl_case_view_set_consent     (RflCaseView *self,
                                           const char  *field,
                                           gboolean     given);

G_END_DECLS
