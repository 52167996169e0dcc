/*
 * cfg_describe.c: the effective configuration, for people and for scripts
 * (`scfgate config check`).  Only paths, never secrets: the struct holds
 * none.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cfg.h"
#include "jdoc.h"

static const char *scf_auth_name(enum cfg_scf_auth a)
{
	return a == CFG_SCF_AUTH_BASIC ? "basic" : "bearer";
}

static const char *cg_auth_name(enum cfg_cg_auth a)
{
	return a == CFG_CG_AUTH_SESSION ? "session" : "basic";
}

static void forward_names(unsigned mask, char *out, size_t size)
{
	snprintf(out, size, "%s%s%s", mask ? "" : "none",
	         (mask & CFG_SYSCOMMENT_ASSIGNED) ? "assigned " : "",
	         (mask & CFG_SYSCOMMENT_ACCOUNT) ? "account" : "");
	if (mask && out[strlen(out) - 1] == ' ')
		out[strlen(out) - 1] = '\0';
}

static void describe_scf(const struct cfg_scf *s, struct buf *o)
{
	char fw[32];

	forward_names(s->forward_system, fw, sizeof(fw));
	buf_addf(o, "scf:\n  base URL: %s\n  organization: %" PRId64 "\n", s->base_url, s->org_id);
	buf_addf(o, "  credentials: %s (%s)\n", s->credential_file,
	         s->auth == CFG_SCF_AUTH_BASIC ? "basic user:password" : "bearer token");
	buf_addf(o, "  poll interval: %u s\n  watermark overlap: %u s\n", s->poll_seconds,
	         s->overlap_seconds);
	buf_addf(o, "  rate limit: %u requests in any %u s\n  per page: %u\n", s->rate_per_minute,
	         s->rate_window, s->per_page);
	buf_addf(o, "  user agent: %s\n  system comments forwarded: %s\n", s->user_agent, fw);
	buf_addf(o, "  CA file: %s\n", s->ca_file ? s->ca_file : "(system store)");
	buf_addf(o, "  reopened after close: %s\n",
	         s->reopen == CFG_REOPEN_RECREATE
	             ? "recreate (sent again: a new Cartegraph request)"
	             : "ignore (logged and counted, not sent)");
	if (s->census_interval_hours)
		buf_addf(o, "  census: every %u h, issues updated in the last %u days\n",
		         s->census_interval_hours, s->census_window_days);
	else
		buf_adds(o, "  census: not scheduled (scfgate scf census runs one)\n");
	buf_adds(o, "  system accounts:");
	if (!s->n_system_accounts)
		buf_adds(o, " none");
	for (size_t i = 0; i < s->n_system_accounts; i++)
		buf_addf(o, " %" PRId64, s->system_accounts[i]);
	buf_adds(o, "\n");
}

/* A template as "    name (line N | default):" then its lines, indented,
 * so a multi-line template reads as it renders. */
static void describe_template(struct buf *o, const char *name, const char *t, unsigned line)
{
	if (line)
		buf_addf(o, "    %s (line %u):\n", name, line);
	else
		buf_addf(o, "    %s (default):\n", name);
	while (*t) {
		size_t n = strcspn(t, "\n");
		buf_addf(o, "      | %.*s\n", (int)n, t);
		t += n + (t[n] == '\n');
	}
}

static const char *comment_route_name(enum cfg_comment_route r)
{
	return r == CFG_COMMENTS_CHILD ? "child" : r == CFG_COMMENTS_NOTES ? "notes" : "field";
}

