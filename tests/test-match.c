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
#define TWIN     "66666666-6666-4666-8666-666666666666"

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

  /* Explained for display: the same points, and each name isolated, so
   * that an Arabic name in a line in English keeps its place. */
  {
    g_autoptr(JsonObject) shown = rfl_store_explain_match (f->store, child, &error);

    g_assert_no_error (error);
    g_assert_nonnull (shown);
    g_assert_cmpfloat (json_object_get_double_member (shown, "score"), ==,
                       json_object_get_double_member (child, "score"));
    g_assert_true (explains (shown, "own name \u2068إبراهيم يوسف\u2069 ≈ \u2068Ibrahim Yusuf\u2069"));
    g_assert_true (explains (shown, "last seen \u2068Goma\u2069 = registered \u2068Goma\u2069 \u2066+0.8\u2069"));
  }

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

static JsonObject *
find_id (GPtrArray  *proposals,
         const char *id)
{
  for (guint i = 0; i < proposals->len; i++)
    if (g_strcmp0 (json_object_get_string_member (g_ptr_array_index (proposals, i), "id"), id) == 0)
      return g_ptr_array_index (proposals, i);
  return NULL;
}

static GPtrArray *
refreshed (RflStore   *store,
           const char *case_id)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *proposals;

  g_assert_true (rfl_store_refresh_proposals (store, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (rfl_store_count_stale_proposals (store, NULL), ==, 0);
  proposals = rfl_store_list_proposals (store, case_id, 3.0, 0, 1000, &error);
  g_assert_no_error (error);
  return proposals;
}

static void
patch_record (RflStore   *store,
              const char *id,
              const char *json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) patch = rfl_test_object (json);

  g_assert_true (rfl_store_update (store, id, patch, &error));
  g_assert_no_error (error);
}

/* Proposals are kept: every record starts stale, a refresh makes them all,
 * and they list best first with ids that a rebuild makes again the same. */
