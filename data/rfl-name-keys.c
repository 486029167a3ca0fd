/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-names"

#include "rfl-names.h"

#include <string.h>

/*
 * Name keys: what two spellings of one name have in common once they are in
 * Latin letters (rfl_names_to_latin()).
 *
 * A key is a word's consonants, each folded into a class (q, c, k are one;
 * s, z, sh are one; v, f are one), with vowels, h, w and y dropped and a
 * letter written twice written once: "Mohammed", "Muhammad" and محمد
 * ("mhmd") all give "md". Where one spelling may stand for different
 * sounds, the word has one key per reading, up to RFL_NAMES_MAX_KEYS:
 *   - "kh" is Arabic خ (k) but also Russian х for Arabic ح (dropped, as h):
 *     "Мухаммед" is "mukhammed";
 *   - "th" and "dh" are ث and ذ/ض, which Persian and Turkish say s and z:
 *     "Othman" and "Osman";
 *   - "ch" is French sh, English tch and German kh: "Chevtchenko",
 *     "Achmed";
 *   - Somali writes ع as "c" and ح as "x": "Cali", "Maxamed";
 *   - "w" is German v ("Schewtschenko") and Persian و ("Wahid", "Vahid");
 *   - a leading h, or one after a consonant, is Ukrainian г, which Russian
 *     writes g: "Olha", "Olga";
 *   - "j" is Egyptian and Sudanese "g" for ج: "Jamal", "Gamal";
 *   - "q" is Libyan and Gulf "g" for ق: "Qadhafi", "Gaddafi".
 *
 * Arabic names are also written with their article and their compounds in
 * many ways. Every word that begins with an article ("alhashimi",
 * "arrashid") has the keys of the word without it too; an article on its own
 * ("al-", "el", "ad-") is no name. A compound is one name written as one
 * word or several: "Abd al-Rahman", "Abdul Rahman", "Abdulrahman",
 * "Abderrahmane" and عبد الرحمن have one key ("bdrmn"), from the head
 * ("abd", "abu", "bin"...) or the tail ("din", "allah"...) that makes it.
 */

#define MAX_ALTERNATIVES 3

/* Words that are an article: never a name on their own. "al" and its
 * spellings always are; the article assimilated to a sun letter ("ad-Din",
 * "ar-Rashid", "as-Sayyid") only before a word that begins with that
 * letter, since "az" is also عز written in Latin. */
static const char * const articles[] = { "al", "el", "ul", "il", NULL };
static const char * const sun_articles[] = {
  "ad", "ed", "ud", "ar", "er", "ur", "as", "es", "us", "at", "et", "ut", "an", "en", "un",
  "az", "ez", "uz", "ash", "esh", "ush", "ath", "adh",
  NULL
};

/* Words that begin a compound with the word after them. */
static const char * const heads[] = {
  "abd", "abdul", "abdel", "abdal", "abdil", "abdur", "abder", "abdir", "abdor", "abdu", "abdi",
  "abdou", "abdoul", "abdoel", "abw", "bw", "abn", "bn", "cabd", "cabdul", "cabdi", "cabdu", "cabdel", "abu", "abou",
  "abo", "bou", "ibn", "bin", "ben", "bint", "ould", "wuld", "umm", "um", "oum", "sitt", "zayn",
  "zain", "zein", "seif", "saif", "sayf", "nur", "nour", "noor", "nasr", "nasir", "salah", "salih",
  "shams", "shamsul", "badr", "fakhr", "sad", "saad", "taj", "izz", "ezz", "ziya", "ziaul",
  "zia", "fazl", "fazal", "inayat", "habib", "ahl", "khayr", "khair", "kheir", "ghulam", "gholam",
  "mir", "gul", "jan", "shah", "wali", "rahmat", "hamd", "aman", "ata", "fath", "fateh", "fadl",
  /* Ethiopian and Eritrean: Gebre Medhin, Wolde Mariam, Haile Selassie. */
  "gebre", "ghebre", "gebra", "wolde", "welde", "walda", "haile", "hayle", "habte", "tekle", "tesfa",
  "zere", "kidane", "gebru",
  NULL
};

