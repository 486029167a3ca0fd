/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>

#include "rfl-importer.h"
#include "rfl-store-testing.h"
#include "rfl-test-util.h"

/* reunite-cli as a separate process, as office admins and scripts use it. */

#define PLANTED_GIVEN  "Oxalindrabeth"
#define PLANTED_FAMILY "Kestrelwynde"
#define PLANTED_ARABIC "جلنارستانية"

typedef struct
{
  char *dir;
  char *tmp;
  char *db;
  char *pass_file;
} Fixture;

static const char *record_json =
  "{\"type\": \"tracing_request\", \"circumstances\": \"conflict\","
  " \"enquirer\": {\"given_name\": \"Amina\", \"family_name\": \"Yusuf\", \"phone\": \"+256700000000\"},"
  " \"sought\": [{\"given_name\": \"Ibrahim\", \"family_name\": \"Yusuf\", \"sex\": \"male\","
  "   \"date_of_birth\": \"2009\", \"relationship\": \"son\", \"alternate_names\": [\"إبراهيم يوسف\"]}],"
  " \"consent\": {\"tracing\": true, \"share_within_movement\": true, \"publish_photo\": false},"
  " \"sensitivity\": \"normal\"}";

static GSubprocessLauncher *
launcher_new (Fixture          *f,
              GSubprocessFlags  flags)
{
  GSubprocessLauncher *launcher = g_subprocess_launcher_new (flags);
  g_autofree char *config = g_build_filename (f->dir, "config", NULL);

  g_subprocess_launcher_setenv (launcher, "REUNITE_PASSPHRASE_FILE", f->pass_file, TRUE);
  g_subprocess_launcher_setenv (launcher, "TMPDIR", f->tmp, TRUE);
  g_subprocess_launcher_setenv (launcher, "SQLITE_TMPDIR", f->tmp, TRUE);
  g_subprocess_launcher_setenv (launcher, "HOME", f->dir, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", f->dir, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CACHE_HOME", f->tmp, TRUE);
  /* Only an override of the record schema a test puts here is read. */
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", config, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_DIRS", f->tmp, TRUE);
  return launcher;
}

static GPtrArray *
argv_new (Fixture    *f,
          const char *first,
          va_list     args)
{
  GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);
  const char *arg;

  g_ptr_array_add (argv, g_strdup (g_getenv ("REUNITE_CLI")));
  g_ptr_array_add (argv, g_strdup_printf ("--db=%s", f->db));
  for (arg = first; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, g_strdup (arg));
  g_ptr_array_add (argv, NULL);
  return argv;
}

/* Runs @argv with @input on stdin; returns its exit status. */
static int
run_argv (Fixture     *f,
          GPtrArray   *argv,
          const char  *input,
          char       **out,
          char       **err)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *stdout_text = NULL, *stderr_text = NULL;

  launcher = launcher_new (f, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                              G_SUBPROCESS_FLAGS_STDERR_PIPE);
  proc = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, input ? input : "", NULL, &stdout_text, &stderr_text, &error);
  g_assert_no_error (error);
  g_test_message ("%s %s -> %d%s%s", (char *) argv->pdata[2], argv->len > 3 ? (char *) argv->pdata[3] : "",
                  g_subprocess_get_exit_status (proc), stderr_text[0] ? ": " : "", stderr_text);
  if (out)
    *out = g_steal_pointer (&stdout_text);
  if (err)
    *err = g_steal_pointer (&stderr_text);
  return g_subprocess_get_exit_status (proc);
}

/* Runs reunite-cli with @input on stdin; returns its exit status. */
static int
run (Fixture     *f,
     const char  *input,
     char       **out,
     char       **err,
     const char  *first,
     ...)
{
  g_autoptr(GPtrArray) argv = NULL;
  va_list args;

  va_start (args, first);
  argv = argv_new (f, first, args);
  va_end (args);
  return run_argv (f, argv, input, out, err);
}

static JsonObject *
parse_line (const char *text)
{
  return rfl_test_object (text);
}

static char *
add_record (Fixture    *f,
            const char *json)
{
  g_autofree char *out = NULL;
  g_autoptr(JsonObject) obj = NULL;

  g_assert_cmpint (run (f, json, &out, NULL, "add", NULL), ==, 0);
  obj = parse_line (out);
  return g_strdup (json_object_get_string_member (obj, "id"));
}

static guint
count_lines (const char *text)
{
  guint n = 0;

  for (const char *p = text; *p; p++)
    n += *p == '\n';
  return n;
}

static guint
record_count (Fixture *f)
{
  g_autofree char *out = NULL;

  g_assert_cmpint (run (f, NULL, &out, NULL, "list", "--limit=1000000", NULL), ==, 0);
  return count_lines (out);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *out = NULL;
  g_autoptr(JsonObject) obj = NULL;

  f->dir = rfl_test_make_dir ();
  f->tmp = g_build_filename (f->dir, "tmp", NULL);
  g_assert_cmpint (g_mkdir (f->tmp, 0700), ==, 0);
  f->db = g_build_filename (f->dir, "office", "cases.db", NULL);
  f->pass_file = g_build_filename (f->dir, "passphrase", NULL);
  g_assert_true (g_file_set_contents (f->pass_file, TEST_PASSPHRASE "\n", -1, NULL));

  g_assert_cmpint (run (f, NULL, &out, NULL, "init", "--kdf=interactive", NULL), ==, 0);
  obj = parse_line (out);
  g_assert_cmpuint (strlen (json_object_get_string_member (obj, "device_id")), ==, 32);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  rfl_test_remove_dir (f->dir);
  g_free (f->dir);
  g_free (f->tmp);
  g_free (f->db);
  g_free (f->pass_file);
}

