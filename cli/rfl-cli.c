/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The command line that reunite-cli and reunite-hq share, so that the two
 * programs an office runs by hand behave alike: how a program starts and
 * reads its options, how a passphrase is asked for or read, how a store is
 * opened, created and given a new passphrase, how a USB command checks its
 * directory and reports what it read. Errors are one line on stderr, results
 * JSON lines on stdout, for scripts. The desktop app links none of this.
 */
#define G_LOG_DOMAIN "rfl-cli"

#include <errno.h>
#include <glib/gstdio.h>
#include <locale.h>
#include <sodium.h>
#include <stdio.h>

#include "rfl-cli.h"
#include "rfl-schema.h"

/**
 * rfl_cli_fail:
 *
 * Prints "PROGRAM: message" on one line, whatever line breaks the lower
 * layers put in it.
 *
 * Returns: 1, the exit status
 */
int
rfl_cli_fail (const char *format,
              ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_strdelimit (message, "\r\n", ' ');
  g_printerr ("%s: %s\n", g_get_prgname () != NULL ? g_get_prgname () : "reunite", message);
  return 1;
}

int
rfl_cli_fail_error (const GError *error)
{
  g_return_val_if_fail (error != NULL, 1);

  return rfl_cli_fail ("%s", error->message);
}

/* One JSON object, one line, flushed: a supervisor may be reading. */
void
rfl_cli_print_object (JsonObject *obj)
{
  g_autoptr(JsonNode) node = NULL;
  g_autofree char *text = NULL;

  g_return_if_fail (obj != NULL);

  node = json_node_init_object (json_node_alloc (), obj);
  text = json_to_string (node, FALSE);
  fputs (text, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
}

/* Each of @rows, JSON objects, on a line of its own. */
void
rfl_cli_print_rows (GPtrArray *rows)
{
  g_return_if_fail (rows != NULL);

  for (guint i = 0; i < rows->len; i++)
    rfl_cli_print_object (g_ptr_array_index (rows, i));
}

/* --kdf: anything but the two other levels is the default, MODERATE. */
RflKdfLevel
rfl_cli_kdf_level (const char *name)
{
  if (g_strcmp0 (name, "interactive") == 0)
    return RFL_KDF_INTERACTIVE;
  if (g_strcmp0 (name, "sensitive") == 0)
    return RFL_KDF_SENSITIVE;
  return RFL_KDF_MODERATE;
}

/* The store's passphrase, from its file, else from the terminal. */
RflSecret *
rfl_cli_read_passphrase (RflCliStore  *db,
                         const char   *prompt,
                         GError      **error)
{
  g_return_val_if_fail (db != NULL, NULL);

  return db->passphrase_file != NULL ? rfl_secret_read_file (db->passphrase_file, error)
                                     : rfl_secret_prompt (prompt, error);
}

/* A new passphrase, from @file, else typed twice. */
static RflSecret *
read_new_passphrase (const char  *file,
                     const char  *prompt,
                     const char  *again,
                     GError     **error)
{
  g_autoptr(RflSecret) first = NULL;
  g_autoptr(RflSecret) second = NULL;

  if (file != NULL)
    return rfl_secret_read_file (file, error);
  if ((first = rfl_secret_prompt (prompt, error)) == NULL ||
      (second = rfl_secret_prompt (again, error)) == NULL)
    return NULL;
  if (first->len != second->len || sodium_memcmp (first->data, second->data, first->len) != 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "the passphrases differ");
      return NULL;
    }
  return g_steal_pointer (&first);
}

/**
 * rfl_cli_open:
 * @prompt: what the terminal asks, if no passphrase file was given
 *
 * Opens @db's store into @db->store, or says why it cannot.
 *
 * Returns: 0, or the exit status
 */
int
rfl_cli_open (RflCliStore *db,
              const char  *prompt)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflSecret) secret = NULL;

  g_return_val_if_fail (db != NULL && db->store == NULL, 1);

  if ((secret = rfl_cli_read_passphrase (db, prompt, &error)) == NULL ||
      (db->store = rfl_store_open (db->path, secret->data, secret->len, &error)) == NULL)
    return rfl_cli_fail_error (error);
  return 0;
}

