/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The HQ request router, fed raw HTTP. reunite-hq runs in this process
 * (its main() is compiled in under another name), serving on loopback;
 * each input is written to a fresh connection, which is then read until
 * HQ closes it.
 *
 * First byte even: the rest is sent as it is. Odd: the rest is
 * "METHOD PATH\nBODY", sent as a request signed by an enrolled device, so
 * that what HQ does after authentication is reached. */

#include "rfl-fuzz.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "rfl-request-auth.h"

#include <json-glib/json-glib.h>

int reunite_hq_main (int argc, char *argv[]);

static RflFuzzKeys device;
static guint16 port;
static char *dir;

static int
run_hq (const char *first, ...)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *pass = g_build_filename (dir, "passphrase", NULL);
  const char *arg;
  va_list ap;

  g_ptr_array_add (argv, g_strdup ("reunite-hq"));
  g_ptr_array_add (argv, g_strdup_printf ("--dir=%s", dir));
  g_ptr_array_add (argv, g_strdup_printf ("--passphrase-file=%s", pass));
  va_start (ap, first);
  for (arg = first; arg != NULL; arg = va_arg (ap, const char *))
    g_ptr_array_add (argv, g_strdup (arg));
  va_end (ap);
  g_ptr_array_add (argv, NULL);
  /* GOption takes arguments out of argv: give it a copy. */
  {
    g_autofree char **copy = g_memdup2 (argv->pdata, sizeof (char *) * argv->len);

    return reunite_hq_main ((int) argv->len - 1, copy);
  }
}

static gpointer
serve_thread (gpointer data)
{
  g_autofree char *listen = g_strdup_printf ("--listen=127.0.0.1:%u", port);

  run_hq (listen, "--rate=1000000", "--client-timeout=5", "serve", NULL);
  return NULL;
}

/* A connection to HQ, or -1 when HQ does not accept one. Thousands of
 * connections a second would use up loopback's ephemeral ports in
 * TIME_WAIT, which is this client's doing, not HQ's: each socket is reset
 * when closed (linger 0), and a connect that finds no port free waits. */
static int
connect_hq (void)
{
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons (port) };
  struct timeval tv = { .tv_sec = 2 };
  struct linger reset = { .l_onoff = 1, .l_linger = 0 };

  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  for (int attempt = 0; attempt < 200; attempt++)
    {
      int fd = socket (AF_INET, SOCK_STREAM, 0);

      if (fd < 0)
        return -1;
      setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      setsockopt (fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
      if (connect (fd, (struct sockaddr *) &addr, sizeof addr) == 0)
        return fd;
      close (fd);
      if (errno != EADDRNOTAVAIL && errno != EAGAIN)
        return -1;
      g_usleep (10000);
    }
  return -1;
}

/* Sends @request and reads until HQ closes. Returns the answer's first line. */
static char *
exchange (const guint8 *request,
          gsize         len)
{
  GString *answer = g_string_new (NULL);
  char buf[4096];
  ssize_t n;
  int fd = connect_hq ();

  if (fd < 0)
    abort ();  /* HQ is gone: it crashed or stopped. */
  for (gsize done = 0; done < len; done += (gsize) n)
    if ((n = send (fd, request + done, len - done, MSG_NOSIGNAL)) <= 0)
      break;
  shutdown (fd, SHUT_WR);
  while ((n = recv (fd, buf, sizeof buf, 0)) > 0)
    if (answer->len < 256)
      g_string_append_len (answer, buf, n);
  close (fd);
  return g_string_free (answer, FALSE);
}

