/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The asynchronous API: the same operations in a worker thread, so that a UI
 * thread never waits on Argon2id or the disk. */
#define G_LOG_DOMAIN "rfl-store"

#include "rfl-store-private.h"
#include "rfl-json.h"

#include <sodium.h>
#include <sqlite3.h>
#include <string.h>
#include <glib/gi18n-lib.h>

/* Each operation is a WorkFunc run by one runner in a GTask thread: it
 * returns the result, or %NULL with @error set. Reads check the cancellable
 * first (typing produces a stream of searches; a superseded one is dropped
 * before it runs); opening and saving run to the end once started. */

typedef struct _TaskData TaskData;
typedef gpointer (*WorkFunc) (RflStore  *self,
                              TaskData  *data,
                              GError   **error);

struct _TaskData
{
  WorkFunc        work;
  GDestroyNotify  result_free;
  gboolean        drop_if_cancelled;
  char           *path;
  char           *passphrase;   /* sodium_malloc'd */
  gsize           passphrase_len;
  char           *type;
  char           *status;
  char           *id;
  guint           offset;
  guint           limit;
  JsonObject     *record;
};

static void
task_data_free (TaskData *data)
{
  g_free (data->path);
  if (data->passphrase != NULL)
    sodium_free (data->passphrase);
  g_free (data->type);
  g_free (data->status);
  g_free (data->id);
  g_clear_pointer (&data->record, json_object_unref);
  g_free (data);
}

static void
run_thread (GTask        *task,
            gpointer      source_object,
            gpointer      task_data,
            GCancellable *cancellable)
{
  TaskData *data = task_data;
  GError *error = NULL;
  gpointer result;

  if (data->drop_if_cancelled && g_task_return_error_if_cancelled (task))
    return;
  if ((result = data->work (source_object, data, &error)) == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, result, data->result_free);
}

/* Takes @data. */
static void
run_async (RflStore            *self,
           TaskData            *data,
           gpointer             source_tag,
           GCancellable        *cancellable,
           GAsyncReadyCallback  callback,
           gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, data, (GDestroyNotify) task_data_free);
  g_task_run_in_thread (task, run_thread);
}

/* The result of a task run_async() started with @source_tag. */
static gpointer
propagate (gpointer       source,
           GAsyncResult  *result,
           gpointer       source_tag,
           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, source), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static TaskData *
task_data_new (WorkFunc       work,
               GDestroyNotify result_free,
               gboolean       drop_if_cancelled)
{
  TaskData *data = g_new0 (TaskData, 1);

  data->work = work;
  data->result_free = result_free;
  data->drop_if_cancelled = drop_if_cancelled;
  return data;
}

static gpointer
open_work (RflStore  *self,
           TaskData  *data,
           GError   **error)
{
  return rfl_store_open (data->path, data->passphrase, data->passphrase_len, error);
}

