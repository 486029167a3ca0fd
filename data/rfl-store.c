/* SPDX-License-Identifier: GPL-3.0-or-later */
/* RflStore: the GObject, opening and creating a store, its device keys, and
 * the passphrase that wraps its data key. The store's other concerns have a
 * file each; rfl-store-private.h lists what they share. */
#define G_LOG_DOMAIN "rfl-store"

#include "rfl-store-private.h"
#include "rfl-store-sync.h"
#include "rfl-json.h"
#include "rfl-store-testing.h"
#include "rfl-keyfile-private.h"
#include "rfl-names.h"
#include "rfl-rank.h"
#include "rfl-schema.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <sodium.h>
#include <sqlite3.h>
#include <string.h>
#include <glib/gi18n-lib.h>

/* 64 MiB of page cache: with SQLCipher's 2 MiB default, every cache miss
 * decrypts a page and writes cost three times as much (measured). */
#define CACHE_KIB            65536
#define PAGE_SIZE            16384
#define DEFAULT_RETENTION    1826     /* days: five years after a case is closed */
#define DEVICE_ID_BYTES      16

G_DEFINE_FINAL_TYPE (RflStore, rfl_store, G_TYPE_OBJECT)

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

void
rfl_store_emit_changed (RflStore *self)
{
  g_signal_emit (self, signals[CHANGED], 0);
}

/* Opening, creating and migrating. */

static void
finalize_statement (gpointer st)
{
  sqlite3_finalize (st);
}

static void
close_db (RflStore *self)
{
  /* Queued audit entries of reads are written before the key goes. */
  if (self->db != NULL && self->pending.length > 0)
    {
      g_autoptr(GError) error = NULL;

      if (!rfl_store_begin (self, &error) || !rfl_store_commit (self, &error))
        {
          rfl_store_rollback (self);
          g_warning ("%u audit entries could not be written: %s", self->pending.length, error->message);
        }
    }
  rfl_store_audit_clear_pending (self);
  g_hash_table_remove_all (self->statements);
  if (self->db != NULL)
    {
      sqlite3_close_v2 (self->db);
      self->db = NULL;
    }
  self->hlc = 0;
}

