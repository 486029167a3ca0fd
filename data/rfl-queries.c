/* SPDX-License-Identifier: GPL-3.0-or-later */
/* What the pages ask for: display names, the case list and its counts,
 * notes of a case, the dashboard summary, finding records by id, and
 * export. Read-only; each runs in one read transaction. */
#define G_LOG_DOMAIN "rfl-store"

#include "rfl-store-private.h"
#include "rfl-rank.h"
#include "rfl-json.h"

#include <sodium.h>
#include <sqlite3.h>
#include <string.h>
#include <glib/gi18n-lib.h>

/**
 * rfl_person_display_name:
 * @person: a person of a record
 *
 * Returns: (transfer full) (nullable): "given family", or %NULL if neither
 *   is known
 */
char *
rfl_person_display_name (JsonObject *person)
{
  const char *given = rfl_json_string_or (person, "given_name", NULL);
  const char *family = rfl_json_string_or (person, "family_name", NULL);

  if (given == NULL && family == NULL)
    return NULL;
  return g_strjoin (" ", given ? given : family, given ? family : NULL, NULL);
}

/**
 * rfl_record_display_name:
 * @doc: a record
 *
 * The name a list shows for a record: the first person with a name in the
 * fields the schema names for its type (rfl_schema_get_display_roles()),
 * the person registered or sought before the enquirer.
 *
 * Returns: (transfer full) (nullable): the name, or %NULL if no one is named
 */
char *
rfl_record_display_name (JsonObject *doc)
{
  const char * const *roles = rfl_schema_get_display_roles (rfl_schema_get_default (),
                                                            rfl_json_string_or (doc, "type", NULL));

  for (guint r = 0; roles[r] != NULL; r++)
    {
      JsonNode *node = json_object_get_member (doc, roles[r]);
      JsonObject *person = NULL;

      if (node == NULL)
        continue;
      if (JSON_NODE_HOLDS_ARRAY (node) && json_array_get_length (json_node_get_array (node)) > 0)
        person = json_array_get_object_element (json_node_get_array (node), 0);
      else if (JSON_NODE_HOLDS_OBJECT (node))
        person = json_node_get_object (node);
      if (person != NULL)
        {
          char *name = rfl_person_display_name (person);
          if (name != NULL)
            return name;
        }
    }
  return NULL;
}

/* The person of @doc with id @person_id, or NULL. */
JsonObject *
rfl_record_find_person (JsonObject *doc,
             const char *person_id)
{
  g_autoptr(GList) members = NULL;

  if (doc == NULL || person_id == NULL)
    return NULL;
  members = json_object_get_values (doc);
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *node = l->data;
      JsonArray *array = NULL;
      guint n = 1;

      if (JSON_NODE_HOLDS_ARRAY (node))
        {
          array = json_node_get_array (node);
          n = json_array_get_length (array);
        }
      for (guint i = 0; i < n; i++)
        {
          JsonNode *el = array != NULL ? json_array_get_element (array, i) : node;
          JsonObject *person;

          if (!JSON_NODE_HOLDS_OBJECT (el))
            continue;
          person = json_node_get_object (el);
          if (g_strcmp0 (rfl_json_string_or (person, "id", NULL), person_id) == 0)
            return person;
        }
    }
  return NULL;
}

static void
consider_spelling (RflStore    *self,
                   const char  *query,
                   const char  *text,
                   const char **best,
                   double      *best_score)
{
  g_autofree char *latin = NULL;
  double score;

  if (text == NULL || *text == '\0')
    return;
  latin = rfl_names_to_latin (self->names, text);
  score = rfl_rank_name_similarity (query, latin);
  if (score > *best_score)
    {
      *best = text;
      *best_score = score;
    }
}

/* Which of @person's names is closest to @query (in Latin letters): the
 * name as written, an alternate name, or a parent's name. */
