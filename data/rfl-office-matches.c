/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-store"

/*
 * Proposals across offices, at HQ, told with the least disclosure.
 *
 * HQ holds every office's records, so its own proposals (rfl-proposals.c)
 * pair people across offices. An office must not learn another office's
 * people from a proposal: each side of a pair whose cases belong to two
 * offices, and are not shared between them, is told as an `office_match`
 * record owned by that side's office. It names the office's own case and
 * person, the other office, the kind of pair and of the other record, and
 * the score with its points by component ("names +4.0"): no name, place,
 * date or id of the other side. The record reaches that office's devices
 * like any record it owns.
 *
 * An office that wants to know more says so (`interested`); HQ tells the
 * other office (`other_interested`), whose people decide whether to share
 * their case (rfl_store_share()). Only then does the other side's data
 * move, and the office's own matching proposes the pair with names; HQ
 * then withdraws (deletes) both records, as it does for a pair no longer
 * proposed.
 */

#include "rfl-store-private.h"
#include "rfl-store-sync.h"
#include "rfl-json.h"

#include <string.h>
#include <glib/gi18n-lib.h>

typedef struct
{
  double      min_score;
  guint       pairs;
  guint       told;
  guint       interest;
  guint       withdrawn;
  GHashTable *standing;   /* the pairs told this time */
} OfficeArgs;

/* "names +4.0", one per component, in the order the scorer gave them. */
static JsonArray *
components_of (JsonObject *proposal)
{
  JsonArray *out = json_array_new ();
  JsonNode *node = json_object_get_member (proposal, "points");
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return out;
  json_object_iter_init_ordered (&iter, json_node_get_object (node));
  while (json_object_iter_next_ordered (&iter, &name, &value))
    if (JSON_NODE_HOLDS_VALUE (value))
      {
        g_autofree char *line = g_strdup_printf ("%s %+.1f", name, json_node_get_double (value));

        json_array_add_string_element (out, line);
      }
  return out;
}

static gboolean
set_owner (RflStore    *self,
           const char  *id,
           const char  *office,
           GError     **error)
{
  static const char * const sql[] = {
    "UPDATE records SET owner = ?2 WHERE id = ?1",
    "UPDATE hashes SET owner = ?2 WHERE record_row = (SELECT rowid FROM records WHERE id = ?1)",
  };

  for (guint i = 0; i < G_N_ELEMENTS (sql); i++)
    {
      sqlite3_stmt *st = rfl_store_stmt (self, sql[i], error);

      if (st == NULL)
        return FALSE;
      rfl_bind_text (st, 1, id);
      rfl_bind_text (st, 2, office);
      if (!rfl_store_run_write (self, st, "telling an office of a proposal", error))
        return FALSE;
    }
  return TRUE;
}

/* Tells @office of its side of the pair: adds its office_match record, or
 * brings the one it has up to date. */
