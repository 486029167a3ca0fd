/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <glib/gi18n.h>
#include <locale.h>
#include <sodium.h>

#include "rfl-application.h"
#include "rfl-cli.h"
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

  if (sodium_init () < 0)
    {
      g_printerr ("reunite: libsodium could not be initialised\n");
      return 1;
    }
  app = rfl_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
