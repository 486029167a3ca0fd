/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Records: validating and writing a new one, the one write path for changes
 * (journal, clocks, hash, name index, audit in one transaction), loading one
 * with its status history, and batches for bulk import. */
#define G_LOG_DOMAIN "rfl-store"

#include "rfl-store-private.h"
#include "rfl-op.h"
#include "rfl-json.h"

#include <sodium.h>
#include <sqlite3.h>
#include <string.h>
#include <glib/gi18n-lib.h>

JsonObject *
rfl_parse_doc (const char *text)
{
  g_autoptr(JsonNode) node = text != NULL ? json_from_string (text, NULL) : NULL;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  return json_object_ref (json_node_get_object (node));
}

/* Copies every member of @src into @dst, in @src's order. */
void
rfl_json_copy_members (JsonObject *dst,
                       JsonObject *src)
{
  g_autoptr(GList) names = json_object_get_members (src);

  for (GList *l = names; l != NULL; l = l->next)
    json_object_set_member (dst, l->data, json_node_copy (json_object_get_member (src, l->data)));
}

/* Compact JSON, members in their order. */
char *
rfl_doc_to_string (JsonObject *obj)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), obj);
  GString *out = g_string_sized_new (512);

  rfl_write_json (node, FALSE, out);
  return g_string_free (out, FALSE);
}

/* Sets the retention date when a record enters a status that is kept only for
 * a while (a closed case, a delivered message), unless one is set already. */
void
rfl_store_apply_retention (RflStore   *self,
                           JsonObject *record)
{
  const char *type = json_object_get_string_member (record, "type");
  const char *status = rfl_json_string_or (record, "status", NULL);
  g_autofree char *now = NULL;
  g_autoptr(GDate) date = NULL;
  char buf[16];
  gint64 days;

  if (json_object_has_member (record, "retention_until") ||
      !rfl_schema_is_retained_status (self->schema, type, status))
    return;

  days = g_atomic_int_get (&self->retention_days);
  now = rfl_store_today (self);
  date = g_date_new ();
  g_date_set_parse (date, now);
  if (!g_date_valid (date))
    return;
  g_date_add_days (date, CLAMP (days, 0, 36500));
  g_date_strftime (buf, sizeof buf, "%Y-%m-%d", date);
  json_object_set_string_member (record, "retention_until", buf);
}

static gboolean
record_exists (RflStore   *self,
               const char *id)
{
  sqlite3_stmt *st = rfl_store_stmt (self, "SELECT 1 FROM records WHERE id = ?1", NULL);

  if (st == NULL)
    return FALSE;
  rfl_bind_text (st, 1, id);
  return sqlite3_step (st) == SQLITE_ROW;
}

/* A new record, validated and in the form it is written in. */
typedef struct
{
  char      *id;
  gboolean   id_given;
  char      *type;
  char      *status;
  char      *retention_until;
  char      *doc;
  char      *canonical_doc;
  GPtrArray *names;
} Prepared;

static void
prepared_free (Prepared *p)
{
  g_free (p->id);
  g_free (p->type);
  g_free (p->status);
  g_free (p->retention_until);
  g_free (p->doc);
  g_free (p->canonical_doc);
  g_clear_pointer (&p->names, g_ptr_array_unref);
  g_free (p);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Prepared, prepared_free)

/* Validates a new record and computes everything written for it. Touches no
 * database, so callers may run it on another thread than the writes. */
static Prepared *
prepare (RflStore    *self,
         JsonObject  *record,
         GError     **error)
{
  g_autoptr(Prepared) p = g_new0 (Prepared, 1);

  if (!rfl_schema_prepare_new (self->schema, record, error))
    return NULL;

  if (json_object_has_member (record, "id"))
    {
      p->id = g_strdup (json_object_get_string_member (record, "id"));
      p->id_given = TRUE;
      json_object_remove_member (record, "id");
    }
  else
    p->id = g_uuid_string_random ();

  rfl_store_apply_retention (self, record);
  p->type = g_strdup (json_object_get_string_member (record, "type"));
  p->status = g_strdup (rfl_json_string_or (record, "status", NULL));
  p->retention_until = g_strdup (rfl_json_string_or (record, "retention_until", NULL));
  p->doc = rfl_doc_to_string (record);
  p->canonical_doc = rfl_canonical_object (record);
  p->names = rfl_store_name_rows (self, record);
  return g_steal_pointer (&p);
}