static void describe_cg(const struct cfg_cartegraph *g, struct buf *o)
{
	buf_addf(o, "cartegraph:\n  base URL: %s\n  credentials: %s (%s)\n", g->base_url,
	         g->credential_file,
	         g->auth == CFG_CG_AUTH_SESSION ? "session login, user:password"
	                                        : "basic "
	                                          "user:password");
	buf_addf(o, "  request class: %s\n  attachment class: %s\n", g->request_class,
	         g->attachment_class);
	buf_addf(o, "  poll interval: %u s\n  concurrency: %u\n", g->poll_seconds, g->concurrency);
	buf_addf(o, "  CA file: %s\n", g->ca_file ? g->ca_file : "(system store)");
	buf_adds(o, "  field map:\n");
	buf_addf(o, "    requester: %s = \"%s\"\n", g->requester_field, g->requester_name);
	buf_addf(o, "    request type: %s\n", g->issue_field);
	if (g->geo == CFG_GEO_FIELDS)
		buf_addf(o, "    location: %s (latitude), %s (longitude)\n", g->lat_field,
		         g->lng_field);
	else
		buf_addf(o, "    location: %s (point)\n", g->shape_field);
	buf_addf(o, "    description: %s\n    location description: %s\n", g->description_field,
	         g->location_field);
	buf_addf(o, "    photo: a child record of %s, %s = URL, %s = true\n", g->attachment_class,
	         g->attachment_field, g->linked_field);
	if (g->request_photo_attachment_field)
		buf_addf(o, "    photo on the request too: %s (URL), %s (true)\n",
		         g->request_photo_attachment_field, g->request_photo_linked_field);
	buf_addf(o, "    public comments: %s\n    notes: %s\n", g->comments_field, g->notes_field);
	buf_addf(
	    o, "  later comments: route %s, %s %s.%s%s\n", comment_route_name(g->comment_route),
	    g->comment_route == CFG_COMMENTS_CHILD ? "one child record each in" : "appended to",
	    g->comment_class, g->comment_field,
	    g->comment_route == CFG_COMMENTS_NOTES
	        ? " (read-modify-write of a field people write: a note written between the "
	          "read and the write is lost)"
	        : "");
	if (g->external_id_field)
		buf_addf(o, "    SCF issue id: %s\n", g->external_id_field);
	else
		buf_adds(o, "    SCF issue id: (not stored; after a crash the OMS half cannot look "
		            "a request up by its SCF id)\n");
	buf_addf(o, "    request id: %s\n    status: %s; closed when one of:", g->id_field,
	         g->status_field);
	for (size_t i = 0; i < g->n_closed_values; i++)
		buf_addf(o, " \"%s\"", g->closed_values[i]);
	buf_adds(o, "\n  templates:\n");
	describe_template(o, "description", g->description_template, g->description_template_line);
	describe_template(o, "comment", g->comment_template, g->comment_template_line);
}

static void describe_geocoder(const struct cfg_geocoder *g, struct buf *o)
{
	buf_addf(o, "geocoder:%s\n  base URL: %s\n  mode: %s\n", g->enabled ? "" : " (disabled)",
	         g->base_url, cfg_geocoder_mode_name(g->mode));
	buf_addf(o, "  token: %s\n", g->token_file ? g->token_file : "(none)");
	buf_addf(o, "  accept: score >= %g, within %u m of the reported point\n", g->min_score,
	         g->max_distance_m);
	buf_addf(o, "  timeout: %u ms per request\n  max locations: %u\n", g->timeout_ms,
	         g->max_locations);
	if (strcmp(g->result_field, CFG_GEOCODER_IN_DESCRIPTION) == 0)
		buf_adds(o, "  note: appended to the description\n");
	else
		buf_addf(o, "  note: %s\n", g->result_field);
	buf_addf(o, "  CA file: %s\n", g->ca_file ? g->ca_file : "(system store)");
}

static void describe_type(const struct cfg_request_type *rt, struct buf *o)
{
	buf_addf(o, "  %" PRId64 " \"%s\" -> \"%s\" (line %u)\n", rt->scf_id, rt->title,
	         rt->remote_id, rt->line);
	if (rt->ack_message)
		buf_addf(o, "    acknowledgment message: %s\n", rt->ack_message);
	if (rt->closing_message)
		buf_addf(o, "    closing message: %s\n", rt->closing_message);
	for (size_t j = 0; j < rt->n_custom; j++) {
		const struct cfg_custom_field *cf = &rt->custom[j];
		if (cf->kind == CFG_CUSTOM_STATIC)
			buf_addf(o, "    %s = \"%s\"\n", cf->field, cf->value);
		else
			buf_addf(o, "    %s = answer to \"%s\" (when unanswered: \"%s\")\n",
			         cf->field, cf->question, cf->value);
	}
}

