/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * rfl-shots OUT_DIR LANG DATABASE PASSPHRASE_FILE: renders the main views of
 * the real app window into PNG files, OUT_DIR/VIEW-LANG.png. The database
 * must exist (./dev shots makes a demo one). Run under a display (xvfb-run).
 */
#include <glib/gi18n.h>
#include <locale.h>
#include <sodium.h>

#include "rfl-application.h"
#include "rfl-case-item.h"
#include "rfl-cases-page.h"
#include "rfl-dashboard-page.h"
#include "rfl-drive.h"
#include "rfl-matches-page.h"
#include "rfl-new-case-dialog.h"
#include "rfl-record-form.h"
#include "rfl-window-private.h"

static const char *out_dir, *lang, *db_path;
static char *passphrase;

static void
wait_ms (guint ms)
{
  gint64 end = g_get_monotonic_time () + ms * 1000;

  while (g_get_monotonic_time () < end)
    {
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

static void
shoot (GtkWidget  *window,
       const char *view)
{
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (window);
  g_autoptr(GtkSnapshot) snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *name = g_strdup_printf ("%s-%s.png", view, lang);
  g_autofree char *path = g_build_filename (out_dir, name, NULL);
  int w = gtk_widget_get_width (window), h = gtk_widget_get_height (window);

  /* Let transitions end and the window draw what it now holds. */
  gtk_widget_queue_draw (window);
  wait_ms (800);
  gdk_paintable_snapshot (paintable, GDK_SNAPSHOT (snapshot), w, h);
  node = gtk_snapshot_to_node (snapshot);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (window)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, w, h));
  if (!gdk_texture_save_to_png (texture, path))
    g_error ("cannot write %s", path);
  g_print ("%s\n", path);
}

static gboolean
unlocked (gpointer data)
{
  return !rfl_window_get_locked (data);
}

static gboolean
list_ready (gpointer data)
{
  GListModel *model = rfl_cases_page_get_model (data);
  g_autoptr(GObject) first = model != NULL && g_list_model_get_n_items (model) > 0 ?
                             g_list_model_get_item (model, 0) : NULL;
  gboolean loaded = FALSE;

  if (first != NULL)
    g_object_get (first, "loaded", &loaded, NULL);
  return loaded;
}

static gboolean
sync_idle (gpointer data)
{
  return !rfl_sync_agent_get_busy (data) && rfl_sync_agent_get_link (data) != RFL_LINK_UNKNOWN;
}

static gboolean
dashboard_ready (gpointer data)
{
  return !rfl_dashboard_page_get_loading (data) && rfl_dashboard_page_get_summary (data) != NULL;
}

/* The proposals are read, and the best one is shown beside the list. */
static gboolean
matches_ready (gpointer data)
{
  GtkWidget *list;

  if (rfl_matches_page_get_loading (data))
    return FALSE;
  list = rfl_drive_find_type (GTK_WIDGET (data), GTK_TYPE_LIST_BOX);
  return list != NULL && gtk_list_box_get_selected_row (GTK_LIST_BOX (list)) != NULL;
}

static gboolean
case_ready (gpointer data)
{
  return rfl_case_view_get_record (data) != NULL && !rfl_case_view_get_busy (data);
}

