/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-dashboard"

#include <glib/gi18n.h>

#include "rfl-case-item.h"
#include "rfl-dashboard-page.h"
#include "rfl-record-labels.h"
#include "rfl-schema.h"
#include "rfl-store-follow.h"
#include "rfl-sync.h"

/*
 * The dashboard: cases and messages by type and status, a chart of cases
 * opened, closed, located and reunited per week, messages awaiting delivery, and how sync
 * stands. Everything is read in one worker thread (rfl_store_summarize()
 * uses indexes, so this stays quick with half a million cases) and shown
 * when it arrives.
 */

#define WEEKS 12

struct _RflDashboardPage
{
  AdwBin               parent_instance;

  AdwPreferencesGroup *counts_group;
  GtkSpinner          *spinner;
  GtkDrawingArea      *chart;
  GtkBox              *legend;
  GtkLabel            *awaiting_label;
  AdwActionRow        *sync_row;
  AdwActionRow        *pending_row;
  AdwActionRow        *conflicts_row;

  RflStore            *store;
  GSignalGroup        *store_signals;
  GBindingGroup       *window_bindings;
  GCancellable        *cancellable;
  JsonObject          *summary;
  GPtrArray           *rows;
  gboolean             loading;
};

G_DEFINE_FINAL_TYPE (RflDashboardPage, rfl_dashboard_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_LOADING,
  PROP_STORE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* The chart's bars, in each week's slot in this order, coloured from the
 * Adwaita palette: blue 3, orange 3, green 4 and purple 3. */
static const struct
{
  const char *member;   /* of a week in the summary */
  const char *label;
  const char *hex;
  GdkRGBA     color;
} series[] = {
  { "opened", N_("Opened"), "#3584e4", { 0.208, 0.518, 0.894, 1.0 } },
  { "closed", N_("Closed"), "#ff7800", { 1.0, 0.471, 0.0, 1.0 } },
  /* Translators: on the dashboard's chart, people located in a week. */
  { "located", N_("Located"), "#2ec27e", { 0.180, 0.761, 0.494, 1.0 } },
  /* Translators: on the dashboard's chart, families reunited in a week. */
  { "reunited", N_("Reunited"), "#9141ac", { 0.569, 0.255, 0.675, 1.0 } },
};

static void
read_thread (GTask        *task,
             gpointer      source_object,
             gpointer      task_data,
             GCancellable *cancellable)
{
  RflStore *store = task_data;
  GError *error = NULL;
  g_autoptr(JsonObject) summary = NULL;
  g_autoptr(JsonObject) sync = NULL;

  if ((summary = rfl_store_summarize (store, WEEKS, &error)) == NULL ||
      (sync = rfl_sync_device_status (store, FALSE, &error)) == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  json_object_set_object_member (summary, "sync", g_steal_pointer (&sync));
  g_task_return_pointer (task, g_steal_pointer (&summary), (GDestroyNotify) json_object_unref);
}

static gint64
sum_members (JsonObject *obj)
{
  JsonObjectIter iter;
  JsonNode *value;
  gint64 total = 0;

  json_object_iter_init (&iter, obj);
  while (json_object_iter_next (&iter, NULL, &value))
    total += json_node_get_int (value);
  return total;
}

static void
clear_rows (RflDashboardPage *self)
{
  for (guint i = 0; i < self->rows->len; i++)
    adw_preferences_group_remove (self->counts_group, g_ptr_array_index (self->rows, i));
  g_ptr_array_set_size (self->rows, 0);
}

static void
add_count_row (RflDashboardPage *self,
               const char       *type,
               const char       *title,
               JsonObject       *counts)
{
  JsonObject *by_status = counts != NULL && json_object_has_member (counts, type)
                          ? json_object_get_object_member (counts, type) : NULL;
  g_autoptr(GString) subtitle = g_string_new (NULL);
  g_autofree char *total = rfl_format_count (by_status != NULL ? sum_members (by_status) : 0);
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *label = gtk_label_new (total);
  JsonObjectIter iter;
  const char *status;
  JsonNode *value;

  if (by_status != NULL)
    {
      json_object_iter_init (&iter, by_status);
      while (json_object_iter_next (&iter, &status, &value))
        {
          g_autofree char *n = rfl_format_count (json_node_get_int (value));

          if (subtitle->len > 0)
            g_string_append (subtitle, " · ");
          /* Translators: a status and how many records are in it: "Open 1,234". */
          g_string_append_printf (subtitle, _("%s %s"), rfl_record_status_label (status), n);
        }
    }
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle->len > 0 ? subtitle->str : _("None yet"));
  gtk_widget_add_css_class (label, "title-3");
  adw_action_row_add_suffix (ADW_ACTION_ROW (row), label);
  adw_preferences_group_add (self->counts_group, row);
  g_ptr_array_add (self->rows, row);
}

static void
draw_chart (GtkDrawingArea *area,
            cairo_t        *cr,
            int             width,
            int             height,
            gpointer        user_data)
{
  RflDashboardPage *self = user_data;
  JsonArray *weeks = self->summary != NULL && json_object_has_member (self->summary, "weeks")
                     ? json_object_get_array_member (self->summary, "weeks") : NULL;
  guint n = weeks != NULL ? json_array_get_length (weeks) : 0;
  gboolean rtl = gtk_widget_get_direction (GTK_WIDGET (area)) == GTK_TEXT_DIR_RTL;
  GdkRGBA fg;
  gint64 max = 1;
  double label_h = 18, plot_h = height - label_h - 4, slot;

  if (n == 0)
    return;
  gtk_style_context_get_color (gtk_widget_get_style_context (GTK_WIDGET (area)), &fg);
  for (guint i = 0; i < n; i++)
    {
      JsonObject *week = json_array_get_object_element (weeks, i);

      for (guint k = 0; k < G_N_ELEMENTS (series); k++)
        max = MAX (max, json_object_get_int_member_with_default (week, series[k].member, 0));
    }

  /* The base line. */
  cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.3);
  cairo_set_line_width (cr, 1);
  cairo_move_to (cr, 0, plot_h + 0.5);
  cairo_line_to (cr, width, plot_h + 0.5);
  cairo_stroke (cr);

  slot = (double) width / n;
  for (guint i = 0; i < n; i++)
    {
      JsonObject *week = json_array_get_object_element (weeks, i);
      double x = (rtl ? n - 1 - i : i) * slot;
      guint n_series = G_N_ELEMENTS (series);
      double bar = MAX (2, slot * 0.7 / n_series);
      double left = x + slot / 2 - (n_series * (bar + 1) - 1) / 2;

      /* Side by side in the legend's order, read the other way in a
       * language written right to left. */
      for (guint k = 0; k < n_series; k++)
        {
          double h = (double) json_object_get_int_member_with_default (week, series[k].member, 0) / max *
                     (plot_h - 4);
          guint place = rtl ? n_series - 1 - k : k;

          gdk_cairo_set_source_rgba (cr, &series[k].color);
          cairo_rectangle (cr, left + place * (bar + 1), plot_h - h, bar, h);
          cairo_fill (cr);
        }

      /* Every other week's date under its bars, so the labels never collide. */
      if ((n - 1 - i) % 2 == 0)
        {
          const char *start = json_object_get_string_member (week, "start");
          g_autoptr(GDateTime) day = NULL;
          g_autofree char *iso = g_strconcat (start, "T00:00:00", NULL);
          g_autoptr(GTimeZone) local = g_time_zone_new_local ();
          g_autofree char *text = NULL;
          PangoLayout *layout;
          int tw, th;

          day = g_date_time_new_from_iso8601 (iso, local);
          /* Translators: a week on the chart's axis, by its first day: a
           * strftime format for day and month. */
          text = day != NULL ? g_date_time_format (day, _("%d %b")) : g_strdup (start);
          layout = gtk_widget_create_pango_layout (GTK_WIDGET (area), text);
          pango_layout_get_pixel_size (layout, &tw, &th);
          cairo_set_source_rgba (cr, fg.red, fg.green, fg.blue, 0.7);
          cairo_move_to (cr, x + slot / 2 - tw / 2.0, plot_h + 4);
          pango_cairo_show_layout (cr, layout);
          g_object_unref (layout);
        }
    }
}

