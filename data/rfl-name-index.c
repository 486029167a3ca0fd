/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The name index and search. Every person of a record is written to an FTS5
 * table in Latin transliteration and consonant skeletons (rfl-names.c);
 * a search runs an exact stage and then a fuzzy one, and ranks the
 * candidates (rfl-rank.c). */
#define G_LOG_DOMAIN "rfl-store"

#include "rfl-store-private.h"
#include "rfl-json.h"

#include <sodium.h>
#include <sqlite3.h>
#include <string.h>
#include <glib/gi18n-lib.h>

#define MAX_PERSONS          RFL_STORE_MAX_PERSONS
#define MAX_QUERY_BYTES      400
#define MAX_QUERY_WORDS      8
#define SEARCH_CANDIDATES    200
#define FUZZY_CANDIDATES     1000

/* The name index. A record's persons occupy FTS rowids record_rowid * 64 + n,
 * so a record's rows are found and replaced by rowid range, without a scan. */

/* The record's match proposals are made again when next asked for
 * (rfl-proposals.c): its persons changed, came or went. */
static gboolean
mark_match_stale (RflStore       *self,
                  sqlite3_int64   rowid,
                  GError        **error)
{
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "INSERT OR IGNORE INTO match_stale (record_row) VALUES (?1)", error)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, rowid);
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "updating the name index");
  return TRUE;
}

gboolean
rfl_store_unindex_record (RflStore       *self,
                          sqlite3_int64   rowid,
                          GError        **error)
{
  static const char * const tables[] = {
    "DELETE FROM names WHERE rowid BETWEEN ?1 AND ?2",
    "DELETE FROM persons WHERE rowid BETWEEN ?1 AND ?2",
  };
  sqlite3_stmt *st;

  if (!mark_match_stale (self, rowid, error))
    return FALSE;

  for (guint t = 0; t < G_N_ELEMENTS (tables); t++)
    {
      if ((st = rfl_store_stmt (self, tables[t], error)) == NULL)
        return FALSE;
      sqlite3_bind_int64 (st, 1, rowid * MAX_PERSONS);
      sqlite3_bind_int64 (st, 2, rowid * MAX_PERSONS + MAX_PERSONS - 1);
      if (sqlite3_step (st) != SQLITE_DONE)
        return rfl_store_sql_fail (self, error, "updating the name index");
    }
  return TRUE;
}

/* One row of the name index: a person's names in their searchable forms. */
typedef struct
{
  char *person_id;
  char *role;
  char *latin;
  char *skel;
  char *latin2;
  char *skel2;
  int   sex;        /* RFL_SEX_*, for matching */
  int   born_low;   /* the years of birth the record allows, or 0 */
  int   born_high;
} NameRow;

static void
name_row_free (NameRow *row)
{
  g_free (row->person_id);
  g_free (row->role);
  g_free (row->latin);
  g_free (row->skel);
  g_free (row->latin2);
  g_free (row->skel2);
  g_free (row);
}

/* Returns the transliteration and skeletons of @names, joined. */
static void
normalise_names (RflStore   *self,
                 GPtrArray  *names,
                 char      **latin,
                 char      **skel)
{
  g_autofree char *joined = NULL;

  if (names->len == 0)
    return;
  g_ptr_array_add (names, NULL);
  joined = g_strjoinv (" ", (char **) names->pdata);
  g_ptr_array_remove_index (names, names->len - 1);
  *latin = rfl_names_to_latin (self->names, joined);
  *skel = rfl_names_keys (*latin);
}

/* The name-index rows of @record. Needs no database, so it can run on any thread. */
GPtrArray *
rfl_store_name_rows (RflStore   *self,
                     JsonObject *record)
{
  g_autoptr(GPtrArray) persons = rfl_schema_collect_persons (self->schema, record);
  GPtrArray *rows = g_ptr_array_new_with_free_func ((GDestroyNotify) name_row_free);

  for (guint i = 0; i < persons->len && i < MAX_PERSONS; i++)
    {
      RflSchemaPerson *person = g_ptr_array_index (persons, i);
      NameRow *row;

      if (person->names->len == 0 && person->other_names->len == 0)
        continue;
      row = g_new0 (NameRow, 1);
      row->person_id = g_strdup (person->person_id);
      row->role = g_strdup (person->role);
      rfl_person_birth_years (record, rfl_record_find_person (record, person->person_id),
                              &row->sex, &row->born_low, &row->born_high);
      normalise_names (self, person->names, &row->latin, &row->skel);
      normalise_names (self, person->other_names, &row->latin2, &row->skel2);
      g_ptr_array_add (rows, row);
    }
  return rows;
}

