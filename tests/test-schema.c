/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <glib/gstdio.h>
#include <string.h>

#include "rfl-error.h"
#include "rfl-schema.h"
#include "rfl-store.h"
#include "rfl-test-util.h"

#define CONSENT "\"consent\": {\"tracing\": true, \"share_within_movement\": true}"
#define PERSON  "{\"given_name\": \"Amina\"}"

/* Each invalid record must be refused with the field and the rule named. */
static const struct
{
  const char *json;
  int         code;
  const char *field;
  const char *rule;
} invalid_records[] = {
  { "{\"status\": \"open\"}", RFL_STORE_ERROR_INVALID, "'type'", "is required" },
  /* Fields that apply to one subtype only ("when"). */
  { "{\"type\": \"registration\", \"subtype\": \"separated_child\", \"person\": " PERSON ", " CONSENT ","
    " \"place_of_detention\": \"Makala\"}",
    RFL_STORE_ERROR_INVALID, "'place_of_detention'", "does not apply" },
  { "{\"type\": \"registration\", \"subtype\": \"detainee\", \"person\": " PERSON ", " CONSENT ","
    " \"date_of_death\": \"2020\"}",
    RFL_STORE_ERROR_INVALID, "'date_of_death'", "does not apply" },
  /* Births and sightings lie in the past ("past"). */
  { "{\"type\": \"tracing_request\", \"enquirer\": " PERSON ","
    " \"sought\": [{\"given_name\": \"B\", \"date_of_birth\": \"2199\"}], " CONSENT "}",
    RFL_STORE_ERROR_INVALID, "'sought[0].date_of_birth'", "is in the future" },
  { "{\"type\": \"tracing_request\", \"enquirer\": " PERSON ","
    " \"sought\": [{\"given_name\": \"B\", \"last_seen_date\": \"2199-01-02\"}], " CONSENT "}",
    RFL_STORE_ERROR_INVALID, "'sought[0].last_seen_date'", "is in the future" },
  { "{\"type\": \"rumour\"}", RFL_STORE_ERROR_INVALID, "'type'", "is not one of" },
  { "{\"type\": \"tracing_request\", \"sought\": [" PERSON "], " CONSENT "}",
    RFL_STORE_ERROR_INVALID, "'enquirer'", "is required" },
  { "{\"type\": \"tracing_request\", \"enquirer\": " PERSON ", \"sought\": [], " CONSENT "}",
    RFL_STORE_ERROR_INVALID, "'sought'", "at least 1" },
  { "{\"type\": \"tracing_request\", \"enquirer\": " PERSON ", \"sought\": [" PERSON "]}",
    RFL_STORE_ERROR_INVALID, "'consent'", "is required" },
  { "{\"type\": \"tracing_request\", \"enquirer\": " PERSON ", \"sought\": [" PERSON "],"
    " \"consent\": {\"tracing\": true}}",
    RFL_STORE_ERROR_INVALID, "'consent.share_within_movement'", "is required" },
  { "{\"type\": \"tracing_request\", \"enquirer\": " PERSON ", \"sought\": [" PERSON "], " CONSENT ","
    " \"favourite_colour\": \"blue\"}",
    RFL_STORE_ERROR_INVALID, "'favourite_colour'", "is not a field of tracing_request" },
  { "{\"type\": \"tracing_request\", \"enquirer\": {\"given_name\": \"A\", \"shoe_size\": 9},"
    " \"sought\": [" PERSON "], " CONSENT "}",
    RFL_STORE_ERROR_INVALID, "'enquirer.shoe_size'", "is not a field of person" },
  { "{\"type\": \"tracing_request\", \"enquirer\": " PERSON ","
    " \"sought\": [" PERSON ", {\"given_name\": \"B\", \"date_of_birth\": \"2009-13\"}], " CONSENT "}",
    RFL_STORE_ERROR_INVALID, "'sought[1].date_of_birth'", "invalid partial date '2009-13'" },
  { "{\"type\": \"tracing_request\", \"enquirer\": " PERSON ","
    " \"sought\": [{\"given_name\": \"B\", \"date_of_birth\": \"2009-02-30\"}], " CONSENT "}",
    RFL_STORE_ERROR_INVALID, "'sought[0].date_of_birth'", "invalid partial date" },
  { "{\"type\": \"tracing_request\", \"enquirer\": " PERSON ","
    " \"sought\": [{\"given_name\": \"B\", \"last_seen_date\": \"last spring\"}], " CONSENT "}",
    RFL_STORE_ERROR_INVALID, "'sought[0].last_seen_date'", "invalid partial date" },
  { "{\"type\": \"tracing_request\", \"enquirer\": " PERSON ","
    " \"sought\": [{\"given_name\": \"B\", \"approximate_age\": 300}], " CONSENT "}",
    RFL_STORE_ERROR_INVALID, "'sought[0].approximate_age'", "outside 0..130" },
  { "{\"type\": \"tracing_request\", \"enquirer\": " PERSON ","
    " \"sought\": [{\"given_name\": \"B\", \"approximate_age\": \"ten\"}], " CONSENT "}",
    RFL_STORE_ERROR_INVALID, "'sought[0].approximate_age'", "must be a whole number" },
  { "{\"type\": \"tracing_request\", \"enquirer\": " PERSON ","
    " \"sought\": [{\"given_name\": \"B\", \"sex\": \"yes\"}], " CONSENT "}",
    RFL_STORE_ERROR_INVALID, "'sought[0].sex'", "is not one of: female, male" },
  { "{\"type\": \"tracing_request\", \"enquirer\": {\"given_name\": \"A\", \"phone\": \"call me\"},"
    " \"sought\": [" PERSON "], " CONSENT "}",
    RFL_STORE_ERROR_INVALID, "'enquirer.phone'", "invalid phone number" },
  { "{\"type\": \"tracing_request\", \"enquirer\": {\"given_name\": \"A\\nB\"},"
    " \"sought\": [" PERSON "], " CONSENT "}",
    RFL_STORE_ERROR_INVALID, "'enquirer.given_name'", "single line" },
  { "{\"type\": \"tracing_request\", \"enquirer\": {\"given_name\": 42},"
    " \"sought\": [" PERSON "], " CONSENT "}",
    RFL_STORE_ERROR_INVALID, "'enquirer.given_name'", "must be a string" },
  { "{\"type\": \"tracing_request\", \"enquirer\": " PERSON ", \"sought\": " PERSON ", " CONSENT "}",
    RFL_STORE_ERROR_INVALID, "'sought'", "must be a list" },
  { "{\"type\": \"tracing_request\", \"status\": \"closed\", \"enquirer\": " PERSON ","
    " \"sought\": [" PERSON "], " CONSENT "}",
    RFL_STORE_ERROR_TRANSITION, "'status'", "starts as open" },
  { "{\"type\": \"tracing_request\", \"status\": \"misplaced\", \"enquirer\": " PERSON ","
    " \"sought\": [" PERSON "], " CONSENT "}",
    RFL_STORE_ERROR_INVALID, "'status'", "is not one of" },
  { "{\"type\": \"tracing_request\", \"retention_until\": \"2030\", \"enquirer\": " PERSON ","
    " \"sought\": [" PERSON "], " CONSENT "}",
    RFL_STORE_ERROR_INVALID, "'retention_until'", "invalid date '2030'" },
  { "{\"type\": \"registration\", \"person\": " PERSON ", " CONSENT "}",
    RFL_STORE_ERROR_INVALID, "'subtype'", "is required" },
  { "{\"type\": \"registration\", \"subtype\": \"tourist\", \"person\": " PERSON ", " CONSENT "}",
    RFL_STORE_ERROR_INVALID, "'subtype'", "is not one of" },
  { "{\"type\": \"message\", \"sender\": " PERSON ", \"addressee\": " PERSON "}",
    RFL_STORE_ERROR_INVALID, "'content'", "is required" },
  { "{\"type\": \"note\", \"record\": \"not-an-id\", \"text\": \"called\"}",
    RFL_STORE_ERROR_INVALID, "'record'", "is not a record or person id" },
  { "{\"type\": \"note\", \"status\": \"open\", \"record\": \"6f1c1fb4-1111-4c8e-9a39-62cdb4a7a001\","
    " \"text\": \"called\"}",
    RFL_STORE_ERROR_INVALID, "'status'", "is not a field of note" },
};

