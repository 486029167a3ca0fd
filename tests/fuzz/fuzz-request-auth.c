/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Request authentication, from the four headers a request carries.
 *
 * The input is lines: device, time, nonce, signature, method, path, then
 * the body. First byte odd: the request is signed here with a known
 * device's key (over the given method, path, time and body), so that the
 * checks after the signature run; a request that verifies must not verify
 * a second time (a replay). */

#include "rfl-fuzz.h"
#include "rfl-request-auth.h"

#include <stdlib.h>
#include <string.h>

static RflFuzzKeys device;
static RflReplayCache *replays;

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  rfl_fuzz_init ();
  rfl_fuzz_keys (1, &device);
  replays = rfl_replay_cache_new (4096);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;
  const char *body;
  gsize body_len;
  RflRequestAuth given = { 0 };
  g_autoptr(RflRequestAuth) made = NULL;
  const RflRequestAuth *auth = &given;
  gint64 now = 1800000000;

  if (size < 1)
    return 0;
  text = g_strndup ((const char *) data + 1, size - 1);
  lines = g_strsplit (text, "\n", 7);
  if (g_strv_length (lines) < 7)
    return 0;
  given.device = lines[0];
  given.time = lines[1];
  given.nonce = lines[2];
  given.signature = lines[3];
  body = lines[6];
  body_len = strlen (body);
  if (data[0] % 2 == 1)
    {
      /* A request made now, or at any time a clock could show. */
      gint64 when = g_ascii_strtoll (lines[1], NULL, 10) % ((gint64) 1 << 40);

      made = rfl_request_auth_sign (device.id_hex, lines[4], lines[5], when, (const guint8 *) body, body_len,
                                    device.sign_sk);
      auth = made;
      now = when;
    }
  if (rfl_request_auth_verify (auth, lines[4], lines[5], (const guint8 *) body, body_len, device.sign_pk, now,
                               replays, NULL) &&
      rfl_request_auth_verify (auth, lines[4], lines[5], (const guint8 *) body, body_len, device.sign_pk, now,
                               replays, NULL))
    abort ();
  return 0;
}
