/* SPDX-License-Identifier: GPL-3.0-or-later */
#define G_LOG_DOMAIN "reunite-cli"

#include <errno.h>
#include <gio/gio.h>
#include <gio/gunixinputstream.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <locale.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "rfl-schema.h"
#include "rfl-store.h"

#define MAX_PASSPHRASE_BYTES 1024
#define MAX_RECORD_BYTES     (1 << 20)
#define IMPORT_BATCH         2000
#define DEFAULT_LIMIT        50

/* A passphrase in guarded memory, wiped when freed. */
typedef struct
{
  char  *data;
  gsize  len;
} Secret;

static void
secret_free (Secret *secret)
{
  if (secret == NULL)
    return;
  if (secret->data != NULL)
    sodium_free (secret->data);
  g_free (secret);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Secret, secret_free)

static Secret *
secret_new (void)
{
  Secret *secret = g_new0 (Secret, 1);

  secret->data = sodium_malloc (MAX_PASSPHRASE_BYTES + 1);
  if (secret->data == NULL)
    g_error ("cannot allocate protected memory");
  return secret;
}

typedef struct
{
  char     *db;
  char     *passphrase_file;
  char     *new_passphrase_file;
  char     *type;
  char     *status;
  char     *kdf;
  int       limit;
  int       offset;
  gboolean  verify;
  gboolean  expired;
  gboolean  verbose;
  RflStore *store;
} Cli;

static int
fail (const char *format,
      ...) G_GNUC_PRINTF (1, 2);

static int
fail (const char *format,
      ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  /* One line, whatever the lower layers said. */
  g_strdelimit (message, "\r\n", ' ');
  g_printerr ("reunite-cli: %s\n", message);
  return 1;
}

static int
fail_error (GError *error)
{
  return fail ("%s", error->message);
}

static void
print_object (JsonObject *obj)
{
  g_autoptr(JsonNode) node = json_node_init_object (json_node_alloc (), obj);
  g_autofree char *text = json_to_string (node, FALSE);

  fputs (text, stdout);
  fputc ('\n', stdout);
}

static void
print_rows (GPtrArray *rows)
{
  for (guint i = 0; i < rows->len; i++)
    print_object (g_ptr_array_index (rows, i));
}

/* Passphrases. */

static gboolean
read_secret_file (const char  *path,
                  Secret      *secret,
                  GError     **error)
{
  g_autoptr(GError) local_error = NULL;
  FILE *f;
  gsize n;

  f = g_fopen (path, "rb");
  if (f == NULL)
    {
      int saved = errno;
      g_set_error (error, G_FILE_ERROR, g_file_error_from_errno (saved),
                   "cannot read the passphrase file %s: %s", path, g_strerror (saved));
      return FALSE;
    }
  n = fread (secret->data, 1, MAX_PASSPHRASE_BYTES + 1, f);
  fclose (f);
  if (n > MAX_PASSPHRASE_BYTES)
    {
      g_set_error (error, G_FILE_ERROR, G_FILE_ERROR_INVAL,
                   "the passphrase file %s is longer than %d bytes", path, MAX_PASSPHRASE_BYTES);
      return FALSE;
    }
  /* One trailing newline is how files end, not part of the passphrase. */
  if (n > 0 && secret->data[n - 1] == '\n')
    n--;
  if (n > 0 && secret->data[n - 1] == '\r')
    n--;
  secret->data[n] = '\0';
  secret->len = n;
  return TRUE;
}

static gboolean
prompt_secret (const char  *prompt,
               Secret      *secret,
               GError     **error)
{
  struct termios old, quiet;
  FILE *tty = fopen ("/dev/tty", "r+");
  gboolean ok = FALSE;
  int c;
  gsize n = 0;

  if (tty == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           "no passphrase: use --passphrase-file or set REUNITE_PASSPHRASE_FILE");
      return FALSE;
    }
  fputs (prompt, tty);
  fflush (tty);
  if (tcgetattr (fileno (tty), &old) == 0)
    {
      quiet = old;
      quiet.c_lflag &= ~(ECHO | ECHONL);
      tcsetattr (fileno (tty), TCSAFLUSH, &quiet);
    }
  while ((c = fgetc (tty)) != EOF && c != '\n')
    if (n < MAX_PASSPHRASE_BYTES)
      secret->data[n++] = c;
  tcsetattr (fileno (tty), TCSAFLUSH, &old);
  fputc ('\n', tty);
  fclose (tty);

  secret->data[n] = '\0';
  secret->len = n;
  ok = c != EOF || n > 0;
  if (!ok)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_CANCELLED, "no passphrase entered");
  return ok;
}