static void
test_invalid (void)
{
  RflSchema *schema = rfl_schema_get_default ();

  for (guint i = 0; i < G_N_ELEMENTS (invalid_records); i++)
    {
      g_autoptr(JsonObject) record = rfl_test_object (invalid_records[i].json);
      g_autoptr(GError) error = NULL;

      g_assert_false (rfl_schema_prepare_new (schema, record, &error));
      g_test_message ("%u: %s", i, error->message);
      g_assert_error (error, RFL_STORE_ERROR, invalid_records[i].code);
      g_assert_nonnull (strstr (error->message, invalid_records[i].field));
      g_assert_nonnull (strstr (error->message, invalid_records[i].rule));
      g_assert_null (strchr (error->message, '\n'));
    }
}

/* The store's rules reach the app in the volunteer's language. */
static void
test_translated (void)
{
  static const struct { const char *locale; const char *message; } cases[] = {
    { "ar_EG.UTF-8", "الحقل «enquirer»: مطلوب" },
    { "ru_RU.UTF-8", "поле «enquirer»: обязательно" },
    { "es_ES.UTF-8", "campo «enquirer»: es obligatorio" },
  };
  RflSchema *schema = rfl_schema_get_default ();

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonObject) record = rfl_test_object ("{\"type\": \"tracing_request\", \"sought\": [" PERSON "], "
                                                      CONSENT "}");
      g_autoptr(GError) error = NULL;

      rfl_test_use_locale (cases[i].locale);
      g_assert_false (rfl_schema_prepare_new (schema, record, &error));
      g_assert_cmpstr (error->message, ==, cases[i].message);
    }
  rfl_test_use_locale ("C.UTF-8");
}

