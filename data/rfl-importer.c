/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "rfl-importer"

#include "rfl-importer.h"
#include "rfl-file.h"
#include "rfl-json.h"
#include "rfl-schema.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <glib/gi18n-lib.h>

/*
 * Bulk import of JSON lines, in two passes.
 *
 * The first pass checks every line (size, JSON, record schema) and hashes the
 * file, before anything is written: a bad line fails the whole import, with
 * its line number, and the database is untouched. Lines are checked on a
 * worker per core, a thousand at a time, and taken in order. The hash names the input,
 * so that an interrupted import resumes after the last committed batch.
 *
 * The second pass runs on two threads: a reader parses and prepares the next
 * batch (validation, serialisation, name transliteration) while the caller's
 * thread writes the previous one, each batch in one transaction with the
 * position it ends at. At most QUEUE_DEPTH batches wait between the threads.
 */

#define MAX_LINE_BYTES (1 << 20)
/* Large batches matter: record ids arrive in random order, and each batch
 * rewrites most leaf pages of the id index whatever its size. Batches of
 * 10,000 imported 515,000 records 10% faster than 2,000; 5,000 were as fast
 * as 10,000 with 40 MB less memory (all measured). */
#define QUEUE_DEPTH    2

struct _RflImporter
{
  GObject                parent_instance;

  char                  *path;
  char                  *source;
  guint64                n_lines;
  guint64                imported;
  guint64                resumed;
  GPtrArray             *ids;      /* the ids the records carry, in order */
  GArray                *id_lines; /* guint64: the line of each */
  RflImportProgressFunc  progress;
  gpointer               progress_data;
};

G_DEFINE_FINAL_TYPE (RflImporter, rfl_importer, G_TYPE_OBJECT)

typedef struct
{
  FILE    *file;
  GString *line;
  guint64  number;
  gboolean too_long;
} LineReader;

/* Reads the next line, keeping at most MAX_LINE_BYTES of it, so that a
 * hostile file cannot make us buffer without limit. */
static gboolean
next_line (LineReader *reader)
{
  int c;

  g_string_truncate (reader->line, 0);
  reader->too_long = FALSE;
  c = getc_unlocked (reader->file);
  if (c == EOF)
    return FALSE;
  for (; c != EOF && c != '\n'; c = getc_unlocked (reader->file))
    {
      if (reader->line->len < MAX_LINE_BYTES)
        g_string_append_c (reader->line, c);
      else
        reader->too_long = TRUE;
    }
  reader->number++;
  return TRUE;
}

static gboolean
is_blank (GString *line)
{
  for (gsize i = 0; i < line->len; i++)
    if (!g_ascii_isspace (line->str[i]))
      return FALSE;
  return TRUE;
}

static JsonObject *
parse_line (LineReader  *reader,
            JsonParser  *parser,
            GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  JsonObject *record;

  if (reader->too_long)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                   _("line %llu: longer than %d bytes"), (unsigned long long) reader->number, MAX_LINE_BYTES);
      return NULL;
    }
  if ((record = rfl_json_parse_object_with (parser, reader->line->str, reader->line->len, _("the record"),
                                            &local_error)) == NULL)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                   _("line %llu: %s"), (unsigned long long) reader->number, local_error->message);
      return NULL;
    }
  return record;
}

static FILE *
open_input (RflImporter  *self,
            GError      **error)
{
  g_autoptr(GError) local_error = NULL;
  FILE *file;
  /* A regular file only: the import reads it twice, to check every line and
   * then to write, so a pipe (/dev/stdin) would be empty the second time,
   * and a device such as /dev/zero never ends. */
  int fd = rfl_file_open (self->path, RFL_FILE_OR_PIPE, &local_error);
  struct stat st;

  if (fd < 0)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_IO, "%s", local_error->message);
      return NULL;
    }
  if (fstat (fd, &st) == 0 && S_ISFIFO (st.st_mode))
    {
      close (fd);
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_IO,
                   _("%s is a pipe: the import reads its file twice, to check it and then to write it; "
                     "save what is to be imported to a file first"), self->path);
      return NULL;
    }
  if ((file = fdopen (fd, "rb")) == NULL)
    {
      int saved = errno;
      close (fd);
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_IO,
                   _("cannot read %s: %s"), self->path, g_strerror (saved));
    }
  return file;
}

static void
report (RflImporter    *self,
        RflImportPhase  phase,
        guint64         done,
        guint64         total)
{
  if (self->progress != NULL)
    self->progress (phase, done, total, self->progress_data);
}

