/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-form"

#include <glib/gi18n.h>

#include "rfl-a11y.h"
#include "rfl-record-form-private.h"

/*
 * The row each kind of field is edited in: an entry row for strings,
 * phones, dates, numbers and lists of strings, a text view for a text of
 * several lines, a combo row for an enum, a switch for a yes or no; and
 * under each, the row that says what is wrong with it. Apart from the form,
 * which decides where the rows go, so that how one kind of field looks and
 * reads to a screen reader can be changed in one place.
 */

static void
entry_changed_cb (GtkEditable *editable,
                  gpointer     user_data)
{
  _rfl_record_form_node_changed (user_data);
}

static void
buffer_changed_cb (GtkTextBuffer *buffer,
                   gpointer       user_data)
{
  _rfl_record_form_node_changed (user_data);
}

static const char *
entry_hint (const char *kind)
{
  if (g_str_equal (kind, "partial_date"))
    return _("Year, year and month, or a full date: 2009, 2009-04, 2009-04-17");
  if (g_str_equal (kind, "date"))
    return _("A full date: 2031-12-31");
  if (g_str_equal (kind, "phone"))
    return _("With the country code: +256 700 000000");
  return NULL;
}

/* An enum: "Not given" first, then the schema's values, on the schema's
 * default if it has one. */
GtkWidget *
_rfl_record_form_choice_row_new (JsonObject *desc,
                                 const char *title)
{
  JsonArray *values = json_object_get_array_member (desc, "values");
  g_autoptr(GtkStringList) list = gtk_string_list_new (NULL);
  AdwComboRow *row = ADW_COMBO_ROW (adw_combo_row_new ());
  const char *fallback = json_object_get_string_member_with_default (desc, "default", NULL);

  rfl_a11y_activatable_choices (GTK_WIDGET (row));
  gtk_string_list_append (list, _("Not given"));
  for (guint i = 0; i < json_array_get_length (values); i++)
    {
      g_autofree char *value_label = rfl_field_label (json_array_get_string_element (values, i));

      gtk_string_list_append (list, value_label);
    }
  adw_combo_row_set_model (row, G_LIST_MODEL (list));
  if (fallback != NULL)
    for (guint i = 0; i < json_array_get_length (values); i++)
      if (g_str_equal (fallback, json_array_get_string_element (values, i)))
        adw_combo_row_set_selected (row, i + 1);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  return GTK_WIDGET (row);
}

/* A yes or no: a switch, named @label for screen readers and kept on the
 * row as "rfl-switch". */
GtkWidget *
_rfl_record_form_switch_row_new (const char *title,
                                 const char *label)
{
  AdwActionRow *row = ADW_ACTION_ROW (adw_action_row_new ());
  GtkWidget *toggle = gtk_switch_new ();

  gtk_widget_set_valign (toggle, GTK_ALIGN_CENTER);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_add_suffix (row, toggle);
  adw_action_row_set_activatable_widget (row, toggle);
  rfl_a11y_name_switch (toggle, label);
  g_object_set_data (G_OBJECT (row), "rfl-switch", toggle);
  return GTK_WIDGET (row);
}

/* A text of several lines (a message, a description): a row with the
 * field's title over a text view. Tab leaves it; Enter starts a new line. */
GtkWidget *
_rfl_record_form_text_row_new (Node       *node,
                               const char *title)
{
  GtkWidget *row = adw_preferences_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  GtkWidget *heading = gtk_label_new (title);
  GtkWidget *frame = gtk_frame_new (NULL);
  GtkWidget *view = gtk_text_view_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_widget_set_focusable (row, FALSE);
  gtk_label_set_xalign (GTK_LABEL (heading), 0);
  gtk_widget_add_css_class (heading, "dim-label");
  gtk_widget_add_css_class (heading, "caption");
  gtk_text_view_set_wrap_mode (GTK_TEXT_VIEW (view), GTK_WRAP_WORD_CHAR);
  gtk_text_view_set_accepts_tab (GTK_TEXT_VIEW (view), FALSE);
  gtk_text_view_set_top_margin (GTK_TEXT_VIEW (view), 6);
  gtk_text_view_set_bottom_margin (GTK_TEXT_VIEW (view), 6);
  gtk_text_view_set_left_margin (GTK_TEXT_VIEW (view), 6);
  gtk_text_view_set_right_margin (GTK_TEXT_VIEW (view), 6);
  gtk_widget_set_size_request (view, -1, 96);
  gtk_frame_set_child (GTK_FRAME (frame), view);
  gtk_box_append (GTK_BOX (box), heading);
  gtk_box_append (GTK_BOX (box), frame);
  gtk_widget_set_margin_start (box, 12);
  gtk_widget_set_margin_end (box, 12);
  gtk_widget_set_margin_top (box, 8);
  gtk_widget_set_margin_bottom (box, 12);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  node->text_view = GTK_TEXT_VIEW (view);
  g_signal_connect (gtk_text_view_get_buffer (GTK_TEXT_VIEW (view)), "changed",
                    G_CALLBACK (buffer_changed_cb), node);
  return row;
}

/* Strings, phones, dates, numbers, and arrays of strings (comma-separated):
 * an entry row, with a hint at the format, checked as it is typed. */
GtkWidget *
_rfl_record_form_entry_row_new (Node       *node,
                                const char *title)
{
  AdwEntryRow *row = ADW_ENTRY_ROW (adw_entry_row_new ());
  const char *hint = entry_hint (node->kind);

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  if (g_str_equal (node->kind, "array"))
    gtk_widget_set_tooltip_text (GTK_WIDGET (row), _("Separate several with commas"));
  else if (hint != NULL)
    gtk_widget_set_tooltip_text (GTK_WIDGET (row), hint);
  if (g_str_equal (node->kind, "integer"))
    gtk_editable_set_width_chars (GTK_EDITABLE (row), 4);
  g_signal_connect (row, "changed", G_CALLBACK (entry_changed_cb), node);
  return GTK_WIDGET (row);
}

/* A row under a field, hidden until something is wrong with the field. */
GtkWidget *
_rfl_record_form_error_row_new (void)
{
  GtkWidget *label = gtk_label_new (NULL);
  /* A preferences row, so that the group puts it in its list, under the
   * field, and not below the whole list. */
  GtkWidget *row = adw_preferences_row_new ();

  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_widget_add_css_class (label, "error");
  gtk_widget_set_margin_start (label, 12);
  gtk_widget_set_margin_end (label, 12);
  gtk_widget_set_margin_top (label, 6);
  gtk_widget_set_margin_bottom (label, 6);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), label);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_list_box_row_set_selectable (GTK_LIST_BOX_ROW (row), FALSE);
  gtk_widget_set_focusable (row, FALSE);
  gtk_widget_set_visible (row, FALSE);
  return row;
}