static void
test_roundtrip (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *id = add_record (f, record_json);
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(JsonObject) shown = NULL;
  g_auto(GStrv) lines = NULL;

  g_assert_cmpint (run (f, NULL, &out, NULL, "show", id, NULL), ==, 0);
  shown = parse_line (out);
  g_assert_cmpstr (json_object_get_string_member (shown, "id"), ==, id);
  g_assert_cmpstr (json_object_get_string_member (shown, "status"), ==, "open");
  g_clear_pointer (&out, g_free);

  g_free (add_record (f, record_json));
  g_assert_cmpint (run (f, NULL, &out, NULL, "list", "--type=tracing_request", NULL), ==, 0);
  lines = g_strsplit (g_strstrip (out), "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), ==, 2);
  for (guint i = 0; lines[i] != NULL; i++)
    json_object_unref (parse_line (lines[i]));
  g_clear_pointer (&out, g_free);

  /* Found by the Arabic spelling of the name given in Latin script. */
  g_assert_cmpint (run (f, NULL, &out, NULL, "search", "إبراهيم", NULL), ==, 0);
  g_assert_cmpuint (count_lines (out), ==, 2);
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (run (f, "{\"status\": \"tracing\"}", &out, NULL, "update", id, NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run (f, NULL, &out, NULL, "list", "--status=tracing", NULL), ==, 0);
  g_assert_cmpuint (count_lines (out), ==, 1);
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (run (f, NULL, &out, NULL, "delete", id, NULL), ==, 0);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run (f, NULL, &out, &err, "show", id, NULL), ==, 1);
  {
    g_autofree char *expected = g_strdup_printf ("reunite-cli: record %s was deleted\n", id);
    g_assert_cmpstr (err, ==, expected);
  }
  g_assert_cmpstr (out, ==, "");
  g_clear_pointer (&out, g_free);

  g_assert_cmpint (run (f, NULL, &out, NULL, "export", NULL), ==, 0);
  g_assert_cmpuint (count_lines (out), ==, 1);
}

static void
test_no_plaintext (Fixture       *f,
                   gconstpointer  data)
{
  static const char * const planted[] = { PLANTED_GIVEN, PLANTED_FAMILY, PLANTED_ARABIC,
                                          "oxalindrabeth", "kestrelwynde" };
  g_autofree char *json = g_strdup_printf (
    "{\"type\": \"registration\", \"subtype\": \"detainee\","
    " \"person\": {\"given_name\": \"%s\", \"family_name\": \"%s\", \"alternate_names\": [\"%s\"]},"
    " \"consent\": {\"tracing\": true, \"share_within_movement\": false}}",
    PLANTED_GIVEN, PLANTED_FAMILY, PLANTED_ARABIC);
  g_autofree char *import_path = g_build_filename (f->dir, "batch.jsonl", NULL);
  g_autoptr(GString) batch = g_string_new (NULL);
  g_autofree char *id = NULL, *out = NULL;
  g_autofree char *office = g_path_get_dirname (f->db);

  id = add_record (f, json);
  for (guint i = 0; i < 300; i++)
    g_string_append_printf (batch, "%s\n", i == 150 ? json : record_json);
  g_assert_true (g_file_set_contents (import_path, batch->str, -1, NULL));
  g_assert_cmpint (run (f, NULL, NULL, NULL, "import", import_path, NULL), ==, 0);
  g_unlink (import_path);
  g_assert_cmpint (run (f, NULL, &out, NULL, "search", PLANTED_FAMILY, NULL), ==, 0);
  g_assert_cmpuint (count_lines (out), ==, 2);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run (f, NULL, &out, NULL, "list", "--limit=1000", NULL), ==, 0);
  g_assert_cmpuint (count_lines (out), ==, 301);
  g_assert_cmpint (run (f, "{\"status\": \"tracing\"}", NULL, NULL, "update", id, NULL), ==, 0);

  /* Nothing readable in the office directory (database, WAL, SHM, key file)
   * nor in the temporary directory the process was given. */
  for (guint i = 0; i < G_N_ELEMENTS (planted); i++)
    {
      g_assert_false (rfl_test_dir_contains (office, planted[i]));
      g_assert_false (rfl_test_dir_contains (f->tmp, planted[i]));
    }
  g_assert_false (rfl_test_file_contains (f->db, "SQLite format 3"));
}

static void
test_wrong_passphrase (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *wrong = g_build_filename (f->dir, "wrong", NULL);
  g_autofree char *err = NULL, *out = NULL;

  g_free (add_record (f, record_json));
  g_assert_true (g_file_set_contents (wrong, "not the passphrase\n", -1, NULL));
  g_assert_cmpint (run (f, NULL, &out, &err, "--passphrase-file", wrong, "list", NULL), ==, 1);
  g_assert_cmpstr (err, ==, "reunite-cli: wrong passphrase\n");
  g_assert_cmpstr (out, ==, "");
  g_clear_pointer (&err, g_free);

  /* A passphrase is never taken on the command line. */
  g_assert_cmpint (run (f, NULL, NULL, &err, "--passphrase", TEST_PASSPHRASE, "list", NULL), ==, 2);
  g_assert_nonnull (strstr (err, "Unknown option"));
  g_clear_pointer (&err, g_free);

  g_assert_cmpuint (record_count (f), ==, 1);
}

