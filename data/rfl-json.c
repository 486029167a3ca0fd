/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "rfl-json.h"

#include <glib/gi18n-lib.h>
#include <stdio.h>
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

/* What a member's name was, for an error that names the field: the last
 * string followed by a colon. */
typedef struct
{
  const char *start;
  gsize       len;
} Span;

static gboolean
json_fail (GError    **error,
           const char *what,
           const char *format,
           ...) G_GNUC_PRINTF (3, 4);

static gboolean
json_fail (GError    **error,
           const char *what,
           const char *format,
           ...)
{
  g_autofree char *rule = NULL;
  va_list args;

  va_start (args, format);
  rule = g_strdup_vprintf (format, args);
  va_end (args);
  /* Translators: "the record: a text holds …". */
  g_set_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA, _("%s: %s"), what, rule);
  return FALSE;
}

/*
 * One pass over the text before json-glib sees it, for what json-glib lets
 * through: a NUL character (json-glib cuts the text there), a second value
 * after the first (json-glib drops it), and nesting deep enough to exhaust
 * the stack.
 */
static gboolean
check_text (const char  *data,
            gsize        len,
            const char  *what,
            GError     **error)
{
  Span key = { NULL, 0 };
  Span string = { NULL, 0 };
  guint depth = 0;
  gboolean in_string = FALSE;
  gboolean done = FALSE;     /* the first value is complete */
  gboolean any = FALSE;

  for (gsize i = 0; i < len; i++)
    {
      char c = data[i];

      if (c == '\0')
        return json_fail (error, what, _("it holds a NUL byte"));
      if (in_string)
        {
          if (c == '\\' && i + 1 < len)
            {
              if (data[i + 1] == 'u' && i + 5 < len && g_ascii_strncasecmp (data + i + 2, "0000", 4) == 0)
                {
                  g_autofree char *field = key.start != NULL ? g_strndup (key.start, MIN (key.len, 64)) : NULL;

                  if (field != NULL && g_utf8_validate (field, -1, NULL))
                    return json_fail (error, what, _("the text of field '%s' holds a NUL character (\\u0000)"),
                                      field);
                  return json_fail (error, what, _("a text holds a NUL character (\\u0000)"));
                }
              i++;
            }
          else if (c == '"')
            {
              in_string = FALSE;
              string.len = (gsize) (data + i - string.start);
            }
          continue;
        }
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
        continue;
      if (done)
        return json_fail (error, what, _("more than one JSON value"));
      any = TRUE;
      switch (c)
        {
        case '"':
          in_string = TRUE;
          string.start = data + i + 1;
          break;
        case ':':
          key = string;
          break;
        case '{':
        case '[':
          if (++depth > RFL_JSON_MAX_DEPTH)
            return json_fail (error, what, _("nested more than %d deep"), RFL_JSON_MAX_DEPTH);
          break;
        case '}':
        case ']':
          if (depth > 0 && --depth == 0)
            done = TRUE;
          break;
        default:
          break;
        }
    }
  if (!any)
    return json_fail (error, what, _("it is empty"));
  return TRUE;
}

/**
 * rfl_json_parse_object:
 * @data: (array length=len): JSON text from outside: a file, stdin, a request
 * @len: its length
 * @what: what it is, for errors ("the record")
 *
 * Parses one JSON object, refusing what json-glib would silently change: a
 * NUL character in a text (naming the field), a second value after the
 * first, nesting deeper than %RFL_JSON_MAX_DEPTH. An error says where the
 * text is wrong, never what it holds: it could be a person's name.
 *
 * Returns: (transfer full) (nullable): the object, or %NULL with @error set
 */
JsonObject *
rfl_json_parse_object (const char  *data,
                       gsize        len,
                       const char  *what,
                       GError     **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  return rfl_json_parse_object_with (parser, data, len, what, error);
}

/**
 * rfl_json_parse_object_with:
 * @parser: a parser to reuse, for many texts in a row (an import)
 *
 * As rfl_json_parse_object().
 */
JsonObject *
rfl_json_parse_object_with (JsonParser  *parser,
                            const char  *data,
                            gsize        len,
                            const char  *what,
                            GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;

  g_return_val_if_fail (JSON_IS_PARSER (parser), NULL);
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  g_return_val_if_fail (what != NULL, NULL);

  if (len > G_MAXSSIZE)
    {
      json_fail (error, what, _("it is too large"));
      return NULL;
    }
  if (!check_text (data, len, what, error))
    return NULL;
  if (!json_parser_load_from_data (parser, data, (gssize) len, &local_error))
    {
      guint line = 0, column = 0;

      /* json-glib's message quotes the text ("unexpected identifier
       * `Zebulonqx'"): only where it is wrong is passed on. */
      if (sscanf (local_error->message, "<data>:%u:%u", &line, &column) == 2)
        json_fail (error, what, _("not valid JSON (line %u, character %u)"), line, column);
      else
        json_fail (error, what, _("not valid JSON"));
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    {
      json_fail (error, what, _("it must be a JSON object"));
      return NULL;
    }
  return json_object_ref (json_node_get_object (root));
}

static JsonNode *
value_member (JsonObject *obj,
              const char *member,
              GType       type)
{
  JsonNode *node = obj != NULL ? json_object_get_member (obj, member) : NULL;

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == type ? node : NULL;
}

/**
 * rfl_json_string_or:
 *
 * Returns: @member of @obj if it is a string, else @def
 */
const char *
rfl_json_string_or (JsonObject *obj,
                    const char *member,
                    const char *def)
{
  JsonNode *node = value_member (obj, member, G_TYPE_STRING);

  return node != NULL ? json_node_get_string (node) : def;
}

/**
 * rfl_json_int_or:
 *
 * Returns: @member of @obj if it is an integer, else @def
 */
gint64
rfl_json_int_or (JsonObject *obj,
                 const char *member,
                 gint64      def)
{
  JsonNode *node = value_member (obj, member, G_TYPE_INT64);

  return node != NULL ? json_node_get_int (node) : def;
}

/**
 * rfl_json_bool_or:
 *
 * Returns: @member of @obj if it is a boolean, else @def
 */
gboolean
rfl_json_bool_or (JsonObject *obj,
                  const char *member,
                  gboolean    def)
{
  JsonNode *node = value_member (obj, member, G_TYPE_BOOLEAN);

  return node != NULL ? json_node_get_boolean (node) : def;
}