/* Writes a prepared record inside the caller's transaction. */
static gboolean
write_prepared (RflStore  *self,
                Prepared  *p,
                GError   **error)
{
  g_autofree char *clocks = NULL;
  guint8 rhash[RFL_RECORD_HASH_BYTES];
  sqlite3_stmt *st;
  sqlite3_int64 rowid;
  guint64 hlc;

  if (p->id_given && record_exists (self, p->id))
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_EXISTS,
                   _("field 'id': record %s already exists"), p->id);
      return FALSE;
    }

  hlc = rfl_store_hlc_tick (self);
  /* Written as canonical JSON writes it, so it hashes as it is. */
  clocks = g_strdup_printf ("{\"\":[%" G_GUINT64_FORMAT ",\"%s\"]}", hlc, self->device_id);
  rfl_record_hash (p->id, 1, p->canonical_doc, clocks, rhash);
  if ((st = rfl_store_stmt (self, "INSERT INTO records (id, type, status, doc, created_at, updated_at, cl,"
                        " retention_until, clocks) VALUES (?1, ?2, ?3, ?4, ?5, ?5, 1, ?6, ?7)", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, p->id);
  rfl_bind_text (st, 2, p->type);
  rfl_bind_text (st, 3, p->status);
  rfl_bind_text (st, 4, p->doc);
  sqlite3_bind_int64 (st, 5, rfl_now_ms ());
  rfl_bind_text (st, 6, p->retention_until);
  rfl_bind_text (st, 7, clocks);
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "saving the record");

  rowid = sqlite3_last_insert_rowid (self->db);
  return rfl_store_put_hash (self, rowid, NULL, rhash, error) &&
         rfl_store_write_name_rows (self, rowid, p->names, error) &&
         rfl_store_journal_append (self, p->id, rowid, rfl_op_name (RFL_OP_CREATE), hlc, p->doc, NULL, 1, error);
}

void
rfl_record_row_clear (RflRecordRow *row)
{
  g_clear_pointer (&row->type, g_free);
  g_clear_pointer (&row->status, g_free);
  g_clear_pointer (&row->doc, json_object_unref);
  g_clear_pointer (&row->clocks_text, g_free);
  g_clear_pointer (&row->clocks, json_object_unref);
  g_clear_pointer (&row->owner, g_free);
}

/* The one record loader. Without RFL_LOAD_ANY, a record that is absent,
 * deleted or purged is an error, as a person asking for it should hear;
 * with it, deleted and purged records load too (doc %NULL when purged), and
 * an absent one returns %FALSE with no error, as a merge expects. */
gboolean
rfl_store_load_record (RflStore      *self,
                       const char    *id,
                       RflLoadFlags   flags,
                       RflRecordRow  *row,
                       GError       **error)
{
  gboolean any = (flags & RFL_LOAD_ANY) != 0;
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "SELECT rowid, type, status, doc, created_at, updated_at, cl,"
                            " clocks, owner FROM records WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, id);
  if (sqlite3_step (st) != SQLITE_ROW)
    {
      if (!any)
        {
          /* An id as given, which may be anything: a line of it, not a page. */
          g_autofree char *head = g_utf8_make_valid (id, MIN (strlen (id), 40));
          g_autofree char *shown = *id == '\0' ? g_strdup ("\"\"")
                                 : strlen (id) > 64 ? g_strconcat (head, "…", NULL) : g_strdup (id);

          g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND, _("no record with id %s"), shown);
        }
      return FALSE;
    }
  row->cl = sqlite3_column_int64 (st, 6);
  if (!any && (row->cl % 2 == 0 || sqlite3_column_type (st, 3) == SQLITE_NULL))
    {
      if (row->cl % 2 == 0)
        g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND, _("record %s was deleted"), id);
      else
        g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND, _("record %s was purged"), id);
      return FALSE;
    }
  row->id = id;
  row->rowid = sqlite3_column_int64 (st, 0);
  row->type = g_strdup ((const char *) sqlite3_column_text (st, 1));
  row->status = g_strdup ((const char *) sqlite3_column_text (st, 2));
  row->doc = rfl_parse_doc ((const char *) sqlite3_column_text (st, 3));
  row->created_at = sqlite3_column_int64 (st, 4);
  row->updated_at = sqlite3_column_int64 (st, 5);
  row->clocks_text = g_strdup ((const char *) sqlite3_column_text (st, 7));
  row->owner = g_strdup ((const char *) sqlite3_column_text (st, 8));
  if (row->doc == NULL && !any)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_CORRUPT,
                   _("record %s cannot be read"), id);
      return FALSE;
    }
  if ((flags & RFL_LOAD_CLOCKS) != 0 &&
      (row->clocks = rfl_store_load_clocks (self, row->rowid, row->clocks_text, error)) == NULL)
    return FALSE;
  return TRUE;
}

