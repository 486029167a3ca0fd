/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-store"

#include "rfl-rank.h"
#include "rfl-names.h"

#include <string.h>

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
 *
 * A last argument that is text is the query in Latin letters. Then each of
 * its words adds how close it is to the nearest of the row's names, by edit
 * distance: among people whose names all have the keys of "Mohammed",
 * "Mohamed" comes before "Mahmoud", and a name with a typo before the
 * others that share its other names. A last argument that is a number is
 * that similarity, given: 1 for the exact stage, whose names are as typed.
 */

#define K1 1.2
#define B  0.75
#define SIMILARITY_WEIGHT 10.0
#define BM25_WEIGHT 0.02
#define SECONDARY_SIMILARITY 0.7
#define PREFIX_SIMILARITY 0.9
#define MAX_WORD 48
#define LATIN_COLUMN 2
#define LATIN2_COLUMN 4

typedef struct
{
  int     n_columns;
  double *average;  /* Tokens per row, per column */
  GStrv   query;    /* The query's words, or NULL */
  GStrv   bare;     /* The same without vowels, but the first */
  GStrv   joined;   /* Each word joined to the one before, or "" */
  GStrv   joined_bare;
} RankData;

static void
rank_data_free (gpointer data)
{
  RankData *d = data;

  g_free (d->average);
  g_strfreev (d->query);
  g_strfreev (d->bare);
  g_strfreev (d->joined);
  g_strfreev (d->joined_bare);
  g_free (d);
}

/* Letters a spelling may write or leave out: vowels, and h, w and y, which
 * Arabic script and Latin write in different places ("mhmd", "Mohammed"). */
static inline gboolean
is_soft (char c)
{
  switch (c)
    {
    case 'a': case 'e': case 'i': case 'o': case 'u': case 'h': case 'w': case 'y':
      return TRUE;
    default:
      return FALSE;
    }
}

static inline gboolean
is_vowel (char c)
{
  return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u';
}

/* Letters that stand for one sound in different romanisations. */
static inline char
sound_class (char c)
{
  switch (c)
    {
    case 'q': case 'c': return 'k';
    case 'z': return 's';
    case 'v': case 'w': return 'f';
    case 'j': return 'g';
    default: return c;
    }
}

static inline double
substitution_cost (char a,
                   char b)
{
  if (a == b)
    return 0;
  if (is_soft (a) && is_soft (b))
    return 0.5;
  if (sound_class (a) == sound_class (b))
    return 0.4;
  return 1;
}

/* Leaving out a soft letter, or a letter written twice, costs little. */
static void
gap_costs (const char *word,
           gsize       n,
           double     *costs)
{
  for (gsize i = 0; i < n; i++)
    costs[i] = is_soft (word[i]) || (i > 0 && word[i - 1] == word[i]) ? 0.3 : 1;
}

/* 1 for the same word, 0 for nothing in common: one minus an edit distance
 * over the longer length, where the edits that separate two spellings of
 * one name cost less than those that separate two names. */
static double
similarity (const char *a,
            gsize       na,
            const char *b,
            gsize       nb)
{
  double row[MAX_WORD + 1], gap_a[MAX_WORD], gap_b[MAX_WORD];

  na = MIN (na, MAX_WORD);
  nb = MIN (nb, MAX_WORD);
  if (na == 0 || nb == 0)
    return 0;
  if (na == nb && memcmp (a, b, na) == 0)
    return 1;
  gap_costs (a, na, gap_a);
  gap_costs (b, nb, gap_b);
  row[0] = 0;
  for (gsize j = 1; j <= nb; j++)
    row[j] = row[j - 1] + gap_b[j - 1];
  for (gsize i = 1; i <= na; i++)
    {
      double diagonal = row[0];

      row[0] += gap_a[i - 1];
      for (gsize j = 1; j <= nb; j++)
        {
          double above = row[j];

          row[j] = MIN (MIN (row[j] + gap_a[i - 1], row[j - 1] + gap_b[j - 1]),
                        diagonal + substitution_cost (a[i - 1], b[j - 1]));
          diagonal = above;
        }
    }
  return MAX (0.0, 1.0 - row[nb] / MAX (na, nb));
}