static void
test_kept (Fixture       *f,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) all = NULL, again = NULL, fresh = NULL;

  g_assert_cmpint (rfl_store_count_stale_proposals (f->store, NULL), ==, G_N_ELEMENTS (records));
  all = refreshed (f->store, NULL);
  g_assert_nonnull (find (all, CHILD));
  g_assert_nonnull (find (all, CROSSED));
  g_assert_null (find (all, NAMESAKE));
  for (guint i = 1; i < all->len; i++)
    g_assert_cmpfloat (json_object_get_double_member (g_ptr_array_index (all, i - 1), "score"), >=,
                       json_object_get_double_member (g_ptr_array_index (all, i), "score"));

  g_assert_true (rfl_store_rebuild_proposals (f->store, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  again = rfl_store_list_proposals (f->store, NULL, 3.0, 0, 1000, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (again->len, ==, all->len);
  for (guint i = 0; i < all->len; i++)
    g_assert_nonnull (find_id (again, json_object_get_string_member (g_ptr_array_index (all, i), "id")));

  /* One case's proposals made afresh carry the same ids. */
  fresh = rfl_store_propose_matches (f->store, REQUEST, 3.0, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (find (fresh, CHILD), "id"), ==,
                   json_object_get_string_member (find (all, CHILD), "id"));
}

/* A registration saved after the proposals were made is proposed at the
 * next refresh, from its own side; deleted, its proposals go. */
static void
test_incremental (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) before = refreshed (f->store, REQUEST);
  g_autoptr(GPtrArray) after = NULL, gone = NULL;
  g_autoptr(JsonObject) record = rfl_test_object (
    "{\"type\": \"registration\", \"subtype\": \"found_person\","
    " \"person\": {\"given_name\": \"Ibrahim\", \"family_name\": \"Youssouf\", \"sex\": \"male\","
    "   \"date_of_birth\": \"2009-03\"},"
    " \"registered_place\": \"Goma\", \"registered_date\": \"2024-05\","
    " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}");
  g_autofree char *id = rfl_store_add (f->store, record, &error);
  JsonObject *p;

  g_assert_no_error (error);
  g_assert_null (find (before, id));
  g_assert_cmpint (rfl_store_count_stale_proposals (f->store, NULL), ==, 1);
  after = refreshed (f->store, REQUEST);
  p = find (after, id);
  g_assert_nonnull (p);
  g_assert_cmpstr (json_object_get_string_member (p, "case"), ==, REQUEST);
  g_assert_cmpstr (json_object_get_string_member (p, "kind"), ==, "registered");
  g_assert_true (explains (p, "last seen Goma = registered Goma +0.8"));

  g_assert_true (rfl_store_delete (f->store, id, &error));
  g_assert_no_error (error);
  gone = refreshed (f->store, NULL);
  g_assert_null (find (gone, id));
  g_assert_nonnull (find (gone, CHILD));
}

/* A rejected pair is not proposed again, unless a name, the sex or the
 * date of birth of either person changes; the case still shows the
 * decision. */
static void
test_rejected_stays_rejected (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) all = refreshed (f->store, NULL);
  g_autoptr(GPtrArray) later = NULL, of_case = NULL, fresh = NULL, changed = NULL;
  g_autoptr(JsonObject) decided = NULL;
  g_autofree char *id = g_strdup (json_object_get_string_member (find (all, CHILD), "id"));
  JsonObject *match, *p;

  decided = rfl_store_decide_match (f->store, id, "rejected", "a different boy: the father's name differs",
                                    &error);
  g_assert_no_error (error);
  match = json_object_get_object_member (decided, "match");
  g_assert_cmpstr (json_object_get_string_member (match, "type"), ==, "match");
  g_assert_cmpstr (json_object_get_string_member (match, "decision"), ==, "rejected");
  g_assert_cmpstr (json_object_get_string_member (match, "case"), ==, REQUEST);
  g_assert_cmpstr (json_object_get_string_member (match, "candidate_case"), ==, CHILD);
  g_assert_true (json_object_has_member (match, "explanation"));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (decided, "located")), ==, 0);

  later = refreshed (f->store, NULL);
  g_assert_null (find_id (later, id));
  fresh = rfl_store_propose_matches (f->store, REQUEST, 3.0, &error);
  g_assert_no_error (error);
  g_assert_null (find_id (fresh, id));
  /* The case shows it, as a decision. */
  of_case = rfl_store_list_proposals (f->store, REQUEST, 3.0, 0, 100, &error);
  g_assert_no_error (error);
  p = find_id (of_case, id);
  g_assert_nonnull (p);
  g_assert_cmpstr (json_object_get_string_member (p, "decision"), ==, "rejected");

  /* An edit that leaves names, sex and birth alone changes nothing... */
  patch_record (f->store, CHILD, "{\"registered_place\": \"Goma, Nord-Kivu\"}");
  g_clear_pointer (&later, g_ptr_array_unref);
  later = refreshed (f->store, NULL);
  g_assert_null (find_id (later, id));
  /* ...a new spelling of his name does: proposed again, and said so. */
  {
    g_autoptr(JsonObject) child = rfl_store_get (f->store, CHILD, &error);
    g_autofree char *edit = NULL;

    g_assert_no_error (error);
    edit = g_strdup_printf ("{\"person\": {\"id\": \"%s\", \"given_name\": \"Ibrahim\", \"family_name\": \"Yusuf\","
                            " \"sex\": \"male\", \"approximate_age\": 15, \"alternate_names\": [\"Ibrahim Youssef\"]}}",
                            json_object_get_string_member (json_object_get_object_member (child, "person"), "id"));
    patch_record (f->store, CHILD, edit);
  }
  changed = refreshed (f->store, NULL);
  p = find_id (changed, id);
  g_assert_nonnull (p);
  g_assert_true (json_object_get_boolean_member (p, "changed_since_decision"));
  g_assert_cmpstr (json_object_get_string_member (p, "decision"), ==, "rejected");
}

/* Confirming moves the request to located, through tracing, in one go; the
 * family is told only with the consent the person found gave, and for a
 * child, the caregiver's or a protection officer's decision. */