static void
test_valid (void)
{
  static const char * const valid[] = {
    "{\"type\": \"tracing_request\", \"enquirer\": " PERSON ", \"sought\": [" PERSON "], " CONSENT "}",
    "{\"type\": \"registration\", \"subtype\": \"deceased\", \"person\": {\"family_name\": \"يوسف\","
    " \"date_of_birth\": \"1961\", \"approximate_age\": 63}, \"date_of_death\": \"2024-02\", " CONSENT "}",
    "{\"type\": \"message\", \"sender\": " PERSON ", \"addressee\": {\"given_name\": \"Іван\"},"
    " \"content\": \"Ми живі.\\nПишіть.\"}",
    "{\"type\": \"note\", \"record\": \"6f1c1fb4-1111-4c8e-9a39-62cdb4a7a001\", \"text\": \"called\"}",
  };
  RflSchema *schema = rfl_schema_get_default ();

  for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
    {
      g_autoptr(JsonObject) record = rfl_test_object (valid[i]);
      g_autoptr(GError) error = NULL;

      g_assert_true (rfl_schema_prepare_new (schema, record, &error));
      g_assert_no_error (error);
    }
}

static void
test_partial_dates (void)
{
  static const char * const good[] = { "2009", "2009-05", "2009-05-31", "2024-02-29", "1900" };
  static const char * const bad[] = { "", "09", "2009-5", "2009-00", "2009-13", "2009-05-32",
                                      "2023-02-29", "2009/05", "2009-05-1", "2009-05-01T10:00", "1700",
                                      "about 2009", "２００９" };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    g_assert_true (rfl_schema_is_partial_date (good[i]));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_test_message ("%s", bad[i]);
      g_assert_false (rfl_schema_is_partial_date (bad[i]));
    }
  g_assert_true (rfl_schema_is_date ("2009-05-31"));
  g_assert_false (rfl_schema_is_date ("2009-05"));
}

/* A National Society can extend a form by editing the schema file: a new
 * field is accepted without any code change. */
static void
test_extended_schema (void)
{
  g_autoptr(GBytes) bytes = g_resources_lookup_data ("/io/github/reunite/data/records.json", 0, NULL);
  g_autofree char *text = g_strndup (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
  g_autofree char *extended = NULL;
  g_autoptr(RflSchema) schema = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) record = rfl_test_object (
    "{\"type\": \"registration\", \"subtype\": \"found_person\", \"person\": " PERSON ","
    " \"clan\": \"Hawiye\", " CONSENT "}");
  char *at = strstr (text, "\"registered_place\"");

  g_assert_nonnull (at);
  extended = g_strdup_printf ("%.*s\"clan\": {\"type\": \"string\"}, %s", (int) (at - text), text, at);
  schema = rfl_schema_new_from_data (extended, -1, &error);
  g_assert_no_error (error);
  g_assert_true (rfl_schema_prepare_new (schema, record, &error));
  g_assert_no_error (error);

  g_assert_false (rfl_schema_prepare_new (rfl_schema_get_default (), record, &error));
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);

  /* A form built from the description shows the new field, in its place. */
  {
    g_autoptr(JsonArray) fields = rfl_schema_describe (schema, "registration");
    g_autoptr(JsonArray) plain = rfl_schema_describe (rfl_schema_get_default (), "registration");
    gint clan = -1, place = -1;

    for (guint i = 0; i < json_array_get_length (fields); i++)
      {
        const char *name = json_object_get_string_member (json_array_get_object_element (fields, i), "name");

        if (g_str_equal (name, "clan"))
          clan = (gint) i;
        else if (g_str_equal (name, "registered_place"))
          place = (gint) i;
      }
    g_assert_cmpint (clan, >=, 0);
    g_assert_cmpint (clan + 1, ==, place);
    g_assert_cmpuint (json_array_get_length (fields), ==, json_array_get_length (plain) + 1);
  }
}

static JsonObject *
field_named (JsonArray  *fields,
             const char *name)
{
  for (guint i = 0; i < json_array_get_length (fields); i++)
    {
      JsonObject *field = json_array_get_object_element (fields, i);

      if (g_str_equal (json_object_get_string_member (field, "name"), name))
        return field;
    }
  g_error ("no field %s", name);
}

/* A detainee's place of detention is accepted where a child's is not; the
 * forms learn which fields apply, and dates up to today are accepted. */
static void
test_when_and_past (void)
{
  RflSchema *schema = rfl_schema_get_default ();
  g_autoptr(JsonObject) detainee = rfl_test_object (
    "{\"type\": \"registration\", \"subtype\": \"detainee\", \"person\": " PERSON ", " CONSENT ","
    " \"place_of_detention\": \"Makala\"}");
  g_autoptr(JsonArray) fields = rfl_schema_describe (schema, "registration");
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *today = g_date_time_format (now, "%Y-%m-%d");
  g_autofree char *this_year = g_date_time_format (now, "%Y");
  g_autofree char *this_month = g_date_time_format (now, "%Y-%m");
  g_autoptr(GError) error = NULL;
  JsonObject *when = NULL;

  g_assert_true (rfl_schema_prepare_new (schema, detainee, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < json_array_get_length (fields); i++)
    {
      JsonObject *field = json_array_get_object_element (fields, i);

      if (g_str_equal (json_object_get_string_member (field, "name"), "place_of_detention"))
        when = json_object_get_object_member (field, "when");
    }
  g_assert_nonnull (when);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (when, "subtype"), 0), ==,
                   "detainee");

  g_assert_false (rfl_schema_is_future_date (today, today));
  g_assert_false (rfl_schema_is_future_date (this_year, today));
  g_assert_false (rfl_schema_is_future_date (this_month, today));
  g_assert_false (rfl_schema_is_future_date ("2009", today));
  g_assert_true (rfl_schema_is_future_date ("2199", today));
  g_assert_true (rfl_schema_is_future_date ("2026-12-03", "2026-12-02"));
  g_assert_false (rfl_schema_is_future_date ("2026-12", "2026-12-02"));
  g_assert_true (rfl_schema_is_future_date ("2027", "2026-12-31"));
  /* Without a date of the user's, today anywhere on Earth is accepted. */
  g_assert_false (rfl_schema_is_future_date (today, NULL));
}