/* Words that end a compound with the word before them. */
static const char * const tails[] = {
  "din", "dine", "deen", "eddin", "eddine", "uddin", "uddeen", "addin", "iddin", "allah",
  "ullah", "ollah", "illah", "ulla", "alla", "olla", "ullahi", "islam", "ulislam", "elislam",
  "haq", "huq", "ulhaq", "rahman", "rahim", "aziz", "karim", "qadir", "kader", "gul", "jan",
  "khan", "shah", "zada", "zadeh", "zai", "mohammad", "muhammad", "mohammed", "ahmad", "ahmed",
  "abidin", "abideen", "nisa", "nissa", "huda", "hoda", "dawla", "dawlah", "dowleh",
  /* Persian: Mohammadi Nejad, Hosseinzadeh, Alipour. */
  "nejad", "nezhad", "nejhad", "nijad", "zadeh", "pour", "poor", "far", "manesh", "doost", "dust",
  NULL
};

/* Whether @word is in @list, one of the lists above, through a hash table
 * made once per list: every word of every name indexed asks. */
static gboolean
in_list (const char * const *list,
         const char         *word)
{
  static GHashTable *sets[4];
  static const char * const *lists[4];
  static gsize once;
  guint which;

  if (g_once_init_enter (&once))
    {
      const char * const *all[] = { articles, sun_articles, heads, tails };

      for (guint l = 0; l < G_N_ELEMENTS (all); l++)
        {
          lists[l] = all[l];
          sets[l] = g_hash_table_new (g_str_hash, g_str_equal);
          for (guint i = 0; all[l][i] != NULL; i++)
            g_hash_table_add (sets[l], (gpointer) all[l][i]);
        }
      g_once_init_leave (&once, 1);
    }
  for (which = 0; which < G_N_ELEMENTS (lists) && lists[which] != list; which++)
    ;
  g_return_val_if_fail (which < G_N_ELEMENTS (lists), FALSE);
  return g_hash_table_contains (sets[which], word);
}

static gboolean is_tail_by_key (const char *word,
                                gsize       shortest);

static gboolean
is_vowel (char c)
{
  return strchr ("aeiou", c) != NULL;
}

/* One sound of a spelling: the classes it may be ("" for none). */
typedef struct
{
  guint       length;  /* letters of the spelling it takes */
  const char *alternatives[MAX_ALTERNATIVES];
} Unit;

static const struct
{
  const char *spelling;
  const char *alternatives[MAX_ALTERNATIVES];
} units[] = {
  { "dsch", { "j" } }, { "tsch", { "c" } }, { "shch", { "s" } }, { "sch", { "s" } }, { "tch", { "c" } },
  { "kh", { "k", "" } }, { "gh", { "g" } }, { "ph", { "f" } }, { "th", { "t", "s" } },
  { "dh", { "d", "s" } }, { "sh", { "s" } }, { "ch", { "s", "c", "" } }, { "zh", { "j" } },
  { "dj", { "j" } }, { "dz", { "j" } }, { "ts", { "s", "ts" } }, { "ck", { "k" } },
  { "x", { "ks", "" } }, { "q", { "k", "g" } }, { "z", { "s" } }, { "v", { "f" } }, { "w", { "", "f" } },
  { "y", { "" } }, { "p", { "p" } }, { "j", { "j", "g" } },
};

static const char letters[26][2] = {
  "a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l", "m",
  "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z",
};

static Unit
next_unit (const char *word,
           gsize       at)
{
  const char *p = word + at;
  Unit unit = { 1, { NULL } };

  /* Most letters begin no spelling of the table. */
  if (strchr ("dtskgpzxqvwycj", *p) == NULL)
    goto single;
  for (guint i = 0; i < G_N_ELEMENTS (units); i++)
    {
      gsize n = strlen (units[i].spelling);

      if (strncmp (p, units[i].spelling, n) == 0)
        {
          unit.length = n;
          memcpy (unit.alternatives, units[i].alternatives, sizeof unit.alternatives);
          return unit;
        }
    }
single:
  switch (*p)
    {
    case 'c':
      /* Somali ع; otherwise k, or s before e, i and y. */
      unit.alternatives[0] = p[1] != '\0' && strchr ("eiy", p[1]) ? "s" : "k";
      unit.alternatives[1] = "";
      break;
    case 'h':
      /* Ukrainian г at the start or after a consonant; otherwise a breath. */
      unit.alternatives[0] = "";
      if (at == 0 || !is_vowel (p[-1]))
        unit.alternatives[1] = "g";
      break;
    default:
      if (is_vowel (*p) || *p < 'a' || *p > 'z')
        unit.alternatives[0] = "";
      else
        unit.alternatives[0] = letters[*p - 'a'];
    }
  return unit;
}

