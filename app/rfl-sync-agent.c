/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-sync"

#include <glib/gi18n.h>

#include "rfl-app-enums.h"
#include "rfl-store-follow.h"
#include "rfl-sync-agent.h"
#include "rfl-sync-job.h"

/*
 * The app's link with headquarters, apart from any window: the application
 * owns one agent, and the Sync page is a view of it. It runs every store and
 * network call in a worker thread, one job at a time, and keeps what a view
 * shows: whether HQ answers, what waits to be sent, the conflicts, the last
 * error.
 *
 * The network monitor only says when to try: a signed ping decides whether
 * HQ is there, since a default route proves nothing and an office LAN may
 * reach HQ with none. When a try fails, the next waits longer, with jitter,
 * so that offices do not all call at once when a link comes back.
 */

#define RETRY_MIN_S          30
#define RETRY_MAX_S          (30 * 60)
#define RESYNC_S             (15 * 60)
/* HQ had more for this device than one sync could bring, because another
 * laptop was still sending it: the next sync follows soon. */
#define BEHIND_S             10

struct _RflSyncAgent
{
  GObject          parent_instance;

  RflStore        *store;
  GSignalGroup    *store_signals;
  GSettings       *settings;
  GNetworkMonitor *monitor;
  GCancellable    *cancellable;
  RflSyncProgress *running;        /* the sync in progress, if any */

  JsonObject      *status;
  GPtrArray       *conflicts;      /* JsonObject * */
  RflLinkState     link;
  gboolean         enrolled;
  gboolean         busy;
  gint64           pending;
  guint            expected_bundles;
  char            *last_sync;
  char            *last_error;
  guint            failures;
  guint            retry_source;
};

G_DEFINE_FINAL_TYPE (RflSyncAgent, rfl_sync_agent, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STORE,
  PROP_LINK,
  PROP_BUSY,
  PROP_ENROLLED,
  PROP_PENDING,
  PROP_LAST_ERROR,
  PROP_STATUS,
  N_PROPS
};

enum {
  FINISHED,
  CHANGED,
  REVOKED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void start_job (RflSyncAgent *self, RflSyncJobKind kind, gboolean automatic,
                       const char *path, const char *id, gboolean take, GTask *caller);

/* On the main context. */

static void
set_error (RflSyncAgent *self,
           const char   *message)
{
  if (g_strcmp0 (self->last_error, message) == 0)
    return;
  g_free (self->last_error);
  self->last_error = g_strdup (message);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_ERROR]);
}

static void
set_link (RflSyncAgent *self,
          RflLinkState  link)
{
  if (self->link == link)
    return;
  self->link = link;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LINK]);
}

static void
set_busy (RflSyncAgent *self,
          gboolean      busy)
{
  if (self->busy == busy)
    return;
  self->busy = busy;
  if (!busy)
    g_clear_pointer (&self->running, g_rc_box_release);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
set_enrolled (RflSyncAgent *self,
              gboolean      enrolled)
{
  if (self->enrolled == enrolled)
    return;
  self->enrolled = enrolled;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ENROLLED]);
}

static void
set_pending (RflSyncAgent *self,
             gint64        pending)
{
  if (self->pending == pending)
    return;
  self->pending = pending;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PENDING]);
}

/* @status is what rfl_sync_device_status() read, or %NULL for no store.
 * Views redraw on its notification, so it is notified last. */
static void
take_status (RflSyncAgent *self,
             JsonObject   *status)
{
  JsonObject *empty = json_object_new ();
  JsonObject *read = status != NULL ? status : empty;
  JsonArray *conflicts = status != NULL ? json_object_get_array_member (status, "conflicts")
                                        : NULL;
  const char *enrollment = json_object_get_string_member_with_default (read, "enrollment", NULL);

  set_enrolled (self, g_strcmp0 (enrollment, "enrolled") == 0);
  set_pending (self, json_object_get_int_member_with_default (read, "pending_changes", 0));
  g_free (self->last_sync);
  self->last_sync = g_strdup (json_object_get_string_member_with_default (read, "last_sync", NULL));
  g_clear_pointer (&self->conflicts, g_ptr_array_unref);
  if (status != NULL)
    {
      self->conflicts = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
      for (guint i = 0; conflicts != NULL && i < json_array_get_length (conflicts); i++)
        g_ptr_array_add (self->conflicts,
                         json_object_ref (json_array_get_object_element (conflicts, i)));
    }
  json_object_unref (empty);
  g_clear_pointer (&self->status, json_object_unref);
  self->status = status;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATUS]);
}

