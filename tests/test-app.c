/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Widget tests in the libadwaita style: make the widget, drive it by its
 * actions and properties, assert what it shows, and check that it is
 * finalized. A real store in a temporary directory backs every test.
 */
#include <adwaita.h>
#include <glib/gstdio.h>
#include <gsk/gl/gskglrenderer.h>
#include <locale.h>
#include <sodium.h>
#include <string.h>

#include "rfl-about.h"
#include "rfl-app-enums.h"
#include "rfl-application.h"
#include "rfl-case-item.h"
#include "rfl-case-list-model.h"
#include "rfl-case-view.h"
#include "rfl-dashboard-page.h"
#include "rfl-cases-page.h"
#include "rfl-error.h"
#include "rfl-new-case-dialog.h"
#include "rfl-record-form.h"
#include "rfl-schema.h"
#include "rfl-store.h"
#include "rfl-sync-agent.h"
#include "rfl-sync-client.h"
#include "rfl-sync-page.h"
#include "rfl-sync.h"
#include "rfl-test-hq.h"
#include "rfl-test-util.h"
#include "rfl-unlock-page.h"

#define WAIT_S 30

typedef gboolean (*Condition) (gpointer data);

static void
wait_until (Condition   done,
            gpointer    data,
            const char *what)
{
  gint64 end = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;

  while (!done (data))
    {
      if (g_get_monotonic_time () > end)
        g_error ("timed out waiting until %s", what);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (500);
    }
}

static GtkWidget *
find_nth (GtkWidget *root,
          GType      type,
          guint     *n)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type) && (*n)-- == 0)
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_nth (c, type, n);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/* The @index-th widget of @type inside @root, depth first. */
static GtkWidget *
find (GtkWidget *root,
      GType      type,
      guint      index)
{
  GtkWidget *found = find_nth (root, type, &index);

  g_assert_nonnull (found);
  return found;
}

static const char *names[][2] = {
  { "Amina", "Yusuf" }, { "Ibrahim", "Yusuf" }, { "إبراهيم", "يوسف" }, { "Олена", "Петренко" },
  { "Grace", "Okello" },
};

static char *
add_json_record (RflStore   *store,
                 const char *given,
                 const char *family)
{
  g_autofree char *json = g_strdup_printf (
    "{\"type\": \"registration\", \"subtype\": \"found_person\","
    " \"person\": {\"given_name\": \"%s\", \"family_name\": \"%s\"},"
    " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}", given, family);
  g_autoptr(JsonObject) obj = rfl_test_object (json);
  g_autoptr(GError) error = NULL;
  char *id = rfl_store_add (store, obj, &error);

  g_assert_no_error (error);
  return id;
}

static RflStore *
make_store (const char *dir,
            guint       n_records)
{
  g_autofree char *path = g_build_filename (dir, "cases.db", NULL);
  g_autoptr(GError) error = NULL;
  RflStore *store = rfl_store_create (path, TEST_PASSPHRASE, strlen (TEST_PASSPHRASE), RFL_KDF_INTERACTIVE,
                                      &error);

  g_assert_no_error (error);
  for (guint i = 0; i < n_records; i++)
    g_free (add_json_record (store, names[i % G_N_ELEMENTS (names)][0], names[i % G_N_ELEMENTS (names)][1]));
  return store;
}

typedef struct
{
  RflStore *store;
  guint     emitted;
} Unlocked;

static void
unlocked_cb (RflUnlockPage *page,
             RflStore      *store,
             Unlocked      *out)
{
  g_set_object (&out->store, store);
  out->emitted++;
}

static gboolean
not_busy (gpointer data)
{
  return !rfl_unlock_page_get_busy (data);
}

static gboolean
got_store (gpointer data)
{
  return ((Unlocked *) data)->store != NULL;
}

static void
type_passphrases (GtkWidget  *page,
                  const char *first,
                  const char *second)
{
  gtk_editable_set_text (GTK_EDITABLE (find (page, ADW_TYPE_PASSWORD_ENTRY_ROW, 0)), first);
  if (second != NULL)
    gtk_editable_set_text (GTK_EDITABLE (find (page, ADW_TYPE_PASSWORD_ENTRY_ROW, 1)), second);
}

static void
test_unlock_page_create (void)
{
  g_autofree char *dir = rfl_test_make_dir ();
  g_autofree char *path = g_build_filename (dir, "office", "cases.db", NULL);
  g_autofree char *head = NULL;
  GtkWidget *window = gtk_window_new ();
  GtkWidget *page = rfl_unlock_page_new (path);
  Unlocked out = { 0 };
  gsize len = 0;

  g_object_ref_sink (page);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_present (GTK_WINDOW (window));
  g_signal_connect (page, "unlocked", G_CALLBACK (unlocked_cb), &out);
  g_assert_true (rfl_unlock_page_get_creating (RFL_UNLOCK_PAGE (page)));

  /* Too short: the form does not go on. */
  type_passphrases (page, "short", "short");
  gtk_widget_activate_action (page, "unlock.submit", NULL);
  g_assert_false (rfl_unlock_page_get_busy (RFL_UNLOCK_PAGE (page)));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  /* Two different passphrases are refused, with a message, and nothing is created. */
  type_passphrases (page, TEST_PASSPHRASE, "correct horse battery stapel");
  gtk_widget_activate_action (page, "unlock.submit", NULL);
  g_assert_false (rfl_unlock_page_get_busy (RFL_UNLOCK_PAGE (page)));
  g_assert_nonnull (strstr (rfl_unlock_page_get_error (RFL_UNLOCK_PAGE (page)), "differ"));
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));

  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (find (page, ADW_TYPE_PASSWORD_ENTRY_ROW, 1))), ==, "");

  /* Typing again clears the message; the same passphrase twice creates it. */
  type_passphrases (page, TEST_PASSPHRASE, TEST_PASSPHRASE);
  g_assert_null (rfl_unlock_page_get_error (RFL_UNLOCK_PAGE (page)));
  gtk_widget_activate_action (page, "unlock.submit", NULL);
  g_assert_true (rfl_unlock_page_get_busy (RFL_UNLOCK_PAGE (page)));
  wait_until (got_store, &out, "the database is created");
  g_assert_cmpuint (out.emitted, ==, 1);
  g_assert_false (rfl_unlock_page_get_busy (RFL_UNLOCK_PAGE (page)));
  g_assert_true (rfl_store_is_open (out.store));

  /* The fields are emptied, and the file on disk is encrypted. */
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (find (page, ADW_TYPE_PASSWORD_ENTRY_ROW, 0))), ==, "");
  g_assert_true (g_file_get_contents (path, &head, &len, NULL));
  g_assert_cmpuint (len, >, 16);
  g_assert_false (memcmp (head, "SQLite format 3", 15) == 0);

  rfl_store_close (out.store);
  g_clear_object (&out.store);
  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_finalize_object (page);
  rfl_test_remove_dir (dir);
}

static void
test_unlock_page_wrong_passphrase (void)
{
  g_autofree char *dir = rfl_test_make_dir ();
  g_autofree char *path = g_build_filename (dir, "cases.db", NULL);
  g_autoptr(RflStore) made = make_store (dir, 0);
  GtkWidget *window = gtk_window_new ();
  GtkWidget *page;
  Unlocked out = { 0 };

  rfl_store_close (made);
  page = rfl_unlock_page_new (path);
  g_object_ref_sink (page);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_present (GTK_WINDOW (window));
  g_signal_connect (page, "unlocked", G_CALLBACK (unlocked_cb), &out);
  g_assert_false (rfl_unlock_page_get_creating (RFL_UNLOCK_PAGE (page)));
  g_assert_false (gtk_widget_get_visible (find (page, ADW_TYPE_PASSWORD_ENTRY_ROW, 1)));

  type_passphrases (page, "not the passphrase", NULL);
  gtk_widget_activate_action (page, "unlock.submit", NULL);
  g_assert_true (rfl_unlock_page_get_busy (RFL_UNLOCK_PAGE (page)));
  wait_until (not_busy, page, "the wrong passphrase is checked");
  g_assert_nonnull (strstr (rfl_unlock_page_get_error (RFL_UNLOCK_PAGE (page)), "Wrong passphrase"));
  g_assert_cmpuint (out.emitted, ==, 0);

  type_passphrases (page, TEST_PASSPHRASE, NULL);
  gtk_widget_activate_action (page, "unlock.submit", NULL);
  wait_until (got_store, &out, "the database is unlocked");
  g_assert_null (rfl_unlock_page_get_error (RFL_UNLOCK_PAGE (page)));

  rfl_store_close (out.store);
  g_clear_object (&out.store);
  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_finalize_object (page);
  rfl_test_remove_dir (dir);
}

static gboolean
model_settled (gpointer data)
{
  return !rfl_case_list_model_get_loading (data);
}

static void
test_case_list_model_pages (void)
{
  g_autofree char *dir = rfl_test_make_dir ();
  guint n = RFL_CASE_LIST_PAGE * (RFL_CASE_LIST_MAX_PAGES + 5) + 7;
  g_autoptr(RflStore) store = make_store (dir, n);
  RflCaseListModel *model = rfl_case_list_model_new (store, NULL, NULL);
  g_autoptr(RflCaseItem) first = NULL, last = NULL;
  g_autofree char *newest = g_strdup_printf ("%s %s", names[(n - 1) % G_N_ELEMENTS (names)][0],
                                             names[(n - 1) % G_N_ELEMENTS (names)][1]);
  guint changes = 0;

  g_signal_connect_swapped (model, "items-changed", G_CALLBACK (g_atomic_int_inc), &changes);
  /* The count arrives off the UI thread. */
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 0);
  wait_until (model_settled, model, "the cases are counted");
  g_assert_cmpuint (changes, ==, 1);
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, n);
  g_assert_true (g_list_model_get_item_type (G_LIST_MODEL (model)) == RFL_TYPE_CASE_ITEM);

  /* Items come empty and fill in when their page arrives. */
  first = g_list_model_get_item (G_LIST_MODEL (model), 0);
  last = g_list_model_get_item (G_LIST_MODEL (model), n - 1);
  g_assert_null (g_list_model_get_item (G_LIST_MODEL (model), n));
  g_assert_false (rfl_case_item_get_loaded (first));
  wait_until (model_settled, model, "the pages arrive");
  g_assert_true (rfl_case_item_get_loaded (first));
  g_assert_true (rfl_case_item_get_loaded (last));
  g_assert_cmpstr (rfl_case_item_get_kind (first), ==, "Found person");
  g_assert_cmpstr (rfl_case_item_get_status (first), ==, "Open");
  g_assert_nonnull (rfl_case_item_get_id (first));
  /* Most recently changed first: the last record added. */
  g_assert_cmpstr (rfl_case_item_get_name (first), ==, newest);

  /* Scrolling through everything keeps a bounded number of pages. */
  for (guint i = 0; i < n; i += RFL_CASE_LIST_PAGE / 2)
    g_object_unref (g_list_model_get_item (G_LIST_MODEL (model), i));
  g_assert_cmpuint (rfl_case_list_model_get_pages_held (model), <=, RFL_CASE_LIST_MAX_PAGES);
  wait_until (model_settled, model, "the pages arrive");

  /* A filter that matches nothing. */
  rfl_case_list_model_set_filter (model, "message", NULL);
  wait_until (model_settled, model, "the filter applies");
  g_assert_cmpuint (g_list_model_get_n_items (G_LIST_MODEL (model)), ==, 0);

  g_assert_finalize_object (model);
  rfl_store_close (store);
  rfl_test_remove_dir (dir);
}