/* A patch that gives a person again without the id the record knows them
 * by (a person edited by hand, or by a tool that sends the whole object)
 * would make them someone new, and cut them off from their proposals and
 * the decisions on them. A person in a field of its own keeps its id;
 * in a list, a person is known only by its id, which the patch must give.
 * Returns a copy of @patch with the ids filled in, or %NULL if none was
 * missing. */
static JsonObject *
keep_person_ids (JsonObject *doc,
                 JsonObject *patch)
{
  g_autoptr(JsonObject) out = json_object_new ();
  gboolean filled = FALSE;
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  json_object_iter_init_ordered (&iter, patch);
  while (json_object_iter_next_ordered (&iter, &name, &value))
    {
      JsonNode *old = json_object_get_member (doc, name);
      const char *old_id = NULL;
      JsonObjectIter members;
      const char *member;
      JsonNode *node;
      JsonObject *person;

      if (JSON_NODE_HOLDS_OBJECT (value) && !json_object_has_member (json_node_get_object (value), "id") &&
          old != NULL && JSON_NODE_HOLDS_OBJECT (old))
        old_id = rfl_json_string_or (json_node_get_object (old), "id", NULL);
      if (old_id == NULL)
        {
          json_object_set_member (out, name, json_node_copy (value));
          continue;
        }
      person = json_object_new ();
      json_object_iter_init_ordered (&members, json_node_get_object (value));
      while (json_object_iter_next_ordered (&members, &member, &node))
        json_object_set_member (person, member, json_node_copy (node));
      json_object_set_string_member (person, "id", old_id);
      json_object_set_object_member (out, name, person);
      filled = TRUE;
    }
  return filled ? g_steal_pointer (&out) : NULL;
}

/* Applies @patch, a JSON merge patch (null removes a field), to @row's
 * document, and collects in @changes the fields it really changes. The
 * type and the id cannot change. */
static gboolean
apply_patch (RflRecordRow  *row,
             JsonObject    *patch,
             JsonObject    *changes,
             GError       **error)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  json_object_iter_init (&iter, patch);
  while (json_object_iter_next (&iter, &name, &value))
    {
      JsonNode *old = json_object_get_member (row->doc, name);

      if (g_str_equal (name, "type") || g_str_equal (name, "id"))
        {
          if (g_str_equal (name, "type") && JSON_NODE_HOLDS_VALUE (value) &&
              g_strcmp0 (json_node_get_string (value), row->type) == 0)
            continue;
          if (g_str_equal (name, "id") && JSON_NODE_HOLDS_VALUE (value) &&
              g_strcmp0 (json_node_get_string (value), row->id) == 0)
            continue;
          g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                       _("field '%s': cannot be changed"), name);
          return FALSE;
        }
      if (old != NULL && json_node_equal (old, value))
        continue;
      if (old == NULL && JSON_NODE_HOLDS_NULL (value))
        continue;
      json_object_set_member (changes, name, json_node_copy (value));
      if (JSON_NODE_HOLDS_NULL (value))
        json_object_remove_member (row->doc, name);
      else
        json_object_set_member (row->doc, name, json_node_copy (value));
    }
  return TRUE;
}

/* A status change carries who made it, and moves the retention date. */
static void
note_status_change (RflStore      *self,
                    RflRecordRow  *row,
                    JsonObject    *changes)
{
  const char *type = rfl_json_string_or (row->doc, "type", "");

  if (g_strcmp0 (row->status, rfl_json_string_or (row->doc, "status", NULL)) == 0)
    return;
  /* Who changed the status goes with the change, to every replica. */
  if (self->actor != NULL && !json_object_has_member (changes, "status_by") &&
      rfl_schema_has_field (self->schema, type, "status_by"))
    {
      json_object_set_string_member (row->doc, "status_by", self->actor);
      json_object_set_string_member (changes, "status_by", self->actor);
    }
  /* A case reopened is no longer due for purging. */
  if (json_object_has_member (row->doc, "retention_until") &&
      !rfl_schema_is_retained_status (self->schema, type, rfl_json_string_or (row->doc, "status", NULL)))
    {
      json_object_remove_member (row->doc, "retention_until");
      json_object_set_null_member (changes, "retention_until");
    }
  rfl_store_apply_retention (self, row->doc);
  if (json_object_has_member (row->doc, "retention_until") &&
      !json_object_has_member (changes, "retention_until"))
    json_object_set_string_member (changes, "retention_until",
                                   json_object_get_string_member (row->doc, "retention_until"));
}

/* Each changed field records the clock it overwrote in @base, so that a
 * replica holding a different value can tell a concurrent write from a
 * later one, and takes @hlc as its own. */
