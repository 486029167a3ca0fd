/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-roster"

#include "rfl-roster.h"
#include "rfl-json.h"

#include <sodium.h>
#include <string.h>
#include <glib/gi18n-lib.h>

/*
 * The roster: every enrolled device with its keys, office and status, signed
 * by HQ. Its file is the magic "RFLR", HQ's Ed25519 signature of the rest,
 * and the roster as JSON; nothing is parsed before the signature verifies.
 * Each roster carries a version that only grows, so a device that has seen
 * version N refuses an older roster (a rollback that would un-revoke a
 * device). See docs/PROTOCOL.md.
 */

#define FORMAT      "reunite-roster-v1"
#define MAX_DEVICES 10000
#define MAGIC       "RFLR"

struct _RflRoster
{
  GObject     parent_instance;

  guint64     version;
  GPtrArray  *devices;   /* RflRosterDevice, in order */
  GHashTable *by_id;     /* id -> RflRosterDevice */
};

G_DEFINE_FINAL_TYPE (RflRoster, rfl_roster, G_TYPE_OBJECT)

static void
device_free (RflRosterDevice *device)
{
  g_free (device->id);
  g_free (device->office);
  g_free (device);
}

static void
rfl_roster_finalize (GObject *object)
{
  RflRoster *self = (RflRoster *) object;

  g_clear_pointer (&self->by_id, g_hash_table_unref);
  g_clear_pointer (&self->devices, g_ptr_array_unref);

  G_OBJECT_CLASS (rfl_roster_parent_class)->finalize (object);
}

static void
rfl_roster_class_init (RflRosterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rfl_roster_finalize;

  if (sodium_init () < 0)
    g_error ("libsodium could not be initialised");
}

static void
rfl_roster_init (RflRoster *self)
{
  self->devices = g_ptr_array_new_with_free_func ((GDestroyNotify) device_free);
  self->by_id = g_hash_table_new (g_str_hash, g_str_equal);
}

RflRoster *
rfl_roster_new (guint64 version)
{
  RflRoster *self = g_object_new (RFL_TYPE_ROSTER, NULL);

  self->version = version;
  return self;
}

/**
 * rfl_roster_add_device:
 *
 * Adds a device, or replaces the entry with the same id.
 */
void
rfl_roster_add_device (RflRoster    *self,
                       const char   *id,
                       const char   *office,
                       gboolean      revoked,
                       const guint8 *sign_pk,
                       const guint8 *box_pk)
{
  RflRosterDevice *device;

  g_return_if_fail (RFL_IS_ROSTER (self));
  g_return_if_fail (id != NULL && office != NULL && sign_pk != NULL && box_pk != NULL);

  if ((device = g_hash_table_lookup (self->by_id, id)) == NULL)
    {
      device = g_new0 (RflRosterDevice, 1);
      device->id = g_strdup (id);
      g_ptr_array_add (self->devices, device);
      g_hash_table_insert (self->by_id, device->id, device);
    }
  g_free (device->office);
  device->office = g_strdup (office);
  device->revoked = revoked;
  memcpy (device->sign_pk, sign_pk, sizeof device->sign_pk);
  memcpy (device->box_pk, box_pk, sizeof device->box_pk);
}

static char *
b64 (const guint8 *data,
     gsize         len)
{
  return g_base64_encode (data, len);
}

/**
 * rfl_roster_sign:
 * @self: a roster
 * @hq_sign_sk: HQ's Ed25519 secret key
 *
 * Returns: (transfer full): the signed roster file
 */
GBytes *
rfl_roster_sign (RflRoster    *self,
                 const guint8 *hq_sign_sk)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autoptr(GByteArray) out = NULL;
  g_autofree char *text = NULL;

  g_return_val_if_fail (RFL_IS_ROSTER (self), NULL);
  g_return_val_if_fail (hq_sign_sk != NULL, NULL);

  json_builder_begin_object (b);
  json_builder_set_member_name (b, "format");
  json_builder_add_string_value (b, FORMAT);
  json_builder_set_member_name (b, "version");
  json_builder_add_int_value (b, self->version);
  json_builder_set_member_name (b, "devices");
  json_builder_begin_array (b);
  for (guint i = 0; i < self->devices->len; i++)
    {
      RflRosterDevice *d = g_ptr_array_index (self->devices, i);
      g_autofree char *sign_pk = b64 (d->sign_pk, sizeof d->sign_pk);
      g_autofree char *box_pk = b64 (d->box_pk, sizeof d->box_pk);

      json_builder_begin_object (b);
      json_builder_set_member_name (b, "id");
      json_builder_add_string_value (b, d->id);
      json_builder_set_member_name (b, "office");
      json_builder_add_string_value (b, d->office);
      json_builder_set_member_name (b, "status");
      json_builder_add_string_value (b, d->revoked ? "revoked" : "active");
      json_builder_set_member_name (b, "sign_pk");
      json_builder_add_string_value (b, sign_pk);
      json_builder_set_member_name (b, "box_pk");
      json_builder_add_string_value (b, box_pk);
      json_builder_end_object (b);
    }
  json_builder_end_array (b);
  json_builder_end_object (b);
  root = json_builder_get_root (b);
  text = json_to_string (root, FALSE);

  out = g_byte_array_sized_new (4 + crypto_sign_BYTES + strlen (text));
  g_byte_array_append (out, (const guint8 *) MAGIC, 4);
  g_byte_array_set_size (out, 4 + crypto_sign_BYTES);
  crypto_sign_detached (out->data + 4, NULL, (const guint8 *) text, strlen (text), hq_sign_sk);
  g_byte_array_append (out, (const guint8 *) text, strlen (text));
  return g_byte_array_free_to_bytes (g_steal_pointer (&out));
}