static char *
matched_spelling (RflStore   *self,
                  JsonObject *person,
                  const char *query,
                  const char *name)
{
  static const char * const singles[] = { "father_name", "mother_name" };
  const char *best = name;
  double best_score = -1;

  consider_spelling (self, query, name, &best, &best_score);
  if (json_object_has_member (person, "alternate_names") &&
      JSON_NODE_HOLDS_ARRAY (json_object_get_member (person, "alternate_names")))
    {
      JsonArray *names = json_object_get_array_member (person, "alternate_names");

      for (guint i = 0; i < json_array_get_length (names); i++)
        {
          JsonNode *el = json_array_get_element (names, i);

          if (JSON_NODE_HOLDS_VALUE (el) && json_node_get_value_type (el) == G_TYPE_STRING)
            consider_spelling (self, query, json_node_get_string (el), &best, &best_score);
        }
    }
  for (guint i = 0; i < G_N_ELEMENTS (singles); i++)
    consider_spelling (self, query, rfl_json_string_or (person, singles[i], NULL), &best, &best_score);
  return g_strdup (best);
}

/* A record summary from columns id, type, status, doc, updated_at. With
 * @person_id, the name is that person's rather than the record's first;
 * with @query too (in Latin letters), "matched" is the one of that person's
 * names it matched best. */
JsonObject *
rfl_store_summary_for_person (RflStore     *self,
                              sqlite3_stmt *st,
                              const char   *person_id,
                              const char   *query)
{
  JsonObject *out = json_object_new ();
  g_autoptr(JsonObject) doc = rfl_parse_doc ((const char *) sqlite3_column_text (st, 3));
  g_autofree char *name = NULL;
  g_autofree char *matched = NULL;
  g_autofree char *updated = rfl_iso_from_ms (sqlite3_column_int64 (st, 4));
  JsonObject *person = rfl_record_find_person (doc, person_id);

  if (person != NULL)
    name = rfl_person_display_name (person);
  else if (doc != NULL)
    name = rfl_record_display_name (doc);
  if (person != NULL && query != NULL)
    matched = matched_spelling (self, person, query, name);
  json_object_set_string_member (out, "id", (const char *) sqlite3_column_text (st, 0));
  json_object_set_string_member (out, "type", (const char *) sqlite3_column_text (st, 1));
  if (sqlite3_column_type (st, 2) != SQLITE_NULL)
    json_object_set_string_member (out, "status", (const char *) sqlite3_column_text (st, 2));
  if (doc != NULL && json_object_has_member (doc, "subtype"))
    json_object_set_string_member (out, "subtype", json_object_get_string_member (doc, "subtype"));
  if (name != NULL)
    json_object_set_string_member (out, "name", name);
  if (matched != NULL)
    json_object_set_string_member (out, "matched", matched);
  json_object_set_string_member (out, "updated_at", updated);
  return out;
}

static JsonObject *
summary_from_stmt (RflStore     *self,
                   sqlite3_stmt *st)
{
  return rfl_store_summary_for_person (self, st, NULL, NULL);
}

typedef struct
{
  const char *type;
  const char *status;
  guint       offset;
  guint       limit;
  GPtrArray  *out;
} ListArgs;

static gboolean
list_locked (RflStore  *self,
             gpointer   data,
             GError   **error)
{
  ListArgs *args = data;
  g_autoptr(GPtrArray) out = NULL;
  g_autofree char *detail = NULL;
  sqlite3_stmt *st;
  int rc;

  st = rfl_store_stmt (self, "SELECT id, type, status, doc, updated_at FROM records"
                       " WHERE cl % 2 = 1 AND doc IS NOT NULL"
                       " AND (?1 IS NULL OR type = ?1"
                       "      OR (instr (?1, ',') > 0 AND instr (',' || ?1 || ',', ',' || type || ',') > 0))"
                       " AND (?2 IS NULL OR status = ?2)"
                       " ORDER BY updated_at DESC, rowid DESC LIMIT ?3 OFFSET ?4", error);
  if (st == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->type);
  rfl_bind_text (st, 2, args->status);
  sqlite3_bind_int64 (st, 3, args->limit);
  sqlite3_bind_int64 (st, 4, args->offset);

  out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    g_ptr_array_add (out, summary_from_stmt (self, st));
  if (rc != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "listing records");
  sqlite3_reset (st);

  detail = g_strdup_printf ("type=%s status=%s offset=%u count=%u",
                            args->type ? args->type : "*", args->status ? args->status : "*",
                            args->offset, out->len);
  if (!rfl_store_audit_read (self, "list", NULL, detail, error))
    return FALSE;
  args->out = g_steal_pointer (&out);
  return TRUE;
}

