/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-cases"

#include <glib/gi18n.h>

#include "rfl-case-item.h"
#include "rfl-case-list-model.h"
#include "rfl-case-view.h"
#include "rfl-a11y.h"
#include "rfl-cases-page.h"
#include "rfl-record-labels.h"
#include "rfl-schema.h"
#include "rfl-store-follow.h"

/*
 * The case list: every live case, most recently changed first, paged from
 * the store; or, while something is typed in the search entry, the cases
 * whose people's names match it in any script. Searches run off the UI
 * thread; a newer keystroke cancels the search before it.
 */

/* The best 50 of the up to 200 the store ranks. Each row shown costs the UI
 * thread about half a millisecond; at 200 a keystroke took 160 ms to draw
 * on 515,000 cases, at 50 it takes 50 ms. A volunteer who needs more adds a
 * word. */
#define SEARCH_LIMIT 50

struct _RflCasesPage
{
  AdwBin            parent_instance;

  GtkStack         *views;
  RflCaseView      *case_view;
  GtkSearchEntry   *search;
  GtkDropDown      *type_filter;
  GtkDropDown      *status_filter;
  GtkStack         *stack;
  GtkListView      *list;
  AdwStatusPage    *empty;

  RflStore         *store;
  GSignalGroup     *store_signals;
  GBindingGroup    *window_bindings;
  RflCaseListModel *all;
  GListStore       *found;
  GListModel       *shown;        /* all or found */
  GCancellable     *search_cancellable;
  char             *query;
  gboolean          searching;
  gboolean          messages;     /* Red Cross Messages only */
  GStrv             type_values;  /* the type filter's choices: every kind listed, then each */
  GStrv             status_values; /* the status filter's choices after "Any status" */
};

G_DEFINE_FINAL_TYPE (RflCasesPage, rfl_cases_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_QUERY,
  PROP_MODEL,
  PROP_SEARCHING,
  PROP_MESSAGES,
  PROP_STORE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* The types, as the store's filter takes them, of every kind of record
 * @list shows ("cases", "messages"), or with %NULL of every list: "All
 * types" means the cases and messages, not the notes that hang off them. */
static char *
join_kinds (const char *list)
{
  g_auto(GStrv) kinds = rfl_schema_dup_kinds (rfl_schema_get_default (), list);

  return g_strjoinv (",", kinds);
}

/* The statuses of the kinds @list shows, each once, in the schema's order. */
static GStrv
dup_statuses (const char *list)
{
  g_auto(GStrv) kinds = rfl_schema_dup_kinds (rfl_schema_get_default (), list);
  g_autoptr(GPtrArray) statuses = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; kinds[i] != NULL; i++)
    {
      g_auto(GStrv) of_kind = rfl_schema_dup_statuses (rfl_schema_get_default (), kinds[i]);

      for (guint s = 0; of_kind[s] != NULL; s++)
        if (!g_ptr_array_find_with_equal_func (statuses, of_kind[s], g_str_equal, NULL))
          g_ptr_array_add (statuses, g_strdup (of_kind[s]));
    }
  g_ptr_array_add (statuses, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&statuses), FALSE);
}

static void
set_status_choices (RflCasesPage *self,
                    const char   *list)
{
  g_autoptr(GtkStringList) labels = gtk_string_list_new (NULL);

  g_strfreev (self->status_values);
  self->status_values = dup_statuses (list);
  gtk_string_list_append (labels, _("Any status"));
  for (guint i = 0; self->status_values[i] != NULL; i++)
    gtk_string_list_append (labels, rfl_record_status_label (self->status_values[i]));
  gtk_drop_down_set_model (self->status_filter, G_LIST_MODEL (labels));
}

static const char *
selected_type (RflCasesPage *self)
{
  guint i = gtk_drop_down_get_selected (self->type_filter);

  if (self->messages)
    i = 0;
  return i < g_strv_length (self->type_values) ? self->type_values[i] : NULL;
}

