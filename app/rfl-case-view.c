/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-case"

#include <glib/gi18n.h>

#include "rfl-a11y.h"
#include "rfl-case-item.h"
#include "rfl-case-view.h"
#include "rfl-new-case-dialog.h"
#include "rfl-record-form.h"
#include "rfl-schema.h"

/*
 * One case: who it is about, its status and how it got there, the consent
 * given, and a timeline of notes and contact attempts. The record is read
 * off the UI thread (rfl_store_get_async), and every change (a new status,
 * a note, consent) is a write through the store's one write path, after
 * which the case is read again.
 */

struct _RflCaseView
{
  AdwBin               parent_instance;

  GtkLabel            *title;
  GtkSpinner          *spinner;
  GtkLabel            *error_label;
  AdwPreferencesPage  *page;
  AdwPreferencesGroup *summary_group;
  AdwPreferencesGroup *status_group;
  AdwComboRow         *next_status;
  AdwComboRow         *reason;
  AdwExpanderRow      *history;
  AdwPreferencesGroup *people_group;
  AdwPreferencesGroup *consent_group;
  AdwPreferencesGroup *timeline_group;
  AdwComboRow         *note_kind;
  AdwComboRow         *note_outcome;
  AdwEntryRow         *note_text;

  RflStore            *store;
  char                *id;
  JsonObject          *record;
  GStrv                next;          /* statuses the case can move to */
  GStrv                note_kinds;    /* what the note-kind row offers, from the schema */
  GStrv                note_outcomes; /* what the outcome row offers */
  GPtrArray           *rows;          /* GtkWidget *: rows filled from the record */
  GCancellable        *cancellable;
  char                *error;
  guint                busy;
  double               scroll;
  guint                scroll_source;
};

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
static void consent_toggled_cb (GtkSwitch *toggle, GParamSpec *pspec, RflCaseView *self);
static void set_reason_problem (RflCaseView *self, const char *message);

static void
set_error (RflCaseView *self,
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
static void
add_row (RflCaseView         *self,
         AdwPreferencesGroup *group,
         GtkWidget           *row)
{
  guint n = 0;

  /* Where the row stands in its group: the same row after a reload has the
   * same key, so the focus can return to it. */
  for (guint i = 0; i < self->rows->len; i++)
    n += g_object_get_data (g_ptr_array_index (self->rows, i), "rfl-group") == (gpointer) group;
  g_object_set_data_full (G_OBJECT (row), "rfl-key", g_strdup_printf ("%p:%u", (gpointer) group, n), g_free);
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
        {
          g_autofree char *who = person_name (json_node_get_object (value));
          g_autofree char *details = person_details (json_node_get_object (value));
          g_autofree char *title = g_strdup_printf ("%s: %s", role, who);

          add_row (self, self->people_group, info_row (title, *details != '\0' ? details : NULL));
        }
      else if (JSON_NODE_HOLDS_ARRAY (value))
        {
          JsonArray *array = json_node_get_array (value);

          for (guint i = 0; i < json_array_get_length (array); i++)
            if (is_person (json_array_get_element (array, i)))
              {
                JsonObject *person = json_array_get_object_element (array, i);
                g_autofree char *who = person_name (person);
                g_autofree char *details = person_details (person);
                g_autofree char *title = g_strdup_printf ("%s: %s", role, who);

                add_row (self, self->people_group, info_row (title, *details != '\0' ? details : NULL));
              }
        }
    }
}

/* A question about a change that is hard to take back: "cancel" or
 * @accept (shown as destructive), the default being @accept when
 * @accept_default, and "cancel" for Escape. */
