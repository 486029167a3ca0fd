/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gint64 rfl_bench_status_kib     (const char *field);
void   rfl_bench_reset_peak_rss (void);

G_END_DECLS