gboolean
rfl_store_write_name_rows (RflStore       *self,
                           sqlite3_int64   rowid,
                           GPtrArray      *rows,
                           GError        **error)
{
  sqlite3_stmt *st;

  if (rows->len > 0 && !mark_match_stale (self, rowid, error))
    return FALSE;
  for (guint i = 0; i < rows->len; i++)
    {
      NameRow *row = g_ptr_array_index (rows, i);

      if ((st = rfl_store_stmt (self, "INSERT INTO names (rowid, person_id, role, latin, skel, latin2, skel2)"
                            " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", error)) == NULL)
        return FALSE;
      sqlite3_bind_int64 (st, 1, rowid * MAX_PERSONS + i);
      rfl_bind_text (st, 2, row->person_id);
      rfl_bind_text (st, 3, row->role);
      rfl_bind_text (st, 4, row->latin);
      rfl_bind_text (st, 5, row->skel);
      rfl_bind_text (st, 6, row->latin2);
      rfl_bind_text (st, 7, row->skel2);
      if (sqlite3_step (st) != SQLITE_DONE)
        return rfl_store_sql_fail (self, error, "updating the name index");
      if (row->sex == RFL_SEX_UNKNOWN && row->born_low == 0)
        continue;
      if ((st = rfl_store_stmt (self, "INSERT INTO persons (rowid, sex, born_low, born_high) VALUES (?1, ?2, ?3, ?4)",
                                error)) == NULL)
        return FALSE;
      sqlite3_bind_int64 (st, 1, rowid * MAX_PERSONS + i);
      sqlite3_bind_int (st, 2, row->sex);
      sqlite3_bind_int (st, 3, row->born_low);
      sqlite3_bind_int (st, 4, row->born_high);
      if (sqlite3_step (st) != SQLITE_DONE)
        return rfl_store_sql_fail (self, error, "updating the name index");
    }
  return TRUE;
}

gboolean
rfl_store_index_record (RflStore       *self,
                        sqlite3_int64   rowid,
                        JsonObject     *record,
                        GError        **error)
{
  g_autoptr(GPtrArray) rows = rfl_store_name_rows (self, record);

  return rfl_store_write_name_rows (self, rowid, rows, error);
}

/* Writes the name index rows of a live record again for @record, unless
 * @before, rfl_schema_collect_persons() of the record as it was, shows
 * that they would come out the same. Most edits (a status, consent, a
 * contact attempt) leave the names alone, and rewriting a record's rows in
 * FTS5, with its prefix indexes, is most of what such an edit costs. */
gboolean
rfl_store_reindex_record (RflStore       *self,
                          sqlite3_int64   rowid,
                          GPtrArray      *before,
                          JsonObject     *record,
                          GError        **error)
{
  if (before != NULL)
    {
      g_autoptr(GPtrArray) after = rfl_schema_collect_persons (self->schema, record);

      if (rfl_schema_persons_equal (before, after))
        return TRUE;
    }
  return rfl_store_unindex_record (self, rowid, error) && rfl_store_index_record (self, rowid, record, error);
}

typedef enum
{
  MATCH_EXACT,    /* every word is one of the person's own names */
  MATCH_FUZZY,    /* every word is a name, a spelling of it, or the same name in another language */
  MATCH_LOOSE,    /* all words but one are, and that one begins the same: a typo in it */
  MATCH_NEAREST,  /* all words but one are */
} MatchMode;

/* One word of a query, in every form it may take in the index: its
 * spelling (or what was typed so far of it, for the last word), its keys
 * (rfl-name-keys.c), and the keys of its other forms in the equivalence
 * table. Only quoted ASCII words reach FTS5, so no query syntax can be
 * injected. */
