/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "rfl-cases-page.h"
#include "rfl-dashboard-page.h"
#include "rfl-matches-page.h"
#include "rfl-window.h"

G_BEGIN_DECLS

RflCasesPage *_rfl_window_get_cases_page (RflWindow *self);
RflCasesPage *_rfl_window_get_messages_page (RflWindow *self);
RflDashboardPage *_rfl_window_get_dashboard_page (RflWindow *self);
RflMatchesPage *_rfl_window_get_matches_page (RflWindow *self);
GtkStack     *_rfl_window_get_content    (RflWindow *self);
AdwLeaflet   *_rfl_window_get_leaflet    (RflWindow *self);
void          _rfl_window_toast          (RflWindow  *self,
                                          const char *message);

G_END_DECLS