static void
test_confirm_and_consent (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) all = refreshed (f->store, NULL);
  g_autoptr(JsonObject) decided = NULL, shared = NULL, request = NULL;
  const char *child_id = json_object_get_string_member (find (all, CHILD), "id");
  JsonArray *history;

  /* Not before it is confirmed. */
  shared = rfl_store_share_whereabouts (f->store, child_id, &error);
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
  g_assert_null (shared);
  g_clear_error (&error);

  decided = rfl_store_decide_match (f->store, child_id, "confirmed", NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (decided, "located")), ==, 1);
  request = rfl_store_get (f->store, REQUEST, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (request, "status"), ==, "located");
  history = json_object_get_array_member (request, "status_history");
  g_assert_cmpuint (json_array_get_length (history), >=, 3);

  /* The child's consent says nothing about the family: refused. */
  shared = rfl_store_share_whereabouts (f->store, child_id, &error);
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, CHILD));
  g_clear_error (&error);
  /* The child agreeing is not enough. */
  patch_record (f->store, CHILD, "{\"consent\": {\"tracing\": true, \"share_within_movement\": true,"
                " \"disclose_whereabouts\": true, \"disclosure_decided_by\": \"person\"}}");
  shared = rfl_store_share_whereabouts (f->store, child_id, &error);
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "protection officer"));
  g_clear_error (&error);
  /* A protection officer's decision is. */
  patch_record (f->store, CHILD, "{\"consent\": {\"tracing\": true, \"share_within_movement\": true,"
                " \"disclose_whereabouts\": true, \"disclosure_decided_by\": \"protection_officer\"}}");
  shared = rfl_store_share_whereabouts (f->store, child_id, &error);
  g_assert_no_error (error);
  g_assert_true (json_object_get_boolean_member (json_object_get_object_member (shared, "match"),
                                                 "whereabouts_shared"));

  /* The family was told: the decision stands, and is not silently rejected. */
  {
    g_autoptr(JsonObject) again = rfl_store_decide_match (f->store, child_id, "rejected", NULL, &error);

    g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
    g_assert_nonnull (strstr (error->message, "stands"));
    g_assert_null (again);
    g_clear_error (&error);
  }
}

/* An adult found decides alone; without their consent, nothing is shared. */
static void
test_adult_consent (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) all = NULL;
  g_autoptr(JsonObject) decided = NULL, shared = NULL;
  const char *id;

  patch_record (f->store, EARLIER, "{\"registered_date\": \"2024-01\"}");
  all = refreshed (f->store, NULL);
  g_assert_nonnull (find (all, EARLIER));
  id = json_object_get_string_member (find (all, EARLIER), "id");
  decided = rfl_store_decide_match (f->store, id, "confirmed", "same father, same village", &error);
  g_assert_no_error (error);
  shared = rfl_store_share_whereabouts (f->store, id, &error);
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "has not consented"));
  g_clear_error (&error);
  patch_record (f->store, EARLIER, "{\"consent\": {\"tracing\": true, \"share_within_movement\": true,"
                " \"disclose_whereabouts\": true, \"disclosure_decided_by\": \"person\"}}");
  shared = rfl_store_share_whereabouts (f->store, id, &error);
  g_assert_no_error (error);
  g_assert_nonnull (shared);
}

/* Deciding on what is no proposal is refused with a clear error; a
 * decision can be changed, and each change is audited. */
/* The boy registered again, in Arabic, where he was first registered: a
 * duplicate, listed apart from the matches; the woman of his name is not
 * him. */
