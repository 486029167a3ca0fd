/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "rfl-store.h"

G_BEGIN_DECLS

#define RFL_TYPE_MATCHES_PAGE (rfl_matches_page_get_type ())

G_DECLARE_FINAL_TYPE (RflMatchesPage, rfl_matches_page, RFL, MATCHES_PAGE, AdwBin)

GtkWidget  *rfl_matches_page_new         (void) G_GNUC_WARN_UNUSED_RESULT;
void        rfl_matches_page_set_store   (RflMatchesPage *self,
                                          RflStore       *store);
void        rfl_matches_page_refresh     (RflMatchesPage *self);
gboolean    rfl_matches_page_get_loading (RflMatchesPage *self);
void        rfl_matches_page_select      (RflMatchesPage *self,
                                          const char     *id);

G_END_DECLS