char *
rfl_db_pragma_value (sqlite3    *db,
                     const char *sql)
{
  g_autoptr(sqlite3_stmt) st = NULL;

  if (sqlite3_prepare_v2 (db, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step (st) != SQLITE_ROW ||
      sqlite3_column_type (st, 0) == SQLITE_NULL)
    return NULL;
  return g_strdup ((const char *) sqlite3_column_text (st, 0));
}

/* Opens the database and applies the key and every guard of the store. A NULL
 * @data_key opens without encryption (benchmarks only). */
/* Owner only. SQLite gives the -wal and -shm files the database file's
 * mode, so a file made 0600 here keeps all three private; one an older
 * build made 0644 is put right. */
static void
make_private (const char *path,
              gboolean    create)
{
  g_autofree char *wal = NULL, *shm = NULL;
  GStatBuf st;

  if (create)
    {
      int fd = g_open (path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

      if (fd >= 0)
        close (fd);
      return;
    }
  if (g_lstat (path, &st) != 0 || !S_ISREG (st.st_mode) || (st.st_mode & 077) == 0)
    return;
  wal = g_strconcat (path, "-wal", NULL);
  shm = g_strconcat (path, "-shm", NULL);
  g_chmod (path, 0600);
  if (g_lstat (wal, &st) == 0 && S_ISREG (st.st_mode))
    g_chmod (wal, 0600);
  if (g_lstat (shm, &st) == 0 && S_ISREG (st.st_mode))
    g_chmod (shm, 0600);
}

static gboolean
apply_key (RflStore      *self,
           const guint8  *data_key,
           GError       **error)
{
  g_autofree char *cipher = NULL;
  gsize hex_len = RFL_DATA_KEY_BYTES * 2 + 3;
  char *hex;
  int rc;

  /* A process that loaded plain libsqlite3 first would ignore the key and
   * write plaintext, or crash inside sqlite3_key_v2() on SQLite's handle.
   * SQLCipher answers this pragma before any key is set; SQLite does not. */
  if ((cipher = rfl_db_pragma_value (self->db, "PRAGMA cipher_version")) == NULL)
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_ENCRYPTED,
                           _("this program is linked to SQLite without encryption; "
                           "refusing to open the case store"));
      return FALSE;
    }

  /* SQLCipher's raw-key form: x'<64 hex digits>', kept in guarded memory. */
  hex = sodium_malloc (hex_len + 1);
  hex[0] = 'x';
  hex[1] = '\'';
  sodium_bin2hex (hex + 2, RFL_DATA_KEY_BYTES * 2 + 1, data_key, RFL_DATA_KEY_BYTES);
  hex[hex_len - 1] = '\'';
  hex[hex_len] = '\0';
  rc = sqlite3_key_v2 (self->db, "main", hex, hex_len);
  sodium_free (hex);
  /* 16 KiB pages: fewer pages to encrypt, authenticate and write per
   * record; a 200,000-record import ran 16% faster than with 4 KiB. The
   * page size is not stored in the encrypted file, so it is set on every
   * open, before the first read. */
  if (rc == SQLITE_OK)
    rc = sqlite3_exec (self->db, "PRAGMA cipher_page_size = " G_STRINGIFY (PAGE_SIZE), NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    return rfl_store_sql_fail (self, error, "applying the database key");
  return TRUE;
}

static gboolean
configure_db (RflStore  *self,
              GError   **error)
{
  g_autofree char *journal_mode = NULL;

  if (sqlite3_exec (self->db,
                    "PRAGMA temp_store = MEMORY;"
                    "PRAGMA secure_delete = ON;"
                    "PRAGMA foreign_keys = ON;"
                    "PRAGMA trusted_schema = OFF;"
                    "PRAGMA cache_size = -" G_STRINGIFY (CACHE_KIB) ";"
                    /* Checkpoints every 80 MiB rather than 4 MiB: 12% faster bulk
                     * imports (measured); the log is cut back to 16 MiB after each. */
                    "PRAGMA wal_autocheckpoint = 5000;"
                    "PRAGMA journal_size_limit = 16777216;",
                    NULL, NULL, NULL) != SQLITE_OK)
    return rfl_store_sql_fail (self, error, "configuring the database");
  if (!rfl_rank_register (self->db))
    return rfl_store_sql_fail (self, error, "registering the name search's ranking");
  journal_mode = rfl_db_pragma_value (self->db, "PRAGMA journal_mode = WAL");
  if (g_strcmp0 (journal_mode, "wal") != 0 ||
      sqlite3_exec (self->db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK)
    return rfl_store_sql_fail (self, error, "enabling the write-ahead log");
  return TRUE;
}

static gboolean
open_db (RflStore      *self,
         const guint8  *data_key,
         gboolean       create,
         GError       **error)
{
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | SQLITE_OPEN_NOFOLLOW |
              (create ? SQLITE_OPEN_CREATE : 0);
  int rc;

  make_private (self->path, create);
  rc = sqlite3_open_v2 (self->path, &self->db, flags, NULL);
  if (rc != SQLITE_OK)
    {
      g_set_error (error, RFL_STORE_ERROR, rc == SQLITE_CANTOPEN ? RFL_STORE_ERROR_NOT_FOUND
                                                                 : RFL_STORE_ERROR_IO,
                   _("cannot open %s: %s"), self->path,
                   self->db ? sqlite3_errmsg (self->db) : sqlite3_errstr (rc));
      close_db (self);
      return FALSE;
    }
  sqlite3_extended_result_codes (self->db, TRUE);
  sqlite3_busy_timeout (self->db, RFL_STORE_BUSY_TIMEOUT_MS);
  sqlite3_update_hook (self->db, rfl_store_update_hook, self);
  /* SQLCipher logs decryption failures to stderr; the store reports them
   * itself. In 4.6 the level alone does not silence them: the source does. */
  sqlite3_exec (self->db, "PRAGMA cipher_log_level = NONE", NULL, NULL, NULL);
  sqlite3_exec (self->db, "PRAGMA cipher_log_source = NONE", NULL, NULL, NULL);

  if (data_key != NULL && !apply_key (self, data_key, error))
    {
      close_db (self);
      return FALSE;
    }
  /* The unencrypted baseline of the benchmarks uses the same page size. */
  if (data_key == NULL && create)
    sqlite3_exec (self->db, "PRAGMA page_size = " G_STRINGIFY (PAGE_SIZE), NULL, NULL, NULL);

  /* With a wrong key, opening and keying succeed and the first read fails. */
  rc = sqlite3_exec (self->db, "SELECT count(*) FROM sqlite_master", NULL, NULL, NULL);
  if (rc == SQLITE_NOTADB)
    g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_CORRUPT,
                 _("%s is not a Reunite database or does not match its key file"), self->path);
  else if (rc != SQLITE_OK)
    rfl_store_sql_fail (self, error, "reading the database");
  if (rc != SQLITE_OK || !configure_db (self, error))
    {
      close_db (self);
      return FALSE;
    }
  return TRUE;
}

static gboolean
create_device (RflStore  *self,
               GError   **error)
{
  guint8 sign_pk[crypto_sign_PUBLICKEYBYTES], box_pk[crypto_box_PUBLICKEYBYTES];
  guint8 id_bytes[DEVICE_ID_BYTES];
  char id_hex[DEVICE_ID_BYTES * 2 + 1];
  guint8 *sign_sk = sodium_malloc (crypto_sign_SECRETKEYBYTES);
  guint8 *box_sk = sodium_malloc (crypto_box_SECRETKEYBYTES);
  sqlite3_stmt *st;
  gboolean ok = FALSE;

  crypto_sign_keypair (sign_pk, sign_sk);
  crypto_box_keypair (box_pk, box_sk);
  /* The device id is a hash of the signing key, so it cannot be claimed without the key. */
  crypto_generichash (id_bytes, sizeof id_bytes, sign_pk, sizeof sign_pk, NULL, 0);
  sodium_bin2hex (id_hex, sizeof id_hex, id_bytes, sizeof id_bytes);

  st = rfl_store_stmt (self, "INSERT INTO device (id, device_id, sign_pk, sign_sk, box_pk, box_sk, created_at)"
                   " VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6)", error);
  if (st != NULL)
    {
      rfl_bind_text (st, 1, id_hex);
      sqlite3_bind_blob (st, 2, sign_pk, sizeof sign_pk, SQLITE_STATIC);
      sqlite3_bind_blob (st, 3, sign_sk, crypto_sign_SECRETKEYBYTES, SQLITE_STATIC);
      sqlite3_bind_blob (st, 4, box_pk, sizeof box_pk, SQLITE_STATIC);
      sqlite3_bind_blob (st, 5, box_sk, crypto_box_SECRETKEYBYTES, SQLITE_STATIC);
      sqlite3_bind_int64 (st, 6, rfl_now_ms ());
      ok = sqlite3_step (st) == SQLITE_DONE;
      sqlite3_clear_bindings (st);
      sqlite3_reset (st);
      if (!ok)
        rfl_store_sql_fail (self, error, "creating this device's keys");
    }
  sodium_free (sign_sk);
  sodium_free (box_sk);
  return ok;
}

static gboolean
load_identity (RflStore  *self,
               GError   **error)
{
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "SELECT device_id FROM device WHERE id = 1", error)) == NULL)
    return FALSE;
  if (sqlite3_step (st) != SQLITE_ROW)
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_CORRUPT,
                           _("the database has no device identity"));
      return FALSE;
    }
  g_free (self->device_id);
  self->device_id = g_strdup ((const char *) sqlite3_column_text (st, 0));
  sqlite3_reset (st);

  {
    g_autofree char *days = rfl_store_meta_get (self, "retention_days");
    g_atomic_int_set (&self->retention_days,
                      days != NULL ? (gint) g_ascii_strtoll (days, NULL, 10) : DEFAULT_RETENTION);
  }

  /* The clock only moves forward, so the newest journal entry carries its
   * highest value; max(hlc) would read the whole journal. */
  if ((st = rfl_store_stmt (self, "SELECT hlc FROM journal ORDER BY seq DESC LIMIT 1", error)) == NULL)
    return FALSE;
  if (sqlite3_step (st) == SQLITE_ROW)
    self->hlc = (guint64) sqlite3_column_int64 (st, 0);
  sqlite3_reset (st);
  return TRUE;
}