static gboolean
retry_cb (gpointer user_data)
{
  RflSyncAgent *self = user_data;

  self->retry_source = 0;
  if (self->store != NULL && self->enrolled && !self->busy)
    start_job (self, RFL_SYNC_JOB_PING, TRUE, NULL, NULL, FALSE, NULL);
  return G_SOURCE_REMOVE;
}

/* The next automatic try: later after each failure, up to half an hour,
 * with ±50% jitter. */
static void
schedule_retry (RflSyncAgent *self,
                guint         seconds)
{
  guint delay;

  g_clear_handle_id (&self->retry_source, g_source_remove);
  if (self->store == NULL || !self->enrolled ||
      !g_settings_get_boolean (self->settings, "sync-automatically"))
    return;
  delay = (guint) g_random_int_range ((gint32) MAX (1, seconds / 2),
                                      (gint32) (seconds + seconds / 2 + 1));
  self->retry_source = g_timeout_add_seconds (delay, retry_cb, self);
}

static guint
backoff_s (guint failures)
{
  guint s = RETRY_MIN_S;

  for (guint i = 1; i < failures && s < RETRY_MAX_S; i++)
    s *= 2;
  return MIN (s, RETRY_MAX_S);
}

static RflLinkState
link_after_failure (RflSyncAgent *self)
{
  if (g_network_monitor_get_network_available (self->monitor))
    return RFL_LINK_UNREACHABLE;
  return RFL_LINK_OFFLINE;
}

static void
job_failed (RflSyncAgent *self,
            RflSyncJob   *job)
{
  /* A ping that fails says so through the link alone. */
  if (job->kind != RFL_SYNC_JOB_PING)
    set_error (self, job->error->message);
  if (job->kind != RFL_SYNC_JOB_PING && job->kind != RFL_SYNC_JOB_SYNC)
    return;
  self->failures++;
  if (job->kind == RFL_SYNC_JOB_PING ||
      g_error_matches (job->error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_NETWORK))
    set_link (self, link_after_failure (self));
  schedule_retry (self, backoff_s (self->failures));
}

/* What follows a job on its own: a ping once the status says the device
 * is enrolled, a sync once HQ answers, the next try after a sync, and the
 * first sync after enrolling. */
static void
follow_up (RflSyncAgent *self,
           RflSyncJob   *job)
{
  switch (job->kind)
    {
    case RFL_SYNC_JOB_STATUS:
      if (self->enrolled && self->link == RFL_LINK_UNKNOWN)
        start_job (self, RFL_SYNC_JOB_PING, TRUE, NULL, NULL, FALSE, NULL);
      break;
    case RFL_SYNC_JOB_PING:
      /* A large backlog on a metered link waits for a person to say so. */
      if (job->automatic && rfl_sync_agent_get_metered_backlog (self))
        schedule_retry (self, RESYNC_S);
      else if (!job->automatic || g_settings_get_boolean (self->settings, "sync-automatically"))
        start_job (self, RFL_SYNC_JOB_SYNC, job->automatic, NULL, NULL, FALSE, NULL);
      break;
    case RFL_SYNC_JOB_SYNC:
      schedule_retry (self, job->report.behind ? BEHIND_S : RESYNC_S);
      break;
    case RFL_SYNC_JOB_ENROLL:
      start_job (self, RFL_SYNC_JOB_SYNC, FALSE, NULL, NULL, FALSE, NULL);
      break;
    default:
      break;
    }
}