/**
 * rfl_store_list:
 * @self: an open store
 * @type: (nullable): only records of this type, or of these comma-separated
 *   types ("tracing_request,registration")
 * @status: (nullable): only records in this status
 * @offset: records to skip
 * @limit: most records to return
 * @error: return location for an error
 *
 * Lists live records, most recently changed first.
 *
 * Returns: (transfer full) (element-type JsonObject): record summaries
 */
GPtrArray *
rfl_store_list (RflStore    *self,
                const char  *type,
                const char  *status,
                guint        offset,
                guint        limit,
                GError     **error)
{
  ListArgs args = { type, status, offset, limit, NULL };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  if (!rfl_store_read (self, list_locked, &args, error))
    return NULL;
  return args.out;
}

typedef struct
{
  const char *type;
  const char *status;
  gint64      n;
} CountArgs;

static gboolean
count_locked (RflStore  *self,
              gpointer   data,
              GError   **error)
{
  CountArgs *args = data;
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "SELECT count(*) FROM records WHERE cl % 2 = 1 AND doc IS NOT NULL"
                            " AND (?1 IS NULL OR type = ?1"
                            "      OR (instr (?1, ',') > 0 AND instr (',' || ?1 || ',', ',' || type || ',') > 0))"
                            " AND (?2 IS NULL OR status = ?2)", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->type);
  rfl_bind_text (st, 2, args->status);
  if (sqlite3_step (st) != SQLITE_ROW)
    return rfl_store_sql_fail (self, error, "counting records");
  args->n = sqlite3_column_int64 (st, 0);
  sqlite3_reset (st);
  return TRUE;
}

gint64
rfl_store_count (RflStore    *self,
                 const char  *type,
                 const char  *status,
                 GError     **error)
{
  CountArgs args = { type, status, -1 };

  g_return_val_if_fail (RFL_IS_STORE (self), -1);

  if (!rfl_store_read (self, count_locked, &args, error))
    return -1;
  return args.n;
}

typedef struct
{
  const char *record_id;
  GPtrArray  *out;
} NotesArgs;

