/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Enrollment: HQ's one-time tokens, a device's signed request with its keys,
 * HQ's answer with the roster, and the device taking it. */
#define G_LOG_DOMAIN "rfl-sync"

#include "rfl-sync-private.h"
#include "rfl-envelope.h"
#include "rfl-roster.h"
#include "rfl-file.h"
#include "rfl-json.h"

#include <sodium.h>
#include <string.h>
#include <glib/gi18n-lib.h>

/* Enrollment. */

void
rfl_enroll_token_free (RflEnrollToken *token)
{
  if (token == NULL)
    return;
  g_free (token->hq_url);
  g_free (token->hq_id);
  g_free (token->office);
  g_free (token->token_id);
  if (token->secret != NULL)
    sodium_memzero (token->secret, strlen (token->secret));
  g_free (token->secret);
  g_free (token->ca_pem);
  g_free (token);
}

static void
hash_secret (const char *secret_hex,
             guint8     *out)
{
  crypto_generichash (out, 32, (const guint8 *) secret_hex, strlen (secret_hex), NULL, 0);
}

/**
 * rfl_enroll_token_new:
 * @hq: HQ's store
 * @office: the office the device will work for
 * @url: (nullable): where devices reach HQ
 * @ca_pem: (nullable): the CA that signed HQ's TLS certificate, to pin
 * @lifetime_ms: how long the token may be used
 *
 * Returns: (transfer full): the token file's content. It holds a secret:
 *   hand it over like a key.
 */
GBytes *
rfl_enroll_token_new (RflStore    *hq,
                      const char  *office,
                      const char  *url,
                      const char  *ca_pem,
                      gint64       lifetime_ms,
                      GError     **error)
{
  g_autoptr(RflDeviceKeys) keys = rfl_store_dup_keys (hq, error);
  g_autoptr(JsonObject) obj = json_object_new ();
  g_autofree char *token_id = g_uuid_string_random ();
  g_autofree char *sign_b64 = NULL, *box_b64 = NULL;
  guint8 secret[32], secret_hash[32];
  char secret_hex[65];
  gint64 expires = g_get_real_time () / 1000 + lifetime_ms;

  if (keys == NULL)
    return NULL;
  randombytes_buf (secret, sizeof secret);
  sodium_bin2hex (secret_hex, sizeof secret_hex, secret, sizeof secret);
  sodium_memzero (secret, sizeof secret);
  hash_secret (secret_hex, secret_hash);
  if (!rfl_store_add_token (hq, token_id, secret_hash, office, expires, error))
    return NULL;

  sign_b64 = g_base64_encode (keys->sign_pk, 32);
  box_b64 = g_base64_encode (keys->box_pk, 32);
  json_object_set_string_member (obj, "format", TOKEN_FORMAT);
  if (url != NULL)
    json_object_set_string_member (obj, "hq_url", url);
  json_object_set_string_member (obj, "hq_id", keys->device_id);
  json_object_set_string_member (obj, "hq_sign_pk", sign_b64);
  json_object_set_string_member (obj, "hq_box_pk", box_b64);
  json_object_set_string_member (obj, "office", office);
  json_object_set_string_member (obj, "token", token_id);
  json_object_set_string_member (obj, "secret", secret_hex);
  json_object_set_int_member (obj, "expires", expires);
  if (ca_pem != NULL)
    json_object_set_string_member (obj, "ca_pem", ca_pem);
  sodium_memzero (secret_hex, sizeof secret_hex);
  return rfl_sync_object_to_bytes (obj);
}

