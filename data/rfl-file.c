/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-file"

#include "rfl-file.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n-lib.h>
#include <glib/gstdio.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * Files that come from outside (a token, a key file, a bundle on a USB
 * stick, an import) are read here, never with g_file_get_contents(): a
 * device such as /dev/zero, or a symlink to one, is refused for not being
 * a regular file, and the size limit holds while reading, not after, so a
 * file that grows (or lies about its size) cannot fill memory.
 */

/**
 * rfl_file_open:
 * @path: a file from outside
 * @kinds: what it may be besides a regular file
 *
 * Opens @path for reading and checks what it is.
 *
 * Returns: a file descriptor, or -1 with @error set
 */
int
rfl_file_open (const char   *path,
               RflFileKind   kinds,
               GError      **error)
{
  struct stat st;
  int fd;

  g_return_val_if_fail (path != NULL, -1);

  /* O_NONBLOCK: opening a FIFO with no writer must not hang; cleared below. */
  fd = g_open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _("cannot read %s: %s"), path,
                   g_strerror (saved));
      return -1;
    }
  if (fstat (fd, &st) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _("cannot read %s: %s"), path,
                   g_strerror (saved));
      close (fd);
      return -1;
    }
  if (!(S_ISREG (st.st_mode) || ((kinds & RFL_FILE_OR_PIPE) && S_ISFIFO (st.st_mode))))
    {
      if (S_ISDIR (st.st_mode))
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_IS_DIRECTORY, _("%s is a folder, not a file"), path);
      else if (S_ISFIFO (st.st_mode))
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE, _("%s is a pipe, not a file"), path);
      else
        g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_REGULAR_FILE, _("%s is not a regular file"), path);
      close (fd);
      return -1;
    }
  if (fcntl (fd, F_SETFL, fcntl (fd, F_GETFL) & ~O_NONBLOCK) != 0)
    {
      int saved = errno;
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _("cannot read %s: %s"), path,
                   g_strerror (saved));
      close (fd);
      return -1;
    }
  return fd;
}

/**
 * rfl_file_read:
 * @path: a file from outside
 * @max_bytes: the most it may hold
 * @kinds: what it may be besides a regular file
 *
 * Reads a whole file of at most @max_bytes, refusing it as soon as it
 * holds more.
 *
 * Returns: (transfer full): its bytes, or %NULL with @error set
 */
GBytes *
rfl_file_read (const char   *path,
               gsize         max_bytes,
               RflFileKind   kinds,
               GError      **error)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  int fd = rfl_file_open (path, kinds, error);

  if (fd < 0)
    return NULL;
  for (;;)
    {
      guint8 chunk[16384];
      gssize n = read (fd, chunk, sizeof chunk);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          int saved = errno;
          g_set_error (error, G_IO_ERROR, g_io_error_from_errno (saved), _("cannot read %s: %s"), path,
                       g_strerror (saved));
          close (fd);
          return NULL;
        }
      if (n == 0)
        break;
      if (buf->len + (gsize) n > max_bytes)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE, _("%s is larger than %zu bytes"),
                       path, max_bytes);
          close (fd);
          return NULL;
        }
      g_byte_array_append (buf, chunk, (guint) n);
    }
  close (fd);
  return g_byte_array_free_to_bytes (g_steal_pointer (&buf));
}
