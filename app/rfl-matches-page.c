/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-matches"

#include <glib/gi18n.h>

#include "rfl-matches-page.h"
#include "rfl-record-labels.h"
#include "rfl-store-follow.h"

/*
 * The Matches page: the proposals best first, and for the one selected, the
 * two people side by side with the points each piece of evidence adds, the
 * explanation, and the decision: confirm, needs more information, reject,
 * with a reason; once confirmed, telling the family, which the store
 * refuses without consent and the page says why.
 *
 * When shown, it first makes again the proposals of the records changed
 * since the last look (rfl_store_refresh_proposals(), in a worker thread,
 * with a progress bar when there are many), then reads the list. The two
 * records of a proposal are read when it is selected: that is a view, and
 * audited as one.
 */

#define MAX_LISTED 500

struct _RflMatchesPage
{
  AdwBin          parent_instance;

  GtkStack       *stack;
  GtkProgressBar *progress;
  GtkListBox     *list;
  GtkLabel       *title;
  GtkLabel       *subtitle;
  GtkGrid        *compare;
  GtkLabel       *explanation;
  GtkLabel       *decision;
  GtkEntry       *reason;
  GtkWidget      *confirm_button;
  GtkWidget      *more_button;
  GtkWidget      *reject_button;
  GtkWidget      *share_button;
  GtkLabel       *problem;

  RflStore       *store;
  GSignalGroup   *store_signals;
  GBindingGroup  *window_bindings;
  GCancellable   *cancellable;
  GPtrArray      *proposals;     /* JsonObject, as listed */
  JsonObject     *shown;         /* the proposal in the detail */
  char           *keep_selected; /* a proposal id to select after a reload */
  gboolean        focus_selected; /* and to give the focus, once */
  gboolean        loading;
  gboolean        again;         /* the store changed while loading */
};