static void
test_duplicates (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) twin = rfl_test_object (
    "{\"id\": \"" TWIN "\", \"type\": \"registration\", \"subtype\": \"unaccompanied_child\","
    " \"person\": {\"given_name\": \"إبراهيم\", \"family_name\": \"يوسف\", \"sex\": \"male\","
    "   \"approximate_age\": 15},"
    " \"registered_place\": \"Goma\", \"registered_date\": \"2024-03\","
    " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}");
  g_autofree char *id = rfl_store_add (f->store, twin, &error);
  g_autoptr(GPtrArray) duplicates = NULL, matches = NULL, mine = NULL;
  JsonObject *first;

  g_assert_no_error (error);
  g_assert_true (rfl_store_refresh_proposals (f->store, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  duplicates = rfl_store_list_duplicates (f->store, 3.0, 0, 100, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (duplicates->len, >=, 1);
  first = g_ptr_array_index (duplicates, 0);
  g_assert_cmpstr (json_object_get_string_member (first, "kind"), ==, "duplicate");
  g_assert_true ((g_str_equal (json_object_get_string_member (first, "case"), TWIN) &&
                  g_str_equal (json_object_get_string_member (first, "candidate_case"), CHILD)) ||
                 (g_str_equal (json_object_get_string_member (first, "case"), CHILD) &&
                  g_str_equal (json_object_get_string_member (first, "candidate_case"), TWIN)));
  g_assert_true (explains (first, "both registered in Goma +0.8"));
  for (guint i = 0; i < duplicates->len; i++)
    {
      JsonObject *d = g_ptr_array_index (duplicates, i);

      g_assert_cmpstr (json_object_get_string_member (d, "kind"), ==, "duplicate");
      g_assert_cmpstr (json_object_get_string_member (d, "case"), !=, NAMESAKE);
      g_assert_cmpstr (json_object_get_string_member (d, "candidate_case"), !=, NAMESAKE);
    }

  /* Not among the matches; on the case's own list, with them. */
  matches = rfl_store_list_proposals (f->store, NULL, -100, 0, 1000, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < matches->len; i++)
    g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (matches, i), "kind"), !=, "duplicate");
  mine = rfl_store_list_proposals (f->store, TWIN, 3.0, 0, 100, &error);
  g_assert_no_error (error);
  g_assert_nonnull (find (mine, CHILD) != NULL ? find (mine, CHILD) : find (mine, TWIN));
}

static gboolean
has_string (JsonArray  *array,
            const char *value)
{
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    if (g_strcmp0 (json_array_get_string_element (array, i), value) == 0)
      return TRUE;
  return FALSE;
}

static gboolean
search_finds (RflStore   *store,
              const char *query,
              const char *id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) hits = rfl_store_search (store, query, 50, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < hits->len; i++)
    if (g_str_equal (json_object_get_string_member (g_ptr_array_index (hits, i), "id"), id))
      return TRUE;
  return FALSE;
}

static void
expect_refused (JsonObject *out,
                GError     *error,
                const char *needle)
{
  g_assert_null (out);
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
  if (strstr (error->message, needle) == NULL)
    g_error ("\"%s\" does not say \"%s\"", error->message, needle);
}

/* The boy registered twice, once in Arabic letters with his father's name
 * and a note: merged, the record kept takes every value, is found and
 * proposed under both spellings, and shows the note and the decision
 * made on the other; unmerged, both are as they were. */