static void
stamp_clocks (RflStore    *self,
              JsonObject  *clocks,
              JsonObject  *changes,
              JsonObject  *base,
              guint64      hlc)
{
  JsonObjectIter iter;
  const char *name;

  json_object_iter_init_ordered (&iter, changes);
  while (json_object_iter_next_ordered (&iter, &name, NULL))
    {
      JsonArray *old_clock = rfl_clocks_lookup (clocks, name);

      if (old_clock != NULL)
        json_object_set_array_member (base, name, json_array_ref (old_clock));
      else
        json_object_set_null_member (base, name);
      json_object_set_array_member (clocks, name, rfl_clock_new (hlc, self->device_id));
    }
}

static gboolean
update_locked (RflStore    *self,
               const char  *id,
               JsonObject  *patch,
               gboolean     check_transition,
               GError     **error)
{
  g_auto(RflRecordRow) row = { 0 };
  g_autoptr(JsonObject) changes = json_object_new ();
  g_autoptr(JsonObject) base = json_object_new ();
  g_autoptr(JsonObject) clocks = NULL;
  g_autofree char *text = NULL, *changes_text = NULL, *base_text = NULL, *clocks_text = NULL;
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(JsonObject) kept = NULL;
  guint8 rhash[RFL_RECORD_HASH_BYTES];
  JsonObjectIter iter;
  const char *name;
  guint64 hlc;
  sqlite3_stmt *st;

  if (!rfl_store_load_record (self, id, RFL_LOAD_LIVE, &row, error))
    return FALSE;
  before = rfl_schema_collect_persons (self->schema, row.doc);
  kept = keep_person_ids (row.doc, patch);
  if (!apply_patch (&row, kept != NULL ? kept : patch, changes, error))
    return FALSE;
  if (json_object_get_size (changes) == 0)
    return TRUE;
  if (!rfl_schema_validate (self->schema, row.doc, error) ||
      (check_transition && !rfl_schema_check_transition (self->schema, row.doc, row.status, error)))
    return FALSE;

  /* Persons added by the patch get ids as on create, and the journal carries them. */
  rfl_schema_assign_person_ids (self->schema, row.doc);
  json_object_iter_init_ordered (&iter, changes);
  while (json_object_iter_next_ordered (&iter, &name, NULL))
    if (json_object_has_member (row.doc, name))
      json_object_set_member (changes, name, json_node_copy (json_object_get_member (row.doc, name)));
  note_status_change (self, &row, changes);

  if ((clocks = rfl_store_load_clocks (self, row.rowid, row.clocks_text, error)) == NULL)
    return FALSE;
  hlc = rfl_store_hlc_tick (self);
  stamp_clocks (self, clocks, changes, base, hlc);

  text = rfl_doc_to_string (row.doc);
  changes_text = rfl_doc_to_string (changes);
  base_text = rfl_doc_to_string (base);
  clocks_text = rfl_doc_to_string (clocks);
  rfl_record_hash_objects (id, row.cl, row.doc, clocks, rhash);
  if ((st = rfl_store_stmt (self, "UPDATE records SET status = ?2, doc = ?3, updated_at = ?4,"
                            " retention_until = ?5, clocks = ?6 WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, id);
  rfl_bind_text (st, 2, rfl_json_string_or (row.doc, "status", NULL));
  rfl_bind_text (st, 3, text);
  sqlite3_bind_int64 (st, 4, rfl_now_ms ());
  rfl_bind_text (st, 5, rfl_json_string_or (row.doc, "retention_until", NULL));
  rfl_bind_text (st, 6, clocks_text);
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "saving the record");

  return rfl_store_put_hash (self, row.rowid, NULL, rhash, error) &&
         rfl_store_reindex_record (self, row.rowid, before, row.doc, error) &&
         rfl_store_journal_append (self, id, row.rowid, rfl_op_name (RFL_OP_UPDATE), hlc,
                                   changes_text, base_text, row.cl, error);
}

gboolean
rfl_store_update_locked (RflStore    *self,
                         const char  *id,
                         JsonObject  *patch,
                         GError     **error)
{
  return update_locked (self, id, patch, TRUE, error);
}

/* As rfl_store_update_locked(), for putting back a status the record had
 * before (an unmerge), which its lifecycle would not allow as a step. */
gboolean
rfl_store_restore_locked (RflStore    *self,
                          const char  *id,
                          JsonObject  *patch,
                          GError     **error)
{
  return update_locked (self, id, patch, FALSE, error);
}

/**
 * rfl_store_may_delete:
 * @device: the device deleting
 *
 * An open case (one whose status the lifecycle does not retain as closed)
 * is deleted only by the device that registered it; any other closes it,
 * or asks HQ's operators. Closed cases, and records without a status, may
 * be deleted by any device that holds them.
 */
gboolean
rfl_store_may_delete (RflStore      *self,
                      sqlite3_int64  rowid,
                      const char    *type,
                      const char    *status,
                      const char    *device)
{
  sqlite3_stmt *st;
  gboolean creator;

  if (status == NULL || rfl_schema_is_retained_status (self->schema, type, status))
    return TRUE;
  if ((st = rfl_store_stmt (self, "SELECT device FROM journal WHERE record_row = ?1 AND op = 'create'"
                                  " ORDER BY seq LIMIT 1", NULL)) == NULL)
    return FALSE;
  sqlite3_bind_int64 (st, 1, rowid);
  creator = sqlite3_step (st) == SQLITE_ROW && g_strcmp0 ((const char *) sqlite3_column_text (st, 0), device) == 0;
  sqlite3_reset (st);
  return creator;
}

static gboolean
delete_locked (RflStore    *self,
               const char  *id,
               gboolean     by_operator,
               GError     **error)
{
  g_auto(RflRecordRow) row = { 0 };
  g_autofree char *changes = NULL;
  sqlite3_stmt *st;

  if (!rfl_store_load_record (self, id, RFL_LOAD_LIVE, &row, error))
    return FALSE;
  if (!by_operator && !rfl_store_may_delete (self, row.rowid, row.type, row.status, self->device_id))
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_ALLOWED,
                   _("case %s is open and was registered on another device: close it instead, or ask HQ's"
                     " operators to delete it"), id);
      return FALSE;
    }

  /* A causal-length counter: odd is alive, even is deleted. The record is
   * kept so that a later resurrection from another replica can restore it. */
  if ((st = rfl_store_stmt (self, "UPDATE records SET cl = cl + 1, updated_at = ?2 WHERE id = ?1", error)) == NULL)
    return FALSE;
  rfl_bind_text (st, 1, id);
  sqlite3_bind_int64 (st, 2, rfl_now_ms ());
  if (sqlite3_step (st) != SQLITE_DONE)
    return rfl_store_sql_fail (self, error, "deleting the record");

  changes = g_strdup_printf ("{\"$cl\":%" G_GINT64_FORMAT "}", row.cl + 1);
  return rfl_store_rehash (self, row.rowid, error) &&
         rfl_store_unindex_record (self, row.rowid, error) &&
         rfl_store_journal_append (self, id, row.rowid, rfl_op_name (RFL_OP_DELETE), 0, changes, NULL, row.cl + 1, error);
}

