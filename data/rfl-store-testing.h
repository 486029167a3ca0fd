/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include "rfl-store.h"

G_BEGIN_DECLS

/* The schema version this build writes; rfl-migrations.c holds the migrations. */
#define RFL_STORE_SCHEMA_VERSION 15

/* For tests and benchmarks only: never reachable from the programs people run. */
RflStore *rfl_store_create_at_version   (const char  *path,
                                         const char  *passphrase,
                                         gsize        passphrase_len,
                                         RflKdfLevel  level,
                                         guint        version,
                                         GError     **error) G_GNUC_WARN_UNUSED_RESULT;
RflStore *rfl_store_create_unencrypted  (const char  *path,
                                         GError     **error) G_GNUC_WARN_UNUSED_RESULT;
RflStore *rfl_store_open_unencrypted    (const char  *path,
                                         GError     **error) G_GNUC_WARN_UNUSED_RESULT;
char     *rfl_store_dup_pragma          (RflStore    *self,
                                         const char  *pragma) G_GNUC_WARN_UNUSED_RESULT;
gint64    rfl_store_query_int           (RflStore    *self,
                                         const char  *sql,
                                         GError     **error);
gboolean  rfl_store_exec                (RflStore    *self,
                                         const char  *sql,
                                         GError     **error);
gboolean  rfl_store_rehash_all          (RflStore    *self,
                                         GError     **error);
void      rfl_store_set_today           (RflStore    *self,
                                         const char  *date);

G_END_DECLS
