/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * reunite-hq: the headquarters endpoint devices sync with, and the commands
 * its operators run. HQ keeps its own encrypted store (data/) with every
 * office's records, and relays to each device only its office's scope.
 * This file is the command line: what `serve` answers devices with is
 * RflHqServer (rfl-hq-server.c).
 */
#define G_LOG_DOMAIN "reunite-hq"

#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "rfl-cli.h"
#include "rfl-file.h"
#include "rfl-envelope.h"
#include "rfl-hq-server.h"
#include "rfl-store-sync.h"
#include "rfl-sync.h"

#define DEFAULT_LISTEN          "127.0.0.1:8470"
#define MAX_CA_BYTES            (1024 * 1024)
#define TOKEN_HOURS_DEFAULT     72

typedef struct
{
  RflCliStore  db;          /* DIR/hq.db */
  char        *dir;
  char        *listen;
  char        *office;
  char        *reason;
  char        *url;
  char        *ca;
  char        *out;
  char        *device;
  int          expires_hours;
  int          client_timeout;
  double       rate;
  gint64       max_body;
  double       min_score;
  int          match_every;
} Hq;

/* What reunite-cli calls worth a volunteer's look. */
#define DEFAULT_MIN_SCORE 3.0
#define DEFAULT_MATCH_MINUTES 10

static int
open_store (Hq *hq)
{
  int rc;

  if (!g_file_test (hq->db.path, G_FILE_TEST_EXISTS))
    return rfl_cli_fail ("no HQ store in %s; run 'reunite-hq --dir %s init' first", hq->dir, hq->dir);
  if ((rc = rfl_cli_open (&hq->db, "HQ passphrase: ")) != 0)
    return rc;
  rfl_store_set_actor (hq->db.store, "hq-operator");
  return 0;
}

static char *
iso_time (gint64 ms)
{
  g_autoptr(GDateTime) dt = ms > 0 ? g_date_time_new_from_unix_utc (ms / 1000) : NULL;

  return dt != NULL ? g_date_time_format (dt, "%Y-%m-%dT%H:%M:%SZ") : NULL;
}

/* Operator commands. */

static int
cmd_init (gpointer   data,
          char     **args)
{
  Hq *hq = data;

  if (args[0] != NULL)
    return rfl_cli_fail ("usage: --dir DIR init");
  return rfl_cli_create (&hq->db, NULL, "hq_id", "New HQ passphrase: ", "Repeat it: ");
}

static int
cmd_enroll (gpointer   data,
            char     **args)
{
  Hq *hq = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) token = NULL;
  g_autofree char *ca = NULL;
  int rc;

  /* The token holds a secret: it goes to a file only its owner may read,
   * never to the terminal, where scrollback and logs would keep it. */
  if (args[0] != NULL || hq->office == NULL || *hq->office == '\0' || hq->out == NULL)
    return rfl_cli_fail ("usage: enroll --office NAME --out FILE [--url URL] [--ca FILE] [--expires-hours N]");
  /* Devices trust only the CA the token carries, never the system's. */
  if (hq->url != NULL && g_str_has_prefix (hq->url, "https:") && hq->ca == NULL)
    return rfl_cli_fail ("an https address needs --ca FILE, the CA of HQ's certificate: devices trust no other");
  if (hq->ca != NULL)
    {
      g_autoptr(GBytes) pem = rfl_file_read (hq->ca, MAX_CA_BYTES, RFL_FILE_REGULAR, &error);

      if (pem == NULL)
        return rfl_cli_fail_error (error);
      ca = g_strndup (g_bytes_get_data (pem, NULL), g_bytes_get_size (pem));
    }
  if ((rc = open_store (hq)) != 0)
    return rc;
  token = rfl_enroll_token_new (hq->db.store, hq->office, hq->url, ca,
                                (gint64) (hq->expires_hours > 0 ? hq->expires_hours : TOKEN_HOURS_DEFAULT)
                                * 3600 * 1000, &error);
  if (token == NULL)
    return rfl_cli_fail_error (error);
  if (!g_file_set_contents_full (hq->out, g_bytes_get_data (token, NULL), (gssize) g_bytes_get_size (token),
                                 G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, &error))
    return rfl_cli_fail_error (error);
  {
    g_autoptr(JsonObject) out = json_object_new ();

    json_object_set_string_member (out, "token_file", hq->out);
    json_object_set_string_member (out, "office", hq->office);
    rfl_cli_print_object (out);
  }
  return 0;
}

