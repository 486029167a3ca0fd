/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-gen"

/*
 * Writes N synthetic but realistic RFL records as JSON lines: tracing requests
 * with one to three sought persons, registrations of each kind, Red Cross
 * Messages and notes. Names mix Latin, Arabic and Cyrillic scripts and the
 * spelling variants field offices meet; fields are often missing and dates
 * often partial. The same seed gives the same file.
 *
 * Usage: rfl-gen N [SEED] > cases.jsonl
 *        rfl-gen --queries N [SEED]     one name query per line
 */

#include <errno.h>
#include <glib.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

/* Each entry is a set of spellings of one name; the first is the most common. */
static const char * const given_latin[][4] = {
  { "Mohammed", "Muhammad", "Mohamed", "Mohamad" },
  { "Ibrahim", "Ebrahim", "Ibrahima", NULL },
  { "Amina", "Aminah", "Ameena", NULL },
  { "Fatima", "Fatuma", "Fatimah", "Fatouma" },
  { "Yusuf", "Youssef", "Yousef", "Yusef" },
  { "Aisha", "Aicha", "Ayesha", NULL },
  { "Ahmed", "Ahmad", "Achmed", NULL },
  { "Khadija", "Khadidja", "Kadija", NULL },
  { "Omar", "Umar", "Oumar", NULL },
  { "Hassan", "Hasan", "Hassane", NULL },
  { "Jean", "Jean-Pierre", NULL, NULL },
  { "Marie", "Mariam", "Maryam", "Miriam" },
  { "Emmanuel", "Emanuel", NULL, NULL },
  { "Grace", "Grâce", NULL, NULL },
  { "Josephine", "Joséphine", "Josefina", NULL },
  { "Alain", "Allan", "Alan", NULL },
  { "Esperance", "Espérance", NULL, NULL },
  { "Chantal", "Shantal", NULL, NULL },
  { "Patrick", "Patric", NULL, NULL },
  { "Nadia", "Nadja", "Nadiya", NULL },
  { "Olena", "Elena", "Helena", NULL },
  { "Dmytro", "Dmitry", "Dmitri", NULL },
  { "Oleksandr", "Aleksandr", "Alexander", NULL },
  { "Kateryna", "Ekaterina", "Katerina", NULL },
  { "Abdullahi", "Abdallah", "Abdulla", NULL },
  { "Halima", "Halimah", NULL, NULL },
  { "Zainab", "Zaynab", "Zeinab", NULL },
  { "Deng", "Dheng", NULL, NULL },
  { "Nyakim", "Nyakiem", NULL, NULL },
  { "Esther", "Ester", NULL, NULL },
};

static const char * const family_latin[][4] = {
  { "Yusuf", "Youssef", "Yousef", NULL },
  { "Hassan", "Hasan", NULL, NULL },
  { "Ali", "Aly", NULL, NULL },
  { "Abdi", "Abdy", NULL, NULL },
  { "Mohamud", "Mahmoud", "Mahmud", NULL },
  { "Osman", "Othman", "Usman", NULL },
  { "Kabila", "Kabilla", NULL, NULL },
  { "Mukendi", "Moukendi", NULL, NULL },
  { "Ilunga", "Ilounga", NULL, NULL },
  { "Habimana", "Abimana", NULL, NULL },
  { "Niyonzima", "Niyonsima", NULL, NULL },
  { "Uwimana", "Uwamahoro", NULL, NULL },
  { "Kovalenko", "Kovalenka", NULL, NULL },
  { "Shevchenko", "Sevchenko", "Chevchenko", NULL },
  { "Bondarenko", "Bondarenka", NULL, NULL },
  { "Petrov", "Petroff", NULL, NULL },
  { "Ibrahim", "Ebrahim", NULL, NULL },
  { "Garang", "Garaang", NULL, NULL },
  { "Deng", "Dheng", NULL, NULL },
  { "Okello", "Okelo", NULL, NULL },
  { "Mensah", "Mensa", NULL, NULL },
  { "Diallo", "Dialo", "Jallow", NULL },
  { "Traore", "Traoré", NULL, NULL },
  { "Haidari", "Haydari", "Heidari", NULL },
  { "Rahimi", "Rahimy", NULL, NULL },
};