G_DEFINE_FINAL_TYPE (RflMatchesPage, rfl_matches_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_LOADING,
  PROP_STORE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_TOAST,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

/* Reading: stale proposals made again, then the list. */

typedef struct
{
  GWeakRef page;
  guint64  done;
  guint64  total;
} Progress;

static gboolean
show_progress_cb (gpointer data)
{
  Progress *p = data;
  g_autoptr(RflMatchesPage) self = g_weak_ref_get (&p->page);

  if (self != NULL && p->total > 0)
    {
      g_autofree char *done = g_strdup_printf ("%" G_GUINT64_FORMAT, p->done);
      g_autofree char *total = g_strdup_printf ("%" G_GUINT64_FORMAT, p->total);
      g_autofree char *text = NULL;

      /* Translators: records compared so far, of how many. */
      text = g_strdup_printf (_("%s of %s records"), done, total);
      gtk_progress_bar_set_fraction (self->progress, (double) p->done / p->total);
      gtk_progress_bar_set_text (self->progress, text);
      if (p->done < p->total)
        gtk_stack_set_visible_child_name (self->stack, "working");
    }
  g_weak_ref_clear (&p->page);
  g_free (p);
  return G_SOURCE_REMOVE;
}

static void
progress_cb (guint64  done,
             guint64  total,
             gpointer data)
{
  Progress *p = g_new0 (Progress, 1);

  g_weak_ref_init (&p->page, data);
  p->done = done;
  p->total = total;
  g_idle_add (show_progress_cb, p);
}

static void
read_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  RflStore *store = task_data;
  GError *error = NULL;
  GPtrArray *proposals;

  if (!rfl_store_refresh_proposals (store, cancellable, progress_cb, source_object, &error) ||
      (proposals = rfl_store_list_proposals (store, NULL, 3.0, 0, MAX_LISTED, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, proposals, (GDestroyNotify) g_ptr_array_unref);
}

static const char *
kind_label (JsonObject *proposal)
{
  const char *kind = json_object_get_string_member_with_default (proposal, "kind", "");

  if (g_str_equal (kind, "crossed"))
    return _("Crossed requests: each seeks the other");
  if (g_str_equal (kind, "sought_twice"))
    return _("Two families seek this person");
  if (g_str_equal (kind, "enquirer") || g_str_equal (kind, "seeks_enquirer"))
    return _("Sought by one request, enquirer in another");
  if (g_str_equal (kind, "caregiver"))
    return _("The enquirer may care for a registered child");
  return rfl_record_kind_label (json_object_get_string_member_with_default (proposal, "candidate_type", ""),
                                json_object_get_string_member_with_default (proposal, "candidate_subtype", NULL));
}

/* The two people of a proposal. Each name is isolated (FSI ... PDI), so
 * that a name in Arabic does not take the other name with it, and the line
 * starts with the interface's own direction mark: Pango takes a label's
 * direction from its first strong letter, and a sentence in English that
 * opens with an Arabic name would otherwise be laid out right to left. */
static char *
pair_title (const char *a,
            const char *b)
{
  const char *mark = gtk_widget_get_default_direction () == GTK_TEXT_DIR_RTL ? "\u200f" : "\u200e";
  g_autofree char *x = g_strconcat ("\u2068", a, "\u2069", NULL);
  g_autofree char *y = g_strconcat ("\u2068", b, "\u2069", NULL);
  /* Translators: the two people of a proposed match: sought, then found. */
  g_autofree char *line = g_strdup_printf (_("%s and %s"), x, y);

  return g_strconcat (mark, line, NULL);
}

static GtkWidget *
make_row (JsonObject *proposal)
{
  const char *a = json_object_get_string_member_with_default (proposal, "person_name", "?");
  const char *b = json_object_get_string_member_with_default (proposal, "candidate_name", "?");
  const char *decided = rfl_match_decision_label (json_object_get_string_member_with_default (proposal, "decision",
                                                                                            NULL));
  g_autofree char *score = rfl_match_score_text (proposal);
  g_autofree char *names = NULL, *details = NULL, *spoken = NULL;
  GtkWidget *row = gtk_list_box_row_new ();
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *title, *subtitle;

  names = pair_title (a, b);
  details = decided != NULL ? g_strdup_printf ("%s · %s · %s", score, kind_label (proposal), decided)
                            : g_strdup_printf ("%s · %s", score, kind_label (proposal));
  title = gtk_label_new (names);
  gtk_label_set_xalign (GTK_LABEL (title), 0);
  gtk_label_set_wrap (GTK_LABEL (title), TRUE);
  subtitle = gtk_label_new (details);
  gtk_label_set_xalign (GTK_LABEL (subtitle), 0);
  gtk_label_set_wrap (GTK_LABEL (subtitle), TRUE);
  gtk_widget_add_css_class (subtitle, "dim-label");
  gtk_widget_add_css_class (subtitle, "caption");
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_box_append (GTK_BOX (box), title);
  gtk_box_append (GTK_BOX (box), subtitle);
  gtk_list_box_row_set_child (GTK_LIST_BOX_ROW (row), box);
  spoken = g_strdup_printf ("%s, %s", names, details);
  gtk_accessible_update_property (GTK_ACCESSIBLE (row), GTK_ACCESSIBLE_PROPERTY_LABEL, spoken, -1);
  return row;
}

static void
set_loading (RflMatchesPage *self,
             gboolean        loading)
{
  if (self->loading == loading)
    return;
  self->loading = loading;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
}

static void
fill_list (RflMatchesPage *self)
{
  GtkWidget *child;
  GtkListBoxRow *select = NULL;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->list))) != NULL)
    gtk_list_box_remove (self->list, child);
  for (guint i = 0; i < self->proposals->len; i++)
    {
      JsonObject *p = g_ptr_array_index (self->proposals, i);
      GtkWidget *row = make_row (p);

      gtk_list_box_append (self->list, row);
      if (select == NULL ||
          g_strcmp0 (self->keep_selected, json_object_get_string_member_with_default (p, "id", NULL)) == 0)
        select = GTK_LIST_BOX_ROW (row);
    }
  gtk_stack_set_visible_child_name (self->stack, self->proposals->len > 0 ? "list" : "empty");
  if (select != NULL)
    {
      gtk_list_box_select_row (self->list, select);
      if (self->focus_selected)
        gtk_widget_grab_focus (GTK_WIDGET (select));
    }
  self->focus_selected = FALSE;
}