static void
test_describe (void)
{
  RflSchema *schema = rfl_schema_get_default ();
  g_autoptr(JsonArray) fields = rfl_schema_describe (schema, "tracing_request");
  g_auto(GStrv) initial = rfl_schema_dup_next_statuses (schema, "tracing_request", NULL);
  g_auto(GStrv) after_open = rfl_schema_dup_next_statuses (schema, "tracing_request", "open");
  g_auto(GStrv) after_closed = rfl_schema_dup_next_statuses (schema, "tracing_request", "closed");
  g_auto(GStrv) notes = rfl_schema_dup_next_statuses (schema, "note", NULL);
  JsonObject *sought, *items, *person_field;

  g_assert_null (rfl_schema_describe (schema, "no_such_type"));
  g_assert_nonnull (fields);

  /* An array of persons, with the person's fields inlined. */
  sought = field_named (fields, "sought");
  g_assert_cmpstr (json_object_get_string_member (sought, "kind"), ==, "array");
  g_assert_true (json_object_get_boolean_member (sought, "required"));
  g_assert_cmpint (json_object_get_int_member (sought, "min_items"), ==, 1);
  items = json_object_get_object_member (sought, "items");
  g_assert_cmpstr (json_object_get_string_member (items, "kind"), ==, "object");
  person_field = field_named (json_object_get_array_member (items, "fields"), "relationship");
  g_assert_cmpstr (json_object_get_string_member (person_field, "kind"), ==, "enum");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (person_field, "values")), >, 10);
  person_field = field_named (json_object_get_array_member (items, "fields"), "date_of_birth");
  g_assert_cmpstr (json_object_get_string_member (person_field, "kind"), ==, "partial_date");

  /* The common fields come with every type. */
  g_assert_cmpstr (json_object_get_string_member (field_named (fields, "sensitivity"), "default"), ==, "normal");

  /* The lifecycle, for status changes. */
  g_assert_cmpstrv (initial, ((const char * const[]) { "open", NULL }));
  g_assert_cmpstrv (after_open, ((const char * const[]) { "tracing", "closed", NULL }));
  g_assert_cmpstrv (after_closed, ((const char * const[]) { "open", NULL }));
  g_assert_cmpuint (g_strv_length (notes), ==, 0);
  g_assert_cmpstr (rfl_schema_get_reason_field (schema, "tracing_request", "closed"), ==, "closure_reason");
  g_assert_null (rfl_schema_get_reason_field (schema, "tracing_request", "tracing"));
  g_assert_cmpstr (rfl_schema_get_reason_field (schema, "tracing_request", "open"), ==, "reopen_reason");
}

static void
test_broken_schema (void)
{
  static const char * const broken[] = {
    "[]",
    "{\"format\": \"something-else\"}",
    "{\"format\": \"reunite-schema\", \"lifecycles\": {}, \"structs\": {}, \"common\": {},"
    " \"records\": {\"x\": {\"fields\": {\"a\": {\"type\": \"colour\"}}}}}",
    "{\"format\": \"reunite-schema\", \"lifecycles\": {}, \"structs\": {}, \"common\": {},"
    " \"records\": {\"x\": {\"fields\": {\"a\": {\"type\": \"object\", \"struct\": \"nobody\"}}}}}",
    "{\"format\": \"reunite-schema\", \"lifecycles\": {}, \"structs\": {}, \"common\": {},"
    " \"records\": {\"x\": {\"lifecycle\": \"none\", \"fields\": {}}}}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (broken); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(RflSchema) schema = rfl_schema_new_from_data (broken[i], -1, &error);

      g_assert_null (schema);
      g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_CORRUPT);
    }
}

static void
test_persons (void)
{
  g_autoptr(JsonObject) record = rfl_test_object (
    "{\"type\": \"tracing_request\", \"enquirer\": {\"given_name\": \"Amina\", \"family_name\": \"Yusuf\"},"
    " \"sought\": [{\"given_name\": \"Ibrahim\", \"alternate_names\": [\"إبراهيم\", \"Ebrahim\"],"
    " \"last_seen_place\": \"Goma\"}], " CONSENT "}");
  g_autoptr(GPtrArray) persons = NULL;
  RflSchemaPerson *sought;

  g_assert_true (rfl_schema_prepare_new (rfl_schema_get_default (), record, NULL));
  persons = rfl_schema_collect_persons (rfl_schema_get_default (), record);
  g_assert_cmpuint (persons->len, ==, 2);
  sought = g_ptr_array_index (persons, 1);
  g_assert_cmpstr (sought->role, ==, "sought");
  g_assert_true (g_uuid_string_is_valid (sought->person_id));
  /* Names only: a place is not searchable as a name. */
  g_assert_cmpuint (sought->names->len, ==, 3);
  g_assert_cmpuint (sought->other_names->len, ==, 0);
  g_assert_cmpstr (g_ptr_array_index (sought->names, 1), ==, "إبراهيم");
}

