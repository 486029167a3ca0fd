/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-case"

#include <glib/gi18n.h>

#include "rfl-a11y.h"
#include "rfl-case-item.h"
#include "rfl-case-view-private.h"
#include "rfl-new-case-dialog.h"
#include "rfl-record-form.h"
#include "rfl-schema.h"

/*
 * One case: who it is about, its status and how it got there, the consent
 * given, and a timeline of notes and contact attempts. The record is read
 * off the UI thread (rfl_store_get_async), and every change (a new status,
 * a note, consent) is a write through the store's one write path, after
 * which the case is read again. The status, consent and timeline sections
 * have files of their own (rfl-case-view-private.h lists them).
 */

G_DEFINE_FINAL_TYPE (RflCaseView, rfl_case_view, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_RECORD_ID,
  PROP_BUSY,
  N_PROPS
};

enum {
  CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void reload (RflCaseView *self);

void
_rfl_case_view_set_error (RflCaseView *self,
                          const char  *message)
{
  g_free (self->error);
  self->error = g_strdup (message);
  gtk_label_set_text (self->error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

static void
update_actions (RflCaseView *self)
{
  /* Not greyed out while a save runs: a control that goes insensitive
   * loses the keyboard focus. The actions wait for the save instead. */
  gboolean idle = self->record != NULL;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "case.change-status",
                                 idle && self->next != NULL && self->next[0] != NULL);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "case.add-note", idle);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "case.edit", idle);
}

static void
set_busy (RflCaseView *self,
          gboolean     busy)
{
  gboolean was = self->busy > 0;

  if (busy)
    self->busy++;
  else if (self->busy > 0)
    self->busy--;
  if (was == (self->busy > 0))
    return;
  gtk_spinner_set_spinning (self->spinner, self->busy > 0);
  update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

/* Rows made from the record go into @group and are removed on the next fill. */
void
_rfl_case_view_add_row (RflCaseView         *self,
                        AdwPreferencesGroup *group,
                        GtkWidget           *row)
{
  guint n = 0;

  /* Where the row stands in its group: the same row after a reload has the
   * same key, so the focus can return to it. */
  for (guint i = 0; i < self->rows->len; i++)
    n += g_object_get_data (g_ptr_array_index (self->rows, i), "rfl-group") == (gpointer) group;
  g_object_set_data_full (G_OBJECT (row), "rfl-key", g_strdup_printf ("%p:%u", (gpointer) group, n),
                          g_free);
  g_object_set_data (G_OBJECT (row), "rfl-group", group);
  if (ADW_IS_EXPANDER_ROW (group))
    adw_expander_row_add_row (ADW_EXPANDER_ROW (group), row);
  else
    adw_preferences_group_add (group, row);
  g_ptr_array_add (self->rows, row);
}

static void
clear_rows (RflCaseView *self)
{
  for (guint i = 0; i < self->rows->len; i++)
    {
      GtkWidget *row = g_ptr_array_index (self->rows, i);
      gpointer group = g_object_get_data (G_OBJECT (row), "rfl-group");

      if (ADW_IS_EXPANDER_ROW (group))
        adw_expander_row_remove (group, row);
      else
        adw_preferences_group_remove (group, row);
    }
  g_ptr_array_set_size (self->rows, 0);
}

static GtkWidget *
info_row (const char *title,
          const char *subtitle)
{
  GtkWidget *row = adw_action_row_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  /* Titles and subtitles hold names and free text, never markup. */
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  if (subtitle != NULL)
    adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  return row;
}

/* A row of text made from the record, added to @group.
 *
 * Returns: (transfer none): the row */
GtkWidget *
_rfl_case_view_add_info (RflCaseView         *self,
                         AdwPreferencesGroup *group,
                         const char          *title,
                         const char          *subtitle)
{
  GtkWidget *row = info_row (title, subtitle);

  _rfl_case_view_add_row (self, group, row);
  return row;
}

static char *
person_name (JsonObject *person)
{
  char *name = rfl_person_display_name (person);

  return name != NULL ? name : g_strdup (_("(no name)"));
}

/* "Son · born 2009 · last seen in Goma, 2023-04" */
static char *
person_details (JsonObject *person)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func (g_free);
  const char *relationship = json_object_get_string_member_with_default (person, "relationship", NULL);
  const char *sex = json_object_get_string_member_with_default (person, "sex", NULL);
  const char *born = json_object_get_string_member_with_default (person, "date_of_birth", NULL);
  const char *place = json_object_get_string_member_with_default (person, "last_seen_place", NULL);
  const char *when = json_object_get_string_member_with_default (person, "last_seen_date", NULL);
  JsonArray *alternates = json_object_has_member (person, "alternate_names")
                          ? json_object_get_array_member (person, "alternate_names") : NULL;

  if (relationship != NULL)
    g_ptr_array_add (parts, rfl_field_label (relationship));
  if (sex != NULL)
    g_ptr_array_add (parts, rfl_field_label (sex));
  if (born != NULL)
    g_ptr_array_add (parts, g_strdup_printf (_("born %s"), born));
  else if (json_object_has_member (person, "approximate_age"))
    g_ptr_array_add (parts, g_strdup_printf (_("about %d years old"),
                                             (int) json_object_get_int_member (person, "approximate_age")));
  if (place != NULL && when != NULL)
    g_ptr_array_add (parts, g_strdup_printf (_("last seen in %s, %s"), place, when));
  else if (place != NULL)
    g_ptr_array_add (parts, g_strdup_printf (_("last seen in %s"), place));
  if (alternates != NULL && json_array_get_length (alternates) > 0)
    {
      g_autoptr(GString) names = g_string_new (NULL);

      for (guint i = 0; i < json_array_get_length (alternates); i++)
        {
          const char *name = json_node_get_string (json_array_get_element (alternates, i));

          if (name == NULL)
            continue;
          if (names->len > 0)
            g_string_append (names, ", ");
          g_string_append (names, name);
        }
      g_ptr_array_add (parts, g_strdup_printf (_("also known as %s"), names->str));
    }
  g_ptr_array_add (parts, NULL);
  return g_strjoinv (" · ", (char **) parts->pdata);
}

