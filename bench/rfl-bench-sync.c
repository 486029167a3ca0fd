/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sync benchmarks over loopback, against a real reunite-hq. One workload per
 * run, one JSON line of results on stdout:
 *
 *   rfl-bench-sync e2e   HQ_BINARY WORKDIR CASES.jsonl
 *     device A imports the cases (the local baseline), then A pushes and HQ
 *     merges while B, syncing from the same moment, pulls what HQ has
 *     merged; end to end is until B holds every record. Then A edits one
 *     field of 10,000 of them and they sync again, one after the other.
 *     Times and bytes on the wire.
 *   rfl-bench-sync fleet HQ_BINARY WORKDIR DEVICES RECORDS
 *     DEVICES devices with RECORDS new records each sync at the same moment.
 */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

#include "rfl-importer.h"
#include "rfl-store-sync.h"
#include "rfl-sync-client.h"
#include "rfl-sync.h"

#define PASSPHRASE "benchmark passphrase"
#define EDITS      10000

typedef struct
{
  const char  *binary;
  char        *dir;
  char        *pw;
  char        *url;
  GSubprocess *proc;
} Hq;

static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static char *
hq_command (Hq          *hq,
            const char  *office,
            const char  *out,
            GError     **error)
{
  g_autoptr(GSubprocess) proc = NULL;
  char *stdout_text = NULL;

  proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, error, hq->binary, "--dir", hq->dir,
                           "--passphrase-file", hq->pw, "enroll", "--office", office, "--url", hq->url,
                           "--out", out, NULL);
  if (proc == NULL || !g_subprocess_communicate_utf8 (proc, NULL, NULL, &stdout_text, NULL, error))
    return NULL;
  if (!g_subprocess_get_successful (proc))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "reunite-hq enroll failed");
      g_free (stdout_text);
      return NULL;
    }
  return stdout_text;
}

static void
hq_start (Hq         *hq,
          const char *binary,
          const char *work)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) init = NULL;
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GDataInputStream) in = NULL;
  g_autofree char *line = NULL;
  const char *port;

  hq->binary = binary;
  hq->dir = g_build_filename (work, "hq", NULL);
  hq->pw = g_build_filename (work, "pw", NULL);
  g_file_set_contents (hq->pw, PASSPHRASE, -1, &error);
  g_assert_no_error (error);
  init = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error, binary, "--dir", hq->dir,
                           "--passphrase-file", hq->pw, "init", NULL);
  g_assert_no_error (error);
  g_subprocess_wait_check (init, NULL, &error);
  g_assert_no_error (error);

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  hq->proc = g_subprocess_launcher_spawn (launcher, &error, binary, "--dir", hq->dir, "--passphrase-file",
                                          hq->pw, "--rate", "1000", "serve", "--listen", "127.0.0.1:0", NULL);
  g_assert_no_error (error);
  in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (hq->proc));
  line = g_data_input_stream_read_line (in, NULL, NULL, &error);
  g_assert_no_error (error);
  port = strstr (line, "127.0.0.1:");
  g_assert_nonnull (port);
  hq->url = g_strdup_printf ("http://127.0.0.1:%d", atoi (port + strlen ("127.0.0.1:")));
}

static RflStore *
device (const char *work,
        const char *name,
        Hq         *hq,
        const char *office)
{
  g_autofree char *path = g_strdup_printf ("%s/%s.db", work, name);
  g_autofree char *token_path = g_strdup_printf ("%s/%s.token", work, name);
  g_autofree char *data = NULL, *out = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(RflEnrollToken) token = NULL;
  RflStore *store;
  gsize len;

  store = rfl_store_create (path, PASSPHRASE, strlen (PASSPHRASE), RFL_KDF_INTERACTIVE, &error);
  g_assert_no_error (error);
  out = hq_command (hq, office, token_path, &error);
  g_assert_no_error (error);
  g_file_get_contents (token_path, &data, &len, &error);
  g_assert_no_error (error);
  bytes = g_bytes_new (data, len);
  token = rfl_enroll_token_load (bytes, &error);
  g_assert_no_error (error);
  if (!rfl_sync_client_enroll (store, token, NULL, &error))
    g_error ("enroll: %s", error->message);
  return store;
}

static RflSyncReport
sync_once (RflStore *store)
{
  RflSyncReport report = { 0 };
  RflSyncOptions options = { .deadline_s = 3600, .io_timeout_s = 600 };
  g_autoptr(GError) error = NULL;

  if (!rfl_sync_client_run (store, &options, &report, NULL, &error))
    g_error ("sync: %s", error->message);
  return report;
}

static double
now_s (void)
{
  return g_get_monotonic_time () / 1e6;
}

