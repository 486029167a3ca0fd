/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Sync end to end: HQ's server on 127.0.0.1:0, devices that are real
 * encrypted stores, real HTTP over loopback, real USB bundle files. HQ runs
 * in this process (RflHqServer on a thread of its own) unless the test
 * kills or restarts it, where a real reunite-hq is the point; operator
 * commands run the real program.
 */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <sodium.h>
#include <string.h>
#include <sys/prctl.h>

#include "rfl-envelope.h"
#include "rfl-protocol.h"
#include "rfl-request-auth.h"
#include "rfl-store-testing.h"
#include "rfl-store-sync.h"
#include "rfl-sync-client.h"
#include "rfl-sync.h"
#include "rfl-test-hq.h"
#include "rfl-test-util.h"


typedef struct
{
  char     *name;
  char     *path;
  char     *office;
  RflStore *store;
} Device;

static Device *
device_new (const char *dir,
            const char *name,
            const char *office)
{
  Device *d = g_new0 (Device, 1);
  g_autoptr(GError) error = NULL;

  d->name = g_strdup (name);
  d->office = g_strdup (office);
  d->path = g_strdup_printf ("%s/%s.db", dir, name);
  d->store = rfl_store_create (d->path, TEST_PASSPHRASE, strlen (TEST_PASSPHRASE), RFL_KDF_INTERACTIVE, &error);
  g_assert_no_error (error);
  return d;
}

static void
device_free (Device *d)
{
  g_clear_object (&d->store);
  g_free (d->name);
  g_free (d->path);
  g_free (d->office);
  g_free (d);
}

static RflEnrollToken *
load_token (const char *path)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *data = NULL;
  gsize len;
  g_autoptr(GBytes) bytes = NULL;
  RflEnrollToken *token;

  g_file_get_contents (path, &data, &len, &error);
  g_assert_no_error (error);
  bytes = g_bytes_new (data, len);
  token = rfl_enroll_token_load (bytes, &error);
  g_assert_no_error (error);
  return token;
}

static void
enroll (Hq         *hq,
        Device     *d,
        const char *dir)
{
  g_autofree char *path = make_token (hq, d->office, dir);
  g_autoptr(RflEnrollToken) token = load_token (path);
  g_autoptr(GError) error = NULL;

  g_assert_true (rfl_sync_client_enroll (d->store, token, NULL, &error));
  g_assert_no_error (error);
}

static RflSyncReport
sync_http (Hq     *hq,
           Device *d)
{
  RflSyncReport report = { 0 };
  RflSyncOptions options = { .url = hq->url, .deadline_s = 120 };
  g_autoptr(GError) error = NULL;

  rfl_sync_client_run (d->store, &options, &report, NULL, &error);
  g_assert_no_error (error);
  return report;
}

/* A round trip by USB stick: the device writes, HQ reads and writes back,
 * the device reads. */
static void
sync_usb (Hq         *hq,
          Device     *d,
          const char *dir)
{
  g_autofree char *stick = g_build_filename (dir, "stick", NULL);
  g_autoptr(GPtrArray) outbox = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GDir) listing = NULL;
  g_autofree char *prefix = NULL;
  RflSyncReport report = { 0 };
  const char *name;

  rfl_test_remove_dir (stick);
  g_mkdir (stick, 0700);
  outbox = rfl_sync_device_outbox (d->store, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < outbox->len; i++)
    {
      RflOutboxItem *item = g_ptr_array_index (outbox, i);
      g_autofree char *file = g_strdup_printf ("%s/%s-to-hq-%010" G_GUINT64_FORMAT ".rfle", stick,
                                               rfl_store_get_device_id (d->store), item->seq_from);

      g_autofree char *base = g_path_get_basename (file);

      g_assert_true (rfl_sync_write_bundle (stick, base, item->envelope, &error));
      g_assert_no_error (error);
    }
  /* Twice: importing the same files again changes nothing. */
  g_free (hq_run (hq, 0, "bundle-in", stick, NULL));
  g_free (hq_run (hq, 0, "bundle-in", stick, NULL));
  g_free (hq_run (hq, 0, "bundle-out", "--device", rfl_store_get_device_id (d->store), stick, NULL));

  prefix = g_strdup_printf ("hq-to-%s-", rfl_store_get_device_id (d->store));
  for (int pass = 0; pass < 2; pass++)
    {
      g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);

      g_clear_pointer (&listing, g_dir_close);
      listing = g_dir_open (stick, 0, &error);
      g_assert_no_error (error);
      while ((name = g_dir_read_name (listing)) != NULL)
        if (g_str_has_prefix (name, prefix))
          g_ptr_array_add (files, g_build_filename (stick, name, NULL));
      /* In reverse order: early bundles are held until their predecessor comes. */
      for (guint i = files->len; i > 0; i--)
        {
          g_autofree char *data = NULL;
          gsize len;
          g_autoptr(GBytes) bytes = NULL;

          g_file_get_contents (g_ptr_array_index (files, i - 1), &data, &len, &error);
          g_assert_no_error (error);
          bytes = g_bytes_new (data, len);
          g_assert_true (rfl_sync_device_accept (d->store, bytes, &report, &error));
          g_assert_no_error (error);
        }
    }
}

/* Convergence. */

#define N_DEVICES 4
#define N_ROUNDS  6

static const char *offices[N_DEVICES] = { "Goma", "Goma", "Bukavu", "Uvira" };

typedef struct
{
  char       *id;
  const char *owner;
  GHashTable *offices;   /* offices that hold it by right */
  gboolean    deleted;
} Known;

static void
known_free (Known *k)
{
  g_free (k->id);
  g_hash_table_unref (k->offices);
  g_free (k);
}

static char *
random_record (GRand *rand,
               guint  n)
{
  static const char *given[] = { "Amani", "Baraka", "Neema", "Furaha", "Zawadi", "Imani" };
  static const char *family[] = { "Mwamba", "Kahindo", "Bahati", "Lukusa", "Kabila", "Mutombo" };

  return g_strdup_printf ("{\"type\": \"registration\", \"subtype\": \"found_person\", \"status\": \"open\","
                          " \"person\": {\"given_name\": \"%s\", \"family_name\": \"%s\"},"
                          " \"description\": \"created %u\","
                          " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}",
                          given[g_rand_int_range (rand, 0, 6)], family[g_rand_int_range (rand, 0, 6)], n);
}