static gboolean
bad (GError     **error,
     const char  *what)
{
  g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED, _("not a valid roster: %s"), what);
  return FALSE;
}

static gboolean
load_devices (RflRoster   *self,
              JsonObject  *obj,
              GError     **error)
{
  JsonArray *devices;

  if (g_strcmp0 (rfl_json_string_or (obj, "format", ""), FORMAT) != 0)
    return bad (error, "unknown format");
  if (rfl_json_int_or (obj, "version", -1) < 0)
    return bad (error, "no version");
  self->version = json_object_get_int_member (obj, "version");
  if (!json_object_has_member (obj, "devices") ||
      !JSON_NODE_HOLDS_ARRAY (json_object_get_member (obj, "devices")))
    return bad (error, "no device list");
  devices = json_object_get_array_member (obj, "devices");
  if (json_array_get_length (devices) > MAX_DEVICES)
    return bad (error, "too many devices");

  for (guint i = 0; i < json_array_get_length (devices); i++)
    {
      JsonNode *node = json_array_get_element (devices, i);
      JsonObject *d;
      const char *id, *office, *status;
      guint8 sign_pk[32], box_pk[32];

      if (!JSON_NODE_HOLDS_OBJECT (node))
        return bad (error, "a device is not an object");
      d = json_node_get_object (node);
      id = rfl_json_string_or (d, "id", NULL);
      office = rfl_json_string_or (d, "office", NULL);
      status = rfl_json_string_or (d, "status", NULL);
      if (id == NULL || strlen (id) != 32 || office == NULL ||
          (g_strcmp0 (status, "active") != 0 && g_strcmp0 (status, "revoked") != 0) ||
          !rfl_json_get_base64 (d, "sign_pk", sign_pk, 32) || !rfl_json_get_base64 (d, "box_pk", box_pk, 32))
        return bad (error, "a device entry is incomplete");
      rfl_roster_add_device (self, id, office, g_str_equal (status, "revoked"), sign_pk, box_pk);
    }
  return TRUE;
}

/**
 * rfl_roster_load:
 * @signed_roster: a roster file
 * @hq_sign_pk: HQ's Ed25519 public key, as the enrollment token gave it
 * @min_version: the newest roster version already accepted (0 if none)
 * @error: return location for an error
 *
 * Checks the size, then HQ's signature, then parses, then refuses a version
 * older than @min_version.
 *
 * Returns: (transfer full): the roster, or %NULL
 */
RflRoster *
rfl_roster_load (GBytes        *signed_roster,
                 const guint8  *hq_sign_pk,
                 guint64        min_version,
                 GError       **error)
{
  g_autoptr(JsonObject) obj = NULL;
  g_autoptr(RflRoster) self = NULL;
  const guint8 *data, *text;
  gsize len, text_len;

  g_return_val_if_fail (signed_roster != NULL && hq_sign_pk != NULL, NULL);

  data = g_bytes_get_data (signed_roster, &len);
  if (len > RFL_ROSTER_MAX_BYTES)
    {
      g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_TOO_LARGE, _("the roster is larger than %d bytes"),
                   RFL_ROSTER_MAX_BYTES);
      return NULL;
    }
  if (len < 4 + crypto_sign_BYTES || memcmp (data, MAGIC, 4) != 0)
    {
      bad (error, "no roster header");
      return NULL;
    }
  text = data + 4 + crypto_sign_BYTES;
  text_len = len - 4 - crypto_sign_BYTES;
  if (crypto_sign_verify_detached (data + 4, text, text_len, hq_sign_pk) != 0)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_BAD_SIGNATURE,
                           _("the roster is not signed by this HQ"));
      return NULL;
    }

  self = g_object_new (RFL_TYPE_ROSTER, NULL);
  if ((obj = rfl_json_parse_object ((const char *) text, text_len, "the roster", NULL)) == NULL)
    {
      bad (error, "the signed content is not a JSON object");
      return NULL;
    }
  if (!load_devices (self, obj, error))
    return NULL;
  if (self->version < min_version)
    {
      g_set_error (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_ROLLBACK,
                   _("the roster is version %llu, older than version %llu already seen"),
                   (unsigned long long) self->version, (unsigned long long) min_version);
      return NULL;
    }
  return g_steal_pointer (&self);
}

guint64
rfl_roster_get_version (RflRoster *self)
{
  g_return_val_if_fail (RFL_IS_ROSTER (self), 0);
  return self->version;
}

guint
rfl_roster_get_n_devices (RflRoster *self)
{
  g_return_val_if_fail (RFL_IS_ROSTER (self), 0);
  return self->devices->len;
}

/**
 * rfl_roster_lookup:
 *
 * Returns: (nullable) (transfer none): the device with @id, or %NULL
 */
const RflRosterDevice *
rfl_roster_lookup (RflRoster  *self,
                   const char *id)
{
  g_return_val_if_fail (RFL_IS_ROSTER (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);
  return g_hash_table_lookup (self->by_id, id);
}