typedef struct
{
  RflStore      *store;
  RflSyncReport  report;
  double         seconds;
} Pusher;

static gpointer
push_thread (gpointer data)
{
  Pusher *p = data;
  double t0 = now_s ();

  p->report = sync_once (p->store);
  p->seconds = now_s () - t0;
  return NULL;
}

static int
bench_e2e (const char *binary,
           const char *work,
           const char *cases)
{
  Hq hq = { 0 };
  g_autoptr(RflStore) a = NULL, b = NULL;
  g_autoptr(RflImporter) importer = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ids = NULL;
  RflSyncReport push, pull = { 0 }, edit_push, edit_pull;
  double t0, t_import, t_push, t_pull, t_edit, t_edit_push, t_edit_pull;
  Pusher pusher = { 0 };
  GThread *thread;
  guint pulls = 0;
  guint64 n;

  hq_start (&hq, binary, work);
  a = device (work, "a", &hq, "Goma");
  b = device (work, "b", &hq, "Goma");

  importer = rfl_importer_new (cases);
  if (!rfl_importer_check (importer, &error))
    g_error ("%s", error->message);
  t0 = now_s ();
  if (!rfl_importer_run (importer, a, &error))
    g_error ("%s", error->message);
  t_import = now_s () - t0;
  n = rfl_importer_get_imported (importer);

  /* B syncs from the moment A starts, as an office's other laptop would,
   * again whenever it has caught up, until it holds every record. */
  t0 = now_s ();
  pusher.store = a;
  thread = g_thread_new ("push", push_thread, &pusher);
  while (pull.merge.applied < n)
    {
      RflSyncReport more = sync_once (b);

      if (more.merge.applied == 0)
        g_usleep (20000);
      pull.merge.applied += more.merge.applied;
      pull.bytes_up += more.bytes_up;
      pull.bytes_down += more.bytes_down;
      pull.resynced |= more.resynced;
      pull.converged = more.converged;
      pulls++;
      if (now_s () - t0 > 3600)
        g_error ("B did not receive every record (%u of %" G_GUINT64_FORMAT ")", pull.merge.applied, n);
    }
  t_pull = now_s () - t0;
  g_thread_join (thread);
  push = pusher.report;
  t_push = pusher.seconds;
  if (pull.merge.applied != n)
    g_error ("B received %u records, not %" G_GUINT64_FORMAT, pull.merge.applied, n);

  /* One field changed on up to 10,000 records. */
  ids = rfl_store_list (a, NULL, NULL, 0, EDITS, &error);
  g_assert_no_error (error);
  t0 = now_s ();
  for (guint i = 0; i < ids->len; i++)
    {
      g_autoptr(JsonObject) patch = json_object_new ();
      JsonObject *row = g_ptr_array_index (ids, i);

      json_object_set_string_member (patch, "sensitivity", "sensitive");
      if (!rfl_store_update (a, json_object_get_string_member (row, "id"), patch, &error))
        g_error ("%s", error->message);
    }
  t_edit = now_s () - t0;
  t0 = now_s ();
  edit_push = sync_once (a);
  t_edit_push = now_s () - t0;
  t0 = now_s ();
  edit_pull = sync_once (b);
  t_edit_pull = now_s () - t0;
  if (!edit_pull.converged)
    g_error ("B did not converge after the edits");

  g_print ("{\"workload\":\"e2e\",\"records\":%" G_GUINT64_FORMAT ",\"import_s\":%.3f,"
           "\"push_s\":%.3f,\"pull_s\":%.3f,\"e2e_s\":%.3f,\"pulls\":%u,"
           "\"wire_bytes\":%" G_GUINT64_FORMAT ",\"wire_bytes_per_record\":%.1f,"
           "\"edits\":%u,\"edit_local_s\":%.3f,\"edit_e2e_s\":%.3f,"
           "\"edit_wire_bytes\":%" G_GUINT64_FORMAT ",\"edit_wire_bytes_per_field\":%.1f,"
           "\"edit_push_s\":%.3f,\"edit_pull_s\":%.3f,\"resynced\":%s}\n",
           n, t_import, t_push, t_pull, MAX (t_push, t_pull), pulls,
           push.bytes_up + push.bytes_down + pull.bytes_up + pull.bytes_down,
           (double) (push.bytes_up + push.bytes_down + pull.bytes_up + pull.bytes_down) / (double) n,
           ids->len, t_edit, t_edit_push + t_edit_pull,
           edit_push.bytes_up + edit_push.bytes_down + edit_pull.bytes_up + edit_pull.bytes_down,
           (double) (edit_push.bytes_up + edit_push.bytes_down + edit_pull.bytes_up + edit_pull.bytes_down)
             / (double) MAX (ids->len, 1),
           t_edit_push, t_edit_pull,
           push.resynced || pull.resynced || edit_push.resynced || edit_pull.resynced ? "true" : "false");
  g_subprocess_send_signal (hq.proc, SIGTERM);
  g_subprocess_wait (hq.proc, NULL, NULL);
  return 0;
}