/* Arabic names with the given_latin / family_latin entry that romanises them
 * (-1: none in the list). */
static const struct { const char *name; int latin; } given_arabic[] = {
  { "محمد", 0 }, { "إبراهيم", 1 }, { "أمينة", 2 }, { "فاطمة", 3 }, { "يوسف", 4 }, { "عائشة", 5 },
  { "أحمد", 6 }, { "خديجة", 7 }, { "عمر", 8 }, { "حسن", 9 }, { "مريم", 11 }, { "زينب", 26 },
  { "عبدالله", 24 }, { "حليمة", 25 }, { "علي", -1 }, { "سارة", -1 }, { "خالد", -1 }, { "نور", -1 },
  { "مصطفى", -1 }, { "ليلى", -1 },
};
static const struct { const char *name; int latin; } family_arabic[] = {
  { "يوسف", 0 }, { "حسن", 1 }, { "علي", 2 }, { "محمود", 4 }, { "عثمان", 5 }, { "إبراهيم", 16 },
  { "الحسيني", -1 }, { "العمري", -1 }, { "الخطيب", -1 }, { "حداد", -1 },
};
static const char * const given_cyrillic[] = {
  "Олена", "Дмитро", "Олександр", "Катерина", "Іван", "Марія", "Андрій", "Наталія", "Сергій", "Ольга",
};
static const char * const family_cyrillic[] = {
  "Коваленко", "Шевченко", "Бондаренко", "Петров", "Мельник", "Ткаченко", "Кравченко", "Іваненко",
};
static const char * const places[] = {
  "Goma", "Bukavu", "Kigali", "Kampala", "Juba", "Malakal", "Mogadishu", "Baidoa", "Dadaab",
  "Kakuma", "Aleppo", "Idlib", "Gaziantep", "Kharkiv", "Mariupol", "Lviv", "Tripoli", "Agadez",
  "Maiduguri", "Bangui", "Cox's Bazar", "Kabul", "Herat", "Lampedusa", "Moria",
};
static const char * const relationships[] = {
  "son", "daughter", "father", "mother", "brother", "sister", "husband", "wife", "grandchild",
  "nephew", "niece", "cousin", "uncle", "aunt",
};
static const char * const circumstances[] = { "conflict", "disaster", "migration", "detention", "other" };
static const char * const subtypes[] = {
  "found_person", "unaccompanied_child", "separated_child", "detainee", "deceased",
};

typedef struct
{
  GRand *rand;
} Gen;

static const char *
pick (Gen                *gen,
      const char * const *list,
      guint               n)
{
  return list[g_rand_int_range (gen->rand, 0, n)];
}

static const char *
pick_variant (Gen                *gen,
              const char * const  variants[4])
{
  guint n = 0;

  while (n < 4 && variants[n] != NULL)
    n++;
  /* The first spelling is the usual one. */
  return g_rand_int_range (gen->rand, 0, 100) < 60 ? variants[0] : variants[g_rand_int_range (gen->rand, 0, n)];
}

static gboolean
chance (Gen  *gen,
        guint percent)
{
  return (guint) g_rand_int_range (gen->rand, 0, 100) < percent;
}

static void
add_partial_date (Gen         *gen,
                  JsonBuilder *b,
                  const char  *member,
                  guint        year_from,
                  guint        year_to)
{
  guint year = g_rand_int_range (gen->rand, year_from, year_to + 1);
  guint form = g_rand_int_range (gen->rand, 0, 3);
  g_autofree char *text = NULL;

  if (form == 0)
    text = g_strdup_printf ("%04u", year);
  else if (form == 1)
    text = g_strdup_printf ("%04u-%02d", year, g_rand_int_range (gen->rand, 1, 13));
  else
    text = g_strdup_printf ("%04u-%02d-%02d", year, g_rand_int_range (gen->rand, 1, 13),
                            g_rand_int_range (gen->rand, 1, 29));
  json_builder_set_member_name (b, member);
  json_builder_add_string_value (b, text);
}

