/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define TEST_PASSPHRASE "correct horse battery staple"

char       *rfl_test_make_dir     (void);
void        rfl_test_remove_dir   (const char *dir);
JsonObject *rfl_test_object       (const char *json);
gboolean    rfl_test_file_contains (const char *path,
                                    const char *needle);
gboolean    rfl_test_dir_contains (const char *dir,
                                   const char *needle);

void        rfl_test_use_locale   (const char *locale);

G_END_DECLS
