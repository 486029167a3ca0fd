/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-cli"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <termios.h>
#include <unistd.h>

#include "rfl-cli.h"
#include "rfl-file.h"
#include "rfl-importer.h"
#include "rfl-json.h"
#include "rfl-secret.h"
#include "rfl-store-sync.h"
#include "rfl-sync.h"
#include "rfl-sync-client.h"
#include "rfl-store.h"

#define MAX_RECORD_BYTES     (1 << 20)
#define MAX_TOKEN_BYTES      (64 * 1024)
#define DEFAULT_LIMIT        50

typedef struct
{
  char     *db;
  char     *passphrase_file;
  char     *new_passphrase_file;
  char     *type;
  char     *status;
  char     *kdf;
  int       limit;
  int       offset;
  gboolean  verify;
  gboolean  expired;
  gboolean  verbose;
  char     *hq;
  char     *office;
  int       timeout;
  RflStore *store;
} Cli;

static void
print_rows (GPtrArray *rows)
{
  for (guint i = 0; i < rows->len; i++)
    rfl_cli_print_object (g_ptr_array_index (rows, i));
}

/* Passphrases. */

static RflSecret *
get_passphrase (Cli         *cli,
                const char  *file,
                const char  *prompt,
                GError     **error)
{
  return file != NULL ? rfl_secret_read_file (file, error) : rfl_secret_prompt (prompt, error);
}

static RflSecret *
get_new_passphrase (Cli     *cli,
                    GError **error)
{
  g_autoptr(RflSecret) first = NULL;
  g_autoptr(RflSecret) again = NULL;

  if (cli->new_passphrase_file != NULL)
    return get_passphrase (cli, cli->new_passphrase_file, NULL, error);
  if ((first = get_passphrase (cli, NULL, "New passphrase: ", error)) == NULL ||
      (again = get_passphrase (cli, NULL, "Repeat new passphrase: ", error)) == NULL)
    return NULL;
  if (first->len != again->len || sodium_memcmp (first->data, again->data, first->len) != 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the passphrases differ");
      return NULL;
    }
  return g_steal_pointer (&first);
}

static char *
default_db_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "reunite", "reunite.db", NULL);
}

static RflKdfLevel
kdf_level (Cli *cli)
{
  if (g_strcmp0 (cli->kdf, "interactive") == 0)
    return RFL_KDF_INTERACTIVE;
  if (g_strcmp0 (cli->kdf, "sensitive") == 0)
    return RFL_KDF_SENSITIVE;
  return RFL_KDF_MODERATE;
}

static char *
actor_name (RflStore *store)
{
  return g_strdup_printf ("%s@%.8s", g_get_user_name (), rfl_store_get_device_id (store));
}

static int
open_store (Cli *cli)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflSecret) secret = NULL;
  g_autofree char *actor = NULL;

  if ((secret = get_passphrase (cli, cli->passphrase_file, "Passphrase: ", &error)) == NULL)
    return rfl_cli_fail_error (error);
  cli->store = rfl_store_open (cli->db, secret->data, secret->len, &error);
  if (cli->store == NULL)
    return rfl_cli_fail_error (error);
  actor = actor_name (cli->store);
  rfl_store_set_actor (cli->store, actor);
  return 0;
}

static JsonObject *
read_object (GInputStream  *in,
             const char    *what,
             GError       **error)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  guint8 chunk[8192];
  gssize n;

  while ((n = g_input_stream_read (in, chunk, sizeof chunk, NULL, error)) > 0)
    {
      if (buf->len + n > MAX_RECORD_BYTES)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                       "%s is larger than %d bytes", what, MAX_RECORD_BYTES);
          return NULL;
        }
      g_byte_array_append (buf, chunk, n);
    }
  if (n < 0)
    return NULL;
  return rfl_json_parse_object ((const char *) buf->data, buf->len, what, error);
}

/* Commands. */

