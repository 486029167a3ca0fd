/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>

#include "rfl-store.h"
#include "rfl-test-util.h"

/*
 * This program is linked with plain libsqlite3 ahead of SQLCipher, as a
 * process that loads libsoup first ends up: sqlite3_open_v2() then comes from
 * SQLite, which ignores keys. The store must refuse to open or create a
 * database rather than write one in plaintext.
 */
static void
test_refuses (void)
{
  g_autofree char *dir = rfl_test_make_dir ();
  g_autofree char *path = g_build_filename (dir, "plain.db", NULL);
  g_autoptr(GError) error = NULL;
  RflStore *store;

  store = rfl_store_create (path, TEST_PASSPHRASE, strlen (TEST_PASSPHRASE), RFL_KDF_INTERACTIVE, &error);
  g_assert_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_ENCRYPTED);
  g_assert_null (store);
  g_assert_false (g_file_test (path, G_FILE_TEST_EXISTS));
  rfl_test_remove_dir (dir);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/rfl/store/refuses-plain-sqlite", test_refuses);
  return g_test_run ();
}
