/*
 * test_sim_faults.c: every fault kind of the simulators, by flag and at
 * run time, and their determinism under a seed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_harness.h"

static const char *const H[] = {"Authorization: Bearer tok", "User-Agent: faults-test",
                                "Content-Type: application/json", NULL};
static const char *const LIST = "/api/v2/organizations/1102/issues?per_page=5";

static int start(struct simproc *p, const char *const extra[])
{
	const char *args[40] = {"--token", "tok", "--rate-limit", "0", "--issues", "10"};
	int n = 6;

	for (int i = 0; extra && extra[i]; i++)
		args[n++] = extra[i];
	args[n] = NULL;
	return simproc_start(p, sim_bin("SCF_SIM_BIN"), args);
}

static void req(const struct simproc *p, const char *method, const char *path, const char *body,
                long timeout_ms, struct http_resp *r)
{
	char url[512];

	snprintf(url, sizeof(url), "%s%s", p->base, path);
	http_do(method, url, H, body, timeout_ms, r);
}

static void set_faults(const struct simproc *p, const char *json)
{
	struct http_resp r;

	req(p, "POST", "/_admin/faults", json, 5000, &r);
	assert_int_equal(r.status, 200);
	http_resp_release(&r);
}

static int parses(const struct http_resp *r)
{
	cJSON *j = cJSON_ParseWithLength(r->body, r->len);
	int ok = j != NULL;

	cJSON_Delete(j);
	return ok;
}

static void test_error_codes_by_flag(void **state)
{
	static const char *const extra[] = {"--error-rate", "1", "--error-codes", "502", NULL};
	struct simproc p;
	struct http_resp r;

	assert_int_equal(start(&p, extra), 0);
	req(&p, "GET", LIST, NULL, 5000, &r);
	assert_int_equal(r.status, 502);
	assert_non_null(strstr(r.body, "Bad Gateway"));
	http_resp_release(&r);
	/* Admin is never faulted; faults can be switched off at run time. */
	req(&p, "GET", "/_admin/stats", NULL, 5000, &r);
	assert_int_equal(r.status, 200);
	http_resp_release(&r);
	req(&p, "DELETE", "/_admin/faults", NULL, 5000, &r);
	http_resp_release(&r);
	req(&p, "GET", LIST, NULL, 5000, &r);
	assert_int_equal(r.status, 200);
	http_resp_release(&r);
	set_faults(&p, "{\"error_rate\": 1, \"error_codes\": [500]}");
	req(&p, "GET", LIST, NULL, 5000, &r);
	assert_int_equal(r.status, 500);
	assert_true(parses(&r));
	http_resp_release(&r);
	simproc_stop(&p);
}

static void test_drop_timeout_latency(void **state)
{
	struct simproc p;
	struct http_resp r;

	assert_int_equal(start(&p, NULL), 0);
	set_faults(&p, "{\"drop_rate\": 1}");
	req(&p, "GET", LIST, NULL, 5000, &r);
	assert_int_equal(r.status, 0);
	assert_int_equal(r.cc, CURLE_GOT_NOTHING);
	http_resp_release(&r);

	set_faults(&p, "{\"reset\": true, \"timeout_rate\": 1, \"hang_ms\": 3000}");
	req(&p, "GET", LIST, NULL, 400, &r);
	assert_int_equal(r.cc, CURLE_OPERATION_TIMEDOUT);
	http_resp_release(&r);

	set_faults(&p, "{\"reset\": true, \"latency_ms\": 250, \"jitter_ms\": 50}");
	req(&p, "GET", LIST, NULL, 5000, &r);
	assert_int_equal(r.status, 200);
	assert_true(r.secs >= 0.25);
	http_resp_release(&r);
	/* SIGTERM does not wait for a hanging request. */
	assert_int_equal(simproc_stop(&p), 0);
}

static void test_bodies(void **state)
{
	struct simproc p;
	struct http_resp full, r;

	assert_int_equal(start(&p, NULL), 0);
	req(&p, "GET", LIST, NULL, 5000, &full);
	assert_true(parses(&full));

	set_faults(&p, "{\"malformed_rate\": 1}");
	req(&p, "GET", LIST, NULL, 5000, &r);
	assert_int_equal(r.status, 200);
	assert_false(parses(&r));
	http_resp_release(&r);

	set_faults(&p, "{\"reset\": true, \"truncate_rate\": 1}");
	req(&p, "GET", LIST, NULL, 5000, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.cc, CURLE_OK);
	assert_false(parses(&r));
	assert_true(r.len < full.len && r.len > 0);
	assert_memory_equal(r.body, full.body, r.len);
	http_resp_release(&r);

	set_faults(
	    &p,
	    "{\"reset\": true, \"slow_rate\": 1, \"slow_chunk_ms\": 5, \"slow_chunk_bytes\": 512}");
	req(&p, "GET", LIST, NULL, 10000, &r);
	assert_int_equal(r.status, 200);
	assert_true(parses(&r));
	/* Only whole 512-byte chunks are certain to wait 5 ms each. */
	size_t chunks = full.len / 512;
	assert_true(r.secs >= 0.005 * (double)chunks);
	http_resp_release(&r);
	http_resp_release(&full);
	simproc_stop(&p);
}