static GtkWidget *
ask (RflCaseView *self,
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

static void
set_switch_quietly (RflCaseView *self,
                    GtkSwitch   *toggle,
                    gboolean     active)
{
  g_signal_handlers_block_by_func (toggle, consent_toggled_cb, self);
  gtk_switch_set_active (toggle, active);
  g_signal_handlers_unblock_by_func (toggle, consent_toggled_cb, self);
}

static void
confirm_withdraw_cb (AdwMessageDialog *dialog,
                     const char       *response,
                     RflCaseView      *self)
{
  GtkSwitch *toggle = g_object_get_data (G_OBJECT (dialog), "rfl-switch");
  const char *field = g_object_get_data (G_OBJECT (toggle), "rfl-field");
  const char *label = g_object_get_data (G_OBJECT (toggle), "rfl-label");

  if (!g_str_equal (response, "withdraw"))
    {
      set_switch_quietly (self, toggle, TRUE);
      gtk_widget_grab_focus (GTK_WIDGET (toggle));
      return;
    }
  rfl_case_view_set_consent (self, field, FALSE);
  /* The timeline keeps who withdrew it and when. */
  {
    /* Translators: %s is a consent, such as "Consent to tracing". */
    g_autofree char *text = g_strdup_printf (_("Withdrawn: %s"), label);

    rfl_case_view_add_note (self, "case_action", NULL, text);
  }
  gtk_widget_grab_focus (GTK_WIDGET (toggle));
}

static void
consent_toggled_cb (GtkSwitch   *toggle,
                    GParamSpec  *pspec,
                    RflCaseView *self)
{
  const char *field = g_object_get_data (G_OBJECT (toggle), "rfl-field");
  const char *label = g_object_get_data (G_OBJECT (toggle), "rfl-label");
  JsonObject *consent;
  gboolean given;
  GtkWidget *dialog;
  g_autofree char *heading = NULL;

  if (self->record == NULL || self->busy > 0)
    return;
  consent = json_object_has_member (self->record, "consent")
            ? json_object_get_object_member (self->record, "consent") : NULL;
  given = consent != NULL && json_object_get_boolean_member_with_default (consent, field, FALSE);
  if (given == gtk_switch_get_active (toggle))
    return;
  if (!given)
    {
      rfl_case_view_set_consent (self, field, TRUE);
      return;
    }

  /* Withdrawing what the person agreed to is asked about first. */
  /* Translators: %s is a consent, such as "Consent to tracing". */
  heading = g_strdup_printf (_("Withdraw “%s”?"), label);
  dialog = ask (self, heading,
                _("Withdraw it only when the person asked to. The timeline records who withdrew it and when."),
                _("_Keep"), "withdraw", _("_Withdraw Consent"), FALSE);
  g_object_set_data_full (G_OBJECT (dialog), "rfl-switch", g_object_ref (toggle), g_object_unref);
  g_signal_connect_object (dialog, "response", G_CALLBACK (confirm_withdraw_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static JsonObject *
find_field (JsonArray  *fields,
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

/* Consent as the schema describes it: a switch for each yes-or-no, the rest as text. */
static void
fill_consent (RflCaseView *self,
              JsonArray   *fields)
{
  JsonObject *desc = find_field (fields, "consent");
  JsonArray *consent_fields = desc != NULL && json_object_has_member (desc, "fields")
                              ? json_object_get_array_member (desc, "fields") : NULL;
  JsonObject *consent = json_object_has_member (self->record, "consent")
                        ? json_object_get_object_member (self->record, "consent") : NULL;

  gtk_widget_set_visible (GTK_WIDGET (self->consent_group), consent_fields != NULL);
  for (guint i = 0; consent_fields != NULL && i < json_array_get_length (consent_fields); i++)
    {
      JsonObject *field = json_array_get_object_element (consent_fields, i);
      const char *name = json_object_get_string_member (field, "name");
      g_autofree char *label = rfl_field_describe_label (field);

      if (g_strcmp0 (json_object_get_string_member_with_default (field, "kind", NULL), "boolean") == 0)
        {
          GtkWidget *row = adw_action_row_new ();
          GtkWidget *toggle = gtk_switch_new ();

          adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), label);
          gtk_widget_set_valign (toggle, GTK_ALIGN_CENTER);
          gtk_switch_set_active (GTK_SWITCH (toggle),
                                 consent != NULL && json_object_get_boolean_member_with_default (consent, name,
                                                                                                 FALSE));
          g_object_set_data_full (G_OBJECT (toggle), "rfl-field", g_strdup (name), g_free);
          g_object_set_data_full (G_OBJECT (toggle), "rfl-label", g_strdup (label), g_free);
          g_signal_connect (toggle, "notify::active", G_CALLBACK (consent_toggled_cb), self);
          adw_action_row_add_suffix (ADW_ACTION_ROW (row), toggle);
          adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), toggle);
          rfl_a11y_name_switch (toggle, label);
          add_row (self, self->consent_group, row);
        }
      else if (consent != NULL && json_object_has_member (consent, name))
        {
          const char *text = json_object_get_string_member_with_default (consent, name, NULL);

          if (text != NULL)
            add_row (self, self->consent_group, info_row (label, text));
        }
    }
}

static void
fill_status (RflCaseView *self)
{
  const char *type = json_object_get_string_member_with_default (self->record, "type", "");
  const char *status = json_object_get_string_member_with_default (self->record, "status", NULL);
  g_autoptr(GtkStringList) labels = gtk_string_list_new (NULL);
  JsonArray *history = json_object_has_member (self->record, "status_history")
                       ? json_object_get_array_member (self->record, "status_history") : NULL;
  g_autofree char *current = NULL;

  g_clear_pointer (&self->next, g_strfreev);
  self->next = rfl_schema_dup_next_statuses (rfl_schema_get_default (), type, status);
  gtk_widget_set_visible (GTK_WIDGET (self->status_group), status != NULL);
  current = g_strdup_printf (_("Now: %s"), rfl_record_status_label (status));
  adw_preferences_group_set_description (self->status_group, current);
  for (guint i = 0; self->next != NULL && self->next[i] != NULL; i++)
    gtk_string_list_append (labels, rfl_record_status_label (self->next[i]));
  adw_combo_row_set_model (self->next_status, G_LIST_MODEL (labels));
  gtk_widget_set_visible (GTK_WIDGET (self->next_status), self->next != NULL && self->next[0] != NULL);

  for (guint i = 0; history != NULL && i < json_array_get_length (history); i++)
    {
      JsonObject *entry = json_array_get_object_element (history, i);
      g_autofree char *at = rfl_format_time (json_object_get_string_member_with_default (entry, "at", NULL), TRUE);
      const char *reason = json_object_get_string_member_with_default (entry, "reason", NULL);
      g_autofree char *reason_label = reason != NULL ? rfl_field_label (reason) : NULL;
      const char *to = json_object_get_string_member_with_default (entry, "status", NULL);
      const char *entered = rfl_record_status_label (to);
      g_autofree char *title = NULL;

      title = reason_label != NULL ? g_strdup_printf ("%s (%s)", entered, reason_label) : g_strdup (entered);
      {
        const char *by = json_object_get_string_member_with_default (entry, "by", NULL);
        /* Translators: when a status changed, and who changed it. */
        g_autofree char *when = by != NULL ? g_strdup_printf (_("%s · by %s"), at != NULL ? at : "", by)
                                           : g_strdup (at);

        add_row (self, (AdwPreferencesGroup *) self->history, info_row (title, when));
      }
    }
}

static void
fill_timeline (RflCaseView *self)
{
  RflSchema *schema = rfl_schema_get_default ();
  const char *note_type = rfl_schema_get_note_type (schema);
  const char *plain = rfl_schema_get_field_default (schema, note_type, "kind");
  JsonArray *notes = json_object_has_member (self->record, "notes")
                     ? json_object_get_array_member (self->record, "notes") : NULL;

  for (guint i = 0; notes != NULL && i < json_array_get_length (notes); i++)
    {
      JsonObject *note = json_array_get_object_element (notes, i);
      const char *name = json_object_get_string_member_with_default (note, "kind", plain ? plain : "");
      g_autofree char *kind = rfl_field_label (name);
      const char *outcome = json_object_get_string_member_with_default (note, "outcome", NULL);
      g_autofree char *at = rfl_format_time (json_object_get_string_member_with_default (note, "created_at", NULL),
                                             TRUE);
      g_autofree char *outcome_label = outcome != NULL ? rfl_field_label (outcome) : NULL;
      g_autofree char *subtitle = NULL;
      GtkWidget *row;

      subtitle = outcome_label != NULL ? g_strdup_printf ("%s · %s · %s", kind, outcome_label, at)
                                       : g_strdup_printf ("%s · %s", kind, at);
      row = info_row (json_object_get_string_member_with_default (note, "text", ""), subtitle);
      g_object_set (row, "title-lines", 0, NULL);
      add_row (self, self->timeline_group, row);
    }
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
      add_row (self, self->summary_group, info_row (label, text));
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
    add_row (self, self->summary_group,
             info_row (_("Message"), json_object_get_string_member_with_default (self->record, "content", NULL)));
  if (json_object_has_member (self->record, "description"))
    add_row (self, self->summary_group,
             info_row (_("Description"),
                       json_object_get_string_member_with_default (self->record, "description", NULL)));
  if (json_object_has_member (self->record, "sensitivity"))
    {
      g_autofree char *label = rfl_field_label (json_object_get_string_member_with_default (self->record,
                                                                                          "sensitivity", ""));

      add_row (self, self->summary_group, info_row (_("Sensitivity"), label));
    }

  fill_added (self, fields);

  fill_status (self);
  update_actions (self);
  fill_people (self);
  fill_consent (self, fields);
  fill_timeline (self);
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
      set_error (self, error->message);
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
      set_error (self, error->message);
      /* Switches and combos go back to what is saved. */
      fill (self);
    }
  else if (save->consent != NULL && self->record != NULL)
    {
      /* A switch that saved is already showing what is saved: the view
       * keeps its rows, its scroll position and the focus. */
      set_error (self, NULL);
      json_object_set_object_member (self->record, "consent", json_object_ref (save->consent));
      g_signal_emit (self, signals[CHANGED], 0);
    }
  else
    {
      set_error (self, NULL);
      g_signal_emit (self, signals[CHANGED], 0);
      reload (self);
    }
  save_free (save);
}

