/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <glib/gi18n.h>
#include <locale.h>
#include <sodium.h>

#include "rfl-application.h"
#include "rfl-secret.h"
#include "rfl-sync-client.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(RflApplication) app = NULL;

  rfl_process_harden ();
  rfl_sync_client_prepare ();
  setlocale (LC_ALL, "");
  /* Uninstalled runs (./dev run, ./dev shots, tests) use the catalogs in the build tree. */
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("REUNITE_LOCALEDIR") != NULL ? g_getenv ("REUNITE_LOCALEDIR")
                                                                         : LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* GSettings aborts on a schema it cannot find; say what to do instead. */
  {
    GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
    g_autoptr(GSettingsSchema) schema = source != NULL
                                        ? g_settings_schema_source_lookup (source, APPLICATION_ID, TRUE)
                                        : NULL;

    if (schema == NULL)
      {
        g_printerr (_("reunite: the settings schema %s is not installed; from a build directory, "
                      "run “meson devenv -C build reunite” or “./dev run”\n"), APPLICATION_ID);
        return 1;
      }
  }

  if (sodium_init () < 0)
    {
      g_printerr ("reunite: libsodium could not be initialised\n");
      return 1;
    }
  app = rfl_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
