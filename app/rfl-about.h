/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

GtkWidget *rfl_about_window_new (const char *resource) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
