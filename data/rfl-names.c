/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-names"

#include "rfl-names.h"

#include <gio/gio.h>
#include <string.h>
#include <unicode/utrans.h>
#include <unicode/ustring.h>

/*
 * Names arrive in Arabic, Cyrillic, Ethiopic, Latin with or without
 * diacritics, and in several spellings of each. Every name is indexed in
 * two forms: its ASCII transliteration, which makes "Ibrāhīm", "IBRAHIM" and
 * "Ибрагим" comparable, and the keys of each word (rfl-name-keys.c), which
 * make "Mohammed", "Muhammad" and "محمد" meet. Cyrillic goes through ICU
 * (Russian or Ukrainian BGN); Arabic script and Ethiopic through the tables
 * below.
 */
#define TRANSLIT_ID u"Russian-Latin/BGN; Any-Latin; Latin-ASCII; Lower"
#define UKRAINIAN_ID u"Ukrainian-Latin/BGN; Any-Latin; Latin-ASCII; Lower"
#define EQUIVALENTS_RESOURCE "/io/github/reunite/data/names/equivalents.txt"
#define SMALL_BUFFER 256

/*
 * Arabic script is written to Latin here rather than by ICU, whose
 * romanisation marks ع and ʾ with letters that are not ASCII and writes ة
 * as "t" (here "a", as it is said). These are the consonants a romanisation writes for each letter,
 * with a vowel for the long vowels and alef; short vowel marks are dropped.
 * Persian and Pashto letters are here too. NULL: not a letter of a name.
 */
static const char * const arabic[0x100] = {
  [0x21] = "", [0x22] = "a", [0x23] = "a", [0x24] = "", [0x25] = "i", [0x26] = "", [0x27] = "a",
  [0x28] = "b", [0x29] = "a", [0x2A] = "t", [0x2B] = "th", [0x2C] = "j", [0x2D] = "h", [0x2E] = "kh",
  [0x2F] = "d", [0x30] = "dh", [0x31] = "r", [0x32] = "z", [0x33] = "s", [0x34] = "sh", [0x35] = "s",
  [0x36] = "dh", [0x37] = "t", [0x38] = "dh", [0x39] = "a", [0x3A] = "gh", [0x41] = "f", [0x42] = "q",
  [0x43] = "k", [0x44] = "l", [0x45] = "m", [0x46] = "n", [0x47] = "h", [0x48] = "w", [0x49] = "a",
  [0x4A] = "y", [0x70] = "a", [0x71] = "a", [0x7C] = "t", [0x7E] = "p", [0x81] = "z", [0x85] = "ts",
  [0x86] = "ch", [0x89] = "d", [0x93] = "r", [0x96] = "zh", [0x98] = "zh", [0x9A] = "sh", [0xA9] = "k",
  [0xAF] = "g", [0xBC] = "n", [0xC0] = "h", [0xC1] = "h", [0xCC] = "y", [0xCD] = "y", [0xD0] = "y",
  [0xD2] = "y", [0xD5] = "h",
};

/* Ethiopic: rows of eight syllables, one consonant and its seven vowels. */
static const char * const ethiopic_consonants[] = {
  "h", "l", "h", "m", "s", "r", "s", "sh", "q", "qw", "q", "qw", "b", "v", "t", "ch", "h", "hw",
  "n", "ny", "", "k", "kw", "kh", "khw", "w", "", "z", "zh", "y", "d", "d", "j", "g", "gw", "g",
  "t", "ch", "p", "ts", "ts", "f", "p",
};
static const char * const ethiopic_vowels[8] = { "e", "u", "i", "a", "e", "", "o", "wa" };

/* Writes Arabic-script and Ethiopic letters of @text in Latin, and leaves the
 * rest for ICU. Returns NULL if @text has none. */
