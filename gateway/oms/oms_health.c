/*
 * oms_health.c: the OMS half's health record and metrics file, written
 * after every forward pass and poll (see health.h, metrics.h).
 */
#include "oms_int.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"

#ifndef SCFGATE_VERSION
#define SCFGATE_VERSION "dev"
#endif

/* Commits in a pass that worked otherwise; an idle pass counts as a
 * successful commit (nothing was due). */
static int note_commit(struct oms *o, int64_t now, enum err_status pass)
{
	int changed = 0;

	if (o->commit_tried)
		changed = health_note(&o->health, HEALTH_COMMIT, now, o->commit_s, o->commit_why);
	else if (pass == ERR_OK)
		changed = health_note(&o->health, HEALTH_COMMIT, now, ERR_OK, NULL);
	o->commit_tried = 0;
	return changed;
}

void oms_health_forward(struct oms *o, enum err_status st, const struct err *e, int worked,
                        size_t waiting)
{
	int64_t now = (int64_t)time(NULL);
	int changed;

	/* Records waiting out a back-off with no new attempt: the outcome
	 * stays the last one (the daemon's passes between retries). */
	if (st == ERR_OK && !o->fw_temp_n && waiting) {
		note_commit(o, now, ERR_TEMP);
		oms_health_save(o, worked);
		return;
	}
	if (st == ERR_OK && o->fw_temp_n)
		changed = health_note(&o->health, HEALTH_FORWARD, now, ERR_TEMP, o->fw_temp_why);
	else
		changed = health_note(&o->health, HEALTH_FORWARD, now, st, e ? e->msg : NULL);
	changed |= note_commit(o, now, st);
	changed |= o->fw_temp_n != 0;
	o->fw_temp_n = 0;
	oms_health_save(o, changed || worked);
}

void oms_health_poll(struct oms *o, enum err_status st, const struct err *e)
{
	int64_t now = (int64_t)time(NULL);

	health_note(&o->health, HEALTH_POLL, now, st, e ? e->msg : NULL);
	note_commit(o, now, st);
	oms_health_save(o, 1);
}

void oms_health_meta(struct oms *o, enum err_status st, const char *why)
{
	health_note(&o->health, HEALTH_META, (int64_t)time(NULL), st, why);
}

static void kind_samples(struct metrics *m, const char *name, const uint64_t *v)
{
	static const enum record_kind kinds[] = {RECORD_ISSUE, RECORD_COMMENT, RECORD_ATTACHMENT};
	char labels[64];

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		snprintf(labels, sizeof(labels), "kind=\"%s\"", record_kind_name(kinds[i]));
		metrics_sample(m, name, labels, (double)v[kinds[i]]);
	}
}

static void add_http(struct http_stats *sum, const struct http_client *c)
{
	struct http_stats hs;

	if (!c)
		return;
	http_stats_get(c, &hs);
	sum->requests += hs.requests;
	sum->ok_2xx += hs.ok_2xx;
	sum->status_429 += hs.status_429;
	sum->status_4xx += hs.status_4xx;
	sum->status_5xx += hs.status_5xx;
	sum->status_3xx += hs.status_3xx;
	sum->network += hs.network;
	sum->retries += hs.retries;
	sum->failed += hs.failed;
	sum->waited_ms += hs.waited_ms;
}

static void write_metrics(struct oms *o, time_t now)
{
	static const char *const queues[] = {HALF_OUTBOUND, HALF_INBOUND};
	struct http_stats hs;
	struct metrics m;
	struct err e;

	if (!o->cfg->metrics.textfile)
		return;
	metrics_init(&m);
	metrics_family(&m, "scfgate_info", "gauge", "The half this file describes; always 1.");
	metrics_sample(&m, "scfgate_info", "half=\"oms\",version=\"" SCFGATE_VERSION "\"", 1);
	metrics_family(&m, "scfgate_start_time_seconds", "gauge",
	               "When the process started (Unix time); the _total counters count from "
	               "here.");
	metrics_sample(&m, "scfgate_start_time_seconds", "", (double)o->started_at);
	metrics_family(&m, "scfgate_records_committed_total", "counter",
	               "Records this half committed to the queue it writes, by kind.");
	metrics_sample(&m, "scfgate_records_committed_total", "kind=\"ack\"",
	               (double)o->acks_total);
	metrics_sample(&m, "scfgate_records_committed_total", "kind=\"close\"",
	               (double)o->closes_total);
	metrics_family(&m, "scfgate_records_applied_total", "counter",
	               "Records of the queue this half reads that took effect (found already "
	               "done included), by kind.");
	kind_samples(&m, "scfgate_records_applied_total", o->applied_kind);
	metrics_family(&m, "scfgate_records_failed_total", "counter",
	               "Records this half moved to failed/, by kind.");
	kind_samples(&m, "scfgate_records_failed_total", o->failed_kind);
	metrics_family(&m, "scfgate_records_held_total", "counter",
	               "Records this half moved to hold/ (behind a failed record of their "
	               "issue), by kind.");
	kind_samples(&m, "scfgate_records_held_total", o->held_kind);
	metrics_family(&m, "scfgate_notes_appends_total", "counter",
	               "Comments appended to the notes field by read-modify-write (route notes).");
	metrics_sample(&m, "scfgate_notes_appends_total", "", (double)o->notes_total);
	metrics_family(&m, "scfgate_tracked_requests", "gauge",
	               "Cartegraph requests the half created and still polls (not closed).");
	metrics_sample(&m, "scfgate_tracked_requests", "", (double)oms_tracked_open(o));
	metrics_family(&m, "scfgate_known_issues", "gauge",
	               "SeeClickFix issues the half knows, closed ones included.");
	metrics_sample(&m, "scfgate_known_issues", "", (double)oms_track_count(o->track));
	metrics_family(&m, "scfgate_pass_duration_seconds", "gauge",
	               "How long the last pass of a kind of work took.");
	metrics_sample(&m, "scfgate_pass_duration_seconds", "kind=\"forward\"",
	               (double)o->pass_ms[0] / 1000.0);
	metrics_sample(&m, "scfgate_pass_duration_seconds", "kind=\"poll\"",
	               (double)o->pass_ms[1] / 1000.0);
	memset(&hs, 0, sizeof(hs));
	add_http(&hs, o->http);
	add_http(&hs, o->http_w);
	add_http(&hs, o->http_meta);
	metrics_add_http(&m, "cartegraph", &hs);
	metrics_add_queues(&m, o->cfg->spool.root, queues, 2, o->cfg->spool.gap_alarm_seconds, now);
	metrics_add_health(&m, &o->health, 1, now);
	err_clear(&e);
	if (metrics_write(o->cfg->metrics.textfile, &m, &e) != ERR_OK)
		log_warn("event=metrics-not-written why=%s", log_q(e.msg));
	metrics_release(&m);
}

void oms_health_save(struct oms *o, int force)
{
	time_t now = time(NULL);
	struct err e;

	if (!o->state_dir[0])
		return;
	if (!force && (int64_t)now - o->health_saved_at < 60)
		return;
	err_clear(&e);
	if (health_save(o->state_dir, &o->health, (int64_t)now, &e) != ERR_OK)
		log_warn("event=health-not-saved why=%s", log_q(e.msg));
	o->health_saved_at = (int64_t)now;
	write_metrics(o, now);
}
