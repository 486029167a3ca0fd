/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * reunite-hq: the headquarters endpoint devices sync with, and the commands
 * its operators run. HQ keeps its own encrypted store (data/) with every
 * office's records, and relays to each device only its office's scope.
 */
#define G_LOG_DOMAIN "reunite-hq"

#include <errno.h>
#include <gio/gio.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <locale.h>
#include <malloc.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "rfl-cli.h"
#include "rfl-file.h"
#include "rfl-envelope.h"
#include "rfl-json.h"
#include "rfl-request-auth.h"
#include "rfl-secret.h"
#include "rfl-store-sync.h"
#include "rfl-sync.h"

#define DEFAULT_LISTEN          "127.0.0.1:8470"
#define DEFAULT_CLIENT_TIMEOUT  30
#define DEFAULT_RATE            50.0     /* requests per second per device, sustained */
#define DEFAULT_BURST           200.0
#define MAX_BUCKETS             10000
/* Connections at once, in all and from one address, and how long a
 * request's headers may take to arrive, however slowly they trickle. */
#define MAX_CONNECTIONS         512
#define MAX_CONNECTIONS_PER_ADDRESS 64
#define HEADER_TIMEOUT_S        10
#define MAX_ENROLL_BODY         4096
#define MAX_REBASE_BODY         256
#define MAX_PUSH_BODY           RFL_ENVELOPE_MAX_BYTES
#define MAX_CA_BYTES            (1024 * 1024)
/* Request bodies being received at once, from anyone: bodies are read
 * before the signature over them can be checked, so this bounds what
 * unauthenticated clients can make HQ hold. Four of the largest pushes. */
#define MAX_INFLIGHT_BODIES     (4 * (gint64) MAX_PUSH_BODY)
#define REPLAY_CACHE_ENTRIES    200000
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

typedef struct
{
  double tokens;
  gint64 last;
} Bucket;

typedef struct
{
  Hq             *hq;
  SoupServer     *server;
  GSocketService *service;
  RflReplayCache *replays;
  GHashTable     *buckets;
  GMainLoop      *loop;
  gint64          inflight;   /* bytes of request bodies being received */
  guint           n_connections;
  GHashTable     *per_address; /* address -> connections open from it */
  GHashTable     *by_socket;   /* GSocket -> Connection */
} Server;

static void
respond_error (SoupServerMessage *msg,
               guint              status,
               const char        *code,
               const char        *message)
{
  g_autoptr(JsonObject) obj = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  char *text;

  json_object_set_string_member (obj, "error", message);
  json_object_set_string_member (obj, "code", code);
  node = json_node_init_object (json_node_alloc (), obj);
  text = json_to_string (node, FALSE);
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, text, strlen (text));
}

static void
respond_json (SoupServerMessage *msg,
              JsonObject        *obj)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), obj);
  char *text = json_to_string (node, FALSE);

  soup_server_message_set_status (msg, 200, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE, text, strlen (text));
}

static void
respond_bytes (SoupServerMessage *msg,
               guint              status,
               const char        *type,
               GBytes            *bytes)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, type, SOUP_MEMORY_COPY, g_bytes_get_data (bytes, NULL),
                                    g_bytes_get_size (bytes));
}

static const char *
sync_error_code (const GError *error)
{
  static const char * const names[] = {
    "too_large", "malformed", "unsupported", "bad_signature", "chain", "not_recipient",
    "corrupt_payload", "unauthenticated", "stale", "replay", "rollback", "revoked",
    "not_enrolled", "network", "refused",
  };

  if (error->domain == RFL_SYNC_ERROR && error->code >= 0 && (gsize) error->code < G_N_ELEMENTS (names))
    return names[error->code];
  if (error->domain == RFL_STORE_ERROR && error->code == RFL_STORE_ERROR_NOT_FOUND)
    return "not_found";
  if (error->domain == RFL_STORE_ERROR && error->code == RFL_STORE_ERROR_TRANSITION)
    return "refused";
  return "internal";
}