static int
cmd_passwd (gpointer   data,
            char     **args)
{
  Hq *hq = data;

  if (args[0] != NULL || hq->db.new_passphrase_file == NULL)
    return rfl_cli_fail ("usage: passwd --new-passphrase-file FILE");
  return rfl_cli_passwd (&hq->db, "HQ passphrase: ", RFL_KDF_MODERATE);
}

static int
cmd_revoke (gpointer   data,
            char     **args)
{
  Hq *hq = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  int rc;

  if (args[0] == NULL || args[1] != NULL)
    return rfl_cli_fail ("usage: revoke DEVICE");
  if ((rc = open_store (hq)) != 0)
    return rc;
  if (!rfl_store_set_peer_status (hq->db.store, args[0], "revoked", &error))
    return rfl_cli_fail_error (error);
  json_object_set_string_member (out, "revoked", args[0]);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_delete (gpointer   data,
            char     **args)
{
  Hq *hq = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  int rc;

  if (args[0] == NULL || args[1] != NULL || hq->reason == NULL || *hq->reason == '\0')
    return rfl_cli_fail ("usage: delete --reason TEXT RECORD");
  if ((rc = open_store (hq)) != 0)
    return rc;
  if (!rfl_store_delete_as_operator (hq->db.store, args[0], hq->reason, &error))
    return rfl_cli_fail_error (error);
  json_object_set_string_member (out, "deleted", args[0]);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_move (gpointer   data,
          char     **args)
{
  Hq *hq = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  int rc;

  if (args[0] == NULL || args[1] != NULL || hq->office == NULL)
    return rfl_cli_fail ("usage: move --office NAME DEVICE");
  if ((rc = open_store (hq)) != 0)
    return rc;
  if (!rfl_store_move_peer (hq->db.store, args[0], hq->office, &error))
    return rfl_cli_fail_error (error);
  json_object_set_string_member (out, "moved", args[0]);
  json_object_set_string_member (out, "office", hq->office);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_retention (gpointer   data,
               char     **args)
{
  Hq *hq = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  guint64 days = 0;
  int rc;

  if (args[0] == NULL || args[1] != NULL || !g_ascii_string_to_unsigned (args[0], 10, 0, 36500, &days, NULL))
    return rfl_cli_fail ("usage: retention DAYS (0 to 36500)");
  if ((rc = open_store (hq)) != 0)
    return rc;
  if (!rfl_store_set_retention_days (hq->db.store, (gint) days, &error))
    return rfl_cli_fail_error (error);
  json_object_set_int_member (out, "retention_days", (gint64) days);
  rfl_cli_print_object (out);
  return 0;
}

static JsonObject *
peer_json (RflStore *store,
           RflPeer  *peer,
           gboolean  detail)
{
  JsonObject *obj = json_object_new ();
  g_autofree char *enrolled = iso_time (peer->enrolled_at);
  g_autofree char *seen = iso_time (peer->last_seen);

  json_object_set_string_member (obj, "id", peer->id);
  json_object_set_string_member (obj, "office", peer->office);
  json_object_set_string_member (obj, "status", peer->status);
  json_object_set_string_member (obj, "enrolled", enrolled);
  if (seen != NULL)
    json_object_set_string_member (obj, "last_seen", seen);
  else
    json_object_set_null_member (obj, "last_seen");
  if (detail)
    {
      gint64 head = rfl_store_get_journal_length (store);

      json_object_set_int_member (obj, "received_seq", (gint64) peer->in_next - 1);
      json_object_set_int_member (obj, "sent_bundles", (gint64) peer->out_next - 1);
      json_object_set_int_member (obj, "acked_bundles", (gint64) peer->acked);
      json_object_set_int_member (obj, "unacked_bundles", (gint64) (peer->out_next - 1 - peer->acked));
      json_object_set_int_member (obj, "journal_behind", MAX (0, head - (gint64) peer->out_through));
    }
  return obj;
}

static int
list_devices (Hq       *hq,
              gboolean  detail)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) peers = NULL;
  int rc;

  if ((rc = open_store (hq)) != 0)
    return rc;
  if ((peers = rfl_store_list_peers (hq->db.store, "device", &error)) == NULL)
    return rfl_cli_fail_error (error);
  for (guint i = 0; i < peers->len; i++)
    {
      g_autoptr(JsonObject) obj = peer_json (hq->db.store, g_ptr_array_index (peers, i), detail);
      rfl_cli_print_object (obj);
    }
  return 0;
}

static int
cmd_devices (gpointer   data,
             char     **args)
{
  Hq *hq = data;
  return args[0] != NULL ? rfl_cli_fail ("usage: devices") : list_devices (hq, FALSE);
}

static int
cmd_status (gpointer   data,
            char     **args)
{
  Hq *hq = data;
  return args[0] != NULL ? rfl_cli_fail ("usage: status") : list_devices (hq, TRUE);
}

static int
cmd_audit (gpointer   data,
           char     **args)
{
  Hq *hq = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  gint64 broken = 0;
  int rc;

  if (args[0] != NULL)
    return rfl_cli_fail ("usage: audit");
  if ((rc = open_store (hq)) != 0)
    return rc;
  if (!rfl_store_audit_verify (hq->db.store, &broken, NULL, &error))
    return rfl_cli_fail_error (error);
  if (broken != 0)
    return rfl_cli_fail ("the audit log was tampered with at entry %" G_GINT64_FORMAT, broken);
  if ((entries = rfl_store_audit_list (hq->db.store, &error)) == NULL)
    return rfl_cli_fail_error (error);
  rfl_cli_print_rows (entries);
  return 0;
}

/* USB. */

static int
cmd_bundle_out (gpointer   data,
                char     **args)
{
  Hq *hq = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) peers = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  guint written = 0, notices = 0;
  int rc;

  const char *usage = "usage: bundle-out --office NAME | --device ID  DIR";

  if (hq->office == NULL && hq->device == NULL)
    return rfl_cli_fail ("%s", usage);
  if ((rc = rfl_cli_bundle_dir (args, usage)) != 0 || (rc = open_store (hq)) != 0)
    return rc;
  if ((peers = rfl_store_list_peers (hq->db.store, "device", &error)) == NULL)
    return rfl_cli_fail_error (error);
  for (guint i = 0; i < peers->len; i++)
    {
      RflPeer *peer = g_ptr_array_index (peers, i);
      g_autoptr(GPtrArray) outbox = NULL;
      g_autoptr(GBytes) fresh = NULL;

      if ((hq->device != NULL && g_strcmp0 (peer->id, hq->device) != 0) ||
          (hq->office != NULL && g_strcmp0 (peer->office, hq->office) != 0))
        continue;
      /* A revoked device gets its signed notice, and nothing else: it
       * destroys its keys when it reads the stick. */
      if (g_strcmp0 (peer->status, "active") != 0)
        {
          g_autoptr(GBytes) notice = rfl_sync_notice_new (hq->db.store, peer->id, &error);
          g_autofree char *name = g_strdup_printf ("hq-to-%s-revoked.rfln", peer->id);

          if (notice == NULL || !rfl_sync_write_bundle (args[0], name, notice, &error))
            return rfl_cli_fail_error (error);
          notices++;
          continue;
        }
      /* Everything the device has not confirmed, then what is new. */
      fresh = rfl_sync_hub_seal (hq->db.store, peer->id, TRUE, &error);
      if (fresh == NULL && error != NULL)
        return rfl_cli_fail_error (error);
      if ((outbox = rfl_store_outbox_list (hq->db.store, peer->id, &error)) == NULL)
        return rfl_cli_fail_error (error);
      for (guint j = 0; j < outbox->len; j++)
        {
          RflOutboxItem *item = g_ptr_array_index (outbox, j);
          g_autofree char *name = g_strdup_printf ("hq-to-%s-%010" G_GUINT64_FORMAT ".rfle", peer->id, item->seq_from);

          if (!rfl_sync_write_bundle (args[0], name, item->envelope, &error))
            return rfl_cli_fail_error (error);
          written++;
        }
    }
  json_object_set_int_member (out, "written", written);
  json_object_set_int_member (out, "revocation_notices", notices);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_bundle_in (gpointer   data,
               char     **args)
{
  Hq *hq = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) files = NULL;
  g_autoptr(GPtrArray) rejections = g_ptr_array_new_with_free_func (g_free);
  RflSyncReport report = { 0 };
  int rc;

  if (args[0] == NULL || args[1] != NULL)
    return rfl_cli_fail ("usage: bundle-in DIR");
  /* Device bundles only: a stick may carry HQ's own for the devices too. */
  if ((files = rfl_sync_list_bundles (args[0], NULL, "hq-to-", &error)) == NULL)
    return rfl_cli_fail_error (error);
  if ((rc = open_store (hq)) != 0)
    return rc;
  for (guint i = 0; i < files->len; i++)
    {
      const char *path = g_ptr_array_index (files, i);
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(JsonObject) receipt = NULL;
      g_autoptr(GError) local = NULL;
      g_autofree char *base = g_path_get_basename (path);

      /* Read, not mapped: a stick pulled out must not crash HQ (SIGBUS). */
      if ((bytes = rfl_file_read (path, RFL_ENVELOPE_MAX_BYTES, RFL_FILE_REGULAR, &local)) != NULL)
        receipt = rfl_sync_hub_accept (hq->db.store, bytes, TRUE, &report, &local);
      if (g_error_matches (local, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REPLAY))
        report.duplicates++;
      else if (local != NULL)
        g_ptr_array_add (rejections, g_strdup_printf ("%s: %s", base, local->message));
    }
  return rfl_cli_bundles_read (&report, rejections);
}

