/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Peers: the devices and HQ this store syncs with, the roster HQ signs,
 * sync settings, re-bases after a restore, accepted request nonces, and
 * HQ's enrollment tokens. */
#define G_LOG_DOMAIN "rfl-store"

#include "rfl-store-private.h"
#include "rfl-json.h"
#include "rfl-store-sync.h"

#include <sodium.h>
#include <string.h>
#include <glib/gi18n-lib.h>

/* Settings: sync state that is not a table of its own. */

typedef struct
{
  const char *name;
  const char *value;
  char       *out;
} SettingArgs;

static gboolean
get_setting_locked (RflStore  *self,
                    gpointer   data,
                    GError   **error)
{
  SettingArgs *args = data;

  args->out = rfl_store_meta_get (self, args->name);
  return TRUE;
}

char *
rfl_store_get_setting (RflStore   *self,
                       const char *key)
{
  g_autofree char *name = g_strconcat ("sync.", key, NULL);
  SettingArgs args = { name, NULL, NULL };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  if (!rfl_store_read (self, get_setting_locked, &args, NULL))
    return NULL;
  return args.out;
}

static gboolean
set_setting_locked (RflStore  *self,
                    gpointer   data,
                    GError   **error)
{
  SettingArgs *args = data;
  sqlite3_stmt *st;

  if (args->value != NULL)
    return rfl_store_meta_set (self, args->name, args->value, error);
  if ((st = rfl_store_stmt (self, "DELETE FROM meta WHERE key = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->name);
  return rfl_store_run_write (self, st, "saving a setting", error);
}

gboolean
rfl_store_set_setting (RflStore    *self,
                       const char  *key,
                       const char  *value,
                       GError     **error)
{
  g_autofree char *name = g_strconcat ("sync.", key, NULL);
  SettingArgs args = { name, value, NULL };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  return rfl_store_write (self, set_setting_locked, &args, error);
}

/* Peers. */

void
rfl_peer_free (RflPeer *peer)
{
  if (peer == NULL)
    return;
  g_free (peer->id);
  g_free (peer->role);
  g_free (peer->office);
  g_free (peer->status);
  g_free (peer->url);
  g_free (peer);
}

void
rfl_outbox_item_free (RflOutboxItem *item)
{
  if (item == NULL)
    return;
  g_clear_pointer (&item->envelope, g_bytes_unref);
  g_free (item);
}

/* The roster HQ signs changes with every enrollment and revocation. */
static gboolean
bump_roster (RflStore  *self,
             GError   **error)
{
  g_autofree char *old = rfl_store_meta_get (self, "sync.roster_version");
  g_autofree char *new = g_strdup_printf ("%" G_GUINT64_FORMAT,
                                          (old != NULL ? g_ascii_strtoull (old, NULL, 10) : 0) + 1);

  return rfl_store_meta_set (self, "sync.roster_version", new, error);
}

static gboolean
add_peer_locked (RflStore  *self,
                 gpointer   data,
                 GError   **error)
{
  const RflPeer *peer = data;
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "INSERT INTO peers (id, role, office, status, sign_pk, box_pk, url, enrolled_at)"
                                  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (id) DO UPDATE SET"
                                  " role = excluded.role, office = excluded.office, status = excluded.status,"
                                  " sign_pk = excluded.sign_pk, box_pk = excluded.box_pk, url = excluded.url",
                            error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, peer->id);
  rfl_bind_text (st, 2, peer->role);
  rfl_bind_text (st, 3, peer->office);
  rfl_bind_text (st, 4, peer->status != NULL ? peer->status : "active");
  sqlite3_bind_blob (st, 5, peer->sign_pk, 32, SQLITE_STATIC);
  sqlite3_bind_blob (st, 6, peer->box_pk, 32, SQLITE_STATIC);
  rfl_bind_text (st, 7, peer->url);
  sqlite3_bind_int64 (st, 8, rfl_now_ms ());
  return rfl_store_run_write (self, st, "saving a peer", error) &&
         bump_roster (self, error) &&
         rfl_store_audit_append (self, "peer", NULL, peer->id, error);
}

gboolean
rfl_store_add_peer (RflStore       *self,
                    const RflPeer  *peer,
                    GError        **error)
{
  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (peer != NULL && peer->id != NULL && peer->role != NULL, FALSE);

  return rfl_store_write (self, add_peer_locked, (gpointer) peer, error);
}

static RflPeer *
peer_from_row (sqlite3_stmt *st)
{
  RflPeer *peer = g_new0 (RflPeer, 1);

  peer->id = g_strdup ((const char *) sqlite3_column_text (st, 0));
  peer->role = g_strdup ((const char *) sqlite3_column_text (st, 1));
  peer->office = g_strdup ((const char *) sqlite3_column_text (st, 2));
  peer->status = g_strdup ((const char *) sqlite3_column_text (st, 3));
  if (sqlite3_column_bytes (st, 4) == 32)
    memcpy (peer->sign_pk, sqlite3_column_blob (st, 4), 32);
  if (sqlite3_column_bytes (st, 5) == 32)
    memcpy (peer->box_pk, sqlite3_column_blob (st, 5), 32);
  peer->url = g_strdup ((const char *) sqlite3_column_text (st, 6));
  peer->enrolled_at = sqlite3_column_int64 (st, 7);
  peer->last_seen = sqlite3_column_int64 (st, 8);
  peer->in_next = (guint64) sqlite3_column_int64 (st, 9);
  if (sqlite3_column_bytes (st, 10) == 32)
    memcpy (peer->in_hash, sqlite3_column_blob (st, 10), 32);
  peer->out_next = (guint64) sqlite3_column_int64 (st, 11);
  if (sqlite3_column_bytes (st, 12) == 32)
    memcpy (peer->out_hash, sqlite3_column_blob (st, 12), 32);
  peer->out_through = (guint64) sqlite3_column_int64 (st, 13);
  peer->acked = (guint64) sqlite3_column_int64 (st, 14);
  return peer;
}

#define PEER_COLUMNS "id, role, office, status, sign_pk, box_pk, url, enrolled_at, last_seen," \
                     " in_next, in_hash, out_next, out_hash, out_through, acked"

typedef struct
{
  const char *id;
  const char *role;
  RflPeer    *peer;
  GPtrArray  *peers;
} PeerQuery;

static gboolean
get_peer_locked (RflStore  *self,
                 gpointer   data,
                 GError   **error)
{
  PeerQuery *q = data;
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "SELECT " PEER_COLUMNS " FROM peers WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, q->id);
  if (sqlite3_step (st) != SQLITE_ROW)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND, _("no enrolled device %s"), q->id);
      return FALSE;
    }
  q->peer = peer_from_row (st);
  return TRUE;
}

