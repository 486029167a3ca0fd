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

#include <sodium.h>
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
#define KIND_DUPLICATE    RFL_MATCH_DUPLICATE /* one person registered twice */

typedef struct
{
  double      score;
  GPtrArray  *lines;
  JsonObject *points;   /* by component: names, father, mother, sex, age, place, dates, crossed */
  gboolean    isolate;  /* for display: values isolated, see value() */
  GPtrArray  *values;   /* the isolated copies */
} Evidence;

/* A value from a record, as a line of the explanation shows it. For display
 * it is isolated (FSI ... PDI), so that a name in Arabic in a line in
 * English, or one in Latin letters in a line in Arabic, keeps its place and
 * does not carry the numbers after it to the other side. */
static const char *
value (Evidence   *e,
       const char *text)
{
  char *isolated;

  if (!e->isolate || text == NULL)
    return text;
  isolated = g_strconcat ("\u2068", text, "\u2069", NULL);
  g_ptr_array_add (e->values, isolated);
  return isolated;
}

static void
add (Evidence   *e,
     const char *component,
     double      points,
     const char *format,
     ...) G_GNUC_PRINTF (4, 5);

static void
add (Evidence   *e,
     const char *component,
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
  /* For display, the points read "+3.6" in a line of either direction. */
  g_ptr_array_add (e->lines, g_strdup_printf (e->isolate ? "%s \u2066%+.1f\u2069" : "%s %+.1f", text, points));
  json_object_set_double_member (e->points, component,
                                 (double) (gint64) (points * 10 + (points >= 0 ? 0.5 : -0.5)) / 10);
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

      add (e, "names", CLAMP (10 * (best - 0.6), -3.0, most), _("own name %s ≈ %s (%.2f)"), value (e, best_a),
           value (e, best_b), best);
    }

  for (guint p = 0; p < G_N_ELEMENTS (parents); p++)
    {
      const char *a = rfl_json_string_or (sought, parents[p].member, NULL);
      const char *b = rfl_json_string_or (candidate, parents[p].member, NULL);
      double s;

      if (a == NULL || b == NULL || *a == '\0' || *b == '\0')
        continue;
      s = name_similarity (self, a, b);
      add (e, parents[p].member, CLAMP (4 * (s - 0.6), -1.5, 1.5), _("%s %s ≈ %s (%.2f)"), _(parents[p].label),
           value (e, a), value (e, b), s);
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
    add (e, "sex", 0.5, "%s", _("sex agrees"));
  else
    add (e, "sex", -4.0, "%s", _("sex differs"));
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
    add (e, "age", 1.2 * (1 - gap / (tolerance + 1)), _("%s vs %s"), said_a, said_b);
  else if (gap <= 2 * tolerance)
    add (e, "age", -1.0, _("%s vs %s"), said_a, said_b);
  else
    add (e, "age", -3.0, _("%s vs %s"), said_a, said_b);
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
        add (e, "place", 0.8, _("last seen %s = registered %s"), value (e, last_seen),
             value (e, rfl_json_string_or (candidate_record, places[i], NULL)));
        placed = TRUE;
      }
  if (!placed && same_place (self, last_seen, rfl_json_string_or (candidate, "last_seen_place", NULL)))
    add (e, "place", 0.6, _("both last seen in %s"), value (e, last_seen));

  /* Partial dates compare as text down to the month both have. */
  if (seen_on != NULL && registered_on != NULL && strlen (seen_on) >= 4 && strlen (registered_on) >= 4)
    {
      gsize n = MIN (MIN (strlen (seen_on), strlen (registered_on)), 7);
      int order = strncmp (registered_on, seen_on, n);

      if (order >= 0)
        add (e, "dates", 0.3, _("last seen %s, registered %s"), seen_on, registered_on);
      else
        add (e, "dates", -1.0, _("registered %s, before last seen %s"), registered_on, seen_on);
    }
}


