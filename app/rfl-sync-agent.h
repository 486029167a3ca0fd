/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "rfl-store.h"
#include "rfl-sync.h"

G_BEGIN_DECLS

/**
 * RflLinkState:
 * @RFL_LINK_UNKNOWN: not checked yet
 * @RFL_LINK_OFFLINE: no network
 * @RFL_LINK_UNREACHABLE: a network, but HQ did not answer a signed ping
 * @RFL_LINK_ONLINE: HQ answered a signed ping
 */
typedef enum
{
  RFL_LINK_UNKNOWN,
  RFL_LINK_OFFLINE,
  RFL_LINK_UNREACHABLE,
  RFL_LINK_ONLINE,
} RflLinkState;

/**
 * RflSyncJobKind:
 * @RFL_SYNC_JOB_STATUS: read the sync status of the store
 * @RFL_SYNC_JOB_PING: a signed ping to HQ
 * @RFL_SYNC_JOB_SYNC: send and receive bundles over HTTP
 * @RFL_SYNC_JOB_ENROLL: enroll with a token file
 * @RFL_SYNC_JOB_USB_OUT: write bundles for HQ into a folder
 * @RFL_SYNC_JOB_USB_IN: apply the bundles HQ wrote into a folder
 * @RFL_SYNC_JOB_RESOLVE: settle a conflict
 *
 * What the agent's worker does, one at a time.
 */
typedef enum
{
  RFL_SYNC_JOB_STATUS,
  RFL_SYNC_JOB_PING,
  RFL_SYNC_JOB_SYNC,
  RFL_SYNC_JOB_ENROLL,
  RFL_SYNC_JOB_USB_OUT,
  RFL_SYNC_JOB_USB_IN,
  RFL_SYNC_JOB_RESOLVE,
} RflSyncJobKind;

/**
 * RflSyncOutcome:
 * @kind: what was done
 * @automatic: %TRUE when the agent started it on its own, not a person
 * @report: what a sync or a USB import did
 * @written: the bundles a USB export wrote
 * @refused: the bundles a USB import refused
 * @office: (nullable): the office an enrollment was for
 *
 * What a job that succeeded did, for a view to say.
 */
typedef struct
{
  RflSyncJobKind kind;
  gboolean       automatic;
  RflSyncReport  report;
  guint          written;
  guint          refused;
  char          *office;
} RflSyncOutcome;

#define RFL_TYPE_SYNC_OUTCOME (rfl_sync_outcome_get_type ())

GType           rfl_sync_outcome_get_type (void) G_GNUC_CONST;
RflSyncOutcome *rfl_sync_outcome_copy     (const RflSyncOutcome *outcome) G_GNUC_WARN_UNUSED_RESULT;
void            rfl_sync_outcome_free     (RflSyncOutcome       *outcome);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflSyncOutcome, rfl_sync_outcome_free)

#define RFL_TYPE_SYNC_AGENT (rfl_sync_agent_get_type ())

G_DECLARE_FINAL_TYPE (RflSyncAgent, rfl_sync_agent, RFL, SYNC_AGENT, GObject)

RflSyncAgent   *rfl_sync_agent_new                  (void) G_GNUC_WARN_UNUSED_RESULT;
RflStore       *rfl_sync_agent_get_store            (RflSyncAgent         *self);
void            rfl_sync_agent_set_store            (RflSyncAgent         *self,
                                                     RflStore             *store);
RflLinkState    rfl_sync_agent_get_link             (RflSyncAgent         *self);
gboolean        rfl_sync_agent_get_busy             (RflSyncAgent         *self);
gboolean        rfl_sync_agent_get_enrolled         (RflSyncAgent         *self);
gint64          rfl_sync_agent_get_pending          (RflSyncAgent         *self);
const char     *rfl_sync_agent_get_last_error       (RflSyncAgent         *self);
JsonObject     *rfl_sync_agent_get_status           (RflSyncAgent         *self);
const char     *rfl_sync_agent_get_last_sync        (RflSyncAgent         *self);
GPtrArray      *rfl_sync_agent_get_conflicts        (RflSyncAgent         *self);
gboolean        rfl_sync_agent_get_metered_backlog  (RflSyncAgent         *self);
gboolean        rfl_sync_agent_get_progress         (RflSyncAgent         *self,
                                                     guint                *sent,
                                                     guint                *received,
                                                     guint                *expected);
void            rfl_sync_agent_refresh              (RflSyncAgent         *self);

void            rfl_sync_agent_sync_async           (RflSyncAgent         *self,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
RflSyncOutcome *rfl_sync_agent_sync_finish          (RflSyncAgent         *self,
                                                     GAsyncResult         *result,
                                                     GError              **error)
                                                     G_GNUC_WARN_UNUSED_RESULT;
void            rfl_sync_agent_enroll_async         (RflSyncAgent         *self,
                                                     GFile                *token,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
RflSyncOutcome *rfl_sync_agent_enroll_finish        (RflSyncAgent         *self,
                                                     GAsyncResult         *result,
                                                     GError              **error)
                                                     G_GNUC_WARN_UNUSED_RESULT;
void            rfl_sync_agent_write_usb_async      (RflSyncAgent         *self,
                                                     GFile                *folder,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
RflSyncOutcome *rfl_sync_agent_write_usb_finish     (RflSyncAgent         *self,
                                                     GAsyncResult         *result,
                                                     GError              **error)
                                                     G_GNUC_WARN_UNUSED_RESULT;
void            rfl_sync_agent_read_usb_async       (RflSyncAgent         *self,
                                                     GFile                *folder,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
RflSyncOutcome *rfl_sync_agent_read_usb_finish      (RflSyncAgent         *self,
                                                     GAsyncResult         *result,
                                                     GError              **error)
                                                     G_GNUC_WARN_UNUSED_RESULT;
void            rfl_sync_agent_resolve_async        (RflSyncAgent         *self,
                                                     const char           *conflict_id,
                                                     gboolean              take,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
RflSyncOutcome *rfl_sync_agent_resolve_finish       (RflSyncAgent         *self,
                                                     GAsyncResult         *result,
                                                     GError              **error)
                                                     G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