RflPeer *
rfl_store_get_peer (RflStore    *self,
                    const char  *id,
                    GError     **error)
{
  PeerQuery q = { .id = id };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  if (!rfl_store_read (self, get_peer_locked, &q, error))
    return NULL;
  return q.peer;
}

static gboolean
list_peers_locked (RflStore  *self,
                   gpointer   data,
                   GError   **error)
{
  PeerQuery *q = data;
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "SELECT " PEER_COLUMNS " FROM peers WHERE ?1 IS NULL OR role = ?1"
                                  " ORDER BY enrolled_at, id", error)) == NULL)
    return FALSE;
  q->peers = g_ptr_array_new_with_free_func ((GDestroyNotify) rfl_peer_free);
  rfl_bind_text (st, 1, q->role);
  while (sqlite3_step (st) == SQLITE_ROW)
    g_ptr_array_add (q->peers, peer_from_row (st));
  return TRUE;
}

/**
 * rfl_store_list_peers:
 * @role: (nullable): only peers with this role
 *
 * Returns: (transfer full) (element-type RflPeer): the peers, in enrollment order
 */
GPtrArray *
rfl_store_list_peers (RflStore    *self,
                      const char  *role,
                      GError     **error)
{
  PeerQuery q = { .role = role };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  if (!rfl_store_read (self, list_peers_locked, &q, error))
    return NULL;
  return q.peers;
}

typedef struct
{
  const char *id;
  const char *status;
} StatusArgs;

