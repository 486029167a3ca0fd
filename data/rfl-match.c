/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-store"

/*
 * Match proposals: for each person a tracing request seeks, the people
 * registered elsewhere who may be them, each with a score and one line of
 * explanation per piece of evidence.
 *
 * Candidates come from the name index (rfl-name-index.c), searched with the
 * sought person's names without an audit entry per search; the proposal as
 * a whole is audited once. Each candidate is then scored on what both
 * records say:
 *
 *   names     how close the names are, in any script (rfl_rank_name_similarity()
 *             both ways), own names and then the parents' names;
 *   sex       agreeing adds a little, differing is strong evidence against;
 *   age       years of birth from partial dates, or from an age given at a
 *             date, with a tolerance that grows with age;
 *   places    last seen where the other was registered or detained;
 *   dates     registered after last seen, not before.
 *
 * Each component adds points: positive for evidence for, negative against,
 * about a natural log of how much likelier the evidence is for the same
 * person than for two people. A score of 3 or more is worth a volunteer's
 * look; 6 or more is a strong proposal.
 */

#include "rfl-store-private.h"
#include "rfl-rank.h"
#include "rfl-json.h"

#include <string.h>
#include <glib/gi18n-lib.h>

#define CANDIDATES_PER_PERSON 200

/* The most names can add: own names, both parents', and a crossed request. */
#define MOST_FOR_NAMES (4.5 + 1.5 + 1.5 + 2.0)

/* Where the candidate stands to the person sought. */
#define KIND_REGISTERED   "registered"     /* found, child, detainee, deceased */
#define KIND_SOUGHT_TWICE "sought_twice"   /* another family seeks the same person */
#define KIND_CROSSED      "crossed"        /* each seeks the other */
#define KIND_ENQUIRER     "enquirer"       /* the person sought may be another request's enquirer */
#define KIND_SEEKS        "seeks_enquirer" /* another request seeks this one's enquirer */
#define KIND_CAREGIVER    "caregiver"      /* the enquirer cares for, or is parent of, a registered child */

typedef struct
{
  double     score;
  GPtrArray *lines;
} Evidence;

static void
add (Evidence   *e,
     double      points,
     const char *format,
     ...) G_GNUC_PRINTF (3, 4);

static void
add (Evidence   *e,
     double      points,
     const char *format,
     ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  e->score += points;
  g_ptr_array_add (e->lines, g_strdup_printf ("%s %+.1f", text, points));
}

/* At most this many of a person's names are compared, two by two. */
#define MAX_NAMES 4

/* A person's own names as written: the name, then the first alternate names. */
static GPtrArray *
own_names (JsonObject *person)
{
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  char *display = rfl_person_display_name (person);

  if (display != NULL)
    g_ptr_array_add (names, display);
  if (json_object_has_member (person, "alternate_names") &&
      JSON_NODE_HOLDS_ARRAY (json_object_get_member (person, "alternate_names")))
    {
      JsonArray *alternates = json_object_get_array_member (person, "alternate_names");

      for (guint i = 0; i < json_array_get_length (alternates) && names->len < MAX_NAMES; i++)
        {
          JsonNode *node = json_array_get_element (alternates, i);

          if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
            g_ptr_array_add (names, g_strdup (json_node_get_string (node)));
        }
    }
  return names;
}

/* How many words of a name are names: not articles. */
static guint
name_words (RflStore   *self,
            const char *name)
{
  g_autofree char *latin = rfl_names_to_latin (self->names, name);
  g_auto(GStrv) words = rfl_names_tokenize (latin);
  guint n = 0;

  for (guint i = 0; words[i] != NULL; i++)
    if (!rfl_names_is_article (words, i) && strlen (words[i]) > 1)
      n++;
  return n;
}

/* How alike two names are, both ways, from 0 to 1. */
static double
name_similarity (RflStore   *self,
                 const char *a,
                 const char *b)
{
  g_autofree char *la = rfl_names_to_latin (self->names, a);
  g_autofree char *lb = rfl_names_to_latin (self->names, b);

  return (rfl_rank_name_similarity (la, lb) + rfl_rank_name_similarity (lb, la)) / 2;
}

