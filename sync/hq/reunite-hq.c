/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * reunite-hq: the headquarters endpoint devices sync with, and the commands
 * its operators run. HQ keeps its own encrypted store (data/) with every
 * office's records, and relays to each device only its office's scope.
 * This file is the command line: what `serve` answers devices with is
 * RflHqServer (rfl-hq-server.c).
 */
#define G_LOG_DOMAIN "reunite-hq"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "rfl-cli.h"
#include "rfl-file.h"
#include "rfl-envelope.h"
#include "rfl-hq-server.h"
#include "rfl-json.h"
#include "rfl-secret.h"
#include "rfl-store-sync.h"
#include "rfl-sync.h"

#define DEFAULT_LISTEN          "127.0.0.1:8470"
#define MAX_CA_BYTES            (1024 * 1024)
#define TOKEN_HOURS_DEFAULT     72

typedef struct
{
  char      *dir;
  char      *passphrase_file;
  char      *listen;
  char      *office;
  char      *reason;
  char      *url;
  char      *ca;
  char      *out;
  char      *device;
  char      *kdf;
  char      *new_passphrase_file;
  int        expires_hours;
  int        client_timeout;
  double     rate;
  gint64     max_body;
  RflStore  *store;
} Hq;

static char *
db_path (Hq *hq)
{
  return g_build_filename (hq->dir, "hq.db", NULL);
}

static RflSecret *
passphrase (Hq          *hq,
            const char  *prompt,
            GError     **error)
{
  return hq->passphrase_file != NULL ? rfl_secret_read_file (hq->passphrase_file, error)
                                     : rfl_secret_prompt (prompt, error);
}

