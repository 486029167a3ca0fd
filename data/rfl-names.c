/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-names"

#include "rfl-names.h"

#include <string.h>
#include <unicode/utrans.h>
#include <unicode/ustring.h>

/*
 * Names arrive in Arabic, Cyrillic, Latin with or without diacritics, and in
 * several spellings of each. Every name is indexed in two forms: its ASCII
 * transliteration (ICU "Any-Latin; Latin-ASCII", lower case), which makes
 * "Ibrāhīm", "IBRAHIM" and "Ибрагим" comparable, and a consonant skeleton of
 * each word, which makes "Mohammed", "Muhammad" and "محمد" meet.
 */
#define TRANSLIT_ID u"Russian-Latin/BGN; Any-Latin; Latin-ASCII; Lower"
#define SMALL_BUFFER 256

struct _RflNames
{
  GObject          parent_instance;

  GMutex           lock;
  UTransliterator *translit;
  GHashTable      *cache;       /* under @lock: text -> its transliteration */
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
  g_clear_pointer (&self->cache, g_hash_table_unref);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (rfl_names_parent_class)->finalize (object);
}

static void
rfl_names_class_init (RflNamesClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rfl_names_finalize;
}

static void
rfl_names_init (RflNames *self)
{
  UErrorCode status = U_ZERO_ERROR;
  UParseError parse_error;

  g_mutex_init (&self->lock);
  self->cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->translit = utrans_openU (TRANSLIT_ID, -1, UTRANS_FORWARD, NULL, 0, &parse_error, &status);
  if (U_FAILURE (status))
    g_error ("ICU transliterator unavailable: %s", u_errorName (status));
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
  char *out;

  g_return_val_if_fail (RFL_IS_NAMES (self), NULL);
  g_return_val_if_fail (text != NULL, NULL);

  /* Most names are plain ASCII, and ICU's compound transliterator is slow. */
  if (is_ascii (text))
    return g_ascii_strdown (text, -1);
  g_mutex_lock (&self->lock);
  out = g_strdup (g_hash_table_lookup (self->cache, text));
  g_mutex_unlock (&self->lock);
  if (out != NULL)
    return out;

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
  utrans_transUChars (self->translit, buf, &length, capacity, 0, &limit, &status);
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
  g_mutex_lock (&self->lock);
  if (g_hash_table_size (self->cache) >= CACHE_MAX)
    g_hash_table_remove_all (self->cache);
  g_hash_table_replace (self->cache, g_strdup (text), g_strdup (out));
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

static const struct
{
  const char *from;
  const char *to;
} digraphs[] = {
  { "sch", "s" }, { "tch", "c" },
  { "kh", "k" }, { "gh", "g" }, { "ph", "f" }, { "th", "t" }, { "dh", "d" },
  { "sh", "s" }, { "ch", "s" }, { "zh", "j" }, { "dj", "j" }, { "dz", "j" },
  { "ck", "k" }, { "ou", "u" },
};

static char
fold_consonant (char c)
{
  switch (c)
    {
    case 'q': case 'c': return 'k';
    case 'z': return 's';
    case 'v': return 'f';
    default: return c;
    }
}

static gboolean
is_soft (char c)
{
  return strchr ("aeiouyhw", c) != NULL;
}

static void
skeleton_word (GString    *out,
               const char *word)
{
  g_autoptr(GString) w = g_string_new (NULL);
  gsize start = out->len;
  char last = 0;

  for (const char *p = word; *p;)
    {
      gboolean replaced = FALSE;

      for (guint i = 0; i < G_N_ELEMENTS (digraphs); i++)
        {
          gsize n = strlen (digraphs[i].from);
          if (strncmp (p, digraphs[i].from, n) == 0)
            {
              g_string_append (w, digraphs[i].to);
              p += n;
              replaced = TRUE;
              break;
            }
        }
      if (!replaced)
        g_string_append_c (w, fold_consonant (*p++));
    }

  for (gsize i = 0; i < w->len; i++)
    {
      char c = w->str[i];

      if (i == 0)
        {
          /* An initial vowel matters ("Amina" is not "Mina"), but not which one. */
          c = strchr ("aeiou", c) ? 'a' : c;
        }
      else if (is_soft (c) || g_ascii_isdigit (c))
        continue;
      if (c == last)
        continue;
      g_string_append_c (out, c);
      last = c;
    }
  if (out->len == start)
    g_string_append (out, word);
}

/**
 * rfl_names_skeleton:
 * @latin: the output of rfl_names_to_latin()
 *
 * Returns: (transfer full): one consonant skeleton per word, space-separated.
 */
char *
rfl_names_skeleton (const char *latin)
{
  g_auto(GStrv) words = NULL;
  GString *out = g_string_new (NULL);

  g_return_val_if_fail (latin != NULL, NULL);

  words = rfl_names_tokenize (latin);
  for (guint i = 0; words[i] != NULL; i++)
    {
      if (out->len > 0)
        g_string_append_c (out, ' ');
      skeleton_word (out, words[i]);
    }
  return g_string_free (out, FALSE);
}
