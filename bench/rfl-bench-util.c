/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <stdio.h>
#include <string.h>

#include "rfl-bench-util.h"

/**
 * rfl_bench_status_kib:
 * @field: a line of /proc/self/status, with its colon: "VmHWM:" (the peak
 *   resident memory since the last rfl_bench_reset_peak_rss()), "VmRSS:"
 *
 * Returns: its value in KiB, or -1 if it cannot be read
 */
gint64
rfl_bench_status_kib (const char *field)
{
  g_autofree char *status = NULL;
  const char *line;

  if (!g_file_get_contents ("/proc/self/status", &status, NULL, NULL) || (line = strstr (status, field)) == NULL)
    return -1;
  return g_ascii_strtoll (line + strlen (field), NULL, 10);
}

/**
 * rfl_bench_reset_peak_rss:
 *
 * Sets VmHWM back to the current resident memory (Linux >= 4.0).
 */
void
rfl_bench_reset_peak_rss (void)
{
  /* Written in place: g_file_set_contents() would try to rename over it. */
  FILE *f = fopen ("/proc/self/clear_refs", "w");

  if (f != NULL)
    {
      fputs ("5", f);
      fclose (f);
    }
}
