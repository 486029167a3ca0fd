/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <adwaita.h>

#include "rfl-sync-agent.h"

G_BEGIN_DECLS

#define RFL_TYPE_APPLICATION (rfl_application_get_type ())

G_DECLARE_FINAL_TYPE (RflApplication, rfl_application, RFL, APPLICATION, AdwApplication)

RflApplication *rfl_application_new               (void) G_GNUC_WARN_UNUSED_RESULT;
const char     *rfl_application_get_database_path (RflApplication *self);
RflSyncAgent   *rfl_application_get_sync_agent    (RflApplication *self);

gboolean        rfl_gl_renderer_is_software       (const char     *renderer);

G_END_DECLS
