/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-case"

#include <glib/gi18n.h>

#include "rfl-case-item.h"
#include "rfl-case-view-private.h"
#include "rfl-record-labels.h"
#include "rfl-schema.h"

/*
 * The case view's timeline: the case's notes, contact attempts and case
 * actions, each with its kind, how a contact went and when; and the rows
 * that add one, offering the kinds of note and the outcomes the schema
 * lists. A note is a record of its own, saved through the store's write
 * path like any other.
 */

/* A row per note: its text, and under it its kind, the outcome and when. */
void
_rfl_case_view_fill_timeline (RflCaseView *self)
{
  RflSchema *schema = rfl_schema_get_default ();
  const char *note_type = rfl_schema_get_note_type (schema);
  const char *plain = rfl_schema_get_field_default (schema, note_type, "kind");
  JsonArray *notes = json_object_has_member (self->record, "notes")
                     ? json_object_get_array_member (self->record, "notes") : NULL;

  for (guint i = 0; notes != NULL && i < json_array_get_length (notes); i++)
    {
      JsonObject *note = json_array_get_object_element (notes, i);
      const char *name = json_object_get_string_member_with_default (note, "kind",
                                                                     plain ? plain : "");
      g_autofree char *kind = rfl_field_label (name);
      const char *outcome = json_object_get_string_member_with_default (note, "outcome", NULL);
      const char *created = json_object_get_string_member_with_default (note, "created_at", NULL);
      g_autofree char *at = rfl_format_time (created, TRUE);
      g_autofree char *outcome_label = outcome != NULL ? rfl_field_label (outcome) : NULL;
      g_autofree char *subtitle = NULL;
      GtkWidget *row;

      subtitle = outcome_label != NULL ? g_strdup_printf ("%s · %s · %s", kind, outcome_label, at)
                                       : g_strdup_printf ("%s · %s", kind, at);
      row = _rfl_case_view_add_info (self, self->timeline_group,
                                     json_object_get_string_member_with_default (note, "text", ""),
                                     subtitle);
      /* A note is read whole. */
      g_object_set (row, "title-lines", 0, NULL);
    }
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

  gtk_widget_set_visible (GTK_WIDGET (self->note_outcome),
                          asks_outcome (chosen (self->note_kinds, i)));
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
  const char *typed = gtk_editable_get_text (GTK_EDITABLE (self->note_text));
  g_autofree char *text = g_strstrip (g_strdup (typed));

  if (self->busy > 0)
    return;
  if (*text == '\0')
    {
      _rfl_case_view_set_error (self, _("Write what happened before adding it to the timeline."));
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

/* Binds the timeline rows' callbacks and installs case.add-note; after the
 * template is set. */
void
_rfl_case_view_class_timeline_init (GtkWidgetClass *widget_class)
{
  gtk_widget_class_bind_template_callback (widget_class, note_kind_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, note_activated_cb);
  gtk_widget_class_install_action (widget_class, "case.add-note", NULL, add_note_activated);
}

/* What a combo row offers: the words for @names, in their order. */
static void
set_choices (AdwComboRow *row,
             GStrv        names)
{
  g_autoptr(GtkStringList) labels = gtk_string_list_new (NULL);

  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autofree char *label = rfl_field_label (names[i]);

      gtk_string_list_append (labels, label);
    }
  adw_combo_row_set_model (row, G_LIST_MODEL (labels));
}

/* The rows that add an entry offer what the schema lists. */
void
_rfl_case_view_timeline_init (RflCaseView *self)
{
  RflSchema *schema = rfl_schema_get_default ();

  self->note_kinds = rfl_schema_dup_note_kinds (schema);
  self->note_outcomes = rfl_schema_dup_enum_values (schema, rfl_schema_get_note_type (schema),
                                                    "outcome");
  set_choices (self->note_kind, self->note_kinds);
  set_choices (self->note_outcome, self->note_outcomes);
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
  _rfl_case_view_save (self, NULL, note, NULL);
}
