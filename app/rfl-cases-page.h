/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "rfl-case-view.h"
#include "rfl-store.h"

G_BEGIN_DECLS

#define RFL_TYPE_CASES_PAGE (rfl_cases_page_get_type ())

G_DECLARE_FINAL_TYPE (RflCasesPage, rfl_cases_page, RFL, CASES_PAGE, AdwBin)

GtkWidget  *rfl_cases_page_new        (void) G_GNUC_WARN_UNUSED_RESULT;
void        rfl_cases_page_set_store  (RflCasesPage *self,
                                       RflStore     *store);
GListModel *rfl_cases_page_get_model  (RflCasesPage *self);
const char *rfl_cases_page_get_query  (RflCasesPage *self);
void        rfl_cases_page_set_query  (RflCasesPage *self,
                                       const char   *query);
void        rfl_cases_page_focus_search (RflCasesPage *self);
void        rfl_cases_page_reload     (RflCasesPage *self);
void        rfl_cases_page_open_case  (RflCasesPage *self,
                                       const char   *id);
RflCaseView *rfl_cases_page_get_case_view (RflCasesPage *self);
const char *rfl_cases_page_get_open_case (RflCasesPage *self);

G_END_DECLS