static void
test_passwd (Fixture       *f,
             gconstpointer  data)
{
  g_autofree char *fresh = g_build_filename (f->dir, "fresh", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_free (add_record (f, record_json));
  g_assert_true (g_file_set_contents (fresh, "the new office passphrase\n", -1, NULL));
  g_assert_cmpint (run (f, NULL, &out, NULL, "passwd", "--kdf=interactive", "--new-passphrase-file", fresh,
                        NULL), ==, 0);
  g_assert_cmpstr (out, ==, "{\"passphrase_changed\":true}\n");

  g_assert_cmpint (run (f, NULL, NULL, &err, "list", NULL), ==, 1);
  g_assert_cmpstr (err, ==, "reunite-cli: wrong passphrase\n");
  g_clear_pointer (&err, g_free);
  g_assert_true (g_file_set_contents (f->pass_file, "the new office passphrase", -1, NULL));
  g_assert_cmpuint (record_count (f), ==, 1);

  /* Too short a new passphrase is refused and the old one stays. */
  g_assert_true (g_file_set_contents (fresh, "short\n", -1, NULL));
  g_assert_cmpint (run (f, NULL, NULL, &err, "passwd", "--new-passphrase-file", fresh, NULL), ==, 1);
  g_assert_nonnull (strstr (err, "at least 8"));
  g_assert_cmpuint (record_count (f), ==, 1);
}

/* Runs an operator command of reunite-hq on HQ's directory under @f, with
 * the same passphrase; returns its exit status. */
static int
run_hq (Fixture     *f,
        char       **out,
        char       **err,
        const char  *first,
        ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  va_list args;

  g_ptr_array_add (argv, g_strdup (g_getenv ("REUNITE_HQ")));
  g_ptr_array_add (argv, g_strdup_printf ("--dir=%s/hq", f->dir));
  va_start (args, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, g_strdup (arg));
  va_end (args);
  g_ptr_array_add (argv, NULL);
  return run_argv (f, argv, NULL, out, err);
}

/* reunite-hq's passwd answers as reunite-cli's does, so one script reads both. */
static void
test_hq_passwd (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *fresh = g_build_filename (f->dir, "fresh-hq", NULL);
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_assert_true (g_file_set_contents (fresh, "the new HQ passphrase\n", -1, NULL));
  g_assert_cmpint (run_hq (f, NULL, NULL, "--kdf=interactive", "init", NULL), ==, 0);
  g_assert_cmpint (run_hq (f, &out, NULL, "passwd", "--new-passphrase-file", fresh, NULL), ==, 0);
  g_assert_cmpstr (out, ==, "{\"passphrase_changed\":true}\n");
  g_assert_cmpint (run_hq (f, NULL, &err, "devices", NULL), ==, 1);
  g_assert_cmpstr (err, ==, "reunite-hq: wrong passphrase\n");
}

/* Every kind of bad input gets one line naming the line and the field, a
 * non-zero exit, and leaves the database as it was. */
static void
test_invalid_input (Fixture       *f,
                    gconstpointer  data)
{
  static const struct
  {
    const char *command;
    const char *input;
    const char *expected;
  } cases[] = {
    { "add", "{\"type\": \"tracing_request\",", "the record: not valid JSON" },
    { "add", "[1, 2]", "the record: it must be a JSON object" },
    /* Empty or blank stdin: no crash, no Json-CRITICAL, one line. */
    { "add", "", "the record: it is empty" },
    { "add", " \n\t\n", "the record: it is empty" },
    /* json-glib would cut the text at the NUL, or drop the second value. */
    { "add", "{\"type\": \"registration\", \"subtype\": \"found_person\", \"person\": {\"given_name\": \"Zeb\\u0000qx\"},"
             " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}",
      "the record: the text of field 'given_name' holds a NUL character (\\u0000)" },
    { "add", "GOODGOOD", "the record: more than one JSON value" },
    /* The error says where, never what: the text could be a name. */
    { "add", "{\"type\": \"registration\", \"person\": {\"given_name\": Zebulonqx}}",
      "the record: not valid JSON (line 1, character 59)" },
    { "import", "GOOD\n{\"type\": \"message\", \"sender\": {\"given_name\": \"A\\u0000B\"}}\n",
      "line 2: the record: the text of field 'given_name' holds a NUL character" },
    { "add", "{\"type\": \"registration\", \"subtype\": \"found_person\", \"person\": {\"given_name\": \"A\"},"
             " \"consent\": {\"tracing\": true, \"share_within_movement\": true}, \"eye_colour\": \"brown\"}",
      "field 'eye_colour': is not a field of registration" },
    { "import", "GOOD\n{\"type\": \"tracing_request\", \"enquirer\": {]\nGOOD\n",
      "line 2: the record: not valid JSON" },
    { "import", "GOOD\nGOOD\n{\"type\": \"registration\", \"subtype\": \"found_person\","
                " \"person\": {\"given_name\": \"A\", \"nickname\": \"B\"},"
                " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}\n",
      "line 3: field 'person.nickname': is not a field of person" },
    { "import", "GOOD\n{\"type\": \"registration\", \"subtype\": \"found_person\","
                " \"person\": {\"given_name\": \"A\", \"date_of_birth\": \"1987-14\"},"
                " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}\n",
      "line 2: field 'person.date_of_birth': invalid partial date '1987-14'" },
    { "import", "{\"type\": \"registration\", \"subtype\": \"found_person\","
                " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}\nGOOD\n",
      "line 1: field 'person': is required" },
    { "import", "GOOD\n\nGOOD\n{\"type\": \"message\", \"status\": \"delivered\", \"sender\": {\"given_name\": \"A\"},"
                " \"addressee\": {\"given_name\": \"B\"}, \"content\": \"hello\"}\n",
      "line 4: field 'status': a new message starts as collected, not 'delivered'" },
  };
  g_autofree char *id = add_record (f, record_json);
  g_autofree char *path = g_build_filename (f->dir, "input.jsonl", NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *err = NULL, *out = NULL, *expected = NULL;
      g_autofree char *input = NULL;
      int status;

      {
        g_auto(GStrv) parts = g_strsplit (cases[i].input, "GOOD", -1);
        input = g_strjoinv (record_json, parts);
      }
      if (g_str_equal (cases[i].command, "import"))
        {
          g_assert_true (g_file_set_contents (path, input, -1, NULL));
          status = run (f, NULL, &out, &err, "import", path, NULL);
        }
      else
        status = run (f, input, &out, &err, cases[i].command, NULL);

      expected = g_strdup_printf ("reunite-cli: %s", cases[i].expected);
      g_assert_cmpint (status, ==, 1);
      g_assert_null (strstr (err, "Zebulonqx"));
      if (!g_str_has_prefix (err, expected))
        g_error ("case %u: %s, not %s", i, err, expected);
      g_assert_cmpuint (count_lines (err), ==, 1);
      g_assert_cmpstr (out, ==, "");
      /* Nothing half-written: the good lines before the bad one are not in. */
      g_assert_cmpuint (record_count (f), ==, 1);
    }

  /* Invalid changes to an existing record. */
  {
    g_autofree char *err = NULL;

    g_assert_cmpint (run (f, "", NULL, &err, "update", id, NULL), ==, 1);
    g_assert_cmpstr (err, ==, "reunite-cli: the patch: it is empty\n");
    g_clear_pointer (&err, g_free);
    {
      /* Deep enough to exhaust a recursive parser's stack. */
      g_autoptr(GString) deep = g_string_new ("{\"description\": ");

      for (guint i = 0; i < 5000; i++)
        g_string_append_c (deep, '[');
      for (guint i = 0; i < 5000; i++)
        g_string_append_c (deep, ']');
      g_string_append_c (deep, '}');
      g_assert_cmpint (run (f, deep->str, NULL, &err, "update", id, NULL), ==, 1);
      g_assert_cmpstr (err, ==, "reunite-cli: the patch: nested more than 32 deep\n");
      g_clear_pointer (&err, g_free);
    }
    g_assert_cmpint (run (f, "{\"status\": \"reunited\"}", NULL, &err, "update", id, NULL), ==, 1);
    g_assert_cmpstr (err, ==, "reunite-cli: field 'status': a tracing_request cannot go from 'open' to "
                              "'reunited' (allowed: tracing, closed)\n");
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (run (f, "{\"status\": \"closed\"}", NULL, &err, "update", id, NULL), ==, 1);
    g_assert_cmpstr (err, ==, "reunite-cli: field 'closure_reason': is required when the status "
                              "becomes 'closed'\n");
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (run (f, "{\"enquirer\": null}", NULL, &err, "update", id, NULL), ==, 1);
    g_assert_cmpstr (err, ==, "reunite-cli: field 'enquirer': is required\n");
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (run (f, NULL, NULL, &err, "show", "no-such-id", NULL), ==, 1);
    g_assert_cmpstr (err, ==, "reunite-cli: no record with id no-such-id\n");
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (run (f, NULL, NULL, &err, "frobnicate", NULL), ==, 2);
    g_assert_cmpstr (err, ==, "reunite-cli: unknown command 'frobnicate'; see --help\n");
  }
}

/* Devices, pipes, folders and symlinks where a file is expected: a clear
 * refusal, at once, with nothing read into memory and nothing written. */
static void
test_special_files (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *key = g_strconcat (f->db, ".key", NULL);
  g_autofree char *saved_key = g_strconcat (f->db, ".key.saved", NULL);
  g_autofree char *big = g_build_filename (f->dir, "big-token", NULL);
  g_autofree char *folder = g_build_filename (f->dir, "a-folder", NULL);
  g_autofree char *err = NULL;
  g_autofree char *filler = g_strnfill (100 * 1024, 'x');

  g_free (add_record (f, record_json));

  g_assert_cmpint (run (f, NULL, NULL, &err, "enroll", "/dev/zero", NULL), ==, 1);
  g_assert_cmpstr (err, ==, "reunite-cli: /dev/zero is not a regular file\n");
  g_clear_pointer (&err, g_free);
  g_assert_true (g_file_set_contents (big, filler, -1, NULL));
  g_assert_cmpint (run (f, NULL, NULL, &err, "enroll", big, NULL), ==, 1);
  g_assert_true (g_str_has_suffix (err, "big-token is larger than 65536 bytes\n"));
  g_clear_pointer (&err, g_free);

  g_assert_cmpint (run (f, NULL, NULL, &err, "import", "/dev/zero", NULL), ==, 1);
  g_assert_cmpstr (err, ==, "reunite-cli: /dev/zero is not a regular file\n");
  g_clear_pointer (&err, g_free);
  /* Standard input from the test is a pipe: refused, not "imported 0". */
  g_assert_cmpint (run (f, record_json, NULL, &err, "import", "/dev/stdin", NULL), ==, 1);
  g_assert_true (g_str_has_prefix (err, "reunite-cli: /dev/stdin is a pipe: the import reads its file twice"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpuint (record_count (f), ==, 1);

  /* A folder, a device or a pipe given as the database: said so, not "no
   * case store, create one", which init would then refuse. A dangling
   * symlink is not a free path: init leaves it as it was. */
  {
    g_autofree char *pipe = g_build_filename (f->dir, "pipe.db", NULL);
    g_autofree char *dangling = g_build_filename (f->dir, "dangling.db", NULL);
    g_autofree char *expected = NULL;
    const char *paths[] = { folder, "/dev/zero", pipe };
    GStatBuf st;

    g_assert_cmpint (g_mkdir (folder, 0700), ==, 0);
    g_assert_cmpint (mkfifo (pipe, 0600), ==, 0);
    for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
      {
        expected = g_strdup_printf ("reunite-cli: %s is not a case store: it is not a regular file\n", paths[i]);
        g_assert_cmpint (run (f, NULL, NULL, &err, "--db", paths[i], "list", NULL), ==, 1);
        g_assert_cmpstr (err, ==, expected);
        g_clear_pointer (&err, g_free);
        g_clear_pointer (&expected, g_free);
      }
    g_assert_cmpint (symlink ("nowhere", dangling), ==, 0);
    g_assert_cmpint (run (f, NULL, NULL, &err, "--db", dangling, "init", "--kdf=interactive", NULL), ==, 1);
    g_assert_true (g_str_has_suffix (err, "dangling.db already exists; open it, or choose another path\n"));
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (g_lstat (dangling, &st), ==, 0);
    g_assert_true (S_ISLNK (st.st_mode));
    g_assert_cmpint (g_rmdir (folder), ==, 0);
  }

  /* The key file replaced by a symlink to /dev/zero. */
  g_assert_cmpint (g_rename (key, saved_key), ==, 0);
  g_assert_cmpint (symlink ("/dev/zero", key), ==, 0);
  g_assert_cmpint (run (f, NULL, NULL, &err, "status", NULL), ==, 1);
  g_assert_true (g_str_has_suffix (err, ".key is not a regular file\n"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (g_unlink (key), ==, 0);
  g_assert_cmpint (g_rename (saved_key, key), ==, 0);

  /* Another database's key file: one line, none of SQLCipher's own. */
  {
    g_autofree char *other = g_build_filename (f->dir, "other.db", NULL);
    g_autofree char *other_key = g_strconcat (other, ".key", NULL);
    g_autofree char *text = NULL;
    gsize len = 0;

    g_assert_cmpint (run (f, NULL, NULL, NULL, "--db", other, "init", "--kdf=interactive", NULL), ==, 0);
    g_assert_true (g_file_get_contents (other_key, &text, &len, NULL));
    g_assert_cmpint (g_rename (key, saved_key), ==, 0);
    g_assert_true (g_file_set_contents (key, text, (gssize) len, NULL));
    g_assert_cmpint (run (f, NULL, NULL, &err, "status", NULL), ==, 1);
    g_assert_true (g_str_has_suffix (err, "is not a Reunite database or does not match its key file\n"));
    g_assert_cmpuint (count_lines (err), ==, 1);
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (g_unlink (key), ==, 0);
    g_assert_cmpint (g_rename (saved_key, key), ==, 0);
  }

  /* An Arabic search in a bare shell (LC_ALL=C) is not refused. */
  {
    g_autoptr(GSubprocessLauncher) launcher = launcher_new (f, G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                               G_SUBPROCESS_FLAGS_STDERR_PIPE);
    g_autoptr(GSubprocess) proc = NULL;
    g_autoptr(GError) error = NULL;
    g_autofree char *db_arg = g_strdup_printf ("--db=%s", f->db);
    g_autofree char *out = NULL;

    g_subprocess_launcher_setenv (launcher, "LC_ALL", "C", TRUE);
    proc = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("REUNITE_CLI"), db_arg, "search",
                                        "إبراهيم", NULL);
    g_assert_no_error (error);
    g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error);
    g_assert_no_error (error);
    g_assert_cmpint (g_subprocess_get_exit_status (proc), ==, 0);
    g_assert_nonnull (strstr (out, "Yusuf"));
    g_clear_pointer (&err, g_free);
  }

  /* A folder as the passphrase file is not a wrong passphrase. */
  g_assert_cmpint (g_mkdir (folder, 0700), ==, 0);
  g_assert_cmpint (run (f, NULL, NULL, &err, "--passphrase-file", folder, "status", NULL), ==, 1);
  g_assert_true (g_str_has_suffix (err, "a-folder is a folder, not a file\n"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpuint (record_count (f), ==, 1);
}

static void
test_audit_tamper (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *id = add_record (f, record_json);
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(JsonObject) verdict = NULL;
  g_autoptr(RflStore) store = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (run (f, NULL, NULL, NULL, "show", id, NULL), ==, 0);
  g_assert_cmpint (run (f, NULL, NULL, NULL, "search", "Yusuf", NULL), ==, 0);
  g_assert_cmpint (run (f, NULL, NULL, NULL, "export", NULL), ==, 0);
  g_assert_cmpint (run (f, NULL, &out, NULL, "audit", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "\"action\":\"view\""));
  g_assert_nonnull (strstr (out, "\"action\":\"search\""));
  g_assert_nonnull (strstr (out, "\"action\":\"export\""));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run (f, NULL, &out, NULL, "audit", "--verify", NULL), ==, 0);
  verdict = parse_line (out);
  g_assert_true (json_object_get_boolean_member (verdict, "intact"));

  /* Someone with the key rewrites the log to hide the export. */
  store = rfl_store_open (f->db, TEST_PASSPHRASE, strlen (TEST_PASSPHRASE), &error);
  g_assert_no_error (error);
  g_assert_true (rfl_store_exec (store, "UPDATE audit SET action = 'view' WHERE action = 'export'", &error));
  g_assert_no_error (error);
  g_clear_object (&store);

  g_assert_cmpint (run (f, NULL, NULL, &err, "audit", "--verify", NULL), ==, 1);
  g_assert_cmpstr (err, ==, "reunite-cli: the audit log is broken at entry 5: it was changed outside Reunite\n");
}

static void
test_purge (Fixture       *f,
            gconstpointer  data)
{
  g_autofree char *old = add_record (f, record_json);
  g_autofree char *kept = add_record (f, record_json);
  g_autofree char *out = NULL, *err = NULL;

  g_assert_cmpint (run (f, "{\"retention_until\": \"2001-01-01\"}", NULL, NULL, "update", old, NULL), ==, 0);
  g_assert_cmpint (run (f, NULL, NULL, &err, "purge", NULL), ==, 1);
  g_assert_cmpstr (err, ==, "reunite-cli: usage: purge --expired\n");
  g_assert_cmpint (run (f, NULL, &out, NULL, "purge", "--expired", NULL), ==, 0);
  g_assert_cmpstr (out, ==, "{\"purged\":1}\n");
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run (f, NULL, NULL, &err, "show", old, NULL), ==, 1);
  {
    g_autofree char *expected = g_strdup_printf ("reunite-cli: record %s was purged\n", old);
    g_assert_cmpstr (err, ==, expected);
  }
  g_assert_cmpint (run (f, NULL, NULL, NULL, "show", kept, NULL), ==, 0);
  g_assert_cmpuint (record_count (f), ==, 1);
}

/* The matching workflow as an office admin runs it, each step its own
 * process: proposals listed with ids, a decision that locates the request,
 * telling the family refused without consent, every misuse one line. */
static void
test_matches_and_decide (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *request = add_record (f, record_json);
  g_autofree char *found = add_record (f,
    "{\"type\": \"registration\", \"subtype\": \"found_person\","
    " \"person\": {\"given_name\": \"Ibrahim\", \"family_name\": \"Youssouf\", \"sex\": \"male\","
    "   \"date_of_birth\": \"2009\"},"
    " \"registered_place\": \"Goma\", \"consent\": {\"tracing\": true, \"share_within_movement\": true}}");
  g_autofree char *out = NULL, *err = NULL, *match_id = NULL;
  g_autoptr(JsonObject) proposal = NULL, decided = NULL, shown = NULL;

  g_assert_cmpint (run (f, NULL, &out, NULL, "matches", NULL), ==, 0);
  g_assert_cmpuint (count_lines (out), ==, 1);
  proposal = parse_line (out);
  g_assert_cmpstr (json_object_get_string_member (proposal, "case"), ==, request);
  g_assert_cmpstr (json_object_get_string_member (proposal, "candidate_case"), ==, found);
  match_id = g_strdup (json_object_get_string_member (proposal, "id"));
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run (f, NULL, &out, NULL, "matches", "--rebuild", NULL), ==, 0);
  g_assert_cmpstr (strstr (out, "\"proposals\":1"), !=, NULL);

  /* One registration, no duplicate; the same man registered again is one. */
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run (f, NULL, &out, NULL, "duplicates", NULL), ==, 0);
  g_assert_cmpuint (count_lines (out), ==, 0);
  {
    g_autofree char *again = add_record (f,
      "{\"type\": \"registration\", \"subtype\": \"detainee\","
      " \"person\": {\"given_name\": \"إبراهيم\", \"family_name\": \"يوسف\", \"sex\": \"male\","
      "   \"date_of_birth\": \"2009\"},"
      " \"registered_place\": \"Goma\", \"consent\": {\"tracing\": true, \"share_within_movement\": true}}");
    g_autoptr(JsonObject) twin = NULL;

    g_clear_pointer (&out, g_free);
    g_assert_cmpint (run (f, NULL, &out, NULL, "duplicates", NULL), ==, 0);
    g_assert_cmpuint (count_lines (out), ==, 1);
    twin = parse_line (out);
    g_assert_cmpstr (json_object_get_string_member (twin, "kind"), ==, "duplicate");
    g_assert_true ((g_str_equal (json_object_get_string_member (twin, "case"), again) &&
                    g_str_equal (json_object_get_string_member (twin, "candidate_case"), found)) ||
                   (g_str_equal (json_object_get_string_member (twin, "case"), found) &&
                    g_str_equal (json_object_get_string_member (twin, "candidate_case"), again)));
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (run (f, NULL, NULL, &err, "duplicates", "--case", request, NULL), ==, 1);
    g_assert_cmpstr (err, ==, "reunite-cli: usage: duplicates [--min-score S]\n");

    /* Merged, the pair is no duplicate any more; unmerged, it is again. */
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (run (f, NULL, NULL, &err, "merge", again, NULL), ==, 1);
    g_assert_cmpstr (err, ==, "reunite-cli: usage: merge DUPLICATE_ID --into KEPT_ID\n");
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (run (f, NULL, NULL, &err, "merge", again, "--into", request, NULL), ==, 1);
    g_assert_cmpuint (count_lines (err), ==, 1);
    g_assert_nonnull (strstr (err, "different types"));
    g_clear_pointer (&err, g_free);
    g_assert_cmpint (run (f, NULL, NULL, &err, "unmerge", again, NULL), ==, 1);
    g_assert_nonnull (strstr (err, "is not merged into another record"));
    g_assert_cmpuint (count_lines (err), ==, 1);
    g_clear_pointer (&out, g_free);
    g_assert_cmpint (run (f, NULL, &out, NULL, "merge", again, "--into", found, NULL), ==, 0);
    g_clear_pointer (&twin, json_object_unref);
    twin = parse_line (out);
    g_assert_cmpstr (json_object_get_string_member (twin, "into"), ==, found);
    g_assert_cmpstr (json_object_get_string_member (twin, "status"), ==, "closed");
    g_clear_pointer (&out, g_free);
    g_assert_cmpint (run (f, NULL, &out, NULL, "duplicates", NULL), ==, 0);
    g_assert_cmpuint (count_lines (out), ==, 0);
    g_clear_pointer (&out, g_free);
    g_assert_cmpint (run (f, NULL, &out, NULL, "unmerge", again, NULL), ==, 0);
    g_clear_pointer (&twin, json_object_unref);
    twin = parse_line (out);
    g_assert_cmpstr (json_object_get_string_member (twin, "status"), ==, "open");
    g_clear_pointer (&out, g_free);
    g_assert_cmpint (run (f, NULL, &out, NULL, "duplicates", NULL), ==, 0);
    g_assert_cmpuint (count_lines (out), ==, 1);
    g_clear_pointer (&out, g_free);
    g_assert_cmpint (run (f, NULL, &out, NULL, "delete", again, NULL), ==, 0);
  }

  g_assert_cmpint (run (f, NULL, NULL, &err, "decide", match_id, "perhaps", NULL), ==, 1);
  g_assert_cmpstr (err, ==, "reunite-cli: usage: decide MATCH_ID confirm|reject|more-info [--reason TEXT], or decide MATCH_ID share\n");
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run (f, NULL, NULL, &err, "decide", request, "confirm", NULL), ==, 1);
  g_assert_cmpuint (count_lines (err), ==, 1);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run (f, NULL, NULL, &err, "matches", "--rebuild", "--case", request, NULL), ==, 1);
  g_assert_cmpuint (count_lines (err), ==, 1);
  g_clear_pointer (&err, g_free);

  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run (f, NULL, &out, NULL, "decide", match_id, "confirm", "--reason", "his mother knew the scar",
                        NULL), ==, 0);
  decided = parse_line (out);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (decided, "located"), 0), ==,
                   request);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (decided, "next_steps")), ==, 3);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run (f, NULL, &out, NULL, "show", request, NULL), ==, 0);
  shown = parse_line (out);
  g_assert_cmpstr (json_object_get_string_member (shown, "status"), ==, "located");

  g_assert_cmpint (run (f, NULL, NULL, &err, "decide", match_id, "share", NULL), ==, 1);
  g_assert_cmpuint (count_lines (err), ==, 1);
  g_assert_nonnull (strstr (err, "has not consented"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run (f, "{\"consent\": {\"tracing\": true, \"share_within_movement\": true,"
                        " \"disclose_whereabouts\": true, \"disclosure_decided_by\": \"person\"}}",
                        NULL, NULL, "update", found, NULL), ==, 0);
  g_assert_cmpint (run (f, NULL, NULL, NULL, "decide", match_id, "share", NULL), ==, 0);
}