static void
append_word (RflStore   *self,
             GString    *match,
             const char *word,
             gboolean    prefix)
{
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) others = NULL;

  rfl_names_word_keys (word, keys);
  others = rfl_names_equivalents (self->names, keys);
  if (others != NULL)
    g_ptr_array_extend_and_steal (keys, g_steal_pointer (&others));
  g_string_append_printf (match, "({latin latin2} : \"%s\"%s", word, prefix ? " *" : "");
  if (keys->len > 0)
    {
      g_string_append (match, " OR {skel skel2} : (");
      for (guint k = 0; k < keys->len; k++)
        g_string_append_printf (match, "%s\"%s\"", k > 0 ? " OR " : "", (char *) g_ptr_array_index (keys, k));
      g_string_append_c (match, ')');
    }
  g_string_append_c (match, ')');
}

/* The clauses of a fuzzy query, one per name: a compound ("abd al rahman")
 * matches as one word or as its parts; an article alone is no name. */
static GPtrArray *
fuzzy_clauses (RflStore   *self,
               GStrv       words,
               guint       n,
               GPtrArray  *starts)
{
  GPtrArray *clauses = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; i < n;)
    {
      GString *clause = g_string_new (NULL);
      g_autofree char *compound = NULL;
      guint end = i + 1;

      if (i + 1 < n && rfl_names_is_article (words, i))
        {
          i++;
          g_string_free (clause, TRUE);
          continue;
        }
      compound = rfl_names_compound (words, i, &end);
      if (compound != NULL && end <= n)
        {
          g_string_append_c (clause, '(');
          append_word (self, clause, compound, FALSE);
          g_string_append (clause, " OR (");
          append_word (self, clause, words[i], FALSE);
          g_string_append (clause, " AND ");
          append_word (self, clause, words[end - 1], end == n && strlen (words[end - 1]) >= 2);
          g_string_append (clause, "))");
        }
      else
        {
          end = i + 1;
          append_word (self, clause, words[i], end == n && strlen (words[i]) >= 2);
        }
      g_ptr_array_add (clauses, g_string_free (clause, FALSE));
      g_ptr_array_add (starts, words[i]);
      i = end;
    }
  return clauses;
}

/* Builds an FTS5 query from what a person typed. */
static char *
build_match (RflStore  *self,
             GStrv      words,
             MatchMode  mode)
{
  GString *match = g_string_new (NULL);
  guint n = MIN (g_strv_length (words), MAX_QUERY_WORDS);
  g_autoptr(GPtrArray) clauses = NULL;
  g_autoptr(GPtrArray) starts = g_ptr_array_new ();  /* the first word of each clause */

  if (mode == MATCH_EXACT)
    {
      for (guint i = 0; i < n; i++)
        g_string_append_printf (match, "%slatin : \"%s\"", i > 0 ? " AND " : "", words[i]);
    }
  else if ((clauses = fuzzy_clauses (self, words, n, starts))->len > 0 && mode == MATCH_FUZZY)
    {
      for (guint i = 0; i < clauses->len; i++)
        g_string_append_printf (match, "%s%s", i > 0 ? " AND " : "", (char *) g_ptr_array_index (clauses, i));
    }
  else if (clauses->len >= 2)
    {
      /* Any one name may be misspelt beyond its keys, as long as its first
       * two letters, or its first two consonants, are right. */
      for (guint skip = 0; skip < clauses->len; skip++)
        {
          const char *typed = g_ptr_array_index (starts, skip);

          if (mode == MATCH_LOOSE && strlen (typed) < 2)
            continue;
          g_string_append (match, match->len > 0 ? " OR (" : "(");
          for (guint i = 0, first = TRUE; i < clauses->len; i++)
            if (i != skip)
              {
                g_string_append_printf (match, "%s%s", first ? "" : " AND ", (char *) g_ptr_array_index (clauses, i));
                first = FALSE;
              }
          if (mode == MATCH_NEAREST)
            {
              g_string_append_c (match, ')');
              continue;
            }
          {
            g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
            const char *key;

            rfl_names_word_keys (typed, keys);
            key = keys->len > 0 ? g_ptr_array_index (keys, 0) : typed;
            g_string_append_printf (match, " AND ({latin latin2} : \"%.2s\" * OR {skel skel2} : \"%.2s\"%s))",
                                    typed, key, strlen (key) >= 2 ? " *" : "");
          }
        }
    }
  if (match->len == 0)
    {
      g_string_free (match, TRUE);
      return NULL;
    }
  return g_string_free (match, FALSE);
}

