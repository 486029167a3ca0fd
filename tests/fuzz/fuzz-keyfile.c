/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The key file: read before anything is derived from it. */

#include "rfl-fuzz.h"
#include "rfl-keyfile-private.h"

#include <stdlib.h>

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  rfl_fuzz_init ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  RflKeyfileParams p;

  /* What passes must be what Argon2id may be run with. */
  if (rfl_keyfile_parse ((const char *) data, size, &p) &&
      (p.ops < (gint64) crypto_pwhash_OPSLIMIT_MIN || p.ops > 64 ||
       p.mem < (gint64) crypto_pwhash_MEMLIMIT_INTERACTIVE || p.mem > ((gint64) 4 << 30)))
    abort ();
  return 0;
}