static RflSyncOutcome *
job_succeeded (RflSyncAgent *self,
               RflSyncJob   *job)
{
  g_autoptr(RflSyncOutcome) outcome = rfl_sync_job_outcome (job);
  gboolean refused = job->rejections != NULL && job->rejections->len > 0;

  /* Of the bundles an import refused, the first reason is shown. */
  if (job->kind != RFL_SYNC_JOB_STATUS && job->kind != RFL_SYNC_JOB_PING)
    set_error (self, refused ? g_ptr_array_index (job->rejections, 0) : NULL);
  if (job->kind == RFL_SYNC_JOB_SYNC)
    self->failures = 0;
  if (job->kind == RFL_SYNC_JOB_SYNC || job->kind == RFL_SYNC_JOB_PING)
    set_link (self, RFL_LINK_ONLINE);
  if (rfl_sync_job_changes_records (job))
    g_signal_emit (self, signals[CHANGED], 0);
  g_signal_emit (self, signals[FINISHED], 0, outcome);
  follow_up (self, job);
  return g_steal_pointer (&outcome);
}

static void
job_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  RflSyncAgent *self = RFL_SYNC_AGENT (source);
  RflSyncJob *job = g_task_get_task_data (G_TASK (result));
  g_autoptr(GTask) caller = g_steal_pointer (&job->caller);

  g_task_propagate_boolean (G_TASK (result), NULL);
  /* A job for a store the agent has let go of: its result is dropped. */
  if (g_error_matches (job->error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->store != job->store)
    {
      if (caller != NULL)
        g_task_return_new_error (caller, G_IO_ERROR, G_IO_ERROR_CANCELLED, "The store was closed");
      return;
    }
  set_busy (self, FALSE);

  if (g_error_matches (job->error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REVOKED))
    {
      set_error (self, job->error->message);
      g_signal_emit (self, signals[REVOKED], 0);
    }
  else
    {
      if (job->status != NULL)
        take_status (self, g_steal_pointer (&job->status));
      if (job->error != NULL)
        job_failed (self, job);
      else if (caller != NULL)
        g_task_return_pointer (caller, job_succeeded (self, job),
                               (GDestroyNotify) rfl_sync_outcome_free);
      else
        rfl_sync_outcome_free (job_succeeded (self, job));
    }
  if (job->error != NULL && caller != NULL)
    g_task_return_error (caller, g_steal_pointer (&job->error));
}

static void
start_job (RflSyncAgent   *self,
           RflSyncJobKind  kind,
           gboolean        automatic,
           const char     *path,
           const char     *id,
           gboolean        take,
           GTask          *caller)
{
  g_autoptr(GTask) task = NULL;
  RflSyncJob *job;

  if (self->store == NULL || self->busy)
    {
      if (caller != NULL && self->store == NULL)
        g_task_return_new_error (caller, G_IO_ERROR, G_IO_ERROR_NOT_INITIALIZED,
                                 "No store is open");
      else if (caller != NULL)
        g_task_return_new_error (caller, G_IO_ERROR, G_IO_ERROR_BUSY, "A sync job is running");
      return;
    }
  job = rfl_sync_job_new (kind, automatic, self->store);
  job->path = g_strdup (path);
  job->id = g_strdup (id);
  job->take = take;
  job->caller = caller != NULL ? g_object_ref (caller) : NULL;
  if (job->progress != NULL)
    {
      self->running = g_rc_box_acquire (job->progress);
      self->expected_bundles = (guint) ((self->pending + RFL_SYNC_BUNDLE_OPS - 1) /
                                        RFL_SYNC_BUNDLE_OPS);
    }
  g_clear_handle_id (&self->retry_source, g_source_remove);
  set_busy (self, TRUE);

  task = g_task_new (self, self->cancellable, job_done_cb, NULL);
  g_task_set_source_tag (task, start_job);
  g_task_set_task_data (task, job, (GDestroyNotify) rfl_sync_job_free);
  /* Cancelling drops the result, but the job runs to its end: a sync or
   * merge is never cut half-way by the UI. */
  g_task_set_return_on_cancel (task, FALSE);
  g_task_run_in_thread (task, rfl_sync_job_thread);
}

static void
network_changed_cb (RflSyncAgent *self,
                    gboolean      available)
{
  if (self->store == NULL || !self->enrolled)
    return;
  if (!available && self->link != RFL_LINK_ONLINE)
    set_link (self, RFL_LINK_OFFLINE);
  /* A change of network is worth a try soon, whatever it says. */
  self->failures = 0;
  schedule_retry (self, 4);
}