/* The schema as the app's vocabulary: the kinds a volunteer opens, their
 * labels, statuses, note kinds and the fields that name a record. */
static void
test_vocabulary (void)
{
  RflSchema *schema = rfl_schema_get_default ();
  g_auto(GStrv) kinds = rfl_schema_dup_kinds (schema, NULL);
  g_auto(GStrv) messages = rfl_schema_dup_kinds (schema, "messages");
  g_auto(GStrv) subtypes = rfl_schema_dup_subtypes (schema, "registration");
  g_auto(GStrv) none = rfl_schema_dup_subtypes (schema, "message");
  g_auto(GStrv) statuses = rfl_schema_dup_statuses (schema, "tracing_request");
  g_auto(GStrv) note_statuses = rfl_schema_dup_statuses (schema, "note");
  g_auto(GStrv) note_kinds = rfl_schema_dup_note_kinds (schema);
  g_auto(GStrv) outcomes = rfl_schema_dup_enum_values (schema, rfl_schema_get_note_type (schema), "outcome");
  g_auto(GStrv) not_enum = rfl_schema_dup_enum_values (schema, "message", "content");

  g_assert_cmpstrv (kinds, ((const char * const[]) { "tracing_request", "registration", "message", NULL }));
  g_assert_cmpstrv (messages, ((const char * const[]) { "message", NULL }));
  g_assert_cmpstr (rfl_schema_get_list (schema, "registration"), ==, "cases");
  g_assert_null (rfl_schema_get_list (schema, "note"));
  g_assert_cmpstrv (subtypes, ((const char * const[]) { "found_person", "unaccompanied_child", "separated_child",
                                                        "detainee", "deceased", NULL }));
  g_assert_cmpuint (g_strv_length (none), ==, 0);
  g_assert_cmpstr (rfl_schema_get_kind_label (schema, "tracing_request", NULL), ==, "Tracing request");
  g_assert_cmpstr (rfl_schema_get_kind_label (schema, "registration", "deceased"), ==, "Deceased person");
  g_assert_cmpstr (rfl_schema_get_kind_label (schema, "registration", NULL), ==, "Registration");
  g_assert_cmpstr (rfl_schema_get_kind_label (schema, "registration", "no_such_subtype"), ==, "Registration");
  g_assert_null (rfl_schema_get_kind_label (schema, "rumour", NULL));
  g_assert_cmpstr (rfl_schema_get_plural_label (schema, "message"), ==, "Red Cross Messages");
  g_assert_cmpstrv (statuses, ((const char * const[]) { "open", "tracing", "located", "reunited", "closed",
                                                        NULL }));
  g_assert_cmpuint (g_strv_length (note_statuses), ==, 0);
  g_assert_cmpstr (rfl_schema_get_note_type (schema), ==, "note");
  g_assert_cmpstrv (note_kinds, ((const char * const[]) { "note", "contact_attempt", "case_action", NULL }));
  g_assert_cmpstr (rfl_schema_get_field_default (schema, "note", "kind"), ==, "note");
  g_assert_cmpuint (g_strv_length (outcomes), ==, 5);
  g_assert_cmpuint (g_strv_length (not_enum), ==, 0);
  g_assert_cmpstrv (rfl_schema_get_display_roles (schema, "tracing_request"),
                    ((const char * const[]) { "sought", "enquirer", NULL }));
  g_assert_cmpstrv (rfl_schema_get_display_roles (schema, "registration"),
                    ((const char * const[]) { "person", NULL }));
  g_assert_cmpuint (g_strv_length ((char **) rfl_schema_get_display_roles (schema, "note")), ==, 0);
  g_assert_cmpuint (g_strv_length ((char **) rfl_schema_get_display_roles (schema, "rumour")), ==, 0);
}

static char *
override_path (void)
{
  return g_test_build_filename (G_TEST_DIST, "schema", "records-override.json", NULL);
}

static RflSchema *
schema_with_override (void)
{
  g_autofree char *path = override_path ();
  const char *paths[] = { path, NULL };
  g_autoptr(GError) error = NULL;
  RflSchema *schema = rfl_schema_new_with_overrides (paths, &error);

  g_assert_no_error (error);
  return schema;
}

/* An office adds a record type, a field, an enum value and a status with a
 * file, and records of them pass; the built-in schema still refuses them. */
