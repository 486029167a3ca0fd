/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-sync"

#include <glib/gi18n.h>

#include "rfl-case-item.h"
#include "rfl-file.h"
#include "rfl-record-form.h"
#include "rfl-sync-client.h"
#include "rfl-sync-page.h"
#include "rfl-sync.h"

/*
 * Sync with headquarters: whether HQ can be reached, what waits to be sent,
 * "Sync Now", enrollment from a token file, USB bundles through a file
 * chooser (a portal in the Flatpak sandbox), and the conflicts a person has
 * to decide.
 *
 * Every store and network call runs in a worker thread, one job at a time.
 * The network monitor only says when to try: a signed ping decides whether
 * HQ is there, since a default route proves nothing and an office LAN may
 * reach HQ with none. When a try fails, the next waits longer, with jitter,
 * so that offices do not all call at once when a link comes back.
 */

#define MAX_TOKEN_BYTES      (64 * 1024)
#define MAX_CONFLICTS_SHOWN  100
#define RETRY_MIN_S          30
#define RETRY_MAX_S          (30 * 60)
#define RESYNC_S             (15 * 60)
#define PING_DEADLINE_S      15

typedef enum
{
  OP_STATUS,
  OP_PING,
  OP_SYNC,
  OP_ENROLL,
  OP_USB_OUT,
  OP_USB_IN,
  OP_RESOLVE,
} Op;

typedef struct
{
  gint sent;      /* atomic */
  gint received;  /* atomic */
} Progress;

typedef struct
{
  Op             op;
  gboolean       automatic;
  RflStore      *store;
  char          *path;
  char          *id;
  gboolean       take;
  Progress      *progress;
  RflSyncReport  report;
  GPtrArray     *rejections;
  guint          written;
  char          *office;
  JsonObject    *status;
  GError        *error;    /* the operation's, while status is still read */
} Job;

struct _RflSyncPage
{
  AdwBin               parent_instance;

  GtkButton           *sync_button;
  AdwActionRow        *connection_row;
  GtkImage            *connection_icon;
  AdwActionRow        *office_row;
  AdwActionRow        *last_sync_row;
  AdwActionRow        *pending_row;
  GtkProgressBar      *progress;
  GtkLabel            *error_label;
  AdwPreferencesGroup *enroll_group;
  AdwPreferencesGroup *usb_group;
  AdwPreferencesGroup *conflicts_group;
  GtkWidget           *no_conflicts_row;

  RflStore            *store;
  GSettings           *settings;
  GNetworkMonitor     *monitor;
  GCancellable        *cancellable;
  GPtrArray           *conflict_rows;
  GPtrArray           *conflicts;      /* JsonObject * */
  Progress            *running;        /* the sync in progress, if any */
  GtkNativeDialog     *chooser;

  RflLinkState         link;
  gboolean             enrolled;
  gboolean             busy;
  gint64               pending;
  gint64               expected_bundles;
  char                *last_sync;
  char                *error;
  guint                failures;
  guint                retry_source;
  guint                pulse_source;
};

G_DEFINE_FINAL_TYPE (RflSyncPage, rfl_sync_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_LINK,
  PROP_BUSY,
  PROP_ENROLLED,
  PROP_PENDING,
  N_PROPS
};