static void
describe_chart (RflDashboardPage *self)
{
  JsonArray *weeks = json_object_get_array_member (self->summary, "weeks");
  gint64 total[G_N_ELEMENTS (series)] = { 0 };
  g_autofree char *description = NULL;

  for (guint i = 0; i < json_array_get_length (weeks); i++)
    for (guint k = 0; k < G_N_ELEMENTS (series); k++)
      total[k] += json_object_get_int_member_with_default (json_array_get_object_element (weeks, i),
                                                           series[k].member, 0);
  /* What the chart shows, for a screen reader. */
  description = g_strdup_printf (_("Over the last %d weeks, %ld cases were opened and %ld closed; %ld people "
                                   "were located and %ld families reunited."), WEEKS,
                                 (long) total[0], (long) total[1], (long) total[2], (long) total[3]);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->chart), GTK_ACCESSIBLE_PROPERTY_LABEL, description, -1);
}

static void
show_summary (RflDashboardPage *self)
{
  JsonObject *counts = json_object_get_object_member (self->summary, "counts");
  JsonObject *sync = json_object_get_object_member (self->summary, "sync");
  const char *last = json_object_get_string_member_with_default (sync, "last_sync", NULL);
  g_autofree char *awaiting = rfl_format_count (json_object_get_int_member (self->summary, "awaiting_delivery"));
  g_autofree char *pending = rfl_format_count (json_object_get_int_member (sync, "pending_changes"));
  g_autofree char *conflicts = rfl_format_count (json_object_get_int_member (sync, "open_conflicts"));
  g_autofree char *last_text = last != NULL ? rfl_format_time (last, TRUE) : NULL;
  gboolean enrolled = g_strcmp0 (json_object_get_string_member_with_default (sync, "enrollment", NULL),
                                 "enrolled") == 0;
  g_auto(GStrv) kinds = rfl_schema_dup_kinds (rfl_schema_get_default (), NULL);

  clear_rows (self);
  for (guint i = 0; kinds[i] != NULL; i++)
    add_count_row (self, kinds[i], rfl_record_kind_plural_label (kinds[i]), counts);
  gtk_label_set_text (self->awaiting_label, awaiting);
  adw_action_row_set_subtitle (self->sync_row, last_text != NULL ? last_text
                                                                 : enrolled ? _("Never") : _("Not enrolled"));
  adw_action_row_set_subtitle (self->pending_row, pending);
  adw_action_row_set_subtitle (self->conflicts_row, conflicts);
  describe_chart (self);
  gtk_widget_queue_draw (GTK_WIDGET (self->chart));
}

