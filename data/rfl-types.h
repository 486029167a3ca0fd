/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _RflSchema RflSchema;
typedef struct _RflStore  RflStore;
typedef struct _RflNames  RflNames;

G_END_DECLS