/* Whether a conflict on @id/@field keeps @value, or the record has it now. */
static gboolean
value_kept (RflStore   *hq,
            GPtrArray  *conflicts,
            const char *id,
            const char *field,
            const char *value)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) record = rfl_store_get (hq, id, &error);

  if (record != NULL && g_strcmp0 (json_object_get_string_member_with_default (record, field, NULL), value) == 0)
    return TRUE;
  for (guint i = 0; i < conflicts->len; i++)
    {
      JsonObject *c = g_ptr_array_index (conflicts, i);
      JsonObject *loser = json_object_get_object_member (c, "loser");
      JsonObject *winner = json_object_get_object_member (c, "winner");

      if (g_strcmp0 (json_object_get_string_member (c, "record_id"), id) != 0 ||
          g_strcmp0 (json_object_get_string_member (c, "field"), field) != 0)
        continue;
      if (g_strcmp0 (json_object_get_string_member_with_default (loser, "value", NULL), value) == 0 ||
          g_strcmp0 (json_object_get_string_member_with_default (winner, "value", NULL), value) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
test_convergence (void)
{
  g_autofree char *dir = rfl_test_make_dir ();
  g_autoptr(Hq) hq = hq_new_in_process (dir);
  g_autoptr(GRand) rand = g_rand_new_with_seed (g_test_rand_int ());
  g_autoptr(GPtrArray) known = g_ptr_array_new_with_free_func ((GDestroyNotify) known_free);
  g_autoptr(RflStore) hub = NULL;
  g_autoptr(GPtrArray) conflicts = NULL;
  g_autoptr(GError) error = NULL;
  Device *dev[N_DEVICES];
  /* Records purged in any round: an edit made after, on a device the purge
   * had not reached yet, goes with the record, as its retention asks (an
   * edit after a delete is kept as a conflict, and is checked). */
  g_autoptr(GHashTable) gone = g_hash_table_new (g_str_hash, g_str_equal);
  guint created = 0, concurrent = 0, purged = 0;

  /* Devices purge cases they closed "years ago" by their calendar; HQ,
   * on the real one, relays a purge of any case closed before now. The
   * operator sets that while HQ is stopped. */
  hq_kill (hq);
  g_free (hq_run (hq, 0, "retention", "0", NULL));
  hq_start (hq);
  for (guint i = 0; i < N_DEVICES; i++)
    {
      g_autofree char *name = g_strdup_printf ("device%u", i);

      dev[i] = device_new (dir, name, offices[i]);
      enroll (hq, dev[i], dir);
    }

  for (guint round = 0; round < N_ROUNDS; round++)
    {
      /* record id -> device index -> the value it wrote this round */
      g_autoptr(GHashTable) edits = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                           (GDestroyNotify) g_hash_table_unref);
      g_autoptr(GHashTable) deleted_now = g_hash_table_new (g_str_hash, g_str_equal);
      guint order[N_DEVICES];

      /* Offline: every device works on what it holds. */
      for (guint i = 0; i < N_DEVICES; i++)
        for (guint n = 0; n < 6; n++)
          {
            int dice = g_rand_int_range (rand, 0, 100);
            g_autoptr(GPtrArray) mine = g_ptr_array_new ();

            for (guint k = 0; k < known->len; k++)
              {
                Known *r = g_ptr_array_index (known, k);
                g_autoptr(JsonObject) shown = rfl_store_get (dev[i]->store, r->id, NULL);

                if (shown != NULL)
                  g_ptr_array_add (mine, r);
              }
            if (dice < 35 || mine->len == 0)
              {
                g_autofree char *json = random_record (rand, created++);
                g_autoptr(JsonObject) obj = rfl_test_object (json);
                Known *r = g_new0 (Known, 1);

                r->id = rfl_store_add (dev[i]->store, obj, &error);
                g_assert_no_error (error);
                r->owner = offices[i];
                r->offices = g_hash_table_new (g_str_hash, g_str_equal);
                g_hash_table_add (r->offices, (gpointer) offices[i]);
                g_ptr_array_add (known, r);
              }
            else if (dice < 85)
              {
                Known *r = g_ptr_array_index (mine, g_rand_int_range (rand, 0, (gint32) mine->len));
                g_autofree char *value = g_strdup_printf ("round %u device %u edit %u", round, i, n);
                g_autoptr(JsonObject) patch = json_object_new ();
                GHashTable *by_device;

                json_object_set_string_member (patch, "description", value);
                g_assert_true (rfl_store_update (dev[i]->store, r->id, patch, &error));
                g_assert_no_error (error);
                if ((by_device = g_hash_table_lookup (edits, r->id)) == NULL)
                  {
                    by_device = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);
                    g_hash_table_insert (edits, g_strdup (r->id), by_device);
                  }
                g_hash_table_insert (by_device, GUINT_TO_POINTER (i + 1), g_steal_pointer (&value));
              }
            else if (dice < 88)
              {
                Known *r = g_ptr_array_index (mine, g_rand_int_range (rand, 0, (gint32) mine->len));

                /* Open cases registered elsewhere are not this device's to delete. */
                if (rfl_store_delete (dev[i]->store, r->id, &error))
                  {
                    r->deleted = TRUE;
                    g_hash_table_add (deleted_now, r->id);
                  }
                else
                  {
                    g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_ALLOWED);
                    g_clear_error (&error);
                  }
              }
            else if (dice < 91)
              {
                /* Closed long ago, and purged now that its retention has
                 * passed: every replica must still agree on the state. */
                Known *r = g_ptr_array_index (mine, g_rand_int_range (rand, 0, (gint32) mine->len));
                g_autoptr(JsonObject) patch = rfl_test_object ("{\"status\": \"closed\","
                                                               " \"closure_reason\": \"located\"}");

                rfl_store_set_today (dev[i]->store, "2020-01-01");
                if (rfl_store_update (dev[i]->store, r->id, patch, NULL))
                  {
                    rfl_store_set_today (dev[i]->store, "2031-01-01");
                    g_assert_cmpint (rfl_store_purge_expired (dev[i]->store, &error), >=, 1);
                    g_assert_no_error (error);
                    r->deleted = TRUE;
                    g_hash_table_add (deleted_now, r->id);
                    g_hash_table_add (gone, r->id);
                    purged++;
                  }
                rfl_store_set_today (dev[i]->store, NULL);
              }
            else
              {
                Known *r = g_ptr_array_index (mine, g_rand_int_range (rand, 0, (gint32) mine->len));
                const char *to = offices[g_rand_int_range (rand, 0, N_DEVICES)];

                g_assert_true (rfl_store_share (dev[i]->store, r->id, to, &error));
                g_assert_no_error (error);
                g_hash_table_add (r->offices, (gpointer) to);
              }
          }

      /* Chance alone may never have two devices edit one record between
       * syncs (it depends on the seed): the two Goma devices always edit one
       * record they both hold, so every run checks concurrent edits. */
      for (guint k = 0; k < known->len; k++)
        {
          Known *r = g_ptr_array_index (known, k);
          g_autoptr(JsonObject) on0 = NULL, on1 = NULL;

          if (g_hash_table_contains (edits, r->id) || g_hash_table_contains (deleted_now, r->id) ||
              (on0 = rfl_store_get (dev[0]->store, r->id, NULL)) == NULL ||
              (on1 = rfl_store_get (dev[1]->store, r->id, NULL)) == NULL)
            continue;
          {
            GHashTable *by_device = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL, g_free);

            for (guint i = 0; i < 2; i++)
              {
                g_autofree char *value = g_strdup_printf ("round %u device %u both", round, i);
                g_autoptr(JsonObject) patch = json_object_new ();

                json_object_set_string_member (patch, "description", value);
                g_assert_true (rfl_store_update (dev[i]->store, r->id, patch, &error));
                g_assert_no_error (error);
                g_hash_table_insert (by_device, GUINT_TO_POINTER (i + 1), g_steal_pointer (&value));
              }
            g_hash_table_insert (edits, g_strdup (r->id), by_device);
          }
          break;
        }

      /* Then they sync, in a random order, some by USB. */
      for (guint i = 0; i < N_DEVICES; i++)
        order[i] = i;
      for (guint i = N_DEVICES - 1; i > 0; i--)
        {
          guint j = (guint) g_rand_int_range (rand, 0, (gint32) i + 1), t = order[i];
          order[i] = order[j];
          order[j] = t;
        }
      for (guint i = 0; i < N_DEVICES; i++)
        {
          if (g_rand_int_range (rand, 0, 3) == 0)
            sync_usb (hq, dev[order[i]], dir);
          else
            sync_http (hq, dev[order[i]]);
        }

      /* Every value written concurrently survives: in the record or in a conflict. */
      hub = hq_store (hq);
      conflicts = rfl_store_list_conflicts (hub, TRUE, &error);
      g_assert_no_error (error);
      {
        GHashTableIter iter;
        gpointer key, value;

        g_hash_table_iter_init (&iter, edits);
        while (g_hash_table_iter_next (&iter, &key, &value))
          {
            GHashTable *by_device = value;
            GHashTableIter inner;
            gpointer written;

            if (g_hash_table_size (by_device) < 2 || g_hash_table_contains (deleted_now, key))
              continue;
            /* Purged in an earlier round, and the purge has now reached HQ:
             * the edits went with the record, as its retention asks. */
            if (g_hash_table_contains (gone, key))
              {
                g_autoptr(JsonObject) at_hq = rfl_store_get (hub, key, NULL);

                if (at_hq == NULL)
                  continue;
              }
            concurrent++;
            g_hash_table_iter_init (&inner, by_device);
            while (g_hash_table_iter_next (&inner, NULL, &written))
              if (!value_kept (hub, conflicts, key, "description", written))
                g_error ("'%s' on %s was lost without a conflict", (char *) written, (char *) key);
          }
      }
      g_clear_pointer (&conflicts, g_ptr_array_unref);
      g_clear_object (&hub);
    }

  /* Two quiet passes bring everyone up to date; then every replica equals
   * HQ for its office. */
  for (guint pass = 0; pass < 2; pass++)
    for (guint i = 0; i < N_DEVICES; i++)
      {
        RflSyncReport report = sync_http (hq, dev[i]);

        if (pass == 1)
          {
            g_assert_true (report.compared);
            g_assert_true (report.converged);
          }
      }

  /* An office never holds a record it was not given, checked in its database. */
  for (guint i = 0; i < N_DEVICES; i++)
    for (guint k = 0; k < known->len; k++)
      {
        Known *r = g_ptr_array_index (known, k);

        if (!g_hash_table_contains (r->offices, offices[i]))
          g_assert_false (rfl_store_holds_record (dev[i]->store, r->id));
        else if (!r->deleted)
          g_assert_true (rfl_store_holds_record (dev[i]->store, r->id));
      }
  /* HQ's audit says who sent and who received what. */
  {
    g_autofree char *audit = hq_run (hq, 0, "audit", NULL);

    g_assert_nonnull (strstr (audit, "\"action\":\"receive\""));
    g_assert_nonnull (strstr (audit, "\"action\":\"send\""));
    g_assert_nonnull (strstr (audit, rfl_store_get_device_id (dev[0]->store)));
  }
  g_test_message ("%u records, %u records edited concurrently, %u purged", created, concurrent, purged);
  g_assert_cmpuint (concurrent, >, 0);

  for (guint i = 0; i < N_DEVICES; i++)
    device_free (dev[i]);
  rfl_test_remove_dir (dir);
}

