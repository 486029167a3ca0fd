/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-cases"

#include "rfl-case-item.h"
#include "rfl-case-list-model.h"

/*
 * All live cases, most recently changed first, as a GListModel that pages
 * from the store. The count comes first, off the UI thread; each item is
 * handed out empty and filled when the page holding it arrives. At most
 * RFL_CASE_LIST_MAX_PAGES pages are kept; the least recently used goes
 * first, so scrolling through 515,000 cases holds a few thousand.
 */

struct _RflCaseListModel
{
  GObject       parent_instance;

  RflStore     *store;
  char         *type;
  char         *status;
  guint         n_items;
  guint         generation;   /* bumped by every refresh; stale answers are dropped */
  GHashTable   *pages;        /* page number -> GPtrArray of RflCaseItem */
  GQueue        lru;          /* page numbers, most recent first */
  GCancellable *cancellable;
  guint         pending;      /* queries in flight */
};

static void list_model_iface_init (GListModelInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (RflCaseListModel, rfl_case_list_model, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_LIST_MODEL, list_model_iface_init))

enum {
  PROP_0,
  PROP_N_ITEMS,
  PROP_LOADING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

typedef struct
{
  RflCaseListModel *self;
  guint             generation;
  guint             page;
} PageLoad;

static void
set_pending (RflCaseListModel *self,
             int               delta)
{
  gboolean was = self->pending > 0;

  self->pending += delta;
  if (was != (self->pending > 0))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOADING]);
}

static void
page_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  PageLoad *load = user_data;
  RflCaseListModel *self = load->self;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = rfl_store_list_finish (RFL_STORE (source), result, &error);
  GPtrArray *items;

  if (rows == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_warning ("Cannot read cases: %s", error->message);
  if (rows != NULL && load->generation == self->generation &&
      (items = g_hash_table_lookup (self->pages, GUINT_TO_POINTER (load->page))) != NULL)
    for (guint i = 0; i < rows->len && i < items->len; i++)
      rfl_case_item_set_summary (g_ptr_array_index (items, i), g_ptr_array_index (rows, i));
  set_pending (self, -1);
  g_object_unref (self);
  g_free (load);
}

static void
touch_page (RflCaseListModel *self,
            guint             page)
{
  GList *link = g_queue_find (&self->lru, GUINT_TO_POINTER (page));

  if (link != NULL)
    g_queue_unlink (&self->lru, link);
  else
    link = g_list_alloc ();
  link->data = GUINT_TO_POINTER (page);
  g_queue_push_head_link (&self->lru, link);
  while (self->lru.length > RFL_CASE_LIST_MAX_PAGES)
    g_hash_table_remove (self->pages, g_queue_pop_tail (&self->lru));
}

static GPtrArray *
ensure_page (RflCaseListModel *self,
             guint             page)
{
  GPtrArray *items = g_hash_table_lookup (self->pages, GUINT_TO_POINTER (page));
  PageLoad *load;
  guint first = page * RFL_CASE_LIST_PAGE;
  guint n = MIN (RFL_CASE_LIST_PAGE, self->n_items - first);

  touch_page (self, page);
  if (items != NULL)
    return items;

  items = g_ptr_array_new_full (n, g_object_unref);
  for (guint i = 0; i < n; i++)
    g_ptr_array_add (items, rfl_case_item_new ());
  g_hash_table_insert (self->pages, GUINT_TO_POINTER (page), items);

  load = g_new0 (PageLoad, 1);
  load->self = g_object_ref (self);
  load->generation = self->generation;
  load->page = page;
  set_pending (self, 1);
  rfl_store_list_async (self->store, self->type, self->status, first, n, self->cancellable, page_cb, load);
  return items;
}

static GType
get_item_type (GListModel *model)
{
  return RFL_TYPE_CASE_ITEM;
}

static guint
get_n_items (GListModel *model)
{
  return RFL_CASE_LIST_MODEL (model)->n_items;
}

static gpointer
get_item (GListModel *model,
          guint       position)
{
  RflCaseListModel *self = RFL_CASE_LIST_MODEL (model);
  GPtrArray *items;

  if (position >= self->n_items)
    return NULL;
  items = ensure_page (self, position / RFL_CASE_LIST_PAGE);
  return g_object_ref (g_ptr_array_index (items, position % RFL_CASE_LIST_PAGE));
}

static void
list_model_iface_init (GListModelInterface *iface)
{
  iface->get_item_type = get_item_type;
  iface->get_n_items = get_n_items;
  iface->get_item = get_item;
}

typedef struct
{
  char *type;
  char *status;
} CountQuery;

static void
count_query_free (CountQuery *query)
{
  g_free (query->type);
  g_free (query->status);
  g_free (query);
}

static void
count_thread (GTask        *task,
              gpointer      source,
              gpointer      task_data,
              GCancellable *cancellable)
{
  RflCaseListModel *self = source;
  CountQuery *query = task_data;
  g_autoptr(GError) error = NULL;
  gint64 n = rfl_store_count (self->store, query->type, query->status, &error);

  if (n < 0)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    g_task_return_int (task, n);
}