static void
add_string (JsonBuilder *b,
            const char  *member,
            const char  *value)
{
  json_builder_set_member_name (b, member);
  json_builder_add_string_value (b, value);
}

static void
person (Gen         *gen,
        JsonBuilder *b,
        const char  *relationship,
        gboolean     child)
{
  guint script = g_rand_int_range (gen->rand, 0, 100);
  const char *given, *family;

  int given_latin_index = -1, family_latin_index = -1;

  if (script < 55)
    {
      given = pick_variant (gen, given_latin[g_rand_int_range (gen->rand, 0, G_N_ELEMENTS (given_latin))]);
      family = pick_variant (gen, family_latin[g_rand_int_range (gen->rand, 0, G_N_ELEMENTS (family_latin))]);
    }
  else if (script < 85)
    {
      guint g = g_rand_int_range (gen->rand, 0, G_N_ELEMENTS (given_arabic));
      guint f = g_rand_int_range (gen->rand, 0, G_N_ELEMENTS (family_arabic));

      given = given_arabic[g].name;
      family = family_arabic[f].name;
      given_latin_index = given_arabic[g].latin;
      family_latin_index = family_arabic[f].latin;
    }
  else
    {
      given = pick (gen, given_cyrillic, G_N_ELEMENTS (given_cyrillic));
      family = pick (gen, family_cyrillic, G_N_ELEMENTS (family_cyrillic));
    }

  json_builder_begin_object (b);
  add_string (b, "given_name", given);
  if (chance (gen, 92))
    add_string (b, "family_name", family);
  if (given_latin_index >= 0 && family_latin_index >= 0 && chance (gen, 50))
    {
      /* The Latin spelling recorded beside the Arabic one, as registration forms often have. */
      g_autofree char *alt = g_strdup_printf ("%s %s",
        pick_variant (gen, given_latin[given_latin_index]),
        pick_variant (gen, family_latin[family_latin_index]));
      json_builder_set_member_name (b, "alternate_names");
      json_builder_begin_array (b);
      json_builder_add_string_value (b, alt);
      json_builder_end_array (b);
    }
  if (chance (gen, 40))
    add_string (b, "father_name", pick_variant (gen, given_latin[g_rand_int_range (gen->rand, 0, G_N_ELEMENTS (given_latin))]));
  if (chance (gen, 85))
    add_string (b, "sex", chance (gen, 50) ? "female" : "male");
  if (chance (gen, 70))
    add_partial_date (gen, b, "date_of_birth", child ? 2008 : 1940, child ? 2024 : 2006);
  else if (chance (gen, 60))
    {
      json_builder_set_member_name (b, "approximate_age");
      json_builder_add_int_value (b, child ? g_rand_int_range (gen->rand, 1, 18)
                                           : g_rand_int_range (gen->rand, 18, 90));
    }
  if (relationship != NULL)
    add_string (b, "relationship", relationship);
  if (chance (gen, 60))
    add_string (b, "last_seen_place", pick (gen, places, G_N_ELEMENTS (places)));
  if (chance (gen, 50))
    add_partial_date (gen, b, "last_seen_date", 2012, 2025);
  json_builder_end_object (b);
}

static void
consent (Gen         *gen,
         JsonBuilder *b)
{
  json_builder_set_member_name (b, "consent");
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "tracing");
  json_builder_add_boolean_value (b, TRUE);
  json_builder_set_member_name (b, "share_within_movement");
  json_builder_add_boolean_value (b, chance (gen, 90));
  json_builder_set_member_name (b, "publish_photo");
  json_builder_add_boolean_value (b, chance (gen, 20));
  json_builder_end_object (b);
}

