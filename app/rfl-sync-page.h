/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "rfl-store.h"

G_BEGIN_DECLS

/**
 * RflLinkState:
 * @RFL_LINK_UNKNOWN: not checked yet
 * @RFL_LINK_OFFLINE: no network
 * @RFL_LINK_UNREACHABLE: a network, but HQ did not answer a signed ping
 * @RFL_LINK_ONLINE: HQ answered a signed ping
 */
typedef enum
{
  RFL_LINK_UNKNOWN,
  RFL_LINK_OFFLINE,
  RFL_LINK_UNREACHABLE,
  RFL_LINK_ONLINE,
} RflLinkState;

#define RFL_TYPE_SYNC_PAGE (rfl_sync_page_get_type ())

G_DECLARE_FINAL_TYPE (RflSyncPage, rfl_sync_page, RFL, SYNC_PAGE, AdwBin)

GtkWidget    *rfl_sync_page_new            (void) G_GNUC_WARN_UNUSED_RESULT;
void          rfl_sync_page_set_store      (RflSyncPage  *self,
                                            RflStore     *store);
void          rfl_sync_page_refresh        (RflSyncPage  *self);
void          rfl_sync_page_sync_now       (RflSyncPage  *self);
void          rfl_sync_page_enroll         (RflSyncPage  *self,
                                            GFile        *token);
void          rfl_sync_page_write_usb      (RflSyncPage  *self,
                                            GFile        *folder);
void          rfl_sync_page_read_usb       (RflSyncPage  *self,
                                            GFile        *folder);
void          rfl_sync_page_resolve        (RflSyncPage  *self,
                                            const char   *conflict_id,
                                            gboolean      take);
RflLinkState  rfl_sync_page_get_link       (RflSyncPage  *self);
gboolean      rfl_sync_page_get_busy       (RflSyncPage  *self);
gboolean      rfl_sync_page_get_enrolled   (RflSyncPage  *self);
gint64        rfl_sync_page_get_pending    (RflSyncPage  *self);
GPtrArray    *rfl_sync_page_get_conflicts  (RflSyncPage  *self);
const char   *rfl_sync_page_get_error      (RflSyncPage  *self);
const char   *rfl_sync_page_get_last_sync  (RflSyncPage  *self);

G_END_DECLS
