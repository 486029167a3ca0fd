/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>

#include "rfl-store.h"
#include "rfl-error.h"
#include "rfl-test-util.h"

/* Match proposals on a real encrypted store: a tracing request from an
 * Arabic-speaking mother for her son, a boy registered in Latin letters
 * where he was last seen, an older woman of the same name, and another
 * request in which the son seeks his mother: crossed. */

#define REQUEST  "11111111-1111-4111-8111-111111111111"
#define CHILD    "22222222-2222-4222-8222-222222222222"
#define NAMESAKE "33333333-3333-4333-8333-333333333333"
#define CROSSED  "44444444-4444-4444-8444-444444444444"
#define STRANGER "55555555-5555-4555-8555-555555555555"
#define EARLIER  "99999999-9999-4999-8999-999999999999"

static const char * const records[] = {
  "{\"id\": \"" REQUEST "\", \"type\": \"tracing_request\", \"circumstances\": \"conflict\","
  " \"enquirer\": {\"given_name\": \"أمينة\", \"family_name\": \"يوسف\", \"sex\": \"female\"},"
  " \"sought\": [{\"given_name\": \"إبراهيم\", \"family_name\": \"يوسف\", \"sex\": \"male\","
  "   \"date_of_birth\": \"2009\", \"relationship\": \"son\", \"last_seen_place\": \"Goma\","
  "   \"last_seen_date\": \"2023-04\"}],"
  " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}",
  "{\"id\": \"" CHILD "\", \"type\": \"registration\", \"subtype\": \"unaccompanied_child\","
  " \"person\": {\"given_name\": \"Ibrahim\", \"family_name\": \"Yusuf\", \"sex\": \"male\", \"approximate_age\": 15},"
  " \"registered_place\": \"Goma\", \"registered_date\": \"2024-02\","
  " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}",
  "{\"id\": \"" NAMESAKE "\", \"type\": \"registration\", \"subtype\": \"found_person\","
  " \"person\": {\"given_name\": \"Ibrahim\", \"family_name\": \"Yusuf\", \"sex\": \"female\", \"approximate_age\": 60},"
  " \"registered_place\": \"Kampala\", \"registered_date\": \"2022-01\","
  " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}",
  "{\"id\": \"" CROSSED "\", \"type\": \"tracing_request\", \"circumstances\": \"conflict\","
  " \"enquirer\": {\"given_name\": \"Ebrahim\", \"family_name\": \"Youssef\", \"sex\": \"male\"},"
  " \"sought\": [{\"given_name\": \"Amina\", \"family_name\": \"Yusuf\", \"sex\": \"female\","
  "   \"relationship\": \"mother\"}],"
  " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}",
  "{\"id\": \"" EARLIER "\", \"type\": \"registration\", \"subtype\": \"found_person\","
  " \"person\": {\"given_name\": \"Ibrahim\", \"family_name\": \"Yusuf\", \"sex\": \"male\","
  "   \"date_of_birth\": \"2009\"},"
  " \"registered_place\": \"Kampala\", \"registered_date\": \"2022-01\","
  " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}",
  "{\"id\": \"" STRANGER "\", \"type\": \"registration\", \"subtype\": \"found_person\","
  " \"person\": {\"given_name\": \"Olena\", \"family_name\": \"Kovalenko\", \"sex\": \"female\"},"
  " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}",
};

typedef struct
{
  char     *dir;
  RflStore *store;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;

  f->dir = rfl_test_make_dir ();
  path = g_build_filename (f->dir, "cases.db", NULL);
  f->store = rfl_store_create (path, TEST_PASSPHRASE, strlen (TEST_PASSPHRASE), RFL_KDF_INTERACTIVE, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (records); i++)
    {
      g_autoptr(JsonObject) record = rfl_test_object (records[i]);
      g_autofree char *id = rfl_store_add (f->store, record, &error);

      g_assert_no_error (error);
      g_assert_nonnull (id);
    }
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_assert_finalize_object (f->store);
  rfl_test_remove_dir (f->dir);
  g_free (f->dir);
}

static JsonObject *
find (GPtrArray  *proposals,
      const char *candidate_case)
{
  for (guint i = 0; i < proposals->len; i++)
    if (g_str_equal (json_object_get_string_member (g_ptr_array_index (proposals, i), "candidate_case"),
                     candidate_case))
      return g_ptr_array_index (proposals, i);
  return NULL;
}

static gboolean
explains (JsonObject *proposal,
          const char *needle)
{
  JsonArray *lines = json_object_get_array_member (proposal, "explanation");

  for (guint i = 0; i < json_array_get_length (lines); i++)
    if (strstr (json_array_get_string_element (lines, i), needle) != NULL)
      return TRUE;
  return FALSE;
}