RflEnrollToken *
rfl_enroll_token_load (GBytes  *data,
                       GError **error)
{
  g_autoptr(RflEnrollToken) token = g_new0 (RflEnrollToken, 1);
  g_autoptr(JsonObject) obj = NULL;
  guint8 id[RFL_ENVELOPE_ID_BYTES];

  if (g_bytes_get_size (data) > MAX_TOKEN_BYTES)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_TOO_LARGE, _("the enrollment token file is too large"));
      return NULL;
    }
  if ((obj = rfl_sync_parse_object (data, "the enrollment token", error)) == NULL)
    return NULL;
  token->hq_url = g_strdup (rfl_json_string_or (obj, "hq_url", NULL));
  token->hq_id = g_strdup (rfl_json_string_or (obj, "hq_id", NULL));
  token->office = g_strdup (rfl_json_string_or (obj, "office", NULL));
  token->token_id = g_strdup (rfl_json_string_or (obj, "token", NULL));
  token->secret = g_strdup (rfl_json_string_or (obj, "secret", NULL));
  token->expires = rfl_json_int_or (obj, "expires", 0);
  token->ca_pem = g_strdup (rfl_json_string_or (obj, "ca_pem", NULL));
  if (g_strcmp0 (rfl_json_string_or (obj, "format", NULL), TOKEN_FORMAT) != 0 ||
      token->hq_url == NULL || !g_uri_is_valid (token->hq_url, G_URI_FLAGS_NONE, NULL) ||
      (!g_str_has_prefix (token->hq_url, "http://") && !g_str_has_prefix (token->hq_url, "https://")) ||
      !rfl_sync_id_from_hex (token->hq_id, id) || token->office == NULL || token->token_id == NULL ||
      token->secret == NULL || strlen (token->secret) != 64 ||
      !rfl_json_get_base64 (obj, "hq_sign_pk", token->hq_sign_pk, 32) ||
      !rfl_json_get_base64 (obj, "hq_box_pk", token->hq_box_pk, 32))
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED, _("this is not a Reunite enrollment token"));
      return NULL;
    }
  if (token->expires < g_get_real_time () / 1000)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_STALE,
                           _("this enrollment token has expired; ask HQ for a new one"));
      return NULL;
    }
  return g_steal_pointer (&token);
}

static char *
enroll_message (const char *token_id,
                const char *device_id)
{
  return g_strdup_printf ("reunite-enroll-v1\n%s\n%s", token_id, device_id);
}

/**
 * rfl_enroll_request_body:
 *
 * The body of the enrollment request: the token, this device's public
 * keys, and a signature that proves it holds the signing key.
 */
char *
rfl_enroll_request_body (RflStore              *device,
                         const RflEnrollToken  *token,
                         GError               **error)
{
  g_autoptr(RflDeviceKeys) keys = rfl_store_dup_keys (device, error);
  g_autoptr(JsonObject) obj = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *msg = NULL, *sign_b64 = NULL, *box_b64 = NULL;
  guint8 sig[crypto_sign_BYTES];
  char sig_hex[129];

  if (keys == NULL)
    return NULL;
  msg = enroll_message (token->token_id, keys->device_id);
  crypto_sign_detached (sig, NULL, (const guint8 *) msg, strlen (msg), keys->sign_sk);
  sodium_bin2hex (sig_hex, sizeof sig_hex, sig, sizeof sig);
  sign_b64 = g_base64_encode (keys->sign_pk, 32);
  box_b64 = g_base64_encode (keys->box_pk, 32);
  json_object_set_string_member (obj, "token", token->token_id);
  json_object_set_string_member (obj, "secret", token->secret);
  json_object_set_string_member (obj, "device", keys->device_id);
  json_object_set_string_member (obj, "sign_pk", sign_b64);
  json_object_set_string_member (obj, "box_pk", box_b64);
  json_object_set_string_member (obj, "proof", sig_hex);
  node = json_node_init_object (json_node_alloc (), obj);
  return json_to_string (node, FALSE);
}

/**
 * rfl_enroll_accept:
 * @hq: HQ's store
 * @body: an enrollment request
 *
 * Spends the token and enrolls the device.
 *
 * Returns: (transfer full): the response: the device's office and the new
 *   signed roster
 */
