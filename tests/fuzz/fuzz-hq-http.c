/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The HQ request router, fed raw HTTP. RflHqServer, as reunite-hq serves
 * with it, runs on its own thread and main context in this process,
 * serving on loopback; each input is written to a fresh connection, which
 * is then read until HQ closes it.
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

#include "rfl-hq-server.h"
#include "rfl-protocol.h"
#include "rfl-request-auth.h"
#include "rfl-sync.h"

#include <json-glib/json-glib.h>

static RflFuzzKeys device;
static RflStore *hq;
static gint port;    /* atomic: set by the server's thread once it listens */

/* The server's thread: HQ as `reunite-hq serve` runs it, with every
 * request allowed (the rate limit would refuse most inputs otherwise). */
static gpointer
serve_thread (gpointer data)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GMainLoop) loop = g_main_loop_new (context, FALSE);
  g_autoptr(RflHqServer) server = NULL;
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string ("127.0.0.1", 0);
  g_autoptr(GSocketAddress) effective = NULL;

  g_main_context_push_thread_default (context);
  server = rfl_hq_server_new (hq, NULL);
  if (server == NULL)
    abort ();
  rfl_hq_server_set_rate (server, 1000000);
  rfl_hq_server_set_client_timeout (server, 5);
  if (!rfl_hq_server_listen (server, address, &effective, NULL))
    abort ();
  g_atomic_int_set (&port,
                    (gint) g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (effective)));
  g_main_loop_run (loop);
  return NULL;
}

/* A connection to HQ, or -1 when HQ does not accept one. Thousands of
 * connections a second would use up loopback's ephemeral ports in
 * TIME_WAIT, which is this client's doing, not HQ's: each socket is reset
 * when closed (linger 0), and a connect that finds no port free waits. */
static int
connect_hq (void)
{
  struct sockaddr_in addr = { .sin_family = AF_INET };
  struct timeval tv = { .tv_sec = 2 };
  struct linger reset = { .l_onoff = 1, .l_linger = 0 };

  addr.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  addr.sin_port = htons ((guint16) g_atomic_int_get (&port));
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
  g_autoptr(GBytes) contents = NULL;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autofree char *proof_msg = NULL, *body = NULL, *request = NULL, *answer = NULL;
  g_autofree char *sign_b64 = g_base64_encode (device.sign_pk, sizeof device.sign_pk);
  g_autofree char *box_b64 = g_base64_encode (device.box_pk, sizeof device.box_pk);
  guint8 sig[crypto_sign_BYTES];
  char sig_hex[2 * crypto_sign_BYTES + 1];
  JsonObject *token;

  contents = rfl_enroll_token_new (hq, "Goma", "http://127.0.0.1/", NULL,
                                   (gint64) 72 * 3600 * 1000, NULL);
  if (contents == NULL ||
      !json_parser_load_from_data (parser, g_bytes_get_data (contents, NULL),
                                   (gssize) g_bytes_get_size (contents), NULL))
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
  request = g_strdup_printf ("POST " RFL_PROTOCOL_PATH_ENROLL " HTTP/1.1\r\nHost: hq\r\n"
                             "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                             strlen (body), body);
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
  rfl_fuzz_init ();
  rfl_fuzz_keys (1, &device);
  hq = rfl_fuzz_new_store ("hq.db");
  g_thread_unref (g_thread_new ("hq", serve_thread, NULL));
  while (g_atomic_int_get (&port) == 0)
    g_usleep (1000);
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