static int
open_store (Hq *hq)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflSecret) secret = NULL;
  g_autofree char *path = db_path (hq);

  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    return rfl_cli_fail ("no HQ store in %s; run 'reunite-hq --dir %s init' first", hq->dir, hq->dir);
  if ((secret = passphrase (hq, "HQ passphrase: ", &error)) == NULL ||
      (hq->store = rfl_store_open (path, secret->data, secret->len, &error)) == NULL)
    return rfl_cli_fail_error (error);
  rfl_store_set_actor (hq->store, "hq-operator");
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
cmd_init (Hq    *hq,
          char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflSecret) secret = NULL, again = NULL;
  g_autofree char *path = db_path (hq);
  g_autoptr(JsonObject) out = json_object_new ();
  RflKdfLevel level = g_strcmp0 (hq->kdf, "interactive") == 0 ? RFL_KDF_INTERACTIVE :
                      g_strcmp0 (hq->kdf, "sensitive") == 0 ? RFL_KDF_SENSITIVE : RFL_KDF_MODERATE;

  if (args[0] != NULL)
    return rfl_cli_fail ("usage: --dir DIR init");
  if (g_mkdir_with_parents (hq->dir, 0700) != 0)
    return rfl_cli_fail ("cannot create %s: %s", hq->dir, g_strerror (errno));
  if (hq->passphrase_file != NULL)
    secret = rfl_secret_read_file (hq->passphrase_file, &error);
  else if ((secret = rfl_secret_prompt ("New HQ passphrase: ", &error)) != NULL &&
           (again = rfl_secret_prompt ("Repeat it: ", &error)) != NULL &&
           (secret->len != again->len || sodium_memcmp (secret->data, again->data, secret->len) != 0))
    return rfl_cli_fail ("the passphrases differ");
  if (secret == NULL)
    return rfl_cli_fail_error (error);
  if ((hq->store = rfl_store_create (path, secret->data, secret->len, level, &error)) == NULL)
    return rfl_cli_fail_error (error);
  json_object_set_string_member (out, "hq_id", rfl_store_get_device_id (hq->store));
  json_object_set_string_member (out, "db", path);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_enroll (Hq    *hq,
            char **args)
{
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
  token = rfl_enroll_token_new (hq->store, hq->office, hq->url, ca,
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
cmd_passwd (Hq    *hq,
            char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflSecret) old = NULL, new = NULL;
  g_autofree char *path = db_path (hq);
  g_autoptr(RflStore) store = NULL;

  if (args[0] != NULL || hq->new_passphrase_file == NULL)
    return rfl_cli_fail ("usage: passwd --new-passphrase-file FILE");
  if ((old = passphrase (hq, "HQ passphrase: ", &error)) == NULL ||
      (new = rfl_secret_read_file (hq->new_passphrase_file, &error)) == NULL ||
      (store = rfl_store_open (path, old->data, old->len, &error)) == NULL ||
      !rfl_store_change_passphrase (store, old->data, old->len, new->data, new->len, RFL_KDF_MODERATE, &error))
    return rfl_cli_fail_error (error);
  g_print ("{\"passphrase\":\"changed\"}\n");
  return 0;
}

static int
cmd_revoke (Hq    *hq,
            char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  int rc;

  if (args[0] == NULL || args[1] != NULL)
    return rfl_cli_fail ("usage: revoke DEVICE");
  if ((rc = open_store (hq)) != 0)
    return rc;
  if (!rfl_store_set_peer_status (hq->store, args[0], "revoked", &error))
    return rfl_cli_fail_error (error);
  json_object_set_string_member (out, "revoked", args[0]);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_delete (Hq    *hq,
            char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  int rc;

  if (args[0] == NULL || args[1] != NULL || hq->reason == NULL || *hq->reason == '\0')
    return rfl_cli_fail ("usage: delete --reason TEXT RECORD");
  if ((rc = open_store (hq)) != 0)
    return rc;
  if (!rfl_store_delete_as_operator (hq->store, args[0], hq->reason, &error))
    return rfl_cli_fail_error (error);
  json_object_set_string_member (out, "deleted", args[0]);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_move (Hq    *hq,
          char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  int rc;

  if (args[0] == NULL || args[1] != NULL || hq->office == NULL)
    return rfl_cli_fail ("usage: move --office NAME DEVICE");
  if ((rc = open_store (hq)) != 0)
    return rc;
  if (!rfl_store_move_peer (hq->store, args[0], hq->office, &error))
    return rfl_cli_fail_error (error);
  json_object_set_string_member (out, "moved", args[0]);
  json_object_set_string_member (out, "office", hq->office);
  rfl_cli_print_object (out);
  return 0;
}

static int
cmd_retention (Hq    *hq,
               char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  guint64 days = 0;
  int rc;

  if (args[0] == NULL || args[1] != NULL || !g_ascii_string_to_unsigned (args[0], 10, 0, 36500, &days, NULL))
    return rfl_cli_fail ("usage: retention DAYS (0 to 36500)");
  if ((rc = open_store (hq)) != 0)
    return rc;
  if (!rfl_store_set_retention_days (hq->store, (gint) days, &error))
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
  if ((peers = rfl_store_list_peers (hq->store, "device", &error)) == NULL)
    return rfl_cli_fail_error (error);
  for (guint i = 0; i < peers->len; i++)
    {
      g_autoptr(JsonObject) obj = peer_json (hq->store, g_ptr_array_index (peers, i), detail);
      rfl_cli_print_object (obj);
    }
  return 0;
}

static int
cmd_devices (Hq    *hq,
             char **args)
{
  return args[0] != NULL ? rfl_cli_fail ("usage: devices") : list_devices (hq, FALSE);
}

static int
cmd_status (Hq    *hq,
            char **args)
{
  return args[0] != NULL ? rfl_cli_fail ("usage: status") : list_devices (hq, TRUE);
}

static int
cmd_audit (Hq    *hq,
           char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) entries = NULL;
  gint64 broken = 0;
  int rc;

  if (args[0] != NULL)
    return rfl_cli_fail ("usage: audit");
  if ((rc = open_store (hq)) != 0)
    return rc;
  if (!rfl_store_audit_verify (hq->store, &broken, NULL, &error))
    return rfl_cli_fail_error (error);
  if (broken != 0)
    return rfl_cli_fail ("the audit log was tampered with at entry %" G_GINT64_FORMAT, broken);
  if ((entries = rfl_store_audit_list (hq->store, &error)) == NULL)
    return rfl_cli_fail_error (error);
  for (guint i = 0; i < entries->len; i++)
    rfl_cli_print_object (g_ptr_array_index (entries, i));
  return 0;
}

/* USB. */

static int
cmd_bundle_out (Hq    *hq,
                char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) peers = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  guint written = 0, notices = 0;
  int rc;

  if (args[0] == NULL || args[1] != NULL || (hq->office == NULL && hq->device == NULL))
    return rfl_cli_fail ("usage: bundle-out --office NAME | --device ID  DIR");
  if (!g_file_test (args[0], G_FILE_TEST_IS_DIR))
    return rfl_cli_fail ("%s is not a directory", args[0]);
  if ((rc = open_store (hq)) != 0)
    return rc;
  if ((peers = rfl_store_list_peers (hq->store, "device", &error)) == NULL)
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
          g_autoptr(GBytes) notice = rfl_sync_notice_new (hq->store, peer->id, &error);
          g_autofree char *name = g_strdup_printf ("hq-to-%s-revoked.rfln", peer->id);

          if (notice == NULL || !rfl_sync_write_bundle (args[0], name, notice, &error))
            return rfl_cli_fail_error (error);
          notices++;
          continue;
        }
      /* Everything the device has not confirmed, then what is new. */
      fresh = rfl_sync_hub_seal (hq->store, peer->id, TRUE, &error);
      if (fresh == NULL && error != NULL)
        return rfl_cli_fail_error (error);
      if ((outbox = rfl_store_outbox_list (hq->store, peer->id, &error)) == NULL)
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
cmd_bundle_in (Hq    *hq,
               char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) files = NULL;
  g_autoptr(JsonObject) out = NULL;
  RflSyncReport report = { 0 };
  guint rejected = 0;
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
      if ((bytes = rfl_file_read (path, RFL_ENVELOPE_MAX_BYTES, RFL_FILE_REGULAR, &local)) == NULL)
        {
          g_printerr ("reunite-hq: %s: %s\n", base, local->message);
          rejected++;
          continue;
        }
      receipt = rfl_sync_hub_accept (hq->store, bytes, TRUE, &report, &local);
      if (local != NULL && !g_error_matches (local, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REPLAY))
        {
          g_printerr ("reunite-hq: %s: %s\n", base, local->message);
          rejected++;
        }
      else if (local != NULL)
        report.duplicates++;
    }
  out = rfl_sync_report_to_json (&report);
  json_object_set_int_member (out, "rejected_bundles", rejected);
  rfl_cli_print_object (out);
  return rejected > 0 ? 1 : 0;
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