static gboolean
tell_side (RflStore    *self,
           OfficeArgs  *args,
           JsonObject  *proposal,
           gboolean     candidate_side,
           const char  *office,
           const char  *other_office,
           const char  *other_kind,
           GError     **error)
{
  const char *pair = json_object_get_string_member (proposal, "id");
  const char *case_id = rfl_json_string_or (proposal, candidate_side ? "candidate_case" : "case", NULL);
  const char *person = rfl_json_string_or (proposal, candidate_side ? "candidate_person" : "person", NULL);
  g_autofree char *id = NULL, *today = NULL;
  g_autoptr(JsonObject) doc = json_object_new (), patch = json_object_new ();
  g_auto(RflRecordRow) row = { 0 };
  const char *kind = rfl_json_string_or (proposal, "kind", NULL);
  static const char * const kept[] = { "case", "person", "pair", "other_office", "kind", "other_kind", "score",
                                       "components", NULL };

  if (case_id == NULL || pair == NULL)
    return TRUE;
  id = rfl_match_pair_id ("office-match", pair, case_id, office);
  json_object_set_string_member (doc, "type", "office_match");
  json_object_set_string_member (doc, "id", id);
  json_object_set_string_member (doc, "case", case_id);
  if (person != NULL)
    json_object_set_string_member (doc, "person", person);
  json_object_set_string_member (doc, "pair", pair);
  json_object_set_string_member (doc, "other_office", other_office);
  if (kind != NULL)
    json_object_set_string_member (doc, "kind", kind);
  if (other_kind != NULL)
    json_object_set_string_member (doc, "other_kind", other_kind);
  json_object_set_double_member (doc, "score",
                                 (double) (gint64) (json_object_get_double_member (proposal, "score") * 10 + 0.5) / 10);
  json_object_set_array_member (doc, "components", components_of (proposal));

  if (!rfl_store_load_record (self, id, RFL_LOAD_ANY, &row, error))
    {
      g_autofree char *added = NULL;

      if (error != NULL && *error != NULL)
        return FALSE;
      today = rfl_store_today (self);
      json_object_set_string_member (doc, "proposed_on", today);
      if (!rfl_store_add_locked (self, doc, &added, error) || !set_owner (self, id, office, error))
        return FALSE;
      args->told++;
      return TRUE;
    }
  /* Dismissed by the office (deleted): not told again. */
  if (row.doc == NULL || row.cl % 2 == 0)
    return TRUE;
  for (guint i = 0; kept[i] != NULL; i++)
    {
      JsonNode *now = json_object_get_member (doc, kept[i]);
      JsonNode *was = json_object_get_member (row.doc, kept[i]);

      if (now != NULL && (was == NULL || !json_node_equal (now, was)))
        json_object_set_member (patch, kept[i], json_node_copy (now));
    }
  if (json_object_get_size (patch) == 0)
    return TRUE;
  args->told++;
  return rfl_store_update_locked (self, id, patch, error);
}

static const char *
kind_of (const char *type,
         const char *subtype)
{
  return subtype != NULL ? subtype : type;
}

static gboolean
tell_pairs (RflStore    *self,
            OfficeArgs  *args,
            GError     **error)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  sqlite3_stmt *st;
  int rc;

  /* Pairs of cases two offices own, neither shared with the other office,
   * whose proposal is worth a look. */
  if ((st = rfl_store_stmt (self, "SELECT p.doc, a.owner, b.owner, a.type, a.doc ->> '$.subtype',"
                            "   b.type, b.doc ->> '$.subtype'"
                            " FROM proposals p JOIN records a ON a.rowid = p.case_row"
                            " JOIN records b ON b.rowid = p.candidate_row"
                            " WHERE p.score >= ?1 AND a.owner IS NOT NULL AND b.owner IS NOT NULL"
                            "   AND a.owner != b.owner AND a.cl % 2 = 1 AND b.cl % 2 = 1"
                            "   AND NOT EXISTS (SELECT 1 FROM shares s WHERE s.record_row = a.rowid"
                            "                   AND s.office = b.owner)"
                            "   AND NOT EXISTS (SELECT 1 FROM shares s WHERE s.record_row = b.rowid"
                            "                   AND s.office = a.owner)", error)) == NULL)
    return FALSE;
  sqlite3_bind_double (st, 1, args->min_score);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      char **row = g_new0 (char *, 8);

      for (int c = 0; c < 7; c++)
        row[c] = g_strdup ((const char *) sqlite3_column_text (st, c));
      g_ptr_array_add (rows, row);
    }
  sqlite3_reset (st);
  if (rc != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "reading match proposals");

  for (guint i = 0; i < rows->len; i++)
    {
      char **row = g_ptr_array_index (rows, i);
      g_autoptr(JsonObject) proposal = rfl_parse_doc (row[0]);

      if (proposal == NULL || !json_object_has_member (proposal, "id"))
        continue;
      args->pairs++;
      g_hash_table_add (args->standing, g_strdup (json_object_get_string_member (proposal, "id")));
      if (!tell_side (self, args, proposal, FALSE, row[1], row[2], kind_of (row[5], row[6]), error) ||
          !tell_side (self, args, proposal, TRUE, row[2], row[1], kind_of (row[3], row[4]), error))
        return FALSE;
    }
  return TRUE;
}