static char *
pre_transliterate (const char *text)
{
  GString *out = NULL;

  for (const char *p = text; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      const char *latin = NULL;
      gboolean handled = TRUE;

      if (c >= 0x0600 && c <= 0x06FF)
        latin = arabic[c - 0x0600];
      else if (c >= 0x1200 && c < 0x1200 + 8 * G_N_ELEMENTS (ethiopic_consonants))
        {
          if (out == NULL)
            out = g_string_new_len (text, p - text);
          g_string_append (out, ethiopic_consonants[(c - 0x1200) / 8]);
          g_string_append (out, ethiopic_vowels[(c - 0x1200) % 8]);
          continue;
        }
      else if (c >= 0x1360 && c <= 0x1368)
        latin = " ";
      else if (c == 0x200C || c == 0x200D || c == 0x0640)
        latin = "";
      /* Marks of direction and invisible hyphens, which may sit inside a
       * word (pasted from a document, or put there to mislead) and are no
       * letters of it. */
      else if (c == 0x00AD || c == 0x061C || c == 0x200B || c == 0x200E || c == 0x200F ||
               (c >= 0x202A && c <= 0x202E) || (c >= 0x2066 && c <= 0x2069) || c == 0xFEFF)
        latin = "";
      else if (c == 0x00E7 || c == 0x00C7)
        latin = "s";  /* French ç, which Latin-ASCII would make c */
      else
        handled = FALSE;

      if (handled && out == NULL)
        out = g_string_new_len (text, p - text);
      if (!handled)
        {
          if (out != NULL)
            g_string_append_unichar (out, c);
        }
      else if (latin != NULL)
        g_string_append (out, latin);
    }
  return out != NULL ? g_string_free (out, FALSE) : NULL;
}

/* Ukrainian's own letters: і ї є ґ. Ukrainian г is h, where Russian's is g. */
static gboolean
is_ukrainian (const char *text)
{
  for (const char *p = text; *p; p = g_utf8_next_char (p))
    switch (g_utf8_get_char (p))
      {
      case 0x0406: case 0x0456: case 0x0407: case 0x0457:
      case 0x0404: case 0x0454: case 0x0490: case 0x0491:
        return TRUE;
      default:
        break;
      }
  return FALSE;
}

/* Removes apostrophes and soft signs in place: "ol'ga" is one word. */
static char *
drop_apostrophes (char *latin)
{
  char *w = latin;

  for (const char *r = latin; *r; r++)
    if (*r != '\'' && *r != '`' && *r != '"')
      *w++ = *r;
  *w = '\0';
  return latin;
}

struct _RflNames
{
  GObject          parent_instance;

  GMutex           lock;
  UTransliterator *translit;
  UTransliterator *ukrainian;
  GHashTable      *cache;       /* under @lock: text -> its transliteration */

  /* The equivalence table: names that are one name in other languages. */
  GPtrArray       *classes;     /* of GPtrArray of keys */
  GHashTable      *class_of;    /* key -> GArray of indexes in @classes */
};

/* Names repeat: the same given names come back throughout a caseload, and
 * ICU's compound transliterator costs tens of microseconds a name. At most
 * this many are kept, about a megabyte; when full, the cache starts over. */
#define CACHE_MAX 16384

G_DEFINE_FINAL_TYPE (RflNames, rfl_names, G_TYPE_OBJECT)

static void
rfl_names_finalize (GObject *object)
{
  RflNames *self = (RflNames *) object;

  g_clear_pointer (&self->translit, utrans_close);
  g_clear_pointer (&self->ukrainian, utrans_close);
  g_clear_pointer (&self->classes, g_ptr_array_unref);
  g_clear_pointer (&self->class_of, g_hash_table_unref);
  g_clear_pointer (&self->cache, g_hash_table_unref);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (rfl_names_parent_class)->finalize (object);
}

static void
rfl_names_class_init (RflNamesClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rfl_names_finalize;
}

/* Reads the equivalence table (data/names/equivalents.txt): one name per
 * line, its forms in every language separated by "|", in any script. Each
 * form is kept as its keys, so that every spelling of a form belongs to the
 * class too. */