static void
save_record (RflCaseView *self,
             const char  *id,
             JsonObject  *record,
             JsonObject  *consent)
{
  Save *save = g_new0 (Save, 1);

  save->self = g_object_ref (self);
  save->consent = consent != NULL ? json_object_ref (consent) : NULL;
  set_error (self, NULL);
  set_busy (self, TRUE);
  rfl_store_save_async (self->store, id, record, self->cancellable, saved_cb, save);
}

static void
save (RflCaseView *self,
      const char  *id,
      JsonObject  *record)
{
  save_record (self, id, record, NULL);
}

static const char *
reason_field (RflCaseView *self,
              const char  *status)
{
  const char *type = json_object_get_string_member_with_default (self->record, "type", "");

  return rfl_schema_get_reason_field (rfl_schema_get_default (), type, status);
}

static JsonArray *
reason_values (RflCaseView *self,
               const char  *field)
{
  g_autoptr(JsonArray) fields = rfl_schema_describe (rfl_schema_get_default (),
                                                     json_object_get_string_member_with_default (self->record,
                                                                                                 "type", ""));
  JsonObject *desc = find_field (fields, field);

  return desc != NULL && json_object_has_member (desc, "values")
         ? json_array_ref (json_object_get_array_member (desc, "values")) : NULL;
}