static char *
random_uuid (Gen *gen)
{
  guint32 w[4];

  for (guint i = 0; i < 4; i++)
    w[i] = g_rand_int (gen->rand);
  return g_strdup_printf ("%08x-%04x-4%03x-%04x-%04x%08x", w[0], w[1] >> 16, w[1] & 0xfff,
                          0x8000 | (w[2] & 0x3fff), w[2] >> 16, w[3]);
}

static void
record (Gen         *gen,
        JsonBuilder *b,
        GPtrArray   *case_ids)
{
  guint kind = g_rand_int_range (gen->rand, 0, 100);
  g_autofree char *id = random_uuid (gen);

  json_builder_begin_object (b);
  add_string (b, "id", id);
  if (kind < 45 || (kind >= 95 && case_ids->len == 0))
    {
      guint n = chance (gen, 70) ? 1 : g_rand_int_range (gen->rand, 2, 4);

      add_string (b, "type", "tracing_request");
      add_string (b, "circumstances", pick (gen, circumstances, G_N_ELEMENTS (circumstances)));
      json_builder_set_member_name (b, "enquirer");
      person (gen, b, NULL, FALSE);
      json_builder_set_member_name (b, "sought");
      json_builder_begin_array (b);
      for (guint i = 0; i < n; i++)
        person (gen, b, pick (gen, relationships, G_N_ELEMENTS (relationships)), chance (gen, 40));
      json_builder_end_array (b);
      consent (gen, b);
      if (chance (gen, 10))
        add_string (b, "sensitivity", "sensitive");
      g_ptr_array_add (case_ids, g_strdup (id));
    }
  else if (kind < 80)
    {
      const char *subtype = pick (gen, subtypes, G_N_ELEMENTS (subtypes));

      add_string (b, "type", "registration");
      add_string (b, "subtype", subtype);
      json_builder_set_member_name (b, "person");
      person (gen, b, NULL, strstr (subtype, "child") != NULL);
      if (chance (gen, 70))
        add_string (b, "registered_place", pick (gen, places, G_N_ELEMENTS (places)));
      if (chance (gen, 70))
        add_partial_date (gen, b, "registered_date", 2015, 2025);
      if (g_str_equal (subtype, "detainee") && chance (gen, 80))
        add_string (b, "place_of_detention", pick (gen, places, G_N_ELEMENTS (places)));
      consent (gen, b);
      if (g_str_equal (subtype, "detainee"))
        add_string (b, "sensitivity", "highly_sensitive");
      g_ptr_array_add (case_ids, g_strdup (id));
    }
  else if (kind < 95)
    {
      add_string (b, "type", "message");
      json_builder_set_member_name (b, "sender");
      person (gen, b, NULL, FALSE);
      json_builder_set_member_name (b, "addressee");
      person (gen, b, pick (gen, relationships, G_N_ELEMENTS (relationships)), FALSE);
      add_string (b, "content", "We are safe in the camp. Please send news of the children.");
      add_string (b, "collected_place", pick (gen, places, G_N_ELEMENTS (places)));
    }
  else
    {
      add_string (b, "type", "note");
      add_string (b, "record", g_ptr_array_index (case_ids, g_rand_int_range (gen->rand, 0, case_ids->len)));
      add_string (b, "kind", chance (gen, 50) ? "contact_attempt" : "note");
      add_string (b, "text", "Called the number given by the enquirer; no answer.");
    }
  json_builder_end_object (b);
}


