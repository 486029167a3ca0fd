/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-sync"

#include <glib/gi18n.h>

#include "rfl-case-item.h"
#include "rfl-record-form.h"
#include "rfl-sync-page.h"

/*
 * Sync with headquarters, as a person sees it: whether HQ can be reached,
 * what waits to be sent, "Sync Now", enrollment from a token file, USB
 * bundles through a file chooser (a portal in the Flatpak sandbox), and the
 * conflicts a person has to decide.
 *
 * The page is a view of the application's RflSyncAgent, which runs the jobs
 * and decides when to try HQ on its own: the page shows the agent's
 * properties as they change, turns what a finished job did into a toast,
 * and hands what a person asks for to the agent.
 */

#define MAX_CONFLICTS_SHOWN  100
#define PULSE_MS             150

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

  RflSyncAgent        *agent;
  GSignalGroup        *agent_signals;
  GBindingGroup       *agent_bindings;
  GPtrArray           *conflict_rows;
  GtkNativeDialog     *chooser;
  guint                pulse_source;
};

G_DEFINE_FINAL_TYPE (RflSyncPage, rfl_sync_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_AGENT,
  N_PROPS
};

enum {
  TOAST,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static RflStore *
agent_store (RflSyncPage *self)
{
  return self->agent != NULL ? rfl_sync_agent_get_store (self->agent) : NULL;
}

static gboolean
agent_enrolled (RflSyncPage *self)
{
  return self->agent != NULL && rfl_sync_agent_get_enrolled (self->agent);
}

static void
update_actions (RflSyncPage *self)
{
  gboolean can = agent_store (self) != NULL && !rfl_sync_agent_get_busy (self->agent);
  gboolean enrolled = agent_enrolled (self);

  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sync.now", can && enrolled);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sync.usb-out", can && enrolled);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sync.usb-in", can && enrolled);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sync.enroll", can && !enrolled);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "sync.resolve", can);
}

static void
show_link (RflSyncPage *self)
{
  RflLinkState link = self->agent != NULL ? rfl_sync_agent_get_link (self->agent)
                                          : RFL_LINK_UNKNOWN;
  gboolean enrolled = agent_enrolled (self);
  const char *icon, *text;

  switch (link)
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
      text = enrolled ? _("Not checked yet") : _("Not enrolled");
      break;
    }
  if (link != RFL_LINK_ONLINE && enrolled && rfl_sync_agent_get_metered_backlog (self->agent))
    text = _("Metered connection: large changes wait for Sync Now");
  gtk_image_set_from_icon_name (self->connection_icon, icon);
  adw_action_row_set_subtitle (self->connection_row, text);
  gtk_accessible_update_property (GTK_ACCESSIBLE (self->connection_icon), GTK_ACCESSIBLE_PROPERTY_LABEL, text, -1);
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

  RflStore *store = agent_store (self);

  if (store != NULL && g_strcmp0 (device, rfl_store_get_device_id (store)) == 0)
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
  GPtrArray *conflicts = self->agent != NULL ? rfl_sync_agent_get_conflicts (self->agent) : NULL;
  guint n = conflicts != NULL ? conflicts->len : 0;

  clear_conflict_rows (self);
  gtk_widget_set_visible (self->no_conflicts_row, n == 0);
  for (guint i = 0; i < MIN (n, MAX_CONFLICTS_SHOWN); i++)
    {
      JsonObject *conflict = g_ptr_array_index (conflicts, i);
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

/* The status as the agent last read it; none while the app is locked,
 * when the rows keep their text out of sight and the conflicts go. */
static void
show_status (RflSyncPage *self)
{
  JsonObject *status = self->agent != NULL ? rfl_sync_agent_get_status (self->agent) : NULL;
  gboolean enrolled = agent_enrolled (self);
  const char *office, *last;
  gint64 pending;
  g_autofree char *last_text = NULL;
  g_autofree char *pending_text = NULL;

  if (status != NULL)
    {
      office = json_object_get_string_member_with_default (status, "office", NULL);
      last = rfl_sync_agent_get_last_sync (self->agent);
      pending = rfl_sync_agent_get_pending (self->agent);
      last_text = last != NULL ? rfl_format_time (last, TRUE) : NULL;
      adw_action_row_set_subtitle (self->office_row, office != NULL ? office : _("Not enrolled"));
      adw_action_row_set_subtitle (self->last_sync_row, last_text != NULL ? last_text : _("Never"));
      /* Translators: the number of changes not yet sent to headquarters. */
      pending_text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%'ld change", "%'ld changes",
                                                   (gulong) pending), (long) pending);
      adw_action_row_set_subtitle (self->pending_row, pending_text);
      gtk_widget_set_visible (GTK_WIDGET (self->enroll_group), !enrolled);
      gtk_widget_set_visible (GTK_WIDGET (self->usb_group), enrolled);
      gtk_widget_set_visible (GTK_WIDGET (self->office_row), enrolled);
      show_conflicts (self);
    }
  else
    clear_conflict_rows (self);
  show_link (self);
  update_actions (self);
}