static void
activate_cb (GApplication *app)
{
  RflWindow *window = rfl_window_new (RFL_APPLICATION (app));
  RflCasesPage *cases = _rfl_window_get_cases_page (window);
  GtkWidget *entry;
  gboolean searching = TRUE;

  gtk_window_set_default_size (GTK_WINDOW (window), 1100, 700);
  gtk_window_present (GTK_WINDOW (window));
  wait_ms (300);
  shoot (GTK_WIDGET (window), "unlock");

  entry = rfl_drive_find_type (GTK_WIDGET (window), ADW_TYPE_PASSWORD_ENTRY_ROW);
  gtk_editable_set_text (GTK_EDITABLE (entry), passphrase);
  gtk_widget_activate_action (rfl_drive_find_type (GTK_WIDGET (window), g_type_from_name ("RflUnlockPage")),
                              "unlock.submit", NULL);
  if (!rfl_drive_wait_for (unlocked, window, 20000) || !rfl_drive_wait_for (list_ready, cases, 20000))
    g_error ("the demo database did not open");
  /* The sync on unlock reports itself in a toast, which would cover the
   * lists in every shot: the shots wait until it is over and gone (a toast
   * shows for 5 s). */
  if (!rfl_drive_wait_for (sync_idle, rfl_application_get_sync_agent (RFL_APPLICATION (app)),
                           60000))
    g_error ("the sync did not end");
  wait_ms (5500);
  shoot (GTK_WIDGET (window), "cases");

  rfl_cases_page_set_query (cases, lang[0] == 'a' ? "محمد" : "Mohamed");
  for (gint64 end = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
       g_get_monotonic_time () < end && (g_object_get (cases, "searching", &searching, NULL), searching);)
    g_main_context_iteration (NULL, TRUE);
  rfl_drive_wait_for (list_ready, cases, 5000);
  shoot (GTK_WIDGET (window), "search");

  {
    GListModel *found = rfl_cases_page_get_model (cases);
    g_autoptr(RflCaseItem) item = g_list_model_get_item (found, 0);
    RflCaseView *view = rfl_cases_page_get_case_view (cases);

    rfl_cases_page_open_case (cases, rfl_case_item_get_id (item));
    if (!rfl_drive_wait_for (case_ready, view, 10000))
      g_error ("the case did not open");
    rfl_case_view_add_note (view, "contact_attempt", "no_answer", _("Called the number the enquirer gave; no answer."));
    rfl_drive_wait_for (case_ready, view, 10000);
    shoot (GTK_WIDGET (window), "case");
    gtk_widget_activate_action (GTK_WIDGET (view), "cases.back", NULL);
  }

  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-section", "s", "sync");
  wait_ms (300);
  shoot (GTK_WIDGET (window), "sync");

  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-section", "s", "matches");
  wait_ms (100);
  rfl_drive_wait_for (matches_ready, gtk_stack_get_child_by_name (_rfl_window_get_content (window), "matches"),
                      120000);
  wait_ms (500);
  shoot (GTK_WIDGET (window), "matches");

  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-section", "s", "dashboard");
  wait_ms (100);
  rfl_drive_wait_for (dashboard_ready, _rfl_window_get_dashboard_page (window), 20000);
  shoot (GTK_WIDGET (window), "dashboard");
  gtk_widget_activate_action (GTK_WIDGET (window), "win.show-section", "s", "cases");

  {
    GtkWidget *dialog = rfl_new_case_dialog_new (GTK_WINDOW (window), rfl_window_get_store (window));
    GtkWidget *form = rfl_new_case_dialog_get_form (RFL_NEW_CASE_DIALOG (dialog));

    gtk_window_present (GTK_WINDOW (dialog));
    gtk_editable_set_text (GTK_EDITABLE (rfl_record_form_get_field (RFL_RECORD_FORM (form), "enquirer.given_name")),
                           "أمينة");
    gtk_editable_set_text (GTK_EDITABLE (rfl_record_form_get_field (RFL_RECORD_FORM (form), "enquirer.family_name")),
                           "يوسف");
    wait_ms (300);
    shoot (dialog, "new-case");
    gtk_window_destroy (GTK_WINDOW (dialog));
  }

  gtk_window_set_default_size (GTK_WINDOW (window), 400, 700);
  wait_ms (500);
  shoot (GTK_WIDGET (window), "narrow");

  gtk_window_destroy (GTK_WINDOW (window));
  g_application_quit (app);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(RflApplication) app = NULL;
  g_autofree char *database_arg = NULL;
  char *fake_argv[4];

  if (argc != 5)
    {
      g_printerr ("usage: rfl-shots OUT_DIR LANG DATABASE PASSPHRASE_FILE\n");
      return 2;
    }
  setlocale (LC_ALL, "");
  /* Uninstalled runs (./dev run, ./dev shots, tests) use the catalogs in the build tree. */
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("REUNITE_LOCALEDIR") != NULL ? g_getenv ("REUNITE_LOCALEDIR")
                                                                         : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  if (sodium_init () < 0)
    return 1;
  out_dir = argv[1];
  lang = argv[2];
  db_path = argv[3];
  if (!g_file_get_contents (argv[4], &passphrase, NULL, NULL))
    return 1;
  g_strstrip (passphrase);

  app = rfl_application_new ();
  g_signal_connect (app, "activate", G_CALLBACK (activate_cb), NULL);
  database_arg = g_strconcat ("--database=", db_path, NULL);
  fake_argv[0] = argv[0];
  fake_argv[1] = database_arg;
  fake_argv[2] = NULL;
  return g_application_run (G_APPLICATION (app), 2, fake_argv);
}
