/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef enum
{
  RFL_FILE_REGULAR = 0,        /* a regular file only */
  RFL_FILE_OR_PIPE = 1 << 0,   /* a pipe too: read once, from start to end */
} RflFileKind;

GBytes  *rfl_file_read        (const char   *path,
                               gsize         max_bytes,
                               RflFileKind   kinds,
                               GError      **error) G_GNUC_WARN_UNUSED_RESULT;
int      rfl_file_open        (const char   *path,
                               RflFileKind   kinds,
                               GError      **error);

G_END_DECLS