static void
read_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(RflMatchesPage) self = user_data;
  g_autoptr(GError) error = NULL;
  GPtrArray *proposals = g_task_propagate_pointer (G_TASK (result), &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  set_loading (self, FALSE);
  if (proposals == NULL)
    {
      g_warning ("Cannot read the match proposals: %s", error->message);
      g_signal_emit (self, signals[SIGNAL_TOAST], 0, _("The match proposals could not be read"));
      gtk_stack_set_visible_child_name (self->stack, "empty");
      return;
    }
  g_clear_pointer (&self->proposals, g_ptr_array_unref);
  self->proposals = proposals;
  fill_list (self);
  if (self->again)
    {
      self->again = FALSE;
      rfl_matches_page_refresh (self);
    }
}

/* The detail: the two records side by side. */

typedef struct
{
  JsonObject *proposal;
  JsonObject *sought_case;
  JsonObject *found_case;
  JsonObject *explained;   /* the pair scored again, in this language; may be NULL */
} Detail;

static void
detail_free (Detail *d)
{
  g_clear_pointer (&d->proposal, json_object_unref);
  g_clear_pointer (&d->sought_case, json_object_unref);
  g_clear_pointer (&d->found_case, json_object_unref);
  g_clear_pointer (&d->explained, json_object_unref);
  g_free (d);
}

static void
detail_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  Detail *d = task_data;
  RflStore *store = g_object_get_data (G_OBJECT (task), "store");
  GError *error = NULL;

  if ((d->sought_case = rfl_store_get (store, json_object_get_string_member (d->proposal, "case"), &error)) ==
        NULL ||
      (d->found_case = rfl_store_get (store, json_object_get_string_member (d->proposal, "candidate_case"),
                                      &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* A kept proposal speaks the language of whoever made it. */
  d->explained = rfl_store_explain_match (store, d->proposal, &error);
  if (error != NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_boolean (task, TRUE);
}

/* The person of @record whose id is @id, wherever the record holds it. */
static JsonObject *
find_person (JsonObject *record,
             const char *id)
{
  JsonObjectIter iter;
  const char *member;
  JsonNode *node;

  json_object_iter_init (&iter, record);
  while (json_object_iter_next (&iter, &member, &node))
    {
      if (JSON_NODE_HOLDS_OBJECT (node) &&
          g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (node), "id", NULL), id) == 0)
        return json_node_get_object (node);
      if (JSON_NODE_HOLDS_ARRAY (node))
        {
          JsonArray *array = json_node_get_array (node);

          for (guint i = 0; i < json_array_get_length (array); i++)
            {
              JsonNode *element = json_array_get_element (array, i);

              if (JSON_NODE_HOLDS_OBJECT (element) &&
                  g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (element), "id",
                                                                         NULL), id) == 0)
                return json_node_get_object (element);
            }
        }
    }
  return NULL;
}

static char *
person_value (JsonObject *record,
              JsonObject *person,
              const char *what)
{
  if (person == NULL)
    return NULL;
  if (g_str_equal (what, "name"))
    return rfl_person_display_name (person);
  if (g_str_equal (what, "alternate_names") && json_object_has_member (person, "alternate_names"))
    {
      JsonArray *names = json_object_get_array_member (person, "alternate_names");
      g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
      g_auto(GStrv) all = NULL;

      for (guint i = 0; i < json_array_get_length (names); i++)
        g_strv_builder_add (builder, json_array_get_string_element (names, i));
      all = g_strv_builder_end (builder);
      return g_strjoinv (", ", all);
    }
  if (g_str_equal (what, "sex"))
    {
      const char *sex = json_object_get_string_member_with_default (person, "sex", NULL);

      return sex != NULL ? rfl_field_label (sex) : NULL;
    }
  if (g_str_equal (what, "born"))
    {
      if (json_object_has_member (person, "date_of_birth"))
        return g_strdup (json_object_get_string_member (person, "date_of_birth"));
      if (json_object_has_member (person, "approximate_age"))
        /* Translators: an age given instead of a date of birth. */
        return g_strdup_printf (_("about %ld years old"),
                                (long) json_object_get_int_member (person, "approximate_age"));
      return NULL;
    }
  if (g_str_equal (what, "place"))
    {
      static const char * const places[] = { "registered_place", "place_of_detention" };

      for (guint i = 0; i < G_N_ELEMENTS (places); i++)
        if (json_object_has_member (record, places[i]) && person == find_person (record,
              json_object_get_string_member_with_default (person, "id", NULL)) &&
            json_object_has_member (record, "person"))
          return g_strdup (json_object_get_string_member (record, places[i]));
      return g_strdup (json_object_get_string_member_with_default (person, "last_seen_place", NULL));
    }
  if (g_str_equal (what, "date"))
    {
      if (json_object_has_member (record, "registered_date") && json_object_has_member (record, "person"))
        return g_strdup (json_object_get_string_member (record, "registered_date"));
      return g_strdup (json_object_get_string_member_with_default (person, "last_seen_date", NULL));
    }
  return g_strdup (json_object_get_string_member_with_default (person, what, NULL));
}

