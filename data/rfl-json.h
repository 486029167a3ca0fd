/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

gboolean rfl_json_get_base64 (JsonObject  *obj,
                              const char  *member,
                              guint8      *out,
                              gsize        len);

G_END_DECLS