static void
load_equivalents (RflNames *self)
{
  g_autoptr(GBytes) bytes = g_resources_lookup_data (EQUIVALENTS_RESOURCE, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  g_auto(GStrv) lines = NULL;

  self->classes = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  self->class_of = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) g_array_unref);
  if (bytes == NULL)
    g_error ("the name equivalence table is missing from this build");
  lines = g_strsplit (g_bytes_get_data (bytes, NULL), "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      g_auto(GStrv) forms = NULL;
      GPtrArray *keys;
      guint index = self->classes->len;

      g_strstrip (lines[i]);
      if (lines[i][0] == '\0' || lines[i][0] == '#')
        continue;
      keys = g_ptr_array_new_with_free_func (g_free);
      forms = g_strsplit (lines[i], "|", -1);
      for (guint f = 0; forms[f] != NULL; f++)
        {
          g_autofree char *latin = rfl_names_to_latin (self, g_strstrip (forms[f]));
          g_autofree char *form_keys = rfl_names_keys (latin);
          g_auto(GStrv) split = g_strsplit (form_keys, " ", -1);

          for (guint k = 0; split[k] != NULL; k++)
            if (*split[k] && !g_ptr_array_find_with_equal_func (keys, split[k], g_str_equal, NULL))
              g_ptr_array_add (keys, g_strdup (split[k]));
        }
      g_ptr_array_add (self->classes, keys);
      for (guint k = 0; k < keys->len; k++)
        {
          GArray *in = g_hash_table_lookup (self->class_of, g_ptr_array_index (keys, k));

          if (in == NULL)
            {
              in = g_array_new (FALSE, FALSE, sizeof (guint));
              g_hash_table_insert (self->class_of, g_strdup (g_ptr_array_index (keys, k)), in);
            }
          g_array_append_val (in, index);
        }
    }
}

/**
 * rfl_names_equivalents:
 * @self: the normaliser
 * @keys: (element-type utf8): the keys of a word, from rfl_names_word_keys()
 *
 * Returns: (transfer full) (element-type utf8) (nullable): the keys of the
 *   names the equivalence table says @keys are (Mykola is Nikolai, Yusuf is
 *   Joseph), not counting @keys themselves; %NULL if there are none
 */
GPtrArray *
rfl_names_equivalents (RflNames  *self,
                       GPtrArray *keys)
{
  GPtrArray *out = NULL;

  g_return_val_if_fail (RFL_IS_NAMES (self), NULL);

  for (guint k = 0; k < keys->len; k++)
    {
      GArray *in = g_hash_table_lookup (self->class_of, g_ptr_array_index (keys, k));

      for (guint c = 0; in != NULL && c < in->len; c++)
        {
          GPtrArray *class = g_ptr_array_index (self->classes, g_array_index (in, guint, c));

          for (guint i = 0; i < class->len; i++)
            {
              const char *key = g_ptr_array_index (class, i);

              if (out == NULL)
                out = g_ptr_array_new_with_free_func (g_free);
              if (!g_ptr_array_find_with_equal_func (keys, key, g_str_equal, NULL) &&
                  !g_ptr_array_find_with_equal_func (out, key, g_str_equal, NULL))
                g_ptr_array_add (out, g_strdup (key));
            }
        }
    }
  if (out != NULL && out->len == 0)
    g_clear_pointer (&out, g_ptr_array_unref);
  return out;
}

static void
rfl_names_init (RflNames *self)
{
  UErrorCode status = U_ZERO_ERROR;
  UParseError parse_error;

  g_mutex_init (&self->lock);
  self->cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->translit = utrans_openU (TRANSLIT_ID, -1, UTRANS_FORWARD, NULL, 0, &parse_error, &status);
  if (U_SUCCESS (status))
    self->ukrainian = utrans_openU (UKRAINIAN_ID, -1, UTRANS_FORWARD, NULL, 0, &parse_error, &status);
  if (U_FAILURE (status))
    g_error ("ICU transliterator unavailable: %s", u_errorName (status));
  load_equivalents (self);
}

/**
 * rfl_names_get_default:
 *
 * Returns: (transfer none): the process-wide name normaliser. It is safe to
 *   use from any thread.
 */
