/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "rfl-store.h"

G_BEGIN_DECLS

#define RFL_TYPE_UNLOCK_PAGE (rfl_unlock_page_get_type ())

G_DECLARE_FINAL_TYPE (RflUnlockPage, rfl_unlock_page, RFL, UNLOCK_PAGE, AdwBin)

GtkWidget  *rfl_unlock_page_new          (const char    *path) G_GNUC_WARN_UNUSED_RESULT;
const char *rfl_unlock_page_get_path     (RflUnlockPage *self);
void        rfl_unlock_page_set_path     (RflUnlockPage *self,
                                          const char    *path);
gboolean    rfl_unlock_page_get_creating (RflUnlockPage *self);
gboolean    rfl_unlock_page_get_busy     (RflUnlockPage *self);
const char *rfl_unlock_page_get_error    (RflUnlockPage *self);
void        rfl_unlock_page_reset        (RflUnlockPage *self);

G_END_DECLS
