/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-case"

#include <glib/gi18n.h>

#include "rfl-case-item.h"
#include "rfl-case-view-private.h"
#include "rfl-record-labels.h"
#include "rfl-schema.h"

/*
 * The case view's status section: where the case stands, how it got there
 * (the history, with who changed it and why), and changing it. The
 * statuses offered are the ones the schema's lifecycle allows next; where
 * the lifecycle asks for a reason the volunteer chooses one, and closing,
 * which starts the retention period, is confirmed first.
 */

/* The status now, what it can change to, and the history's rows. */
void
_rfl_case_view_fill_status (RflCaseView *self)
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
  gtk_widget_set_visible (GTK_WIDGET (self->next_status),
                          self->next != NULL && self->next[0] != NULL);

  for (guint i = 0; history != NULL && i < json_array_get_length (history); i++)
    {
      JsonObject *entry = json_array_get_object_element (history, i);
      const char *changed = json_object_get_string_member_with_default (entry, "at", NULL);
      g_autofree char *at = rfl_format_time (changed, TRUE);
      const char *reason = json_object_get_string_member_with_default (entry, "reason", NULL);
      g_autofree char *reason_label = reason != NULL ? rfl_field_label (reason) : NULL;
      const char *to = json_object_get_string_member_with_default (entry, "status", NULL);
      const char *entered = rfl_record_status_label (to);
      const char *by = json_object_get_string_member_with_default (entry, "by", NULL);
      g_autofree char *title = NULL, *when = NULL;

      title = reason_label != NULL ? g_strdup_printf ("%s (%s)", entered, reason_label)
                                   : g_strdup (entered);
      if (by != NULL)
        /* Translators: when a status changed, and who changed it. */
        when = g_strdup_printf (_("%s · by %s"), at != NULL ? at : "", by);
      else
        when = g_strdup (at);
      _rfl_case_view_add_info (self, (AdwPreferencesGroup *) self->history, title, when);
    }
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
  const char *type = json_object_get_string_member_with_default (self->record, "type", "");
  g_autoptr(JsonArray) fields = rfl_schema_describe (rfl_schema_get_default (), type);
  JsonObject *desc = _rfl_case_view_find_field (fields, field);

  return desc != NULL && json_object_has_member (desc, "values")
         ? json_array_ref (json_object_get_array_member (desc, "values")) : NULL;
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
      gtk_accessible_update_state (row, GTK_ACCESSIBLE_STATE_INVALID, GTK_ACCESSIBLE_INVALID_TRUE,
                                   -1);
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
next_status_changed_cb (RflCaseView *self)
{
  guint i = adw_combo_row_get_selected (self->next_status);
  const char *field;
  g_autoptr(JsonArray) values = NULL;
  g_autoptr(GtkStringList) labels = NULL;

  if (self->record == NULL || self->next == NULL || i >= g_strv_length (self->next) ||
      (field = reason_field (self, self->next[i])) == NULL ||
      (values = reason_values (self, field)) == NULL)
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

  if (self->record == NULL || self->busy > 0 || self->next == NULL ||
      i >= g_strv_length (self->next))
    return;
  if ((field = reason_field (self, self->next[i])) != NULL &&
      (values = reason_values (self, field)) != NULL)
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
  body = g_strdup_printf (_("The case will be closed as “%s”. It can be reopened later, "
                            "with a reason."), reason_label);
  dialog = _rfl_case_view_ask (self, _("Close This Case?"), body, _("_Cancel"), "close",
                               _("C_lose Case"), TRUE);
  change = g_new0 (StatusChange, 1);
  change->status = g_strdup (self->next[i]);
  change->reason = g_strdup (reason);
  g_object_set_data_full (G_OBJECT (dialog), "rfl-change", change,
                          (GDestroyNotify) status_change_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (confirm_close_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Binds the status rows' callbacks and installs case.change-status; after
 * the template is set. */
void
_rfl_case_view_class_status_init (GtkWidgetClass *widget_class)
{
  gtk_widget_class_bind_template_callback (widget_class, next_status_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, reason_changed_cb);
  gtk_widget_class_install_action (widget_class, "case.change-status", NULL,
                                   change_status_activated);
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
  _rfl_case_view_save (self, self->id, patch, NULL);
}
