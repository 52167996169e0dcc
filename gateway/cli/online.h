/*
 * online.h: `scfgate config check --online`: read-only probes of the
 * remote system of a configuration's half with its real credentials.
 *
 * Contract
 *   - Only the half the file is for (cfg->half) is probed: its
 *     credentials are the ones on this host.
 *   - OMS half (Cartegraph): the class metadata of the request class and
 *     of its attachment child (cg_check_fetch; a 401 or 403 there is a
 *     finding naming the credential file), the field map against it
 *     (cg_check_fields), and every request type's remoteId against the
 *     active values of IssueField's lookup library: GET the lookup class's
 *     metadata, then its records (fields Oid, the issue field and
 *     InactiveField when the class has it), paged by ONLINE_PAGE up to
 *     ONLINE_MAX_VALUES values.  When IssueField is not a lookup, the
 *     remoteIds are not checked (said in the report, not a finding).
 *   - SCF half: GET /profile (who we are), GET /organizations/<id>, and
 *     the organization's request type ids from the metadata of one page
 *     of /organizations/<id>/issues (metadata.query.request_types); every
 *     mapped request type id must be among them.  When the page carries
 *     no such list, each type is read with GET /request_types/<id> and
 *     must exist and belong to the organization.  The client keeps the
 *     configured rate limit.
 *   - Only GET requests are made, except the session log-in POST of a
 *     Cartegraph configured with auth="session".  Nothing is written.
 *   - report gets one line per thing learned ("scf: user 7000001 (Name)"),
 *     findings one line per problem, each ending in '\n'; *n counts the
 *     findings.  A finding that stops further probes (credentials,
 *     unreachable) is the last line.  Findings start with "FILE:LINE:
 *     element:" where a configuration line is to blame.  Secrets never
 *     appear: a credential problem names the file, not its content.
 *   - ERR_TEMP only when out of memory; every remote problem is a
 *     finding.  No function here prints.
 */
#ifndef SCFGATE_ONLINE_H
#define SCFGATE_ONLINE_H

#include <stddef.h>

#include "buf.h"
#include "cfg.h"
#include "err.h"

#define ONLINE_PAGE       500
#define ONLINE_MAX_VALUES 100000

enum err_status online_check(const struct cfg *c, struct buf *report, struct buf *findings,
                             size_t *n, struct err *e);

#endif
