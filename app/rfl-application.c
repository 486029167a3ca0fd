/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite"

#include <epoxy/gl.h>
#include <glib/gi18n.h>
#include <string.h>

#include "rfl-about.h"
#include "rfl-application.h"
#include "rfl-schema.h"
#include "rfl-sync-agent.h"
#include "rfl-window.h"

struct _RflApplication
{
  AdwApplication  parent_instance;

  char           *database_path;
  RflSyncAgent   *sync_agent;
};

G_DEFINE_FINAL_TYPE (RflApplication, rfl_application, ADW_TYPE_APPLICATION)

/* The default database: one file in the user's data directory, which the
 * Flatpak sandbox maps to the app's own. */
static char *
default_database_path (void)
{
  g_autoptr(GSettings) settings = g_settings_new (APPLICATION_ID);
  g_autofree char *configured = g_settings_get_string (settings, "database-path");
  g_autofree char *path = NULL, *legacy = NULL;

  if (configured[0] != '\0')
    return g_steal_pointer (&configured);
  /* The file reunite-cli opens by default, so that both see the same cases.
   * Version 0.1.0 of the app named it cases.db: such a database is kept. */
  path = g_build_filename (g_get_user_data_dir (), "reunite", "reunite.db", NULL);
  legacy = g_build_filename (g_get_user_data_dir (), "reunite", "cases.db", NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS) && g_file_test (legacy, G_FILE_TEST_EXISTS))
    return g_steal_pointer (&legacy);
  return g_steal_pointer (&path);
}

static int
rfl_application_handle_local_options (GApplication *app,
                                      GVariantDict *options)
{
  RflApplication *self = RFL_APPLICATION (app);
  const char *path = NULL;

  if (g_variant_dict_lookup (options, "database", "^&ay", &path))
    self->database_path = g_canonicalize_filename (path, NULL);
  return G_APPLICATION_CLASS (rfl_application_parent_class)->handle_local_options (app, options);
}

/* An override of the record schema that cannot be used stops the app
 * before a case is opened: the dialog names the file and what is wrong,
 * and the app quits when it closes. Returns whether it is shown. */
static gboolean
show_schema_error (RflApplication *self)
{
  g_autoptr(GError) error = NULL;
  GtkWidget *dialog;

  if (rfl_schema_load_default (&error))
    return FALSE;
  g_message ("%s", error->message);
  dialog = adw_message_dialog_new (NULL, _("Error"), error->message);
  adw_message_dialog_add_response (ADW_MESSAGE_DIALOG (dialog), "quit", _("Quit"));
  gtk_window_set_application (GTK_WINDOW (dialog), GTK_APPLICATION (self));
  gtk_window_present (GTK_WINDOW (dialog));
  return TRUE;
}

static void
rfl_application_activate (GApplication *app)
{
  RflApplication *self = RFL_APPLICATION (app);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));

  if (window == NULL && show_schema_error (self))
    return;
  if (window == NULL)
    window = GTK_WINDOW (rfl_window_new (self));
  gtk_window_present (window);
}

/**
 * rfl_gl_renderer_is_software:
 * @renderer: the GL_RENDERER string of an OpenGL implementation
 *
 * Returns: whether it is one of Mesa's CPU rasterizers
 */
gboolean
rfl_gl_renderer_is_software (const char *renderer)
{
  static const char * const software[] = { "llvmpipe", "softpipe", "Software Rasterizer", "SWR " };

  for (guint i = 0; renderer != NULL && i < G_N_ELEMENTS (software); i++)
    if (strstr (renderer, software[i]) != NULL)
      return TRUE;
  return FALSE;
}

/* GTK 4.8 draws with OpenGL wherever it gets a context. On a software
 * rasterizer (a laptop whose GPU has no driver, a virtual machine, a remote
 * session) each frame is then drawn whole on the CPU, and the case list
 * takes about four times as long to redraw after a keystroke as with
 * cairo, which draws only what changed. Unless the user chose a renderer,
 * such a machine gets cairo. GSK reads GSK_RENDERER when the first window
 * is realized, so this runs at startup, before any window exists. */