static gboolean
pulse_cb (gpointer user_data)
{
  RflSyncPage *self = user_data;
  guint sent, received, expected;
  g_autofree char *text = NULL;

  if (self->agent == NULL ||
      !rfl_sync_agent_get_progress (self->agent, &sent, &received, &expected))
    return G_SOURCE_CONTINUE;
  if (received == 0 && expected > 0)
    {
      gtk_progress_bar_set_fraction (self->progress, MIN (1.0, (double) sent / (double) expected));
      /* Translators: sending bundles of changes to headquarters: done of total. */
      text = g_strdup_printf (_("Sending changes: %d of %d"), (int) sent,
                              (int) MAX (sent, expected));
    }
  else
    {
      gtk_progress_bar_pulse (self->progress);
      text = received > 0 ? g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Receiving: %d bundle applied",
                                                          "Receiving: %d bundles applied", (gulong) received),
                                             (int) received)
                          : g_strdup (_("Talking to headquarters…"));
    }
  gtk_progress_bar_set_text (self->progress, text);
  return G_SOURCE_CONTINUE;
}

/* A sync shows its progress until the agent is idle again. */
static void
show_busy (RflSyncPage *self)
{
  gboolean busy = self->agent != NULL && rfl_sync_agent_get_busy (self->agent);

  if (busy && self->pulse_source == 0 &&
      rfl_sync_agent_get_progress (self->agent, NULL, NULL, NULL))
    {
      gtk_progress_bar_set_fraction (self->progress, 0);
      gtk_progress_bar_set_text (self->progress, _("Talking to headquarters…"));
      gtk_widget_set_visible (GTK_WIDGET (self->progress), TRUE);
      self->pulse_source = g_timeout_add (PULSE_MS, pulse_cb, self);
    }
  else if (!busy)
    {
      g_clear_handle_id (&self->pulse_source, g_source_remove);
      gtk_widget_set_visible (GTK_WIDGET (self->progress), FALSE);
    }
  update_actions (self);
}

/* A restored laptop, or HQ: worth saying once, plainly; so is a sync that
 * ended before HQ had sent everything. A sync the agent ran on its own
 * that moved nothing goes unsaid. */
static char *
sync_text (const RflSyncOutcome *outcome)
{
  if (outcome->report.rebased)
    return g_strdup (_("Synced. A database here or at HQ was an older copy; it has caught up,"
                       " and nothing was lost"));
  if (outcome->report.behind)
    return g_strdup_printf (_("Synced: %u sent, %u received. Headquarters has more,"
                              " which the next sync brings"),
                            outcome->report.sent, outcome->report.received);
  if (!outcome->automatic || outcome->report.received > 0 || outcome->report.sent > 0)
    return g_strdup_printf (_("Synced: %u sent, %u received"), outcome->report.sent,
                            outcome->report.received);
  return NULL;
}

