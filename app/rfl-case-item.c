/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-cases"

#include <glib/gi18n.h>
#include <locale.h>

#include "rfl-case-item.h"
#include "rfl-record-labels.h"

/*
 * One row of a case list: the summary the store gives (never the whole
 * record). An item starts empty and is filled in when its page arrives, so
 * a list of 515,000 cases never waits for the disk.
 */

struct _RflCaseItem
{
  GObject   parent_instance;

  char     *id;
  char     *name;
  char     *kind;
  char     *status;
  char     *updated;
  gboolean  loaded;
};

G_DEFINE_FINAL_TYPE (RflCaseItem, rfl_case_item, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ID,
  PROP_NAME,
  PROP_KIND,
  PROP_STATUS,
  PROP_UPDATED,
  PROP_LOADED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
set_string (RflCaseItem  *self,
            char        **field,
            const char   *value,
            guint         prop)
{
  if (g_strcmp0 (*field, value) == 0)
    return;
  g_free (*field);
  *field = g_strdup (value);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop]);
}

static void
rfl_case_item_finalize (GObject *object)
{
  RflCaseItem *self = RFL_CASE_ITEM (object);

  g_free (self->id);
  g_free (self->name);
  g_free (self->kind);
  g_free (self->status);
  g_free (self->updated);
  G_OBJECT_CLASS (rfl_case_item_parent_class)->finalize (object);
}