/* The server. */

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_CONTINUE;
}

static gboolean
parse_listen (const char      *text,
              GSocketAddress **address)
{
  const char *colon = strrchr (text, ':');
  g_autofree char *host = NULL;
  guint64 port;

  if (colon == NULL || !g_ascii_string_to_unsigned (colon + 1, 10, 0, 65535, &port, NULL))
    return FALSE;
  host = g_strndup (text, (gsize) (colon - text));
  if (host[0] == '[' && host[strlen (host) - 1] == ']')
    {
      char *inner = g_strndup (host + 1, strlen (host) - 2);
      g_free (host);
      host = inner;
    }
  *address = g_inet_socket_address_new_from_string (host, (guint) port);
  return *address != NULL;
}

static char *
address_text (GSocketAddress *address)
{
  g_autofree char *host = g_inet_address_to_string (
    g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));
  guint port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));

  return strchr (host, ':') != NULL ? g_strdup_printf ("[%s]:%u", host, port)
                                    : g_strdup_printf ("%s:%u", host, port);
}

/* Tells each office of the pairs it has with another office, with none of
 * the other side's personal data (rfl-office-matches.c). */
static int
cmd_matches (gpointer   data,
             char     **args)
{
  Hq *hq = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = NULL;
  int rc;

  if (args[0] != NULL)
    return rfl_cli_fail ("usage: --dir DIR matches [--min-score S]");
  if (!(hq->min_score >= -100 && hq->min_score <= 100))
    return rfl_cli_fail ("--min-score must be a number between -100 and 100");
  if ((rc = open_store (hq)) != 0)
    return rc;
  if ((out = rfl_store_tell_offices_of_matches (hq->db.store, hq->min_score, NULL, NULL, NULL, &error)) == NULL)
    return rfl_cli_fail_error (error);
  rfl_cli_print_object (out);
  return 0;
}

