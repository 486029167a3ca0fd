/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "rfl-sync-agent.h"

G_BEGIN_DECLS

#define RFL_TYPE_SYNC_PAGE (rfl_sync_page_get_type ())

G_DECLARE_FINAL_TYPE (RflSyncPage, rfl_sync_page, RFL, SYNC_PAGE, AdwBin)

GtkWidget    *rfl_sync_page_new            (void) G_GNUC_WARN_UNUSED_RESULT;
RflSyncAgent *rfl_sync_page_get_agent      (RflSyncPage  *self);
void          rfl_sync_page_set_agent      (RflSyncPage  *self,
                                            RflSyncAgent *agent);

G_END_DECLS
