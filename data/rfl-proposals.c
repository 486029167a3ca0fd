/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-store"

/*
 * Match proposals kept, and the decisions people make on them.
 *
 * Proposals are derived data: one row per pair of persons in the
 * proposals table, made by rfl-match.c. Whenever a record's persons change,
 * come or go (a save, an import, a merge from sync, a deletion or a purge),
 * the name index marks the record stale (match_stale), and its proposals
 * are made again when someone next asks: by rfl_store_refresh_proposals(),
 * a few hundred milliseconds of work at a time so that a window stays
 * responsive, or all at once by rfl_store_rebuild_proposals().
 *
 * A decision is a match record, whose id is the pair's (rfl_match_pair_id()):
 * it syncs and merges like any record, field by field, so two people who
 * decide on the same pair on two laptops write one record and, where they
 * disagree, a conflict that a person settles. A rejected pair is left out
 * of the proposals until a name, the sex or the date of birth of either
 * person changes (its basis). A confirmed one moves the tracing request to
 * "located"; telling the family where the person is takes that person's
 * consent, or for a child the caregiver's or a protection officer's.
 */

#include "rfl-store-private.h"
#include "rfl-json.h"

#include <string.h>
#include <glib/gi18n-lib.h>

/* Proposals scoring less are not kept: they are never worth a look. */
#define STORED_FLOOR 2.0

/* How long one write transaction of a refresh may hold the store. */
#define SLICE_US (250 * G_TIME_SPAN_MILLISECOND)

static gboolean
delete_rows_of (RflStore       *self,
                sqlite3_int64   rowid,
                GError        **error)
{
  static const char * const sql[] = {
    "DELETE FROM proposals WHERE case_row = ?1",
    "DELETE FROM proposals WHERE candidate_row = ?1",
    "DELETE FROM match_stale WHERE record_row = ?1",
  };
  sqlite3_stmt *st;

  for (guint i = 0; i < G_N_ELEMENTS (sql); i++)
    {
      if ((st = rfl_store_stmt (self, sql[i], error)) == NULL)
        return FALSE;
      sqlite3_bind_int64 (st, 1, rowid);
      if (!rfl_store_run_write (self, st, "updating match proposals", error))
        return FALSE;
    }
  return TRUE;
}

/* Keeps @proposal, with its basis in a column of its own. */
static gboolean
store_proposal (RflStore    *self,
                JsonObject  *proposal,
                GError     **error)
{
  g_autofree char *basis = g_strdup (rfl_json_string_or (proposal, RFL_PROPOSAL_BASIS, ""));
  g_autofree char *doc = NULL;
  sqlite3_stmt *st;

  json_object_remove_member (proposal, RFL_PROPOSAL_BASIS);
  doc = rfl_doc_to_string (proposal);
  if ((st = rfl_store_stmt (self, "INSERT OR REPLACE INTO proposals (id, case_row, candidate_row, score, basis, doc)"
                            " VALUES (?1, (SELECT rowid FROM records WHERE id = ?2),"
                            " (SELECT rowid FROM records WHERE id = ?3), ?4, ?5, ?6)", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, json_object_get_string_member (proposal, "id"));
  rfl_bind_text (st, 2, json_object_get_string_member (proposal, "case"));
  rfl_bind_text (st, 3, json_object_get_string_member (proposal, "candidate_case"));
  sqlite3_bind_double (st, 4, json_object_get_double_member (proposal, "score"));
  rfl_bind_text (st, 5, basis);
  rfl_bind_text (st, 6, doc);
  json_object_set_string_member (proposal, RFL_PROPOSAL_BASIS, basis);
  return rfl_store_run_write (self, st, "updating match proposals", error);
}

/* The proposals other cases made in which the record at @rowid is the
 * candidate: each is scored again, since the record changed. */
static GPtrArray *
proposals_naming (RflStore       *self,
                  sqlite3_int64   rowid,
                  GError        **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  sqlite3_stmt *st = rfl_store_stmt (self, "SELECT doc FROM proposals WHERE candidate_row = ?1", error);
  int rc;

  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, rowid);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      JsonObject *doc = rfl_parse_doc ((const char *) sqlite3_column_text (st, 0));

      if (doc != NULL)
        g_ptr_array_add (out, doc);
    }
  sqlite3_reset (st);
  if (rc != SQLITE_DONE)
    {
      rfl_store_sql_fail (self, error, "reading match proposals");
      return NULL;
    }
  return g_steal_pointer (&out);
}