static gboolean
is_person (JsonNode *node)
{
  JsonObject *obj;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;
  obj = json_node_get_object (node);
  return json_object_has_member (obj, "given_name") || json_object_has_member (obj, "family_name") ||
         json_object_has_member (obj, "alternate_names");
}

static void
add_person (RflCaseView *self,
            const char  *role,
            JsonObject  *person)
{
  g_autofree char *who = person_name (person);
  g_autofree char *details = person_details (person);
  g_autofree char *title = g_strdup_printf ("%s: %s", role, who);

  _rfl_case_view_add_info (self, self->people_group, title, *details != '\0' ? details : NULL);
}

static void
fill_people (RflCaseView *self)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  json_object_iter_init (&iter, self->record);
  while (json_object_iter_next (&iter, &name, &value))
    {
      g_autofree char *role = rfl_field_label (name);

      if (is_person (value))
        add_person (self, role, json_node_get_object (value));
      else if (JSON_NODE_HOLDS_ARRAY (value))
        {
          JsonArray *array = json_node_get_array (value);

          for (guint i = 0; i < json_array_get_length (array); i++)
            if (is_person (json_array_get_element (array, i)))
              add_person (self, role, json_array_get_object_element (array, i));
        }
    }
}

/* A question about a change that is hard to take back: "cancel" or
 * @accept (shown as destructive), the default being @accept when
 * @accept_default, and "cancel" for Escape. */
GtkWidget *
_rfl_case_view_ask (RflCaseView *self,
                    const char  *heading,
                    const char  *body,
                    const char  *cancel_label,
                    const char  *accept,
                    const char  *accept_label,
                    gboolean     accept_default)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, heading, body);

  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog), "cancel", cancel_label, accept, accept_label,
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), accept, ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), accept_default ? accept : "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  rfl_a11y_fix_names (dialog);
  return dialog;
}

JsonObject *
_rfl_case_view_find_field (JsonArray  *fields,
                           const char *name)
{
  for (guint i = 0; fields != NULL && i < json_array_get_length (fields); i++)
    {
      JsonObject *desc = json_array_get_object_element (fields, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (desc, "name", NULL), name) == 0)
        return desc;
    }
  return NULL;
}

