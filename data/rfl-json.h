/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

gboolean rfl_json_get_base64 (JsonObject  *obj,
                              const char  *member,
                              guint8      *out,
                              gsize        len);

/* Deeper than any record or message: a person inside a list inside a case. */
#define RFL_JSON_MAX_DEPTH 32

JsonObject *rfl_json_parse_object (const char  *data,
                                   gsize        len,
                                   const char  *what,
                                   GError     **error) G_GNUC_WARN_UNUSED_RESULT;
JsonObject *rfl_json_parse_object_with (JsonParser  *parser,
                                        const char  *data,
                                        gsize        len,
                                        const char  *what,
                                        GError     **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