/**
 * rfl_cli_create:
 * @new_passphrase_file: (nullable): where the passphrase is, if no
 *   passphrase file was given; else it is typed twice
 * @id_member: the name under which the new store's id is printed
 * @prompt: what the terminal asks first
 * @again: what it asks the second time
 *
 * Creates @db's store, its directory (mode 0700) if need be, and prints its
 * id and path.
 *
 * Returns: 0, or the exit status
 */
int
rfl_cli_create (RflCliStore *db,
                const char  *new_passphrase_file,
                const char  *id_member,
                const char  *prompt,
                const char  *again)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflSecret) secret = NULL;
  g_autoptr(JsonObject) out = json_object_new ();
  g_autofree char *dir = NULL;

  g_return_val_if_fail (db != NULL && db->store == NULL, 1);

  dir = g_path_get_dirname (db->path);
  if (g_mkdir_with_parents (dir, 0700) != 0)
    return rfl_cli_fail ("cannot create %s: %s", dir, g_strerror (errno));
  if (db->passphrase_file != NULL)
    secret = rfl_secret_read_file (db->passphrase_file, &error);
  else
    secret = read_new_passphrase (new_passphrase_file, prompt, again, &error);
  if (secret == NULL ||
      (db->store = rfl_store_create (db->path, secret->data, secret->len,
                                     rfl_cli_kdf_level (db->kdf), &error)) == NULL)
    return rfl_cli_fail_error (error);
  json_object_set_string_member (out, id_member, rfl_store_get_device_id (db->store));
  json_object_set_string_member (out, "db", db->path);
  rfl_cli_print_object (out);
  return 0;
}

/**
 * rfl_cli_passwd:
 * @prompt: what the terminal asks for the current passphrase
 * @level: the Argon2id limits of the new wrapping
 *
 * Opens @db's store and wraps its key under a new passphrase, read from
 * @db->new_passphrase_file or typed twice. Prints
 * `{"passphrase_changed":true}`.
 *
 * Returns: 0, or the exit status
 */
int
rfl_cli_passwd (RflCliStore *db,
                const char  *prompt,
                RflKdfLevel  level)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(RflSecret) old = NULL;
  g_autoptr(RflSecret) fresh = NULL;
  g_autoptr(JsonObject) out = json_object_new ();

  g_return_val_if_fail (db != NULL && db->store == NULL, 1);

  /* The current passphrase is checked before a new one is asked for twice. */
  if ((old = rfl_cli_read_passphrase (db, prompt, &error)) == NULL ||
      (db->store = rfl_store_open (db->path, old->data, old->len, &error)) == NULL ||
      (fresh = read_new_passphrase (db->new_passphrase_file, "New passphrase: ",
                                    "Repeat new passphrase: ", &error)) == NULL ||
      !rfl_store_change_passphrase (db->store, old->data, old->len, fresh->data, fresh->len, level,
                                    &error))
    return rfl_cli_fail_error (error);
  json_object_set_boolean_member (out, "passphrase_changed", TRUE);
  rfl_cli_print_object (out);
  return 0;
}

/**
 * rfl_cli_bundle_dir:
 * @args: the command's words: one directory
 * @usage: what to say if they are not
 *
 * Checks the one argument of a USB command: a directory, the stick.
 *
 * Returns: 0, or the exit status
 */
int
rfl_cli_bundle_dir (char       **args,
                    const char  *usage)
{
  g_return_val_if_fail (args != NULL, 1);

  if (args[0] == NULL || args[1] != NULL)
    return rfl_cli_fail ("%s", usage);
  if (!g_file_test (args[0], G_FILE_TEST_IS_DIR))
    return rfl_cli_fail ("%s is not a directory", args[0]);
  return 0;
}

/**
 * rfl_cli_bundles_read:
 * @report: what the bundles read from a stick did
 * @rejections: (element-type utf8): why each refused one was refused
 *
 * Says on stderr why each bundle refused was refused, and prints the report
 * with their count.
 *
 * Returns: the exit status: 1 if any bundle was refused
 */