static gboolean
list_notes_locked (RflStore  *self,
                   gpointer   data,
                   GError   **error)
{
  NotesArgs *args = data;
  g_autoptr(GPtrArray) out = NULL;
  sqlite3_stmt *st;
  int rc;

  /* The expression is the one records_by_ref indexes, written the same way.
   * The notes about duplicates merged into the record are its own. */
  if ((st = rfl_store_stmt (self, "SELECT id, doc, created_at FROM records"
                            " WHERE type = 'note' AND doc ->> '$.record' IN (" RFL_CASE_AND_MERGED ")"
                            " AND cl % 2 = 1 AND doc IS NOT NULL"
                            " ORDER BY created_at DESC, rowid DESC", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, args->record_id);
  out = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      g_autoptr(JsonObject) doc = rfl_parse_doc ((const char *) sqlite3_column_text (st, 1));
      g_autofree char *created = rfl_iso_from_ms (sqlite3_column_int64 (st, 2));
      JsonObject *note = json_object_new ();

      json_object_set_string_member (note, "id", (const char *) sqlite3_column_text (st, 0));
      if (doc != NULL)
        rfl_json_copy_members (note, doc);
      json_object_set_string_member (note, "created_at", created);
      g_ptr_array_add (out, note);
    }
  if (rc != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "reading the notes");
  args->out = g_steal_pointer (&out);
  return TRUE;
}

/**
 * rfl_store_list_notes:
 * @self: an open store
 * @record_id: a case or message
 * @error: return location for an error
 *
 * The notes, contact attempts and case actions recorded about @record_id,
 * newest first, each with its id and creation time.
 *
 * Returns: (transfer full) (element-type JsonObject): the notes, or %NULL
 *   on error
 */
GPtrArray *
rfl_store_list_notes (RflStore    *self,
                      const char  *record_id,
                      GError     **error)
{
  NotesArgs args = { record_id, NULL };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  g_return_val_if_fail (record_id != NULL, NULL);

  if (!rfl_store_read (self, list_notes_locked, &args, error))
    return NULL;
  return args.out;
}

static gboolean
count_range (RflStore    *self,
             const char  *sql,
             const char  *type,
             gint64       from_ms,
             gint64       to_ms,
             gint64      *n,
             GError     **error)
{
  sqlite3_stmt *st = rfl_store_stmt (self, sql, error);

  if (st == NULL)
    return FALSE;
  rfl_bind_text (st, 1, type);
  sqlite3_bind_int64 (st, 2, from_ms);
  sqlite3_bind_int64 (st, 3, to_ms);
  if (sqlite3_step (st) != SQLITE_ROW)
    return rfl_store_sql_fail (self, error, "counting cases by week");
  *n += sqlite3_column_int64 (st, 0);
  sqlite3_reset (st);
  return TRUE;
}

typedef struct
{
  guint       weeks;
  JsonObject *out;
} SummaryArgs;

static gboolean
count_by_status (RflStore    *self,
                 JsonObject  *counts,
                 gint64      *awaiting,
                 GError     **error)
{
  sqlite3_stmt *st;
  int rc;

  if ((st = rfl_store_stmt (self, "SELECT type, coalesce (status, ''), count(*) FROM records"
                            " WHERE cl % 2 = 1 AND doc IS NOT NULL AND type != 'note'"
                            " GROUP BY type, status", error)) == NULL)
    return FALSE;
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      const char *type = (const char *) sqlite3_column_text (st, 0);
      const char *status = (const char *) sqlite3_column_text (st, 1);
      gint64 n = sqlite3_column_int64 (st, 2);

      if (!json_object_has_member (counts, type))
        json_object_set_object_member (counts, type, json_object_new ());
      json_object_set_int_member (json_object_get_object_member (counts, type), status, n);
      if (g_str_equal (type, "message") && (g_str_equal (status, "collected") ||
                                            g_str_equal (status, "transmitted")))
        *awaiting += n;
    }
  if (rc != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "counting records");
  sqlite3_reset (st);
  return TRUE;
}

/* The cases opened and closed in the week from @from to @to (ms): the
 * records of the types the schema lists as cases; and the tracing requests
 * located in it, and reunited: moved to the status, or closed for the reason. */
static gboolean
count_week (RflStore  *self,
            gint64     from,
            gint64     to,
            gint64    *opened,
            gint64    *closed,
            gint64    *located,
            gint64    *reunited,
            GError   **error)
{
  g_auto(GStrv) case_types = rfl_schema_dup_kinds (self->schema, "cases");
  gint64 hlc_from = (gint64) ((guint64) from << 16), hlc_to = (gint64) ((guint64) to << 16);

  if (!count_range (self, "SELECT count(DISTINCT j.record_row) FROM journal AS j"
                    " INDEXED BY journal_outcomes CROSS JOIN records AS r ON r.rowid = j.record_row"
                    " WHERE " RFL_JOURNAL_OUTCOME " AND (j.changes ->> '$.status' = 'located'"
                    " OR j.changes ->> '$.closure_reason' = 'located')"
                    " AND j.hlc >= ?2 AND j.hlc < ?3 AND r.type = ?1 AND r.cl % 2 = 1",
                    "tracing_request", hlc_from, hlc_to, located, error) ||
      !count_range (self, "SELECT count(DISTINCT j.record_row) FROM journal AS j"
                    " INDEXED BY journal_outcomes CROSS JOIN records AS r ON r.rowid = j.record_row"
                    " WHERE " RFL_JOURNAL_OUTCOME " AND (j.changes ->> '$.status' = 'reunited'"
                    " OR j.changes ->> '$.closure_reason' = 'reunited')"
                    " AND j.hlc >= ?2 AND j.hlc < ?3 AND r.type = ?1 AND r.cl % 2 = 1",
                    "tracing_request", hlc_from, hlc_to, reunited, error))
    return FALSE;

  for (guint t = 0; case_types[t] != NULL; t++)
    if (!count_range (self, "SELECT count(*) FROM records WHERE type = ?1"
                      " AND created_at >= ?2 AND created_at < ?3 AND cl % 2 = 1",
                      case_types[t], from, to, opened, error) ||
        /* The closures of the week first (CROSS JOIN keeps that order),
         * then their records: the other way round reads every case. */
        !count_range (self, "SELECT count(DISTINCT j.record_row) FROM journal AS j"
                      " INDEXED BY journal_closures CROSS JOIN records AS r ON r.rowid = j.record_row"
                      " WHERE j.changes ->> '$.status' = 'closed' AND j.hlc >= ?2 AND j.hlc < ?3"
                      " AND r.type = ?1 AND r.cl % 2 = 1",
                      case_types[t], hlc_from, hlc_to, closed, error))
      return FALSE;
  return TRUE;
}

