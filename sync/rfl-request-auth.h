/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

#include "rfl-sync-error.h"

G_BEGIN_DECLS

/* Requests more than this far from the server's clock are refused. */
#define RFL_REQUEST_WINDOW_SECONDS 300

#define RFL_REQUEST_HEADER_DEVICE    "Reunite-Device"
#define RFL_REQUEST_HEADER_TIME      "Reunite-Time"
#define RFL_REQUEST_HEADER_NONCE     "Reunite-Nonce"
#define RFL_REQUEST_HEADER_SIGNATURE "Reunite-Signature"

/**
 * RflRequestAuth:
 * @device: the device id, 32 hex digits
 * @time: seconds since the Unix epoch, as text
 * @nonce: 32 hex digits, random per request
 * @signature: 128 hex digits
 *
 * The values of the four authentication headers of a request.
 */
typedef struct
{
  char *device;
  char *time;
  char *nonce;
  char *signature;
} RflRequestAuth;

void            rfl_request_auth_free  (RflRequestAuth *auth);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (RflRequestAuth, rfl_request_auth_free)

RflRequestAuth *rfl_request_auth_sign  (const char     *device,
                                        const char     *method,
                                        const char     *path,
                                        gint64          time,
                                        const guint8   *body,
                                        gsize           body_len,
                                        const guint8   *sign_sk) G_GNUC_WARN_UNUSED_RESULT;

#define RFL_TYPE_REPLAY_CACHE (rfl_replay_cache_get_type ())

G_DECLARE_FINAL_TYPE (RflReplayCache, rfl_replay_cache, RFL, REPLAY_CACHE, GObject)

RflReplayCache *rfl_replay_cache_new   (guint           max_entries) G_GNUC_WARN_UNUSED_RESULT;
guint           rfl_replay_cache_get_size (RflReplayCache *self);
void            rfl_replay_cache_add   (RflReplayCache *self,
                                        const char     *device,
                                        const char     *nonce,
                                        gint64          expires);
gint64          rfl_request_auth_expiry (gint64         now);

gboolean        rfl_request_auth_verify (const RflRequestAuth *auth,
                                         const char           *method,
                                         const char           *path,
                                         const guint8         *body,
                                         gsize                 body_len,
                                         const guint8         *sign_pk,
                                         gint64                now,
                                         RflReplayCache       *replays,
                                         GError              **error);

G_END_DECLS