static void describe_transfer(const struct cfg_transfer *t, struct buf *o)
{
	if (!t->n_queues) {
		buf_addf(o, "transfer: (off)\n");
		return;
	}
	buf_addf(o,
	         "transfer:\n  host: %s\n  port: %u\n  user: %s\n  private key: %s\n"
	         "  known hosts: %s\n  host key sha256: %s\n  timeout: %u s\n",
	         t->host ? t->host : "(none)", t->port, t->user ? t->user : "(none)",
	         t->private_key ? t->private_key : "(none)",
	         t->known_hosts ? t->known_hosts : "(none)",
	         t->host_key_sha256 ? t->host_key_sha256 : "(none)", t->timeout_seconds);
	for (size_t i = 0; i < t->n_queues; i++) {
		const struct cfg_transfer_queue *q = &t->queues[i];

		buf_addf(o, "  queue %s: %s%s, %s %s, every %u s", q->name,
		         q->direction == CFG_TRANSFER_PUSH ? "push" : "pull",
		         q->one_way ? " one-way" : "", q->local_dir ? "drop dir" : "remote dir",
		         q->local_dir ? q->local_dir : q->remote_dir, q->interval_seconds);
		if (q->direction == CFG_TRANSFER_PUSH && q->sent_retention_days)
			buf_addf(o, ", sent/ kept %u days\n", q->sent_retention_days);
		else if (q->direction == CFG_TRANSFER_PUSH)
			buf_addf(o, ", sent/ kept for ever\n");
		else
			buf_addf(o, "\n");
	}
}

enum err_status cfg_describe(const struct cfg *c, struct buf *o)
{
	const struct cfg_spool *s = &c->spool;

	buf_addf(o, "configuration: %s\nhalf: %s\nlog level: %s\n", c->path, cfg_half_name(c->half),
	         cfg_log_level_name(c->log_level));
	buf_addf(o, "spool:\n  root: %s\n  producer: %s\n  private key: %s\n", s->root, s->producer,
	         s->private_key);
	buf_addf(o,
	         "  peer public key: %s\n  grace period: %u s\n  gap alarm: %u s\n"
	         "  max sequence ahead: %u\n  failing alarm: %u s\n  stuck alarm: %u s\n",
	         s->peer_public_key, s->grace_seconds, s->gap_alarm_seconds, s->max_ahead,
	         s->failing_alarm_seconds, s->stuck_alarm_seconds);
	buf_addf(o, "  transport group: %s\n",
	         s->transport_group ? s->transport_group
	                            : "(none: new/ writable by the owner only)");
	buf_addf(o, "  bundle decryption key: %s\n  encrypted bundles only: %s\n",
	         s->bundle_decryption_key ? s->bundle_decryption_key : "(none)",
	         s->require_encrypted_bundles ? "yes" : "no");
	buf_addf(o, "  bundle recipient key: %s\n",
	         s->bundle_recipient_key ? s->bundle_recipient_key
	                                 : "(none: export encrypts only with --encrypt-to)");
	buf_addf(o, "metrics: %s\n", c->metrics.textfile ? c->metrics.textfile : "(off)");
	describe_transfer(&c->transfer, o);
	if (c->scf.base_url)
		describe_scf(&c->scf, o);
	else
		buf_adds(o, "scf: (not configured)\n");
	if (c->cg.base_url)
		describe_cg(&c->cg, o);
	else
		buf_adds(o, "cartegraph: (not configured)\n");
	if (c->geocoder.base_url)
		describe_geocoder(&c->geocoder, o);
	else
		buf_adds(o, "geocoder: (not configured; the reported address is used)\n");
	buf_adds(o, "status map (SCF -> Cartegraph):\n");
	for (size_t i = 0; i < c->n_status; i++)
		buf_addf(o, "  %-12s -> %s%s%s\n", c->status[i].scf,
		         c->status[i].oms ? c->status[i].oms : "n/a",
		         c->status[i].note ? "  # " : "",
		         c->status[i].note ? c->status[i].note : "");
	buf_addf(o, "request types (%zu; others are skipped and counted):\n", c->n_types);
	for (size_t i = 0; i < c->n_types; i++)
		describe_type(&c->types[i], o);
	buf_addf(o, "messages:\n  acknowledgment (default): %s\n  closing (default): %s\n",
	         c->messages.ack, c->messages.closing);
	/* buf_add* fail only at the cap; a description never gets near it */
	return o->len ? ERR_OK : ERR_TEMP;
}

