/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-store"

/*
 * Decisions on match proposals: match records (see rfl-proposals.c).
 *
 * Deciding writes the pair's match record, with the proposal as it stood
 * (score, explanation, the basis of names, sex and dates of birth), the
 * decision, why, who and when, and in the same transaction moves the
 * tracing request a confirmed match answers to "located". Telling the
 * family is a step of its own, refused without the found person's consent.
 */

#include "rfl-store-private.h"
#include "rfl-json.h"

#include <string.h>
#include <glib/gi18n-lib.h>

typedef struct
{
  const char *id;
  const char *decision;    /* "confirmed", "rejected", "more_info", or NULL to share */
  const char *reason;
  JsonObject *out;
} DecideArgs;

static JsonObject *
load_proposal (RflStore    *self,
               const char  *id,
               char       **basis,
               GError     **error)
{
  sqlite3_stmt *st = rfl_store_stmt (self, "SELECT doc, basis FROM proposals WHERE id = ?1", error);
  JsonObject *doc = NULL;

  if (st == NULL)
    return NULL;
  rfl_bind_text (st, 1, id);
  if (sqlite3_step (st) == SQLITE_ROW)
    {
      doc = rfl_parse_doc ((const char *) sqlite3_column_text (st, 0));
      *basis = g_strdup ((const char *) sqlite3_column_text (st, 1));
    }
  sqlite3_reset (st);
  return doc;
}

/* The cases a confirmed pair of this kind locates: the requests whose
 * sought person it finds. */
static void
cases_located (JsonObject *match,
               GPtrArray  *cases)
{
  const char *kind = rfl_json_string_or (match, "kind", "");
  const char *a = rfl_json_string_or (match, "case", NULL);
  const char *b = rfl_json_string_or (match, "candidate_case", NULL);

  if (g_str_equal (kind, "registered") || g_str_equal (kind, "enquirer") || g_str_equal (kind, "crossed"))
    g_ptr_array_add (cases, (gpointer) a);
  if (g_str_equal (kind, "crossed") || g_str_equal (kind, "seeks_enquirer"))
    g_ptr_array_add (cases, (gpointer) b);
}

static gboolean
locate (RflStore    *self,
        JsonObject  *match,
        JsonArray   *located,
        GError     **error)
{
  g_autoptr(GPtrArray) cases = g_ptr_array_new ();

  cases_located (match, cases);
  for (guint i = 0; i < cases->len; i++)
    {
      const char *id = g_ptr_array_index (cases, i);
      g_auto(RflRecordRow) row = { 0 };
      g_autoptr(JsonObject) patch = NULL;

      if (id == NULL || !rfl_store_load_record (self, id, 0, &row, NULL))
        continue;
      if (g_strcmp0 (row.type, "tracing_request") != 0 ||
          (g_strcmp0 (row.status, "open") != 0 && g_strcmp0 (row.status, "tracing") != 0))
        continue;
      /* An open request was being traced until now: its history says so. */
      for (guint step = g_str_equal (row.status, "open") ? 0 : 1; step < 2; step++)
        {
          patch = json_object_new ();
          json_object_set_string_member (patch, "status", step == 0 ? "tracing" : "located");
          if (!rfl_store_update_locked (self, id, patch, error) ||
              !rfl_store_audit_append (self, "update", id, NULL, error))
            return FALSE;
          g_clear_pointer (&patch, json_object_unref);
        }
      json_array_add_string_element (located, id);
    }
  return TRUE;
}

/* The record that says where the person found is, and whose consent
 * telling the family takes. */
static const char *
found_side (JsonObject *match)
{
  const char *kind = rfl_json_string_or (match, "kind", "");

  if (g_str_equal (kind, "registered") || g_str_equal (kind, "enquirer") || g_str_equal (kind, "crossed") ||
      g_str_equal (kind, "caregiver"))
    return rfl_json_string_or (match, "candidate_case", NULL);
  if (g_str_equal (kind, "seeks_enquirer"))
    return rfl_json_string_or (match, "case", NULL);
  return NULL;
}