/* A spelling without what romanisations do differently with the same
 * sound: "kh" and "h", "ou" and "u", "y" and "i", letters written twice.
 * Writes at most MAX_WORD letters to @out and returns how many. */
static const struct { const char *from; char to; } spellings[] = {
  { "tsch", 'c' }, { "sch", 's' }, { "tch", 'c' }, { "kh", 'h' }, { "gh", 'g' }, { "ph", 'f' },
  { "th", 't' }, { "dh", 'd' }, { "sh", 's' }, { "zh", 'j' }, { "dj", 'j' }, { "ou", 'u' },
  { "oo", 'u' }, { "ee", 'i' }, { "y", 'i' }, { "q", 'k' }, { "ck", 'k' },
};

static gsize
normalise (const char *word,
           gsize       n,
           char       *out)
{
  gsize length = 0;

  for (gsize i = 0; i < n && length < MAX_WORD;)
    {
      char c = word[i];
      gsize used = 1;

      /* Every spelling in the table begins with one of these. */
      if (strchr ("tskgpdzoeyqc", c) == NULL || c == '\0')
        goto append;
      for (guint k = 0; k < G_N_ELEMENTS (spellings); k++)
        {
          gsize m = strlen (spellings[k].from);

          if (m <= n - i && strncmp (word + i, spellings[k].from, m) == 0)
            {
              c = spellings[k].to;
              used = m;
              break;
            }
        }
    append:
      if (length == 0 || out[length - 1] != c)
        out[length++] = c;
      i += used;
    }
  return length;
}

/* Arabic script leaves out short vowels: محمد is "mhmd", شریفی "shryfy". */
static gboolean
is_consonantal (const char *word,
                gsize       n)
{
  gsize vowels = 0;

  for (gsize i = 0; i < n; i++)
    vowels += is_vowel (word[i]);
  return vowels * 3 < n;
}

#define MAX_TOKENS 16
#define MAX_FORMS  (3 * MAX_TOKENS)

/* The forms of a row's names that a query word is compared with, made once
 * per row: each word normalised, without the article Arabic script writes on
 * it, and joined to the word after it ("Abd al-Rahman" is also "abdrahman"). */
typedef struct
{
  guint n;
  struct
  {
    char     text[MAX_WORD];
    gsize    length;
    gboolean consonantal;
    char     bare[MAX_WORD];   /* without vowels, but the first letter */
    gsize    bare_length;
  } form[MAX_FORMS];
} Forms;

/* Somali writes ح as x and ع as c ("Maxamed", "Cali"): @word read so, or
 * FALSE if it has neither letter. */
static gboolean
somali_reading (const char *word,
                char       *out,
                gsize       size)
{
  gsize n = 0;

  if (strpbrk (word, "xc") == NULL)
    return FALSE;
  for (const char *p = word; *p && n + 1 < size; p++)
    if (*p == 'x')
      out[n++] = 'h';
    else if (*p != 'c' || p[1] == 'h')
      out[n++] = *p;
  out[n] = '\0';
  return TRUE;
}

static void
add_form (Forms      *forms,
          const char *text)
{
  if (forms->n == MAX_FORMS)
    return;
  {
  __typeof__ (forms->form[0]) *form = &forms->form[forms->n];

  form->length = normalise (text, strlen (text), form->text);
  form->consonantal = is_consonantal (form->text, form->length);
  form->bare_length = 0;
  for (gsize i = 0; i < form->length; i++)
    if (i == 0 || !is_vowel (form->text[i]))
      form->bare[form->bare_length++] = form->text[i];
  forms->n++;
  }
}

