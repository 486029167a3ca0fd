/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * HQ for tests: its own encrypted store in a temporary directory, serving
 * on 127.0.0.1 at a port the kernel picks. Either a real reunite-hq,
 * killed with the test, where a process is the point (kill -9, a restart),
 * or RflHqServer on a thread of the test with its own main context, as
 * libsoup's tests run their servers: no process to start, and the same
 * server. Operator commands always run the real program.
 */
#include <gio/gio.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "rfl-hq-server.h"
#include "rfl-test-hq.h"
#include "rfl-test-util.h"

static const char *
hq_binary (void)
{
  const char *path = g_getenv ("REUNITE_HQ");

  g_assert_nonnull (path);
  return path;
}

/* Runs an operator command; returns its standard output. */
char *
hq_run (Hq         *hq,
        int         expect_status,
        const char *first,
        ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) proc = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL, *err = NULL;
  va_list ap;

  g_ptr_array_add (argv, (char *) hq_binary ());
  g_ptr_array_add (argv, (char *) "--dir");
  g_ptr_array_add (argv, hq->dir);
  g_ptr_array_add (argv, (char *) "--passphrase-file");
  g_ptr_array_add (argv, hq->pw);
  va_start (ap, first);
  for (const char *arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, (char *) arg);
  va_end (ap);
  g_ptr_array_add (argv, NULL);

  proc = g_subprocess_newv ((const char * const *) argv->pdata,
                            G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (proc, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (g_subprocess_get_exit_status (proc) != expect_status)
    g_error ("reunite-hq %s exited %d: %s", first, g_subprocess_get_exit_status (proc), err);
  return g_steal_pointer (&out);
}

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

static void
set_port (Hq      *hq,
          guint16  port)
{
  g_assert_cmpuint (port, >, 0);
  hq->port = port;
  g_free (hq->url);
  hq->url = g_strdup_printf ("http://127.0.0.1:%u", hq->port);
}

static void
start_process (Hq *hq)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDataInputStream) in = NULL;
  g_autofree char *line = NULL;
  g_autoptr(JsonObject) obj = NULL;
  const char *listening;

  g_autofree char *listen = g_strdup_printf ("127.0.0.1:%u", hq->port);

  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);

  /* The server dies with the test, even when an assertion aborts it. */
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  hq->proc = g_subprocess_launcher_spawn (launcher, &error, hq_binary (), "--dir", hq->dir,
                                          "--passphrase-file", hq->pw, "--client-timeout", "2",
                                          "--max-body", "33554432", "serve", "--listen", listen, NULL);
  g_assert_no_error (error);
  in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (hq->proc));
  line = g_data_input_stream_read_line (in, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  obj = rfl_test_object (line);
  listening = json_object_get_string_member (obj, "listening");
  g_assert_true (g_str_has_prefix (listening, "127.0.0.1:"));
  set_port (hq, (guint16) atoi (strchr (listening, ':') + 1));
}

/* The server's thread: HQ's store opened as `serve` opens it, and served
 * until hq_kill() quits the loop; the server goes with the thread. The
 * limits are those start_process() gives the program. */
static gpointer
serve_thread (gpointer data)
{
  Hq *hq = data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GMainLoop) loop = g_main_loop_new (context, FALSE);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string ("127.0.0.1", hq->port);
  g_autoptr(GSocketAddress) effective = NULL;
  g_autoptr(RflHqServer) server = NULL;
  g_autoptr(RflStore) store = NULL;
  g_autoptr(GError) error = NULL;

  g_main_context_push_thread_default (context);
  store = hq_store (hq);
  server = rfl_hq_server_new (store, &error);
  g_assert_no_error (error);
  rfl_hq_server_set_client_timeout (server, 2);
  rfl_hq_server_set_max_body (server, 33554432);
  if (!rfl_hq_server_listen (server, address, &effective, &error))
    g_error ("HQ cannot listen: %s", error->message);

  g_mutex_lock (&hq->lock);
  set_port (hq, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective)));
  hq->loop = g_main_loop_ref (loop);
  g_cond_signal (&hq->listening);
  g_mutex_unlock (&hq->lock);

  g_main_loop_run (loop);
  g_clear_object (&server);
  g_clear_object (&store);
  /* What the server left to finish (cancelled accepts, closed connections). */
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
  return NULL;
}

