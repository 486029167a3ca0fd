/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-form"

#include <glib/gi18n.h>
#include <string.h>

#include "rfl-a11y.h"
#include "rfl-record-form.h"

/*
 * A form for one record type, built from the record schema's description
 * (rfl_schema_describe()): a field added to the schema file appears here
 * with no change to this code. Strings, texts, phones and dates are entry
 * rows, enums combo rows, booleans switches, structs groups, and arrays of
 * structs a group per item with a button to add another. Dates and numbers
 * are checked as they are typed; the rest is the store's to judge on save.
 */

typedef struct _Node Node;
struct _Node
{
  JsonObject *desc;
  const char *name;
  const char *kind;
  char       *path;      /* "sought.0.given_name" */
  GtkWidget  *widget;    /* the row, or the group of an object */
  GPtrArray  *children;  /* Node *: an object's fields, or an array's items */
  GtkWidget  *container; /* an array: where items go */
  char       *person_id; /* an object filled from a saved record: its id, kept */
  Node       *parent;    /* the object or array that holds it, or NULL */
  char       *label;     /* translated, for messages: "Date of birth", "Sought 2" */
  GtkWidget  *error_row; /* shown under the row with what is wrong, in words */
  GtkTextView *text_view; /* a text (several lines): where it is typed */
  gboolean    bad;       /* what is typed does not fit the kind */
  gboolean    shown;     /* error_row shows a problem */
};

struct _RflRecordForm
{
  AdwBin               parent_instance;

  AdwPreferencesPage  *page;
  RflSchema           *schema;
  char                *type;
  char                *subtype;
  JsonArray           *fields;
  GPtrArray           *roots;   /* Node * */
  GHashTable          *by_path; /* path -> Node * (borrowed) */
  gboolean             valid;
};

G_DEFINE_FINAL_TYPE (RflRecordForm, rfl_record_form, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_VALID,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* Fields the store fills in or that a form does not edit. */
static const char * const hidden_fields[] = { "type", "id", "status", "retention_until", "closure_reason",
                                              "reopen_reason", "status_by", "by", NULL };

/* A person is found by these. */
static const char * const name_fields[] = { "given_name", "family_name", "middle_name", "alternate_names", NULL };

static void
node_free (Node *node)
{
  g_clear_pointer (&node->children, g_ptr_array_unref);
  g_free (node->person_id);
  g_free (node->label);
  g_free (node->path);
  g_free (node);
}

static void
update_valid (RflRecordForm *self)
{
  GHashTableIter iter;
  gpointer value;
  gboolean valid = TRUE;

  g_hash_table_iter_init (&iter, self->by_path);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    valid &= !((Node *) value)->bad;
  if (valid != self->valid)
    {
      self->valid = valid;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_VALID]);
    }
}

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
        return g_strdup_printf (_("%s: write a year, a year and month, or a full date, such as 2009, "
                                  "2009-04 or 2009-04-17"), node->label);
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
        return g_strdup_printf (_("%s: write a whole number from %d to %d"), node->label, (int) min, (int) max);
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
  GtkAccessible *target = GTK_ACCESSIBLE (node->text_view != NULL ? GTK_WIDGET (node->text_view) : row);

  node->shown = message != NULL;
  if (node->error_row != NULL)
    {
      gtk_label_set_text (GTK_LABEL (gtk_list_box_row_get_child (GTK_LIST_BOX_ROW (node->error_row))),
                          message != NULL ? message : "");
      gtk_widget_set_visible (node->error_row, message != NULL);
    }
  if (message != NULL)
    {
      gtk_widget_add_css_class (row, "error");
      gtk_accessible_update_state (target, GTK_ACCESSIBLE_STATE_INVALID, GTK_ACCESSIBLE_INVALID_TRUE, -1);
      gtk_accessible_update_property (target, GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, message, -1);
    }
  else
    {
      gtk_widget_remove_css_class (row, "error");
      gtk_accessible_reset_state (target, GTK_ACCESSIBLE_STATE_INVALID);
      gtk_accessible_reset_property (target, GTK_ACCESSIBLE_PROPERTY_DESCRIPTION);
    }
}

