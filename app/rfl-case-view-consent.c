/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-case"

#include <glib/gi18n.h>

#include "rfl-a11y.h"
#include "rfl-case-view-private.h"
#include "rfl-record-labels.h"

/*
 * The case view's consent section, as the schema describes consent: a
 * switch for each yes or no, the rest as text. Giving consent is saved at
 * once and keeps the view as it is; withdrawing what the person agreed to
 * is asked about first, and the timeline records who withdrew it and when.
 */

static void consent_toggled_cb (GtkSwitch *toggle, GParamSpec *pspec, RflCaseView *self);

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
  dialog = _rfl_case_view_ask (self, heading,
                               _("Withdraw it only when the person asked to. The timeline records "
                                 "who withdrew it and when."),
                               _("_Keep"), "withdraw", _("_Withdraw Consent"), FALSE);
  g_object_set_data_full (G_OBJECT (dialog), "rfl-switch", g_object_ref (toggle),
                          g_object_unref);
  g_signal_connect_object (dialog, "response", G_CALLBACK (confirm_withdraw_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* Consent as the schema describes it: a switch for each yes-or-no, the rest
 * as text. */
void
_rfl_case_view_fill_consent (RflCaseView *self,
                             JsonArray   *fields)
{
  JsonObject *desc = _rfl_case_view_find_field (fields, "consent");
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

      const char *kind = json_object_get_string_member_with_default (field, "kind", NULL);

      if (g_strcmp0 (kind, "boolean") == 0)
        {
          GtkWidget *row = adw_action_row_new ();
          GtkWidget *toggle = gtk_switch_new ();
          gboolean given = consent != NULL &&
                           json_object_get_boolean_member_with_default (consent, name, FALSE);

          adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), label);
          gtk_widget_set_valign (toggle, GTK_ALIGN_CENTER);
          gtk_switch_set_active (GTK_SWITCH (toggle), given);
          /* What the switch changes, and its name for the question that
           * withdrawing asks. */
          g_object_set_data_full (G_OBJECT (toggle), "rfl-field", g_strdup (name), g_free);
          g_object_set_data_full (G_OBJECT (toggle), "rfl-label", g_strdup (label), g_free);
          g_signal_connect (toggle, "notify::active", G_CALLBACK (consent_toggled_cb), self);
          adw_action_row_add_suffix (ADW_ACTION_ROW (row), toggle);
          adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), toggle);
          rfl_a11y_name_switch (toggle, label);
          _rfl_case_view_add_row (self, self->consent_group, row);
        }
      else if (consent != NULL && json_object_has_member (consent, name))
        {
          const char *text = json_object_get_string_member_with_default (consent, name, NULL);

          if (text != NULL)
            _rfl_case_view_add_info (self, self->consent_group, label, text);
        }
    }
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
  _rfl_case_view_save (self, self->id, patch, consent);
  json_object_unref (consent);
}