static const char *
selected_status (RflCasesPage *self)
{
  guint i = gtk_drop_down_get_selected (self->status_filter);

  return i > 0 && i <= g_strv_length (self->status_values) ? self->status_values[i - 1] : NULL;
}

static void
set_messages (RflCasesPage *self,
              gboolean      messages)
{
  self->messages = messages;
  gtk_widget_set_visible (GTK_WIDGET (self->type_filter), !messages);
  if (!messages)
    return;
  g_strfreev (self->type_values);
  self->type_values = g_new0 (char *, 2);
  self->type_values[0] = join_kinds ("messages");
  set_status_choices (self, "messages");
  gtk_editable_set_text (GTK_EDITABLE (self->search), "");
  g_object_set (self->search, "placeholder-text", _("Search senders and addressees"), NULL);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->search), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Search messages by name"), -1);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->list), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  _("Red Cross Messages"), -1);
}

static gboolean
type_matches (const char *filter,
              const char *type)
{
  g_auto(GStrv) types = NULL;

  if (filter == NULL)
    return TRUE;
  if (type == NULL)
    return FALSE;
  types = g_strsplit (filter, ",", -1);
  return g_strv_contains ((const char * const *) types, type);
}

static void
update_empty (RflCasesPage *self)
{
  gboolean loading = self->searching || (self->all != NULL && rfl_case_list_model_get_loading (self->all));
  gboolean none = self->shown == NULL || g_list_model_get_n_items (self->shown) == 0;

  if (!none || loading)
    {
      gtk_stack_set_visible_child_name (self->stack, "list");
      return;
    }
  if (self->query != NULL)
    {
      adw_status_page_set_title (self->empty, _("No Matching Names"));
      adw_status_page_set_description (self->empty,
                                       _("Try another spelling, fewer words, or the name in another script."));
    }
  else if (self->messages)
    {
      adw_status_page_set_title (self->empty, selected_status (self) != NULL ? _("No Messages of This Kind")
                                                                             : _("No Red Cross Messages"));
      adw_status_page_set_description (self->empty,
                                       _("Messages collected from families and awaiting delivery appear here."));
    }
  else if (gtk_drop_down_get_selected (self->type_filter) > 0 || selected_status (self) != NULL)
    {
      adw_status_page_set_title (self->empty, _("No Cases of This Kind"));
      adw_status_page_set_description (self->empty, _("Choose another type or status."));
    }
  else
    {
      adw_status_page_set_title (self->empty, _("No Cases Yet"));
      adw_status_page_set_description (self->empty,
                                       _("Register a tracing request or a found person to begin."));
    }
  gtk_stack_set_visible_child_name (self->stack, "empty");
}

static void
show_model (RflCasesPage *self,
            GListModel   *model)
{
  g_autoptr(GtkSelectionModel) selection = NULL;

  if (self->shown == model)
    {
      update_empty (self);
      return;
    }
  self->shown = model;
  selection = model != NULL ? GTK_SELECTION_MODEL (gtk_single_selection_new (g_object_ref (model))) : NULL;
  if (selection != NULL)
    gtk_single_selection_set_autoselect (GTK_SINGLE_SELECTION (selection), FALSE);
  gtk_list_view_set_model (self->list, selection);
  update_empty (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MODEL]);
}

static void
set_searching (RflCasesPage *self,
               gboolean      searching)
{
  if (self->searching == searching)
    return;
  self->searching = searching;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SEARCHING]);
}

