/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-case"

#include <glib/gi18n.h>
#include <string.h>

#include "rfl-case-view-private.h"
#include "rfl-record-labels.h"
#include "rfl-store-sync.h"

/*
 * The case view's matches: the people proposed for this case, or this case
 * proposed for, best first, with the decisions made on them. A row opens
 * the pair on the Matches page (win.show-match), where it is decided. The
 * proposals are read off the UI thread; a case read again meanwhile drops
 * what an older read brings.
 *
 * Then the pairs HQ found with another office's people, which name only
 * that office and the score in parts: this office may ask the other to
 * share its case, and, asked, may share this one, after a question, since
 * the whole case then goes to the other office.
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
  g_autoptr(GPtrArray) offices = NULL;

  if (proposals == NULL || (offices = rfl_store_list_office_matches (store, &error)) == NULL)
    {
      g_clear_pointer (&proposals, g_ptr_array_unref);
      g_task_return_error (task, error);
      return;
    }
  /* This case's pairs with other offices come after its own proposals. */
  for (guint i = 0; i < offices->len; i++)
    {
      JsonObject *m = g_ptr_array_index (offices, i);

      if (g_strcmp0 (json_object_get_string_member_with_default (m, "case", NULL), id) == 0)
        g_ptr_array_add (proposals, json_object_ref (m));
    }
  g_task_return_pointer (task, proposals, (GDestroyNotify) g_ptr_array_unref);
}

static void
office_done_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(RflCaseView) self = user_data;
  g_autoptr(GError) error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      _rfl_case_view_set_error (self, error->message);
      return;
    }
  if (self->id != NULL)
    rfl_case_view_load (self, self->id);
}

static void
office_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  RflStore *store = g_object_get_data (G_OBJECT (task), "store");
  const char *match = g_object_get_data (G_OBJECT (task), "match");
  const char *share_with = g_object_get_data (G_OBJECT (task), "share-with");
  const char *case_id = g_object_get_data (G_OBJECT (task), "case");
  GError *error = NULL;
  gboolean ok = share_with != NULL ? rfl_store_share (store, case_id, share_with, &error)
                                   : rfl_store_show_interest (store, match, NULL, &error);

  if (!ok)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* Asks the other office to share its case (@share_with %NULL), or shares
 * this case with it. */
static void
run_office_step (RflCaseView *self,
                 const char  *match,
                 const char  *share_with)
{
  g_autoptr(GTask) task = g_task_new (NULL, self->cancellable, office_done_cb, g_object_ref (self));

  g_task_set_source_tag (task, run_office_step);
  g_object_set_data_full (G_OBJECT (task), "store", g_object_ref (self->store), g_object_unref);
  g_object_set_data_full (G_OBJECT (task), "match", g_strdup (match), g_free);
  g_object_set_data_full (G_OBJECT (task), "case", g_strdup (self->id), g_free);
  g_object_set_data_full (G_OBJECT (task), "share-with", g_strdup (share_with), g_free);
  g_task_run_in_thread (task, office_thread);
}

static void
ask_clicked_cb (GtkButton   *button,
                RflCaseView *self)
{
  gtk_widget_set_sensitive (GTK_WIDGET (button), FALSE);
  run_office_step (self, g_object_get_data (G_OBJECT (button), "rfl-match"), NULL);
}

static void
share_response_cb (AdwMessageDialog *dialog,
                   const char       *response,
                   RflCaseView      *self)
{
  if (g_strcmp0 (response, "share") == 0)
    run_office_step (self, NULL, g_object_get_data (G_OBJECT (dialog), "rfl-office"));
}