static gboolean
page_shows_items (gpointer data)
{
  GListModel *model = rfl_cases_page_get_model (data);
  g_autoptr(RflCaseItem) item = model != NULL && g_list_model_get_n_items (model) > 0 ?
                                g_list_model_get_item (model, 0) : NULL;
  gboolean searching;

  g_object_get (data, "searching", &searching, NULL);
  return !searching && item != NULL && rfl_case_item_get_loaded (item);
}

static gboolean
page_search_done (gpointer data)
{
  gboolean searching;

  g_object_get (data, "searching", &searching, NULL);
  return !searching;
}

/* How many rows of the list on screen show @text as a label. */
static guint
rows_showing (GtkWidget  *list,
              const char *text)
{
  guint n = 0;

  for (GtkWidget *c = gtk_widget_get_first_child (list); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      if (GTK_IS_LABEL (c) && gtk_widget_get_mapped (c) && strstr (gtk_label_get_label (GTK_LABEL (c)), text) != NULL)
        n++;
      n += rows_showing (c, text);
    }
  return n;
}

typedef struct
{
  GtkWidget  *list;
  const char *text;
  guint       n;
} RowsShowing;

static gboolean
list_shows (gpointer data)
{
  RowsShowing *r = data;

  return rows_showing (r->list, r->text) == r->n;
}

static void
test_cases_page_search (void)
{
  g_autofree char *dir = rfl_test_make_dir ();
  g_autoptr(RflStore) store = make_store (dir, 10);
  GtkWidget *window = gtk_window_new ();
  GtkWidget *page = rfl_cases_page_new ();
  GtkStack *stack;
  GListModel *model;

  g_object_ref_sink (page);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_present (GTK_WINDOW (window));
  /* The page's own stack, not one inside a drop-down. */
  for (guint i = 0; (stack = GTK_STACK (find (page, GTK_TYPE_STACK, i))) != NULL; i++)
    if (gtk_stack_get_child_by_name (stack, "list") != NULL)
      break;

  /* A note about a case is not a case: the list leaves it out. */
  {
    g_autoptr(GPtrArray) rows = rfl_store_list (store, NULL, NULL, 0, 1, NULL);
    g_autofree char *json = g_strdup_printf ("{\"type\": \"note\", \"record\": \"%s\", \"text\": \"Called Yusuf\"}",
                                             json_object_get_string_member (g_ptr_array_index (rows, 0), "id"));
    g_autoptr(JsonObject) note = rfl_test_object (json);
    g_autoptr(GError) error = NULL;
    g_autofree char *id = rfl_store_add (store, note, &error);

    g_assert_no_error (error);
    g_assert_cmpint (rfl_store_count (store, NULL, NULL, &error), ==, 11);
    g_assert_cmpint (rfl_store_count (store, "registration,note", NULL, &error), ==, 11);
    g_assert_cmpint (rfl_store_count (store, "tracing_request,message", NULL, &error), ==, 0);
  }

  rfl_cases_page_set_store (RFL_CASES_PAGE (page), store);
  wait_until (page_shows_items, page, "the list shows cases");
  g_assert_cmpuint (g_list_model_get_n_items (rfl_cases_page_get_model (RFL_CASES_PAGE (page))), ==, 10);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "list");

  /* A Latin spelling finds the Arabic-script Yusuf too: 2 + 2 + 2 records. */
  rfl_cases_page_set_query (RFL_CASES_PAGE (page), "Yusuf");
  wait_until (page_shows_items, page, "the search answers");
  model = rfl_cases_page_get_model (RFL_CASES_PAGE (page));
  g_assert_cmpuint (g_list_model_get_n_items (model), ==, 6);
  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    {
      g_autoptr(RflCaseItem) item = g_list_model_get_item (model, i);
      const char *name = rfl_case_item_get_name (item);

      g_assert_true (strstr (name, "Yusuf") != NULL || strstr (name, "يوسف") != NULL);
    }

  /* Typing on narrows and widens the results; the rows on screen follow,
   * with nothing left over from the search before. */
  {
    RowsShowing okello = { find (gtk_stack_get_child_by_name (stack, "list"), GTK_TYPE_LIST_VIEW, 0),
                           "Grace Okello", 2 };
    RowsShowing yusuf = { okello.list, "Yusuf", 4 };

    wait_until (list_shows, &yusuf, "the rows show the Latin Yusufs");
    rfl_cases_page_set_query (RFL_CASES_PAGE (page), "Okello");
    wait_until (page_search_done, page, "the search answers");
    g_assert_cmpuint (g_list_model_get_n_items (rfl_cases_page_get_model (RFL_CASES_PAGE (page))), ==, 2);
    wait_until (list_shows, &okello, "the rows show the two Okellos");
    g_assert_cmpuint (rows_showing (okello.list, "Yusuf"), ==, 0);
    g_assert_cmpuint (rows_showing (okello.list, "يوسف"), ==, 0);

    rfl_cases_page_set_query (RFL_CASES_PAGE (page), "Yusuf");
    wait_until (page_search_done, page, "the search answers");
    g_assert_cmpuint (g_list_model_get_n_items (rfl_cases_page_get_model (RFL_CASES_PAGE (page))), ==, 6);
    wait_until (list_shows, &yusuf, "the rows show the Latin Yusufs again");
    g_assert_cmpuint (rows_showing (okello.list, "يوسف"), ==, 2);
    g_assert_cmpuint (rows_showing (okello.list, "Okello"), ==, 0);
  }

  /* Nothing found: the empty state says so. */
  rfl_cases_page_set_query (RFL_CASES_PAGE (page), "Zzyzx");
  wait_until (page_search_done, page, "the search answers");
  g_assert_cmpuint (g_list_model_get_n_items (rfl_cases_page_get_model (RFL_CASES_PAGE (page))), ==, 0);
  g_assert_cmpstr (gtk_stack_get_visible_child_name (stack), ==, "empty");
  g_assert_cmpstr (adw_status_page_get_title (ADW_STATUS_PAGE (find (page, ADW_TYPE_STATUS_PAGE, 0))), ==,
                   "No Matching Names");

  /* Clearing the search shows every case again. */
  rfl_cases_page_set_query (RFL_CASES_PAGE (page), "");
  wait_until (page_shows_items, page, "the list is back");
  g_assert_cmpuint (g_list_model_get_n_items (rfl_cases_page_get_model (RFL_CASES_PAGE (page))), ==, 10);

  /* Locking drops everything the page held. */
  rfl_cases_page_set_store (RFL_CASES_PAGE (page), NULL);
  g_assert_null (rfl_cases_page_get_model (RFL_CASES_PAGE (page)));
  g_assert_null (rfl_cases_page_get_query (RFL_CASES_PAGE (page)));

  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_finalize_object (page);
  rfl_store_close (store);
  rfl_test_remove_dir (dir);
}

static void
set_field (GtkWidget  *form,
           const char *path,
           const char *text)
{
  GtkWidget *row = rfl_record_form_get_field (RFL_RECORD_FORM (form), path);

  g_assert_nonnull (row);
  gtk_editable_set_text (GTK_EDITABLE (row), text);
}

static void
set_switch (GtkWidget  *form,
            const char *path,
            gboolean    on)
{
  GtkWidget *row = rfl_record_form_get_field (RFL_RECORD_FORM (form), path);

  g_assert_nonnull (row);
  gtk_switch_set_active (GTK_SWITCH (find (row, GTK_TYPE_SWITCH, 0)), on);
}

static void
choose (GtkWidget  *form,
        const char *path,
        const char *label)
{
  AdwComboRow *row = ADW_COMBO_ROW (rfl_record_form_get_field (RFL_RECORD_FORM (form), path));
  GListModel *model = adw_combo_row_get_model (row);

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    if (g_str_equal (gtk_string_list_get_string (GTK_STRING_LIST (model), i), label))
      {
        adw_combo_row_set_selected (row, i);
        return;
      }
  g_error ("%s offers no %s", path, label);
}

typedef struct
{
  char *id;
} Saved;

static void
saved_cb (RflNewCaseDialog *dialog,
          const char       *id,
          Saved            *out)
{
  out->id = g_strdup (id);
}

static gboolean
dialog_idle (gpointer data)
{
  return !rfl_new_case_dialog_get_busy (data);
}

static gboolean
got_id (gpointer data)
{
  return ((Saved *) data)->id != NULL;
}