static gboolean
summarize_locked (RflStore  *self,
                  gpointer   data,
                  GError   **error)
{
  SummaryArgs *args = data;
  g_autoptr(JsonObject) counts = json_object_new ();
  g_autoptr(JsonArray) by_week = json_array_new ();
  g_autoptr(GDateTime) now = g_date_time_new_now_local ();
  g_autoptr(GDateTime) today = NULL, monday = NULL;
  gint64 awaiting = 0;

  if (!count_by_status (self, counts, &awaiting, error))
    return FALSE;

  today = g_date_time_new_local (g_date_time_get_year (now), g_date_time_get_month (now),
                                 g_date_time_get_day_of_month (now), 0, 0, 0);
  monday = g_date_time_add_days (today, 1 - g_date_time_get_day_of_week (today));
  for (guint w = args->weeks; w-- > 0;)
    {
      g_autoptr(GDateTime) start = g_date_time_add_weeks (monday, -(gint) w);
      g_autoptr(GDateTime) end = g_date_time_add_weeks (start, 1);
      gint64 from = g_date_time_to_unix (start) * 1000, to = g_date_time_to_unix (end) * 1000;
      g_autofree char *day = g_date_time_format (start, "%Y-%m-%d");
      gint64 opened = 0, closed = 0, located = 0, reunited = 0;
      JsonObject *week;

      if (!count_week (self, from, to, &opened, &closed, &located, &reunited, error))
        return FALSE;
      week = json_object_new ();
      json_object_set_string_member (week, "start", day);
      json_object_set_int_member (week, "opened", opened);
      json_object_set_int_member (week, "closed", closed);
      json_object_set_int_member (week, "located", located);
      json_object_set_int_member (week, "reunited", reunited);
      json_array_add_object_element (by_week, week);
    }

  args->out = json_object_new ();
  json_object_set_object_member (args->out, "counts", g_steal_pointer (&counts));
  json_object_set_array_member (args->out, "weeks", g_steal_pointer (&by_week));
  json_object_set_int_member (args->out, "awaiting_delivery", awaiting);
  return TRUE;
}

/**
 * rfl_store_summarize:
 * @self: an open store
 * @weeks: how many weeks back the weekly counts go, this week included
 * @error: return location for an error
 *
 * What a dashboard shows: `counts`, live records by type and status
 * (`{"tracing_request": {"open": 3}}`); `weeks`, oldest first, each week's
 * start (a Monday, local time) with the cases opened in it and the cases
 * closed in it (by the time of the change that closed it, here or on the
 * device that made it, from the journal), and the tracing requests located
 * and reunited in it (moved to the status, or closed for the reason),
 * counted the same way; and `awaiting_delivery`, the Red
 * Cross Messages collected or transmitted but not yet delivered.
 *
 * Returns: (transfer full): the summary, or %NULL on error
 */