/* The first pass parses and checks lines on worker threads, a chunk of
 * CHECK_CHUNK lines at a time, while the caller's thread reads and hashes
 * the file; it takes the chunks' outcomes in order, so the first bad line
 * is the one reported, and each id is checked against every line before
 * it. At most CHECK_AHEAD chunks per worker are read ahead. */
#define CHECK_CHUNK 1000
#define CHECK_AHEAD 4

typedef struct
{
  guint64    index;
  GPtrArray *texts;    /* char *, each line's text, or NULL for a line too long */
  GArray    *numbers;  /* guint64: each line's number */
  GPtrArray *ids;      /* char *: the ids the records carry */
  GArray    *id_lines; /* guint64: the line of each */
  GError    *error;    /* the chunk's first bad line */
} CheckChunk;

typedef struct
{
  GMutex      lock;
  GCond       done_cond;
  GHashTable *done;    /* index -> CheckChunk, checked */
  gint        stop;
} CheckShared;

static CheckChunk *
check_chunk_new (guint64 index)
{
  CheckChunk *chunk = g_new0 (CheckChunk, 1);

  chunk->index = index;
  chunk->texts = g_ptr_array_new_with_free_func (g_free);
  chunk->numbers = g_array_new (FALSE, FALSE, sizeof (guint64));
  chunk->ids = g_ptr_array_new_with_free_func (g_free);
  chunk->id_lines = g_array_new (FALSE, FALSE, sizeof (guint64));
  return chunk;
}

static void
check_chunk_free (CheckChunk *chunk)
{
  g_ptr_array_unref (chunk->texts);
  g_array_unref (chunk->numbers);
  g_ptr_array_unref (chunk->ids);
  g_array_unref (chunk->id_lines);
  g_clear_error (&chunk->error);
  g_free (chunk);
}

static void
check_chunk_lines (CheckChunk  *chunk,
                   CheckShared *shared)
{
  g_autoptr(JsonParser) parser = json_parser_new ();

  for (guint i = 0; i < chunk->texts->len && !g_atomic_int_get (&shared->stop); i++)
    {
      const char *text = g_ptr_array_index (chunk->texts, i);
      guint64 number = g_array_index (chunk->numbers, guint64, i);
      g_autoptr(JsonObject) record = NULL;
      g_autoptr(GError) local_error = NULL;
      const char *id;

      if (text == NULL)
        {
          g_set_error (&chunk->error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                       _("line %llu: longer than %d bytes"), (unsigned long long) number, MAX_LINE_BYTES);
          return;
        }
      if ((record = rfl_json_parse_object_with (parser, text, strlen (text), _("the record"), &local_error)) == NULL ||
          !rfl_schema_check_new (rfl_schema_get_default (), record, &local_error))
        {
          g_set_error (&chunk->error, local_error->domain, local_error->code, _("line %llu: %s"),
                       (unsigned long long) number, local_error->message);
          return;
        }
      if ((id = rfl_json_string_or (record, "id", NULL)) != NULL)
        {
          g_ptr_array_add (chunk->ids, g_strdup (id));
          g_array_append_val (chunk->id_lines, number);
        }
    }
}

static void
check_worker (gpointer data,
              gpointer user_data)
{
  CheckChunk *chunk = data;
  CheckShared *shared = user_data;

  check_chunk_lines (chunk, shared);
  g_clear_pointer (&chunk->texts, g_ptr_array_unref);
  chunk->texts = g_ptr_array_new ();
  g_mutex_lock (&shared->lock);
  g_hash_table_insert (shared->done, &chunk->index, chunk);
  g_cond_broadcast (&shared->done_cond);
  g_mutex_unlock (&shared->lock);
}

/* Takes the checked chunk @index, waiting for it: its error, or its ids,
 * each against those of the lines before. */