static void
test_merge (Fixture       *f,
            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) twin = rfl_test_object (
    "{\"id\": \"" TWIN "\", \"type\": \"registration\", \"subtype\": \"unaccompanied_child\","
    " \"person\": {\"given_name\": \"إبراهيم\", \"family_name\": \"يوسف\", \"sex\": \"male\","
    "   \"father_name\": \"خليل\", \"approximate_age\": 15, \"alternate_names\": [\"Ibo\"]},"
    " \"registered_place\": \"Goma\", \"registered_date\": \"2024-03\", \"sensitivity\": \"sensitive\","
    " \"consent\": {\"tracing\": true, \"share_within_movement\": true, \"disclose_whereabouts\": true}}");
  g_autoptr(JsonObject) note = rfl_test_object ("{\"type\": \"note\", \"record\": \"" TWIN "\","
                                                " \"text\": \"Seen at the Goma transit centre\"}");
  g_autofree char *twin_id = rfl_store_add (f->store, twin, &error);
  g_autofree char *note_id = rfl_store_add (f->store, note, &error);
  g_autofree char *pair_id = NULL;
  g_autoptr(JsonObject) child_before = rfl_store_get (f->store, CHILD, &error);
  g_autoptr(JsonObject) twin_before = rfl_store_get (f->store, TWIN, &error);
  g_autoptr(JsonObject) out = NULL, decided = NULL, child = NULL, gone = NULL, back = NULL, kept = NULL;
  g_autoptr(GPtrArray) proposals = refreshed (f->store, REQUEST), notes = NULL, mine = NULL, again = NULL;
  JsonObject *person, *pair;
  JsonArray *merged;
  gboolean alternate_place = FALSE, consent_kept = FALSE;

  g_assert_no_error (error);
  g_assert_nonnull (find (proposals, CHILD));
  g_assert_nonnull ((pair = find (proposals, TWIN)));
  pair_id = g_strdup (json_object_get_string_member (pair, "id"));
  decided = rfl_store_decide_match (f->store, pair_id, "confirmed",
                                    "his mother knew the scar", &error);
  g_assert_no_error (error);

  out = rfl_store_merge_duplicate (f->store, TWIN, CHILD, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (out, "into"), ==, CHILD);
  g_assert_cmpint (json_object_get_int_member (out, "added"), >=, 3);

  /* The duplicate is closed, kept whole, and no longer searched or proposed. */
  gone = rfl_store_get (f->store, TWIN, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (gone, "status"), ==, "closed");
  g_assert_cmpstr (json_object_get_string_member (gone, "closure_reason"), ==, "duplicate");
  g_assert_cmpstr (json_object_get_string_member (gone, "merged_into"), ==, CHILD);
  g_assert_true (json_node_equal (json_object_get_member (gone, "person"),
                                  json_object_get_member (twin_before, "person")));
  g_assert_false (search_finds (f->store, "إبراهيم", TWIN));

  /* The record kept has the father's name, both spellings, the more
   * careful sensitivity, and the values it held otherwise beside its own;
   * consent is never taken from the other record, only kept beside. */
  child = rfl_store_get (f->store, CHILD, &error);
  g_assert_no_error (error);
  person = json_object_get_object_member (child, "person");
  g_assert_cmpstr (json_object_get_string_member (person, "given_name"), ==, "Ibrahim");
  g_assert_cmpstr (json_object_get_string_member (person, "father_name"), ==, "خليل");
  g_assert_true (has_string (json_object_get_array_member (person, "alternate_names"), "Ibo"));
  g_assert_true (has_string (json_object_get_array_member (person, "alternate_names"), "إبراهيم يوسف"));
  g_assert_cmpstr (json_object_get_string_member (child, "sensitivity"), ==, "sensitive");
  g_assert_false (json_object_has_member (json_object_get_object_member (child, "consent"), "disclose_whereabouts"));
  merged = json_object_get_array_member (child, "merged");
  for (guint i = 0; i < json_array_get_length (merged); i++)
    {
      JsonObject *entry = json_array_get_object_element (merged, i);
      const char *field = json_object_get_string_member (entry, "field");

      g_assert_cmpstr (json_object_get_string_member (entry, "from"), ==, TWIN);
      alternate_place |= g_str_equal (field, "registered_date") &&
                         g_str_equal (json_object_get_string_member (entry, "value"), "2024-03") &&
                         !json_object_get_boolean_member (entry, "added");
      consent_kept |= g_str_equal (field, "consent.disclose_whereabouts") &&
                      !json_object_get_boolean_member (entry, "added");
    }
  g_assert_true (alternate_place);
  g_assert_true (consent_kept);
  g_assert_true (search_finds (f->store, "إبراهيم يوسف", CHILD));

  /* Its notes and decisions are the case's now; proposals follow. */
  notes = rfl_store_list_notes (f->store, CHILD, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (notes->len, ==, 1);
  g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (notes, 0), "id"), ==, note_id);
  mine = rfl_store_list_proposals (f->store, CHILD, 3.0, 0, 100, &error);
  g_assert_no_error (error);
  g_assert_nonnull (find_id (mine, pair_id));
  g_clear_pointer (&proposals, g_ptr_array_unref);
  proposals = refreshed (f->store, REQUEST);
  g_assert_nonnull (find (proposals, CHILD));
  g_clear_pointer (&proposals, g_ptr_array_unref);
  proposals = rfl_store_list_proposals (f->store, NULL, -100, 0, 1000, &error);
  g_assert_no_error (error);
  g_assert_null (find (proposals, TWIN));
  g_clear_pointer (&mine, g_ptr_array_unref);
  mine = rfl_store_list_duplicates (f->store, -100, 0, 100, &error);
  g_assert_no_error (error);
  g_assert_null (find (mine, TWIN));

  /* Telling the family rests on the consent of the case kept, which has
   * none, not on the closed duplicate's. */
  g_assert_null (rfl_store_share_whereabouts (f->store, pair_id, &error));
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, CHILD));
  g_clear_error (&error);

  /* A merge's bookkeeping is not written by hand. */
  {
    g_autoptr(JsonObject) erase = rfl_test_object ("{\"merged\": null}");
    g_autoptr(JsonObject) hide = rfl_test_object ("{\"merged_into\": \"" CHILD "\"}");
    g_autoptr(JsonObject) born_merged = rfl_test_object (
      "{\"type\": \"registration\", \"subtype\": \"found_person\", \"merged_into\": \"" CHILD "\","
      " \"person\": {\"given_name\": \"Yusuf\"}, \"consent\": {\"tracing\": true, \"share_within_movement\": true}}");
    g_autofree char *none = NULL;

    g_assert_false (rfl_store_update (f->store, CHILD, erase, &error));
    g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
    g_clear_error (&error);
    g_assert_false (rfl_store_update (f->store, NAMESAKE, hide, &error));
    g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
    g_clear_error (&error);
    none = rfl_store_add (f->store, born_merged, &error);
    g_assert_null (none);
    g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
    g_clear_error (&error);
    g_assert_true (search_finds (f->store, "Ibrahim Yusuf", NAMESAKE));
  }

  /* What may not be merged, and why. */
  {
    static const struct { const char *id, *into, *says; } refused[] = {
      { CHILD, CHILD, "itself" },
      { TWIN, NAMESAKE, "already merged" },
      { NAMESAKE, TWIN, "already merged" },
      { CHILD, NAMESAKE, "unmerge it first" },
      { CROSSED, NAMESAKE, "different types" },
      { NULL, CHILD, "not a case" },
      { CHILD, NULL, "not merged" },
    };

    for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
      {
        g_autoptr(GError) local = NULL;
        g_autoptr(JsonObject) none = NULL;

        if (refused[i].into == NULL)
          none = rfl_store_unmerge_duplicate (f->store, refused[i].id, &local);
        else
          none = rfl_store_merge_duplicate (f->store, refused[i].id != NULL ? refused[i].id : note_id,
                                            refused[i].into, &local);
        expect_refused (none, local, refused[i].says);
      }
  }

  /* Unmerged: both as they were, and proposed apart again. */
  back = rfl_store_unmerge_duplicate (f->store, TWIN, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (back, "status"), ==, "open");
  kept = rfl_store_get (f->store, CHILD, &error);
  g_assert_no_error (error);
  g_assert_true (json_node_equal (json_object_get_member (kept, "person"),
                                  json_object_get_member (child_before, "person")));
  g_assert_false (json_object_has_member (kept, "merged"));
  /* Lowering a sensitivity is a person's decision, not an undo's. */
  g_assert_cmpstr (json_object_get_string_member (kept, "sensitivity"), ==, "sensitive");
  g_clear_pointer (&gone, json_object_unref);
  gone = rfl_store_get (f->store, TWIN, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (gone, "status"), ==, "open");
  g_assert_false (json_object_has_member (gone, "merged_into"));
  g_assert_false (json_object_has_member (gone, "closure_reason"));
  g_assert_false (json_object_has_member (gone, "retention_until"));
  g_assert_true (search_finds (f->store, "إبراهيم", TWIN));
  again = refreshed (f->store, NULL);
  g_assert_nonnull (find (again, TWIN));
  g_clear_pointer (&notes, g_ptr_array_unref);
  notes = rfl_store_list_notes (f->store, CHILD, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (notes->len, ==, 0);

  /* A detainee registered again as a found person: the place of detention,
   * which a found person's registration cannot hold, is kept beside it. */
  {
    g_autoptr(JsonObject) detainee = rfl_test_object (
      "{\"type\": \"registration\", \"subtype\": \"detainee\","
      " \"person\": {\"given_name\": \"Olena\", \"family_name\": \"Kovalenko\", \"sex\": \"female\"},"
      " \"place_of_detention\": \"Kharkiv\", \"consent\": {\"tracing\": true, \"share_within_movement\": true}}");
    g_autofree char *detained = rfl_store_add (f->store, detainee, &error);
    g_autoptr(JsonObject) into = NULL, stranger = NULL;
    gboolean beside = FALSE;
    JsonArray *entries;

    g_assert_no_error (error);
    into = rfl_store_merge_duplicate (f->store, detained, STRANGER, &error);
    g_assert_no_error (error);
    stranger = rfl_store_get (f->store, STRANGER, &error);
    g_assert_no_error (error);
    g_assert_false (json_object_has_member (stranger, "place_of_detention"));
    entries = json_object_get_array_member (stranger, "merged");
    for (guint i = 0; i < json_array_get_length (entries); i++)
      beside |= g_str_equal (json_object_get_string_member (json_array_get_object_element (entries, i), "field"),
                             "place_of_detention");
    g_assert_true (beside);
  }
}