/* One letter slipped: dropped, doubled or swapped with the next. */
static char *
typo (Gen        *gen,
      const char *name)
{
  glong n = g_utf8_strlen (name, -1);
  glong at;
  GString *out = g_string_new (NULL);
  guint how = g_rand_int_range (gen->rand, 0, 3);

  if (n < 4)
    return g_strdup (name);
  at = g_rand_int_range (gen->rand, 1, n - 1);
  for (glong i = 0; i < n; i++)
    {
      const char *c = g_utf8_offset_to_pointer (name, i);
      const char *next = g_utf8_next_char (c);

      if (i == at && how == 0)
        continue;
      if (i == at && how == 2)
        {
          g_string_append_len (out, next, g_utf8_next_char (next) - next);
          g_string_append_len (out, c, next - c);
          i++;
          continue;
        }
      g_string_append_len (out, c, next - c);
      if (i == at && how == 1)
        g_string_append_len (out, c, next - c);
    }
  return g_string_free (out, FALSE);
}

typedef struct
{
  const char *given;      /* as the family gave it */
  const char *family;
  const char *father;
  int         given_latin;  /* index in given_latin, or -1 */
  int         family_latin;
  gboolean    cyrillic;
  const char *sex;
  guint       born;
} Planted;

/* Someone's names as another volunteer wrote them: in Latin letters if the
 * family gave them in Arabic script, in another spelling, sometimes with a
 * slip of the hand. */
static void
noisy_names (Gen          *gen,
             JsonBuilder  *b,
             const Planted *p)
{
  const char *given = p->given, *family = p->family;
  g_autofree char *slipped = NULL;

  if (p->given_latin >= 0 && chance (gen, 60))
    {
      given = pick_variant (gen, given_latin[p->given_latin]);
      family = pick_variant (gen, family_latin[p->family_latin]);
    }
  if (chance (gen, 20))
    given = slipped = typo (gen, given);
  add_string (b, "given_name", given);
  if (chance (gen, 90))
    add_string (b, "family_name", family);
  if (p->father != NULL && chance (gen, 50))
    add_string (b, "father_name", p->father);
}

static void
planted_person (Gen           *gen,
                Planted       *p)
{
  guint script = g_rand_int_range (gen->rand, 0, 100);

  memset (p, 0, sizeof *p);
  p->given_latin = p->family_latin = -1;
  if (script < 45)
    {
      p->given_latin = g_rand_int_range (gen->rand, 0, G_N_ELEMENTS (given_latin));
      p->family_latin = g_rand_int_range (gen->rand, 0, G_N_ELEMENTS (family_latin));
      p->given = pick_variant (gen, given_latin[p->given_latin]);
      p->family = pick_variant (gen, family_latin[p->family_latin]);
    }
  else if (script < 85)
    {
      guint g, f;

      do
        g = g_rand_int_range (gen->rand, 0, G_N_ELEMENTS (given_arabic));
      while (given_arabic[g].latin < 0);
      do
        f = g_rand_int_range (gen->rand, 0, G_N_ELEMENTS (family_arabic));
      while (family_arabic[f].latin < 0);
      p->given = given_arabic[g].name;
      p->family = family_arabic[f].name;
      p->given_latin = given_arabic[g].latin;
      p->family_latin = family_arabic[f].latin;
    }
  else
    {
      p->given = pick (gen, given_cyrillic, G_N_ELEMENTS (given_cyrillic));
      p->family = pick (gen, family_cyrillic, G_N_ELEMENTS (family_cyrillic));
      p->cyrillic = TRUE;
    }
  if (chance (gen, 60))
    p->father = pick_variant (gen, given_latin[g_rand_int_range (gen->rand, 0, G_N_ELEMENTS (given_latin))]);
  p->sex = chance (gen, 50) ? "female" : "male";
  p->born = g_rand_int_range (gen->rand, 1950, 2021);
}

static void
print_record (JsonBuilder *b)
{
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  g_autofree char *text = json_to_string (root, FALSE);

  fputs (text, stdout);
  fputc ('\n', stdout);
}

/* The registration of a planted person @p by a volunteer: the names as
 * noisy_names() gives them, sex, an age or a year of birth as people
 * misremember them, where (mostly where last seen) and when. */