static gboolean
take_checked (RflImporter  *self,
              CheckShared  *shared,
              guint64       index,
              GHashTable   *seen,
              GError      **error)
{
  CheckChunk *chunk;
  gboolean ok = TRUE;

  g_mutex_lock (&shared->lock);
  while ((chunk = g_hash_table_lookup (shared->done, &index)) == NULL)
    g_cond_wait (&shared->done_cond, &shared->lock);
  g_hash_table_steal (shared->done, &index);
  g_mutex_unlock (&shared->lock);

  /* Two lines with one id would write half the file before the second is
   * refused: found here, nothing is written. */
  for (guint i = 0; i < chunk->ids->len; i++)
    {
      char *id = g_ptr_array_index (chunk->ids, i);
      guint64 line = g_array_index (chunk->id_lines, guint64, i);
      gpointer other;

      if (g_hash_table_lookup_extended (seen, id, NULL, &other))
        {
          g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                       _("line %llu: field 'id': line %llu has the same id"), (unsigned long long) line,
                       (unsigned long long) g_array_index (self->id_lines, guint64, GPOINTER_TO_UINT (other)));
          ok = FALSE;
          break;
        }
      g_ptr_array_add (self->ids, g_strdup (id));
      g_array_append_val (self->id_lines, line);
      g_hash_table_insert (seen, g_ptr_array_index (self->ids, self->ids->len - 1),
                           GUINT_TO_POINTER (self->ids->len - 1));
    }
  /* The chunk's ids are those of the lines before its bad line, if any. */
  if (ok && chunk->error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&chunk->error));
      ok = FALSE;
    }
  check_chunk_free (chunk);
  return ok;
}

/**
 * rfl_importer_check:
 * @self: an importer
 * @error: return location for an error naming the first bad line
 *
 * The first pass: checks every line and names the input by its hash.
 */
gboolean
rfl_importer_check (RflImporter  *self,
                    GError      **error)
{
  g_autoptr(GString) line = g_string_new (NULL);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);  /* id -> its index */
  LineReader reader = { NULL, line, 0, FALSE };
  CheckShared shared = { 0 };
  guint workers = CLAMP (g_get_num_processors (), 1, 8);
  GThreadPool *pool;
  CheckChunk *chunk = NULL;
  guint64 sent = 0, taken = 0;
  crypto_generichash_state state;
  guint8 hash[16];
  char hex[33];
  struct stat st;
  gint64 size;
  gboolean ok = TRUE;

  g_return_val_if_fail (RFL_IS_IMPORTER (self), FALSE);

  if ((reader.file = open_input (self, error)) == NULL)
    return FALSE;
  size = fstat (fileno (reader.file), &st) == 0 ? st.st_size : 0;

  g_ptr_array_set_size (self->ids, 0);
  g_array_set_size (self->id_lines, 0);
  g_mutex_init (&shared.lock);
  g_cond_init (&shared.done_cond);
  shared.done = g_hash_table_new (g_int64_hash, g_int64_equal);
  pool = g_thread_pool_new (check_worker, &shared, workers, TRUE, NULL);
  crypto_generichash_init (&state, NULL, 0, sizeof hash);
  while (ok)
    {
      gboolean more = next_line (&reader);

      if (more)
        {
          crypto_generichash_update (&state, (const guint8 *) line->str, line->len);
          crypto_generichash_update (&state, (const guint8 *) "\n", 1);
          if (!is_blank (line))
            {
              if (chunk == NULL)
                chunk = check_chunk_new (sent);
              g_ptr_array_add (chunk->texts, reader.too_long ? NULL : g_strndup (line->str, line->len));
              g_array_append_val (chunk->numbers, reader.number);
            }
          if (reader.number % 1000 == 0)
            report (self, RFL_IMPORT_CHECKING, ftell (reader.file), size);
        }
      if (chunk != NULL && (chunk->texts->len >= CHECK_CHUNK || !more))
        {
          g_thread_pool_push (pool, g_steal_pointer (&chunk), NULL);
          sent++;
        }
      /* Take what is checked, in order, once enough is read ahead. */
      while (ok && taken < sent && (sent - taken >= workers * CHECK_AHEAD || !more))
        ok = take_checked (self, &shared, taken++, seen, error);
      if (!more)
        break;
    }
  g_atomic_int_set (&shared.stop, 1);
  g_thread_pool_free (pool, FALSE, TRUE);
  g_clear_pointer (&chunk, check_chunk_free);
  {
    GHashTableIter iter;
    gpointer value;

    g_hash_table_iter_init (&iter, shared.done);
    while (g_hash_table_iter_next (&iter, NULL, &value))
      check_chunk_free (value);
  }
  g_hash_table_unref (shared.done);
  g_cond_clear (&shared.done_cond);
  g_mutex_clear (&shared.lock);

  if (ok && ferror (reader.file))
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_IO, _("reading %s failed: %s"),
                   self->path, g_strerror (errno));
      ok = FALSE;
    }
  if (ok)
    {
      report (self, RFL_IMPORT_CHECKING, size, size);
      crypto_generichash_final (&state, hash, sizeof hash);
      sodium_bin2hex (hex, sizeof hex, hash, sizeof hash);
      g_free (self->source);
      self->source = g_strdup (hex);
      self->n_lines = reader.number;
    }
  fclose (reader.file);
  return ok;
}

