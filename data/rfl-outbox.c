/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The outbox and held bundles: bundles sealed for a peer wait here until its
 * receipt acknowledges them, and bundles that arrived ahead of the one they
 * follow wait until it arrives. */
#define G_LOG_DOMAIN "rfl-store"

#include "rfl-store-private.h"
#include "rfl-json.h"
#include "rfl-store-sync.h"

#include <sodium.h>
#include <string.h>
#include <glib/gi18n-lib.h>

/* Outbox and held bundles. */

typedef struct
{
  const char          *peer;
  const RflOutboxItem *item;
} OutboxArgs;

static gboolean
outbox_add_locked (RflStore  *self,
                   gpointer   data,
                   GError   **error)
{
  const OutboxArgs *args = data;
  sqlite3_stmt *st;
  gsize len;
  gconstpointer envelope = g_bytes_get_data (args->item->envelope, &len);

  if ((st = rfl_store_stmt (self, "INSERT INTO outbox (peer, seq_from, seq_to, through, hash, envelope)"
                                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6)", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->peer);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64) args->item->seq_from);
  sqlite3_bind_int64 (st, 3, (sqlite3_int64) args->item->seq_to);
  sqlite3_bind_int64 (st, 4, (sqlite3_int64) args->item->through);
  sqlite3_bind_blob (st, 5, args->item->hash, 32, SQLITE_STATIC);
  sqlite3_bind_blob64 (st, 6, envelope, len, SQLITE_STATIC);
  if (!rfl_store_run_write (self, st, "saving a bundle", error))
    return FALSE;
  if ((st = rfl_store_stmt (self, "UPDATE peers SET out_next = ?2, out_hash = ?3, out_through = ?4"
                                  " WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->peer);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64) args->item->seq_to + 1);
  sqlite3_bind_blob (st, 3, args->item->hash, 32, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 4, (sqlite3_int64) args->item->through);
  if (!rfl_store_run_write (self, st, "saving a bundle", error))
    return FALSE;
  {
    g_autofree char *detail = g_strdup_printf ("to %s: seq %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT
                                               ", %zu bytes", args->peer, args->item->seq_from,
                                               args->item->seq_to, g_bytes_get_size (args->item->envelope));
    return rfl_store_audit_append (self, "send", NULL, detail, error);
  }
}

/**
 * rfl_store_outbox_add:
 *
 * Keeps a sealed bundle for @peer until the peer acknowledges it, and
 * advances the outgoing stream past it.
 */
gboolean
rfl_store_outbox_add (RflStore             *self,
                      const char           *peer,
                      const RflOutboxItem  *item,
                      GError              **error)
{
  OutboxArgs args = { peer, item };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  return rfl_store_write (self, outbox_add_locked, &args, error);
}

static RflOutboxItem *
outbox_item_from_row (sqlite3_stmt *st)
{
  RflOutboxItem *item = g_new0 (RflOutboxItem, 1);

  item->seq_from = (guint64) sqlite3_column_int64 (st, 0);
  item->seq_to = (guint64) sqlite3_column_int64 (st, 1);
  item->through = (guint64) sqlite3_column_int64 (st, 2);
  if (sqlite3_column_bytes (st, 3) == 32)
    memcpy (item->hash, sqlite3_column_blob (st, 3), 32);
  item->envelope = g_bytes_new (sqlite3_column_blob (st, 4), (gsize) sqlite3_column_bytes (st, 4));
  return item;
}

typedef struct
{
  const char    *peer;
  guint64        after;      /* outbox_next, outbox_find */
  guint64        seq_to;     /* outbox_find */
  guint8        *hash;       /* outbox_find */
  gboolean       found;
  GPtrArray     *items;      /* outbox_list */
  RflOutboxItem *item;       /* outbox_next */
  GBytes        *envelope;   /* take_held */
} OutboxQuery;

static gboolean
outbox_list_locked (RflStore  *self,
                    gpointer   data,
                    GError   **error)
{
  OutboxQuery *q = data;
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "SELECT seq_from, seq_to, through, hash, envelope FROM outbox"
                                  " WHERE peer = ?1 ORDER BY seq_from", error)) == NULL)
    return FALSE;
  q->items = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_outbox_item_free);
  rfl_bind_text (st, 1, q->peer);
  while (sqlite3_step (st) == SQLITE_ROW)
    g_ptr_array_add (q->items, outbox_item_from_row (st));
  return TRUE;
}

/**
 * rfl_store_outbox_list:
 *
 * Returns: (transfer full) (element-type RflOutboxItem): the bundles for
 *   @peer not yet acknowledged, oldest first
 */
GPtrArray *
rfl_store_outbox_list (RflStore    *self,
                       const char  *peer,
                       GError     **error)
{
  OutboxQuery q = { .peer = peer };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  if (!rfl_store_read (self, outbox_list_locked, &q, error))
    return NULL;
  return q.items;
}

static gboolean
outbox_next_locked (RflStore  *self,
                    gpointer   data,
                    GError   **error)
{
  OutboxQuery *q = data;
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "SELECT seq_from, seq_to, through, hash, envelope FROM outbox"
                                  " WHERE peer = ?1 AND seq_from > ?2 ORDER BY seq_from LIMIT 1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, q->peer);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64) q->after);
  if (sqlite3_step (st) == SQLITE_ROW)
    q->item = outbox_item_from_row (st);
  return TRUE;
}

/**
 * rfl_store_outbox_next:
 * @after: a seq the peer has
 *
 * Returns: (transfer full) (nullable): the first bundle for @peer that
 *   starts after @after, or %NULL
 */
RflOutboxItem *
rfl_store_outbox_next (RflStore    *self,
                       const char  *peer,
                       guint64      after,
                       GError     **error)
{
  OutboxQuery q = { .peer = peer, .after = after };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  if (!rfl_store_read (self, outbox_next_locked, &q, error))
    return NULL;
  return q.item;
}

typedef struct
{
  const char *peer;
  guint64     seq;
} AckArgs;

static gboolean
ack_locked (RflStore  *self,
            gpointer   data,
            GError   **error)
{
  const AckArgs *args = data;
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "DELETE FROM outbox WHERE peer = ?1 AND seq_to <= ?2", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->peer);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64) args->seq);
  if (!rfl_store_run_write (self, st, "compacting the outbox", error))
    return FALSE;
  if ((st = rfl_store_stmt (self, "UPDATE peers SET acked = max (acked, ?2) WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->peer);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64) args->seq);
  return rfl_store_run_write (self, st, "compacting the outbox", error);
}

static gboolean
outbox_find_locked (RflStore  *self,
                    gpointer   data,
                    GError   **error)
{
  OutboxQuery *q = data;
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "SELECT hash FROM outbox WHERE peer = ?1 AND seq_to = ?2", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, q->peer);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64) q->seq_to);
  if (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_bytes (st, 0) == 32)
    {
      memcpy (q->hash, sqlite3_column_blob (st, 0), 32);
      q->found = TRUE;
    }
  return TRUE;
}

