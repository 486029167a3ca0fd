/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The desktop app on a large database, in a real window (run under
 * xvfb-run):
 *
 *   unlock: passphrase submitted to the first page of the case list drawn,
 *     Argon2id included; baseline: rfl_store_open() alone, in the same run;
 *   search as you type: each query typed one character at a time; for each
 *     keystroke, the time from the text changing to the list drawn with the
 *     results (the entry's typing pause, search-delay, is left out and
 *     reported apart); baseline: rfl_store_search() of the same text, with the same limit (50); also
 *     the longest the main loop went without running while searching;
 *   real keys: the Latin queries typed again as XTest key events, as a
 *     person types; for each key, the time to the frame that shows the
 *     character, and to the frame that shows the results (this one
 *     includes the typing pause);
 *   memory: the RSS of the locked window, the peak while unlocking, and
 *     the peak from then on while typing (Argon2id's 256 MiB is freed
 *     before the store opens).
 *
 * Usage: rfl-bench-app DATABASE PASSPHRASE_FILE QUERIES_FILE [N_QUERIES]
 * Prints one JSON object.
 */
#include <glib/gi18n.h>
#include <locale.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "rfl-application.h"
#include "rfl-bench-util.h"
#include "rfl-case-item.h"
#include "rfl-cases-page.h"
#include "rfl-drive.h"
#include "rfl-sync-client.h"
#include "rfl-window-private.h"

#ifdef HAVE_XTEST
#include <gdk/x11/gdkx.h>
#include <X11/extensions/XTest.h>
#include <X11/keysym.h>
#endif

static const char *db_path, *queries_path;
static char *passphrase;
static guint n_queries = 40;
static gint64 painted_at;
static gint64 last_tick, max_stall;
static gboolean watching;

static void
after_paint_cb (GdkFrameClock *clock,
                gpointer       user_data)
{
  painted_at = g_get_monotonic_time ();
}

/* A tick every 2 ms: the longest gap between two is the longest time the
 * main loop, and so the window, was stuck. */
static gboolean
tick_cb (gpointer user_data)
{
  gint64 now = g_get_monotonic_time ();

  if (watching && last_tick > 0)
    max_stall = MAX (max_stall, now - last_tick);
  last_tick = now;
  return G_SOURCE_CONTINUE;
}

/* The frame that shows what the model holds now: the first one painted
 * after @after, or @after itself if nothing changed on screen within
 * 250 ms (the same results as before). Nothing is forced to redraw. */
static gint64
wait_painted (GtkWidget *window,
              gint64     after)
{
  gint64 give_up = after + 250 * 1000;

  while (painted_at <= after && g_get_monotonic_time () < give_up)
    g_main_context_iteration (NULL, FALSE);
  return painted_at > after ? painted_at : after;
}

static gboolean
first_page_ready (gpointer data)
{
  RflWindow *window = data;
  GListModel *model;
  g_autoptr(RflCaseItem) first = NULL;

  if (rfl_window_get_locked (window))
    return FALSE;
  model = rfl_cases_page_get_model (_rfl_window_get_cases_page (window));
  if (model == NULL || g_list_model_get_n_items (model) == 0)
    return FALSE;
  first = g_list_model_get_item (model, 0);
  return rfl_case_item_get_loaded (first);
}