static void
set_loading (RflDashboardPage *self,
             gboolean          loading)
{
  if (self->loading == loading)
    return;
  self->loading = loading;
  gtk_spinner_set_spinning (self->spinner, loading);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
}

static void
read_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(RflDashboardPage) self = user_data;
  g_autoptr(GError) error = NULL;
  JsonObject *summary = g_task_propagate_pointer (G_TASK (result), &error);

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  set_loading (self, FALSE);
  if (summary == NULL)
    {
      g_warning ("Cannot read the dashboard: %s", error->message);
      return;
    }
  g_clear_pointer (&self->summary, json_object_unref);
  self->summary = summary;
  show_summary (self);
}

/* Shown, it follows the store; hidden, it reads the store when shown. */
static void
store_changed_cb (RflDashboardPage *self)
{
  if (gtk_widget_get_mapped (GTK_WIDGET (self)))
    rfl_dashboard_page_refresh (self);
}

static void
rfl_dashboard_page_map (GtkWidget *widget)
{
  GTK_WIDGET_CLASS (rfl_dashboard_page_parent_class)->map (widget);
  rfl_dashboard_page_refresh (RFL_DASHBOARD_PAGE (widget));
}

static void
rfl_dashboard_page_dispose (GObject *object)
{
  RflDashboardPage *self = RFL_DASHBOARD_PAGE (object);

  rfl_dashboard_page_set_store (self, NULL);
  g_clear_object (&self->window_bindings);
  g_clear_object (&self->store_signals);
  g_clear_object (&self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), RFL_TYPE_DASHBOARD_PAGE);
  G_OBJECT_CLASS (rfl_dashboard_page_parent_class)->dispose (object);
}

static void
rfl_dashboard_page_finalize (GObject *object)
{
  RflDashboardPage *self = RFL_DASHBOARD_PAGE (object);

  g_clear_pointer (&self->rows, g_ptr_array_unref);
  g_clear_pointer (&self->summary, json_object_unref);
  G_OBJECT_CLASS (rfl_dashboard_page_parent_class)->finalize (object);
}