static void
next_status_changed_cb (RflCaseView *self)
{
  guint i = adw_combo_row_get_selected (self->next_status);
  const char *field;
  g_autoptr(JsonArray) values = NULL;
  g_autoptr(GtkStringList) labels = NULL;

  if (self->record == NULL || self->next == NULL || i >= g_strv_length (self->next) ||
      (field = reason_field (self, self->next[i])) == NULL || (values = reason_values (self, field)) == NULL)
    {
      gtk_widget_set_visible (GTK_WIDGET (self->reason), FALSE);
      set_reason_problem (self, NULL);
      return;
    }
  labels = gtk_string_list_new (NULL);
  /* No reason is chosen for the volunteer: the first entry asks for one. */
  gtk_string_list_append (labels, _("Choose a reason"));
  for (guint v = 0; v < json_array_get_length (values); v++)
    {
      g_autofree char *label = rfl_field_label (json_array_get_string_element (values, v));

      gtk_string_list_append (labels, label);
    }
  adw_combo_row_set_model (self->reason, G_LIST_MODEL (labels));
  adw_combo_row_set_selected (self->reason, 0);
  gtk_widget_set_visible (GTK_WIDGET (self->reason), TRUE);
  set_reason_problem (self, NULL);
}

/* The reason row says, in words and to screen readers, that a reason is
 * needed; NULL clears it. */