static void
test_override (void)
{
  g_autoptr(RflSchema) schema = schema_with_override ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) kinds = rfl_schema_dup_kinds (schema, "cases");
  g_auto(GStrv) statuses = rfl_schema_dup_statuses (schema, "registration");
  g_autoptr(JsonArray) fields = rfl_schema_describe (schema, "registration");
  g_autoptr(JsonObject) migrant = rfl_test_object (
    "{\"type\": \"missing_migrant\", \"migrant\": " PERSON ", \"route\": \"Agadez\", " CONSENT "}");
  g_autoptr(JsonObject) clan = rfl_test_object (
    "{\"type\": \"registration\", \"subtype\": \"found_person\", \"person\": " PERSON ","
    " \"clan\": \"Hawiye\", \"circumstances\": \"epidemic\", " CONSENT "}");
  g_autoptr(JsonObject) referred = rfl_test_object (
    "{\"type\": \"registration\", \"subtype\": \"found_person\", \"person\": " PERSON ","
    " \"status\": \"referred\", " CONSENT "}");

  g_assert_cmpstrv (kinds, ((const char * const[]) { "tracing_request", "registration", "missing_migrant",
                                                     NULL }));
  g_assert_cmpstr (rfl_schema_get_kind_label (schema, "missing_migrant", NULL), ==, "Missing migrant");
  g_assert_cmpstr (statuses[5], ==, "referred");
  g_assert_cmpstrv (rfl_schema_get_display_roles (schema, "missing_migrant"),
                    ((const char * const[]) { "migrant", "enquirer", NULL }));
  g_assert_true (json_object_get_boolean_member (field_named (fields, "clan"), "added"));
  g_assert_false (json_object_has_member (field_named (fields, "person"), "added"));

  g_assert_true (rfl_schema_prepare_new (schema, migrant, &error));
  g_assert_no_error (error);
  g_assert_true (rfl_schema_prepare_new (schema, clan, &error));
  g_assert_no_error (error);
  g_assert_true (rfl_schema_validate (schema, referred, &error));
  g_assert_no_error (error);
  g_assert_true (rfl_schema_check_transition (schema, referred, "located", &error));
  g_assert_no_error (error);
  /* A status an override adds is reached only from where it says. */
  g_assert_false (rfl_schema_check_transition (schema, referred, "open", &error));
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION);
  g_clear_error (&error);

  /* Without the file, none of it passes. */
  g_assert_false (rfl_schema_validate (rfl_schema_get_default (), migrant, &error));
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "'missing_migrant' is not one of"));
  g_clear_error (&error);
  g_assert_false (rfl_schema_validate (rfl_schema_get_default (), clan, &error));
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "'clan': is not a field of registration"));
  g_clear_error (&error);
  g_assert_false (rfl_schema_validate (rfl_schema_get_default (), referred, &error));
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
  g_clear_error (&error);

  /* The rules it left alone still hold: an added field has its type. */
  json_object_set_int_member (clan, "clan", 7);
  g_assert_false (rfl_schema_validate (schema, clan, &error));
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
  g_assert_nonnull (strstr (error->message, "'clan': must be a string"));
}

#define OVERRIDE(body) "{\"format\": \"reunite-schema-override\", " body "}"
#define CASE_FIELDS \
  "\"status\": {\"type\": \"status\"}, \"closure_reason\": {\"type\": \"string\"}," \
  " \"reopen_reason\": {\"type\": \"string\"}"

/* Each bad override is refused whole, in one line that names the file and
 * what is wrong with it. */