JsonObject *
rfl_enroll_accept (RflStore  *hq,
                   GBytes    *body,
                   GError   **error)
{
  g_autoptr(JsonObject) req = NULL;
  g_autoptr(GBytes) roster = NULL;
  g_autofree char *msg = NULL, *office = NULL, *roster_b64 = NULL;
  guint8 sig[crypto_sign_BYTES], id[RFL_ENVELOPE_ID_BYTES], hash[32], secret_hash[32];
  const char *device, *token, *secret, *proof;
  RflPeer peer = { 0 };
  JsonObject *out;
  gsize len = 0;

  if (g_bytes_get_size (body) > MAX_ENROLL_BYTES)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_TOO_LARGE, _("the enrollment request is too large"));
      return NULL;
    }
  if ((req = rfl_sync_parse_object (body, "the enrollment request", error)) == NULL)
    return NULL;
  device = rfl_json_string_or (req, "device", NULL);
  token = rfl_json_string_or (req, "token", NULL);
  secret = rfl_json_string_or (req, "secret", NULL);
  proof = rfl_json_string_or (req, "proof", NULL);
  if (!rfl_sync_id_from_hex (device, id) || token == NULL || secret == NULL || strlen (secret) != 64 ||
      proof == NULL || strlen (proof) != 128 ||
      sodium_hex2bin (sig, sizeof sig, proof, 128, NULL, &len, NULL) != 0 ||
      !rfl_json_get_base64 (req, "sign_pk", peer.sign_pk, 32) || !rfl_json_get_base64 (req, "box_pk", peer.box_pk, 32))
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED, _("the enrollment request is malformed"));
      return NULL;
    }
  /* The id is the hash of the signing key, and the device holds that key. */
  crypto_generichash (hash, RFL_ENVELOPE_ID_BYTES, peer.sign_pk, 32, NULL, 0);
  msg = enroll_message (token, device);
  if (memcmp (hash, id, RFL_ENVELOPE_ID_BYTES) != 0 ||
      crypto_sign_verify_detached (sig, (const guint8 *) msg, strlen (msg), peer.sign_pk) != 0)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_BAD_SIGNATURE,
                           _("the enrollment request is not signed by the device's key"));
      return NULL;
    }
  hash_secret (secret, secret_hash);
  peer.id = (char *) device;
  if ((office = rfl_store_use_token (hq, token, secret_hash, &peer, error)) == NULL ||
      (roster = rfl_sync_hub_roster (hq, error)) == NULL)
    return NULL;
  roster_b64 = g_base64_encode (g_bytes_get_data (roster, NULL), g_bytes_get_size (roster));
  out = json_object_new ();
  json_object_set_string_member (out, "office", office);
  json_object_set_string_member (out, "roster", roster_b64);
  return out;
}

/**
 * rfl_enroll_finish:
 * @response: HQ's answer to the enrollment request
 *
 * Records HQ as this device's peer, with the keys from the token, once
 * HQ's signed roster lists this device.
 */
gboolean
rfl_enroll_finish (RflStore              *device,
                   const RflEnrollToken  *token,
                   GBytes                *response,
                   GError               **error)
{
  g_autoptr(JsonObject) obj = NULL;
  g_autoptr(GBytes) roster = NULL;
  g_autofree guint8 *raw = NULL;
  const char *roster_b64;
  RflPeer peer = { 0 };
  gsize len = 0;

  if (g_bytes_get_size (response) > RFL_ROSTER_MAX_BYTES * 2)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_TOO_LARGE, _("HQ's answer is too large"));
      return FALSE;
    }
  if ((obj = rfl_sync_parse_object (response, "HQ's answer", error)) == NULL)
    return FALSE;
  roster_b64 = rfl_json_string_or (obj, "roster", NULL);
  if (roster_b64 == NULL)
    {
      g_set_error_literal (error, RFL_SYNC_ERROR, RFL_SYNC_ERROR_MALFORMED, _("HQ's answer carries no roster"));
      return FALSE;
    }
  raw = g_base64_decode (roster_b64, &len);
  roster = g_bytes_new (raw, len);

  peer.id = token->hq_id;
  peer.role = (char *) "hq";
  peer.office = token->office;
  peer.url = token->hq_url;
  memcpy (peer.sign_pk, token->hq_sign_pk, 32);
  memcpy (peer.box_pk, token->hq_box_pk, 32);
  if (!rfl_store_add_peer (device, &peer, error) ||
      !rfl_store_set_setting (device, SETTING_HQ, token->hq_id, error))
    return FALSE;
  if (!rfl_sync_device_take_roster (device, roster, error))
    {
      g_autoptr(GError) ignored = NULL;
      rfl_store_set_setting (device, SETTING_HQ, NULL, &ignored);
      return FALSE;
    }
  return rfl_store_set_setting (device, SETTING_OFFICE, token->office, error) &&
         (token->hq_url == NULL || rfl_store_set_setting (device, "hq_url", token->hq_url, error)) &&
         (token->ca_pem == NULL || rfl_store_set_setting (device, "ca_pem", token->ca_pem, error));
}