static Secret *
get_passphrase (Cli         *cli,
                const char  *file,
                const char  *prompt,
                GError     **error)
{
  g_autoptr(Secret) secret = secret_new ();

  if (file != NULL ? !read_secret_file (file, secret, error) : !prompt_secret (prompt, secret, error))
    return NULL;
  return g_steal_pointer (&secret);
}

static Secret *
get_new_passphrase (Cli     *cli,
                    GError **error)
{
  g_autoptr(Secret) first = NULL;
  g_autoptr(Secret) again = NULL;

  if (cli->new_passphrase_file != NULL)
    return get_passphrase (cli, cli->new_passphrase_file, NULL, error);
  if ((first = get_passphrase (cli, NULL, "New passphrase: ", error)) == NULL ||
      (again = get_passphrase (cli, NULL, "Repeat new passphrase: ", error)) == NULL)
    return NULL;
  if (first->len != again->len || sodium_memcmp (first->data, again->data, first->len) != 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the passphrases differ");
      return NULL;
    }
  return g_steal_pointer (&first);
}

static char *
default_db_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "reunite", "reunite.db", NULL);
}

static RflKdfLevel
kdf_level (Cli *cli)
{
  if (g_strcmp0 (cli->kdf, "interactive") == 0)
    return RFL_KDF_INTERACTIVE;
  if (g_strcmp0 (cli->kdf, "sensitive") == 0)
    return RFL_KDF_SENSITIVE;
  return RFL_KDF_MODERATE;
}

static char *
actor_name (RflStore *store)
{
  return g_strdup_printf ("%s@%.8s", g_get_user_name (), rfl_store_get_device_id (store));
}

static int
open_store (Cli *cli)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(Secret) secret = NULL;
  g_autofree char *actor = NULL;

  if ((secret = get_passphrase (cli, cli->passphrase_file, "Passphrase: ", &error)) == NULL)
    return fail_error (error);
  cli->store = rfl_store_open (cli->db, secret->data, secret->len, &error);
  if (cli->store == NULL)
    return fail_error (error);
  actor = actor_name (cli->store);
  rfl_store_set_actor (cli->store, actor);
  return 0;
}

static JsonObject *
read_object (GInputStream  *in,
             const char    *what,
             GError       **error)
{
  g_autoptr(GByteArray) buf = g_byte_array_new ();
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) local_error = NULL;
  guint8 chunk[8192];
  gssize n;

  while ((n = g_input_stream_read (in, chunk, sizeof chunk, NULL, error)) > 0)
    {
      if (buf->len + n > MAX_RECORD_BYTES)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                       "%s is larger than %d bytes", what, MAX_RECORD_BYTES);
          return NULL;
        }
      g_byte_array_append (buf, chunk, n);
    }
  if (n < 0)
    return NULL;
  if (!json_parser_load_from_data (parser, (const char *) buf->data, buf->len, &local_error))
    {
      g_set_error (error, JSON_PARSER_ERROR, local_error->code, "%s is not valid JSON: %s",
                   what, local_error->message);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, JSON_PARSER_ERROR, JSON_PARSER_ERROR_INVALID_DATA,
                   "%s must be a JSON object", what);
      return NULL;
    }
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

/* Commands. */