/* Makes the proposals of the record at @rowid again, keeping those that
 * score @min_score or more, and gives them back in @out when asked: those
 * its own search finds, then the pairs other cases had proposed it in,
 * scored again. */
static gboolean
refresh_row (RflStore        *self,
             sqlite3_int64    rowid,
             double           min_score,
             GPtrArray      **out,
             GError         **error)
{
  g_autoptr(GPtrArray) proposals = NULL;
  g_autoptr(GPtrArray) named = NULL;
  g_autoptr(GHashTable) made = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(JsonObject) doc = NULL;
  g_autofree char *id = NULL;
  sqlite3_stmt *st;

  if ((named = proposals_naming (self, rowid, error)) == NULL || !delete_rows_of (self, rowid, error) ||
      (st = rfl_store_stmt (self, "SELECT id, doc FROM records WHERE rowid = ?1 AND cl % 2 = 1"
                            " AND type IN ('tracing_request', 'registration')", error)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, rowid);
  if (sqlite3_step (st) == SQLITE_ROW && sqlite3_column_type (st, 1) != SQLITE_NULL)
    {
      id = g_strdup ((const char *) sqlite3_column_text (st, 0));
      doc = rfl_parse_doc ((const char *) sqlite3_column_text (st, 1));
    }
  sqlite3_reset (st);
  /* A duplicate merged into another case is matched as that case. */
  if (doc == NULL || json_object_has_member (doc, "merged_into"))
    return TRUE;
  if ((proposals = rfl_match_propose_for_record (self, id, doc, MIN (min_score, STORED_FLOOR), error)) == NULL)
    return FALSE;
  for (guint i = 0; i < proposals->len; i++)
    {
      JsonObject *p = g_ptr_array_index (proposals, i);

      g_hash_table_add (made, (gpointer) json_object_get_string_member (p, "id"));
      if (json_object_get_double_member (p, "score") >= STORED_FLOOR && !store_proposal (self, p, error))
        return FALSE;
    }
  for (guint i = 0; i < named->len; i++)
    {
      JsonObject *old = g_ptr_array_index (named, i);
      g_autoptr(JsonObject) again = NULL;

      if (g_hash_table_contains (made, json_object_get_string_member (old, "id")))
        continue;
      again = rfl_match_score_again (self, old, STORED_FLOOR, FALSE, error);
      if (error != NULL && *error != NULL)
        return FALSE;
      if (again != NULL && !store_proposal (self, again, error))
        return FALSE;
    }
  if (out != NULL)
    *out = g_steal_pointer (&proposals);
  return TRUE;
}

typedef struct
{
  guint64  done;
  gboolean finished;
} SliceArgs;

static gboolean
refresh_slice_locked (RflStore  *self,
                      gpointer   data,
                      GError   **error)
{
  SliceArgs *args = data;
  gint64 until = g_get_monotonic_time () + SLICE_US;

  while (g_get_monotonic_time () < until)
    {
      sqlite3_stmt *st = rfl_store_stmt (self, "SELECT record_row FROM match_stale LIMIT 1", error);
      sqlite3_int64 rowid;

      if (st == NULL)
        return FALSE;
      if (sqlite3_step (st) != SQLITE_ROW)
        {
          sqlite3_reset (st);
          args->finished = TRUE;
          return TRUE;
        }
      rowid = sqlite3_column_int64 (st, 0);
      sqlite3_reset (st);
      if (!refresh_row (self, rowid, STORED_FLOOR, NULL, error))
        return FALSE;
      args->done++;
    }
  return TRUE;
}

static gboolean
count_stale_locked (RflStore  *self,
                    gpointer   data,
                    GError   **error)
{
  sqlite3_stmt *st = rfl_store_stmt (self, "SELECT count(*) FROM match_stale", error);

  if (st == NULL)
    return FALSE;
  if (sqlite3_step (st) != SQLITE_ROW)
    return rfl_store_sql_fail (self, error, "counting stale proposals");
  *(gint64 *) data = sqlite3_column_int64 (st, 0);
  sqlite3_reset (st);
  return TRUE;
}

/**
 * rfl_store_count_stale_proposals:
 *
 * Returns: how many records have proposals to make again, or -1 on error
 */
gint64
rfl_store_count_stale_proposals (RflStore  *self,
                                 GError   **error)
{
  gint64 n = -1;

  g_return_val_if_fail (RFL_IS_STORE (self), -1);

  if (!rfl_store_read (self, count_stale_locked, &n, error))
    return -1;
  return n;
}

/**
 * rfl_store_refresh_proposals:
 * @self: an open store
 * @cancellable: (nullable): stops the work between two slices
 * @progress: (nullable) (scope call): told how many records are done, of how many
 * @data: for @progress
 * @error: return location for an error
 *
 * Makes again the proposals of every record marked stale since they were
 * last made, in slices of a quarter of a second, each its own transaction:
 * other work on the store goes on in between, and work cancelled or cut
 * short is taken up where it stopped.
 */
gboolean
rfl_store_refresh_proposals (RflStore         *self,
                             GCancellable     *cancellable,
                             RflProgressFunc   progress,
                             gpointer          data,
                             GError          **error)
{
  SliceArgs args = { 0, FALSE };
  gint64 total;

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  if ((total = rfl_store_count_stale_proposals (self, error)) < 0)
    return FALSE;
  while (!args.finished)
    {
      if (g_cancellable_set_error_if_cancelled (cancellable, error))
        return FALSE;
      if (!rfl_store_write (self, refresh_slice_locked, &args, error))
        return FALSE;
      if (progress != NULL)
        progress (args.finished ? (guint64) MAX (total, (gint64) args.done) : args.done,
                  (guint64) MAX (total, (gint64) args.done), data);
    }
  return TRUE;
}

static gboolean
mark_all_locked (RflStore  *self,
                 gpointer   data,
                 GError   **error)
{
  /* A request's own proposals take in every kind of pair with a request
   * on one side; duplicates have registrations on both, and are made from
   * the registrations. */
  return rfl_store_exec_sql (self, "DELETE FROM proposals; DELETE FROM match_stale;"
                             " INSERT INTO match_stale (record_row) SELECT rowid FROM records"
                             " WHERE type IN ('tracing_request', 'registration') AND cl % 2 = 1", error);
}

/**
 * rfl_store_rebuild_proposals:
 *
 * Makes every proposal again from scratch, as rfl_store_refresh_proposals()
 * does for the stale ones. Proposals read meanwhile are those made so far.
 */
gboolean
rfl_store_rebuild_proposals (RflStore         *self,
                             GCancellable     *cancellable,
                             RflProgressFunc   progress,
                             gpointer          data,
                             GError          **error)
{
  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  return rfl_store_write (self, mark_all_locked, NULL, error) &&
         rfl_store_refresh_proposals (self, cancellable, progress, data, error);
}

/* What a decision adds to a proposal of its pair. A rejection holds while
 * the basis it was made on holds: then the proposal is hidden (FALSE). */
static gboolean
annotate (JsonObject  *proposal,
          const char  *basis,
          JsonObject  *decision,
          gboolean     show_rejected)
{
  static const char * const members[] = { "decision", "reason", "decided_by", "decided_on",
                                          "whereabouts_shared" };
  gboolean same_basis;

  if (decision == NULL)
    return TRUE;
  same_basis = g_strcmp0 (basis, rfl_json_string_or (decision, "basis", NULL)) == 0;
  if (!show_rejected && same_basis && g_strcmp0 (rfl_json_string_or (decision, "decision", NULL), "rejected") == 0)
    return FALSE;
  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    if (json_object_has_member (decision, members[i]))
      json_object_set_member (proposal, members[i], json_node_copy (json_object_get_member (decision, members[i])));
  if (basis != NULL && !same_basis)
    json_object_set_boolean_member (proposal, "changed_since_decision", TRUE);
  return TRUE;
}

/* A decision on a pair that is no longer proposed, shown as a proposal. */
static JsonObject *
decision_as_proposal (RflStore   *self,
                      const char *id,
                      JsonObject *decision)
{
  static const char * const members[] = { "case", "person", "candidate_case", "candidate_person", "kind",
                                          "score", "explanation" };
  /* The names, as the records here give them now: a match record holds
   * none, since it is seen by the offices of both cases. */
  static const struct { const char *case_member, *person_member, *name; } sides[] = {
    { "case", "person", "person_name" }, { "candidate_case", "candidate_person", "candidate_name" },
  };
  JsonObject *out = json_object_new ();

  json_object_set_string_member (out, "id", id);
  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    if (json_object_has_member (decision, members[i]))
      json_object_set_member (out, members[i], json_node_copy (json_object_get_member (decision, members[i])));
  for (guint i = 0; i < G_N_ELEMENTS (sides); i++)
    {
      g_auto(RflRecordRow) row = { 0 };
      const char *case_id = rfl_json_string_or (decision, sides[i].case_member, NULL);
      JsonObject *person;
      g_autofree char *name = NULL;

      if (case_id == NULL || !rfl_store_load_record (self, case_id, 0, &row, NULL))
        continue;
      person = rfl_record_find_person (row.doc, rfl_json_string_or (decision, sides[i].person_member, NULL));
      if (person != NULL && (name = rfl_person_display_name (person)) != NULL)
        json_object_set_string_member (out, sides[i].name, name);
      if (i == 1)
        {
          json_object_set_string_member (out, "candidate_type", row.type);
          if (json_object_has_member (row.doc, "subtype"))
            json_object_set_string_member (out, "candidate_subtype", rfl_json_string_or (row.doc, "subtype", ""));
        }
    }
  annotate (out, NULL, decision, TRUE);
  json_object_set_boolean_member (out, "proposed", FALSE);
  return out;
}

typedef struct
{
  const char *case_id;
  double      min_score;
  guint       offset;
  guint       limit;
  GPtrArray  *out;
  gboolean    duplicates;   /* without a case: duplicates only, or none */
} ListArgs;

static gboolean
list_locked (RflStore  *self,
             gpointer   data,
             GError   **error)
{
  ListArgs *args = data;
  g_autoptr(GHashTable) listed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  sqlite3_stmt *st;
  int rc;

  if (args->case_id == NULL)
    st = rfl_store_stmt (self, "SELECT p.doc, p.basis, m.doc FROM proposals p"
                         " LEFT JOIN records m ON m.id = p.id AND m.type = 'match' AND m.cl % 2 = 1"
                         " WHERE p.score >= ?1 AND (m.doc IS NULL OR m.doc ->> '$.decision' IS NOT 'rejected'"
                         "                          OR m.doc ->> '$.basis' IS NOT p.basis)"
                         "   AND (p.doc ->> '$.kind' IS '" RFL_MATCH_DUPLICATE "') = ?4"
                         " ORDER BY p.score DESC, p.id LIMIT ?2 OFFSET ?3", error);
  else
    st = rfl_store_stmt (self, "SELECT p.doc, p.basis, m.doc FROM proposals p"
                         " LEFT JOIN records m ON m.id = p.id AND m.type = 'match' AND m.cl % 2 = 1"
                         " WHERE p.score >= ?1 AND p.rowid IN"
                         "   (SELECT rowid FROM proposals WHERE case_row = (SELECT rowid FROM records WHERE id = ?4)"
                         "    UNION SELECT rowid FROM proposals"
                         "          WHERE candidate_row = (SELECT rowid FROM records WHERE id = ?4))"
                         " ORDER BY p.score DESC, p.id LIMIT ?2 OFFSET ?3", error);
  if (st == NULL || !rfl_store_begin_read (self, error))
    return FALSE;
  sqlite3_bind_double (st, 1, args->min_score);
  sqlite3_bind_int64 (st, 2, args->limit);
  sqlite3_bind_int64 (st, 3, args->offset);
  if (args->case_id != NULL)
    rfl_bind_text (st, 4, args->case_id);
  else
    sqlite3_bind_int (st, 4, args->duplicates);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      g_autoptr(JsonObject) p = rfl_parse_doc ((const char *) sqlite3_column_text (st, 0));
      g_autoptr(JsonObject) m = NULL;

      if (p == NULL)
        continue;
      if (sqlite3_column_type (st, 2) != SQLITE_NULL)
        m = rfl_parse_doc ((const char *) sqlite3_column_text (st, 2));
      if (!annotate (p, (const char *) sqlite3_column_text (st, 1), m, args->case_id != NULL))
        continue;
      g_hash_table_add (listed, g_strdup (json_object_get_string_member (p, "id")));
      g_ptr_array_add (args->out, g_steal_pointer (&p));
    }
  if (rc != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "reading match proposals");

  /* A case shows its decisions too, on pairs no longer proposed, and those
   * on the duplicates merged into it. */
  if (args->case_id != NULL && args->offset == 0)
    {
      if ((st = rfl_store_stmt (self, "SELECT id, doc FROM records WHERE type = 'match' AND cl % 2 = 1"
                                " AND (doc ->> '$.case' IN (" RFL_CASE_AND_MERGED ")"
                                "      OR doc ->> '$.candidate_case' IN (" RFL_CASE_AND_MERGED "))",
                                error)) == NULL)
        return FALSE;
      rfl_bind_text (st, 1, args->case_id);
      while ((rc = sqlite3_step (st)) == SQLITE_ROW)
        {
          const char *id = (const char *) sqlite3_column_text (st, 0);
          g_autoptr(JsonObject) m = rfl_parse_doc ((const char *) sqlite3_column_text (st, 1));

          if (m != NULL && !g_hash_table_contains (listed, id))
            g_ptr_array_add (args->out, decision_as_proposal (self, id, m));
        }
      if (rc != SQLITE_DONE)
        return rfl_store_sql_fail (self, error, "reading match decisions");
    }
  rfl_store_end_read (self);
  return rfl_store_audit_read (self, "matches", args->case_id, NULL, error);
}