/* Attacks. */

/* Where HQ runs: see the top of this file. */
typedef enum
{
  IN_PROCESS,
  REAL_PROCESS,
} Where;

typedef struct
{
  char    *dir;
  Hq      *hq;
  Device  *a;
  Device  *b;
} Fixture;

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  f->dir = rfl_test_make_dir ();
  f->hq = GPOINTER_TO_INT (data) == REAL_PROCESS ? hq_new (f->dir) : hq_new_in_process (f->dir);
  f->a = device_new (f->dir, "a", "Goma");
  f->b = device_new (f->dir, "b", "Goma");
  enroll (f->hq, f->a, f->dir);
  enroll (f->hq, f->b, f->dir);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  device_free (f->a);
  device_free (f->b);
  hq_free (f->hq);
  rfl_test_remove_dir (f->dir);
  g_free (f->dir);
}

static void
add_records (Device *d,
             guint   n)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (n);

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *json = random_record (rand, i);
      g_autoptr(JsonObject) obj = rfl_test_object (json);
      g_autoptr(GError) error = NULL;
      g_autofree char *id = rfl_store_add (d->store, obj, &error);

      g_assert_no_error (error);
    }
}

/* A request as a device would make it, or forged. Returns the status. */
static guint
http (Hq           *hq,
      Device       *signer,
      const char   *method,
      const char   *path,
      GBytes       *body,
      gint64        time_offset,
      GBytes      **reply)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autofree char *url = g_strconcat (hq->url, path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  g_autoptr(GBytes) answer = NULL;
  g_autoptr(GError) error = NULL;

  if (signer != NULL)
    {
      g_autoptr(RflDeviceKeys) keys = rfl_store_dup_keys (signer->store, &error);
      gsize len = 0;
      const guint8 *data = body != NULL ? g_bytes_get_data (body, &len) : NULL;
      g_autoptr(RflRequestAuth) auth = rfl_request_auth_sign (keys->device_id, method, path,
                                                              g_get_real_time () / G_USEC_PER_SEC + time_offset,
                                                              data, len, keys->sign_sk);
      SoupMessageHeaders *h = soup_message_get_request_headers (msg);

      soup_message_headers_replace (h, RFL_REQUEST_HEADER_DEVICE, auth->device);
      soup_message_headers_replace (h, RFL_REQUEST_HEADER_TIME, auth->time);
      soup_message_headers_replace (h, RFL_REQUEST_HEADER_NONCE, auth->nonce);
      soup_message_headers_replace (h, RFL_REQUEST_HEADER_SIGNATURE, auth->signature);
    }
  if (body != NULL)
    {
      soup_message_set_request_body_from_bytes (msg, RFL_PROTOCOL_TYPE_REQUEST, body);
      soup_message_headers_set_expectations (soup_message_get_request_headers (msg), SOUP_EXPECTATION_CONTINUE);
    }
  answer = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);
  if (reply != NULL)
    *reply = g_steal_pointer (&answer);
  return soup_message_get_status (msg);
}

static char *
hub_state (Hq *hq)
{
  g_autoptr(RflStore) hub = hq_store (hq);
  g_autoptr(GError) error = NULL;
  char *hash = rfl_store_state_hash (hub, NULL, NULL, &error);

  g_assert_no_error (error);
  return hash;
}

static GBytes *
flip (GBytes *bytes,
      gsize   at)
{
  gsize len;
  guint8 *copy = g_memdup2 (g_bytes_get_data (bytes, &len), g_bytes_get_size (bytes));

  g_assert_cmpuint (at, <, len);
  copy[at] ^= 0x01;
  return g_bytes_new_take (copy, len);
}

