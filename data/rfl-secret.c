/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "rfl-secret.h"
#include "rfl-file.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <termios.h>
#include <unistd.h>
#include <glib/gi18n-lib.h>

void
rfl_secret_free (RflSecret *secret)
{
  if (secret == NULL)
    return;
  if (secret->data != NULL)
    sodium_free (secret->data);
  g_free (secret);
}

RflSecret *
rfl_secret_new (void)
{
  RflSecret *secret = g_new0 (RflSecret, 1);

  secret->data = sodium_malloc (RFL_SECRET_MAX_BYTES + 1);
  if (secret->data == NULL)
    g_error ("cannot allocate protected memory");
  return secret;
}

static gboolean
read_file (const char  *path,
           RflSecret   *secret,
           GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  FILE *f;
  gsize n;
  /* A file, or a pipe (--passphrase-file <(...)); never a folder or a
   * device: a folder read as empty was reported as a wrong passphrase. */
  int fd = rfl_file_open (path, RFL_FILE_OR_PIPE, &local_error);

  if (fd < 0 || (f = fdopen (fd, "rb")) == NULL)
    {
      if (fd >= 0)
        close (fd);
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL, _("cannot read the passphrase file: %s"),
                   local_error != NULL ? local_error->message : g_strerror (errno));
      return FALSE;
    }
  n = fread (secret->data, 1, RFL_SECRET_MAX_BYTES + 1, f);
  if (ferror (f))
    {
      int saved = errno;
      fclose (f);
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   _("cannot read the passphrase file %s: %s"), path, g_strerror (saved));
      return FALSE;
    }
  fclose (f);
  if (n > RFL_SECRET_MAX_BYTES)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   _("the passphrase file %s is longer than %d bytes"), path, RFL_SECRET_MAX_BYTES);
      return FALSE;
    }
  /* One trailing newline is how files end, not part of the passphrase. */
  if (n > 0 && secret->data[n - 1] == '\n')
    n--;
  if (n > 0 && secret->data[n - 1] == '\r')
    n--;
  secret->data[n] = '\0';
  secret->len = n;
  return TRUE;
}

/* Asks on the controlling terminal with echo off. The passphrase is read a
 * byte at a time straight into guarded memory: no stdio buffer keeps a copy. */
static gboolean
prompt (const char  *prompt,
        RflSecret   *secret,
        GError     **error)
{
  struct termios old, quiet;
  gboolean quieted = FALSE;
  gboolean ok = TRUE;
  gsize n = 0;
  ssize_t got;
  char c;
  int fd = g_open ("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY, 0);

  if (fd < 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           _("no passphrase: use --passphrase-file or set REUNITE_PASSPHRASE_FILE"));
      return FALSE;
    }
  if (tcgetattr (fd, &old) == 0)
    {
      quiet = old;
      quiet.c_lflag &= ~(ECHO | ECHONL);
      quieted = tcsetattr (fd, TCSAFLUSH, &quiet) == 0;
    }
  if (write (fd, prompt, strlen (prompt)) < 0)
    ok = FALSE;

  while (ok && (got = read (fd, &c, 1)) == 1 && c != '\n' && c != '\r')
    {
      if (n == RFL_SECRET_MAX_BYTES)
        ok = FALSE;
      else
        secret->data[n++] = c;
    }
  c = 0;
  if (quieted)
    tcsetattr (fd, TCSAFLUSH, &old);
  if (write (fd, "\n", 1) < 0)
    ok = FALSE;
  g_close (fd, NULL);

  secret->data[n] = '\0';
  secret->len = n;
  if (!ok)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                 _("the passphrase could not be read, or is longer than %d bytes"), RFL_SECRET_MAX_BYTES);
  return ok;
}

/**
 * rfl_secret_read_file:
 *
 * Reads a passphrase from @path; one trailing newline is dropped.
 */
RflSecret *
rfl_secret_read_file (const char  *path,
                      GError     **error)
{
  g_autoptr(RflSecret) secret = rfl_secret_new ();

  if (!read_file (path, secret, error))
    return NULL;
  return g_steal_pointer (&secret);
}

/**
 * rfl_secret_prompt:
 *
 * Asks for a passphrase on the controlling terminal, with echo off.
 */
RflSecret *
rfl_secret_prompt (const char  *text,
                   GError     **error)
{
  g_autoptr(RflSecret) secret = rfl_secret_new ();

  if (!prompt (text, secret, error))
    return NULL;
  return g_steal_pointer (&secret);
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
