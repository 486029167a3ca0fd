/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * reunite-cli: a device's case store without the desktop, for office
 * admins, scripts and the tests: records in and out as JSON, imports,
 * audits, and sync with HQ by network or USB stick. How it starts, asks for
 * passphrases and reports is shared with reunite-hq (cli/rfl-cli.c).
 */
#define G_LOG_DOMAIN "reunite-cli"

#include <errno.h>
#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "rfl-cli.h"
#include "rfl-file.h"
#include "rfl-importer.h"
#include "rfl-json.h"
#include "rfl-store-sync.h"
#include "rfl-sync.h"
#include "rfl-sync-client.h"
#include "rfl-store.h"

#define MAX_RECORD_BYTES     (1 << 20)
#define MAX_TOKEN_BYTES      (64 * 1024)
#define DEFAULT_LIMIT        50

typedef struct
{
  RflCliStore  db;
  char        *type;
  char        *status;
  int          limit;
  int          offset;
  gboolean     verify;
  gboolean     expired;
  gboolean     verbose;
  char        *hq;
  char        *office;
  int          timeout;
  char        *case_id;
  double       min_score;
  gboolean     rebuild;
  char        *reason;
  char        *into;
} Cli;

/* What rfl-match.c calls worth a volunteer's look. */
#define DEFAULT_MIN_SCORE 3.0

static char *
actor_name (RflStore *store)
{
  return g_strdup_printf ("%s@%.8s", g_get_user_name (), rfl_store_get_device_id (store));
}

