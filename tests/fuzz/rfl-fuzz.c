/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What every fuzz target shares. */

#include "rfl-fuzz.h"

#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

static char *scratch;

static void
remove_tree (const char *path)
{
  GDir *dir = g_dir_open (path, 0, NULL);
  const char *name;

  if (dir != NULL)
    {
      while ((name = g_dir_read_name (dir)) != NULL)
        {
          g_autofree char *child = g_build_filename (path, name, NULL);

          if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
            remove_tree (child);
          else
            g_unlink (child);
        }
      g_dir_close (dir);
    }
  g_rmdir (path);
}

static void
remove_scratch (void)
{
  if (scratch != NULL)
    remove_tree (scratch);
}

/* Hostile input may be refused; it may never make the code contradict
 * itself. A critical (a failed precondition) is a finding: abort() (which
 * libFuzzer catches and saves the input for), not GLib's breakpoint trap. */
static GLogWriterOutput
writer (GLogLevelFlags   level,
        const GLogField *fields,
        gsize            n_fields,
        gpointer         user_data)
{
  g_log_writer_standard_streams (level, fields, n_fields, user_data);
  if (level & (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_ERROR))
    abort ();
  return G_LOG_WRITER_HANDLED;
}

void
rfl_fuzz_init (void)
{
  if (sodium_init () < 0)
    abort ();
  g_log_set_writer_func (writer, NULL, NULL);
  g_setenv ("LC_ALL", "C.UTF-8", TRUE);
}

void
rfl_fuzz_keys (guint8       seed,
               RflFuzzKeys *out)
{
  guint8 bytes[crypto_sign_SEEDBYTES];

  memset (bytes, seed, sizeof bytes);
  crypto_sign_seed_keypair (out->sign_pk, out->sign_sk, bytes);
  bytes[0] ^= 0xff;
  crypto_box_seed_keypair (out->box_pk, out->box_sk, bytes);
  crypto_generichash (out->id, sizeof out->id, out->sign_pk, sizeof out->sign_pk, NULL, 0);
  sodium_bin2hex (out->id_hex, sizeof out->id_hex, out->id, sizeof out->id);
}

/* A path under a directory of this process's own, removed at exit. */
char *
rfl_fuzz_scratch (const char *name)
{
  if (scratch == NULL)
    {
      scratch = g_dir_make_tmp ("reunite-fuzz-XXXXXX", NULL);
      if (scratch == NULL)
        abort ();
      atexit (remove_scratch);
    }
  return g_build_filename (scratch, name, NULL);
}

/* A new encrypted store in the scratch directory, with the cheapest KDF. */
RflStore *
rfl_fuzz_new_store (const char *name)
{
  static const char passphrase[] = "fuzzing fuzzing fuzzing";
  g_autofree char *path = rfl_fuzz_scratch (name);
  RflStore *store = rfl_store_create (path, passphrase, strlen (passphrase), RFL_KDF_INTERACTIVE, NULL);

  if (store == NULL)
    abort ();
  return store;
}