static void
registration_body (Gen           *gen,
                   JsonBuilder   *b,
                   const Planted *p,
                   guint          registered_year,
                   const char    *registered,
                   const char    *place)
{
  int age = (int) registered_year - (int) p->born;
  const char *subtype = age < 18 ? (chance (gen, 70) ? "unaccompanied_child" : "separated_child")
                                 : pick (gen, subtypes, G_N_ELEMENTS (subtypes));

  if (age < 18 && chance (gen, 20))
    subtype = "found_person";
  add_string (b, "type", "registration");
  add_string (b, "subtype", subtype);
  json_builder_set_member_name (b, "person");
  json_builder_begin_object (b);
  noisy_names (gen, b, p);
  if (chance (gen, 90))
    add_string (b, "sex", p->sex);
  if (chance (gen, 60))
    {
      /* An age, guessed or misremembered by up to three years. */
      int said = age + g_rand_int_range (gen->rand, -3, 4);

      json_builder_set_member_name (b, "approximate_age");
      json_builder_add_int_value (b, MAX (0, said));
    }
  else if (chance (gen, 80))
    {
      g_autofree char *born = g_strdup_printf ("%u", p->born + g_rand_int_range (gen->rand, -1, 2));
      add_string (b, "date_of_birth", born);
    }
  json_builder_end_object (b);
  if (chance (gen, 85))
    add_string (b, "registered_place", chance (gen, 75) ? place : pick (gen, places, G_N_ELEMENTS (places)));
  add_string (b, "registered_date", registered);
  if (g_str_equal (subtype, "detainee"))
    add_string (b, "sensitivity", "highly_sensitive");
}

/* A person known to be sought by one case and registered by another, with
 * the noise of real records: another script or spelling, a typo, an age
 * misreported by up to three years, a partial date, a missing field, a
 * place spelt differently or another place. Sometimes a sibling is
 * registered too, with the same family and father's names: someone who
 * looks alike but is not the one. Sometimes the pair is crossed: two
 * requests, each seeking the other's enquirer. Sometimes the person is
 * registered twice, each time with noise of its own: a duplicate, whose
 * truth line ({"duplicate", "of"}) comes first, and which the pair's line
 * names as "also". Prints the records, and the pair as one line of @truth. */