static guint
sync_error_status (const GError *error)
{
  if (error->domain == RFL_SYNC_ERROR)
    switch (error->code)
      {
      case RFL_SYNC_ERROR_TOO_LARGE:
        return 413;
      case RFL_SYNC_ERROR_CHAIN:
      case RFL_SYNC_ERROR_REPLAY:
        return 409;
      case RFL_SYNC_ERROR_UNAUTHENTICATED:
      case RFL_SYNC_ERROR_BAD_SIGNATURE:
      case RFL_SYNC_ERROR_STALE:
        return 401;
      case RFL_SYNC_ERROR_REVOKED:
        return 403;
      default:
        return 400;
      }
  if (error->domain == RFL_STORE_ERROR &&
      (error->code == RFL_STORE_ERROR_NOT_FOUND || error->code == RFL_STORE_ERROR_TRANSITION))
    return 403;
  return 500;
}

static void
respond_gerror (SoupServerMessage *msg,
                const GError      *error)
{
  guint status = sync_error_status (error);

  respond_error (msg, status, sync_error_code (error), status >= 500 ? "internal error" : error->message);
  if (status >= 500)
    g_warning ("%s", error->message);
}

/* A token bucket per key: "device:ID" for what a device's verified
 * requests cost, "addr:ADDRESS" for what an address spends without being a
 * known device (failed authentication, enrollment). A header anyone can
 * write is never a key. With @take FALSE, only whether a request may come. */
static gboolean
rate_ok_full (Server     *s,
              const char *key,
              gboolean    take)
{
  gint64 now = g_get_monotonic_time ();
  Bucket *b = g_hash_table_lookup (s->buckets, key);

  if (b == NULL)
    {
      if (g_hash_table_size (s->buckets) >= MAX_BUCKETS)
        {
          GHashTableIter iter;
          gpointer value;

          /* Forget buckets that have refilled; they hold no information. */
          g_hash_table_iter_init (&iter, s->buckets);
          while (g_hash_table_iter_next (&iter, NULL, &value))
            if ((now - ((Bucket *) value)->last) / 1e6 * s->hq->rate >= DEFAULT_BURST)
              g_hash_table_iter_remove (&iter);
          if (g_hash_table_size (s->buckets) >= MAX_BUCKETS)
            return FALSE;
        }
      b = g_new (Bucket, 1);
      b->tokens = DEFAULT_BURST;
      b->last = now;
      g_hash_table_insert (s->buckets, g_strdup (key), b);
    }
  b->tokens = MIN (DEFAULT_BURST, b->tokens + (now - b->last) / 1e6 * s->hq->rate);
  b->last = now;
  if (b->tokens < 1.0)
    return FALSE;
  if (take)
    b->tokens -= 1.0;
  return TRUE;
}

static gboolean
rate_ok (Server     *s,
         const char *key)
{
  return rate_ok_full (s, key, TRUE);
}

static char *
address_key (SoupServerMessage *msg)
{
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);
  g_autofree char *address = NULL;

  if (G_IS_INET_SOCKET_ADDRESS (remote))
    address = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  return g_strconcat ("addr:", address != NULL ? address : "?", NULL);
}

static void
respond_rate_limited (SoupServerMessage *msg)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Retry-After", "1");
  respond_error (msg, 429, "rate_limited", "too many requests; slow down");
}

static gint64
body_limit (const char *path)
{
  if (g_str_equal (path, "/v1/enroll"))
    return MAX_ENROLL_BODY;
  if (g_str_equal (path, "/v1/push"))
    return MAX_PUSH_BODY;
  if (g_str_equal (path, "/v1/rebase"))
    return MAX_REBASE_BODY;
  return 0;
}

typedef struct
{
  Server   *server;
  gint64    length;
  gboolean  done;
} Inflight;