static GtkAdjustment *
page_adjustment (RflCaseView *self)
{
  for (GtkWidget *w = gtk_widget_get_first_child (GTK_WIDGET (self->page)); w != NULL;
       w = gtk_widget_get_first_child (w))
    if (GTK_IS_SCROLLED_WINDOW (w))
      return gtk_scrolled_window_get_vadjustment (GTK_SCROLLED_WINDOW (w));
  return NULL;
}

typedef struct
{
  char    *key;        /* the row that had the focus, or NULL */
  gboolean on_switch;  /* the focus was on the row's switch */
  double   scroll;
} Place;

/* Where the volunteer is in the view, before its rows are built again. */
static void
remember_place (RflCaseView *self,
                Place       *place)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkWidget *focus = root != NULL ? gtk_root_get_focus (root) : NULL;
  GtkAdjustment *adj = page_adjustment (self);

  place->key = NULL;
  place->on_switch = GTK_IS_SWITCH (focus);
  place->scroll = adj != NULL ? gtk_adjustment_get_value (adj) : 0;
  for (guint i = 0; focus != NULL && i < self->rows->len; i++)
    {
      GtkWidget *row = g_ptr_array_index (self->rows, i);

      if (focus == row || gtk_widget_is_ancestor (focus, row))
        place->key = g_strdup (g_object_get_data (G_OBJECT (row), "rfl-key"));
    }
}

static gboolean
restore_scroll_cb (gpointer user_data)
{
  RflCaseView *self = user_data;
  GtkAdjustment *adj = page_adjustment (self);

  if (adj != NULL)
    gtk_adjustment_set_value (adj, self->scroll);
  self->scroll_source = 0;
  return G_SOURCE_REMOVE;
}

static void
return_to_place (RflCaseView *self,
                 Place       *place)
{
  for (guint i = 0; place->key != NULL && i < self->rows->len; i++)
    {
      GtkWidget *row = g_ptr_array_index (self->rows, i);

      if (g_strcmp0 (g_object_get_data (G_OBJECT (row), "rfl-key"), place->key) != 0)
        continue;
      if (place->on_switch && ADW_IS_ACTION_ROW (row) &&
          adw_action_row_get_activatable_widget (ADW_ACTION_ROW (row)) != NULL)
        gtk_widget_grab_focus (adw_action_row_get_activatable_widget (ADW_ACTION_ROW (row)));
      else
        gtk_widget_grab_focus (row);
    }
  /* The rows are measured on the next frame; scroll back then. */
  self->scroll = place->scroll;
  if (self->scroll_source == 0)
    self->scroll_source = g_idle_add_full (G_PRIORITY_LOW, restore_scroll_cb, self, NULL);
  g_free (place->key);
}

/* The fields an override file added have no place made for them in this
 * view: the summary lists each one the record holds, with its value. */
static void
fill_added (RflCaseView *self,
            JsonArray   *fields)
{
  for (guint i = 0; fields != NULL && i < json_array_get_length (fields); i++)
    {
      JsonObject *desc = json_array_get_object_element (fields, i);
      const char *name = json_object_get_string_member_with_default (desc, "name", "");
      JsonNode *value = json_object_get_member (self->record, name);
      g_autofree char *label = NULL, *text = NULL;

      if (!json_object_get_boolean_member_with_default (desc, "added", FALSE) || value == NULL ||
          !JSON_NODE_HOLDS_VALUE (value))
        continue;
      if (g_strcmp0 (json_object_get_string_member_with_default (desc, "kind", NULL), "enum") == 0)
        text = rfl_field_label (json_node_get_string (value));
      else if (json_node_get_value_type (value) == G_TYPE_STRING)
        text = g_strdup (json_node_get_string (value));
      else if (json_node_get_value_type (value) == G_TYPE_INT64)
        text = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (value));
      else
        continue;
      label = rfl_field_describe_label (desc);
      _rfl_case_view_add_info (self, self->summary_group, label, text);
    }
}

