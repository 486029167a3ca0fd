/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite"

#include <glib/gi18n.h>

#include "rfl-a11y.h"
#include "rfl-cases-page.h"
#include "rfl-dashboard-page.h"
#include "rfl-matches-page.h"
#include "rfl-sync-agent.h"
#include "rfl-sync-page.h"
#include "rfl-unlock-page.h"
#include "rfl-window-private.h"

/*
 * The main window: the unlock page until the database is open, then the
 * sections. Locking (Ctrl+L, or idle time from GSettings) closes the store
 * and drops every record the window holds.
 */

#define IDLE_CHECK_S 10

struct _RflWindow
{
  AdwApplicationWindow  parent_instance;

  GtkStack             *pages;
  RflUnlockPage        *unlock_page;
  AdwLeaflet           *leaflet;
  GtkWidget            *separator;
  GtkWidget            *sidebar_header;
  GtkWidget            *sidebar;
  GtkWidget            *content_box;
  GtkStack             *content;
  AdwWindowTitle       *content_title;
  RflCasesPage         *cases_page;
  RflCasesPage         *messages_page;
  RflSyncPage          *sync_page;
  RflDashboardPage     *dashboard_page;
  RflMatchesPage       *matches_page;
  AdwToastOverlay      *toasts;

  GSettings            *settings;
  RflStore             *store;
  gint64                last_activity;   /* monotonic µs */
  char                 *open_case;       /* the case shown when the window locked */
  RflCasesPage         *open_case_page;
  guint                 idle_source;
};

G_DEFINE_FINAL_TYPE (RflWindow, rfl_window, ADW_TYPE_APPLICATION_WINDOW)

enum {
  PROP_0,
  PROP_LOCKED,
  PROP_STORE,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
close_thread (GTask        *task,
              gpointer      source,
              gpointer      task_data,
              GCancellable *cancellable)
{
  rfl_store_close (task_data);
  g_task_return_boolean (task, TRUE);
}

/* Closing checkpoints the log: off the UI thread. */
static void
close_store (RflStore *store)
{
  g_autoptr(GTask) task = g_task_new (NULL, NULL, NULL, NULL);

  g_task_set_source_tag (task, close_store);
  g_task_set_task_data (task, store, g_object_unref);
  g_task_run_in_thread (task, close_thread);
}

/**
 * rfl_window_lock:
 *
 * Closes the database and drops what the window shows of it; the unlock
 * page asks for the passphrase again.
 */
void
rfl_window_lock (RflWindow *self)
{
  RflStore *store;

  g_return_if_fail (RFL_IS_WINDOW (self));

  if (self->store == NULL)
    return;
  /* Only the id is kept, to go back to the case after unlocking: it says
   * nothing about anyone without the database. */
  g_clear_pointer (&self->open_case, g_free);
  self->open_case_page = NULL;
  if (rfl_cases_page_get_open_case (self->cases_page) != NULL)
    self->open_case_page = self->cases_page;
  else if (rfl_cases_page_get_open_case (self->messages_page) != NULL)
    self->open_case_page = self->messages_page;
  if (self->open_case_page != NULL)
    self->open_case = g_strdup (rfl_cases_page_get_open_case (self->open_case_page));
  /* The pages and the sync agent, bound to the window's store, let go of
   * every record before the store closes. */
  store = g_steal_pointer (&self->store);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STORE]);
  close_store (store);
  rfl_unlock_page_reset (self->unlock_page);
  gtk_stack_set_visible_child_name (self->pages, "unlock");
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.lock", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.search", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.new-case", FALSE);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOCKED]);
}

static void
unlocked_cb (RflWindow *self,
             RflStore  *store)
{
  g_set_object (&self->store, store);
  rfl_store_set_actor (store, g_get_user_name ());
  /* The pages and the sync agent follow. */
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STORE]);
  gtk_stack_set_visible_child_name (self->pages, "main");
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.lock", TRUE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.search", TRUE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.new-case", TRUE);
  self->last_activity = g_get_monotonic_time ();
  if (self->open_case != NULL)
    {
      /* Back to the case the volunteer was working on. */
      gtk_stack_set_visible_child (self->content, GTK_WIDGET (self->open_case_page));
      rfl_cases_page_open_case (self->open_case_page, self->open_case);
      g_clear_pointer (&self->open_case, g_free);
      self->open_case_page = NULL;
    }
  else
    rfl_cases_page_focus_search (self->cases_page);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOCKED]);
}

static void
sync_toast_cb (RflWindow  *self,
               const char *message)
{
  adw_toast_overlay_add_toast (self->toasts, adw_toast_new (message));
}

/* HQ revoked this laptop and its keys are gone: nothing more can be read. */
static void
sync_revoked_cb (RflWindow *self)
{
  rfl_window_lock (self);
  adw_toast_overlay_add_toast (self->toasts,
                               adw_toast_new (_("Headquarters revoked this laptop; its keys were destroyed")));
}