/* The message is answered, or its client went away: once either way. */
static void
body_done_cb (SoupServerMessage *msg,
              gpointer           user_data)
{
  Inflight *in = user_data;

  if (in->done)
    return;
  in->done = TRUE;
  in->server->inflight -= in->length;
  /* Give large bodies' memory back to the system, not to the heap. */
  if (in->length >= 1024 * 1024)
    malloc_trim (0);
}

/* With the message, whatever happened to it: the budget never leaks. */
static void
inflight_free (gpointer data)
{
  body_done_cb (NULL, data);
  g_free (data);
}

typedef struct
{
  Server  *server;
  char    *address;
  GSocket *socket;     /* borrowed: the connection holds it */
  guint    header_timer;
} Connection;

static void
connection_gone (gpointer  data,
                 GObject  *where_the_object_was)
{
  Connection *c = data;
  guint n;

  if (c->header_timer != 0)
    g_source_remove (c->header_timer);
  if (c->server->per_address == NULL)
    {
      g_free (c->address);
      g_free (c);
      return;
    }
  g_hash_table_remove (c->server->by_socket, c->socket);
  n = GPOINTER_TO_UINT (g_hash_table_lookup (c->server->per_address, c->address));
  c->server->n_connections--;
  if (n <= 1)
    g_hash_table_remove (c->server->per_address, c->address);
  else
    g_hash_table_insert (c->server->per_address, g_strdup (c->address), GUINT_TO_POINTER (n - 1));
  g_free (c->address);
  g_free (c);
}

/* A request whose headers have not all arrived in time: its connection
 * is closed, however steadily they trickle in. */
static gboolean
header_timeout_cb (gpointer user_data)
{
  Connection *c = user_data;

  c->header_timer = 0;
  g_socket_shutdown (c->socket, TRUE, TRUE, NULL);
  return G_SOURCE_REMOVE;
}

static Connection *
connection_of (Server            *s,
               SoupServerMessage *msg)
{
  GSocket *socket = soup_server_message_get_socket (msg);

  return socket != NULL ? g_hash_table_lookup (s->by_socket, socket) : NULL;
}

/* The headers of a request are in: the body has its own limits. */
static void
cancel_header_timer (Server            *s,
                     SoupServerMessage *msg)
{
  Connection *c = connection_of (s, msg);

  if (c != NULL && c->header_timer != 0)
    {
      g_source_remove (c->header_timer);
      c->header_timer = 0;
    }
}

/* A request answered: the next one on the connection has the same time
 * for its headers. */
static void
request_over_cb (SoupServer        *server,
                 SoupServerMessage *msg,
                 gpointer           user_data)
{
  Connection *c = connection_of (user_data, msg);

  if (c != NULL && c->header_timer == 0)
    c->header_timer = g_timeout_add_seconds (HEADER_TIMEOUT_S, header_timeout_cb, c);
}

/* libsoup reads a request's body whatever the answer set from the early
 * handler: to spare HQ a body it refuses, the answer is written here and
 * the connection closed, so not a byte more of it is read. */
static void
refuse_and_close (SoupServerMessage *msg,
                  const char        *status_line,
                  const char        *code,
                  const char        *message)
{
  g_autoptr(GIOStream) io = soup_server_message_steal_connection (msg);
  g_autofree char *body = g_strdup_printf ("{\"error\":\"%s\",\"code\":\"%s\"}", message, code);
  g_autofree char *text = g_strdup_printf ("HTTP/1.1 %s\r\nContent-Type: application/json\r\nRetry-After: 5\r\n"
                                           "Connection: close\r\nContent-Length: %zu\r\n\r\n%s",
                                           status_line, strlen (body), body);

  if (io == NULL)
    return;
  g_output_stream_write_all (g_io_stream_get_output_stream (io), text, strlen (text), NULL, NULL, NULL);
  g_io_stream_close (io, NULL, NULL);
}

/* Runs once the headers are in, before any of the body is read: an
 * oversized or unlimited body is refused here, so with Expect: 100-continue
 * the client never sends it. */
