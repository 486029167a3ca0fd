/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <json-glib/json-glib.h>

#include "rfl-secret.h"
#include "rfl-store.h"
#include "rfl-sync.h"

G_BEGIN_DECLS

/* What reunite-cli and reunite-hq share: errors as one line on stderr,
 * prefixed with the program's name, results as JSON lines on stdout, and
 * the store each command opens, with its passphrases. */

/**
 * RflCliStore:
 * @path: the database
 * @passphrase_file: --passphrase-file, else $REUNITE_PASSPHRASE_FILE
 * @new_passphrase_file: --new-passphrase-file
 * @kdf: --kdf: interactive, moderate or sensitive
 * @store: the store, once a command has opened it
 *
 * The store a command works on, and how to unlock it.
 */
typedef struct
{
  char     *path;
  char     *passphrase_file;
  char     *new_passphrase_file;
  char     *kdf;
  RflStore *store;
} RflCliStore;

/**
 * RflCliCommand:
 * @name: what the user types
 * @run: runs it with the program's options and the words after the name;
 *   returns the exit status
 * @help: one line for --help
 */
typedef struct
{
  const char  *name;
  int        (*run) (gpointer   program,
                     char     **args);
  const char  *help;
} RflCliCommand;

/**
 * RflCliProgram:
 * @name: the program's name, which prefixes its errors
 * @summary: the first line of --help
 * @entries: its options
 * @commands: (array length=n_commands): its commands
 * @store: where the options about the store land
 * @check: (nullable): checks the options once parsed, says what is wrong
 *   and returns %FALSE if anything is
 * @data: the program's options, given to @check and to each command
 */
typedef struct
{
  const char          *name;
  const char          *summary;
  const GOptionEntry  *entries;
  const RflCliCommand *commands;
  gsize                n_commands;
  RflCliStore         *store;
  gboolean           (*check) (gpointer data);
  gpointer             data;
} RflCliProgram;

int          rfl_cli_main              (const RflCliProgram  *program,
                                        int                   argc,
                                        char                **argv);
int          rfl_cli_fail              (const char           *format,
                                        ...) G_GNUC_PRINTF (1, 2);
int          rfl_cli_fail_error        (const GError         *error);
void         rfl_cli_print_object      (JsonObject           *obj);
void         rfl_cli_print_rows        (GPtrArray            *rows);
RflKdfLevel  rfl_cli_kdf_level         (const char           *name);
RflSecret   *rfl_cli_read_passphrase   (RflCliStore          *db,
                                        const char           *prompt,
                                        GError              **error) G_GNUC_WARN_UNUSED_RESULT;
int          rfl_cli_open              (RflCliStore          *db,
                                        const char           *prompt) G_GNUC_WARN_UNUSED_RESULT;
int          rfl_cli_create            (RflCliStore          *db,
                                        const char           *new_passphrase_file,
                                        const char           *id_member,
                                        const char           *prompt,
                                        const char           *again) G_GNUC_WARN_UNUSED_RESULT;
int          rfl_cli_passwd            (RflCliStore          *db,
                                        const char           *prompt,
                                        RflKdfLevel           level) G_GNUC_WARN_UNUSED_RESULT;
int          rfl_cli_bundle_dir        (char                **args,
                                        const char           *usage) G_GNUC_WARN_UNUSED_RESULT;
int          rfl_cli_bundles_read      (const RflSyncReport  *report,
                                        GPtrArray            *rejections);

G_END_DECLS