static void
clear_grid (GtkGrid *grid)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (grid))) != NULL)
    gtk_grid_remove (grid, child);
}

static GtkWidget *
cell (const char *text,
      const char *css)
{
  GtkWidget *label = gtk_label_new (text != NULL ? text : "—");

  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_widget_set_hexpand (label, css == NULL || !g_str_equal (css, "heading"));
  if (css != NULL)
    gtk_widget_add_css_class (label, css);
  return label;
}

static void
show_detail (RflMatchesPage *self,
             Detail         *d)
{
  static const struct { const char *what; const char *label; const char *points; } rows[] = {
    { "name", N_("Name"), "names" },
    { "alternate_names", N_("Other names"), "names" },
    { "sex", N_("Sex"), "sex" },
    { "born", N_("Born"), "age" },
    { "father_name", N_("Father"), "father_name" },
    { "mother_name", N_("Mother"), "mother_name" },
    { "place", N_("Last seen / registered in"), "place" },
    { "date", N_("Last seen / registered on"), "dates" },
  };
  JsonObject *p = d->proposal;
  JsonObject *explained = d->explained != NULL ? d->explained : p;
  JsonObject *points = json_object_get_object_member (explained, "points");
  JsonObject *sought = find_person (d->sought_case, json_object_get_string_member_with_default (p, "person", ""));
  JsonObject *found = find_person (d->found_case,
                                   json_object_get_string_member_with_default (p, "candidate_person", ""));
  const char *decided = rfl_match_decision_label (json_object_get_string_member_with_default (p, "decision", NULL));
  JsonArray *lines = json_object_get_array_member (explained, "explanation");
  g_autoptr(GString) why = g_string_new (NULL);
  g_autofree char *title = NULL, *score = rfl_match_score_text (p), *subtitle = NULL;
  guint r = 1;

  title = pair_title (json_object_get_string_member_with_default (p, "person_name", "?"),
                      json_object_get_string_member_with_default (p, "candidate_name", "?"));
  gtk_label_set_text (self->title, title);
  subtitle = g_strdup_printf ("%s · %s", score, kind_label (p));
  gtk_label_set_text (self->subtitle, subtitle);

  clear_grid (self->compare);
  gtk_grid_attach (self->compare, cell (rfl_record_kind_label ("tracing_request", NULL), "heading"), 1, 0, 1, 1);
  gtk_grid_attach (self->compare,
                   cell (rfl_record_kind_label (json_object_get_string_member_with_default (d->found_case, "type", ""),
                                                json_object_get_string_member_with_default (d->found_case, "subtype",
                                                                                            NULL)), "heading"),
                   2, 0, 1, 1);
  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *a = person_value (d->sought_case, sought, rows[i].what);
      g_autofree char *b = person_value (d->found_case, found, rows[i].what);
      double weight;
      gboolean scored = points != NULL && json_object_has_member (points, rows[i].points) &&
                        !g_str_equal (rows[i].what, "alternate_names");
      g_autofree char *weight_text = NULL;

      if (a == NULL && b == NULL)
        continue;
      weight = scored ? json_object_get_double_member (points, rows[i].points) : 0;
      /* Left to right in any language, so that "+3.6" does not read
       * "3.6+" on a page laid out right to left. */
      weight_text = scored ? g_strdup_printf ("\u200e%+.1f", weight) : NULL;
      gtk_grid_attach (self->compare, cell (_(rows[i].label), "dim-label"), 0, r, 1, 1);
      gtk_grid_attach (self->compare, cell (a, scored ? (weight > 0 ? "success" : weight < 0 ? "error" : NULL) : NULL),
                       1, r, 1, 1);
      gtk_grid_attach (self->compare, cell (b, scored ? (weight > 0 ? "success" : weight < 0 ? "error" : NULL) : NULL),
                       2, r, 1, 1);
      if (weight_text != NULL)
        gtk_grid_attach (self->compare, cell (weight_text, weight > 0 ? "success" : weight < 0 ? "error" : NULL),
                         3, r, 1, 1);
      r++;
    }

  for (guint i = 0; lines != NULL && i < json_array_get_length (lines); i++)
    g_string_append_printf (why, "%s%s", i > 0 ? "\n" : "", json_array_get_string_element (lines, i));
  gtk_label_set_text (self->explanation, why->str);

  if (decided != NULL)
    {
      const char *by = json_object_get_string_member_with_default (p, "decided_by", NULL);
      const char *reason = json_object_get_string_member_with_default (p, "reason", NULL);
      g_autofree char *text = NULL;

      if (json_object_get_boolean_member_with_default (p, "whereabouts_shared", FALSE))
        decided = _("Located and shared with the family");
      /* Translators: a decision on a match, who made it, and why. */
      text = reason != NULL ? g_strdup_printf (_("%s by %s: %s"), decided, by != NULL ? by : "?", reason)
                            : g_strdup_printf (_("%s by %s"), decided, by != NULL ? by : "?");
      gtk_label_set_text (self->decision, text);
    }
  gtk_widget_set_visible (GTK_WIDGET (self->decision), decided != NULL);
  gtk_widget_set_visible (self->share_button,
                          g_strcmp0 (json_object_get_string_member_with_default (p, "decision", NULL),
                                     "confirmed") == 0 &&
                          !json_object_get_boolean_member_with_default (p, "whereabouts_shared", FALSE));
  gtk_widget_set_visible (GTK_WIDGET (self->problem), FALSE);
  gtk_editable_set_text (GTK_EDITABLE (self->reason), "");
}