static void
early_handler (SoupServer        *server,
               SoupServerMessage *msg,
               const char        *path,
               GHashTable        *query,
               gpointer           user_data)
{
  Server *s = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  g_autofree char *key = address_key (msg);
  gint64 limit = body_limit (path);
  goffset length;

  /* The headers are in: the body has its own limits. */
  cancel_header_timer (s, msg);

  /* An address that has spent its unauthenticated requests waits. Whose
   * request it is, the headers cannot say yet: they are unverified. */
  /* Two Content-Lengths, or one that is not a number: libsoup would wait
   * for a body it cannot delimit until the connection times out. */
  {
    const char *declared = soup_message_headers_get_list (headers, "Content-Length");
    gsize digits = declared != NULL ? strspn (declared, "0123456789") : 0;

    if (declared != NULL && (digits == 0 || digits > 18 || declared[digits] != '\0'))
      {
        refuse_and_close (msg, "400 Bad Request", "malformed", "the Content-Length must be one number");
        return;
      }
  }
  length = soup_message_headers_get_content_length (headers);
  if (!rate_ok_full (s, key, FALSE))
    {
      if (length > 0 || soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CHUNKED)
        refuse_and_close (msg, "429 Too Many Requests", "rate_limited", "too many requests; slow down");
      else
        respond_rate_limited (msg);
      return;
    }

  /* A body HQ refuses is not read: the connection is closed after the answer. */
  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CHUNKED)
    {
      refuse_and_close (msg, "411 Length Required", "length_required", "send a Content-Length, not a chunked body");
      return;
    }
  if (length > (s->hq->max_body > 0 ? MIN (limit, s->hq->max_body) : limit))
    {
      refuse_and_close (msg, "413 Content Too Large", "too_large", "the request body is too large");
      return;
    }
  if (g_str_equal (soup_server_message_get_method (msg), "POST") &&
      soup_message_headers_get_encoding (headers) != SOUP_ENCODING_CONTENT_LENGTH)
    {
      respond_error (msg, 411, "length_required", "a Content-Length is required");
      return;
    }
  if (length > 0)
    {
      Inflight *in;

      if (s->inflight + length > MAX_INFLIGHT_BODIES)
        {
          refuse_and_close (msg, "503 Service Unavailable", "busy", "HQ is receiving too much at once; try again shortly");
          return;
        }
      in = g_new0 (Inflight, 1);
      in->server = s;
      in->length = length;
      s->inflight += length;
      g_object_set_data_full (G_OBJECT (msg), "rfl-inflight", in, inflight_free);
      g_signal_connect (msg, "finished", G_CALLBACK (body_done_cb), in);
      g_signal_connect (msg, "disconnected", G_CALLBACK (body_done_cb), in);
    }
}

/* Authenticates a request by its device signature. On failure the response
 * is set and NULL returned. */