static const char *
merged_name (RflCaseView *self,
             const char  *id)
{
  JsonNode *names = json_object_get_member (self->record, "merged_names");
  const char *name = NULL;

  if (names != NULL && JSON_NODE_HOLDS_OBJECT (names) && id != NULL)
    name = json_object_get_string_member_with_default (json_node_get_object (names), id, NULL);
  return name != NULL ? name : _("(no name)");
}

/* What a merge of duplicates left: the record this one was merged into, or
 * the records merged into this one and the values they held otherwise,
 * which the merge kept beside this record's own. */
static void
fill_merged (RflCaseView *self)
{
  const char *into = json_object_get_string_member_with_default (self->record, "merged_into", NULL);
  JsonNode *node = json_object_get_member (self->record, "merged");
  JsonArray *merged = node != NULL && JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;
  g_autoptr(GHashTable) named = g_hash_table_new (g_str_hash, g_str_equal);

  if (into != NULL)
    {
      g_autofree char *text = g_strdup_printf ("\u2068%s\u2069", merged_name (self, into));

      _rfl_case_view_add_info (self, self->summary_group, _("Merged into"), text);
    }
  for (guint i = 0; merged != NULL && i < json_array_get_length (merged); i++)
    {
      JsonNode *element = json_array_get_element (merged, i);
      JsonObject *entry = JSON_NODE_HOLDS_OBJECT (element) ? json_node_get_object (element) : NULL;
      const char *from, *field, *value, *leaf;
      g_autofree char *label = NULL, *text = NULL;

      if (entry == NULL || json_object_get_boolean_member_with_default (entry, "added", FALSE))
        continue;
      from = json_object_get_string_member_with_default (entry, "from", NULL);
      field = json_object_get_string_member_with_default (entry, "field", "");
      value = json_object_get_string_member_with_default (entry, "value", "");
      if (from != NULL && !g_hash_table_contains (named, from))
        {
          g_autofree char *name = g_strdup_printf ("\u2068%s\u2069", merged_name (self, from));

          g_hash_table_add (named, (gpointer) from);
          _rfl_case_view_add_info (self, self->summary_group, _("Merged from"), name);
        }
      leaf = strrchr (field, '.') != NULL ? strrchr (field, '.') + 1 : field;
      label = rfl_field_label (leaf);
      if (g_str_equal (value, "true") || g_str_equal (value, "false"))
        value = g_str_equal (value, "true") ? _("Yes") : _("No");
      /* TRANSLATORS: a value of a duplicate merged into this record, where
       * this record holds another: "Family name" over "Also recorded as ‘Hadad’" */
      text = g_strdup_printf (_("Also recorded as \u2068%s\u2069"), value);
      _rfl_case_view_add_info (self, self->summary_group, label, text);
    }
}

static void fill_rows (RflCaseView *self);

static void
fill (RflCaseView *self)
{
  Place place;

  remember_place (self, &place);
  fill_rows (self);
  return_to_place (self, &place);
}