enum {
  TOAST,
  CHANGED,
  REVOKED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void start_job (RflSyncPage *self, Op op, gboolean automatic, const char *path, const char *id,
                       gboolean take);

static void
job_free (Job *job)
{
  g_clear_object (&job->store);
  g_free (job->path);
  g_free (job->id);
  g_clear_pointer (&job->progress, g_rc_box_release);
  g_clear_pointer (&job->rejections, g_ptr_array_unref);
  g_free (job->office);
  g_clear_pointer (&job->status, json_object_unref);
  g_clear_error (&job->error);
  g_free (job);
}

/* In the worker thread. */

static void
progress_cb (const RflSyncReport *report,
             gpointer             user_data)
{
  Progress *progress = user_data;

  g_atomic_int_set (&progress->sent, (gint) report->sent);
  g_atomic_int_set (&progress->received, (gint) report->received);
}

static gboolean
enroll_from_file (Job           *job,
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

static void
job_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  Job *job = task_data;
  RflSyncOptions options = { 0 };

  switch (job->op)
    {
    case OP_STATUS:
      break;
    case OP_PING:
      options.deadline_s = PING_DEADLINE_S;
      rfl_sync_client_ping (job->store, &options, cancellable, &job->error);
      break;
    case OP_SYNC:
      options.progress = progress_cb;
      options.progress_data = job->progress;
      rfl_sync_client_run (job->store, &options, &job->report, cancellable, &job->error);
      break;
    case OP_ENROLL:
      enroll_from_file (job, cancellable, &job->error);
      break;
    case OP_USB_OUT:
      rfl_sync_device_write_usb (job->store, job->path, &job->written, &job->error);
      break;
    case OP_USB_IN:
      rfl_sync_device_read_usb (job->store, job->path, &job->report, &job->rejections, &job->error);
      break;
    case OP_RESOLVE:
      rfl_store_resolve_conflict (job->store, job->id, job->take, &job->error);
      break;
    default:
      g_assert_not_reached ();
    }

  /* Whatever happened, the page shows the store as it is now. A revoked
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

/* On the UI thread. */

static void
set_error (RflSyncPage *self,
           const char  *message)
{
  g_free (self->error);
  self->error = g_strdup (message);
  gtk_label_set_text (self->error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

static void
toast (RflSyncPage *self,
       const char  *message)
{
  g_signal_emit (self, signals[TOAST], 0, message);
}

static void
update_actions (RflSyncPage *self)
{
  gboolean can = self->store != NULL && !self->busy;

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sync.now", can && self->enrolled);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sync.usb-out", can && self->enrolled);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sync.usb-in", can && self->enrolled);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sync.enroll", can && !self->enrolled);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sync.resolve", can);
}

static void
show_link (RflSyncPage *self)
{
  const char *icon, *text;

  switch (self->link)
    {
    case RFL_LINK_ONLINE:
      icon = "network-transmit-receive-symbolic";
      text = _("Online: headquarters answered");
      break;
    case RFL_LINK_UNREACHABLE:
      icon = "network-error-symbolic";
      text = _("Headquarters did not answer; changes wait here");
      break;
    case RFL_LINK_OFFLINE:
      icon = "network-offline-symbolic";
      text = _("Offline: changes wait here until there is a link");
      break;
    case RFL_LINK_UNKNOWN:
    default:
      icon = "network-idle-symbolic";
      text = self->enrolled ? _("Not checked yet") : _("Not enrolled");
      break;
    }
  if (self->link != RFL_LINK_ONLINE && self->enrolled && g_network_monitor_get_network_metered (self->monitor) &&
      self->pending > RFL_SYNC_BUNDLE_OPS)
    text = _("Metered connection: large changes wait for Sync Now");
  gtk_image_set_from_icon_name (self->connection_icon, icon);
  adw_action_row_set_subtitle (self->connection_row, text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->connection_icon), GTK_ACCESSIBLE_PROPERTY_LABEL, text, -1);
}

static void
set_link (RflSyncPage  *self,
          RflLinkState  link)
{
  if (self->link != link)
    {
      self->link = link;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LINK]);
    }
  show_link (self);
}

static void
clear_conflict_rows (RflSyncPage *self)
{
  for (guint i = 0; i < self->conflict_rows->len; i++)
    adw_preferences_group_remove (self->conflicts_group, g_ptr_array_index (self->conflict_rows, i));
  g_ptr_array_set_size (self->conflict_rows, 0);
}

static char *
value_text (JsonObject *side)
{
  JsonNode *value = side != NULL ? json_object_get_member (side, "value") : NULL;

  if (value == NULL || JSON_NODE_HOLDS_NULL (value))
    return g_strdup (_("(empty)"));
  if (JSON_NODE_HOLDS_VALUE (value) && json_node_get_value_type (value) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (value));
  return json_to_string (value, TRUE);
}

static const char *
side_origin (RflSyncPage *self,
             JsonObject  *side)
{
  JsonArray *clock = side != NULL && json_object_has_member (side, "clock")
                     ? json_object_get_array_member (side, "clock") : NULL;
  const char *device = clock != NULL && json_array_get_length (clock) > 1
                       ? json_array_get_string_element (clock, 1) : NULL;

  if (self->store != NULL && g_strcmp0 (device, rfl_store_get_device_id (self->store)) == 0)
    return _("from this laptop");
  return _("from another device");
}

static GtkWidget *
conflict_side (RflSyncPage *self,
               JsonObject  *conflict,
               const char  *heading,
               JsonObject  *side,
               const char  *button_label,
               gboolean     take)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 0);
  GtkWidget *inner = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  g_autoptr(GString) plain = g_string_new (button_label);
  g_autofree char *title = g_strdup_printf ("%s, %s", heading, side_origin (self, side));
  g_autofree char *text = value_text (side);
  GtkWidget *label = gtk_label_new (title);
  GtkWidget *value = gtk_label_new (text);
  GtkWidget *button = gtk_button_new_with_mnemonic (button_label);

  gtk_widget_add_css_class (box, "card");
  gtk_widget_set_hexpand (box, TRUE);
  gtk_widget_add_css_class (label, "heading");
  gtk_label_set_xalign (GTK_LABEL (label), 0);
  gtk_label_set_wrap (GTK_LABEL (label), TRUE);
  gtk_label_set_xalign (GTK_LABEL (value), 0);
  gtk_label_set_wrap (GTK_LABEL (value), TRUE);
  gtk_label_set_selectable (GTK_LABEL (value), TRUE);
  gtk_widget_set_vexpand (value, TRUE);
  gtk_widget_set_valign (value, GTK_ALIGN_START);
  gtk_widget_set_vexpand (inner, TRUE);
  gtk_widget_set_margin_start (inner, 12);
  gtk_widget_set_margin_end (inner, 12);
  gtk_widget_set_margin_top (inner, 12);
  gtk_widget_set_margin_bottom (inner, 12);
  gtk_widget_set_halign (button, GTK_ALIGN_START);
  /* The button's name says which value it keeps: "Keep This: In the case now". */
  g_string_replace (plain, "_", "", 0);
  g_string_append_printf (plain, ": %s", heading);
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL, plain->str, -1);
  gtk_actionable_set_action_name (GTK_ACTIONABLE (button), "sync.resolve");
  gtk_actionable_set_action_target (GTK_ACTIONABLE (button), "(sb)",
                                    json_object_get_string_member (conflict, "id"), take);
  gtk_box_append (GTK_BOX (inner), label);
  gtk_box_append (GTK_BOX (inner), value);
  gtk_box_append (GTK_BOX (inner), button);
  gtk_box_append (GTK_BOX (box), inner);
  return box;
}