static RflPeer *
authenticate (Server            *s,
              SoupServerMessage *msg,
              GBytes            *body)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  RflRequestAuth auth = {
    .device = (char *) soup_message_headers_get_one (headers, RFL_REQUEST_HEADER_DEVICE),
    .time = (char *) soup_message_headers_get_one (headers, RFL_REQUEST_HEADER_TIME),
    .nonce = (char *) soup_message_headers_get_one (headers, RFL_REQUEST_HEADER_NONCE),
    .signature = (char *) soup_message_headers_get_one (headers, RFL_REQUEST_HEADER_SIGNATURE),
  };
  GUri *uri = soup_server_message_get_uri (msg);
  g_autofree char *path = g_uri_get_query (uri) != NULL ?
    g_strconcat (g_uri_get_path (uri), "?", g_uri_get_query (uri), NULL) : g_strdup (g_uri_get_path (uri));
  g_autoptr(RflPeer) peer = NULL;
  g_autoptr(GError) error = NULL;
  gsize len = 0;
  const guint8 *data = body != NULL ? g_bytes_get_data (body, &len) : NULL;

  g_autofree char *address = address_key (msg);
  g_autofree char *device_key = NULL;
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  if (auth.device == NULL || (peer = rfl_store_get_peer (s->hq->store, auth.device, NULL)) == NULL ||
      g_strcmp0 (peer->role, "device") != 0)
    {
      rate_ok (s, address);
      respond_error (msg, 401, "unauthenticated", "the request is not from an enrolled device");
      return NULL;
    }
  if (!rfl_request_auth_verify (&auth, soup_server_message_get_method (msg), path, data, len,
                                peer->sign_pk, now, s->replays, &error))
    {
      rate_ok (s, address);
      respond_error (msg, error->code == RFL_SYNC_ERROR_REPLAY ? 409 : 401, sync_error_code (error),
                     error->message);
      return NULL;
    }
  /* Only a verified request counts against its device. */
  device_key = g_strconcat ("device:", peer->id, NULL);
  if (!rate_ok (s, device_key))
    {
      respond_rate_limited (msg);
      return NULL;
    }
  /* Remembered durably before anything is done for it: replayed after a
   * restart, it is refused. */
  if (!rfl_store_accept_request (s->hq->store, peer->id, auth.nonce, rfl_request_auth_expiry (now), now, &error))
    {
      if (g_error_matches (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION))
        respond_error (msg, 409, "replay", error->message);
      else
        respond_gerror (msg, error);
      return NULL;
    }
  if (g_strcmp0 (peer->status, "active") != 0)
    {
      g_autoptr(GBytes) notice = rfl_sync_notice_new (s->hq->store, peer->id, &error);

      if (notice != NULL)
        respond_bytes (msg, 403, "application/vnd.reunite.notice", notice);
      else
        respond_gerror (msg, error);
      return NULL;
    }
  return g_steal_pointer (&peer);
}

static void
remember_request (const char *device,
                  const char *nonce,
                  gint64      expires,
                  gpointer    user_data)
{
  rfl_replay_cache_add (user_data, device, nonce, expires);
}

static GBytes *
request_body (SoupServerMessage *msg)
{
  return soup_message_body_flatten (soup_server_message_get_request_body (msg));
}

static void
handle_enroll (Server            *s,
               SoupServerMessage *msg)
{
  g_autoptr(GBytes) body = request_body (msg);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = NULL;
  g_autofree char *address = address_key (msg);

  /* Nobody is known yet: enrolling costs the address. */
  if (!rate_ok (s, address))
    {
      respond_rate_limited (msg);
      return;
    }
  if ((out = rfl_enroll_accept (s->hq->store, body, &error)) == NULL)
    respond_gerror (msg, error);
  else
    respond_json (msg, out);
}

static void
handle_push (Server            *s,
             SoupServerMessage *msg)
{
  g_autoptr(GBytes) body = request_body (msg);
  g_autoptr(RflPeer) peer = authenticate (s, msg, body);
  g_autoptr(GError) error = NULL;
  g_autoptr(RflEnvelope) env = NULL;
  g_autoptr(JsonObject) receipt = NULL;
  g_autofree char *sender = NULL;
  RflSyncReport report = { 0 };

  if (peer == NULL)
    return;
  /* A device pushes its own bundles only. */
  if ((env = rfl_envelope_parse (body, &error)) == NULL)
    {
      respond_gerror (msg, error);
      return;
    }
  sender = rfl_sync_id_to_hex (rfl_envelope_get_sender (env));
  if (g_strcmp0 (sender, peer->id) != 0)
    {
      respond_error (msg, 403, "not_sender", "a device may only push its own bundles");
      return;
    }
  if ((receipt = rfl_sync_hub_accept (s->hq->store, body, FALSE, &report, &error)) == NULL)
    {
      if (error == NULL)
        g_set_error_literal (&error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_CHAIN, "the bundle was not applied");
      respond_gerror (msg, error);
      return;
    }
  respond_json (msg, receipt);
}

