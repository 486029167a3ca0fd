/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "rfl-sync.h"

G_BEGIN_DECLS

/* The whole of one sync, however many requests and retries it takes. */
#define RFL_SYNC_DEFAULT_DEADLINE_S 300

/* Called in the syncing thread after each bundle sent or applied, with the
 * report so far. */
typedef void (*RflSyncProgressFunc) (const RflSyncReport *report,
                                     gpointer             user_data);

typedef struct
{
  const char          *url;           /* overrides the address from enrollment */
  guint                deadline_s;    /* 0: RFL_SYNC_DEFAULT_DEADLINE_S */
  guint                io_timeout_s;  /* per read or write; 0: 30 s */
  RflSyncProgressFunc  progress;      /* nullable */
  gpointer             progress_data;
} RflSyncOptions;

void     rfl_sync_client_prepare (void);
gboolean rfl_sync_client_enroll (RflStore              *device,
                                 const RflEnrollToken  *token,
                                 const RflSyncOptions  *options,
                                 GError               **error);
gboolean rfl_sync_client_run    (RflStore              *device,
                                 const RflSyncOptions  *options,
                                 RflSyncReport         *report,
                                 GCancellable          *cancellable,
                                 GError               **error);
gboolean rfl_sync_client_ping   (RflStore              *device,
                                 const RflSyncOptions  *options,
                                 GCancellable          *cancellable,
                                 GError               **error);

G_END_DECLS