typedef struct
{
  RflStoreBatch *batch;
  GArray        *lines;     /* input line of each record */
  guint64        through;
  GError        *error;     /* set on the last item when reading failed */
} Item;

typedef struct
{
  RflStore     *store;
  FILE         *file;
  guint64       skip_through;
  guint64       n_lines;
  GAsyncQueue  *items;
  GAsyncQueue  *slots;
  gint          stop;
} Pipeline;

static void
item_free (Item *item)
{
  g_clear_pointer (&item->batch, rfl_store_batch_free);
  g_clear_pointer (&item->lines, g_array_unref);
  g_clear_error (&item->error);
  g_free (item);
}

static gboolean
push_item (Pipeline *pipe,
           Item     *item)
{
  /* Wait for a free slot; the writer gives one back after each batch. */
  g_async_queue_pop (pipe->slots);
  if (g_atomic_int_get (&pipe->stop))
    {
      item_free (item);
      return FALSE;
    }
  g_async_queue_push (pipe->items, item);
  return TRUE;
}

static gpointer
reader_thread (gpointer user_data)
{
  Pipeline *pipe = user_data;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GString) line = g_string_new (NULL);
  g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr(GArray) lines = g_array_new (FALSE, FALSE, sizeof (guint64));
  LineReader reader = { pipe->file, line, 0, FALSE };
  GError *error = NULL;
  Item *last;

  while (!g_atomic_int_get (&pipe->stop))
    {
      gboolean more = next_line (&reader);

      if (more && reader.number > pipe->skip_through && !is_blank (line))
        {
          JsonObject *record = parse_line (&reader, parser, &error);
          if (record == NULL)
            break;
          g_ptr_array_add (records, record);
          g_array_append_val (lines, reader.number);
        }
      if (records->len > 0 && (records->len >= RFL_IMPORT_BATCH || !more))
        {
          Item *item = g_new0 (Item, 1);
          guint failed = 0;

          item->through = more ? reader.number : pipe->n_lines;
          item->batch = rfl_store_prepare_batch (pipe->store, records, &failed, &error);
          if (item->batch == NULL)
            {
              g_prefix_error (&error, _("line %llu: "), (unsigned long long) g_array_index (lines, guint64, failed));
              item_free (item);
              break;
            }
          item->lines = g_steal_pointer (&lines);
          lines = g_array_new (FALSE, FALSE, sizeof (guint64));
          g_ptr_array_set_size (records, 0);
          if (!push_item (pipe, item))
            return NULL;
        }
      if (!more)
        break;
    }

  /* The last item carries the outcome: no batch, and the error if any. */
  last = g_new0 (Item, 1);
  last->error = error;
  push_item (pipe, last);
  return NULL;
}

/**
 * rfl_importer_run:
 * @self: an importer that passed rfl_importer_check()
 * @store: an open store
 * @error: return location for an error
 *
 * The second pass: adds the records not yet imported from this input, a
 * batch per transaction. Safe to run again after an interruption.
 */
