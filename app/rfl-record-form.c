/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-form"

#include <glib/gi18n.h>
#include <string.h>

#include "rfl-record-form-private.h"

/*
 * A form for one record type, built from the record schema's description
 * (rfl_schema_describe()): a field added to the schema file appears here
 * with no change to this code. Strings, texts, phones and dates are entry
 * rows, enums combo rows, booleans switches, structs groups, and arrays of
 * structs a group per item with a button to add another. Dates and numbers
 * are checked as they are typed; the rest is the store's to judge on save.
 */

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
                                              "reopen_reason", "status_by", "by", "merged", "merged_into",
                                              "status_before_merge", NULL };

static void
node_free (Node *node)
{
  g_clear_pointer (&node->children, g_ptr_array_unref);
  g_free (node->person_id);
  g_free (node->label);
  g_free (node->path);
  g_free (node);
}

/* Whether everything typed fits its kind, told as "valid" when it changes. */
void
_rfl_record_form_update_valid (RflRecordForm *self)
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

/* What is typed in a field of text, a number or a date, without the spaces
 * around it. */
char *
_rfl_record_form_node_dup_text (Node *node)
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
GtkWidget *
_rfl_record_form_node_focus_widget (Node *node)
{
  return node->text_view != NULL ? GTK_WIDGET (node->text_view) : node->widget;
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
    node->widget = _rfl_record_form_choice_row_new (desc, title);
  else if (g_str_equal (kind, "boolean"))
    node->widget = _rfl_record_form_switch_row_new (title, label);
  else if (g_str_equal (kind, "text"))
    node->widget = _rfl_record_form_text_row_new (node, title);
  else
    node->widget = _rfl_record_form_entry_row_new (node, title);
  /* Rows: the accessible name without the "*", the required state instead;
   * and a place under the row to say what is wrong with it. */
  if (ADW_IS_PREFERENCES_ROW (node->widget))
    {
      GtkWidget *target = _rfl_record_form_node_focus_widget (node);

      adw_preferences_group_add (group, node->widget);
      gtk_accessible_reset_relation (GTK_ACCESSIBLE (target), GTK_ACCESSIBLE_RELATION_LABELLED_BY);
      gtk_accessible_update_property (GTK_ACCESSIBLE (target), GTK_ACCESSIBLE_PROPERTY_LABEL, label,
                                      GTK_ACCESSIBLE_PROPERTY_REQUIRED, required, -1);
      node->error_row = _rfl_record_form_error_row_new ();
      adw_preferences_group_add (group, node->error_row);
    }
  g_hash_table_insert (self->by_path, node->path, node);
  return node;
}

/* What a field holds, as the record would have it; NULL when it is empty. */
JsonNode *
_rfl_record_form_collect (Node *node)
{
  if (node->children != NULL && node->container == NULL)
    {
      g_autoptr(JsonObject) obj = json_object_new ();

      for (guint i = 0; i < node->children->len; i++)
        {
          Node *child = g_ptr_array_index (node->children, i);
          JsonNode *value = _rfl_record_form_collect (child);

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
          JsonNode *value = _rfl_record_form_collect (g_ptr_array_index (node->children, i));

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
    g_autofree char *text = _rfl_record_form_node_dup_text (node);

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
      JsonNode *value = _rfl_record_form_collect (node);

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
      JsonNode *value = _rfl_record_form_collect (node);

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
    _rfl_record_form_check_node (g_ptr_array_index (self->roots, i), &first);
  if (first == NULL)
    return NULL;
  gtk_widget_grab_focus (_rfl_record_form_node_focus_widget (first));
  return _rfl_record_form_node_focus_widget (first);
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
