/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite"

#include <glib/gi18n.h>

#include "rfl-cases-page.h"
#include "rfl-new-case-dialog.h"
#include "rfl-schema.h"
#include "rfl-window-private.h"

/* The window's actions, with their keyboard shortcuts. */


static void
lock_activated (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  rfl_window_lock (RFL_WINDOW (widget));
}

static void
case_saved_cb (RflNewCaseDialog *dialog,
               const char       *id,
               RflWindow        *self)
{
  /* The lists follow the store's "changed" signal. */
  _rfl_window_toast (self, _("Case saved"));
}

static void
new_case_activated (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  RflWindow *self = RFL_WINDOW (widget);
  GtkWidget *dialog;

  if (rfl_window_get_store (self) == NULL)
    return;
  dialog = rfl_new_case_dialog_new (GTK_WINDOW (self), rfl_window_get_store (self));
  /* From the Messages section, a new entry is most likely a message. */
  if (g_strcmp0 (gtk_stack_get_visible_child_name (_rfl_window_get_content (self)), "messages") == 0)
    {
      g_auto(GStrv) messages = rfl_schema_dup_kinds (rfl_schema_get_default (), "messages");

      if (messages[0] != NULL)
        rfl_new_case_dialog_set_kind (RFL_NEW_CASE_DIALOG (dialog), messages[0], NULL);
    }
  g_signal_connect_object (dialog, "saved", G_CALLBACK (case_saved_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
search_activated (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  RflWindow *self = RFL_WINDOW (widget);

  gtk_stack_set_visible_child_name (_rfl_window_get_content (self), "cases");
  rfl_cases_page_focus_search (_rfl_window_get_cases_page (self));
}

static void
show_section_activated (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  RflWindow *self = RFL_WINDOW (widget);

  gtk_stack_set_visible_child_name (_rfl_window_get_content (self), g_variant_get_string (parameter, NULL));
}

static void
open_case_activated (GtkWidget  *widget,
                     const char *action_name,
                     GVariant   *parameter)
{
  RflWindow *self = RFL_WINDOW (widget);

  if (rfl_window_get_store (self) == NULL)
    return;
  gtk_stack_set_visible_child_name (_rfl_window_get_content (self), "cases");
  rfl_cases_page_open_case (_rfl_window_get_cases_page (self), g_variant_get_string (parameter, NULL));
}

/* A proposal, from a case's list of its matches: on the Matches page. */
static void
show_match_activated (GtkWidget  *widget,
                      const char *action_name,
                      GVariant   *parameter)
{
  RflWindow *self = RFL_WINDOW (widget);

  if (rfl_window_get_store (self) == NULL)
    return;
  rfl_matches_page_select (_rfl_window_get_matches_page (self), g_variant_get_string (parameter, NULL));
  gtk_stack_set_visible_child_name (_rfl_window_get_content (self), "matches");
}

static void
show_sidebar_activated (GtkWidget  *widget,
                        const char *action_name,
                        GVariant   *parameter)
{
  adw_leaflet_navigate (_rfl_window_get_leaflet (RFL_WINDOW (widget)), ADW_NAVIGATION_DIRECTION_BACK);
}

void
_rfl_window_class_actions_init (GtkWidgetClass *widget_class)
{
  gtk_widget_class_install_action (widget_class, "win.lock", NULL, lock_activated);
  gtk_widget_class_install_action (widget_class, "win.search", NULL, search_activated);
  gtk_widget_class_install_action (widget_class, "win.new-case", NULL, new_case_activated);
  gtk_widget_class_install_action (widget_class, "win.show-section", "s", show_section_activated);
  gtk_widget_class_install_action (widget_class, "win.show-sidebar", NULL, show_sidebar_activated);
  gtk_widget_class_install_action (widget_class, "win.open-case", "s", open_case_activated);
  gtk_widget_class_install_action (widget_class, "win.show-match", "s", show_match_activated);

  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_l, GDK_CONTROL_MASK, "win.lock", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_f, GDK_CONTROL_MASK, "win.search", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_n, GDK_CONTROL_MASK, "win.new-case", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_1, GDK_ALT_MASK, "win.show-section", "s", "cases");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_2, GDK_ALT_MASK, "win.show-section", "s", "messages");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_3, GDK_ALT_MASK, "win.show-section", "s", "matches");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_4, GDK_ALT_MASK, "win.show-section", "s", "sync");
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_5, GDK_ALT_MASK, "win.show-section", "s", "dashboard");
}