static void
test_attacks (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GPtrArray) outbox = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *before = NULL, *after = NULL;
  RflOutboxItem *first;
  g_autoptr(GBytes) first_envelope = NULL;
  gsize len, header_len;
  /* Offsets from docs/PROTOCOL.md: magic, version, sender, stream, seq,
   * prev hash, payload length, payload hash, recipients, signature, payload. */
  gsize parts[] = { 0, 4, 8, 24, 40, 56, 88, 96, 130, 130 + 40, 226, 226 + 63, 0 };
  GBytes *answer = NULL;

  add_records (f->a, 3);
  outbox = rfl_sync_device_outbox (f->a->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (outbox->len, ==, 1);
  first = g_ptr_array_index (outbox, 0);
  first_envelope = g_bytes_ref (first->envelope);
  g_bytes_get_data (first->envelope, &len);
  header_len = 194 + 96;
  parts[G_N_ELEMENTS (parts) - 1] = header_len + 30;
  before = hub_state (f->hq);

  /* One flipped byte in each part: refused, nothing changes. */
  for (guint i = 0; i < G_N_ELEMENTS (parts); i++)
    {
      g_autoptr(GBytes) bad = flip (first->envelope, parts[i]);
      guint status = http (f->hq, f->a, "POST", RFL_PROTOCOL_PATH_PUSH, bad, 0, NULL);

      if (status < 400 || status >= 500)
        g_error ("a flipped byte at %zu was answered %u", parts[i], status);
    }
  /* A truncated payload. */
  {
    g_autoptr(GBytes) cut = g_bytes_new_from_bytes (first->envelope, 0, len - 100);
    g_assert_cmpuint (http (f->hq, f->a, "POST", RFL_PROTOCOL_PATH_PUSH, cut, 0, NULL), ==, 400);
  }
  after = hub_state (f->hq);
  g_assert_cmpstr (before, ==, after);

  /* Another enrolled device may not push it: not its bundle. */
  g_assert_cmpuint (http (f->hq, f->b, "POST", RFL_PROTOCOL_PATH_PUSH,
                          first->envelope, 0, NULL), ==, 403);
  /* No signature, a signature from outside the replay window. */
  g_assert_cmpuint (http (f->hq, NULL, "POST", RFL_PROTOCOL_PATH_PUSH,
                          first->envelope, 0, NULL), ==, 401);
  g_assert_cmpuint (http (f->hq, f->a, "POST", RFL_PROTOCOL_PATH_PUSH,
                          first->envelope, -3600, NULL), ==, 401);
  g_assert_cmpuint (http (f->hq, NULL, "GET", RFL_PROTOCOL_PATH_PULL "?have=0",
                          NULL, 0, NULL), ==, 401);
  g_free (after);
  after = hub_state (f->hq);
  g_assert_cmpstr (before, ==, after);

  /* The genuine bundle goes in; sent again, it changes nothing and gets the same receipt. */
  g_assert_cmpuint (http (f->hq, f->a, "POST", RFL_PROTOCOL_PATH_PUSH,
                          first->envelope, 0, NULL), ==, 200);
  g_free (after);
  after = hub_state (f->hq);
  g_assert_cmpstr (before, !=, after);
  g_free (before);
  before = g_strdup (after);
  g_assert_cmpuint (http (f->hq, f->a, "POST", RFL_PROTOCOL_PATH_PUSH,
                          first->envelope, 0, NULL), ==, 200);

  /* A second bundle, then the first again: a replay. */
  add_records (f->a, 1);
  g_clear_pointer (&outbox, g_ptr_array_unref);
  outbox = rfl_sync_device_outbox (f->a->store, &error);
  g_assert_cmpuint (outbox->len, ==, 2);
  g_assert_cmpuint (http (f->hq, f->a, "POST", RFL_PROTOCOL_PATH_PUSH,
                          ((RflOutboxItem *) g_ptr_array_index (outbox, 1))->envelope, 0, &answer), ==, 200);
  g_clear_pointer (&answer, g_bytes_unref);
  g_free (before);
  before = hub_state (f->hq);
  g_assert_cmpuint (http (f->hq, f->a, "POST", RFL_PROTOCOL_PATH_PUSH,
                          first_envelope, 0, &answer), ==, 409);
  g_assert_nonnull (strstr (g_bytes_get_data (answer, NULL), "replay"));
  g_clear_pointer (&answer, g_bytes_unref);

  /* A seq from the future, and an envelope for the wrong recipient. */
  {
    g_autoptr(RflDeviceKeys) keys = rfl_store_dup_keys (f->a->store, &error);
    g_autoptr(RflDeviceKeys) other = rfl_store_dup_keys (f->b->store, &error);
    g_autoptr(RflStore) hub = hq_store (f->hq);
    g_autoptr(RflPeer) me = rfl_store_get_peer (hub, keys->device_id, &error);
    g_autoptr(RflDeviceKeys) hq_keys = rfl_store_dup_keys (hub, &error);
    RflEnvelopeRecipient to_hq, to_b;
    guint8 sender[16], stream[16], elsewhere[16], b_id[16];
    crypto_generichash_state state;
    g_autoptr(GBytes) plain = g_bytes_new_static ("{\"format\":\"reunite-bundle-v1\",\"ops\":[]}", 40);
    g_autoptr(GBytes) future = NULL, misdirected = NULL;

    g_assert_no_error (error);
    rfl_sync_id_from_hex (keys->device_id, sender);
    rfl_sync_id_from_hex (hq_keys->device_id, to_hq.id);
    memcpy (to_hq.box_pk, hq_keys->box_pk, 32);
    rfl_sync_id_from_hex (other->device_id, to_b.id);
    memcpy (to_b.box_pk, other->box_pk, 32);
    /* The stream ids, as docs/PROTOCOL.md defines them: A's to HQ, and B's. */
    rfl_sync_id_from_hex (other->device_id, b_id);
    crypto_generichash_init (&state, NULL, 0, 16);
    crypto_generichash_update (&state, (const guint8 *) "reunite-stream-v1", 17);
    crypto_generichash_update (&state, sender, 16);
    crypto_generichash_update (&state, to_hq.id, 16);
    crypto_generichash_final (&state, stream, 16);
    crypto_generichash_init (&state, NULL, 0, 16);
    crypto_generichash_update (&state, (const guint8 *) "reunite-stream-v1", 17);
    crypto_generichash_update (&state, b_id, 16);
    crypto_generichash_update (&state, to_hq.id, 16);
    crypto_generichash_final (&state, elsewhere, 16);
    future = rfl_envelope_seal (sender, stream, me->in_next + 5, me->in_next + 5, me->in_hash,
                                &to_hq, 1, keys->sign_sk, plain, &error);
    g_assert_cmpuint (http (f->hq, f->a, "POST", RFL_PROTOCOL_PATH_PUSH, future, 0, NULL), ==, 409);
    misdirected = rfl_envelope_seal (sender, stream, me->in_next, me->in_next, me->in_hash,
                                     &to_b, 1, keys->sign_sk, plain, &error);
    g_assert_cmpuint (http (f->hq, f->a, "POST", RFL_PROTOCOL_PATH_PUSH,
                            misdirected, 0, &answer), ==, 400);
    g_assert_nonnull (strstr (g_bytes_get_data (answer, NULL), "not_recipient"));
    g_clear_pointer (&answer, g_bytes_unref);

    /* A's bundle, signed by A, in B's stream to HQ: the stream id is checked. */
    {
      g_autoptr(GBytes) astray = rfl_envelope_seal (sender, elsewhere, me->in_next, me->in_next, me->in_hash,
                                                    &to_hq, 1, keys->sign_sk, plain, &error);

      g_assert_cmpuint (http (f->hq, f->a, "POST", RFL_PROTOCOL_PATH_PUSH,
                              astray, 0, &answer), ==, 400);
      g_assert_nonnull (strstr (g_bytes_get_data (answer, NULL), "malformed"));
      g_clear_pointer (&answer, g_bytes_unref);
    }

    /* Re-signed by another enrolled device, sent on a stick: the signature
     * is checked against the sender's key, not the signer's. */
    {
      g_autoptr(GBytes) resigned = rfl_envelope_seal (sender, stream, me->in_next, me->in_next, me->in_hash,
                                                      &to_hq, 1, other->sign_sk, plain, &error);
      g_autofree char *stick = g_build_filename (f->dir, "stick", NULL);
      g_autofree char *file = g_build_filename (stick, "forged.rfle", NULL);

      g_mkdir (stick, 0700);
      g_file_set_contents (file, g_bytes_get_data (resigned, NULL), (gssize) g_bytes_get_size (resigned), &error);
      g_free (hq_run (f->hq, 1, "bundle-in", stick, NULL));
    }
  }
  g_free (after);
  after = hub_state (f->hq);
  g_assert_cmpstr (before, ==, after);

  /* An oversized body is refused from its headers. */
  {
    g_autoptr(GBytes) big = g_bytes_new_take (g_malloc0 (40 * 1024 * 1024), 40 * 1024 * 1024);
    g_assert_cmpuint (http (f->hq, f->a, "POST", RFL_PROTOCOL_PATH_PUSH, big, 0, NULL), ==, 413);
  }

  /* After all that, HQ still serves honest devices. */
  {
    RflSyncReport report = sync_http (f->hq, f->b);
    g_assert_true (report.converged);
    g_assert_cmpuint (report.merge.applied, ==, 4);
  }
}

/* A rolled-back roster is refused: it could un-revoke a device. */
static void
test_roster_rollback (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(GBytes) old = NULL, newer = NULL;
  g_autoptr(GError) error = NULL;
  Device *c;

  g_assert_cmpuint (http (f->hq, f->a, "GET", RFL_PROTOCOL_PATH_ROSTER, NULL, 0, &old), ==, 200);
  c = device_new (f->dir, "c", "Bukavu");
  enroll (f->hq, c, f->dir);
  g_assert_cmpuint (http (f->hq, f->a, "GET", RFL_PROTOCOL_PATH_ROSTER, NULL, 0, &newer), ==, 200);
  g_assert_true (rfl_sync_device_take_roster (f->a->store, newer, &error));
  g_assert_no_error (error);
  g_assert_false (rfl_sync_device_take_roster (f->a->store, old, &error));
  g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_ROLLBACK);
  device_free (c);
}

static void
test_enrollment_tokens (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *path = make_token (f->hq, "Uvira", f->dir);
  g_autoptr(RflEnrollToken) token = load_token (path);
  g_autoptr(GError) error = NULL;
  Device *c = device_new (f->dir, "c", "Uvira");
  Device *d = device_new (f->dir, "d", "Uvira");

  g_assert_true (rfl_sync_client_enroll (c->store, token, NULL, &error));
  g_assert_no_error (error);
  /* The same token again, from another device. */
  g_assert_false (rfl_sync_client_enroll (d->store, token, NULL, &error));
  g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REFUSED);
  g_assert_nonnull (strstr (error->message, "already used"));
  g_assert_false (rfl_sync_device_is_enrolled (d->store));
  g_clear_error (&error);

  /* An expired token: HQ refuses it even if a device sends it. */
  {
    g_autoptr(RflStore) hub = hq_store (f->hq);
    g_autoptr(GBytes) expired = rfl_enroll_token_new (hub, "Uvira", f->hq->url, NULL, -1000, &error);
    g_autoptr(JsonObject) obj = NULL;
    g_autoptr(GBytes) body = NULL;
    g_autofree char *text = NULL;
    RflEnrollToken copy = { 0 };
    GBytes *answer = NULL;

    g_autofree char *json = NULL;

    g_assert_no_error (error);
    json = g_strndup (g_bytes_get_data (expired, NULL), g_bytes_get_size (expired));
    obj = rfl_test_object (json);
    copy.token_id = (char *) json_object_get_string_member (obj, "token");
    copy.secret = (char *) json_object_get_string_member (obj, "secret");
    text = rfl_enroll_request_body (d->store, &copy, &error);
    body = g_bytes_new (text, strlen (text));
    g_assert_cmpuint (http (f->hq, NULL, "POST", RFL_PROTOCOL_PATH_ENROLL,
                            body, 0, &answer), ==, 403);
    g_assert_nonnull (strstr (g_bytes_get_data (answer, NULL), "expired"));
    g_bytes_unref (answer);
    g_assert_null (rfl_enroll_token_load (expired, &error));
    g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_STALE);
  }
  device_free (c);
  device_free (d);
}

