/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Shared by the files that make up RflRecordForm; not for other callers.
 * The files, each with one concern:
 *
 *   rfl-record-form.c        the widget: the schema's fields as a tree of
 *                            nodes, read into a record and filled from one
 *   rfl-record-form-rows.c   the row each kind of field is edited in, and
 *                            the row under it that says what is wrong
 *   rfl-record-form-check.c  what is wrong with a field, said under it and
 *                            to assistive technologies
 */

#include "rfl-record-form.h"

G_BEGIN_DECLS

typedef struct _Node Node;
struct _Node
{
  JsonObject *desc;
  const char *name;
  const char *kind;
  char       *path;      /* "sought.0.given_name" */
  GtkWidget  *widget;    /* the row, or the group of an object */
  GPtrArray  *children;  /* Node *: an object's fields, or an array's items */
  GtkWidget  *container; /* an array: where items go */
  char       *person_id; /* an object filled from a saved record: its id, kept */
  Node       *parent;    /* the object or array that holds it, or NULL */
  char       *label;     /* translated, for messages: "Date of birth", "Sought 2" */
  GtkWidget  *error_row; /* shown under the row with what is wrong, in words */
  GtkTextView *text_view; /* a text (several lines): where it is typed */
  gboolean    bad;       /* what is typed does not fit the kind */
  gboolean    shown;     /* error_row shows a problem */
};

/* rfl-record-form.c */
void       _rfl_record_form_update_valid      (RflRecordForm *self);
JsonNode  *_rfl_record_form_collect           (Node          *node) G_GNUC_WARN_UNUSED_RESULT;
char      *_rfl_record_form_node_dup_text     (Node          *node) G_GNUC_WARN_UNUSED_RESULT;
GtkWidget *_rfl_record_form_node_focus_widget (Node          *node);

/* rfl-record-form-rows.c */
GtkWidget *_rfl_record_form_choice_row_new    (JsonObject    *desc,
                                               const char    *title) G_GNUC_WARN_UNUSED_RESULT;
GtkWidget *_rfl_record_form_switch_row_new    (const char    *title,
                                               const char    *label) G_GNUC_WARN_UNUSED_RESULT;
GtkWidget *_rfl_record_form_text_row_new      (Node          *node,
                                               const char    *title) G_GNUC_WARN_UNUSED_RESULT;
GtkWidget *_rfl_record_form_entry_row_new     (Node          *node,
                                               const char    *title) G_GNUC_WARN_UNUSED_RESULT;
GtkWidget *_rfl_record_form_error_row_new     (void) G_GNUC_WARN_UNUSED_RESULT;

/* rfl-record-form-check.c */
void       _rfl_record_form_node_changed      (Node          *node);
void       _rfl_record_form_check_node        (Node          *node,
                                               Node         **first);

G_END_DECLS
