/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <sqlite3.h>

G_BEGIN_DECLS

gboolean rfl_rank_register        (sqlite3    *db);
double   rfl_rank_name_similarity (const char *query,
                                   const char *latin);

G_END_DECLS