/**
 * rfl_store_list_proposals:
 * @self: an open store
 * @case_id: (nullable): only the pairs this case takes part in, with its
 *   decisions, rejections included, duplicates too; without it, every pair
 *   but those rejected on the same names, sex and dates of birth, and but
 *   duplicates (rfl_store_list_duplicates())
 * @min_score: leave out proposals scoring less
 * @offset: skip this many
 * @limit: at most this many
 * @error: return location for an error
 *
 * The proposals as last made (see rfl_store_refresh_proposals()), best
 * first, each with its id, which a decision takes, and the decision made on
 * it if any. Audited as one view.
 *
 * Returns: (transfer full) (element-type JsonObject): the proposals
 */
GPtrArray *
rfl_store_list_proposals (RflStore    *self,
                          const char  *case_id,
                          double       min_score,
                          guint        offset,
                          guint        limit,
                          GError     **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  ListArgs args = { case_id, min_score, offset, limit, out, FALSE };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  if (!rfl_store_read (self, list_locked, &args, error))
    return NULL;
  return g_steal_pointer (&out);
}

typedef struct
{
  const char *case_id;
  double      min_score;
  GPtrArray  *out;
} ProposeArgs;

static gboolean
propose_locked (RflStore  *self,
                gpointer   data,
                GError   **error)
{
  ProposeArgs *args = data;
  g_auto(RflRecordRow) row = { 0 };
  g_autoptr(GPtrArray) fresh = NULL;
  sqlite3_stmt *st;

  if (!rfl_store_load_record (self, args->case_id, 0, &row, error))
    return FALSE;
  if (g_strcmp0 (row.type, "tracing_request") != 0)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                   _("%s is not a tracing request: matches are proposed for the people a tracing request seeks"),
                   args->case_id);
      return FALSE;
    }
  if (!refresh_row (self, row.rowid, args->min_score, &fresh, error))
    return FALSE;
  if ((st = rfl_store_stmt (self, "SELECT doc FROM records WHERE id = ?1 AND type = 'match' AND cl % 2 = 1",
                            error)) == NULL)
    return FALSE;
  for (guint i = 0; fresh != NULL && i < fresh->len; i++)
    {
      JsonObject *p = g_ptr_array_index (fresh, i);
      g_autofree char *basis = g_strdup (rfl_json_string_or (p, RFL_PROPOSAL_BASIS, NULL));
      g_autoptr(JsonObject) m = NULL;

      json_object_remove_member (p, RFL_PROPOSAL_BASIS);
      if (json_object_get_double_member (p, "score") < args->min_score)
        continue;
      rfl_bind_text (st, 1, json_object_get_string_member (p, "id"));
      if (sqlite3_step (st) == SQLITE_ROW)
        m = rfl_parse_doc ((const char *) sqlite3_column_text (st, 0));
      sqlite3_reset (st);
      if (annotate (p, basis, m, FALSE))
        g_ptr_array_add (args->out, json_object_ref (p));
    }
  return rfl_store_audit_append (self, "matches", args->case_id, NULL, error);
}