typedef struct
{
  RflStore     *store;
  double        min_score;
  gboolean      running;
  GCancellable *cancellable;
} Matcher;

static void
match_thread (GTask        *task,
              gpointer      source,
              gpointer      data,
              GCancellable *cancellable)
{
  Matcher *m = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = rfl_store_tell_offices_of_matches (m->store, m->min_score, cancellable, NULL, NULL,
                                                                 &error);

  if (out == NULL)
    g_warning ("telling offices of matches: %s", error->message);
  g_task_return_boolean (task, out != NULL);
}

static void
match_done (GObject      *source,
            GAsyncResult *result,
            gpointer      data)
{
  ((Matcher *) data)->running = FALSE;
}

static gboolean
match_cb (gpointer data)
{
  Matcher *m = data;
  g_autoptr(GTask) task = NULL;

  if (m->running)
    return G_SOURCE_CONTINUE;
  m->running = TRUE;
  task = g_task_new (NULL, m->cancellable, match_done, m);
  g_task_set_task_data (task, m, NULL);
  g_task_run_in_thread (task, match_thread);
  return G_SOURCE_CONTINUE;
}

static int
cmd_serve (gpointer   data,
           char     **args)
{
  Hq *hq = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  g_autoptr(RflHqServer) server = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autofree char *where = NULL;
  const char *listen = hq->listen != NULL ? hq->listen : DEFAULT_LISTEN;
  Matcher matcher = { 0 };
  int rc;

  if (args[0] != NULL)
    return rfl_cli_fail ("usage: serve [--listen ADDR:PORT]");
  if (!parse_listen (listen, &address))
    return rfl_cli_fail ("--listen wants ADDRESS:PORT, like 127.0.0.1:8470");
  if ((rc = open_store (hq)) != 0)
    return rc;
  if ((server = rfl_hq_server_new (hq->db.store, &error)) == NULL)
    return rfl_cli_fail_error (error);
  rfl_hq_server_set_client_timeout (server, (guint) hq->client_timeout);
  rfl_hq_server_set_rate (server, hq->rate);
  rfl_hq_server_set_max_body (server, MAX (hq->max_body, 0));
  if (!rfl_hq_server_listen (server, address, &effective, &error))
    return rfl_cli_fail ("cannot listen on %s: %s", listen, error->message);

  where = address_text (effective);
  json_object_set_string_member (out, "listening", where);
  json_object_set_string_member (out, "hq_id", rfl_store_get_device_id (hq->db.store));
  rfl_cli_print_object (out);

  loop = g_main_loop_new (NULL, FALSE);
  matcher.store = hq->db.store;
  matcher.min_score = hq->min_score;
  matcher.cancellable = g_cancellable_new ();
  if (hq->match_every > 0)
    g_timeout_add_seconds ((guint) hq->match_every * 60, match_cb, &matcher);
  g_unix_signal_add (SIGTERM, quit_cb, loop);
  g_unix_signal_add (SIGINT, quit_cb, loop);
  g_main_loop_run (loop);
  /* The store stays open until a run of the matcher has stopped. */
  g_cancellable_cancel (matcher.cancellable);
  while (matcher.running)
    g_main_context_iteration (NULL, TRUE);
  g_clear_object (&matcher.cancellable);
  return 0;
}