static void
score_names (RflStore   *self,
             Evidence   *e,
             JsonObject *sought,
             JsonObject *candidate)
{
  g_autoptr(GPtrArray) mine = own_names (sought);
  g_autoptr(GPtrArray) theirs = own_names (candidate);
  static const struct { const char *member; const char *label; } parents[] = {
    { "father_name", N_("father's name") }, { "mother_name", N_("mother's name") },
  };
  const char *best_a = NULL, *best_b = NULL;
  double best = -1;

  for (guint i = 0; i < mine->len; i++)
    for (guint j = 0; j < theirs->len; j++)
      {
        double s = name_similarity (self, g_ptr_array_index (mine, i), g_ptr_array_index (theirs, j));

        if (s > best)
          {
            best = s;
            best_a = g_ptr_array_index (mine, i);
            best_b = g_ptr_array_index (theirs, j);
          }
      }
  if (best_a != NULL)
    {
      /* One name alone ("Amina") says much less than a full name. */
      guint words = MIN (name_words (self, best_a), name_words (self, best_b));
      double most = words >= 2 ? 4.5 : 2.0;

      add (e, CLAMP (10 * (best - 0.6), -3.0, most), _("own name %s ≈ %s (%.2f)"), best_a, best_b, best);
    }

  for (guint p = 0; p < G_N_ELEMENTS (parents); p++)
    {
      const char *a = rfl_json_string_or (sought, parents[p].member, NULL);
      const char *b = rfl_json_string_or (candidate, parents[p].member, NULL);
      double s;

      if (a == NULL || b == NULL || *a == '\0' || *b == '\0')
        continue;
      s = name_similarity (self, a, b);
      add (e, CLAMP (4 * (s - 0.6), -1.5, 1.5), _("%s %s ≈ %s (%.2f)"), _(parents[p].label), a, b, s);
    }
}

static void
score_sex (Evidence   *e,
           JsonObject *sought,
           JsonObject *candidate)
{
  const char *a = rfl_json_string_or (sought, "sex", NULL);
  const char *b = rfl_json_string_or (candidate, "sex", NULL);

  if (a == NULL || b == NULL || (!g_str_equal (a, "female") && !g_str_equal (a, "male")) ||
      (!g_str_equal (b, "female") && !g_str_equal (b, "male")))
    return;
  if (g_str_equal (a, b))
    add (e, 0.5, "%s", _("sex agrees"));
  else
    add (e, -4.0, "%s", _("sex differs"));
}

/* The year of a partial date ("2009", "2009-04", "2009-04-17"), or 0. */
static int
year_of (const char *date)
{
  if (date == NULL || strlen (date) < 4 || !g_ascii_isdigit (date[0]))
    return 0;
  return (int) g_ascii_strtoll (date, NULL, 10);
}

static int
this_year (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

  return g_date_time_get_year (now);
}

/* The year a record's ages were given in: when it was registered, or this year. */
static int
reference_year (JsonObject *record)
{
  int year = year_of (rfl_json_string_or (record, "registered_date", NULL));

  return year > 0 ? year : this_year ();
}

/* The years a person may have been born in, and how the record says it. */
static gboolean
birth_years (JsonObject *person,
             int         reference,
             int        *low,
             int        *high,
             char      **said)
{
  int year = year_of (rfl_json_string_or (person, "date_of_birth", NULL));

  if (year > 0)
    {
      *low = *high = year;
      *said = g_strdup_printf (_("born %d"), year);
      return TRUE;
    }
  if (json_object_has_member (person, "approximate_age") &&
      json_node_get_value_type (json_object_get_member (person, "approximate_age")) == G_TYPE_INT64)
    {
      int age = (int) json_object_get_int_member (person, "approximate_age");

      /* An age given "about": a year either way, and more for the old. */
      *low = reference - age - 1 - age / 20;
      *high = reference - age + age / 20;
      *said = g_strdup_printf (_("about %d in %d"), age, reference);
      return TRUE;
    }
  return FALSE;
}

/**
 * rfl_person_birth_years:
 * @record: a record
 * @person: (nullable): one of its persons
 * @sex: (out): RFL_SEX_*
 * @born_low: (out): the first year of birth the record allows, or 0
 * @born_high: (out): the last
 *
 * What the persons table keeps of a person for matching to block on.
 */
void
rfl_person_birth_years (JsonObject *record,
                        JsonObject *person,
                        int        *sex,
                        int        *born_low,
                        int        *born_high)
{
  g_autofree char *said = NULL;
  const char *s;

  *sex = RFL_SEX_UNKNOWN;
  *born_low = *born_high = 0;
  if (person == NULL)
    return;
  s = rfl_json_string_or (person, "sex", NULL);
  *sex = g_strcmp0 (s, "female") == 0 ? RFL_SEX_FEMALE : g_strcmp0 (s, "male") == 0 ? RFL_SEX_MALE
                                                                                    : RFL_SEX_UNKNOWN;
  if (!birth_years (person, reference_year (record), born_low, born_high, &said))
    *born_low = *born_high = 0;
}

