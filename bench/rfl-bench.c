/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-bench"

/*
 * The store's workloads, measured one per process so that peak memory
 * belongs to one workload:
 *
 *   rfl-bench import keyed|unkeyed DB FILE.jsonl
 *   rfl-bench search keyed|unkeyed DB QUERIES.txt
 *   rfl-bench merge keyed|unkeyed DIR FILE.jsonl   (rfl-bench-merge.c)
 *   rfl-bench recall keyed|unkeyed DB QUERIES.tsv  (bench/names/run)
 *   rfl-bench matches keyed|unkeyed DB TRUTH.jsonl (pairs planted by rfl-gen --pairs)
 *   rfl-bench duplicates keyed|unkeyed DB TRUTH.jsonl (the same, and a full rebuild)
 *
 * "keyed" is the store as volunteers use it (SQLCipher, Argon2id MODERATE);
 * "unkeyed" is the same code on a plain database, the baseline that shows
 * what encryption costs. Each run prints one JSON object.
 */

#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#include "rfl-bench-merge.h"
#include "rfl-bench-util.h"
#include "rfl-importer.h"
#include "rfl-store-testing.h"

#define PASSPHRASE "benchmark passphrase, not a secret"
#define SEARCH_LIMIT 20
#define RECALL_LIMIT 10
#define MATCH_MIN_SCORE 3.0

static gint64
file_size (const char *path)
{
  GStatBuf st;
  return g_stat (path, &st) == 0 ? st.st_size : 0;
}

static RflStore *
open_store (gboolean     keyed,
            const char  *path,
            gboolean     create,
            double      *unlock_seconds,
            GError     **error)
{
  gint64 start = g_get_monotonic_time ();
  RflStore *store;

  if (keyed)
    store = create ? rfl_store_create (path, PASSPHRASE, strlen (PASSPHRASE), RFL_KDF_MODERATE, error)
                   : rfl_store_open (path, PASSPHRASE, strlen (PASSPHRASE), error);
  else
    store = create ? rfl_store_create_unencrypted (path, error) : rfl_store_open_unencrypted (path, error);
  *unlock_seconds = (g_get_monotonic_time () - start) / 1e6;
  return store;
}

static int
run_import (gboolean    keyed,
            const char *db,
            const char *input,
            JsonObject *out)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflStore) store = NULL;
  g_autoptr(RflImporter) importer = rfl_importer_new (input);
  g_autofree char *wal = g_strconcat (db, "-wal", NULL);
  double unlock, seconds, check_s;
  gint64 start, unlock_rss;

  store = open_store (keyed, db, TRUE, &unlock, &error);
  if (store == NULL)
    {
      g_printerr ("rfl-bench: %s\n", error->message);
      return 1;
    }
  unlock_rss = rfl_bench_status_kib ("VmHWM:");
  rfl_bench_reset_peak_rss ();

  start = g_get_monotonic_time ();
  if (!rfl_importer_check (importer, &error))
    {
      g_printerr ("rfl-bench: %s\n", error->message);
      return 1;
    }
  check_s = (g_get_monotonic_time () - start) / 1e6;
  if (!rfl_importer_run (importer, store, &error))
    {
      g_printerr ("rfl-bench: %s\n", error->message);
      return 1;
    }
  rfl_store_close (store);
  seconds = (g_get_monotonic_time () - start) / 1e6;

  json_object_set_double_member (out, "unlock_s", unlock);
  json_object_set_int_member (out, "unlock_peak_rss_kib", unlock_rss);
  json_object_set_int_member (out, "records", rfl_importer_get_imported (importer));
  json_object_set_double_member (out, "import_s", seconds);
  json_object_set_double_member (out, "check_s", check_s);
  json_object_set_double_member (out, "records_per_s", rfl_importer_get_imported (importer) / seconds);
  json_object_set_int_member (out, "peak_rss_kib", rfl_bench_status_kib ("VmHWM:"));
  json_object_set_int_member (out, "db_bytes", file_size (db) + file_size (wal));
  return 0;
}

static int
compare_doubles (gconstpointer a,
                 gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

static double
percentile (GArray *sorted,
            double  p)
{
  guint i = (guint) (p * (sorted->len - 1) + 0.5);
  return g_array_index (sorted, double, MIN (i, sorted->len - 1));
}

/* The lines of @path and the store at @db, opened; NULL with a message
 * printed if either fails. */
static RflStore *
open_with_lines (gboolean     keyed,
                 const char  *db,
                 const char  *path,
                 GStrv       *lines,
                 double      *unlock)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  RflStore *store;

  if (!g_file_get_contents (path, &text, NULL, &error))
    {
      g_printerr ("rfl-bench: %s\n", error->message);
      return NULL;
    }
  if ((store = open_store (keyed, db, FALSE, unlock, &error)) == NULL)
    {
      g_printerr ("rfl-bench: %s\n", error->message);
      return NULL;
    }
  *lines = g_strsplit (g_strstrip (text), "\n", -1);
  return store;
}