/* A person given again whole, without the id the record knows them by,
 * keeps it: else they would be someone new, cut off from their proposals
 * and the decisions on them. */
static void
test_person_edit_keeps_id (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) before = rfl_store_get (f->store, CHILD, &error);
  g_autoptr(JsonObject) after = NULL;
  g_autofree char *person_id = NULL;
  JsonObject *person;

  g_assert_no_error (error);
  person_id = g_strdup (json_object_get_string_member (json_object_get_object_member (before, "person"), "id"));
  patch_record (f->store, CHILD, "{\"person\": {\"given_name\": \"Ibrahim\", \"family_name\": \"Yusuf\","
                " \"sex\": \"male\", \"approximate_age\": 15, \"father_name\": \"Yusuf\"}}");
  after = rfl_store_get (f->store, CHILD, &error);
  g_assert_no_error (error);
  person = json_object_get_object_member (after, "person");
  g_assert_cmpstr (json_object_get_string_member (person, "id"), ==, person_id);
  g_assert_cmpstr (json_object_get_string_member (person, "father_name"), ==, "Yusuf");

  /* Rejected, then no longer proposed (the record now says a girl): the
   * request still lists the decision, with the names as its records give
   * them. */
  {
    g_autoptr(GPtrArray) proposals = rfl_store_propose_matches (f->store, REQUEST, 3.0, &error);
    g_autoptr(JsonObject) decided = NULL;
    g_autoptr(GPtrArray) of_case = NULL;
    g_autofree char *pair = NULL;
    JsonObject *listed = NULL;

    g_assert_no_error (error);
    g_assert_nonnull (find (proposals, CHILD));
    pair = g_strdup (json_object_get_string_member (find (proposals, CHILD), "id"));
    decided = rfl_store_decide_match (f->store, pair, "rejected", "not him", &error);
    g_assert_no_error (error);
    patch_record (f->store, CHILD, "{\"person\": {\"given_name\": \"Ibrahim\", \"family_name\": \"Yusuf\","
                  " \"sex\": \"female\", \"approximate_age\": 15}}");
    g_assert_true (rfl_store_refresh_proposals (f->store, NULL, NULL, NULL, &error));
    g_assert_no_error (error);
    of_case = rfl_store_list_proposals (f->store, REQUEST, 3.0, 0, 100, &error);
    g_assert_no_error (error);
    for (guint i = 0; i < of_case->len; i++)
      if (g_str_equal (json_object_get_string_member (g_ptr_array_index (of_case, i), "id"), pair))
        listed = g_ptr_array_index (of_case, i);
    g_assert_nonnull (listed);
    g_assert_false (json_object_get_boolean_member (listed, "proposed"));
    g_assert_cmpstr (json_object_get_string_member (listed, "decision"), ==, "rejected");
    g_assert_cmpstr (json_object_get_string_member (listed, "candidate_name"), ==, "Ibrahim Yusuf");
    g_assert_cmpstr (json_object_get_string_member (listed, "person_name"), ==, "إبراهيم يوسف");
  }
}