/* An office's interest in a pair, told to the other office. */
static gboolean
pass_interest (RflStore    *self,
               OfficeArgs  *args,
               GError     **error)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *st;
  int rc;

  if ((st = rfl_store_stmt (self, "SELECT b.id FROM records a JOIN records b"
                            "   ON b.type = 'office_match' AND b.doc ->> '$.pair' = a.doc ->> '$.pair'"
                            "  AND b.id != a.id AND b.cl % 2 = 1"
                            " WHERE a.type = 'office_match' AND a.cl % 2 = 1"
                            "   AND a.doc ->> '$.interested' = 1"
                            "   AND b.doc ->> '$.other_interested' IS NOT 1", error)) == NULL)
    return FALSE;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (ids, g_strdup ((const char *) sqlite3_column_text (st, 0)));
  sqlite3_reset (st);
  if (rc != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "reading proposals to other offices");
  for (guint i = 0; i < ids->len; i++)
    {
      g_autoptr(JsonObject) patch = json_object_new ();

      json_object_set_boolean_member (patch, "other_interested", TRUE);
      if (!rfl_store_update_locked (self, g_ptr_array_index (ids, i), patch, error))
        return FALSE;
      args->interest++;
    }
  return TRUE;
}

/* A pair no longer told (shared since, so the offices match it with
 * names; or no longer proposed) is withdrawn from both offices. */
static gboolean
withdraw_stale (RflStore    *self,
                OfficeArgs  *args,
                GError     **error)
{
  g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  sqlite3_stmt *st;
  int rc;

  if ((st = rfl_store_stmt (self, "SELECT id, doc ->> '$.pair' FROM records WHERE type = 'office_match'"
                            " AND cl % 2 = 1 AND doc IS NOT NULL", error)) == NULL)
    return FALSE;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    if (!g_hash_table_contains (args->standing, (const char *) sqlite3_column_text (st, 1)))
      g_ptr_array_add (gone, g_strdup ((const char *) sqlite3_column_text (st, 0)));
  sqlite3_reset (st);
  if (rc != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "reading proposals to other offices");
  for (guint i = 0; i < gone->len; i++)
    {
      if (!rfl_store_delete_locked (self, g_ptr_array_index (gone, i), error))
        return FALSE;
      args->withdrawn++;
    }
  return TRUE;
}

static gboolean
tell_offices_locked (RflStore  *self,
                     gpointer   data,
                     GError   **error)
{
  OfficeArgs *args = data;

  return tell_pairs (self, args, error) && pass_interest (self, args, error) &&
         withdraw_stale (self, args, error) &&
         rfl_store_audit_append (self, "office-matches", NULL, NULL, error);
}

/**
 * rfl_store_tell_offices_of_matches:
 * @self: HQ's store
 * @min_score: pairs scoring less are not told
 * @cancellable: (nullable): stops making proposals between slices
 * @progress: (nullable) (scope call): how many stale records are done
 * @data: for @progress
 * @error: return location for an error
 *
 * Makes the stale proposals (rfl_store_refresh_proposals()), then tells
 * each office of the pairs it has with another office, without the other
 * side's personal data, and passes on the interest an office showed in a
 * pair to the other office. See the top of rfl-office-matches.c.
 *
 * Returns: (transfer full): the counts `pairs`, `told` (records added or
 *   brought up to date), `interest` (interest passed on) and `withdrawn`
 *   (records of pairs no longer told, deleted); or %NULL
 */