static int
run_search (gboolean    keyed,
            const char *db,
            const char *queries_path,
            JsonObject *out)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflStore) store = NULL;
  g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (double));
  g_auto(GStrv) queries = NULL;
  guint64 hits = 0;
  double unlock;

  if ((store = open_with_lines (keyed, db, queries_path, &queries, &unlock)) == NULL)
    return 1;
  rfl_bench_reset_peak_rss ();

  for (guint i = 0; queries[i] != NULL; i++)
    {
      gint64 start = g_get_monotonic_time ();
      g_autoptr(GPtrArray) rows = rfl_store_search (store, queries[i], SEARCH_LIMIT, &error);
      double ms = (g_get_monotonic_time () - start) / 1e3;

      if (rows == NULL)
        {
          g_printerr ("rfl-bench: %s\n", error->message);
          return 1;
        }
      hits += rows->len;
      g_array_append_val (times, ms);
    }
  g_array_sort (times, compare_doubles);

  json_object_set_double_member (out, "unlock_s", unlock);
  json_object_set_int_member (out, "queries", times->len);
  json_object_set_double_member (out, "mean_hits", (double) hits / MAX (times->len, 1));
  json_object_set_double_member (out, "p50_ms", percentile (times, 0.50));
  json_object_set_double_member (out, "p95_ms", percentile (times, 0.95));
  json_object_set_double_member (out, "max_ms", percentile (times, 1.0));
  json_object_set_int_member (out, "peak_rss_kib", rfl_bench_status_kib ("VmHWM:"));
  return 0;
}

/* Each line of @queries_path is a query, a tab and the id of the record it
 * should find. Prints the rank of that record in each query's results (0:
 * not among the first RECALL_LIMIT), in order, and the latencies. */
static int
run_recall (gboolean    keyed,
            const char *db,
            const char *queries_path,
            JsonObject *out)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflStore) store = NULL;
  g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(JsonArray) ranks = json_array_new ();
  g_auto(GStrv) lines = NULL;
  double unlock;

  if ((store = open_with_lines (keyed, db, queries_path, &lines, &unlock)) == NULL)
    return 1;

  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) fields = g_strsplit (lines[i], "\t", 2);
      g_autoptr(GPtrArray) rows = NULL;
      gint64 start;
      double ms;
      guint rank = 0;

      if (g_strv_length (fields) != 2)
        {
          g_printerr ("rfl-bench: %s:%u: expected a query, a tab and a record id\n", queries_path, i + 1);
          return 1;
        }
      start = g_get_monotonic_time ();
      rows = rfl_store_search (store, fields[0], RECALL_LIMIT, &error);
      ms = (g_get_monotonic_time () - start) / 1e3;
      if (rows == NULL)
        {
          g_printerr ("rfl-bench: %s\n", error->message);
          return 1;
        }
      for (guint r = 0; r < rows->len && rank == 0; r++)
        if (g_strcmp0 (json_object_get_string_member (g_ptr_array_index (rows, r), "id"), fields[1]) == 0)
          rank = r + 1;
      json_array_add_int_element (ranks, rank);
      g_array_append_val (times, ms);
    }
  g_array_sort (times, compare_doubles);

  json_object_set_int_member (out, "queries", times->len);
  json_object_set_int_member (out, "limit", RECALL_LIMIT);
  json_object_set_double_member (out, "p50_ms", percentile (times, 0.50));
  json_object_set_double_member (out, "p95_ms", percentile (times, 0.95));
  json_object_set_array_member (out, "ranks", g_steal_pointer (&ranks));
  return 0;
}

/* Whether @proposal names the planted record, or the planted duplicate of
 * it: both are the person sought. */
static gboolean
is_planted (JsonObject *proposal,
            const char *match,
            const char *also)
{
  const char *candidate = json_object_get_string_member (proposal, "candidate_case");

  return g_str_equal (candidate, match) || g_str_equal (candidate, also);
}

static char *
pair_key (const char *a,
          const char *b)
{
  return strcmp (a, b) < 0 ? g_strconcat (a, "/", b, NULL) : g_strconcat (b, "/", a, NULL);
}