static void
score_age (Evidence   *e,
           JsonObject *sought,
           int         sought_reference,
           JsonObject *candidate,
           int         candidate_reference)
{
  g_autofree char *said_a = NULL, *said_b = NULL;
  int a_low, a_high, b_low, b_high, gap, age;
  double tolerance;

  if (!birth_years (sought, sought_reference, &a_low, &a_high, &said_a) ||
      !birth_years (candidate, candidate_reference, &b_low, &b_high, &said_b))
    return;
  gap = MAX (0, MAX (a_low, b_low) - MIN (a_high, b_high));
  age = MAX (0, candidate_reference - (b_low + b_high) / 2);
  /* Ages are misreported more, and matter less, as people get older. */
  tolerance = 1 + 0.1 * age;
  if (gap <= tolerance)
    add (e, 1.2 * (1 - gap / (tolerance + 1)), _("%s vs %s"), said_a, said_b);
  else if (gap <= 2 * tolerance)
    add (e, -1.0, _("%s vs %s"), said_a, said_b);
  else
    add (e, -3.0, _("%s vs %s"), said_a, said_b);
}

static gboolean
same_place (RflStore   *self,
            const char *a,
            const char *b)
{
  g_autofree char *la = NULL, *lb = NULL;

  if (a == NULL || b == NULL || *a == '\0' || *b == '\0')
    return FALSE;
  la = rfl_names_to_latin (self->names, a);
  lb = rfl_names_to_latin (self->names, b);
  return g_str_equal (g_strstrip (la), g_strstrip (lb));
}

static void
score_place_and_date (RflStore   *self,
                      Evidence   *e,
                      JsonObject *sought,
                      JsonObject *candidate,
                      JsonObject *candidate_record)
{
  const char *last_seen = rfl_json_string_or (sought, "last_seen_place", NULL);
  const char *seen_on = rfl_json_string_or (sought, "last_seen_date", NULL);
  const char *registered_on = rfl_json_string_or (candidate_record, "registered_date", NULL);
  static const char * const places[] = { "registered_place", "place_of_detention" };

  gboolean placed = FALSE;

  for (guint i = 0; i < G_N_ELEMENTS (places) && !placed; i++)
    if (same_place (self, last_seen, rfl_json_string_or (candidate_record, places[i], NULL)))
      {
        add (e, 0.8, _("last seen %s = registered %s"), last_seen,
             rfl_json_string_or (candidate_record, places[i], NULL));
        placed = TRUE;
      }
  if (!placed && same_place (self, last_seen, rfl_json_string_or (candidate, "last_seen_place", NULL)))
    add (e, 0.6, _("both last seen in %s"), last_seen);

  /* Partial dates compare as text down to the month both have. */
  if (seen_on != NULL && registered_on != NULL && strlen (seen_on) >= 4 && strlen (registered_on) >= 4)
    {
      gsize n = MIN (MIN (strlen (seen_on), strlen (registered_on)), 7);
      int order = strncmp (registered_on, seen_on, n);

      if (order >= 0)
        add (e, 0.3, _("last seen %s, registered %s"), seen_on, registered_on);
      else
        add (e, -1.0, _("registered %s, before last seen %s"), registered_on, seen_on);
    }
}


static const char *
kind_of (const char *type,
         const char *subtype,
         const char *role,
         gboolean    from_enquirer)
{
  if (g_strcmp0 (type, "registration") == 0)
    {
      if (from_enquirer)
        return g_strcmp0 (role, "caregiver") == 0 ? KIND_CAREGIVER : NULL;
      return g_strcmp0 (role, "person") == 0 ? KIND_REGISTERED : NULL;
    }
  if (g_strcmp0 (type, "tracing_request") == 0)
    {
      if (from_enquirer)
        return g_strcmp0 (role, "sought") == 0 ? KIND_SEEKS : NULL;
      if (g_strcmp0 (role, "sought") == 0)
        return KIND_SOUGHT_TWICE;
      if (g_strcmp0 (role, "enquirer") == 0)
        return KIND_ENQUIRER;
    }
  return NULL;
}

static JsonObject *
read_doc (RflStore    *self,
          const char  *id,
          GError     **error)
{
  sqlite3_stmt *st = rfl_store_stmt (self, "SELECT doc FROM records WHERE id = ?1 AND cl % 2 = 1", error);
  JsonObject *doc = NULL;

  if (st == NULL)
    return NULL;
  rfl_bind_text (st, 1, id);
  if (sqlite3_step (st) == SQLITE_ROW)
    doc = rfl_parse_doc ((const char *) sqlite3_column_text (st, 0));
  sqlite3_reset (st);
  return doc;
}