static void
fill_rows (RflCaseView *self)
{
  g_autoptr(JsonArray) fields = NULL;
  const char *type, *subtype;
  g_autofree char *name = NULL;
  g_autofree char *created = NULL, *updated = NULL, *description = NULL;

  clear_rows (self);
  if (self->record == NULL)
    {
      update_actions (self);
      gtk_label_set_text (self->title, "");
      gtk_widget_set_visible (GTK_WIDGET (self->page), FALSE);
      return;
    }
  gtk_widget_set_visible (GTK_WIDGET (self->page), TRUE);
  type = json_object_get_string_member_with_default (self->record, "type", "");
  subtype = json_object_get_string_member_with_default (self->record, "subtype", NULL);
  fields = rfl_schema_describe (rfl_schema_get_default (), type);

  /* The title is the name the list shows. */
  name = rfl_record_display_name (self->record);
  if (name == NULL)
    name = g_strdup (_("(no name)"));
  gtk_label_set_text (self->title, name);

  created = rfl_format_time (json_object_get_string_member_with_default (self->record, "created_at", NULL), TRUE);
  updated = rfl_format_time (json_object_get_string_member_with_default (self->record, "updated_at", NULL), TRUE);
  description = g_strdup_printf (_("Registered %s · changed %s"), created != NULL ? created : "",
                                 updated != NULL ? updated : "");
  adw_preferences_group_set_title (self->summary_group, rfl_record_kind_label (type, subtype));
  adw_preferences_group_set_description (self->summary_group, description);
  if (json_object_has_member (self->record, "content"))
    _rfl_case_view_add_info (self, self->summary_group, _("Message"),
                             json_object_get_string_member_with_default (self->record, "content", NULL));
  if (json_object_has_member (self->record, "description"))
    _rfl_case_view_add_info (self, self->summary_group, _("Description"),
                             json_object_get_string_member_with_default (self->record, "description",
                                                                         NULL));
  if (json_object_has_member (self->record, "sensitivity"))
    {
      g_autofree char *label = rfl_field_label (json_object_get_string_member_with_default (self->record,
                                                                                          "sensitivity", ""));

      _rfl_case_view_add_info (self, self->summary_group, _("Sensitivity"), label);
    }

  fill_added (self, fields);
  fill_merged (self);

  _rfl_case_view_fill_status (self);
  update_actions (self);
  fill_people (self);
  _rfl_case_view_fill_matches (self);
  _rfl_case_view_fill_consent (self, fields);
  _rfl_case_view_fill_timeline (self);
}

static void
loaded_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(RflCaseView) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) record = rfl_store_get_finish (RFL_STORE (source), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  set_busy (self, FALSE);
  if (record == NULL)
    {
      _rfl_case_view_set_error (self, error->message);
      return;
    }
  /* A newer load may have started for another case. */
  if (g_strcmp0 (json_object_get_string_member_with_default (record, "id", NULL), self->id) != 0)
    return;
  g_clear_pointer (&self->record, json_object_unref);
  self->record = g_steal_pointer (&record);
  fill (self);
}

static void
reload (RflCaseView *self)
{
  if (self->store == NULL || self->id == NULL)
    return;
  set_busy (self, TRUE);
  rfl_store_get_async (self->store, self->id, self->cancellable, loaded_cb, g_object_ref (self));
}

typedef struct
{
  RflCaseView *self;
  JsonObject  *consent;  /* a consent change: applied to the record shown, with no reload */
} Save;

static void
save_free (Save *save)
{
  g_object_unref (save->self);
  g_clear_pointer (&save->consent, json_object_unref);
  g_free (save);
}

static void
saved_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  Save *save = user_data;
  RflCaseView *self = save->self;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = rfl_store_save_finish (RFL_STORE (source), result, &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      save_free (save);
      return;
    }
  set_busy (self, FALSE);
  if (id == NULL)
    {
      _rfl_case_view_set_error (self, error->message);
      /* Switches and combos go back to what is saved. */
      fill (self);
    }
  else if (save->consent != NULL && self->record != NULL)
    {
      /* A switch that saved is already showing what is saved: the view
       * keeps its rows, its scroll position and the focus. */
      _rfl_case_view_set_error (self, NULL);
      json_object_set_object_member (self->record, "consent", json_object_ref (save->consent));
      g_signal_emit (self, signals[CHANGED], 0);
    }
  else
    {
      _rfl_case_view_set_error (self, NULL);
      g_signal_emit (self, signals[CHANGED], 0);
      reload (self);
    }
  save_free (save);
}

/* Saves @record (a new record when @id is NULL, else a patch of @id) and
 * reads the case again; a @consent change is applied to the record shown,
 * with no reload. */
void
_rfl_case_view_save (RflCaseView *self,
                     const char  *id,
                     JsonObject  *record,
                     JsonObject  *consent)
{
  Save *save = g_new0 (Save, 1);

  save->self = g_object_ref (self);
  save->consent = consent != NULL ? json_object_ref (consent) : NULL;
  _rfl_case_view_set_error (self, NULL);
  set_busy (self, TRUE);
  rfl_store_save_async (self->store, id, record, self->cancellable, saved_cb, save);
}

static void
edit_saved_cb (RflNewCaseDialog *dialog,
               const char       *id,
               RflCaseView      *self)
{
  g_signal_emit (self, signals[CHANGED], 0);
  reload (self);
}