static void
planted_pair (Gen  *gen,
              FILE *truth)
{
  g_autofree char *request = random_uuid (gen);
  g_autofree char *match = random_uuid (gen);
  g_autofree char *duplicate = NULL;
  Planted sought, enquirer;
  guint seen_year = g_rand_int_range (gen->rand, 2014, 2024);
  guint registered_year = MIN (seen_year + g_rand_int_range (gen->rand, 0, 3), 2025);
  const char *place = pick (gen, places, G_N_ELEMENTS (places));
  gboolean crossed = chance (gen, 15);
  g_autoptr(JsonBuilder) a = json_builder_new ();
  g_autoptr(JsonBuilder) b = json_builder_new ();
  g_autofree char *seen = g_strdup_printf ("%u-%02d", seen_year, g_rand_int_range (gen->rand, 1, 13));
  g_autofree char *registered = g_strdup_printf ("%u-%02d", registered_year, g_rand_int_range (gen->rand, 1, 13));

  planted_person (gen, &sought);
  planted_person (gen, &enquirer);
  /* Born before going missing. */
  if (sought.born >= seen_year)
    sought.born = seen_year - 1 - g_rand_int_range (gen->rand, 0, 6);
  if (registered_year == seen_year)
    {
      g_free (registered);
      registered = g_strdup (seen);
    }

  /* The request, as the family gave it. */
  json_builder_begin_object (a);
  add_string (a, "id", request);
  add_string (a, "type", "tracing_request");
  add_string (a, "circumstances", pick (gen, circumstances, G_N_ELEMENTS (circumstances)));
  json_builder_set_member_name (a, "enquirer");
  json_builder_begin_object (a);
  add_string (a, "given_name", enquirer.given);
  add_string (a, "family_name", enquirer.family);
  add_string (a, "sex", enquirer.sex);
  json_builder_end_object (a);
  json_builder_set_member_name (a, "sought");
  json_builder_begin_array (a);
  json_builder_begin_object (a);
  add_string (a, "given_name", sought.given);
  add_string (a, "family_name", sought.family);
  if (sought.father != NULL)
    add_string (a, "father_name", sought.father);
  if (chance (gen, 90))
    add_string (a, "sex", sought.sex);
  if (chance (gen, 50))
    {
      g_autofree char *born = g_strdup_printf ("%u", sought.born);
      add_string (a, "date_of_birth", born);
    }
  else
    {
      g_autofree char *born = g_strdup_printf ("%u-%02d", sought.born, g_rand_int_range (gen->rand, 1, 13));
      add_string (a, "date_of_birth", born);
    }
  add_string (a, "relationship", pick (gen, relationships, G_N_ELEMENTS (relationships)));
  add_string (a, "last_seen_place", place);
  add_string (a, "last_seen_date", seen);
  json_builder_end_object (a);
  json_builder_end_array (a);
  consent (gen, a);
  json_builder_end_object (a);
  print_record (a);

  /* The same person, registered or seeking, by another volunteer. */
  json_builder_begin_object (b);
  add_string (b, "id", match);
  if (crossed)
    {
      add_string (b, "type", "tracing_request");
      add_string (b, "circumstances", pick (gen, circumstances, G_N_ELEMENTS (circumstances)));
      json_builder_set_member_name (b, "enquirer");
      json_builder_begin_object (b);
      noisy_names (gen, b, &sought);
      add_string (b, "sex", sought.sex);
      json_builder_end_object (b);
      json_builder_set_member_name (b, "sought");
      json_builder_begin_array (b);
      json_builder_begin_object (b);
      noisy_names (gen, b, &enquirer);
      add_string (b, "sex", enquirer.sex);
      json_builder_end_object (b);
      json_builder_end_array (b);
    }
  else
    registration_body (gen, b, &sought, registered_year, registered, place);
  consent (gen, b);
  json_builder_end_object (b);
  print_record (b);

  /* A sibling who looks alike: same family and father, born a few years
   * apart, registered in the same place. */
  if (!crossed && chance (gen, 30))
    {
      g_autoptr(JsonBuilder) c = json_builder_new ();
      g_autofree char *sibling = random_uuid (gen);
      Planted other = sought;
      int said;

      other.given = pick_variant (gen, given_latin[g_rand_int_range (gen->rand, 0, G_N_ELEMENTS (given_latin))]);
      other.given_latin = -1;
      other.family_latin = -1;
      json_builder_begin_object (c);
      add_string (c, "id", sibling);
      add_string (c, "type", "registration");
      add_string (c, "subtype", "found_person");
      json_builder_set_member_name (c, "person");
      json_builder_begin_object (c);
      noisy_names (gen, c, &other);
      add_string (c, "sex", chance (gen, 50) ? "female" : "male");
      said = (int) registered_year - (int) sought.born +
             (chance (gen, 50) ? 1 : -1) * g_rand_int_range (gen->rand, 2, 6);
      json_builder_set_member_name (c, "approximate_age");
      json_builder_add_int_value (c, MAX (0, said));
      json_builder_end_object (c);
      add_string (c, "registered_place", place);
      add_string (c, "registered_date", registered);
      consent (gen, c);
      json_builder_end_object (c);
      print_record (c);
    }

  /* The same person registered again, by another volunteer or office:
   * a duplicate, noisy in its own way, registered later. */
  if (!crossed && chance (gen, 25))
    {
      g_autoptr(JsonBuilder) d = json_builder_new ();
      guint again_year = MIN (registered_year + g_rand_int_range (gen->rand, 0, 2), 2025);
      g_autofree char *again = g_strdup_printf ("%u-%02d", again_year, g_rand_int_range (gen->rand, 1, 13));

      duplicate = random_uuid (gen);
      json_builder_begin_object (d);
      add_string (d, "id", duplicate);
      registration_body (gen, d, &sought, again_year, again, place);
      consent (gen, d);
      json_builder_end_object (d);
      print_record (d);
      fprintf (truth, "{\"duplicate\": \"%s\", \"of\": \"%s\"}\n", duplicate, match);
    }

  fprintf (truth, "{\"request\": \"%s\", \"match\": \"%s\", \"kind\": \"%s\"%s%s%s}\n",
           request, match, crossed ? "crossed" : "registered", duplicate != NULL ? ", \"also\": \"" : "",
           duplicate != NULL ? duplicate : "", duplicate != NULL ? "\"" : "");
}

