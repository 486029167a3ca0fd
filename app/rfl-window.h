/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "rfl-application.h"
#include "rfl-store.h"

G_BEGIN_DECLS

#define RFL_TYPE_WINDOW (rfl_window_get_type ())

G_DECLARE_FINAL_TYPE (RflWindow, rfl_window, RFL, WINDOW, AdwApplicationWindow)

RflWindow *rfl_window_new       (RflApplication *app) G_GNUC_WARN_UNUSED_RESULT;
RflStore  *rfl_window_get_store (RflWindow      *self);
gboolean   rfl_window_get_locked (RflWindow     *self);
void       rfl_window_lock      (RflWindow      *self);

/* rfl-window-actions.c */
void       _rfl_window_class_actions_init (GtkWidgetClass *widget_class);

G_END_DECLS