static char *
usb_out_text (const RflSyncOutcome *outcome)
{
  return g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u bundle written for headquarters",
                                       "%u bundles written for headquarters", outcome->written),
                          outcome->written);
}

static char *
usb_in_text (const RflSyncOutcome *outcome)
{
  return g_strdup_printf (_("%u bundles applied, %u already here, %u waiting, %u refused"),
                          outcome->report.received, outcome->report.duplicates,
                          outcome->report.held, outcome->refused);
}

/* What a person hears of a job that succeeded: a toast, or nothing for
 * reading the status and pinging HQ, which the page shows in place. */
static char *
outcome_text (const RflSyncOutcome *outcome)
{
  switch (outcome->kind)
    {
    case RFL_SYNC_JOB_SYNC:
      return sync_text (outcome);
    case RFL_SYNC_JOB_ENROLL:
      return g_strdup_printf (_("Enrolled for the %s office"), outcome->office);
    case RFL_SYNC_JOB_USB_OUT:
      return usb_out_text (outcome);
    case RFL_SYNC_JOB_USB_IN:
      return usb_in_text (outcome);
    case RFL_SYNC_JOB_RESOLVE:
      return g_strdup (_("Conflict settled; the decision syncs like any change"));
    case RFL_SYNC_JOB_STATUS:
    case RFL_SYNC_JOB_PING:
    default:
      return NULL;
    }
}

static void
finished_cb (RflSyncPage          *self,
             const RflSyncOutcome *outcome)
{
  g_autofree char *text = outcome_text (outcome);

  if (text != NULL)
    g_signal_emit (self, signals[TOAST], 0, text);
}

static void
show_all (RflSyncPage *self)
{
  show_status (self);
  show_busy (self);
}

static gboolean
error_text_cb (GBinding     *binding,
               const GValue *from,
               GValue       *to,
               gpointer      user_data)
{
  const char *message = g_value_get_string (from);

  g_value_set_string (to, message != NULL ? message : "");
  return TRUE;
}