static void
show_conflicts (RflSyncPage *self)
{
  guint n = self->conflicts != NULL ? self->conflicts->len : 0;

  clear_conflict_rows (self);
  gtk_widget_set_visible (self->no_conflicts_row, n == 0);
  for (guint i = 0; i < MIN (n, MAX_CONFLICTS_SHOWN); i++)
    {
      JsonObject *conflict = g_ptr_array_index (self->conflicts, i);
      const char *record_id = json_object_get_string_member_with_default (conflict, "record_id", "");
      g_autofree char *field = rfl_field_label (json_object_get_string_member_with_default (conflict, "field", ""));
      g_autofree char *short_id = g_strndup (record_id, 8);
      g_autofree char *subtitle = g_strdup_printf (_("Case %s"), short_id);
      GtkWidget *row = adw_expander_row_new ();
      GtkWidget *sides = gtk_box_new (GTK_ORIENTATION_HORIZONTAL, 12);
      GtkWidget *open = gtk_button_new_with_mnemonic (_("_Open Case"));
      JsonObject *winner = json_object_has_member (conflict, "winner")
                           ? json_object_get_object_member (conflict, "winner") : NULL;
      JsonObject *loser = json_object_has_member (conflict, "loser")
                          ? json_object_get_object_member (conflict, "loser") : NULL;

      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), field);
      adw_expander_row_set_subtitle (ADW_EXPANDER_ROW (row), subtitle);
      gtk_box_set_homogeneous (GTK_BOX (sides), TRUE);
      gtk_widget_set_margin_start (sides, 12);
      gtk_widget_set_margin_end (sides, 12);
      gtk_widget_set_margin_top (sides, 12);
      gtk_widget_set_margin_bottom (sides, 12);
      gtk_box_append (GTK_BOX (sides), conflict_side (self, conflict, _("In the case now"), winner,
                                                      _("_Keep This"), FALSE));
      gtk_box_append (GTK_BOX (sides), conflict_side (self, conflict, _("The other change"), loser,
                                                      _("_Take This"), TRUE));
      adw_expander_row_add_row (ADW_EXPANDER_ROW (row), sides);
      gtk_widget_set_valign (open, GTK_ALIGN_CENTER);
      gtk_accessible_update_property (GTK_ACCESSIBLE (open), GTK_ACCESSIBLE_PROPERTY_LABEL, _("Open Case"), -1);
      gtk_widget_add_css_class (open, "flat");
      gtk_actionable_set_action_name (GTK_ACTIONABLE (open), "win.open-case");
      gtk_actionable_set_action_target (GTK_ACTIONABLE (open), "s", record_id);
      adw_expander_row_add_action (ADW_EXPANDER_ROW (row), open);
      adw_preferences_group_add (self->conflicts_group, row);
      g_ptr_array_add (self->conflict_rows, row);
    }
}

static void
show_status (RflSyncPage *self,
             JsonObject  *status)
{
  gboolean enrolled = g_strcmp0 (json_object_get_string_member_with_default (status, "enrollment", NULL),
                                 "enrolled") == 0;
  const char *office = json_object_get_string_member_with_default (status, "office", NULL);
  const char *last = json_object_get_string_member_with_default (status, "last_sync", NULL);
  gint64 pending = json_object_get_int_member_with_default (status, "pending_changes", 0);
  JsonArray *conflicts = json_object_get_array_member (status, "conflicts");
  g_autofree char *last_text = last != NULL ? rfl_format_time (last, TRUE) : NULL;
  g_autofree char *pending_text = NULL;

  if (enrolled != self->enrolled)
    {
      self->enrolled = enrolled;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ENROLLED]);
    }
  if (pending != self->pending)
    {
      self->pending = pending;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PENDING]);
    }
  g_free (self->last_sync);
  self->last_sync = g_strdup (last);

  adw_action_row_set_subtitle (self->office_row, office != NULL ? office : _("Not enrolled"));
  adw_action_row_set_subtitle (self->last_sync_row, last_text != NULL ? last_text : _("Never"));
  /* Translators: the number of changes not yet sent to headquarters. */
  pending_text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%'ld change", "%'ld changes", (gulong) pending),
                                  (long) pending);
  adw_action_row_set_subtitle (self->pending_row, pending_text);
  gtk_widget_set_visible (GTK_WIDGET (self->enroll_group), !enrolled);
  gtk_widget_set_visible (GTK_WIDGET (self->usb_group), enrolled);
  gtk_widget_set_visible (GTK_WIDGET (self->office_row), enrolled);

  g_clear_pointer (&self->conflicts, g_ptr_array_unref);
  self->conflicts = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  for (guint i = 0; conflicts != NULL && i < json_array_get_length (conflicts); i++)
    g_ptr_array_add (self->conflicts, json_object_ref (json_array_get_object_element (conflicts, i)));
  show_conflicts (self);
  show_link (self);
  update_actions (self);
}