/* ---- JSON ---------------------------------------------------------------- */

static void json_spool(struct jdoc *d, cJSON *root, const struct cfg_spool *s)
{
	cJSON *o = jdoc_object(d, root, "spool");

	jdoc_string(d, o, "root", s->root);
	jdoc_string(d, o, "producer", s->producer);
	jdoc_string(d, o, "private_key", s->private_key);
	jdoc_string(d, o, "peer_public_key", s->peer_public_key);
	jdoc_number(d, o, "grace_seconds", s->grace_seconds);
	jdoc_number(d, o, "max_sequence_ahead", s->max_ahead);
	jdoc_number(d, o, "gap_alarm_seconds", s->gap_alarm_seconds);
	jdoc_number(d, o, "failing_alarm_seconds", s->failing_alarm_seconds);
	jdoc_number(d, o, "stuck_alarm_seconds", s->stuck_alarm_seconds);
	if (s->transport_group)
		jdoc_string(d, o, "transport_group", s->transport_group);
	else
		jdoc_null(d, o, "transport_group");
	if (s->bundle_decryption_key)
		jdoc_string(d, o, "bundle_decryption_key", s->bundle_decryption_key);
	else
		jdoc_null(d, o, "bundle_decryption_key");
	jdoc_bool(d, o, "require_encrypted_bundles", s->require_encrypted_bundles);
	if (s->bundle_recipient_key)
		jdoc_string(d, o, "bundle_recipient_key", s->bundle_recipient_key);
	else
		jdoc_null(d, o, "bundle_recipient_key");
}

static void json_scf(struct jdoc *d, cJSON *root, const struct cfg_scf *s)
{
	cJSON *o, *fw, *acc;

	if (!s->base_url) {
		jdoc_null(d, root, "scf");
		return;
	}
	o = jdoc_object(d, root, "scf");
	jdoc_string(d, o, "base_url", s->base_url);
	jdoc_number(d, o, "organization", (double)s->org_id);
	jdoc_string(d, o, "auth", scf_auth_name(s->auth));
	jdoc_string(d, o, "credential_file", s->credential_file);
	jdoc_number(d, o, "poll_seconds", s->poll_seconds);
	jdoc_number(d, o, "overlap_seconds", s->overlap_seconds);
	jdoc_number(d, o, "rate_per_minute", s->rate_per_minute);
	jdoc_number(d, o, "rate_window_seconds", s->rate_window);
	jdoc_number(d, o, "per_page", s->per_page);
	jdoc_string(d, o, "user_agent", s->user_agent);
	jdoc_string(d, o, "ca_file", s->ca_file);
	jdoc_string(d, o, "reopen_policy",
	            s->reopen == CFG_REOPEN_RECREATE ? "recreate" : "ignore");
	jdoc_number(d, o, "census_interval_hours", s->census_interval_hours);
	jdoc_number(d, o, "census_window_days", s->census_window_days);
	fw = jdoc_array(d, o, "forward_system_comments");
	if (s->forward_system & CFG_SYSCOMMENT_ASSIGNED)
		jdoc_string(d, fw, NULL, "assigned");
	if (s->forward_system & CFG_SYSCOMMENT_ACCOUNT)
		jdoc_string(d, fw, NULL, "account");
	acc = jdoc_array(d, o, "system_accounts");
	for (size_t i = 0; i < s->n_system_accounts; i++)
		jdoc_number(d, acc, NULL, (double)s->system_accounts[i]);
}

