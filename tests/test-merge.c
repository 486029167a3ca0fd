/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The merge, without transport: a hub and devices in two offices pass
 * operations to each other the way bundles carry them, and must converge.
 */
#include <string.h>

#include "rfl-op.h"
#include "rfl-store-testing.h"
#include "rfl-store-sync.h"
#include "rfl-test-util.h"

#define HUB_OFFICE_GOMA  "Goma"
#define HUB_OFFICE_BUKAVU "Bukavu"

typedef struct
{
  RflStore *store;
  char     *office;
  guint64   pushed;     /* local journal seq sent to the hub */
  guint64   pulled;     /* hub journal seq received */
  guint64   out_seq;    /* bundle seq of the device -> hub stream */
  guint64   in_seq;     /* bundle seq of the hub -> device stream */
} Device;

typedef struct
{
  char     *dir;
  RflStore *hub;
  Device    dev[3];
} Fixture;

static const char *record_json =
  "{\"type\": \"registration\", \"subtype\": \"found_person\", \"status\": \"open\","
  " \"person\": {\"given_name\": \"Baraka\", \"family_name\": \"Mwamba\"},"
  " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}";

static const guint8 zero_hash[32];

static RflStore *
new_store (const char *dir,
           const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;
  RflStore *store = rfl_store_create (path, TEST_PASSPHRASE, strlen (TEST_PASSPHRASE),
                                      RFL_KDF_INTERACTIVE, &error);

  g_assert_no_error (error);
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

  g_assert_no_error (error);
  peer.id = keys->device_id;
  peer.role = (char *) role;
  peer.office = (char *) office;
  memcpy (peer.sign_pk, keys->sign_pk, 32);
  memcpy (peer.box_pk, keys->box_pk, 32);
  g_assert_true (rfl_store_add_peer (store, &peer, &error));
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  static const char *offices[] = { HUB_OFFICE_GOMA, HUB_OFFICE_GOMA, HUB_OFFICE_BUKAVU };

  f->dir = rfl_test_make_dir ();
  f->hub = new_store (f->dir, "hub.db");
  for (guint i = 0; i < G_N_ELEMENTS (f->dev); i++)
    {
      g_autofree char *name = g_strdup_printf ("device%u.db", i);

      f->dev[i].store = new_store (f->dir, name);
      f->dev[i].office = g_strdup (offices[i]);
      f->dev[i].out_seq = f->dev[i].in_seq = 1;
      add_peer (f->hub, f->dev[i].store, "device", offices[i]);
      add_peer (f->dev[i].store, f->hub, "hq", NULL);
    }
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  for (guint i = 0; i < G_N_ELEMENTS (f->dev); i++)
    {
      g_assert_finalize_object (f->dev[i].store);
      g_free (f->dev[i].office);
    }
  g_assert_finalize_object (f->hub);
  rfl_test_remove_dir (f->dir);
  g_free (f->dir);
}

static JsonArray *
to_array (GPtrArray *ops)
{
  JsonArray *array = json_array_new ();

  for (guint i = 0; i < ops->len; i++)
    json_array_add_object_element (array, rfl_test_object (g_ptr_array_index (ops, i)));
  return array;
}

/* The operations travel as JSON text, as in a bundle. */
static JsonArray *
round_trip (JsonArray *ops)
{
  g_autoptr(JsonNode) node = json_node_init_array (json_node_alloc (), ops);
  g_autofree char *text = json_to_string (node, FALSE);
  g_autoptr(JsonNode) back = json_from_string (text, NULL);

  return json_array_ref (json_node_get_array (back));
}

static const char *
id_of (RflStore *store)
{
  return rfl_store_get_device_id (store);
}

static RflMergeStats
push (Fixture *f,
      guint    i)
{
  Device *d = &f->dev[i];
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(JsonArray) array = NULL, wire = NULL;
  RflMergeStats stats = { 0 };
  guint64 last = 0;

  ops = rfl_store_read_local_ops (d->store, d->pushed, 10000, G_MAXSIZE, &last, &error);
  g_assert_no_error (error);
  if (ops->len == 0)
    return stats;
  array = to_array (ops);
  wire = round_trip (array);
  g_assert_true (rfl_store_apply_ops (f->hub, id_of (d->store), d->out_seq, d->out_seq, zero_hash, wire,
                                      RFL_MERGE_HUB, d->office, &stats, &error));
  g_assert_no_error (error);
  d->out_seq++;
  d->pushed = last;
  return stats;
}

static void
pull (Fixture *f,
      guint    i)
{
  Device *d = &f->dev[i];
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(JsonArray) array = NULL, wire = NULL;
  RflMergeStats stats = { 0 };
  guint64 through = 0;

  ops = rfl_store_read_scope_ops (f->hub, d->pulled, d->office, id_of (d->store), 10000, G_MAXSIZE,
                                   &through, &error);
  g_assert_no_error (error);
  d->pulled = through;
  if (ops->len == 0)
    return;
  array = to_array (ops);
  wire = round_trip (array);
  rfl_store_apply_ops (d->store, id_of (f->hub), d->in_seq, d->in_seq, zero_hash, wire,
                       RFL_MERGE_DEVICE, NULL, &stats, &error);
  g_assert_no_error (error);
  d->in_seq++;
}

static void
sync_all (Fixture *f)
{
  for (guint i = 0; i < G_N_ELEMENTS (f->dev); i++)
    push (f, i);
  for (guint i = 0; i < G_N_ELEMENTS (f->dev); i++)
    pull (f, i);
}

static char *
state (RflStore   *store,
       const char *office)
{
  g_autoptr(GError) error = NULL;
  char *hash = rfl_store_state_hash (store, office, NULL, &error);

  g_assert_no_error (error);
  return hash;
}

static void
assert_converged (Fixture *f)
{
  for (guint i = 0; i < G_N_ELEMENTS (f->dev); i++)
    {
      g_autofree char *mine = state (f->dev[i].store, NULL);
      g_autofree char *hubs = state (f->hub, f->dev[i].office);

      g_assert_cmpstr (mine, ==, hubs);
    }
}

static char *
add (RflStore *store)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) record = rfl_test_object (record_json);
  char *id = rfl_store_add (store, record, &error);

  g_assert_no_error (error);
  return id;
}

static void
update (RflStore   *store,
        const char *id,
        const char *json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) patch = rfl_test_object (json);

  g_assert_true (rfl_store_update (store, id, patch, &error));
  g_assert_no_error (error);
}

static char *
field (RflStore   *store,
       const char *id,
       const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) record = rfl_store_get (store, id, &error);
  JsonNode *node;

  g_assert_no_error (error);
  node = json_object_get_member (record, name);
  return node != NULL ? json_to_string (node, FALSE) : NULL;
}

static guint
n_conflicts (RflStore *store)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = rfl_store_list_conflicts (store, FALSE, &error);

  g_assert_no_error (error);
  return list->len;
}

static void
test_create_reaches_office_only (Fixture       *f,
                                 gconstpointer  data)
{
  g_autofree char *id = add (f->dev[0].store);

  sync_all (f);
  g_assert_true (rfl_store_holds_record (f->hub, id));
  g_assert_true (rfl_store_holds_record (f->dev[1].store, id));
  /* Bukavu was not given the Goma record. */
  g_assert_false (rfl_store_holds_record (f->dev[2].store, id));
  assert_converged (f);
}

static void
test_sequential_edits_do_not_conflict (Fixture       *f,
                                       gconstpointer  data)
{
  g_autofree char *id = add (f->dev[0].store);
  g_autofree char *value = NULL;

  sync_all (f);
  update (f->dev[1].store, id, "{\"description\": \"seen at the market\"}");
  sync_all (f);
  update (f->dev[0].store, id, "{\"description\": \"moved to Sake\"}");
  sync_all (f);
  sync_all (f);

  value = field (f->dev[1].store, id, "description");
  g_assert_cmpstr (value, ==, "\"moved to Sake\"");
  g_assert_cmpuint (n_conflicts (f->hub), ==, 0);
  assert_converged (f);
}

static guint
found (RflStore   *store,
       const char *query)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) hits = rfl_store_search (store, query, 10, &error);

  g_assert_no_error (error);
  return hits->len;
}