static int
cmd_init (Cli   *cli,
          char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(Secret) secret = NULL;
  g_autoptr(RflStore) store = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  g_autofree char *dir = g_path_get_dirname (cli->db);

  if (g_mkdir_with_parents (dir, 0700) != 0)
    return fail ("cannot create %s: %s", dir, g_strerror (errno));
  if (cli->passphrase_file != NULL)
    secret = get_passphrase (cli, cli->passphrase_file, NULL, &error);
  else
    {
      cli->new_passphrase_file = NULL;
      secret = get_new_passphrase (cli, &error);
    }
  if (secret == NULL)
    return fail_error (error);

  store = rfl_store_create (cli->db, secret->data, secret->len, kdf_level (cli), &error);
  if (store == NULL)
    return fail_error (error);
  json_object_set_string_member (out, "device_id", rfl_store_get_device_id (store));
  json_object_set_string_member (out, "db", cli->db);
  print_object (out);
  return 0;
}

static int
cmd_add (Cli   *cli,
         char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) in = g_unix_input_stream_new (STDIN_FILENO, FALSE);
  g_autoptr(JsonObject) record = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  g_autofree char *id = NULL;
  int rc;

  if ((record = read_object (in, "the record", &error)) == NULL)
    return fail_error (error);
  if ((rc = open_store (cli)) != 0)
    return rc;
  if ((id = rfl_store_add (cli->store, record, &error)) == NULL)
    return fail_error (error);
  json_object_set_string_member (out, "id", id);
  print_object (out);
  return 0;
}

static int
cmd_show (Cli   *cli,
          char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) record = NULL;
  int rc;

  if (args[0] == NULL || args[1] != NULL)
    return fail ("usage: show ID");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if ((record = rfl_store_get (cli->store, args[0], &error)) == NULL)
    return fail_error (error);
  print_object (record);
  return 0;
}

static int
cmd_update (Cli   *cli,
            char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) in = g_unix_input_stream_new (STDIN_FILENO, FALSE);
  g_autoptr(JsonObject) patch = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  int rc;

  if (args[0] == NULL || args[1] != NULL)
    return fail ("usage: update ID < patch.json");
  if ((patch = read_object (in, "the patch", &error)) == NULL)
    return fail_error (error);
  if ((rc = open_store (cli)) != 0)
    return rc;
  if (!rfl_store_update (cli->store, args[0], patch, &error))
    return fail_error (error);
  json_object_set_string_member (out, "id", args[0]);
  json_object_set_boolean_member (out, "updated", TRUE);
  print_object (out);
  return 0;
}

static int
cmd_delete (Cli   *cli,
            char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  int rc;

  if (args[0] == NULL || args[1] != NULL)
    return fail ("usage: delete ID");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if (!rfl_store_delete (cli->store, args[0], &error))
    return fail_error (error);
  json_object_set_string_member (out, "id", args[0]);
  json_object_set_boolean_member (out, "deleted", TRUE);
  print_object (out);
  return 0;
}

static int
cmd_list (Cli   *cli,
          char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  int rc;

  if (args[0] != NULL)
    return fail ("usage: list [--type T] [--status S] [--limit N] [--offset N]");
  if ((rc = open_store (cli)) != 0)
    return rc;
  rows = rfl_store_list (cli->store, cli->type, cli->status, MAX (cli->offset, 0),
                         cli->limit > 0 ? cli->limit : DEFAULT_LIMIT, &error);
  if (rows == NULL)
    return fail_error (error);
  print_rows (rows);
  return 0;
}

static int
cmd_search (Cli   *cli,
            char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autofree char *query = NULL;
  int rc;

  if (args[0] == NULL)
    return fail ("usage: search QUERY [--limit N]");
  query = g_strjoinv (" ", args);
  if ((rc = open_store (cli)) != 0)
    return rc;
  rows = rfl_store_search (cli->store, query, cli->limit > 0 ? cli->limit : DEFAULT_LIMIT, &error);
  if (rows == NULL)
    return fail_error (error);
  print_rows (rows);
  return 0;
}

static gboolean
export_one (JsonObject *record,
            gpointer    user_data)
{
  print_object (record);
  return !ferror (stdout);
}