gboolean
rfl_importer_run (RflImporter  *self,
                  RflStore     *store,
                  GError      **error)
{
  g_autoptr(GError) local_error = NULL;
  Pipeline pipe = { 0 };
  GThread *reader;
  Item *left;

  g_return_val_if_fail (RFL_IS_IMPORTER (self), FALSE);
  g_return_val_if_fail (RFL_IS_STORE (store), FALSE);
  g_return_val_if_fail (self->source != NULL, FALSE);

  if ((pipe.file = open_input (self, error)) == NULL)
    return FALSE;
  pipe.store = store;
  pipe.n_lines = self->n_lines;
  pipe.skip_through = self->resumed = rfl_store_get_import_progress (store, self->source);

  /* An id the store already has, on a line not yet imported: refused before
   * anything is written. (The same file again is no such case: it resumes
   * after its last line, and imports nothing.) */
  {
    g_autoptr(GPtrArray) ids = g_ptr_array_new ();
    g_autoptr(GArray) lines = g_array_new (FALSE, FALSE, sizeof (guint64));
    guint found = 0;

    for (guint i = 0; i < self->ids->len; i++)
      if (g_array_index (self->id_lines, guint64, i) > pipe.skip_through)
        {
          g_ptr_array_add (ids, g_ptr_array_index (self->ids, i));
          g_array_append_val (lines, g_array_index (self->id_lines, guint64, i));
        }
    if (rfl_store_find_records (store, ids, &found, &local_error))
      g_set_error (&local_error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                   _("line %llu: field 'id': record %s is already in the store"),
                   (unsigned long long) g_array_index (lines, guint64, found), (char *) g_ptr_array_index (ids, found));
    if (local_error != NULL)
      {
        fclose (pipe.file);
        g_propagate_error (error, g_steal_pointer (&local_error));
        return FALSE;
      }
  }
  pipe.items = g_async_queue_new ();
  pipe.slots = g_async_queue_new ();
  for (guint i = 0; i < QUEUE_DEPTH; i++)
    g_async_queue_push (pipe.slots, GUINT_TO_POINTER (1));
  self->imported = 0;
  reader = g_thread_new ("rfl-import", reader_thread, &pipe);

  while (TRUE)
    {
      Item *item = g_async_queue_pop (pipe.items);
      guint failed = 0;

      g_async_queue_push (pipe.slots, GUINT_TO_POINTER (1));
      if (item->batch == NULL)
        {
          if (item->error != NULL)
            local_error = g_steal_pointer (&item->error);
          item_free (item);
          break;
        }
      if (!rfl_store_write_batch (store, self->source, item->through, item->batch, &failed, &local_error))
        {
          g_prefix_error (&local_error, _("line %llu: "),
                          (unsigned long long) g_array_index (item->lines, guint64, failed));
          item_free (item);
          break;
        }
      self->imported += rfl_store_batch_get_length (item->batch);
      report (self, RFL_IMPORT_WRITING, item->through, self->n_lines);
      item_free (item);
    }

  /* Stop the reader if it is still going, and let it past a full queue. */
  g_atomic_int_set (&pipe.stop, 1);
  g_async_queue_push (pipe.slots, GUINT_TO_POINTER (1));
  g_thread_join (reader);
  while ((left = g_async_queue_try_pop (pipe.items)) != NULL)
    item_free (left);
  g_async_queue_unref (pipe.items);
  g_async_queue_unref (pipe.slots);
  fclose (pipe.file);

  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return FALSE;
    }
  return TRUE;
}

static void
rfl_importer_finalize (GObject *object)
{
  RflImporter *self = (RflImporter *) object;

  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->source, g_free);
  g_clear_pointer (&self->ids, g_ptr_array_unref);
  g_clear_pointer (&self->id_lines, g_array_unref);

  G_OBJECT_CLASS (rfl_importer_parent_class)->finalize (object);
}

static void
rfl_importer_class_init (RflImporterClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rfl_importer_finalize;
}

static void
rfl_importer_init (RflImporter *self)
{
  self->ids = g_ptr_array_new_with_free_func (g_free);
  self->id_lines = g_array_new (FALSE, FALSE, sizeof (guint64));
}

/**
 * rfl_importer_new:
 * @path: a file of JSON lines, one record per line
 *
 * Returns: (transfer full): a new importer
 */
RflImporter *
rfl_importer_new (const char *path)
{
  RflImporter *self;

  g_return_val_if_fail (path != NULL, NULL);

  self = g_object_new (RFL_TYPE_IMPORTER, NULL);
  self->path = g_strdup (path);
  return self;
}

void
rfl_importer_set_progress (RflImporter           *self,
                           RflImportProgressFunc  func,
                           gpointer               user_data)
{
  g_return_if_fail (RFL_IS_IMPORTER (self));

  self->progress = func;
  self->progress_data = user_data;
}

guint64
rfl_importer_get_lines (RflImporter *self)
{
  g_return_val_if_fail (RFL_IS_IMPORTER (self), 0);
  return self->n_lines;
}

guint64
rfl_importer_get_imported (RflImporter *self)
{
  g_return_val_if_fail (RFL_IS_IMPORTER (self), 0);
  return self->imported;
}

/**
 * rfl_importer_get_resumed:
 *
 * Returns: the input line an interrupted earlier run had committed through
 */
guint64
rfl_importer_get_resumed (RflImporter *self)
{
  g_return_val_if_fail (RFL_IS_IMPORTER (self), 0);
  return self->resumed;
}