static void
test_names_follow_edits (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *id = add (f->dev[0].store);

  /* An edit that leaves the names alone keeps the record findable, here
   * and at every replica it reaches; one that changes a name moves it. */
  sync_all (f);
  update (f->dev[0].store, id, "{\"description\": \"seen at the market\"}");
  sync_all (f);
  g_assert_cmpuint (found (f->dev[0].store, "Baraka Mwamba"), ==, 1);
  g_assert_cmpuint (found (f->hub, "Baraka Mwamba"), ==, 1);
  g_assert_cmpuint (found (f->dev[1].store, "Baraka Mwamba"), ==, 1);

  update (f->dev[1].store, id, "{\"person\": {\"given_name\": \"Baraka\", \"family_name\": \"Kasongo\"}}");
  sync_all (f);
  sync_all (f);
  for (guint i = 0; i < 2; i++)
    {
      RflStore *store = i == 0 ? f->dev[0].store : f->hub;

      g_assert_cmpuint (found (store, "Mwamba"), ==, 0);
      g_assert_cmpuint (found (store, "Baraka Kasongo"), ==, 1);
    }
  assert_converged (f);
}

static void
test_concurrent_edits_conflict (Fixture       *f,
                                gconstpointer  data)
{
  g_autofree char *id = add (f->dev[0].store);
  g_autofree char *a = NULL, *b = NULL;
  g_autoptr(GPtrArray) list = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *conflict;
  RflMergeStats stats;

  sync_all (f);
  /* Both Goma devices change the same field while offline. */
  update (f->dev[0].store, id, "{\"description\": \"from device zero\"}");
  update (f->dev[1].store, id, "{\"description\": \"from device one\"}");
  push (f, 0);
  stats = push (f, 1);
  g_assert_cmpuint (stats.conflicts, ==, 1);
  sync_all (f);
  sync_all (f);

  /* Last writer wins everywhere, and the other value is kept for review. */
  a = field (f->dev[0].store, id, "description");
  b = field (f->dev[1].store, id, "description");
  g_assert_cmpstr (a, ==, "\"from device one\"");
  g_assert_cmpstr (a, ==, b);
  assert_converged (f);
  g_assert_cmpuint (n_conflicts (f->hub), ==, 1);
  g_assert_cmpuint (n_conflicts (f->dev[0].store), ==, 1);
  list = rfl_store_list_conflicts (f->dev[0].store, FALSE, &error);
  conflict = g_ptr_array_index (list, 0);
  g_assert_cmpstr (json_object_get_string_member (conflict, "field"), ==, "description");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (conflict, "loser"), "value"),
                   ==, "from device zero");

  /* Device zero takes its own value back; the resolution and the value sync. */
  g_assert_true (rfl_store_resolve_conflict (f->dev[0].store, json_object_get_string_member (conflict, "id"),
                                             TRUE, &error));
  g_assert_no_error (error);
  g_assert_false (rfl_store_resolve_conflict (f->dev[0].store, json_object_get_string_member (conflict, "id"),
                                              FALSE, &error));
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION);
  sync_all (f);
  sync_all (f);
  g_free (b);
  b = field (f->dev[1].store, id, "description");
  g_assert_cmpstr (b, ==, "\"from device zero\"");
  g_assert_cmpuint (n_conflicts (f->hub), ==, 0);
  g_assert_cmpuint (n_conflicts (f->dev[1].store), ==, 0);
  assert_converged (f);

  /* The record hashes kept at write time are those the state hash would
   * compute from scratch. */
  {
    g_autofree char *kept = state (f->dev[1].store, NULL);
    g_autofree char *fresh = NULL;

    g_assert_true (rfl_store_rehash_all (f->dev[1].store, &error));
    fresh = state (f->dev[1].store, NULL);
    g_assert_cmpstr (kept, ==, fresh);
  }
}

static void
test_delete_wins_and_edit_is_kept (Fixture       *f,
                                   gconstpointer  data)
{
  g_autofree char *id = add (f->dev[0].store);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) gone = NULL;

  sync_all (f);
  g_assert_true (rfl_store_delete (f->dev[0].store, id, &error));
  update (f->dev[1].store, id, "{\"description\": \"edited while it was deleted\"}");
  sync_all (f);
  sync_all (f);

  gone = rfl_store_get (f->dev[1].store, id, &error);
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND);
  g_assert_null (gone);
  g_assert_cmpuint (n_conflicts (f->hub), ==, 1);
  assert_converged (f);
}

static void
test_share_sends_whole_record (Fixture       *f,
                               gconstpointer  data)
{
  g_autofree char *id = add (f->dev[0].store);
  g_autofree char *value = NULL;
  g_autoptr(GError) error = NULL;

  update (f->dev[0].store, id, "{\"description\": \"before the transfer\"}");
  sync_all (f);
  g_assert_false (rfl_store_holds_record (f->dev[2].store, id));

  g_assert_true (rfl_store_share (f->dev[0].store, id, HUB_OFFICE_BUKAVU, &error));
  g_assert_no_error (error);
  sync_all (f);
  value = field (f->dev[2].store, id, "description");
  g_assert_cmpstr (value, ==, "\"before the transfer\"");

  /* Bukavu may now edit it, and Goma sees the edit. */
  update (f->dev[2].store, id, "{\"description\": \"after the transfer\"}");
  sync_all (f);
  g_free (value);
  value = field (f->dev[1].store, id, "description");
  g_assert_cmpstr (value, ==, "\"after the transfer\"");
  assert_converged (f);
}

/* A case closed long ago and purged when its retention passed: gone on
 * every replica of its office, which all agree on the state; a purge of an
 * open case is refused. */
