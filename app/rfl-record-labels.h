/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

char        *rfl_field_label               (const char *name) G_GNUC_WARN_UNUSED_RESULT;
char        *rfl_field_describe_label      (JsonObject *desc) G_GNUC_WARN_UNUSED_RESULT;
const char  *rfl_record_kind_label         (const char *type,
                                            const char *subtype);
const char  *rfl_record_kind_plural_label  (const char *type);
const char  *rfl_record_status_label       (const char *status);
const char  *rfl_match_decision_label      (const char *decision);
char        *rfl_match_score_text          (JsonObject *proposal) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