/* A long import, killed without warning, then run again. */

static GSubprocess *
spawn_import (Fixture     *f,
              const char  *path)
{
  g_autoptr(GSubprocessLauncher) launcher = launcher_new (f, G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                                             G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GError) error = NULL;
  g_autofree char *db_arg = g_strdup_printf ("--db=%s", f->db);
  GSubprocess *proc;

  proc = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("REUNITE_CLI"), db_arg,
                                      "--verbose", "import", path, NULL);
  g_assert_no_error (error);
  return proc;
}

static char *
generate (Fixture *f,
          guint    n)
{
  g_autofree char *count = g_strdup_printf ("%u", n);
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (f->dir, "cases.jsonl", NULL);
  const char *argv[] = { g_getenv ("RFL_GEN"), count, "7", NULL };
  int status = -1;

  g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, NULL, &status, &error);
  g_assert_no_error (error);
  g_assert_true (g_spawn_check_wait_status (status, NULL));
  g_assert_true (g_file_set_contents (path, out, -1, NULL));
  return path;
}

/* An id twice in a file, or one the store already has: refused before
 * anything is written. The same file again imports nothing. */
static void
test_import_duplicate_ids (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *path = generate (f, 6000);
  g_autofree char *text = NULL;
  g_autofree char *err = NULL, *out = NULL;
  g_autofree char *other = g_build_filename (f->dir, "other.jsonl", NULL);
  g_auto(GStrv) lines = NULL;
  g_autoptr(GString) twice = NULL;
  g_autoptr(JsonObject) obj = NULL;

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), >=, 6000);

  /* Line 6001 repeats line 11: past the first batches that would commit. */
  twice = g_string_new (text);
  g_string_append_printf (twice, "%s\n", lines[10]);
  g_assert_true (g_file_set_contents (other, twice->str, -1, NULL));
  g_assert_cmpint (run (f, NULL, NULL, &err, "import", other, NULL), ==, 1);
  g_assert_cmpstr (err, ==, "reunite-cli: line 6001: field 'id': line 11 has the same id\n");
  g_clear_pointer (&err, g_free);
  g_assert_cmpuint (record_count (f), ==, 0);

  /* Lines are checked a thousand at a time on several threads: whatever
   * finishes first, the first bad line in the file is the one named. */
  for (guint k = 0; k < 2; k++)
    {
      static const char * const expected[] = {
        "reunite-cli: line 2600: field 'id': line 11 has the same id\n",
        "reunite-cli: line 2300: the record: not valid JSON (",
      };
      g_autoptr(GString) bad = g_string_new (NULL);

      for (guint i = 0; i < 6000; i++)
        g_string_append_printf (bad, "%s\n", i == 2599 ? lines[10] : i == (k == 0 ? 4499 : 2299) ? "{" : lines[i]);
      g_assert_true (g_file_set_contents (other, bad->str, -1, NULL));
      g_assert_cmpint (run (f, NULL, NULL, &err, "import", other, NULL), ==, 1);
      g_assert_true (g_str_has_prefix (err, expected[k]));
      g_clear_pointer (&err, g_free);
      g_assert_cmpuint (record_count (f), ==, 0);
    }

  /* The file imports; again, it imports nothing. */
  g_assert_cmpint (run (f, NULL, &out, NULL, "import", path, NULL), ==, 0);
  g_assert_cmpuint (record_count (f), ==, 6000);
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run (f, NULL, &out, NULL, "import", path, NULL), ==, 0);
  obj = parse_line (out);
  g_assert_cmpint (json_object_get_int_member (obj, "imported"), ==, 0);
  g_assert_cmpuint (record_count (f), ==, 6000);

  /* Another file holding one of those records: named, and nothing written. */
  g_string_truncate (twice, 0);
  g_string_append_printf (twice, "%s\n%s\n", record_json, lines[4000]);
  g_assert_true (g_file_set_contents (other, twice->str, -1, NULL));
  g_assert_cmpint (run (f, NULL, NULL, &err, "import", other, NULL), ==, 1);
  g_assert_true (g_str_has_prefix (err, "reunite-cli: line 2: field 'id': record "));
  g_assert_true (g_str_has_suffix (err, " is already in the store\n"));
  g_assert_cmpuint (record_count (f), ==, 6000);
}