static void
start_thread (Hq *hq)
{
  g_mutex_lock (&hq->lock);
  hq->thread = g_thread_new ("hq", serve_thread, hq);
  while (hq->loop == NULL)
    g_cond_wait (&hq->listening, &hq->lock);
  g_mutex_unlock (&hq->lock);
}

/* Port 0 the first time; a restart keeps the port devices know. */
void
hq_start (Hq *hq)
{
  if (hq->in_process)
    start_thread (hq);
  else
    start_process (hq);
}

static gboolean
quit_cb (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

/* A real reunite-hq gets SIGKILL; the server in this process stops. The
 * loop is told from inside, as it may not be running yet. */
void
hq_kill (Hq *hq)
{
  if (hq->thread != NULL)
    {
      g_autoptr(GSource) quit = g_idle_source_new ();

      g_source_set_callback (quit, quit_cb, hq->loop, NULL);
      g_source_attach (quit, g_main_loop_get_context (hq->loop));
      g_thread_join (g_steal_pointer (&hq->thread));
      g_clear_pointer (&hq->loop, g_main_loop_unref);
    }
  if (hq->proc == NULL)
    return;
  g_subprocess_send_signal (hq->proc, SIGKILL);
  g_subprocess_wait (hq->proc, NULL, NULL);
  g_clear_object (&hq->proc);
}

static Hq *
hq_new_full (const char *dir,
             gboolean    in_process)
{
  Hq *hq = g_new0 (Hq, 1);
  g_autoptr(GError) error = NULL;

  hq->dir = g_build_filename (dir, "hq", NULL);
  hq->pw = g_build_filename (dir, "hq-pw", NULL);
  hq->in_process = in_process;
  g_mutex_init (&hq->lock);
  g_cond_init (&hq->listening);
  g_file_set_contents (hq->pw, TEST_PASSPHRASE "-hq", -1, &error);
  g_assert_no_error (error);
  g_free (hq_run (hq, 0, "--kdf", "interactive", "init", NULL));
  hq_start (hq);
  return hq;
}

/* A real reunite-hq, for tests where the process is the point. */
Hq *
hq_new (const char *dir)
{
  return hq_new_full (dir, FALSE);
}

/* RflHqServer in this process, on a thread of its own. */
Hq *
hq_new_in_process (const char *dir)
{
  return hq_new_full (dir, TRUE);
}

void
hq_free (Hq *hq)
{
  hq_kill (hq);
  g_mutex_clear (&hq->lock);
  g_cond_clear (&hq->listening);
  g_free (hq->dir);
  g_free (hq->pw);
  g_free (hq->url);
  g_free (hq);
}

/* Opens HQ's own store while the server runs, as an operator command would. */
RflStore *
hq_store (Hq *hq)
{
  g_autofree char *path = g_build_filename (hq->dir, "hq.db", NULL);
  g_autoptr(GError) error = NULL;
  const char *pw = TEST_PASSPHRASE "-hq";
  RflStore *store = rfl_store_open (path, pw, strlen (pw), &error);

  g_assert_no_error (error);
  return store;
}

char *
make_token (Hq         *hq,
            const char *office,
            const char *dir)
{
  static guint n;
  g_autofree char *name = g_strdup_printf ("token-%u", ++n);
  char *path = g_build_filename (dir, name, NULL);

  g_free (hq_run (hq, 0, "enroll", "--office", office, "--url", hq->url, "--out", path, NULL));
  return path;
}
