/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-labels"

#include <glib/gi18n.h>

#include "rfl-record-labels.h"
#include "rfl-schema.h"

/*
 * The one place in the app that turns the record schema's names into the
 * words a volunteer reads: kinds of record, statuses, fields and values.
 * The words are the schema's: a label it gives ("Tracing request",
 * "Consent to tracing"), else the name made readable ("date_of_birth" is
 * "Date of birth"). tools/schema-labels.py copies them into
 * po/schema-labels.c, so the catalogs translate them. A kind, status or
 * value an override file adds has no translation, and shows as the schema
 * gives it.
 */

/**
 * rfl_field_label:
 * @name: a field or value name from the schema ("date_of_birth")
 *
 * Returns: (transfer full): how a form shows it ("Date of birth"),
 *   translated when the catalog has it
 */
char *
rfl_field_label (const char *name)
{
  g_autofree char *spaced = NULL;

  g_return_val_if_fail (name != NULL, NULL);

  spaced = g_strdup (name);
  for (char *p = spaced; *p != '\0'; p++)
    if (*p == '_')
      *p = ' ';
  if (spaced[0] != '\0')
    spaced[0] = g_ascii_toupper (spaced[0]);
  return g_strdup (g_dgettext (GETTEXT_PACKAGE, spaced));
}

/**
 * rfl_field_describe_label:
 * @desc: a field as rfl_schema_describe() gives it
 *
 * Returns: (transfer full): the label the schema gives the field, or one
 *   made of its name, translated
 */
char *
rfl_field_describe_label (JsonObject *desc)
{
  const char *label;

  g_return_val_if_fail (desc != NULL, NULL);

  label = json_object_get_string_member_with_default (desc, "label", NULL);
  if (label != NULL)
    return g_strdup (g_dgettext (GETTEXT_PACKAGE, label));
  return rfl_field_label (json_object_get_string_member_with_default (desc, "name", ""));
}

/**
 * rfl_record_kind_label:
 * @type: (nullable): a record type
 * @subtype: (nullable): its subtype
 *
 * Returns: what a volunteer calls a record of @type (and @subtype):
 *   "Tracing request", "Deceased person"; an unknown type as it is
 */
const char *
rfl_record_kind_label (const char *type,
                       const char *subtype)
{
  const char *label = rfl_schema_get_kind_label (rfl_schema_get_default (), type, subtype);

  if (label == NULL)
    return type != NULL ? type : "";
  return g_dgettext (GETTEXT_PACKAGE, label);
}

/**
 * rfl_record_kind_plural_label:
 * @type: a record type
 *
 * Returns: what a volunteer calls several records of @type: "Tracing
 *   requests"; an unknown type as it is
 */
const char *
rfl_record_kind_plural_label (const char *type)
{
  const char *label = rfl_schema_get_plural_label (rfl_schema_get_default (), type);

  if (label == NULL)
    return type != NULL ? type : "";
  return g_dgettext (GETTEXT_PACKAGE, label);
}

/**
 * rfl_record_status_label:
 * @status: (nullable): a status from a lifecycle ("open")
 *
 * Returns: the status as a volunteer reads it ("Open"), translated when the
 *   catalog has it
 */
const char *
rfl_record_status_label (const char *status)
{
  g_autofree char *label = NULL;

  if (status == NULL)
    return "";
  /* A lifecycle has a few statuses: each label is kept once, for the
   * callers that hold it as long as a list shows it. */
  label = rfl_field_label (status);
  return g_intern_string (label);
}

/**
 * rfl_match_decision_label:
 * @decision: (nullable): a match record's decision
 *
 * Returns: (nullable): the decision in words, or %NULL for none
 */
const char *
rfl_match_decision_label (const char *decision)
{
  if (g_strcmp0 (decision, "confirmed") == 0)
    return _("Confirmed");
  if (g_strcmp0 (decision, "rejected") == 0)
    return _("Rejected");
  if (g_strcmp0 (decision, "more_info") == 0)
    return _("Needs more information");
  return NULL;
}

/* A proposal's score in words: "score 6.4". */
char *
rfl_match_score_text (JsonObject *proposal)
{
  /* Translators: a match proposal's score, as in "score 6.4". */
  return g_strdup_printf (_("score %.1f"), json_object_get_double_member_with_default (proposal, "score", 0));
}