static void
test_import_killed (Fixture       *f,
                    gconstpointer  data)
{
  const guint n = 8 * RFL_IMPORT_BATCH + 1234;
  g_autofree char *path = generate (f, n);
  g_autoptr(GSubprocess) proc = spawn_import (f, path);
  g_autoptr(GDataInputStream) err = g_data_input_stream_new (g_subprocess_get_stderr_pipe (proc));
  g_autoptr(RflStore) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *integrity = NULL, *out = NULL;
  g_autoptr(JsonObject) summary = NULL;
  guint64 reported = 0;
  guint batches = 0;
  gint64 count;

  /* Kill it after a few batches have been reported committed. */
  while (batches < 3)
    {
      g_autofree char *line = g_data_input_stream_read_line_utf8 (err, NULL, NULL, &error);

      g_assert_no_error (error);
      g_assert_nonnull (line);
      if (sscanf (line, "reunite-cli: import: committed through line %" G_GUINT64_FORMAT, &reported) == 1)
        batches++;
    }
  g_subprocess_send_signal (proc, SIGKILL);
  g_subprocess_wait (proc, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_term_sig (proc), ==, SIGKILL);
  g_test_message ("killed after line %" G_GUINT64_FORMAT " was reported committed", reported);
  g_assert_cmpuint (reported, <, n);

  store = rfl_store_open (f->db, TEST_PASSPHRASE, strlen (TEST_PASSPHRASE), &error);
  g_assert_no_error (error);
  integrity = rfl_store_dup_pragma (store, "integrity_check");
  g_assert_cmpstr (integrity, ==, "ok");
  count = rfl_store_count (store, NULL, NULL, &error);
  g_assert_no_error (error);
  /* Every reported batch is there, and whole batches only. */
  g_assert_cmpint (count, >=, (gint64) reported);
  g_assert_cmpint (count % RFL_IMPORT_BATCH, ==, 0);
  g_clear_object (&store);

  /* Running it again finishes the job without duplicating anything. */
  g_assert_cmpint (run (f, NULL, &out, NULL, "import", path, NULL), ==, 0);
  summary = parse_line (out);
  g_assert_cmpint (json_object_get_int_member (summary, "resumed_after_line"), ==, count);
  g_assert_cmpint (json_object_get_int_member (summary, "imported"), ==, n - count);
  g_assert_cmpuint (record_count (f), ==, n);

  /* And a third run adds nothing. */
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run (f, NULL, &out, NULL, "import", path, NULL), ==, 0);
  g_clear_pointer (&summary, json_object_unref);
  summary = parse_line (out);
  g_assert_cmpint (json_object_get_int_member (summary, "imported"), ==, 0);
  g_assert_cmpuint (record_count (f), ==, n);
}

