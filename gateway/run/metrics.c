/*
 * metrics.c: the Prometheus text-format file (see metrics.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"
#include "spool.h"

void metrics_init(struct metrics *m)
{
	buf_init(&m->b, 0);
	m->failed = 0;
}

void metrics_release(struct metrics *m)
{
	buf_release(&m->b);
}

void metrics_family(struct metrics *m, const char *name, const char *type, const char *help)
{
	if (buf_addf(&m->b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type) != ERR_OK)
		m->failed = 1;
}

void metrics_sample(struct metrics *m, const char *name, const char *labels, double value)
{
	enum err_status s;

	/* Integers as integers: counters up to 2^53 are exact in a double. */
	if (value == (double)(long long)value)
		s = buf_addf(&m->b, "%s%s%s%s %lld\n", name, labels && *labels ? "{" : "",
		             labels ? labels : "", labels && *labels ? "}" : "", (long long)value);
	else
		s = buf_addf(&m->b, "%s%s%s%s %.6f\n", name, labels && *labels ? "{" : "",
		             labels ? labels : "", labels && *labels ? "}" : "", value);
	if (s != ERR_OK)
		m->failed = 1;
}

void metrics_label_escape(const char *in, char *out, size_t size)
{
	size_t k = 0;

	for (; *in && k + 3 < size; in++) {
		if (*in == '\\' || *in == '"') {
			out[k++] = '\\';
			out[k++] = *in;
		} else if (*in == '\n') {
			out[k++] = '\\';
			out[k++] = 'n';
		} else {
			out[k++] = *in;
		}
	}
	out[k] = '\0';
}

static const enum spool_dir shown_dirs[] = {SPOOL_NEW, SPOOL_CUR, SPOOL_DONE, SPOOL_FAILED,
                                            SPOOL_HOLD};

void metrics_add_queues(struct metrics *m, const char *root, const char *const *queues,
                        size_t nqueues, unsigned gap_alarm_seconds, time_t now)
{
	struct spool_stats st[4];
	int ok[4] = {0};
	char labels[128];

	if (nqueues > 4)
		nqueues = 4;
	for (size_t i = 0; i < nqueues; i++) {
		struct err e;

		err_clear(&e);
		memset(&st[i], 0, sizeof(st[i]));
		ok[i] = spool_stats(root, queues[i], gap_alarm_seconds, &st[i], &e) == ERR_OK;
	}
	metrics_family(m, "scfgate_queue_records", "gauge",
	               "Records in a sub-directory of a spool queue.");
	for (size_t i = 0; i < nqueues; i++)
		for (size_t d = 0; ok[i] && d < sizeof(shown_dirs) / sizeof(shown_dirs[0]); d++) {
			snprintf(labels, sizeof(labels), "queue=\"%s\",dir=\"%s\"", queues[i],
			         spool_dir_name(shown_dirs[d]));
			metrics_sample(m, "scfgate_queue_records", labels,
			               (double)st[i].count[shown_dirs[d]]);
		}
	metrics_family(m, "scfgate_queue_oldest_waiting_seconds", "gauge",
	               "Age of the oldest record in new/ of a queue; 0 when none waits.");
	for (size_t i = 0; i < nqueues; i++)
		if (ok[i]) {
			snprintf(labels, sizeof(labels), "queue=\"%s\"", queues[i]);
			metrics_sample(m, "scfgate_queue_oldest_waiting_seconds", labels,
			               st[i].oldest_new && now > st[i].oldest_new
			                   ? (double)(now - st[i].oldest_new)
			                   : 0);
		}
	metrics_family(m, "scfgate_queue_not_records", "gauge",
	               "Files in new/ of a queue whose names are not record names (never taken).");
	for (size_t i = 0; i < nqueues; i++)
		if (ok[i]) {
			snprintf(labels, sizeof(labels), "queue=\"%s\"", queues[i]);
			metrics_sample(m, "scfgate_queue_not_records", labels,
			               (double)st[i].strangers);
		}
	metrics_family(m, "scfgate_queue_gap_seconds", "gauge",
	               "How long the consumer of a queue has waited for a missing sequence "
	               "number; 0 when there is no gap.");
	for (size_t i = 0; i < nqueues; i++)
		if (ok[i]) {
			snprintf(labels, sizeof(labels), "queue=\"%s\"", queues[i]);
			metrics_sample(m, "scfgate_queue_gap_seconds", labels,
			               st[i].gap.active && now > st[i].gap.since
			                   ? (double)(now - st[i].gap.since)
			                   : 0);
		}
	metrics_family(m, "scfgate_queue_gap_alarmed", "gauge",
	               "1 when the gap of a queue is older than gapAlarmSeconds.");
	for (size_t i = 0; i < nqueues; i++)
		if (ok[i]) {
			snprintf(labels, sizeof(labels), "queue=\"%s\"", queues[i]);
			metrics_sample(m, "scfgate_queue_gap_alarmed", labels,
			               st[i].gap.active && st[i].gap.alarmed);
		}
}