static const RflCliCommand commands[] = {
  { "init",       cmd_init,       "create HQ's encrypted store and keys" },
  { "serve",      cmd_serve,      "answer devices over HTTP (--listen ADDR:PORT)" },
  { "enroll",     cmd_enroll,     "write a one-time enrollment token (--office NAME)" },
  { "passwd",     cmd_passwd,     "change HQ's passphrase (--new-passphrase-file FILE)" },
  { "revoke",     cmd_revoke,     "revoke a device, for good; it wipes itself when it next calls" },
  { "move",       cmd_move,       "move a device to another office (--office NAME)" },
  { "delete",     cmd_delete,     "delete a record everywhere, an open case too (--reason TEXT)" },
  { "matches",    cmd_matches,    "tell offices of the people another office may hold, without their data" },
  { "retention",  cmd_retention,  "how many days closed cases are kept before a purge (1826)" },
  { "devices",    cmd_devices,    "list enrolled devices" },
  { "status",     cmd_status,     "per device: last seen, seq, backlog" },
  { "audit",      cmd_audit,      "who sent and received what, from HQ's audit log" },
  { "bundle-in",  cmd_bundle_in,  "apply the device bundles in DIR (USB)" },
  { "bundle-out", cmd_bundle_out, "write bundles for an office's devices to DIR (USB)" },
};

