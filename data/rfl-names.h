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
GStrv      rfl_names_tokenize      (const char *latin) G_GNUC_WARN_UNUSED_RESULT;

/* Keys (rfl-name-keys.c): what spellings of one name have in common. */
#define RFL_NAMES_MAX_KEYS 8

void       rfl_names_word_keys     (const char *word,
                                    GPtrArray  *keys);
gboolean   rfl_names_is_article    (GStrv       words,
                                    guint       i);
const char *rfl_names_without_article (const char *word);
char      *rfl_names_compound      (GStrv       words,
                                    guint       i,
                                    guint      *end) G_GNUC_WARN_UNUSED_RESULT;
char      *rfl_names_keys          (const char *latin) G_GNUC_WARN_UNUSED_RESULT;
GPtrArray *rfl_names_equivalents   (RflNames   *self,
                                    GPtrArray  *keys) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