static void
test_new_case_tracing_request (void)
{
  g_autofree char *dir = rfl_test_make_dir ();
  g_autoptr(RflStore) store = make_store (dir, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) found = NULL;
  g_autoptr(JsonObject) record = NULL;
  GtkWidget *dialog = rfl_new_case_dialog_new (NULL, store);
  GtkWidget *form;
  JsonObject *sought;
  Saved out = { 0 };

  g_object_ref (dialog);
  g_signal_connect (dialog, "saved", G_CALLBACK (saved_cb), &out);
  gtk_window_present (GTK_WINDOW (dialog));
  rfl_new_case_dialog_set_kind (RFL_NEW_CASE_DIALOG (dialog), "tracing_request", NULL);
  form = rfl_new_case_dialog_get_form (RFL_NEW_CASE_DIALOG (dialog));
  g_assert_cmpstr (rfl_record_form_get_record_type (RFL_RECORD_FORM (form)), ==, "tracing_request");

  /* The form comes from the schema: the enquirer's and the first sought
   * person's fields, consent, and no field the store fills in. */
  g_assert_nonnull (rfl_record_form_get_field (RFL_RECORD_FORM (form), "enquirer.family_name"));
  g_assert_nonnull (rfl_record_form_get_field (RFL_RECORD_FORM (form), "sought.0.relationship"));
  g_assert_null (rfl_record_form_get_field (RFL_RECORD_FORM (form), "sought.1.given_name"));
  g_assert_nonnull (rfl_record_form_get_field (RFL_RECORD_FORM (form), "consent.tracing"));
  g_assert_null (rfl_record_form_get_field (RFL_RECORD_FORM (form), "status"));
  g_assert_null (rfl_record_form_get_field (RFL_RECORD_FORM (form), "id"));

  /* Saving with no enquirer: the form says so in words at the enquirer's
   * name, and goes there; nothing is saved. */
  set_field (form, "sought.0.given_name", "إبراهيم");
  gtk_widget_activate_action (dialog, "case.save", NULL);
  wait_until (dialog_idle, dialog, "the form answers");
  {
    g_autofree char *problem = rfl_record_form_dup_problem (RFL_RECORD_FORM (form), "enquirer.given_name");
    GtkWidget *field = rfl_record_form_get_field (RFL_RECORD_FORM (form), "enquirer.given_name");

    g_assert_cmpstr (problem, ==, "Enquirer: a given name or a family name is needed");
    g_assert_true (gtk_widget_has_css_class (field, "error"));
    g_assert_true (gtk_widget_is_ancestor (gtk_root_get_focus (GTK_ROOT (dialog)), field));
  }
  g_assert_nonnull (rfl_new_case_dialog_get_error (RFL_NEW_CASE_DIALOG (dialog)));
  g_assert_null (out.id);
  g_assert_cmpint (rfl_store_count (store, NULL, NULL, &error), ==, 0);
  /* Typing a name puts it right. */
  set_field (form, "enquirer.family_name", "يوسف");
  g_assert_null (rfl_record_form_dup_problem (RFL_RECORD_FORM (form), "enquirer.given_name"));

  /* A date that is not one is explained as it is typed, and so is a birth
   * in the future; both go when the date is put right. */
  set_field (form, "sought.0.date_of_birth", "2009-13");
  g_assert_false (rfl_record_form_get_valid (RFL_RECORD_FORM (form)));
  g_assert_true (gtk_widget_has_css_class (rfl_record_form_get_field (RFL_RECORD_FORM (form),
                                                                      "sought.0.date_of_birth"), "error"));
  {
    g_autofree char *problem = rfl_record_form_dup_problem (RFL_RECORD_FORM (form), "sought.0.date_of_birth");

    g_assert_nonnull (strstr (problem, "Date of birth: write a year"));
  }
  set_field (form, "sought.0.date_of_birth", "2199");
  {
    g_autofree char *problem = rfl_record_form_dup_problem (RFL_RECORD_FORM (form), "sought.0.date_of_birth");

    g_assert_cmpstr (problem, ==, "Date of birth: this date is in the future");
  }
  set_field (form, "sought.0.date_of_birth", "2009-04");
  g_assert_true (rfl_record_form_get_valid (RFL_RECORD_FORM (form)));
  g_assert_null (rfl_record_form_dup_problem (RFL_RECORD_FORM (form), "sought.0.date_of_birth"));
  g_assert_false (gtk_widget_has_css_class (rfl_record_form_get_field (RFL_RECORD_FORM (form),
                                                                       "sought.0.date_of_birth"), "error"));

  /* Names in Arabic script, a second person left empty, consent. */
  set_field (form, "enquirer.given_name", "أمينة");
  set_field (form, "sought.0.family_name", "يوسف");
  set_field (form, "sought.0.alternate_names", "Ibrahim Yusuf, Ebrahim Youssef");
  choose (form, "sought.0.relationship", "Son");
  rfl_record_form_add_item (RFL_RECORD_FORM (form), "sought");
  g_assert_nonnull (rfl_record_form_get_field (RFL_RECORD_FORM (form), "sought.1.given_name"));
  set_switch (form, "consent.tracing", TRUE);
  set_switch (form, "consent.share_within_movement", TRUE);
  gtk_widget_activate_action (dialog, "case.save", NULL);
  wait_until (got_id, &out, "the case is saved");

  record = rfl_store_get (store, out.id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (record, "status"), ==, "open");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (record, "enquirer"),
                                                  "given_name"), ==, "أمينة");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (record, "sought")), ==, 1);
  sought = json_array_get_object_element (json_object_get_array_member (record, "sought"), 0);
  g_assert_cmpstr (json_object_get_string_member (sought, "relationship"), ==, "son");
  g_assert_cmpstr (json_object_get_string_member (sought, "date_of_birth"), ==, "2009-04");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (sought, "alternate_names")), ==, 2);
  g_assert_true (json_object_get_boolean_member (json_object_get_object_member (record, "consent"), "tracing"));

  /* Found by a Latin spelling of the Arabic family name, which the enquirer
   * and the person sought share: the case, once. */
  found = rfl_store_search (store, "Yusuf", 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (found->len, ==, 1);
  g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (found, 0), "id"), ==, out.id);

  g_free (out.id);
  g_assert_finalize_object (dialog);
  rfl_store_close (store);
  rfl_test_remove_dir (dir);
}

/* A Red Cross Message is written over several lines, in a text view that
 * Enter does not leave; an empty message is refused at the text. */
static void
test_new_case_message (void)
{
  static const char content[] = "We are alive and in Goma.\nWrite to us at the Red Cross office.";
  g_autofree char *dir = rfl_test_make_dir ();
  g_autoptr(RflStore) store = make_store (dir, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) record = NULL;
  g_autofree char *problem = NULL;
  GtkWidget *dialog = rfl_new_case_dialog_new (NULL, store);
  GtkWidget *form;
  GtkWidget *row;
  GtkTextView *view;
  Saved out = { 0 };

  g_object_ref (dialog);
  g_signal_connect (dialog, "saved", G_CALLBACK (saved_cb), &out);
  gtk_window_present (GTK_WINDOW (dialog));
  rfl_new_case_dialog_set_kind (RFL_NEW_CASE_DIALOG (dialog), "message", NULL);
  form = rfl_new_case_dialog_get_form (RFL_NEW_CASE_DIALOG (dialog));
  g_assert_cmpstr (rfl_record_form_get_record_type (RFL_RECORD_FORM (form)), ==, "message");
  row = rfl_record_form_get_field (RFL_RECORD_FORM (form), "content");
  g_assert_nonnull (row);
  view = GTK_TEXT_VIEW (find (row, GTK_TYPE_TEXT_VIEW, 0));
  g_assert_false (gtk_text_view_get_accepts_tab (view));

  set_field (form, "sender.given_name", "Amina");
  set_field (form, "addressee.given_name", "Ibrahim");
  g_assert_true (rfl_record_form_check (RFL_RECORD_FORM (form)) == GTK_WIDGET (view));
  problem = rfl_record_form_dup_problem (RFL_RECORD_FORM (form), "content");
  g_assert_cmpstr (problem, ==, "Content: this is needed");

  gtk_text_buffer_set_text (gtk_text_view_get_buffer (view), content, -1);
  g_assert_null (rfl_record_form_dup_problem (RFL_RECORD_FORM (form), "content"));
  gtk_widget_activate_action (dialog, "case.save", NULL);
  wait_until (got_id, &out, "the message is saved");

  record = rfl_store_get (store, out.id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (record, "content"), ==, content);

  g_assert_finalize_object (dialog);

  /* Opened again for editing, the message shows every line. */
  dialog = rfl_new_case_dialog_new_for_record (NULL, store, record);
  g_object_ref (dialog);
  gtk_window_present (GTK_WINDOW (dialog));
  form = rfl_new_case_dialog_get_form (RFL_NEW_CASE_DIALOG (dialog));
  view = GTK_TEXT_VIEW (find (rfl_record_form_get_field (RFL_RECORD_FORM (form), "content"), GTK_TYPE_TEXT_VIEW, 0));
  {
    GtkTextBuffer *buffer = gtk_text_view_get_buffer (view);
    GtkTextIter start, end;
    g_autofree char *shown = NULL;

    gtk_text_buffer_get_bounds (buffer, &start, &end);
    shown = gtk_text_buffer_get_text (buffer, &start, &end, FALSE);
    g_assert_cmpstr (shown, ==, content);
  }
  gtk_window_destroy (GTK_WINDOW (dialog));
  g_assert_finalize_object (dialog);

  g_free (out.id);
  rfl_store_close (store);
  rfl_test_remove_dir (dir);
}

/* The button that activates @action. */
static GtkWidget *
find_action (GtkWidget  *root,
             const char *action)
{
  for (guint i = 0;; i++)
    {
      GtkWidget *button = find (root, GTK_TYPE_BUTTON, i);

      if (g_strcmp0 (gtk_actionable_get_action_name (GTK_ACTIONABLE (button)), action) == 0)
        return button;
    }
}

static void
count_notify (guint *n)
{
  (*n)++;
}

/* The switch of a consent field, among every switch in the view. */
static GtkSwitch *
consent_switch (GtkWidget  *view,
                const char *field)
{
  for (guint i = 0;; i++)
    {
      GtkWidget *toggle = find (view, GTK_TYPE_SWITCH, i);

      if (g_strcmp0 (g_object_get_data (G_OBJECT (toggle), "rfl-field"), field) == 0)
        return GTK_SWITCH (toggle);
    }
}

static RflCaseView *notes_view;

static gboolean
has_notes (gpointer data)
{
  JsonObject *record = rfl_case_view_get_record (notes_view);

  return !rfl_case_view_get_busy (notes_view) && record != NULL && json_object_has_member (record, "notes") &&
         json_array_get_length (json_object_get_array_member (record, "notes")) >= GPOINTER_TO_UINT (data);
}

static gboolean
message_dialog_shown (gpointer data)
{
  GListModel *toplevels = gtk_window_get_toplevels ();

  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (window) && gtk_widget_get_visible (GTK_WIDGET (window)))
        {
          *(gpointer *) data = window;
          return TRUE;
        }
    }
  return FALSE;
}

/* The question a view asks, once it is on screen. */
static AdwMessageDialog *
wait_message_dialog (void)
{
  gpointer dialog = NULL;

  wait_until (message_dialog_shown, &dialog, "a question");
  return dialog;
}

static gboolean
case_idle (gpointer data)
{
  return !rfl_case_view_get_busy (data) && rfl_case_view_get_record (data) != NULL;
}

static const char *
view_status (RflCaseView *view)
{
  return json_object_get_string_member (rfl_case_view_get_record (view), "status");
}