static int
cmd_init (Cli   *cli,
          char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflSecret) secret = NULL;
  g_autoptr(RflStore) store = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  g_autofree char *dir = g_path_get_dirname (cli->db);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    return rfl_cli_fail ("cannot create %s: %s", dir, g_strerror (errno));
  if (cli->passphrase_file != NULL)
    secret = get_passphrase (cli, cli->passphrase_file, NULL, &error);
  else
    secret = get_new_passphrase (cli, &error);
  if (secret == NULL)
    return rfl_cli_fail_error (error);

  store = rfl_store_create (cli->db, secret->data, secret->len, kdf_level (cli), &error);
  if (store == NULL)
    return rfl_cli_fail_error (error);
  json_object_set_string_member (out, "device_id", rfl_store_get_device_id (store));
  json_object_set_string_member (out, "db", cli->db);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_add (Cli   *cli,
         char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) in = g_unix_input_stream_new (STDIN_FILENO, FALSE);
  g_autoptr(JsonObject) record = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  g_autofree char *id = NULL;
  int rc;

  if ((record = read_object (in, "the record", &error)) == NULL)
    return rfl_cli_fail_error (error);
  if ((rc = open_store (cli)) != 0)
    return rc;
  if ((id = rfl_store_add (cli->store, record, &error)) == NULL)
    return rfl_cli_fail_error (error);
  json_object_set_string_member (out, "id", id);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_show (Cli   *cli,
          char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) record = NULL;
  int rc;

  if (args[0] == NULL || args[1] != NULL)
    return rfl_cli_fail ("usage: show ID");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if ((record = rfl_store_get (cli->store, args[0], &error)) == NULL)
    return rfl_cli_fail_error (error);
  rfl_cli_print_object (record);
  return 0;
}