/**
 * rfl_store_outbox_find:
 * @seq_to: the last seq of a bundle
 * @hash: (out caller-allocates) (array fixed-size=32): its envelope hash
 *
 * Returns: whether the outbox for @peer holds a bundle ending at @seq_to
 */
gboolean
rfl_store_outbox_find (RflStore   *self,
                       const char *peer,
                       guint64     seq_to,
                       guint8     *hash)
{
  OutboxQuery q = { .peer = peer, .seq_to = seq_to, .hash = hash };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  return rfl_store_read (self, outbox_find_locked, &q, NULL) && q.found;
}

/**
 * rfl_store_outbox_ack:
 *
 * The peer confirmed everything through @seq_to: its bundles leave the outbox.
 */
gboolean
rfl_store_outbox_ack (RflStore    *self,
                      const char  *peer,
                      guint64      seq_to,
                      GError     **error)
{
  AckArgs args = { peer, seq_to };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  return rfl_store_write (self, ack_locked, &args, error);
}

typedef struct
{
  const char *peer;
  guint64     seq_from;
  GBytes     *envelope;
} HoldArgs;

static gboolean
hold_locked (RflStore  *self,
             gpointer   data,
             GError   **error)
{
  const HoldArgs *args = data;
  sqlite3_stmt *st;
  gsize len;
  gconstpointer envelope = g_bytes_get_data (args->envelope, &len);

  if ((st = rfl_store_stmt (self, "INSERT OR REPLACE INTO held (peer, seq_from, envelope) VALUES (?1, ?2, ?3)",
                            error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->peer);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64) args->seq_from);
  sqlite3_bind_blob64 (st, 3, envelope, len, SQLITE_STATIC);
  return rfl_store_run_write (self, st, "holding a bundle", error);
}

/**
 * rfl_store_hold:
 *
 * Keeps a bundle that arrived before the one it follows, until that one arrives.
 */
gboolean
rfl_store_hold (RflStore    *self,
                const char  *peer,
                guint64      seq_from,
                GBytes      *envelope,
                GError     **error)
{
  HoldArgs args = { peer, seq_from, envelope };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  return rfl_store_write (self, hold_locked, &args, error);
}

static gboolean
take_held_locked (RflStore  *self,
                  gpointer   data,
                  GError   **error)
{
  OutboxQuery *q = data;
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "SELECT envelope FROM held WHERE peer = ?1 AND seq_from = ?2", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, q->peer);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64) q->after);
  if (sqlite3_step (st) == SQLITE_ROW)
    q->envelope = g_bytes_new (sqlite3_column_blob (st, 0), (gsize) sqlite3_column_bytes (st, 0));
  /* The bundle, and any older one, leaves the store even if it was not there. */
  if ((st = rfl_store_stmt (self, "DELETE FROM held WHERE peer = ?1 AND seq_from <= ?2", NULL)) != NULL)
    {
      rfl_bind_text (st, 1, q->peer);
      sqlite3_bind_int64 (st, 2, (sqlite3_int64) q->after);
      sqlite3_step (st);
    }
  return TRUE;
}

/**
 * rfl_store_take_held:
 *
 * Returns: (transfer full) (nullable): the held bundle of @peer starting at
 *   @seq_from, removed from the store, or %NULL
 */
GBytes *
rfl_store_take_held (RflStore   *self,
                     const char *peer,
                     guint64     seq_from)
{
  OutboxQuery q = { .peer = peer, .after = seq_from };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  if (!rfl_store_write (self, take_held_locked, &q, NULL))
    g_clear_pointer (&q.envelope, g_bytes_unref);
  return q.envelope;
}
