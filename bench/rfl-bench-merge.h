/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

int rfl_bench_merge (gboolean    keyed,
                     const char *dir,
                     const char *input,
                     JsonObject *out);

G_END_DECLS
