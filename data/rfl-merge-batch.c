/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Bundles: each one's operations merged in order and its stream advanced,
 * many bundles to a transaction, since a commit (SQLCipher encrypting every
 * page the transaction wrote, then an fsync) costs the same for one bundle
 * as for several. */
#define G_LOG_DOMAIN "rfl-store"

#include "rfl-merge-private.h"
#include "rfl-op.h"

#include <string.h>

/* One bundle that follows on in its stream: its operations, then the
 * stream advanced past it. */
static gboolean
apply_bundle (RflStore        *self,
              RflBundleApply  *b,
              gboolean         careful,
              GError         **error)
{
  ApplyCtx ctx = { b->role, b->peer, b->office, &b->stats };
  g_autofree char *detail = NULL;
  sqlite3_stmt *st;

  for (guint i = 0; i < json_array_get_length (b->ops); i++)
    if (!rfl_merge_apply_one (self, &ctx, json_array_get_object_element (b->ops, i), careful, error))
      return FALSE;

  if ((st = rfl_store_stmt (self, "UPDATE peers SET in_next = ?2, in_hash = ?3, last_seen = ?4"
                                  " WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, b->peer);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64) b->seq_to + 1);
  sqlite3_bind_blob (st, 3, b->hash, 32, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 4, rfl_now_ms ());
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "advancing the stream");
  detail = g_strdup_printf ("from %s: seq %" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT
                            ", %u applied, %u known, %u conflicts, %u refused",
                            b->peer, b->seq_from, b->seq_to, b->stats.applied, b->stats.skipped,
                            b->stats.conflicts, b->stats.refused);
  return rfl_store_audit_append (self, "receive", NULL, detail, error);
}

typedef struct
{
  RflBundleApply *bundles;
  guint           n;
  gboolean        careful;   /* each operation in a savepoint */
} BatchArgs;

/* A bundle that is not the next of its stream keeps its error and changes
 * nothing; the others apply. Any other failure (the disk, say) fails the
 * whole batch, as does a batch of which nothing applies.
 *
 * No savepoint per bundle: SQLite truncates its in-memory statement
 * journal only when the outermost savepoint is released, so with the
 * operations' savepoints nested in one per bundle, every operation walked
 * a journal that grew with the bundle. Merges took three times as long
 * (measured at 100,000 records). */
static gboolean
apply_batch_locked (RflStore  *self,
                    gpointer   data,
                    GError   **error)
{
  BatchArgs *args = data;
  guint applied = 0;

  for (guint i = 0; i < args->n; i++)
    {
      RflBundleApply *b = &args->bundles[i];

      memset (&b->stats, 0, sizeof b->stats);
      if (!rfl_merge_check_next (self, b->peer, b->seq_from, &b->error))
        {
          if (!g_error_matches (b->error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND) &&
              !g_error_matches (b->error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION))
            {
              g_propagate_error (error, g_steal_pointer (&b->error));
              return FALSE;
            }
          continue;
        }
      if (!apply_bundle (self, b, args->careful, error))
        return FALSE;
      applied++;
    }
  return applied > 0;
}

/* The bundles of a batch in one transaction: without savepoints first,
 * then, if an operation was refused, everything again with each operation
 * in one. */
static gboolean
apply_valid (RflStore        *self,
             RflBundleApply  *bundles,
             guint            n,
             GError         **error)
{
  BatchArgs args = { bundles, n, FALSE };
  g_autoptr(GError) local = NULL;

  if (rfl_store_write (self, apply_batch_locked, &args, &local))
    return TRUE;
  /* None applied (each bundle says why), or the store failed. */
  if (local == NULL)
    return FALSE;
  if (!g_error_matches (local, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  g_clear_error (&local);
  for (guint i = 0; i < n; i++)
    g_clear_error (&bundles[i].error);
  args.careful = TRUE;
  return rfl_store_write (self, apply_batch_locked, &args, error);
}

/* A caller of rfl_store_apply_bundles() in the group queue. */
typedef struct
{
  RflBundleApply *bundles;
  guint           n;
  guint           n_ops;
  gboolean        done;
  gboolean        ok;
  GError         *error;     /* the store's, when it failed */
} BatchWaiter;

/* At most this many operations in one group. */
#define GROUP_MAX_OPS 20000

/* Merges the batches of @group, which the caller took from the queue, in
 * one transaction. When the store fails, each batch runs again alone, so
 * that one sender's failure stays its own. */
static void
run_group (RflStore  *self,
           GPtrArray *group)
{
  g_autofree RflBundleApply *all = NULL;
  g_autoptr(GError) local = NULL;
  guint total = 0, k = 0;
  gboolean ok;

  if (group->len == 1)
    {
      BatchWaiter *w = g_ptr_array_index (group, 0);

      w->ok = apply_valid (self, w->bundles, w->n, &w->error);
      return;
    }
  for (guint i = 0; i < group->len; i++)
    total += ((BatchWaiter *) g_ptr_array_index (group, i))->n;
  g_debug ("merging %u callers' %u bundles in one transaction", group->len, total);
  all = g_new0 (RflBundleApply, total);
  for (guint i = 0; i < group->len; i++)
    {
      BatchWaiter *w = g_ptr_array_index (group, i);

      memcpy (all + k, w->bundles, w->n * sizeof *all);
      k += w->n;
    }
  ok = apply_valid (self, all, total, &local);
  if (!ok && local != NULL)
    {
      for (guint i = 0; i < total; i++)
        g_clear_error (&all[i].error);
      for (guint i = 0; i < group->len; i++)
        {
          BatchWaiter *w = g_ptr_array_index (group, i);

          w->ok = apply_valid (self, w->bundles, w->n, &w->error);
        }
      return;
    }
  k = 0;
  for (guint i = 0; i < group->len; i++)
    {
      BatchWaiter *w = g_ptr_array_index (group, i);

      memcpy (w->bundles, all + k, w->n * sizeof *all);
      k += w->n;
      w->ok = FALSE;
      for (guint j = 0; j < w->n; j++)
        w->ok |= w->bundles[j].error == NULL;
    }
}

/* Takes waiters from the head of the queue, up to GROUP_MAX_OPS
 * operations, and at least one. */
static GPtrArray *
take_group (RflStore *self)
{
  GPtrArray *group = g_ptr_array_new ();
  guint n_ops = 0;
  BatchWaiter *w;

  while ((w = g_queue_peek_head (&self->group_queue)) != NULL &&
         (group->len == 0 || n_ops + w->n_ops <= GROUP_MAX_OPS))
    {
      g_ptr_array_add (group, g_queue_pop_head (&self->group_queue));
      n_ops += w->n_ops;
    }
  return group;
}

/* Group commit. A caller that finds no merge running merges what waits,
 * its own batch among it, in one transaction; one that finds a merge
 * running waits, and its batch goes in the next group. HQ merges bundles
 * from many devices at once on its workers, and one commit for all of
 * them is what the store's single writer can afford. */
static gboolean
apply_grouped (RflStore        *self,
               RflBundleApply  *bundles,
               guint            n,
               GError         **error)
{
  BatchWaiter w = { bundles, n, 0, FALSE, FALSE, NULL };

  for (guint i = 0; i < n; i++)
    w.n_ops += json_array_get_length (bundles[i].ops);
  g_mutex_lock (&self->group_lock);
  g_queue_push_tail (&self->group_queue, &w);
  while (!w.done)
    {
      g_autoptr(GPtrArray) group = NULL;

      if (self->group_busy)
        {
          g_cond_wait (&self->group_cond, &self->group_lock);
          continue;
        }
      group = take_group (self);
      self->group_busy = TRUE;
      g_mutex_unlock (&self->group_lock);
      run_group (self, group);
      g_mutex_lock (&self->group_lock);
      for (guint i = 0; i < group->len; i++)
        ((BatchWaiter *) g_ptr_array_index (group, i))->done = TRUE;
      self->group_busy = FALSE;
      g_cond_broadcast (&self->group_cond);
    }
  g_mutex_unlock (&self->group_lock);
  if (w.error != NULL)
    g_propagate_error (error, w.error);
  return w.ok;
}

/**
 * rfl_store_apply_bundles:
 * @self: an open store
 * @bundles: (array length=n): bundles to apply, in order; each says where it
 *   came from and how to merge it, and gets its stats, or its error
 * @n: how many, at least one
 * @error: return location for an error
 *
 * Applies bundles, and advances their streams, in one transaction: after a
 * crash either a bundle and its stream's step both happened or neither did,
 * so each is applied exactly once. One commit for many bundles is what
 * makes a batch cheaper than as many calls of rfl_store_apply_ops(); the
 * batches of threads that call at the same time share one too. Never call
 * it with the store's lock held.
 *
 * Returns: %TRUE if at least one bundle applied; those that did not carry
 *   their error. %FALSE, with the first bundle's error or the store's, if
 *   none did.
 */
gboolean
rfl_store_apply_bundles (RflStore        *self,
                         RflBundleApply  *bundles,
                         guint            n,
                         GError         **error)
{
  g_autofree RflBundleApply *valid = NULL;
  g_autofree guint *index = NULL;
  g_autoptr(GError) local = NULL;
  guint n_valid = 0;
  gboolean ok;

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (bundles != NULL && n > 0, FALSE);

  for (guint i = 0; i < n; i++)
    {
      RflBundleApply *b = &bundles[i];

      g_return_val_if_fail (b->peer != NULL && b->hash != NULL && b->ops != NULL, FALSE);
      g_return_val_if_fail (b->role != RFL_MERGE_HUB || b->office != NULL, FALSE);
      g_clear_error (&b->error);
      for (guint j = 0; j < json_array_get_length (b->ops); j++)
        if (!rfl_op_check (json_array_get_element (b->ops, j), &b->error))
          break;
    }
  /* A bundle with a malformed operation is refused whole, before the store
   * is touched; the rest go on. */
  valid = g_new0 (RflBundleApply, n);
  index = g_new0 (guint, n);
  for (guint i = 0; i < n; i++)
    if (bundles[i].error == NULL)
      {
        index[n_valid] = i;
        valid[n_valid++] = bundles[i];
      }
  if (n_valid == 0)
    {
      g_propagate_error (error, g_steal_pointer (&bundles[0].error));
      return FALSE;
    }
  ok = apply_grouped (self, valid, n_valid, &local);
  for (guint i = 0; i < n_valid; i++)
    bundles[index[i]] = valid[i];
  if (local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  if (!ok)
    g_propagate_error (error, g_steal_pointer (&bundles[0].error));
  return ok;
}

/**
 * rfl_store_apply_ops:
 * @self: an open store
 * @peer: the peer the bundle came from
 * @seq_from: the bundle's first seq, which must be the next the stream expects
 * @seq_to: its last
 * @hash: the envelope hash, which the stream's next bundle must chain to
 * @ops: the bundle's operations, as the peer sent them
 * @role: how to merge them
 * @office: for %RFL_MERGE_HUB, the sender's office
 * @stats: (out caller-allocates): what happened
 * @error: return location for an error
 *
 * Applies one bundle: rfl_store_apply_bundles() with a batch of one.
 */
gboolean
rfl_store_apply_ops (RflStore       *self,
                     const char     *peer,
                     guint64         seq_from,
                     guint64         seq_to,
                     const guint8   *hash,
                     JsonArray      *ops,
                     RflMergeRole    role,
                     const char     *office,
                     RflMergeStats  *stats,
                     GError        **error)
{
  RflBundleApply b = {
    .peer = peer, .seq_from = seq_from, .seq_to = seq_to, .hash = hash, .ops = ops,
    .role = role, .office = office,
  };
  gboolean ok;

  g_return_val_if_fail (stats != NULL, FALSE);

  ok = rfl_store_apply_bundles (self, &b, 1, error);
  *stats = b.stats;
  g_clear_error (&b.error);
  return ok;
}