static void
search_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(RflCasesPage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = rfl_store_search_finish (RFL_STORE (source), result, &error);
  g_autoptr(GPtrArray) items = NULL;
  g_autoptr(GHashTable) seen = NULL;
  const char *type, *status;
  guint n_old, n_kept = 0;

  if (rows == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_warning ("Search failed: %s", error->message);
          set_searching (self, FALSE);
          update_empty (self);
        }
      return;
    }

  /* The rows already shown take the new results in place, so the list
   * keeps its row widgets and only relabels them; building a row's
   * widgets again on every keystroke is what makes typing lag. Only the
   * difference in length is spliced. */
  type = selected_type (self);
  status = selected_status (self);
  n_old = g_list_model_get_n_items (G_LIST_MODEL (self->found));
  items = g_ptr_array_new_with_free_func (g_object_unref);
  seen = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < rows->len; i++)
    {
      JsonObject *row = g_ptr_array_index (rows, i);
      const char *id = json_object_get_string_member_with_default (row, "id", "");

      /* One row per case: its best-matching person, which comes first. */
      if (!g_hash_table_add (seen, (gpointer) id))
        continue;
      if (!type_matches (type, json_object_get_string_member_with_default (row, "type", NULL)) ||
          (status != NULL &&
           g_strcmp0 (status, json_object_get_string_member_with_default (row, "status", NULL)) != 0))
        continue;
      if (n_kept < n_old)
        {
          g_autoptr(RflCaseItem) item = g_list_model_get_item (G_LIST_MODEL (self->found), n_kept++);

          rfl_case_item_set_summary (item, row);
        }
      else
        g_ptr_array_add (items, rfl_case_item_new_summary (row));
    }
  g_list_store_splice (self->found, n_kept, n_old - n_kept, items->pdata, items->len);
  set_searching (self, FALSE);
  show_model (self, G_LIST_MODEL (self->found));
}

static void
run_query (RflCasesPage *self)
{
  g_cancellable_cancel (self->search_cancellable);
  g_clear_object (&self->search_cancellable);

  if (self->store == NULL)
    return;
  if (self->query == NULL)
    {
      set_searching (self, FALSE);
      show_model (self, G_LIST_MODEL (self->all));
      return;
    }
  self->search_cancellable = g_cancellable_new ();
  set_searching (self, TRUE);
  rfl_store_search_async (self->store, self->query, SEARCH_LIMIT, self->search_cancellable, search_cb,
                          g_object_ref (self));
}

static void
search_changed_cb (RflCasesPage *self)
{
  g_autofree char *text = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->search))));

  if (g_strcmp0 (text[0] != '\0' ? text : NULL, self->query) == 0)
    return;
  g_free (self->query);
  self->query = text[0] != '\0' ? g_steal_pointer (&text) : NULL;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_QUERY]);
  run_query (self);
}

static void
filter_changed_cb (RflCasesPage *self)
{
  if (self->all != NULL)
    rfl_case_list_model_set_filter (self->all, selected_type (self), selected_status (self));
  if (self->query != NULL)
    run_query (self);
}

static void
all_changed_cb (RflCasesPage *self)
{
  if (self->shown == G_LIST_MODEL (self->all))
    update_empty (self);
}

static void
row_activated_cb (RflCasesPage *self,
                  guint         position)
{
  g_autoptr(RflCaseItem) item = NULL;

  if (self->shown == NULL || (item = g_list_model_get_item (self->shown, position)) == NULL ||
      rfl_case_item_get_id (item) == NULL)
    return;
  rfl_cases_page_open_case (self, rfl_case_item_get_id (item));
}

/* Enter in the search entry opens the best match, once the search is done. */
static void
search_activated_cb (RflCasesPage *self)
{
  search_changed_cb (self);
  if (self->query != NULL && !self->searching && self->shown == G_LIST_MODEL (self->found) &&
      g_list_model_get_n_items (self->shown) > 0)
    row_activated_cb (self, 0);
}


/* For assistive technologies, which select a row and then activate: the
 * list's own activation takes a position, which they cannot pass. */
static void
open_selected_activated (GtkWidget  *widget,
                         const char *action_name,
                         GVariant   *parameter)
{
  RflCasesPage *self = RFL_CASES_PAGE (widget);
  GtkSelectionModel *selection = gtk_list_view_get_model (self->list);
  guint position;

  if (selection == NULL ||
      (position = gtk_single_selection_get_selected (GTK_SINGLE_SELECTION (selection))) == GTK_INVALID_LIST_POSITION)
    return;
  row_activated_cb (self, position);
}