static void
test_case_view (void)
{
  g_autofree char *dir = rfl_test_make_dir ();
  g_autoptr(RflStore) store = make_store (dir, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) tracing = rfl_test_object (
    "{\"type\": \"tracing_request\", \"enquirer\": {\"given_name\": \"أمينة\", \"family_name\": \"يوسف\"},"
    " \"sought\": [{\"given_name\": \"Ibrahim\", \"family_name\": \"Yusuf\", \"relationship\": \"son\"}],"
    " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}");
  g_autofree char *id = rfl_store_add (store, tracing, &error);
  g_autoptr(GPtrArray) notes = NULL;
  g_autoptr(JsonObject) saved = NULL;
  g_auto(GStrv) next = NULL;
  g_autofree char *person_id = NULL;
  GtkWidget *window = gtk_window_new ();
  GtkWidget *view = rfl_case_view_new ();
  RflCaseView *cv = RFL_CASE_VIEW (view);
  JsonArray *history;
  guint busy_notifies = 0;

  g_assert_no_error (error);
  g_object_ref (view);
  gtk_window_set_child (GTK_WINDOW (window), view);
  gtk_window_present (GTK_WINDOW (window));
  g_signal_connect_swapped (view, "notify::busy", G_CALLBACK (count_notify), &busy_notifies);
  rfl_case_view_set_store (cv, store);
  notes_view = cv;
  rfl_case_view_load (cv, id);
  wait_until (case_idle, view, "the case is read");
  g_assert_cmpuint (busy_notifies, ==, 2);

  /* The title is the person sought; the people, the consent and an empty
   * timeline are shown. */
  g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (find (view, GTK_TYPE_LABEL, 0))), ==, "Ibrahim Yusuf");
  g_assert_cmpstr (view_status (cv), ==, "open");
  next = rfl_case_view_dup_next_statuses (cv);
  g_assert_cmpstrv (next, ((const char * const[]) { "tracing", "closed", NULL }));
  person_id = g_strdup (json_object_get_string_member (
    json_array_get_object_element (json_object_get_array_member (rfl_case_view_get_record (cv), "sought"), 0),
    "id"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (rfl_case_view_get_record (cv),
                                                                         "notes")), ==, 0);

  /* Tracing, then closing: without the reason the lifecycle asks for the
   * store refuses, the message is shown, and nothing changes. */
  rfl_case_view_change_status (cv, "tracing", NULL);
  wait_until (case_idle, view, "the status is saved");
  g_assert_cmpstr (view_status (cv), ==, "tracing");
  g_assert_null (rfl_case_view_get_error (cv));
  rfl_case_view_change_status (cv, "closed", NULL);
  wait_until (case_idle, view, "the store answers");
  g_assert_nonnull (rfl_case_view_get_error (cv));
  g_assert_nonnull (strstr (rfl_case_view_get_error (cv), "closure_reason"));
  g_assert_cmpstr (view_status (cv), ==, "tracing");
  rfl_case_view_change_status (cv, "closed", "reunited");
  wait_until (case_idle, view, "the case is closed");
  g_assert_cmpstr (view_status (cv), ==, "closed");
  g_assert_null (rfl_case_view_get_error (cv));
  history = json_object_get_array_member (rfl_case_view_get_record (cv), "status_history");
  g_assert_cmpuint (json_array_get_length (history), ==, 3);
  g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (history, 2), "reason"), ==,
                   "reunited");
  g_clear_pointer (&next, g_strfreev);
  next = rfl_case_view_dup_next_statuses (cv);
  g_assert_cmpstrv (next, ((const char * const[]) { "open", NULL }));
  /* Reopening from the view asks for a reason first: nothing is saved. */
  gtk_widget_activate_action (view, "case.change-status", NULL);
  g_assert_false (rfl_case_view_get_busy (cv));
  g_assert_cmpstr (view_status (cv), ==, "closed");

  /* A contact attempt goes on the timeline, and into the store as a note. */
  rfl_case_view_add_note (cv, "contact_attempt", "no_answer", "Called the enquirer's number");
  wait_until (case_idle, view, "the note is saved");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (rfl_case_view_get_record (cv),
                                                                         "notes")), ==, 1);
  notes = rfl_store_list_notes (store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (notes->len, ==, 1);
  g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (notes, 0), "outcome"), ==, "no_answer");

  /* An empty note is refused before it reaches the store. */
  gtk_widget_activate_action (view, "case.add-note", NULL);
  g_assert_false (rfl_case_view_get_busy (cv));
  g_assert_nonnull (rfl_case_view_get_error (cv));

  /* Withdrawing consent asks first: kept, nothing changes; withdrawn, it is
   * saved, and the timeline says who withdrew it. */
  gtk_switch_set_active (consent_switch (view, "share_within_movement"), FALSE);
  adw_message_dialog_response (wait_message_dialog (), "cancel");
  g_assert_true (gtk_switch_get_active (consent_switch (view, "share_within_movement")));
  g_assert_false (rfl_case_view_get_busy (cv));
  gtk_switch_set_active (consent_switch (view, "share_within_movement"), FALSE);
  adw_message_dialog_response (wait_message_dialog (), "withdraw");
  wait_until (case_idle, view, "consent is saved");
  wait_until (has_notes, GUINT_TO_POINTER (2), "the withdrawal is on the timeline");
  g_clear_pointer (&notes, g_ptr_array_unref);
  notes = rfl_store_list_notes (store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (notes->len, ==, 2);
  {
    gboolean seen = FALSE;

    for (guint i = 0; i < notes->len; i++)
      {
        JsonObject *note = g_ptr_array_index (notes, i);

        if (g_strcmp0 (json_object_get_string_member (note, "text"), "Withdrawn: Share within the Movement") == 0)
          {
            g_assert_cmpstr (json_object_get_string_member (note, "by"), ==, g_get_user_name ());
            seen = TRUE;
          }
      }
    g_assert_true (seen);
  }
  saved = rfl_store_get (store, id, &error);
  g_assert_no_error (error);
  g_assert_false (json_object_get_boolean_member (json_object_get_object_member (saved, "consent"),
                                                  "share_within_movement"));
  g_assert_true (json_object_get_boolean_member (json_object_get_object_member (saved, "consent"), "tracing"));

  /* Editing keeps the person's id, so matches and sync still know them. */
  {
    GtkWidget *dialog = rfl_new_case_dialog_new_for_record (NULL, store, rfl_case_view_get_record (cv));
    GtkWidget *form = rfl_new_case_dialog_get_form (RFL_NEW_CASE_DIALOG (dialog));
    g_autoptr(JsonObject) edited = NULL;
    JsonObject *sought;
    Saved out = { 0 };

    g_object_ref (dialog);
    g_signal_connect (dialog, "saved", G_CALLBACK (saved_cb), &out);
    gtk_window_present (GTK_WINDOW (dialog));
    g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (rfl_record_form_get_field (RFL_RECORD_FORM (form),
                                                                                      "enquirer.given_name"))),
                     ==, "أمينة");
    set_field (form, "sought.0.given_name", "Ibrahima");
    set_field (form, "sought.0.alternate_names", "إبراهيم");
    gtk_widget_activate_action (dialog, "case.save", NULL);
    wait_until (got_id, &out, "the edit is saved");
    edited = rfl_store_get (store, id, &error);
    g_assert_no_error (error);
    sought = json_array_get_object_element (json_object_get_array_member (edited, "sought"), 0);
    g_assert_cmpstr (json_object_get_string_member (sought, "given_name"), ==, "Ibrahima");
    g_assert_cmpstr (json_object_get_string_member (sought, "id"), ==, person_id);
    g_assert_cmpstr (json_object_get_string_member (sought, "relationship"), ==, "son");
    g_assert_cmpstr (json_object_get_string_member (edited, "status"), ==, "closed");
    g_free (out.id);
    g_assert_finalize_object (dialog);
  }

  /* Locking drops the case. */
  rfl_case_view_set_store (cv, NULL);
  g_assert_null (rfl_case_view_get_record (cv));
  g_assert_null (rfl_case_view_get_record_id (cv));

  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_finalize_object (view);
  rfl_store_close (store);
  rfl_test_remove_dir (dir);
}

/* A worker thread drops its task, and with it the task's reference on
 * the agent, only after the agent has its result. */
static gboolean
only_reference (gpointer data)
{
  return g_atomic_int_get (&G_OBJECT (data)->ref_count) == 1;
}

static gboolean
sync_idle (gpointer data)
{
  return !rfl_sync_agent_get_busy (data);
}

static gboolean
synced (gpointer data)
{
  return !rfl_sync_agent_get_busy (data) && rfl_sync_agent_get_last_sync (data) != NULL &&
         rfl_sync_agent_get_pending (data) == 0;
}

static gboolean
has_conflict (gpointer data)
{
  GPtrArray *conflicts = rfl_sync_agent_get_conflicts (data);

  return !rfl_sync_agent_get_busy (data) && conflicts != NULL && conflicts->len > 0;
}

static void
toast_cb (RflSyncPage *page,
          const char  *message,
          char       **out)
{
  g_free (*out);
  *out = g_strdup (message);
}

static void
set_description (RflStore   *store,
                 const char *id,
                 const char *text)
{
  g_autoptr(JsonObject) patch = json_object_new ();
  g_autoptr(GError) error = NULL;

  json_object_set_string_member (patch, "description", text);
  rfl_store_update (store, id, patch, &error);
  g_assert_no_error (error);
}

/* Enrolls @store with a fresh token from @hq, as reunite-cli would. */
static void
enroll_office (Hq         *hq,
               RflStore   *store,
               const char *dir,
               const char *office)
{
  g_autofree char *token = make_token (hq, office, dir);
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(RflEnrollToken) loaded = NULL;
  g_autoptr(GError) error = NULL;

  g_file_get_contents (token, &data, &len, &error);
  g_assert_no_error (error);
  bytes = g_bytes_new (data, len);
  loaded = rfl_enroll_token_load (bytes, &error);
  g_assert_no_error (error);
  g_assert_true (rfl_sync_client_enroll (store, loaded, NULL, &error));
  g_assert_no_error (error);
}

static void
enroll_with_hq (Hq         *hq,
                RflStore   *store,
                const char *dir)
{
  enroll_office (hq, store, dir, "Goma");
}