static char *
key_path_for (const char *path)
{
  return g_strconcat (path, ".key", NULL);
}

static RflStore *
store_new (const char *path)
{
  RflStore *self = g_object_new (RFL_TYPE_STORE, NULL);

  self->path = g_strdup (path);
  self->key_path = key_path_for (path);
  return self;
}

static gboolean
check_passphrase (gsize    len,
                  GError **error)
{
  if (len < RFL_STORE_MIN_PASSPHRASE)
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_WEAK_PASSPHRASE,
                   _("the passphrase must be at least %d characters long"), RFL_STORE_MIN_PASSPHRASE);
      return FALSE;
    }
  return TRUE;
}

static void
remove_database_files (const char *path)
{
  static const char * const suffixes[] = { "", "-wal", "-shm", NULL };

  for (guint i = 0; suffixes[i] != NULL; i++)
    {
      g_autofree char *file = g_strconcat (path, suffixes[i], NULL);
      g_unlink (file);
    }
}

/* Whether anything is at @path, a dangling symbolic link included: a new
 * store is made only where nothing is, and a failed one then removes only
 * what it made. */
static gboolean
path_taken (const char *path)
{
  GStatBuf st;

  return g_lstat (path, &st) == 0;
}

static RflStore *
create_full (const char   *path,
             const char   *passphrase,
             gsize         passphrase_len,
             RflKdfLevel   level,
             guint         version,
             gboolean      encrypted,
             GError      **error)
{
  g_autoptr(RflStore) self = NULL;
  g_autofree char *pending_key = NULL;
  guint8 *data_key = NULL;
  gboolean ok;

  if (encrypted && !check_passphrase (passphrase_len, error))
    return NULL;

  self = store_new (path);
  if (path_taken (path) || path_taken (self->key_path))
    {
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_EXISTS,
                   _("%s already exists; open it, or choose another path"), path);
      return NULL;
    }

  /* The key file is written under a temporary name and moved into place only
   * when the database is complete, so a failed create leaves nothing behind. */
  if (encrypted)
    {
      data_key = rfl_keyfile_new_data_key ();
      pending_key = g_strconcat (self->key_path, ".new", NULL);
      if (!rfl_keyfile_write (pending_key, data_key, passphrase, passphrase_len, level, error))
        {
          rfl_keyfile_free_key (data_key);
          return NULL;
        }
    }

  ok = open_db (self, data_key, TRUE, error);
  rfl_keyfile_free_key (data_key);
  ok = ok && rfl_store_migrate (self, version, error);
  if (ok && version >= 1)
    {
      ok = rfl_store_begin (self, error) && create_device (self, error) &&
           rfl_store_meta_set (self, "created_by", PACKAGE_VERSION, error) && rfl_store_commit (self, error);
      if (!ok)
        rfl_store_rollback (self);
    }
  ok = ok && (version < 1 || load_identity (self, error));
  if (ok && encrypted && g_rename (pending_key, self->key_path) != 0)
    {
      int saved = errno;
      g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_IO,
                   _("cannot save the key file: %s"), g_strerror (saved));
      ok = FALSE;
    }
  if (ok && version >= 2)
    ok = rfl_store_audit_read (self, "init", NULL, self->device_id, error);

  if (!ok)
    {
      close_db (self);
      remove_database_files (path);
      if (pending_key != NULL)
        g_unlink (pending_key);
      return NULL;
    }
  return g_steal_pointer (&self);
}