static int
cmd_serve (Hq    *hq,
           char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  g_autoptr(RflHqServer) server = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  g_autofree char *where = NULL;
  const char *listen = hq->listen != NULL ? hq->listen : DEFAULT_LISTEN;
  int rc;

  if (args[0] != NULL)
    return rfl_cli_fail ("usage: serve [--listen ADDR:PORT]");
  if (!parse_listen (listen, &address))
    return rfl_cli_fail ("--listen wants ADDRESS:PORT, like 127.0.0.1:8470");
  if ((rc = open_store (hq)) != 0)
    return rc;
  if ((server = rfl_hq_server_new (hq->store, &error)) == NULL)
    return rfl_cli_fail_error (error);
  rfl_hq_server_set_client_timeout (server, (guint) hq->client_timeout);
  rfl_hq_server_set_rate (server, hq->rate);
  rfl_hq_server_set_max_body (server, MAX (hq->max_body, 0));
  if (!rfl_hq_server_listen (server, address, &effective, &error))
    return rfl_cli_fail ("cannot listen on %s: %s", listen, error->message);

  where = address_text (effective);
  json_object_set_string_member (out, "listening", where);
  json_object_set_string_member (out, "hq_id", rfl_store_get_device_id (hq->store));
  rfl_cli_print_object (out);

  loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGTERM, quit_cb, loop);
  g_unix_signal_add (SIGINT, quit_cb, loop);
  g_main_loop_run (loop);
  return 0;
}