static void
section_changed_cb (RflWindow *self)
{
  GtkWidget *child = gtk_stack_get_visible_child (self->content);

  if (child == NULL)
    return;
  adw_window_title_set_title (self->content_title,
                              gtk_stack_page_get_title (gtk_stack_get_page (self->content, child)));
  adw_leaflet_set_visible_child (self->leaflet, self->content_box);
}

static void
activity_cb (RflWindow *self)
{
  self->last_activity = g_get_monotonic_time ();
}

/* "key-pressed" returns whether the key was handled: this handler only
 * watches, so every key goes on to the widgets. */
static gboolean
key_activity_cb (GtkEventControllerKey *key,
                 guint                  keyval,
                 guint                  keycode,
                 GdkModifierType        state,
                 RflWindow             *self)
{
  activity_cb (self);
  return GDK_EVENT_PROPAGATE;
}

static gboolean
idle_check_cb (gpointer user_data)
{
  RflWindow *self = user_data;
  guint minutes = g_settings_get_uint (self->settings, "idle-lock-minutes");

  if (self->store != NULL &&
      g_get_monotonic_time () - self->last_activity >= (gint64) minutes * 60 * G_USEC_PER_SEC)
    {
      rfl_window_lock (self);
      adw_toast_overlay_add_toast (self->toasts, adw_toast_new (_("Locked after a time without use")));
    }
  return G_SOURCE_CONTINUE;
}

/* GTK 4.8's list box takes Tab from one row to the next, and the stack
 * sidebar shows each row's section as the focus reaches it: from the
 * sidebar, Tab only ever reached the content of the last section, and
 * Shift+Tab that of the first. Tab now leaves the sidebar for the section
 * it shows, and Shift+Tab for the sidebar's header: the sidebar is one
 * stop, and the arrow keys move from section to section. */
static gboolean
sidebar_key_pressed_cb (GtkEventControllerKey *key,
                        guint                  keyval,
                        guint                  keycode,
                        GdkModifierType        state,
                        RflWindow             *self)
{
  gboolean back;

  if (keyval == GDK_KEY_ISO_Left_Tab)
    back = TRUE;
  else if (keyval == GDK_KEY_Tab || keyval == GDK_KEY_KP_Tab)
    back = (state & GDK_SHIFT_MASK) != 0;
  else
    return GDK_EVENT_PROPAGATE;

  /* Folded, the window shows the sidebar alone: Tab stays in it. */
  if (!gtk_widget_get_mapped (self->content_box))
    return GDK_EVENT_PROPAGATE;
  if (back)
    return gtk_widget_child_focus (self->sidebar_header, GTK_DIR_TAB_BACKWARD);
  return gtk_widget_child_focus (self->content_box, GTK_DIR_TAB_FORWARD);
}

static void
watch_activity (RflWindow *self)
{
  GtkEventController *key = gtk_event_controller_key_new ();
  GtkEventController *motion = gtk_event_controller_motion_new ();
  GtkGesture *click = gtk_gesture_click_new ();

  gtk_event_controller_set_propagation_phase (key, GTK_PHASE_CAPTURE);
  gtk_event_controller_set_propagation_phase (motion, GTK_PHASE_CAPTURE);
  gtk_event_controller_set_propagation_phase (GTK_EVENT_CONTROLLER (click), GTK_PHASE_CAPTURE);
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (click), 0);
  g_signal_connect (key, "key-pressed", G_CALLBACK (key_activity_cb), self);
  g_signal_connect_swapped (motion, "motion", G_CALLBACK (activity_cb), self);
  g_signal_connect_swapped (click, "pressed", G_CALLBACK (activity_cb), self);
  gtk_widget_add_controller (GTK_WIDGET (self), key);
  gtk_widget_add_controller (GTK_WIDGET (self), motion);
  gtk_widget_add_controller (GTK_WIDGET (self), GTK_EVENT_CONTROLLER (click));
  self->idle_source = g_timeout_add_seconds (IDLE_CHECK_S, idle_check_cb, self);
}

static gboolean
rfl_window_close_request (GtkWindow *window)
{
  RflWindow *self = RFL_WINDOW (window);
  int width, height;

  gtk_window_get_default_size (window, &width, &height);
  g_settings_set_int (self->settings, "window-width", width);
  g_settings_set_int (self->settings, "window-height", height);
  g_settings_set_boolean (self->settings, "window-maximized", gtk_window_is_maximized (window));
  return GTK_WINDOW_CLASS (rfl_window_parent_class)->close_request (window);
}

static void
rfl_window_dispose (GObject *object)
{
  RflWindow *self = RFL_WINDOW (object);

  g_clear_handle_id (&self->idle_source, g_source_remove);
  if (self->store != NULL)
    {
      g_autoptr(RflStore) store = g_steal_pointer (&self->store);

      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STORE]);
      rfl_store_close (store);
    }
  gtk_widget_dispose_template (GTK_WIDGET (self), RFL_TYPE_WINDOW);
  g_clear_object (&self->settings);
  g_clear_pointer (&self->open_case, g_free);
  G_OBJECT_CLASS (rfl_window_parent_class)->dispose (object);
}