/* Two registrations of one person: made where each was registered. */
static void
score_registered_places (RflStore   *self,
                         Evidence   *e,
                         JsonObject *record,
                         JsonObject *other)
{
  static const char * const places[] = { "registered_place", "place_of_detention" };

  for (guint i = 0; i < G_N_ELEMENTS (places); i++)
    {
      const char *a = rfl_json_string_or (record, places[i], NULL);

      if (same_place (self, a, rfl_json_string_or (other, places[i], NULL)))
        {
          add (e, "place", 0.8, _("both registered in %s"), value (e, a));
          return;
        }
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

/**
 * rfl_match_pair_id:
 *
 * The id of a pair of persons, each named by their case and their person
 * id: the same whichever side it is computed from, so that a proposal and
 * the decision on it (a match record) share it on every replica, and two
 * offices deciding on one pair write one record. A UUID of version 8, the
 * version for ids derived by a rule of one's own (RFC 9562).
 */
char *
rfl_match_pair_id (const char *case_a,
                   const char *person_a,
                   const char *case_b,
                   const char *person_b)
{
  g_autofree char *a = g_strdup_printf ("%s/%s", case_a, person_a != NULL ? person_a : "");
  g_autofree char *b = g_strdup_printf ("%s/%s", case_b, person_b != NULL ? person_b : "");
  g_autofree char *both = strcmp (a, b) <= 0 ? g_strconcat (a, "\n", b, NULL) : g_strconcat (b, "\n", a, NULL);
  guint8 h[16];

  crypto_generichash (h, sizeof h, (const guint8 *) both, strlen (both),
                      (const guint8 *) "reunite-match-pair", strlen ("reunite-match-pair"));
  h[6] = (h[6] & 0x0f) | 0x80;
  h[8] = (h[8] & 0x3f) | 0x80;
  return g_strdup_printf ("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                          h[0], h[1], h[2], h[3], h[4], h[5], h[6], h[7],
                          h[8], h[9], h[10], h[11], h[12], h[13], h[14], h[15]);
}

/* What a person's identity rests on for a decision: names, sex and date of
 * birth. A rejected pair is proposed again only when this changes. */
static char *
identity_of (JsonObject *person)
{
  static const char * const members[] = { "given_name", "middle_name", "family_name", "sex", "date_of_birth" };
  GString *out = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    g_string_append_printf (out, "%s\x1f", rfl_json_string_or (person, members[i], ""));
  if (json_object_has_member (person, "alternate_names") &&
      JSON_NODE_HOLDS_ARRAY (json_object_get_member (person, "alternate_names")))
    {
      JsonArray *alternates = json_object_get_array_member (person, "alternate_names");

      for (guint i = 0; i < json_array_get_length (alternates); i++)
        {
          JsonNode *node = json_array_get_element (alternates, i);

          if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
            g_string_append_printf (out, "%s\x1e", json_node_get_string (node));
        }
    }
  return g_string_free (out, FALSE);
}

/* A hash of both persons' identities, the same from either side. */
static char *
basis_of (JsonObject *a,
          JsonObject *b)
{
  g_autofree char *x = identity_of (a);
  g_autofree char *y = identity_of (b);
  g_autofree char *both = strcmp (x, y) <= 0 ? g_strconcat (x, "\n", y, NULL) : g_strconcat (y, "\n", x, NULL);
  guint8 h[16];

  char hex[sizeof h * 2 + 1];

  crypto_generichash (h, sizeof h, (const guint8 *) both, strlen (both), NULL, 0);
  sodium_bin2hex (hex, sizeof hex, h, sizeof h);
  return g_strdup (hex);
}

typedef struct
{
  double      min_score;
  GHashTable *seen;     /* pair ids proposed */
  GPtrArray  *out;
  gboolean    isolate;  /* the explanation is for display */
} MatchArgs;

/* Scores @person of @record, the case @case_id (a tracing request), as it
 * stands in @role, against @candidate of @other, the case @other_id, which
 * stands to it as @kind; adds the proposal to @args->out when it scores
 * @args->min_score or more. */
static void
propose_pair (RflStore    *self,
              MatchArgs   *args,
              const char  *case_id,
              JsonObject  *record,
              JsonObject  *person,
              const char  *role,
              const char  *other_id,
              JsonObject  *other,
              JsonObject  *candidate,
              const char  *kind,
              gboolean     from_enquirer)
{
  const char *person_id = rfl_json_string_or (person, "id", NULL);
  const char *candidate_id = rfl_json_string_or (candidate, "id", NULL);
  g_autofree char *pair = rfl_match_pair_id (case_id, person_id, other_id, candidate_id);
  g_autofree char *basis = NULL;
  g_autofree char *person_name = NULL, *candidate_name = NULL;
  g_autoptr(JsonObject) points = json_object_new ();
  g_autoptr(GPtrArray) values = g_ptr_array_new_with_free_func (g_free);
  Evidence e = { 0, NULL, points, args->isolate, values };
  JsonObject *proposal;
  JsonArray *lines;

  if (g_hash_table_contains (args->seen, pair))
    return;

  /* The cheap evidence first: when even the best names could not lift the
   * score to the floor, the names are not compared. */
  e.lines = g_ptr_array_new_with_free_func (g_free);
  score_sex (&e, person, candidate);
  score_age (&e, person, reference_year (record), candidate, reference_year (other));
  if (g_strcmp0 (kind, KIND_DUPLICATE) == 0)
    score_registered_places (self, &e, record, other);
  else
    score_place_and_date (self, &e, person, candidate, other);
  if (e.score + MOST_FOR_NAMES < args->min_score)
    {
      g_ptr_array_unref (e.lines);
      return;
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

          double alike = other_name != NULL ? name_similarity (self, enquirer_name, other_name) : 0;

          /* Worth as much as the two enquirers' names agree: one given
           * name in common is no crossing. */
          if (alike >= 0.8)
            {
              kind = KIND_CROSSED;
              add (&e, "crossed", 2.0 * CLAMP ((alike - 0.8) / 0.15, 0.0, 1.0), _("crossed: %s also seeks %s"),
                   value (&e, other_name), value (&e, enquirer_name));
              break;
            }
        }
    }

  if (e.score < args->min_score)
    {
      g_ptr_array_unref (e.lines);
      return;
    }
  basis = basis_of (person, candidate);
  proposal = json_object_new ();
  json_object_set_string_member (proposal, "id", pair);
  json_object_set_string_member (proposal, "case", case_id);
  json_object_set_string_member (proposal, "person", person_id != NULL ? person_id : "");
  json_object_set_string_member (proposal, "role", role);
  json_object_set_string_member (proposal, "candidate_case", other_id);
  json_object_set_string_member (proposal, "candidate_person", candidate_id != NULL ? candidate_id : "");
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
  json_object_set_object_member (proposal, "points", json_object_ref (points));
  /* For a list of proposals to name who they are about. */
  if ((person_name = rfl_person_display_name (person)) != NULL)
    json_object_set_string_member (proposal, "person_name", person_name);
  if ((candidate_name = rfl_person_display_name (candidate)) != NULL)
    json_object_set_string_member (proposal, "candidate_name", candidate_name);
  json_object_set_string_member (proposal, RFL_PROPOSAL_BASIS, basis);
  g_ptr_array_unref (e.lines);
  g_hash_table_add (args->seen, g_steal_pointer (&pair));
  g_ptr_array_add (args->out, proposal);
}

/* The people who may be @person, named in @record: by name, then of the
 * sex and age who could be the one. */
static GPtrArray *
candidates_for (RflStore    *self,
                JsonObject  *record,
                JsonObject  *person,
                gboolean     any_sex,
                GError     **error)
{
  g_autofree char *name = rfl_person_display_name (person);
  RflPersonBlock block = { 0 };

  if (name == NULL || *name == '\0' || name_words (self, name) == 0)
    return g_ptr_array_new ();
  /* Only people who could be the one: of the sex, where both records say,
   * and born within a tolerance wider than the one scoring allows. */
  rfl_person_birth_years (record, person, &block.sex, &block.born_low, &block.born_high);
  block.tolerance = 3 + MAX (0, this_year () - block.born_high) / 5;
  if (any_sex)
    block.sex = RFL_SEX_UNKNOWN;
  return rfl_store_search_names (self, name, CANDIDATES_PER_PERSON, FALSE, &block, error);
}

/* Proposals for one person of the tracing request @case_id: @person
 * sought, or the enquirer when @from_enquirer. */
static gboolean
propose_for (RflStore    *self,
             MatchArgs   *args,
             const char  *case_id,
             JsonObject  *record,
             JsonObject  *person,
             const char  *role,
             gboolean     from_enquirer,
             GError     **error)
{
  g_autoptr(GPtrArray) hits = candidates_for (self, record, person, from_enquirer, error);

  if (hits == NULL)
    return FALSE;
  for (guint i = 0; i < hits->len; i++)
    {
      JsonObject *hit = g_ptr_array_index (hits, i);
      const char *id = json_object_get_string_member (hit, "id");
      g_autoptr(JsonObject) other = NULL;
      JsonObject *candidate;
      const char *kind;

      if (g_strcmp0 (id, case_id) == 0)
        continue;
      if ((other = read_doc (self, id, error)) == NULL)
        {
          if (error != NULL && *error != NULL)
            return FALSE;
          continue;
        }
      kind = kind_of (rfl_json_string_or (other, "type", NULL), rfl_json_string_or (other, "subtype", NULL),
                      rfl_json_string_or (hit, "role", NULL), from_enquirer);
      candidate = rfl_record_find_person (other, rfl_json_string_or (hit, "person_id", NULL));
      if (kind == NULL || candidate == NULL)
        continue;
      propose_pair (self, args, case_id, record, person, role, id, other, candidate, kind, from_enquirer);
    }
  return TRUE;
}

/* Proposals for a registration, from the other side: the tracing requests
 * that seek its person, and those whose enquirer may be its child's
 * caregiver. What the same pair scores from the request's side. */
static gboolean
propose_for_registration (RflStore    *self,
                          MatchArgs   *args,
                          const char  *id,
                          JsonObject  *record,
                          GError     **error)
{
  static const struct { const char *member; const char *role; const char *kind; } sides[] = {
    { "person", "sought", KIND_REGISTERED }, { "caregiver", "enquirer", KIND_CAREGIVER },
  };

  for (guint s = 0; s < G_N_ELEMENTS (sides); s++)
    {
      g_autoptr(GPtrArray) hits = NULL;
      JsonObject *person;

      if (!json_object_has_member (record, sides[s].member) ||
          !JSON_NODE_HOLDS_OBJECT (json_object_get_member (record, sides[s].member)))
        continue;
      person = json_object_get_object_member (record, sides[s].member);
      if ((hits = candidates_for (self, record, person, s > 0, error)) == NULL)
        return FALSE;
      for (guint i = 0; i < hits->len; i++)
        {
          JsonObject *hit = g_ptr_array_index (hits, i);
          const char *case_id = json_object_get_string_member (hit, "id");
          g_autoptr(JsonObject) request = NULL;
          JsonObject *sought;

          if (g_strcmp0 (case_id, id) == 0)
            continue;
          /* The same person registered again, here or at another office. */
          if (s == 0 && g_strcmp0 (rfl_json_string_or (hit, "role", NULL), "person") == 0)
            {
              g_autoptr(JsonObject) again = read_doc (self, case_id, error);
              JsonObject *twin;

              if (again == NULL && error != NULL && *error != NULL)
                return FALSE;
              if (again != NULL && g_strcmp0 (rfl_json_string_or (again, "type", NULL), "registration") == 0 &&
                  (twin = rfl_record_find_person (again, rfl_json_string_or (hit, "person_id", NULL))) != NULL)
                propose_pair (self, args, id, record, person, "person", case_id, again, twin, KIND_DUPLICATE,
                              FALSE);
              continue;
            }
          if (g_strcmp0 (rfl_json_string_or (hit, "role", NULL), sides[s].role) != 0)
            continue;
          if ((request = read_doc (self, case_id, error)) == NULL)
            {
              if (error != NULL && *error != NULL)
                return FALSE;
              continue;
            }
          if (g_strcmp0 (rfl_json_string_or (request, "type", NULL), "tracing_request") != 0 ||
              (sought = rfl_record_find_person (request, rfl_json_string_or (hit, "person_id", NULL))) == NULL)
            continue;
          propose_pair (self, args, case_id, request, sought, sides[s].role, id, record, person, sides[s].kind,
                        s > 0);
        }
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

/* A crossed pair is proposed once, for the person sought. */
static void
drop_crossed_twins (GPtrArray *out)
{
  for (guint i = out->len; i-- > 0;)
    {
      JsonObject *p = g_ptr_array_index (out, i);

      if (g_str_equal (json_object_get_string_member (p, "kind"), KIND_SEEKS))
        for (guint j = 0; j < out->len; j++)
          {
            JsonObject *q = g_ptr_array_index (out, j);

            if (g_str_equal (json_object_get_string_member (q, "kind"), KIND_CROSSED) &&
                g_str_equal (json_object_get_string_member (q, "candidate_case"),
                             json_object_get_string_member (p, "candidate_case")))
              {
                g_ptr_array_remove_index (out, i);
                break;
              }
          }
    }
}

/**
 * rfl_match_propose_for_record:
 * @id: a live record's id
 * @record: its document
 *
 * The proposals a record takes part in, computed afresh: for a tracing
 * request, those of the people it seeks and of its enquirer; for a
 * registration, the tracing requests that may seek its person or whose
 * enquirer may be its child's caregiver. Each carries its pair id and its
 * basis (RFL_PROPOSAL_BASIS). Other records take part in none. Runs inside
 * the caller's read or write.
 *
 * Returns: (transfer full) (element-type JsonObject): the proposals, best first
 */
GPtrArray *
rfl_match_propose_for_record (RflStore    *self,
                              const char  *id,
                              JsonObject  *record,
                              double       min_score,
                              GError     **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  MatchArgs args = { min_score, seen, out, FALSE };
  const char *type = rfl_json_string_or (record, "type", NULL);

  if (g_strcmp0 (type, "registration") == 0)
    {
      if (!propose_for_registration (self, &args, id, record, error))
        return NULL;
    }
  else if (g_strcmp0 (type, "tracing_request") == 0)
    {
      if (json_object_has_member (record, "sought") &&
          JSON_NODE_HOLDS_ARRAY (json_object_get_member (record, "sought")))
        {
          JsonArray *sought = json_object_get_array_member (record, "sought");

          for (guint i = 0; i < json_array_get_length (sought); i++)
            {
              JsonNode *node = json_array_get_element (sought, i);

              if (JSON_NODE_HOLDS_OBJECT (node) &&
                  !propose_for (self, &args, id, record, json_node_get_object (node), "sought", FALSE, error))
                return NULL;
            }
        }
      if (json_object_has_member (record, "enquirer") &&
          JSON_NODE_HOLDS_OBJECT (json_object_get_member (record, "enquirer")) &&
          !propose_for (self, &args, id, record, json_object_get_object_member (record, "enquirer"), "enquirer",
                        TRUE, error))
        return NULL;
      drop_crossed_twins (out);
    }
  g_ptr_array_sort (out, compare_proposals);
  return g_steal_pointer (&out);
}

/**
 * rfl_match_score_again:
 * @proposal: a proposal as kept, with its cases, persons, role and kind
 *
 * Scores a known pair again, without searching: for a pair one of whose
 * records changed, when the search from the changed side would not find it
 * (a search is not symmetric, and a crossed pair is proposed from one side
 * only). Runs inside the caller's read or write.
 *
 * With @for_display, the values in the explanation are isolated for
 * display in a line of either direction, and @min_score is ignored.
 *
 * Returns: (transfer full) (nullable): the proposal, with its basis, or
 *   %NULL when it scores less than @min_score or a person is gone
 */
JsonObject *
rfl_match_score_again (RflStore    *self,
                       JsonObject  *proposal,
                       double       min_score,
                       gboolean     for_display,
                       GError     **error)
{
  g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  MatchArgs args = { for_display ? -G_MAXDOUBLE : min_score, seen, out, for_display };
  const char *case_id = rfl_json_string_or (proposal, "case", NULL);
  const char *other_id = rfl_json_string_or (proposal, "candidate_case", NULL);
  const char *role = rfl_json_string_or (proposal, "role", "sought");
  const char *kind = rfl_json_string_or (proposal, "kind", KIND_REGISTERED);
  g_autoptr(JsonObject) record = NULL, other = NULL;
  JsonObject *person, *candidate;

  if (case_id == NULL || other_id == NULL ||
      (record = read_doc (self, case_id, error)) == NULL || (other = read_doc (self, other_id, error)) == NULL)
    return NULL;
  person = rfl_record_find_person (record, rfl_json_string_or (proposal, "person", NULL));
  candidate = rfl_record_find_person (other, rfl_json_string_or (proposal, "candidate_person", NULL));
  if (person == NULL || candidate == NULL)
    return NULL;
  /* Whether each still seeks the other is looked at again. */
  if (g_str_equal (kind, KIND_CROSSED))
    kind = KIND_ENQUIRER;
  propose_pair (self, &args, case_id, record, person, role, other_id, other, candidate, kind,
                g_str_equal (role, "enquirer"));
  return out->len > 0 ? json_object_ref (g_ptr_array_index (out, 0)) : NULL;
}
