/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "rfl-store.h"

G_BEGIN_DECLS

#define RFL_TYPE_NEW_CASE_DIALOG (rfl_new_case_dialog_get_type ())

G_DECLARE_FINAL_TYPE (RflNewCaseDialog, rfl_new_case_dialog, RFL, NEW_CASE_DIALOG, AdwWindow)

GtkWidget  *rfl_new_case_dialog_new       (GtkWindow        *parent,
                                           RflStore         *store) G_GNUC_WARN_UNUSED_RESULT;
GtkWidget  *rfl_new_case_dialog_new_for_record (GtkWindow  *parent,
                                                RflStore   *store,
                                                JsonObject *record) G_GNUC_WARN_UNUSED_RESULT;
void        rfl_new_case_dialog_set_kind  (RflNewCaseDialog *self,
                                           const char       *type,
                                           const char       *subtype);
GtkWidget  *rfl_new_case_dialog_get_form  (RflNewCaseDialog *self);
const char *rfl_new_case_dialog_get_error (RflNewCaseDialog *self);
gboolean    rfl_new_case_dialog_get_busy  (RflNewCaseDialog *self);

G_END_DECLS