static void
detail_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(RflMatchesPage) self = user_data;
  g_autoptr(GError) error = NULL;
  Detail *d = g_task_get_task_data (G_TASK (result));

  if (!g_task_propagate_boolean (G_TASK (result), &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          gtk_label_set_text (self->problem, error->message);
          gtk_widget_set_visible (GTK_WIDGET (self->problem), TRUE);
        }
      return;
    }
  if (self->shown != d->proposal)
    return;   /* another was selected meanwhile */
  show_detail (self, d);
}

static void
row_selected_cb (RflMatchesPage *self,
                 GtkListBoxRow  *row)
{
  g_autoptr(GTask) task = NULL;
  Detail *d;
  int index;

  if (row == NULL || self->store == NULL || self->proposals == NULL)
    return;
  index = gtk_list_box_row_get_index (row);
  if (index < 0 || (guint) index >= self->proposals->len)
    return;
  d = g_new0 (Detail, 1);
  d->proposal = json_object_ref (g_ptr_array_index (self->proposals, index));
  self->shown = d->proposal;
  g_free (self->keep_selected);
  self->keep_selected = g_strdup (json_object_get_string_member_with_default (d->proposal, "id", NULL));
  task = g_task_new (self, self->cancellable, detail_cb, g_object_ref (self));
  g_task_set_source_tag (task, row_selected_cb);
  g_task_set_task_data (task, d, (GDestroyNotify) detail_free);
  g_object_set_data_full (G_OBJECT (task), "store", g_object_ref (self->store), g_object_unref);
  g_task_run_in_thread (task, detail_thread);
}

/* Deciding. */

typedef struct
{
  char *id;
  char *decision;   /* NULL: tell the family */
  char *reason;
} Decide;

static void
decide_free (Decide *d)
{
  g_free (d->id);
  g_free (d->decision);
  g_free (d->reason);
  g_free (d);
}