RflNames *
rfl_names_get_default (void)
{
  static RflNames *names;
  static gsize once;

  if (g_once_init_enter (&once))
    {
      names = g_object_new (RFL_TYPE_NAMES, NULL);
      g_once_init_leave (&once, 1);
    }
  return names;
}

static gboolean
is_ascii (const char *s)
{
  for (; *s; s++)
    if ((guchar) *s >= 0x80)
      return FALSE;
  return TRUE;
}

/**
 * rfl_names_to_latin:
 * @self: the normaliser
 * @text: UTF-8 text in any script
 *
 * Returns: (transfer full): @text transliterated to lower-case ASCII.
 */
char *
rfl_names_to_latin (RflNames   *self,
                    const char *text)
{
  UChar small[SMALL_BUFFER];
  g_autofree UChar *big = NULL;
  UChar *buf = small;
  int32_t capacity = SMALL_BUFFER, length = 0, limit;
  UErrorCode status = U_ZERO_ERROR;
  g_autofree char *pre = NULL;
  const char *original = text;
  UTransliterator *translit;
  char *out;

  g_return_val_if_fail (RFL_IS_NAMES (self), NULL);
  g_return_val_if_fail (text != NULL, NULL);

  /* Most names are plain ASCII, and ICU's compound transliterator is slow. */
  if (is_ascii (text))
    return drop_apostrophes (g_ascii_strdown (text, -1));
  g_mutex_lock (&self->lock);
  out = g_strdup (g_hash_table_lookup (self->cache, text));
  g_mutex_unlock (&self->lock);
  if (out != NULL)
    return out;

  if ((pre = pre_transliterate (text)) != NULL)
    {
      text = pre;
      if (is_ascii (text))
        {
          out = drop_apostrophes (g_ascii_strdown (text, -1));
          goto cache;
        }
    }
  translit = is_ukrainian (text) ? self->ukrainian : self->translit;

  u_strFromUTF8Lenient (buf, capacity, &length, text, -1, &status);
  if (status == U_BUFFER_OVERFLOW_ERROR || length * 4 + 16 > capacity)
    {
      capacity = length * 4 + 16;
      buf = big = g_new (UChar, capacity);
      status = U_ZERO_ERROR;
      u_strFromUTF8Lenient (buf, capacity, &length, text, -1, &status);
    }
  if (U_FAILURE (status))
    return g_ascii_strdown (text, -1);

  limit = length;
  g_mutex_lock (&self->lock);
  utrans_transUChars (translit, buf, &length, capacity, 0, &limit, &status);
  g_mutex_unlock (&self->lock);
  if (U_FAILURE (status))
    return g_ascii_strdown (text, -1);

  out = g_malloc (length * 3 + 1);
  status = U_ZERO_ERROR;
  u_strToUTF8 (out, length * 3 + 1, NULL, buf, length, &status);
  if (U_FAILURE (status))
    {
      g_free (out);
      return g_ascii_strdown (text, -1);
    }
  drop_apostrophes (out);
cache:
  g_mutex_lock (&self->lock);
  if (g_hash_table_size (self->cache) >= CACHE_MAX)
    g_hash_table_remove_all (self->cache);
  g_hash_table_replace (self->cache, g_strdup (original), g_strdup (out));
  g_mutex_unlock (&self->lock);
  return out;
}

/**
 * rfl_names_tokenize:
 * @latin: the output of rfl_names_to_latin()
 *
 * Returns: (transfer full): the words of @latin: runs of ASCII letters and digits.
 */
GStrv
rfl_names_tokenize (const char *latin)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  const char *p = latin;

  g_return_val_if_fail (latin != NULL, NULL);

  while (*p)
    {
      const char *start;

      while (*p && !g_ascii_isalnum (*p))
        p++;
      start = p;
      while (*p && g_ascii_isalnum (*p))
        p++;
      if (p > start)
        {
          g_autofree char *word = g_ascii_strdown (start, p - start);
          g_strv_builder_add (builder, word);
        }
    }
  return g_strv_builder_end (builder);
}