static void
handle_pull (Server            *s,
             SoupServerMessage *msg,
             GHashTable        *query)
{
  g_autoptr(RflPeer) peer = authenticate (s, msg, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bundle = NULL;
  const char *have_text = query != NULL ? g_hash_table_lookup (query, "have") : NULL;
  const char *after_text = query != NULL ? g_hash_table_lookup (query, "after") : NULL;
  guint64 have = 0, after = 0;

  if (peer == NULL)
    return;
  if (have_text == NULL || !g_ascii_string_to_unsigned (have_text, 10, 0, G_MAXINT64, &have, NULL))
    {
      respond_error (msg, 400, "malformed", "give have=N, the last bundle applied");
      return;
    }
  if (after_text == NULL)
    after = have;
  else if (!g_ascii_string_to_unsigned (after_text, 10, 0, G_MAXINT64, &after, NULL))
    {
      respond_error (msg, 400, "malformed", "after=N must be the last bundle received");
      return;
    }
  /* A device only ever moves forward: one that says it applied less than
   * it said before runs on an older copy of its database. */
  if (have >= peer->out_next)
    {
      g_autofree char *text = g_strdup_printf ("HQ has sent this device %" G_GUINT64_FORMAT " bundles, not %"
                                               G_GUINT64_FORMAT "; HQ's database is an older copy: re-base",
                                               peer->out_next - 1, have);

      respond_error (msg, 409, "replay", text);
      return;
    }
  if (have < peer->acked)
    {
      g_autofree char *text = g_strdup_printf ("this device applied bundle %" G_GUINT64_FORMAT " before; its database"
                                               " is an older copy: re-base", peer->acked);

      respond_error (msg, 409, "replay", text);
      return;
    }
  bundle = rfl_sync_hub_next (s->hq->store, peer->id, have, after, FALSE, &error);
  if (bundle != NULL)
    respond_bytes (msg, 200, "application/vnd.reunite.envelope", bundle);
  else if (error != NULL)
    respond_gerror (msg, error);
  else
    soup_server_message_set_status (msg, 204, NULL);
}

static void
handle_roster (Server            *s,
               SoupServerMessage *msg)
{
  g_autoptr(RflPeer) peer = authenticate (s, msg, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) roster = NULL;

  if (peer == NULL)
    return;
  if ((roster = rfl_sync_hub_roster (s->hq->store, &error)) == NULL)
    respond_gerror (msg, error);
  else
    respond_bytes (msg, 200, "application/vnd.reunite.roster", roster);
}

static void
handle_state (Server            *s,
              SoupServerMessage *msg)
{
  g_autoptr(RflPeer) peer = authenticate (s, msg, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = NULL;
  g_autofree char *hash = NULL;
  guint64 n = 0;

  if (peer == NULL)
    return;
  if ((hash = rfl_store_state_hash (s->hq->store, peer->office, &n, &error)) == NULL)
    {
      respond_gerror (msg, error);
      return;
    }
  out = json_object_new ();
  json_object_set_string_member (out, "hash", hash);
  json_object_set_int_member (out, "records", (gint64) n);
  respond_json (msg, out);
}

/* The device found its state differs from HQ's after a full exchange: send
 * it its whole scope again from the start of the journal. */
static void
handle_resync (Server            *s,
               SoupServerMessage *msg)
{
  g_autoptr(GBytes) body = request_body (msg);
  g_autoptr(RflPeer) peer = authenticate (s, msg, body);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = NULL;

  if (peer == NULL)
    return;
  if (!rfl_store_set_peer_through (s->hq->store, peer->id, 0, &error))
    {
      respond_gerror (msg, error);
      return;
    }
  out = json_object_new ();
  json_object_set_boolean_member (out, "resync", TRUE);
  respond_json (msg, out);
}

/* A device restored from an older copy of its database: both streams go
 * on from where HQ has them, and HQ sends its whole scope again. */
static void
handle_rebase (Server            *s,
               SoupServerMessage *msg)
{
  g_autoptr(GBytes) body = request_body (msg);
  g_autoptr(RflPeer) peer = authenticate (s, msg, body);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) request = NULL;
  g_autoptr(JsonObject) out = NULL;
  gsize len;
  const char *data;

  if (peer == NULL)
    return;
  data = g_bytes_get_data (body, &len);
  if ((request = rfl_json_parse_object (data != NULL ? data : "", len, "the request", &error)) == NULL)
    {
      respond_error (msg, 400, "malformed", error->message);
      return;
    }
  if ((out = rfl_sync_hub_rebase (s->hq->store, peer->id,
                                  rfl_json_string_or (request, "challenge", NULL),
                                  &error)) == NULL)
    {
      respond_gerror (msg, error);
      return;
    }
  respond_json (msg, out);
}

static void
handle_ping (Server            *s,
             SoupServerMessage *msg)
{
  g_autoptr(RflPeer) peer = authenticate (s, msg, NULL);
  g_autoptr(JsonObject) out = NULL;

  if (peer == NULL)
    return;
  out = json_object_new ();
  json_object_set_boolean_member (out, "ok", TRUE);
  json_object_set_int_member (out, "time", g_get_real_time () / G_USEC_PER_SEC);
  respond_json (msg, out);
}

static void
handler (SoupServer        *server,
         SoupServerMessage *msg,
         const char        *path,
         GHashTable        *query,
         gpointer           user_data)
{
  Server *s = user_data;
  const char *method = soup_server_message_get_method (msg);
  gboolean post = g_str_equal (method, "POST");
  gboolean get = g_str_equal (method, "GET");

  /* Already answered by the early handler. */
  if (soup_server_message_get_status (msg) != 0)
    return;

  if (post && g_str_equal (path, "/v1/enroll"))
    handle_enroll (s, msg);
  else if (post && g_str_equal (path, "/v1/push"))
    handle_push (s, msg);
  else if (post && g_str_equal (path, "/v1/resync"))
    handle_resync (s, msg);
  else if (post && g_str_equal (path, "/v1/rebase"))
    handle_rebase (s, msg);
  else if (get && g_str_equal (path, "/v1/pull"))
    handle_pull (s, msg, query);
  else if (get && g_str_equal (path, "/v1/roster"))
    handle_roster (s, msg);
  else if (get && g_str_equal (path, "/v1/state"))
    handle_state (s, msg);
  else if (get && g_str_equal (path, "/v1/ping"))
    handle_ping (s, msg);
  else
    respond_error (msg, 404, "not_found", "no such endpoint");
}

/* Each connection gets a read and write timeout: a client that stalls is
 * dropped and does not hold the server. */
static gboolean
incoming_cb (GSocketService    *service,
             GSocketConnection *connection,
             GObject           *source,
             gpointer           user_data)
{
  Server *s = user_data;
  GSocket *socket = g_socket_connection_get_socket (connection);
  g_autoptr(GSocketAddress) local = g_socket_connection_get_local_address (connection, NULL);
  g_autoptr(GSocketAddress) remote = g_socket_connection_get_remote_address (connection, NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *address = G_IS_INET_SOCKET_ADDRESS (remote)
    ? g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)))
    : g_strdup ("?");
  guint from_there = GPOINTER_TO_UINT (g_hash_table_lookup (s->per_address, address));
  Connection *c;

  /* Too many at once, in all or from one address, or gone already (reset
   * before it was accepted, so it has no addresses): closed at once. */
  if (local == NULL || remote == NULL ||
      s->n_connections >= MAX_CONNECTIONS || from_there >= MAX_CONNECTIONS_PER_ADDRESS)
    {
      g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
      return TRUE;
    }
  c = g_new0 (Connection, 1);
  c->server = s;
  c->address = g_strdup (address);
  c->socket = socket;
  c->header_timer = g_timeout_add_seconds (HEADER_TIMEOUT_S, header_timeout_cb, c);
  g_hash_table_insert (s->by_socket, socket, c);
  s->n_connections++;
  g_hash_table_insert (s->per_address, g_steal_pointer (&address), GUINT_TO_POINTER (from_there + 1));
  g_object_weak_ref (G_OBJECT (connection), connection_gone, c);

  g_socket_set_timeout (socket, (guint) s->hq->client_timeout);
  if (!soup_server_accept_iostream (s->server, G_IO_STREAM (connection), local, remote, &error))
    g_debug ("refused a connection: %s", error->message);
  return TRUE;
}

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (((Server *) user_data)->loop);
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