static void
decide_thread (GTask        *task,
               gpointer      source_object,
               gpointer      task_data,
               GCancellable *cancellable)
{
  Decide *d = task_data;
  RflStore *store = g_object_get_data (G_OBJECT (task), "store");
  GError *error = NULL;
  JsonObject *out = d->decision != NULL ? rfl_store_decide_match (store, d->id, d->decision, d->reason, &error)
                                        : rfl_store_share_whereabouts (store, d->id, &error);

  if (out == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, out, (GDestroyNotify) json_object_unref);
}

static void
decide_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(RflMatchesPage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = g_task_propagate_pointer (G_TASK (result), &error);
  Decide *d = g_task_get_task_data (G_TASK (result));
  const char *message;

  gtk_widget_set_sensitive (GTK_WIDGET (self->stack), TRUE);
  if (out == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      /* Why it was refused: consent, for one. */
      gtk_label_set_text (self->problem, error->message);
      gtk_widget_set_visible (GTK_WIDGET (self->problem), TRUE);
      return;
    }
  if (d->decision == NULL)
    message = _("Recorded: the family was told where the person is");
  else if (g_str_equal (d->decision, "confirmed") &&
           json_array_get_length (json_object_get_array_member (out, "located")) > 0)
    message = _("Match confirmed: the request is now located. Next: contact the family, a Red Cross Message, "
                "reunification");
  else if (g_str_equal (d->decision, "confirmed"))
    message = _("Match confirmed");
  else if (g_str_equal (d->decision, "rejected"))
    message = _("Rejected: the pair will not be proposed again unless a name, the sex or a date of birth changes");
  else
    message = _("Marked as needing more information");
  g_signal_emit (self, signals[SIGNAL_TOAST], 0, message);
  rfl_matches_page_refresh (self);
}

static void
decide (RflMatchesPage *self,
        const char     *decision)
{
  g_autoptr(GTask) task = NULL;
  Decide *d;

  if (self->store == NULL || self->shown == NULL)
    return;
  d = g_new0 (Decide, 1);
  d->id = g_strdup (json_object_get_string_member_with_default (self->shown, "id", ""));
  d->decision = g_strdup (decision);
  d->reason = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->reason))));
  gtk_widget_set_visible (GTK_WIDGET (self->problem), FALSE);
  task = g_task_new (self, self->cancellable, decide_cb, g_object_ref (self));
  g_task_set_source_tag (task, decide);
  g_task_set_task_data (task, d, (GDestroyNotify) decide_free);
  g_object_set_data_full (G_OBJECT (task), "store", g_object_ref (self->store), g_object_unref);
  g_task_run_in_thread (task, decide_thread);
}

static void
confirm_cb (RflMatchesPage *self)
{
  decide (self, "confirmed");
}

static void
more_cb (RflMatchesPage *self)
{
  decide (self, "more_info");
}

static void
reject_cb (RflMatchesPage *self)
{
  decide (self, "rejected");
}

static void
share_cb (RflMatchesPage *self)
{
  decide (self, NULL);
}

/* GTK 4.8's list box takes Tab from one row to the next, and a row takes
 * the selection with the focus: tabbing from the chosen proposal to the
 * reason field chose every proposal below it on the way, and the decision
 * went to the last. The list is one stop: for Tab and Shift+Tab, the rows
 * other than the focused one are made insensitive while the focus moves,
 * so that the list lets it go; the arrow keys still move from row to row. */