static int
cmd_export (Cli   *cli,
            char **args)
{
  g_autoptr(GError) error = NULL;
  int rc;

  if (args[0] != NULL)
    return fail ("usage: export > FILE.jsonl");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if (!rfl_store_export (cli->store, export_one, NULL, &error))
    return fail_error (error);
  if (fflush (stdout) != 0 || ferror (stdout))
    return fail ("writing the export failed: %s", g_strerror (errno));
  return 0;
}

static int
cmd_passwd (Cli   *cli,
            char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(Secret) old = NULL;
  g_autoptr(Secret) fresh = NULL;
  g_autoptr(JsonObject) out = json_object_new ();

  if ((old = get_passphrase (cli, cli->passphrase_file, "Current passphrase: ", &error)) == NULL)
    return fail_error (error);
  if ((cli->store = rfl_store_open (cli->db, old->data, old->len, &error)) == NULL)
    return fail_error (error);
  if ((fresh = get_new_passphrase (cli, &error)) == NULL)
    return fail_error (error);
  if (!rfl_store_change_passphrase (cli->store, old->data, old->len, fresh->data, fresh->len,
                                    kdf_level (cli), &error))
    return fail_error (error);
  json_object_set_boolean_member (out, "passphrase_changed", TRUE);
  print_object (out);
  return 0;
}

static int
cmd_audit (Cli   *cli,
           char **args)
{
  g_autoptr(GError) error = NULL;
  int rc;

  if ((rc = open_store (cli)) != 0)
    return rc;
  if (cli->verify)
    {
      g_autoptr(JsonObject) out = json_object_new ();
      gint64 broken = 0, n = 0;

      if (!rfl_store_audit_verify (cli->store, &broken, &n, &error))
        return fail_error (error);
      if (broken != 0)
        return fail ("the audit log is broken at entry %" G_GINT64_FORMAT
                     ": it was changed outside Reunite", broken);
      json_object_set_boolean_member (out, "intact", TRUE);
      json_object_set_int_member (out, "entries", n);
      print_object (out);
    }
  else
    {
      g_autoptr(GPtrArray) rows = rfl_store_audit_list (cli->store, &error);
      if (rows == NULL)
        return fail_error (error);
      print_rows (rows);
    }
  return 0;
}

static int
cmd_purge (Cli   *cli,
           char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  gint64 n;
  int rc;

  if (!cli->expired)
    return fail ("usage: purge --expired");
  if ((rc = open_store (cli)) != 0)
    return rc;
  if ((n = rfl_store_purge_expired (cli->store, &error)) < 0)
    return fail_error (error);
  json_object_set_int_member (out, "purged", n);
  print_object (out);
  return 0;
}

/* Import. */

typedef struct
{
  FILE    *file;
  GString *line;
  guint64  number;
  gboolean too_long;
} LineReader;

/* Reads the next line, at most MAX_RECORD_BYTES of it, so that a hostile file
 * cannot make us buffer without limit. */
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
      if (reader->line->len < MAX_RECORD_BYTES)
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

  if (reader->too_long)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_MESSAGE_TOO_LARGE,
                   "line %" G_GUINT64_FORMAT ": longer than %d bytes", reader->number, MAX_RECORD_BYTES);
      return NULL;
    }
  if (!json_parser_load_from_data (parser, reader->line->str, reader->line->len, &local_error))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "line %" G_GUINT64_FORMAT ": invalid JSON: %s", reader->number, local_error->message);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (json_parser_get_root (parser)))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                   "line %" G_GUINT64_FORMAT ": a record must be a JSON object", reader->number);
      return NULL;
    }
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static void
show_progress (const char *what,
               guint64     done,
               guint64     total)
{
  static gint64 last;
  gint64 now = g_get_monotonic_time ();
  char bar[31];
  guint filled;

  if (!isatty (STDERR_FILENO) || total == 0 || (now - last < 100000 && done < total))
    return;
  last = now;
  filled = (guint) (done * 30 / total);
  memset (bar, '#', filled);
  memset (bar + filled, '-', 30 - filled);
  bar[30] = '\0';
  g_printerr ("\r%-10s [%s] %3u%%  %" G_GUINT64_FORMAT " / %" G_GUINT64_FORMAT,
              what, bar, (guint) (done * 100 / total), done, total);
  if (done >= total)
    g_printerr ("\n");
}