/* A terminal for the child: a new session whose controlling terminal is the
 * pseudo-terminal's other end, as when a person runs reunite-cli. */
static void
child_on_pty_cb (gpointer user_data)
{
  const char *slave = user_data;
  int fd;

  setsid ();
  fd = open (slave, O_RDWR);
  if (fd >= 0)
    ioctl (fd, TIOCSCTTY, 0);
}

static char *
read_until (int         master,
            const char *needle)
{
  GString *seen = g_string_new (NULL);
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (strstr (seen->str, needle) == NULL && g_get_monotonic_time () < deadline)
    {
      struct pollfd pfd = { master, POLLIN, 0 };
      char buf[256];
      ssize_t n;

      if (poll (&pfd, 1, 200) <= 0)
        continue;
      if ((n = read (master, buf, sizeof buf)) <= 0)
        break;
      g_string_append_len (seen, buf, n);
    }
  return g_string_free (seen, FALSE);
}

/* A person at a terminal: asked twice, with nothing echoed. */
static void
test_prompt (Fixture       *f,
             gconstpointer  data)
{
  const char *typed = "typed at the keyboard\n";
  g_autofree char *db = g_build_filename (f->dir, "prompted.db", NULL);
  g_autofree char *db_arg = g_strdup_printf ("--db=%s", db);
  g_autofree char *first = NULL, *second = NULL, *rest = NULL;
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RflStore) store = NULL;
  char *slave;
  int master;

  master = posix_openpt (O_RDWR | O_NOCTTY);
  g_assert_cmpint (master, >=, 0);
  g_assert_cmpint (grantpt (master), ==, 0);
  g_assert_cmpint (unlockpt (master), ==, 0);
  slave = ptsname (master);
  g_assert_nonnull (slave);

  launcher = launcher_new (f, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_unsetenv (launcher, "REUNITE_PASSPHRASE_FILE");
  g_subprocess_launcher_set_child_setup (launcher, child_on_pty_cb, g_strdup (slave), g_free);
  proc = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("REUNITE_CLI"), db_arg,
                                      "--kdf=interactive", "init", NULL);
  g_assert_no_error (error);

  first = read_until (master, "New passphrase: ");
  g_assert_nonnull (strstr (first, "New passphrase: "));

  /* While it waits with secrets in memory, it cannot dump core. */
  {
    g_autofree char *limits_path = g_strdup_printf ("/proc/%s/limits", g_subprocess_get_identifier (proc));
    g_autofree char *limits = NULL;
    g_auto(GStrv) lines = NULL;
    gboolean found = FALSE;

    g_assert_true (g_file_get_contents (limits_path, &limits, NULL, NULL));
    lines = g_strsplit (limits, "\n", -1);
    for (guint i = 0; lines[i] != NULL; i++)
      if (g_str_has_prefix (lines[i], "Max core file size"))
        {
          g_auto(GStrv) words = g_strsplit_set (lines[i] + strlen ("Max core file size"), " ", -1);
          g_autofree char *joined = g_strjoinv ("", words);
          g_assert_true (g_str_has_prefix (joined, "00"));
          found = TRUE;
        }
    g_assert_true (found);
  }
  g_assert_cmpint (write (master, typed, strlen (typed)), ==, (int) strlen (typed));
  second = read_until (master, "Repeat new passphrase: ");
  g_assert_nonnull (strstr (second, "Repeat"));
  g_assert_cmpint (write (master, typed, strlen (typed)), ==, (int) strlen (typed));
  g_subprocess_wait_check (proc, NULL, &error);
  g_assert_no_error (error);
  rest = read_until (master, "\n");
  close (master);

  /* Echo was off: what was typed never appeared on the terminal. */
  g_assert_null (strstr (first, "keyboard"));
  g_assert_null (strstr (second, "keyboard"));
  g_assert_null (strstr (rest, "keyboard"));

  store = rfl_store_open (db, "typed at the keyboard", 21, &error);
  g_assert_no_error (error);
  g_assert_nonnull (store);
}