static gboolean
peer_has_status (RflStore   *self,
                 const char *id,
                 const char *status)
{
  sqlite3_stmt *st = rfl_store_stmt (self, "SELECT 1 FROM peers WHERE id = ?1 AND status = ?2", NULL);
  gboolean found;

  if (st == NULL)
    return FALSE;
  rfl_bind_text (st, 1, id);
  rfl_bind_text (st, 2, status);
  found = sqlite3_step (st) == SQLITE_ROW;
  sqlite3_reset (st);
  return found;
}

static gboolean
set_status_locked (RflStore  *self,
                   gpointer   data,
                   GError   **error)
{
  const StatusArgs *args = data;
  sqlite3_stmt *st;

  /* Revocation is for good: nothing sets a revoked device's status again. */
  if ((st = rfl_store_stmt (self, "UPDATE peers SET status = ?2 WHERE id = ?1 AND status != 'revoked'",
                            error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->id);
  rfl_bind_text (st, 2, args->status);
  if (!rfl_store_run_write (self, st, "saving a peer", error))
    return FALSE;
  if (sqlite3_changes (self->db) == 0)
    {
      if (peer_has_status (self, args->id, "revoked"))
        g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION, _("device %s was revoked"), args->id);
      else
        g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND, _("no enrolled device %s"), args->id);
      return FALSE;
    }
  return bump_roster (self, error) &&
         rfl_store_audit_append (self, args->status, NULL, args->id, error);
}

gboolean
rfl_store_set_peer_status (RflStore    *self,
                           const char  *id,
                           const char  *status,
                           GError     **error)
{
  StatusArgs args = { id, status };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  return rfl_store_write (self, set_status_locked, &args, error);
}

typedef struct
{
  const char *id;
  const char *office;
} MoveArgs;

static gboolean
move_locked (RflStore  *self,
             gpointer   data,
             GError   **error)
{
  const MoveArgs *args = data;
  g_autofree char *detail = NULL;
  g_autofree char *from = NULL;
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "SELECT office, status FROM peers WHERE id = ?1 AND role = 'device'",
                            error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->id);
  if (sqlite3_step (st) != SQLITE_ROW)
    {
      sqlite3_reset (st);
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND, _("no enrolled device %s"), args->id);
      return FALSE;
    }
  from = g_strdup ((const char *) sqlite3_column_text (st, 0));
  if (g_strcmp0 ((const char *) sqlite3_column_text (st, 1), "active") != 0)
    {
      sqlite3_reset (st);
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION, _("device %s was revoked"), args->id);
      return FALSE;
    }
  sqlite3_reset (st);
  if ((st = rfl_store_stmt (self, "UPDATE peers SET office = ?2 WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->id);
  rfl_bind_text (st, 2, args->office);
  detail = g_strdup_printf ("%s office %s -> %s", args->id, from, args->office);
  return rfl_store_run_write (self, st, "saving a peer", error) &&
         bump_roster (self, error) &&
         rfl_store_audit_append (self, "move", NULL, detail, error);
}

/**
 * rfl_store_move_peer:
 * @id: an active device
 * @office: the office it works for from now on
 *
 * Moves a device to another office: the operator's decision, audited, and
 * never a side effect of enrolling.
 */
gboolean
rfl_store_move_peer (RflStore    *self,
                     const char  *id,
                     const char  *office,
                     GError     **error)
{
  MoveArgs args = { id, office };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  if (office == NULL || *office == '\0')
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID, _("an office name is needed"));
      return FALSE;
    }
  return rfl_store_write (self, move_locked, &args, error);
}

typedef struct
{
  const char *id;
  guint64     through;
} ThroughArgs;

static gboolean
through_locked (RflStore  *self,
                gpointer   data,
                GError   **error)
{
  const ThroughArgs *args = data;
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "UPDATE peers SET out_through = ?2 WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->id);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64) args->through);
  return rfl_store_run_write (self, st, "saving a peer", error);
}

/**
 * rfl_store_set_peer_through:
 *
 * Records that the journal up to @through holds nothing more for the peer.
 */
