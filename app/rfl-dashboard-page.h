/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "rfl-store.h"

G_BEGIN_DECLS

#define RFL_TYPE_DASHBOARD_PAGE (rfl_dashboard_page_get_type ())

G_DECLARE_FINAL_TYPE (RflDashboardPage, rfl_dashboard_page, RFL, DASHBOARD_PAGE, AdwBin)

GtkWidget  *rfl_dashboard_page_new         (void) G_GNUC_WARN_UNUSED_RESULT;
void        rfl_dashboard_page_set_store   (RflDashboardPage *self,
                                            RflStore         *store);
void        rfl_dashboard_page_refresh     (RflDashboardPage *self);
gboolean    rfl_dashboard_page_get_loading (RflDashboardPage *self);
JsonObject *rfl_dashboard_page_get_summary (RflDashboardPage *self);

G_END_DECLS