/**
 * rfl_store_create:
 * @path: where the database goes; the key file is written beside it as PATH.key
 * @passphrase: the passphrase, not necessarily NUL-terminated
 * @passphrase_len: its length in bytes
 * @level: how hard the passphrase is to guess by brute force
 * @error: return location for an error
 *
 * Creates an encrypted case store with a random data key and this device's
 * signing and encryption keys.
 *
 * Returns: (transfer full): the open store, or %NULL on error
 */
RflStore *
rfl_store_create (const char   *path,
                  const char   *passphrase,
                  gsize         passphrase_len,
                  RflKdfLevel   level,
                  GError      **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (passphrase != NULL, NULL);

  return create_full (path, passphrase, passphrase_len, level, RFL_STORE_SCHEMA_VERSION, TRUE, error);
}

/**
 * rfl_store_open:
 * @path: the database
 * @passphrase: the passphrase, not necessarily NUL-terminated
 * @passphrase_len: its length in bytes
 * @error: return location for an error
 *
 * Unlocks the store and upgrades its schema if it was made by an earlier
 * version. A wrong passphrase fails with %RFL_STORE_ERROR_WRONG_PASSPHRASE and
 * changes nothing on disk.
 *
 * Returns: (transfer full): the open store, or %NULL on error
 */
