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
 * - A row of a GtkListView offers no action on AT-SPI, so a screen reader
 *   cannot activate it, and Space only selects it. Rows made by the app's
 *   factories, and the rows of its drop-downs' lists, get "row.activate",
 *   on Space as well as Enter.
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

static void
row_activate_cb (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  GtkListItem *item = user_data;
  GtkWidget *child = gtk_list_item_get_child (item);
  GtkWidget *view = child != NULL ? gtk_widget_get_ancestor (child, GTK_TYPE_LIST_VIEW) : NULL;
  guint position = gtk_list_item_get_position (item);

  if (view != NULL && position != GTK_INVALID_LIST_POSITION)
    g_signal_emit_by_name (view, "activate", position);
}

/**
 * rfl_a11y_list_item_activatable:
 * @item: a list item, once bound
 *
 * Gives the row of a GtkListView that holds @item an action,
 * "row.activate", which does what Enter does: emits the list's
 * GtkListView::activate for the item's position. Screen readers offer it,
 * and Space runs it as well as Enter. Call it from the factory's bind
 * handler; a recycled row keeps what it was given once.
 */
void
rfl_a11y_list_item_activatable (GtkListItem *item)
{
  static const GActionEntry entries[] = { { "activate", row_activate_cb } };
  GtkWidget *child;
  GtkWidget *row;
  GSimpleActionGroup *group;
  GtkEventController *shortcuts;

  g_return_if_fail (GTK_IS_LIST_ITEM (item));

  child = gtk_list_item_get_child (item);
  row = child != NULL ? gtk_widget_get_parent (child) : NULL;
  if (row == NULL || g_object_get_data (G_OBJECT (row), "rfl-row-actions") != NULL)
    return;
  group = g_simple_action_group_new ();
  g_action_map_add_action_entries (G_ACTION_MAP (group), entries, G_N_ELEMENTS (entries), item);
  gtk_widget_insert_action_group (row, "row", G_ACTION_GROUP (group));
  g_object_set_data_full (G_OBJECT (row), "rfl-row-actions", group, g_object_unref);
  /* Capture: the row's own binding selects on Space, and would win. */
  shortcuts = gtk_shortcut_controller_new ();
  gtk_event_controller_set_propagation_phase (shortcuts, GTK_PHASE_CAPTURE);
  gtk_shortcut_controller_add_shortcut (GTK_SHORTCUT_CONTROLLER (shortcuts),
                                        gtk_shortcut_new (gtk_alternative_trigger_new (gtk_keyval_trigger_new (GDK_KEY_space, 0),
                                                                                       gtk_keyval_trigger_new (GDK_KEY_KP_Space, 0)),
                                                          gtk_named_action_new ("row.activate")));
  gtk_widget_add_controller (row, shortcuts);
}

static void
choice_setup_cb (GtkListItemFactory *factory,
                 GtkListItem        *item)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 6);
  GtkWidget *label = gtk_label_new (NULL);
  GtkWidget *check = gtk_image_new_from_icon_name ("object-select-symbolic");

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_set_hexpand (label, TRUE);
  gtk_accessible_update_state (GTK_ACCESSIBLE (check), GTK_ACCESSIBLE_STATE_HIDDEN, TRUE, -1);
  gtk_box_append (GTK_BOX (box), label);
  gtk_box_append (GTK_BOX (box), check);
  g_object_bind_property (item, "selected", check, "visible", G_BINDING_SYNC_CREATE);
  gtk_list_item_set_child (item, box);
}

static void
choice_bind_cb (GtkListItemFactory *factory,
                GtkListItem        *item)
{
  GtkWidget *box = gtk_list_item_get_child (item);
  GObject *choice = gtk_list_item_get_item (item);
  const char *text = GTK_IS_STRING_OBJECT (choice) ? gtk_string_object_get_string (GTK_STRING_OBJECT (choice)) : "";

  gtk_label_set_text (GTK_LABEL (gtk_widget_get_first_child (box)), text);
  rfl_a11y_name_list_item (box, text);
  rfl_a11y_list_item_activatable (item);
}

/**
 * rfl_a11y_activatable_choices:
 * @drop_down: a GtkDropDown or an AdwComboRow whose model is a GtkStringList
 *
 * Makes the rows of @drop_down's open list named and activatable by
 * Space, Enter and a screen reader (see rfl_a11y_list_item_activatable()),
 * each with a check mark on the chosen one, as before.
 */
void
rfl_a11y_activatable_choices (GtkWidget *drop_down)
{
  g_autoptr(GtkListItemFactory) factory = NULL;

  g_return_if_fail (GTK_IS_DROP_DOWN (drop_down) || ADW_IS_COMBO_ROW (drop_down));

  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (choice_setup_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (choice_bind_cb), NULL);
  g_object_set (drop_down, "list-factory", factory, NULL);
}