static gboolean
process_running (const char *pid)
{
  g_autofree char *stat_path = g_strdup_printf ("/proc/%s/stat", pid);
  g_autofree char *stat = NULL;
  const char *state;

  if (pid == NULL || !g_file_get_contents (stat_path, &stat, NULL, NULL))
    return FALSE;
  state = strrchr (stat, ')');
  return state != NULL && state[1] == ' ' && state[2] != 'Z' && state[2] != 'X';
}

/* Another process reads while an import writes. */
static void
test_concurrent_readers (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *path = generate (f, 60000);
  g_autoptr(GSubprocess) proc = spawn_import (f, path);
  g_autoptr(GDataInputStream) err = g_data_input_stream_new (g_subprocess_get_stderr_pipe (proc));
  g_autoptr(GError) error = NULL;
  guint reads = 0;

  /* Once the import is writing... */
  g_free (g_data_input_stream_read_line_utf8 (err, NULL, NULL, &error));
  g_assert_no_error (error);

  /* ...reads by another process succeed while it goes on. */
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *out = NULL;

      g_assert_cmpint (run (f, NULL, &out, NULL, "search", "Yusuf", "--limit=5", NULL), ==, 0);
      g_assert_cmpuint (count_lines (out), ==, 5);
      g_clear_pointer (&out, g_free);
      g_assert_cmpint (run (f, NULL, &out, NULL, "list", "--type=registration", "--limit=5", NULL), ==, 0);
      g_assert_cmpuint (count_lines (out), ==, 5);
      reads++;
    }
  g_test_message ("%u rounds of reads during the import", reads);
  /* The import was still running during those reads: it has not finished yet. */
  g_assert_true (process_running (g_subprocess_get_identifier (proc)));
  g_subprocess_wait_check (proc, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (record_count (f), ==, 60000);
}