RflStore *
rfl_store_open (const char  *path,
                const char  *passphrase,
                gsize        passphrase_len,
                GError     **error)
{
  g_autoptr(RflStore) self = NULL;
  guint8 *data_key;
  gboolean ok;

  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (passphrase != NULL, NULL);

  self = store_new (path);
  if (!g_file_test (path, G_FILE_TEST_IS_REGULAR))
    {
      if (path_taken (path))
        g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_INVALID,
                     _("%s is not a case store: it is not a regular file"), path);
      else
        g_set_error (error, RFL_STORE_ERROR, RFL_STORE_ERROR_NOT_FOUND,
                     _("no case store at %s; create one with 'init'"), path);
      return NULL;
    }
  if ((data_key = rfl_keyfile_unwrap (self->key_path, passphrase, passphrase_len, error)) == NULL)
    return NULL;

  ok = open_db (self, data_key, FALSE, error);
  rfl_keyfile_free_key (data_key);
  if (!ok || !rfl_store_migrate (self, RFL_STORE_SCHEMA_VERSION, error) || !load_identity (self, error))
    {
      close_db (self);
      return NULL;
    }
  return g_steal_pointer (&self);
}

typedef struct
{
  const char  *old_passphrase;
  gsize        old_len;
  const char  *new_passphrase;
  gsize        new_len;
  RflKdfLevel  level;
} PassphraseArgs;

/* The key file is rewritten atomically (rfl-keyfile.c); the database
 * itself does not change, so this takes no write transaction. */
static gboolean
change_passphrase_locked (RflStore  *self,
                          gpointer   data,
                          GError   **error)
{
  PassphraseArgs *args = data;
  guint8 *data_key;
  gboolean ok;

  if ((data_key = rfl_keyfile_unwrap (self->key_path, args->old_passphrase, args->old_len, error)) == NULL)
    return FALSE;
  ok = rfl_keyfile_write (self->key_path, data_key, args->new_passphrase, args->new_len, args->level, error);
  rfl_keyfile_free_key (data_key);
  return ok && rfl_store_audit_read (self, "passwd", NULL, NULL, error);
}

/**
 * rfl_store_change_passphrase:
 * @self: an open store
 * @old_passphrase: the current passphrase, checked again
 * @old_len: its length
 * @new_passphrase: the new passphrase
 * @new_len: its length
 * @level: Argon2id limits for the new passphrase
 * @error: return location for an error
 *
 * Re-wraps the data key under the new passphrase. The database itself is not
 * re-encrypted; the key file is replaced atomically.
 */
gboolean
rfl_store_change_passphrase (RflStore     *self,
                             const char   *old_passphrase,
                             gsize         old_len,
                             const char   *new_passphrase,
                             gsize         new_len,
                             RflKdfLevel   level,
                             GError      **error)
{
  PassphraseArgs args = { old_passphrase, old_len, new_passphrase, new_len, level };

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  g_return_val_if_fail (old_passphrase != NULL && new_passphrase != NULL, FALSE);

  if (!check_passphrase (new_len, error))
    return FALSE;

  return rfl_store_read (self, change_passphrase_locked, &args, error);
}

/**
 * rfl_store_close:
 * @self: a store
 *
 * Locks the store: closes the database, which wipes SQLCipher's copy of the
 * key. The object stays valid; every operation then fails with
 * %RFL_STORE_ERROR_CLOSED.
 */
void
rfl_store_close (RflStore *self)
{
  g_return_if_fail (RFL_IS_STORE (self));

  rfl_store_lock (self);
  close_db (self);
  rfl_store_unlock (self);
}

gboolean
rfl_store_is_open (RflStore *self)
{
  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);
  return self->db != NULL;
}