static void
test_sync_page (void)
{
  g_autofree char *dir = rfl_test_make_dir ();
  g_autoptr(Hq) hq = hq_new (dir);
  g_autoptr(RflStore) store = make_store (dir, 3);
  g_autofree char *other_path = g_build_filename (dir, "other.db", NULL);
  g_autofree char *big = g_build_filename (dir, "big.token", NULL);
  g_autofree char *token = make_token (hq, "Goma", dir);
  g_autofree char *stick = g_build_filename (dir, "stick", NULL);
  g_autofree char *toast = NULL;
  g_autofree char *filler = g_strnfill (100 * 1024, 'x');
  g_autoptr(GSettings) settings = g_settings_new ("io.github.reunite.Reunite");
  g_autoptr(GFile) big_file = g_file_new_for_path (big);
  g_autoptr(GFile) token_file = g_file_new_for_path (token);
  g_autoptr(GFile) stick_file = g_file_new_for_path (stick);
  g_autoptr(RflStore) other = NULL;
  g_autoptr(GPtrArray) listed = NULL;
  g_autoptr(GPtrArray) bundles = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) record = NULL;
  g_autofree char *id = NULL;
  GtkWidget *window = gtk_window_new ();
  GtkWidget *page = rfl_sync_page_new ();
  RflSyncAgent *agent = rfl_sync_agent_new ();
  RflSyncReport report = { 0 };
  JsonObject *conflict;

  g_settings_set_boolean (settings, "sync-automatically", TRUE);
  g_object_ref (page);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_present (GTK_WINDOW (window));
  g_signal_connect (page, "toast", G_CALLBACK (toast_cb), &toast);
  rfl_sync_page_set_agent (RFL_SYNC_PAGE (page), agent);

  /* Not enrolled: three changes wait, and there is nothing to sync with. */
  rfl_sync_agent_set_store (agent, store);
  wait_until (sync_idle, agent, "the status is read");
  g_assert_false (rfl_sync_agent_get_enrolled (agent));
  g_assert_cmpint (rfl_sync_agent_get_pending (agent), ==, 3);
  g_assert_cmpint (rfl_sync_agent_get_link (agent), ==, RFL_LINK_UNKNOWN);
  g_assert_false (gtk_widget_is_sensitive (find_action (page, "sync.now")));

  /* A file far too large to be a token is refused before it is read. */
  g_file_set_contents (big, filler, -1, &error);
  g_assert_no_error (error);
  rfl_sync_agent_enroll_async (agent, big_file, NULL, NULL, NULL);
  wait_until (sync_idle, agent, "the token is refused");
  g_assert_nonnull (strstr (rfl_sync_agent_get_last_error (agent), "too large"));
  g_assert_false (rfl_sync_agent_get_enrolled (agent));

  /* Enrolling with HQ's token, then the first sync, on its own. */
  rfl_sync_agent_enroll_async (agent, token_file, NULL, NULL, NULL);
  wait_until (synced, agent, "enrolled and synced");
  g_assert_true (rfl_sync_agent_get_enrolled (agent));
  g_assert_null (rfl_sync_agent_get_last_error (agent));
  g_assert_cmpint (rfl_sync_agent_get_link (agent), ==, RFL_LINK_ONLINE);
  g_assert_nonnull (strstr (toast, "sent"));

  /* No link: a new change goes on a USB stick as a signed bundle. */
  g_free (add_json_record (store, "Wanjiru", "Kamau"));
  rfl_sync_agent_refresh (agent);
  wait_until (sync_idle, agent, "the status is read again");
  g_assert_cmpint (rfl_sync_agent_get_pending (agent), ==, 1);
  g_assert_cmpint (g_mkdir (stick, 0700), ==, 0);
  rfl_sync_agent_write_usb_async (agent, stick_file, NULL, NULL, NULL);
  wait_until (sync_idle, agent, "the bundle is written");
  g_assert_null (rfl_sync_agent_get_last_error (agent));
  bundles = rfl_sync_list_bundles (stick, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bundles->len, ==, 1);
  g_assert_false (rfl_test_file_contains (g_ptr_array_index (bundles, 0), "Wanjiru"));
  g_assert_nonnull (strstr (toast, "1 bundle written"));

  /* Another laptop of the same office changes the same field: after both
   * sync, the conflict is shown here, and taking the other value settles it. */
  other = rfl_store_create (other_path, TEST_PASSPHRASE, strlen (TEST_PASSPHRASE), RFL_KDF_INTERACTIVE, &error);
  g_assert_no_error (error);
  enroll_with_hq (hq, other, dir);
  g_assert_true (rfl_sync_client_run (other, NULL, &report, NULL, &error));
  g_assert_no_error (error);
  /* The oldest case, which both laptops hold. */
  listed = rfl_store_list (store, "registration", NULL, 0, 10, &error);
  g_assert_no_error (error);
  id = g_strdup (json_object_get_string_member (g_ptr_array_index (listed, listed->len - 1), "id"));
  set_description (store, id, "Seen at the Goma transit centre");
  set_description (other, id, "Seen at the Bukavu health post");
  g_assert_true (rfl_sync_client_run (other, NULL, &report, NULL, &error));
  g_assert_no_error (error);
  rfl_sync_agent_sync_async (agent, NULL, NULL, NULL);
  wait_until (has_conflict, agent, "the conflict arrives");
  g_assert_cmpuint (rfl_sync_agent_get_conflicts (agent)->len, ==, 1);
  conflict = g_ptr_array_index (rfl_sync_agent_get_conflicts (agent), 0);
  g_assert_cmpstr (json_object_get_string_member (conflict, "field"), ==, "description");
  rfl_sync_agent_resolve_async (agent, json_object_get_string_member (conflict, "id"), TRUE,
                                NULL, NULL, NULL);
  wait_until (sync_idle, agent, "the conflict is settled");
  g_assert_null (rfl_sync_agent_get_last_error (agent));
  g_assert_cmpuint (rfl_sync_agent_get_conflicts (agent)->len, ==, 0);
  record = rfl_store_get (store, id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (record, "description"), ==, "Seen at the Goma transit centre");

  /* HQ goes away: the sync fails with a message and nothing is lost. */
  g_free (add_json_record (store, "Otieno", "Achieng"));
  hq_kill (hq);
  rfl_sync_agent_sync_async (agent, NULL, NULL, NULL);
  wait_until (sync_idle, agent, "the sync fails");
  g_assert_nonnull (rfl_sync_agent_get_last_error (agent));
  g_assert_cmpint (rfl_sync_agent_get_link (agent), !=, RFL_LINK_ONLINE);
  g_assert_cmpint (rfl_sync_agent_get_pending (agent), >, 0);

  /* HQ back: unlocking (a new store for the page) syncs on its own. */
  hq_start (hq);
  rfl_sync_agent_set_store (agent, NULL);
  g_assert_false (rfl_sync_agent_get_enrolled (agent));
  g_assert_null (rfl_sync_agent_get_conflicts (agent));
  rfl_sync_agent_set_store (agent, store);
  wait_until (synced, agent, "the automatic sync");
  g_assert_cmpint (rfl_sync_agent_get_link (agent), ==, RFL_LINK_ONLINE);

  /* A sync that ended while another laptop was still sending HQ more for
   * this one says so, rather than a plain "Synced". */
  {
    RflSyncOutcome behind = { .kind = RFL_SYNC_JOB_SYNC, .automatic = TRUE,
                              .report = { .received = 1000, .behind = TRUE } };

    g_signal_emit_by_name (agent, "finished", &behind);
    g_assert_nonnull (strstr (toast, "1000 received"));
    g_assert_nonnull (strstr (toast, "Headquarters has more"));
  }

  rfl_sync_agent_set_store (agent, NULL);
  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_finalize_object (page);
  wait_until (only_reference, agent, "the worker lets go of the agent");
  g_assert_finalize_object (agent);
  rfl_store_close (other);
  rfl_store_close (store);
  rfl_test_remove_dir (dir);
}

/* Notifications of each of the agent's properties, counted. */
typedef struct
{
  guint store;
  guint link;
  guint busy;
  guint pending;
  guint enrolled;
  guint last_error;
  guint finished;
} Notified;

static void
count_cb (GObject    *object,
          GParamSpec *pspec,
          guint      *count)
{
  (*count)++;
}

static void
count_finished_cb (RflSyncAgent         *agent,
                   const RflSyncOutcome *outcome,
                   Notified             *notified)
{
  notified->finished++;
}

static void
count_notifications (RflSyncAgent *agent,
                     Notified     *notified)
{
  g_signal_connect (agent, "notify::store", G_CALLBACK (count_cb), &notified->store);
  g_signal_connect (agent, "notify::link", G_CALLBACK (count_cb), &notified->link);
  g_signal_connect (agent, "notify::busy", G_CALLBACK (count_cb), &notified->busy);
  g_signal_connect (agent, "notify::pending", G_CALLBACK (count_cb), &notified->pending);
  g_signal_connect (agent, "notify::enrolled", G_CALLBACK (count_cb), &notified->enrolled);
  g_signal_connect (agent, "notify::last-error", G_CALLBACK (count_cb), &notified->last_error);
  g_signal_connect (agent, "finished", G_CALLBACK (count_finished_cb), notified);
}

static gboolean
agent_settled (gpointer data)
{
  return !rfl_sync_agent_get_busy (data) && rfl_sync_agent_get_link (data) != RFL_LINK_UNKNOWN;
}

static void
result_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static gboolean
has_result (gpointer data)
{
  return *(GAsyncResult **) data != NULL;
}