/* Adds the keys of @word to @keys, at most RFL_NAMES_MAX_KEYS in all. */
static void
add_word_keys (GPtrArray  *keys,
               const char *word)
{
  g_autoptr(GPtrArray) partial = g_ptr_array_new_with_free_func (g_free);
  gsize length = strlen (word);

  if (length == 0)
    return;
  g_ptr_array_add (partial, g_strdup (""));
  for (gsize at = 0; at < length;)
    {
      Unit unit = next_unit (word, at);
      g_autoptr(GPtrArray) next = g_ptr_array_new_with_free_func (g_free);

      for (guint i = 0; i < partial->len; i++)
        for (guint a = 0; a < MAX_ALTERNATIVES && unit.alternatives[a] != NULL; a++)
          {
            const char *key = g_ptr_array_index (partial, i);
            const char *add = unit.alternatives[a];
            gsize n = strlen (key);

            if (next->len >= RFL_NAMES_MAX_KEYS && a > 0)
              break;
            /* A letter written twice, or with only vowels between, once. */
            if (*add != '\0' && n > 0 && key[n - 1] == add[0])
              add++;
            g_ptr_array_add (next, g_strconcat (key, add, NULL));
          }
      g_ptr_array_unref (partial);
      partial = g_steal_pointer (&next);
      at += unit.length;
    }
  for (guint i = 0; i < partial->len && keys->len < RFL_NAMES_MAX_KEYS * 4; i++)
    {
      const char *key = g_ptr_array_index (partial, i);

      /* A name of vowels only ("Aia") is its own key. */
      if (*key == '\0')
        key = word;
      if (!g_ptr_array_find_with_equal_func (keys, key, g_str_equal, NULL))
        g_ptr_array_add (keys, g_strdup (key));
    }
}

/* The word without its article: "alhashimi" is "hashimi", "arrashid" is
 * "rashid" (the l of al- takes the sound of a sun letter after it). NULL if
 * it has none, or too little would be left to be a name. */
static const char *
strip_article (const char *word)
{
  gsize n = strlen (word);

  if (n < 4 || !strchr ("aeu", word[0]))
    return NULL;
  if (word[1] == 'l')
    return word + 2;
  if (strchr ("dnrstz", word[1]) && word[2] == word[1])
    return word + 2;
  return NULL;
}

/* "abdulrahman", "abderrahmane", "abdirahman" and "abdrahman" are one
 * compound: "abd" and the name after it, without the article between. */
static char *
canonical_compound (const char *word)
{
  const char *rest;
  gsize head;

  if (g_str_has_prefix (word, "abd"))
    head = 3;
  else if (g_str_has_prefix (word, "cabd"))
    head = 4;
  else
    return NULL;
  rest = word + head;
  while (*rest && is_vowel (*rest))
    rest++;
  if (rest[0] == 'l' && rest[1] != '\0' && rest[1] != 'i')
    rest++;
  else if (rest[0] != '\0' && rest[1] == rest[0] && strchr ("dnrstz", rest[0]))
    rest++;
  return g_strconcat ("abd", rest, NULL);
}

/* A compound written as one word with its article inside: عزالدين is
 * "azaldyn", "Nasreddine" is "nasr" and "eddine". Adds the keys of the word
 * without the article, if what follows it is a tail. */
static void
add_inner_compound_keys (GPtrArray  *keys,
                         const char *word)
{
  gsize n = strlen (word);

  for (gsize p = 2; p + 5 <= n; p++)
    {
      g_autofree char *joined = NULL;

      if (!strchr ("aeiu", word[p]) || !strchr ("ldrstzn", word[p + 1]))
        continue;
      if (!is_tail_by_key (word + p + 2, 1))
        continue;
      joined = g_strdup_printf ("%.*s%s", (int) p, word, word + p + 2);
      add_word_keys (keys, joined);
      return;
    }
}

/**
 * rfl_names_without_article:
 * @word: one word from rfl_names_tokenize()
 *
 * Returns: (nullable): @word after the article it begins with, as Arabic
 *   script writes it ("alrhym"), or %NULL
 */
const char *
rfl_names_without_article (const char *word)
{
  return strip_article (word);
}

/**
 * rfl_names_word_keys:
 * @word: one word from rfl_names_tokenize()
 * @keys: (element-type utf8): where to add its keys
 *
 * Adds the keys of @word: of each way to read it, and of the word without
 * its article.
 */
void
rfl_names_word_keys (const char *word,
                     GPtrArray  *keys)
{
  g_autofree char *compound = canonical_compound (word);
  const char *bare = strip_article (word);

  g_return_if_fail (word != NULL && keys != NULL);

  add_word_keys (keys, word);
  if (compound != NULL)
    add_word_keys (keys, compound);
  if (bare != NULL)
    add_word_keys (keys, bare);
  add_inner_compound_keys (keys, word);
}

