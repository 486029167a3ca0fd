/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-store"

#include "rfl-rank.h"

/*
 * rfl_rank (names, w1, w2, ...): the ranking function of name searches, an
 * FTS5 auxiliary function with one weight per column, like bm25().
 *
 * It is BM25 without the inverse document frequency. FTS5's bm25() computes
 * that frequency by walking every row that matches each phrase, once per
 * query: for a short prefix typed so far ("al") that is 135,000 rows at
 * 515,000 records, 24 ms, more than the rest of the search. Search only ranks
 * the 200 newest persons that match every word, so each of them matches the
 * same words; what tells them apart is in which columns (own names or
 * secondary ones, spelling or skeleton), how often, and how long the names
 * are, and those stay. Higher is better.
 */

#define K1 1.2
#define B  0.75

typedef struct
{
  int     n_columns;
  double *average;  /* Tokens per row, per column */
} RankData;

static void
rank_data_free (gpointer data)
{
  RankData *d = data;

  g_free (d->average);
  g_free (d);
}

/* The average column sizes, once per query. */
static RankData *
rank_data (const Fts5ExtensionApi *api,
           Fts5Context            *fts)
{
  RankData *d = api->xGetAuxdata (fts, 0);
  sqlite3_int64 rows = 0;

  if (d != NULL)
    return d;
  d = g_new0 (RankData, 1);
  d->n_columns = api->xColumnCount (fts);
  d->average = g_new0 (double, d->n_columns);
  if (api->xRowCount (fts, &rows) != SQLITE_OK)
    rows = 0;
  for (int c = 0; c < d->n_columns; c++)
    {
      sqlite3_int64 total = 0;

      if (rows > 0 && api->xColumnTotalSize (fts, c, &total) == SQLITE_OK)
        d->average[c] = (double) total / rows;
      if (d->average[c] <= 0)
        d->average[c] = 1;
    }
  if (api->xSetAuxdata (fts, d, rank_data_free) != SQLITE_OK)
    return NULL;  /* Freed by FTS5 */
  return d;
}

static void
rank (const Fts5ExtensionApi  *api,
      Fts5Context             *fts,
      sqlite3_context         *ctx,
      int                      n_values,
      sqlite3_value          **values)
{
  RankData *d = rank_data (api, fts);
  int n_phrases = api->xPhraseCount (fts), n_inst = 0;
  g_autofree int *hits = NULL;
  double score = 0;

  if (d == NULL || api->xInstCount (fts, &n_inst) != SQLITE_OK)
    {
      sqlite3_result_error_code (ctx, SQLITE_NOMEM);
      return;
    }
  hits = g_new0 (int, (gsize) n_phrases * d->n_columns);
  for (int i = 0; i < n_inst; i++)
    {
      int phrase, column, offset;

      if (api->xInst (fts, i, &phrase, &column, &offset) == SQLITE_OK &&
          phrase >= 0 && phrase < n_phrases && column >= 0 && column < d->n_columns)
        hits[phrase * d->n_columns + column]++;
    }
  for (int c = 0; c < d->n_columns; c++)
    {
      double weight = c < n_values ? sqlite3_value_double (values[c]) : 1.0;
      int size = 0;

      if (weight == 0 || api->xColumnSize (fts, c, &size) != SQLITE_OK)
        continue;
      for (int p = 0; p < n_phrases; p++)
        {
          double tf = hits[p * d->n_columns + c];

          if (tf > 0)
            score += weight * tf * (K1 + 1) / (tf + K1 * (1 - B + B * size / d->average[c]));
        }
    }
  sqlite3_result_double (ctx, score);
}

/**
 * rfl_rank_register:
 * @db: a database connection with FTS5
 *
 * Makes rfl_rank() available to the FTS5 tables of @db.
 *
 * Returns: whether it could be registered
 */
gboolean
rfl_rank_register (sqlite3 *db)
{
  fts5_api *api = NULL;
  sqlite3_stmt *st = NULL;

  if (sqlite3_prepare_v2 (db, "SELECT fts5 (?1)", -1, &st, NULL) != SQLITE_OK)
    return FALSE;
  sqlite3_bind_pointer (st, 1, (void *) &api, "fts5_api_ptr", NULL);
  sqlite3_step (st);
  sqlite3_finalize (st);
  return api != NULL && api->iVersion >= 2 &&
         api->xCreateFunction (api, "rfl_rank", NULL, rank, NULL) == SQLITE_OK;
}