int
rfl_cli_bundles_read (const RflSyncReport *report,
                      GPtrArray           *rejections)
{
  g_autoptr(JsonObject) out = NULL;

  g_return_val_if_fail (report != NULL && rejections != NULL, 1);

  for (guint i = 0; i < rejections->len; i++)
    g_printerr ("%s: %s\n", g_get_prgname (), (char *) g_ptr_array_index (rejections, i));
  out = rfl_sync_report_to_json (report);
  json_object_set_int_member (out, "rejected_bundles", rejections->len);
  rfl_cli_print_object (out);
  return rejections->len > 0 ? 1 : 0;
}

static int
run_command (const RflCliProgram  *program,
             char                **args)
{
  g_autoptr(GError) error = NULL;

  if (args == NULL || args[0] == NULL)
    {
      rfl_cli_fail ("no command given; see --help");
      return 2;
    }
  if (program->check != NULL && !program->check (program->data))
    return 2;
  /* The office's additions to the record schema are checked before any
   * command: a store must not run, nor HQ merge, without the record types
   * they define. */
  if (!rfl_schema_load_default (&error))
    {
      rfl_cli_fail_error (error);
      return 2;
    }
  if (program->store->passphrase_file == NULL && g_getenv ("REUNITE_PASSPHRASE_FILE") != NULL)
    program->store->passphrase_file = g_strdup (g_getenv ("REUNITE_PASSPHRASE_FILE"));

  for (gsize i = 0; i < program->n_commands; i++)
    if (g_str_equal (args[0], program->commands[i].name))
      return program->commands[i].run (program->data, args + 1);
  rfl_cli_fail ("unknown command '%s'; see --help", args[0]);
  return 2;
}

/**
 * rfl_cli_main:
 *
 * Runs @program: hardens the process, reads the options and runs the
 * command named, then closes the store and frees @program->store's strings.
 * The options' other strings are the program's to free.
 *
 * Returns: the exit status: 0, 1 when the command failed, 2 when it could
 *   not be run as given
 */
int
rfl_cli_main (const RflCliProgram  *program,
              int                   argc,
              char                **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) summary = g_string_new ("Commands:\n");
  g_auto(GStrv) args = NULL;
  const GOptionEntry remaining[] = {
    { G_OPTION_REMAINING, 0, 0, G_OPTION_ARG_STRING_ARRAY, &args, NULL, "COMMAND [ARGS…]" },
    { NULL }
  };
  int rc = 2;

  g_return_val_if_fail (program != NULL && program->store != NULL, 2);

  rfl_process_harden ();
  g_set_prgname (program->name);
  setlocale (LC_ALL, "");
  /* These tools speak English; the libraries' translated messages are for
   * the app, so keep them English here too, whatever the installed
   * catalogues. */
  setlocale (LC_MESSAGES, "C");
  /* In a bare shell (LC_ALL=C) the locale's charset is ASCII, and GOption
   * refused an Arabic name as an argument. Arguments are UTF-8 here. */
  if (!g_get_charset (NULL))
    setlocale (LC_CTYPE, "C.UTF-8");
  if (sodium_init () < 0)
    return rfl_cli_fail ("libsodium could not be initialised");

  for (gsize i = 0; i < program->n_commands; i++)
    g_string_append_printf (summary, "  %-10s %s\n", program->commands[i].name,
                            program->commands[i].help);
  context = g_option_context_new (NULL);
  g_option_context_add_main_entries (context, program->entries, NULL);
  g_option_context_add_main_entries (context, remaining, NULL);
  g_option_context_set_summary (context, program->summary);
  g_option_context_set_description (context, summary->str);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    rfl_cli_fail_error (error);
  else
    rc = run_command (program, args);

  if (fflush (stdout) != 0 && rc == 0)
    rc = rfl_cli_fail ("cannot write the output: %s", g_strerror (errno));
  g_clear_object (&program->store->store);
  g_clear_pointer (&program->store->path, g_free);
  g_clear_pointer (&program->store->passphrase_file, g_free);
  g_clear_pointer (&program->store->new_passphrase_file, g_free);
  g_clear_pointer (&program->store->kdf, g_free);
  return rc;
}