/**
 * rfl_names_is_article:
 * @words: the words of a name, from rfl_names_tokenize()
 * @i: one of them
 *
 * Returns: whether word @i is an article (al-, el, ad-...) before another
 *   word, which is no name on its own
 */
gboolean
rfl_names_is_article (GStrv  words,
                      guint  i)
{
  const char *next = words[i + 1];

  if (next == NULL)
    return FALSE;
  if (in_list (articles, words[i]))
    return TRUE;
  return in_list (sun_articles, words[i]) && next[0] == words[i][1] &&
         (words[i][2] == '\0' || next[1] == words[i][2]);
}

/* Whether @word is spelt like a tail, by a key at least @shortest long:
 * Arabic script gives "dyn" for "din", Persian "nzhad" for "nejad". */
static gboolean
is_tail_by_key (const char *word,
                gsize       shortest)
{
  static GHashTable *tail_keys;
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);

  if (g_once_init_enter (&tail_keys))
    {
      GHashTable *set = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

      for (guint i = 0; tails[i] != NULL; i++)
        {
          g_autoptr(GPtrArray) one = g_ptr_array_new_with_free_func (g_free);

          add_word_keys (one, tails[i]);
          for (guint k = 0; k < one->len; k++)
            g_hash_table_add (set, g_strdup (g_ptr_array_index (one, k)));
        }
      g_once_init_leave (&tail_keys, set);
    }
  add_word_keys (keys, word);
  for (guint i = 0; i < keys->len; i++)
    if (strlen (g_ptr_array_index (keys, i)) >= shortest &&
        g_hash_table_contains (tail_keys, g_ptr_array_index (keys, i)))
      return TRUE;
  return FALSE;
}

/**
 * rfl_names_compound:
 * @words: the words of a name, from rfl_names_tokenize()
 * @i: a word of @words
 * @end: (out): the word after the compound's last
 *
 * Returns: (transfer full) (nullable): the compound that begins at word @i,
 *   as one word ("abd al rahman" is "abdrahman", "nasr al din" is
 *   "nasrdin"), or %NULL if none does
 */
char *
rfl_names_compound (GStrv  words,
                    guint  i,
                    guint *end)
{
  guint j = i + 1;
  gboolean article = FALSE;
  g_autofree char *joined = NULL;
  char *compound;

  if (words[i] == NULL || words[j] == NULL || rfl_names_is_article (words, i))
    return NULL;
  if (rfl_names_is_article (words, j))
    {
      article = TRUE;
      j++;
    }
  /* Arabic script writes the article on the word: جمال الدين is "jmal aldyn".
   * (A tail is recognised by its key only in a word written without short
   * vowels, as Arabic and Persian script write: "nzhad" for "nejad".) */
  else if (strip_article (words[j]) != NULL && is_tail_by_key (strip_article (words[j]), 1))
    {
      joined = g_strconcat (words[i], strip_article (words[j]), NULL);
      *end = j + 1;
      return g_steal_pointer (&joined);
    }
  if (!article && !in_list (heads, words[i]) && !in_list (tails, words[j]) &&
      (strpbrk (words[j], "eiou") != NULL || !is_tail_by_key (words[j], 3)))
    return NULL;
  joined = g_strconcat (words[i], words[j], NULL);
  compound = canonical_compound (joined);
  *end = j + 1;
  return compound != NULL ? compound : g_steal_pointer (&joined);
}

/**
 * rfl_names_keys:
 * @latin: names, the output of rfl_names_to_latin()
 *
 * Returns: (transfer full): the keys of every word of @latin and of every
 *   compound in it, space-separated, for the name index
 */
char *
rfl_names_keys (const char *latin)
{
  g_auto(GStrv) words = NULL;
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func (g_free);
  GString *out = g_string_new (NULL);

  g_return_val_if_fail (latin != NULL, NULL);

  words = rfl_names_tokenize (latin);
  for (guint i = 0; words[i] != NULL; i++)
    {
      g_autofree char *compound = NULL;
      guint end;

      if (!rfl_names_is_article (words, i))
        rfl_names_word_keys (words[i], keys);
      if ((compound = rfl_names_compound (words, i, &end)) != NULL)
        rfl_names_word_keys (compound, keys);
    }
  for (guint i = 0; i < keys->len; i++)
    {
      if (out->len > 0)
        g_string_append_c (out, ' ');
      g_string_append (out, g_ptr_array_index (keys, i));
    }
  return g_string_free (out, FALSE);
}