static void
rfl_case_item_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  RflCaseItem *self = RFL_CASE_ITEM (object);

  switch (prop_id)
    {
    case PROP_ID:
      g_value_set_string (value, self->id);
      break;
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_KIND:
      g_value_set_string (value, self->kind);
      break;
    case PROP_STATUS:
      g_value_set_string (value, self->status);
      break;
    case PROP_UPDATED:
      g_value_set_string (value, self->updated);
      break;
    case PROP_LOADED:
      g_value_set_boolean (value, self->loaded);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_case_item_class_init (RflCaseItemClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = rfl_case_item_finalize;
  object_class->get_property = rfl_case_item_get_property;

  properties[PROP_ID] =
    g_param_spec_string ("id", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_KIND] =
    g_param_spec_string ("kind", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_STATUS] =
    g_param_spec_string ("status", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_UPDATED] =
    g_param_spec_string ("updated", NULL, NULL, NULL, G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOADED] =
    g_param_spec_boolean ("loaded", NULL, NULL, FALSE, G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
rfl_case_item_init (RflCaseItem *self)
{
}

RflCaseItem *
rfl_case_item_new (void)
{
  return g_object_new (RFL_TYPE_CASE_ITEM, NULL);
}

RflCaseItem *
rfl_case_item_new_summary (JsonObject *summary)
{
  RflCaseItem *self = rfl_case_item_new ();

  rfl_case_item_set_summary (self, summary);
  return self;
}

/**
 * rfl_format_count:
 *
 * Returns: (transfer full): @n with the locale's digit grouping: 12,345 in
 *   English, 12 345 in French
 */
char *
rfl_format_count (gint64 n)
{
  return g_strdup_printf ("%'ld", (long) n);
}

/**
 * rfl_format_time:
 * @iso: (nullable): an ISO 8601 time, as the store gives them
 * @with_time: whether to show the time of day as well as the date
 *
 * Returns: (transfer full) (nullable): the local date (and time) in the
 *   locale's format
 */
char *
rfl_format_time (const char *iso,
                 gboolean    with_time)
{
  g_autoptr(GDateTime) utc = iso != NULL ? g_date_time_new_from_iso8601 (iso, NULL) : NULL;
  g_autoptr(GDateTime) local = utc != NULL ? g_date_time_to_local (utc) : NULL;

  const char *lc_time = setlocale (LC_TIME, NULL);

  if (local == NULL)
    return NULL;
  /* The C locale's %x is 12/02/26: a month or a day first, no one can
   * tell. Without a locale to follow, write the month's name. */
  if (lc_time == NULL || g_str_equal (lc_time, "C") || g_str_equal (lc_time, "POSIX") ||
      g_str_has_prefix (lc_time, "C."))
    return g_date_time_format (local, with_time ? "%-d %b %Y %H:%M" : "%-d %b %Y");
  return g_date_time_format (local, with_time ? "%x %H:%M" : "%x");
}

/**
 * rfl_case_item_set_summary:
 * @summary: a record summary (rfl_store_list(), rfl_store_search())
 */
void
rfl_case_item_set_summary (RflCaseItem *self,
                           JsonObject  *summary)
{
  g_autofree char *updated = NULL;
  const char *name;

  g_return_if_fail (RFL_IS_CASE_ITEM (self));
  g_return_if_fail (summary != NULL);

  g_object_freeze_notify (G_OBJECT (self));
  name = json_object_get_string_member_with_default (summary, "name", NULL);
  set_string (self, &self->id, json_object_get_string_member_with_default (summary, "id", NULL), PROP_ID);
  set_string (self, &self->name, name != NULL && *name != '\0' ? name : _("(no name)"), PROP_NAME);
  {
    const char *kind = rfl_record_kind_label (json_object_get_string_member_with_default (summary, "type", NULL),
                                              json_object_get_string_member_with_default (summary, "subtype", NULL));
    const char *role = json_object_get_string_member_with_default (summary, "role", NULL);
    const char *matched = json_object_get_string_member_with_default (summary, "matched", NULL);
    g_autofree char *role_label = role != NULL ? rfl_field_label (role) : NULL;
    g_autofree char *label = NULL;

    /* A search result names who in the case matched, and under which of
     * their names when it is not the one shown (an alternate name, the name
     * in another script, a father's name). */
    if (role_label != NULL && matched != NULL && g_strcmp0 (matched, name) != 0)
      /* Translators: a kind of case, who in it matched a search, and the name that matched:
       * "Tracing request · matched: Sought, as “عبد الرحمن”". */
      label = g_strdup_printf (_("%s · matched: %s, as “%s”"), kind, role_label, matched);
    else if (role_label != NULL)
      /* Translators: a kind of case and who in it matched a search: "Tracing request · matched: Sought". */
      label = g_strdup_printf (_("%s · matched: %s"), kind, role_label);
    else
      label = g_strdup (kind);

    set_string (self, &self->kind, label, PROP_KIND);
  }
  set_string (self, &self->status,
              rfl_record_status_label (json_object_get_string_member_with_default (summary, "status", NULL)),
              PROP_STATUS);
  updated = rfl_format_time (json_object_get_string_member_with_default (summary, "updated_at", NULL), FALSE);
  set_string (self, &self->updated, updated, PROP_UPDATED);
  if (!self->loaded)
    {
      self->loaded = TRUE;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADED]);
    }
  g_object_thaw_notify (G_OBJECT (self));
}

gboolean
rfl_case_item_get_loaded (RflCaseItem *self)
{
  g_return_val_if_fail (RFL_IS_CASE_ITEM (self), FALSE);
  return self->loaded;
}

const char *
rfl_case_item_get_id (RflCaseItem *self)
{
  g_return_val_if_fail (RFL_IS_CASE_ITEM (self), NULL);
  return self->id;
}

const char *
rfl_case_item_get_name (RflCaseItem *self)
{
  g_return_val_if_fail (RFL_IS_CASE_ITEM (self), NULL);
  return self->name;
}

const char *
rfl_case_item_get_kind (RflCaseItem *self)
{
  g_return_val_if_fail (RFL_IS_CASE_ITEM (self), NULL);
  return self->kind;
}

const char *
rfl_case_item_get_status (RflCaseItem *self)
{
  g_return_val_if_fail (RFL_IS_CASE_ITEM (self), NULL);
  return self->status;
}

const char *
rfl_case_item_get_updated (RflCaseItem *self)
{
  g_return_val_if_fail (RFL_IS_CASE_ITEM (self), NULL);
  return self->updated;
}