/* First pass: check every line before anything is written, and name the file
 * by its hash so that an interrupted import can resume. */
static gboolean
check_file (FILE     *file,
            char    **source,
            guint64  *n_lines,
            GError  **error)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GString) line = g_string_new (NULL);
  LineReader reader = { file, line, 0, FALSE };
  crypto_generichash_state state;
  guint8 hash[16];
  char hex[33];
  struct stat st;
  gint64 size = fstat (fileno (file), &st) == 0 ? st.st_size : 0;

  crypto_generichash_init (&state, NULL, 0, sizeof hash);
  while (next_line (&reader))
    {
      g_autoptr(JsonObject) record = NULL;
      g_autoptr(GError) local_error = NULL;

      crypto_generichash_update (&state, (const guint8 *) line->str, line->len);
      crypto_generichash_update (&state, (const guint8 *) "\n", 1);
      if (is_blank (line))
        continue;
      if ((record = parse_line (&reader, parser, error)) == NULL)
        return FALSE;
      if (!rfl_schema_prepare_new (rfl_schema_get_default (), record, &local_error))
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "line %" G_GUINT64_FORMAT ": %s",
                       reader.number, local_error->message);
          return FALSE;
        }
      if (reader.number % 1000 == 0)
        show_progress ("Checking", ftell (file), size);
    }
  if (ferror (file))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED, "reading the file failed: %s",
                   g_strerror (errno));
      return FALSE;
    }
  show_progress ("Checking", size, size);
  crypto_generichash_final (&state, hash, sizeof hash);
  sodium_bin2hex (hex, sizeof hex, hash, sizeof hash);
  *source = g_strdup (hex);
  *n_lines = reader.number;
  return TRUE;
}

/* The import pass runs in two threads: one reads, parses and prepares the
 * next batch (validation, serialisation, name transliteration) while the
 * other writes the previous one. At most QUEUE_DEPTH batches wait between
 * them, which bounds memory. */
#define QUEUE_DEPTH 2

typedef struct
{
  RflStoreBatch *batch;
  GArray        *lines;     /* input line of each record */
  guint64        through;
  GError        *error;     /* set on the last item when reading failed */
} ImportItem;

typedef struct
{
  RflStore     *store;
  FILE         *file;
  guint64       skip_through;
  guint64       n_lines;
  GAsyncQueue  *items;
  GAsyncQueue  *slots;
  gint          stop;
} Importer;

static void
import_item_free (ImportItem *item)
{
  g_clear_pointer (&item->batch, rfl_store_batch_free);
  g_clear_pointer (&item->lines, g_array_unref);
  g_clear_error (&item->error);
  g_free (item);
}

static gboolean
push_item (Importer   *imp,
           ImportItem *item)
{
  /* Wait for a free slot; the writer gives one back after each batch. */
  g_async_queue_pop (imp->slots);
  if (g_atomic_int_get (&imp->stop))
    {
      import_item_free (item);
      return FALSE;
    }
  g_async_queue_push (imp->items, item);
  return TRUE;
}

static gpointer
produce_thread (gpointer user_data)
{
  Importer *imp = user_data;
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GString) line = g_string_new (NULL);
  g_autoptr(GPtrArray) records = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr(GArray) lines = g_array_new (FALSE, FALSE, sizeof (guint64));
  LineReader reader = { imp->file, line, 0, FALSE };
  GError *error = NULL;

  while (!g_atomic_int_get (&imp->stop))
    {
      gboolean more = next_line (&reader);

      if (more && reader.number > imp->skip_through && !is_blank (line))
        {
          JsonObject *record = parse_line (&reader, parser, &error);
          if (record == NULL)
            break;
          g_ptr_array_add (records, record);
          g_array_append_val (lines, reader.number);
        }
      if (records->len > 0 && (records->len >= IMPORT_BATCH || !more))
        {
          ImportItem *item = g_new0 (ImportItem, 1);
          guint failed = 0;

          item->through = more ? reader.number : imp->n_lines;
          item->batch = rfl_store_prepare_batch (imp->store, records, &failed, &error);
          if (item->batch == NULL)
            {
              g_prefix_error (&error, "line %" G_GUINT64_FORMAT ": ", g_array_index (lines, guint64, failed));
              import_item_free (item);
              break;
            }
          item->lines = g_steal_pointer (&lines);
          lines = g_array_new (FALSE, FALSE, sizeof (guint64));
          g_ptr_array_set_size (records, 0);
          if (!push_item (imp, item))
            return NULL;
        }
      if (!more)
        break;
    }

  /* The last item carries the outcome: NULL batch, and the error if any. */
  {
    ImportItem *last = g_new0 (ImportItem, 1);
    last->error = error;
    push_item (imp, last);
  }
  return NULL;
}