static void
test_revocation (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *key = g_strconcat (f->b->path, ".key", NULL);
  g_autofree char *id = g_strdup (rfl_store_get_device_id (f->b->store));
  RflSyncOptions options = { .url = f->hq->url, .deadline_s = 60 };
  RflSyncReport report = { 0 };
  g_autoptr(RflStore) reopened = NULL;

  add_records (f->b, 2);
  sync_http (f->hq, f->b);

  /* A forged notice, signed by another device, is ignored. */
  {
    g_autoptr(RflStore) fake = NULL;
    g_autoptr(GBytes) forged = NULL;
    g_autofree char *path = g_build_filename (f->dir, "fake.db", NULL);

    fake = rfl_store_create (path, TEST_PASSPHRASE, strlen (TEST_PASSPHRASE), RFL_KDF_INTERACTIVE, &error);
    forged = rfl_sync_notice_new (fake, id, &error);
    g_assert_false (rfl_sync_device_take_notice (f->b->store, forged, &error));
    g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_BAD_SIGNATURE);
    g_clear_error (&error);
    g_assert_true (g_file_test (key, G_FILE_TEST_EXISTS));
    g_assert_true (rfl_store_is_open (f->b->store));
  }

  g_free (hq_run (f->hq, 0, "revoke", id, NULL));
  g_assert_false (rfl_sync_client_run (f->b->store, &options, &report, NULL, &error));
  g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REVOKED);
  g_clear_error (&error);
  g_assert_false (g_file_test (key, G_FILE_TEST_EXISTS));
  g_assert_false (rfl_store_is_open (f->b->store));
  reopened = rfl_store_open (f->b->path, TEST_PASSPHRASE, strlen (TEST_PASSPHRASE), &error);
  g_assert_null (reopened);
  g_assert_nonnull (error);

  /* HQ refuses its bundles from then on, however they come. */
  {
    g_autofree char *listing = hq_run (f->hq, 0, "devices", NULL);
    g_assert_nonnull (strstr (listing, "\"revoked\""));
  }
}

/* A laptop that only ever syncs by USB learns of its revocation from the
 * stick: HQ writes the signed notice, and reading the stick destroys its
 * keys. A notice for another device on the same stick changes nothing. */
static void
test_revocation_by_usb (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rejections = NULL;
  g_autofree char *key = g_strconcat (f->b->path, ".key", NULL);
  g_autofree char *id = g_strdup (rfl_store_get_device_id (f->b->store));
  g_autofree char *stick = g_build_filename (f->dir, "stick-revoked", NULL);
  g_autofree char *out = NULL;
  g_autofree char *notice_for_b = NULL, *notice_for_a = NULL;
  RflSyncReport report = { 0 };

  add_records (f->b, 2);
  sync_usb (f->hq, f->b, f->dir);
  g_assert_cmpint (g_mkdir (stick, 0700), ==, 0);
  g_free (hq_run (f->hq, 0, "revoke", id, NULL));
  out = hq_run (f->hq, 0, "bundle-out", "--device", id, stick, NULL);
  g_assert_nonnull (strstr (out, "\"revocation_notices\":1"));

  /* On a stick read by another device of the office, it is not for it. */
  notice_for_b = g_strdup_printf ("%s/hq-to-%s-revoked.rfln", stick, id);
  notice_for_a = g_strdup_printf ("%s/hq-to-%s-revoked.rfln", stick, rfl_store_get_device_id (f->a->store));
  g_assert_cmpint (g_rename (notice_for_b, notice_for_a), ==, 0);
  g_assert_true (rfl_sync_device_read_usb (f->a->store, stick, &report, &rejections, &error));
  g_assert_no_error (error);
  g_assert_true (rfl_store_is_open (f->a->store));
  g_assert_cmpint (g_rename (notice_for_a, notice_for_b), ==, 0);
  g_clear_pointer (&rejections, g_ptr_array_unref);

  g_assert_false (rfl_sync_device_read_usb (f->b->store, stick, &report, &rejections, &error));
  g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REVOKED);
  g_assert_false (g_file_test (key, G_FILE_TEST_EXISTS));
  g_assert_false (rfl_store_is_open (f->b->store));
}

/* A device that lost a record behind the store's back (a restored backup, a
 * damaged file) finds that its state hash differs and has HQ resend its scope. */
static void
test_divergence_resync (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autofree char *sql = NULL;
  const char *lost;
  RflSyncReport report;

  add_records (f->a, 3);
  sync_http (f->hq, f->a);
  report = sync_http (f->hq, f->b);
  g_assert_true (report.converged);
  g_assert_false (report.resynced);

  rows = rfl_store_list (f->b->store, NULL, NULL, 0, 1, &error);
  g_assert_no_error (error);
  lost = json_object_get_string_member (g_ptr_array_index (rows, 0), "id");
  sql = g_strdup_printf ("DELETE FROM names WHERE rowid / 64 = (SELECT rowid FROM records WHERE id = '%s');"
                         "DELETE FROM hashes WHERE record_row = (SELECT rowid FROM records WHERE id = '%s');"
                         "DELETE FROM records WHERE id = '%s'", lost, lost, lost);
  g_assert_true (rfl_store_exec (f->b->store, sql, &error));
  g_assert_false (rfl_store_holds_record (f->b->store, lost));

  report = sync_http (f->hq, f->b);
  g_assert_true (report.resynced);
  g_assert_true (report.converged);
  g_assert_true (rfl_store_holds_record (f->b->store, lost));
}

/* Copies the database files of @from (the database, its WAL and its key
 * file, if any) to the same names under @to, as a backup would. */
static void
copy_database (const char *from,
               const char *to)
{
  static const char *suffixes[] = { "", "-wal", "-shm", ".key" };

  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *src = g_strconcat (from, suffixes[i], NULL);
      g_autofree char *dst = g_strconcat (to, suffixes[i], NULL);
      g_autofree char *data = NULL;
      g_autoptr(GError) error = NULL;
      gsize len;

      g_unlink (dst);
      if (!g_file_test (src, G_FILE_TEST_EXISTS))
        continue;
      g_file_get_contents (src, &data, &len, &error);
      g_assert_no_error (error);
      g_file_set_contents_full (dst, data, (gssize) len, G_FILE_SET_CONTENTS_NONE, 0600, &error);
      g_assert_no_error (error);
    }
}

static void
reopen (Device *d)
{
  g_autoptr(GError) error = NULL;

  d->store = rfl_store_open (d->path, TEST_PASSPHRASE, strlen (TEST_PASSPHRASE), &error);
  g_assert_no_error (error);
}

/* A laptop restored from an older copy of its database: HQ has bundles of
 * its stream the copy never sent, and sent it bundles the copy never
 * applied. Its next sync re-bases both streams on what HQ has, sends what HQ
 * lacks (the change sealed but unsent when the copy was taken, and those
 * made since the restore), and gets back what it had sent before the
 * disk died. Nothing is lost. */