static gboolean
search_done (gpointer data)
{
  gboolean searching = TRUE;

  g_object_get (data, "searching", &searching, NULL);
  return !searching;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
percentile (GArray *values,
            double  p)
{
  guint i;

  if (values->len == 0)
    return 0;
  g_array_sort (values, compare_doubles);
  i = (guint) (p * (values->len - 1) + 0.5);
  return g_array_index (values, double, MIN (i, values->len - 1));
}

#ifdef HAVE_XTEST
/* Real keys: each character of the Latin queries sent as an XTest key
 * press and release to the search entry, as a person types. For each, the
 * time from the key event to the frame that shows the typed character, and
 * to the frame that shows the results for the text so far (which includes
 * the entry's typing pause, search-delay). */
typedef struct
{
  RflCasesPage *cases;
  const char   *text;
} Typed;

static gboolean
results_for (gpointer data)
{
  Typed *t = data;

  return g_strcmp0 (rfl_cases_page_get_query (t->cases), t->text) == 0 && search_done (t->cases);
}

static gboolean
text_is (gpointer data)
{
  Typed *t = data;

  return g_str_equal (gtk_editable_get_text (GTK_EDITABLE (g_object_get_data (G_OBJECT (t->cases), "rfl-search"))),
                      t->text);
}

static guint
xtest_typing (GtkWidget    *window,
              RflCasesPage *cases,
              GtkWidget    *search,
              GStrv         lines,
              GArray       *echoed,
              GArray       *shown)
{
  Display *dpy = gdk_x11_display_get_xdisplay (gtk_widget_get_display (window));
  KeyCode shift = XKeysymToKeycode (dpy, XK_Shift_L);
  guint typed = 0;

  g_object_set_data (G_OBJECT (cases), "rfl-search", search);
  /* With no window manager, keys go to the window under the pointer. */
  XTestFakeMotionEvent (dpy, -1, 400, 300, 0);
  for (guint q = 0, used = 0; lines[q] != NULL && used < n_queries; q++)
    {
      gboolean ascii = lines[q][0] != '\0';
      g_autoptr(GString) so_far = g_string_new (NULL);

      for (const char *p = lines[q]; *p != '\0'; p++)
        ascii &= g_ascii_isalpha (*p) || *p == ' ';
      if (!ascii)
        continue;
      used++;
      rfl_cases_page_set_query (cases, "");
      gtk_widget_grab_focus (search);
      for (const char *p = lines[q]; *p != '\0'; p++)
        {
          KeySym sym = (KeySym) (guchar) (*p == ' ' ? XK_space : g_ascii_tolower (*p));
          KeyCode code = XKeysymToKeycode (dpy, sym);
          gboolean upper = g_ascii_isupper (*p);
          Typed t = { cases, NULL };
          gint64 s, painted;
          double ms;

          g_string_append_c (so_far, *p);
          t.text = so_far->str;
          if (upper)
            XTestFakeKeyEvent (dpy, shift, True, 0);
          s = g_get_monotonic_time ();
          XTestFakeKeyEvent (dpy, code, True, 0);
          XTestFakeKeyEvent (dpy, code, False, 0);
          if (upper)
            XTestFakeKeyEvent (dpy, shift, False, 0);
          XFlush (dpy);
          if (!rfl_drive_wait_for (text_is, &t, 10000))
            g_error ("the key for '%c' did not reach the search entry", *p);
          painted = wait_painted (window, g_get_monotonic_time ());
          ms = (painted - s) / 1000.0;
          g_array_append_val (echoed, ms);
          /* One character gives no search; a trailing space changes none. */
          if (so_far->len < 2 || *p == ' ')
            continue;
          if (!rfl_drive_wait_for (results_for, &t, 30000))
            g_error ("no results for '%s'", so_far->str);
          painted = wait_painted (window, g_get_monotonic_time ());
          ms = (painted - s) / 1000.0;
          g_array_append_val (shown, ms);
          typed++;
        }
    }
  return typed;
}
#endif

static void
activate_cb (GApplication *app)
{
  RflWindow *window = rfl_window_new (RFL_APPLICATION (app));
  RflCasesPage *cases = _rfl_window_get_cases_page (window);
  g_autoptr(GArray) keystrokes = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) direct = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) answered = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) xtest_echoed = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) xtest_shown = g_array_new (FALSE, FALSE, sizeof (double));
  guint xtest_keys = 0;
  g_autofree char *queries = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) error = NULL;
  GtkWidget *entry, *search;
  GdkFrameClock *clock;
  gint64 t0, t1, store_open_us, peak_after_unlock, peak_work, rss_locked;
  guint searched = 0, search_delay = 0;

  gtk_window_set_default_size (GTK_WINDOW (window), 1366, 768);
  gtk_window_present (GTK_WINDOW (window));
  while (!gtk_widget_get_mapped (GTK_WIDGET (window)))
    g_main_context_iteration (NULL, TRUE);
  clock = gtk_widget_get_frame_clock (GTK_WIDGET (window));
  g_signal_connect (clock, "after-paint", G_CALLBACK (after_paint_cb), NULL);
  g_timeout_add (2, tick_cb, NULL);

  entry = rfl_drive_find_type (GTK_WIDGET (window), ADW_TYPE_PASSWORD_ENTRY_ROW);
  g_assert (entry != NULL);
  gtk_editable_set_text (GTK_EDITABLE (entry), passphrase);
  rfl_bench_reset_peak_rss ();
  rss_locked = rfl_bench_status_kib ("VmRSS:");

  t0 = g_get_monotonic_time ();
  gtk_widget_activate_action (gtk_widget_get_ancestor (entry, g_type_from_name ("RflUnlockPage")),
                              "unlock.submit", NULL);
  if (!rfl_drive_wait_for (first_page_ready, window, 120000))
    g_error ("the database did not open");
  gtk_widget_queue_draw (GTK_WIDGET (window));
  t1 = wait_painted (GTK_WIDGET (window), g_get_monotonic_time ());
  peak_after_unlock = rfl_bench_status_kib ("VmHWM:");
  rfl_bench_reset_peak_rss ();

  /* Typing: every prefix of each query, from two characters. */
  search = rfl_drive_find_type (GTK_WIDGET (cases), GTK_TYPE_SEARCH_ENTRY);
  g_object_get (search, "search-delay", &search_delay, NULL);
  if (!g_file_get_contents (queries_path, &queries, NULL, &error))
    g_error ("%s", error->message);
  lines = g_strsplit (queries, "\n", -1);
  watching = TRUE;
  for (guint q = 0; lines[q] != NULL && q < n_queries; q++)
    {
      glong len = g_utf8_strlen (lines[q], -1);

      for (glong k = 2; k <= len; k++)
        {
          g_autofree char *prefix = g_utf8_substring (lines[q], 0, k);
          gint64 s, painted;
          double ms;

          if (g_str_has_suffix (prefix, " "))
            continue;
          s = g_get_monotonic_time ();
          rfl_cases_page_set_query (cases, prefix);
          if (!rfl_drive_wait_for (search_done, cases, 30000))
            g_error ("a search did not end");
          ms = (g_get_monotonic_time () - s) / 1000.0;
          g_array_append_val (answered, ms);
          painted = wait_painted (GTK_WIDGET (window), g_get_monotonic_time ());
          ms = (painted - s) / 1000.0;
          g_array_append_val (keystrokes, ms);

          /* Baseline: the same search, straight from the store. It blocks
           * the main loop, so it is no stall of the app's. */
          watching = FALSE;
          s = g_get_monotonic_time ();
          g_ptr_array_unref (rfl_store_search (rfl_window_get_store (window), prefix, 50, &error));
          ms = (g_get_monotonic_time () - s) / 1000.0;
          g_array_append_val (direct, ms);
          last_tick = 0;
          watching = TRUE;
          searched++;
        }
    }
  watching = FALSE;
  peak_work = rfl_bench_status_kib ("VmHWM:");
