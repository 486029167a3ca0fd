/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Members of an object from outside, read without trusting their type:
 * json-glib's *_with_default() functions stop with a critical when the
 * member is an object or an array. Another type gives the default. */
const char *rfl_json_string_or (JsonObject  *obj,
                                const char  *member,
                                const char  *def);
gint64      rfl_json_int_or    (JsonObject  *obj,
                                const char  *member,
                                gint64       def);
gboolean    rfl_json_bool_or   (JsonObject  *obj,
                                const char  *member,
                                gboolean     def);

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
