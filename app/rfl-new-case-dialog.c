/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-form"

#include <glib/gi18n.h>

#include "rfl-a11y.h"
#include "rfl-new-case-dialog.h"
#include "rfl-record-form.h"

/*
 * Registering a new case: choose the kind (each record type the schema
 * lists, a registration once per subtype), fill in the form the schema
 * gives for it, save. The store validates in a worker thread; its one-line
 * message names the field that is missing or wrong. The same dialog edits a
 * saved case: the kind is fixed, and what is saved is a patch of the
 * fields that changed.
 */

struct _RflNewCaseDialog
{
  AdwWindow     parent_instance;

  AdwComboRow  *kind;
  GtkWidget    *kind_list;
  GtkLabel     *error_label;
  AdwBin       *form_bin;

  RflStore     *store;
  GPtrArray    *types;     /* char *: the record type of each kind offered */
  GPtrArray    *subtypes;  /* char *: the subtype of each, or NULL */
  JsonObject   *original;  /* editing: the record as it was read */
  GtkWidget    *form;
  GCancellable *cancellable;
  char         *error;
  gboolean      busy;
  gboolean      mapped_once;
};

G_DEFINE_FINAL_TYPE (RflNewCaseDialog, rfl_new_case_dialog, ADW_TYPE_WINDOW)

enum {
  SAVED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
set_error (RflNewCaseDialog *self,
           const char       *message)
{
  g_free (self->error);
  self->error = g_strdup (message);
  gtk_label_set_text (self->error_label, message != NULL ? message : "");
  gtk_widget_set_visible (GTK_WIDGET (self->error_label), message != NULL);
}

static void
update_actions (RflNewCaseDialog *self)
{
  /* Save stays available: pressing it says what is missing or wrong, at
   * the field, and goes there. */
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "case.save", self->form != NULL && !self->busy);
}

static void
kind_changed_cb (RflNewCaseDialog *self)
{
  guint i = adw_combo_row_get_selected (self->kind);

  if (i >= self->types->len || self->original != NULL)
    return;
  set_error (self, NULL);
  self->form = rfl_record_form_new (rfl_schema_get_default (), g_ptr_array_index (self->types, i),
                                    g_ptr_array_index (self->subtypes, i));
  g_signal_connect_object (self->form, "notify::valid", G_CALLBACK (update_actions), self, G_CONNECT_SWAPPED);
  adw_bin_set_child (self->form_bin, self->form);
  update_actions (self);
}

static void
add_kind (RflNewCaseDialog *self,
          GtkStringList    *labels,
          const char       *type,
          const char       *subtype)
{
  g_ptr_array_add (self->types, g_strdup (type));
  g_ptr_array_add (self->subtypes, g_strdup (subtype));
  gtk_string_list_append (labels, rfl_record_kind_label (type, subtype));
}

/* The kinds of case the schema gives, in its order, as the combo offers
 * them. */
static void
add_kinds (RflNewCaseDialog *self,
           GtkStringList    *labels)
{
  RflSchema *schema = rfl_schema_get_default ();
  g_auto(GStrv) types = rfl_schema_dup_kinds (schema, NULL);

  for (guint i = 0; types[i] != NULL; i++)
    {
      g_auto(GStrv) subtypes = rfl_schema_dup_subtypes (schema, types[i]);

      if (subtypes[0] == NULL)
        add_kind (self, labels, types[i], NULL);
      for (guint s = 0; subtypes[s] != NULL; s++)
        add_kind (self, labels, types[i], subtypes[s]);
    }
}

static void
save_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(RflNewCaseDialog) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = rfl_store_save_finish (RFL_STORE (source), result, &error);

  self->busy = FALSE;
  update_actions (self);
  if (id == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        set_error (self, error->message);
      return;
    }
  g_signal_emit (self, signals[SAVED], 0, id);
  gtk_window_destroy (GTK_WINDOW (self));
}

