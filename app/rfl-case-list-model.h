/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "rfl-store.h"

G_BEGIN_DECLS

#define RFL_TYPE_CASE_LIST_MODEL (rfl_case_list_model_get_type ())

G_DECLARE_FINAL_TYPE (RflCaseListModel, rfl_case_list_model, RFL, CASE_LIST_MODEL, GObject)

/* Cases fetched per query, and pages kept in memory. */
#define RFL_CASE_LIST_PAGE      100
#define RFL_CASE_LIST_MAX_PAGES 40

RflCaseListModel *rfl_case_list_model_new        (RflStore         *store,
                                                  const char       *type,
                                                  const char       *status) G_GNUC_WARN_UNUSED_RESULT;
void              rfl_case_list_model_set_filter (RflCaseListModel *self,
                                                  const char       *type,
                                                  const char       *status);
void              rfl_case_list_model_refresh    (RflCaseListModel *self);
gboolean          rfl_case_list_model_get_loading (RflCaseListModel *self);
guint             rfl_case_list_model_get_pages_held (RflCaseListModel *self);

G_END_DECLS