static void
share_clicked_cb (GtkButton   *button,
                  RflCaseView *self)
{
  const char *office = g_object_get_data (G_OBJECT (button), "rfl-office");
  /* Translators: %s is an office of the National Society, such as "Goma". */
  g_autofree char *heading = g_strdup_printf (_("Share This Case With %s?"), office);
  GtkWidget *dialog = _rfl_case_view_ask (self, heading,
                                          _("The other office will receive every detail of this case, "
                                            "to see whether the person it seeks is this one. Share it only "
                                            "if the person's consent allows it."),
                                          _("_Cancel"), "share", _("_Share Case"), FALSE);

  g_object_set_data_full (G_OBJECT (dialog), "rfl-office", g_strdup (office), g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (share_response_cb), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* "names +4.0" in the reader's words. */
static char *
component_text (const char *component)
{
  static const struct { const char *key; const char *label; } names[] = {
    { "names", N_("names") }, { "father_name", N_("father's name") }, { "mother_name", N_("mother's name") },
    { "sex", N_("sex") }, { "age", N_("age") }, { "place", N_("place") }, { "dates", N_("dates") },
    { "crossed", N_("crossed") },
  };
  const char *space = strchr (component, ' ');
  g_autofree char *key = space != NULL ? g_strndup (component, space - component) : g_strdup (component);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_str_equal (key, names[i].key))
      return g_strdup_printf ("%s \u2066%s\u2069", _(names[i].label), space != NULL ? space + 1 : "");
  return g_strdup (component);
}

/* "Someone at office Bukavu", and under it "Unaccompanied child · score
 * 6.2 · names +4.0, sex +0.5": nothing more of that person is known here. */
static GtkWidget *
office_row (RflCaseView *self,
            JsonObject  *match)
{
  const char *office = json_object_get_string_member_with_default (match, "other_office", "");
  const char *other_kind = json_object_get_string_member_with_default (match, "other_kind", NULL);
  JsonNode *node = json_object_get_member (match, "components");
  g_autoptr(GStrvBuilder) parts = g_strv_builder_new ();
  g_auto(GStrv) components = NULL;
  g_autofree char *joined = NULL, *score = rfl_match_score_text (match), *title = NULL, *subtitle = NULL;
  g_autofree char *spoken = NULL;
  const char *state = NULL;
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *button = NULL;

  for (guint i = 0; node != NULL && JSON_NODE_HOLDS_ARRAY (node) && i < json_array_get_length (json_node_get_array (node)); i++)
    {
      g_autofree char *part = component_text (json_array_get_string_element (json_node_get_array (node), i));

      g_strv_builder_add (parts, part);
    }
  components = g_strv_builder_end (parts);
  joined = g_strjoinv (", ", components);
  if (json_object_get_boolean_member_with_default (match, "other_interested", FALSE))
    state = _("They ask you to share this case");
  else if (json_object_get_boolean_member_with_default (match, "interested", FALSE))
    state = _("You asked them to share their case");
  /* Translators: a person another office registered or seeks, of whom
   * nothing but the office is known here; %s is the office. */
  title = g_strdup_printf (_("Someone at office %s"), office);
  subtitle = g_strdup_printf ("%s · %s · %s%s%s",
                              rfl_record_kind_label (other_kind != NULL && !g_str_equal (other_kind, "tracing_request")
                                                     ? "registration" : "tracing_request", other_kind),
                              score, joined, state != NULL ? " · " : "", state != NULL ? state : "");
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  if (json_object_get_boolean_member_with_default (match, "other_interested", FALSE))
    {
      button = gtk_button_new_with_mnemonic (_("S_hare Case…"));
      g_object_set_data_full (G_OBJECT (button), "rfl-office", g_strdup (office), g_free);
      g_signal_connect_object (button, "clicked", G_CALLBACK (share_clicked_cb), self, 0);
    }
  else if (!json_object_get_boolean_member_with_default (match, "interested", FALSE))
    {
      button = gtk_button_new_with_mnemonic (_("_Ask to Share"));
      g_object_set_data_full (G_OBJECT (button), "rfl-match",
                              g_strdup (json_object_get_string_member_with_default (match, "id", "")), g_free);
      g_signal_connect_object (button, "clicked", G_CALLBACK (ask_clicked_cb), self, 0);
    }
  if (button != NULL)
    {
      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), button);
    }
  spoken = g_strdup_printf ("%s, %s", title, subtitle);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL, spoken, -1);
  return row;
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
      {
        JsonObject *p = g_ptr_array_index (proposals, i);
        gboolean other_office = g_strcmp0 (json_object_get_string_member_with_default (p, "type", NULL),
                                           "office_match") == 0;

        _rfl_case_view_add_row (self, self->matches_group,
                                other_office ? office_row (self, p) : match_row (self, p));
      }
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
