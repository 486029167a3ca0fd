/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define RFL_TYPE_CASE_ITEM (rfl_case_item_get_type ())

G_DECLARE_FINAL_TYPE (RflCaseItem, rfl_case_item, RFL, CASE_ITEM, GObject)

RflCaseItem *rfl_case_item_new          (void) G_GNUC_WARN_UNUSED_RESULT;
RflCaseItem *rfl_case_item_new_summary  (JsonObject  *summary) G_GNUC_WARN_UNUSED_RESULT;
void         rfl_case_item_set_summary  (RflCaseItem *self,
                                         JsonObject  *summary);
gboolean     rfl_case_item_get_loaded   (RflCaseItem *self);
const char  *rfl_case_item_get_id       (RflCaseItem *self);
const char  *rfl_case_item_get_name     (RflCaseItem *self);
const char  *rfl_case_item_get_kind     (RflCaseItem *self);
const char  *rfl_case_item_get_status   (RflCaseItem *self);
const char  *rfl_case_item_get_updated  (RflCaseItem *self);

char        *rfl_format_count           (gint64       n) G_GNUC_WARN_UNUSED_RESULT;
char        *rfl_format_time            (const char  *iso,
                                         gboolean     with_time) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
