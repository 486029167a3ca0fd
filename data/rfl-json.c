/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "rfl-json.h"

#include <string.h>

/**
 * rfl_json_get_base64:
 * @obj: an object from untrusted input
 * @member: a string member holding base64
 * @out: (out caller-allocates): where the bytes go
 * @len: how many bytes the member must decode to, exactly
 *
 * Returns: %TRUE if @member is there and decodes to exactly @len bytes
 */
gboolean
rfl_json_get_base64 (JsonObject  *obj,
                     const char  *member,
                     guint8      *out,
                     gsize        len)
{
  const char *text = json_object_get_string_member_with_default (obj, member, NULL);
  g_autofree guchar *raw = NULL;
  gsize got = 0;

  /* Bounded before decoding: base64 of len bytes is 4 * ceil (len / 3) long. */
  if (text == NULL || strlen (text) > (len + 2) / 3 * 4)
    return FALSE;
  raw = g_base64_decode (text, &got);
  if (got != len)
    return FALSE;
  memcpy (out, raw, len);
  return TRUE;
}