static void
query (Gen *gen)
{
  guint form = g_rand_int_range (gen->rand, 0, 100);

  /* Volunteers search by given and family name in a spelling of their own,
   * by family name alone, or in the script the family gave. */
  if (form < 50)
    printf ("%s %s\n",
            pick_variant (gen, given_latin[g_rand_int_range (gen->rand, 0, G_N_ELEMENTS (given_latin))]),
            pick_variant (gen, family_latin[g_rand_int_range (gen->rand, 0, G_N_ELEMENTS (family_latin))]));
  else if (form < 70)
    printf ("%s\n", pick_variant (gen, family_latin[g_rand_int_range (gen->rand, 0, G_N_ELEMENTS (family_latin))]));
  else if (form < 90)
    printf ("%s %s\n", given_arabic[g_rand_int_range (gen->rand, 0, G_N_ELEMENTS (given_arabic))].name,
            family_arabic[g_rand_int_range (gen->rand, 0, G_N_ELEMENTS (family_arabic))].name);
  else
    printf ("%s %s\n", pick (gen, given_cyrillic, G_N_ELEMENTS (given_cyrillic)),
            pick (gen, family_cyrillic, G_N_ELEMENTS (family_cyrillic)));
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GPtrArray) case_ids = g_ptr_array_new_with_free_func (g_free);
  gboolean queries = argc > 1 && g_str_equal (argv[1], "--queries");
  gboolean pairs = argc > 1 && g_str_equal (argv[1], "--pairs");
  int first = queries ? 2 : pairs ? 4 : 1;
  guint64 n, n_pairs = 0, every = 0;
  FILE *truth = NULL;
  guint32 seed;
  Gen gen;

  if (argc <= first)
    {
      g_printerr ("usage: rfl-gen [--queries | --pairs TRUTH.jsonl PAIRS] N [SEED]\n");
      return 2;
    }
  n = g_ascii_strtoull (argv[first], NULL, 10);
  seed = argc > first + 1 ? (guint32) g_ascii_strtoull (argv[first + 1], NULL, 10) : 515000;
  gen.rand = g_rand_new_with_seed (seed);
  if (pairs)
    {
      n_pairs = g_ascii_strtoull (argv[3], NULL, 10);
      every = n_pairs > 0 ? MAX (n / n_pairs, 1) : 0;
      if ((truth = fopen (argv[2], "w")) == NULL)
        {
          g_printerr ("rfl-gen: %s: %s\n", argv[2], g_strerror (errno));
          return 1;
        }
    }

  for (guint64 i = 0; i < n; i++)
    {
      if (queries)
        query (&gen);
      else
        {
          g_autoptr(JsonBuilder) b = json_builder_new ();

          record (&gen, b, case_ids);
          print_record (b);
          /* The planted pairs are spread through the file. */
          if (every > 0 && i % every == every - 1 && n_pairs > 0)
            {
              planted_pair (&gen, truth);
              n_pairs--;
            }
        }
      /* Notes refer to recent cases; an unbounded list would only cost memory. */
      if (case_ids->len > 10000)
        g_ptr_array_remove_range (case_ids, 0, 5000);
    }
  g_rand_free (gen.rand);
  if (truth != NULL && fclose (truth) != 0)
    return 1;
  return fflush (stdout) == 0 ? 0 : 1;
}