static void
rfl_window_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  RflWindow *self = RFL_WINDOW (object);

  switch (prop_id)
    {
    case PROP_LOCKED:
      g_value_set_boolean (value, self->store == NULL);
      break;
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_window_class_init (RflWindowClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  GtkWindowClass *window_class = GTK_WINDOW_CLASS (klass);

  object_class->dispose = rfl_window_dispose;
  object_class->get_property = rfl_window_get_property;
  window_class->close_request = rfl_window_close_request;

  properties[PROP_LOCKED] =
    g_param_spec_boolean ("locked", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, RFL_TYPE_STORE,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  g_type_ensure (RFL_TYPE_UNLOCK_PAGE);
  g_type_ensure (RFL_TYPE_CASES_PAGE);
  g_type_ensure (RFL_TYPE_SYNC_PAGE);
  g_type_ensure (RFL_TYPE_DASHBOARD_PAGE);
  g_type_ensure (RFL_TYPE_MATCHES_PAGE);
  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/reunite/Reunite/rfl-window.ui");
  gtk_widget_class_bind_template_child (widget_class, RflWindow, pages);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, unlock_page);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, leaflet);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, separator);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, sidebar_header);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, sidebar);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, content_box);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, content);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, content_title);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, cases_page);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, messages_page);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, sync_page);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, dashboard_page);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, matches_page);
  gtk_widget_class_bind_template_child (widget_class, RflWindow, toasts);
  gtk_widget_class_bind_template_callback (widget_class, unlocked_cb);
  gtk_widget_class_bind_template_callback (widget_class, section_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, sync_toast_cb);
  _rfl_window_class_actions_init (widget_class);
}

static void
rfl_window_init (RflWindow *self)
{
  GtkEventController *sidebar_keys;

  gtk_widget_init_template (GTK_WIDGET (self));
  rfl_a11y_fix_names (GTK_WIDGET (self));
  adw_leaflet_page_set_navigatable (adw_leaflet_get_page (self->leaflet, self->separator), FALSE);
  self->settings = g_settings_new (APPLICATION_ID);
  gtk_window_set_default_size (GTK_WINDOW (self),
                               g_settings_get_int (self->settings, "window-width"),
                               g_settings_get_int (self->settings, "window-height"));
  if (g_settings_get_boolean (self->settings, "window-maximized"))
    gtk_window_maximize (GTK_WINDOW (self));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.lock", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.search", FALSE);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "win.new-case", FALSE);
  section_changed_cb (self);
  watch_activity (self);

  sidebar_keys = gtk_event_controller_key_new ();
  gtk_event_controller_set_propagation_phase (sidebar_keys, GTK_PHASE_CAPTURE);
  g_signal_connect (sidebar_keys, "key-pressed", G_CALLBACK (sidebar_key_pressed_cb), self);
  gtk_widget_add_controller (self->sidebar, sidebar_keys);
}

RflWindow *
rfl_window_new (RflApplication *app)
{
  RflWindow *self = g_object_new (RFL_TYPE_WINDOW, "application", app, NULL);
  RflSyncAgent *agent = rfl_application_get_sync_agent (app);

  rfl_unlock_page_set_path (self->unlock_page, rfl_application_get_database_path (app));
  /* The application's agent syncs the store this window unlocked. */
  rfl_sync_page_set_agent (self->sync_page, agent);
  g_object_bind_property (self, "store", agent, "store", G_BINDING_SYNC_CREATE);
  g_signal_connect_object (agent, "revoked", G_CALLBACK (sync_revoked_cb), self, G_CONNECT_SWAPPED);
  return self;
}

/**
 * rfl_window_get_store:
 *
 * Returns: (transfer none) (nullable): the open store, %NULL while locked
 */
RflStore *
rfl_window_get_store (RflWindow *self)
{
  g_return_val_if_fail (RFL_IS_WINDOW (self), NULL);

  return self->store;
}

gboolean
rfl_window_get_locked (RflWindow *self)
{
  g_return_val_if_fail (RFL_IS_WINDOW (self), TRUE);

  return self->store == NULL;
}

/* For rfl-window-actions.c. */


RflCasesPage *
_rfl_window_get_cases_page (RflWindow *self)
{
  return self->cases_page;
}

RflCasesPage *
_rfl_window_get_messages_page (RflWindow *self)
{
  return self->messages_page;
}

RflDashboardPage *
_rfl_window_get_dashboard_page (RflWindow *self)
{
  return self->dashboard_page;
}

RflMatchesPage *
_rfl_window_get_matches_page (RflWindow *self)
{
  return self->matches_page;
}

GtkStack *
_rfl_window_get_content (RflWindow *self)
{
  return self->content;
}

AdwLeaflet *
_rfl_window_get_leaflet (RflWindow *self)
{
  return self->leaflet;
}

void
_rfl_window_toast (RflWindow  *self,
                   const char *message)
{
  adw_toast_overlay_add_toast (self->toasts, adw_toast_new (message));
}
