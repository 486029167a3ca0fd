/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-a11y"

#include <adwaita.h>
#include <glib/gi18n.h>

#include "rfl-a11y.h"

/*
 * Accessible names that GTK 4.8 and libadwaita 1.2 get wrong, put right in
 * one place:
 *
 * - A button with a mnemonic ("_Save") is named by its label property, with
 *   the underscore, and again by the label widget that points at it:
 *   "_Save Save". It is named by its text alone.
 * - A switch that an AdwActionRow activates is labelled by the row's title
 *   and by its own label: "Tracing Tracing *".
 * - The button that shows a passphrase has no name ("GtkImage"), nor the
 *   button that opens a GtkDropDown ("GtkToggleButton"): it takes the
 *   drop-down's tooltip.
 * - A row of a GtkListView has no name: screen readers read nothing; nor
 *   has a row of a GtkStackSidebar.
 */

/**
 * rfl_a11y_name_switch:
 * @toggle: a switch in a row
 * @label: what it turns on or off
 *
 * Names a switch once, by @label.
 */
void
rfl_a11y_name_switch (GtkWidget  *toggle,
                      const char *label)
{
  g_return_if_fail (GTK_IS_WIDGET (toggle));

  gtk_accessible_reset_relation (GTK_ACCESSIBLE (toggle), GTK_ACCESSIBLE_RELATION_LABELLED_BY);
  gtk_accessible_update_property (GTK_ACCESSIBLE (toggle), GTK_ACCESSIBLE_PROPERTY_LABEL, label, -1);
}

static char *
strip_mnemonic (const char *label)
{
  GString *out = g_string_new (NULL);

  for (const char *p = label; *p != '\0'; p++)
    {
      if (*p == '_')
        {
          if (p[1] == '_')
            p++;
          else
            continue;
        }
      g_string_append_c (out, *p);
    }
  return g_string_free (out, FALSE);
}

/**
 * rfl_a11y_fix_names:
 * @root: a widget whose descendants are to be named right
 *
 * Names the mnemonic buttons and the show-passphrase buttons under @root.
 * Call it once the widgets exist (after the template is built).
 */
void
rfl_a11y_fix_names (GtkWidget *root)
{
  g_return_if_fail (GTK_IS_WIDGET (root));

  if (GTK_IS_BUTTON (root) && gtk_button_get_use_underline (GTK_BUTTON (root)) &&
      gtk_button_get_label (GTK_BUTTON (root)) != NULL)
    {
      g_autofree char *name = strip_mnemonic (gtk_button_get_label (GTK_BUTTON (root)));

      gtk_accessible_reset_relation (GTK_ACCESSIBLE (root), GTK_ACCESSIBLE_RELATION_LABELLED_BY);
      gtk_accessible_update_property (GTK_ACCESSIBLE (root), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
    }
  else if (GTK_IS_BUTTON (root) && gtk_widget_get_ancestor (root, ADW_TYPE_PASSWORD_ENTRY_ROW) != NULL)
    gtk_accessible_update_property (GTK_ACCESSIBLE (root), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    _("Show Passphrase"), -1);
  else if (GTK_IS_TOGGLE_BUTTON (root) && gtk_widget_get_ancestor (root, GTK_TYPE_DROP_DOWN) != NULL &&
           gtk_widget_get_tooltip_text (gtk_widget_get_ancestor (root, GTK_TYPE_DROP_DOWN)) != NULL)
    gtk_accessible_update_property (GTK_ACCESSIBLE (root), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    gtk_widget_get_tooltip_text (gtk_widget_get_ancestor (root, GTK_TYPE_DROP_DOWN)),
                                    -1);

  else if (GTK_IS_LIST_BOX_ROW (root) && gtk_widget_get_ancestor (root, GTK_TYPE_STACK_SIDEBAR) != NULL &&
           GTK_IS_LABEL (gtk_list_box_row_get_child (GTK_LIST_BOX_ROW (root))))
    gtk_accessible_update_property (GTK_ACCESSIBLE (root), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                    gtk_label_get_text (GTK_LABEL (gtk_list_box_row_get_child (GTK_LIST_BOX_ROW (root)))),
                                    -1);

  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    rfl_a11y_fix_names (child);
}

/**
 * rfl_a11y_name_list_item:
 * @child: the widget a list factory made for an item, once bound
 * @name: what the row is, read as its name
 *
 * Names the row of a GtkListView (the widget the list puts around
 * @child), which GTK 4.8 leaves nameless.
 */
void
rfl_a11y_name_list_item (GtkWidget  *child,
                         const char *name)
{
  GtkWidget *row;

  g_return_if_fail (GTK_IS_WIDGET (child));

  row = gtk_widget_get_parent (child);
  if (row == NULL)
    return;
  if (name != NULL)
    gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL, name, -1);
  else
    gtk_accessible_reset_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL);
}