static int
cmd_import (Cli   *cli,
            char **args)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  g_autofree char *source = NULL;
  Importer imp = { 0 };
  GThread *producer;
  guint64 n_lines = 0, imported = 0;
  FILE *file;
  int rc;

  if (args[0] == NULL || args[1] != NULL)
    return fail ("usage: import FILE.jsonl");
  if ((file = g_fopen (args[0], "rb")) == NULL)
    return fail ("cannot read %s: %s", args[0], g_strerror (errno));
  if (!check_file (file, &source, &n_lines, &error))
    {
      fclose (file);
      return fail_error (error);
    }
  if ((rc = open_store (cli)) != 0)
    {
      fclose (file);
      return rc;
    }

  rewind (file);
  imp.store = cli->store;
  imp.file = file;
  imp.n_lines = n_lines;
  imp.skip_through = rfl_store_get_import_progress (cli->store, source);
  imp.items = g_async_queue_new ();
  imp.slots = g_async_queue_new ();
  for (guint i = 0; i < QUEUE_DEPTH; i++)
    g_async_queue_push (imp.slots, GUINT_TO_POINTER (1));
  producer = g_thread_new ("import-reader", produce_thread, &imp);

  while (TRUE)
    {
      ImportItem *item = g_async_queue_pop (imp.items);
      guint failed = 0;

      g_async_queue_push (imp.slots, GUINT_TO_POINTER (1));
      if (item->batch == NULL)
        {
          if (item->error != NULL)
            error = g_steal_pointer (&item->error);
          import_item_free (item);
          break;
        }
      if (!rfl_store_write_batch (cli->store, source, item->through, item->batch, &failed, &error))
        {
          g_prefix_error (&error, "line %" G_GUINT64_FORMAT ": ", g_array_index (item->lines, guint64, failed));
          import_item_free (item);
          break;
        }
      imported += rfl_store_batch_get_length (item->batch);
      if (cli->verbose)
        g_printerr ("reunite-cli: import: committed through line %" G_GUINT64_FORMAT "\n", item->through);
      show_progress ("Importing", item->through, n_lines);
      import_item_free (item);
    }

  /* Stop the reader if it is still going, and let it past a full queue. */
  g_atomic_int_set (&imp.stop, 1);
  g_async_queue_push (imp.slots, GUINT_TO_POINTER (1));
  g_thread_join (producer);
  {
    ImportItem *left;
    while ((left = g_async_queue_try_pop (imp.items)) != NULL)
      import_item_free (left);
  }
  g_async_queue_unref (imp.items);
  g_async_queue_unref (imp.slots);
  fclose (file);
  if (error != NULL)
    return fail_error (error);

  json_object_set_int_member (out, "imported", imported);
  json_object_set_int_member (out, "lines", n_lines);
  json_object_set_int_member (out, "resumed_after_line", imp.skip_through);
  print_object (out);
  return 0;
}