typedef struct
{
  const char *case_id;
  double      min_score;
  GPtrArray  *out;
} MatchArgs;

/* Proposals for one person of the case: @person sought, or the enquirer
 * when @from_enquirer. */
static gboolean
propose_for (RflStore    *self,
             MatchArgs   *args,
             JsonObject  *record,
             JsonObject  *person,
             const char  *role,
             gboolean     from_enquirer,
             GHashTable  *seen,
             GError     **error)
{
  g_autofree char *name = rfl_person_display_name (person);
  g_autoptr(GPtrArray) hits = NULL;
  RflPersonBlock block = { 0 };

  if (name == NULL || *name == '\0' || name_words (self, name) == 0)
    return TRUE;
  /* Only people who could be the one: of the sex, where both records say,
   * and born within a tolerance wider than the one scoring allows. */
  rfl_person_birth_years (record, person, &block.sex, &block.born_low, &block.born_high);
  block.tolerance = 3 + MAX (0, this_year () - block.born_high) / 5;
  if (from_enquirer)
    block.sex = RFL_SEX_UNKNOWN;
  if ((hits = rfl_store_search_names (self, name, CANDIDATES_PER_PERSON, FALSE, &block, error)) == NULL)
    return FALSE;
  for (guint i = 0; i < hits->len; i++)
    {
      JsonObject *hit = g_ptr_array_index (hits, i);
      const char *id = json_object_get_string_member (hit, "id");
      const char *person_id = rfl_json_string_or (hit, "person_id", NULL);
      g_autoptr(JsonObject) other = NULL;
      g_autofree char *key = NULL;
      JsonObject *candidate, *proposal;
      JsonArray *lines;
      Evidence e = { 0, NULL };
      const char *kind;

      if (g_strcmp0 (id, args->case_id) == 0)
        continue;
      if ((other = read_doc (self, id, error)) == NULL)
        {
          if (error != NULL && *error != NULL)
            return FALSE;
          continue;
        }
      kind = kind_of (rfl_json_string_or (other, "type", NULL), rfl_json_string_or (other, "subtype", NULL),
                      rfl_json_string_or (hit, "role", NULL), from_enquirer);
      candidate = rfl_record_find_person (other, person_id);
      if (kind == NULL || candidate == NULL)
        continue;
      key = g_strdup_printf ("%s/%s/%s", rfl_json_string_or (person, "id", ""), id, person_id);
      if (!g_hash_table_add (seen, g_steal_pointer (&key)))
        continue;

      /* The cheap evidence first: when even the best names could not
       * lift the score to the floor, the names are not compared. */
      e.lines = g_ptr_array_new_with_free_func (g_free);
      score_sex (&e, person, candidate);
      score_age (&e, person, reference_year (record), candidate, reference_year (other));
      score_place_and_date (self, &e, person, candidate, other);
      if (e.score + MOST_FOR_NAMES < args->min_score)
        {
          g_ptr_array_unref (e.lines);
          continue;
        }
      {
        /* The names lead the explanation. */
        g_autoptr(GPtrArray) rest = g_steal_pointer (&e.lines);

        e.lines = g_ptr_array_new_with_free_func (g_free);
        score_names (self, &e, person, candidate);
        for (guint l = 0; l < rest->len; l++)
          g_ptr_array_add (e.lines, g_strdup (g_ptr_array_index (rest, l)));
      }

      /* Each seeks the other: the candidate's case seeks this enquirer. */
      if (g_strcmp0 (kind, KIND_ENQUIRER) == 0 && !from_enquirer &&
          json_object_has_member (record, "enquirer") && json_object_has_member (other, "sought"))
        {
          JsonObject *enquirer = json_object_get_object_member (record, "enquirer");
          JsonArray *sought = json_object_get_array_member (other, "sought");
          g_autofree char *enquirer_name = rfl_person_display_name (enquirer);

          for (guint s = 0; enquirer_name != NULL && s < json_array_get_length (sought); s++)
            {
              g_autofree char *other_name = rfl_person_display_name (json_array_get_object_element (sought, s));

              if (other_name != NULL && name_similarity (self, enquirer_name, other_name) >= 0.8)
                {
                  kind = KIND_CROSSED;
                  add (&e, 2.0, _("crossed: %s also seeks %s"), other_name, enquirer_name);
                  break;
                }
            }
        }

      if (e.score < args->min_score)
        {
          g_ptr_array_unref (e.lines);
          continue;
        }
      proposal = json_object_new ();
      json_object_set_string_member (proposal, "case", args->case_id);
      json_object_set_string_member (proposal, "person", rfl_json_string_or (person, "id", ""));
      json_object_set_string_member (proposal, "role", role);
      json_object_set_string_member (proposal, "candidate_case", id);
      json_object_set_string_member (proposal, "candidate_person", person_id);
      json_object_set_string_member (proposal, "candidate_type", rfl_json_string_or (other, "type", ""));
      if (json_object_has_member (other, "subtype"))
        json_object_set_string_member (proposal, "candidate_subtype", rfl_json_string_or (other, "subtype", ""));
      json_object_set_string_member (proposal, "kind", kind);
      json_object_set_double_member (proposal, "score",
                                     (double) (gint64) (e.score * 10 + (e.score >= 0 ? 0.5 : -0.5)) / 10);
      lines = json_array_new ();
      for (guint l = 0; l < e.lines->len; l++)
        json_array_add_string_element (lines, g_ptr_array_index (e.lines, l));
      json_object_set_array_member (proposal, "explanation", lines);
      g_ptr_array_unref (e.lines);
      g_ptr_array_add (args->out, proposal);
    }
  return TRUE;
}