static gboolean
check_consent (RflStore    *self,
               JsonObject  *match,
               GError     **error)
{
  const char *id = found_side (match);
  g_autofree char *into = NULL;
  g_auto(RflRecordRow) row = { 0 };
  JsonObject *consent = NULL;
  const char *subtype, *by;
  gboolean child;

  if (id == NULL)
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                           _("both requests seek this person: there are no whereabouts to share"));
      return FALSE;
    }
  if (!rfl_store_load_record (self, id, 0, &row, error))
    return FALSE;
  /* A duplicate merged into another case: the consent is the kept case's. */
  if (json_object_has_member (row.doc, "merged_into"))
    {
      into = g_strdup (rfl_json_string_or (row.doc, "merged_into", ""));
      rfl_record_row_clear (&row);
      if (!rfl_store_load_record (self, into, 0, &row, error))
        return FALSE;
      id = row.id;
    }
  if (json_object_has_member (row.doc, "consent") &&
      JSON_NODE_HOLDS_OBJECT (json_object_get_member (row.doc, "consent")))
    consent = json_object_get_object_member (row.doc, "consent");
  subtype = rfl_json_string_or (row.doc, "subtype", "");
  child = g_str_equal (subtype, "unaccompanied_child") || g_str_equal (subtype, "separated_child");
  by = consent != NULL ? rfl_json_string_or (consent, "disclosure_decided_by", "") : "";

  if (consent == NULL || !rfl_json_bool_or (consent, "disclose_whereabouts", FALSE))
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                   child ? _("not shared: case %s does not record the caregiver's or a protection officer's "
                             "decision to tell the family where the child is")
                         : _("not shared: the person found (case %s) has not consented to the family being "
                             "told where they are"), id);
      return FALSE;
    }
  if (child && !g_str_equal (by, "caregiver") && !g_str_equal (by, "protection_officer"))
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                   _("not shared: for a child, the caregiver or a protection officer decides whether the family "
                     "is told; case %s records no such decision"), id);
      return FALSE;
    }
  return TRUE;
}

static gboolean
decide_locked (RflStore  *self,
               gpointer   data,
               GError   **error)
{
  static const char * const copied[] = { "case", "person", "candidate_case", "candidate_person", "kind",
                                         "score", "explanation" };
  DecideArgs *args = data;
  g_autofree char *basis = NULL;
  g_autofree char *today = rfl_store_today (self);
  g_autoptr(JsonObject) proposal = load_proposal (self, args->id, &basis, error);
  g_autoptr(JsonObject) fields = json_object_new ();
  g_auto(RflRecordRow) row = { 0 };
  g_autoptr(JsonObject) match = NULL;
  JsonArray *located = json_array_new ();
  gboolean exists;

  json_object_set_array_member (args->out, "located", located);
  if (error != NULL && *error != NULL)
    return FALSE;
  exists = rfl_store_load_record (self, args->id, RFL_LOAD_ANY, &row, error);
  if (error != NULL && *error != NULL)
    return FALSE;
  if (exists && (row.cl % 2 == 0 || row.doc == NULL || g_strcmp0 (row.type, "match") != 0))
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                   _("%s is not a match proposal that can be decided"), args->id);
      return FALSE;
    }
  if (proposal == NULL && !exists)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND,
                   _("no match proposal %s: list the current ones with 'matches'"), args->id);
      return FALSE;
    }

  /* Once the family was told where the person is, the decision stands: a
   * change of mind is a note on the cases, not a silent rejection. */
  if (exists && rfl_json_bool_or (row.doc, "whereabouts_shared", FALSE))
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                   _("the family was already told where the person is (%s): the decision on %s stands"),
                   rfl_json_string_or (row.doc, "shared_on", "?"), args->id);
      return FALSE;
    }
  /* Both cases must still be there: a decision on a deleted case decides
   * nothing, and would locate or tell no one. */
  {
    JsonObject *pair = exists ? row.doc : proposal;
    static const char * const sides[] = { "case", "candidate_case" };

    for (guint i = 0; i < G_N_ELEMENTS (sides); i++)
      {
        const char *id = rfl_json_string_or (pair, sides[i], NULL);
        g_auto(RflRecordRow) side = { 0 };

        if (id != NULL && !rfl_store_load_record (self, id, 0, &side, NULL))
          {
            g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND,
                         _("case %s of this pair was deleted: there is nothing to decide"), id);
            return FALSE;
          }
      }
  }

  if (args->decision == NULL)
    {
      /* Located and shared: the family is told where the person is. */
      if (!exists || g_strcmp0 (rfl_json_string_or (row.doc, "decision", NULL), "confirmed") != 0)
        {
          g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                               _("not shared: confirm the match first"));
          return FALSE;
        }
      if (!check_consent (self, row.doc, error))
        return FALSE;
      json_object_set_boolean_member (fields, "whereabouts_shared", TRUE);
      json_object_set_string_member (fields, "shared_on", today);
    }
  else
    {
      if (proposal != NULL)
        {
          for (guint i = 0; i < G_N_ELEMENTS (copied); i++)
            if (json_object_has_member (proposal, copied[i]))
              json_object_set_member (fields, copied[i],
                                      json_node_copy (json_object_get_member (proposal, copied[i])));
          json_object_set_string_member (fields, "basis", basis);
        }
      json_object_set_string_member (fields, "decision", args->decision);
      if (args->reason != NULL && *args->reason != '\0')
        json_object_set_string_member (fields, "reason", args->reason);
      else if (exists)
        json_object_set_null_member (fields, "reason");
      if (self->actor != NULL)
        json_object_set_string_member (fields, "decided_by", self->actor);
      json_object_set_string_member (fields, "decided_on", today);
    }

  if (exists)
    {
      if (!rfl_store_update_locked (self, args->id, fields, error) ||
          !rfl_store_audit_append (self, "update", args->id, NULL, error))
        return FALSE;
    }
  else
    {
      json_object_set_string_member (fields, "type", "match");
      json_object_set_string_member (fields, "id", args->id);
      if (!rfl_store_add_locked (self, fields, NULL, error))
        return FALSE;
    }
  if (!rfl_store_audit_append (self, args->decision != NULL ? "match-decide" : "match-share", args->id,
                               args->decision, error))
    return FALSE;

  {
    g_auto(RflRecordRow) now = { 0 };

    if (!rfl_store_load_record (self, args->id, 0, &now, error))
      return FALSE;
    match = json_object_ref (now.doc);
  }
  if (g_strcmp0 (args->decision, "confirmed") == 0 && !locate (self, match, located, error))
    return FALSE;
  json_object_set_string_member (args->out, "id", args->id);
  json_object_set_object_member (args->out, "match", g_steal_pointer (&match));
  return TRUE;
}

