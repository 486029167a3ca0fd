/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-unlock"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <string.h>

#include "rfl-error.h"
#include "rfl-unlock-page.h"

/*
 * The first thing a volunteer sees: create the encrypted case database
 * (passphrase twice, with a strength hint) or unlock it. Argon2 and SQLCipher
 * run in a worker thread; the page only shows that it is busy.
 */

struct _RflUnlockPage
{
  AdwBin        parent_instance;

  AdwStatusPage *status;
  AdwPasswordEntryRow *passphrase;
  AdwPasswordEntryRow *confirm;
  GtkWidget     *strength_box;
  GtkLevelBar   *strength_bar;
  GtkLabel      *strength_label;
  GtkLabel      *error_label;
  GtkSpinner    *spinner;
  GtkLabel      *submit_label;

  char          *path;
  char          *error;
  GCancellable  *cancellable;
  gboolean       creating;
  gboolean       busy;
};

G_DEFINE_FINAL_TYPE (RflUnlockPage, rfl_unlock_page, ADW_TYPE_BIN)

enum {
  PROP_0,
  PROP_PATH,
  PROP_CREATING,
  PROP_BUSY,
  PROP_ERROR,
  N_PROPS
};

enum {
  UNLOCKED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* A hint, not a gate beyond the store's minimum: length counts most, then
 * a mix of kinds of character or several words. */
static int
strength_of (const char *text)
{
  gsize len = g_utf8_strlen (text, -1);
  gboolean lower = FALSE, upper = FALSE, digit = FALSE, other = FALSE;
  int score;

  if (strlen (text) < RFL_STORE_MIN_PASSPHRASE)
    return 0;
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_islower (c))
        lower = TRUE;
      else if (g_unichar_isupper (c))
        upper = TRUE;
      else if (g_unichar_isdigit (c))
        digit = TRUE;
      else
        other = TRUE;
    }
  score = len >= 20 ? 3 : len >= 14 ? 2 : 1;
  if (lower + upper + digit + other >= 3)
    score++;
  return MIN (score, 4);
}

static void
set_error (RflUnlockPage *self,
           const char    *message)
{
  if (g_strcmp0 (self->error, message) == 0)
    return;
  g_free (self->error);
  self->error = g_strdup (message);
  gtk_label_set_text (self->error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ERROR]);
}

static void
update (RflUnlockPage *self)
{
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->passphrase));
  const char *again = gtk_editable_get_text (GTK_EDITABLE (self->confirm));
  static const char *hints[] = {
    N_("At least 8 characters"),
    N_("Weak: a few words are easier to remember and harder to guess"),
    N_("Fair: longer is stronger"),
    N_("Good"),
    N_("Strong"),
  };
  int score = strength_of (text);
  gboolean ready;

  adw_status_page_set_title (self->status, self->creating ? _("Create the Case Database")
                                                          : _("Unlock the Case Database"));
  adw_status_page_set_description (self->status,
    self->creating ? _("Choose a passphrase. It encrypts every record on this computer; without it "
                       "the records cannot be read, by anyone, and it cannot be recovered.")
                   : _("Enter the passphrase of this office’s case database."));
  gtk_widget_set_visible (GTK_WIDGET (self->confirm), self->creating);
  gtk_widget_set_visible (self->strength_box, self->creating);
  gtk_level_bar_set_value (self->strength_bar, score);
  gtk_label_set_text (self->strength_label, _(hints[score]));
  gtk_label_set_text (self->submit_label, self->busy ? (self->creating ? _("Creating…") : _("Unlocking…"))
                                                     : (self->creating ? _("Create") : _("Unlock")));
  /* GTK 4.8 does not name a button after the label inside it. */
  gtk_accessible_update_property (GTK_ACCESSIBLE (gtk_widget_get_ancestor (GTK_WIDGET (self->submit_label),
                                                                           GTK_TYPE_BUTTON)),
                                  GTK_ACCESSIBLE_PROPERTY_LABEL, gtk_label_get_text (self->submit_label), -1);
  if (self->busy)
    gtk_spinner_start (self->spinner);
  else
    gtk_spinner_stop (self->spinner);
  gtk_widget_set_visible (GTK_WIDGET (self->spinner), self->busy);
  /* Not insensitive: GTK 4.8 loses track of the focus of an entry made
   * insensitive while it has it. */
  gtk_editable_set_editable (GTK_EDITABLE (self->passphrase), !self->busy);
  gtk_editable_set_editable (GTK_EDITABLE (self->confirm), !self->busy);

  ready = !self->busy && strlen (text) > 0 &&
          (!self->creating || (score > 0 && strlen (again) > 0));
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "unlock.submit", ready);
}

static void
set_busy (RflUnlockPage *self,
          gboolean       busy)
{
  self->busy = busy;
  update (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_BUSY]);
}

static void
passphrase_changed_cb (RflUnlockPage *self)
{
  if (!self->busy)
    set_error (self, NULL);
  update (self);
}