static void
back_activated (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  RflCasesPage *self = RFL_CASES_PAGE (widget);

  gtk_stack_set_visible_child_name (self->views, "browse");
  rfl_case_view_clear (self->case_view);
  gtk_widget_grab_focus (GTK_WIDGET (self->list));
}

/* One row: the name, then kind, status and the date of the last change. */
static GtkWidget *
row_label (GtkWidget  *box,
           const char *style,
           const char *style2,
           float       xalign)
{
  GtkWidget *label = gtk_label_new (NULL);

  gtk_label_set_xalign (GTK_LABEL (label), xalign);
  gtk_label_set_ellipsize (GTK_LABEL (label), PANGO_ELLIPSIZE_END);
  if (style != NULL)
    gtk_widget_add_css_class (label, style);
  if (style2 != NULL)
    gtk_widget_add_css_class (label, style2);
  gtk_box_append (GTK_BOX (box), label);
  return label;
}

static void
row_setup_cb (GtkListItemFactory *factory,
              GtkListItem        *item)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 2);
  GtkWidget *line = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
  GtkWidget *labels[4];

  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  gtk_widget_set_margin_start (box, 6);
  gtk_widget_set_margin_end (box, 6);
  labels[0] = row_label (box, "heading", NULL, 0);
  gtk_box_append (GTK_BOX (box), line);
  labels[1] = row_label (line, "dim-label", NULL, 0);
  labels[2] = row_label (line, "caption-heading", NULL, 0);
  gtk_label_set_ellipsize (GTK_LABEL (labels[2]), PANGO_ELLIPSIZE_NONE);
  labels[3] = row_label (line, "dim-label", "caption", 1);
  gtk_label_set_ellipsize (GTK_LABEL (labels[3]), PANGO_ELLIPSIZE_NONE);
  gtk_widget_set_hexpand (labels[3], TRUE);
  g_object_set_data_full (G_OBJECT (item), "rfl-labels", g_memdup2 (labels, sizeof labels), g_free);
  gtk_list_item_set_child (item, box);
}

/* "إبراهيم يوسف, Tracing request · matched: Sought, Open" */
static void
row_name_cb (RflCaseItem *row,
             GParamSpec  *pspec,
             GtkWidget   *child)
{
  g_autofree char *name = NULL;

  if (!rfl_case_item_get_loaded (row))
    {
      rfl_a11y_name_list_item (child, _("Loading…"));
      return;
    }
  /* Translators: how a screen reader reads a case in the list: name, kind, status. */
  name = g_strdup_printf (_("%s, %s, %s"), rfl_case_item_get_name (row), rfl_case_item_get_kind (row),
                          rfl_case_item_get_status (row));
  rfl_a11y_name_list_item (child, name);
}

static void
row_bind_cb (GtkListItemFactory *factory,
             GtkListItem        *item)
{
  static const char * const props[] = { "name", "kind", "status", "updated" };
  GtkWidget **labels = g_object_get_data (G_OBJECT (item), "rfl-labels");
  GObject *row = gtk_list_item_get_item (item);
  GPtrArray *bindings = g_ptr_array_new ();

  for (guint i = 0; i < G_N_ELEMENTS (props); i++)
    g_ptr_array_add (bindings, g_object_bind_property (row, props[i], labels[i], "label", G_BINDING_SYNC_CREATE));
  g_object_set_data_full (G_OBJECT (item), "rfl-bindings", bindings, (GDestroyNotify) g_ptr_array_unref);
  /* The row's name for screen readers follows the item, which search
   * results relabel in place. */
  g_signal_connect_object (row, "notify", G_CALLBACK (row_name_cb), gtk_list_item_get_child (item), 0);
  row_name_cb (RFL_CASE_ITEM (row), NULL, gtk_list_item_get_child (item));
  rfl_a11y_list_item_activatable (item);
}