typedef struct
{
  double  score;
  gint64  rowid;
} Candidate;

static int
compare_candidates (gconstpointer a,
                    gconstpointer b)
{
  double x = ((const Candidate *) a)->score, y = ((const Candidate *) b)->score;
  return (x < y) - (x > y);
}

/* A result: the record's summary with the person who matched, or, when
 * @latin is NULL (for matching), only the record's id and the person. */
static JsonObject *
search_hit (RflStore    *self,
            Candidate   *c,
            const char  *latin,
            GError     **error)
{
  sqlite3_stmt *st;
  JsonObject *hit;
  const char *person_id;

  st = rfl_store_stmt (self, "SELECT r.id, r.type, r.status, r.doc, r.updated_at, n.person_id, n.role"
                   " FROM names n JOIN records r ON r.rowid = (n.rowid >> 6) WHERE n.rowid = ?1", error);
  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, c->rowid);
  if (sqlite3_step (st) != SQLITE_ROW)
    {
      rfl_store_sql_fail (self, error, "reading a search result");
      return NULL;
    }
  person_id = (const char *) sqlite3_column_text (st, 5);
  if (latin != NULL)
    hit = rfl_store_summary_for_person (self, st, person_id, latin);
  else
    {
      hit = json_object_new ();
      json_object_set_string_member (hit, "id", (const char *) sqlite3_column_text (st, 0));
    }
  json_object_set_string_member (hit, "person_id", person_id);
  json_object_set_string_member (hit, "role", (const char *) sqlite3_column_text (st, 6));
  json_object_set_double_member (hit, "score", c->score);
  sqlite3_reset (st);
  return hit;
}

/* Adds the best of at most SEARCH_CANDIDATES matches of @match to @out,
 * one per case: the person of a case who matches best stands for it, and a
 * case already in @out is skipped. Matches are visited newest first and only
 * those are ranked, so a name shared by a hundred thousand people costs the
 * same as a rare one; records are read only for the results kept. */
static gboolean
search_stage (RflStore                *self,
              const char              *match,
              const char              *latin,
              gboolean                 summaries,
              const RflPersonBlock    *block,
              MatchMode                mode,
              guint        limit,
              GPtrArray   *out,
              GHashTable  *seen,
              GError     **error)
{
  g_autoptr(GArray) candidates = g_array_new (FALSE, FALSE, sizeof (Candidate));
  sqlite3_stmt *st;
  int rc;

  if (block == NULL)
    st = rfl_store_stmt (self, "SELECT rowid, rfl_rank (names, 0.0, 0.0, 8.0, 2.0, 2.0, 0.5, ?3) FROM names"
                     " WHERE names MATCH ?1 ORDER BY rowid DESC LIMIT ?2", error);
  else
    /* For matching: only persons whose sex and years of birth, where the
     * record gives them, could be the person's (persons with neither have
     * no row, and pass). */
    st = rfl_store_stmt (self, "SELECT names.rowid, rfl_rank (names, 0.0, 0.0, 8.0, 2.0, 2.0, 0.5, ?3)"
                     " FROM names LEFT JOIN persons p ON p.rowid = names.rowid WHERE names MATCH ?1"
                     " AND (p.rowid IS NULL OR ?4 = 0 OR p.sex = 0 OR p.sex = ?4)"
                     " AND (p.rowid IS NULL OR ?5 = 0 OR p.born_low = 0 OR"
                     "      (p.born_high >= ?5 - ?7 AND p.born_low <= ?6 + ?7))"
                     " ORDER BY names.rowid DESC LIMIT ?2", error);
  if (st == NULL)
    return FALSE;
  if (block != NULL)
    {
      sqlite3_bind_int (st, 4, block->sex);
      sqlite3_bind_int (st, 5, block->born_low);
      sqlite3_bind_int (st, 6, block->born_high);
      sqlite3_bind_int (st, 7, block->tolerance);
    }
  rfl_bind_text (st, 1, match);
  sqlite3_bind_int64 (st, 2, mode == MATCH_FUZZY ? FUZZY_CANDIDATES : SEARCH_CANDIDATES);
  /* Exact matches all have the names typed (1: as close as can be): which
   * columns they are in ranks them, and reading each one's names to
   * compare would only cost. */
  if (mode == MATCH_EXACT)
    sqlite3_bind_int (st, 3, 1);
  else
    rfl_bind_text (st, 3, latin);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      Candidate c = { sqlite3_column_double (st, 1), sqlite3_column_int64 (st, 0) };
      gint64 record = c.rowid / MAX_PERSONS;

      if (!g_hash_table_contains (seen, &record))
        g_array_append_val (candidates, c);
    }
  sqlite3_reset (st);
  if (rc != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "searching names");

  g_array_sort (candidates, compare_candidates);
  for (guint i = 0; i < candidates->len && out->len < limit; i++)
    {
      Candidate *c = &g_array_index (candidates, Candidate, i);
      gint64 record = c->rowid / MAX_PERSONS;
      JsonObject *hit;

      if (g_hash_table_contains (seen, &record))
        continue;
      if ((hit = search_hit (self, c, summaries ? latin : NULL, error)) == NULL)
        return FALSE;
      json_object_set_string_member (hit, "match", mode == MATCH_EXACT ? "exact" :
                                                   mode == MATCH_FUZZY ? "spelling" : "partial");
      g_hash_table_add (seen, g_memdup2 (&record, sizeof record));
      g_ptr_array_add (out, hit);
    }
  return TRUE;
}