const char *
rfl_store_get_path (RflStore *self)
{
  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  return self->path;
}

const char *
rfl_store_get_device_id (RflStore *self)
{
  g_return_val_if_fail (RFL_IS_STORE (self), NULL);
  return self->device_id;
}

/**
 * rfl_store_set_actor:
 * @self: a store
 * @actor: who is working, as the audit log should name them
 */
void
rfl_store_set_actor (RflStore   *self,
                     const char *actor)
{
  g_return_if_fail (RFL_IS_STORE (self));
  g_return_if_fail (actor != NULL);

  rfl_store_lock (self);
  g_free (self->actor);
  self->actor = g_strdup (actor);
  rfl_store_unlock (self);
}

/* Private API for tests and benchmarks. */

RflStore *
rfl_store_create_at_version (const char   *path,
                             const char   *passphrase,
                             gsize         passphrase_len,
                             RflKdfLevel   level,
                             guint         version,
                             GError      **error)
{
  g_return_val_if_fail (version <= RFL_STORE_SCHEMA_VERSION, NULL);
  return create_full (path, passphrase, passphrase_len, level, version, TRUE, error);
}

RflStore *
rfl_store_create_unencrypted (const char  *path,
                              GError     **error)
{
  return create_full (path, "", 0, RFL_KDF_INTERACTIVE, RFL_STORE_SCHEMA_VERSION, FALSE, error);
}

RflStore *
rfl_store_open_unencrypted (const char  *path,
                            GError     **error)
{
  g_autoptr(RflStore) self = store_new (path);

  if (!open_db (self, NULL, FALSE, error) || !rfl_store_migrate (self, RFL_STORE_SCHEMA_VERSION, error) ||
      !load_identity (self, error))
    {
      close_db (self);
      return NULL;
    }
  return g_steal_pointer (&self);
}

char *
rfl_store_dup_pragma (RflStore   *self,
                      const char *pragma)
{
  g_autofree char *sql = g_strdup_printf ("PRAGMA %s", pragma);
  char *value;

  rfl_store_lock (self);
  value = self->db != NULL ? rfl_db_pragma_value (self->db, sql) : NULL;
  rfl_store_unlock (self);
  return value;
}

gboolean
rfl_store_exec (RflStore    *self,
                const char  *sql,
                GError     **error)
{
  gboolean ok;

  rfl_store_lock (self);
  ok = rfl_store_check_open (self, error) && rfl_store_exec_sql (self, sql, error);
  rfl_store_unlock (self);
  return ok;
}

gint64
rfl_store_query_int (RflStore    *self,
                     const char  *sql,
                     GError     **error)
{
  g_autoptr(sqlite3_stmt) st = NULL;
  gint64 value = -1;

  rfl_store_lock (self);
  if (rfl_store_check_open (self, error))
    {
      if (sqlite3_prepare_v2 (self->db, sql, -1, &st, NULL) != SQLITE_OK || sqlite3_step (st) != SQLITE_ROW)
        rfl_store_sql_fail (self, error, "running a test query");
      else
        value = sqlite3_column_int64 (st, 0);
    }
  rfl_store_unlock (self);
  return value;
}

void
rfl_store_set_today (RflStore   *self,
                     const char *date)
{
  rfl_store_lock (self);
  g_free (self->today);
  self->today = g_strdup (date);
  rfl_store_unlock (self);
}

/* GObject. */

static void
rfl_store_finalize (GObject *object)
{
  RflStore *self = (RflStore *) object;

  close_db (self);
  g_clear_pointer (&self->statements, g_hash_table_unref);
  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->key_path, g_free);
  g_clear_pointer (&self->device_id, g_free);
  g_clear_pointer (&self->actor, g_free);
  g_clear_pointer (&self->today, g_free);
  g_clear_pointer (&self->context, g_main_context_unref);
  g_rec_mutex_clear (&self->lock);
  g_mutex_clear (&self->group_lock);
  g_cond_clear (&self->group_cond);

  G_OBJECT_CLASS (rfl_store_parent_class)->finalize (object);
}