static int
open_store (Cli *cli)
{
  g_autofree char *actor = NULL;
  int rc;

  if ((rc = rfl_cli_open (&cli->db, "Passphrase: ")) != 0)
    return rc;
  actor = actor_name (cli->db.store);
  rfl_store_set_actor (cli->db.store, actor);
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
cmd_init (gpointer   data,
          char     **args)
{
  Cli *cli = data;

  return rfl_cli_create (&cli->db, cli->db.new_passphrase_file, "device_id",
                         "New passphrase: ", "Repeat new passphrase: ");
}

static int
cmd_add (gpointer   data,
         char     **args)
{
  Cli *cli = data;
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
  if ((id = rfl_store_add (cli->db.store, record, &error)) == NULL)
    return rfl_cli_fail_error (error);
  json_object_set_string_member (out, "id", id);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_show (gpointer   data,
          char     **args)
{
  Cli *cli = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) record = NULL;
  int rc;

  if (args[0] == NULL || args[1] != NULL)
    return rfl_cli_fail ("usage: show ID");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if ((record = rfl_store_get (cli->db.store, args[0], &error)) == NULL)
    return rfl_cli_fail_error (error);
  rfl_cli_print_object (record);
  return 0;
}

static int
cmd_update (gpointer   data,
            char     **args)
{
  Cli *cli = data;
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
  if (!rfl_store_update (cli->db.store, args[0], patch, &error))
    return rfl_cli_fail_error (error);
  json_object_set_string_member (out, "id", args[0]);
  json_object_set_boolean_member (out, "updated", TRUE);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_delete (gpointer   data,
            char     **args)
{
  Cli *cli = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  int rc;

  if (args[0] == NULL || args[1] != NULL)
    return rfl_cli_fail ("usage: delete ID");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if (!rfl_store_delete (cli->db.store, args[0], &error))
    return rfl_cli_fail_error (error);
  json_object_set_string_member (out, "id", args[0]);
  json_object_set_boolean_member (out, "deleted", TRUE);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_list (gpointer   data,
          char     **args)
{
  Cli *cli = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  int rc;

  if (args[0] != NULL)
    return rfl_cli_fail ("usage: list [--type T] [--status S] [--limit N] [--offset N]");
  if ((rc = open_store (cli)) != 0)
    return rc;
  rows = rfl_store_list (cli->db.store, cli->type, cli->status, MAX (cli->offset, 0),
                         cli->limit > 0 ? cli->limit : DEFAULT_LIMIT, &error);
  if (rows == NULL)
    return rfl_cli_fail_error (error);
  rfl_cli_print_rows (rows);
  return 0;
}

static int
cmd_search (gpointer   data,
            char     **args)
{
  Cli *cli = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autofree char *query = NULL;
  int rc;

  if (args[0] == NULL)
    return rfl_cli_fail ("usage: search QUERY [--limit N]");
  query = g_strjoinv (" ", args);
  if ((rc = open_store (cli)) != 0)
    return rc;
  rows = rfl_store_search (cli->db.store, query, cli->limit > 0 ? cli->limit : DEFAULT_LIMIT, &error);
  if (rows == NULL)
    return rfl_cli_fail_error (error);
  rfl_cli_print_rows (rows);
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
cmd_export (gpointer   data,
            char     **args)
{
  Cli *cli = data;
  g_autoptr(GError) error = NULL;
  int rc;

  if (args[0] != NULL)
    return rfl_cli_fail ("usage: export > FILE.jsonl");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if (!rfl_store_export (cli->db.store, export_one, NULL, &error))
    return rfl_cli_fail_error (error);
  if (fflush (stdout) != 0 || ferror (stdout))
    return rfl_cli_fail ("writing the export failed: %s", g_strerror (errno));
  return 0;
}

static int
cmd_passwd (gpointer   data,
            char     **args)
{
  Cli *cli = data;

  return rfl_cli_passwd (&cli->db, "Current passphrase: ", rfl_cli_kdf_level (cli->db.kdf));
}

static int
cmd_audit (gpointer   data,
           char     **args)
{
  Cli *cli = data;
  g_autoptr(GError) error = NULL;
  int rc;

  if ((rc = open_store (cli)) != 0)
    return rc;
  if (cli->verify)
    {
      g_autoptr(JsonObject) out = json_object_new ();
      gint64 broken = 0, n = 0;

      if (!rfl_store_audit_verify (cli->db.store, &broken, &n, &error))
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
      g_autoptr(GPtrArray) rows = rfl_store_audit_list (cli->db.store, &error);
      if (rows == NULL)
        return rfl_cli_fail_error (error);
      rfl_cli_print_rows (rows);
    }
  return 0;
}

static int
cmd_purge (gpointer   data,
           char     **args)
{
  Cli *cli = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  gint64 n;
  int rc;

  if (!cli->expired)
    return rfl_cli_fail ("usage: purge --expired");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if ((n = rfl_store_purge_expired (cli->db.store, &error)) < 0)
    return rfl_cli_fail_error (error);
  json_object_set_int_member (out, "purged", n);
  rfl_cli_print_object (out);
  return 0;
}

/* Import. */

/* A progress bar on the terminal, ended by a new line at the end. */
static void
print_bar (const char *what,
           guint64     done,
           guint64     total,
           const char *unit)
{
  char bar[31];
  guint filled = (guint) (MIN (done, total) * 30 / total);

  memset (bar, '#', filled);
  memset (bar + filled, '-', 30 - filled);
  bar[30] = '\0';
  g_printerr ("\r%-10s [%s] %3u%%  %" G_GUINT64_FORMAT " / %" G_GUINT64_FORMAT " %s", what, bar,
              (guint) (MIN (done, total) * 100 / total), done, total, unit);
  if (done >= total)
    g_printerr ("\n");
}

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

  if (phase == RFL_IMPORT_WRITING && cli->verbose)
    g_printerr ("reunite-cli: import: committed through line %" G_GUINT64_FORMAT "\n", done);
  if (!isatty (STDERR_FILENO) || total == 0 || (now - last < 100000 && done < total) ||
      finished_phase == (int) phase)
    return;
  last = now;
  if (done >= total)
    finished_phase = phase;
  print_bar (phase == RFL_IMPORT_CHECKING ? "Checking" : "Importing", done, total,
             phase == RFL_IMPORT_CHECKING ? "bytes" : "lines");
}

static int
cmd_import (gpointer   data,
            char     **args)
{
  Cli *cli = data;
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
  if (!rfl_importer_run (importer, cli->db.store, &error))
    return rfl_cli_fail_error (error);

  json_object_set_int_member (out, "imported", rfl_importer_get_imported (importer));
  json_object_set_int_member (out, "lines", rfl_importer_get_lines (importer));
  json_object_set_int_member (out, "resumed_after_line", rfl_importer_get_resumed (importer));
  rfl_cli_print_object (out);
  return 0;
}

/* Sync. */

static int
cmd_enroll (gpointer   data,
            char     **args)
{
  Cli *cli = data;
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
  if (!rfl_sync_client_enroll (cli->db.store, token, &options, &error))
    return rfl_cli_fail_error (error);
  json_object_set_string_member (out, "enrolled", rfl_store_get_device_id (cli->db.store));
  json_object_set_string_member (out, "office", token->office);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_sync (gpointer   data,
          char     **args)
{
  Cli *cli = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = NULL;
  RflSyncReport report = { 0 };
  RflSyncOptions options = { .url = cli->hq, .deadline_s = (guint) cli->timeout };
  int rc;

  if (args[0] != NULL)
    return rfl_cli_fail ("usage: sync [--hq URL]");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if (!rfl_sync_client_run (cli->db.store, &options, &report, NULL, &error))
    return rfl_cli_fail_error (error);
  out = rfl_sync_report_to_json (&report);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_bundle_out (gpointer   data,
                char     **args)
{
  Cli *cli = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  guint written = 0;
  int rc;

  if ((rc = rfl_cli_bundle_dir (args, "usage: bundle-out DIR")) != 0 ||
      (rc = open_store (cli)) != 0)
    return rc;
  if (!rfl_sync_device_write_usb (cli->db.store, args[0], &written, &error))
    return rfl_cli_fail_error (error);
  json_object_set_int_member (out, "written", written);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_bundle_in (gpointer   data,
               char     **args)
{
  Cli *cli = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rejections = NULL;
  RflSyncReport report = { 0 };
  int rc;

  if ((rc = rfl_cli_bundle_dir (args, "usage: bundle-in DIR")) != 0 ||
      (rc = open_store (cli)) != 0)
    return rc;
  if (!rfl_sync_device_read_usb (cli->db.store, args[0], &report, &rejections, &error))
    return rfl_cli_fail_error (error);
  return rfl_cli_bundles_read (&report, rejections);
}

static int
cmd_status (gpointer   data,
            char     **args)
{
  Cli *cli = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = NULL;
  int rc;

  if (args[0] != NULL)
    return rfl_cli_fail ("usage: status");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if ((out = rfl_sync_device_status (cli->db.store, FALSE, &error)) == NULL)
    return rfl_cli_fail_error (error);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_share (gpointer   data,
           char     **args)
{
  Cli *cli = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  int rc;

  if (args[0] == NULL || args[1] != NULL || cli->office == NULL)
    return rfl_cli_fail ("usage: share ID --office NAME");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if (!rfl_store_share (cli->db.store, args[0], cli->office, &error))
    return rfl_cli_fail_error (error);
  json_object_set_string_member (out, "shared", args[0]);
  json_object_set_string_member (out, "office", cli->office);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_conflicts (gpointer   data,
               char     **args)
{
  Cli *cli = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = NULL;
  int rc;

  if (args[0] != NULL)
    return rfl_cli_fail ("usage: conflicts");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if ((list = rfl_store_list_conflicts (cli->db.store, FALSE, &error)) == NULL)
    return rfl_cli_fail_error (error);
  rfl_cli_print_rows (list);
  return 0;
}

static int
cmd_resolve (gpointer   data,
             char     **args)
{
  Cli *cli = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  int rc;

  if (args[0] == NULL || args[1] == NULL || args[2] != NULL ||
      (!g_str_equal (args[1], "keep") && !g_str_equal (args[1], "take")))
    return rfl_cli_fail ("usage: resolve CONFLICT_ID keep|take");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if (!rfl_store_resolve_conflict (cli->db.store, args[0], g_str_equal (args[1], "take"), &error))
    return rfl_cli_fail_error (error);
  json_object_set_string_member (out, "resolved", args[0]);
  json_object_set_string_member (out, "choice", args[1]);
  rfl_cli_print_object (out);
  return 0;
}

static void
matching_progress_cb (guint64  done,
                      guint64  total,
                      gpointer data)
{
  static gint64 last;
  gint64 now = g_get_monotonic_time ();

  if (!isatty (STDERR_FILENO) || total == 0 || (now - last < 100000 && done < total))
    return;
  last = now;
  print_bar ("Matching", done, total, "records");
}

/* What changed since the proposals were last made, then every proposal
 * (or every duplicate), a page at a time. */
static int
print_proposals (Cli      *cli,
                 gboolean  duplicates)
{
  g_autoptr(GError) error = NULL;
  guint offset = 0;

  if (!rfl_store_refresh_proposals (cli->db.store, NULL, matching_progress_cb, cli, &error))
    return rfl_cli_fail_error (error);
  for (;;)
    {
      g_autoptr(GPtrArray) page = duplicates
        ? rfl_store_list_duplicates (cli->db.store, cli->min_score, offset, 500, &error)
        : rfl_store_list_proposals (cli->db.store, NULL, cli->min_score, offset, 500, &error);

      if (page == NULL)
        return rfl_cli_fail_error (error);
      rfl_cli_print_rows (page);
      if (ferror (stdout) || page->len < 500)
        break;
      offset += page->len;
    }
  return ferror (stdout) ? rfl_cli_fail ("cannot write the proposals") : 0;
}

/* The pairs HQ found with other offices: no names, the other office's. */
static int
print_office_matches (Cli *cli)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) all = rfl_store_list_office_matches (cli->db.store, &error);

  if (all == NULL)
    return rfl_cli_fail_error (error);
  for (guint i = 0; i < all->len; i++)
    {
      JsonObject *m = g_ptr_array_index (all, i);
      JsonNode *score = json_object_get_member (m, "score");

      if (score == NULL || json_node_get_double (score) >= cli->min_score)
        rfl_cli_print_object (m);
    }
  return ferror (stdout) ? rfl_cli_fail ("cannot write the proposals") : 0;
}

static int
cmd_matches (gpointer   data,
             char     **args)
{
  Cli *cli = data;
  g_autoptr(GError) error = NULL;
  int rc;

  if (args[0] != NULL)
    return rfl_cli_fail ("usage: matches [--case ID] [--min-score S] [--rebuild]");
  /* NaN compares false with everything: it would mean no floor at all. */
  if (!(cli->min_score >= -1000 && cli->min_score <= 1000))
    return rfl_cli_fail ("--min-score must be a number between -1000 and 1000");
  if (cli->case_id != NULL && *cli->case_id == '\0')
    return rfl_cli_fail ("--case needs the id of a tracing request");
  if (cli->rebuild && cli->case_id != NULL)
    return rfl_cli_fail ("--rebuild makes every proposal again: it takes no --case");
  if ((rc = open_store (cli)) != 0)
    return rc;

  if (cli->case_id != NULL)
    {
      g_autoptr(GPtrArray) proposals = rfl_store_propose_matches (cli->db.store, cli->case_id, cli->min_score,
                                                                 &error);
      g_autoptr(GPtrArray) decided = NULL;

      if (proposals == NULL)
        return rfl_cli_fail_error (error);
      /* Then its decisions on pairs no longer proposed. */
      if ((decided = rfl_store_list_proposals (cli->db.store, cli->case_id, G_MAXDOUBLE, 0, G_MAXUINT,
                                               &error)) == NULL)
        return rfl_cli_fail_error (error);
      for (guint i = 0; i < decided->len; i++)
        {
          JsonObject *d = g_ptr_array_index (decided, i);
          gboolean listed = FALSE;

          for (guint j = 0; j < proposals->len && !listed; j++)
            listed = g_str_equal (json_object_get_string_member (d, "id"),
                                  json_object_get_string_member (g_ptr_array_index (proposals, j), "id"));
          if (!listed)
            g_ptr_array_add (proposals, json_object_ref (d));
        }
      rfl_cli_print_rows (proposals);
      return 0;
    }

  if (cli->rebuild)
    {
      gint64 started = g_get_monotonic_time ();
      g_autoptr(JsonObject) out = json_object_new ();
      g_autoptr(GPtrArray) all = NULL;

      if (!rfl_store_rebuild_proposals (cli->db.store, NULL, matching_progress_cb, cli, &error) ||
          (all = rfl_store_list_proposals (cli->db.store, NULL, cli->min_score, 0, G_MAXUINT, &error)) == NULL)
        return rfl_cli_fail_error (error);
      json_object_set_int_member (out, "proposals", all->len);
      json_object_set_double_member (out, "seconds", (g_get_monotonic_time () - started) / 1e6);
      rfl_cli_print_object (out);
      return 0;
    }

  if ((rc = print_proposals (cli, FALSE)) != 0)
    return rc;
  return print_office_matches (cli);
}

/* This office wants to know more about a pair HQ found with another office. */
static int
cmd_interest (gpointer   data,
              char     **args)
{
  Cli *cli = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  int rc;

  if (args[0] == NULL || args[1] != NULL)
    return rfl_cli_fail ("usage: interest OFFICE_MATCH_ID [--reason TEXT]");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if (!rfl_store_show_interest (cli->db.store, args[0], cli->reason, &error))
    return rfl_cli_fail_error (error);
  json_object_set_string_member (out, "id", args[0]);
  json_object_set_boolean_member (out, "interested", TRUE);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_decide (gpointer   data,
            char     **args)
{
  static const struct { const char *word; const char *decision; } words[] = {
    { "confirm", "confirmed" }, { "reject", "rejected" }, { "more-info", "more_info" }, { "share", NULL },
  };
  Cli *cli = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = NULL;
  guint w;
  int rc;

  if (args[0] == NULL || args[1] == NULL || args[2] != NULL)
    return rfl_cli_fail ("usage: decide MATCH_ID confirm|reject|more-info [--reason TEXT], or decide MATCH_ID share");
  for (w = 0; w < G_N_ELEMENTS (words) && !g_str_equal (args[1], words[w].word); w++)
    ;
  if (w == G_N_ELEMENTS (words))
    return rfl_cli_fail ("usage: decide MATCH_ID confirm|reject|more-info [--reason TEXT], or decide MATCH_ID share");
  if (words[w].decision == NULL && cli->reason != NULL)
    return rfl_cli_fail ("share takes no --reason: the consent recorded in the case is the reason");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if (words[w].decision != NULL)
    out = rfl_store_decide_match (cli->db.store, args[0], words[w].decision, cli->reason, &error);
  else
    out = rfl_store_share_whereabouts (cli->db.store, args[0], &error);
  if (out == NULL)
    return rfl_cli_fail_error (error);
  if (g_strcmp0 (words[w].decision, "confirmed") == 0)
    {
      /* What a caseworker does next for a family. */
      JsonArray *next = json_array_new ();

      json_array_add_string_element (next, "contact");
      json_array_add_string_element (next, "red_cross_message");
      json_array_add_string_element (next, "reunification");
      json_object_set_array_member (out, "next_steps", next);
    }
  rfl_cli_print_object (out);
  return 0;
}

/* The registrations that may be one person registered twice: made again
 * where records changed, like the match proposals they are kept with. */
static int
cmd_duplicates (gpointer   data,
                char     **args)
{
  Cli *cli = data;
  int rc;

  if (args[0] != NULL || cli->case_id != NULL || cli->rebuild)
    return rfl_cli_fail ("usage: duplicates [--min-score S]");
  if (!(cli->min_score >= -1000 && cli->min_score <= 1000))
    return rfl_cli_fail ("--min-score must be a number between -1000 and 1000");
  if ((rc = open_store (cli)) != 0)
    return rc;
  return print_proposals (cli, TRUE);
}

/* One person registered twice: keep one record, and close the other as
 * its duplicate, every value of it kept. */
static int
cmd_merge (gpointer   data,
           char     **args)
{
  Cli *cli = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = NULL;
  int rc;

  if (args[0] == NULL || args[1] != NULL || cli->into == NULL)
    return rfl_cli_fail ("usage: merge DUPLICATE_ID --into KEPT_ID");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if ((out = rfl_store_merge_duplicate (cli->db.store, args[0], cli->into, &error)) == NULL)
    return rfl_cli_fail_error (error);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_unmerge (gpointer   data,
             char     **args)
{
  Cli *cli = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = NULL;
  int rc;

  if (args[0] == NULL || args[1] != NULL || cli->into != NULL)
    return rfl_cli_fail ("usage: unmerge ID");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if ((out = rfl_store_unmerge_duplicate (cli->db.store, args[0], &error)) == NULL)
    return rfl_cli_fail_error (error);
  rfl_cli_print_object (out);
  return 0;
}

static const RflCliCommand commands[] = {
  { "init",   cmd_init,   "create the encrypted database and this device's keys" },
  { "add",    cmd_add,    "add the record read from standard input; print its id" },
  { "show",   cmd_show,   "show one record" },
  { "update", cmd_update, "apply the JSON merge patch read from standard input" },
  { "delete", cmd_delete, "delete a record" },
  { "list",   cmd_list,   "list records, newest first" },
  { "search", cmd_search, "search names in any script and spelling" },
  { "matches", cmd_matches, "propose who may be the people tracing requests seek (--case ID, --rebuild)" },
  { "duplicates", cmd_duplicates, "propose registrations that may be one person registered twice" },
  { "interest", cmd_interest, "ask another office to share a case HQ says may be someone you seek" },
  { "merge",  cmd_merge,  "merge a duplicate into the record kept (--into ID); nothing is lost" },
  { "unmerge", cmd_unmerge, "undo a merge: the duplicate comes back as it was" },
  { "decide", cmd_decide, "decide on a proposal: confirm, reject, more-info, or share where the person is" },
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

static gboolean
check_options (gpointer data)
{
  static const char * const levels[] = { "interactive", "moderate", "sensitive", NULL };
  Cli *cli = data;

  if (cli->db.kdf != NULL && !g_strv_contains (levels, cli->db.kdf))
    {
      rfl_cli_fail ("--kdf must be interactive, moderate or sensitive");
      return FALSE;
    }
  if (cli->db.path == NULL)
    cli->db.path = g_build_filename (g_get_user_data_dir (), "reunite", "reunite.db", NULL);
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  Cli cli = { .min_score = DEFAULT_MIN_SCORE };
  const GOptionEntry entries[] = {
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &cli.db.path, "The case database", "PATH" },
    { "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &cli.db.passphrase_file,
      "Read the passphrase from FILE (default: $REUNITE_PASSPHRASE_FILE, else ask)", "FILE" },
    { "new-passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &cli.db.new_passphrase_file,
      "passwd: read the new passphrase from FILE", "FILE" },
    { "kdf", 0, 0, G_OPTION_ARG_STRING, &cli.db.kdf,
      "init, passwd: Argon2id limits: interactive, moderate (default) or sensitive", "LEVEL" },
    { "type", 0, 0, G_OPTION_ARG_STRING, &cli.type, "list: only this record type", "T" },
    { "status", 0, 0, G_OPTION_ARG_STRING, &cli.status, "list: only this status", "S" },
    { "limit", 0, 0, G_OPTION_ARG_INT, &cli.limit, "list, search: at most N results", "N" },
    { "offset", 0, 0, G_OPTION_ARG_INT, &cli.offset, "list: skip N records", "N" },
    { "verify", 0, 0, G_OPTION_ARG_NONE, &cli.verify, "audit: check the hash chain", NULL },
    { "expired", 0, 0, G_OPTION_ARG_NONE, &cli.expired, "purge: records past retention", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &cli.verbose, "import: report each committed batch",
      NULL },
    { "hq", 0, 0, G_OPTION_ARG_STRING, &cli.hq,
      "enroll, sync: HQ's address, if not the enrolled one", "URL" },
    { "office", 0, 0, G_OPTION_ARG_STRING, &cli.office, "share: the office to share with", "NAME" },
    { "timeout", 0, 0, G_OPTION_ARG_INT, &cli.timeout,
      "enroll, sync: give up after S seconds (300)", "S" },
    { "case", 0, 0, G_OPTION_ARG_STRING, &cli.case_id, "matches: only for this tracing request", "ID" },
    { "min-score", 0, 0, G_OPTION_ARG_DOUBLE, &cli.min_score,
      "matches: leave out proposals scoring less (3)", "S" },
    { "rebuild", 0, 0, G_OPTION_ARG_NONE, &cli.rebuild, "matches: make every proposal again", NULL },
    { "reason", 0, 0, G_OPTION_ARG_STRING, &cli.reason, "decide, interest: why", "TEXT" },
    { "into", 0, 0, G_OPTION_ARG_STRING, &cli.into, "merge: the record to keep", "ID" },
    { NULL }
  };
  const RflCliProgram program = {
    .name = "reunite-cli",
    .summary = "Reunite case store, headless.",
    .entries = entries,
    .commands = commands,
    .n_commands = G_N_ELEMENTS (commands),
    .store = &cli.db,
    .check = check_options,
    .data = &cli,
  };
  int rc;

  /* Before any thread starts. */
  rfl_sync_client_prepare ();
  rc = rfl_cli_main (&program, argc, argv);
  g_free (cli.type);
  g_free (cli.status);
  g_free (cli.hq);
  g_free (cli.office);
  g_free (cli.case_id);
  g_free (cli.reason);
  g_free (cli.into);
  return rc;
}