static void json_cg(struct jdoc *d, cJSON *root, const struct cfg_cartegraph *g)
{
	cJSON *o, *f, *closed, *t;

	if (!g->base_url) {
		jdoc_null(d, root, "cartegraph");
		return;
	}
	o = jdoc_object(d, root, "cartegraph");
	jdoc_string(d, o, "base_url", g->base_url);
	jdoc_string(d, o, "auth", cg_auth_name(g->auth));
	jdoc_string(d, o, "credential_file", g->credential_file);
	jdoc_string(d, o, "request_class", g->request_class);
	jdoc_string(d, o, "attachment_class", g->attachment_class);
	jdoc_number(d, o, "poll_seconds", g->poll_seconds);
	jdoc_number(d, o, "concurrency", g->concurrency);
	jdoc_string(d, o, "ca_file", g->ca_file);
	f = jdoc_object(d, o, "fields");
	jdoc_string(d, f, "requester", g->requester_field);
	jdoc_string(d, f, "requester_name", g->requester_name);
	jdoc_string(d, f, "issue", g->issue_field);
	jdoc_string(d, f, "geo", g->geo == CFG_GEO_FIELDS ? "fields" : "cgshape");
	jdoc_string(d, f, "lat", g->lat_field);
	jdoc_string(d, f, "lng", g->lng_field);
	jdoc_string(d, f, "shape", g->geo == CFG_GEO_CGSHAPE ? g->shape_field : NULL);
	jdoc_string(d, f, "description", g->description_field);
	jdoc_string(d, f, "location_description", g->location_field);
	jdoc_string(d, f, "attachment", g->attachment_field);
	jdoc_string(d, f, "linked", g->linked_field);
	jdoc_string(d, f, "request_photo_attachment", g->request_photo_attachment_field);
	jdoc_string(d, f, "request_photo_linked", g->request_photo_linked_field);
	jdoc_string(d, f, "comments", g->comments_field);
	jdoc_string(d, f, "notes", g->notes_field);
	jdoc_string(d, f, "external_id", g->external_id_field);
	jdoc_string(d, f, "id", g->id_field);
	jdoc_string(d, f, "status", g->status_field);
	closed = jdoc_array(d, f, "closed_values");
	for (size_t i = 0; i < g->n_closed_values; i++)
		jdoc_string(d, closed, NULL, g->closed_values[i]);
	t = jdoc_object(d, o, "templates");
	jdoc_string(d, t, "description", g->description_template);
	jdoc_string(d, t, "comment", g->comment_template);
	f = jdoc_object(d, o, "comments");
	jdoc_string(d, f, "route", comment_route_name(g->comment_route));
	jdoc_string(d, f, "class", g->comment_class);
	jdoc_string(d, f, "field", g->comment_field);
}

static void json_geocoder(struct jdoc *d, cJSON *root, const struct cfg_geocoder *g)
{
	cJSON *o;

	if (!g->base_url) {
		jdoc_null(d, root, "geocoder");
		return;
	}
	o = jdoc_object(d, root, "geocoder");
	jdoc_bool(d, o, "enabled", g->enabled);
	jdoc_string(d, o, "base_url", g->base_url);
	jdoc_string(d, o, "mode", cfg_geocoder_mode_name(g->mode));
	jdoc_string(d, o, "token_file", g->token_file);
	jdoc_number(d, o, "min_score", g->min_score);
	jdoc_number(d, o, "max_distance_m", g->max_distance_m);
	jdoc_number(d, o, "timeout_ms", g->timeout_ms);
	jdoc_number(d, o, "max_locations", g->max_locations);
	jdoc_string(d, o, "result_field", g->result_field);
	jdoc_string(d, o, "ca_file", g->ca_file);
}

static void json_type(struct jdoc *d, cJSON *types, const struct cfg_request_type *rt)
{
	cJSON *o = jdoc_object(d, types, NULL), *cfs;

	jdoc_number(d, o, "id", (double)rt->scf_id);
	jdoc_string(d, o, "title", rt->title);
	jdoc_string(d, o, "remote_id", rt->remote_id);
	jdoc_string(d, o, "acknowledgment_message", rt->ack_message);
	jdoc_string(d, o, "closing_message", rt->closing_message);
	jdoc_number(d, o, "line", rt->line);
	cfs = jdoc_array(d, o, "custom_fields");
	for (size_t j = 0; j < rt->n_custom; j++) {
		const struct cfg_custom_field *cf = &rt->custom[j];
		cJSON *x = jdoc_object(d, cfs, NULL);
		jdoc_string(d, x, "field", cf->field);
		jdoc_string(d, x, "kind", cf->kind == CFG_CUSTOM_STATIC ? "static" : "answer");
		jdoc_string(d, x, "question", cf->question);
		jdoc_string(d, x, cf->kind == CFG_CUSTOM_STATIC ? "value" : "default", cf->value);
	}
}

