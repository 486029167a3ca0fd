/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define RFL_SECRET_MAX_BYTES 1024

/**
 * RflSecret:
 * @data: the passphrase, NUL-terminated, in guarded memory (sodium_malloc)
 * @len: its length in bytes
 *
 * A passphrase, wiped when freed.
 */
typedef struct
{
  char  *data;
  gsize  len;
} RflSecret;

RflSecret *rfl_secret_new        (void) G_GNUC_WARN_UNUSED_RESULT;
void       rfl_secret_free       (RflSecret   *secret);
RflSecret *rfl_secret_read_file  (const char  *path,
                                  GError     **error) G_GNUC_WARN_UNUSED_RESULT;
RflSecret *rfl_secret_prompt     (const char  *text,
                                  GError     **error) G_GNUC_WARN_UNUSED_RESULT;
void       rfl_process_harden    (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflSecret, rfl_secret_free)

G_END_DECLS