static void
set_reason_problem (RflCaseView *self,
                    const char  *message)
{
  GtkAccessible *row = GTK_ACCESSIBLE (self->reason);

  if (message != NULL)
    {
      adw_action_row_set_subtitle (ADW_ACTION_ROW (self->reason), message);
      gtk_widget_add_css_class (GTK_WIDGET (self->reason), "error");
      gtk_accessible_update_state (row, GTK_ACCESSIBLE_STATE_INVALID, GTK_ACCESSIBLE_INVALID_TRUE, -1);
      gtk_accessible_update_property (row, GTK_ACCESSIBLE_PROPERTY_DESCRIPTION, message, -1);
    }
  else
    {
      adw_action_row_set_subtitle (ADW_ACTION_ROW (self->reason), NULL);
      gtk_widget_remove_css_class (GTK_WIDGET (self->reason), "error");
      gtk_accessible_reset_state (row, GTK_ACCESSIBLE_STATE_INVALID);
      gtk_accessible_reset_property (row, GTK_ACCESSIBLE_PROPERTY_DESCRIPTION);
    }
}

static void
reason_changed_cb (RflCaseView *self)
{
  if (adw_combo_row_get_selected (self->reason) > 0)
    set_reason_problem (self, NULL);
}

typedef struct
{
  char *status;
  char *reason;
} StatusChange;

static void
status_change_free (StatusChange *change)
{
  g_free (change->status);
  g_free (change->reason);
  g_free (change);
}

static void
confirm_close_cb (AdwMessageDialog *dialog,
                  const char       *response,
                  RflCaseView      *self)
{
  StatusChange *change = g_object_get_data (G_OBJECT (dialog), "rfl-change");

  if (g_str_equal (response, "close"))
    rfl_case_view_change_status (self, change->status, change->reason);
}