/* A row under a field, hidden until something is wrong with the field. */
static GtkWidget *
error_row_new (void)
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

static Node *name_node (Node *person);

/* What is typed in a field of text, a number or a date, without the spaces
 * around it. */
static char *
node_dup_text (Node *node)
{
  char *text;

  if (node->text_view != NULL)
    {
      GtkTextBuffer *buffer = gtk_text_view_get_buffer (node->text_view);
      GtkTextIter start, end;

      gtk_text_buffer_get_bounds (buffer, &start, &end);
      text = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
    }
  else
    text = g_strdup (gtk_editable_get_text (GTK_EDITABLE (node->widget)));
  return g_strstrip (text);
}

/* Where the focus goes, and where a screen reader hears the field's name
 * and state: the text view of a text, or the row. */
static GtkWidget *
node_focus_widget (Node *node)
{
  return node->text_view != NULL ? GTK_WIDGET (node->text_view) : node->widget;
}

static void
node_text_changed (Node *node)
{
  RflRecordForm *self = RFL_RECORD_FORM (gtk_widget_get_ancestor (node->widget, RFL_TYPE_RECORD_FORM));
  g_autofree char *text = node_dup_text (node);
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
  if (self != NULL)
    update_valid (self);
}

static void
entry_changed_cb (GtkEditable *editable,
                  gpointer     user_data)
{
  node_text_changed (user_data);
}

static void
buffer_changed_cb (GtkTextBuffer *buffer,
                   gpointer       user_data)
{
  node_text_changed (user_data);
}

/* A text of several lines (a message, a description): a row with the
 * field's title over a text view. Tab leaves it; Enter starts a new line. */
static GtkWidget *
text_row_new (Node       *node,
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

/* A field with a "when" shows only where the form's fixed values (its
 * record type and subtype) meet the condition. */
static gboolean
applies (RflRecordForm *self,
         JsonObject    *desc)
{
  JsonObject *when = json_object_has_member (desc, "when") ? json_object_get_object_member (desc, "when") : NULL;
  g_autoptr(GList) names = when != NULL ? json_object_get_members (when) : NULL;

  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonArray *allowed = json_object_get_array_member (when, l->data);
      const char *value = g_str_equal (l->data, "subtype") ? self->subtype
                          : g_str_equal (l->data, "type") ? self->type : NULL;
      gboolean found = FALSE;

      /* A condition on a field the form does not fix is the store's to check. */
      if (value == NULL && !g_str_equal (l->data, "subtype"))
        continue;
      for (guint i = 0; value != NULL && i < json_array_get_length (allowed); i++)
        found |= g_strcmp0 (json_array_get_string_element (allowed, i), value) == 0;
      if (!found)
        return FALSE;
    }
  return TRUE;
}

static Node *build_node (RflRecordForm *self, JsonObject *desc, const char *parent_path,
                         const char *name_override, AdwPreferencesGroup *group);

static void
build_fields (RflRecordForm       *self,
              Node                *parent,
              JsonArray           *fields,
              AdwPreferencesGroup *group)
{
  for (guint i = 0; i < json_array_get_length (fields); i++)
    {
      JsonObject *desc = json_array_get_object_element (fields, i);
      Node *child = build_node (self, desc, parent->path, NULL, group);

      if (child != NULL)
        {
          child->parent = parent;
          g_ptr_array_add (parent->children, child);
        }
    }
}

static void add_item (RflRecordForm *self, Node *array);

static void
add_item_clicked_cb (GtkButton *button,
                     gpointer   user_data)
{
  RflRecordForm *self = RFL_RECORD_FORM (gtk_widget_get_ancestor (GTK_WIDGET (button), RFL_TYPE_RECORD_FORM));

  add_item (self, user_data);
}