static gboolean
list_key_pressed_cb (GtkEventControllerKey *key,
                     guint                  keyval,
                     guint                  keycode,
                     GdkModifierType        state,
                     RflMatchesPage        *self)
{
  GtkWidget *focus = gtk_widget_get_focus_child (GTK_WIDGET (self->list));
  GtkDirectionType direction;
  gboolean moved;

  if (keyval == GDK_KEY_ISO_Left_Tab)
    direction = GTK_DIR_TAB_BACKWARD;
  else if (keyval == GDK_KEY_Tab || keyval == GDK_KEY_KP_Tab)
    direction = (state & GDK_SHIFT_MASK) != 0 ? GTK_DIR_TAB_BACKWARD : GTK_DIR_TAB_FORWARD;
  else
    return GDK_EVENT_PROPAGATE;
  if (focus == NULL)
    return GDK_EVENT_PROPAGATE;

  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->list)); row != NULL;
       row = gtk_widget_get_next_sibling (row))
    if (row != focus)
      gtk_widget_set_sensitive (row, FALSE);
  moved = gtk_widget_child_focus (GTK_WIDGET (gtk_widget_get_root (GTK_WIDGET (self))), direction);
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->list)); row != NULL;
       row = gtk_widget_get_next_sibling (row))
    gtk_widget_set_sensitive (row, TRUE);
  return moved ? GDK_EVENT_STOP : GDK_EVENT_PROPAGATE;
}

/* Shown, it follows the store; hidden, it reads the store when shown. */
static void
store_changed_cb (RflMatchesPage *self)
{
  if (gtk_widget_get_mapped (GTK_WIDGET (self)))
    rfl_matches_page_refresh (self);
}

static void
rfl_matches_page_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (rfl_matches_page_parent_class)->map (widget);
  rfl_matches_page_refresh (RFL_MATCHES_PAGE (widget));
}

static void
rfl_matches_page_dispose (GObject *object)
{
  RflMatchesPage *self = RFL_MATCHES_PAGE (object);

  rfl_matches_page_set_store (self, NULL);
  g_clear_object (&self->window_bindings);
  g_clear_object (&self->store_signals);
  g_clear_object (&self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), RFL_TYPE_MATCHES_PAGE);
  G_OBJECT_CLASS (rfl_matches_page_parent_class)->dispose (object);
}

static void
rfl_matches_page_finalize (GObject *object)
{
  RflMatchesPage *self = RFL_MATCHES_PAGE (object);

  g_clear_pointer (&self->proposals, g_ptr_array_unref);
  g_free (self->keep_selected);
  G_OBJECT_CLASS (rfl_matches_page_parent_class)->finalize (object);
}