/* A change to one record, with its audit entry. */
typedef enum
{
  CHANGE_UPDATE,
  CHANGE_DELETE,
  CHANGE_OPERATOR_DELETE,
} ChangeKind;

typedef struct
{
  ChangeKind  kind;
  const char *id;
  JsonObject *patch;    /* CHANGE_UPDATE */
  const char *reason;   /* CHANGE_OPERATOR_DELETE */
} ChangeArgs;

/* Fields that people do not write by hand: a merge's bookkeeping, which
 * only rfl_store_merge_duplicate() and its unmerge keep true, and what HQ
 * tells an office of a pair across offices, of which the office writes only
 * its interest. @patch is a new record of @type, or a patch to one. */
static gboolean
check_hand_written (JsonObject  *patch,
                    const char  *type,
                    gboolean     creating,
                    GError     **error)
{
  static const char * const merge_fields[] = { "merged", "merged_into", "status_before_merge", NULL };
  static const char * const interest[] = { "interested", "interest_reason", "interest_by", NULL };
  JsonObjectIter iter;
  const char *name;

  if (g_strcmp0 (type, "office_match") == 0 && creating)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                   _("proposals from other offices are written by HQ only"));
      return FALSE;
    }
  json_object_iter_init (&iter, patch);
  while (json_object_iter_next (&iter, &name, NULL))
    {
      if (g_strv_contains (merge_fields, name))
        {
          g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                       _("field '%s': written by merge and unmerge only"), name);
          return FALSE;
        }
      if (g_strcmp0 (type, "office_match") == 0 && !g_strv_contains (interest, name) &&
          !g_str_equal (name, "id") && !g_str_equal (name, "type"))
        {
          g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                       _("field '%s': written by HQ only; an office says only whether it is interested"), name);
          return FALSE;
        }
    }
  return TRUE;
}

/* Deletes @id inside the caller's write, as HQ's operators may. */
gboolean
rfl_store_delete_locked (RflStore    *self,
                         const char  *id,
                         GError     **error)
{
  return delete_locked (self, id, TRUE, error);
}

