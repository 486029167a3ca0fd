/* SPDX-License-Identifier: GPL-3.0-or-later */
#pragma once

/*
 * The names the wire protocol gives its endpoints and its bodies, in one
 * place: the device's client, HQ's route table and the tests all read them
 * from here, so an endpoint is renamed once and cannot be misspelt in one
 * of them. Each is defined in docs/PROTOCOL.md, "HTTP"; the request
 * headers are in rfl-request-auth.h ("Request authentication").
 */

#include <glib.h>

G_BEGIN_DECLS

/* Endpoints, all under /v1/ (docs/PROTOCOL.md, "HTTP"). */
#define RFL_PROTOCOL_PATH_ENROLL  "/v1/enroll"   /* POST, JSON body, not signed */
#define RFL_PROTOCOL_PATH_PUSH    "/v1/push"     /* POST, an envelope */
#define RFL_PROTOCOL_PATH_PULL    "/v1/pull"     /* GET, ?have=N[&after=M] */
#define RFL_PROTOCOL_PATH_ROSTER  "/v1/roster"   /* GET */
#define RFL_PROTOCOL_PATH_STATE   "/v1/state"    /* GET */
#define RFL_PROTOCOL_PATH_RESYNC  "/v1/resync"   /* POST, empty body */
#define RFL_PROTOCOL_PATH_REBASE  "/v1/rebase"   /* POST, {"challenge": ...} */
#define RFL_PROTOCOL_PATH_PING    "/v1/ping"     /* GET */

/* The query parameters of a pull: what the device applied and received. */
#define RFL_PROTOCOL_PULL_HAVE    "have"
#define RFL_PROTOCOL_PULL_AFTER   "after"

/* Bodies: a device sends every body as octets, as the signature covers
 * them byte for byte; HQ answers with JSON, an envelope (pull), a signed
 * roster, or a revocation notice with 403 (docs/PROTOCOL.md, "Revocation
 * notice"). */
#define RFL_PROTOCOL_TYPE_REQUEST   "application/octet-stream"
#define RFL_PROTOCOL_TYPE_JSON      "application/json"
#define RFL_PROTOCOL_TYPE_ENVELOPE  "application/vnd.reunite.envelope"
#define RFL_PROTOCOL_TYPE_ROSTER    "application/vnd.reunite.roster"
#define RFL_PROTOCOL_TYPE_NOTICE    "application/vnd.reunite.notice"

G_END_DECLS