static const struct
{
  const char *name;
  int       (*run) (Hq *hq, char **args);
  const char *help;
} commands[] = {
  { "init",       cmd_init,       "create HQ's encrypted store and keys" },
  { "serve",      cmd_serve,      "answer devices over HTTP (--listen ADDR:PORT)" },
  { "enroll",     cmd_enroll,     "write a one-time enrollment token (--office NAME)" },
  { "passwd",     cmd_passwd,     "change HQ's passphrase (--new-passphrase-file FILE)" },
  { "revoke",     cmd_revoke,     "revoke a device, for good; it wipes itself when it next calls" },
  { "move",       cmd_move,       "move a device to another office (--office NAME)" },
  { "delete",     cmd_delete,     "delete a record everywhere, an open case too (--reason TEXT)" },
  { "retention",  cmd_retention,  "how many days closed cases are kept before a purge (1826)" },
  { "devices",    cmd_devices,    "list enrolled devices" },
  { "status",     cmd_status,     "per device: last seen, seq, backlog" },
  { "audit",      cmd_audit,      "who sent and received what, from HQ's audit log" },
  { "bundle-in",  cmd_bundle_in,  "apply the device bundles in DIR (USB)" },
  { "bundle-out", cmd_bundle_out, "write bundles for an office's devices to DIR (USB)" },
};

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) summary = g_string_new ("Commands:\n");
  g_auto(GStrv) args = NULL;
  Hq hq = { .client_timeout = RFL_HQ_DEFAULT_CLIENT_TIMEOUT, .rate = RFL_HQ_DEFAULT_RATE };
  int rc = 2;
  const GOptionEntry entries[] = {
    { "dir", 0, 0, G_OPTION_ARG_FILENAME, &hq.dir, "HQ's directory (required)", "DIR" },
    { "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &hq.passphrase_file,
      "Read HQ's passphrase from FILE (default: $REUNITE_PASSPHRASE_FILE, else ask)", "FILE" },
    { "listen", 0, 0, G_OPTION_ARG_STRING, &hq.listen, "serve: address and port (default "
      DEFAULT_LISTEN "; port 0 picks one)", "ADDR:PORT" },
    { "office", 0, 0, G_OPTION_ARG_STRING, &hq.office, "enroll, move, bundle-out: the office", "NAME" },
    { "reason", 0, 0, G_OPTION_ARG_STRING, &hq.reason, "delete: why, for the audit log", "TEXT" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &hq.device, "bundle-out: one device only", "ID" },
    { "url", 0, 0, G_OPTION_ARG_STRING, &hq.url, "enroll: the address devices reach HQ at", "URL" },
    { "ca", 0, 0, G_OPTION_ARG_FILENAME, &hq.ca, "enroll: the CA of HQ's TLS certificate", "FILE" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME, &hq.out, "enroll: write the token to FILE (required)", "FILE" },
    { "expires-hours", 0, 0, G_OPTION_ARG_INT, &hq.expires_hours, "enroll: token lifetime (72)", "N" },
    { "client-timeout", 0, 0, G_OPTION_ARG_INT, &hq.client_timeout,
      "serve: drop a connection idle this many seconds (30)", "S" },
    { "rate", 0, 0, G_OPTION_ARG_DOUBLE, &hq.rate, "serve: requests per second per device (50)", "N" },
    { "max-body", 0, 0, G_OPTION_ARG_INT64, &hq.max_body, "serve: largest request body in bytes", "N" },
    { "kdf", 0, 0, G_OPTION_ARG_STRING, &hq.kdf, "init: Argon2id limits", "LEVEL" },
    { "new-passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &hq.new_passphrase_file,
      "passwd: read the new passphrase from FILE", "FILE" },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &args, NULL, "COMMAND [ARGS…]" },
    { NULL }
  };

  rfl_process_harden ();

  g_set_prgname ("reunite-hq");
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
  g_option_context_set_summary (context, "Reunite headquarters: the sync endpoint and its operator commands.");
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
  if (hq.dir == NULL)
    {
      rfl_cli_fail ("--dir DIR is required");
      goto out;
    }
  if (hq.client_timeout < 1 || hq.rate <= 0)
    {
      rfl_cli_fail ("--client-timeout and --rate must be positive");
      goto out;
    }
  if (hq.passphrase_file == NULL && g_getenv ("REUNITE_PASSPHRASE_FILE") != NULL)
    hq.passphrase_file = g_strdup (g_getenv ("REUNITE_PASSPHRASE_FILE"));

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (args[0], commands[i].name))
      {
        rc = commands[i].run (&hq, args + 1);
        goto out;
      }
  rfl_cli_fail ("unknown command '%s'; see --help", args[0]);

out:
  if (fflush (stdout) != 0 && rc == 0)
    rc = rfl_cli_fail ("cannot write the output: %s", g_strerror (errno));
  g_clear_object (&hq.store);
  g_free (hq.dir);
  g_free (hq.passphrase_file);
  g_free (hq.listen);
  g_free (hq.office);
  g_free (hq.reason);
  g_free (hq.url);
  g_free (hq.ca);
  g_free (hq.out);
  g_free (hq.device);
  g_free (hq.kdf);
  g_free (hq.new_passphrase_file);
  return rc;
}