static gboolean
pulse_cb (gpointer user_data)
{
  RflSyncPage *self = user_data;
  gint sent, received;
  g_autofree char *text = NULL;

  if (self->running == NULL)
    return G_SOURCE_CONTINUE;
  sent = g_atomic_int_get (&self->running->sent);
  received = g_atomic_int_get (&self->running->received);
  if (received == 0 && self->expected_bundles > 0)
    {
      gtk_progress_bar_set_fraction (self->progress, MIN (1.0, (double) sent / (double) self->expected_bundles));
      /* Translators: sending bundles of changes to headquarters: done of total. */
      text = g_strdup_printf (_("Sending changes: %d of %d"), sent, (int) MAX ((gint64) sent, self->expected_bundles));
    }
  else
    {
      gtk_progress_bar_pulse (self->progress);
      text = received > 0 ? g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Receiving: %d bundle applied",
                                                          "Receiving: %d bundles applied", (gulong) received),
                                             received)
                          : g_strdup (_("Talking to headquarters…"));
    }
  gtk_progress_bar_set_text (self->progress, text);
  return G_SOURCE_CONTINUE;
}

static void
set_busy (RflSyncPage *self,
          gboolean     busy)
{
  if (self->busy == busy)
    return;
  self->busy = busy;
  if (!busy)
    {
      g_clear_handle_id (&self->pulse_source, g_source_remove);
      g_clear_pointer (&self->running, g_rc_box_release);
      gtk_widget_set_visible (GTK_WIDGET (self->progress), FALSE);
    }
  update_actions (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static gboolean
retry_cb (gpointer user_data)
{
  RflSyncPage *self = user_data;

  self->retry_source = 0;
  if (self->store != NULL && self->enrolled && !self->busy)
    start_job (self, OP_PING, TRUE, NULL, NULL, FALSE);
  return G_SOURCE_REMOVE;
}

/* The next automatic try: later after each failure, up to half an hour,
 * with ±50% jitter. */
static void
schedule_retry (RflSyncPage *self,
                guint        seconds)
{
  guint delay;

  g_clear_handle_id (&self->retry_source, g_source_remove);
  if (self->store == NULL || !self->enrolled || !g_settings_get_boolean (self->settings, "sync-automatically"))
    return;
  delay = (guint) g_random_int_range ((gint32) MAX (1, seconds / 2), (gint32) (seconds + seconds / 2 + 1));
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

static void
job_done_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  RflSyncPage *self = RFL_SYNC_PAGE (source);
  Job *job = g_task_get_task_data (G_TASK (result));
  g_autofree char *message = NULL;

  g_task_propagate_boolean (G_TASK (result), NULL);
  if (g_error_matches (job->error, G_IO_ERROR, G_IO_ERROR_CANCELLED) || self->store != job->store)
    return;
  set_busy (self, FALSE);

  if (g_error_matches (job->error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REVOKED))
    {
      set_error (self, job->error->message);
      g_signal_emit (self, signals[REVOKED], 0);
      return;
    }
  if (job->status != NULL)
    show_status (self, job->status);

  switch (job->op)
    {
    case OP_STATUS:
      if (job->error != NULL)
        set_error (self, job->error->message);
      else if (self->enrolled && self->link == RFL_LINK_UNKNOWN)
        start_job (self, OP_PING, TRUE, NULL, NULL, FALSE);
      return;

    case OP_PING:
      if (job->error != NULL)
        {
          self->failures++;
          set_link (self, g_network_monitor_get_network_available (self->monitor) ? RFL_LINK_UNREACHABLE
                                                                                  : RFL_LINK_OFFLINE);
          schedule_retry (self, backoff_s (self->failures));
          return;
        }
      set_link (self, RFL_LINK_ONLINE);
      /* A large backlog on a metered link waits for a person to say so. */
      if (job->automatic && g_network_monitor_get_network_metered (self->monitor) &&
          self->pending > RFL_SYNC_BUNDLE_OPS)
        {
          show_link (self);
          schedule_retry (self, RESYNC_S);
          return;
        }
      if (job->automatic && !g_settings_get_boolean (self->settings, "sync-automatically"))
        return;
      start_job (self, OP_SYNC, job->automatic, NULL, NULL, FALSE);
      return;

    case OP_SYNC:
      if (job->error != NULL)
        {
          self->failures++;
          set_error (self, job->error->message);
          if (g_error_matches (job->error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_NETWORK))
            set_link (self, g_network_monitor_get_network_available (self->monitor) ? RFL_LINK_UNREACHABLE
                                                                                    : RFL_LINK_OFFLINE);
          schedule_retry (self, backoff_s (self->failures));
          return;
        }
      self->failures = 0;
      set_error (self, NULL);
      set_link (self, RFL_LINK_ONLINE);
      if (job->report.received > 0 || job->report.resynced || job->report.rebased)
        g_signal_emit (self, signals[CHANGED], 0);
      /* A restored laptop, or HQ: worth saying once, plainly. */
      if (job->report.rebased)
        toast (self, _("Synced. A database here or at HQ was an older copy; it has caught up, and nothing"
                       " was lost"));
      else if (!job->automatic || job->report.received > 0 || job->report.sent > 0)
        {
          message = g_strdup_printf (_("Synced: %u sent, %u received"), job->report.sent, job->report.received);
          toast (self, message);
        }
      schedule_retry (self, RESYNC_S);
      return;

    case OP_ENROLL:
      if (job->error != NULL)
        {
          set_error (self, job->error->message);
          return;
        }
      set_error (self, NULL);
      message = g_strdup_printf (_("Enrolled for the %s office"), job->office);
      toast (self, message);
      start_job (self, OP_SYNC, FALSE, NULL, NULL, FALSE);
      return;

    case OP_USB_OUT:
      if (job->error != NULL)
        {
          set_error (self, job->error->message);
          return;
        }
      set_error (self, NULL);
      message = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u bundle written for headquarters",
                                              "%u bundles written for headquarters", job->written),
                                 job->written);
      toast (self, message);
      return;

    case OP_USB_IN:
      if (job->error != NULL)
        {
          set_error (self, job->error->message);
          return;
        }
      if (job->rejections != NULL && job->rejections->len > 0)
        {
          /* The first reason, and how many more. */
          g_autofree char *first = g_strdup (g_ptr_array_index (job->rejections, 0));

          set_error (self, first);
        }
      else
        set_error (self, NULL);
      if (job->report.received > 0)
        g_signal_emit (self, signals[CHANGED], 0);
      message = g_strdup_printf (_("%u bundles applied, %u already here, %u waiting, %u refused"),
                                 job->report.received, job->report.duplicates, job->report.held,
                                 job->rejections != NULL ? job->rejections->len : 0);
      toast (self, message);
      return;

    case OP_RESOLVE:
      if (job->error != NULL)
        {
          set_error (self, job->error->message);
          return;
        }
      set_error (self, NULL);
      g_signal_emit (self, signals[CHANGED], 0);
      toast (self, _("Conflict settled; the decision syncs like any change"));
      return;

    default:
      g_assert_not_reached ();
    }
}

