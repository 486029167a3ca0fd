/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define RFL_SYNC_ERROR (rfl_sync_error_quark ())

/**
 * RflSyncError:
 * @RFL_SYNC_ERROR_TOO_LARGE: a bundle or one of its parts is over a size limit.
 * @RFL_SYNC_ERROR_MALFORMED: the bytes are not a well-formed envelope.
 * @RFL_SYNC_ERROR_UNSUPPORTED: an envelope format version or suite this build does not know.
 * @RFL_SYNC_ERROR_BAD_SIGNATURE: the header's signature does not verify with the sender's key.
 * @RFL_SYNC_ERROR_CHAIN: the envelope does not follow the previous one of its stream.
 * @RFL_SYNC_ERROR_NOT_RECIPIENT: the envelope is not encrypted for this device.
 * @RFL_SYNC_ERROR_CORRUPT_PAYLOAD: the payload does not match its hash or fails to decrypt.
 * @RFL_SYNC_ERROR_UNAUTHENTICATED: a request carries no or malformed authentication.
 * @RFL_SYNC_ERROR_STALE: a request's time is outside the accepted window.
 * @RFL_SYNC_ERROR_REPLAY: a request was already seen.
 * @RFL_SYNC_ERROR_ROLLBACK: a signed roster older than one already seen.
 * @RFL_SYNC_ERROR_REVOKED: the device was revoked by HQ.
 * @RFL_SYNC_ERROR_NOT_ENROLLED: the device has not been enrolled with HQ.
 * @RFL_SYNC_ERROR_NETWORK: HQ could not be reached, or the exchange broke off.
 * @RFL_SYNC_ERROR_REFUSED: HQ answered with an error.
 *
 * Error codes of the sync library. The enumeration only grows.
 */
typedef enum
{
  RFL_SYNC_ERROR_TOO_LARGE,
  RFL_SYNC_ERROR_MALFORMED,
  RFL_SYNC_ERROR_UNSUPPORTED,
  RFL_SYNC_ERROR_BAD_SIGNATURE,
  RFL_SYNC_ERROR_CHAIN,
  RFL_SYNC_ERROR_NOT_RECIPIENT,
  RFL_SYNC_ERROR_CORRUPT_PAYLOAD,
  RFL_SYNC_ERROR_UNAUTHENTICATED,
  RFL_SYNC_ERROR_STALE,
  RFL_SYNC_ERROR_REPLAY,
  RFL_SYNC_ERROR_ROLLBACK,
  RFL_SYNC_ERROR_REVOKED,
  RFL_SYNC_ERROR_NOT_ENROLLED,
  RFL_SYNC_ERROR_NETWORK,
  RFL_SYNC_ERROR_REFUSED,
} RflSyncError;

GQuark rfl_sync_error_quark (void);

G_END_DECLS