/* Enter in the first field goes on to the second when there is one. */
static void
passphrase_activated_cb (RflUnlockPage *self)
{
  if (self->creating)
    gtk_widget_grab_focus (GTK_WIDGET (self->confirm));
  else
    gtk_widget_activate_action (GTK_WIDGET (self), "unlock.submit", NULL);
}

static void
confirm_activated_cb (RflUnlockPage *self)
{
  gtk_widget_activate_action (GTK_WIDGET (self), "unlock.submit", NULL);
}

static void
clear_entries (RflUnlockPage *self)
{
  gtk_editable_set_text (GTK_EDITABLE (self->passphrase), "");
  gtk_editable_set_text (GTK_EDITABLE (self->confirm), "");
}

static void
finish (RflUnlockPage *self,
        RflStore      *store,
        const GError  *error)
{
  set_busy (self, FALSE);
  if (store == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      if (g_error_matches (error, RFL_STORE_ERROR, RFL_STORE_ERROR_WRONG_PASSPHRASE))
        set_error (self, _("Wrong passphrase. Check the keyboard layout and Caps Lock, then try again."));
      else
        set_error (self, error->message);
      /* What was typed is selected: the next try replaces it. */
      gtk_widget_grab_focus (GTK_WIDGET (self->passphrase));
      gtk_editable_select_region (GTK_EDITABLE (self->passphrase), 0, -1);
      return;
    }
  clear_entries (self);
  g_signal_emit (self, signals[UNLOCKED], 0, store);
}

static void
open_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(RflUnlockPage) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(RflStore) store = rfl_store_open_finish (result, &error);

  finish (self, store, error);
}

typedef struct
{
  char  *path;
  char  *passphrase;   /* sodium_malloc'd */
  gsize  len;
} CreateData;

static void
create_data_free (CreateData *data)
{
  g_free (data->path);
  sodium_free (data->passphrase);
  g_free (data);
}

static void
create_thread (GTask        *task,
               gpointer      source,
               gpointer      task_data,
               GCancellable *cancellable)
{
  CreateData *data = task_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_path_get_dirname (data->path);
  RflStore *store;

  /* The directory holds nothing but the database: only its owner may list it. */
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved = errno;

      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved),
                               _("Cannot create the folder %s: %s"), dir, g_strerror (saved));
      return;
    }
  store = rfl_store_create (data->path, data->passphrase, data->len, RFL_KDF_MODERATE, &error);
  if (store == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_pointer (task, store, g_object_unref);
}

static void
create_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  RflUnlockPage *self = RFL_UNLOCK_PAGE (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(RflStore) store = g_task_propagate_pointer (G_TASK (result), &error);

  finish (self, store, error);
}

static void
submit_activated (GtkWidget  *widget,
                  const char *action_name,
                  GVariant   *parameter)
{
  RflUnlockPage *self = RFL_UNLOCK_PAGE (widget);
  const char *text = gtk_editable_get_text (GTK_EDITABLE (self->passphrase));
  gsize len = strlen (text);

  if (self->busy || len == 0)
    return;
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();

  if (!self->creating)
    {
      set_error (self, NULL);
      set_busy (self, TRUE);
      rfl_store_open_async (self->path, text, len, self->cancellable, open_cb, g_object_ref (self));
      return;
    }

  if (len < RFL_STORE_MIN_PASSPHRASE)
    {
      set_error (self, _("The passphrase needs at least 8 characters."));
      return;
    }
  if (g_strcmp0 (text, gtk_editable_get_text (GTK_EDITABLE (self->confirm))) != 0)
    {
      /* Emptying the field clears any message: say it after. */
      gtk_editable_set_text (GTK_EDITABLE (self->confirm), "");
      set_error (self, _("The two passphrases differ. Type the second one again."));
      gtk_widget_grab_focus (GTK_WIDGET (self->confirm));
      return;
    }
  {
    g_autoptr(GTask) task = g_task_new (self, self->cancellable, create_cb, NULL);
    CreateData *data = g_new0 (CreateData, 1);

    data->path = g_strdup (self->path);
    data->len = len;
    data->passphrase = sodium_malloc (len + 1);
    if (data->passphrase == NULL)
      g_error ("out of guarded memory");
    memcpy (data->passphrase, text, len + 1);
    g_task_set_source_tag (task, submit_activated);
    g_task_set_task_data (task, data, (GDestroyNotify) create_data_free);
    set_error (self, NULL);
    set_busy (self, TRUE);
    g_task_run_in_thread (task, create_thread);
  }
}

static void
rfl_unlock_page_dispose (GObject *object)
{
  RflUnlockPage *self = RFL_UNLOCK_PAGE (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  adw_bin_set_child (ADW_BIN (self), NULL);
  gtk_widget_dispose_template (GTK_WIDGET (self), RFL_TYPE_UNLOCK_PAGE);
  G_OBJECT_CLASS (rfl_unlock_page_parent_class)->dispose (object);
}

static void
rfl_unlock_page_finalize (GObject *object)
{
  RflUnlockPage *self = RFL_UNLOCK_PAGE (object);

  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->error, g_free);
  G_OBJECT_CLASS (rfl_unlock_page_parent_class)->finalize (object);
}

