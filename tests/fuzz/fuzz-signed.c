/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What HQ signs or hands out: the enrollment token, the roster and the
 * revocation notice, and the enrollment request HQ reads.
 *
 * The first byte picks: 0 a token file; 1 a roster's JSON, signed here
 * with HQ's key so that its contents are read; 2 a roster as it arrives;
 * 3 a revocation notice as it arrives; 4 an enrollment request body. */

#include "rfl-fuzz.h"
#include "rfl-roster.h"
#include "rfl-store.h"
#include "rfl-store-sync.h"
#include "rfl-sync.h"

#include <stdlib.h>
#include <string.h>

static RflFuzzKeys hq;
static RflStore *hub, *device;

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  g_autoptr(RflDeviceKeys) keys = NULL;
  RflPeer peer = { 0 };

  rfl_fuzz_init ();
  rfl_fuzz_keys (2, &hq);
  hub = rfl_fuzz_new_store ("hub.db");
  device = rfl_fuzz_new_store ("device.db");
  /* The device knows HQ's keys, as enrollment leaves it. */
  keys = rfl_store_dup_keys (hub, NULL);
  peer.id = keys->device_id;
  peer.role = (char *) "hq";
  memcpy (peer.sign_pk, keys->sign_pk, 32);
  memcpy (peer.box_pk, keys->box_pk, 32);
  if (!rfl_store_add_peer (device, &peer, NULL) || !rfl_store_set_setting (device, "hq", peer.id, NULL))
    abort ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(GBytes) rest = NULL;

  if (size < 1)
    return 0;
  rest = g_bytes_new (data + 1, size - 1);
  switch (data[0] % 5)
    {
    case 0:
      {
        g_autoptr(RflEnrollToken) token = rfl_enroll_token_load (rest, NULL);

        /* A token that loads names HQ and its keys. */
        if (token != NULL && (token->hq_id == NULL || token->hq_url == NULL))
          abort ();
      }
      break;

    case 1:
      {
        g_autoptr(GByteArray) signed_roster = g_byte_array_sized_new (size + 68);
        g_autoptr(GBytes) bytes = NULL;
        g_autoptr(RflRoster) roster = NULL;

        g_byte_array_append (signed_roster, (const guint8 *) "RFLR", 4);
        g_byte_array_set_size (signed_roster, 4 + crypto_sign_BYTES);
        crypto_sign_detached (signed_roster->data + 4, NULL, data + 1, size - 1, hq.sign_sk);
        g_byte_array_append (signed_roster, data + 1, size - 1);
        bytes = g_byte_array_free_to_bytes (g_steal_pointer (&signed_roster));
        if ((roster = rfl_roster_load (bytes, hq.sign_pk, 0, NULL)) != NULL)
          for (guint i = 0; i < rfl_roster_get_n_devices (roster); i++)
            rfl_roster_lookup (roster, "00000000000000000000000000000000");
      }
      break;

    case 2:
      {
        g_autoptr(RflRoster) roster = rfl_roster_load (rest, hq.sign_pk, 0, NULL);

        /* Only HQ's key signs a roster: nothing unsigned here loads. */
        if (roster != NULL && (size < 5 + crypto_sign_BYTES || memcmp (data + 1, "RFLR", 4) != 0))
          abort ();
      }
      break;

    case 3:
      /* Unsigned by HQ's store key: refused before the store is touched. */
      if (rfl_sync_device_take_notice (device, rest, NULL) || !rfl_store_is_open (device))
        abort ();
      break;

    default:
      {
        g_autoptr(JsonObject) answer = rfl_enroll_accept (hub, rest, NULL);

        if (answer != NULL)
          abort ();
      }
      break;
    }
  return 0;
}