static const struct
{
  const char *name;
  int       (*run) (Cli *cli, char **args);
  const char *help;
} commands[] = {
  { "init",   cmd_init,   "create the encrypted database and this device's keys" },
  { "add",    cmd_add,    "add the record read from standard input; print its id" },
  { "show",   cmd_show,   "show one record" },
  { "update", cmd_update, "apply the JSON merge patch read from standard input" },
  { "delete", cmd_delete, "delete a record" },
  { "list",   cmd_list,   "list records, newest first" },
  { "search", cmd_search, "search names in any script and spelling" },
  { "import", cmd_import, "load records from a JSON-lines file" },
  { "export", cmd_export, "write every record as JSON lines" },
  { "passwd", cmd_passwd, "change the passphrase" },
  { "audit",  cmd_audit,  "show the audit log, or check it with --verify" },
  { "purge",  cmd_purge,  "remove records whose retention date has passed (--expired)" },
};

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) summary = g_string_new ("Commands:\n");
  g_auto(GStrv) args = NULL;
  Cli cli = { 0 };
  int rc = 2;
  const GOptionEntry entries[] = {
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &cli.db, "The case database", "PATH" },
    { "passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &cli.passphrase_file,
      "Read the passphrase from FILE (default: $REUNITE_PASSPHRASE_FILE, else ask)", "FILE" },
    { "new-passphrase-file", 0, 0, G_OPTION_ARG_FILENAME, &cli.new_passphrase_file,
      "passwd: read the new passphrase from FILE", "FILE" },
    { "kdf", 0, 0, G_OPTION_ARG_STRING, &cli.kdf,
      "init, passwd: Argon2id limits: interactive, moderate (default) or sensitive", "LEVEL" },
    { "type", 0, 0, G_OPTION_ARG_STRING, &cli.type, "list: only this record type", "T" },
    { "status", 0, 0, G_OPTION_ARG_STRING, &cli.status, "list: only this status", "S" },
    { "limit", 0, 0, G_OPTION_ARG_INT, &cli.limit, "list, search: at most N results", "N" },
    { "offset", 0, 0, G_OPTION_ARG_INT, &cli.offset, "list: skip N records", "N" },
    { "verify", 0, 0, G_OPTION_ARG_NONE, &cli.verify, "audit: check the hash chain", NULL },
    { "expired", 0, 0, G_OPTION_ARG_NONE, &cli.expired, "purge: records past retention", NULL },
    { "verbose", 'v', 0, G_OPTION_ARG_NONE, &cli.verbose, "import: report each committed batch",
      NULL },
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &args, NULL, "COMMAND [ARGS…]" },
    { NULL }
  };

  setlocale (LC_ALL, "");
  if (sodium_init () < 0)
    return fail ("libsodium could not be initialised");

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    g_string_append_printf (summary, "  %-8s %s\n", commands[i].name, commands[i].help);
  context = g_option_context_new (NULL);
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context, "Reunite case store, headless.");
  g_option_context_set_description (context, summary->str);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fail_error (error);
      goto out;
    }
  if (args == NULL || args[0] == NULL)
    {
      fail ("no command given; see --help");
      goto out;
    }
  if (cli.kdf != NULL && !g_strv_contains ((const char * const[]) { "interactive", "moderate",
                                                                     "sensitive", NULL }, cli.kdf))
    {
      fail ("--kdf must be interactive, moderate or sensitive");
      goto out;
    }
  if (cli.db == NULL)
    cli.db = default_db_path ();
  if (cli.passphrase_file == NULL && g_getenv ("REUNITE_PASSPHRASE_FILE") != NULL)
    cli.passphrase_file = g_strdup (g_getenv ("REUNITE_PASSPHRASE_FILE"));

  for (guint i = 0; i < G_N_ELEMENTS (commands); i++)
    if (g_str_equal (args[0], commands[i].name))
      {
        rc = commands[i].run (&cli, args + 1);
        goto out;
      }
  fail ("unknown command '%s'; see --help", args[0]);

out:
  if (fflush (stdout) != 0 && rc == 0)
    rc = fail ("cannot write the output: %s", g_strerror (errno));
  g_clear_object (&cli.store);
  g_free (cli.db);
  g_free (cli.passphrase_file);
  g_free (cli.new_passphrase_file);
  g_free (cli.type);
  g_free (cli.status);
  g_free (cli.kdf);
  return rc;
}
