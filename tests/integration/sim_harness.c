/*
 * sim_harness.c: simulator processes and libcurl requests for tests.
 */
#include "sim_harness.h"

#include "num.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *sim_bin(const char *env)
{
	const char *v = getenv(env);

	if (!v || !v[0]) {
		fprintf(stderr, "%s is not set (run through ctest)\n", env);
		abort();
	}
	return v;
}

int simproc_start_wait_ms = 10000;

int simproc_start(struct simproc *p, const char *bin, const char *const argv[])
{
	int fds[2];
	char line[128];
	const char *end;
	size_t len = 0;
	const char *args[64];
	int n = 0;

	memset(p, 0, sizeof(*p));
	args[n++] = bin;
	args[n++] = "--port";
	args[n++] = "0";
	for (int i = 0; argv && argv[i] && n < 62; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	if (pipe(fds) != 0)
		return -1;
	p->pid = fork();
	if (p->pid < 0)
		return -1;
	if (p->pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		if (!getenv("SIM_TEST_VERBOSE")) {
			int dn = open("/dev/null", O_WRONLY);

			if (dn >= 0)
				dup2(dn, 2);
		}
		execv(bin, (char *const *)(uintptr_t)args); /* execv only reads it */
		_exit(127);
	}
	close(fds[1]);
	while (len < sizeof(line) - 1) {
		struct pollfd pf = {fds[0], POLLIN, 0};
		ssize_t got;

		if (poll(&pf, 1, simproc_start_wait_ms) <= 0)
			break;
		got = read(fds[0], line + len, 1);
		if (got <= 0)
			break;
		if (line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	close(fds[0]);
	if (num_int(num_after(line, "listening on 127.0.0.1:"), &end, &p->port) != 0 ||
	    !num_field_end(end)) {
		fprintf(stderr, "simulator %s did not start: '%s'\n", bin, line);
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		return -1;
	}
	snprintf(p->base, sizeof(p->base), "http://127.0.0.1:%d", p->port);
	return 0;
}

int simproc_stop(struct simproc *p)
{
	int st = 0;

	if (p->pid <= 0)
		return -1;
	kill(p->pid, SIGTERM);
	while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
		;
	p->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
	struct http_resp *r = ud;
	size_t add = size * n;
	char *nb = realloc(r->body, r->len + add + 1);

	if (!nb)
		return 0;
	r->body = nb;
	memcpy(r->body + r->len, ptr, add);
	r->len += add;
	r->body[r->len] = '\0';
	return add;
}

static void copy_hdr(char *dst, size_t cap, const char *v, size_t n)
{
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n'))
		n--;
	while (n && *v == ' ')
		v++, n--;
	if (n >= cap)
		n = cap - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t on_header(char *buf, size_t size, size_t n, void *ud)
{
	struct http_resp *r = ud;
	size_t len = size * n;

	if (len > 12 && strncasecmp(buf, "Retry-After:", 12) == 0)
		copy_hdr(r->retry_after, sizeof(r->retry_after), buf + 12, len - 12);
	else if (len > 9 && strncasecmp(buf, "Location:", 9) == 0)
		copy_hdr(r->location, sizeof(r->location), buf + 9, len - 9);
	else if (len > 13 && strncasecmp(buf, "Content-Type:", 13) == 0)
		copy_hdr(r->content_type, sizeof(r->content_type), buf + 13, len - 13);
	return len;
}

void http_do(const char *method, const char *url, const char *const hdrs[], const char *body,
             long timeout_ms, struct http_resp *r)
{
	CURL *c = curl_easy_init();
	struct curl_slist *sl = NULL;
	struct timespec a, b;

	memset(r, 0, sizeof(*r));
	if (!c) {
		r->cc = CURLE_FAILED_INIT;
		return;
	}
	for (int i = 0; hdrs && hdrs[i]; i++)
		sl = curl_slist_append(sl, hdrs[i]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 10000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	/* A simulator serving TLS with a throw-away CA (the benchmarks). */
	if (getenv("SIM_HARNESS_CA"))
		curl_easy_setopt(c, CURLOPT_CAINFO, getenv("SIM_HARNESS_CA"));
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	clock_gettime(CLOCK_MONOTONIC, &a);
	r->cc = curl_easy_perform(c);
	clock_gettime(CLOCK_MONOTONIC, &b);
	r->secs = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	if (r->cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (!r->body)
		r->body = calloc(1, 1);
	curl_slist_free_all(sl);
	curl_easy_cleanup(c);
}

void http_resp_release(struct http_resp *r)
{
	free(r->body);
	r->body = NULL;
}

cJSON *http_json(const char *method, const char *url, const char *const hdrs[], const char *body,
                 long *status)
{
	struct http_resp r;
	cJSON *j;

	http_do(method, url, hdrs, body, 10000, &r);
	if (status)
		*status = r.status;
	j = cJSON_ParseWithLength(r.body, r.len);
	http_resp_release(&r);
	return j;
}