static void
enroll (void)
{
  g_autofree char *token_path = g_build_filename (dir, "token", NULL);
  g_autofree char *contents = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *proof_msg = NULL, *body = NULL, *request = NULL, *answer = NULL;
  g_autofree char *out = g_strdup_printf ("--out=%s", token_path);
  g_autofree char *sign_b64 = g_base64_encode (device.sign_pk, sizeof device.sign_pk);
  g_autofree char *box_b64 = g_base64_encode (device.box_pk, sizeof device.box_pk);
  guint8 sig[crypto_sign_BYTES];
  char sig_hex[2 * crypto_sign_BYTES + 1];
  JsonObject *token;

  if (run_hq ("--office=Goma", "--url=http://127.0.0.1/", out,
              "enroll", NULL) != 0 ||
      !g_file_get_contents (token_path, &contents, NULL, NULL) ||
      !json_parser_load_from_data (parser, contents, -1, NULL))
    abort ();
  token = json_node_get_object (json_parser_get_root (parser));
  proof_msg = g_strdup_printf ("reunite-enroll-v1\n%s\n%s", json_object_get_string_member (token, "token"),
                               device.id_hex);
  crypto_sign_detached (sig, NULL, (const guint8 *) proof_msg, strlen (proof_msg), device.sign_sk);
  sodium_bin2hex (sig_hex, sizeof sig_hex, sig, sizeof sig);
  body = g_strdup_printf ("{\"token\":\"%s\",\"secret\":\"%s\",\"device\":\"%s\",\"sign_pk\":\"%s\","
                          "\"box_pk\":\"%s\",\"proof\":\"%s\"}",
                          json_object_get_string_member (token, "token"),
                          json_object_get_string_member (token, "secret"), device.id_hex, sign_b64, box_b64, sig_hex);
  request = g_strdup_printf ("POST /v1/enroll HTTP/1.1\r\nHost: hq\r\nContent-Length: %zu\r\n"
                             "Connection: close\r\n\r\n%s", strlen (body), body);
  answer = exchange ((const guint8 *) request, strlen (request));
  if (!g_str_has_prefix (answer, "HTTP/1.1 200"))
    {
      g_printerr ("enrollment failed: %s\n", answer);
      abort ();
    }
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  struct sockaddr_in addr = { .sin_family = AF_INET };
  socklen_t addr_len = sizeof addr;
  g_autofree char *pass = NULL;
  int fd;

  rfl_fuzz_init ();
  rfl_fuzz_keys (1, &device);
  dir = rfl_fuzz_scratch ("hq");
  g_mkdir_with_parents (dir, 0700);
  pass = g_build_filename (dir, "passphrase", NULL);
  if (!g_file_set_contents_full (pass, "fuzzing fuzzing fuzzing", -1, G_FILE_SET_CONTENTS_NONE, 0600, NULL) ||
      run_hq ("--kdf=interactive", "init", NULL) != 0)
    abort ();

  /* A free port on loopback. */
  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  fd = socket (AF_INET, SOCK_STREAM, 0);
  if (fd < 0 || bind (fd, (struct sockaddr *) &addr, sizeof addr) != 0 ||
      getsockname (fd, (struct sockaddr *) &addr, &addr_len) != 0)
    abort ();
  port = ntohs (addr.sin_port);
  close (fd);

  g_thread_unref (g_thread_new ("hq", serve_thread, NULL));
  for (int i = 0; i < 500; i++)
    {
      if ((fd = connect_hq ()) >= 0)
        {
          close (fd);
          break;
        }
      g_usleep (20000);
    }
  enroll ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *answer = NULL;

  if (size < 1 || size > 1 << 20)
    return 0;
  if (data[0] % 2 == 0)
    answer = exchange (data + 1, size - 1);
  else
    {
      const guint8 *rest = data + 1;
      gsize rest_len = size - 1;
      const guint8 *nl = memchr (rest, '\n', rest_len);
      gsize line_len = nl != NULL ? (gsize) (nl - rest) : rest_len;
      g_autofree char *line = g_strndup ((const char *) rest, line_len);
      const guint8 *body = nl != NULL ? nl + 1 : rest + rest_len;
      gsize body_len = rest_len - (gsize) (body - rest);
      g_auto(GStrv) words = NULL;
      g_autoptr(RflRequestAuth) auth = NULL;
      g_autoptr(GString) request = g_string_new (NULL);

      /* The request line is text: no NUL, CR or LF in it. */
      if (strlen (line) != line_len || strchr (line, '\r') != NULL)
        return 0;
      words = g_strsplit (line, " ", 2);
      if (g_strv_length (words) < 2)
        return 0;
      auth = rfl_request_auth_sign (device.id_hex, words[0], words[1], g_get_real_time () / G_USEC_PER_SEC,
                                    body, body_len, device.sign_sk);
      g_string_append_printf (request, "%s %s HTTP/1.1\r\nHost: hq\r\nConnection: close\r\n"
                              "Reunite-Device: %s\r\nReunite-Time: %s\r\nReunite-Nonce: %s\r\n"
                              "Reunite-Signature: %s\r\nContent-Length: %zu\r\n\r\n",
                              words[0], words[1], auth->device, auth->time, auth->nonce, auth->signature,
                              body_len);
      g_string_append_len (request, (const char *) body, (gssize) body_len);
      answer = exchange ((const guint8 *) request->str, request->len);
    }
  /* HQ answers; a 500 is a finding. */
  if (g_str_has_prefix (answer, "HTTP/1.1 500"))
    {
      g_printerr ("HQ answered 500: %s\n", answer);
      abort ();
    }
  return 0;
}
