/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "rfl-sync-agent.h"

G_BEGIN_DECLS

/* Private to RflSyncAgent: one job of its worker thread. */

/* How far a sync is: the worker writes, the main context reads. */
typedef struct
{
  gint sent;      /* atomic */
  gint received;  /* atomic */
} RflSyncProgress;

typedef struct
{
  RflSyncJobKind   kind;
  gboolean         automatic;
  RflStore        *store;
  char            *path;
  char            *id;
  gboolean         take;
  RflSyncProgress *progress;   /* (nullable): a sync's, shared with the agent */
  GTask           *caller;     /* (nullable): the _async call that asked for the job */

  /* What the worker leaves for the main context. */
  RflSyncReport    report;
  GPtrArray       *rejections;
  guint            written;
  char            *office;
  JsonObject      *status;
  GError          *error;      /* the operation's, while status is still read */
} RflSyncJob;

RflSyncJob     *rfl_sync_job_new             (RflSyncJobKind   kind,
                                              gboolean         automatic,
                                              RflStore        *store) G_GNUC_WARN_UNUSED_RESULT;
void            rfl_sync_job_free            (RflSyncJob      *job);
void            rfl_sync_job_thread          (GTask           *task,
                                              gpointer         source_object,
                                              gpointer         task_data,
                                              GCancellable    *cancellable);
gboolean        rfl_sync_job_changes_records (RflSyncJob      *job);
RflSyncOutcome *rfl_sync_job_outcome         (RflSyncJob      *job) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
