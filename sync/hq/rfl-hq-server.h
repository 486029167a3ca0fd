/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <gio/gio.h>

#include "rfl-store.h"

G_BEGIN_DECLS

/* What HQ answers by default: see docs/PROTOCOL.md, "HTTP", for the limits. */
#define RFL_HQ_DEFAULT_CLIENT_TIMEOUT  30     /* seconds a connection may stay idle */
#define RFL_HQ_DEFAULT_RATE            50.0   /* requests per second per device, sustained */

#define RFL_TYPE_HQ_SERVER (rfl_hq_server_get_type ())

G_DECLARE_FINAL_TYPE (RflHqServer, rfl_hq_server, RFL, HQ_SERVER, GObject)

RflHqServer *rfl_hq_server_new                (RflStore        *store,
                                               GError         **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean     rfl_hq_server_listen             (RflHqServer     *self,
                                               GSocketAddress  *address,
                                               GSocketAddress **effective,
                                               GError         **error) G_GNUC_WARN_UNUSED_RESULT;
RflStore    *rfl_hq_server_get_store          (RflHqServer     *self);
guint        rfl_hq_server_get_client_timeout (RflHqServer     *self);
void         rfl_hq_server_set_client_timeout (RflHqServer     *self,
                                               guint            seconds);
double       rfl_hq_server_get_rate           (RflHqServer     *self);
void         rfl_hq_server_set_rate           (RflHqServer     *self,
                                               double           per_second);
gint64       rfl_hq_server_get_max_body       (RflHqServer     *self);
void         rfl_hq_server_set_max_body       (RflHqServer     *self,
                                               gint64           bytes);

G_END_DECLS