static void
save_activated (GtkWidget  *widget,
                const char *action_name,
                GVariant   *parameter)
{
  RflNewCaseDialog *self = RFL_NEW_CASE_DIALOG (widget);
  g_autoptr(JsonObject) record = NULL;

  if (self->busy || self->form == NULL)
    return;
  if (rfl_record_form_check (RFL_RECORD_FORM (self->form)) != NULL)
    {
      set_error (self, _("Some fields need attention: each says what is missing under it."));
      return;
    }
  if (self->original != NULL)
    record = rfl_record_form_dup_patch (RFL_RECORD_FORM (self->form), self->original);
  else
    record = rfl_record_form_dup_record (RFL_RECORD_FORM (self->form));
  set_error (self, NULL);
  self->busy = TRUE;
  update_actions (self);
  rfl_store_save_async (self->store,
                        self->original != NULL ? json_object_get_string_member (self->original, "id") : NULL,
                        record, self->cancellable, save_cb, g_object_ref (self));
}

/* The focus starts on the first question: what kind of case this is, or,
 * editing, the first field. (Set before the window is shown, GTK 4.8 gives
 * the window the wrong accessible role.) */
static void
rfl_new_case_dialog_map (GtkWidget *widget)
{
  RflNewCaseDialog *self = RFL_NEW_CASE_DIALOG (widget);

  GTK_WIDGET_CLASS (rfl_new_case_dialog_parent_class)->map (widget);
  if (self->mapped_once)
    return;
  self->mapped_once = TRUE;
  if (self->original == NULL)
    gtk_widget_grab_focus (GTK_WIDGET (self->kind));
  else if (self->form != NULL)
    gtk_widget_child_focus (self->form, GTK_DIR_TAB_FORWARD);
}

static void
rfl_new_case_dialog_dispose (GObject *object)
{
  RflNewCaseDialog *self = RFL_NEW_CASE_DIALOG (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  gtk_widget_dispose_template (GTK_WIDGET (self), RFL_TYPE_NEW_CASE_DIALOG);
  g_clear_object (&self->store);
  g_clear_pointer (&self->original, json_object_unref);
  g_clear_pointer (&self->types, g_ptr_array_unref);
  g_clear_pointer (&self->subtypes, g_ptr_array_unref);
  G_OBJECT_CLASS (rfl_new_case_dialog_parent_class)->dispose (object);
}

static void
rfl_new_case_dialog_finalize (GObject *object)
{
  g_free (RFL_NEW_CASE_DIALOG (object)->error);
  G_OBJECT_CLASS (rfl_new_case_dialog_parent_class)->finalize (object);
}

static void
rfl_new_case_dialog_class_init (RflNewCaseDialogClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->dispose = rfl_new_case_dialog_dispose;
  object_class->finalize = rfl_new_case_dialog_finalize;
  widget_class->map = rfl_new_case_dialog_map;

  /**
   * RflNewCaseDialog::saved:
   * @id: the new record's id
   */
  signals[SAVED] = g_signal_new ("saved", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                 G_TYPE_NONE, 1, G_TYPE_STRING);

  gtk_widget_class_set_template_from_resource (widget_class, "/io/github/reunite/Reunite/rfl-new-case-dialog.ui");
  gtk_widget_class_bind_template_child (widget_class, RflNewCaseDialog, kind);
  gtk_widget_class_bind_template_child (widget_class, RflNewCaseDialog, kind_list);
  gtk_widget_class_bind_template_child (widget_class, RflNewCaseDialog, error_label);
  gtk_widget_class_bind_template_child (widget_class, RflNewCaseDialog, form_bin);
  gtk_widget_class_bind_template_callback (widget_class, kind_changed_cb);
  gtk_widget_class_install_action (widget_class, "case.save", NULL, save_activated);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_s, GDK_CONTROL_MASK, "case.save", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Escape, 0, "window.close", NULL);
}

static void
rfl_new_case_dialog_init (RflNewCaseDialog *self)
{
  g_autoptr(GtkStringList) labels = gtk_string_list_new (NULL);

  gtk_widget_init_template (GTK_WIDGET (self));
  rfl_a11y_activatable_choices (GTK_WIDGET (self->kind));
  self->cancellable = g_cancellable_new ();
  self->types = g_ptr_array_new_with_free_func (g_free);
  self->subtypes = g_ptr_array_new_with_free_func (g_free);
  add_kinds (self, labels);
  adw_combo_row_set_model (self->kind, G_LIST_MODEL (labels));
  kind_changed_cb (self);
  rfl_a11y_fix_names (GTK_WIDGET (self));
}

