/*
 * test_oms_util.h: a bench for the OMS half against the real oms-sim:
 * a temporary spool root, a configuration, an outbound producer signing
 * with the test SCF key, the scfgate binary run as a child process, and
 * the simulator's dumped state.
 *
 * Environment: OMS_SIM_BIN, SCFGATE_BIN, SCFGATE_SOURCE_DIR.
 */
#ifndef SCFGATE_TEST_OMS_UTIL_H
#define SCFGATE_TEST_OMS_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

#include "sim_harness.h"
#include "spool.h"

struct omt {
	char dir[256];
	char root[300];
	char config[300];
	char log[300];
	struct simproc sim;
	struct sig_key *scf_key;
	struct sig_key *oms_pub;
	struct spool_producer *out;
};

/* Start oms-sim (extra sim args, NULL-terminated, may be NULL) and make
 * the spool and configuration; cfg_extra goes inside <cartegraph>
 * before <fields> (e.g. "<concurrency>4</concurrency>"), may be NULL.
 * Returns 0 or -1. */
int omt_setup(struct omt *t, const char *const sim_args[], const char *cg_extra);
/* omt_setup with fields_extra inside <fields> (e.g. "<requestPhoto/>"). */
int omt_setup_fields(struct omt *t, const char *const sim_args[], const char *cg_extra,
                     const char *fields_extra);
void omt_teardown(struct omt *t);

/* Commit outbound records (signed by the test SCF key). */
uint64_t omt_issue(struct omt *t, int64_t issue, int64_t type, const char *desc,
                   const char *media_url);
/* Commit any record (freed). */
uint64_t omt_commit(struct omt *t, struct record *r);
/* The same with its own idempotency key (NULL: "issue/<id>"). */
uint64_t omt_issue_key(struct omt *t, int64_t issue, int64_t type, const char *desc,
                       const char *media_url, const char *key);
uint64_t omt_comment(struct omt *t, int64_t issue, const char *comment_id, const char *text);
uint64_t omt_attachment(struct omt *t, int64_t issue, const char *comment_id, const char *url);

/* Run `scfgate oms --config C --once [args...]`; stderr appended to
 * t->log.  kill_after_ms > 0: SIGKILL it after that long.  Returns the
 * exit status, 128+signal when killed, -1 on error. */
int omt_run(struct omt *t, long kill_after_ms, const char *const args[]);
/* omt_run in two steps: start it (its pid, or -1), then wait for it,
 * SIGKILLing it first when kill_first; the same return as omt_run. */
pid_t omt_start(struct omt *t, const char *const args[]);
int omt_wait(pid_t pid, int kill_first);
/* `scfgate oms --config C [args...]` without --once: the daemon, until
 * the caller sends it SIGTERM (then omt_wait). */
pid_t omt_start_daemon(struct omt *t, const char *const args[]);

/* GET /_admin/state, the request rows and the attachment rows. */
cJSON *omt_state(struct omt *t);
cJSON *omt_requests(cJSON *state);
cJSON *omt_attachments(cJSON *state);
/* The request row carrying an SCF issue id, and how many carry it. */
cJSON *omt_request_for(cJSON *state, int64_t issue, int *count);

/* Admin actions of a crew / clerk / tester. */
/* POST an admin path of oms-sim with a JSON body; 0 on 2xx. */
int omt_admin(struct omt *t, const char *path, const char *body);
int omt_close(struct omt *t, int64_t oid);
int omt_note(struct omt *t, int64_t oid, const char *text);
int omt_faults(struct omt *t, const char *json);

/* The load of the exactly-once tests: issues base..base+n-1 of request
 * type 122, each with two comments (ids "<issue>0", "<issue>1") and a
 * photo of the second.  0, or -1 when a record could not be written. */
int omt_feed(struct omt *t, int64_t base, int n);
/* 0 when every issue omt_feed wrote reached oms-sim exactly once: one
 * request carries it, each of its comments is once in that request's
 * CommentsField (the default route), one attachment hangs off it, one
 * ack waits in inbound/new.  Else -1 and what differs first in why. */
int omt_exactly_once(struct omt *t, int64_t base, int n, char *why, size_t size);

/* Count records of a kind in a queue's sub-directory (verified). */
size_t omt_count(struct omt *t, const char *queue, enum spool_dir d, enum record_kind kind,
                 int64_t issue);
/* Occurrences of needle in haystack. */
size_t omt_occurrences(const char *haystack, const char *needle);
/* 1 if the log file contains s. */
int omt_log_has(struct omt *t, const char *s);
/* Replace the first occurrence of from in the configuration file (e.g.
 * the base URL, to put a proxy in front of oms-sim).  Returns 0 or -1. */
int omt_config_replace(struct omt *t, const char *from, const char *to);

#endif