/**
 * rfl_store_propose_matches:
 * @self: an open store
 * @case_id: a tracing request
 * @min_score: leave out proposals scoring less
 * @error: return location for an error
 *
 * Makes the proposals of one tracing request afresh and keeps them: for
 * each person it seeks, the people registered (found, children, detainees,
 * the dead) or named in other tracing requests who may be them, and for
 * its enquirer, the children whose caregiver they may be and the requests
 * that seek them. Each proposal has its id, the two cases and persons, its
 * kind (registered, sought_twice, crossed, enquirer, seeks_enquirer,
 * caregiver), a score and the explanation: one line per piece of evidence
 * with the points it adds; and the decision made on it, if any. Pairs
 * rejected on the same names, sex and dates of birth are left out. Best
 * first.
 *
 * Returns: (transfer full) (element-type JsonObject): the proposals
 */
GPtrArray *
rfl_store_propose_matches (RflStore    *self,
                           const char  *case_id,
                           double       min_score,
                           GError     **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  ProposeArgs args = { case_id, min_score, out };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  g_return_val_if_fail (case_id != NULL, NULL);

  if (!rfl_store_write (self, propose_locked, &args, error))
    return NULL;
  return g_steal_pointer (&out);
}

typedef struct
{
  JsonObject *proposal;
  JsonObject *out;
} ExplainArgs;