static void
test_decision_errors (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) all = refreshed (f->store, NULL);
  g_autoptr(GPtrArray) entries = NULL;
  g_autoptr(JsonObject) out = NULL;
  const char *id = json_object_get_string_member (find (all, CROSSED), "id");
  guint decided = 0;

  out = rfl_store_decide_match (f->store, "66666666-6666-4666-8666-666666666666", "confirmed", NULL, &error);
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND);
  g_assert_null (out);
  g_clear_error (&error);
  out = rfl_store_decide_match (f->store, CHILD, "confirmed", NULL, &error);
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
  g_assert_null (out);
  g_clear_error (&error);
  out = rfl_store_decide_match (f->store, id, "maybe", NULL, &error);
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
  g_clear_error (&error);

  out = rfl_store_decide_match (f->store, id, "more_info", "ask the mother for a photo", &error);
  g_assert_no_error (error);
  g_clear_pointer (&out, json_object_unref);
  out = rfl_store_decide_match (f->store, id, "confirmed", NULL, &error);
  g_assert_no_error (error);
  g_assert_false (json_object_has_member (json_object_get_object_member (out, "match"), "reason"));
  /* Crossed: both requests found their person. */
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (out, "located")), ==, 2);

  entries = rfl_store_audit_list (f->store, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < entries->len; i++)
    if (g_str_equal (json_object_get_string_member (g_ptr_array_index (entries, i), "action"), "match-decide"))
      decided++;
  g_assert_cmpuint (decided, ==, 2);

  /* A pair one of whose cases was deleted is not decided. */
  g_clear_pointer (&out, json_object_unref);
  g_assert_true (rfl_store_delete (f->store, CROSSED, &error));
  g_assert_no_error (error);
  out = rfl_store_decide_match (f->store, id, "rejected", "the wrong family", &error);
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND);
  g_assert_nonnull (strstr (error->message, "was deleted"));
  g_assert_null (out);
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
  g_test_add ("/rfl/match/kept", Fixture, NULL, fixture_set_up, test_kept, fixture_tear_down);
  g_test_add ("/rfl/match/duplicates", Fixture, NULL, fixture_set_up, test_duplicates, fixture_tear_down);
  g_test_add ("/rfl/match/merge", Fixture, NULL, fixture_set_up, test_merge, fixture_tear_down);
  g_test_add ("/rfl/match/person-edit-keeps-id", Fixture, NULL, fixture_set_up, test_person_edit_keeps_id,
              fixture_tear_down);
  g_test_add ("/rfl/match/incremental", Fixture, NULL, fixture_set_up, test_incremental, fixture_tear_down);
  g_test_add ("/rfl/match/rejected-stays-rejected", Fixture, NULL, fixture_set_up,
              test_rejected_stays_rejected, fixture_tear_down);
  g_test_add ("/rfl/match/confirm-and-consent", Fixture, NULL, fixture_set_up, test_confirm_and_consent,
              fixture_tear_down);
  g_test_add ("/rfl/match/adult-consent", Fixture, NULL, fixture_set_up, test_adult_consent, fixture_tear_down);
  g_test_add ("/rfl/match/decision-errors", Fixture, NULL, fixture_set_up, test_decision_errors,
              fixture_tear_down);

  return g_test_run ();
}
