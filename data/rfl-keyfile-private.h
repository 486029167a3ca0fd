/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

#include "rfl-store.h"

G_BEGIN_DECLS

/* The data key is 256 bits, as SQLCipher's raw-key mode expects. */
#define RFL_DATA_KEY_BYTES 32

/* What a key file holds, as rfl_keyfile_parse() reads it. */
typedef struct
{
  gint64 ops;
  gint64 mem;
  guint8 salt[16];                        /* crypto_pwhash_SALTBYTES */
  guint8 nonce[24];                       /* XChaCha20-Poly1305's */
  guint8 wrapped[RFL_DATA_KEY_BYTES + 16];
} RflKeyfileParams;

gboolean  rfl_keyfile_parse        (const char       *contents,
                                    gsize             len,
                                    RflKeyfileParams *out);
guint8   *rfl_keyfile_new_data_key (void);
void      rfl_keyfile_free_key     (guint8       *key);
gboolean  rfl_keyfile_write        (const char   *path,
                                    const guint8 *data_key,
                                    const char   *passphrase,
                                    gsize         passphrase_len,
                                    RflKdfLevel   level,
                                    GError      **error);
guint8   *rfl_keyfile_unwrap       (const char   *path,
                                    const char   *passphrase,
                                    gsize         passphrase_len,
                                    GError      **error);
gboolean  rfl_keyfile_destroy      (const char   *path,
                                    GError      **error);

G_END_DECLS