static void
choose_renderer (void)
{
  g_autoptr(GdkGLContext) context = NULL;
  GdkDisplay *display = gdk_display_get_default ();
  const char *renderer;

  if (g_getenv ("GSK_RENDERER") != NULL || display == NULL ||
      (context = gdk_display_create_gl_context (display, NULL)) == NULL ||
      !gdk_gl_context_realize (context, NULL))
    return;
  gdk_gl_context_make_current (context);
  renderer = (const char *) glGetString (GL_RENDERER);
  if (rfl_gl_renderer_is_software (renderer))
    {
      g_debug ("OpenGL is %s, a software rasterizer: drawing with cairo", renderer);
      g_setenv ("GSK_RENDERER", "cairo", FALSE);
    }
  gdk_gl_context_clear_current ();
}

static void
rfl_application_startup (GApplication *app)
{
  RflApplication *self = RFL_APPLICATION (app);

  G_APPLICATION_CLASS (rfl_application_parent_class)->startup (app);
  choose_renderer ();

  if (self->database_path == NULL)
    self->database_path = default_database_path ();
  /* One link with HQ for the app, whatever its windows show. */
  self->sync_agent = rfl_sync_agent_new ();
  gtk_window_set_default_icon_name (APPLICATION_ID);
}

static void
quit_activated (GSimpleAction *action,
                GVariant      *parameter,
                gpointer       user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static void
about_activated (GSimpleAction *action,
                 GVariant      *parameter,
                 gpointer       user_data)
{
  GtkApplication *app = GTK_APPLICATION (user_data);
  GtkWidget *about;

  about = rfl_about_window_new ("/io/github/reunite/Reunite/io.github.reunite.Reunite.metainfo.xml");
  gtk_window_set_transient_for (GTK_WINDOW (about), gtk_application_get_active_window (app));
  gtk_window_present (GTK_WINDOW (about));
}

static const GActionEntry app_actions[] = {
  { .name = "quit", .activate = quit_activated },
  { .name = "about", .activate = about_activated },
};

static void
rfl_application_dispose (GObject *object)
{
  RflApplication *self = RFL_APPLICATION (object);

  g_clear_object (&self->sync_agent);
  G_OBJECT_CLASS (rfl_application_parent_class)->dispose (object);
}

static void
rfl_application_finalize (GObject *object)
{
  RflApplication *self = RFL_APPLICATION (object);

  g_clear_pointer (&self->database_path, g_free);
  G_OBJECT_CLASS (rfl_application_parent_class)->finalize (object);
}

static void
rfl_application_class_init (RflApplicationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->dispose = rfl_application_dispose;
  object_class->finalize = rfl_application_finalize;
  app_class->handle_local_options = rfl_application_handle_local_options;
  app_class->startup = rfl_application_startup;
  app_class->activate = rfl_application_activate;
}

static void
rfl_application_init (RflApplication *self)
{
  const char *quit_accels[] = { "<Control>q", NULL };
  const GOptionEntry entries[] = {
    { "database", 'd', 0, G_OPTION_ARG_FILENAME, NULL, N_("The case database to open or create"), N_("FILE") },
    { NULL }
  };

  g_application_add_main_option_entries (G_APPLICATION (self), entries);
  g_action_map_add_action_entries (G_ACTION_MAP (self), app_actions, G_N_ELEMENTS (app_actions), self);
  gtk_application_set_accels_for_action (GTK_APPLICATION (self), "app.quit", quit_accels);
}

RflApplication *
rfl_application_new (void)
{
  return g_object_new (RFL_TYPE_APPLICATION,
                       "application-id", APPLICATION_ID,
                       "flags", G_APPLICATION_NON_UNIQUE,
                       "resource-base-path", "/io/github/reunite/Reunite",
                       NULL);
}

/**
 * rfl_application_get_database_path:
 *
 * Returns: the case database this instance works on
 */
const char *
rfl_application_get_database_path (RflApplication *self)
{
  g_return_val_if_fail (RFL_IS_APPLICATION (self), NULL);

  return self->database_path;
}

/**
 * rfl_application_get_sync_agent:
 *
 * Returns: (transfer none) (nullable): the app's link with HQ, from
 *   startup on
 */
RflSyncAgent *
rfl_application_get_sync_agent (RflApplication *self)
{
  g_return_val_if_fail (RFL_IS_APPLICATION (self), NULL);

  return self->sync_agent;
}
