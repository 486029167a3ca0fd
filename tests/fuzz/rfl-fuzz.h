/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "rfl-store.h"

G_BEGIN_DECLS

/* Keys made from a fixed seed, so that a run can sign and seal what the
 * receiver then checks, and a saved input means the same thing later. */
typedef struct
{
  guint8 sign_pk[crypto_sign_PUBLICKEYBYTES];
  guint8 sign_sk[crypto_sign_SECRETKEYBYTES];
  guint8 box_pk[crypto_box_PUBLICKEYBYTES];
  guint8 box_sk[crypto_box_SECRETKEYBYTES];
  guint8 id[16];
  char   id_hex[33];
} RflFuzzKeys;

void   rfl_fuzz_init       (void);
void   rfl_fuzz_keys       (guint8       seed,
                            RflFuzzKeys *out);
char  *rfl_fuzz_scratch    (const char  *name);
RflStore *rfl_fuzz_new_store (const char *name);

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);
int LLVMFuzzerInitialize   (int *argc, char ***argv);

G_END_DECLS