static void
make_forms (Forms      *forms,
            const char *text,
            int         length)
{
  char tokens[MAX_TOKENS][MAX_WORD + 1];
  char *words[MAX_TOKENS + 1] = { NULL };
  guint n_tokens = 0;

  forms->n = 0;
  for (int i = 0; i < length && n_tokens < MAX_TOKENS;)
    {
      int start;

      while (i < length && !g_ascii_isalnum (text[i]))
        i++;
      start = i;
      while (i < length && g_ascii_isalnum (text[i]))
        i++;
      if (i > start)
        {
          g_strlcpy (tokens[n_tokens], text + start, MIN ((gsize) (i - start) + 1, sizeof tokens[0]));
          words[n_tokens] = tokens[n_tokens];
          n_tokens++;
        }
    }
  for (guint t = 0; t < n_tokens; t++)
    {
      const char *bare = rfl_names_without_article (tokens[t]);

      char somali[MAX_WORD + 1];

      add_form (forms, tokens[t]);
      if (bare != NULL)
        add_form (forms, bare);
      if (somali_reading (tokens[t], somali, sizeof somali))
        add_form (forms, somali);
      if (t + 1 < n_tokens && !rfl_names_is_article (words, t))
        {
          char joined[2 * MAX_WORD + 2];
          /* An article between the two is left out. */
          guint next = rfl_names_is_article (words, t + 1) ? t + 2 : t + 1;

          g_snprintf (joined, sizeof joined, "%s%s", tokens[t], tokens[next]);
          joined[MAX_WORD] = '\0';
          add_form (forms, joined);
        }
    }
}

/* The best similarity of @word to one of @forms. A form written without
 * short vowels is compared with @word without them too (@bare). */
static double
best_similarity (const char  *word,
                 const char  *bare,
                 gboolean     prefix,
                 const Forms *forms)
{
  gsize n = strlen (word), n_bare = strlen (bare), n_somali = 0;
  gboolean consonantal = is_consonantal (word, n);
  char somali[MAX_WORD + 1], normal[MAX_WORD];
  double best = 0;

  if (somali_reading (word, somali, sizeof somali))
    n_somali = normalise (somali, strlen (somali), normal);

  for (guint f = 0; f < forms->n; f++)
    {
      /* And a query written without short vowels, with the name without them. */
      if (consonantal)
        best = MAX (best, similarity (word, n, forms->form[f].bare, forms->form[f].bare_length));
      best = MAX (best, similarity (word, n, forms->form[f].text, forms->form[f].length));
      if (n_somali > 0)
        best = MAX (best, similarity (normal, n_somali, forms->form[f].text, forms->form[f].length));
      /* What is typed so far of the last word is compared with as much, for
       * a little less than a whole word. */
      if (prefix && n < forms->form[f].length)
        best = MAX (best, PREFIX_SIMILARITY * similarity (word, n, forms->form[f].text, n));
      if (forms->form[f].consonantal)
        best = MAX (best, similarity (bare, n_bare, forms->form[f].text, forms->form[f].length));
    }
  return best;
}

/* How close the query is to the names of a row: the mean over the query's
 * words of the best similarity of each to the person's own names, or to
 * their secondary names a little less. */
static double
query_similarity (GStrv        query,
                  GStrv        bare,
                  GStrv        joined,
                  GStrv        joined_bare,
                  const Forms *own,
                  const Forms *secondary)
{
  double total = 0, previous = 0;
  guint n = 0;

  for (guint i = 0; query[i] != NULL; i++)
    {
      gboolean prefix;
      double here;

      if (rfl_names_is_article (query, i))
        continue;
      prefix = query[i + 1] == NULL && strlen (query[i]) >= 2;

      here = MAX (best_similarity (query[i], bare[i], prefix, own),
                  SECONDARY_SIMILARITY * best_similarity (query[i], bare[i], prefix, secondary));
      /* Two words typed for one written as one ("Abdel Rahim", "abdulrahim"). */
      if (n > 0 && *joined[i] != '\0')
        {
          double both = MAX (best_similarity (joined[i], joined_bare[i], prefix, own),
                             SECONDARY_SIMILARITY * best_similarity (joined[i], joined_bare[i], prefix, secondary));

          if (2 * both > previous + here)
            {
              total += 2 * both - previous - here;
              here = both;
            }
        }
      total += here;
      previous = here;
      n++;
    }
  return n > 0 ? total / n : 0;
}

