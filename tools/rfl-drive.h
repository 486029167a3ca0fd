/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

GtkWidget *rfl_drive_find_type (GtkWidget  *root,
                                GType       type);
gboolean   rfl_drive_wait_for  (gboolean  (*done) (gpointer),
                                gpointer    data,
                                guint       timeout_ms);

G_END_DECLS
