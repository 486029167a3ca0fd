/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "rfl-store.h"

G_BEGIN_DECLS

typedef struct
{
  char        *dir;
  char        *pw;
  GSubprocess *proc;
  char        *url;
  guint16      port;
} Hq;

Hq       *hq_new     (const char *dir);
void      hq_free    (Hq         *hq);
void      hq_start   (Hq         *hq);
void      hq_kill    (Hq         *hq);
char     *hq_run     (Hq         *hq,
                      int         expect_status,
                      const char *first,
                      ...) G_GNUC_NULL_TERMINATED;
RflStore *hq_store   (Hq         *hq);
char     *make_token (Hq         *hq,
                      const char *office,
                      const char *dir);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Hq, hq_free)

G_END_DECLS
