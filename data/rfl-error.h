/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define RFL_STORE_ERROR (rfl_store_error_quark ())

/**
 * RflStoreError:
 * @RFL_STORE_ERROR_NOT_ENCRYPTED: the SQLite library in this process has no
 *   encryption (plain libsqlite3 was loaded); the store refuses to open.
 * @RFL_STORE_ERROR_WRONG_PASSPHRASE: the passphrase does not unlock the store.
 * @RFL_STORE_ERROR_CORRUPT: the key file or database is damaged or does not belong together.
 * @RFL_STORE_ERROR_EXISTS: a database or record with that name or id already exists.
 * @RFL_STORE_ERROR_NOT_FOUND: no such database or record.
 * @RFL_STORE_ERROR_INVALID: a record does not satisfy the record schema.
 * @RFL_STORE_ERROR_TRANSITION: a status change the lifecycle does not allow.
 * @RFL_STORE_ERROR_TOO_NEW: the database was written by a newer version of Reunite.
 * @RFL_STORE_ERROR_CLOSED: the store is locked or closed.
 * @RFL_STORE_ERROR_SQL: the database engine reported an error (its message is kept).
 * @RFL_STORE_ERROR_IO: reading or writing a file failed.
 * @RFL_STORE_ERROR_WEAK_PASSPHRASE: the new passphrase is too short.
 * @RFL_STORE_ERROR_NOT_ALLOWED: the change is not this device's to make
 *   (deleting an open case another device registered).
 * @RFL_STORE_ERROR_SCHEMA: a record schema override file breaks a rule of
 *   its format or would remove or weaken a rule; the message names the file.
 *
 * Error codes of the case store. The enumeration only grows.
 */
typedef enum
{
  RFL_STORE_ERROR_NOT_ENCRYPTED,
  RFL_STORE_ERROR_WRONG_PASSPHRASE,
  RFL_STORE_ERROR_CORRUPT,
  RFL_STORE_ERROR_EXISTS,
  RFL_STORE_ERROR_NOT_FOUND,
  RFL_STORE_ERROR_INVALID,
  RFL_STORE_ERROR_TRANSITION,
  RFL_STORE_ERROR_TOO_NEW,
  RFL_STORE_ERROR_CLOSED,
  RFL_STORE_ERROR_SQL,
  RFL_STORE_ERROR_IO,
  RFL_STORE_ERROR_WEAK_PASSPHRASE,
  RFL_STORE_ERROR_NOT_ALLOWED,
  RFL_STORE_ERROR_SCHEMA,
} RflStoreError;

GQuark rfl_store_error_quark (void);

G_END_DECLS