static void
count_cb (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  RflCaseListModel *self = RFL_CASE_LIST_MODEL (source);
  guint generation = GPOINTER_TO_UINT (user_data);
  g_autoptr(GError) error = NULL;
  gssize n = g_task_propagate_int (G_TASK (result), &error);
  guint old = self->n_items;

  set_pending (self, -1);
  if (n < 0)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_warning ("Cannot count cases: %s", error->message);
      return;
    }
  if (generation != self->generation)
    return;
  g_hash_table_remove_all (self->pages);
  g_queue_clear (&self->lru);
  self->n_items = (guint) MIN (n, (gssize) G_MAXUINT);
  g_list_model_items_changed (G_LIST_MODEL (self), 0, old, self->n_items);
  if (old != self->n_items)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_N_ITEMS]);
}

/**
 * rfl_case_list_model_refresh:
 *
 * Counts again and drops every page: after a change, or a new filter.
 */
void
rfl_case_list_model_refresh (RflCaseListModel *self)
{
  g_autoptr(GTask) task = NULL;
  CountQuery *query;

  g_return_if_fail (RFL_IS_CASE_LIST_MODEL (self));

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  self->generation++;

  query = g_new0 (CountQuery, 1);
  query->type = g_strdup (self->type);
  query->status = g_strdup (self->status);
  task = g_task_new (self, self->cancellable, count_cb, GUINT_TO_POINTER (self->generation));
  g_task_set_source_tag (task, rfl_case_list_model_refresh);
  g_task_set_task_data (task, query, (GDestroyNotify) count_query_free);
  set_pending (self, 1);
  g_task_run_in_thread (task, count_thread);
}

static void
rfl_case_list_model_dispose (GObject *object)
{
  RflCaseListModel *self = RFL_CASE_LIST_MODEL (object);

  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->store);
  G_OBJECT_CLASS (rfl_case_list_model_parent_class)->dispose (object);
}

static void
rfl_case_list_model_finalize (GObject *object)
{
  RflCaseListModel *self = RFL_CASE_LIST_MODEL (object);

  g_hash_table_unref (self->pages);
  g_queue_clear (&self->lru);
  g_free (self->type);
  g_free (self->status);
  G_OBJECT_CLASS (rfl_case_list_model_parent_class)->finalize (object);
}

static void
rfl_case_list_model_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  RflCaseListModel *self = RFL_CASE_LIST_MODEL (object);

  switch (prop_id)
    {
    case PROP_N_ITEMS:
      g_value_set_uint (value, self->n_items);
      break;
    case PROP_LOADING:
      g_value_set_boolean (value, self->pending > 0);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
rfl_case_list_model_class_init (RflCaseListModelClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = rfl_case_list_model_dispose;
  object_class->finalize = rfl_case_list_model_finalize;
  object_class->get_property = rfl_case_list_model_get_property;

  properties[PROP_N_ITEMS] =
    g_param_spec_uint ("n-items", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  properties[PROP_LOADING] =
    g_param_spec_boolean ("loading", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
rfl_case_list_model_init (RflCaseListModel *self)
{
  self->pages = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_ptr_array_unref);
  g_queue_init (&self->lru);
}

/**
 * rfl_case_list_model_new:
 * @type: (nullable): only this type, or these comma-separated types
 * @status: (nullable): only this status
 *
 * Returns: (transfer full): the live cases of @store; empty until the first
 *   count arrives
 */
RflCaseListModel *
rfl_case_list_model_new (RflStore   *store,
                         const char *type,
                         const char *status)
{
  RflCaseListModel *self;

  g_return_val_if_fail (RFL_IS_STORE (store), NULL);

  self = g_object_new (RFL_TYPE_CASE_LIST_MODEL, NULL);
  self->store = g_object_ref (store);
  self->type = g_strdup (type);
  self->status = g_strdup (status);
  rfl_case_list_model_refresh (self);
  return self;
}

/**
 * rfl_case_list_model_set_filter:
 * @type: (nullable): only this record type
 * @status: (nullable): only this status
 */
void
rfl_case_list_model_set_filter (RflCaseListModel *self,
                                const char       *type,
                                const char       *status)
{
  g_return_if_fail (RFL_IS_CASE_LIST_MODEL (self));

  if (g_strcmp0 (type, self->type) == 0 && g_strcmp0 (status, self->status) == 0)
    return;
  g_free (self->type);
  g_free (self->status);
  self->type = g_strdup (type);
  self->status = g_strdup (status);
  rfl_case_list_model_refresh (self);
}

gboolean
rfl_case_list_model_get_loading (RflCaseListModel *self)
{
  g_return_val_if_fail (RFL_IS_CASE_LIST_MODEL (self), FALSE);

  return self->pending > 0;
}

guint
rfl_case_list_model_get_pages_held (RflCaseListModel *self)
{
  g_return_val_if_fail (RFL_IS_CASE_LIST_MODEL (self), 0);

  return g_hash_table_size (self->pages);
}
