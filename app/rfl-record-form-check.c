/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-form"

#include <glib/gi18n.h>

#include "rfl-record-form-private.h"

/*
 * What is wrong with a field of the form, said under it in a sentence that
 * names the field and told to assistive technologies: dates and numbers as
 * they are typed, and on save what is required and whether each person has
 * a name to be found by. Apart from the form's tree, so that the rules a
 * volunteer sees can be read in one place.
 */

/* A person is found by these. */
static const char * const name_fields[] = {
  "given_name", "family_name", "middle_name", "alternate_names", NULL
};

static char *
today (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();

  return g_date_time_format (now, "%Y-%m-%d");
}

/* What is wrong with what is typed in a field, as a sentence that names the
 * field; NULL if it fits. Empty fields fit: what is required is checked on
 * save. */
static char *
text_problem (Node       *node,
              const char *text)
{
  if (*text == '\0')
    return NULL;
  if (g_str_equal (node->kind, "partial_date") || g_str_equal (node->kind, "date"))
    {
      g_autofree char *now = today ();

      if (g_str_equal (node->kind, "partial_date") && !rfl_schema_is_partial_date (text))
        /* Translators: %s is a field's label, such as "Date of birth". */
        return g_strdup_printf (_("%s: write a year, a year and month, or a full date, "
                                  "such as 2009, 2009-04 or 2009-04-17"), node->label);
      if (g_str_equal (node->kind, "date") && !rfl_schema_is_date (text))
        return g_strdup_printf (_("%s: write a full date, such as 2031-12-31"), node->label);
      if (json_object_get_boolean_member_with_default (node->desc, "past", FALSE) &&
          rfl_schema_is_future_date (text, now))
        return g_strdup_printf (_("%s: this date is in the future"), node->label);
      return NULL;
    }
  if (g_str_equal (node->kind, "integer"))
    {
      gint64 min = json_object_get_int_member_with_default (node->desc, "min", 0);
      gint64 max = json_object_get_int_member_with_default (node->desc, "max", G_MAXINT32);
      gint64 n;

      if (!g_ascii_string_to_signed (text, 10, min, max, &n, NULL))
        return g_strdup_printf (_("%s: write a whole number from %d to %d"), node->label,
                                (int) min, (int) max);
    }
  return NULL;
}

/* Shows @message under the field and tells assistive technologies that the
 * field is invalid and why; a NULL @message clears all of it. */
static void
show_problem (Node       *node,
              const char *message)
{
  GtkWidget *row = node->widget;
  /* A text says so on its text view, where the focus is. */
  GtkAccessible *target = GTK_ACCESSIBLE (_rfl_record_form_node_focus_widget (node));

  node->shown = message != NULL;
  if (node->error_row != NULL)
    {
      GtkWidget *label = gtk_list_box_row_get_child (GTK_LIST_BOX_ROW (node->error_row));

      gtk_label_set_text (GTK_LABEL (label), message != NULL ? message : "");
      gtk_widget_set_visible (node->error_row, message != NULL);
    }
  if (message != NULL)
    {
      gtk_widget_add_css_class (row, "error");
      gtk_accessible_update_state (target,
                                   GTK_ACCESSIBLE_STATE_INVALID, GTK_ACCESSIBLE_INVALID_TRUE, -1);
      gtk_accessible_update_property (target, GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, message,
                                      -1);
    }
  else
    {
      gtk_widget_remove_css_class (row, "error");
      gtk_accessible_reset_state (target, GTK_ACCESSIBLE_STATE_INVALID);
      gtk_accessible_reset_property (target, GTK_ACCESSIBLE_PROPERTY_DESCRIPTION);
    }
}

static Node *
child_named (Node       *node,
             const char *name)
{
  for (guint i = 0; node->children != NULL && i < node->children->len; i++)
    {
      Node *child = g_ptr_array_index (node->children, i);

      if (g_strcmp0 (child->name, name) == 0)
        return child;
    }
  return NULL;
}