static void
test_restored_from_backup (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *backup = g_build_filename (f->dir, "a-backup.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) outbox = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(RflStore) hub = NULL;
  RflSyncReport report;

  add_records (f->a, 3);
  sync_http (f->hq, f->a);
  add_records (f->b, 2);
  sync_http (f->hq, f->b);
  /* A change sealed for HQ, not yet sent, when the copy is taken. */
  add_records (f->a, 1);
  outbox = rfl_sync_device_outbox (f->a->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (outbox->len, ==, 1);
  g_clear_object (&f->a->store);
  copy_database (f->a->path, backup);
  reopen (f->a);

  /* Weeks of work after the copy, all synced; then the disk dies. */
  add_records (f->a, 5);
  add_records (f->b, 4);
  report = sync_http (f->hq, f->a);
  g_assert_true (report.converged);
  report = sync_http (f->hq, f->b);
  g_assert_true (report.converged);
  g_clear_object (&f->a->store);
  copy_database (backup, f->a->path);
  reopen (f->a);
  g_assert_cmpint (rfl_store_count (f->a->store, NULL, NULL, &error), ==, 3 + 1);

  /* Work on the restored laptop, then its first sync. */
  add_records (f->a, 2);
  report = sync_http (f->hq, f->a);
  g_assert_true (report.rebased);
  g_assert_true (report.converged);
  g_assert_cmpint (rfl_store_count (f->a->store, NULL, NULL, &error), ==, 3 + 2 + 1 + 5 + 4 + 2);
  hub = hq_store (f->hq);
  g_assert_cmpint (rfl_store_count (hub, NULL, NULL, &error), ==, 3 + 2 + 1 + 5 + 4 + 2);
  g_assert_no_error (error);

  /* From then on the streams run as before, both ways. */
  report = sync_http (f->hq, f->a);
  g_assert_false (report.rebased);
  g_assert_true (report.converged);
  report = sync_http (f->hq, f->b);
  g_assert_true (report.converged);
  g_assert_cmpint (rfl_store_count (f->b->store, NULL, NULL, &error), ==, 3 + 2 + 1 + 5 + 4 + 2);
  add_records (f->b, 1);
  sync_http (f->hq, f->b);
  add_records (f->a, 1);
  report = sync_http (f->hq, f->a);
  g_assert_false (report.rebased);
  g_assert_true (report.converged);
  g_assert_cmpint (rfl_store_count (f->a->store, NULL, NULL, &error), ==, 3 + 2 + 1 + 5 + 4 + 2 + 2);
  g_assert_no_error (error);
}

/* HQ's database restored from an older copy: the devices that synced
 * after it was taken are ahead of HQ on both streams. Their next sync
 * re-bases, and they send again what HQ lost; nothing is lost. */
static void
test_hq_restored_from_backup (Fixture       *f,
                              gconstpointer  data)
{
  g_autofree char *backup = g_build_filename (f->dir, "hq-backup", NULL);
  g_autofree char *db = g_build_filename (f->hq->dir, "hq.db", NULL);
  g_autofree char *saved = g_build_filename (backup, "hq.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(RflStore) hub = NULL;
  RflSyncReport report;

  add_records (f->a, 3);
  sync_http (f->hq, f->a);
  sync_http (f->hq, f->b);
  hq_kill (f->hq);
  g_mkdir (backup, 0700);
  copy_database (db, saved);
  hq_start (f->hq);

  /* Work synced after the copy; then HQ's disk dies and the copy returns. */
  add_records (f->a, 2);
  sync_http (f->hq, f->a);
  add_records (f->b, 4);
  sync_http (f->hq, f->b);
  sync_http (f->hq, f->a);
  hq_kill (f->hq);
  copy_database (saved, db);
  hq_start (f->hq);

  add_records (f->a, 1);
  report = sync_http (f->hq, f->a);
  g_assert_true (report.rebased);
  /* B's four records are back at HQ only when B has synced too. */
  g_assert_false (report.converged);
  report = sync_http (f->hq, f->b);
  g_assert_true (report.rebased);
  g_assert_true (report.converged);
  report = sync_http (f->hq, f->a);
  g_assert_false (report.rebased);
  g_assert_true (report.converged);
  hub = hq_store (f->hq);
  g_assert_cmpint (rfl_store_count (hub, NULL, NULL, &error), ==, 3 + 2 + 4 + 1);
  g_assert_cmpint (rfl_store_count (f->a->store, NULL, NULL, &error), ==, 3 + 2 + 4 + 1);
  g_assert_cmpint (rfl_store_count (f->b->store, NULL, NULL, &error), ==, 3 + 2 + 4 + 1);
  g_assert_no_error (error);
}

/* A restored laptop that meets HQ by USB before the network: HQ holds
 * another bundle at the seq the copy sends, and its receipt is for that
 * one. The laptop refuses the receipt rather than drop its own unsent
 * bundle, says how to recover, and its next network sync re-bases. */
static void
test_restored_then_usb (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *backup = g_build_filename (f->dir, "a-backup.db", NULL);
  g_autofree char *stick = g_build_filename (f->dir, "stick", NULL);
  g_autofree char *prefix = NULL;
  g_autoptr(GPtrArray) outbox = NULL;
  g_autoptr(GDir) listing = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(RflStore) hub = NULL;
  RflSyncReport report = { 0 };
  const char *name;
  gboolean refused = FALSE;

  add_records (f->a, 1);
  sync_http (f->hq, f->a);
  g_clear_object (&f->a->store);
  copy_database (f->a->path, backup);
  reopen (f->a);
  add_records (f->a, 2);
  sync_http (f->hq, f->a);
  g_clear_object (&f->a->store);
  copy_database (backup, f->a->path);
  reopen (f->a);

  /* The restored copy's new work goes out by stick, and HQ's answer comes back. */
  add_records (f->a, 3);
  g_mkdir (stick, 0700);
  outbox = rfl_sync_device_outbox (f->a->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (outbox->len, ==, 1);
  for (guint i = 0; i < outbox->len; i++)
    {
      RflOutboxItem *item = g_ptr_array_index (outbox, i);
      g_autofree char *base = g_strdup_printf ("%s-to-hq-%010" G_GUINT64_FORMAT ".rfle",
                                               rfl_store_get_device_id (f->a->store), item->seq_from);

      g_assert_true (rfl_sync_write_bundle (stick, base, item->envelope, &error));
      g_assert_no_error (error);
    }
  g_free (hq_run (f->hq, 0, "bundle-in", stick, NULL));
  g_free (hq_run (f->hq, 0, "bundle-out", "--device", rfl_store_get_device_id (f->a->store), stick, NULL));
  prefix = g_strdup_printf ("hq-to-%s-", rfl_store_get_device_id (f->a->store));
  listing = g_dir_open (stick, 0, &error);
  g_assert_no_error (error);
  while ((name = g_dir_read_name (listing)) != NULL)
    if (g_str_has_prefix (name, prefix))
      {
        g_autofree char *path = g_build_filename (stick, name, NULL);
        g_autofree char *contents = NULL;
        gsize len;
        g_autoptr(GBytes) bytes = NULL;

        g_file_get_contents (path, &contents, &len, &error);
        g_assert_no_error (error);
        bytes = g_bytes_new (contents, len);
        if (!rfl_sync_device_accept (f->a->store, bytes, &report, &error))
          {
            g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REPLAY);
            g_assert_nonnull (strstr (error->message, "over the network"));
            g_clear_error (&error);
            refused = TRUE;
          }
      }
  g_assert_true (refused);
  g_clear_pointer (&outbox, g_ptr_array_unref);
  outbox = rfl_sync_device_unreceipted (f->a->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (outbox->len, ==, 1);

  /* Then the network: everything, both ways. */
  report = sync_http (f->hq, f->a);
  g_assert_true (report.rebased);
  g_assert_true (report.converged);
  report = sync_http (f->hq, f->b);
  g_assert_true (report.converged);
  hub = hq_store (f->hq);
  g_assert_cmpint (rfl_store_count (hub, NULL, NULL, &error), ==, 1 + 2 + 3);
  g_assert_cmpint (rfl_store_count (f->a->store, NULL, NULL, &error), ==, 1 + 2 + 3);
  g_assert_cmpint (rfl_store_count (f->b->store, NULL, NULL, &error), ==, 1 + 2 + 3);
  g_assert_no_error (error);
}

/* HQ's word on a re-base is signed over the device's challenge: neither an
 * altered statement nor one made for another challenge moves the streams. */
static void
test_rebase_statement (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(JsonObject) statement = NULL;
  g_autoptr(RflPeer) before = NULL, after = NULL;
  g_autofree char *hq_id = NULL;
  const char *challenge = "00112233445566778899aabbccddeeff";
  g_autofree char *body = g_strdup_printf ("{\"challenge\": \"%s\"}", challenge);
  g_autoptr(GBytes) request = g_bytes_new (body, strlen (body));

  add_records (f->a, 3);
  sync_http (f->hq, f->a);
  hq_id = rfl_store_get_setting (f->a->store, "hq");
  before = rfl_store_get_peer (f->a->store, hq_id, &error);
  g_assert_no_error (error);

  g_assert_cmpuint (http (f->hq, f->a, "POST", RFL_PROTOCOL_PATH_REBASE,
                          request, 0, &reply), ==, 200);
  statement = rfl_test_object (g_bytes_get_data (reply, NULL));
  g_assert_false (rfl_sync_device_take_rebase (f->a->store, statement, "ffeeddccbbaa99887766554433221100",
                                               NULL, &error));
  g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);
  json_object_set_int_member (statement, "received_seq", 1);
  g_assert_false (rfl_sync_device_take_rebase (f->a->store, statement, challenge, NULL, &error));
  g_assert_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_BAD_SIGNATURE);
  g_clear_error (&error);
  after = rfl_store_get_peer (f->a->store, hq_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (after->in_next, ==, before->in_next);
  g_assert_cmpuint (after->out_through, ==, before->out_through);

  /* An unsigned request, and a malformed challenge, are refused. */
  g_assert_cmpuint (http (f->hq, NULL, "POST", RFL_PROTOCOL_PATH_REBASE,
                          request, 0, NULL), ==, 401);
  g_clear_pointer (&request, g_bytes_unref);
  request = g_bytes_new_static ("{\"challenge\": \"short\"}", 22);
  g_assert_cmpuint (http (f->hq, f->a, "POST", RFL_PROTOCOL_PATH_REBASE,
                          request, 0, NULL), ==, 400);

  /* The device's sync re-bases on what HQ has, and loses nothing. */
  {
    RflSyncReport report = sync_http (f->hq, f->a);

    g_assert_true (report.converged);
  }
}

/* Several bundles each way: the device seals the next bundle while HQ
 * merges one, and fetches the next while it merges one. A bundle fetched
 * ahead but never applied (the device stopped) is sent again. */
static void
test_pipelined (Fixture       *f,
                gconstpointer  data)
{
  guint n = 2 * RFL_SYNC_BUNDLE_OPS + 100;
  g_autoptr(GBytes) first = NULL, second = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;
  RflSyncReport report;

  add_records (f->a, n);
  report = sync_http (f->hq, f->a);
  g_assert_cmpuint (report.sent, ==, 3);
  g_assert_cmpuint (report.acked, ==, n);
  g_assert_true (report.converged);

  /* B fetches two bundles ahead of what it applied, then asks for one HQ
   * never sent, and applies nothing. */
  g_assert_cmpuint (http (f->hq, f->b, "GET", RFL_PROTOCOL_PATH_PULL "?have=0",
                          NULL, 0, &first), ==, 200);
  g_assert_cmpuint (http (f->hq, f->b, "GET", RFL_PROTOCOL_PATH_PULL "?have=0&after=1",
                          NULL, 0, &second), ==, 200);
  g_assert_false (g_bytes_equal (first, second));
  g_assert_cmpuint (http (f->hq, f->b, "GET", RFL_PROTOCOL_PATH_PULL "?have=0&after=9",
                          NULL, 0, NULL), ==, 400);
  g_assert_cmpuint (http (f->hq, f->b, "GET", RFL_PROTOCOL_PATH_PULL "?have=1&after=0",
                          NULL, 0, NULL), ==, 400);
  g_assert_cmpuint (rfl_sync_device_have (f->b->store), ==, 0);

  report = sync_http (f->hq, f->b);
  g_assert_cmpuint (report.received, ==, 3);
  g_assert_cmpuint (report.merge.applied, ==, n);
  g_assert_cmpuint (report.duplicates, ==, 0);
  g_assert_true (report.converged);
  g_assert_false (report.resynced);
  rows = rfl_store_list (f->b->store, NULL, NULL, 0, n + 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, n);
}

/* HQ tells a device whose state differs only by what it has not pulled
 * yet that it is behind. */
static void
test_state_pending (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GBytes) before = NULL, after = NULL;
  g_autoptr(JsonObject) state = NULL;
  g_autofree char *text = NULL;
  RflSyncReport report;

  g_assert_cmpuint (http (f->hq, f->b, "GET", RFL_PROTOCOL_PATH_PULL "?have=0", NULL, 0, NULL), ==, 204);
  add_records (f->a, 3);
  report = sync_http (f->hq, f->a);
  g_assert_true (report.converged);
  g_assert_cmpuint (http (f->hq, f->b, "GET", RFL_PROTOCOL_PATH_STATE, NULL, 0, &before), ==, 200);
  text = g_strndup (g_bytes_get_data (before, NULL), g_bytes_get_size (before));
  state = rfl_test_object (text);
  g_assert_true (json_object_get_boolean_member (state, "pending"));
  g_assert_cmpint (json_object_get_int_member (state, "records"), ==, 3);

  report = sync_http (f->hq, f->b);
  g_assert_true (report.converged);
  g_assert_false (report.behind);
  g_clear_pointer (&state, json_object_unref);
  g_assert_cmpuint (http (f->hq, f->b, "GET", RFL_PROTOCOL_PATH_STATE, NULL, 0, &after), ==, 200);
  g_free (text);
  text = g_strndup (g_bytes_get_data (after, NULL), g_bytes_get_size (after));
  state = rfl_test_object (text);
  g_assert_false (json_object_get_boolean_member (state, "pending"));
}

#define PUSHES 40

typedef struct
{
  Hq       *hq;
  Device   *d;
  gboolean  done;   /* atomic */
} Pusher;

/* A, busy: a few new records, a sync, and again. */
static gpointer
push_thread (gpointer data)
{
  Pusher *p = data;

  for (guint i = 0; i < PUSHES; i++)
    {
      RflSyncReport report;

      add_records (p->d, 5);
      report = sync_http (p->hq, p->d);
      g_assert_cmpuint (report.merge.refused, ==, 0);
    }
  g_atomic_int_set (&p->done, TRUE);
  return NULL;
}

/* B syncs again and again while A pushes. What HQ merges from A after B's
 * last pull and before B compares states is not a divergence: B is
 * behind, pulls again, and never has HQ send its whole scope over. */
static void
test_while_another_pushes (Fixture       *f,
                           gconstpointer  data)
{
  Pusher pusher = { f->hq, f->a, FALSE };
  g_autoptr(GThread) thread = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;
  guint syncs = 0, behind = 0;
  RflSyncReport report = { 0 };

  thread = g_thread_new ("push", push_thread, &pusher);
  do
    {
      report = sync_http (f->hq, f->b);
      g_assert_false (report.resynced);
      syncs++;
      behind += report.behind;
    }
  while (!g_atomic_int_get (&pusher.done) || !report.converged);
  g_thread_join (g_steal_pointer (&thread));
  g_test_message ("%u syncs of B while A made %u, %u of them ended behind", syncs, PUSHES, behind);
  rows = rfl_store_list (f->b->store, NULL, NULL, 0, 5 * PUSHES + 1, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (rows->len, ==, 5 * PUSHES);
}

/* kill -9 of HQ in the middle of uploads, then a restart: the device's next
 * sync completes, with nothing lost and nothing applied twice. */
static gpointer
sync_thread (gpointer data)
{
  Fixture *f = data;
  RflSyncReport report = { 0 };
  RflSyncOptions options = { .url = f->hq->url, .deadline_s = 60, .io_timeout_s = 5 };
  GError *error = NULL;

  if (!rfl_sync_client_run (f->a->store, &options, &report, NULL, &error))
    return error;
  return NULL;
}

static void
test_hq_killed_during_upload (Fixture       *f,
                              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflStore) hub = NULL;
  GThread *thread;
  GError *outcome;
  guint n = 3 * RFL_SYNC_MAX_OPS;
  RflSyncReport report;
  gint64 creates;

  add_records (f->a, n);
  thread = g_thread_new ("sync", sync_thread, f);
  /* Wait until HQ has receipted part of the upload, then kill it. */
  for (;;)
    {
      g_autofree char *hq_id = rfl_store_get_setting (f->a->store, "hq");
      g_autoptr(RflPeer) peer = rfl_store_get_peer (f->a->store, hq_id, NULL);

      if (peer != NULL && peer->acked > 0)
        break;
      g_usleep (20000);
    }
  hq_kill (f->hq);
  hq_start (f->hq);
  /* The interrupted sync retries and may well finish against the new HQ. */
  outcome = g_thread_join (thread);
  if (outcome != NULL)
    {
      g_test_message ("the interrupted sync failed: %s", outcome->message);
      g_error_free (outcome);
    }

  report = sync_http (f->hq, f->a);
  g_assert_true (report.converged);
  report = sync_http (f->hq, f->b);
  g_assert_true (report.converged);
  g_assert_cmpuint (report.merge.applied, ==, n);

  hub = hq_store (f->hq);
  creates = rfl_store_query_int (hub, "SELECT count(*) FROM journal WHERE op = 'create'", &error);
  g_assert_no_error (error);
  g_assert_cmpint (creates, ==, n);
  g_assert_cmpint (rfl_store_count (hub, NULL, NULL, &error), ==, n);
}

/* kill -9 of the device while it applies what it pulled. */
static void
test_client_killed_during_apply (Fixture       *f,
                                 gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *pw = g_build_filename (f->dir, "pw", NULL);
  guint n = 4 * RFL_SYNC_MAX_OPS;
  g_autofree char *integrity = NULL;
  gint64 partial = 0;
  RflSyncReport report;

  add_records (f->a, n);
  sync_http (f->hq, f->a);
  g_file_set_contents (pw, TEST_PASSPHRASE, -1, &error);
  g_clear_object (&f->b->store);

  for (guint delay_ms = 200; delay_ms < 20000 && !(partial > 0 && partial < n); delay_ms += 200)
    {
      g_autoptr(GSubprocess) proc = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                                      G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error,
                                                      g_getenv ("REUNITE_CLI"), "--db", f->b->path,
                                                      "--passphrase-file", pw, "sync", "--hq", f->hq->url, NULL);
      g_autoptr(RflStore) peek = NULL;

      g_assert_no_error (error);
      g_usleep (delay_ms * 1000);
      g_subprocess_send_signal (proc, SIGKILL);
      g_subprocess_wait (proc, NULL, NULL);

      /* Bundles apply whole or not at all. */
      peek = rfl_store_open (f->b->path, TEST_PASSPHRASE, strlen (TEST_PASSPHRASE), &error);
      g_assert_no_error (error);
      partial = rfl_store_count (peek, NULL, NULL, &error);
      g_assert_cmpint (partial % RFL_SYNC_BUNDLE_OPS, ==, 0);
    }
  g_assert_cmpint (partial, >, 0);
  g_assert_cmpint (partial, <, n);

  f->b->store = rfl_store_open (f->b->path, TEST_PASSPHRASE, strlen (TEST_PASSPHRASE), &error);
  g_assert_no_error (error);
  integrity = rfl_store_dup_pragma (f->b->store, "integrity_check");
  g_assert_cmpstr (integrity, ==, "ok");
  report = sync_http (f->hq, f->b);
  g_assert_true (report.converged);
  g_assert_cmpint (rfl_store_count (f->b->store, NULL, NULL, &error), ==, n);
}

/* A client that stalls is dropped; others are served meanwhile. */
static void
test_slow_client (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) conn = NULL;
  g_autoptr(GError) error = NULL;
  const char *partial = "POST " RFL_PROTOCOL_PATH_PUSH " HTTP/1.1\r\nHost: x\r\n"
                        "Content-Length: 100\r\n";
  char buf[256];
  gssize got;
  gint64 start;

  conn = g_socket_client_connect_to_host (client, "127.0.0.1", f->hq->port, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), partial, strlen (partial),
                             NULL, NULL, &error);
  g_assert_no_error (error);

  add_records (f->a, 1);
  g_assert_true (sync_http (f->hq, f->a).converged);

  start = g_get_monotonic_time ();
  got = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (conn)), buf, sizeof buf, NULL, &error);
  /* The server closed it (end of stream or reset) after its 2 s timeout. */
  g_assert_cmpint (got, <=, 0);
  g_assert_cmpint (g_get_monotonic_time () - start, <, 10 * G_USEC_PER_SEC);
}