static const struct
{
  const char *json;
  const char *problem;
} bad_overrides[] = {
  { "{", "not valid JSON (line 1" },
  { "[]", "must be a JSON object" },
  { "{}", "\"format\" must be \"reunite-schema-override\"" },
  { "{\"format\": \"reunite-schema\"}", "\"format\" must be" },
  { OVERRIDE ("\"common\": {}"), "unknown member 'common'" },
  { OVERRIDE ("\"records\": []"), "\"records\" is not an object" },
  /* Nothing that exists changes. */
  { OVERRIDE ("\"records\": {\"registration\": {\"fields\": {\"person\": {\"required\": false}}}}"),
    "field 'person' of registration exists: an override may add values to an enum, and cannot change its rules" },
  { OVERRIDE ("\"records\": {\"tracing_request\": {\"fields\": {\"description\": {\"type\": \"string\"}}}}"),
    "cannot change its rules" },
  { OVERRIDE ("\"structs\": {\"person\": {\"approximate_age\": {\"max\": 500}}}"), "cannot change its rules" },
  { OVERRIDE ("\"records\": {\"registration\": {\"fields\": {\"registered_place\": {\"values\": [\"x\"]}}}}"),
    "field 'registered_place' of registration is not an enum" },
  { OVERRIDE ("\"structs\": {\"person\": {\"sex\": {\"values\": [\"male\"]}}}"),
    "field 'sex' of person has the value 'male' already" },
  { OVERRIDE ("\"records\": {\"message\": {\"lifecycle\": \"case\"}}"),
    "record type 'message' exists: an override may add fields and subtype labels to it" },
  { OVERRIDE ("\"records\": {\"message\": {\"label\": \"Letter\"}}"), "cannot change the rest" },
  { OVERRIDE ("\"records\": {\"registration\": {\"subtypes\": {\"deceased\": \"Dead\"}}}"),
    "the label of 'deceased' cannot change" },
  { OVERRIDE ("\"records\": {\"registration\": {\"subtypes\": {\"ghost\": \"Ghost\"}}}"),
    "'ghost' is not a value of its field 'subtype'" },
  /* Records saved before an added field lack it. */
  { OVERRIDE ("\"records\": {\"registration\": {\"fields\": {\"clan\": {\"type\": \"string\", \"required\": true}}}}"),
    "field 'clan' of registration cannot be required" },
  { OVERRIDE ("\"structs\": {\"person\": {\"tribe\": {\"type\": \"string\", \"required\": true}}}"),
    "field 'tribe' of person cannot be required" },
  /* Lifecycles gain statuses, never transitions between old ones. */
  { OVERRIDE ("\"lifecycles\": {\"case\": {\"transitions\": {\"open\": [\"reunited\"]}}}"),
    "lifecycle 'case': 'open' to 'reunited': a transition may be added only to or from a status this file adds" },
  { OVERRIDE ("\"lifecycles\": {\"case\": {\"initial\": [\"tracing\"]}}"),
    "the statuses a record starts in cannot change" },
  { OVERRIDE ("\"lifecycles\": {\"case\": {\"retained\": [\"reunited\"]}}"),
    "'reunited': only a status this file adds can start the retention clock" },
  { OVERRIDE ("\"lifecycles\": {\"case\": {\"reason\": {\"tracing\": \"closure_reason\"}}}"),
    "the reason for entering 'tracing' cannot change" },
  { OVERRIDE ("\"lifecycles\": {\"case\": {\"transitions\": {\"referred\": [\"nowhere\"]}}}"),
    "lifecycle 'case': 'referred' leads to 'nowhere', which is not one of its statuses" },
  { OVERRIDE ("\"lifecycles\": {\"visit\": {\"transitions\": {\"planned\": []}}}"),
    "lifecycle 'visit', its \"initial\" is not a list" },
  { OVERRIDE ("\"lifecycles\": {\"visit\": {\"initial\": [\"planned\"], \"transitions\": {\"done\": []}}}"),
    "it starts in 'planned', which is not one of its statuses" },
  /* Names, members and types. */
  { OVERRIDE ("\"records\": {\"registration\": {\"fields\": {\"Clan\": {\"type\": \"string\"}}}}"),
    "field 'Clan' is not a name" },
  { OVERRIDE ("\"records\": {\"registration\": {\"fields\": {\"clan\": {\"type\": \"string\", \"requird\": true}}}}"),
    "field 'clan' of registration: unknown member 'requird'" },
  { OVERRIDE ("\"records\": {\"registration\": {\"fields\": {\"clan\": {\"type\": \"colour\"}}}}"),
    "unknown field type for 'clan'" },
  { OVERRIDE ("\"records\": {\"registration\": {\"fields\": {\"clan\": {\"type\": \"enum\", \"values\": [\"A b\"]}}}}"),
    "value 'A b' is not a name" },
  { OVERRIDE ("\"records\": {\"registration\": {\"fields\": {\"cell\": {\"type\": \"string\","
              " \"when\": {\"kind_of_camp\": [\"closed\"]}}}}}"),
    "field 'cell' of registration applies 'when' a field 'kind_of_camp' it does not have" },
  { OVERRIDE ("\"records\": {\"visit\": {\"fields\": {}}}"), "record type 'visit' needs a label" },
  { OVERRIDE ("\"records\": {\"visit\": {\"label\": \"Visit\"}}"), "record type 'visit' has no fields" },
  { OVERRIDE ("\"records\": {\"visit\": {\"label\": \"\", \"fields\": {}}}"),
    "record type 'visit': 'label' must be a text of 1 to 100 bytes" },
  { OVERRIDE ("\"records\": {\"visit\": {\"label\": \"Visit\", \"lifecycle\": \"tour\", \"fields\": {}}}"),
    "record type 'visit': unknown lifecycle 'tour'" },
  { OVERRIDE ("\"records\": {\"visit\": {\"label\": \"Visit\", \"list\": \"sidebar\", \"fields\": {}}}"),
    "a list is \"cases\" or \"messages\", not 'sidebar'" },
  { OVERRIDE ("\"records\": {\"visit\": {\"label\": \"Visit\", \"fields\": {\"who\": {\"type\": \"object\","
              " \"struct\": \"visitor\"}}}}"),
    "unknown struct 'visitor'" },
  { OVERRIDE ("\"records\": {\"visit\": {\"label\": \"Visit\", \"display\": [\"place\"],"
              " \"fields\": {\"place\": {\"type\": \"string\"}}}}"),
    "'display' names a field that holds no person: 'place'" },
  { OVERRIDE ("\"records\": {\"visit\": {\"label\": \"Visit\", \"lifecycle\": \"case\", \"fields\": {}}}"),
    "record type 'visit' follows a lifecycle, so it needs a field 'status' of type status" },
  { OVERRIDE ("\"records\": {\"visit\": {\"label\": \"Visit\", \"lifecycle\": \"case\","
              " \"fields\": {\"status\": {\"type\": \"status\"}}}}"),
    "asks for a reason in the field 'closure_reason', which it does not have" },
  { OVERRIDE ("\"records\": {\"visit\": {\"label\": \"Visit\", \"lifecycle\": \"case\", \"fields\": {" CASE_FIELDS
              ", \"x\": {\"type\": \"array\", \"items\": {\"type\": \"array\", \"items\": {\"type\": \"array\","
              " \"items\": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}}}}}"),
    "nested more than 32 deep" },
};