/* Duplicates against those rfl-gen --pairs planted (the same person
 * registered twice, each with its own noise), after a full rebuild of the
 * proposals, which is timed: precision and recall of the pairs listed from
 * the CLI's default score, and the rebuild's time and peak RSS. */
static int
run_duplicates (gboolean    keyed,
                const char *db,
                const char *truth_path,
                JsonObject *out)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflStore) store = NULL;
  g_autoptr(GHashTable) planted = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) found = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) listed = NULL;
  g_auto(GStrv) lines = NULL;
  guint right = 0;
  double unlock;
  gint64 start;

  if ((store = open_with_lines (keyed, db, truth_path, &lines, &unlock)) == NULL)
    return 1;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      JsonObject *line;

      if (!json_parser_load_from_data (parser, lines[i], -1, &error))
        {
          g_printerr ("rfl-bench: %s:%u: %s\n", truth_path, i + 1, error->message);
          return 1;
        }
      line = json_node_get_object (json_parser_get_root (parser));
      if (json_object_has_member (line, "duplicate"))
        g_hash_table_add (planted, pair_key (json_object_get_string_member (line, "duplicate"),
                                             json_object_get_string_member (line, "of")));
    }

  rfl_bench_reset_peak_rss ();
  start = g_get_monotonic_time ();
  if (!rfl_store_rebuild_proposals (store, NULL, NULL, NULL, &error))
    {
      g_printerr ("rfl-bench: %s\n", error->message);
      return 1;
    }
  json_object_set_double_member (out, "rebuild_s", (g_get_monotonic_time () - start) / 1e6);
  json_object_set_int_member (out, "rebuild_peak_rss_kib", rfl_bench_status_kib ("VmHWM:"));
  if ((listed = rfl_store_list_duplicates (store, MATCH_MIN_SCORE, 0, G_MAXUINT, &error)) == NULL)
    {
      g_printerr ("rfl-bench: %s\n", error->message);
      return 1;
    }
  for (guint i = 0; i < listed->len; i++)
    {
      JsonObject *d = g_ptr_array_index (listed, i);
      g_autofree char *key = pair_key (json_object_get_string_member (d, "case"),
                                       json_object_get_string_member (d, "candidate_case"));

      if (g_hash_table_contains (planted, key) && !g_hash_table_contains (found, key))
        right++;
      g_hash_table_add (found, g_steal_pointer (&key));
    }
  json_object_set_int_member (out, "planted_duplicates", g_hash_table_size (planted));
  json_object_set_int_member (out, "listed_duplicates", g_hash_table_size (found));
  json_object_set_double_member (out, "duplicate_precision",
                                 g_hash_table_size (found) > 0 ? (double) right / g_hash_table_size (found) : 0);
  json_object_set_double_member (out, "duplicate_recall",
                                 g_hash_table_size (planted) > 0 ? (double) right / g_hash_table_size (planted) : 0);
  json_object_set_double_member (out, "min_score", MATCH_MIN_SCORE);
  return 0;
}

/* Match proposals for every tracing request of @truth_path (rfl-gen
 * --pairs), against the pair planted for it: how often the best proposal
 * is the planted one (precision@1, of the requests with a proposal), how
 * often the planted one is among the first five (recall@5, of all), and
 * how long a request's proposals take. */