void metrics_add_http(struct metrics *m, const char *service, const struct http_stats *hs)
{
	static const char *const classes[] = {"2xx", "3xx", "4xx", "429", "5xx", "network"};
	const uint64_t v[] = {hs->ok_2xx,     hs->status_3xx, hs->status_4xx,
	                      hs->status_429, hs->status_5xx, hs->network};
	char labels[128];

	metrics_family(m, "scfgate_api_requests_total", "counter",
	               "HTTP transfers to an API by the class of their answer (429 apart from "
	               "4xx; network: no answer), retries included.");
	for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++) {
		snprintf(labels, sizeof(labels), "service=\"%s\",class=\"%s\"", service,
		         classes[i]);
		metrics_sample(m, "scfgate_api_requests_total", labels, (double)v[i]);
	}
	snprintf(labels, sizeof(labels), "service=\"%s\"", service);
	metrics_family(m, "scfgate_api_retries_total", "counter",
	               "HTTP transfers that repeated an earlier one.");
	metrics_sample(m, "scfgate_api_retries_total", labels, (double)hs->retries);
	metrics_family(m, "scfgate_api_wait_seconds_total", "counter",
	               "Time spent waiting for the rate limit and in back-off.");
	metrics_sample(m, "scfgate_api_wait_seconds_total", labels, (double)hs->waited_ms / 1000.0);
}

void metrics_add_health(struct metrics *m, const struct health *h, int oms_half, time_t now)
{
	size_t n;
	const enum health_kind *kinds = health_half_kinds(oms_half, &n);

	metrics_add_health_kinds(m, h, kinds, n, now);
}

void metrics_add_health_kinds(struct metrics *m, const struct health *h,
                              const enum health_kind *kinds, size_t n, time_t now)
{
	char labels[64];

	metrics_family(m, "scfgate_last_attempt_timestamp_seconds", "gauge",
	               "When a kind of work was last attempted (Unix time); 0 never.");
	for (size_t i = 0; i < n; i++) {
		snprintf(labels, sizeof(labels), "kind=\"%s\"", health_kind_name(kinds[i]));
		metrics_sample(m, "scfgate_last_attempt_timestamp_seconds", labels,
		               (double)h->k[kinds[i]].last_attempt);
	}
	metrics_family(m, "scfgate_last_success_timestamp_seconds", "gauge",
	               "When a kind of work last succeeded, idle passes included (Unix time); "
	               "0 never.");
	for (size_t i = 0; i < n; i++) {
		snprintf(labels, sizeof(labels), "kind=\"%s\"", health_kind_name(kinds[i]));
		metrics_sample(m, "scfgate_last_success_timestamp_seconds", labels,
		               (double)h->k[kinds[i]].last_ok);
	}
	metrics_family(m, "scfgate_failing_seconds", "gauge",
	               "How long a kind of work has failed without a success in between; 0 when "
	               "its last attempt succeeded.");
	for (size_t i = 0; i < n; i++) {
		const struct health_state *ks = &h->k[kinds[i]];

		snprintf(labels, sizeof(labels), "kind=\"%s\"", health_kind_name(kinds[i]));
		metrics_sample(m, "scfgate_failing_seconds", labels,
		               ks->failing_since && now >= ks->failing_since
		                   ? (double)(now - ks->failing_since)
		                   : 0);
	}
	metrics_family(m, "scfgate_fatal", "gauge",
	               "1 when the last attempt of a kind of work met a fatal error (the half "
	               "stopped).");
	for (size_t i = 0; i < n; i++) {
		snprintf(labels, sizeof(labels), "kind=\"%s\"", health_kind_name(kinds[i]));
		metrics_sample(m, "scfgate_fatal", labels, h->k[kinds[i]].cls == ERR_FATAL);
	}
}

int metrics_sibling_path(const char *textfile, const char *what, char *out, size_t size)
{
	size_t len = strlen(textfile);
	int n;

	/* the textfile collector reads *.prom only: keep the suffix last */
	if (len > 5 && strcmp(textfile + len - 5, ".prom") == 0)
		n = snprintf(out, size, "%.*s-%s.prom", (int)(len - 5), textfile, what);
	else
		n = snprintf(out, size, "%s-%s.prom", textfile, what);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

enum err_status metrics_write(const char *path, const struct metrics *m, struct err *e)
{
	char tmp[4096];
	const char *slash = strrchr(path, '/');
	size_t off = 0;
	int fd;

	if (m->failed)
		return err_set(e, ERR_TEMP, "%s: out of memory", path);
	if (slash)
		snprintf(tmp, sizeof(tmp), "%.*s/.%s.%ld.tmp", (int)(slash - path), path, slash + 1,
		         (long)getpid());
	else
		snprintf(tmp, sizeof(tmp), ".%s.%ld.tmp", path, (long)getpid());
	/* The temporary name is ours: whatever stands there (a leftover, or a
	 * FIFO or link someone with write access planted) is removed, and the
	 * file created anew, so the open neither follows a link nor waits for
	 * a FIFO's reader. */
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return err_errno(e, ERR_TEMP, errno, "%s", tmp);
	while (off < m->b.len) {
		ssize_t w = write(fd, m->b.data + off, m->b.len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int en = w < 0 ? errno : EIO;

			close(fd);
			unlink(tmp);
			return err_errno(e, ERR_TEMP, en, "%s", tmp);
		}
		off += (size_t)w;
	}
	/* fchmod: the umask of a daemon may be 077; node_exporter runs as
	 * another user. */
	if (fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
		int en = errno;

		close(fd);
		unlink(tmp);
		return err_errno(e, ERR_TEMP, en, "%s", tmp);
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		int en = errno;

		unlink(tmp);
		return err_errno(e, ERR_TEMP, en, "rename %s -> %s", tmp, path);
	}
	return ERR_OK;
}