static void
row_unbind_cb (GtkListItemFactory *factory,
               GtkListItem        *item)
{
  GPtrArray *bindings = g_object_get_data (G_OBJECT (item), "rfl-bindings");

  for (guint i = 0; bindings != NULL && i < bindings->len; i++)
    g_binding_unbind (g_ptr_array_index (bindings, i));
  g_object_set_data (G_OBJECT (item), "rfl-bindings", NULL);
  if (gtk_list_item_get_item (item) != NULL)
    g_signal_handlers_disconnect_by_func (gtk_list_item_get_item (item), row_name_cb,
                                          gtk_list_item_get_child (item));
}

static void
rfl_cases_page_dispose (GObject *object)
{
  RflCasesPage *self = RFL_CASES_PAGE (object);

  g_cancellable_cancel (self->search_cancellable);
  g_clear_object (&self->search_cancellable);
  rfl_cases_page_set_store (self, NULL);
  g_clear_object (&self->window_bindings);
  g_clear_object (&self->store_signals);
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), RFL_TYPE_CASES_PAGE);
  g_clear_object (&self->found);
  G_OBJECT_CLASS (rfl_cases_page_parent_class)->dispose (object);
}

static void
rfl_cases_page_finalize (GObject *object)
{
  RflCasesPage *self = RFL_CASES_PAGE (object);

  g_free (self->query);
  g_strfreev (self->type_values);
  g_strfreev (self->status_values);
  G_OBJECT_CLASS (rfl_cases_page_parent_class)->finalize (object);
}