/* An office adds a record type and a field with an override file:
 * reunite-cli takes records of them with no rebuild, and refuses them
 * without the file; a file it cannot use stops it in one line that names
 * the file. */
static void
test_schema_override (Fixture       *f,
                      gconstpointer  data)
{
  static const char migrant[] =
    "{\"type\": \"missing_migrant\", \"migrant\": {\"given_name\": \"Amina\", \"family_name\": \"Yusuf\"},"
    " \"route\": \"Agadez\", \"consent\": {\"tracing\": true, \"share_within_movement\": true}}";
  static const char clan[] =
    "{\"type\": \"registration\", \"subtype\": \"found_person\", \"person\": {\"given_name\": \"Ibrahim\"},"
    " \"clan\": \"Hawiye\", \"consent\": {\"tracing\": true, \"share_within_movement\": true}}";
  static const char bad_route[] =
    "{\"type\": \"missing_migrant\", \"migrant\": {\"given_name\": \"Amina\"}, \"route\": 5,"
    " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}";
  g_autofree char *config = g_build_filename (f->dir, "config", "reunite", NULL);
  g_autofree char *path = g_build_filename (config, "records.json", NULL);
  g_autofree char *fixture = g_test_build_filename (G_TEST_DIST, "schema", "records-override.json", NULL);
  g_autofree char *text = NULL, *out = NULL, *err = NULL, *id = NULL, *shown = NULL, *listed = NULL;
  g_autofree char *prefix = g_strdup_printf ("reunite-cli: %s: ", path);

  g_assert_cmpint (run (f, migrant, NULL, &err, "add", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "'missing_migrant' is not one of"));
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run (f, clan, NULL, &err, "add", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "'clan': is not a field of registration"));
  g_clear_pointer (&err, g_free);

  g_assert_true (g_file_get_contents (fixture, &text, NULL, NULL));
  g_assert_cmpint (g_mkdir_with_parents (config, 0700), ==, 0);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  id = add_record (f, migrant);
  g_free (add_record (f, clan));
  g_assert_cmpint (run (f, NULL, &shown, NULL, "show", id, NULL), ==, 0);
  g_assert_nonnull (strstr (shown, "\"route\":\"Agadez\""));
  g_assert_cmpint (run (f, NULL, &listed, NULL, "list", "--type=missing_migrant", NULL), ==, 0);
  g_assert_cmpuint (count_lines (listed), ==, 1);
  /* The rules the file gives the field hold. */
  g_assert_cmpint (run (f, bad_route, NULL, &err, "add", NULL), ==, 1);
  g_assert_nonnull (strstr (err, "'route': must be a string"));
  g_clear_pointer (&err, g_free);

  g_assert_true (g_file_set_contents (path, "{\"format\": \"reunite-schema-override\", \"records\":"
                                      " {\"registration\": {\"fields\": {\"person\": {\"required\": false}}}}}",
                                      -1, NULL));
  g_assert_cmpint (run (f, NULL, &out, &err, "list", NULL), !=, 0);
  g_assert_cmpstr (out, ==, "");
  g_assert_true (g_str_has_prefix (err, prefix));
  g_assert_nonnull (strstr (err, "cannot change its rules"));
  g_assert_cmpuint (count_lines (err), ==, 1);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  if (g_getenv ("REUNITE_CLI") == NULL || g_getenv ("REUNITE_HQ") == NULL || g_getenv ("RFL_GEN") == NULL)
    {
      g_test_skip ("REUNITE_CLI, REUNITE_HQ and RFL_GEN must point at the built programs");
      return g_test_run ();
    }

#define ADD(path, func) \
  g_test_add ("/rfl/cli/" path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("roundtrip", test_roundtrip);
  ADD ("no-plaintext", test_no_plaintext);
  ADD ("wrong-passphrase", test_wrong_passphrase);
  ADD ("passwd", test_passwd);
  ADD ("hq-passwd", test_hq_passwd);
  ADD ("invalid-input", test_invalid_input);
  ADD ("audit-tamper", test_audit_tamper);
  ADD ("special-files", test_special_files);
  ADD ("import-duplicate-ids", test_import_duplicate_ids);
  ADD ("purge", test_purge);
  ADD ("matches-and-decide", test_matches_and_decide);
  ADD ("import-killed", test_import_killed);
  ADD ("concurrent-readers", test_concurrent_readers);
  ADD ("passphrase-prompt", test_prompt);
  ADD ("schema-override", test_schema_override);
#undef ADD

  return g_test_run ();
}
