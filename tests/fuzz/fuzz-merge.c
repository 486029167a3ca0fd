/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The op checker and the merge, applied to scratch stores.
 *
 * The input is a bundle's JSON. First byte even: HQ merges it from an
 * enrolled Goma device; odd: a device merges it from HQ. Every bundle is
 * applied as the next one of its stream, so the stores grow as a real
 * pair would. */

#include "rfl-fuzz.h"
#include "rfl-json.h"
#include "rfl-store.h"
#include "rfl-store-sync.h"

#include <stdlib.h>
#include <string.h>

static RflStore *hub, *device;
static guint64 hub_seq = 1, device_seq = 1;
static const guint8 zero_hash[32];

static void
add_peer (RflStore   *to,
          RflStore   *peer_store,
          const char *role,
          const char *office)
{
  g_autoptr(RflDeviceKeys) keys = rfl_store_dup_keys (peer_store, NULL);
  RflPeer peer = { 0 };

  peer.id = keys->device_id;
  peer.role = (char *) role;
  peer.office = (char *) office;
  memcpy (peer.sign_pk, keys->sign_pk, 32);
  memcpy (peer.box_pk, keys->box_pk, 32);
  if (!rfl_store_add_peer (to, &peer, NULL))
    abort ();
}

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  rfl_fuzz_init ();
  hub = rfl_fuzz_new_store ("hub.db");
  device = rfl_fuzz_new_store ("device.db");
  add_peer (hub, device, "device", "Goma");
  add_peer (device, hub, "hq", NULL);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(JsonObject) bundle = NULL;
  JsonNode *ops;
  RflMergeStats stats;
  gboolean to_hub;

  if (size < 1)
    return 0;
  to_hub = data[0] % 2 == 0;
  bundle = rfl_json_parse_object ((const char *) data + 1, size - 1, "the bundle", NULL);
  if (bundle == NULL || (ops = json_object_get_member (bundle, "ops")) == NULL || !JSON_NODE_HOLDS_ARRAY (ops))
    return 0;
  if (to_hub)
    {
      if (rfl_store_apply_ops (hub, rfl_store_get_device_id (device), hub_seq, hub_seq, zero_hash,
                               json_node_get_array (ops), RFL_MERGE_HUB, "Goma", &stats, NULL))
        hub_seq++;
    }
  else if (rfl_store_apply_ops (device, rfl_store_get_device_id (hub), device_seq, device_seq, zero_hash,
                                json_node_get_array (ops), RFL_MERGE_DEVICE, NULL, &stats, NULL))
    device_seq++;
  return 0;
}