static void test_fail_next_and_path(void **state)
{
	struct simproc p;
	struct http_resp r;

	assert_int_equal(start(&p, NULL), 0);
	set_faults(&p, "{\"fail_next\": {\"count\": 2, \"kind\": \"error\", \"status\": 503}}");
	for (int i = 0; i < 3; i++) {
		req(&p, "GET", LIST, NULL, 5000, &r);
		assert_int_equal(r.status, i < 2 ? 503 : 200);
		http_resp_release(&r);
	}
	/* skip lets the first matching requests through, then count fail. */
	set_faults(&p, "{\"fail_next\": {\"count\": 1, \"skip\": 2, \"kind\": \"error\", "
	               "\"status\": 422}}");
	for (int i = 0; i < 4; i++) {
		req(&p, "GET", LIST, NULL, 5000, &r);
		assert_int_equal(r.status, i == 2 ? 422 : 200);
		http_resp_release(&r);
	}
	/* Only paths under the prefix get faults. */
	set_faults(&p, "{\"error_rate\": 1, \"path_prefix\": \"/api/v2/issues/\"}");
	req(&p, "GET", LIST, NULL, 5000, &r);
	assert_int_equal(r.status, 200);
	http_resp_release(&r);
	req(&p, "GET", "/api/v2/issues/1", NULL, 5000, &r);
	assert_true(r.status >= 500);
	http_resp_release(&r);
	simproc_stop(&p);
}

static int first_open(const struct simproc *p)
{
	struct http_resp r;
	cJSON *j;
	int id;

	req(p, "GET", "/api/v2/organizations/1102/issues?per_page=1&status=open", NULL, 5000, &r);
	j = cJSON_Parse(r.body);
	id = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "issues"), 0), "id")
	         ->valueint;
	cJSON_Delete(j);
	http_resp_release(&r);
	return id;
}

static void test_after_apply(void **state)
{
	struct simproc p;
	struct http_resp r;
	char path[128];
	int id;
	cJSON *j;

	assert_int_equal(start(&p, NULL), 0);
	id = first_open(&p);
	/* The close takes effect, but the client never hears about it. */
	set_faults(&p,
	           "{\"after_apply\": true, \"fail_next\": {\"count\": 1, \"kind\": \"drop\"}}");
	snprintf(path, sizeof(path), "/api/v2/issues/%d/close", id);
	req(&p, "POST", path, "{\"comment\": \"closed\"}", 5000, &r);
	assert_int_equal(r.status, 0);
	http_resp_release(&r);
	snprintf(path, sizeof(path), "/_admin/issues/%d", id);
	req(&p, "GET", path, NULL, 5000, &r);
	j = cJSON_Parse(r.body);
	assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "Closed");
	cJSON_Delete(j);
	http_resp_release(&r);
	req(&p, "GET", "/_admin/stats", NULL, 5000, &r);
	j = cJSON_Parse(r.body);
	assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "faults"), "drop")->valueint,
	                 1);
	assert_int_equal(
	    cJSON_GetObjectItem(cJSON_GetObjectItem(j, "by_route"), "POST /api/v2/issues/:id/close")
	        ->valueint,
	    1);
	cJSON_Delete(j);
	http_resp_release(&r);
	simproc_stop(&p);
}

static void statuses(const char *seed, char out[41])
{
	const char *extra[] = {"--seed", seed, "--error-rate", "0.3", "--malformed-rate",
	                       "0.2",    NULL};
	struct simproc p;
	struct http_resp r;

	assert_int_equal(start(&p, extra), 0);
	for (int i = 0; i < 40; i++) {
		req(&p, "GET", LIST, NULL, 5000, &r);
		out[i] = r.status >= 500 ? 'E' : parses(&r) ? '.' : 'M';
		http_resp_release(&r);
	}
	out[40] = '\0';
	simproc_stop(&p);
}

static void test_deterministic(void **state)
{
	char a[41], b[41], c[41];

	statuses("7", a);
	statuses("7", b);
	statuses("8", c);
	assert_string_equal(a, b);
	assert_string_not_equal(a, c);
	assert_non_null(strchr(a, 'E'));
	assert_non_null(strchr(a, 'M'));
	assert_non_null(strchr(a, '.'));
}

static void test_oms_faults(void **state)
{
	static const char *const args[] = {"--error-rate", "1", "--error-codes", "503", NULL};
	static const char *const basic[] = {"Authorization: Basic c2NmZ2F0ZTpzY2ZnYXRlLXBhc3M=",
	                                    NULL};
	struct simproc p;
	struct http_resp r;
	char url[256];
	cJSON *j;

	assert_int_equal(simproc_start(&p, sim_bin("OMS_SIM_BIN"), args), 0);
	snprintf(url, sizeof(url), "%s/api/v1/classes/cgRequestsClass", p.base);
	http_do("GET", url, basic, NULL, 5000, &r);
	assert_int_equal(r.status, 503);
	j = cJSON_Parse(r.body);
	assert_true(cJSON_IsString(cJSON_GetObjectItem(j, "Message")));
	cJSON_Delete(j);
	http_resp_release(&r);
	assert_int_equal(simproc_stop(&p), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_error_codes_by_flag),
	    cmocka_unit_test(test_drop_timeout_latency),
	    cmocka_unit_test(test_bodies),
	    cmocka_unit_test(test_fail_next_and_path),
	    cmocka_unit_test(test_after_apply),
	    cmocka_unit_test(test_deterministic),
	    cmocka_unit_test(test_oms_faults),
	};

	curl_global_init(CURL_GLOBAL_DEFAULT);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