static gboolean
change_locked (RflStore  *self,
               gpointer   data,
               GError   **error)
{
  ChangeArgs *args = data;

  switch (args->kind)
    {
    case CHANGE_UPDATE:
      {
        g_auto(RflRecordRow) row = { 0 };

        if (!rfl_store_load_record (self, args->id, RFL_LOAD_LIVE, &row, error) ||
            !check_hand_written (args->patch, row.type, FALSE, error))
          return FALSE;
      }
      return rfl_store_update_locked (self, args->id, args->patch, error) &&
             rfl_store_audit_append (self, "update", args->id, NULL, error);
    case CHANGE_DELETE:
      return delete_locked (self, args->id, FALSE, error) &&
             rfl_store_audit_append (self, "delete", args->id, NULL, error);
    case CHANGE_OPERATOR_DELETE:
      return delete_locked (self, args->id, TRUE, error) &&
             rfl_store_audit_append (self, "operator-delete", args->id, args->reason, error) &&
             rfl_store_audit_append (self, "delete", args->id, NULL, error);
    default:
      g_assert_not_reached ();
    }
}

static gboolean
add_locked (RflStore  *self,
            gpointer   data,
            GError   **error)
{
  Prepared *p = data;

  return write_prepared (self, p, error) &&
         rfl_store_audit_append (self, "create", p->id, NULL, error);
}

/* Adds @record inside the caller's write, with its journal and audit
 * entries; its id in @id. */
gboolean
rfl_store_add_locked (RflStore    *self,
                      JsonObject  *record,
                      char       **id,
                      GError     **error)
{
  g_autoptr(Prepared) p = prepare (self, record, error);

  if (p == NULL || !add_locked (self, p, error))
    return FALSE;
  if (id != NULL)
    *id = g_strdup (p->id);
  return TRUE;
}

/**
 * rfl_store_add:
 * @self: an open store
 * @record: the record to add; defaults and person ids are filled in
 * @error: return location for an error
 *
 * Validates @record against the record schema and adds it, with its journal
 * entry and an audit entry, in one transaction.
 *
 * Returns: (transfer full): the new record's id, or %NULL on error
 */
char *
rfl_store_add (RflStore    *self,
               JsonObject  *record,
               GError     **error)
{
  g_autoptr(Prepared) p = NULL;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  g_return_val_if_fail (record != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  /* Who wrote a note, and who gave a case its first status, go with the
   * record to every replica. */
  {
    const char *type = rfl_json_string_or (record, "type", "");
    g_autofree char *actor = NULL;

    rfl_store_lock (self);
    actor = g_strdup (self->actor);
    rfl_store_unlock (self);
    if (actor != NULL && !json_object_has_member (record, "by") && rfl_schema_has_field (self->schema, type, "by"))
      json_object_set_string_member (record, "by", actor);
    if (actor != NULL && !json_object_has_member (record, "status_by") &&
        rfl_schema_has_field (self->schema, type, "status_by"))
      json_object_set_string_member (record, "status_by", actor);
  }

  if (!check_hand_written (record, rfl_json_string_or (record, "type", ""), TRUE, error) ||
      (p = prepare (self, record, error)) == NULL)
    return NULL;

  if (!rfl_store_write (self, add_locked, p, error))
    return NULL;
  return g_strdup (p->id);
}

/**
 * rfl_store_update:
 * @self: an open store
 * @id: the record's id
 * @patch: a JSON merge patch of top-level fields; null removes a field
 * @error: return location for an error
 *
 * Changes a record. Status changes must follow the record type's lifecycle.
 */
gboolean
rfl_store_update (RflStore    *self,
                  const char  *id,
                  JsonObject  *patch,
                  GError     **error)
{
  ChangeArgs args = { CHANGE_UPDATE, id, patch, NULL };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);
  g_return_val_if_fail (patch != NULL, FALSE);

  return rfl_store_write (self, change_locked, &args, error);
}

gboolean
rfl_store_delete (RflStore    *self,
                  const char  *id,
                  GError     **error)
{
  ChangeArgs args = { CHANGE_DELETE, id, NULL, NULL };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (id != NULL, FALSE);

  return rfl_store_write (self, change_locked, &args, error);
}

/**
 * rfl_store_delete_as_operator:
 * @reason: why, for the audit log
 *
 * Deletes a record as HQ's operators may: an open case too, whoever
 * registered it. The deletion syncs like any other.
 */
gboolean
rfl_store_delete_as_operator (RflStore    *self,
                              const char  *id,
                              const char  *reason,
                              GError     **error)
{
  ChangeArgs args = { CHANGE_OPERATOR_DELETE, id, NULL, reason };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (id != NULL && reason != NULL, FALSE);

  return rfl_store_write (self, change_locked, &args, error);
}

/* The record's status changes, oldest first: to what, when, on which
 * device, by whom (the "status_by" the change carried) and why (the field
 * the lifecycle asks to explain the new status). */
