/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The envelope parser and opener.
 *
 * First byte even: the rest is an envelope as it arrives. Its header is
 * re-signed with a known device's key (and its payload hash set) before
 * the receiver checks it, so that mutations reach the chain check and the
 * decryption, not only the signature.
 *
 * First byte odd: the rest is a bundle's plaintext. It is sealed, then
 * parsed, verified and opened as a receiver would; what opens must be what
 * was sealed. */

#include "rfl-fuzz.h"
#include "rfl-envelope.h"
#include "rfl-json.h"

#include <stdlib.h>
#include <string.h>

#define FIXED_BYTES 130
#define SIG_BYTES   64

static RflFuzzKeys device, hq;

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  rfl_fuzz_init ();
  rfl_fuzz_keys (1, &device);
  rfl_fuzz_keys (2, &hq);
  return 0;
}

static void
receive (GBytes *bytes)
{
  static const guint8 zeros[32];
  g_autoptr(RflEnvelope) env = rfl_envelope_parse (bytes, NULL);
  g_autoptr(GBytes) plain = NULL;

  if (env == NULL || !rfl_envelope_verify (env, device.sign_pk, NULL))
    return;
  rfl_envelope_check_chain (env, 1, zeros, NULL);
  rfl_envelope_check_chain (env, rfl_envelope_get_seq_from (env), zeros, NULL);
  if ((plain = rfl_envelope_open (env, hq.id, hq.box_pk, hq.box_sk, NULL)) != NULL)
    {
      gsize len;
      const char *text = g_bytes_get_data (plain, &len);
      g_autoptr(JsonObject) obj = rfl_json_parse_object (text != NULL ? text : "", len, "the bundle", NULL);

      /* An object parses only if it is the whole text. */
      if (obj != NULL && len == 0)
        abort ();
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  if (size < 1)
    return 0;
  if (data[0] % 2 == 0)
    {
      g_autofree guint8 *copy = g_memdup2 (data + 1, size - 1);
      gsize len = size - 1;
      g_autoptr(GBytes) bytes = NULL;

      /* The sender, payload hash and signature a device would give it. */
      if (len >= FIXED_BYTES + SIG_BYTES)
        {
          guint header_len = (guint) copy[6] << 8 | copy[7];

          memcpy (copy + 8, device.id, sizeof device.id);
          if (header_len >= FIXED_BYTES + SIG_BYTES && header_len <= len)
            {
              crypto_generichash (copy + 96, 32, copy + header_len, len - header_len, NULL, 0);
              crypto_sign_detached (copy + header_len - SIG_BYTES, NULL, copy, header_len - SIG_BYTES,
                                    device.sign_sk);
            }
        }
      bytes = g_bytes_new_take (g_steal_pointer (&copy), len);
      receive (bytes);
    }
  else
    {
      g_autoptr(GBytes) plain = g_bytes_new (data + 1, size - 1);
      g_autoptr(GBytes) sealed = NULL;
      g_autoptr(RflEnvelope) env = NULL;
      g_autoptr(GBytes) opened = NULL;
      RflEnvelopeRecipient to = { 0 };
      guint8 stream[16] = { 0 };

      memcpy (to.id, hq.id, sizeof to.id);
      memcpy (to.box_pk, hq.box_pk, sizeof to.box_pk);
      sealed = rfl_envelope_seal (device.id, stream, 1, 1, NULL, &to, 1, device.sign_sk, plain, NULL);
      if (sealed == NULL)
        abort ();
      env = rfl_envelope_parse (sealed, NULL);
      if (env == NULL || !rfl_envelope_verify (env, device.sign_pk, NULL))
        abort ();
      opened = rfl_envelope_open (env, hq.id, hq.box_pk, hq.box_sk, NULL);
      if (opened == NULL || !g_bytes_equal (opened, plain))
        abort ();
      receive (sealed);
    }
  return 0;
}
