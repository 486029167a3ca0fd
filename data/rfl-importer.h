/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

#include "rfl-store.h"

G_BEGIN_DECLS

/**
 * RflImportPhase:
 * @RFL_IMPORT_CHECKING: the first pass, checking every line; @done and @total are bytes
 * @RFL_IMPORT_WRITING: a batch was committed; @done is the last input line it holds
 */
typedef enum
{
  RFL_IMPORT_CHECKING,
  RFL_IMPORT_WRITING,
} RflImportPhase;

/* Records per transaction: an interrupted import loses at most one batch. */
#define RFL_IMPORT_BATCH 5000

typedef void (*RflImportProgressFunc) (RflImportPhase phase,
                                       guint64        done,
                                       guint64        total,
                                       gpointer       user_data);

#define RFL_TYPE_IMPORTER (rfl_importer_get_type ())

G_DECLARE_FINAL_TYPE (RflImporter, rfl_importer, RFL, IMPORTER, GObject)

RflImporter *rfl_importer_new           (const char             *path);
void         rfl_importer_set_progress  (RflImporter            *self,
                                         RflImportProgressFunc   func,
                                         gpointer                user_data);
gboolean     rfl_importer_check         (RflImporter            *self,
                                         GError                **error);
gboolean     rfl_importer_run           (RflImporter            *self,
                                         RflStore               *store,
                                         GError                **error);
guint64      rfl_importer_get_lines     (RflImporter            *self);
guint64      rfl_importer_get_imported  (RflImporter            *self);
guint64      rfl_importer_get_resumed   (RflImporter            *self);

G_END_DECLS