/* Where a person's "a name is needed" is shown: its first name field. */
static Node *
name_node (Node *person)
{
  for (guint i = 0; name_fields[i] != NULL; i++)
    {
      Node *child = child_named (person, name_fields[i]);

      if (child != NULL)
        return child;
    }
  return NULL;
}

static gboolean
person_has_name (Node *person)
{
  for (guint i = 0; name_fields[i] != NULL; i++)
    {
      Node *child = child_named (person, name_fields[i]);
      g_autoptr(JsonNode) value = child != NULL ? _rfl_record_form_collect (child) : NULL;

      if (value != NULL)
        return TRUE;
    }
  return FALSE;
}

static gboolean
node_required (Node *node)
{
  if (node->parent != NULL && node->parent->container != NULL)
    /* The first element of a required list is required. */
    return node->parent->children->len > 0 &&
           g_ptr_array_index (node->parent->children, 0) == node &&
           json_object_get_boolean_member_with_default (node->parent->desc, "required", FALSE);
  return json_object_get_boolean_member_with_default (node->desc, "required", FALSE);
}

static void
note_problem (Node        *node,
              char        *message,
              Node       **first)
{
  show_problem (node, message);
  if (message != NULL && *first == NULL)
    *first = node;
  g_free (message);
}

/* Called as a field of text, a number or a date is typed in. */
void
_rfl_record_form_node_changed (Node *node)
{
  GtkWidget *form = gtk_widget_get_ancestor (node->widget, RFL_TYPE_RECORD_FORM);
  g_autofree char *text = _rfl_record_form_node_dup_text (node);
  g_autofree char *problem = text_problem (node, text);

  /* A format error shows as it is typed; a problem that saving found goes
   * away as soon as the field is put right. */
  node->bad = problem != NULL;
  if (problem != NULL || node->shown)
    show_problem (node, problem);
  /* A person's "a name is needed" sits on its first name field: any name
   * typed puts it right. */
  if (*text != '\0' && node->parent != NULL && g_strv_contains (name_fields, node->name))
    {
      Node *names = name_node (node->parent);

      if (names != node && names->shown && !names->bad)
        show_problem (names, NULL);
    }
  if (form != NULL)
    _rfl_record_form_update_valid (RFL_RECORD_FORM (form));
}

/* Checks a field and what it holds, says at each field what is wrong, and
 * keeps the first such field in @first. */
void
_rfl_record_form_check_node (Node  *node,
                             Node **first)
{
  if (node->container != NULL || node->children != NULL)
    {
      Node *names = node->container == NULL ? name_node (node) : NULL;
      g_autoptr(JsonNode) value = NULL;

      for (guint i = 0; i < node->children->len; i++)
        _rfl_record_form_check_node (g_ptr_array_index (node->children, i), first);
      if (names == NULL || names->bad)
        return;
      value = _rfl_record_form_collect (node);
      /* A person, if required or begun, needs a name to be found by. */
      if ((node_required (node) || value != NULL) && !person_has_name (node))
        /* Translators: %s is who the form asks about: "Enquirer", "Sought 2". */
        note_problem (names, g_strdup_printf (_("%s: a given name or a family name is needed"),
                                              node->label), first);
      return;
    }
  if (ADW_IS_COMBO_ROW (node->widget))
    {
      gboolean missing = node_required (node) &&
                         adw_combo_row_get_selected (ADW_COMBO_ROW (node->widget)) == 0;

      /* Translators: %s is a field's label. */
      note_problem (node, missing ? g_strdup_printf (_("%s: choose one"), node->label) : NULL,
                    first);
    }
  else if (GTK_IS_EDITABLE (node->widget) || node->text_view != NULL)
    {
      g_autofree char *text = _rfl_record_form_node_dup_text (node);
      char *problem = text_problem (node, text);

      if (problem == NULL && *text == '\0' && node_required (node))
        /* Translators: %s is a field's label. */
        problem = g_strdup_printf (_("%s: this is needed"), node->label);
      note_problem (node, problem, first);
    }
}