static int
run_matches (gboolean    keyed,
             const char *db,
             const char *truth_path,
             JsonObject *out)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflStore) store = NULL;
  g_autoptr(GArray) times = g_array_new (FALSE, FALSE, sizeof (double));
  g_auto(GStrv) lines = NULL;
  guint requests = 0, proposed = 0, first = 0, in_five = 0, crossed = 0, crossed_found = 0;
  double unlock;

  if ((store = open_with_lines (keyed, db, truth_path, &lines, &unlock)) == NULL)
    return 1;
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_autoptr(JsonParser) parser = json_parser_new ();
      g_autoptr(GPtrArray) proposals = NULL;
      JsonObject *pair;
      const char *match, *also;
      gint64 start;
      double ms;

      if (!json_parser_load_from_data (parser, lines[i], -1, &error))
        {
          g_printerr ("rfl-bench: %s:%u: %s\n", truth_path, i + 1, error->message);
          return 1;
        }
      pair = json_node_get_object (json_parser_get_root (parser));
      if (!json_object_has_member (pair, "request"))
        continue;   /* a duplicate: run_duplicates() */
      match = json_object_get_string_member (pair, "match");
      also = json_object_get_string_member_with_default (pair, "also", "");
      start = g_get_monotonic_time ();
      proposals = rfl_store_propose_matches (store, json_object_get_string_member (pair, "request"),
                                             MATCH_MIN_SCORE, &error);
      ms = (g_get_monotonic_time () - start) / 1e3;
      if (proposals == NULL)
        {
          g_printerr ("rfl-bench: %s\n", error->message);
          return 1;
        }
      g_array_append_val (times, ms);
      requests++;
      if (g_getenv ("RFL_BENCH_MISSES") != NULL &&
          (proposals->len == 0 ||
           !g_str_equal (json_object_get_string_member (g_ptr_array_index (proposals, 0), "candidate_case"), match)))
        {
          /* For looking into: the pair missed, and what came first instead. */
          g_printerr ("miss %s %s -> %s\n", json_object_get_string_member (pair, "kind"), match,
                      proposals->len > 0 ? json_object_get_string_member (g_ptr_array_index (proposals, 0),
                                                                          "candidate_case") : "(none)");
          for (guint r = 0; r < proposals->len; r++)
            if (g_str_equal (json_object_get_string_member (g_ptr_array_index (proposals, r), "candidate_case"), match))
              {
                g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), g_ptr_array_index (proposals, r));
                g_autofree char *text = json_to_string (node, FALSE);

                g_printerr ("  rank %u: %s\n", r + 1, text);
              }
          for (guint r = 0; r < proposals->len && r < 3; r++)
            {
              g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), g_ptr_array_index (proposals, r));
              g_autofree char *text = json_to_string (node, FALSE);

              g_printerr ("  %s\n", text);
            }
        }
      if (proposals->len > 0)
        {
          proposed++;
          if (is_planted (g_ptr_array_index (proposals, 0), match, also))
            first++;
        }
      for (guint r = 0; r < proposals->len && r < 5; r++)
        if (is_planted (g_ptr_array_index (proposals, r), match, also))
          {
            in_five++;
            if (g_str_equal (json_object_get_string_member (pair, "kind"), "crossed"))
              crossed_found++;
            break;
          }
      if (g_str_equal (json_object_get_string_member (pair, "kind"), "crossed"))
        crossed++;
    }
  g_array_sort (times, compare_doubles);

  json_object_set_int_member (out, "requests", requests);
  json_object_set_double_member (out, "min_score", MATCH_MIN_SCORE);
  json_object_set_double_member (out, "precision_at_1", proposed > 0 ? (double) first / proposed : 0);
  json_object_set_double_member (out, "recall_at_5", requests > 0 ? (double) in_five / requests : 0);
  json_object_set_double_member (out, "crossed_recall_at_5", crossed > 0 ? (double) crossed_found / crossed : 0);
  json_object_set_int_member (out, "with_proposals", proposed);
  json_object_set_double_member (out, "p50_ms", percentile (times, 0.50));
  json_object_set_double_member (out, "p95_ms", percentile (times, 0.95));
  json_object_set_int_member (out, "peak_rss_kib", rfl_bench_status_kib ("VmHWM:"));
  return 0;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(JsonObject) out = json_object_new ();
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *text = NULL;
  gboolean keyed;
  int rc;

  if (argc != 5 || (!g_str_equal (argv[2], "keyed") && !g_str_equal (argv[2], "unkeyed")))
    {
      g_printerr ("usage: rfl-bench import|search|merge|recall|matches|duplicates keyed|unkeyed DB|DIR FILE\n");
      return 2;
    }
  keyed = g_str_equal (argv[2], "keyed");
  json_object_set_string_member (out, "workload", argv[1]);
  json_object_set_string_member (out, "store", argv[2]);

  if (g_str_equal (argv[1], "import"))
    rc = run_import (keyed, argv[3], argv[4], out);
  else if (g_str_equal (argv[1], "search"))
    rc = run_search (keyed, argv[3], argv[4], out);
  else if (g_str_equal (argv[1], "matches"))
    rc = run_matches (keyed, argv[3], argv[4], out);
  else if (g_str_equal (argv[1], "recall"))
    rc = run_recall (keyed, argv[3], argv[4], out);
  else if (g_str_equal (argv[1], "duplicates"))
    rc = run_duplicates (keyed, argv[3], argv[4], out);
  else if (g_str_equal (argv[1], "merge"))
    rc = rfl_bench_merge (keyed, argv[3], argv[4], out);
  else
    {
      g_printerr ("rfl-bench: unknown workload '%s'\n", argv[1]);
      return 2;
    }
  if (rc != 0)
    return rc;

  node = json_node_init_object (json_node_alloc (), out);
  text = json_to_string (node, FALSE);
  puts (text);
  return 0;
}
