/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-sync"

#include <glib/gi18n.h>

#include "rfl-file.h"
#include "rfl-sync-client.h"
#include "rfl-sync-job.h"

/*
 * What RflSyncAgent's worker thread does: one job, a signed ping, a sync,
 * an enrollment, a USB export or import, or settling a conflict, then the
 * sync status read again. Apart from the agent, so that what runs off the
 * main context, and touches only the job, can be read on its own.
 */

#define MAX_TOKEN_BYTES      (64 * 1024)
#define PING_DEADLINE_S      15

G_DEFINE_BOXED_TYPE (RflSyncOutcome, rfl_sync_outcome, rfl_sync_outcome_copy, rfl_sync_outcome_free)

/* In the worker thread. */

static void
progress_cb (const RflSyncReport *report,
             gpointer             user_data)
{
  RflSyncProgress *progress = user_data;

  g_atomic_int_set (&progress->sent, (gint) report->sent);
  g_atomic_int_set (&progress->received, (gint) report->received);
}

static gboolean
enroll_from_file (RflSyncJob    *job,
                  GCancellable  *cancellable,
                  GError       **error)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(RflEnrollToken) token = NULL;
  g_autoptr(GError) local_error = NULL;

  /* A token file is small: anything larger, or not a file, is refused
   * while it is read. */
  if ((bytes = rfl_file_read (job->path, MAX_TOKEN_BYTES, RFL_FILE_REGULAR, &local_error)) == NULL)
    {
      if (g_error_matches (local_error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE))
        g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED,
                             _("This file is too large to be an enrollment token."));
      else
        g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  if ((token = rfl_enroll_token_load (bytes, error)) == NULL ||
      !rfl_sync_client_enroll (job->store, token, NULL, error))
    return FALSE;
  job->office = g_strdup (token->office);
  return TRUE;
}

/**
 * rfl_sync_job_thread:
 *
 * The body of the worker task whose task data is the job. Cancelling
 * @cancellable cuts the network calls short; the status is still read.
 */
void
rfl_sync_job_thread (GTask        *task,
                     gpointer      source_object,
                     gpointer      task_data,
                     GCancellable *cancellable)
{
  RflSyncJob *job = task_data;
  RflSyncOptions options = { 0 };

  switch (job->kind)
    {
    case RFL_SYNC_JOB_STATUS:
      break;
    case RFL_SYNC_JOB_PING:
      options.deadline_s = PING_DEADLINE_S;
      rfl_sync_client_ping (job->store, &options, cancellable, &job->error);
      break;
    case RFL_SYNC_JOB_SYNC:
      options.progress = progress_cb;
      options.progress_data = job->progress;
      rfl_sync_client_run (job->store, &options, &job->report, cancellable, &job->error);
      break;
    case RFL_SYNC_JOB_ENROLL:
      enroll_from_file (job, cancellable, &job->error);
      break;
    case RFL_SYNC_JOB_USB_OUT:
      rfl_sync_device_write_usb (job->store, job->path, &job->written, &job->error);
      break;
    case RFL_SYNC_JOB_USB_IN:
      rfl_sync_device_read_usb (job->store, job->path, &job->report, &job->rejections, &job->error);
      break;
    case RFL_SYNC_JOB_RESOLVE:
      rfl_store_resolve_conflict (job->store, job->id, job->take, &job->error);
      break;
    default:
      g_assert_not_reached ();
    }

  /* Whatever happened, the agent shows the store as it is now. A revoked
   * device has destroyed its keys: there is nothing more to read. */
  if (!g_error_matches (job->error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REVOKED))
    {
      GError *error = NULL;

      if ((job->status = rfl_sync_device_status (job->store, TRUE, &error)) == NULL)
        {
          if (job->error == NULL)
            job->error = error;
          else
            g_error_free (error);
        }
    }
  g_task_return_boolean (task, job->error == NULL);
}

/* On the main context. */

RflSyncJob *
rfl_sync_job_new (RflSyncJobKind  kind,
                  gboolean        automatic,
                  RflStore       *store)
{
  RflSyncJob *job;

  g_return_val_if_fail (RFL_IS_STORE (store), NULL);

  job = g_new0 (RflSyncJob, 1);
  job->kind = kind;
  job->automatic = automatic;
  job->store = g_object_ref (store);
  if (kind == RFL_SYNC_JOB_SYNC)
    job->progress = g_rc_box_new0 (RflSyncProgress);
  return job;
}

void
rfl_sync_job_free (RflSyncJob *job)
{
  if (job == NULL)
    return;
  g_clear_object (&job->store);
  g_free (job->path);
  g_free (job->id);
  g_clear_pointer (&job->progress, g_rc_box_release);
  g_clear_object (&job->caller);
  g_clear_pointer (&job->rejections, g_ptr_array_unref);
  g_free (job->office);
  g_clear_pointer (&job->status, json_object_unref);
  g_clear_error (&job->error);
  g_free (job);
}

/**
 * rfl_sync_job_changes_records:
 *
 * Returns: whether the job, which succeeded, changed records: what came
 *   from HQ was merged, or a conflict settled
 */
gboolean
rfl_sync_job_changes_records (RflSyncJob *job)
{
  switch (job->kind)
    {
    case RFL_SYNC_JOB_SYNC:
      return job->report.received > 0 || job->report.resynced || job->report.rebased;
    case RFL_SYNC_JOB_USB_IN:
      return job->report.received > 0;
    case RFL_SYNC_JOB_RESOLVE:
      return TRUE;
    default:
      return FALSE;
    }
}

RflSyncOutcome *
rfl_sync_job_outcome (RflSyncJob *job)
{
  RflSyncOutcome *outcome = g_new0 (RflSyncOutcome, 1);

  outcome->kind = job->kind;
  outcome->automatic = job->automatic;
  outcome->report = job->report;
  outcome->written = job->written;
  outcome->refused = job->rejections != NULL ? job->rejections->len : 0;
  outcome->office = g_strdup (job->office);
  return outcome;
}

RflSyncOutcome *
rfl_sync_outcome_copy (const RflSyncOutcome *outcome)
{
  RflSyncOutcome *copy;

  g_return_val_if_fail (outcome != NULL, NULL);

  copy = g_memdup2 (outcome, sizeof *outcome);
  copy->office = g_strdup (outcome->office);
  return copy;
}

void
rfl_sync_outcome_free (RflSyncOutcome *outcome)
{
  if (outcome == NULL)
    return;
  g_free (outcome->office);
  g_free (outcome);
}