/* One more element of an array of structs: a group of its own. */
static void
add_item (RflRecordForm *self,
          Node          *array)
{
  JsonObject *items = json_object_get_object_member (array->desc, "items");
  guint index = array->children->len;
  g_autofree char *name = g_strdup_printf ("%u", index);
  g_autofree char *title = NULL, *label = NULL;
  AdwPreferencesGroup *group = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  Node *item;

  label = rfl_field_describe_label (array->desc);
  title = g_strdup_printf ("%s %u", label, index + 1);
  adw_preferences_group_set_title (group, title);
  gtk_box_append (GTK_BOX (array->container), GTK_WIDGET (group));
  item = build_node (self, items, array->path, name, group);
  item->parent = array;
  g_free (item->label);
  item->label = g_steal_pointer (&title);
  g_ptr_array_add (array->children, item);
}

static Node *
build_node (RflRecordForm       *self,
            JsonObject          *desc,
            const char          *parent_path,
            const char          *name_override,
            AdwPreferencesGroup *group)
{
  const char *name = name_override != NULL ? name_override : json_object_get_string_member (desc, "name");
  const char *kind = json_object_get_string_member (desc, "kind");
  gboolean required = json_object_get_boolean_member_with_default (desc, "required", FALSE);
  g_autofree char *label = rfl_field_describe_label (desc);
  g_autofree char *title = required && name_override == NULL ? g_strdup_printf ("%s *", label) : g_strdup (label);
  Node *node;

  if (parent_path == NULL && (g_strv_contains (hidden_fields, name) ||
                              (self->subtype != NULL && g_str_equal (name, "subtype")) ||
                              !applies (self, desc)))
    return NULL;
  if (g_str_equal (kind, "id") || g_str_equal (kind, "status") || g_str_equal (kind, "record_ref"))
    return NULL;

  node = g_new0 (Node, 1);
  node->desc = desc;
  node->name = name;
  node->kind = kind;
  node->path = parent_path != NULL ? g_strconcat (parent_path, ".", name, NULL) : g_strdup (name);
  node->label = g_strdup (label);

  if (g_str_equal (kind, "object"))
    {
      JsonArray *fields = json_object_get_array_member (desc, "fields");

      node->children = g_ptr_array_new_with_free_func ((GDestroyNotify) node_free);
      if (name_override == NULL)
        {
          /* A struct of its own: a group of its own. */
          group = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
          adw_preferences_group_set_title (group, title);
          adw_preferences_page_add (self->page, group);
        }
      node->widget = GTK_WIDGET (group);
      if (fields != NULL)
        build_fields (self, node, fields, group);
    }
  else if (g_str_equal (kind, "array") &&
           g_strcmp0 (json_object_get_string_member_with_default (
                        json_object_get_object_member (desc, "items"), "kind", NULL), "object") == 0)
    {
      AdwPreferencesGroup *outer = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
      GtkWidget *add = gtk_button_new_with_label (_("Add Another"));
      g_autofree char *add_label = g_strdup_printf (_("Add another: %s"), label);

      node->children = g_ptr_array_new_with_free_func ((GDestroyNotify) node_free);
      node->container = gtk_box_new (GTK_ORIENTATION_VERTICAL, 18);
      adw_preferences_group_set_title (outer, title);
      gtk_widget_add_css_class (add, "flat");
      gtk_accessible_update_property (GTK_ACCESSIBLE (add), GTK_ACCESSIBLE_PROPERTY_LABEL, add_label, -1);
      adw_preferences_group_set_header_suffix (outer, add);
      adw_preferences_group_add (outer, node->container);
      adw_preferences_page_add (self->page, outer);
      node->widget = GTK_WIDGET (outer);
      g_signal_connect (add, "clicked", G_CALLBACK (add_item_clicked_cb), node);
      g_hash_table_insert (self->by_path, node->path, node);
      add_item (self, node);
      return node;
    }
  else if (g_str_equal (kind, "enum"))
    {
      JsonArray *values = json_object_get_array_member (desc, "values");
      GtkStringList *list = gtk_string_list_new (NULL);
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
      g_object_unref (list);
      if (fallback != NULL)
        for (guint i = 0; i < json_array_get_length (values); i++)
          if (g_str_equal (fallback, json_array_get_string_element (values, i)))
            adw_combo_row_set_selected (row, i + 1);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      node->widget = GTK_WIDGET (row);
      adw_preferences_group_add (group, node->widget);
    }
  else if (g_str_equal (kind, "boolean"))
    {
      AdwActionRow *row = ADW_ACTION_ROW (adw_action_row_new ());
      GtkWidget *toggle = gtk_switch_new ();

      gtk_widget_set_valign (toggle, GTK_ALIGN_CENTER);
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      adw_action_row_add_suffix (row, toggle);
      adw_action_row_set_activatable_widget (row, toggle);
      rfl_a11y_name_switch (toggle, label);
      node->widget = GTK_WIDGET (row);
      g_object_set_data (G_OBJECT (row), "rfl-switch", toggle);
      adw_preferences_group_add (group, node->widget);
    }
  else if (g_str_equal (kind, "text"))
    {
      node->widget = text_row_new (node, title);
      adw_preferences_group_add (group, node->widget);
    }
  else
    {
      /* Strings, phones, dates, numbers, and arrays of strings
       * (comma-separated). */
      AdwEntryRow *row = ADW_ENTRY_ROW (adw_entry_row_new ());
      const char *hint = entry_hint (kind);

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
      if (g_str_equal (kind, "array"))
        gtk_widget_set_tooltip_text (GTK_WIDGET (row), _("Separate several with commas"));
      else if (hint != NULL)
        gtk_widget_set_tooltip_text (GTK_WIDGET (row), hint);
      if (g_str_equal (kind, "integer"))
        gtk_editable_set_width_chars (GTK_EDITABLE (row), 4);
      node->widget = GTK_WIDGET (row);
      g_signal_connect (row, "changed", G_CALLBACK (entry_changed_cb), node);
      adw_preferences_group_add (group, node->widget);
    }
  /* Rows: the accessible name without the "*", the required state instead;
   * and a place under the row to say what is wrong with it. */
  if (ADW_IS_PREFERENCES_ROW (node->widget))
    {
      GtkWidget *target = node_focus_widget (node);

      gtk_accessible_reset_relation (GTK_ACCESSIBLE (target), GTK_ACCESSIBLE_RELATION_LABELLED_BY);
      gtk_accessible_update_property (GTK_ACCESSIBLE (target), GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                      GTK_ACCESSIBLE_PROPERTY_REQUIRED, required, -1);
      node->error_row = error_row_new ();
      adw_preferences_group_add (group, node->error_row);
    }
  g_hash_table_insert (self->by_path, node->path, node);
  return node;
}