/* With Expect: 100-continue, an oversized body is refused before it is sent. */
static void
test_early_413 (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GSocketConnection) conn = NULL;
  g_autoptr(GError) error = NULL;
  const char *head = "POST " RFL_PROTOCOL_PATH_PUSH " HTTP/1.1\r\nHost: x\r\n"
                     "Content-Length: 1000000000\r\n"
                     "Expect: 100-continue\r\n\r\n";
  char buf[512] = { 0 };
  gssize got;

  conn = g_socket_client_connect_to_host (client, "127.0.0.1", f->hq->port, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn)), head, strlen (head),
                             NULL, NULL, &error);
  /* The whole answer, with its JSON error, arrives without a byte of the body sent. */
  for (gsize have = 0; have < sizeof buf - 1 && strstr (buf, "too_large") == NULL; have += (gsize) got)
    {
      got = g_input_stream_read (g_io_stream_get_input_stream (G_IO_STREAM (conn)), buf + have,
                                 sizeof buf - 1 - have, NULL, &error);
      g_assert_no_error (error);
      if (got <= 0)
        break;
    }
  g_assert_true (g_str_has_prefix (buf, "HTTP/1.1 413"));
  g_assert_nonnull (strstr (buf, "too_large"));
}

static gboolean
append_line (JsonObject *record,
             gpointer    user_data)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), record);
  g_autofree char *text = json_to_string (node, FALSE);

  g_string_append (user_data, text);
  return TRUE;
}