static void
rfl_cases_page_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  RflCasesPage *self = RFL_CASES_PAGE (object);

  switch (prop_id)
    {
    case PROP_QUERY:
      g_value_set_string (value, self->query);
      break;
    case PROP_MODEL:
      g_value_set_object (value, self->shown);
      break;
    case PROP_SEARCHING:
      g_value_set_boolean (value, self->searching);
      break;
    case PROP_MESSAGES:
      g_value_set_boolean (value, self->messages);
      break;
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_cases_page_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  RflCasesPage *self = RFL_CASES_PAGE (object);

  switch (prop_id)
    {
    case PROP_QUERY:
      rfl_cases_page_set_query (self, g_value_get_string (value));
      break;
    case PROP_MESSAGES:
      set_messages (self, g_value_get_boolean (value));
      break;
    case PROP_STORE:
      rfl_cases_page_set_store (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_cases_page_class_init (RflCasesPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rfl_cases_page_dispose;
  object_class->finalize = rfl_cases_page_finalize;
  object_class->get_property = rfl_cases_page_get_property;
  object_class->set_property = rfl_cases_page_set_property;

  properties[PROP_QUERY] =
    g_param_spec_string ("query", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_MODEL] =
    g_param_spec_object ("model", NULL, NULL, G_TYPE_LIST_MODEL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_SEARCHING] =
    g_param_spec_boolean ("searching", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * RflCasesPage:messages:
   *
   * Whether the page lists Red Cross Messages, by delivery status, rather
   * than cases.
   */
  properties[PROP_MESSAGES] =
    g_param_spec_boolean ("messages", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * RflCasesPage:store:
   *
   * The open store, %NULL while locked; in a window, the window's.
   */
  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, RFL_TYPE_STORE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (RFL_TYPE_CASE_ITEM);
  g_type_ensure (RFL_TYPE_CASE_VIEW);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/reunite/Reunite/rfl-cases-page.ui");
  gtk_widget_class_bind_template_child (widget_class, RflCasesPage, views);
  gtk_widget_class_bind_template_child (widget_class, RflCasesPage, case_view);
  gtk_widget_class_bind_template_child (widget_class, RflCasesPage, search);
  gtk_widget_class_bind_template_child (widget_class, RflCasesPage, type_filter);
  gtk_widget_class_bind_template_child (widget_class, RflCasesPage, status_filter);
  gtk_widget_class_bind_template_child (widget_class, RflCasesPage, stack);
  gtk_widget_class_bind_template_child (widget_class, RflCasesPage, list);
  gtk_widget_class_bind_template_child (widget_class, RflCasesPage, empty);
  gtk_widget_class_bind_template_callback (widget_class, search_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, filter_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, row_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, search_activated_cb);
  gtk_widget_class_install_action (widget_class, "cases.back", NULL, back_activated);
  gtk_widget_class_install_action (widget_class, "cases.open-selected", NULL, open_selected_activated);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Left, GDK_ALT_MASK, "cases.back", NULL);
}

static void
rfl_cases_page_init (RflCasesPage *self)
{
  g_auto(GStrv) kinds = rfl_schema_dup_kinds (rfl_schema_get_default (), NULL);
  g_autoptr(GtkStringList) types = gtk_string_list_new (NULL);
  g_autoptr(GtkListItemFactory) factory = NULL;
  guint n = g_strv_length (kinds);

  gtk_widget_init_template (GTK_WIDGET (self));
  self->type_values = g_new0 (char *, n + 2);
  self->type_values[0] = join_kinds (NULL);
  gtk_string_list_append (types, _("All types"));
  for (guint i = 0; i < n; i++)
    {
      self->type_values[i + 1] = g_strdup (kinds[i]);
      gtk_string_list_append (types, rfl_record_kind_plural_label (kinds[i]));
    }
  gtk_drop_down_set_model (self->type_filter, G_LIST_MODEL (types));
  set_status_choices (self, "cases");
  rfl_a11y_activatable_choices (GTK_WIDGET (self->type_filter));
  rfl_a11y_activatable_choices (GTK_WIDGET (self->status_filter));
  /* Rows are built in code: a GtkBuilder factory parses its template for
   * every row it makes, which made each new page of results cost tens of
   * milliseconds on the UI thread. */
  factory = gtk_signal_list_item_factory_new ();
  g_signal_connect (factory, "setup", G_CALLBACK (row_setup_cb), NULL);
  g_signal_connect (factory, "bind", G_CALLBACK (row_bind_cb), NULL);
  g_signal_connect (factory, "unbind", G_CALLBACK (row_unbind_cb), NULL);
  gtk_list_view_set_factory (self->list, factory);
  self->found = g_list_store_new (RFL_TYPE_CASE_ITEM);
  /* Whatever changed the store (this window, a sync, an import), the list
   * and the search results follow. */
  self->store_signals = g_signal_group_new (RFL_TYPE_STORE);
  g_signal_group_connect_swapped (self->store_signals, "changed",
                                  G_CALLBACK (rfl_cases_page_reload), self);
  self->window_bindings = rfl_store_follow_window (GTK_WIDGET (self));
}

GtkWidget *
rfl_cases_page_new (void)
{
  return g_object_new (RFL_TYPE_CASES_PAGE, NULL);
}

/**
 * rfl_cases_page_set_store:
 * @store: (nullable): the open store, or %NULL when the app locks; every
 *   record this page holds is dropped then
 */
void
rfl_cases_page_set_store (RflCasesPage *self,
                          RflStore     *store)
{
  g_return_if_fail (RFL_IS_CASES_PAGE (self));
  g_return_if_fail (store == NULL || RFL_IS_STORE (store));

  if (!rfl_store_follow_swap (&self->store, store, self->store_signals, NULL))
    return;
  g_cancellable_cancel (self->search_cancellable);
  show_model (self, NULL);
  if (self->all != NULL)
    g_signal_handlers_disconnect_by_data (self->all, self);
  g_clear_object (&self->all);
  if (self->found != NULL)
    g_list_store_remove_all (self->found);
  if (self->case_view != NULL)
    {
      rfl_case_view_set_store (self->case_view, store);
      gtk_stack_set_visible_child_name (self->views, "browse");
    }
  if (store == NULL)
    {
      if (self->search != NULL)
        gtk_editable_set_text (GTK_EDITABLE (self->search), "");
    }
  else
    {
      self->all = rfl_case_list_model_new (store, selected_type (self), selected_status (self));
      g_signal_connect_swapped (self->all, "items-changed", G_CALLBACK (all_changed_cb), self);
      g_signal_connect_swapped (self->all, "notify::loading", G_CALLBACK (all_changed_cb), self);
      run_query (self);
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STORE]);
}

/**
 * rfl_cases_page_get_model:
 *
 * Returns: (transfer none) (nullable): what the list shows now
 */
GListModel *
rfl_cases_page_get_model (RflCasesPage *self)
{
  g_return_val_if_fail (RFL_IS_CASES_PAGE (self), NULL);

  return self->shown;
}

const char *
rfl_cases_page_get_query (RflCasesPage *self)
{
  g_return_val_if_fail (RFL_IS_CASES_PAGE (self), NULL);

  return self->query;
}

void
rfl_cases_page_set_query (RflCasesPage *self,
                          const char   *query)
{
  g_return_if_fail (RFL_IS_CASES_PAGE (self));

  /* Setting the text clears it first, and the entry reports an empty text
   * at once: the list would flip to every case and back. */
  g_signal_handlers_block_by_func (self->search, search_changed_cb, self);
  gtk_editable_set_text (GTK_EDITABLE (self->search), query != NULL ? query : "");
  g_signal_handlers_unblock_by_func (self->search, search_changed_cb, self);
  /* Programmatic changes skip the typing delay. */
  search_changed_cb (self);
}

void
rfl_cases_page_focus_search (RflCasesPage *self)
{
  g_return_if_fail (RFL_IS_CASES_PAGE (self));

  gtk_widget_grab_focus (GTK_WIDGET (self->search));
}

/**
 * rfl_cases_page_reload:
 *
 * Counts and reads again, and searches again: after the store changed.
 */
void
rfl_cases_page_reload (RflCasesPage *self)
{
  g_return_if_fail (RFL_IS_CASES_PAGE (self));

  if (self->all != NULL)
    rfl_case_list_model_refresh (self->all);
  if (self->query != NULL)
    run_query (self);
}

/**
 * rfl_cases_page_open_case:
 * @id: a case or message
 *
 * Shows the case in place of the list; "cases.back" returns to the list.
 */
void
rfl_cases_page_open_case (RflCasesPage *self,
                          const char   *id)
{
  g_return_if_fail (RFL_IS_CASES_PAGE (self));
  g_return_if_fail (id != NULL);

  if (self->store == NULL)
    return;
  rfl_case_view_load (self->case_view, id);
  gtk_stack_set_visible_child_name (self->views, "case");
  /* The keyboard goes with the eyes: into the case. */
  gtk_widget_child_focus (GTK_WIDGET (self->case_view), GTK_DIR_TAB_FORWARD);
}

/**
 * rfl_cases_page_get_open_case:
 *
 * Returns: (nullable): the id of the case shown in place of the list, if any
 */
const char *
rfl_cases_page_get_open_case (RflCasesPage *self)
{
  g_return_val_if_fail (RFL_IS_CASES_PAGE (self), NULL);

  if (g_strcmp0 (gtk_stack_get_visible_child_name (self->views), "case") != 0)
    return NULL;
  return rfl_case_view_get_record_id (self->case_view);
}

/**
 * rfl_cases_page_get_case_view:
 *
 * Returns: (transfer none): the view that shows one case
 */
RflCaseView *
rfl_cases_page_get_case_view (RflCasesPage *self)
{
  g_return_val_if_fail (RFL_IS_CASES_PAGE (self), NULL);

  return self->case_view;
}