static int
cmd_update (Cli   *cli,
            char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) in = g_unix_input_stream_new (STDIN_FILENO, FALSE);
  g_autoptr(JsonObject) patch = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  int rc;

  if (args[0] == NULL || args[1] != NULL)
    return rfl_cli_fail ("usage: update ID < patch.json");
  if ((patch = read_object (in, "the patch", &error)) == NULL)
    return rfl_cli_fail_error (error);
  if ((rc = open_store (cli)) != 0)
    return rc;
  if (!rfl_store_update (cli->store, args[0], patch, &error))
    return rfl_cli_fail_error (error);
  json_object_set_string_member (out, "id", args[0]);
  json_object_set_boolean_member (out, "updated", TRUE);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_delete (Cli   *cli,
            char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  int rc;

  if (args[0] == NULL || args[1] != NULL)
    return rfl_cli_fail ("usage: delete ID");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if (!rfl_store_delete (cli->store, args[0], &error))
    return rfl_cli_fail_error (error);
  json_object_set_string_member (out, "id", args[0]);
  json_object_set_boolean_member (out, "deleted", TRUE);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_list (Cli   *cli,
          char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  int rc;

  if (args[0] != NULL)
    return rfl_cli_fail ("usage: list [--type T] [--status S] [--limit N] [--offset N]");
  if ((rc = open_store (cli)) != 0)
    return rc;
  rows = rfl_store_list (cli->store, cli->type, cli->status, MAX (cli->offset, 0),
                         cli->limit > 0 ? cli->limit : DEFAULT_LIMIT, &error);
  if (rows == NULL)
    return rfl_cli_fail_error (error);
  print_rows (rows);
  return 0;
}

static int
cmd_search (Cli   *cli,
            char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autofree char *query = NULL;
  int rc;

  if (args[0] == NULL)
    return rfl_cli_fail ("usage: search QUERY [--limit N]");
  query = g_strjoinv (" ", args);
  if ((rc = open_store (cli)) != 0)
    return rc;
  rows = rfl_store_search (cli->store, query, cli->limit > 0 ? cli->limit : DEFAULT_LIMIT, &error);
  if (rows == NULL)
    return rfl_cli_fail_error (error);
  print_rows (rows);
  return 0;
}

static gboolean
export_one (JsonObject *record,
            gpointer    user_data)
{
  rfl_cli_print_object (record);
  return !ferror (stdout);
}

static int
cmd_export (Cli   *cli,
            char **args)
{
  g_autoptr(GError) error = NULL;
  int rc;

  if (args[0] != NULL)
    return rfl_cli_fail ("usage: export > FILE.jsonl");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if (!rfl_store_export (cli->store, export_one, NULL, &error))
    return rfl_cli_fail_error (error);
  if (fflush (stdout) != 0 || ferror (stdout))
    return rfl_cli_fail ("writing the export failed: %s", g_strerror (errno));
  return 0;
}

static int
cmd_passwd (Cli   *cli,
            char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflSecret) old = NULL;
  g_autoptr(RflSecret) fresh = NULL;
  g_autoptr(JsonObject) out = json_object_new ();

  if ((old = get_passphrase (cli, cli->passphrase_file, "Current passphrase: ", &error)) == NULL)
    return rfl_cli_fail_error (error);
  if ((cli->store = rfl_store_open (cli->db, old->data, old->len, &error)) == NULL)
    return rfl_cli_fail_error (error);
  if ((fresh = get_new_passphrase (cli, &error)) == NULL)
    return rfl_cli_fail_error (error);
  if (!rfl_store_change_passphrase (cli->store, old->data, old->len, fresh->data, fresh->len,
                                    kdf_level (cli), &error))
    return rfl_cli_fail_error (error);
  json_object_set_boolean_member (out, "passphrase_changed", TRUE);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_audit (Cli   *cli,
           char **args)
{
  g_autoptr(GError) error = NULL;
  int rc;

  if ((rc = open_store (cli)) != 0)
    return rc;
  if (cli->verify)
    {
      g_autoptr(JsonObject) out = json_object_new ();
      gint64 broken = 0, n = 0;

      if (!rfl_store_audit_verify (cli->store, &broken, &n, &error))
        return rfl_cli_fail_error (error);
      if (broken != 0)
        return rfl_cli_fail ("the audit log is broken at entry %" G_GINT64_FORMAT
                     ": it was changed outside Reunite", broken);
      json_object_set_boolean_member (out, "intact", TRUE);
      json_object_set_int_member (out, "entries", n);
      rfl_cli_print_object (out);
    }
  else
    {
      g_autoptr(GPtrArray) rows = rfl_store_audit_list (cli->store, &error);
      if (rows == NULL)
        return rfl_cli_fail_error (error);
      print_rows (rows);
    }
  return 0;
}

static int
cmd_purge (Cli   *cli,
           char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  gint64 n;
  int rc;

  if (!cli->expired)
    return rfl_cli_fail ("usage: purge --expired");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if ((n = rfl_store_purge_expired (cli->store, &error)) < 0)
    return rfl_cli_fail_error (error);
  json_object_set_int_member (out, "purged", n);
  rfl_cli_print_object (out);
  return 0;
}

/* Import. */

static void
import_progress_cb (RflImportPhase phase,
                    guint64        done,
                    guint64        total,
                    gpointer       user_data)
{
  Cli *cli = user_data;
  static gint64 last;
  static int finished_phase = -1;
  gint64 now = g_get_monotonic_time ();
  char bar[31];
  guint filled;

  if (phase == RFL_IMPORT_WRITING && cli->verbose)
    g_printerr ("reunite-cli: import: committed through line %" G_GUINT64_FORMAT "\n", done);
  if (!isatty (STDERR_FILENO) || total == 0 || (now - last < 100000 && done < total) ||
      finished_phase == (int) phase)
    return;
  last = now;
  if (done >= total)
    finished_phase = phase;
  filled = (guint) (MIN (done, total) * 30 / total);
  memset (bar, '#', filled);
  memset (bar + filled, '-', 30 - filled);
  bar[30] = '\0';
  g_printerr ("\r%-10s [%s] %3u%%  %" G_GUINT64_FORMAT " / %" G_GUINT64_FORMAT " %s",
              phase == RFL_IMPORT_CHECKING ? "Checking" : "Importing", bar,
              (guint) (MIN (done, total) * 100 / total), done, total,
              phase == RFL_IMPORT_CHECKING ? "bytes" : "lines");
  if (done >= total)
    g_printerr ("\n");
}

static int
cmd_import (Cli   *cli,
            char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  g_autoptr(RflImporter) importer = NULL;
  int rc;

  if (args[0] == NULL || args[1] != NULL)
    return rfl_cli_fail ("usage: import FILE.jsonl");
  importer = rfl_importer_new (args[0]);
  rfl_importer_set_progress (importer, import_progress_cb, cli);
  /* Every line is checked before the passphrase is even asked for. */
  if (!rfl_importer_check (importer, &error))
    return rfl_cli_fail_error (error);
  if ((rc = open_store (cli)) != 0)
    return rc;
  if (!rfl_importer_run (importer, cli->store, &error))
    return rfl_cli_fail_error (error);

  json_object_set_int_member (out, "imported", rfl_importer_get_imported (importer));
  json_object_set_int_member (out, "lines", rfl_importer_get_lines (importer));
  json_object_set_int_member (out, "resumed_after_line", rfl_importer_get_resumed (importer));
  rfl_cli_print_object (out);
  return 0;
}

/* Sync. */

static int
cmd_enroll (Cli   *cli,
            char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflEnrollToken) token = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  g_autoptr(GBytes) bytes = NULL;
  RflSyncOptions options = { .url = cli->hq, .deadline_s = (guint) cli->timeout };
  int rc;

  if (args[0] == NULL || args[1] != NULL)
    return rfl_cli_fail ("usage: enroll TOKEN_FILE [--hq URL]");
  if ((bytes = rfl_file_read (args[0], MAX_TOKEN_BYTES, RFL_FILE_OR_PIPE, &error)) == NULL)
    return rfl_cli_fail_error (error);
  if ((token = rfl_enroll_token_load (bytes, &error)) == NULL)
    return rfl_cli_fail_error (error);
  if ((rc = open_store (cli)) != 0)
    return rc;
  if (!rfl_sync_client_enroll (cli->store, token, &options, &error))
    return rfl_cli_fail_error (error);
  json_object_set_string_member (out, "enrolled", rfl_store_get_device_id (cli->store));
  json_object_set_string_member (out, "office", token->office);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_sync (Cli   *cli,
          char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = NULL;
  RflSyncReport report = { 0 };
  RflSyncOptions options = { .url = cli->hq, .deadline_s = (guint) cli->timeout };
  int rc;

  if (args[0] != NULL)
    return rfl_cli_fail ("usage: sync [--hq URL]");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if (!rfl_sync_client_run (cli->store, &options, &report, NULL, &error))
    return rfl_cli_fail_error (error);
  out = rfl_sync_report_to_json (&report);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_bundle_out (Cli   *cli,
                char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  guint written = 0;
  int rc;

  if (args[0] == NULL || args[1] != NULL)
    return rfl_cli_fail ("usage: bundle-out DIR");
  if (!g_file_test (args[0], G_FILE_TEST_IS_DIR))
    return rfl_cli_fail ("%s is not a directory", args[0]);
  if ((rc = open_store (cli)) != 0)
    return rc;
  if (!rfl_sync_device_write_usb (cli->store, args[0], &written, &error))
    return rfl_cli_fail_error (error);
  json_object_set_int_member (out, "written", written);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_bundle_in (Cli   *cli,
               char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rejections = NULL;
  g_autoptr(JsonObject) out = NULL;
  RflSyncReport report = { 0 };
  int rc;

  if (args[0] == NULL || args[1] != NULL)
    return rfl_cli_fail ("usage: bundle-in DIR");
  if (!g_file_test (args[0], G_FILE_TEST_IS_DIR))
    return rfl_cli_fail ("%s is not a directory", args[0]);
  if ((rc = open_store (cli)) != 0)
    return rc;
  if (!rfl_sync_device_read_usb (cli->store, args[0], &report, &rejections, &error))
    return rfl_cli_fail_error (error);
  for (guint i = 0; i < rejections->len; i++)
    g_printerr ("reunite-cli: %s\n", (char *) g_ptr_array_index (rejections, i));
  out = rfl_sync_report_to_json (&report);
  json_object_set_int_member (out, "rejected_bundles", rejections->len);
  rfl_cli_print_object (out);
  return rejections->len > 0 ? 1 : 0;
}

static int
cmd_status (Cli   *cli,
            char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = NULL;
  int rc;

  if (args[0] != NULL)
    return rfl_cli_fail ("usage: status");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if ((out = rfl_sync_device_status (cli->store, FALSE, &error)) == NULL)
    return rfl_cli_fail_error (error);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_share (Cli   *cli,
           char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  int rc;

  if (args[0] == NULL || args[1] != NULL || cli->office == NULL)
    return rfl_cli_fail ("usage: share ID --office NAME");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if (!rfl_store_share (cli->store, args[0], cli->office, &error))
    return rfl_cli_fail_error (error);
  json_object_set_string_member (out, "shared", args[0]);
  json_object_set_string_member (out, "office", cli->office);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_conflicts (Cli   *cli,
               char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = NULL;
  int rc;

  if (args[0] != NULL)
    return rfl_cli_fail ("usage: conflicts");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if ((list = rfl_store_list_conflicts (cli->store, FALSE, &error)) == NULL)
    return rfl_cli_fail_error (error);
  print_rows (list);
  return 0;
}

static int
cmd_resolve (Cli   *cli,
             char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  int rc;

  if (args[0] == NULL || args[1] == NULL || args[2] != NULL ||
      (!g_str_equal (args[1], "keep") && !g_str_equal (args[1], "take")))
    return rfl_cli_fail ("usage: resolve CONFLICT_ID keep|take");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if (!rfl_store_resolve_conflict (cli->store, args[0], g_str_equal (args[1], "take"), &error))
    return rfl_cli_fail_error (error);
  json_object_set_string_member (out, "resolved", args[0]);
  json_object_set_string_member (out, "choice", args[1]);
  rfl_cli_print_object (out);
  return 0;
}

static const struct
{
  const char *name;
  int       (*run) (Cli *cli, char **args);
  const char *help;
} commands[] = {
  { "init",   cmd_init,   "create the encrypted database and this device's keys" },
  { "add",    cmd_add,    "add the record read from standard input; print its id" },
  { "show",   cmd_show,   "show one record" },
  { "update", cmd_update, "apply the JSON merge patch read from standard input" },
  { "delete", cmd_delete, "delete a record" },
  { "list",   cmd_list,   "list records, newest first" },
  { "search", cmd_search, "search names in any script and spelling" },
  { "import", cmd_import, "load records from a JSON-lines file" },
  { "export", cmd_export, "write every record as JSON lines" },
  { "passwd", cmd_passwd, "change the passphrase" },
  { "audit",  cmd_audit,  "show the audit log, or check it with --verify" },
  { "purge",  cmd_purge,  "remove records whose retention date has passed (--expired)" },
  { "enroll", cmd_enroll, "register this device with HQ using a token file" },
  { "sync",   cmd_sync,   "exchange changes with HQ (--hq URL)" },
  { "bundle-out", cmd_bundle_out, "write the changes HQ has not confirmed to DIR (USB)" },
  { "bundle-in",  cmd_bundle_in,  "apply the bundles HQ wrote for this device in DIR (USB)" },
  { "status", cmd_status, "enrollment, pending changes, last sync, open conflicts" },
  { "share",  cmd_share,  "share a case with another office (--office NAME)" },
  { "conflicts", cmd_conflicts, "list concurrent changes waiting for a decision" },
  { "resolve", cmd_resolve, "settle a conflict: keep the current value or take the other" },
};

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) summary = g_string_new ("Commands:\n");
  g_auto(GStrv) args = NULL;
  Cli cli = { 0 };
  int rc = 2;
  const GOptionEntry entries[] = {
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &cli.db, "The case database", "PATH" },
    { "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &cli.passphrase_file,
      "Read the passphrase from FILE (default: $REUNITE_PASSPHRASE_FILE, else ask)", "FILE" },
    { "new-passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &cli.new_passphrase_file,
      "passwd: read the new passphrase from FILE", "FILE" },
    { "kdf", 0, 0, G_OPTION_ARG_STRING, &cli.kdf,
      "init, passwd: Argon2id limits: interactive, moderate (default) or sensitive", "LEVEL" },
    { "type", 0, 0, G_OPTION_ARG_STRING, &cli.type, "list: only this record type", "T" },
    { "status", 0, 0, G_OPTION_ARG_STRING, &cli.status, "list: only this status", "S" },
    { "limit", 0, 0, G_OPTION_ARG_INT, &cli.limit, "list, search: at most N results", "N" },
    { "offset", 0, 0, G_OPTION_ARG_INT, &cli.offset, "list: skip N records", "N" },
    { "verify", 0, 0, G_OPTION_ARG_NONE, &cli.verify, "audit: check the hash chain", NULL },
    { "expired", 0, 0, G_OPTION_ARG_NONE, &cli.expired, "purge: records past retention", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &cli.verbose, "import: report each committed batch",
      NULL },
    { "hq", 0, 0, G_OPTION_ARG_STRING, &cli.hq, "enroll, sync: HQ's address, if not the enrolled one", "URL" },
    { "office", 0, 0, G_OPTION_ARG_STRING, &cli.office, "share: the office to share with", "NAME" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &cli.timeout, "enroll, sync: give up after S seconds (300)", "S" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &args, NULL, "COMMAND [ARGS…]" },
    { NULL }
  };

  rfl_process_harden ();

  rfl_sync_client_prepare ();
  g_set_prgname ("reunite-cli");
  setlocale (LC_ALL, "");
  /* This tool speaks English; the libraries' translated messages are for the
   * app, so keep them English here too, whatever the installed catalogues. */
  setlocale (LC_MESSAGES, "C");
  /* In a bare shell (LC_ALL=C) the locale's charset is ASCII, and GOption
   * refused an Arabic name as an argument. Arguments are UTF-8 here. */
  if (!g_get_charset (NULL))
    setlocale (LC_CTYPE, "C.UTF-8");
  if (sodium_init () < 0)
    return rfl_cli_fail ("libsodium could not be initialised");

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    g_string_append_printf (summary, "  %-10s %s\n", commands[i].name, commands[i].help);
  context = g_option_context_new (NULL);
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context, "Reunite case store, headless.");
  g_option_context_set_description (context, summary->str);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      rfl_cli_fail_error (error);
      goto out;
    }
  if (args == NULL || args[0] == NULL)
    {
      rfl_cli_fail ("no command given; see --help");
      goto out;
    }
  if (cli.kdf != NULL && !g_strv_contains ((const char * const[]) { "interactive", "moderate",
                                                                     "sensitive", NULL }, cli.kdf))
    {
      rfl_cli_fail ("--kdf must be interactive, moderate or sensitive");
      goto out;
    }
  if (cli.db == NULL)
    cli.db = default_db_path ();
  if (cli.passphrase_file == NULL && g_getenv ("REUNITE_PASSPHRASE_FILE") != NULL)
    cli.passphrase_file = g_strdup (g_getenv ("REUNITE_PASSPHRASE_FILE"));

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (args[0], commands[i].name))
      {
        rc = commands[i].run (&cli, args + 1);
        goto out;
      }
  rfl_cli_fail ("unknown command '%s'; see --help", args[0]);

out:
  if (fflush (stdout) != 0 && rc == 0)
    rc = rfl_cli_fail ("cannot write the output: %s", g_strerror (errno));
  g_clear_object (&cli.store);
  g_free (cli.db);
  g_free (cli.passphrase_file);
  g_free (cli.new_passphrase_file);
  g_free (cli.type);
  g_free (cli.status);
  g_free (cli.kdf);
  g_free (cli.hq);
  g_free (cli.office);
  return rc;
}
