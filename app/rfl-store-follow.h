/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gtk/gtk.h>

#include "rfl-store.h"

G_BEGIN_DECLS

GBindingGroup *rfl_store_follow_window (GtkWidget      *page) G_GNUC_WARN_UNUSED_RESULT;
gboolean       rfl_store_follow_swap   (RflStore      **slot,
                                        RflStore       *store,
                                        GSignalGroup   *store_signals,
                                        GCancellable  **cancellable) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