static void
start_job (RflSyncPage *self,
           Op           op,
           gboolean     automatic,
           const char  *path,
           const char  *id,
           gboolean     take)
{
  g_autoptr(GTask) task = NULL;
  Job *job;

  if (self->store == NULL || self->busy)
    return;
  job = g_new0 (Job, 1);
  job->op = op;
  job->automatic = automatic;
  job->store = g_object_ref (self->store);
  job->path = g_strdup (path);
  job->id = g_strdup (id);
  job->take = take;
  if (op == OP_SYNC)
    {
      job->progress = g_rc_box_new0 (Progress);
      self->running = g_rc_box_acquire (job->progress);
      self->expected_bundles = (self->pending + RFL_SYNC_BUNDLE_OPS - 1) / RFL_SYNC_BUNDLE_OPS;
      gtk_progress_bar_set_fraction (self->progress, 0);
      gtk_progress_bar_set_text (self->progress, _("Talking to headquarters…"));
      gtk_widget_set_visible (GTK_WIDGET (self->progress), TRUE);
      self->pulse_source = g_timeout_add (150, pulse_cb, self);
    }
  g_clear_handle_id (&self->retry_source, g_source_remove);
  set_busy (self, TRUE);

  task = g_task_new (self, self->cancellable, job_done_cb, NULL);
  g_task_set_source_tag (task, start_job);
  g_task_set_task_data (task, job, (GDestroyNotify) job_free);
  /* Cancelling drops the result, but the job runs to its end: a sync or
   * merge is never cut half-way by the UI. */
  g_task_set_return_on_cancel (task, FALSE);
  g_task_run_in_thread (task, job_thread);
}