static gboolean
explain_locked (RflStore  *self,
                gpointer   data,
                GError   **error)
{
  ExplainArgs *args = data;
  GError *local = NULL;

  args->out = rfl_match_score_again (self, args->proposal, 0, TRUE, &local);
  if (local != NULL)
    {
      g_propagate_error (error, local);
      return FALSE;
    }
  return TRUE;
}

/**
 * rfl_store_explain_match:
 * @proposal: a proposal, as listed
 *
 * The pair of @proposal scored again as its records stand now, for a person
 * to read: the explanation in the caller's language (a kept proposal holds
 * the words of whoever made it), with the names and places in it isolated
 * for display in a line of either direction.
 *
 * Returns: (transfer full) (nullable): the pair's score, points and
 *   explanation; %NULL without an error when a person of it is gone
 */
JsonObject *
rfl_store_explain_match (RflStore    *self,
                         JsonObject  *proposal,
                         GError     **error)
{
  ExplainArgs args = { proposal, NULL };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  g_return_val_if_fail (proposal != NULL, NULL);

  if (!rfl_store_read (self, explain_locked, &args, error))
    return NULL;
  return args.out;
}

/**
 * rfl_store_list_duplicates:
 * @self: an open store
 * @min_score: leave out pairs scoring less
 * @offset: skip this many
 * @limit: at most this many
 * @error: return location for an error
 *
 * The pairs of registrations that may be one person registered twice, here
 * or by two offices, as last made with the other proposals (kind
 * `duplicate`), best first, but those rejected on the same names, sex and
 * dates of birth. Audited as one view.
 *
 * Returns: (transfer full) (element-type JsonObject): the pairs
 */
GPtrArray *
rfl_store_list_duplicates (RflStore    *self,
                           double       min_score,
                           guint        offset,
                           guint        limit,
                           GError     **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  ListArgs args = { NULL, min_score, offset, limit, out, TRUE };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  if (!rfl_store_read (self, list_locked, &args, error))
    return NULL;
  return g_steal_pointer (&out);
}