/**
 * rfl_store_decide_match:
 * @self: an open store
 * @id: a proposal's id, or a decided pair's
 * @decision: "confirmed", "rejected" or "more_info"
 * @reason: (nullable): why, in the decider's words
 * @error: return location for an error
 *
 * Records a decision on a proposal as its match record: a new one, or the
 * pair's record changed. A confirmed match moves the tracing requests it
 * answers from open or tracing to located, in the same transaction. A
 * rejected pair is not proposed again while the names, sex and dates of
 * birth of both persons stay as they are.
 *
 * Returns: (transfer full): {"id", "match": the record, "located": [case ids]}
 */
JsonObject *
rfl_store_decide_match (RflStore    *self,
                        const char  *id,
                        const char  *decision,
                        const char  *reason,
                        GError     **error)
{
  static const char * const decisions[] = { "confirmed", "rejected", "more_info", NULL };
  g_autoptr(JsonObject) out = json_object_new ();
  DecideArgs args = { id, decision, reason, out };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  g_return_val_if_fail (id != NULL && decision != NULL, NULL);

  if (!g_strv_contains (decisions, decision))
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                   _("'%s' is not a decision: confirmed, rejected or more_info"), decision);
      return NULL;
    }
  if (!rfl_store_write (self, decide_locked, &args, error))
    return NULL;
  return g_steal_pointer (&out);
}

/**
 * rfl_store_share_whereabouts:
 * @self: an open store
 * @id: a confirmed match
 * @error: return location for an error
 *
 * Records that the family was told where the person found is: "located and
 * shared". Refused, with the reason, unless the match is confirmed and the
 * person found consented to it, or for a child, unless the caregiver or a
 * protection officer decided it (the consent's "disclosure_decided_by").
 *
 * Returns: (transfer full): as rfl_store_decide_match()
 */
JsonObject *
rfl_store_share_whereabouts (RflStore    *self,
                             const char  *id,
                             GError     **error)
{
  g_autoptr(JsonObject) out = json_object_new ();
  DecideArgs args = { id, NULL, NULL, out };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  if (!rfl_store_write (self, decide_locked, &args, error))
    return NULL;
  return g_steal_pointer (&out);
}