/**
 * rfl_new_case_dialog_new:
 * @parent: (nullable): the window it belongs to
 * @store: the open store the case goes into
 */
GtkWidget *
rfl_new_case_dialog_new (GtkWindow *parent,
                         RflStore  *store)
{
  RflNewCaseDialog *self;

  g_return_val_if_fail (RFL_IS_STORE (store), NULL);

  self = g_object_new (RFL_TYPE_NEW_CASE_DIALOG, "transient-for", parent, NULL);
  self->store = g_object_ref (store);
  return GTK_WIDGET (self);
}

/**
 * rfl_new_case_dialog_new_for_record:
 * @parent: (nullable): the window it belongs to
 * @store: the open store the case is in
 * @record: the case as rfl_store_get() returned it
 *
 * A dialog that edits @record.
 */
GtkWidget *
rfl_new_case_dialog_new_for_record (GtkWindow  *parent,
                                    RflStore   *store,
                                    JsonObject *record)
{
  RflNewCaseDialog *self;
  const char *type, *subtype;

  g_return_val_if_fail (RFL_IS_STORE (store), NULL);
  g_return_val_if_fail (record != NULL && json_object_has_member (record, "id"), NULL);

  type = json_object_get_string_member_with_default (record, "type", "");
  subtype = json_object_get_string_member_with_default (record, "subtype", NULL);
  self = g_object_new (RFL_TYPE_NEW_CASE_DIALOG, "transient-for", parent, "title", _("Edit Case"), NULL);
  self->store = g_object_ref (store);
  self->original = json_object_ref (record);
  gtk_widget_set_visible (self->kind_list, FALSE);
  self->form = rfl_record_form_new (rfl_schema_get_default (), type, subtype);
  rfl_record_form_set_record (RFL_RECORD_FORM (self->form), record);
  g_signal_connect_object (self->form, "notify::valid", G_CALLBACK (update_actions), self, G_CONNECT_SWAPPED);
  adw_bin_set_child (self->form_bin, self->form);
  update_actions (self);
  return GTK_WIDGET (self);
}

/**
 * rfl_new_case_dialog_set_kind:
 * @type: a record type rfl_schema_dup_kinds() gives
 * @subtype: (nullable): one of its subtypes, if it has them
 *
 * Chooses the kind of case to register.
 */
void
rfl_new_case_dialog_set_kind (RflNewCaseDialog *self,
                              const char       *type,
                              const char       *subtype)
{
  g_return_if_fail (RFL_IS_NEW_CASE_DIALOG (self));
  g_return_if_fail (type != NULL);

  for (guint i = 0; i < self->types->len; i++)
    if (g_str_equal (g_ptr_array_index (self->types, i), type) &&
        (subtype == NULL || g_strcmp0 (g_ptr_array_index (self->subtypes, i), subtype) == 0))
      {
        adw_combo_row_set_selected (self->kind, i);
        return;
      }
  g_critical ("%s: no kind of case %s %s", G_STRFUNC, type, subtype != NULL ? subtype : "");
}

/**
 * rfl_new_case_dialog_get_form:
 *
 * Returns: (transfer none): the form for the chosen kind
 */
GtkWidget *
rfl_new_case_dialog_get_form (RflNewCaseDialog *self)
{
  g_return_val_if_fail (RFL_IS_NEW_CASE_DIALOG (self), NULL);

  return self->form;
}

const char *
rfl_new_case_dialog_get_error (RflNewCaseDialog *self)
{
  g_return_val_if_fail (RFL_IS_NEW_CASE_DIALOG (self), NULL);

  return self->error;
}

gboolean
rfl_new_case_dialog_get_busy (RflNewCaseDialog *self)
{
  g_return_val_if_fail (RFL_IS_NEW_CASE_DIALOG (self), FALSE);

  return self->busy;
}