static gboolean
error_shown_cb (GBinding     *binding,
                const GValue *from,
                GValue       *to,
                gpointer      user_data)
{
  g_value_set_boolean (to, g_value_get_string (from) != NULL);
  return TRUE;
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

  if (response == GTK_RESPONSE_ACCEPT && self->agent != NULL &&
      (file = gtk_file_chooser_get_file (GTK_FILE_CHOOSER (chooser))) != NULL)
    {
      if (g_str_equal (what, "enroll"))
        rfl_sync_agent_enroll_async (self->agent, file, NULL, NULL, NULL);
      else if (g_str_equal (what, "usb-out"))
        rfl_sync_agent_write_usb_async (self->agent, file, NULL, NULL, NULL);
      else
        rfl_sync_agent_read_usb_async (self->agent, file, NULL, NULL, NULL);
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
  RflSyncPage *self = RFL_SYNC_PAGE (widget);

  if (self->agent != NULL)
    rfl_sync_agent_sync_async (self->agent, NULL, NULL, NULL);
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
  RflSyncPage *self = RFL_SYNC_PAGE (widget);
  const char *id;
  gboolean take;

  g_variant_get (parameter, "(&sb)", &id, &take);
  if (self->agent != NULL)
    rfl_sync_agent_resolve_async (self->agent, id, take, NULL, NULL, NULL);
}

static void
rfl_sync_page_dispose (GObject *object)
{
  RflSyncPage *self = RFL_SYNC_PAGE (object);

  rfl_sync_page_set_agent (self, NULL);
  if (self->chooser != NULL)
    gtk_native_dialog_destroy (self->chooser);
  g_clear_object (&self->chooser);
  g_clear_handle_id (&self->pulse_source, g_source_remove);
  g_clear_object (&self->agent_signals);
  g_clear_object (&self->agent_bindings);
  gtk_widget_dispose_template (GTK_WIDGET (self), RFL_TYPE_SYNC_PAGE);
  G_OBJECT_CLASS (rfl_sync_page_parent_class)->dispose (object);
}

static void
rfl_sync_page_finalize (GObject *object)
{
  RflSyncPage *self = RFL_SYNC_PAGE (object);

  g_clear_pointer (&self->conflict_rows, g_ptr_array_unref);
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
    case PROP_AGENT:
      g_value_set_object (value, self->agent);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_sync_page_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  RflSyncPage *self = RFL_SYNC_PAGE (object);

  switch (prop_id)
    {
    case PROP_AGENT:
      rfl_sync_page_set_agent (self, g_value_get_object (value));
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
  object_class->set_property = rfl_sync_page_set_property;

  /**
   * RflSyncPage:agent:
   *
   * The sync agent the page shows and drives; the application's, in its
   * window.
   */
  properties[PROP_AGENT] =
    g_param_spec_object ("agent", NULL, NULL, RFL_TYPE_SYNC_AGENT,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * RflSyncPage::toast:
   * @message: what a sync, an enrollment or a USB transfer did
   */
  signals[TOAST] = g_signal_new ("toast", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                 G_TYPE_NONE, 1, G_TYPE_STRING);

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

  self->agent_signals = g_signal_group_new (RFL_TYPE_SYNC_AGENT);
  g_signal_group_connect_swapped (self->agent_signals, "notify::store",
                                  G_CALLBACK (show_all), self);
  g_signal_group_connect_swapped (self->agent_signals, "notify::status",
                                  G_CALLBACK (show_status), self);
  g_signal_group_connect_swapped (self->agent_signals, "notify::link",
                                  G_CALLBACK (show_link), self);
  g_signal_group_connect_swapped (self->agent_signals, "notify::busy",
                                  G_CALLBACK (show_busy), self);
  g_signal_group_connect_swapped (self->agent_signals, "finished",
                                  G_CALLBACK (finished_cb), self);

  /* The error stays until a job succeeds, whichever view started it. */
  self->agent_bindings = g_binding_group_new ();
  g_binding_group_bind_full (self->agent_bindings, "last-error", self->error_label, "label",
                             G_BINDING_SYNC_CREATE, error_text_cb, NULL, NULL, NULL);
  g_binding_group_bind_full (self->agent_bindings, "last-error", self->error_label, "visible",
                             G_BINDING_SYNC_CREATE, error_shown_cb, NULL, NULL, NULL);
  show_all (self);
}

GtkWidget *
rfl_sync_page_new (void)
{
  return g_object_new (RFL_TYPE_SYNC_PAGE, NULL);
}

/**
 * rfl_sync_page_get_agent:
 *
 * Returns: (transfer none) (nullable): the agent the page shows
 */
RflSyncAgent *
rfl_sync_page_get_agent (RflSyncPage *self)
{
  g_return_val_if_fail (RFL_IS_SYNC_PAGE (self), NULL);

  return self->agent;
}

/**
 * rfl_sync_page_set_agent:
 * @agent: (nullable): the agent to show and drive
 */
void
rfl_sync_page_set_agent (RflSyncPage  *self,
                         RflSyncAgent *agent)
{
  g_return_if_fail (RFL_IS_SYNC_PAGE (self));
  g_return_if_fail (agent == NULL || RFL_IS_SYNC_AGENT (agent));

  if (!g_set_object (&self->agent, agent))
    return;
  g_signal_group_set_target (self->agent_signals, agent);
  g_binding_group_set_source (self->agent_bindings, agent);
  if (agent == NULL)
    {
      gtk_label_set_text (self->error_label, "");
      gtk_widget_set_visible (GTK_WIDGET (self->error_label), FALSE);
    }
  show_all (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_AGENT]);
}