gboolean
rfl_store_set_peer_through (RflStore    *self,
                            const char  *id,
                            guint64      through,
                            GError     **error)
{
  ThroughArgs args = { id, through };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  return rfl_store_write (self, through_locked, &args, error);
}

static gboolean
touch_locked (RflStore  *self,
              gpointer   data,
              GError   **error)
{
  const char *id = data;
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "UPDATE peers SET last_seen = ?2 WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, id);
  sqlite3_bind_int64 (st, 2, rfl_now_ms ());
  return rfl_store_run_write (self, st, "saving a peer", error);
}

gboolean
rfl_store_touch_peer (RflStore    *self,
                      const char  *id,
                      GError     **error)
{
  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  return rfl_store_write (self, touch_locked, (gpointer) id, error);
}

/* Restores. */

/* A re-base starts both streams with @peer again from where HQ has them:
 * the bundles sealed for it or held from it go. */
static gboolean
drop_bundles (RflStore    *self,
              const char  *peer,
              GError     **error)
{
  static const char * const sql[] = {
    "DELETE FROM outbox WHERE peer = ?1",
    "DELETE FROM held WHERE peer = ?1",
  };

  for (guint i = 0; i < G_N_ELEMENTS (sql); i++)
    {
      sqlite3_stmt *st = rfl_store_stmt (self, sql[i], error);

      if (st == NULL)
        return FALSE;
      rfl_bind_text (st, 1, peer);
      if (!rfl_store_run_write (self, st, "re-basing the streams", error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
rebase_hub_locked (RflStore  *self,
                   gpointer   data,
                   GError   **error)
{
  const char *id = data;
  sqlite3_stmt *st;

  if (!drop_bundles (self, id, error))
    return FALSE;
  if ((st = rfl_store_stmt (self, "UPDATE peers SET acked = out_next - 1, out_through = 0,"
                                  " own_through = (SELECT coalesce (max (seq), 0) FROM journal)"
                                  " WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, id);
  if (!rfl_store_run_write (self, st, "re-basing a device's streams", error))
    return FALSE;
  return rfl_store_audit_append (self, "rebase", NULL, id, error);
}

/**
 * rfl_store_rebase_hub:
 * @id: an enrolled device that says it was restored from an older copy
 *
 * HQ's side of a re-base. The device's stream to HQ stays where HQ has it;
 * the stream to the device goes on from HQ's last bundle, and carries the
 * device's whole scope again, its own operations included, since the copy
 * lacks those made after it was taken. Bundles not yet confirmed are
 * dropped: what they held is sent again.
 */
gboolean
rfl_store_rebase_hub (RflStore    *self,
                      const char  *id,
                      GError     **error)
{
  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  return rfl_store_write (self, rebase_hub_locked, (gpointer) id, error);
}

typedef struct
{
  const char   *hq;
  guint64       received;
  const guint8 *received_hash;
  guint64       sent;
  const guint8 *sent_hash;
} RebaseArgs;

static gboolean
rebase_device_locked (RflStore  *self,
                      gpointer   data,
                      GError   **error)
{
  const RebaseArgs *args = data;
  g_autoptr(RflPeer) peer = NULL;
  sqlite3_stmt *st;
  guint64 base;
  gint64 head;

  if ((peer = rfl_store_get_peer (self, args->hq, error)) == NULL)
    return FALSE;
  /* What HQ has of this device's stream: usually at least what it
   * receipted; less if HQ's own database was restored from an older copy,
   * and then this device sends again what HQ lost. */
  base = MIN (peer->acked, args->received);
  if ((st = rfl_store_stmt (self, "SELECT coalesce (max (seq), 0) FROM journal", error)) == NULL ||
      sqlite3_step (st) != SQLITE_ROW)
    return rfl_store_sql_fail (self, error, "reading the journal");
  head = sqlite3_column_int64 (st, 0);
  sqlite3_reset (st);

  /* This device's changes HQ may lack move past what HQ has of its
   * stream, keeping their order and clocks, to be sent again. Moved past
   * the head, they meet no other entry. */
  if ((st = rfl_store_stmt (self, "UPDATE journal SET seq = seq + ?2 WHERE seq > ?1 AND origin IS NULL",
                            error)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, (sqlite3_int64) base);
  sqlite3_bind_int64 (st, 2, MAX (head, (gint64) args->received) - (gint64) base);
  if (!rfl_store_run_write (self, st, "re-basing the journal", error))
    return FALSE;
  /* A marker at the head: new entries follow HQ's seq, and the clock is
   * read from the head when the store opens. It is never sent. */
  if ((st = rfl_store_stmt (self, "INSERT INTO journal (seq, record_id, record_row, op, hlc, device, redacted, origin)"
                                  " VALUES ((SELECT max (coalesce (max (seq), 0), ?1) + 1 FROM journal),"
                                  "         '', 0, 'rebase', ?2, ?3, 1, ?3)", error)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, (sqlite3_int64) args->received);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64) self->hlc);
  rfl_bind_text (st, 3, args->hq);
  if (!rfl_store_run_write (self, st, "re-basing the journal", error))
    return FALSE;

  if (!drop_bundles (self, args->hq, error))
    return FALSE;
  if ((st = rfl_store_stmt (self, "UPDATE peers SET out_next = ?2, out_hash = ?3, out_through = ?4, acked = ?4,"
                                  " in_next = ?5, in_hash = ?6 WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->hq);
  sqlite3_bind_int64 (st, 2, (sqlite3_int64) args->received + 1);
  sqlite3_bind_blob (st, 3, args->received_hash, 32, SQLITE_STATIC);
  sqlite3_bind_int64 (st, 4, (sqlite3_int64) args->received);
  sqlite3_bind_int64 (st, 5, (sqlite3_int64) args->sent + 1);
  sqlite3_bind_blob (st, 6, args->sent_hash, 32, SQLITE_STATIC);
  if (!rfl_store_run_write (self, st, "re-basing the streams", error))
    return FALSE;
  {
    g_autofree char *detail = g_strdup_printf ("on %s: sent through %" G_GUINT64_FORMAT ", received through %"
                                               G_GUINT64_FORMAT "; was %" G_GUINT64_FORMAT " and %" G_GUINT64_FORMAT,
                                               args->hq, args->received, args->sent, peer->acked,
                                               peer->in_next - 1);
    return rfl_store_audit_append (self, "rebase", NULL, detail, error);
  }
}

/**
 * rfl_store_rebase_device:
 * @hq: HQ's id
 * @received: the last seq of this device's stream HQ applied
 * @received_hash: (array fixed-size=32): that bundle's hash
 * @sent: HQ's last bundle to this device
 * @sent_hash: (array fixed-size=32): that bundle's hash
 *
 * A device's side of a re-base, from HQ's verified word: both streams go on
 * from where HQ has them, and this device's changes HQ may lack (those it
 * never confirmed, and any after @received, if HQ lost them to a restore)
 * are renumbered after @received, to be sent again. In one transaction.
 */
gboolean
rfl_store_rebase_device (RflStore      *self,
                         const char    *hq,
                         guint64        received,
                         const guint8  *received_hash,
                         guint64        sent,
                         const guint8  *sent_hash,
                         GError       **error)
{
  RebaseArgs args = { hq, received, received_hash, sent, sent_hash };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  return rfl_store_write (self, rebase_device_locked, &args, error);
}

typedef struct
{
  const char *device;
  const char *nonce;
  gint64      expires;
  gint64      now;
} RequestArgs;

static gboolean
accept_request_locked (RflStore  *self,
                       gpointer   data,
                       GError   **error)
{
  const RequestArgs *args = data;
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "DELETE FROM nonces WHERE expires < ?1", error)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, args->now);
  if (!rfl_store_run_write (self, st, "forgetting stale requests", error))
    return FALSE;
  if ((st = rfl_store_stmt (self, "INSERT INTO nonces (device, nonce, expires) VALUES (?1, ?2, ?3)"
                                  " ON CONFLICT DO NOTHING", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->device);
  rfl_bind_text (st, 2, args->nonce);
  sqlite3_bind_int64 (st, 3, args->expires);
  if (!rfl_store_run_write (self, st, "remembering a request", error))
    return FALSE;
  if (sqlite3_changes (self->db) == 0)
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION, _("this request was already received"));
      return FALSE;
    }
  return touch_locked (self, (gpointer) args->device, error);
}

/**
 * rfl_store_accept_request:
 * @device: the device whose request was authenticated
 * @nonce: the request's nonce
 * @expires: until when the nonce must be remembered, seconds since the epoch
 * @now: the time now, in the same unit
 *
 * Remembers, durably and in one transaction with the device's last-seen
 * time, that a request was accepted, so that replaying it fails even
 * after a restart. Forgets the requests that are stale by @now.
 *
 * Returns: %FALSE with %RFL_STORE_ERROR_TRANSITION if it was accepted before
 */
gboolean
rfl_store_accept_request (RflStore    *self,
                          const char  *device,
                          const char  *nonce,
                          gint64       expires,
                          gint64       now,
                          GError     **error)
{
  RequestArgs args = { device, nonce, expires, now };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (device != NULL && nonce != NULL, FALSE);

  return rfl_store_write (self, accept_request_locked, &args, error);
}

typedef struct
{
  gint64          now;
  RflRequestFunc  func;
  gpointer        user_data;
} ForeachRequestArgs;

static gboolean
foreach_request_locked (RflStore  *self,
                        gpointer   data,
                        GError   **error)
{
  ForeachRequestArgs *args = data;
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "SELECT device, nonce, expires FROM nonces WHERE expires >= ?1"
                                  " ORDER BY expires", error)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, args->now);
  while (sqlite3_step (st) == SQLITE_ROW)
    args->func ((const char *) sqlite3_column_text (st, 0), (const char *) sqlite3_column_text (st, 1),
                sqlite3_column_int64 (st, 2), args->user_data);
  sqlite3_reset (st);
  return TRUE;
}

/**
 * rfl_store_foreach_request:
 * @now: seconds since the epoch: requests stale by then are left out
 * @func: called with each device id, nonce and expiry
 *
 * Lists the requests accepted and not yet stale, for a server's replay
 * cache when it starts.
 */
gboolean
rfl_store_foreach_request (RflStore        *self,
                           gint64           now,
                           RflRequestFunc   func,
                           gpointer         user_data,
                           GError         **error)
{
  ForeachRequestArgs args = { now, func, user_data };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  return rfl_store_read (self, foreach_request_locked, &args, error);
}

/* Enrollment tokens (HQ). */

typedef struct
{
  const char   *id;
  const guint8 *secret_hash;
  const char   *office;
  gint64        expires;
} TokenArgs;

static gboolean
add_token_locked (RflStore  *self,
                  gpointer   data,
                  GError   **error)
{
  const TokenArgs *args = data;
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "INSERT INTO tokens (id, secret_hash, office, expires) VALUES (?1, ?2, ?3, ?4)",
                            error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->id);
  sqlite3_bind_blob (st, 2, args->secret_hash, 32, SQLITE_STATIC);
  rfl_bind_text (st, 3, args->office);
  sqlite3_bind_int64 (st, 4, args->expires);
  return rfl_store_run_write (self, st, "saving an enrollment token", error) &&
         rfl_store_audit_append (self, "token", NULL, args->office, error);
}

gboolean
rfl_store_add_token (RflStore      *self,
                     const char    *id,
                     const guint8  *secret_hash,
                     const char    *office,
                     gint64         expires,
                     GError       **error)
{
  TokenArgs args = { id, secret_hash, office, expires };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  return rfl_store_write (self, add_token_locked, &args, error);
}

typedef struct
{
  const char    *id;
  const guint8  *secret_hash;
  RflPeer       *device;
  char          *office;
  char          *known;    /* the status of a peer that holds one of the keys */
} UseArgs;

/* The status of any peer, enrolled or revoked, that has @device's id, or
 * its signing or its encryption key; NULL if none. */
static char *
known_keys_status (RflStore       *self,
                   const RflPeer  *device,
                   GError        **error)
{
  sqlite3_stmt *st;
  char *status = NULL;

  if ((st = rfl_store_stmt (self, "SELECT status FROM peers WHERE id = ?1 OR sign_pk = ?2 OR box_pk = ?3"
                                  " ORDER BY status = 'revoked' DESC LIMIT 1", error)) == NULL)
    return NULL;
  rfl_bind_text (st, 1, device->id);
  sqlite3_bind_blob (st, 2, device->sign_pk, 32, SQLITE_STATIC);
  sqlite3_bind_blob (st, 3, device->box_pk, 32, SQLITE_STATIC);
  if (sqlite3_step (st) == SQLITE_ROW)
    status = g_strdup ((const char *) sqlite3_column_text (st, 0));
  sqlite3_reset (st);
  return status;
}

static gboolean
use_token_locked (RflStore  *self,
                  gpointer   data,
                  GError   **error)
{
  UseArgs *args = data;
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "SELECT secret_hash, office, expires, used_by FROM tokens WHERE id = ?1",
                            error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->id);
  if (sqlite3_step (st) != SQLITE_ROW || sqlite3_column_bytes (st, 0) != 32 ||
      sodium_memcmp (sqlite3_column_blob (st, 0), args->secret_hash, 32) != 0)
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND, _("unknown enrollment token"));
      return FALSE;
    }
  if (sqlite3_column_type (st, 3) != SQLITE_NULL)
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION,
                           _("this enrollment token was already used"));
      return FALSE;
    }
  if (sqlite3_column_int64 (st, 2) < rfl_now_ms ())
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION,
                           _("this enrollment token has expired"));
      return FALSE;
    }
  args->office = g_strdup ((const char *) sqlite3_column_text (st, 1));
  sqlite3_reset (st);

  /* The token is spent whatever follows: one presented with keys HQ
   * already knows has leaked. */
  if ((st = rfl_store_stmt (self, "UPDATE tokens SET used_by = ?2, used_at = ?3 WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->id);
  rfl_bind_text (st, 2, args->device->id);
  sqlite3_bind_int64 (st, 3, rfl_now_ms ());
  if (!rfl_store_run_write (self, st, "using an enrollment token", error))
    return FALSE;

  /* A revoked key never comes back, and an enrolled device does not change
   * office by enrolling again: its operator moves it. The refusal is kept
   * (committed) in the audit log, with the token. */
  args->known = known_keys_status (self, args->device, error);
  if (args->known != NULL)
    {
      g_autofree char *detail = g_strdup_printf ("%s token %s office %s (%s)", args->device->id, args->id,
                                                 args->office, args->known);

      return rfl_store_audit_append (self, "enroll-refused", NULL, detail, error);
    }
  g_free (args->device->office);
  args->device->office = g_strdup (args->office);
  {
    g_autofree char *detail = g_strdup_printf ("%s token %s office %s", args->device->id, args->id, args->office);

    return add_peer_locked (self, args->device, error) &&
           rfl_store_audit_append (self, "enroll", NULL, detail, error);
  }
}

/**
 * rfl_store_use_token:
 * @device: the enrolling device; its office is taken from the token
 *
 * Spends a one-time enrollment token and enrolls @device, in one transaction.
 *
 * Returns: (transfer full): the office the device now works for
 */
char *
rfl_store_use_token (RflStore       *self,
                     const char     *id,
                     const guint8   *secret_hash,
                     const RflPeer  *device,
                     GError        **error)
{
  g_autoptr(RflPeer) copy = g_new0 (RflPeer, 1);
  UseArgs args = { id, secret_hash, copy, NULL };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  *copy = *device;
  copy->id = g_strdup (device->id);
  copy->role = g_strdup ("device");
  copy->office = NULL;
  copy->status = g_strdup ("active");
  copy->url = NULL;
  if (!rfl_store_write (self, use_token_locked, &args, error))
    {
      g_free (args.office);
      g_free (args.known);
      return NULL;
    }
  if (args.known != NULL)
    {
      if (g_str_equal (args.known, "revoked"))
        g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION,
                             _("these keys belong to a revoked device; a revoked device cannot enroll again"));
      else
        g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_TRANSITION,
                             _("this device is already enrolled; HQ's operator moves a device to another office"));
      g_free (args.office);
      g_free (args.known);
      return NULL;
    }
  return args.office;
}
