/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "rfl-test-util.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <glib/gi18n.h>
#include <locale.h>
#include <string.h>

char *
rfl_test_make_dir (void)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("rfl-test-XXXXXX", &error);

  g_assert_no_error (error);
  return dir;
}

void
rfl_test_remove_dir (const char *dir)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    return;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        rfl_test_remove_dir (path);
      else
        g_unlink (path);
    }
  g_rmdir (dir);
}

JsonObject *
rfl_test_object (const char *json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = json_from_string (json, &error);

  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

gboolean
rfl_test_file_contains (const char *path,
                        const char *needle)
{
  g_autofree char *contents = NULL;
  gsize len = 0, n = strlen (needle);

  if (!g_file_get_contents (path, &contents, &len, NULL))
    return FALSE;
  return n <= len && memmem (contents, len, needle, n) != NULL;
}

/* Whether any regular file under @dir, at any depth, holds @needle. */
gboolean
rfl_test_dir_contains (const char *dir,
                       const char *needle)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL)
    return FALSE;
  while ((name = g_dir_read_name (d)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        continue;
      if (g_file_test (path, G_FILE_TEST_IS_DIR) ? rfl_test_dir_contains (path, needle)
                                                 : rfl_test_file_contains (path, needle))
        {
          g_test_message ("'%s' found in %s", needle, path);
          return TRUE;
        }
    }
  return FALSE;
}

/* Switches the process to @locale and reads Reunite's catalogues from the
 * build tree, as the app does. Fails if the locale is missing: ./dev makes it. */
void
rfl_test_use_locale (const char *locale)
{
  const char *dir = g_getenv ("REUNITE_LOCALEDIR");

  g_assert_nonnull (dir);
  g_unsetenv ("LANGUAGE");
  g_assert_nonnull (setlocale (LC_ALL, locale));
  bindtextdomain ("reunite", dir);
  bind_textdomain_codeset ("reunite", "UTF-8");
}
