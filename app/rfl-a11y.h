/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

void rfl_a11y_name_switch     (GtkWidget  *toggle,
                               const char *label);
void rfl_a11y_fix_names       (GtkWidget  *root);
void rfl_a11y_name_list_item  (GtkWidget  *child,
                               const char *name);
void rfl_a11y_list_item_activatable (GtkListItem *item);
void rfl_a11y_activatable_choices   (GtkWidget   *drop_down);

G_END_DECLS