static JsonArray *
status_history (RflStore       *self,
                sqlite3_int64   rowid,
                const char     *type,
                GError        **error)
{
  g_autoptr(JsonArray) history = json_array_new ();
  sqlite3_stmt *st;
  int rc;

  st = rfl_store_stmt (self, "SELECT hlc, device, changes ->> '$.status', changes ->> '$.status_by', changes"
                   " FROM journal WHERE record_row = ?1 AND changes ->> '$.status' IS NOT NULL"
                   " ORDER BY hlc", error);
  if (st == NULL)
    return NULL;
  sqlite3_bind_int64 (st, 1, rowid);
  while ((rc = sqlite3_step (st)) == SQLITE_ROW)
    {
      JsonObject *entry = json_object_new ();
      g_autofree char *at = rfl_iso_from_ms ((gint64) ((guint64) sqlite3_column_int64 (st, 0) >> 16));
      const char *status = (const char *) sqlite3_column_text (st, 2);
      const char *reason_field = rfl_schema_get_reason_field (self->schema, type, status);

      json_object_set_string_member (entry, "status", status);
      json_object_set_string_member (entry, "at", at);
      json_object_set_string_member (entry, "device", (const char *) sqlite3_column_text (st, 1));
      if (sqlite3_column_type (st, 3) != SQLITE_NULL)
        json_object_set_string_member (entry, "by", (const char *) sqlite3_column_text (st, 3));
      if (reason_field != NULL)
        {
          g_autoptr(JsonNode) changes = json_from_string ((const char *) sqlite3_column_text (st, 4), NULL);
          JsonObject *obj = changes != NULL && JSON_NODE_HOLDS_OBJECT (changes) ? json_node_get_object (changes)
                                                                               : NULL;
          const char *reason = obj != NULL ? rfl_json_string_or (obj, reason_field, NULL)
                                           : NULL;

          if (reason != NULL)
            json_object_set_string_member (entry, "reason", reason);
        }
      json_array_add_object_element (history, entry);
    }
  if (rc != SQLITE_DONE)
    {
      rfl_store_sql_fail (self, error, "reading the status history");
      return NULL;
    }
  return g_steal_pointer (&history);
}

typedef struct
{
  const char *id;
  JsonObject *out;
} GetArgs;

static gboolean
get_locked (RflStore  *self,
            gpointer   data,
            GError   **error)
{
  GetArgs *args = data;
  g_auto(RflRecordRow) row = { 0 };
  g_autoptr(JsonArray) history = NULL;
  g_autofree char *created = NULL, *updated = NULL;

  if (!rfl_store_load_record (self, args->id, RFL_LOAD_LIVE, &row, error) ||
      (history = status_history (self, row.rowid, rfl_json_string_or (row.doc, "type", ""),
                                 error)) == NULL ||
      !rfl_store_audit_read (self, "view", args->id, NULL, error))
    return FALSE;

  created = rfl_iso_from_ms (row.created_at);
  updated = rfl_iso_from_ms (row.updated_at);
  args->out = json_object_new ();
  json_object_set_string_member (args->out, "id", args->id);
  rfl_json_copy_members (args->out, row.doc);
  json_object_set_string_member (args->out, "created_at", created);
  json_object_set_string_member (args->out, "updated_at", updated);
  if (json_array_get_length (history) > 0)
    json_object_set_array_member (args->out, "status_history", g_steal_pointer (&history));
  return TRUE;
}

/**
 * rfl_store_get:
 * @self: an open store
 * @id: a record id
 * @error: return location for an error
 *
 * Reads a record with its id, timestamps and status history. The view is
 * recorded in the audit log.
 *
 * Returns: (transfer full): the record, or %NULL on error
 */
JsonObject *
rfl_store_get (RflStore    *self,
               const char  *id,
               GError     **error)
{
  GetArgs args = { id, NULL };

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  g_return_val_if_fail (id != NULL, NULL);

  if (!rfl_store_read (self, get_locked, &args, error))
    return NULL;
  return args.out;
}

static char *
import_key (const char *source)
{
  return g_strconcat ("import:", source, NULL);
}

struct _RflStoreBatch
{
  GPtrArray *records;   /* Prepared */
};

void
rfl_store_batch_free (RflStoreBatch *batch)
{
  if (batch == NULL)
    return;
  g_ptr_array_unref (batch->records);
  g_free (batch);
}

guint
rfl_store_batch_get_length (RflStoreBatch *batch)
{
  g_return_val_if_fail (batch != NULL, 0);
  return batch->records->len;
}