static JsonNode *
collect (Node *node)
{
  if (node->children != NULL && node->container == NULL)
    {
      g_autoptr(JsonObject) obj = json_object_new ();

      for (guint i = 0; i < node->children->len; i++)
        {
          Node *child = g_ptr_array_index (node->children, i);
          JsonNode *value = collect (child);

          if (value != NULL)
            json_object_set_member (obj, child->name, value);
        }
      if (json_object_get_size (obj) == 0)
        return NULL;
      /* A person keeps the id that matching and sync know it by. */
      if (node->person_id != NULL)
        json_object_set_string_member (obj, "id", node->person_id);
      return json_node_init_object (json_node_alloc (), obj);
    }
  if (node->container != NULL)
    {
      g_autoptr(JsonArray) array = json_array_new ();

      for (guint i = 0; i < node->children->len; i++)
        {
          JsonNode *value = collect (g_ptr_array_index (node->children, i));

          if (value != NULL)
            json_array_add_element (array, value);
        }
      return json_array_get_length (array) > 0 ? json_node_init_array (json_node_alloc (), array) : NULL;
    }
  if (ADW_IS_COMBO_ROW (node->widget))
    {
      guint i = adw_combo_row_get_selected (ADW_COMBO_ROW (node->widget));
      JsonArray *values = json_object_get_array_member (node->desc, "values");

      if (i == 0 || i == GTK_INVALID_LIST_POSITION || i > json_array_get_length (values))
        return NULL;
      return json_node_init_string (json_node_alloc (), json_array_get_string_element (values, i - 1));
    }
  if (g_str_equal (node->kind, "boolean"))
    {
      GtkSwitch *toggle = g_object_get_data (G_OBJECT (node->widget), "rfl-switch");

      return json_node_init_boolean (json_node_alloc (), gtk_switch_get_active (toggle));
    }
  {
    g_autofree char *text = node_dup_text (node);

    if (text[0] == '\0')
      return NULL;
    if (g_str_equal (node->kind, "integer"))
      return json_node_init_int (json_node_alloc (), g_ascii_strtoll (text, NULL, 10));
    if (g_str_equal (node->kind, "array"))
      {
        g_auto(GStrv) parts = g_strsplit (text, ",", -1);
        g_autoptr(JsonArray) array = json_array_new ();

        for (guint i = 0; parts[i] != NULL; i++)
          if (*g_strstrip (parts[i]) != '\0')
            json_array_add_string_element (array, parts[i]);
        return json_array_get_length (array) > 0 ? json_node_init_array (json_node_alloc (), array) : NULL;
      }
    return json_node_init_string (json_node_alloc (), text);
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
      g_autoptr(JsonNode) value = child != NULL ? collect (child) : NULL;

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
    return node->parent->children->len > 0 && g_ptr_array_index (node->parent->children, 0) == node &&
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

/* Checks a field and what it holds, says at each field what is wrong, and
 * keeps the first such field in @first. */
static void
check_node (Node  *node,
            Node **first)
{
  if (node->container != NULL || node->children != NULL)
    {
      Node *names = node->container == NULL ? name_node (node) : NULL;
      g_autoptr(JsonNode) value = NULL;

      for (guint i = 0; i < node->children->len; i++)
        check_node (g_ptr_array_index (node->children, i), first);
      if (names == NULL || names->bad)
        return;
      value = collect (node);
      /* A person, if required or begun, needs a name to be found by. */
      if ((node_required (node) || value != NULL) && !person_has_name (node))
        /* Translators: %s is who the form asks about: "Enquirer", "Sought 2". */
        note_problem (names, g_strdup_printf (_("%s: a given name or a family name is needed"), node->label),
                      first);
      return;
    }
  if (ADW_IS_COMBO_ROW (node->widget))
    {
      gboolean missing = node_required (node) && adw_combo_row_get_selected (ADW_COMBO_ROW (node->widget)) == 0;

      /* Translators: %s is a field's label. */
      note_problem (node, missing ? g_strdup_printf (_("%s: choose one"), node->label) : NULL, first);
    }
  else if (GTK_IS_EDITABLE (node->widget) || node->text_view != NULL)
    {
      g_autofree char *text = node_dup_text (node);
      char *problem = text_problem (node, text);

      if (problem == NULL && *text == '\0' && node_required (node))
        /* Translators: %s is a field's label. */
        problem = g_strdup_printf (_("%s: this is needed"), node->label);
      note_problem (node, problem, first);
    }
}

static void
fill (RflRecordForm *self,
      Node          *node,
      JsonNode      *value)
{
  if (node->children != NULL && node->container == NULL)
    {
      JsonObject *obj = value != NULL && JSON_NODE_HOLDS_OBJECT (value) ? json_node_get_object (value) : NULL;

      g_clear_pointer (&node->person_id, g_free);
      if (obj != NULL && json_object_has_member (obj, "id"))
        node->person_id = g_strdup (json_object_get_string_member_with_default (obj, "id", NULL));
      for (guint i = 0; i < node->children->len; i++)
        {
          Node *child = g_ptr_array_index (node->children, i);

          fill (self, child, obj != NULL ? json_object_get_member (obj, child->name) : NULL);
        }
      return;
    }
  if (node->container != NULL)
    {
      JsonArray *array = value != NULL && JSON_NODE_HOLDS_ARRAY (value) ? json_node_get_array (value) : NULL;
      guint n = array != NULL ? json_array_get_length (array) : 0;

      while (node->children->len < n)
        add_item (self, node);
      for (guint i = 0; i < node->children->len; i++)
        fill (self, g_ptr_array_index (node->children, i), i < n ? json_array_get_element (array, i) : NULL);
      return;
    }
  if (ADW_IS_COMBO_ROW (node->widget))
    {
      JsonArray *values = json_object_get_array_member (node->desc, "values");
      const char *text = value != NULL && JSON_NODE_HOLDS_VALUE (value) ? json_node_get_string (value) : NULL;
      guint selected = 0;

      for (guint i = 0; text != NULL && i < json_array_get_length (values); i++)
        if (g_str_equal (text, json_array_get_string_element (values, i)))
          selected = i + 1;
      adw_combo_row_set_selected (ADW_COMBO_ROW (node->widget), selected);
      return;
    }
  if (g_str_equal (node->kind, "boolean"))
    {
      GtkSwitch *toggle = g_object_get_data (G_OBJECT (node->widget), "rfl-switch");

      gtk_switch_set_active (toggle, value != NULL && JSON_NODE_HOLDS_VALUE (value) &&
                                     json_node_get_boolean (value));
      return;
    }
  {
    g_autofree char *text = NULL;

    if (value == NULL || JSON_NODE_HOLDS_NULL (value))
      text = g_strdup ("");
    else if (JSON_NODE_HOLDS_ARRAY (value))
      {
        JsonArray *array = json_node_get_array (value);
        g_autoptr(GStrvBuilder) parts = g_strv_builder_new ();
        g_auto(GStrv) strv = NULL;

        for (guint i = 0; i < json_array_get_length (array); i++)
          {
            const char *part = json_node_get_string (json_array_get_element (array, i));

            if (part != NULL)
              g_strv_builder_add (parts, part);
          }
        strv = g_strv_builder_end (parts);
        text = g_strjoinv (", ", strv);
      }
    else if (json_node_get_value_type (value) == G_TYPE_INT64)
      text = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (value));
    else
      text = g_strdup (json_node_get_string (value) != NULL ? json_node_get_string (value) : "");
    if (node->text_view != NULL)
      gtk_text_buffer_set_text (gtk_text_view_get_buffer (node->text_view), text, -1);
    else
      gtk_editable_set_text (GTK_EDITABLE (node->widget), text);
  }
}

static void
rfl_record_form_dispose (GObject *object)
{
  RflRecordForm *self = RFL_RECORD_FORM (object);

  adw_bin_set_child (ADW_BIN (self), NULL);
  g_clear_pointer (&self->by_path, g_hash_table_unref);
  g_clear_pointer (&self->roots, g_ptr_array_unref);
  g_clear_pointer (&self->fields, json_array_unref);
  g_clear_object (&self->schema);
  G_OBJECT_CLASS (rfl_record_form_parent_class)->dispose (object);
}

static void
rfl_record_form_finalize (GObject *object)
{
  RflRecordForm *self = RFL_RECORD_FORM (object);

  g_free (self->type);
  g_free (self->subtype);
  G_OBJECT_CLASS (rfl_record_form_parent_class)->finalize (object);
}

static void
rfl_record_form_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  RflRecordForm *self = RFL_RECORD_FORM (object);

  switch (prop_id)
    {
    case PROP_VALID:
      g_value_set_boolean (value, self->valid);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_record_form_class_init (RflRecordFormClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rfl_record_form_dispose;
  object_class->finalize = rfl_record_form_finalize;
  object_class->get_property = rfl_record_form_get_property;

  properties[PROP_VALID] =
    g_param_spec_boolean ("valid", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
rfl_record_form_init (RflRecordForm *self)
{
  self->valid = TRUE;
  self->page = ADW_PREFERENCES_PAGE (adw_preferences_page_new ());
  adw_bin_set_child (ADW_BIN (self), GTK_WIDGET (self->page));
  self->roots = g_ptr_array_new_with_free_func ((GDestroyNotify) node_free);
  self->by_path = g_hash_table_new (g_str_hash, g_str_equal);
}

/**
 * rfl_record_form_new:
 * @schema: the record schema
 * @type: a record type of @schema
 * @subtype: (nullable): for a registration, which kind; the form then does
 *   not ask
 *
 * Returns: (transfer floating): the form
 */
GtkWidget *
rfl_record_form_new (RflSchema  *schema,
                     const char *type,
                     const char *subtype)
{
  RflRecordForm *self;
  AdwPreferencesGroup *general;

  g_return_val_if_fail (RFL_IS_SCHEMA (schema), NULL);
  g_return_val_if_fail (type != NULL, NULL);

  self = g_object_new (RFL_TYPE_RECORD_FORM, NULL);
  self->schema = g_object_ref (schema);
  self->type = g_strdup (type);
  self->subtype = g_strdup (subtype);
  self->fields = rfl_schema_describe (schema, type);
  g_return_val_if_fail (self->fields != NULL, GTK_WIDGET (self));

  /* Plain fields of the record itself go in one group, first. */
  general = ADW_PREFERENCES_GROUP (adw_preferences_group_new ());
  adw_preferences_page_add (self->page, general);
  for (guint i = 0; i < json_array_get_length (self->fields); i++)
    {
      Node *node = build_node (self, json_array_get_object_element (self->fields, i), NULL, NULL, general);

      if (node != NULL)
        g_ptr_array_add (self->roots, node);
    }
  return GTK_WIDGET (self);
}

const char *
rfl_record_form_get_record_type (RflRecordForm *self)
{
  g_return_val_if_fail (RFL_IS_RECORD_FORM (self), NULL);

  return self->type;
}

/**
 * rfl_record_form_get_valid:
 *
 * Returns: whether everything typed fits its kind (dates, numbers); the
 *   store still checks what is required
 */
gboolean
rfl_record_form_get_valid (RflRecordForm *self)
{
  g_return_val_if_fail (RFL_IS_RECORD_FORM (self), FALSE);

  return self->valid;
}

/**
 * rfl_record_form_dup_record:
 *
 * Returns: (transfer full): the record as filled in, with its type (and
 *   subtype); empty fields are left out
 */
JsonObject *
rfl_record_form_dup_record (RflRecordForm *self)
{
  JsonObject *record;

  g_return_val_if_fail (RFL_IS_RECORD_FORM (self), NULL);

  record = json_object_new ();
  json_object_set_string_member (record, "type", self->type);
  if (self->subtype != NULL)
    json_object_set_string_member (record, "subtype", self->subtype);
  for (guint i = 0; i < self->roots->len; i++)
    {
      Node *node = g_ptr_array_index (self->roots, i);
      JsonNode *value = collect (node);

      if (value != NULL)
        json_object_set_member (record, node->name, value);
    }
  return record;
}

/**
 * rfl_record_form_get_field:
 * @path: a field's path: "enquirer.family_name", "sought.0.given_name"
 *
 * Returns: (transfer none) (nullable): the row that edits the field
 */
GtkWidget *
rfl_record_form_get_field (RflRecordForm *self,
                           const char    *path)
{
  Node *node;

  g_return_val_if_fail (RFL_IS_RECORD_FORM (self), NULL);

  node = g_hash_table_lookup (self->by_path, path);
  return node != NULL ? node->widget : NULL;
}

/**
 * rfl_record_form_add_item:
 * @array: the path of an array of structs ("sought")
 *
 * Adds an empty element, as the "Add Another" button does.
 */
void
rfl_record_form_add_item (RflRecordForm *self,
                          const char    *array)
{
  Node *node;

  g_return_if_fail (RFL_IS_RECORD_FORM (self));

  node = g_hash_table_lookup (self->by_path, array);
  g_return_if_fail (node != NULL && node->container != NULL);
  add_item (self, node);
}

/**
 * rfl_record_form_set_record:
 * @record: a saved record, as rfl_store_get() returns it
 *
 * Fills the form with @record, to edit it. The persons keep their ids.
 */
void
rfl_record_form_set_record (RflRecordForm *self,
                            JsonObject    *record)
{
  g_return_if_fail (RFL_IS_RECORD_FORM (self));
  g_return_if_fail (record != NULL);

  for (guint i = 0; i < self->roots->len; i++)
    {
      Node *node = g_ptr_array_index (self->roots, i);

      fill (self, node, json_object_get_member (record, node->name));
    }
}

/**
 * rfl_record_form_dup_patch:
 * @original: the record the form was filled with
 *
 * Returns: (transfer full): a merge patch of the fields the form edits:
 *   what is filled in, and %NULL for what was emptied. The store leaves
 *   unchanged fields alone.
 */
JsonObject *
rfl_record_form_dup_patch (RflRecordForm *self,
                           JsonObject    *original)
{
  JsonObject *patch;

  g_return_val_if_fail (RFL_IS_RECORD_FORM (self), NULL);
  g_return_val_if_fail (original != NULL, NULL);

  patch = json_object_new ();
  for (guint i = 0; i < self->roots->len; i++)
    {
      Node *node = g_ptr_array_index (self->roots, i);
      JsonNode *value = collect (node);

      if (value != NULL)
        json_object_set_member (patch, node->name, value);
      else if (json_object_has_member (original, node->name))
        json_object_set_null_member (patch, node->name);
    }
  return patch;
}

/**
 * rfl_record_form_check:
 *
 * Checks the whole form as saving needs it: what is required is there, a
 * person has a name, dates and numbers fit. Each problem is shown under its
 * field as a sentence that names the field, and marked invalid for
 * assistive technologies; the first such field gets the focus.
 *
 * Returns: (transfer none) (nullable): the first field with a problem, or
 *   %NULL when the form can be saved
 */
GtkWidget *
rfl_record_form_check (RflRecordForm *self)
{
  Node *first = NULL;

  g_return_val_if_fail (RFL_IS_RECORD_FORM (self), NULL);

  for (guint i = 0; i < self->roots->len; i++)
    check_node (g_ptr_array_index (self->roots, i), &first);
  if (first == NULL)
    return NULL;
  gtk_widget_grab_focus (node_focus_widget (first));
  return node_focus_widget (first);
}

/**
 * rfl_record_form_dup_problem:
 * @path: a field's path
 *
 * Returns: (transfer full) (nullable): what is shown as wrong with the field
 */
char *
rfl_record_form_dup_problem (RflRecordForm *self,
                             const char    *path)
{
  Node *node;

  g_return_val_if_fail (RFL_IS_RECORD_FORM (self), NULL);

  node = g_hash_table_lookup (self->by_path, path);
  if (node == NULL || !node->shown || node->error_row == NULL)
    return NULL;
  return g_strdup (gtk_label_get_text (GTK_LABEL (gtk_list_box_row_get_child (GTK_LIST_BOX_ROW (node->error_row)))));
}
