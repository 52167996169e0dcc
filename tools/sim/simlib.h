/*
 * simlib.h: the frame shared by scf-sim and oms-sim.
 *
 * Contract
 *   - A simulator describes itself with a struct sim_app (name, usage
 *     text, its own long options, a request handler, state dump/load) and
 *     calls sim_main().  sim_main parses the common options, binds
 *     127.0.0.1:PORT (PORT 0 = any free port), prints exactly one line
 *     "listening on 127.0.0.1:PORT" to stdout (flushed), serves until
 *     SIGTERM/SIGINT, then saves the state (--save) and exits 0.
 *   - Every request is handled with the global state lock held, so a
 *     handler may read and change the simulator state freely.  Latency,
 *     hangs and slow bodies happen outside the lock.
 *   - One log line per request goes to stderr:
 *       "<name> METHOD PATH STATUS LATENCYms[ fault=KIND]"
 *     (--quiet turns it off).
 *   - Faults (error replies, latency, dropped connections, hangs,
 *     malformed, truncated and slow bodies, maintenance) apply to every
 *     path outside /_admin/ (or only below --fault-path).  Whether a
 *     request gets a fault is decided from (seed, request number), so a
 *     run with the same seed and the same request order injects the same
 *     faults.
 *   - The common admin endpoints live in the library:
 *       GET|POST|DELETE /_admin/faults, GET /_admin/stats,
 *       POST /_admin/clock, POST /_admin/save, GET /_admin/state.
 *     Everything else under /_admin/ goes to the simulator's handler.
 *   - The clock is time(NULL) + skew; skew comes from --clock-skew and
 *     can be changed at run time, so tests can simulate hosts whose
 *     clocks disagree, or let time pass without waiting.
 */
#ifndef SCFGATE_SIMLIB_H
#define SCFGATE_SIMLIB_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

struct MHD_Connection;

/* One request, fully read. */
struct sim_req {
	const char *method;
	const char *path; /* decoded path without the query */
	const char *body; /* NUL-terminated; may be "" */
	size_t body_len;
	struct MHD_Connection *conn;
	int admin; /* path starts with /_admin/ */
};

#define SIM_MAX_HEADERS 6

struct sim_resp {
	int status;
	char *body; /* malloc'd, owned by the response */
	size_t len;
	const char *content_type;
	int nhdr;
	char hdr_name[SIM_MAX_HEADERS][40];
	char hdr_val[SIM_MAX_HEADERS][512];
	const char *route; /* stats key, e.g. "GET /api/v2/issues/:id" */
};

struct sim_app {
	const char *name;
	const char *usage;            /* the simulator-specific part of --help */
	const struct option *options; /* terminated by a zero entry */
	/* Handle one of the simulator's own options; 0 ok, -1 bad value. */
	int (*option)(int opt, const char *arg);
	/* Called once after options, before serving: seed the state unless
	 * loaded.  Returns 0 or -1 (message already printed). */
	int (*start)(int loaded);
	/* Serve a request (state lock held). */
	void (*handle)(const struct sim_req *req, struct sim_resp *resp);
	/* The whole state as JSON (for /_admin/state and --save). */
	cJSON *(*dump)(void);
	/* Replace the state from a dump; 0 ok, -1 bad file. */
	int (*load)(const cJSON *state);
	/* Body of an injected error reply or of maintenance (status 5xx). */
	void (*fault_reply)(int status, struct sim_resp *resp);
};

int sim_main(const struct sim_app *app, int argc, char **argv);

/* Query-string argument (decoded) or NULL. */
const char *sim_arg(const struct sim_req *req, const char *name);
/* Request header or NULL. */
const char *sim_header(const struct sim_req *req, const char *name);
/* Cookie value or NULL. */
const char *sim_cookie(const struct sim_req *req, const char *name);
/* Call fn for every query argument, in the order received. */
void sim_args_each(const struct sim_req *req, void (*fn)(void *ctx, const char *k, const char *v),
                   void *ctx);
/* A form field of an application/x-www-form-urlencoded or
 * multipart/form-data body (malloc'd copy or NULL).  For a file part,
 * *is_file is set and the value is the file name. */
char *sim_form_value(const struct sim_req *req, const char *name, int *is_file);

/* Responses.  sim_resp_json takes ownership of json and frees it. */
void sim_resp_json(struct sim_resp *resp, int status, cJSON *json);
void sim_resp_text(struct sim_resp *resp, int status, const char *ctype, const char *text,
                   size_t len);
void sim_resp_header(struct sim_resp *resp, const char *name, const char *value);

/* The simulated clock. */
time_t sim_now(void);
/* The base URL clients reach us at, e.g. "http://127.0.0.1:34567". */
const char *sim_base_url(void);
/* The --seed value. */
uint64_t sim_seed(void);

/* Deterministic pseudo-random numbers (splitmix64). */
uint64_t sim_mix(uint64_t x);
struct sim_rng {
	uint64_t s;
};
void sim_rng_init(struct sim_rng *r, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *r);
/* Uniform in [0, n). */
unsigned sim_rng_below(struct sim_rng *r, unsigned n);
double sim_rng_unit(struct sim_rng *r);

/* Timestamps.  sim_time_format writes "YYYY-MM-DDTHH:MM:SS" followed by
 * "Z" (offset_min == INT32_MIN means no zone at all) or "+HH:MM"/"-HH:MM"
 * in the zone offset_min minutes east of UTC. */
#define SIM_NO_ZONE INT32_MIN
void sim_time_format(time_t t, int offset_min, char out[32]);
/* Parse ISO 8601 "YYYY-MM-DD[THH:MM[:SS[.fff]]][Z|+HH:MM|-HH:MM|+HHMM]";
 * no zone = default_offset_min.  A space where the sign of the offset
 * should be is read as "+" (an unencoded "+" in a query string).
 * Returns 0 or -1. */
int sim_time_parse(const char *s, int default_offset_min, time_t *out);
/* --utc-offset's "+HH:MM" or "-HH:MM" (two digits each, hours at most 14,
 * minutes at most 59) as minutes east of UTC.  Returns 0 or -1. */
int sim_offset_parse(const char *s, int *out_min);

/* cJSON helpers: number or fallback; string or NULL. */
double sim_jnum(const cJSON *o, const char *key, double fallback);
const char *sim_jstr(const cJSON *o, const char *key);

/* Admin helpers the simulators share. */
cJSON *sim_body_json(const struct sim_req *req); /* NULL if not a JSON object */
void sim_resp_admin_error(struct sim_resp *resp, int status, const char *msg);

#endif
