/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite"

#include "rfl-store-follow.h"
#include "rfl-window.h"

/*
 * How a page follows the open store. The window owns the store, from
 * unlocking to locking, as its `store` property; a page in the window binds
 * its own `store` property to it, rather than the window handing the store
 * to each page, and follows the store's "changed" signal through a
 * GSignalGroup. Setting a page's store by hand still works where there is
 * no RflWindow, as in the widget tests.
 */

/* A page outside an RflWindow follows no store. */
static gboolean
window_of_root_cb (GBinding     *binding,
                   const GValue *from,
                   GValue       *to,
                   gpointer      user_data)
{
  GObject *root = g_value_get_object (from);

  g_value_set_object (to, RFL_IS_WINDOW (root) ? root : NULL);
  return TRUE;
}

/**
 * rfl_store_follow_window:
 * @page: a widget with a writable `store` property
 *
 * Binds @page's `store` to that of the RflWindow @page is in, whenever it
 * is in one.
 *
 * Returns: (transfer full): the bindings, which live as long as @page
 *   holds them; clear them in its dispose
 */
GBindingGroup *
rfl_store_follow_window (GtkWidget *page)
{
  GBindingGroup *bindings;

  g_return_val_if_fail (GTK_IS_WIDGET (page), NULL);
  g_return_val_if_fail (g_object_class_find_property (G_OBJECT_GET_CLASS (page), "store") != NULL,
                        NULL);

  bindings = g_binding_group_new ();
  g_binding_group_bind (bindings, "store", page, "store", G_BINDING_SYNC_CREATE);
  g_object_bind_property_full (page, "root", bindings, "source", G_BINDING_SYNC_CREATE,
                               window_of_root_cb, NULL, NULL, NULL);
  return bindings;
}

/**
 * rfl_store_follow_swap:
 * @slot: where the page keeps its store
 * @store: (nullable): the new store
 * @store_signals: the page's handlers of the store's signals
 * @cancellable: (inout) (optional): the page's work for the store it had,
 *   cancelled and replaced with a fresh one
 *
 * The first half of a page's set_store(): drop the old store and what was
 * running for it, take @store, and point @store_signals at it.
 *
 * Returns: %FALSE, with nothing done, when @store is already the page's
 */
gboolean
rfl_store_follow_swap (RflStore      **slot,
                       RflStore       *store,
                       GSignalGroup   *store_signals,
                       GCancellable  **cancellable)
{
  g_return_val_if_fail (slot != NULL, FALSE);
  g_return_val_if_fail (store == NULL || RFL_IS_STORE (store), FALSE);

  /* A second dispose finds the page without a store, and without signals. */
  if (*slot == store)
    return FALSE;
  g_return_val_if_fail (G_IS_SIGNAL_GROUP (store_signals), FALSE);
  if (cancellable != NULL)
    {
      g_cancellable_cancel (*cancellable);
      g_clear_object (cancellable);
      *cancellable = g_cancellable_new ();
    }
  g_set_object (slot, store);
  g_signal_group_set_target (store_signals, store);
  return TRUE;
}
