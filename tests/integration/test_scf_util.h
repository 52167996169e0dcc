/*
 * test_scf_util.h: what the SCF half's integration and crash tests share:
 * a real scf-sim process, a throw-away spool root with test keys and a
 * configuration pointing at the simulator, inspection of the outbound
 * spool, and signed inbound records made with the OMS test key.
 *
 * Binaries come from the environment (set by tests/scf.cmake):
 * SCF_SIM_BIN, SCFGATE_BIN; test keys from SCFGATE_SOURCE_DIR.
 */
#ifndef SCFGATE_TEST_SCF_UTIL_H
#define SCFGATE_TEST_SCF_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cjson/cJSON.h>

struct tsim {
	pid_t pid;
	int port;
	char base[64]; /* http://127.0.0.1:PORT */
};

/* Start scf-sim with --port 0 --quiet plus args (NULL-terminated). 0 or -1. */
int tsim_start(struct tsim *s, const char *const args[]);
void tsim_stop(struct tsim *s);
/* One admin or API call; returns the parsed JSON body (or NULL); *status
 * may be NULL. body may be NULL.  With SIM_HARNESS_CA set, https is
 * verified against that CA file. */
cJSON *tsim_call(const struct tsim *s, const char *method, const char *path, const char *body,
                 long *status);
/* POST /_admin/issues with the given JSON body; returns the new id. */
int64_t tsim_add_issue(const struct tsim *s, const char *json_body);
/* POST /_admin/issues/ID/comments; returns 0 on 201. */
int tsim_add_comment(const struct tsim *s, int64_t id, const char *json_body);
/* POST /_admin/issues/ID/status {"status":...}. */
int tsim_set_status(const struct tsim *s, int64_t id, const char *status);
/* The issue object of /_admin/state (owned by *state; cJSON_Delete it). */
const cJSON *tsim_issue(cJSON *state, int64_t id);

struct tenv {
	char dir[256];    /* temporary directory (removed by tenv_free) */
	char root[300];   /* spool root */
	char config[300]; /* configuration file */
};

struct tenv_opts {
	unsigned rate_per_minute; /* 0 -> 600, the most config.xsd allows */
	unsigned rate_window;     /* <rateWindowSeconds>; 0 -> absent (60) */
	unsigned per_page;        /* 0 -> 20 */
	unsigned overlap;         /* 0 -> 120 */
	unsigned poll;            /* 0 -> 10 */
	const char *token;        /* NULL -> scf-sim-token */
};

int tenv_init(struct tenv *t, const struct tsim *s, const struct tenv_opts *o);
void tenv_free(struct tenv *t);

/* Every outbound record (new/, cur/, done/) by key: a JSON object
 * {"<key>": count, ...}, plus "_n_<kind>" totals. */
cJSON *tenv_outbound_keys(const struct tenv *t);
/* The same for a caller that looks again and again (the crash loop, once
 * a round): a committed record's file keeps its name and content and
 * only moves between new/, cur/ and done/, so the cache reads and
 * verifies each file once, when it first meets its name (again if its
 * size or mtime changed); a file that does not read or verify is not
 * cached and is tried again next time.  Each call still lists the three
 * directories, and counts a file found twice twice, as above. */
struct tkeys_cache;
struct tkeys_cache *tkeys_cache_new(void); /* NULL when out of memory */
void tkeys_cache_free(struct tkeys_cache *c);
cJSON *tenv_outbound_keys_cached(const struct tenv *t, struct tkeys_cache *c);
/* Files read and verified by the cache so far. */
size_t tkeys_cache_reads(const struct tkeys_cache *c);
/* Count of key in the object above (0 if absent). */
int tkeys_count(const cJSON *keys, const char *key);

/* 1 if every record key (not the "_n_" totals) occurs exactly once. */
int tkeys_all_once(const cJSON *keys);

/* Commit an ack / close record into inbound/new, signed by the OMS key. */
int tenv_inbound_ack(const struct tenv *t, int64_t issue_id, const char *request_id);
int tenv_inbound_close(const struct tenv *t, int64_t issue_id, const char *request_id,
                       int64_t request_type_id);
/* Number of files in ROOT/QUEUE/DIR that are records (not .why). */
int tenv_count(const struct tenv *t, const char *queue, const char *dir);

/* Comments on issue `is` (from /_admin/state) posted through the API
 * with the given action ("acknowledge", "close"). */
int tsim_api_actions(const cJSON *is, const char *action, const char **last_text);

#endif