/* The query's words, normalised, without vowels, and each joined to the
 * word before it. */
static void
query_forms (const char *latin,
             GStrv      *query,
             GStrv      *bare,
             GStrv      *joined,
             GStrv      *joined_bare)
{
  guint n, last = G_MAXUINT;

  *query = rfl_names_tokenize (latin);
  n = g_strv_length (*query);
  *bare = g_new0 (char *, n + 1);
  *joined = g_new0 (char *, n + 1);
  *joined_bare = g_new0 (char *, n + 1);
  for (guint i = 0; i < n; i++)
    {
      char normal[MAX_WORD + 1];
      gsize length = normalise ((*query)[i], strlen ((*query)[i]), normal);
      GString *b = g_string_new (NULL);
      gboolean article = rfl_names_is_article (*query, i);

      normal[length] = '\0';
      if (!article)
        {
          g_free ((*query)[i]);
          (*query)[i] = g_strdup (normal);
        }
      for (const char *c = (*query)[i]; *c; c++)
        if (c == (*query)[i] || !strchr ("aeiou", *c))
          g_string_append_c (b, *c);
      (*bare)[i] = g_string_free (b, FALSE);
      if (!article && last != G_MAXUINT)
        {
          (*joined)[i] = g_strconcat ((*query)[last], (*query)[i], NULL);
          (*joined_bare)[i] = g_strconcat ((*bare)[last], (*bare)[i] + 1, NULL);
        }
      else
        {
          (*joined)[i] = g_strdup ("");
          (*joined_bare)[i] = g_strdup ("");
        }
      if (!article)
        last = i;
    }
}

/* The average column sizes, once per query, and the query's words. */
static RankData *
rank_data (const Fts5ExtensionApi  *api,
           Fts5Context             *fts,
           int                      n_values,
           sqlite3_value          **values)
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
  if (n_values > 0 && sqlite3_value_type (values[n_values - 1]) == SQLITE_TEXT)
    query_forms ((const char *) sqlite3_value_text (values[n_values - 1]),
                 &d->query, &d->bare, &d->joined, &d->joined_bare);
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
  RankData *d = rank_data (api, fts, n_values, values);
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
      double weight = c < n_values && c < d->n_columns ?
                      sqlite3_value_double (values[c]) : 1.0;
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
  if (n_values > d->n_columns && sqlite3_value_type (values[n_values - 1]) == SQLITE_INTEGER)
    score = BM25_WEIGHT * score + SIMILARITY_WEIGHT * sqlite3_value_int (values[n_values - 1]);
  else if (d->query != NULL)
    {
      const char *own = NULL, *secondary = NULL;
      int n_own = 0, n_secondary = 0;
      Forms own_forms, secondary_forms;

      if (api->xColumnText (fts, LATIN_COLUMN, &own, &n_own) != SQLITE_OK || own == NULL)
        n_own = 0;
      if (api->xColumnText (fts, LATIN2_COLUMN, &secondary, &n_secondary) != SQLITE_OK || secondary == NULL)
        n_secondary = 0;
      make_forms (&own_forms, own, n_own);
      make_forms (&secondary_forms, secondary, n_secondary);
      score = BM25_WEIGHT * score + SIMILARITY_WEIGHT *
              query_similarity (d->query, d->bare, d->joined, d->joined_bare, &own_forms, &secondary_forms);
    }
  sqlite3_result_double (ctx, score);
}

/**
 * rfl_rank_name_similarity:
 * @query: a query in Latin letters (rfl_names_to_latin())
 * @latin: a name in Latin letters
 *
 * Returns: how close @latin is to @query, from 0 to 1, as search ranks it
 */
double
rfl_rank_name_similarity (const char *query,
                          const char *latin)
{
  g_auto(GStrv) words = NULL, bare = NULL, joined = NULL, joined_bare = NULL;
  Forms forms, none = { 0 };

  query_forms (query, &words, &bare, &joined, &joined_bare);
  make_forms (&forms, latin, strlen (latin));
  return query_similarity (words, bare, joined, joined_bare, &forms, &none);
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