static void
test_sync_agent_properties (void)
{
  g_autofree char *dir = rfl_test_make_dir ();
  g_autoptr(RflStore) store = make_store (dir, 3);
  g_autoptr(GSettings) settings = g_settings_new ("io.github.reunite.Reunite");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  RflSyncAgent *agent = rfl_sync_agent_new ();
  Notified notified = { 0 };
  RflLinkState link = RFL_LINK_ONLINE;
  gint64 pending = -1;
  GParamSpec *link_spec;

  g_settings_set_boolean (settings, "sync-automatically", TRUE);
  g_object_add_weak_pointer (G_OBJECT (agent), (gpointer *) &agent);
  count_notifications (agent, &notified);
  link_spec = g_object_class_find_property (G_OBJECT_GET_CLASS (agent), "link");
  g_assert_true (G_PARAM_SPEC_VALUE_TYPE (link_spec) == RFL_TYPE_LINK_STATE);
  g_assert_null (rfl_sync_agent_get_store (agent));
  g_assert_false (rfl_sync_agent_get_busy (agent));

  /* Nothing to sync with: an operation says so, and nothing changes. */
  rfl_sync_agent_sync_async (agent, NULL, result_cb, &result);
  wait_until (has_result, &result, "the sync is refused");
  g_assert_null (rfl_sync_agent_sync_finish (agent, result, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED);
  g_clear_error (&error);
  g_clear_object (&result);
  g_assert_cmpuint (notified.busy, ==, 0);

  /* A store not enrolled: its status is read once, in the worker. */
  g_object_set (agent, "store", store, NULL);
  g_assert_true (rfl_sync_agent_get_busy (agent));
  wait_until (sync_idle, agent, "the status is read");
  g_object_get (agent, "link", &link, "pending", &pending, NULL);
  g_assert_cmpint (link, ==, RFL_LINK_UNKNOWN);
  g_assert_cmpint (pending, ==, 3);
  g_assert_false (rfl_sync_agent_get_enrolled (agent));
  g_assert_null (rfl_sync_agent_get_last_error (agent));
  g_assert_cmpuint (notified.store, ==, 1);
  g_assert_cmpuint (notified.busy, ==, 2);
  g_assert_cmpuint (notified.pending, ==, 1);
  g_assert_cmpuint (notified.link, ==, 0);
  g_assert_cmpuint (notified.enrolled, ==, 0);
  g_assert_cmpuint (notified.finished, ==, 1);

  /* The same store again is no change. */
  rfl_sync_agent_set_store (agent, store);
  g_assert_cmpuint (notified.store, ==, 1);
  g_assert_cmpuint (notified.busy, ==, 2);

  /* A change to the store is read again, as the page shows it. */
  g_free (add_json_record (store, "Wanjiru", "Kamau"));
  wait_until (sync_idle, agent, "the status is read again");
  while (rfl_sync_agent_get_pending (agent) != 4)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (notified.pending, ==, 2);

  /* Locked: everything the agent knew of the store goes. */
  rfl_sync_agent_set_store (agent, NULL);
  g_assert_cmpuint (notified.store, ==, 2);
  g_assert_cmpint (rfl_sync_agent_get_pending (agent), ==, 0);
  g_assert_null (rfl_sync_agent_get_status (agent));
  g_assert_null (rfl_sync_agent_get_conflicts (agent));

  wait_until (only_reference, agent, "the worker lets go of the agent");
  g_object_unref (agent);
  g_assert_null (agent);
  rfl_store_close (store);
  rfl_test_remove_dir (dir);
}

/* One real sync against HQ on loopback, seen through the agent's
 * properties as the Sync page shows them. */
static void
test_sync_agent_sync (void)
{
  g_autofree char *dir = rfl_test_make_dir ();
  g_autoptr(Hq) hq = hq_new (dir);
  g_autoptr(RflStore) store = make_store (dir, 3);
  g_autoptr(GSettings) settings = g_settings_new ("io.github.reunite.Reunite");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) refused = NULL;
  g_autoptr(GFile) folder = g_file_new_for_path (dir);
  g_autoptr(RflSyncOutcome) outcome = NULL;
  g_autoptr(GError) error = NULL;
  RflSyncAgent *agent = rfl_sync_agent_new ();
  Notified notified = { 0 };
  guint sent = 0, received = 0, expected = 0;

  /* Only what the test asks for: no sync on its own after the ping. */
  g_settings_set_boolean (settings, "sync-automatically", FALSE);
  g_object_add_weak_pointer (G_OBJECT (agent), (gpointer *) &agent);
  enroll_with_hq (hq, store, dir);

  /* Enrolled: the agent reads the status, then pings HQ, which answers. */
  rfl_sync_agent_set_store (agent, store);
  wait_until (agent_settled, agent, "HQ answers a ping");
  g_assert_cmpint (rfl_sync_agent_get_link (agent), ==, RFL_LINK_ONLINE);
  g_assert_true (rfl_sync_agent_get_enrolled (agent));
  g_assert_cmpint (rfl_sync_agent_get_pending (agent), ==, 3);
  g_assert_null (rfl_sync_agent_get_last_sync (agent));

  /* Sync Now: busy at once, one job at a time, then everything is sent. */
  count_notifications (agent, &notified);
  rfl_sync_agent_sync_async (agent, NULL, result_cb, &result);
  g_assert_true (rfl_sync_agent_get_busy (agent));
  g_assert_cmpuint (notified.busy, ==, 1);
  g_assert_true (rfl_sync_agent_get_progress (agent, &sent, &received, &expected));
  g_assert_cmpuint (expected, ==, 1);
  rfl_sync_agent_write_usb_async (agent, folder, NULL, result_cb, &refused);
  wait_until (has_result, &refused, "a second job is refused");
  g_assert_null (rfl_sync_agent_write_usb_finish (agent, refused, &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_BUSY);
  g_clear_error (&error);
  wait_until (has_result, &result, "the sync ends");
  outcome = rfl_sync_agent_sync_finish (agent, result, &error);
  g_assert_no_error (error);
  g_assert_cmpint (outcome->kind, ==, RFL_SYNC_JOB_SYNC);
  g_assert_false (outcome->automatic);
  g_assert_cmpuint (outcome->report.sent, ==, 1);
  g_assert_false (rfl_sync_agent_get_busy (agent));
  g_assert_false (rfl_sync_agent_get_progress (agent, NULL, NULL, NULL));
  g_assert_cmpint (rfl_sync_agent_get_pending (agent), ==, 0);
  g_assert_nonnull (rfl_sync_agent_get_last_sync (agent));
  g_assert_cmpint (rfl_sync_agent_get_link (agent), ==, RFL_LINK_ONLINE);
  g_assert_cmpuint (notified.busy, ==, 2);
  g_assert_cmpuint (notified.pending, ==, 1);
  g_assert_cmpuint (notified.link, ==, 0);
  g_assert_cmpuint (notified.last_error, ==, 0);
  g_assert_cmpuint (notified.finished, ==, 1);
  g_clear_object (&result);

  /* HQ gone: the sync fails with words for a person, and the link says so. */
  hq_kill (hq);
  g_free (add_json_record (store, "Otieno", "Achieng"));
  rfl_sync_agent_sync_async (agent, NULL, result_cb, &result);
  wait_until (has_result, &result, "the sync fails");
  g_assert_null (rfl_sync_agent_sync_finish (agent, result, &error));
  g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_NETWORK);
  g_assert_cmpstr (rfl_sync_agent_get_last_error (agent), ==, error->message);
  g_assert_cmpint (rfl_sync_agent_get_link (agent), !=, RFL_LINK_ONLINE);
  g_assert_cmpuint (notified.link, ==, 1);
  g_assert_cmpuint (notified.last_error, ==, 1);
  g_assert_cmpuint (notified.finished, ==, 1);
  g_assert_cmpint (rfl_sync_agent_get_pending (agent), ==, 1);

  rfl_sync_agent_set_store (agent, NULL);
  g_assert_cmpint (rfl_sync_agent_get_link (agent), ==, RFL_LINK_UNKNOWN);
  g_clear_object (&result);
  g_clear_object (&refused);
  wait_until (only_reference, agent, "the worker lets go of the agent");
  g_object_unref (agent);
  g_assert_null (agent);
  rfl_store_close (store);
  rfl_test_remove_dir (dir);
}

static void
collect_big_labels (GtkWidget *root,
                    GPtrArray *out)
{
  if (GTK_IS_LABEL (root) && gtk_widget_has_css_class (root, "title-3"))
    g_ptr_array_add (out, (gpointer) gtk_label_get_text (GTK_LABEL (root)));
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    collect_big_labels (c, out);
}

static gboolean
dashboard_ready (gpointer data)
{
  return !rfl_dashboard_page_get_loading (data) && rfl_dashboard_page_get_summary (data) != NULL;
}

static void
test_dashboard (void)
{
  g_autofree char *dir = rfl_test_make_dir ();
  g_autoptr(RflStore) store = make_store (dir, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) shown = g_ptr_array_new ();
  g_autoptr(JsonObject) a = rfl_test_object (
    "{\"type\": \"tracing_request\", \"enquirer\": {\"given_name\": \"Amina\"},"
    " \"sought\": [{\"given_name\": \"Ibrahim\"}], \"consent\": {\"tracing\": true, \"share_within_movement\": true}}");
  g_autoptr(JsonObject) m = rfl_test_object (
    "{\"type\": \"message\", \"sender\": {\"given_name\": \"Amina\"}, \"addressee\": {\"given_name\": \"Ibrahim\"},"
    " \"content\": \"We are safe.\"}");
  g_autoptr(JsonObject) close = rfl_test_object ("{\"status\": \"closed\", \"closure_reason\": \"withdrawn\"}");
  g_autofree char *first = rfl_store_add (store, a, &error);
  g_autofree char *second = rfl_store_add (store, a, &error);
  g_autofree char *message = rfl_store_add (store, m, &error);
  GtkWidget *window = gtk_window_new ();
  GtkWidget *page = rfl_dashboard_page_new ();
  JsonArray *weeks;

  g_assert_no_error (error);
  g_assert_true (rfl_store_update (store, second, close, &error));
  g_assert_no_error (error);
  g_object_ref (page);
  gtk_window_set_child (GTK_WINDOW (window), page);
  gtk_window_present (GTK_WINDOW (window));
  rfl_dashboard_page_set_store (RFL_DASHBOARD_PAGE (page), store);
  wait_until (dashboard_ready, page, "the figures are read");

  /* Totals per type, then the messages awaiting delivery. */
  collect_big_labels (page, shown);
  g_assert_cmpuint (shown->len, ==, 4);
  g_assert_cmpstr (g_ptr_array_index (shown, 0), ==, "2");
  g_assert_cmpstr (g_ptr_array_index (shown, 1), ==, "0");
  g_assert_cmpstr (g_ptr_array_index (shown, 2), ==, "1");
  g_assert_cmpstr (g_ptr_array_index (shown, 3), ==, "1");
  weeks = json_object_get_array_member (rfl_dashboard_page_get_summary (RFL_DASHBOARD_PAGE (page)), "weeks");
  g_assert_cmpuint (json_array_get_length (weeks), ==, 12);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (weeks, 11), "opened"), ==, 2);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (weeks, 11), "closed"), ==, 1);

  /* Delivered, the message no longer waits; the page shows it once read again. */
  {
    g_autoptr(JsonObject) sent = rfl_test_object ("{\"status\": \"transmitted\"}");
    g_autoptr(JsonObject) delivered = rfl_test_object ("{\"status\": \"delivered\"}");

    g_assert_true (rfl_store_update (store, message, sent, &error));
    g_assert_true (rfl_store_update (store, message, delivered, &error));
    g_assert_no_error (error);
  }
  /* The first request's person located, then the family reunited. */
  for (guint i = 0; i < 3; i++)
    {
      static const char * const moves[] = { "tracing", "located", "reunited" };
      g_autofree char *json = g_strdup_printf ("{\"status\": \"%s\"}", moves[i]);
      g_autoptr(JsonObject) move = rfl_test_object (json);

      g_assert_true (rfl_store_update (store, first, move, &error));
      g_assert_no_error (error);
    }
  rfl_dashboard_page_refresh (RFL_DASHBOARD_PAGE (page));
  g_assert_true (rfl_dashboard_page_get_loading (RFL_DASHBOARD_PAGE (page)));
  wait_until (dashboard_ready, page, "the figures are read again");
  g_ptr_array_set_size (shown, 0);
  collect_big_labels (page, shown);
  g_assert_cmpstr (g_ptr_array_index (shown, 3), ==, "0");
  weeks = json_object_get_array_member (rfl_dashboard_page_get_summary (RFL_DASHBOARD_PAGE (page)), "weeks");
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (weeks, 11), "located"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (json_array_get_object_element (weeks, 11), "reunited"), ==, 1);

  /* Locking drops every figure. */
  rfl_dashboard_page_set_store (RFL_DASHBOARD_PAGE (page), NULL);
  g_assert_null (rfl_dashboard_page_get_summary (RFL_DASHBOARD_PAGE (page)));
  g_ptr_array_set_size (shown, 0);
  collect_big_labels (page, shown);
  g_assert_cmpuint (shown->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (shown, 0), ==, "");

  gtk_window_destroy (GTK_WINDOW (window));
  g_assert_finalize_object (page);
  rfl_store_close (store);
  rfl_test_remove_dir (dir);
}

static void
test_about (void)
{
  GtkWidget *about = rfl_about_window_new ("/io/github/reunite/Reunite/io.github.reunite.Reunite.metainfo.xml");
  AdwAboutWindow *w = ADW_ABOUT_WINDOW (about);

  /* What the metainfo says, not a copy of it in code. */
  g_object_ref_sink (about);
  g_assert_cmpstr (adw_about_window_get_application_name (w), ==, "Reunite");
  g_assert_cmpstr (adw_about_window_get_comments (w), ==, "Trace missing people and reunite families, offline");
  g_assert_cmpstr (adw_about_window_get_developer_name (w), ==, "The Reunite developers");
  g_assert_cmpstr (adw_about_window_get_website (w), ==, "https://github.com/reunite/reunite");
  g_assert_cmpint (adw_about_window_get_license_type (w), ==, GTK_LICENSE_GPL_3_0);
  g_assert_cmpstr (adw_about_window_get_release_notes_version (w), ==, PACKAGE_VERSION);
  g_assert_nonnull (strstr (adw_about_window_get_release_notes (w), "<li>"));
  g_assert_null (strstr (adw_about_window_get_release_notes (w), "First release"));
  gtk_window_destroy (GTK_WINDOW (about));
  g_assert_finalize_object (about);
}

