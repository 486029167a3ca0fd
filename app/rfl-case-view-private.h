/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/* Shared by the files that make up RflCaseView; not for other callers. The
 * files, each with one concern:
 *
 *   rfl-case-view.c           the widget: reading and saving the case, the
 *                             summary and the people, the rows filled from
 *                             the record and the place kept among them
 *   rfl-case-view-status.c    the status, its history, and changing it, with
 *                             the reason the lifecycle asks for
 *   rfl-case-view-consent.c   consent: a switch for each yes or no, and
 *                             withdrawing it, which asks first
 *   rfl-case-view-timeline.c  the notes and contact attempts, and the entry
 *                             that adds one
 *   rfl-case-view-matches.c   the people proposed as matches, and the
 *                             decisions on them
 */

#include "rfl-case-view.h"

G_BEGIN_DECLS

struct _RflCaseView
{
  AdwBin               parent_instance;

  GtkLabel            *title;
  GtkSpinner          *spinner;
  GtkLabel            *error_label;
  AdwPreferencesPage  *page;
  AdwPreferencesGroup *summary_group;
  AdwPreferencesGroup *status_group;
  AdwComboRow         *next_status;
  AdwComboRow         *reason;
  AdwExpanderRow      *history;
  AdwPreferencesGroup *people_group;
  AdwPreferencesGroup *matches_group;
  AdwPreferencesGroup *consent_group;
  AdwPreferencesGroup *timeline_group;
  AdwComboRow         *note_kind;
  AdwComboRow         *note_outcome;
  AdwEntryRow         *note_text;

  RflStore            *store;
  char                *id;
  JsonObject          *record;
  GStrv                next;          /* statuses the case can move to */
  GStrv                note_kinds;    /* what the note-kind row offers, from the schema */
  GStrv                note_outcomes; /* what the outcome row offers */
  GPtrArray           *rows;          /* GtkWidget *: rows filled from the record */
  GCancellable        *cancellable;
  char                *error;
  guint                busy;
  double               scroll;
  guint                scroll_source;
  guint                matches_serial; /* which read of the proposals is wanted */
};

/* rfl-case-view.c */
void        _rfl_case_view_set_error    (RflCaseView         *self,
                                         const char          *message);
void        _rfl_case_view_add_row      (RflCaseView         *self,
                                         AdwPreferencesGroup *group,
                                         GtkWidget           *row);
GtkWidget  *_rfl_case_view_add_info     (RflCaseView         *self,
                                         AdwPreferencesGroup *group,
                                         const char          *title,
                                         const char          *subtitle);
JsonObject *_rfl_case_view_find_field   (JsonArray           *fields,
                                         const char          *name);
GtkWidget  *_rfl_case_view_ask          (RflCaseView         *self,
                                         const char          *heading,
                                         const char          *body,
                                         const char          *cancel_label,
                                         const char          *accept,
                                         const char          *accept_label,
                                         gboolean             accept_default)
                                         G_GNUC_WARN_UNUSED_RESULT;
void        _rfl_case_view_save         (RflCaseView         *self,
                                         const char          *id,
                                         JsonObject          *record,
                                         JsonObject          *consent);

/* rfl-case-view-status.c */
void        _rfl_case_view_class_status_init   (GtkWidgetClass *widget_class);
void        _rfl_case_view_fill_status         (RflCaseView    *self);

/* rfl-case-view-consent.c */
void        _rfl_case_view_fill_consent        (RflCaseView    *self,
                                                JsonArray      *fields);

/* rfl-case-view-timeline.c */
void        _rfl_case_view_class_timeline_init (GtkWidgetClass *widget_class);
void        _rfl_case_view_timeline_init       (RflCaseView    *self);
void        _rfl_case_view_fill_timeline       (RflCaseView    *self);

/* rfl-case-view-matches.c */
void        _rfl_case_view_fill_matches        (RflCaseView    *self);

G_END_DECLS