static void
change_status_activated (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  RflCaseView *self = RFL_CASE_VIEW (widget);
  guint i = adw_combo_row_get_selected (self->next_status);
  guint r = adw_combo_row_get_selected (self->reason);
  const char *field;
  g_autoptr(JsonArray) values = NULL;
  const char *reason = NULL;
  StatusChange *change;
  GtkWidget *dialog;
  g_autofree char *reason_label = NULL, *body = NULL;

  if (self->record == NULL || self->busy > 0 || self->next == NULL || i >= g_strv_length (self->next))
    return;
  if ((field = reason_field (self, self->next[i])) != NULL && (values = reason_values (self, field)) != NULL)
    {
      /* The lifecycle asks why: the volunteer says, nothing is assumed. */
      if (r == 0 || r == GTK_INVALID_LIST_POSITION || r > json_array_get_length (values))
        {
          g_autofree char *message = g_strdup_printf (_("Reason: say why the case becomes “%s”"),
                                                      rfl_record_status_label (self->next[i]));

          set_reason_problem (self, message);
          gtk_widget_grab_focus (GTK_WIDGET (self->reason));
          return;
        }
      reason = json_array_get_string_element (values, r - 1);
    }
  if (!g_str_equal (self->next[i], "closed"))
    {
      rfl_case_view_change_status (self, self->next[i], reason);
      return;
    }

  /* Closing is confirmed first: it starts the retention period. */
  reason_label = reason != NULL ? rfl_field_label (reason) : g_strdup ("");
  body = g_strdup_printf (_("The case will be closed as “%s”. It can be reopened later, with a reason."),
                          reason_label);
  dialog = ask (self, _("Close This Case?"), body, _("_Cancel"), "close", _("C_lose Case"), TRUE);
  change = g_new0 (StatusChange, 1);
  change->status = g_strdup (self->next[i]);
  change->reason = g_strdup (reason);
  g_object_set_data_full (G_OBJECT (dialog), "rfl-change", change, (GDestroyNotify) status_change_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (confirm_close_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static const char *
chosen (GStrv  values,
        guint  i)
{
  return values != NULL && i < g_strv_length (values) ? values[i] : NULL;
}

/* How a call or a visit went is asked of a contact attempt only. */
static gboolean
asks_outcome (const char *note_kind)
{
  return g_strcmp0 (note_kind, "contact_attempt") == 0;
}

static void
note_kind_changed_cb (RflCaseView *self)
{
  guint i = adw_combo_row_get_selected (self->note_kind);

  gtk_widget_set_visible (GTK_WIDGET (self->note_outcome), asks_outcome (chosen (self->note_kinds, i)));
}

static void
add_note_activated (GtkWidget  *widget,
                    const char *action_name,
                    GVariant   *parameter)
{
  RflCaseView *self = RFL_CASE_VIEW (widget);
  const char *kind = chosen (self->note_kinds, adw_combo_row_get_selected (self->note_kind));
  const char *outcome = chosen (self->note_outcomes,
                                adw_combo_row_get_selected (self->note_outcome));
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->note_text))));

  if (self->busy > 0)
    return;
  if (*text == '\0')
    {
      set_error (self, _("Write what happened before adding it to the timeline."));
      gtk_widget_grab_focus (GTK_WIDGET (self->note_text));
      return;
    }
  if (kind == NULL)
    return;
  rfl_case_view_add_note (self, kind, asks_outcome (kind) ? outcome : NULL, text);
}

static void
note_activated_cb (RflCaseView *self)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "case.add-note", NULL);
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
      if (!g_str_equal (name, "notes"))
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
  gtk_widget_class_bind_template_child (widget_class, RflCaseView, note_kind);
  gtk_widget_class_bind_template_child (widget_class, RflCaseView, note_outcome);
  gtk_widget_class_bind_template_child (widget_class, RflCaseView, note_text);
  gtk_widget_class_bind_template_callback (widget_class, next_status_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, reason_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, note_kind_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, note_activated_cb);

  gtk_widget_class_install_action (widget_class, "case.change-status", NULL, change_status_activated);
  gtk_widget_class_install_action (widget_class, "case.add-note", NULL, add_note_activated);
  gtk_widget_class_install_action (widget_class, "case.edit", NULL, edit_activated);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_e, GDK_CONTROL_MASK, "case.edit", NULL);
}

