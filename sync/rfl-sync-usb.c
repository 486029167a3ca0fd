/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Sync on a USB stick: bundles written as files into a folder, read back in
 * order and applied, and the report of what happened as JSON. */
#define G_LOG_DOMAIN "rfl-sync"

#include "rfl-sync-private.h"
#include "rfl-envelope.h"
#include "rfl-roster.h"
#include "rfl-file.h"
#include "rfl-json.h"

#include <sodium.h>
#include <string.h>
#include <glib/gi18n-lib.h>

/* USB files and reports. */

/**
 * rfl_sync_write_bundle:
 *
 * Writes an envelope to @dir/@name through a temporary file, flushed to
 * disk, then renamed: a stick pulled out half-way leaves the whole bundle
 * or none of it.
 */
gboolean
rfl_sync_write_bundle (const char  *dir,
                       const char  *name,
                       GBytes      *envelope,
                       GError     **error)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  return g_file_set_contents_full (path, g_bytes_get_data (envelope, NULL), (gssize) g_bytes_get_size (envelope),
                                   G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE, 0600, error);
}

static int
compare_paths (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/**
 * rfl_sync_list_bundles:
 * @prefix: (nullable): only files whose name starts so
 * @skip_prefix: (nullable): leave out files whose name starts so
 *
 * Returns: (transfer full) (element-type filename): the paths of the
 *   envelope files (.rfle) in @dir, in name order
 */
GPtrArray *
rfl_sync_list_bundles (const char  *dir,
                       const char  *prefix,
                       const char  *skip_prefix,
                       GError     **error)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, error);
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (d == NULL)
    return NULL;
  while ((name = g_dir_read_name (d)) != NULL)
    if (g_str_has_suffix (name, ".rfle") && (prefix == NULL || g_str_has_prefix (name, prefix)) &&
        (skip_prefix == NULL || !g_str_has_prefix (name, skip_prefix)))
      g_ptr_array_add (paths, g_build_filename (dir, name, NULL));
  g_ptr_array_sort (paths, compare_paths);
  return g_steal_pointer (&paths);
}

/**
 * rfl_sync_device_status:
 * @device: a device's store
 * @with_conflicts: whether to include the open conflicts themselves
 * @error: return location for an error
 *
 * Where this device stands with HQ: `device_id`, `enrollment` ("enrolled"
 * or "not enrolled"), `office`, `pending_changes` (its own changes HQ has
 * not receipted), `last_sync` (ISO 8601 or null), `open_conflicts`, and with
 * @with_conflicts the `conflicts` as rfl_store_list_conflicts() gives them.
 *
 * Returns: (transfer full): the status, or %NULL on error
 */
JsonObject *
rfl_sync_device_status (RflStore  *device,
                        gboolean   with_conflicts,
                        GError   **error)
{
  g_autoptr(JsonObject) out = json_object_new ();
  g_autoptr(GPtrArray) conflicts = NULL;
  g_autoptr(RflPeer) hq = NULL;
  g_autofree char *hq_id = NULL, *office = NULL, *last = NULL;
  gint64 pending;

  g_return_val_if_fail (RFL_IS_STORE (device), NULL);

  hq_id = rfl_store_get_setting (device, SETTING_HQ);
  office = rfl_store_get_setting (device, SETTING_OFFICE);
  last = rfl_store_get_setting (device, "last_sync");
  if (hq_id != NULL && (hq = rfl_store_get_peer (device, hq_id, error)) == NULL)
    return NULL;
  pending = rfl_store_count_local_ops (device, hq != NULL ? hq->acked : 0, error);
  if (pending < 0 || (conflicts = rfl_store_list_conflicts (device, FALSE, error)) == NULL)
    return NULL;
  json_object_set_string_member (out, "device_id", rfl_store_get_device_id (device));
  json_object_set_string_member (out, "enrollment", hq != NULL ? "enrolled" : "not enrolled");
  if (office != NULL)
    json_object_set_string_member (out, "office", office);
  json_object_set_int_member (out, "pending_changes", pending);
  if (last != NULL)
    json_object_set_string_member (out, "last_sync", last);
  else
    json_object_set_null_member (out, "last_sync");
  json_object_set_int_member (out, "open_conflicts", conflicts->len);
  if (with_conflicts)
    {
      JsonArray *array = json_array_sized_new (conflicts->len);

      for (guint i = 0; i < conflicts->len; i++)
        json_array_add_object_element (array, json_object_ref (g_ptr_array_index (conflicts, i)));
      json_object_set_array_member (out, "conflicts", array);
    }
  return g_steal_pointer (&out);
}

/**
 * rfl_sync_device_write_usb:
 * @device: an enrolled device's store
 * @dir: a folder, usually on a USB stick
 * @written: (out) (optional): how many bundles were written
 * @error: return location for an error
 *
 * Writes every bundle HQ has not receipted to @dir, sealing new changes
 * first. Each file is whole or absent (rfl_sync_write_bundle()); writing
 * again is harmless, as HQ applies a bundle once.
 */
