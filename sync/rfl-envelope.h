/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

#include "rfl-sync-error.h"

G_BEGIN_DECLS

#define RFL_ENVELOPE_ID_BYTES       16
#define RFL_ENVELOPE_HASH_BYTES     32
#define RFL_ENVELOPE_MAX_RECIPIENTS 64
#define RFL_ENVELOPE_MAX_PAYLOAD    (64 * 1024 * 1024)
#define RFL_ENVELOPE_MAX_PLAINTEXT  (256 * 1024 * 1024)
/* The largest envelope: header, recipients, payload. */
#define RFL_ENVELOPE_MAX_BYTES      (194 + 96 * RFL_ENVELOPE_MAX_RECIPIENTS + RFL_ENVELOPE_MAX_PAYLOAD)

/**
 * RflEnvelopeRecipient:
 * @id: the recipient's device id (16 bytes)
 * @box_pk: the recipient's X25519 public key
 */
typedef struct
{
  guint8 id[RFL_ENVELOPE_ID_BYTES];
  guint8 box_pk[32];
} RflEnvelopeRecipient;

#define RFL_TYPE_ENVELOPE (rfl_envelope_get_type ())

G_DECLARE_FINAL_TYPE (RflEnvelope, rfl_envelope, RFL, ENVELOPE, GObject)

GBytes       *rfl_envelope_seal              (const guint8               *sender,
                                              const guint8               *stream,
                                              guint64                     seq_from,
                                              guint64                     seq_to,
                                              const guint8               *prev_hash,
                                              const RflEnvelopeRecipient *recipients,
                                              guint                       n_recipients,
                                              const guint8               *sign_sk,
                                              GBytes                     *plaintext,
                                              GError                    **error) G_GNUC_WARN_UNUSED_RESULT;
RflEnvelope  *rfl_envelope_parse             (GBytes                     *data,
                                              GError                    **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean      rfl_envelope_verify            (RflEnvelope                *self,
                                              const guint8               *sign_pk,
                                              GError                    **error);
gboolean      rfl_envelope_check_chain       (RflEnvelope                *self,
                                              guint64                     next_seq,
                                              const guint8               *prev_hash,
                                              GError                    **error);
GBytes       *rfl_envelope_open              (RflEnvelope                *self,
                                              const guint8               *my_id,
                                              const guint8               *box_pk,
                                              const guint8               *box_sk,
                                              GError                    **error) G_GNUC_WARN_UNUSED_RESULT;
const guint8 *rfl_envelope_get_sender        (RflEnvelope                *self);
const guint8 *rfl_envelope_get_stream        (RflEnvelope                *self);
guint64       rfl_envelope_get_seq_from      (RflEnvelope                *self);
guint64       rfl_envelope_get_seq_to        (RflEnvelope                *self);
const guint8 *rfl_envelope_get_hash          (RflEnvelope                *self);
guint         rfl_envelope_get_n_recipients  (RflEnvelope                *self);
gboolean      rfl_envelope_is_verified       (RflEnvelope                *self);

G_END_DECLS