static void
test_purge_converges (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *id = add (f->dev[0].store);
  g_autofree char *open_id = add (f->dev[0].store);
  g_autoptr(GError) error = NULL;

  sync_all (f);
  rfl_store_set_today (f->dev[0].store, "2020-01-01");
  update (f->dev[0].store, id, "{\"status\": \"closed\", \"closure_reason\": \"located\"}");
  rfl_store_set_today (f->dev[0].store, "2031-01-01");
  g_assert_cmpint (rfl_store_purge_expired (f->dev[0].store, &error), ==, 1);
  g_assert_no_error (error);
  rfl_store_set_today (f->dev[0].store, NULL);
  /* HQ checks how long ago the case was closed (five years by default),
   * by its own calendar. */
  rfl_store_set_today (f->hub, "2035-01-01");
  sync_all (f);
  sync_all (f);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(JsonObject) gone = rfl_store_get (f->dev[i].store, id, &error);

      g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND);
      g_clear_error (&error);
    }
  assert_converged (f);

  /* An open case is not purged, whatever a device sends. */
  {
    g_autofree char *op = g_strdup_printf ("{\"r\": \"%s\", \"o\": \"purge\", \"h\": %" G_GUINT64_FORMAT ","
                                           " \"d\": \"%s\", \"c\": {\"$purged\": true, \"$status\": \"closed\","
                                           " \"$status_clock\": [65536, \"%s\"]}}",
                                           open_id, (guint64) g_get_real_time () / 1000 << 16,
                                           id_of (f->dev[1].store), id_of (f->dev[1].store));
    g_autoptr(JsonArray) ops = json_array_new ();
    RflMergeStats stats;

    json_array_add_object_element (ops, rfl_test_object (op));
    g_assert_true (rfl_store_apply_ops (f->hub, id_of (f->dev[1].store), f->dev[1].out_seq, f->dev[1].out_seq,
                                        zero_hash, ops, RFL_MERGE_HUB, HUB_OFFICE_GOMA, &stats, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (stats.refused, ==, 1);
    f->dev[1].out_seq++;
    g_free (field (f->hub, open_id, "status"));
  }
}

/* A case created, shared with another office, closed and purged before
 * any sync: HQ never had it, and the share alone was skipped there. The
 * purge carries the offices, so every replica keeps the same tombstone. */
static void
test_purge_of_unsent_shared_record (Fixture       *f,
                                    gconstpointer  data)
{
  g_autofree char *id = add (f->dev[0].store);
  g_autoptr(GError) error = NULL;

  g_assert_true (rfl_store_share (f->dev[0].store, id, HUB_OFFICE_BUKAVU, &error));
  g_assert_no_error (error);
  rfl_store_set_today (f->dev[0].store, "2020-01-01");
  update (f->dev[0].store, id, "{\"status\": \"closed\", \"closure_reason\": \"located\"}");
  rfl_store_set_today (f->dev[0].store, "2031-01-01");
  g_assert_cmpint (rfl_store_purge_expired (f->dev[0].store, &error), ==, 1);
  g_assert_no_error (error);
  rfl_store_set_today (f->dev[0].store, NULL);
  rfl_store_set_today (f->hub, "2035-01-01");
  sync_all (f);
  sync_all (f);
  g_assert_true (rfl_store_holds_record (f->hub, id));
  g_assert_true (rfl_store_holds_record (f->dev[2].store, id));
  assert_converged (f);
}

static gboolean
alive (RflStore   *store,
       const char *id)
{
  g_autoptr(JsonObject) record = rfl_store_get (store, id, NULL);

  return record != NULL;
}

/* An open case is deleted by the device that registered it, or by HQ's
 * operators; another device of the office is refused, on the device and,
 * if its client does not ask, at HQ, which brings the case back on it. */
static void
test_open_case_delete (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *mine = add (f->dev[0].store);
  g_autofree char *theirs = add (f->dev[0].store);
  g_autofree char *closed = add (f->dev[0].store);
  g_autofree char *by_hq = add (f->dev[0].store);
  g_autoptr(GError) error = NULL;

  update (f->dev[0].store, closed, "{\"status\": \"closed\", \"closure_reason\": \"located\"}");
  sync_all (f);

  /* Goma's other device may not delete an open case it did not register. */
  g_assert_false (rfl_store_delete (f->dev[1].store, theirs, &error));
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_ALLOWED);
  g_clear_error (&error);
  g_assert_true (alive (f->dev[1].store, theirs));
  /* A closed one it may; its creator may delete its own. */
  g_assert_true (rfl_store_delete (f->dev[1].store, closed, &error));
  g_assert_no_error (error);
  g_assert_true (rfl_store_delete (f->dev[0].store, mine, &error));
  g_assert_no_error (error);

  /* A client that does not ask: the delete reaches HQ, which refuses it. */
  {
    g_autofree char *op = g_strdup_printf ("{\"r\": \"%s\", \"o\": \"delete\", \"h\": %" G_GUINT64_FORMAT ","
                                           " \"d\": \"%s\", \"c\": {\"$cl\": 2}, \"l\": 2}",
                                           theirs, (guint64) g_get_real_time () / 1000 << 16,
                                           id_of (f->dev[1].store));
    g_autoptr(JsonArray) ops = json_array_new ();
    RflMergeStats stats;

    json_array_add_object_element (ops, rfl_test_object (op));
    g_assert_true (rfl_store_apply_ops (f->hub, id_of (f->dev[1].store), f->dev[1].out_seq, f->dev[1].out_seq,
                                        zero_hash, ops, RFL_MERGE_HUB, HUB_OFFICE_GOMA, &stats, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (stats.refused, ==, 1);
    f->dev[1].out_seq++;
  }
  /* And HQ's operators may delete an open case. */
  g_assert_true (rfl_store_delete_as_operator (f->hub, by_hq, "registered twice", &error));
  g_assert_no_error (error);

  sync_all (f);
  sync_all (f);
  for (guint i = 0; i < 2; i++)
    {
      g_assert_true (alive (f->dev[i].store, theirs));
      g_assert_false (alive (f->dev[i].store, mine));
      g_assert_false (alive (f->dev[i].store, closed));
      g_assert_false (alive (f->dev[i].store, by_hq));
    }
  assert_converged (f);
}

/* A device cannot push a record's causal length ahead: a delete of 2^63 - 2
 * was answered with a revival at 2^63 - 1, after which no delete, the
 * creator's or HQ's, could ever win, and the counter wrapped negative. */
static void
test_causal_length_bounds (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *theirs = add (f->dev[0].store);
  g_autofree char *mine = add (f->dev[1].store);
  g_autoptr(GError) error = NULL;
  static const struct { const char *o, *c, *l; gboolean on_mine; } forged[] = {
    { "delete", "{\"$cl\": 9223372036854775806}", "1", FALSE },
    { "delete", "{\"$cl\": 9223372036854775807}", "1", TRUE },
    { "delete", "{\"$cl\": 4}", "1", TRUE },
    { "delete", "{\"$cl\": \"2\"}", "1", FALSE },
    { "update", "{\"description\": \"x\"}", "2", FALSE },
  };

  sync_all (f);
  for (guint i = 0; i < G_N_ELEMENTS (forged); i++)
    {
      g_autofree char *op = g_strdup_printf ("{\"r\": \"%s\", \"o\": \"%s\", \"h\": %" G_GUINT64_FORMAT ","
                                             " \"d\": \"%s\", \"c\": %s, \"l\": %s}",
                                             forged[i].on_mine ? mine : theirs, forged[i].o,
                                             (guint64) g_get_real_time () / 1000 << 16, id_of (f->dev[1].store),
                                             forged[i].c, forged[i].l);
      g_autoptr(JsonArray) ops = json_array_new ();
      RflMergeStats stats;

      json_array_add_object_element (ops, rfl_test_object (op));
      g_assert_true (rfl_store_apply_ops (f->hub, id_of (f->dev[1].store), f->dev[1].out_seq, f->dev[1].out_seq,
                                          zero_hash, ops, RFL_MERGE_HUB, HUB_OFFICE_GOMA, &stats, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (stats.refused, ==, 1);
      f->dev[1].out_seq++;
    }
  sync_all (f);
  g_assert_true (alive (f->hub, theirs));
  g_assert_true (alive (f->hub, mine));

  /* Deletes still win: the creator's, and HQ's operators'. */
  g_assert_true (rfl_store_delete (f->dev[1].store, mine, &error));
  g_assert_no_error (error);
  g_assert_true (rfl_store_delete_as_operator (f->hub, theirs, "duplicate", &error));
  g_assert_no_error (error);
  sync_all (f);
  sync_all (f);
  for (guint i = 0; i < 2; i++)
    {
      g_assert_false (alive (f->dev[i].store, mine));
      g_assert_false (alive (f->dev[i].store, theirs));
    }
  assert_converged (f);
}

static void
test_out_of_scope_refused (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *id = add (f->dev[0].store);
  g_autofree char *stolen = NULL, *hub_value = NULL;
  g_autoptr(JsonObject) op = NULL;
  g_autoptr(JsonArray) ops = json_array_new ();
  g_autoptr(GError) error = NULL;
  RflMergeStats stats;

  sync_all (f);
  /* Bukavu's device writes to a Goma record it was never given. */
  stolen = g_strdup_printf ("{\"r\": \"%s\", \"o\": \"update\", \"h\": %" G_GUINT64_FORMAT ","
                            " \"d\": \"%s\", \"c\": {\"description\": \"overwritten\"}}",
                            id, (guint64) g_get_real_time () / 1000 << 16, id_of (f->dev[2].store));
  op = rfl_test_object (stolen);
  json_array_add_object_element (ops, json_object_ref (op));
  g_assert_true (rfl_store_apply_ops (f->hub, id_of (f->dev[2].store), f->dev[2].out_seq, f->dev[2].out_seq,
                                      zero_hash, ops, RFL_MERGE_HUB, HUB_OFFICE_BUKAVU, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.refused, ==, 1);
  g_assert_cmpuint (stats.applied, ==, 0);
  f->dev[2].out_seq++;
  hub_value = field (f->hub, id, "description");
  g_assert_null (hub_value);

  /* Nor may it speak for another device: the operation is refused and
   * named, as PROTOCOL.md says, and the rest of the bundle would apply. */
  g_assert_true (rfl_store_apply_ops (f->hub, id_of (f->dev[1].store), f->dev[1].out_seq, f->dev[1].out_seq,
                                      zero_hash, ops, RFL_MERGE_HUB, HUB_OFFICE_GOMA, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.refused, ==, 1);
  g_assert_cmpuint (stats.applied, ==, 0);
  g_assert_cmpuint (stats.n_named, ==, 1);
  g_assert_cmpstr (stats.named[0], ==, id);
  g_clear_pointer (&hub_value, g_free);
  hub_value = field (f->hub, id, "description");
  g_assert_null (hub_value);
}

static void
test_future_clock_clamped (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *id = add (f->dev[0].store);
  g_autofree char *json = NULL, *value = NULL;
  g_autoptr(JsonObject) op = NULL;
  g_autoptr(JsonArray) ops = json_array_new ();
  g_autoptr(GError) error = NULL;
  guint64 far = (guint64) (g_get_real_time () / 1000 + 10 * RFL_MERGE_MAX_SKEW_MS) << 16;
  RflMergeStats stats;

  sync_all (f);
  /* A laptop whose clock is ten days ahead. */
  json = g_strdup_printf ("{\"r\": \"%s\", \"o\": \"update\", \"h\": %" G_GUINT64_FORMAT ","
                          " \"d\": \"%s\", \"c\": {\"description\": \"from the future\"}, \"l\": 1}",
                          id, far, id_of (f->dev[1].store));
  op = rfl_test_object (json);
  json_array_add_object_element (ops, json_object_ref (op));
  g_assert_true (rfl_store_apply_ops (f->hub, id_of (f->dev[1].store), f->dev[1].out_seq, f->dev[1].out_seq,
                                      zero_hash, ops, RFL_MERGE_HUB, HUB_OFFICE_GOMA, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.clamped, ==, 1);
  f->dev[1].out_seq++;

  /* The hub kept the value with a clock one day ahead, not ten, and the
   * laptop that wrote it takes the clamped clock too. */
  g_assert_cmpint (rfl_store_query_int (f->hub, "SELECT max (hlc) FROM journal", &error), <,
                   (gint64) ((guint64) (g_get_real_time () / 1000 + RFL_MERGE_MAX_SKEW_MS + 1000) << 16));
  g_assert_no_error (error);
  sync_all (f);
  value = field (f->dev[0].store, id, "description");
  g_assert_cmpstr (value, ==, "\"from the future\"");
  assert_converged (f);
}

static void
test_bundle_applied_once (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *id = add (f->dev[0].store);
  g_autofree char *before = NULL, *after = NULL;
  g_autoptr(GPtrArray) ops = NULL;
  g_autoptr(JsonArray) array = NULL;
  g_autoptr(GError) error = NULL;
  RflMergeStats stats;
  guint64 last;

  ops = rfl_store_read_local_ops (f->dev[0].store, 0, 100, G_MAXSIZE, &last, &error);
  array = to_array (ops);
  g_assert_true (rfl_store_apply_ops (f->hub, id_of (f->dev[0].store), 1, 1, zero_hash, array,
                                      RFL_MERGE_HUB, HUB_OFFICE_GOMA, &stats, &error));
  g_assert_no_error (error);
  before = state (f->hub, NULL);

  /* The same bundle again, and one from the future: both refused, nothing changes. */
  g_assert_false (rfl_store_apply_ops (f->hub, id_of (f->dev[0].store), 1, 1, zero_hash, array,
                                       RFL_MERGE_HUB, HUB_OFFICE_GOMA, &stats, &error));
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION);
  g_clear_error (&error);
  g_assert_false (rfl_store_apply_ops (f->hub, id_of (f->dev[0].store), 5, 5, zero_hash, array,
                                       RFL_MERGE_HUB, HUB_OFFICE_GOMA, &stats, &error));
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION);
  after = state (f->hub, NULL);
  g_assert_cmpstr (before, ==, after);
  g_assert_true (rfl_store_holds_record (f->hub, id));
}

static void
test_malformed_ops_refused (Fixture       *f,
                            gconstpointer  data)
{
  static const char *bad[] = {
    "[1]",
    "[{\"r\": \"x\", \"o\": \"explode\", \"h\": 1, \"d\": \"0123456789abcdef0123456789abcdef\", \"c\": {}}]",
    "[{\"r\": \"x\", \"o\": \"update\", \"h\": -1, \"d\": \"0123456789abcdef0123456789abcdef\", \"c\": {}}]",
    "[{\"r\": \"x\", \"o\": \"update\", \"h\": 1, \"d\": \"short\", \"c\": {}}]",
    "[{\"r\": \"x\", \"o\": \"update\", \"h\": 1, \"d\": \"0123456789abcdef0123456789abcdef\", \"c\": []}]",
  };
  g_autofree char *before = state (f->hub, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(JsonNode) node = json_from_string (bad[i], NULL);
      g_autoptr(GError) error = NULL;
      g_autofree char *after = NULL;
      RflMergeStats stats;

      g_assert_false (rfl_store_apply_ops (f->hub, id_of (f->dev[0].store), 1, 1, zero_hash,
                                           json_node_get_array (node), RFL_MERGE_HUB, HUB_OFFICE_GOMA,
                                           &stats, &error));
      g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
      after = state (f->hub, NULL);
      g_assert_cmpstr (before, ==, after);
    }
}

/* The kinds PROTOCOL.md lists are the op table's, in its order, and the
 * two a device may not send are the ones it says are HQ's to write. */
static void
test_op_table_matches_protocol (void)
{
  g_autofree char *path = g_test_build_filename (G_TEST_DIST, "..", "docs", "PROTOCOL.md", NULL);
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GPtrArray) listed = g_ptr_array_new_with_free_func (g_free);

  g_assert_true (g_file_get_contents (path, &text, NULL, NULL));
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL && listed->len == 0; i++)
    if (g_str_has_prefix (lines[i], "| `o` | "))
      {
        g_auto(GStrv) parts = g_strsplit (lines[i], "`", -1);

        for (guint j = 3; parts[j] != NULL; j += 2)
          g_ptr_array_add (listed, g_strdup (parts[j]));
      }
  g_assert_cmpuint (listed->len, ==, RFL_OP_N_KINDS);
  for (guint k = 0; k < RFL_OP_N_KINDS; k++)
    {
      const RflOpInfo *info = rfl_op_lookup (g_ptr_array_index (listed, k));

      g_assert_nonnull (info);
      g_assert_cmpint (info->kind, ==, k);
      g_assert_cmpstr (rfl_op_name (k), ==, g_ptr_array_index (listed, k));
      g_assert_cmpint (info->device_may_send, ==, k != RFL_OP_SNAPSHOT && k != RFL_OP_CONFLICT);
      g_assert_nonnull (info->apply);
    }
  g_assert_null (rfl_op_lookup ("merge"));
  g_assert_cmpstr (rfl_op_back_to_author (), ==, "'snapshot','conflict'");
}

/* A bundle stops growing at its byte budget, the first operation comes
 * whatever its size, and what is read past the budget is not skipped. */
static void
test_bundle_byte_budget (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) all = NULL, one = NULL, two = NULL;
  guint64 last = 0, through = 0, first_seq = 0;
  guint seen = 0;

  for (guint i = 0; i < 4; i++)
    g_free (add (f->dev[0].store));
  all = rfl_store_read_local_ops (f->dev[0].store, 0, 100, G_MAXSIZE, &last, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (all->len, ==, 4);
  one = rfl_store_read_local_ops (f->dev[0].store, 0, 100, 1, &first_seq, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (one->len, ==, 1);
  g_assert_cmpuint (first_seq, <, last);
  two = rfl_store_read_local_ops (f->dev[0].store, 0, 100, strlen (g_ptr_array_index (all, 0)) + 1,
                                  &last, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (two->len, ==, 2);

  /* HQ's side: a device of the office reads all four, one at a time. */
  push (f, 0);
  for (guint round = 0; round < 6; round++)
    {
      g_autoptr(GPtrArray) ops = rfl_store_read_scope_ops (f->hub, through, f->dev[1].office,
                                                           id_of (f->dev[1].store), 100, 1,
                                                           &through, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (ops->len, <=, 1);
      seen += ops->len;
    }
  g_assert_cmpuint (seen, ==, 4);
}

static guint
count_audit (RflStore   *store,
             const char *action)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) entries = rfl_store_audit_list (store, &error);
  guint n = 0;

  g_assert_no_error (error);
  for (guint i = 0; i < entries->len; i++)
    n += g_strcmp0 (json_object_get_string_member (g_ptr_array_index (entries, i), "action"), action) == 0;
  return n;
}

/* A bundle with one operation HQ refuses among valid ones: the valid ones
 * apply, the refused one is named and audited once, and so is a clock HQ
 * clamped before it, though the bundle is merged a second time, each
 * operation in a savepoint, once the refusal is met. */
static void
test_refused_among_valid (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *first = add (f->dev[1].store);
  g_autofree char *last = NULL, *other = add (f->dev[0].store), *forged = NULL, *ahead = NULL;
  g_autoptr(GPtrArray) mine = NULL;
  g_autoptr(JsonArray) ops = json_array_new ();
  g_autoptr(GError) error = NULL;
  guint64 future = ((guint64) g_get_real_time () / 1000 + 3 * 24 * 3600 * 1000) << 16;
  guint64 after = 0;
  RflMergeStats stats;

  push (f, 0);
  g_free (add (f->dev[1].store));
  last = add (f->dev[1].store);
  mine = rfl_store_read_local_ops (f->dev[1].store, 0, 100, G_MAXSIZE, &after, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (mine->len, ==, 3);
  /* A clock three days ahead on the first, then an edit for another device. */
  ahead = g_strdup_printf ("{\"r\": \"%s\", \"o\": \"update\", \"h\": %" G_GUINT64_FORMAT ","
                           " \"d\": \"%s\", \"c\": {\"description\": \"from the future\"}}",
                           first, future, id_of (f->dev[1].store));
  forged = g_strdup_printf ("{\"r\": \"%s\", \"o\": \"update\", \"h\": %" G_GUINT64_FORMAT ","
                            " \"d\": \"%s\", \"c\": {\"description\": \"forged\"}}",
                            other, (guint64) g_get_real_time () / 1000 << 16, id_of (f->dev[0].store));
  json_array_add_object_element (ops, rfl_test_object (g_ptr_array_index (mine, 0)));
  json_array_add_object_element (ops, rfl_test_object (ahead));
  json_array_add_object_element (ops, rfl_test_object (forged));
  json_array_add_object_element (ops, rfl_test_object (g_ptr_array_index (mine, 1)));
  json_array_add_object_element (ops, rfl_test_object (g_ptr_array_index (mine, 2)));
  g_assert_true (rfl_store_apply_ops (f->hub, id_of (f->dev[1].store), 1, 1, zero_hash, ops,
                                      RFL_MERGE_HUB, HUB_OFFICE_GOMA, &stats, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (stats.applied, ==, 4);
  g_assert_cmpuint (stats.refused, ==, 1);
  g_assert_cmpuint (stats.clamped, ==, 1);
  g_assert_cmpuint (stats.n_named, ==, 1);
  g_assert_cmpstr (stats.named[0], ==, other);
  g_assert_true (rfl_store_holds_record (f->hub, first));
  g_assert_true (rfl_store_holds_record (f->hub, last));
  g_assert_cmpuint (count_audit (f->hub, "refused"), ==, 1);
  g_assert_cmpuint (count_audit (f->hub, "clock-clamped"), ==, 1);
  {
    g_autofree char *kept = field (f->hub, other, "description");
    g_autofree char *clamped = field (f->hub, first, "description");

    g_assert_null (kept);
    g_assert_cmpstr (clamped, ==, "\"from the future\"");
  }
}

typedef struct
{
  RflStore  *hub;
  char      *sender;
  char      *office;
  GPtrArray *bundles;   /* JsonArray */
  GError    *error;
} Sender;

static gpointer
sender_thread (gpointer data)
{
  Sender *s = data;

  for (guint i = 0; i < s->bundles->len && s->error == NULL; i++)
    {
      RflMergeStats stats;

      if (!rfl_store_apply_ops (s->hub, s->sender, i + 1, i + 1, zero_hash, g_ptr_array_index (s->bundles, i),
                                RFL_MERGE_HUB, s->office, &stats, &s->error))
        break;
      if (stats.applied != 5)
        g_set_error (&s->error, G_IO_ERROR, G_IO_ERROR_FAILED, "bundle %u: %u applied", i + 1, stats.applied);
    }
  return NULL;
}

/* Three devices' bundles merged by three threads at once, as HQ's workers
 * do: the store merges what waits in one transaction, and every bundle
 * applies once, in its stream's order. */
static void
test_concurrent_senders (Fixture       *f,
                         gconstpointer  data)
{
  Sender senders[G_N_ELEMENTS (f->dev)] = { 0 };
  GThread *threads[G_N_ELEMENTS (f->dev)];
  g_autoptr(GError) error = NULL;

  for (guint d = 0; d < G_N_ELEMENTS (f->dev); d++)
    {
      guint64 after = 0;

      senders[d] = (Sender) { f->hub, g_strdup (id_of (f->dev[d].store)), f->dev[d].office,
                              g_ptr_array_new_with_free_func ((GDestroyNotify) json_array_unref), NULL };
      for (guint i = 0; i < 60; i++)
        g_free (add (f->dev[d].store));
      for (;;)
        {
          g_autoptr(GPtrArray) ops = rfl_store_read_local_ops (f->dev[d].store, after, 5, G_MAXSIZE, &after, &error);

          g_assert_no_error (error);
          if (ops->len == 0)
            break;
          g_ptr_array_add (senders[d].bundles, round_trip (to_array (ops)));
        }
      g_assert_cmpuint (senders[d].bundles->len, ==, 12);
    }
  for (guint d = 0; d < G_N_ELEMENTS (f->dev); d++)
    threads[d] = g_thread_new ("sender", sender_thread, &senders[d]);
  for (guint d = 0; d < G_N_ELEMENTS (f->dev); d++)
    {
      g_autoptr(RflPeer) peer = NULL;

      g_thread_join (threads[d]);
      g_assert_no_error (senders[d].error);
      peer = rfl_store_get_peer (f->hub, senders[d].sender, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (peer->in_next, ==, 13);
      g_free (senders[d].sender);
      g_ptr_array_unref (senders[d].bundles);
    }
  g_assert_cmpint (rfl_store_count (f->hub, NULL, NULL, &error), ==, 180);
  g_assert_cmpuint (count_audit (f->hub, "receive"), ==, 36);
  for (guint d = 0; d < G_N_ELEMENTS (f->dev); d++)
    pull (f, d);
  assert_converged (f);
}

/* Bundles applied as a batch, in one transaction: those before a bad one
 * apply, the bad one and those after it that no longer follow on carry
 * their errors and change nothing, and sending those again applies them,
 * as one at a time would. */
static void
test_bundle_batch (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(JsonNode) bad = json_from_string ("[1]", NULL);
  g_autoptr(GPtrArray) arrays = g_ptr_array_new_with_free_func ((GDestroyNotify) json_array_unref);
  g_autoptr(GError) error = NULL;
  g_autoptr(RflPeer) peer = NULL;
  g_autofree char *ids[4] = { 0 };
  g_autofree char *empty = state (f->hub, NULL);
  const char *dev = id_of (f->dev[0].store);
  guint64 after = 0;
  RflBundleApply batch[4];

  for (guint i = 0; i < 4; i++)
    {
      g_autoptr(GPtrArray) ops = NULL;

      ids[i] = add (f->dev[0].store);
      ops = rfl_store_read_local_ops (f->dev[0].store, after, 1, G_MAXSIZE, &after, &error);
      g_assert_no_error (error);
      g_assert_cmpuint (ops->len, ==, 1);
      g_ptr_array_add (arrays, round_trip (to_array (ops)));
    }
  for (guint i = 0; i < 4; i++)
    batch[i] = (RflBundleApply) { .peer = dev, .seq_from = i + 1, .seq_to = i + 1, .hash = zero_hash,
                                  .ops = g_ptr_array_index (arrays, i), .role = RFL_MERGE_HUB,
                                  .office = HUB_OFFICE_GOMA };

  /* None applies: the batch fails, and the store is as it was. */
  batch[0].ops = json_node_get_array (bad);
  g_assert_false (rfl_store_apply_bundles (f->hub, batch, 4, &error));
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
  g_clear_error (&error);
  for (guint i = 0; i < 4; i++)
    g_clear_error (&batch[i].error);
  {
    g_autofree char *now = state (f->hub, NULL);

    g_assert_cmpstr (now, ==, empty);
  }
  batch[0].ops = g_ptr_array_index (arrays, 0);

  /* The third is malformed: the first two apply, the fourth does not follow on. */
  batch[2].ops = json_node_get_array (bad);
  g_assert_true (rfl_store_apply_bundles (f->hub, batch, 4, &error));
  g_assert_no_error (error);
  g_assert_no_error (batch[0].error);
  g_assert_no_error (batch[1].error);
  g_assert_cmpuint (batch[0].stats.applied, ==, 1);
  g_assert_cmpuint (batch[1].stats.applied, ==, 1);
  g_assert_error (batch[2].error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
  g_assert_error (batch[3].error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION);
  g_assert_true (rfl_store_holds_record (f->hub, ids[0]));
  g_assert_true (rfl_store_holds_record (f->hub, ids[1]));
  g_assert_false (rfl_store_holds_record (f->hub, ids[2]));
  g_assert_false (rfl_store_holds_record (f->hub, ids[3]));
  peer = rfl_store_get_peer (f->hub, dev, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (peer->in_next, ==, 3);
  g_clear_pointer (&peer, rfl_peer_free);
  for (guint i = 0; i < 4; i++)
    g_clear_error (&batch[i].error);

  /* The two that did not apply, sent again. */
  batch[2].ops = g_ptr_array_index (arrays, 2);
  g_assert_true (rfl_store_apply_bundles (f->hub, batch + 2, 2, &error));
  g_assert_no_error (error);
  g_assert_no_error (batch[2].error);
  g_assert_no_error (batch[3].error);
  g_assert_true (rfl_store_holds_record (f->hub, ids[3]));
  peer = rfl_store_get_peer (f->hub, dev, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (peer->in_next, ==, 5);
  pull (f, 1);
  {
    g_autofree char *hub = state (f->hub, f->dev[1].office);
    g_autofree char *office = state (f->dev[1].store, f->dev[1].office);

    g_assert_cmpstr (hub, ==, office);
  }
}

/* Two offices import the same file, ids and all, each with its own
 * corrections: the records converge, the later create winning field by
 * field, a field the later one lacks absent, and each value that lost kept
 * for review. */
static void
test_same_id_creates (Fixture       *f,
                      gconstpointer  data)
{
  static const char * const versions[] = {
    "{\"id\": \"c0ffee00-0000-4000-8000-000000000001\", \"type\": \"registration\","
    " \"subtype\": \"found_person\", \"person\": {\"id\": \"c0ffee00-0000-4000-8000-0000000000aa\","
    " \"given_name\": \"Baraka\", \"family_name\": \"Mwamba\"}, \"description\": \"met at the border\","
    " \"registered_place\": \"Goma\", \"consent\": {\"tracing\": true, \"share_within_movement\": true}}",
    "{\"id\": \"c0ffee00-0000-4000-8000-000000000001\", \"type\": \"registration\","
    " \"subtype\": \"found_person\", \"person\": {\"id\": \"c0ffee00-0000-4000-8000-0000000000aa\","
    " \"given_name\": \"Baraka\", \"family_name\": \"Mwamba\"},"
    " \"registered_place\": \"Goma, Nord-Kivu\", \"consent\": {\"tracing\": true, \"share_within_movement\": true}}",
  };
  g_autofree char *place_0 = NULL, *place_1 = NULL, *description = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (versions); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonObject) record = rfl_test_object (versions[i]);
      g_autofree char *id = rfl_store_add (f->dev[i].store, record, &error);

      g_assert_no_error (error);
    }
  sync_all (f);
  sync_all (f);
  assert_converged (f);
  place_0 = field (f->dev[0].store, "c0ffee00-0000-4000-8000-000000000001", "registered_place");
  place_1 = field (f->dev[1].store, "c0ffee00-0000-4000-8000-000000000001", "registered_place");
  g_assert_cmpstr (place_0, ==, "\"Goma, Nord-Kivu\"");
  g_assert_cmpstr (place_1, ==, place_0);
  description = field (f->dev[0].store, "c0ffee00-0000-4000-8000-000000000001", "description");
  g_assert_null (description);
  g_assert_cmpuint (n_conflicts (f->hub), ==, 1);
}

/* The first proposal a device holds, made from what it holds. */
static char *
first_proposal (RflStore *store)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = NULL;

  g_assert_true (rfl_store_refresh_proposals (store, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  list = rfl_store_list_proposals (store, NULL, 3.0, 0, 10, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (list->len, >=, 1);
  return g_strdup (json_object_get_string_member (g_ptr_array_index (list, 0), "id"));
}

/* Two volunteers of one office decide on the same pair on two laptops: the
 * proposals made from synced records carry one id on both, the decisions
 * meet in one match record, and where they disagree the disagreement is a
 * conflict that a person settles. The request located on one laptop is
 * located on the other; another office sees none of it. */
static void
test_match_decisions_sync (Fixture       *f,
                           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) request = rfl_test_object (
    "{\"type\": \"tracing_request\", \"circumstances\": \"conflict\","
    " \"enquirer\": {\"given_name\": \"Neema\", \"family_name\": \"Mwamba\"},"
    " \"sought\": [{\"given_name\": \"Baraka\", \"family_name\": \"Mwamba\", \"relationship\": \"son\"}],"
    " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}");
  g_autofree char *request_id = rfl_store_add (f->dev[0].store, request, &error);
  g_autofree char *registration_id = add (f->dev[0].store);
  g_autofree char *on_0 = NULL, *on_1 = NULL, *status = NULL, *decision_0 = NULL, *decision_1 = NULL;
  g_autoptr(JsonObject) a = NULL, b = NULL, seen = NULL;

  g_assert_no_error (error);
  sync_all (f);
  /* Merged from sync, the records wait to be matched on the other laptop. */
  g_assert_cmpint (rfl_store_count_stale_proposals (f->dev[1].store, NULL), ==, 2);
  on_0 = first_proposal (f->dev[0].store);
  on_1 = first_proposal (f->dev[1].store);
  g_assert_cmpstr (on_0, ==, on_1);

  a = rfl_store_decide_match (f->dev[0].store, on_0, "confirmed", "same mother's name", &error);
  g_assert_no_error (error);
  b = rfl_store_decide_match (f->dev[1].store, on_1, "rejected", "the son is older", &error);
  g_assert_no_error (error);
  sync_all (f);
  sync_all (f);
  assert_converged (f);
  decision_0 = field (f->dev[0].store, on_0, "decision");
  decision_1 = field (f->dev[1].store, on_0, "decision");
  g_assert_cmpstr (decision_0, ==, decision_1);
  g_assert_cmpuint (n_conflicts (f->hub), ==, 2);   /* the decision and its reason */
  g_assert_cmpuint (n_conflicts (f->dev[0].store), ==, 2);
  status = field (f->dev[1].store, request_id, "status");
  g_assert_cmpstr (status, ==, "\"located\"");

  seen = rfl_store_get (f->dev[2].store, on_0, &error);
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND);
  g_assert_null (seen);
}

static gboolean
names_case (GPtrArray  *proposals,
            const char *id)
{
  for (guint i = 0; i < proposals->len; i++)
    {
      JsonObject *p = g_ptr_array_index (proposals, i);

      if (g_str_equal (json_object_get_string_member (p, "case"), id) ||
          g_str_equal (json_object_get_string_member (p, "candidate_case"), id))
        return TRUE;
    }
  return FALSE;
}

static GPtrArray *
proposals_on (RflStore *store)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *list;

  g_assert_true (rfl_store_refresh_proposals (store, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  list = rfl_store_list_proposals (store, NULL, 2.0, 0, 1000, &error);
  g_assert_no_error (error);
  return list;
}

/* A boy registered twice in one office is merged on one laptop: the other
 * laptop gets the merge, finds him under both spellings, proposes him as
 * one person, shows the note written on the duplicate with the record kept;
 * and the unmerge comes back the same way. */
static void
test_merge_duplicates_sync (Fixture       *f,
                            gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) request = rfl_test_object (
    "{\"type\": \"tracing_request\", \"circumstances\": \"conflict\","
    " \"enquirer\": {\"given_name\": \"Neema\", \"family_name\": \"Mwamba\"},"
    " \"sought\": [{\"given_name\": \"Baraka\", \"family_name\": \"Mwamba\", \"sex\": \"male\","
    "   \"relationship\": \"son\"}],"
    " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}");
  g_autoptr(JsonObject) twin = rfl_test_object (
    "{\"type\": \"registration\", \"subtype\": \"unaccompanied_child\","
    " \"person\": {\"given_name\": \"Barakah\", \"family_name\": \"Mwamba\", \"sex\": \"male\","
    "   \"father_name\": \"Jean\"},"
    " \"registered_place\": \"Uvira\", \"consent\": {\"tracing\": true, \"share_within_movement\": true}}");
  g_autofree char *request_id = rfl_store_add (f->dev[0].store, request, &error);
  g_autofree char *kept_id = add (f->dev[0].store);
  g_autofree char *twin_id = rfl_store_add (f->dev[0].store, twin, &error);
  g_autofree char *note_id = NULL, *status = NULL, *into = NULL;
  g_autoptr(JsonObject) note = NULL, out = NULL, back = NULL, kept = NULL;
  g_autoptr(GPtrArray) before = NULL, merged = NULL, unmerged = NULL, notes = NULL;
  JsonObject *person;

  g_assert_no_error (error);
  note = json_object_new ();
  json_object_set_string_member (note, "type", "note");
  json_object_set_string_member (note, "record", twin_id);
  json_object_set_string_member (note, "text", "His uncle came to the centre");
  note_id = rfl_store_add (f->dev[0].store, note, &error);
  g_assert_no_error (error);
  sync_all (f);
  before = proposals_on (f->dev[1].store);
  g_assert_true (names_case (before, twin_id));
  g_assert_true (names_case (before, kept_id));

  out = rfl_store_merge_duplicate (f->dev[0].store, twin_id, kept_id, &error);
  g_assert_no_error (error);
  sync_all (f);
  sync_all (f);
  assert_converged (f);

  /* Merged from sync: the other laptop proposes the boy once, as the record kept. */
  g_assert_cmpint (rfl_store_count_stale_proposals (f->dev[1].store, NULL), >, 0);
  merged = proposals_on (f->dev[1].store);
  g_assert_false (names_case (merged, twin_id));
  g_assert_true (names_case (merged, kept_id));
  kept = rfl_store_get (f->dev[1].store, kept_id, &error);
  g_assert_no_error (error);
  person = json_object_get_object_member (kept, "person");
  g_assert_cmpstr (json_object_get_string_member (person, "father_name"), ==, "Jean");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (person, "alternate_names")), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (person, "alternate_names"), 0),
                   ==, "Barakah Mwamba");
  status = field (f->dev[1].store, twin_id, "status");
  into = field (f->dev[1].store, twin_id, "merged_into");
  g_assert_cmpstr (status, ==, "\"closed\"");
  g_assert_true (g_str_has_prefix (into, "\"") && strstr (into, kept_id) != NULL);
  notes = rfl_store_list_notes (f->dev[1].store, kept_id, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (notes->len, ==, 1);
  g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (notes, 0), "id"), ==, note_id);

  /* Undone on the other laptop, undone everywhere. */
  back = rfl_store_unmerge_duplicate (f->dev[1].store, twin_id, &error);
  g_assert_no_error (error);
  sync_all (f);
  sync_all (f);
  assert_converged (f);
  g_clear_pointer (&status, g_free);
  status = field (f->dev[0].store, twin_id, "status");
  g_assert_cmpstr (status, ==, "\"open\"");
  g_clear_pointer (&kept, json_object_unref);
  kept = rfl_store_get (f->dev[0].store, kept_id, &error);
  g_assert_no_error (error);
  g_assert_false (json_object_has_member (json_object_get_object_member (kept, "person"), "father_name"));
  g_assert_false (json_object_has_member (kept, "merged"));
  unmerged = proposals_on (f->dev[0].store);
  g_assert_true (names_case (unmerged, twin_id));

  /* Another office saw none of it. */
  g_clear_pointer (&kept, json_object_unref);
  kept = rfl_store_get (f->dev[2].store, kept_id, &error);
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND);
  g_assert_null (kept);
}

static gboolean
append_record (JsonObject *record,
               gpointer    user_data)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), record);
  g_autofree char *text = json_to_string (node, FALSE);

  g_string_append (user_data, text);
  g_string_append_c (user_data, '\n');
  return TRUE;
}

/* Everything a store holds, as text. */
static char *
everything (RflStore *store)
{
  g_autoptr(GError) error = NULL;
  GString *out = g_string_new (NULL);

  g_assert_true (rfl_store_export (store, append_record, out, &error));
  g_assert_no_error (error);
  return g_string_free (out, FALSE);
}

static JsonObject *
office_match_for (RflStore   *store,
                  const char *case_id)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) list = rfl_store_list_office_matches (store, &error);

  g_assert_no_error (error);
  for (guint i = 0; i < list->len; i++)
    {
      JsonObject *m = g_ptr_array_index (list, i);

      if (g_strcmp0 (json_object_get_string_member (m, "case"), case_id) == 0)
        return json_object_ref (m);
    }
  return NULL;
}

