/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include "rfl-sync-error.h"

G_BEGIN_DECLS

#define RFL_ROSTER_MAX_BYTES (1024 * 1024)

/**
 * RflRosterDevice:
 * @id: device id, 32 hex digits
 * @office: the office the device works for
 * @revoked: whether HQ revoked it
 * @sign_pk: its Ed25519 public key
 * @box_pk: its X25519 public key
 */
typedef struct
{
  char     *id;
  char     *office;
  gboolean  revoked;
  guint8    sign_pk[32];
  guint8    box_pk[32];
} RflRosterDevice;

#define RFL_TYPE_ROSTER (rfl_roster_get_type ())

G_DECLARE_FINAL_TYPE (RflRoster, rfl_roster, RFL, ROSTER, GObject)

RflRoster             *rfl_roster_new          (guint64          version);
void                   rfl_roster_add_device   (RflRoster       *self,
                                                const char      *id,
                                                const char      *office,
                                                gboolean         revoked,
                                                const guint8    *sign_pk,
                                                const guint8    *box_pk);
GBytes                *rfl_roster_sign         (RflRoster       *self,
                                                const guint8    *hq_sign_sk) G_GNUC_WARN_UNUSED_RESULT;
RflRoster             *rfl_roster_load         (GBytes          *signed_roster,
                                                const guint8    *hq_sign_pk,
                                                guint64          min_version,
                                                GError         **error) G_GNUC_WARN_UNUSED_RESULT;
guint64                rfl_roster_get_version  (RflRoster       *self);
guint                  rfl_roster_get_n_devices (RflRoster      *self);
const RflRosterDevice *rfl_roster_lookup       (RflRoster       *self,
                                                const char      *id);

G_END_DECLS