static void
network_changed_cb (RflSyncPage *self,
                    gboolean     available)
{
  if (self->store == NULL || !self->enrolled)
    return;
  if (!available && self->link != RFL_LINK_ONLINE)
    set_link (self, RFL_LINK_OFFLINE);
  /* A change of network is worth a try soon, whatever it says. */
  self->failures = 0;
  schedule_retry (self, 4);
}

static gboolean
drop_chooser_cb (gpointer chooser)
{
  gtk_native_dialog_destroy (chooser);
  g_object_unref (chooser);
  return G_SOURCE_REMOVE;
}

static void
chooser_response_cb (GtkNativeDialog *chooser,
                     int              response,
                     RflSyncPage     *self)
{
  g_autoptr(GFile) file = NULL;
  const char *what = g_object_get_data (G_OBJECT (chooser), "rfl-op");

  if (response == GTK_RESPONSE_ACCEPT && (file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser))) != NULL)
    {
      if (g_str_equal (what, "enroll"))
        rfl_sync_page_enroll (self, file);
      else if (g_str_equal (what, "usb-out"))
        rfl_sync_page_write_usb (self, file);
      else
        rfl_sync_page_read_usb (self, file);
    }
  /* Not the last reference dropped while the dialog is still emitting its
   * own response and being announced to assistive technologies: it goes
   * once the signal is over. */
  g_idle_add_full (G_PRIORITY_DEFAULT_IDLE, drop_chooser_cb, g_steal_pointer (&self->chooser), NULL);
}

/* GtkFileChooserNative goes through the file chooser portal inside the
 * Flatpak sandbox, which has no access to the host's files otherwise. */
static void
choose (RflSyncPage          *self,
        const char           *what,
        const char           *title,
        GtkFileChooserAction  action,
        const char           *accept)
{
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  GtkFileChooserNative *chooser;

  if (self->chooser != NULL)
    return;
  chooser = gtk_file_chooser_native_new (title, GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, action, accept,
                                         NULL);
  gtk_native_dialog_set_modal (GTK_NATIVE_DIALOG (chooser), TRUE);
  g_object_set_data (G_OBJECT (chooser), "rfl-op", (gpointer) what);
  if (g_str_equal (what, "enroll"))
    {
      g_autoptr(GtkFileFilter) filter = gtk_file_filter_new ();

      gtk_file_filter_set_name (filter, _("Enrollment tokens"));
      gtk_file_filter_add_pattern (filter, "*.token");
      gtk_file_filter_add_pattern (filter, "*.json");
      gtk_file_chooser_add_filter (GTK_FILE_CHOOSER (chooser), filter);
    }
  g_signal_connect (chooser, "response", G_CALLBACK (chooser_response_cb), self);
  self->chooser = GTK_NATIVE_DIALOG (chooser);
  gtk_native_dialog_show (self->chooser);
}

static void
now_activated (GtkWidget  *widget,
               const char *action_name,
               GVariant   *parameter)
{
  rfl_sync_page_sync_now (RFL_SYNC_PAGE (widget));
}

static void
enroll_activated (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  choose (RFL_SYNC_PAGE (widget), "enroll", _("Choose the Enrollment Token"), GTK_FILE_CHOOSER_ACTION_OPEN,
          _("_Enroll"));
}

static void
usb_out_activated (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  choose (RFL_SYNC_PAGE (widget), "usb-out", _("Choose a Folder on the USB Stick"),
          GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Write"));
}

static void
usb_in_activated (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  choose (RFL_SYNC_PAGE (widget), "usb-in", _("Choose the Folder Headquarters Wrote"),
          GTK_FILE_CHOOSER_ACTION_SELECT_FOLDER, _("_Read"));
}

static void
resolve_activated (GtkWidget  *widget,
                   const char *action_name,
                   GVariant   *parameter)
{
  const char *id;
  gboolean take;

  g_variant_get (parameter, "(&sb)", &id, &take);
  rfl_sync_page_resolve (RFL_SYNC_PAGE (widget), id, take);
}

static void
rfl_sync_page_dispose (GObject *object)
{
  RflSyncPage *self = RFL_SYNC_PAGE (object);

  rfl_sync_page_set_store (self, NULL);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  if (self->monitor != NULL)
    g_signal_handlers_disconnect_by_data (self->monitor, self);
  g_clear_object (&self->monitor);
  g_clear_object (&self->settings);
  g_clear_object (&self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), RFL_TYPE_SYNC_PAGE);
  G_OBJECT_CLASS (rfl_sync_page_parent_class)->dispose (object);
}

static void
rfl_sync_page_finalize (GObject *object)
{
  RflSyncPage *self = RFL_SYNC_PAGE (object);

  g_clear_pointer (&self->conflict_rows, g_ptr_array_unref);
  g_clear_pointer (&self->conflicts, g_ptr_array_unref);
  g_free (self->last_sync);
  g_free (self->error);
  G_OBJECT_CLASS (rfl_sync_page_parent_class)->finalize (object);
}