static void
rfl_unlock_page_get_property (GObject    *object,
                              guint       prop_id,
                              GValue     *value,
                              GParamSpec *pspec)
{
  RflUnlockPage *self = RFL_UNLOCK_PAGE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    case PROP_CREATING:
      g_value_set_boolean (value, self->creating);
      break;
    case PROP_BUSY:
      g_value_set_boolean (value, self->busy);
      break;
    case PROP_ERROR:
      g_value_set_string (value, self->error);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_unlock_page_set_property (GObject      *object,
                              guint         prop_id,
                              const GValue *value,
                              GParamSpec   *pspec)
{
  RflUnlockPage *self = RFL_UNLOCK_PAGE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      rfl_unlock_page_set_path (self, g_value_get_string (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_unlock_page_class_init (RflUnlockPageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rfl_unlock_page_dispose;
  object_class->finalize = rfl_unlock_page_finalize;
  object_class->get_property = rfl_unlock_page_get_property;
  object_class->set_property = rfl_unlock_page_set_property;

  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_CREATING] =
    g_param_spec_boolean ("creating", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_BUSY] =
    g_param_spec_boolean ("busy", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  properties[PROP_ERROR] =
    g_param_spec_string ("error", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * RflUnlockPage::unlocked:
   * @store: the open store
   *
   * The database was created or unlocked.
   */
  signals[UNLOCKED] =
    g_signal_new ("unlocked", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, RFL_TYPE_STORE);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/reunite/Reunite/rfl-unlock-page.ui");
  gtk_widget_class_bind_template_child (widget_class, RflUnlockPage, status);
  gtk_widget_class_bind_template_child (widget_class, RflUnlockPage, passphrase);
  gtk_widget_class_bind_template_child (widget_class, RflUnlockPage, confirm);
  gtk_widget_class_bind_template_child (widget_class, RflUnlockPage, strength_box);
  gtk_widget_class_bind_template_child (widget_class, RflUnlockPage, strength_bar);
  gtk_widget_class_bind_template_child (widget_class, RflUnlockPage, strength_label);
  gtk_widget_class_bind_template_child (widget_class, RflUnlockPage, error_label);
  gtk_widget_class_bind_template_child (widget_class, RflUnlockPage, spinner);
  gtk_widget_class_bind_template_child (widget_class, RflUnlockPage, submit_label);
  gtk_widget_class_bind_template_callback (widget_class, passphrase_changed_cb);
  gtk_widget_class_bind_template_callback (widget_class, passphrase_activated_cb);
  gtk_widget_class_bind_template_callback (widget_class, confirm_activated_cb);
  gtk_widget_class_install_action (widget_class, "unlock.submit", NULL, submit_activated);
}

static void
rfl_unlock_page_init (RflUnlockPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  update (self);
}

GtkWidget *
rfl_unlock_page_new (const char *path)
{
  return g_object_new (RFL_TYPE_UNLOCK_PAGE, "path", path, NULL);
}

const char *
rfl_unlock_page_get_path (RflUnlockPage *self)
{
  g_return_val_if_fail (RFL_IS_UNLOCK_PAGE (self), NULL);

  return self->path;
}

/**
 * rfl_unlock_page_set_path:
 *
 * Points the page at a database; it offers to create one when the file
 * does not exist.
 */
void
rfl_unlock_page_set_path (RflUnlockPage *self,
                          const char    *path)
{
  gboolean creating;

  g_return_if_fail (RFL_IS_UNLOCK_PAGE (self));

  creating = path == NULL || !g_file_test (path, G_FILE_TEST_EXISTS);
  if (g_strcmp0 (self->path, path) != 0)
    {
      g_free (self->path);
      self->path = g_strdup (path);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PATH]);
    }
  if (creating != self->creating)
    {
      self->creating = creating;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CREATING]);
    }
  update (self);
}

gboolean
rfl_unlock_page_get_creating (RflUnlockPage *self)
{
  g_return_val_if_fail (RFL_IS_UNLOCK_PAGE (self), FALSE);

  return self->creating;
}

gboolean
rfl_unlock_page_get_busy (RflUnlockPage *self)
{
  g_return_val_if_fail (RFL_IS_UNLOCK_PAGE (self), FALSE);

  return self->busy;
}

/**
 * rfl_unlock_page_get_error:
 *
 * Returns: (nullable): what went wrong with the last attempt, as shown
 */
const char *
rfl_unlock_page_get_error (RflUnlockPage *self)
{
  g_return_val_if_fail (RFL_IS_UNLOCK_PAGE (self), NULL);

  return self->error;
}

/**
 * rfl_unlock_page_reset:
 *
 * Back to an empty form, for when the app locks; the file may have been
 * created meanwhile.
 */
void
rfl_unlock_page_reset (RflUnlockPage *self)
{
  g_return_if_fail (RFL_IS_UNLOCK_PAGE (self));

  clear_entries (self);
  set_error (self, NULL);
  rfl_unlock_page_set_path (self, self->path);
  gtk_widget_grab_focus (GTK_WIDGET (self->passphrase));
}
