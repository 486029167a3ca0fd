/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The state hash: one hash over every record a peer holds in a scope, kept
 * from per-record hashes, so that two replicas can tell in one round trip
 * whether they converged. */
#define G_LOG_DOMAIN "rfl-store"

#include "rfl-store-private.h"
#include "rfl-json.h"
#include "rfl-store-sync.h"

#include <sodium.h>
#include <string.h>
#include <glib/gi18n-lib.h>

/* The state hash. */

typedef struct
{
  const char *office;
  guint8      sum[RFL_RECORD_HASH_BYTES];
  guint64     n;
} StateArgs;

static gboolean
state_hash_locked (RflStore  *self,
                   gpointer   data,
                   GError   **error)
{
  StateArgs *args = data;
  g_autoptr(sqlite3_stmt) st = NULL;
  crypto_generichash_state state;
  int rc;

  if (!rfl_store_begin_read (self, error))
    return FALSE;
  if (sqlite3_prepare_v2 (self->db,
        "SELECT h.hash,"
        "  (SELECT group_concat (office, ',') FROM (SELECT office FROM shares s"
        "    WHERE s.record_row = h.record_row ORDER BY office)),"
        "  (SELECT group_concat (id || '=' || coalesce (resolution, ''), ',') FROM (SELECT id, resolution"
        "    FROM conflicts c WHERE c.record_row = h.record_row ORDER BY id))"
        " FROM hashes h WHERE ?1 IS NULL OR h.owner = ?1"
        "   OR h.record_row IN (SELECT record_row FROM shares WHERE office = ?1)", -1, &st, NULL) != SQLITE_OK)
    return rfl_store_sql_fail (self, error, "computing the state hash");
  rfl_bind_text (st, 1, args->office);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      guint8 one[RFL_RECORD_HASH_BYTES];
      guint carry = 0;

      /* Each record's hash with its shares and conflicts; the records are
       * combined by addition, so no order is needed. */
      crypto_generichash_init (&state, NULL, 0, sizeof one);
      crypto_generichash_update (&state, sqlite3_column_blob (st, 0), (gsize) sqlite3_column_bytes (st, 0));
      rfl_hash_text (&state, (const char *) sqlite3_column_text (st, 1));
      rfl_hash_text (&state, (const char *) sqlite3_column_text (st, 2));
      crypto_generichash_final (&state, one, sizeof one);
      for (gsize i = 0; i < sizeof args->sum; i++)
        {
          carry += (guint) args->sum[i] + one[i];
          args->sum[i] = (guint8) carry;
          carry >>= 8;
        }
      args->n++;
    }
  if (rc != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "computing the state hash");
  return TRUE;
}

/**
 * rfl_store_state_hash:
 * @office: (nullable): hash only this office's scope (records it owns or
 *   that were shared with it); %NULL for every record held
 * @n_records: (out) (optional): how many records were hashed
 *
 * A hash of the merged state: for each record, its hash (id, fields, their
 * clocks and its causal length, kept in the hashes table as it is written),
 * the offices it is shared with and its conflicts; the records' digests are
 * added up, so the order they are read in does not matter. Two
 * replicas that have applied the same changes have the same hash, so HQ and
 * a device can compare theirs to find out whether they diverged.
 *
 * Returns: (transfer full): 64 hex digits, or %NULL on error
 */
char *
rfl_store_state_hash (RflStore    *self,
                      const char  *office,
                      guint64     *n_records,
                      GError     **error)
{
  StateArgs args = { office, { 0 }, 0 };
  crypto_generichash_state state;
  guint8 digest[32];
  char hex[65], count[24];

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  if (!rfl_store_read (self, state_hash_locked, &args, error))
    return NULL;
  g_snprintf (count, sizeof count, "%" G_GUINT64_FORMAT, args.n);
  crypto_generichash_init (&state, NULL, 0, sizeof digest);
  rfl_hash_text (&state, "reunite-state-v1");
  rfl_hash_text (&state, count);
  crypto_generichash_update (&state, args.sum, sizeof args.sum);
  crypto_generichash_final (&state, digest, sizeof digest);
  sodium_bin2hex (hex, sizeof hex, digest, sizeof digest);
  if (n_records != NULL)
    *n_records = args.n;
  return g_strdup (hex);
}

/**
 * rfl_store_holds_record:
 *
 * Whether any trace of record @id is in this store, deleted or purged too.
 */
gboolean
rfl_store_holds_record (RflStore   *self,
                        const char *id)
{
  sqlite3_stmt *st;
  gboolean found = FALSE;

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  rfl_store_lock (self);
  if (self->db != NULL && (st = rfl_store_stmt (self, "SELECT 1 FROM records WHERE id = ?1", NULL)) != NULL)
    {
      rfl_bind_text (st, 1, id);
      found = sqlite3_step (st) == SQLITE_ROW;
    }
  rfl_store_unlock (self);
  return found;
}