static int
cmd_serve (Hq    *hq,
           char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  g_autofree char *where = NULL;
  Server s = { 0 };
  int rc;

  if (args[0] != NULL)
    return rfl_cli_fail ("usage: serve [--listen ADDR:PORT]");
  if (!parse_listen (hq->listen != NULL ? hq->listen : DEFAULT_LISTEN, &address))
    return rfl_cli_fail ("--listen wants ADDRESS:PORT, like 127.0.0.1:8470");
  if ((rc = open_store (hq)) != 0)
    return rc;
  /* What the endpoint does for devices is not an operator's doing. */
  rfl_store_set_actor (hq->store, "hq-endpoint");

  s.hq = hq;
  s.replays = rfl_replay_cache_new (REPLAY_CACHE_ENTRIES);
  /* The requests accepted before a restart stay refused as replays. */
  if (!rfl_store_foreach_request (hq->store, g_get_real_time () / G_USEC_PER_SEC, remember_request, s.replays,
                                  &error))
    {
      g_clear_object (&s.replays);
      return rfl_cli_fail_error (error);
    }
  s.buckets = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  s.server = soup_server_new ("server-header", "reunite-hq", NULL);
  s.per_address = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  s.by_socket = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_signal_connect (s.server, "request-finished", G_CALLBACK (request_over_cb), &s);
  soup_server_add_early_handler (s.server, NULL, early_handler, &s, NULL);
  soup_server_add_handler (s.server, NULL, handler, &s, NULL);
  s.service = g_socket_service_new ();
  if (!g_socket_listener_add_address (G_SOCKET_LISTENER (s.service), address, G_SOCKET_TYPE_STREAM,
                                      G_SOCKET_PROTOCOL_TCP, NULL, &effective, &error))
    return rfl_cli_fail ("cannot listen on %s: %s", hq->listen != NULL ? hq->listen : DEFAULT_LISTEN, error->message);
  g_signal_connect (s.service, "incoming", G_CALLBACK (incoming_cb), &s);
  g_socket_service_start (s.service);

  {
    g_autofree char *host = g_inet_address_to_string (
      g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (effective)));
    guint port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective));

    where = strchr (host, ':') != NULL ? g_strdup_printf ("[%s]:%u", host, port) : g_strdup_printf ("%s:%u", host, port);
  }
  json_object_set_string_member (out, "listening", where);
  json_object_set_string_member (out, "hq_id", rfl_store_get_device_id (hq->store));
  rfl_cli_print_object (out);

  s.loop = g_main_loop_new (NULL, FALSE);
  g_unix_signal_add (SIGTERM, quit_cb, &s);
  g_unix_signal_add (SIGINT, quit_cb, &s);
  g_main_loop_run (s.loop);

  g_socket_service_stop (s.service);
  g_clear_object (&s.service);
  g_clear_object (&s.server);
  g_clear_object (&s.replays);
  g_clear_pointer (&s.buckets, g_hash_table_unref);
  g_clear_pointer (&s.per_address, g_hash_table_unref);
  g_clear_pointer (&s.by_socket, g_hash_table_unref);
  g_clear_pointer (&s.loop, g_main_loop_unref);
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
  Hq hq = { .client_timeout = DEFAULT_CLIENT_TIMEOUT, .rate = DEFAULT_RATE };
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