gboolean
rfl_sync_device_write_usb (RflStore    *device,
                           const char  *dir,
                           guint       *written,
                           GError     **error)
{
  g_autoptr(GPtrArray) outbox = NULL;

  g_return_val_if_fail (RFL_IS_STORE (device), FALSE);
  g_return_val_if_fail (dir != NULL, FALSE);

  if (written != NULL)
    *written = 0;
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY, _("%s is not a folder"), dir);
      return FALSE;
    }
  if ((outbox = rfl_sync_device_outbox (device, error)) == NULL)
    return FALSE;
  for (guint i = 0; i < outbox->len; i++)
    {
      RflOutboxItem *item = g_ptr_array_index (outbox, i);
      g_autofree char *name = g_strdup_printf ("%s-to-hq-%010" G_GUINT64_FORMAT ".rfle",
                                               rfl_store_get_device_id (device), item->seq_from);

      if (!rfl_sync_write_bundle (dir, name, item->envelope, error))
        return FALSE;
      if (written != NULL)
        (*written)++;
    }
  return TRUE;
}

/**
 * rfl_sync_device_read_usb:
 * @device: an enrolled device's store
 * @dir: a folder, usually on a USB stick
 * @report: what was applied is added here
 * @rejections: (out) (optional) (transfer full) (element-type utf8): one
 *   line per bundle that was refused, "FILE: why"
 * @error: return location for an error
 *
 * Applies the bundles HQ wrote for this device in @dir, in order; bundles
 * for other devices are left alone. A refused bundle (damaged, forged, for
 * another device) does not stop the others.
 *
 * Returns: %FALSE if @dir cannot be read, or if HQ revoked this device (the
 *   keys are then destroyed); %TRUE otherwise, even with rejections
 */
gboolean
rfl_sync_device_read_usb (RflStore       *device,
                          const char     *dir,
                          RflSyncReport  *report,
                          GPtrArray     **rejections,
                          GError        **error)
{
  g_autoptr(GPtrArray) files = NULL;
  g_autoptr(GPtrArray) refused = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *prefix = NULL;

  g_return_val_if_fail (RFL_IS_STORE (device), FALSE);
  g_return_val_if_fail (dir != NULL, FALSE);
  g_return_val_if_fail (report != NULL, FALSE);

  if (rejections != NULL)
    *rejections = NULL;
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_DIRECTORY, _("%s is not a folder"), dir);
      return FALSE;
    }
  /* A revocation notice HQ wrote for this device comes first: a laptop
   * that only ever syncs by USB learns of its revocation this way. One that
   * does not verify is refused and changes nothing. */
  {
    g_autofree char *name = g_strdup_printf ("hq-to-%s-revoked.rfln", rfl_store_get_device_id (device));
    g_autofree char *path = g_build_filename (dir, name, NULL);

    if (g_file_test (path, G_FILE_TEST_EXISTS))
      {
        g_autoptr(GError) local = NULL;
        g_autoptr(GBytes) notice = rfl_file_read (path, MAX_NOTICE_BYTES, RFL_FILE_REGULAR, &local);

        if (notice != NULL && !rfl_sync_device_take_notice (device, notice, &local) &&
            g_error_matches (local, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REVOKED))
          {
            g_propagate_error (error, g_steal_pointer (&local));
            return FALSE;
          }
        if (local != NULL)
          g_ptr_array_add (refused, g_strdup_printf ("%s: %s", name, local->message));
      }
  }

  /* Only the bundles HQ wrote for this device. */
  prefix = g_strdup_printf ("hq-to-%s-", rfl_store_get_device_id (device));
  if ((files = rfl_sync_list_bundles (dir, prefix, NULL, error)) == NULL)
    return FALSE;
  for (guint i = 0; i < files->len; i++)
    {
      g_autoptr(GBytes) bytes = NULL;
      g_autoptr(GError) local = NULL;

      /* Read, not mapped: a stick pulled out must not crash the program. */
      if ((bytes = rfl_file_read (g_ptr_array_index (files, i), RFL_ENVELOPE_MAX_BYTES, RFL_FILE_REGULAR,
                                  &local)) == NULL ||
          !rfl_sync_device_accept (device, bytes, report, &local))
        {
          g_autofree char *base = g_path_get_basename (g_ptr_array_index (files, i));

          if (g_error_matches (local, RFL_SYNC_ERROR, RFL_SYNC_ERROR_REVOKED))
            {
              g_propagate_error (error, g_steal_pointer (&local));
              return FALSE;
            }
          g_ptr_array_add (refused, g_strdup_printf ("%s: %s", base, local->message));
        }
    }
  if (rejections != NULL)
    *rejections = g_steal_pointer (&refused);
  return TRUE;
}

/**
 * rfl_sync_report_to_json:
 *
 * Returns: (transfer full): what a sync or a bundle import did, as the
 *   programs print it
 */
JsonObject *
rfl_sync_report_to_json (const RflSyncReport *report)
{
  JsonObject *obj = json_object_new ();

  json_object_set_int_member (obj, "sent_bundles", report->sent);
  json_object_set_int_member (obj, "applied_bundles", report->received);
  json_object_set_int_member (obj, "duplicate_bundles", report->duplicates);
  json_object_set_int_member (obj, "held_bundles", report->held);
  json_object_set_int_member (obj, "changes_applied", report->merge.applied);
  json_object_set_int_member (obj, "conflicts", report->merge.conflicts);
  json_object_set_int_member (obj, "refused", report->merge.refused);
  json_object_set_int_member (obj, "clamped", report->merge.clamped);
  json_object_set_int_member (obj, "receipted_through", (gint64) report->acked);
  if (report->compared)
    json_object_set_boolean_member (obj, "converged", report->converged);
  if (report->behind)
    json_object_set_boolean_member (obj, "behind", TRUE);
  if (report->resynced)
    json_object_set_boolean_member (obj, "resynced", TRUE);
  if (report->rebased)
    json_object_set_boolean_member (obj, "rebased", TRUE);
  return obj;
}