static void
rfl_sync_page_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  RflSyncPage *self = RFL_SYNC_PAGE (object);

  switch (prop_id)
    {
    case PROP_LINK:
      g_value_set_int (value, self->link);
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
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_sync_page_class_init (RflSyncPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rfl_sync_page_dispose;
  object_class->finalize = rfl_sync_page_finalize;
  object_class->get_property = rfl_sync_page_get_property;

  properties[PROP_LINK] =
    g_param_spec_int ("link", NULL, NULL, RFL_LINK_UNKNOWN, RFL_LINK_ONLINE, RFL_LINK_UNKNOWN,
                      G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_ENROLLED] =
    g_param_spec_boolean ("enrolled", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_PENDING] =
    g_param_spec_int64 ("pending", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * RflSyncPage::toast:
   * @message: what a sync, an enrollment or a USB transfer did
   */
  signals[TOAST] = g_signal_new ("toast", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                 G_TYPE_NONE, 1, G_TYPE_STRING);
  /**
   * RflSyncPage::changed:
   *
   * Records changed: what came from HQ was merged, or a conflict settled.
   */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                   G_TYPE_NONE, 0);
  /**
   * RflSyncPage::revoked:
   *
   * HQ revoked this device, which has destroyed its keys: the app locks.
   */
  signals[REVOKED] = g_signal_new ("revoked", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                   G_TYPE_NONE, 0);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/reunite/Reunite/rfl-sync-page.ui");
  gtk_widget_class_bind_template_child (widget_class, RflSyncPage, sync_button);
  gtk_widget_class_bind_template_child (widget_class, RflSyncPage, connection_row);
  gtk_widget_class_bind_template_child (widget_class, RflSyncPage, connection_icon);
  gtk_widget_class_bind_template_child (widget_class, RflSyncPage, office_row);
  gtk_widget_class_bind_template_child (widget_class, RflSyncPage, last_sync_row);
  gtk_widget_class_bind_template_child (widget_class, RflSyncPage, pending_row);
  gtk_widget_class_bind_template_child (widget_class, RflSyncPage, progress);
  gtk_widget_class_bind_template_child (widget_class, RflSyncPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, RflSyncPage, enroll_group);
  gtk_widget_class_bind_template_child (widget_class, RflSyncPage, usb_group);
  gtk_widget_class_bind_template_child (widget_class, RflSyncPage, conflicts_group);
  gtk_widget_class_bind_template_child (widget_class, RflSyncPage, no_conflicts_row);

  gtk_widget_class_install_action (widget_class, "sync.now", NULL, now_activated);
  gtk_widget_class_install_action (widget_class, "sync.enroll", NULL, enroll_activated);
  gtk_widget_class_install_action (widget_class, "sync.usb-out", NULL, usb_out_activated);
  gtk_widget_class_install_action (widget_class, "sync.usb-in", NULL, usb_in_activated);
  gtk_widget_class_install_action (widget_class, "sync.resolve", "(sb)", resolve_activated);
}

static void
rfl_sync_page_init (RflSyncPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->conflict_rows = g_ptr_array_new ();
  self->cancellable = g_cancellable_new ();
  self->settings = g_settings_new (APPLICATION_ID);
  self->monitor = g_object_ref (g_network_monitor_get_default ());
  g_signal_connect_object (self->monitor, "network-changed", G_CALLBACK (network_changed_cb), self,
                           G_CONNECT_SWAPPED);
  update_actions (self);
  show_link (self);
}

GtkWidget *
rfl_sync_page_new (void)
{
  return g_object_new (RFL_TYPE_SYNC_PAGE, NULL);
}

static void
store_changed_cb (RflSyncPage *self)
{
  /* A sync in progress reads the status when it ends. */
  if (!self->busy)
    rfl_sync_page_refresh (self);
}

/**
 * rfl_sync_page_set_store:
 * @store: (nullable): the open store, or %NULL when the app locks
 *
 * With a store, reads its sync status and, if it is enrolled and syncing
 * on its own is on, checks whether HQ answers and syncs.
 */
void
rfl_sync_page_set_store (RflSyncPage *self,
                         RflStore    *store)
{
  g_return_if_fail (RFL_IS_SYNC_PAGE (self));
  g_return_if_fail (store == NULL || RFL_IS_STORE (store));

  if (self->store == store)
    return;
  /* A job in flight runs to its end in its thread; its result is dropped. */
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  g_clear_handle_id (&self->retry_source, g_source_remove);
  set_busy (self, FALSE);
  if (self->store != NULL)
    g_signal_handlers_disconnect_by_data (self->store, self);
  g_set_object (&self->store, store);
  /* Changes waiting, conflicts: read again whenever the store changes. */
  if (store != NULL)
    g_signal_connect_object (store, "changed", G_CALLBACK (store_changed_cb), self, G_CONNECT_SWAPPED);
  self->enrolled = FALSE;
  self->pending = 0;
  self->failures = 0;
  self->link = RFL_LINK_UNKNOWN;
  g_clear_pointer (&self->conflicts, g_ptr_array_unref);
  g_clear_pointer (&self->last_sync, g_free);
  if (self->conflict_rows != NULL)
    clear_conflict_rows (self);
  set_error (self, NULL);
  show_link (self);
  update_actions (self);
  if (store != NULL)
    start_job (self, OP_STATUS, TRUE, NULL, NULL, FALSE);
}

void
rfl_sync_page_refresh (RflSyncPage *self)
{
  g_return_if_fail (RFL_IS_SYNC_PAGE (self));

  start_job (self, OP_STATUS, FALSE, NULL, NULL, FALSE);
}

/**
 * rfl_sync_page_sync_now:
 *
 * Syncs with HQ now, metered link or not.
 */
void
rfl_sync_page_sync_now (RflSyncPage *self)
{
  g_return_if_fail (RFL_IS_SYNC_PAGE (self));

  set_error (self, NULL);
  start_job (self, OP_SYNC, FALSE, NULL, NULL, FALSE);
}

void
rfl_sync_page_enroll (RflSyncPage *self,
                      GFile       *token)
{
  g_autofree char *path = NULL;

  g_return_if_fail (RFL_IS_SYNC_PAGE (self));
  g_return_if_fail (G_IS_FILE (token));

  if ((path = g_file_get_path (token)) == NULL)
    {
      set_error (self, _("This file cannot be read from here; copy it to this laptop first."));
      return;
    }
  start_job (self, OP_ENROLL, FALSE, path, NULL, FALSE);
}

void
rfl_sync_page_write_usb (RflSyncPage *self,
                         GFile       *folder)
{
  g_autofree char *path = NULL;

  g_return_if_fail (RFL_IS_SYNC_PAGE (self));
  g_return_if_fail (G_IS_FILE (folder));

  if ((path = g_file_get_path (folder)) == NULL)
    {
      set_error (self, _("This folder cannot be written from here; choose one on the USB stick."));
      return;
    }
  start_job (self, OP_USB_OUT, FALSE, path, NULL, FALSE);
}

void
rfl_sync_page_read_usb (RflSyncPage *self,
                        GFile       *folder)
{
  g_autofree char *path = NULL;

  g_return_if_fail (RFL_IS_SYNC_PAGE (self));
  g_return_if_fail (G_IS_FILE (folder));

  if ((path = g_file_get_path (folder)) == NULL)
    {
      set_error (self, _("This folder cannot be read from here; choose one on the USB stick."));
      return;
    }
  start_job (self, OP_USB_IN, FALSE, path, NULL, FALSE);
}

/**
 * rfl_sync_page_resolve:
 * @conflict_id: one of rfl_sync_page_get_conflicts()
 * @take: %TRUE to take the other change, %FALSE to keep the case as it is
 */
void
rfl_sync_page_resolve (RflSyncPage *self,
                       const char  *conflict_id,
                       gboolean     take)
{
  g_return_if_fail (RFL_IS_SYNC_PAGE (self));
  g_return_if_fail (conflict_id != NULL);

  start_job (self, OP_RESOLVE, FALSE, NULL, conflict_id, take);
}

RflLinkState
rfl_sync_page_get_link (RflSyncPage *self)
{
  g_return_val_if_fail (RFL_IS_SYNC_PAGE (self), RFL_LINK_UNKNOWN);

  return self->link;
}

gboolean
rfl_sync_page_get_busy (RflSyncPage *self)
{
  g_return_val_if_fail (RFL_IS_SYNC_PAGE (self), FALSE);

  return self->busy;
}

gboolean
rfl_sync_page_get_enrolled (RflSyncPage *self)
{
  g_return_val_if_fail (RFL_IS_SYNC_PAGE (self), FALSE);

  return self->enrolled;
}

/**
 * rfl_sync_page_get_pending:
 *
 * Returns: this device's changes HQ has not receipted
 */
gint64
rfl_sync_page_get_pending (RflSyncPage *self)
{
  g_return_val_if_fail (RFL_IS_SYNC_PAGE (self), 0);

  return self->pending;
}

/**
 * rfl_sync_page_get_conflicts:
 *
 * Returns: (transfer none) (nullable) (element-type JsonObject): the open
 *   conflicts, as last read
 */
GPtrArray *
rfl_sync_page_get_conflicts (RflSyncPage *self)
{
  g_return_val_if_fail (RFL_IS_SYNC_PAGE (self), NULL);

  return self->conflicts;
}

const char *
rfl_sync_page_get_error (RflSyncPage *self)
{
  g_return_val_if_fail (RFL_IS_SYNC_PAGE (self), NULL);

  return self->error;
}

/**
 * rfl_sync_page_get_last_sync:
 *
 * Returns: (nullable): when the last sync ended, ISO 8601
 */
const char *
rfl_sync_page_get_last_sync (RflSyncPage *self)
{
  g_return_val_if_fail (RFL_IS_SYNC_PAGE (self), NULL);

  return self->last_sync;
}