static void
rfl_matches_page_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  RflMatchesPage *self = RFL_MATCHES_PAGE (object);

  switch (prop_id)
    {
    case PROP_LOADING:
      g_value_set_boolean (value, self->loading);
      break;
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_matches_page_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  RflMatchesPage *self = RFL_MATCHES_PAGE (object);

  switch (prop_id)
    {
    case PROP_STORE:
      rfl_matches_page_set_store (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_matches_page_class_init (RflMatchesPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rfl_matches_page_dispose;
  object_class->finalize = rfl_matches_page_finalize;
  object_class->get_property = rfl_matches_page_get_property;
  object_class->set_property = rfl_matches_page_set_property;
  widget_class->map = rfl_matches_page_map;

  properties[PROP_LOADING] =
    g_param_spec_boolean ("loading", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * RflMatchesPage:store:
   *
   * The open store, %NULL while locked; in a window, the window's.
   */
  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, RFL_TYPE_STORE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * RflMatchesPage::toast:
   * @message: what to tell the volunteer
   */
  signals[SIGNAL_TOAST] =
    g_signal_new ("toast", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/reunite/Reunite/rfl-matches-page.ui");
  gtk_widget_class_bind_template_child (widget_class, RflMatchesPage, stack);
  gtk_widget_class_bind_template_child (widget_class, RflMatchesPage, progress);
  gtk_widget_class_bind_template_child (widget_class, RflMatchesPage, list);
  gtk_widget_class_bind_template_child (widget_class, RflMatchesPage, title);
  gtk_widget_class_bind_template_child (widget_class, RflMatchesPage, subtitle);
  gtk_widget_class_bind_template_child (widget_class, RflMatchesPage, compare);
  gtk_widget_class_bind_template_child (widget_class, RflMatchesPage, explanation);
  gtk_widget_class_bind_template_child (widget_class, RflMatchesPage, decision);
  gtk_widget_class_bind_template_child (widget_class, RflMatchesPage, reason);
  gtk_widget_class_bind_template_child (widget_class, RflMatchesPage, confirm_button);
  gtk_widget_class_bind_template_child (widget_class, RflMatchesPage, more_button);
  gtk_widget_class_bind_template_child (widget_class, RflMatchesPage, reject_button);
  gtk_widget_class_bind_template_child (widget_class, RflMatchesPage, share_button);
  gtk_widget_class_bind_template_child (widget_class, RflMatchesPage, problem);
  gtk_widget_class_bind_template_callback (widget_class, row_selected_cb);
  gtk_widget_class_bind_template_callback (widget_class, confirm_cb);
  gtk_widget_class_bind_template_callback (widget_class, more_cb);
  gtk_widget_class_bind_template_callback (widget_class, reject_cb);
  gtk_widget_class_bind_template_callback (widget_class, share_cb);
}

static void
rfl_matches_page_init (RflMatchesPage *self)
{
  GtkEventController *key;

  gtk_widget_init_template (GTK_WIDGET (self));
  key = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (key, GTK_PHASE_CAPTURE);
  g_signal_connect (key, "key-pressed", G_CALLBACK (list_key_pressed_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self->list), key);
  self->cancellable = g_cancellable_new ();
  self->store_signals = g_signal_group_new (RFL_TYPE_STORE);
  g_signal_group_connect_swapped (self->store_signals, "changed", G_CALLBACK (store_changed_cb), self);
  self->window_bindings = rfl_store_follow_window (GTK_WIDGET (self));
}

GtkWidget *
rfl_matches_page_new (void)
{
  return g_object_new (RFL_TYPE_MATCHES_PAGE, NULL);
}

/**
 * rfl_matches_page_set_store:
 * @store: (nullable): the open store, or %NULL when the app locks
 */
void
rfl_matches_page_set_store (RflMatchesPage *self,
                            RflStore       *store)
{
  GtkWidget *child;

  g_return_if_fail (RFL_IS_MATCHES_PAGE (self));
  g_return_if_fail (store == NULL || RFL_IS_STORE (store));

  if (!rfl_store_follow_swap (&self->store, store, self->store_signals, &self->cancellable))
    return;
  set_loading (self, FALSE);
  self->again = FALSE;
  self->shown = NULL;
  g_clear_pointer (&self->proposals, g_ptr_array_unref);
  /* Locked: nothing of the last office's people stays on screen. */
  if (self->list != NULL)
    {
      while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->list))) != NULL)
        gtk_list_box_remove (self->list, child);
      clear_grid (self->compare);
      gtk_label_set_text (self->title, "");
      gtk_label_set_text (self->explanation, "");
      gtk_stack_set_visible_child_name (self->stack, "empty");
    }
  if (gtk_widget_get_mapped (GTK_WIDGET (self)))
    rfl_matches_page_refresh (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STORE]);
}

/**
 * rfl_matches_page_refresh:
 *
 * Makes again the proposals of what changed, then reads them, in a worker
 * thread.
 */
void
rfl_matches_page_refresh (RflMatchesPage *self)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (RFL_IS_MATCHES_PAGE (self));

  if (self->store == NULL)
    return;
  if (self->loading)
    {
      self->again = TRUE;
      return;
    }
  set_loading (self, TRUE);
  task = g_task_new (self, self->cancellable, read_cb, g_object_ref (self));
  g_task_set_source_tag (task, rfl_matches_page_refresh);
  g_task_set_task_data (task, g_object_ref (self->store), g_object_unref);
  g_task_run_in_thread (task, read_thread);
}

gboolean
rfl_matches_page_get_loading (RflMatchesPage *self)
{
  g_return_val_if_fail (RFL_IS_MATCHES_PAGE (self), FALSE);

  return self->loading;
}

/**
 * rfl_matches_page_select:
 * @id: a proposal's id
 *
 * Shows the proposal @id, with the focus on it in the list, as soon as the
 * proposals are read (now, if they are): a case's own list of matches
 * opens one here.
 */
void
rfl_matches_page_select (RflMatchesPage *self,
                         const char     *id)
{
  g_return_if_fail (RFL_IS_MATCHES_PAGE (self));
  g_return_if_fail (id != NULL);

  g_free (self->keep_selected);
  self->keep_selected = g_strdup (id);
  self->focus_selected = TRUE;
  if (self->proposals != NULL && !self->loading)
    fill_list (self);
}
