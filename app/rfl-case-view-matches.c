/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-case"

#include <glib/gi18n.h>

#include "rfl-case-view-private.h"
#include "rfl-record-labels.h"

/*
 * The case view's matches: the people proposed for this case, or this case
 * proposed for, best first, with the decisions made on them. A row opens
 * the pair on the Matches page (win.show-match), where it is decided. The
 * proposals are read off the UI thread; a case read again meanwhile drops
 * what an older read brings.
 */

#define MATCHES_SHOWN 20
#define MATCHES_FLOOR 3.0

typedef struct
{
  RflCaseView *view;
  guint        serial;
} Read;

static void
read_free (Read *r)
{
  g_object_unref (r->view);
  g_free (r);
}

static void
read_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  RflStore *store = g_object_get_data (G_OBJECT (task), "store");
  const char *id = g_object_get_data (G_OBJECT (task), "id");
  GError *error = NULL;
  GPtrArray *proposals = rfl_store_list_proposals (store, id, MATCHES_FLOOR, 0, MATCHES_SHOWN, &error);

  if (proposals == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, proposals, (GDestroyNotify) g_ptr_array_unref);
}

/* "Ibrahim Yusuf", and under it "Unaccompanied child · score 6.4 · Confirmed":
 * the other side of the pair, seen from this case. */
static GtkWidget *
match_row (RflCaseView *self,
           JsonObject  *proposal)
{
  gboolean mine = g_strcmp0 (json_object_get_string_member_with_default (proposal, "case", NULL), self->id) == 0;
  const char *name = json_object_get_string_member_with_default (proposal, mine ? "candidate_name" : "person_name",
                                                                 NULL);
  gboolean twice = g_strcmp0 (json_object_get_string_member_with_default (proposal, "kind", NULL),
                              "duplicate") == 0;
  const char *kind = twice ? _("Perhaps the same person, registered twice")
                   : mine ? rfl_record_kind_label (json_object_get_string_member_with_default (proposal,
                                                                                              "candidate_type", ""),
                                                   json_object_get_string_member_with_default (proposal,
                                                                                              "candidate_subtype",
                                                                                              NULL))
                          : rfl_record_kind_label ("tracing_request", NULL);
  const char *decided = rfl_match_decision_label (json_object_get_string_member_with_default (proposal, "decision",
                                                                                            NULL));
  g_autofree char *score = rfl_match_score_text (proposal);
  g_autofree char *subtitle = decided != NULL ? g_strdup_printf ("%s · %s · %s", kind, score, decided)
                                              : g_strdup_printf ("%s · %s", kind, score);
  g_autofree char *title = g_markup_escape_text (name != NULL ? name : _("(no name)"), -1);
  g_autofree char *spoken = NULL;
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *arrow = gtk_image_new_from_icon_name ("go-next-symbolic");

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  gtk_widget_set_valign (arrow, GTK_ALIGN_CENTER);
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), arrow);
  /* A screen reader reads the row whole, the decision included. */
  spoken = g_strdup_printf ("%s, %s", name != NULL ? name : _("(no name)"), subtitle);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL, spoken, -1);
  gtk_list_box_row_set_activatable (GTK_LIST_BOX_ROW (row), TRUE);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (row), "win.show-match");
  gtk_actionable_set_action_target (GTK_ACTIONABLE (row), "s",
                                    json_object_get_string_member_with_default (proposal, "id", ""));
  return row;
}

static void
read_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Read *r = user_data;
  RflCaseView *self = r->view;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) proposals = g_task_propagate_pointer (G_TASK (result), &error);

  if (r->serial != self->matches_serial || g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      read_free (r);
      return;   /* the case was read again, or closed */
    }
  if (proposals == NULL)
    {
      g_warning ("Cannot read the case's match proposals: %s", error->message);
      _rfl_case_view_add_info (self, self->matches_group, _("The match proposals could not be read"), NULL);
    }
  else if (proposals->len == 0)
    _rfl_case_view_add_info (self, self->matches_group, _("No one is proposed for now"),
                             _("Proposals are made again whenever a record changes"));
  else
    for (guint i = 0; i < proposals->len; i++)
      _rfl_case_view_add_row (self, self->matches_group, match_row (self, g_ptr_array_index (proposals, i)));
  read_free (r);
}

/* Tracing requests and registrations have proposals; other records none. */
void
_rfl_case_view_fill_matches (RflCaseView *self)
{
  const char *type = json_object_get_string_member_with_default (self->record, "type", "");
  gboolean matched = g_str_equal (type, "tracing_request") || g_str_equal (type, "registration");
  g_autoptr(GTask) task = NULL;
  Read *r;

  self->matches_serial++;
  gtk_widget_set_visible (GTK_WIDGET (self->matches_group), matched);
  if (!matched || self->store == NULL)
    return;
  r = g_new0 (Read, 1);
  r->view = g_object_ref (self);
  r->serial = self->matches_serial;
  task = g_task_new (NULL, self->cancellable, read_cb, r);
  g_task_set_source_tag (task, _rfl_case_view_fill_matches);
  g_object_set_data_full (G_OBJECT (task), "store", g_object_ref (self->store), g_object_unref);
  g_object_set_data_full (G_OBJECT (task), "id", g_strdup (self->id), g_free);
  g_task_run_in_thread (task, read_thread);
}