static void
rfl_store_class_init (RflStoreClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = rfl_store_finalize;

  /**
   * RflStore::changed:
   *
   * The cases, the journal or the sync state changed: a local write, a
   * merge, an import, a purge, a resolved conflict. Emitted in the main
   * context that was the thread's default when the store object was made,
   * after the transaction committed; writes close together give one
   * emission. Pages that show what the store holds read it again.
   */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0, NULL, NULL,
                                   NULL, G_TYPE_NONE, 0);

  if (sodium_init () < 0)
    g_error ("libsodium could not be initialised");
}

static void
rfl_store_init (RflStore *self)
{
  g_rec_mutex_init (&self->lock);
  g_mutex_init (&self->group_lock);
  g_cond_init (&self->group_cond);
  self->retention_days = DEFAULT_RETENTION;
  self->statements = g_hash_table_new_full (g_direct_hash, g_direct_equal, NULL,
                                            finalize_statement);
  self->schema = rfl_schema_get_default ();
  self->names = rfl_names_get_default ();
  self->actor = g_strdup (g_get_user_name ());
  self->context = g_main_context_ref_thread_default ();
}

/* Device keys. */

void
rfl_device_keys_free (RflDeviceKeys *keys)
{
  if (keys != NULL)
    sodium_free (keys);
}

/* Guarded memory; like g_malloc(), aborts when there is none. */
static RflDeviceKeys *
keys_alloc (void)
{
  RflDeviceKeys *keys = sodium_malloc (sizeof *keys);

  if (keys == NULL)
    g_error ("out of guarded memory for keys");
  return keys;
}

RflDeviceKeys *
rfl_device_keys_copy (const RflDeviceKeys *keys)
{
  RflDeviceKeys *copy = keys_alloc ();

  memcpy (copy, keys, sizeof *copy);
  return copy;
}

static gboolean
dup_keys_locked (RflStore  *self,
                 gpointer   data,
                 GError   **error)
{
  RflDeviceKeys **keys = data;
  sqlite3_stmt *st;

  if ((st = rfl_store_stmt (self, "SELECT device_id, sign_pk, sign_sk, box_pk, box_sk FROM device", error)) == NULL)
    return FALSE;
  if (sqlite3_step (st) != SQLITE_ROW ||
      sqlite3_column_bytes (st, 0) != 32 || sqlite3_column_bytes (st, 1) != 32 ||
      sqlite3_column_bytes (st, 2) != 64 || sqlite3_column_bytes (st, 3) != 32 ||
      sqlite3_column_bytes (st, 4) != 32)
    {
      g_set_error_literal (error, RFL_STORE_ERROR, RFL_STORE_ERROR_CORRUPT,
                           _("this device's keys cannot be read"));
      return FALSE;
    }
  *keys = keys_alloc ();
  memcpy ((*keys)->device_id, sqlite3_column_text (st, 0), 32);
  (*keys)->device_id[32] = '\0';
  memcpy ((*keys)->sign_pk, sqlite3_column_blob (st, 1), 32);
  memcpy ((*keys)->sign_sk, sqlite3_column_blob (st, 2), 64);
  memcpy ((*keys)->box_pk, sqlite3_column_blob (st, 3), 32);
  memcpy ((*keys)->box_sk, sqlite3_column_blob (st, 4), 32);
  sqlite3_reset (st);
  return TRUE;
}

/**
 * rfl_store_dup_keys:
 *
 * Returns: (transfer full): this store's key pairs, in guarded memory
 */
RflDeviceKeys *
rfl_store_dup_keys (RflStore  *self,
                    GError   **error)
{
  RflDeviceKeys *keys = NULL;

  g_return_val_if_fail (RFL_IS_STORE (self), NULL);

  if (!rfl_store_read (self, dup_keys_locked, &keys, error))
    return NULL;
  return keys;
}

/**
 * rfl_store_destroy_keys:
 *
 * Remote wipe: closes the store and destroys the wrapped data key, so that
 * the database can never be opened again, with any passphrase.
 */
gboolean
rfl_store_destroy_keys (RflStore  *self,
                        GError   **error)
{
  gboolean ok;

  g_return_val_if_fail (RFL_IS_STORE (self), FALSE);

  rfl_store_lock (self);
  rfl_store_close (self);
  ok = rfl_keyfile_destroy (self->key_path, error);
  rfl_store_unlock (self);
  return ok;
}
