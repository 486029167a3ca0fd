/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <string.h>

#include "rfl-names.h"

static char *
skeleton_of (const char *text)
{
  g_autofree char *latin = rfl_names_to_latin (rfl_names_get_default (), text);
  return rfl_names_skeleton (latin);
}

static void
test_latin (void)
{
  static const struct { const char *in; const char *out; } cases[] = {
    { "Amina YUSUF", "amina yusuf" },
    { "Hélène Müller", "helene muller" },
    { "Олена Коваленко", "olena kovalenko" },
    { "Şükrü Öztürk", "sukru ozturk" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *latin = rfl_names_to_latin (rfl_names_get_default (), cases[i].in);
      g_assert_cmpstr (latin, ==, cases[i].out);
    }
  /* Arabic becomes ASCII letters, whatever the exact romanisation. */
  {
    g_autofree char *latin = rfl_names_to_latin (rfl_names_get_default (), "يوسف");
    g_assert_true (g_str_is_ascii (latin));
    g_assert_cmpuint (strlen (latin), >=, 3);
  }
}

/* Spellings a volunteer meets for one person share a skeleton. */
static void
test_variants_meet (void)
{
  static const char * const groups[][5] = {
    { "Mohammed", "Muhammad", "Mohamed", "محمد", NULL },
    { "Yusuf", "Youssef", "Yousef", "يوسف", NULL },
    { "Ibrahim", "Ebrahim", "إبراهيم", NULL, NULL },
    { "Shevchenko", "Шевченко", NULL, NULL, NULL },
    { "Kovalenko", "Коваленко", NULL, NULL, NULL },
    { "Khadija", "Kadija", NULL, NULL, NULL },
  };

  for (guint g = 0; g < G_N_ELEMENTS (groups); g++)
    {
      g_autofree char *first = skeleton_of (groups[g][0]);

      for (guint i = 1; i < 5 && groups[g][i] != NULL; i++)
        {
          g_autofree char *other = skeleton_of (groups[g][i]);
          g_test_message ("%s -> %s, %s -> %s", groups[g][0], first, groups[g][i], other);
          g_assert_cmpstr (other, ==, first);
        }
    }
}

/* And different names stay apart. */
static void
test_names_differ (void)
{
  static const char * const pairs[][2] = {
    { "Amina", "Mina" }, { "Hassan", "Osman" }, { "Ali", "Abdi" }, { "Fatima", "Halima" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (pairs); i++)
    {
      g_autofree char *a = skeleton_of (pairs[i][0]);
      g_autofree char *b = skeleton_of (pairs[i][1]);
      g_assert_cmpstr (a, !=, b);
    }
}

static void
test_tokenize (void)
{
  g_auto(GStrv) words = rfl_names_tokenize ("al-rashid, \"jean-pierre\" (2) *");

  g_assert_cmpuint (g_strv_length (words), ==, 5);
  g_assert_cmpstr (words[0], ==, "al");
  g_assert_cmpstr (words[3], ==, "pierre");
  g_assert_cmpstr (words[4], ==, "2");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/rfl/names/latin", test_latin);
  g_test_add_func ("/rfl/names/variants-meet", test_variants_meet);
  g_test_add_func ("/rfl/names/names-differ", test_names_differ);
  g_test_add_func ("/rfl/names/tokenize", test_tokenize);

  return g_test_run ();
}