/* Dates and numbers as the locale writes them; ./dev setup generates these. */
static void
test_locale_formats (void)
{
  g_autofree char *saved = g_strdup (setlocale (LC_ALL, NULL));
  static const struct { const char *locale, *date, *count; } cases[] = {
    { "en_US.UTF-8", "03/05/2026", "12,345" },
    { "fr_FR.UTF-8", "05/03/2026", "12\u202f345" },
    { "es_ES.UTF-8", "05/03/26", "12.345" },
    { "ru_RU.UTF-8", "05.03.2026", "12\u202f345" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *date = NULL, *count = NULL;

      if (setlocale (LC_ALL, cases[i].locale) == NULL)
        g_error ("locale %s is missing: run ./dev setup", cases[i].locale);
      date = rfl_format_time ("2026-03-05T10:00:00Z", FALSE);
      count = rfl_format_count (12345);
      g_assert_cmpstr (date, ==, cases[i].date);
      g_assert_cmpstr (count, ==, cases[i].count);
    }
  setlocale (LC_ALL, saved);
}

/* Whether a row under @root reads @title, and @subtitle if given. */
static gboolean
has_row (GtkWidget  *root,
         const char *title,
         const char *subtitle)
{
  if (ADW_IS_ACTION_ROW (root) &&
      g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (root)), title) == 0 &&
      (subtitle == NULL || g_strcmp0 (adw_action_row_get_subtitle (ADW_ACTION_ROW (root)), subtitle) == 0))
    return TRUE;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    if (has_row (c, title, subtitle))
      return TRUE;
  return FALSE;
}

static gboolean
has_group (GtkWidget  *root,
           const char *title)
{
  if (ADW_IS_PREFERENCES_GROUP (root) &&
      g_strcmp0 (adw_preferences_group_get_title (ADW_PREFERENCES_GROUP (root)), title) == 0)
    return TRUE;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    if (has_group (c, title))
      return TRUE;
  return FALSE;
}

static gboolean
offers (AdwComboRow *row,
        const char  *label)
{
  GListModel *model = adw_combo_row_get_model (row);

  for (guint i = 0; i < g_list_model_get_n_items (model); i++)
    if (g_str_equal (gtk_string_list_get_string (GTK_STRING_LIST (model), i), label))
      return TRUE;
  return FALSE;
}

/* Registers a case of @type (@subtype) with the new-case dialog, filled by
 * @fill, and returns its id. */
static char *
register_case (RflStore   *store,
               const char *type,
               const char *subtype,
               void      (*fill) (GtkWidget *form))
{
  GtkWidget *dialog = rfl_new_case_dialog_new (NULL, store);
  GtkWidget *form;
  Saved out = { 0 };

  g_object_ref (dialog);
  g_signal_connect (dialog, "saved", G_CALLBACK (saved_cb), &out);
  gtk_window_present (GTK_WINDOW (dialog));
  rfl_new_case_dialog_set_kind (RFL_NEW_CASE_DIALOG (dialog), type, subtype);
  form = rfl_new_case_dialog_get_form (RFL_NEW_CASE_DIALOG (dialog));
  g_assert_cmpstr (rfl_record_form_get_record_type (RFL_RECORD_FORM (form)), ==, type);
  fill (form);
  set_switch (form, "consent.tracing", TRUE);
  set_switch (form, "consent.share_within_movement", TRUE);
  gtk_widget_activate_action (dialog, "case.save", NULL);
  wait_until (got_id, &out, "the case is saved");
  g_assert_finalize_object (dialog);
  return out.id;
}

static void
fill_migrant (GtkWidget *form)
{
  set_field (form, "migrant.given_name", "Amina");
  set_field (form, "route", "Agadez");
}

static void
fill_clan (GtkWidget *form)
{
  set_field (form, "person.given_name", "Ibrahim");
  set_field (form, "clan", "Hawiye");
}

/* @id's case as the case view shows it, in @window. */
static GtkWidget *
view_case (GtkWidget  *window,
           RflStore   *store,
           const char *id)
{
  GtkWidget *view = rfl_case_view_new ();

  gtk_window_set_child (GTK_WINDOW (window), view);
  rfl_case_view_set_store (RFL_CASE_VIEW (view), store);
  rfl_case_view_load (RFL_CASE_VIEW (view), id);
  wait_until (case_idle, view, "the case is read");
  return view;
}

static void
check_schema_override (void)
{
  g_autofree char *dir = rfl_test_make_dir ();
  g_autoptr(RflStore) store = make_store (dir, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) migrant = NULL, registration = NULL;
  g_autoptr(JsonObject) bad = rfl_test_object (
    "{\"type\": \"registration\", \"subtype\": \"found_person\", \"person\": {\"given_name\": \"A\"},"
    " \"clan\": 7, \"consent\": {\"tracing\": true, \"share_within_movement\": true}}");
  g_autofree char *migrant_id = NULL, *registration_id = NULL, *refused = NULL;
  GtkWidget *window = gtk_window_new ();
  GtkWidget *dialog;

  g_assert_true (rfl_schema_load_default (&error));
  g_assert_no_error (error);

  /* The new kind is offered with the label the file gives it, and the
   * form of each kind has the fields the file adds. */
  dialog = rfl_new_case_dialog_new (NULL, store);
  g_assert_true (offers (ADW_COMBO_ROW (find (dialog, ADW_TYPE_COMBO_ROW, 0)), "Missing migrant"));
  gtk_window_destroy (GTK_WINDOW (dialog));
  migrant_id = register_case (store, "missing_migrant", NULL, fill_migrant);
  registration_id = register_case (store, "registration", "found_person", fill_clan);

  migrant = rfl_store_get (store, migrant_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (migrant, "route"), ==, "Agadez");
  g_assert_cmpstr (json_object_get_string_member (migrant, "status"), ==, "open");
  registration = rfl_store_get (store, registration_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (registration, "clan"), ==, "Hawiye");

  /* The case view names the kind and shows the added fields. */
  gtk_window_present (GTK_WINDOW (window));
  {
    GtkWidget *view = view_case (window, store, migrant_id);

    g_assert_cmpstr (gtk_label_get_text (GTK_LABEL (find (view, GTK_TYPE_LABEL, 0))), ==, "Amina");
    g_assert_true (has_group (view, "Missing migrant"));
    g_assert_true (has_row (view, "Route", "Agadez"));
    g_assert_true (has_row (view, "Migrant: Amina", NULL));
  }
  {
    GtkWidget *view = view_case (window, store, registration_id);

    g_assert_true (has_group (view, "Found person"));
    g_assert_true (has_row (view, "Clan", "Hawiye"));
    g_assert_false (has_row (view, "Registered place", NULL));
  }

  /* The store checks the added field by its rules. */
  refused = rfl_store_add (store, bad, &error);
  g_assert_null (refused);
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "'clan': must be a string"));

  gtk_window_destroy (GTK_WINDOW (window));
  rfl_store_close (store);
  rfl_test_remove_dir (dir);
}

/* The app shows a bad override's error, naming the file, instead of
 * opening a store with fewer record types than the office defined. */
static void
check_schema_override_refused (void)
{
  g_autoptr(RflApplication) app = rfl_application_new ();
  g_autoptr(GError) error = NULL;
  GList *windows;

  g_assert_false (rfl_schema_load_default (&error));
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_SCHEMA);
  g_clear_error (&error);
  g_application_register (G_APPLICATION (app), NULL, &error);
  g_assert_no_error (error);
  g_application_activate (G_APPLICATION (app));
  windows = gtk_application_get_windows (GTK_APPLICATION (app));
  g_assert_cmpuint (g_list_length (windows), ==, 1);
  g_assert_true (ADW_IS_MESSAGE_DIALOG (windows->data));
  g_assert_nonnull (strstr (adw_message_dialog_get_body (windows->data), "reunite/records.json: "));
  g_assert_nonnull (strstr (adw_message_dialog_get_body (windows->data), "cannot be required"));
  gtk_window_destroy (windows->data);
}

/* In a subprocess, as the schema is read once a process, from the
 * XDG_CONFIG_HOME it starts with: @override put there as the office's
 * reunite/records.json, then @check. */
static void
run_with_override (const char *override,
                   void      (*check) (void))
{
  g_autofree char *dir = NULL, *config = NULL, *path = NULL, *saved = NULL;

  if (g_test_subprocess ())
    {
      check ();
      return;
    }
  dir = rfl_test_make_dir ();
  config = g_build_filename (dir, "reunite", NULL);
  path = g_build_filename (config, "records.json", NULL);
  g_assert_cmpint (g_mkdir (config, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, override, -1, NULL));
  saved = g_strdup (g_getenv ("XDG_CONFIG_HOME"));
  g_setenv ("XDG_CONFIG_HOME", dir, TRUE);
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  if (saved != NULL)
    g_setenv ("XDG_CONFIG_HOME", saved, TRUE);
  else
    g_unsetenv ("XDG_CONFIG_HOME");
  rfl_test_remove_dir (dir);
  g_test_trap_assert_passed ();
}

static void
test_schema_override (void)
{
  g_autofree char *fixture = g_test_build_filename (G_TEST_DIST, "schema", "records-override.json", NULL);
  g_autofree char *text = NULL;

  g_assert_true (g_file_get_contents (fixture, &text, NULL, NULL));
  run_with_override (text, check_schema_override);
}

static void
test_schema_override_refused (void)
{
  run_with_override ("{\"format\": \"reunite-schema-override\", \"records\": {\"registration\":"
                     " {\"fields\": {\"clan\": {\"type\": \"string\", \"required\": true}}}}}",
                     check_schema_override_refused);
}

/* In a subprocess, as GSK reads GSK_RENDERER once: the renderer a window of
 * the app gets when the environment says @env. */
