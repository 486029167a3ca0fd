/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-bench"

/*
 * The merge on its own, in one process and one thread, against an import
 * of the same records in the same run:
 *
 *   rfl-bench merge keyed|unkeyed DIR FILE.jsonl
 *
 * Device A imports FILE; its journal, read in bundles as a sync would send
 * them, merges into a hub (HQ's role, with its checks), and the hub's
 * journal in the office's scope merges into device B. No envelope, no
 * HTTP: what is left is what the stores do, which is most of a sync's
 * cost, and what a profile of it shows.
 */

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "rfl-bench-merge.h"
#include "rfl-bench-util.h"
#include "rfl-importer.h"
#include "rfl-store-sync.h"
#include "rfl-store-testing.h"

#define PASSPHRASE   "benchmark passphrase, not a secret"
#define OFFICE       "Goma"
#define BUNDLE_OPS   1000
#define BUNDLE_BYTES (16 * 1024 * 1024)

static RflStore *
new_store (gboolean    keyed,
           const char *dir,
           const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  RflStore *store;

  for (guint i = 0; i < 4; i++)
    {
      static const char *suffixes[] = { "", "-wal", "-shm", ".key" };
      g_autofree char *file = g_strconcat (path, suffixes[i], NULL);

      g_unlink (file);
    }
  store = keyed ? rfl_store_create (path, PASSPHRASE, strlen (PASSPHRASE), RFL_KDF_INTERACTIVE, &error)
                : rfl_store_create_unencrypted (path, &error);
  if (store == NULL)
    g_error ("%s: %s", path, error->message);
  return store;
}

static void
add_peer (RflStore   *store,
          RflStore   *other,
          const char *role,
          const char *office)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflDeviceKeys) keys = rfl_store_dup_keys (other, &error);
  RflPeer peer = { 0 };

  if (keys == NULL)
    g_error ("%s", error->message);
  peer.id = keys->device_id;
  peer.role = (char *) role;
  peer.office = (char *) office;
  memcpy (peer.sign_pk, keys->sign_pk, 32);
  memcpy (peer.box_pk, keys->box_pk, 32);
  if (!rfl_store_add_peer (store, &peer, &error))
    g_error ("%s", error->message);
}

/* The operations as a bundle carries them: JSON text, parsed on arrival. */
static JsonArray *
parse_ops (GPtrArray *ops,
           double    *parse_s)
{
  g_autoptr(GString) text = g_string_new ("[");
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) error = NULL;
  gint64 t0;

  for (guint i = 0; i < ops->len; i++)
    {
      if (i > 0)
        g_string_append_c (text, ',');
      g_string_append (text, g_ptr_array_index (ops, i));
    }
  g_string_append_c (text, ']');
  t0 = g_get_monotonic_time ();
  if (!json_parser_load_from_data (parser, text->str, (gssize) text->len, &error))
    g_error ("%s", error->message);
  *parse_s += (g_get_monotonic_time () - t0) / 1e6;
  return json_array_ref (json_node_get_array (json_parser_get_root (parser)));
}

static void
apply (RflStore     *to,
       const char   *peer,
       guint64       seq,
       JsonArray    *ops,
       RflMergeRole  role,
       double       *merge_s)
{
  static const guint8 hash[32];
  g_autoptr(GError) error = NULL;
  RflMergeStats stats;
  gint64 t0 = g_get_monotonic_time ();

  if (!rfl_store_apply_ops (to, peer, seq, seq, hash, ops, role, role == RFL_MERGE_HUB ? OFFICE : NULL,
                            &stats, &error))
    g_error ("%s", error->message);
  *merge_s += (g_get_monotonic_time () - t0) / 1e6;
  if (stats.refused > 0)
    g_error ("%u operations refused", stats.refused);
}

int
rfl_bench_merge (gboolean    keyed,
                 const char *dir,
                 const char *input,
                 JsonObject *out)
{
  g_autoptr(RflStore) a = new_store (keyed, dir, "merge-a.db");
  g_autoptr(RflStore) hub = new_store (keyed, dir, "merge-hub.db");
  g_autoptr(RflStore) b = new_store (keyed, dir, "merge-b.db");
  g_autoptr(RflImporter) importer = rfl_importer_new (input);
  g_autoptr(GError) error = NULL;
  g_autofree char *a_id = g_strdup (rfl_store_get_device_id (a));
  g_autofree char *hub_id = g_strdup (rfl_store_get_device_id (hub));
  g_autofree char *b_id = g_strdup (rfl_store_get_device_id (b));
  double import_s, parse_hub_s = 0, hub_s = 0, parse_b_s = 0, b_s = 0;
  guint64 after = 0, seq = 1;
  gint64 t0;

  add_peer (hub, a, "device", OFFICE);
  add_peer (hub, b, "device", OFFICE);
  add_peer (a, hub, "hq", NULL);
  add_peer (b, hub, "hq", NULL);

  if (!rfl_importer_check (importer, &error))
    g_error ("%s", error->message);
  t0 = g_get_monotonic_time ();
  if (!rfl_importer_run (importer, a, &error))
    g_error ("%s", error->message);
  import_s = (g_get_monotonic_time () - t0) / 1e6;

  for (;; seq++)
    {
      g_autoptr(GPtrArray) ops = rfl_store_read_local_ops (a, after, BUNDLE_OPS, BUNDLE_BYTES, &after, &error);
      g_autoptr(JsonArray) parsed = NULL;

      if (ops == NULL)
        g_error ("%s", error->message);
      if (ops->len == 0)
        break;
      parsed = parse_ops (ops, &parse_hub_s);
      apply (hub, a_id, seq, parsed, RFL_MERGE_HUB, &hub_s);
    }

  after = 0;
  for (seq = 1;; seq++)
    {
      g_autoptr(GPtrArray) ops = rfl_store_read_scope_ops (hub, after, OFFICE, b_id, BUNDLE_OPS, BUNDLE_BYTES,
                                                           &after, &error);
      g_autoptr(JsonArray) parsed = NULL;

      if (ops == NULL)
        g_error ("%s", error->message);
      if (ops->len == 0)
        break;
      parsed = parse_ops (ops, &parse_b_s);
      apply (b, hub_id, seq, parsed, RFL_MERGE_DEVICE, &b_s);
    }
  if (rfl_store_count (b, NULL, NULL, &error) != (gint64) rfl_importer_get_imported (importer))
    g_error ("B holds %" G_GINT64_FORMAT " records, not %" G_GUINT64_FORMAT,
             rfl_store_count (b, NULL, NULL, NULL), rfl_importer_get_imported (importer));

  json_object_set_int_member (out, "records", (gint64) rfl_importer_get_imported (importer));
  json_object_set_double_member (out, "import_s", import_s);
  json_object_set_double_member (out, "hub_parse_s", parse_hub_s);
  json_object_set_double_member (out, "hub_merge_s", hub_s);
  json_object_set_double_member (out, "device_parse_s", parse_b_s);
  json_object_set_double_member (out, "device_merge_s", b_s);
  json_object_set_double_member (out, "hub_ratio", (hub_s + parse_hub_s) / import_s);
  json_object_set_double_member (out, "device_ratio", (b_s + parse_b_s) / import_s);
  json_object_set_int_member (out, "peak_rss_kib", rfl_bench_status_kib ("VmHWM:"));
  return 0;
}