JsonObject *
rfl_store_tell_offices_of_matches (RflStore         *self,
                                   double            min_score,
                                   GCancellable     *cancellable,
                                   RflProgressFunc   progress,
                                   gpointer          data,
                                   GError          **error)
{
  g_autoptr(GHashTable) standing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  OfficeArgs args = { min_score, 0, 0, 0, 0, standing };
  JsonObject *out;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  if (!rfl_store_refresh_proposals (self, cancellable, progress, data, error) ||
      !rfl_store_write (self, tell_offices_locked, &args, error))
    return NULL;
  out = json_object_new ();
  json_object_set_int_member (out, "pairs", args.pairs);
  json_object_set_int_member (out, "told", args.told);
  json_object_set_int_member (out, "interest", args.interest);
  json_object_set_int_member (out, "withdrawn", args.withdrawn);
  return out;
}

typedef struct
{
  GPtrArray *out;
} ListArgs;

static gboolean
list_locked (RflStore  *self,
             gpointer   data,
             GError   **error)
{
  ListArgs *args = data;
  sqlite3_stmt *st;
  int rc;

  if ((st = rfl_store_stmt (self, "SELECT id, doc FROM records WHERE type = 'office_match' AND cl % 2 = 1"
                            " AND doc IS NOT NULL ORDER BY doc ->> '$.score' DESC, id", error)) == NULL)
    return FALSE;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      JsonObject *doc = rfl_parse_doc ((const char *) sqlite3_column_text (st, 1));

      if (doc == NULL)
        continue;
      json_object_set_string_member (doc, "id", (const char *) sqlite3_column_text (st, 0));
      g_ptr_array_add (args->out, doc);
    }
  sqlite3_reset (st);
  if (rc != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "reading proposals from other offices");
  return rfl_store_audit_read (self, "office-matches", NULL, NULL, error);
}

/**
 * rfl_store_list_office_matches:
 * @self: an open store
 * @error: return location for an error
 *
 * The pairs HQ found between this office's cases and another office's
 * (`office_match` records), best first: each names this office's case and
 * person, the other office, the kind of the other record, and the score
 * in parts, and says whether either office asked to know more.
 *
 * Returns: (transfer full) (element-type JsonObject): the records, or %NULL
 */
GPtrArray *
rfl_store_list_office_matches (RflStore  *self,
                               GError   **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  ListArgs args = { out };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  if (!rfl_store_read (self, list_locked, &args, error))
    return NULL;
  return g_steal_pointer (&out);
}

typedef struct
{
  const char *id;
  const char *reason;
} InterestArgs;

static gboolean
interest_locked (RflStore  *self,
                 gpointer   data,
                 GError   **error)
{
  InterestArgs *args = data;
  g_auto(RflRecordRow) row = { 0 };
  g_autoptr(JsonObject) patch = json_object_new ();

  if (!rfl_store_load_record (self, args->id, RFL_LOAD_LIVE, &row, error))
    return FALSE;
  if (g_strcmp0 (row.type, "office_match") != 0)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                   _("%s is not a proposal from another office"), args->id);
      return FALSE;
    }
  json_object_set_boolean_member (patch, "interested", TRUE);
  if (args->reason != NULL)
    json_object_set_string_member (patch, "interest_reason", args->reason);
  if (self->actor != NULL)
    json_object_set_string_member (patch, "interest_by", self->actor);
  return rfl_store_update_locked (self, args->id, patch, error) &&
         rfl_store_audit_append (self, "office-match-interest", args->id, NULL, error);
}

/**
 * rfl_store_show_interest:
 * @self: an office's store
 * @id: an `office_match` record
 * @reason: (nullable): why, for this office; never told to the other
 * @error: return location for an error
 *
 * Says that this office wants to know more about a pair HQ found with
 * another office. HQ tells the other office, whose people may then share
 * their case.
 */
gboolean
rfl_store_show_interest (RflStore    *self,
                         const char  *id,
                         const char  *reason,
                         GError     **error)
{
  InterestArgs args = { id, reason };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  return rfl_store_write (self, interest_locked, &args, error);
}
