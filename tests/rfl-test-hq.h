/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "rfl-store.h"

G_BEGIN_DECLS

typedef struct
{
  char        *dir;
  char        *pw;
  char        *url;
  guint16      port;
  GSubprocess *proc;       /* a real reunite-hq... */
  gboolean     in_process; /* ...or RflHqServer on a thread of this process: */
  GThread     *thread;
  GMainLoop   *loop;       /* the thread's, set once it listens */
  GMutex       lock;
  GCond        listening;
} Hq;

Hq       *hq_new            (const char *dir);
Hq       *hq_new_in_process (const char *dir);
void      hq_free           (Hq         *hq);
void      hq_start          (Hq         *hq);
void      hq_kill           (Hq         *hq);
char     *hq_run            (Hq         *hq,
                             int         expect_status,
                             const char *first,
                             ...) G_GNUC_NULL_TERMINATED;
RflStore *hq_store          (Hq         *hq);
char     *make_token        (Hq         *hq,
                             const char *office,
                             const char *dir);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Hq, hq_free)

G_END_DECLS