static void
test_bad_overrides (void)
{
  g_autofree char *dir = rfl_test_make_dir ();
  g_autofree char *path = g_build_filename (dir, "records.json", NULL);
  const char *paths[] = { path, NULL };

  for (guint i = 0; i < G_N_ELEMENTS (bad_overrides); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(RflSchema) schema = NULL;

      g_test_message ("%s", bad_overrides[i].json);
      g_assert_true (g_file_set_contents (path, bad_overrides[i].json, -1, NULL));
      schema = rfl_schema_new_with_overrides (paths, &error);
      g_assert_null (schema);
      g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_SCHEMA);
      g_test_message ("-> %s", error->message);
      g_assert_true (g_str_has_prefix (error->message, path));
      g_assert_nonnull (strstr (error->message, bad_overrides[i].problem));
      g_assert_null (strchr (error->message, '\n'));
    }

  /* The case fields above make a valid case type: the table tests what it
   * says it tests. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(RflSchema) schema = NULL;

    g_assert_true (g_file_set_contents (path, OVERRIDE ("\"records\": {\"visit\": {\"label\": \"Visit\","
                                                        " \"lifecycle\": \"case\", \"fields\": {" CASE_FIELDS "}}}"),
                                        -1, NULL));
    schema = rfl_schema_new_with_overrides (paths, &error);
    g_assert_no_error (error);
    g_assert_true (rfl_schema_has_record_type (schema, "visit"));
  }
  rfl_test_remove_dir (dir);
}

/* The file is checked before it is parsed: too large, or not a file. A file
 * that is not there is no override. */
static void
test_override_files (void)
{
  g_autofree char *dir = rfl_test_make_dir ();
  g_autofree char *path = g_build_filename (dir, "records.json", NULL);
  g_autofree char *missing = g_build_filename (dir, "none", "records.json", NULL);
  g_autofree char *big = g_strnfill (256 * 1024 + 1, ' ');
  g_autoptr(GError) error = NULL;
  g_autoptr(RflSchema) schema = NULL;
  g_auto(GStrv) defaults = rfl_schema_dup_override_paths ();
  g_autofree char *user = g_build_filename (g_get_user_config_dir (), "reunite", "records.json", NULL);

  {
    const char *paths[] = { missing, NULL };

    schema = rfl_schema_new_with_overrides (paths, &error);
    g_assert_no_error (error);
    g_assert_nonnull (schema);
  }
  {
    const char *paths[] = { path, NULL };

    g_assert_true (g_file_set_contents (path, big, -1, NULL));
    g_assert_null (rfl_schema_new_with_overrides (paths, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE);
    g_assert_true (g_str_has_prefix (error->message, path));
    g_clear_error (&error);
  }
  {
    const char *paths[] = { dir, NULL };

    g_assert_null (rfl_schema_new_with_overrides (paths, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_IS_DIRECTORY);
    g_clear_error (&error);
  }
  /* Files merge in turn: a second may extend what a first added, and may
   * not add it again. */
  {
    g_autofree char *first = override_path ();
    const char *paths[] = { first, path, NULL };
    g_autoptr(RflSchema) both = NULL;

    g_assert_true (g_file_set_contents (path, OVERRIDE ("\"records\": {\"missing_migrant\": {\"fields\":"
                                                        " {\"boat\": {\"type\": \"string\"}}}}"), -1, NULL));
    both = rfl_schema_new_with_overrides (paths, &error);
    g_assert_no_error (error);
    g_assert_true (rfl_schema_has_field (both, "missing_migrant", "boat"));
    g_assert_true (g_file_set_contents (path, OVERRIDE ("\"records\": {\"registration\": {\"fields\":"
                                                        " {\"clan\": {\"type\": \"string\"}}}}"), -1, NULL));
    g_assert_null (rfl_schema_new_with_overrides (paths, &error));
    g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_SCHEMA);
    g_clear_error (&error);
  }

  /* The user's file is merged last, over the office's. */
  g_assert_cmpstr (defaults[g_strv_length (defaults) - 1], ==, user);
  g_assert_true (rfl_schema_load_default (&error));
  g_assert_no_error (error);
  rfl_test_remove_dir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/rfl/schema/invalid", test_invalid);
  g_test_add_func ("/rfl/schema/valid", test_valid);
  g_test_add_func ("/rfl/schema/translated", test_translated);
  g_test_add_func ("/rfl/schema/partial-dates", test_partial_dates);
  g_test_add_func ("/rfl/schema/extended", test_extended_schema);
  g_test_add_func ("/rfl/schema/broken", test_broken_schema);
  g_test_add_func ("/rfl/schema/persons", test_persons);
  g_test_add_func ("/rfl/schema/describe", test_describe);
  g_test_add_func ("/rfl/schema/when-and-past", test_when_and_past);
  g_test_add_func ("/rfl/schema/vocabulary", test_vocabulary);
  g_test_add_func ("/rfl/schema/override", test_override);
  g_test_add_func ("/rfl/schema/override-refused", test_bad_overrides);
  g_test_add_func ("/rfl/schema/override-files", test_override_files);

  return g_test_run ();
}