void
rfl_store_open_async (const char          *path,
                      const char          *passphrase,
                      gsize                passphrase_len,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  TaskData *data;

  g_return_if_fail (path != NULL);
  g_return_if_fail (passphrase != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  data = task_data_new (open_work, g_object_unref, FALSE);
  data->path = g_strdup (path);
  data->passphrase = sodium_malloc (passphrase_len + 1);
  memcpy (data->passphrase, passphrase, passphrase_len);
  data->passphrase[passphrase_len] = '\0';
  data->passphrase_len = passphrase_len;
  run_async (NULL, data, rfl_store_open_async, cancellable, callback, user_data);
}

RflStore *
rfl_store_open_finish (GAsyncResult  *result,
                       GError       **error)
{
  return propagate (NULL, result, rfl_store_open_async, error);
}

static gpointer
list_work (RflStore  *self,
           TaskData  *data,
           GError   **error)
{
  return rfl_store_list (self, data->type, data->status, data->offset, data->limit, error);
}

void
rfl_store_list_async (RflStore            *self,
                      const char          *type,
                      const char          *status,
                      guint                offset,
                      guint                limit,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  TaskData *data;

  g_return_if_fail (RFL_IS_STORE (self));
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  data = task_data_new (list_work, (GDestroyNotify) g_ptr_array_unref, TRUE);
  data->type = g_strdup (type);
  data->status = g_strdup (status);
  data->offset = offset;
  data->limit = limit;
  run_async (self, data, rfl_store_list_async, cancellable, callback, user_data);
}

GPtrArray *
rfl_store_list_finish (RflStore      *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  return propagate (self, result, rfl_store_list_async, error);
}

static gpointer
search_work (RflStore  *self,
             TaskData  *data,
             GError   **error)
{
  return rfl_store_search (self, data->id, data->limit, error);
}

void
rfl_store_search_async (RflStore            *self,
                        const char          *query,
                        guint                limit,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  TaskData *data;

  g_return_if_fail (RFL_IS_STORE (self));
  g_return_if_fail (query != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  data = task_data_new (search_work, (GDestroyNotify) g_ptr_array_unref, TRUE);
  data->id = g_strdup (query);
  data->limit = limit;
  run_async (self, data, rfl_store_search_async, cancellable, callback, user_data);
}

GPtrArray *
rfl_store_search_finish (RflStore      *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  return propagate (self, result, rfl_store_search_async, error);
}

/* The names of the records a merge links @record to, by id, in its
 * `merged_names` member, for a person to read instead of ids. */
static void
add_merged_names (RflStore   *self,
                  JsonObject *record)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new ();
  JsonObject *names = json_object_new ();
  JsonArray *merged = NULL;
  JsonNode *node;

  if (json_object_has_member (record, "merged_into"))
    g_ptr_array_add (ids, (gpointer) rfl_json_string_or (record, "merged_into", NULL));
  if ((node = json_object_get_member (record, "merged")) != NULL && JSON_NODE_HOLDS_ARRAY (node))
    merged = json_node_get_array (node);
  for (guint i = 0; merged != NULL && i < json_array_get_length (merged); i++)
    {
      JsonNode *entry = json_array_get_element (merged, i);

      if (JSON_NODE_HOLDS_OBJECT (entry))
        g_ptr_array_add (ids, (gpointer) rfl_json_string_or (json_node_get_object (entry), "from", NULL));
    }
  for (guint i = 0; i < ids->len; i++)
    {
      const char *id = g_ptr_array_index (ids, i);
      g_autoptr(JsonObject) other = NULL;
      g_autofree char *name = NULL;

      if (id == NULL || json_object_has_member (names, id) || (other = rfl_store_get (self, id, NULL)) == NULL)
        continue;
      if ((name = rfl_record_display_name (other)) != NULL)
        json_object_set_string_member (names, id, name);
    }
  json_object_set_object_member (record, "merged_names", names);
}

static gpointer
get_work (RflStore  *self,
          TaskData  *data,
          GError   **error)
{
  g_autoptr(JsonObject) record = NULL;
  g_autoptr(GPtrArray) notes = NULL;
  JsonArray *array;

  if ((record = rfl_store_get (self, data->id, error)) == NULL ||
      (notes = rfl_store_list_notes (self, data->id, error)) == NULL)
    return NULL;
  array = json_array_sized_new (notes->len);
  for (guint i = 0; i < notes->len; i++)
    json_array_add_object_element (array, json_object_ref (g_ptr_array_index (notes, i)));
  json_object_set_array_member (record, "notes", array);
  add_merged_names (self, record);
  return g_steal_pointer (&record);
}

/**
 * rfl_store_get_async:
 * @self: an open store
 * @id: a record id
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the record
 * @user_data: data for @callback
 *
 * Reads a record as rfl_store_get() does, in a worker thread, with the notes
 * about it (rfl_store_list_notes()) in its `notes` member, and in
 * `merged_names` the names of the records a merge links it to, by id
 * (rfl_store_merge_duplicate()).
 */
void
rfl_store_get_async (RflStore            *self,
                     const char          *id,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  TaskData *data;

  g_return_if_fail (RFL_IS_STORE (self));
  g_return_if_fail (id != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  data = task_data_new (get_work, (GDestroyNotify) json_object_unref, TRUE);
  data->id = g_strdup (id);
  run_async (self, data, rfl_store_get_async, cancellable, callback, user_data);
}

/**
 * rfl_store_get_finish:
 *
 * Returns: (transfer full): the record with its notes, or %NULL on error
 */
JsonObject *
rfl_store_get_finish (RflStore      *self,
                      GAsyncResult  *result,
                      GError       **error)
{
  return propagate (self, result, rfl_store_get_async, error);
}

static gpointer
summarize_work (RflStore  *self,
                TaskData  *data,
                GError   **error)
{
  return rfl_store_summarize (self, data->limit, error);
}

void
rfl_store_summarize_async (RflStore            *self,
                           guint                weeks,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  TaskData *data;

  g_return_if_fail (RFL_IS_STORE (self));
  g_return_if_fail (weeks > 0 && weeks <= 520);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  data = task_data_new (summarize_work, (GDestroyNotify) json_object_unref, TRUE);
  data->limit = weeks;
  run_async (self, data, rfl_store_summarize_async, cancellable, callback, user_data);
}

JsonObject *
rfl_store_summarize_finish (RflStore      *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  return propagate (self, result, rfl_store_summarize_async, error);
}

static gpointer
save_work (RflStore  *self,
           TaskData  *data,
           GError   **error)
{
  if (data->id == NULL)
    return rfl_store_add (self, data->record, error);
  if (!rfl_store_update (self, data->id, data->record, error))
    return NULL;
  return g_strdup (data->id);
}

/**
 * rfl_store_save_async:
 * @self: an open store
 * @id: (nullable): the record to update, or %NULL to add @record
 * @record: the new record, or a patch for @id
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the record is saved
 * @user_data: data for @callback
 *
 * Adds or updates a record in a worker thread. The record is copied.
 */
void
rfl_store_save_async (RflStore            *self,
                      const char          *id,
                      JsonObject          *record,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autoptr(JsonNode) copy = NULL;
  TaskData *data;

  g_return_if_fail (RFL_IS_STORE (self));
  g_return_if_fail (record != NULL);
  g_return_if_fail (!cancellable || G_IS_CANCELLABLE (cancellable));

  copy = json_node_copy (json_node_init_object (json_node_alloc (), record));
  data = task_data_new (save_work, g_free, FALSE);
  data->id = g_strdup (id);
  data->record = json_object_ref (json_node_get_object (copy));
  run_async (self, data, rfl_store_save_async, cancellable, callback, user_data);
}

/**
 * rfl_store_save_finish:
 *
 * Returns: (transfer full): the id of the saved record, or %NULL on error
 */
char *
rfl_store_save_finish (RflStore      *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  return propagate (self, result, rfl_store_save_async, error);
}