/**
 * rfl_store_prepare_batch:
 * @self: a store
 * @records: (element-type JsonObject): new records; defaults and ids are filled in
 * @failed_index: (out) (optional): which record failed
 * @error: return location for an error
 *
 * Validates @records and computes what will be written for them, without
 * touching the database: an importer can prepare the next batch on one
 * thread while rfl_store_write_batch() writes the previous one on another.
 *
 * Returns: (transfer full): the prepared batch, or %NULL if a record is invalid
 */
RflStoreBatch *
rfl_store_prepare_batch (RflStore   *self,
                         GPtrArray  *records,
                         guint      *failed_index,
                         GError    **error)
{
  RflStoreBatch *batch;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  g_return_val_if_fail (records != NULL, NULL);

  batch = g_new0 (RflStoreBatch, 1);
  batch->records = g_ptr_array_new_full (records->len, (GDestroyNotify) prepared_free);
  for (guint i = 0; i < records->len; i++)
    {
      JsonObject *record = g_ptr_array_index (records, i);
      Prepared *p = NULL;

      if (check_hand_written (record, rfl_json_string_or (record, "type", ""), TRUE, error))
        p = prepare (self, record, error);
      if (p == NULL)
        {
          if (failed_index != NULL)
            *failed_index = i;
          rfl_store_batch_free (batch);
          return NULL;
        }
      g_ptr_array_add (batch->records, p);
    }
  return batch;
}

typedef struct
{
  RflStoreBatch *batch;
  const char    *key;
  const char    *value;
  const char    *detail;
  guint          written;
} BatchArgs;

static gboolean
write_batch_locked (RflStore  *self,
                    gpointer   data,
                    GError   **error)
{
  BatchArgs *args = data;

  for (args->written = 0; args->written < args->batch->records->len; args->written++)
    if (!write_prepared (self, g_ptr_array_index (args->batch->records, args->written), error))
      return FALSE;
  return rfl_store_meta_set (self, args->key, args->value, error) &&
         rfl_store_audit_append (self, "import", NULL, args->detail, error);
}

/**
 * rfl_store_write_batch:
 * @self: an open store
 * @source: a stable name for the input (a hash of the file), so an
 *   interrupted import can resume
 * @through: the input position this batch ends at, saved with the batch
 * @batch: records from rfl_store_prepare_batch()
 * @failed_index: (out) (optional): which record failed
 * @error: return location for an error
 *
 * Adds all records of @batch in one transaction, or none of them.
 */
gboolean
rfl_store_write_batch (RflStore       *self,
                       const char     *source,
                       guint64         through,
                       RflStoreBatch  *batch,
                       guint          *failed_index,
                       GError        **error)
{
  g_autofree char *key = NULL, *value = NULL, *detail = NULL;
  BatchArgs args = { batch, NULL, NULL, NULL, 0 };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (source != NULL, FALSE);
  g_return_val_if_fail (batch != NULL, FALSE);

  args.key = key = import_key (source);
  args.value = value = g_strdup_printf ("%" G_GUINT64_FORMAT, through);
  args.detail = detail = g_strdup_printf ("%u records from %s through %" G_GUINT64_FORMAT,
                                          batch->records->len, source, through);
  if (rfl_store_write (self, write_batch_locked, &args, error))
    return TRUE;
  /* The record that failed, or the last one when the commit did. */
  if (failed_index != NULL)
    *failed_index = MIN (args.written, batch->records->len > 0 ? batch->records->len - 1 : 0);
  return FALSE;
}

/**
 * rfl_store_import_batch:
 * @self: an open store
 * @source: see rfl_store_write_batch()
 * @through: see rfl_store_write_batch()
 * @records: (element-type JsonObject): the records to add
 * @failed_index: (out) (optional): which record failed
 * @error: return location for an error
 *
 * Prepares and writes @records in one transaction, or none of them.
 */
gboolean
rfl_store_import_batch (RflStore    *self,
                        const char  *source,
                        guint64      through,
                        GPtrArray   *records,
                        guint       *failed_index,
                        GError     **error)
{
  RflStoreBatch *batch = rfl_store_prepare_batch (self, records, failed_index, error);
  gboolean ok;

  if (batch == NULL)
    return FALSE;
  ok = rfl_store_write_batch (self, source, through, batch, failed_index, error);
  rfl_store_batch_free (batch);
  return ok;
}

guint64
rfl_store_get_import_progress (RflStore   *self,
                               const char *source)
{
  g_autofree char *key = NULL, *value = NULL;

  g_return_val_if_fail (RFL_IS_STORE (self), 0);
  g_return_val_if_fail (source != NULL, 0);

  key = import_key (source);
  rfl_store_lock (self);
  if (self->db != NULL)
    value = rfl_store_meta_get (self, key);
  rfl_store_unlock (self);
  return value != NULL ? g_ascii_strtoull (value, NULL, 10) : 0;
}