typedef struct
{
  const char *query;
  guint       limit;
  GPtrArray  *out;
} SearchArgs;

/* The search itself, with the store's lock held and no audit entry: for
 * rfl_store_search() and for matching (rfl-match.c), which audits once for
 * all its searches and needs no record summaries (@summaries FALSE): only
 * the ids of each hit's record and person, and the person's role. */
GPtrArray *
rfl_store_search_names (RflStore              *self,
                        const char            *query,
                        guint                  limit,
                        gboolean               summaries,
                        const RflPersonBlock  *block,
                        GError               **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, NULL);
  g_autofree char *latin = rfl_names_to_latin (self->names, query);
  g_auto(GStrv) words = rfl_names_tokenize (latin);

  /* Closest first: the exact names, then their spellings and forms, then
   * all but one of them. Each stage runs only if the ones before it left
   * room. */
  for (MatchMode mode = MATCH_EXACT; mode <= MATCH_NEAREST; mode++)
    {
      g_autofree char *match = NULL;
      /* Matching wants the other spellings of a name even when many people
       * have it as typed: they get a limit of their own. */
      guint stage_limit = !summaries && mode == MATCH_FUZZY ? out->len + limit : limit;

      if (out->len >= stage_limit)
        break;
      match = build_match (self, words, mode);
      if (match != NULL && !search_stage (self, match, latin, summaries, block, mode, stage_limit, out, seen, error))
        return NULL;
    }
  return g_steal_pointer (&out);
}

static gboolean
search_locked (RflStore  *self,
               gpointer   data,
               GError   **error)
{
  SearchArgs *args = data;
  g_autoptr(GPtrArray) out = rfl_store_search_names (self, args->query, args->limit, TRUE, NULL, error);

  if (out == NULL || !rfl_store_audit_read (self, "search", NULL, args->query, error))
    return FALSE;
  args->out = g_steal_pointer (&out);
  return TRUE;
}

/**
 * rfl_store_search:
 * @self: an open store
 * @query: names in any script and spelling
 * @limit: most results to return
 * @error: return location for an error
 *
 * Finds persons by name: first those whose own names match every word
 * exactly (after transliteration), then spelling variants, prefixes and
 * secondary names; within each group, best BM25 score first. Each result is a
 * record summary with the matching person's name, id and role and a score.
 *
 * Returns: (transfer full) (element-type JsonObject): the results
 */
GPtrArray *
rfl_store_search (RflStore    *self,
                  const char  *query,
                  guint        limit,
                  GError     **error)
{
  SearchArgs args = { query, limit, NULL };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  g_return_val_if_fail (query != NULL, NULL);

  if (strlen (query) > MAX_QUERY_BYTES || !g_utf8_validate (query, -1, NULL))
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                   _("search: the query must be valid text of at most %d bytes"), MAX_QUERY_BYTES);
      return NULL;
    }
  if (!rfl_store_read (self, search_locked, &args, error))
    return NULL;
  return args.out;
}