JsonObject *
rfl_store_summarize (RflStore  *self,
                     guint      weeks,
                     GError   **error)
{
  SummaryArgs args = { weeks, NULL };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  g_return_val_if_fail (weeks > 0 && weeks <= 520, NULL);

  if (!rfl_store_read (self, summarize_locked, &args, error))
    return NULL;
  return args.out;
}

typedef struct
{
  RflStoreForeachFunc func;
  gpointer            user_data;
} ExportArgs;

static gboolean
export_locked (RflStore  *self,
               gpointer   data,
               GError   **error)
{
  ExportArgs *args = data;
  g_autoptr(sqlite3_stmt) st = NULL;
  int rc;

  if (!rfl_store_audit_read (self, "export", NULL, "all records", error))
    return FALSE;
  if (sqlite3_prepare_v2 (self->db, "SELECT id, doc, created_at, updated_at FROM records"
                                    " WHERE cl % 2 = 1 AND doc IS NOT NULL ORDER BY rowid",
                          -1, &st, NULL) != SQLITE_OK)
    return rfl_store_sql_fail (self, error, "exporting records");
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      g_autoptr(JsonObject) doc = rfl_parse_doc ((const char *) sqlite3_column_text (st, 1));
      g_autoptr(JsonObject) rec = json_object_new ();
      g_autofree char *created = rfl_iso_from_ms (sqlite3_column_int64 (st, 2));
      g_autofree char *updated = rfl_iso_from_ms (sqlite3_column_int64 (st, 3));

      if (doc == NULL)
        continue;
      json_object_set_string_member (rec, "id", (const char *) sqlite3_column_text (st, 0));
      rfl_json_copy_members (rec, doc);
      json_object_set_string_member (rec, "created_at", created);
      json_object_set_string_member (rec, "updated_at", updated);
      if (!args->func (rec, args->user_data))
        break;
    }
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return rfl_store_sql_fail (self, error, "exporting records");
  return TRUE;
}

/**
 * rfl_store_export:
 * @self: an open store
 * @func: called with each live record, in the shape rfl_store_get() returns
 *   (without the status history); returning %FALSE stops the export
 * @user_data: data for @func
 * @error: return location for an error
 *
 * The export is recorded in the audit log before the first record is read.
 */
gboolean
rfl_store_export (RflStore             *self,
                  RflStoreForeachFunc   func,
                  gpointer              user_data,
                  GError              **error)
{
  ExportArgs args = { func, user_data };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (func != NULL, FALSE);

  return rfl_store_read (self, export_locked, &args, error);
}

typedef struct
{
  GPtrArray *ids;
  guint     *found;
  gboolean   hit;
} FindArgs;

static gboolean
find_records_locked (RflStore  *self,
                     gpointer   data,
                     GError   **error)
{
  FindArgs *args = data;
  sqlite3_stmt *st;

  if (!rfl_store_begin_read (self, error) ||
      (st = rfl_store_stmt (self, "SELECT 1 FROM records WHERE id = ?1", error)) == NULL)
    return FALSE;
  for (guint i = 0; i < args->ids->len && !args->hit; i++)
    {
      rfl_bind_text (st, 1, g_ptr_array_index (args->ids, i));
      if (sqlite3_step (st) == SQLITE_ROW)
        {
          args->hit = TRUE;
          *args->found = i;
        }
      sqlite3_reset (st);
    }
  return TRUE;
}

/**
 * rfl_store_find_records:
 * @ids: (element-type utf8): record ids
 * @found: (out): the index in @ids of the first that the store holds, if any
 *
 * Looks for records by id, live, deleted or purged: an id the store has
 * used is taken. In one read transaction, for an import to check all its
 * ids before it writes any.
 *
 * Returns: %TRUE if the store holds one of @ids; %FALSE if none, or on error
 */
gboolean
rfl_store_find_records (RflStore   *self,
                        GPtrArray  *ids,
                        guint      *found,
                        GError    **error)
{
  FindArgs args = { ids, found, FALSE };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (ids != NULL && found != NULL, FALSE);

  return rfl_store_read (self, find_records_locked, &args, error) && args.hit;
}
