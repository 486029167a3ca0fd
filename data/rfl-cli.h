/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* What reunite-cli and reunite-hq share: errors as one line on stderr,
 * prefixed with the program's name, and results as JSON lines on stdout. */

int  rfl_cli_fail         (const char   *format,
                           ...) G_GNUC_PRINTF (1, 2);
int  rfl_cli_fail_error   (const GError *error);
void rfl_cli_print_object (JsonObject   *obj);
void rfl_process_harden   (void);

G_END_DECLS