static gboolean
check_options (gpointer data)
{
  Hq *hq = data;

  if (hq->dir == NULL)
    {
      rfl_cli_fail ("--dir DIR is required");
      return FALSE;
    }
  if (hq->match_every < 0)
    {
      rfl_cli_fail ("--match-every must be 0 (never) or a number of minutes");
      return FALSE;
    }
  if (hq->client_timeout < 1 || hq->rate <= 0)
    {
      rfl_cli_fail ("--client-timeout and --rate must be positive");
      return FALSE;
    }
  hq->db.path = g_build_filename (hq->dir, "hq.db", NULL);
  return TRUE;
}

int
main (int   argc,
      char *argv[])
{
  Hq hq = { .client_timeout = RFL_HQ_DEFAULT_CLIENT_TIMEOUT, .rate = RFL_HQ_DEFAULT_RATE,
            .min_score = DEFAULT_MIN_SCORE, .match_every = DEFAULT_MATCH_MINUTES };
  const GOptionEntry entries[] = {
    { "dir", 0, 0, G_OPTION_ARG_FILENAME, &hq.dir, "HQ's directory (required)", "DIR" },
    { "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &hq.db.passphrase_file,
      "Read HQ's passphrase from FILE (default: $REUNITE_PASSPHRASE_FILE, else ask)", "FILE" },
    { "listen", 0, 0, G_OPTION_ARG_STRING, &hq.listen, "serve: address and port (default "
      DEFAULT_LISTEN "; port 0 picks one)", "ADDR:PORT" },
    { "office", 0, 0, G_OPTION_ARG_STRING, &hq.office, "enroll, move, bundle-out: the office",
      "NAME" },
    { "reason", 0, 0, G_OPTION_ARG_STRING, &hq.reason, "delete: why, for the audit log", "TEXT" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &hq.device, "bundle-out: one device only", "ID" },
    { "url", 0, 0, G_OPTION_ARG_STRING, &hq.url, "enroll: the address devices reach HQ at", "URL" },
    { "ca", 0, 0, G_OPTION_ARG_FILENAME, &hq.ca, "enroll: the CA of HQ's TLS certificate", "FILE" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &hq.out, "enroll: write the token to FILE (required)",
      "FILE" },
    { "expires-hours", 0, 0, G_OPTION_ARG_INT, &hq.expires_hours, "enroll: token lifetime (72)",
      "N" },
    { "client-timeout", 0, 0, G_OPTION_ARG_INT, &hq.client_timeout,
      "serve: drop a connection idle this many seconds (30)", "S" },
    { "min-score", 0, 0, G_OPTION_ARG_DOUBLE, &hq.min_score,
      "matches, serve: tell offices of pairs scoring this or more (3)", "S" },
    { "match-every", 0, 0, G_OPTION_ARG_INT, &hq.match_every,
      "serve: tell offices of new pairs every N minutes; 0: never (10)", "N" },
    { "rate", 0, 0, G_OPTION_ARG_DOUBLE, &hq.rate, "serve: requests per second per device (50)",
      "N" },
    { "max-body", 0, 0, G_OPTION_ARG_INT64, &hq.max_body, "serve: largest request body in bytes",
      "N" },
    { "kdf", 0, 0, G_OPTION_ARG_STRING, &hq.db.kdf, "init: Argon2id limits", "LEVEL" },
    { "new-passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &hq.db.new_passphrase_file,
      "passwd: read the new passphrase from FILE", "FILE" },
    { NULL }
  };
  const RflCliProgram program = {
    .name = "reunite-hq",
    .summary = "Reunite headquarters: the sync endpoint and its operator commands.",
    .entries = entries,
    .commands = commands,
    .n_commands = G_N_ELEMENTS (commands),
    .store = &hq.db,
    .check = check_options,
    .data = &hq,
  };
  int rc = rfl_cli_main (&program, argc, argv);

  g_free (hq.dir);
  g_free (hq.listen);
  g_free (hq.office);
  g_free (hq.reason);
  g_free (hq.url);
  g_free (hq.ca);
  g_free (hq.out);
  g_free (hq.device);
  return rc;
}