static void
rfl_case_view_init (RflCaseView *self)
{
  RflSchema *schema = rfl_schema_get_default ();
  g_autoptr(GtkStringList) outcomes = gtk_string_list_new (NULL);
  g_autoptr(GtkStringList) kind_list = gtk_string_list_new (NULL);

  gtk_widget_init_template (GTK_WIDGET (self));
  rfl_a11y_activatable_choices (GTK_WIDGET (self->next_status));
  rfl_a11y_activatable_choices (GTK_WIDGET (self->reason));
  rfl_a11y_activatable_choices (GTK_WIDGET (self->note_kind));
  rfl_a11y_activatable_choices (GTK_WIDGET (self->note_outcome));
  self->rows = g_ptr_array_new ();
  self->cancellable = g_cancellable_new ();
  self->note_kinds = rfl_schema_dup_note_kinds (schema);
  self->note_outcomes = rfl_schema_dup_enum_values (schema, rfl_schema_get_note_type (schema),
                                                    "outcome");
  for (guint i = 0; self->note_kinds[i] != NULL; i++)
    {
      g_autofree char *label = rfl_field_label (self->note_kinds[i]);

      gtk_string_list_append (kind_list, label);
    }
  adw_combo_row_set_model (self->note_kind, G_LIST_MODEL (kind_list));
  for (guint i = 0; self->note_outcomes[i] != NULL; i++)
    {
      g_autofree char *label = rfl_field_label (self->note_outcomes[i]);

      gtk_string_list_append (outcomes, label);
    }
  adw_combo_row_set_model (self->note_outcome, G_LIST_MODEL (outcomes));
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
      set_error (self, NULL);
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

/**
 * rfl_case_view_change_status:
 * @status: one of rfl_case_view_dup_next_statuses()
 * @reason: (nullable): why, where the lifecycle asks for a reason
 */
void
rfl_case_view_change_status (RflCaseView *self,
                             const char  *status,
                             const char  *reason)
{
  g_autoptr(JsonObject) patch = NULL;
  const char *field;

  g_return_if_fail (RFL_IS_CASE_VIEW (self));
  g_return_if_fail (status != NULL);

  if (self->record == NULL)
    return;
  patch = json_object_new ();
  json_object_set_string_member (patch, "status", status);
  if (reason != NULL && (field = reason_field (self, status)) != NULL)
    json_object_set_string_member (patch, field, reason);
  save (self, self->id, patch);
}

/**
 * rfl_case_view_add_note:
 * @kind: a kind of note rfl_schema_dup_note_kinds() gives
 * @outcome: (nullable): how a contact attempt went
 * @text: what happened
 */
void
rfl_case_view_add_note (RflCaseView *self,
                        const char  *kind,
                        const char  *outcome,
                        const char  *text)
{
  g_autoptr(JsonObject) note = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autofree char *today = g_date_time_format (now, "%Y-%m-%d");

  g_return_if_fail (RFL_IS_CASE_VIEW (self));
  g_return_if_fail (kind != NULL && text != NULL);

  if (self->record == NULL)
    return;
  note = json_object_new ();
  json_object_set_string_member (note, "type",
                                 rfl_schema_get_note_type (rfl_schema_get_default ()));
  json_object_set_string_member (note, "record", self->id);
  json_object_set_string_member (note, "kind", kind);
  if (outcome != NULL)
    json_object_set_string_member (note, "outcome", outcome);
  json_object_set_string_member (note, "date", today);
  json_object_set_string_member (note, "text", text);
  gtk_editable_set_text (GTK_EDITABLE (self->note_text), "");
  save (self, NULL, note);
}

/**
 * rfl_case_view_set_consent:
 * @field: a yes-or-no field of the consent ("tracing")
 * @given: whether consent is given
 */
void
rfl_case_view_set_consent (RflCaseView *self,
                           const char  *field,
                           gboolean     given)
{
  g_autoptr(JsonObject) patch = NULL;
  JsonObject *consent;

  g_return_if_fail (RFL_IS_CASE_VIEW (self));
  g_return_if_fail (field != NULL);

  if (self->record == NULL)
    return;
  consent = json_object_new ();
  if (json_object_has_member (self->record, "consent"))
    {
      JsonObjectIter iter;
      const char *name;
      JsonNode *value;

      json_object_iter_init (&iter, json_object_get_object_member (self->record, "consent"));
      while (json_object_iter_next (&iter, &name, &value))
        json_object_set_member (consent, name, json_node_copy (value));
    }
  json_object_set_boolean_member (consent, field, given);
  patch = json_object_new ();
  json_object_set_object_member (patch, "consent", json_object_ref (consent));
  save_record (self, self->id, patch, consent);
  json_object_unref (consent);
}
