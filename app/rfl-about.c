/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite"

#include <glib/gi18n.h>
#include <string.h>

#include "rfl-about.h"

/*
 * The about window, filled from the AppStream metainfo compiled into the
 * resources: the name, summary, developer, links, licence and the newest
 * release's notes come from one place, the file software centres read.
 * Only the untranslated elements are read; their translations come from
 * the message catalog, which holds the metainfo's strings.
 */

typedef struct
{
  GString   *text;       /* the element being read */
  GPtrArray *stack;      /* element names */
  gboolean   translated; /* inside an element with xml:lang */
  char      *name;
  char      *summary;
  char      *developer;
  char      *license;
  char      *homepage;
  char      *bugtracker;
  char      *version;
  GString   *notes;      /* the first release's description, as markup */
  guint      releases;
} Metainfo;

static gboolean
in (Metainfo   *m,
    const char *path)
{
  g_auto(GStrv) parts = g_strsplit (path, "/", -1);
  guint n = g_strv_length (parts);

  if (n != m->stack->len)
    return FALSE;
  for (guint i = 0; i < n; i++)
    if (g_strcmp0 (parts[i], g_ptr_array_index (m->stack, i)) != 0)
      return FALSE;
  return TRUE;
}

static void
start_cb (GMarkupParseContext  *context,
          const char           *element,
          const char          **names,
          const char          **values,
          gpointer              user_data,
          GError              **error)
{
  Metainfo *m = user_data;

  /* A url is known by its type: "url:homepage". */
  if (g_str_equal (element, "url"))
    {
      const char *type = NULL;

      for (guint i = 0; names[i] != NULL; i++)
        if (g_str_equal (names[i], "type"))
          type = values[i];
      g_ptr_array_add (m->stack, g_strconcat ("url:", type != NULL ? type : "", NULL));
    }
  else
    g_ptr_array_add (m->stack, g_strdup (element));
  g_string_truncate (m->text, 0);
  m->translated = FALSE;
  for (guint i = 0; names[i] != NULL; i++)
    if (g_str_equal (names[i], "xml:lang"))
      m->translated = TRUE;
  if (g_str_equal (element, "release") && m->releases++ == 0)
    for (guint i = 0; names[i] != NULL; i++)
      if (g_str_equal (names[i], "version"))
        m->version = g_strdup (values[i]);
  if (m->releases == 1 && in (m, "component/releases/release/description/ul"))
    g_string_append (m->notes, "<ul>");
}

static void
set_str (char       **field,
         const char  *value)
{
  g_free (*field);
  *field = g_strdup (value);
}

static void
end_cb (GMarkupParseContext  *context,
        const char           *element,
        gpointer              user_data,
        GError              **error)
{
  Metainfo *m = user_data;
  g_autofree char *text = g_strstrip (g_strdup (m->text->str));

  if (!m->translated && *text != '\0')
    {
      const char *shown = g_dgettext (GETTEXT_PACKAGE, text);
      g_autofree char *escaped = g_markup_escape_text (shown, -1);

      if (in (m, "component/name"))
        set_str (&m->name, shown);
      else if (in (m, "component/summary"))
        set_str (&m->summary, shown);
      else if (in (m, "component/developer_name"))
        set_str (&m->developer, shown);
      else if (in (m, "component/project_license"))
        set_str (&m->license, text);
      else if (in (m, "component/url:homepage"))
        set_str (&m->homepage, text);
      else if (in (m, "component/url:bugtracker"))
        set_str (&m->bugtracker, text);
      else if (m->releases == 1 && in (m, "component/releases/release/description/p"))
        g_string_append_printf (m->notes, "<p>%s</p>", escaped);
      else if (m->releases == 1 && in (m, "component/releases/release/description/ul/li"))
        g_string_append_printf (m->notes, "<li>%s</li>", escaped);
    }
  if (m->releases == 1 && in (m, "component/releases/release/description/ul"))
    g_string_append (m->notes, "</ul>");
  g_string_truncate (m->text, 0);
  m->translated = FALSE;
  g_ptr_array_set_size (m->stack, m->stack->len - 1);
}

static void
text_cb (GMarkupParseContext  *context,
         const char           *text,
         gsize                 len,
         gpointer              user_data,
         GError              **error)
{
  Metainfo *m = user_data;

  g_string_append_len (m->text, text, (gssize) len);
}

static void
metainfo_clear (Metainfo *m)
{
  g_string_free (m->text, TRUE);
  g_ptr_array_unref (m->stack);
  g_free (m->name);
  g_free (m->summary);
  g_free (m->developer);
  g_free (m->license);
  g_free (m->homepage);
  g_free (m->bugtracker);
  g_free (m->version);
  g_string_free (m->notes, TRUE);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Metainfo, metainfo_clear)

/**
 * rfl_about_window_new:
 * @resource: the metainfo's resource path
 *
 * Returns: (transfer floating): an about window filled from the metainfo
 */
GtkWidget *
rfl_about_window_new (const char *resource)
{
  static const GMarkupParser parser = { start_cb, end_cb, text_cb, NULL, NULL };
  const char *developers[] = { "The Reunite developers", NULL };
  g_auto(Metainfo) m = { 0 };
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GMarkupParseContext) context = NULL;
  g_autoptr(GError) error = NULL;
  GtkWidget *about = adw_about_window_new ();

  g_return_val_if_fail (resource != NULL, NULL);

  m.text = g_string_new (NULL);
  m.stack = g_ptr_array_new_with_free_func (g_free);
  m.notes = g_string_new (NULL);
  if ((bytes = g_resources_lookup_data (resource, G_RESOURCE_LOOKUP_FLAGS_NONE, &error)) == NULL ||
      !(context = g_markup_parse_context_new (&parser, G_MARKUP_TREAT_CDATA_AS_TEXT, &m, NULL),
        g_markup_parse_context_parse (context, g_bytes_get_data (bytes, NULL), (gssize) g_bytes_get_size (bytes),
                                      &error)) ||
      !g_markup_parse_context_end_parse (context, &error))
    g_warning ("Cannot read the metainfo for the about window: %s", error->message);

  g_object_set (about,
                "application-icon", APPLICATION_ID,
                "application-name", m.name != NULL ? m.name : _("Reunite"),
                "version", PACKAGE_VERSION,
                "developers", developers,
                "translator-credits", _("translator-credits"),
                NULL);
  if (m.summary != NULL)
    adw_about_window_set_comments (ADW_ABOUT_WINDOW (about), m.summary);
  if (m.developer != NULL)
    adw_about_window_set_developer_name (ADW_ABOUT_WINDOW (about), m.developer);
  if (m.homepage != NULL)
    adw_about_window_set_website (ADW_ABOUT_WINDOW (about), m.homepage);
  if (m.bugtracker != NULL)
    adw_about_window_set_issue_url (ADW_ABOUT_WINDOW (about), m.bugtracker);
  if (g_strcmp0 (m.license, "GPL-3.0-or-later") == 0 || g_strcmp0 (m.license, "GPL-3.0+") == 0)
    adw_about_window_set_license_type (ADW_ABOUT_WINDOW (about), GTK_LICENSE_GPL_3_0);
  if (m.version != NULL && m.notes->len > 0)
    {
      adw_about_window_set_release_notes_version (ADW_ABOUT_WINDOW (about), m.version);
      adw_about_window_set_release_notes (ADW_ABOUT_WINDOW (about), m.notes->str);
    }
  return about;
}