static char *
everything (Device *d)
{
  g_autoptr(GError) error = NULL;
  GString *out = g_string_new (NULL);

  g_assert_true (rfl_store_export (d->store, append_line, out, &error));
  g_assert_no_error (error);
  return g_string_free (out, FALSE);
}

/* A real reunite-hq finds that Goma seeks a boy Bukavu registered, and
 * tells both offices over HTTP, with the other office's name and the
 * score's parts only; Goma's interest reaches Bukavu the same way. */
static void
test_office_matches_over_http (Fixture       *f,
                               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) request = rfl_test_object (
    "{\"type\": \"tracing_request\", \"circumstances\": \"conflict\","
    " \"enquirer\": {\"given_name\": \"Neema\", \"family_name\": \"Kahindo\"},"
    " \"sought\": [{\"given_name\": \"Furaha\", \"family_name\": \"Kahindo\", \"sex\": \"female\","
    "   \"date_of_birth\": \"2013\", \"relationship\": \"daughter\"}],"
    " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}");
  g_autoptr(JsonObject) found = rfl_test_object (
    "{\"type\": \"registration\", \"subtype\": \"separated_child\","
    " \"person\": {\"given_name\": \"Fouraha\", \"family_name\": \"Kahindo\", \"sex\": \"female\","
    "   \"approximate_age\": 13, \"mother_name\": \"Esperance\"},"
    " \"registered_place\": \"Kalehe\", \"consent\": {\"tracing\": true, \"share_within_movement\": true}}");
  Device *c = device_new (f->dir, "c", "Bukavu");
  g_autofree char *request_id = rfl_store_add (f->a->store, request, &error);
  g_autofree char *found_id = NULL;
  g_autofree char *told = NULL, *again = NULL, *goma_all = NULL, *bukavu_all = NULL;
  g_autoptr(GPtrArray) goma = NULL, bukavu = NULL;
  JsonObject *ours, *theirs;

  g_assert_no_error (error);
  enroll (f->hq, c, f->dir);
  found_id = rfl_store_add (c->store, found, &error);
  g_assert_no_error (error);
  sync_http (f->hq, f->a);
  sync_http (f->hq, c);
  told = hq_run (f->hq, 0, "matches", NULL);
  g_assert_nonnull (strstr (told, "\"pairs\":1"));
  sync_http (f->hq, f->a);
  sync_http (f->hq, f->b);
  sync_http (f->hq, c);

  goma = rfl_store_list_office_matches (f->b->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (goma->len, ==, 1);
  ours = g_ptr_array_index (goma, 0);
  g_assert_cmpstr (json_object_get_string_member (ours, "case"), ==, request_id);
  g_assert_cmpstr (json_object_get_string_member (ours, "other_office"), ==, "Bukavu");
  goma_all = everything (f->a);
  g_assert_null (strstr (goma_all, "Fouraha"));
  g_assert_null (strstr (goma_all, "Esperance"));
  g_assert_null (strstr (goma_all, "Kalehe"));
  g_assert_null (strstr (goma_all, found_id));

  g_assert_true (rfl_store_show_interest (f->b->store, json_object_get_string_member (ours, "id"), NULL, &error));
  g_assert_no_error (error);
  sync_http (f->hq, f->b);
  again = hq_run (f->hq, 0, "matches", NULL);
  g_assert_nonnull (strstr (again, "\"interest\":1"));
  sync_http (f->hq, c);
  bukavu = rfl_store_list_office_matches (c->store, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (bukavu->len, ==, 1);
  theirs = g_ptr_array_index (bukavu, 0);
  g_assert_cmpstr (json_object_get_string_member (theirs, "case"), ==, found_id);
  g_assert_cmpstr (json_object_get_string_member (theirs, "other_office"), ==, "Goma");
  g_assert_true (json_object_get_boolean_member (theirs, "other_interested"));
  bukavu_all = everything (c);
  g_assert_null (strstr (bukavu_all, "Neema"));
  g_assert_null (strstr (bukavu_all, "Furaha\""));
  g_assert_null (strstr (bukavu_all, request_id));
  device_free (c);
}

int
main (int    argc,
      char **argv)
{
  rfl_sync_client_prepare ();
  g_test_init (&argc, &argv, NULL);
  if (sodium_init () < 0)
    g_error ("libsodium could not be initialised");

  g_test_add_func ("/sync/convergence", test_convergence);
#define ADD_WHERE(path, func, where) \
  g_test_add (path, Fixture, GINT_TO_POINTER (where), fixture_set_up, func, fixture_tear_down)
#define ADD(path, func) ADD_WHERE (path, func, IN_PROCESS)
  ADD ("/sync/attacks", test_attacks);
  ADD ("/sync/roster-rollback", test_roster_rollback);
  ADD ("/sync/enrollment-tokens", test_enrollment_tokens);
  ADD ("/sync/revocation", test_revocation);
  ADD ("/sync/revocation-by-usb", test_revocation_by_usb);
  ADD ("/sync/divergence-resync", test_divergence_resync);
  ADD ("/sync/restored-from-backup", test_restored_from_backup);
  ADD ("/sync/rebase-statement", test_rebase_statement);
  /* HQ's process stopped, its disk restored and restarted. */
  ADD_WHERE ("/sync/hq-restored-from-backup", test_hq_restored_from_backup, REAL_PROCESS);
  ADD ("/sync/restored-then-usb", test_restored_then_usb);
  ADD ("/sync/pipelined", test_pipelined);
  ADD ("/sync/state-pending", test_state_pending);
  ADD ("/sync/while-another-pushes", test_while_another_pushes);
  /* kill -9 of HQ. */
  ADD_WHERE ("/sync/hq-killed-during-upload", test_hq_killed_during_upload, REAL_PROCESS);
  ADD ("/sync/client-killed-during-apply", test_client_killed_during_apply);
  ADD ("/sync/slow-client", test_slow_client);
  ADD ("/sync/early-413", test_early_413);
  ADD_WHERE ("/sync/office-matches-over-http", test_office_matches_over_http, REAL_PROCESS);
#undef ADD
#undef ADD_WHERE

  return g_test_run ();
}