static int
compare_proposals (gconstpointer a,
                   gconstpointer b)
{
  double x = json_object_get_double_member (*(JsonObject **) a, "score");
  double y = json_object_get_double_member (*(JsonObject **) b, "score");

  return (x < y) - (x > y);
}

static gboolean
match_locked (RflStore  *self,
              gpointer   data,
              GError   **error)
{
  MatchArgs *args = data;
  g_autoptr(JsonObject) record = read_doc (self, args->case_id, error);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (record == NULL)
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND, _("no record %s"), args->case_id);
      return FALSE;
    }
  if (g_strcmp0 (rfl_json_string_or (record, "type", NULL), "tracing_request") != 0)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                   _("%s is not a tracing request: matches are proposed for the people a tracing request seeks"),
                   args->case_id);
      return FALSE;
    }
  if (json_object_has_member (record, "sought") &&
      JSON_NODE_HOLDS_ARRAY (json_object_get_member (record, "sought")))
    {
      JsonArray *sought = json_object_get_array_member (record, "sought");

      for (guint i = 0; i < json_array_get_length (sought); i++)
        {
          JsonNode *node = json_array_get_element (sought, i);

          if (JSON_NODE_HOLDS_OBJECT (node) &&
              !propose_for (self, args, record, json_node_get_object (node), "sought", FALSE, seen, error))
            return FALSE;
        }
    }
  if (json_object_has_member (record, "enquirer") &&
      JSON_NODE_HOLDS_OBJECT (json_object_get_member (record, "enquirer")) &&
      !propose_for (self, args, record, json_object_get_object_member (record, "enquirer"), "enquirer", TRUE,
                    seen, error))
    return FALSE;
  /* A crossed pair is proposed once, for the person sought. */
  for (guint i = args->out->len; i-- > 0;)
    {
      JsonObject *p = g_ptr_array_index (args->out, i);

      if (g_str_equal (json_object_get_string_member (p, "kind"), KIND_SEEKS))
        for (guint j = 0; j < args->out->len; j++)
          {
            JsonObject *q = g_ptr_array_index (args->out, j);

            if (g_str_equal (json_object_get_string_member (q, "kind"), KIND_CROSSED) &&
                g_str_equal (json_object_get_string_member (q, "candidate_case"),
                             json_object_get_string_member (p, "candidate_case")))
              {
                g_ptr_array_remove_index (args->out, i);
                break;
              }
          }
    }
  g_ptr_array_sort (args->out, compare_proposals);
  return rfl_store_audit_read (self, "matches", args->case_id, NULL, error);
}

/**
 * rfl_store_propose_matches:
 * @self: an open store
 * @case_id: a tracing request
 * @min_score: leave out proposals scoring less
 * @error: return location for an error
 *
 * Proposes, for each person @case_id seeks, the people registered (found,
 * children, detainees, the dead) or named in other tracing requests who may
 * be them, and for its enquirer, the children whose caregiver they may be
 * and the requests that seek them. Each proposal has the two cases and
 * persons, its kind (registered, sought_twice, crossed, enquirer,
 * seeks_enquirer, caregiver), a score and the explanation: one line per piece of evidence
 * with the points it adds. Best first.
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
  MatchArgs args = { case_id, min_score, out };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  g_return_val_if_fail (case_id != NULL, NULL);

  if (!rfl_store_read (self, match_locked, &args, error))
    return NULL;
  return g_steal_pointer (&out);
}
