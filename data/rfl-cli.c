/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>

#include <sys/prctl.h>
#include <sys/resource.h>

#include "rfl-cli.h"

/**
 * rfl_cli_fail:
 *
 * Prints "PROGRAM: message" on one line, whatever line breaks the lower
 * layers put in it.
 *
 * Returns: 1, the exit status
 */
int
rfl_cli_fail (const char *format,
              ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_strdelimit (message, "\r\n", ' ');
  g_printerr ("%s: %s\n", g_get_prgname () != NULL ? g_get_prgname () : "reunite", message);
  return 1;
}

int
rfl_cli_fail_error (const GError *error)
{
  return rfl_cli_fail ("%s", error->message);
}

/* One JSON object, one line, flushed: a supervisor may be reading. */
void
rfl_cli_print_object (JsonObject *obj)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), obj);
  g_autofree char *text = json_to_string (node, FALSE);

  fputs (text, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
}

/**
 * rfl_process_harden:
 *
 * Records and keys pass through the memory of every Reunite program: no core
 * dump may write them to disk, and other processes of the same user may not
 * read that memory through ptrace or /proc.
 */
void
rfl_process_harden (void)
{
  struct rlimit none = { 0, 0 };

  setrlimit (RLIMIT_CORE, &none);
  prctl (PR_SET_DUMPABLE, 0, 0, 0, 0);
}