#ifdef HAVE_XTEST
  if (GDK_IS_X11_DISPLAY (gtk_widget_get_display (GTK_WIDGET (window))))
    xtest_keys = xtest_typing (GTK_WIDGET (window), cases, search, lines, xtest_echoed, xtest_shown);
#endif

  /* Baseline: opening the store alone, Argon2id included. It runs last, so
   * that the memory it leaves in the heap does not count towards the app's
   * peaks, which are measured as a volunteer's process would see them. */
  {
    gint64 s = g_get_monotonic_time ();
    g_autoptr(RflStore) store = rfl_store_open (db_path, passphrase, strlen (passphrase), &error);

    if (store == NULL)
      g_error ("%s", error->message);
    store_open_us = g_get_monotonic_time () - s;
    rfl_store_close (store);
  }

  g_print ("{\"workload\": \"app\", \"store\": \"keyed\", \"gsk\": \"%s\", \"unlock_to_first_page_s\": %.3f,"
           " \"store_open_s\": %.3f, \"keystrokes\": %u, \"keystroke_p50_ms\": %.1f,"
           " \"keystroke_p95_ms\": %.1f, \"keystroke_max_ms\": %.1f, \"store_search_p50_ms\": %.1f,"
           " \"store_search_p95_ms\": %.1f, \"answered_p50_ms\": %.1f, \"search_delay_ms\": %u, \"max_stall_ms\": %.1f,"
           " \"rss_locked_kib\": %" G_GINT64_FORMAT ", \"peak_rss_unlock_kib\": %" G_GINT64_FORMAT ","
           " \"peak_rss_work_kib\": %" G_GINT64_FORMAT ", \"xtest_keys\": %u, \"xtest_echo_p50_ms\": %.1f,"
           " \"xtest_echo_p95_ms\": %.1f, \"xtest_results_p50_ms\": %.1f, \"xtest_results_p95_ms\": %.1f,"
           " \"xtest_results_max_ms\": %.1f}\n",
           G_OBJECT_TYPE_NAME (gtk_native_get_renderer (GTK_NATIVE (window))), (t1 - t0) / 1e6, store_open_us / 1e6, searched, percentile (keystrokes, 0.5),
           percentile (keystrokes, 0.95), percentile (keystrokes, 1.0), percentile (direct, 0.5),
           percentile (direct, 0.95), percentile (answered, 0.5), search_delay, max_stall / 1000.0, rss_locked,
           peak_after_unlock, peak_work, xtest_keys, percentile (xtest_echoed, 0.5), percentile (xtest_echoed, 0.95),
           percentile (xtest_shown, 0.5), percentile (xtest_shown, 0.95), percentile (xtest_shown, 1.0));
  gtk_window_destroy (GTK_WINDOW (window));
  g_application_quit (app);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(RflApplication) app = NULL;
  g_autofree char *database_arg = NULL;
  char *fake_argv[3];

  if (argc < 4)
    {
      g_printerr ("usage: rfl-bench-app DATABASE PASSPHRASE_FILE QUERIES_FILE [N_QUERIES]\n");
      return 2;
    }
  rfl_sync_client_prepare ();
  setlocale (LC_ALL, "");
  if (sodium_init () < 0)
    return 1;
  db_path = argv[1];
  queries_path = argv[3];
  if (argc > 4)
    n_queries = (guint) g_ascii_strtoull (argv[4], NULL, 10);
  if (!g_file_get_contents (argv[2], &passphrase, NULL, NULL))
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