/* A mother asks in Goma; her son is registered in Bukavu. HQ tells each
 * office that the other may hold the person, with the score's parts, and
 * nothing of the other side: no name, place or id reaches either office
 * until Bukavu shares its case, after Goma said it wants to know more. */
static void
test_office_matches (Fixture       *f,
                     gconstpointer  data)
{
  static const char * const bukavu_words[] = { "Barakah", "Mwamba", "Jean-Pierre", "Uvira", "Kavumu", NULL };
  static const char * const goma_words[] = { "Neema", "Baraka\"", "Sake", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) request = rfl_test_object (
    "{\"type\": \"tracing_request\", \"circumstances\": \"conflict\","
    " \"enquirer\": {\"given_name\": \"Neema\", \"family_name\": \"Mwamba\"},"
    " \"sought\": [{\"given_name\": \"Baraka\", \"family_name\": \"Mwamba\", \"sex\": \"male\","
    "   \"date_of_birth\": \"2012\", \"relationship\": \"son\", \"last_seen_place\": \"Sake\"}],"
    " \"consent\": {\"tracing\": true, \"share_within_movement\": true}}");
  g_autoptr(JsonObject) found = rfl_test_object (
    "{\"type\": \"registration\", \"subtype\": \"unaccompanied_child\","
    " \"person\": {\"given_name\": \"Barakah\", \"family_name\": \"Mwamba\", \"sex\": \"male\","
    "   \"approximate_age\": 14, \"father_name\": \"Jean-Pierre\", \"address\": \"Kavumu\"},"
    " \"registered_place\": \"Uvira\", \"consent\": {\"tracing\": true, \"share_within_movement\": true}}");
  g_autofree char *request_id = rfl_store_add (f->dev[0].store, request, &error);
  g_autofree char *found_id = rfl_store_add (f->dev[2].store, found, &error);
  g_autofree char *goma_all = NULL, *bukavu_all = NULL;
  g_autoptr(JsonObject) told = NULL, goma = NULL, bukavu = NULL, again = NULL, after = NULL;
  g_autoptr(GPtrArray) proposals = NULL;
  gboolean named = FALSE;

  g_assert_no_error (error);
  sync_all (f);
  told = rfl_store_tell_offices_of_matches (f->hub, 3.0, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (told, "pairs"), >=, 1);
  sync_all (f);
  assert_converged (f);

  /* Each office has its side: its own case, the other office, the score in parts. */
  goma = office_match_for (f->dev[1].store, request_id);
  g_assert_nonnull (goma);
  g_assert_cmpstr (json_object_get_string_member (goma, "other_office"), ==, HUB_OFFICE_BUKAVU);
  g_assert_cmpstr (json_object_get_string_member (goma, "other_kind"), ==, "unaccompanied_child");
  g_assert_cmpfloat (json_object_get_double_member (goma, "score"), >=, 3.0);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (goma, "components")), >=, 2);
  bukavu = office_match_for (f->dev[2].store, found_id);
  g_assert_nonnull (bukavu);
  g_assert_cmpstr (json_object_get_string_member (bukavu, "other_office"), ==, HUB_OFFICE_GOMA);
  g_assert_cmpstr (json_object_get_string_member (bukavu, "pair"), ==, json_object_get_string_member (goma, "pair"));

  /* Nothing of the other side's person reached either office. */
  goma_all = everything (f->dev[0].store);
  for (guint i = 0; bukavu_words[i] != NULL; i++)
    if (i != 1 && strstr (goma_all, bukavu_words[i]) != NULL)
      g_error ("Goma received \"%s\" of Bukavu's case", bukavu_words[i]);
  g_assert_null (strstr (goma_all, found_id));
  bukavu_all = everything (f->dev[2].store);
  for (guint i = 0; goma_words[i] != NULL; i++)
    if (strstr (bukavu_all, goma_words[i]) != NULL)
      g_error ("Bukavu received \"%s\" of Goma's case", goma_words[i]);
  g_assert_null (strstr (bukavu_all, request_id));

  /* Only HQ writes these: not an office by hand, nor a device that forges
   * the operations, nor by sharing its own with the other office. */
  {
    g_autoptr(JsonObject) forged = rfl_test_object (
      "{\"type\": \"office_match\", \"case\": \"" "00000000-0000-4000-8000-000000000001" "\","
      " \"pair\": \"00000000-0000-4000-8000-000000000002\", \"other_office\": \"Goma\","
      " \"components\": [\"Neema asks\"], \"other_interested\": true}");
    g_autoptr(JsonObject) lie = rfl_test_object ("{\"other_office\": \"Kinshasa\", \"other_interested\": true}");
    g_autofree char *made = rfl_store_add (f->dev[1].store, forged, &error);
    g_autofree char *ops_text = NULL, *office = NULL, *interested = NULL;
    g_autoptr(JsonArray) ops = NULL;
    const char *goma_id = json_object_get_string_member (goma, "id");
    RflMergeStats stats;
    guint64 hlc = (guint64) g_get_real_time () / 1000 << 16;

    g_assert_null (made);
    g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
    g_clear_error (&error);
    g_assert_false (rfl_store_update (f->dev[1].store, goma_id, lie, &error));
    g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
    g_clear_error (&error);
    g_assert_false (rfl_store_share (f->dev[1].store, goma_id, HUB_OFFICE_BUKAVU, &error));
    g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
    g_clear_error (&error);

    ops_text = g_strdup_printf (
      "[{\"r\": \"00000000-0000-4000-8000-000000000003\", \"o\": \"create\", \"h\": %" G_GUINT64_FORMAT ","
      "  \"d\": \"%s\", \"l\": 1, \"c\": {\"type\": \"office_match\","
      "  \"case\": \"%s\", \"pair\": \"00000000-0000-4000-8000-000000000002\", \"other_office\": \"Goma\","
      "  \"components\": [\"Neema asks\"]}},"
      " {\"r\": \"%s\", \"o\": \"update\", \"h\": %" G_GUINT64_FORMAT ", \"d\": \"%s\","
      "  \"c\": {\"other_office\": \"Kinshasa\", \"other_interested\": true}},"
      " {\"r\": \"%s\", \"o\": \"share\", \"h\": %" G_GUINT64_FORMAT ", \"d\": \"%s\","
      "  \"c\": {\"$share\": \"Bukavu\"}}]",
      hlc, id_of (f->dev[1].store), found_id, goma_id, hlc + 1, id_of (f->dev[1].store),
      goma_id, hlc + 2, id_of (f->dev[1].store));
    ops = json_node_get_array (json_from_string (ops_text, &error));
    g_assert_no_error (error);
    g_assert_true (rfl_store_apply_ops (f->hub, id_of (f->dev[1].store), f->dev[1].out_seq, f->dev[1].out_seq,
                                        zero_hash, ops, RFL_MERGE_HUB, HUB_OFFICE_GOMA, &stats, &error));
    g_assert_no_error (error);
    f->dev[1].out_seq++;
    g_assert_cmpuint (stats.refused, ==, 3);
    g_assert_cmpuint (stats.applied, ==, 0);
    office = field (f->hub, goma_id, "other_office");
    interested = field (f->hub, goma_id, "other_interested");
    g_assert_cmpstr (office, ==, "\"" HUB_OFFICE_BUKAVU "\"");
    g_assert_null (interested);
    g_assert_false (rfl_store_holds_record (f->hub, "00000000-0000-4000-8000-000000000003"));
  }

  /* Goma wants to know more; HQ tells Bukavu, which shares its case. */
  g_assert_false (rfl_store_show_interest (f->dev[1].store, request_id, NULL, &error));
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
  g_clear_error (&error);
  g_assert_true (rfl_store_show_interest (f->dev[1].store, json_object_get_string_member (goma, "id"),
                                          "the mother describes a scar on his arm", &error));
  g_assert_no_error (error);
  sync_all (f);
  g_clear_pointer (&told, json_object_unref);
  told = rfl_store_tell_offices_of_matches (f->hub, 3.0, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (told, "interest"), ==, 1);
  sync_all (f);
  again = office_match_for (f->dev[2].store, found_id);
  g_assert_true (json_object_get_boolean_member (again, "other_interested"));
  g_assert_false (json_object_has_member (again, "interest_reason"));
  g_clear_pointer (&bukavu_all, g_free);
  bukavu_all = everything (f->dev[2].store);
  g_assert_null (strstr (bukavu_all, "scar"));

  /* Only as far as the person agreed. */
  {
    g_autoptr(JsonObject) withdrawn = rfl_test_object ("{\"consent\": {\"tracing\": true, \"share_within_movement\": false}}");
    g_autoptr(JsonObject) given = rfl_test_object ("{\"consent\": {\"tracing\": true, \"share_within_movement\": true}}");

    g_assert_true (rfl_store_update (f->dev[2].store, found_id, withdrawn, &error));
    g_assert_no_error (error);
    g_assert_false (rfl_store_share (f->dev[2].store, found_id, HUB_OFFICE_GOMA, &error));
    g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID);
    g_clear_error (&error);
    g_assert_true (rfl_store_update (f->dev[2].store, found_id, given, &error));
    g_assert_no_error (error);
  }
  g_assert_true (rfl_store_share (f->dev[2].store, found_id, HUB_OFFICE_GOMA, &error));
  g_assert_no_error (error);
  sync_all (f);
  sync_all (f);
  assert_converged (f);

  /* Shared, the case is Goma's to match, with names; HQ has nothing more to tell. */
  g_assert_true (rfl_store_refresh_proposals (f->dev[0].store, NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  proposals = rfl_store_list_proposals (f->dev[0].store, request_id, 3.0, 0, 100, &error);
  g_assert_no_error (error);
  for (guint i = 0; i < proposals->len; i++)
    named |= g_strcmp0 (json_object_get_string_member (g_ptr_array_index (proposals, i), "candidate_case"),
                        found_id) == 0;
  g_assert_true (named);
  after = rfl_store_tell_offices_of_matches (f->hub, 3.0, NULL, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (json_object_get_int_member (after, "pairs"), ==, 0);
  /* and withdraws what it had told: the pair is matched by name now. */
  g_assert_cmpint (json_object_get_int_member (after, "withdrawn"), ==, 2);
  sync_all (f);
  assert_converged (f);
  g_clear_pointer (&goma, json_object_unref);
  goma = office_match_for (f->dev[1].store, request_id);
  g_assert_null (goma);
  g_clear_pointer (&again, json_object_unref);
  again = office_match_for (f->dev[2].store, found_id);
  g_assert_null (again);
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_set_up, func, fixture_tear_down)
  ADD ("/merge/create-reaches-office-only", test_create_reaches_office_only);
  ADD ("/merge/sequential-edits", test_sequential_edits_do_not_conflict);
  ADD ("/merge/names-follow-edits", test_names_follow_edits);
  ADD ("/merge/concurrent-edits", test_concurrent_edits_conflict);
  ADD ("/merge/delete-and-edit", test_delete_wins_and_edit_is_kept);
  ADD ("/merge/share", test_share_sends_whole_record);
  ADD ("/merge/out-of-scope", test_out_of_scope_refused);
  ADD ("/merge/purge-converges", test_purge_converges);
  ADD ("/merge/purge-of-unsent-shared-record", test_purge_of_unsent_shared_record);
  ADD ("/merge/open-case-delete", test_open_case_delete);
  ADD ("/merge/causal-length-bounds", test_causal_length_bounds);
  ADD ("/merge/future-clock", test_future_clock_clamped);
  ADD ("/merge/applied-once", test_bundle_applied_once);
  ADD ("/merge/malformed", test_malformed_ops_refused);
  ADD ("/merge/bundle-byte-budget", test_bundle_byte_budget);
  ADD ("/merge/bundle-batch", test_bundle_batch);
  ADD ("/merge/refused-among-valid", test_refused_among_valid);
  ADD ("/merge/concurrent-senders", test_concurrent_senders);
  ADD ("/merge/same-id-creates", test_same_id_creates);
  ADD ("/merge/match-decisions", test_match_decisions_sync);
  ADD ("/merge/merge-duplicates", test_merge_duplicates_sync);
  ADD ("/merge/office-matches", test_office_matches);
#undef ADD
  g_test_add_func ("/merge/op-table-matches-protocol", test_op_table_matches_protocol);

  return g_test_run ();
}
