/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib-object.h>

#include "rfl-types.h"

G_BEGIN_DECLS

#define RFL_TYPE_NAMES (rfl_names_get_type ())

G_DECLARE_FINAL_TYPE (RflNames, rfl_names, RFL, NAMES, GObject)

RflNames  *rfl_names_get_default   (void);
char      *rfl_names_to_latin      (RflNames   *self,
                                    const char *text) G_GNUC_WARN_UNUSED_RESULT;
char      *rfl_names_skeleton      (const char *latin) G_GNUC_WARN_UNUSED_RESULT;
GStrv      rfl_names_tokenize      (const char *latin) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