/* The boy registered where he was last seen comes first, and says why. */
static void
test_proposals (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) proposals = rfl_store_propose_matches (f->store, REQUEST, 3.0, &error);
  JsonObject *child, *crossed;

  g_assert_no_error (error);
  g_assert_cmpuint (proposals->len, >=, 2);
  child = g_ptr_array_index (proposals, 0);
  g_assert_cmpstr (json_object_get_string_member (child, "candidate_case"), ==, CHILD);
  g_assert_cmpstr (json_object_get_string_member (child, "kind"), ==, "registered");
  g_assert_cmpstr (json_object_get_string_member (child, "role"), ==, "sought");
  g_assert_cmpfloat (json_object_get_double_member (child, "score"), >=, 6.0);
  g_assert_true (explains (child, "own name إبراهيم يوسف ≈ Ibrahim Yusuf"));
  g_assert_true (explains (child, "born 2009 vs about 15 in 2024 +"));
  g_assert_true (explains (child, "sex agrees +0.5"));
  g_assert_true (explains (child, "last seen Goma = registered Goma +0.8"));

  /* The son seeks his mother, who seeks him: proposed once, as crossed. */
  crossed = find (proposals, CROSSED);
  g_assert_nonnull (crossed);
  g_assert_cmpstr (json_object_get_string_member (crossed, "kind"), ==, "crossed");
  g_assert_true (explains (crossed, "crossed: Amina Yusuf also seeks أمينة يوسف"));
  for (guint i = 0; i < proposals->len; i++)
    {
      JsonObject *p = g_ptr_array_index (proposals, i);

      if (g_str_equal (json_object_get_string_member (p, "candidate_case"), CROSSED))
        g_assert_true (p == crossed);
    }

  /* A woman of sixty with the boy's name is not proposed: the sex and the
   * age speak against her, and she was registered before he was last seen. */
  g_assert_null (find (proposals, NAMESAKE));
  g_assert_null (find (proposals, STRANGER));
  for (guint i = 1; i < proposals->len; i++)
    g_assert_cmpfloat (json_object_get_double_member (g_ptr_array_index (proposals, i - 1), "score"), >=,
                       json_object_get_double_member (g_ptr_array_index (proposals, i), "score"));
}

/* With no floor, evidence against still shows: a boy of the name and age
 * registered a year before the son was last seen comes below the one
 * registered after. A woman of sixty is not even a candidate: matching
 * looks only at people of the sex and age who could be the one. */
static void
test_evidence_against (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) proposals = rfl_store_propose_matches (f->store, REQUEST, -100, &error);
  JsonObject *earlier, *child;

  g_assert_no_error (error);
  earlier = find (proposals, EARLIER);
  child = find (proposals, CHILD);
  g_assert_nonnull (earlier);
  g_assert_nonnull (child);
  g_assert_true (explains (earlier, "registered 2022-01, before last seen 2023-04 -1.0"));
  g_assert_cmpfloat (json_object_get_double_member (earlier, "score"), <,
                     json_object_get_double_member (child, "score"));
  g_assert_null (find (proposals, NAMESAKE));
}

/* A name alone, as an enquirer known only as "Amina", is weak evidence: it
 * cannot make a proposal on its own. A name of articles only is none. */
static void
test_weak_names (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) proposals = NULL;
  static const char * const weak[] = {
    "{\"id\": \"77777777-7777-4777-8777-777777777777\", \"type\": \"tracing_request\","
    " \"circumstances\": \"conflict\", \"enquirer\": {\"given_name\": \"Olena\"},"
    " \"sought\": [{\"given_name\": \"Amina\"}],"
    " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}",
    "{\"id\": \"88888888-8888-4888-8888-888888888888\", \"type\": \"tracing_request\","
    " \"circumstances\": \"conflict\", \"enquirer\": {\"given_name\": \"Olena\"},"
    " \"sought\": [{\"given_name\": \"al\", \"family_name\": \"al\"}],"
    " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (weak); i++)
    {
      g_autoptr(JsonObject) record = rfl_test_object (weak[i]);
      g_autofree char *id = rfl_store_add (f->store, record, &error);

      g_assert_no_error (error);
    }
  /* Amina Yusuf (the other request's sought mother) shares the name Amina. */
  proposals = rfl_store_propose_matches (f->store, "77777777-7777-4777-8777-777777777777", -100, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < proposals->len; i++)
    {
      JsonObject *p = g_ptr_array_index (proposals, i);

      if (g_str_equal (json_object_get_string_member (p, "role"), "sought"))
        g_assert_cmpfloat (json_object_get_double_member (p, "score"), <, 3.0);
    }
  g_clear_pointer (&proposals, g_ptr_array_unref);
  proposals = rfl_store_propose_matches (f->store, "88888888-8888-4888-8888-888888888888", -100, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < proposals->len; i++)
    g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (proposals, i), "role"), !=, "sought");
}

/* Proposals are for tracing requests, and every run is in the audit log. */
static void
test_errors_and_audit (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) proposals = rfl_store_propose_matches (f->store, CHILD, 0, &error);
  g_autoptr(GPtrArray) entries = NULL;
  guint audited = 0;

  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
  g_assert_null (proposals);
  g_clear_error (&error);
  proposals = rfl_store_propose_matches (f->store, "66666666-6666-4666-8666-666666666666", 0, &error);
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND);
  g_assert_null (proposals);
  g_clear_error (&error);

  proposals = rfl_store_propose_matches (f->store, REQUEST, 0, &error);
  g_assert_no_error (error);
  entries = rfl_store_audit_list (f->store, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < entries->len; i++)
    {
      JsonObject *entry = g_ptr_array_index (entries, i);

      /* One entry for the proposal, none for the searches it made. */
      g_assert_cmpstr (json_object_get_string_member (entry, "action"), !=, "search");
      if (g_str_equal (json_object_get_string_member (entry, "action"), "matches"))
        {
          g_assert_cmpstr (json_object_get_string_member (entry, "record_id"), ==, REQUEST);
          audited++;
        }
    }
  g_assert_cmpuint (audited, ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/rfl/match/proposals", Fixture, NULL, fixture_set_up, test_proposals, fixture_tear_down);
  g_test_add ("/rfl/match/evidence-against", Fixture, NULL, fixture_set_up, test_evidence_against,
              fixture_tear_down);
  g_test_add ("/rfl/match/weak-names", Fixture, NULL, fixture_set_up, test_weak_names, fixture_tear_down);
  g_test_add ("/rfl/match/errors-and-audit", Fixture, NULL, fixture_set_up, test_errors_and_audit,
              fixture_tear_down);

  return g_test_run ();
}