static void
check_window_renderer (const char *env,
                       GType       expected)
{
  if (g_test_subprocess ())
    {
      g_autoptr(RflApplication) app = rfl_application_new ();
      g_autoptr(GError) error = NULL;
      GtkWidget *window;

      if (env != NULL)
        g_setenv ("GSK_RENDERER", env, TRUE);
      else
        g_unsetenv ("GSK_RENDERER");
      g_application_register (G_APPLICATION (app), NULL, &error);
      g_assert_no_error (error);
      window = gtk_application_window_new (GTK_APPLICATION (app));
      gtk_widget_realize (window);
      g_assert_true (G_TYPE_CHECK_INSTANCE_TYPE (gtk_native_get_renderer (GTK_NATIVE (window)), expected));
      gtk_window_destroy (GTK_WINDOW (window));
      return;
    }
  g_test_trap_subprocess (NULL, 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

static void
test_renderer_software (void)
{
  g_assert_true (rfl_gl_renderer_is_software ("llvmpipe (LLVM 15.0.6, 256 bits)"));
  g_assert_true (rfl_gl_renderer_is_software ("softpipe"));
  g_assert_false (rfl_gl_renderer_is_software ("Mesa Intel(R) UHD Graphics 620 (KBL GT2)"));
  g_assert_false (rfl_gl_renderer_is_software ("AMD Radeon Graphics (renoir, LLVM 15.0.6, DRM 3.49)"));
  g_assert_false (rfl_gl_renderer_is_software (NULL));

  /* Xvfb has no GPU, so its OpenGL is Mesa's software rasterizer: the
   * app's windows draw with cairo. */
  check_window_renderer (NULL, GSK_TYPE_CAIRO_RENDERER);
}

static void
test_renderer_chosen (void)
{
  /* A renderer the user chose is kept, software or not. */
  check_window_renderer ("gl", GSK_TYPE_GL_RENDERER);
}

/* A case with a duplicate merged into it names the duplicate, and shows
 * the values the duplicate held otherwise; the duplicate says where it went. */
static void
test_case_view_merged (void)
{
  g_autofree char *dir = rfl_test_make_dir ();
  g_autoptr(RflStore) store = make_store (dir, 0);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) first = rfl_test_object (
    "{\"type\": \"registration\", \"subtype\": \"found_person\","
    " \"person\": {\"given_name\": \"Ibrahim\", \"family_name\": \"Haddad\"},"
    " \"registered_place\": \"Goma\", \"consent\": {\"tracing\": true, \"share_within_movement\": true}}");
  g_autoptr(JsonObject) second = rfl_test_object (
    "{\"type\": \"registration\", \"subtype\": \"found_person\","
    " \"person\": {\"given_name\": \"إبراهيم\", \"family_name\": \"حداد\"},"
    " \"registered_place\": \"Goma camp\", \"consent\": {\"tracing\": true, \"share_within_movement\": true}}");
  g_autofree char *kept = rfl_store_add (store, first, &error);
  g_autofree char *dup = rfl_store_add (store, second, &error);
  g_autoptr(JsonObject) out = NULL;
  GtkWidget *window = gtk_window_new ();
  GtkWidget *view = rfl_case_view_new ();
  RflCaseView *cv = RFL_CASE_VIEW (view);

  g_assert_no_error (error);
  out = rfl_store_merge_duplicate (store, dup, kept, &error);
  g_assert_no_error (error);
  gtk_window_set_child (GTK_WINDOW (window), view);
  gtk_window_present (GTK_WINDOW (window));
  rfl_case_view_set_store (cv, store);
  rfl_case_view_load (cv, kept);
  wait_until (case_idle, view, "the case is read");
  g_assert_true (has_row (view, "Merged from", "\u2068إبراهيم حداد\u2069"));
  g_assert_true (has_row (view, "Registered place", "Also recorded as \u2068Goma camp\u2069"));
  g_assert_true (has_row (view, "Family name", "Also recorded as \u2068حداد\u2069"));

  rfl_case_view_load (cv, dup);
  wait_until (case_idle, view, "the duplicate is read");
  g_assert_cmpstr (view_status (cv), ==, "closed");
  g_assert_true (has_row (view, "Merged into", "\u2068Ibrahim Haddad\u2069"));
  gtk_window_destroy (GTK_WINDOW (window));
}

static GtkWidget *
find_button (GtkWidget  *root,
             const char *label)
{
  if (GTK_IS_BUTTON (root) && g_strcmp0 (gtk_button_get_label (GTK_BUTTON (root)), label) == 0 &&
      gtk_widget_get_visible (root))
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = find_button (c, label);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static void
sync_over_http (Hq       *hq,
                RflStore *store)
{
  RflSyncOptions options = { .url = hq->url, .deadline_s = 60 };
  RflSyncReport report = { 0 };
  g_autoptr(GError) error = NULL;

  rfl_sync_client_run (store, &options, &report, NULL, &error);
  g_assert_no_error (error);
}

typedef struct
{
  GtkWidget  *view;
  const char *title;
  const char *subtitle_part;
} RowWanted;

static gboolean
row_shows (GtkWidget  *root,
           const char *title,
           const char *part)
{
  if (ADW_IS_ACTION_ROW (root) &&
      g_strcmp0 (adw_preferences_row_get_title (ADW_PREFERENCES_ROW (root)), title) == 0 &&
      strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (root)), part) != NULL)
    return TRUE;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    if (row_shows (c, title, part))
      return TRUE;
  return FALSE;
}

static gboolean
row_wanted (gpointer data)
{
  RowWanted *w = data;

  return row_shows (w->view, w->title, w->subtitle_part);
}

typedef struct
{
  RflStore *store;
  gint64    before;
} LocalOps;

static gboolean
wrote_more (gpointer data)
{
  LocalOps *ops = data;

  return rfl_store_count_local_ops (ops->store, 0, NULL) > ops->before;
}

/* Goma seeks a girl whom Bukavu registered. The case view in Goma shows
 * someone at office Bukavu, with nothing of her but the score's parts, and
 * asks Bukavu to share; Bukavu's view says so, and sharing there, after
 * its question, brings the case to Goma. All through a real reunite-hq. */
static void
test_case_view_other_office (void)
{
  g_autofree char *dir = rfl_test_make_dir ();
  g_autofree char *goma_dir = g_build_filename (dir, "goma", NULL);
  g_autofree char *bukavu_dir = g_build_filename (dir, "bukavu", NULL);
  g_autoptr(Hq) hq = hq_new (dir);
  g_autoptr(RflStore) goma = NULL, bukavu = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) request = rfl_test_object (
    "{\"type\": \"tracing_request\", \"enquirer\": {\"given_name\": \"Neema\", \"family_name\": \"Kahindo\"},"
    " \"sought\": [{\"given_name\": \"Furaha\", \"family_name\": \"Kahindo\", \"sex\": \"female\","
    "   \"date_of_birth\": \"2013\", \"relationship\": \"daughter\"}],"
    " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}");
  g_autoptr(JsonObject) found = rfl_test_object (
    "{\"type\": \"registration\", \"subtype\": \"separated_child\","
    " \"person\": {\"given_name\": \"Fouraha\", \"family_name\": \"Kahindo\", \"sex\": \"female\","
    "   \"approximate_age\": 13}, \"registered_place\": \"Kalehe\","
    " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}");
  g_autofree char *request_id = NULL, *found_id = NULL;
  g_autoptr(JsonObject) arrived = NULL;
  GtkWidget *window = gtk_window_new ();
  GtkWidget *view = rfl_case_view_new ();
  RflCaseView *cv = RFL_CASE_VIEW (view);
  RowWanted wanted = { view, "Someone at office Bukavu", "names \u2066+" };
  LocalOps ops = { 0 };
  AdwMessageDialog *dialog;
  GtkWidget *button;

  g_mkdir (goma_dir, 0700);
  g_mkdir (bukavu_dir, 0700);
  goma = make_store (goma_dir, 0);
  bukavu = make_store (bukavu_dir, 0);
  enroll_office (hq, goma, goma_dir, "Goma");
  enroll_office (hq, bukavu, bukavu_dir, "Bukavu");
  request_id = rfl_store_add (goma, request, &error);
  found_id = rfl_store_add (bukavu, found, &error);
  g_assert_no_error (error);
  sync_over_http (hq, goma);
  sync_over_http (hq, bukavu);
  g_free (hq_run (hq, 0, "matches", NULL));
  sync_over_http (hq, goma);
  sync_over_http (hq, bukavu);

  gtk_window_set_child (GTK_WINDOW (window), view);
  gtk_window_present (GTK_WINDOW (window));
  rfl_case_view_set_store (cv, goma);
  rfl_case_view_load (cv, request_id);
  wait_until (row_wanted, &wanted, "the pair with Bukavu is shown");
  g_assert_false (row_shows (view, "Someone at office Bukavu", "Fouraha"));
  button = find_button (view, "_Ask to Share");
  g_assert_nonnull (button);
  gtk_widget_activate (button);
  wanted.subtitle_part = "You asked them to share their case";
  wait_until (row_wanted, &wanted, "the request is recorded");
  g_assert_null (find_button (view, "_Ask to Share"));

  sync_over_http (hq, goma);
  g_free (hq_run (hq, 0, "matches", NULL));
  sync_over_http (hq, bukavu);
  rfl_case_view_set_store (cv, bukavu);
  rfl_case_view_load (cv, found_id);
  wanted.title = "Someone at office Goma";
  wanted.subtitle_part = "They ask you to share this case";
  wait_until (row_wanted, &wanted, "Goma's request reaches Bukavu");
  g_assert_false (row_shows (view, "Someone at office Goma", "Neema"));
  button = find_button (view, "S_hare Case…");
  g_assert_nonnull (button);
  gtk_widget_activate (button);
  dialog = wait_message_dialog ();
  ops.store = bukavu;
  ops.before = rfl_store_count_local_ops (bukavu, 0, NULL);
  adw_message_dialog_response (dialog, "share");
  wait_until (wrote_more, &ops, "the case is shared");
  sync_over_http (hq, bukavu);
  sync_over_http (hq, goma);
  arrived = rfl_store_get (goma, found_id, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (arrived, "person"), "given_name"),
                   ==, "Fouraha");
  gtk_window_destroy (GTK_WINDOW (window));
}

int
main (int   argc,
      char *argv[])
{
  rfl_sync_client_prepare ();
  if (sodium_init () < 0)
    g_error ("libsodium could not be initialised");
  g_test_init (&argc, &argv, NULL);
  g_setenv ("LANGUAGE", "C", TRUE);
  if (!gtk_init_check ())
    {
      g_test_skip ("no display: run under xvfb-run");
      return g_test_run ();
    }
  adw_init ();

  g_test_add_func ("/app/unlock-page/create", test_unlock_page_create);
  g_test_add_func ("/app/unlock-page/wrong-passphrase", test_unlock_page_wrong_passphrase);
  g_test_add_func ("/app/case-list-model/pages", test_case_list_model_pages);
  g_test_add_func ("/app/cases-page/search", test_cases_page_search);
  g_test_add_func ("/app/new-case/tracing-request", test_new_case_tracing_request);
  g_test_add_func ("/app/new-case/message", test_new_case_message);
  g_test_add_func ("/app/case-view/status-notes-consent", test_case_view);
  g_test_add_func ("/app/case-view/merged", test_case_view_merged);
  g_test_add_func ("/app/case-view/other-office", test_case_view_other_office);
  g_test_add_func ("/app/sync-page/enroll-usb-conflict", test_sync_page);
  g_test_add_func ("/app/sync-agent/properties", test_sync_agent_properties);
  g_test_add_func ("/app/sync-agent/sync-over-loopback", test_sync_agent_sync);
  g_test_add_func ("/app/dashboard/counts", test_dashboard);
  g_test_add_func ("/app/about/from-metainfo", test_about);
  g_test_add_func ("/app/locale/dates-and-numbers", test_locale_formats);
  g_test_add_func ("/app/application/renderer-on-software-gl", test_renderer_software);
  g_test_add_func ("/app/application/renderer-chosen", test_renderer_chosen);
  g_test_add_func ("/app/schema-override/new-kind-and-field", test_schema_override);
  g_test_add_func ("/app/schema-override/refused", test_schema_override_refused);

  return g_test_run ();
}