typedef struct
{
  RflStore *store;
  double    latency_s;
  gboolean  ok;
  char     *error;
} Member;

static gpointer
fleet_sync (gpointer data)
{
  Member *m = data;
  RflSyncReport report = { 0 };
  RflSyncOptions options = { .deadline_s = 600, .io_timeout_s = 300 };
  g_autoptr(GError) error = NULL;
  double t0 = now_s ();

  m->ok = rfl_sync_client_run (m->store, &options, &report, NULL, &error);
  m->latency_s = now_s () - t0;
  if (!m->ok)
    m->error = g_strdup (error->message);
  return NULL;
}

static int
compare_double (gconstpointer a,
                gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return (x > y) - (x < y);
}

static int
bench_fleet (const char *binary,
             const char *work,
             guint       n_devices,
             guint       per_device)
{
  static const char *offices[] = { "Goma", "Bukavu", "Uvira", "Kalemie", "Bunia" };
  Hq hq = { 0 };
  g_autofree Member *members = g_new0 (Member, n_devices);
  g_autofree GThread **threads = g_new0 (GThread *, n_devices);
  g_autoptr(GArray) latencies = g_array_new (FALSE, FALSE, sizeof (double));
  guint errors = 0;
  double t0, wall;

  hq_start (&hq, binary, work);
  for (guint i = 0; i < n_devices; i++)
    {
      g_autofree char *name = g_strdup_printf ("d%u", i);

      members[i].store = device (work, name, &hq, offices[i % G_N_ELEMENTS (offices)]);
      for (guint k = 0; k < per_device; k++)
        {
          g_autofree char *json = g_strdup_printf (
            "{\"type\": \"registration\", \"subtype\": \"found_person\", \"status\": \"open\","
            " \"person\": {\"given_name\": \"Fleet%u\", \"family_name\": \"Member%u\"},"
            " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}", k, i);
          g_autoptr(JsonParser) parser = json_parser_new ();
          g_autoptr(GError) error = NULL;
          g_autofree char *id = NULL;

          json_parser_load_from_data (parser, json, -1, NULL);
          id = rfl_store_add (members[i].store, json_node_get_object (json_parser_get_root (parser)), &error);
          g_assert_no_error (error);
        }
    }

  t0 = now_s ();
  for (guint i = 0; i < n_devices; i++)
    threads[i] = g_thread_new ("sync", fleet_sync, &members[i]);
  for (guint i = 0; i < n_devices; i++)
    g_thread_join (threads[i]);
  wall = now_s () - t0;

  for (guint i = 0; i < n_devices; i++)
    {
      if (!members[i].ok)
        {
          errors++;
          g_printerr ("rfl-bench-sync: device %u: %s\n", i, members[i].error);
        }
      g_array_append_val (latencies, members[i].latency_s);
      g_free (members[i].error);
      g_clear_object (&members[i].store);
    }
  g_array_sort (latencies, compare_double);
  g_print ("{\"workload\":\"fleet\",\"devices\":%u,\"records\":%u,\"wall_s\":%.3f,"
           "\"ingest_records_per_s\":%.0f,\"p50_ms\":%.0f,\"p99_ms\":%.0f,\"errors\":%u}\n",
           n_devices, n_devices * per_device, wall, n_devices * per_device / wall,
           g_array_index (latencies, double, latencies->len / 2) * 1000,
           g_array_index (latencies, double, MIN (latencies->len - 1, (guint) (latencies->len * 0.99))) * 1000,
           errors);
  g_subprocess_send_signal (hq.proc, SIGTERM);
  g_subprocess_wait (hq.proc, NULL, NULL);
  return errors > 0 ? 1 : 0;
}

int
main (int   argc,
      char *argv[])
{
  rfl_sync_client_prepare ();
  if (sodium_init () < 0)
    return 1;
  if (argc == 5 && g_str_equal (argv[1], "e2e"))
    return bench_e2e (argv[2], argv[3], argv[4]);
  if (argc == 6 && g_str_equal (argv[1], "fleet"))
    return bench_fleet (argv[2], argv[3], (guint) atoi (argv[4]), (guint) atoi (argv[5]));
  g_printerr ("usage: rfl-bench-sync e2e HQ WORKDIR CASES.jsonl | fleet HQ WORKDIR DEVICES RECORDS\n");
  return 2;
}
