/*
 * sim_harness.h: start a simulator process and talk HTTP to it, for the
 * simulator tests (and any other integration test that needs one).
 *
 * Contract
 *   - simproc_start() fork/execs BIN with ARGV (NULL-terminated, without
 *     argv[0]) plus "--port 0", reads the "listening on 127.0.0.1:PORT"
 *     line from its stdout (simproc_start_wait_ms, 10 s unless the caller
 *     sets it: a simulator seeding 200,000 requests on a loaded machine
 *     needs longer) and fills port/base.  The child's stderr goes to
 *     /dev/null unless SIM_TEST_VERBOSE is set.  Returns 0 or -1.
 *   - simproc_stop() sends SIGTERM and reaps; returns the exit status
 *     (or -1 if it died of a signal).
 *   - http_do() runs one request with libcurl; hdrs is a NULL-terminated
 *     list of raw header lines (may be NULL); body may be NULL.  It fills
 *     status (0 on a transport error), the body, the Retry-After and
 *     Location headers, the curl code and the elapsed seconds.  With
 *     SIM_HARNESS_CA set, https is verified against that CA file.
 *   - The binaries come from the environment: SCF_SIM_BIN, OMS_SIM_BIN.
 */
#ifndef SCFGATE_SIM_HARNESS_H
#define SCFGATE_SIM_HARNESS_H

#include <curl/curl.h>
#include <cjson/cJSON.h>
#include <stddef.h>
#include <sys/types.h>

struct simproc {
	pid_t pid;
	int port;
	char base[64];
};

extern int simproc_start_wait_ms;
int simproc_start(struct simproc *p, const char *bin, const char *const argv[]);
int simproc_stop(struct simproc *p);

struct http_resp {
	long status;
	char *body;
	size_t len;
	char retry_after[32];
	char location[512];
	char content_type[128];
	CURLcode cc;
	double secs;
};

void http_do(const char *method, const char *url, const char *const hdrs[], const char *body,
             long timeout_ms, struct http_resp *r);
void http_resp_release(struct http_resp *r);

/* Convenience: GET/POST with JSON parse (NULL if the body is not JSON). */
cJSON *http_json(const char *method, const char *url, const char *const hdrs[], const char *body,
                 long *status);

/* Env var or abort with a message. */
const char *sim_bin(const char *env);

#endif
