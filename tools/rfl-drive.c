/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Driving the real app window from a program (the screenshots, the app
 * benchmark): finding its widgets and waiting on it.
 */
#include "rfl-drive.h"

/**
 * rfl_drive_find_type:
 * @root: a widget
 * @type: a widget type
 *
 * Returns: (transfer none) (nullable): the first widget of @type in @root's
 *   tree, @root included, depth first
 */
GtkWidget *
rfl_drive_find_type (GtkWidget *root,
                     GType      type)
{
  if (G_TYPE_CHECK_INSTANCE_TYPE (root, type))
    return root;
  for (GtkWidget *c = gtk_widget_get_first_child (root); c != NULL; c = gtk_widget_get_next_sibling (c))
    {
      GtkWidget *found = rfl_drive_find_type (c, type);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
wake_cb (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/**
 * rfl_drive_wait_for:
 * @done: checked after each main loop iteration
 * @data: passed to @done
 * @timeout_ms: how long to wait at most
 *
 * Runs the main loop until @done returns %TRUE. The loop sleeps between
 * events; a wake-up every 50 ms makes sure the timeout is seen.
 *
 * Returns: %FALSE if @timeout_ms passed first
 */
gboolean
rfl_drive_wait_for (gboolean (*done) (gpointer),
                    gpointer   data,
                    guint      timeout_ms)
{
  gint64 end = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  guint wake = g_timeout_add (50, wake_cb, NULL);
  gboolean ok;

  while (!(ok = done (data)) && g_get_monotonic_time () <= end)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (wake);
  return ok;
}