static void
rfl_dashboard_page_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  RflDashboardPage *self = RFL_DASHBOARD_PAGE (object);

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
rfl_dashboard_page_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  RflDashboardPage *self = RFL_DASHBOARD_PAGE (object);

  switch (prop_id)
    {
    case PROP_STORE:
      rfl_dashboard_page_set_store (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_dashboard_page_class_init (RflDashboardPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rfl_dashboard_page_dispose;
  object_class->finalize = rfl_dashboard_page_finalize;
  object_class->get_property = rfl_dashboard_page_get_property;
  object_class->set_property = rfl_dashboard_page_set_property;
  widget_class->map = rfl_dashboard_page_map;

  properties[PROP_LOADING] =
    g_param_spec_boolean ("loading", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * RflDashboardPage:store:
   *
   * The open store, %NULL while locked; in a window, the window's.
   */
  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, RFL_TYPE_STORE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/reunite/Reunite/rfl-dashboard-page.ui");
  gtk_widget_class_bind_template_child (widget_class, RflDashboardPage, counts_group);
  gtk_widget_class_bind_template_child (widget_class, RflDashboardPage, spinner);
  gtk_widget_class_bind_template_child (widget_class, RflDashboardPage, chart);
  gtk_widget_class_bind_template_child (widget_class, RflDashboardPage, legend);
  gtk_widget_class_bind_template_child (widget_class, RflDashboardPage, awaiting_label);
  gtk_widget_class_bind_template_child (widget_class, RflDashboardPage, sync_row);
  gtk_widget_class_bind_template_child (widget_class, RflDashboardPage, pending_row);
  gtk_widget_class_bind_template_child (widget_class, RflDashboardPage, conflicts_row);
}

static void
rfl_dashboard_page_init (RflDashboardPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->rows = g_ptr_array_new ();
  self->cancellable = g_cancellable_new ();
  self->store_signals = g_signal_group_new (RFL_TYPE_STORE);
  g_signal_group_connect_swapped (self->store_signals, "changed", G_CALLBACK (store_changed_cb),
                                  self);
  self->window_bindings = rfl_store_follow_window (GTK_WIDGET (self));
  gtk_drawing_area_set_draw_func (self->chart, draw_chart, self, NULL);
  /* The legend's squares are the bars' colours. */
  for (guint k = 0; k < G_N_ELEMENTS (series); k++)
    {
      g_autofree char *markup = g_markup_printf_escaped ("<span foreground=\"%s\">■</span> %s", series[k].hex,
                                                         _(series[k].label));
      GtkWidget *label = gtk_label_new (NULL);

      gtk_label_set_markup (GTK_LABEL (label), markup);
      gtk_box_append (self->legend, label);
    }
}

GtkWidget *
rfl_dashboard_page_new (void)
{
  return g_object_new (RFL_TYPE_DASHBOARD_PAGE, NULL);
}

/**
 * rfl_dashboard_page_set_store:
 * @store: (nullable): the open store, or %NULL when the app locks
 */
void
rfl_dashboard_page_set_store (RflDashboardPage *self,
                              RflStore         *store)
{
  g_return_if_fail (RFL_IS_DASHBOARD_PAGE (self));
  g_return_if_fail (store == NULL || RFL_IS_STORE (store));

  if (!rfl_store_follow_swap (&self->store, store, self->store_signals, &self->cancellable))
    return;
  set_loading (self, FALSE);
  g_clear_pointer (&self->summary, json_object_unref);
  if (self->rows != NULL)
    clear_rows (self);
  if (self->chart != NULL)
    {
      gtk_label_set_text (self->awaiting_label, "");
      adw_action_row_set_subtitle (self->sync_row, "");
      adw_action_row_set_subtitle (self->pending_row, "");
      adw_action_row_set_subtitle (self->conflicts_row, "");
      gtk_widget_queue_draw (GTK_WIDGET (self->chart));
    }
  /* Read when shown, not at every unlock: the case list comes first. */
  if (gtk_widget_get_mapped (GTK_WIDGET (self)))
    rfl_dashboard_page_refresh (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STORE]);
}

/**
 * rfl_dashboard_page_refresh:
 *
 * Reads the figures again, in a worker thread.
 */
void
rfl_dashboard_page_refresh (RflDashboardPage *self)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (RFL_IS_DASHBOARD_PAGE (self));

  if (self->store == NULL || self->loading)
    return;
  set_loading (self, TRUE);
  task = g_task_new (self, self->cancellable, read_cb, g_object_ref (self));
  g_task_set_source_tag (task, rfl_dashboard_page_refresh);
  g_task_set_task_data (task, g_object_ref (self->store), g_object_unref);
  g_task_run_in_thread (task, read_thread);
}

gboolean
rfl_dashboard_page_get_loading (RflDashboardPage *self)
{
  g_return_val_if_fail (RFL_IS_DASHBOARD_PAGE (self), FALSE);

  return self->loading;
}

/**
 * rfl_dashboard_page_get_summary:
 *
 * Returns: (transfer none) (nullable): what the page shows, as
 *   rfl_store_summarize() gives it with the sync status in `sync`
 */
JsonObject *
rfl_dashboard_page_get_summary (RflDashboardPage *self)
{
  g_return_val_if_fail (RFL_IS_DASHBOARD_PAGE (self), NULL);

  return self->summary;
}
