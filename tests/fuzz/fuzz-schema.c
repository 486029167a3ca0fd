/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Schema validation of a record, as an import or a merge meets it: the
 * checks of a new record, of a stored one, and of a status change. */

#include "rfl-fuzz.h"
#include "rfl-json.h"
#include "rfl-schema.h"

int
LLVMFuzzerInitialize (int    *argc,
                      char ***argv)
{
  rfl_fuzz_init ();
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  RflSchema *schema = rfl_schema_get_default ();
  g_autoptr(JsonObject) record = rfl_json_parse_object ((const char *) data, size, "the record", NULL);
  g_autoptr(JsonNode) copy = NULL;

  if (record == NULL)
    return 0;
  rfl_schema_validate (schema, record, NULL);
  rfl_schema_check_transition (schema, record, "open", NULL);
  if (json_object_has_member (record, "type") &&
      json_node_get_value_type (json_object_get_member (record, "type")) == G_TYPE_STRING)
    rfl_schema_is_retained_status (schema, json_object_get_string_member (record, "type"), "closed");
  copy = json_node_copy (json_node_init_object (json_node_alloc (), record));
  if (rfl_schema_check_new (schema, json_node_get_object (copy), NULL))
    {
      rfl_schema_prepare_new (schema, json_node_get_object (copy), NULL);
      g_ptr_array_unref (rfl_schema_collect_persons (schema, json_node_get_object (copy)));
    }
  return 0;
}