static const char *direction_name(enum cfg_transfer_direction d)
{
	return d == CFG_TRANSFER_PUSH ? "push" : "pull";
}

static void json_transfer(struct jdoc *d, cJSON *root, const struct cfg_transfer *t)
{
	cJSON *x, *qs;

	if (!t->n_queues) {
		jdoc_null(d, root, "transfer");
		return;
	}
	x = jdoc_object(d, root, "transfer");
	jdoc_string(d, x, "host", t->host);
	jdoc_number(d, x, "port", t->port);
	jdoc_string(d, x, "user", t->user);
	jdoc_string(d, x, "private_key", t->private_key);
	jdoc_string(d, x, "known_hosts", t->known_hosts);
	jdoc_string(d, x, "host_key_sha256", t->host_key_sha256);
	jdoc_number(d, x, "timeout_seconds", t->timeout_seconds);
	qs = jdoc_array(d, x, "queues");
	for (size_t i = 0; i < t->n_queues; i++) {
		cJSON *q = jdoc_object(d, qs, NULL);
		jdoc_string(d, q, "name", t->queues[i].name);
		jdoc_string(d, q, "direction", direction_name(t->queues[i].direction));
		jdoc_string(d, q, "remote_dir", t->queues[i].remote_dir);
		jdoc_string(d, q, "local_dir", t->queues[i].local_dir);
		jdoc_bool(d, q, "one_way", t->queues[i].one_way);
		jdoc_number(d, q, "interval_seconds", t->queues[i].interval_seconds);
		jdoc_number(d, q, "sent_retention_days", t->queues[i].sent_retention_days);
	}
}

enum err_status cfg_describe_json(const struct cfg *c, struct buf *out)
{
	struct jdoc d = JDOC_INIT;
	cJSON *root = jdoc_root_object(&d), *st, *types, *msgs;
	char *txt;
	enum err_status rc;

	jdoc_string(&d, root, "configuration", c->path);
	jdoc_string(&d, root, "half", cfg_half_name(c->half));
	jdoc_string(&d, root, "log_level", cfg_log_level_name(c->log_level));
	json_spool(&d, root, &c->spool);
	if (c->metrics.textfile)
		jdoc_string(&d, jdoc_object(&d, root, "metrics"), "textfile", c->metrics.textfile);
	else
		jdoc_null(&d, root, "metrics");
	json_transfer(&d, root, &c->transfer);
	json_scf(&d, root, &c->scf);
	json_cg(&d, root, &c->cg);
	json_geocoder(&d, root, &c->geocoder);
	st = jdoc_array(&d, root, "status_map");
	for (size_t i = 0; i < c->n_status; i++) {
		cJSON *x = jdoc_object(&d, st, NULL);
		jdoc_string(&d, x, "scf", c->status[i].scf);
		jdoc_string(&d, x, "oms", c->status[i].oms);
		jdoc_string(&d, x, "note", c->status[i].note);
	}
	types = jdoc_array(&d, root, "request_types");
	for (size_t i = 0; i < c->n_types; i++)
		json_type(&d, types, &c->types[i]);
	msgs = jdoc_object(&d, root, "messages");
	jdoc_string(&d, msgs, "acknowledgment", c->messages.ack);
	jdoc_string(&d, msgs, "closing", c->messages.closing);
	/* No document rather than one with members missing. */
	txt = jdoc_print(&d, 1);
	jdoc_release(&d);
	if (!txt)
		return ERR_TEMP;
	rc = buf_adds(out, txt);
	if (rc == ERR_OK)
		rc = buf_adds(out, "\n");
	cJSON_free(txt);
	return rc;
}