static void
edit_activated (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  RflCaseView *self = RFL_CASE_VIEW (widget);
  g_autoptr(JsonObject) editable = NULL;
  GtkWidget *dialog;
  GtkRoot *root = gtk_widget_get_root (widget);

  if (self->record == NULL || self->store == NULL || self->busy > 0)
    return;
  /* The dialog edits the record's own fields, not what the view adds to it. */
  editable = json_object_new ();
  {
    JsonObjectIter iter;
    const char *name;
    JsonNode *value;

    json_object_iter_init (&iter, self->record);
    while (json_object_iter_next (&iter, &name, &value))
      if (!g_str_equal (name, "notes") && !g_str_equal (name, "merged_names"))
        json_object_set_member (editable, name, json_node_copy (value));
  }
  dialog = rfl_new_case_dialog_new_for_record (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, self->store,
                                               editable);
  g_signal_connect_object (dialog, "saved", G_CALLBACK (edit_saved_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
rfl_case_view_dispose (GObject *object)
{
  RflCaseView *self = RFL_CASE_VIEW (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_handle_id (&self->scroll_source, g_source_remove);
  rfl_case_view_clear (self);
  gtk_widget_dispose_template (GTK_WIDGET (self), RFL_TYPE_CASE_VIEW);
  g_clear_object (&self->store);
  G_OBJECT_CLASS (rfl_case_view_parent_class)->dispose (object);
}

static void
rfl_case_view_finalize (GObject *object)
{
  RflCaseView *self = RFL_CASE_VIEW (object);

  g_clear_pointer (&self->rows, g_ptr_array_unref);
  g_strfreev (self->note_kinds);
  g_strfreev (self->note_outcomes);
  g_free (self->error);
  G_OBJECT_CLASS (rfl_case_view_parent_class)->finalize (object);
}

static void
rfl_case_view_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  RflCaseView *self = RFL_CASE_VIEW (object);

  switch (prop_id)
    {
    case PROP_RECORD_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, self->busy > 0);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_case_view_class_init (RflCaseViewClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rfl_case_view_dispose;
  object_class->finalize = rfl_case_view_finalize;
  object_class->get_property = rfl_case_view_get_property;

  properties[PROP_RECORD_ID] =
    g_param_spec_string ("record-id", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * RflCaseView::changed:
   *
   * The case was saved: a list showing it should read it again.
   */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                   G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/reunite/Reunite/rfl-case-view.ui");
  gtk_widget_class_bind_template_child (widget_class, RflCaseView, title);
  gtk_widget_class_bind_template_child (widget_class, RflCaseView, spinner);
  gtk_widget_class_bind_template_child (widget_class, RflCaseView, error_label);
  gtk_widget_class_bind_template_child (widget_class, RflCaseView, page);
  gtk_widget_class_bind_template_child (widget_class, RflCaseView, summary_group);
  gtk_widget_class_bind_template_child (widget_class, RflCaseView, status_group);
  gtk_widget_class_bind_template_child (widget_class, RflCaseView, next_status);
  gtk_widget_class_bind_template_child (widget_class, RflCaseView, reason);
  gtk_widget_class_bind_template_child (widget_class, RflCaseView, history);
  gtk_widget_class_bind_template_child (widget_class, RflCaseView, people_group);
  gtk_widget_class_bind_template_child (widget_class, RflCaseView, consent_group);
  gtk_widget_class_bind_template_child (widget_class, RflCaseView, timeline_group);
  gtk_widget_class_bind_template_child (widget_class, RflCaseView, matches_group);
  gtk_widget_class_bind_template_child (widget_class, RflCaseView, note_kind);
  gtk_widget_class_bind_template_child (widget_class, RflCaseView, note_outcome);
  gtk_widget_class_bind_template_child (widget_class, RflCaseView, note_text);

  /* The sections' callbacks and actions: case.change-status, case.add-note. */
  _rfl_case_view_class_status_init (widget_class);
  _rfl_case_view_class_timeline_init (widget_class);
  gtk_widget_class_install_action (widget_class, "case.edit", NULL, edit_activated);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_e, GDK_CONTROL_MASK, "case.edit", NULL);
}

static void
rfl_case_view_init (RflCaseView *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  rfl_a11y_activatable_choices (GTK_WIDGET (self->next_status));
  rfl_a11y_activatable_choices (GTK_WIDGET (self->reason));
  rfl_a11y_activatable_choices (GTK_WIDGET (self->note_kind));
  rfl_a11y_activatable_choices (GTK_WIDGET (self->note_outcome));
  self->rows = g_ptr_array_new ();
  self->cancellable = g_cancellable_new ();
  _rfl_case_view_timeline_init (self);
  fill (self);
}

GtkWidget *
rfl_case_view_new (void)
{
  return g_object_new (RFL_TYPE_CASE_VIEW, NULL);
}

/**
 * rfl_case_view_set_store:
 * @store: (nullable): the open store, or %NULL when the app locks
 */
void
rfl_case_view_set_store (RflCaseView *self,
                         RflStore    *store)
{
  g_return_if_fail (RFL_IS_CASE_VIEW (self));
  g_return_if_fail (store == NULL || RFL_IS_STORE (store));

  if (self->store == store)
    return;
  rfl_case_view_clear (self);
  g_set_object (&self->store, store);
}

/**
 * rfl_case_view_load:
 * @id: the case to show
 *
 * Reads the case in a worker thread and shows it when it arrives.
 */
void
rfl_case_view_load (RflCaseView *self,
                    const char  *id)
{
  g_return_if_fail (RFL_IS_CASE_VIEW (self));
  g_return_if_fail (id != NULL);

  if (g_strcmp0 (self->id, id) != 0)
    {
      g_clear_pointer (&self->record, json_object_unref);
      g_free (self->id);
      self->id = g_strdup (id);
      gtk_editable_set_text (GTK_EDITABLE (self->note_text), "");
      _rfl_case_view_set_error (self, NULL);
      fill_rows (self);
      /* Another case starts at its top. */
      if (page_adjustment (self) != NULL)
        gtk_adjustment_set_value (page_adjustment (self), 0);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RECORD_ID]);
    }
  reload (self);
}

/**
 * rfl_case_view_clear:
 *
 * Drops the case and everything shown of it (when the app locks).
 */
void
rfl_case_view_clear (RflCaseView *self)
{
  g_return_if_fail (RFL_IS_CASE_VIEW (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->busy = 0;
  g_clear_pointer (&self->record, json_object_unref);
  g_clear_pointer (&self->id, g_free);
  g_clear_pointer (&self->next, g_strfreev);
  if (self->note_text != NULL)
    gtk_editable_set_text (GTK_EDITABLE (self->note_text), "");
  if (self->rows != NULL && self->title != NULL)
    fill_rows (self);
}

const char *
rfl_case_view_get_record_id (RflCaseView *self)
{
  g_return_val_if_fail (RFL_IS_CASE_VIEW (self), NULL);

  return self->id;
}

/**
 * rfl_case_view_get_record:
 *
 * Returns: (transfer none) (nullable): the case as last read, with its notes
 */
JsonObject *
rfl_case_view_get_record (RflCaseView *self)
{
  g_return_val_if_fail (RFL_IS_CASE_VIEW (self), NULL);

  return self->record;
}

gboolean
rfl_case_view_get_busy (RflCaseView *self)
{
  g_return_val_if_fail (RFL_IS_CASE_VIEW (self), FALSE);

  return self->busy > 0;
}

/**
 * rfl_case_view_get_error:
 *
 * Returns: (nullable): the message of the last failed save
 */
const char *
rfl_case_view_get_error (RflCaseView *self)
{
  g_return_val_if_fail (RFL_IS_CASE_VIEW (self), NULL);

  return self->error;
}

/**
 * rfl_case_view_dup_next_statuses:
 *
 * Returns: (transfer full) (nullable): the statuses the case can move to
 */
GStrv
rfl_case_view_dup_next_statuses (RflCaseView *self)
{
  g_return_val_if_fail (RFL_IS_CASE_VIEW (self), NULL);

  return g_strdupv (self->next);
}