static void
store_changed_cb (RflSyncAgent *self)
{
  /* A job in progress reads the status when it ends. */
  if (!self->busy)
    rfl_sync_agent_refresh (self);
}

/* Each operation runs as one job; its task returns when the job's result
 * is kept, after the agent's properties say what it did. A job runs to its
 * end even when @cancellable is cancelled. */
static GTask *
caller_new (RflSyncAgent        *self,
            gpointer             source_tag,
            GCancellable        *cancellable,
            GAsyncReadyCallback  callback,
            gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  return task;
}

static RflSyncOutcome *
caller_finish (RflSyncAgent  *self,
               GAsyncResult  *result,
               gpointer       source_tag,
               GError       **error)
{
  g_return_val_if_fail (RFL_IS_SYNC_AGENT (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* A job on a local path: a GFile the sandbox gives no path for is refused
 * with @message, which a person sees. */
static void
start_file_job (RflSyncAgent   *self,
                RflSyncJobKind  kind,
                GFile          *file,
                const char     *message,
                GTask          *caller)
{
  g_autofree char *path = g_file_get_path (file);

  if (path == NULL)
    {
      set_error (self, message);
      g_task_return_new_error (caller, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "%s", message);
      return;
    }
  start_job (self, kind, FALSE, path, NULL, FALSE, caller);
}

static void
rfl_sync_agent_dispose (GObject *object)
{
  RflSyncAgent *self = RFL_SYNC_AGENT (object);

  rfl_sync_agent_set_store (self, NULL);
  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  g_clear_object (&self->monitor);
  g_clear_object (&self->settings);
  g_clear_object (&self->store_signals);
  g_clear_object (&self->cancellable);
  G_OBJECT_CLASS (rfl_sync_agent_parent_class)->dispose (object);
}

static void
rfl_sync_agent_finalize (GObject *object)
{
  RflSyncAgent *self = RFL_SYNC_AGENT (object);

  g_clear_pointer (&self->conflicts, g_ptr_array_unref);
  g_clear_pointer (&self->status, json_object_unref);
  g_free (self->last_sync);
  g_free (self->last_error);
  G_OBJECT_CLASS (rfl_sync_agent_parent_class)->finalize (object);
}

static void
rfl_sync_agent_get_property (GObject    *object,
                             guint       prop_id,
                             GValue     *value,
                             GParamSpec *pspec)
{
  RflSyncAgent *self = RFL_SYNC_AGENT (object);

  switch (prop_id)
    {
    case PROP_STORE:
      g_value_set_object (value, self->store);
      break;
    case PROP_LINK:
      g_value_set_enum (value, self->link);
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, self->busy);
      break;
    case PROP_ENROLLED:
      g_value_set_boolean (value, self->enrolled);
      break;
    case PROP_PENDING:
      g_value_set_int64 (value, self->pending);
      break;
    case PROP_LAST_ERROR:
      g_value_set_string (value, self->last_error);
      break;
    case PROP_STATUS:
      g_value_set_boxed (value, self->status);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_sync_agent_set_property (GObject      *object,
                             guint         prop_id,
                             const GValue *value,
                             GParamSpec   *pspec)
{
  RflSyncAgent *self = RFL_SYNC_AGENT (object);

  switch (prop_id)
    {
    case PROP_STORE:
      rfl_sync_agent_set_store (self, g_value_get_object (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_sync_agent_class_init (RflSyncAgentClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rfl_sync_agent_dispose;
  object_class->finalize = rfl_sync_agent_finalize;
  object_class->get_property = rfl_sync_agent_get_property;
  object_class->set_property = rfl_sync_agent_set_property;

  /**
   * RflSyncAgent:store:
   *
   * The open store the agent syncs, %NULL while the app is locked.
   */
  properties[PROP_STORE] =
    g_param_spec_object ("store", NULL, NULL, RFL_TYPE_STORE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LINK] =
    g_param_spec_enum ("link", NULL, NULL, RFL_TYPE_LINK_STATE, RFL_LINK_UNKNOWN,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ENROLLED] =
    g_param_spec_boolean ("enrolled", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * RflSyncAgent:pending:
   *
   * This device's changes HQ has not receipted.
   */
  properties[PROP_PENDING] =
    g_param_spec_int64 ("pending", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * RflSyncAgent:last-error:
   *
   * What went wrong in the last job a person should hear of, in words
   * that say what to do; %NULL once a job succeeds.
   */
  properties[PROP_LAST_ERROR] =
    g_param_spec_string ("last-error", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * RflSyncAgent:status:
   *
   * The store's sync status as rfl_sync_device_status() reads it, after
   * every job; notified each time it is read, changed or not.
   */
  properties[PROP_STATUS] =
    g_param_spec_boxed ("status", NULL, NULL, JSON_TYPE_OBJECT,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * RflSyncAgent::finished:
   * @outcome: what the job did
   *
   * A job succeeded, whoever started it.
   */
  signals[FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                    NULL, NULL, NULL, G_TYPE_NONE,
                                    1, RFL_TYPE_SYNC_OUTCOME | G_SIGNAL_TYPE_STATIC_SCOPE);
  /**
   * RflSyncAgent::changed:
   *
   * Records changed: what came from HQ was merged, or a conflict settled.
   */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 0);
  /**
   * RflSyncAgent::revoked:
   *
   * HQ revoked this device, which has destroyed its keys: the app locks.
   */
  signals[REVOKED] = g_signal_new ("revoked", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
rfl_sync_agent_init (RflSyncAgent *self)
{
  self->cancellable = g_cancellable_new ();
  self->settings = g_settings_new (APPLICATION_ID);
  self->monitor = g_object_ref (g_network_monitor_get_default ());
  g_signal_connect_object (self->monitor, "network-changed", G_CALLBACK (network_changed_cb), self,
                           G_CONNECT_SWAPPED);
  /* Changes waiting, conflicts: read again whenever the store changes. */
  self->store_signals = g_signal_group_new (RFL_TYPE_STORE);
  g_signal_group_connect_swapped (self->store_signals, "changed", G_CALLBACK (store_changed_cb),
                                  self);
}

RflSyncAgent *
rfl_sync_agent_new (void)
{
  return g_object_new (RFL_TYPE_SYNC_AGENT, NULL);
}

/**
 * rfl_sync_agent_set_store:
 * @store: (nullable): the open store, or %NULL when the app locks
 *
 * With a store, reads its sync status and, if it is enrolled and syncing
 * on its own is on, checks whether HQ answers and syncs.
 */
void
rfl_sync_agent_set_store (RflSyncAgent *self,
                          RflStore     *store)
{
  g_return_if_fail (RFL_IS_SYNC_AGENT (self));
  g_return_if_fail (store == NULL || RFL_IS_STORE (store));

  /* A job in flight runs to its end in its thread; its result is dropped. */
  if (!rfl_store_follow_swap (&self->store, store, self->store_signals, &self->cancellable))
    return;
  g_clear_handle_id (&self->retry_source, g_source_remove);
  set_busy (self, FALSE);
  self->failures = 0;
  set_error (self, NULL);
  set_link (self, RFL_LINK_UNKNOWN);
  take_status (self, NULL);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STORE]);
  if (store != NULL)
    start_job (self, RFL_SYNC_JOB_STATUS, TRUE, NULL, NULL, FALSE, NULL);
}

/**
 * rfl_sync_agent_get_store:
 *
 * Returns: (transfer none) (nullable): the store the agent syncs
 */
RflStore *
rfl_sync_agent_get_store (RflSyncAgent *self)
{
  g_return_val_if_fail (RFL_IS_SYNC_AGENT (self), NULL);

  return self->store;
}

RflLinkState
rfl_sync_agent_get_link (RflSyncAgent *self)
{
  g_return_val_if_fail (RFL_IS_SYNC_AGENT (self), RFL_LINK_UNKNOWN);

  return self->link;
}

gboolean
rfl_sync_agent_get_busy (RflSyncAgent *self)
{
  g_return_val_if_fail (RFL_IS_SYNC_AGENT (self), FALSE);

  return self->busy;
}

gboolean
rfl_sync_agent_get_enrolled (RflSyncAgent *self)
{
  g_return_val_if_fail (RFL_IS_SYNC_AGENT (self), FALSE);

  return self->enrolled;
}

gint64
rfl_sync_agent_get_pending (RflSyncAgent *self)
{
  g_return_val_if_fail (RFL_IS_SYNC_AGENT (self), 0);

  return self->pending;
}

const char *
rfl_sync_agent_get_last_error (RflSyncAgent *self)
{
  g_return_val_if_fail (RFL_IS_SYNC_AGENT (self), NULL);

  return self->last_error;
}

/**
 * rfl_sync_agent_get_status:
 *
 * Returns: (transfer none) (nullable): the sync status, as last read
 */
JsonObject *
rfl_sync_agent_get_status (RflSyncAgent *self)
{
  g_return_val_if_fail (RFL_IS_SYNC_AGENT (self), NULL);

  return self->status;
}

/**
 * rfl_sync_agent_get_last_sync:
 *
 * Returns: (nullable): when the last sync ended, ISO 8601
 */
const char *
rfl_sync_agent_get_last_sync (RflSyncAgent *self)
{
  g_return_val_if_fail (RFL_IS_SYNC_AGENT (self), NULL);

  return self->last_sync;
}

/**
 * rfl_sync_agent_get_conflicts:
 *
 * Returns: (transfer none) (nullable) (element-type JsonObject): the open
 *   conflicts, as last read
 */
GPtrArray *
rfl_sync_agent_get_conflicts (RflSyncAgent *self)
{
  g_return_val_if_fail (RFL_IS_SYNC_AGENT (self), NULL);

  return self->conflicts;
}

/**
 * rfl_sync_agent_get_metered_backlog:
 *
 * Returns: whether the link is metered and more than one bundle of changes
 *   waits: syncing on its own then waits for Sync Now
 */
gboolean
rfl_sync_agent_get_metered_backlog (RflSyncAgent *self)
{
  g_return_val_if_fail (RFL_IS_SYNC_AGENT (self), FALSE);

  return g_network_monitor_get_network_metered (self->monitor) &&
         self->pending > RFL_SYNC_BUNDLE_OPS;
}

/**
 * rfl_sync_agent_get_progress:
 * @sent: (out) (optional): bundles sent so far
 * @received: (out) (optional): bundles applied so far
 * @expected: (out) (optional): bundles to send, from what waited when the
 *   sync started
 *
 * Reads how far the sync in progress is, from counters its worker updates
 * after each bundle.
 *
 * Returns: %FALSE when no sync is running
 */
gboolean
rfl_sync_agent_get_progress (RflSyncAgent *self,
                             guint        *sent,
                             guint        *received,
                             guint        *expected)
{
  g_return_val_if_fail (RFL_IS_SYNC_AGENT (self), FALSE);

  if (self->running == NULL)
    return FALSE;
  if (sent != NULL)
    *sent = (guint) g_atomic_int_get (&self->running->sent);
  if (received != NULL)
    *received = (guint) g_atomic_int_get (&self->running->received);
  if (expected != NULL)
    *expected = self->expected_bundles;
  return TRUE;
}

/**
 * rfl_sync_agent_refresh:
 *
 * Reads the sync status again, unless a job is running (it reads the
 * status when it ends).
 */
void
rfl_sync_agent_refresh (RflSyncAgent *self)
{
  g_return_if_fail (RFL_IS_SYNC_AGENT (self));

  start_job (self, RFL_SYNC_JOB_STATUS, FALSE, NULL, NULL, FALSE, NULL);
}

/**
 * rfl_sync_agent_sync_async:
 *
 * Syncs with HQ now, metered link or not.
 */
void
rfl_sync_agent_sync_async (RflSyncAgent        *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) caller = NULL;

  g_return_if_fail (RFL_IS_SYNC_AGENT (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  caller = caller_new (self, rfl_sync_agent_sync_async, cancellable, callback, user_data);
  set_error (self, NULL);
  start_job (self, RFL_SYNC_JOB_SYNC, FALSE, NULL, NULL, FALSE, caller);
}

/**
 * rfl_sync_agent_sync_finish:
 *
 * Returns: (transfer full) (nullable): what the sync did, or %NULL with
 *   @error set (%G_IO_ERROR_BUSY while another job runs)
 */
RflSyncOutcome *
rfl_sync_agent_sync_finish (RflSyncAgent  *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  return caller_finish (self, result, rfl_sync_agent_sync_async, error);
}

/**
 * rfl_sync_agent_enroll_async:
 * @token: the token file HQ's operator gave the office
 *
 * Enrolls with HQ; once enrolled, the agent syncs on its own.
 */
void
rfl_sync_agent_enroll_async (RflSyncAgent        *self,
                             GFile               *token,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) caller = NULL;

  g_return_if_fail (RFL_IS_SYNC_AGENT (self));
  g_return_if_fail (G_IS_FILE (token));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  caller = caller_new (self, rfl_sync_agent_enroll_async, cancellable, callback, user_data);
  start_file_job (self, RFL_SYNC_JOB_ENROLL, token,
                  _("This file cannot be read from here; copy it to this laptop first."), caller);
}

/**
 * rfl_sync_agent_enroll_finish:
 *
 * Returns: (transfer full) (nullable): the enrollment, with its office
 */
RflSyncOutcome *
rfl_sync_agent_enroll_finish (RflSyncAgent  *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  return caller_finish (self, result, rfl_sync_agent_enroll_async, error);
}

/**
 * rfl_sync_agent_write_usb_async:
 * @folder: a folder on the USB stick
 *
 * Writes what waits for HQ into @folder as signed, encrypted bundles.
 */
void
rfl_sync_agent_write_usb_async (RflSyncAgent        *self,
                                GFile               *folder,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) caller = NULL;

  g_return_if_fail (RFL_IS_SYNC_AGENT (self));
  g_return_if_fail (G_IS_FILE (folder));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  caller = caller_new (self, rfl_sync_agent_write_usb_async, cancellable, callback, user_data);
  start_file_job (self, RFL_SYNC_JOB_USB_OUT, folder,
                  _("This folder cannot be written from here; choose one on the USB stick."),
                  caller);
}

/**
 * rfl_sync_agent_write_usb_finish:
 *
 * Returns: (transfer full) (nullable): the export, with the bundles written
 */
RflSyncOutcome *
rfl_sync_agent_write_usb_finish (RflSyncAgent  *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  return caller_finish (self, result, rfl_sync_agent_write_usb_async, error);
}

/**
 * rfl_sync_agent_read_usb_async:
 * @folder: the folder HQ wrote bundles into
 *
 * Applies the bundles in @folder; the first reason a bundle was refused
 * becomes #RflSyncAgent:last-error.
 */
void
rfl_sync_agent_read_usb_async (RflSyncAgent        *self,
                               GFile               *folder,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  g_autoptr(GTask) caller = NULL;

  g_return_if_fail (RFL_IS_SYNC_AGENT (self));
  g_return_if_fail (G_IS_FILE (folder));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  caller = caller_new (self, rfl_sync_agent_read_usb_async, cancellable, callback, user_data);
  start_file_job (self, RFL_SYNC_JOB_USB_IN, folder,
                  _("This folder cannot be read from here; choose one on the USB stick."), caller);
}

/**
 * rfl_sync_agent_read_usb_finish:
 *
 * Returns: (transfer full) (nullable): the import: applied, duplicate,
 *   held and refused bundles
 */
RflSyncOutcome *
rfl_sync_agent_read_usb_finish (RflSyncAgent  *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  return caller_finish (self, result, rfl_sync_agent_read_usb_async, error);
}

/**
 * rfl_sync_agent_resolve_async:
 * @conflict_id: one of rfl_sync_agent_get_conflicts()
 * @take: %TRUE to take the other change, %FALSE to keep the case as it is
 */
void
rfl_sync_agent_resolve_async (RflSyncAgent        *self,
                              const char          *conflict_id,
                              gboolean             take,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) caller = NULL;

  g_return_if_fail (RFL_IS_SYNC_AGENT (self));
  g_return_if_fail (conflict_id != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  caller = caller_new (self, rfl_sync_agent_resolve_async, cancellable, callback, user_data);
  start_job (self, RFL_SYNC_JOB_RESOLVE, FALSE, NULL, conflict_id, take, caller);
}

RflSyncOutcome *
rfl_sync_agent_resolve_finish (RflSyncAgent  *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  return caller_finish (self, result, rfl_sync_agent_resolve_async, error);
}
