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
	buf_addf(o, "  rate limit: %u requests/minute\n  per page: %u\n", s->rate_per_minute,
	         s->per_page);
	buf_addf(o, "  user agent: %s\n  system comments forwarded: %s\n", s->user_agent, fw);
	buf_adds(o, "  system accounts:");
	if (!s->n_system_accounts)
		buf_adds(o, " none");
	for (size_t i = 0; i < s->n_system_accounts; i++)
		buf_addf(o, " %" PRId64, s->system_accounts[i]);
	buf_adds(o, "\n");
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
	buf_addf(o, "    photo: %s (URL), %s (true when there is a photo)\n", g->attachment_field,
	         g->linked_field);
	buf_addf(o, "    public comments: %s\n    notes: %s\n", g->comments_field, g->notes_field);
	if (g->external_id_field)
		buf_addf(o, "    SCF issue id: %s\n", g->external_id_field);
	else
		buf_adds(o, "    SCF issue id: (not stored; after a crash the OMS half cannot look "
		            "a request up by its SCF id)\n");
	buf_addf(o, "    request id: %s\n    status: %s; closed when one of:", g->id_field,
	         g->status_field);
	for (size_t i = 0; i < g->n_closed_values; i++)
		buf_addf(o, " \"%s\"", g->closed_values[i]);
	buf_adds(o, "\n");
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

enum err_status cfg_describe(const struct cfg *c, struct buf *o)
{
	const struct cfg_spool *s = &c->spool;

	buf_addf(o, "configuration: %s\nhalf: %s\nlog level: %s\n", c->path, cfg_half_name(c->half),
	         cfg_log_level_name(c->log_level));
	buf_addf(o, "spool:\n  root: %s\n  producer: %s\n  private key: %s\n", s->root, s->producer,
	         s->private_key);
	buf_addf(o, "  peer public key: %s\n  grace period: %u s\n  gap alarm: %u s\n",
	         s->peer_public_key, s->grace_seconds, s->gap_alarm_seconds);
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
	buf_addf(o, "messages:\n  acknowledgment: %s\n  closing (default): %s\n", c->messages.ack,
	         c->messages.closing);
	/* buf_add* fail only at the cap; a description never gets near it */
	return o->len ? ERR_OK : ERR_TEMP;
}

/* ---- JSON ---------------------------------------------------------------- */

static cJSON *str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static void add_str(cJSON *o, const char *k, const char *v)
{
	cJSON_AddItemToObject(o, k, str_or_null(v));
}

static cJSON *json_spool(const struct cfg_spool *s)
{
	cJSON *o = cJSON_CreateObject();
	add_str(o, "root", s->root);
	add_str(o, "producer", s->producer);
	add_str(o, "private_key", s->private_key);
	add_str(o, "peer_public_key", s->peer_public_key);
	cJSON_AddNumberToObject(o, "grace_seconds", s->grace_seconds);
	cJSON_AddNumberToObject(o, "gap_alarm_seconds", s->gap_alarm_seconds);
	return o;
}

static cJSON *json_scf(const struct cfg_scf *s)
{
	cJSON *o = cJSON_CreateObject(), *fw, *acc;

	add_str(o, "base_url", s->base_url);
	cJSON_AddNumberToObject(o, "organization", (double)s->org_id);
	add_str(o, "auth", scf_auth_name(s->auth));
	add_str(o, "credential_file", s->credential_file);
	cJSON_AddNumberToObject(o, "poll_seconds", s->poll_seconds);
	cJSON_AddNumberToObject(o, "overlap_seconds", s->overlap_seconds);
	cJSON_AddNumberToObject(o, "rate_per_minute", s->rate_per_minute);
	cJSON_AddNumberToObject(o, "per_page", s->per_page);
	add_str(o, "user_agent", s->user_agent);
	fw = cJSON_AddArrayToObject(o, "forward_system_comments");
	if (s->forward_system & CFG_SYSCOMMENT_ASSIGNED)
		cJSON_AddItemToArray(fw, cJSON_CreateString("assigned"));
	if (s->forward_system & CFG_SYSCOMMENT_ACCOUNT)
		cJSON_AddItemToArray(fw, cJSON_CreateString("account"));
	acc = cJSON_AddArrayToObject(o, "system_accounts");
	for (size_t i = 0; i < s->n_system_accounts; i++)
		cJSON_AddItemToArray(acc, cJSON_CreateNumber((double)s->system_accounts[i]));
	return o;
}

static cJSON *json_cg(const struct cfg_cartegraph *g)
{
	cJSON *o = cJSON_CreateObject(), *f, *closed;

	add_str(o, "base_url", g->base_url);
	add_str(o, "auth", cg_auth_name(g->auth));
	add_str(o, "credential_file", g->credential_file);
	add_str(o, "request_class", g->request_class);
	add_str(o, "attachment_class", g->attachment_class);
	cJSON_AddNumberToObject(o, "poll_seconds", g->poll_seconds);
	cJSON_AddNumberToObject(o, "concurrency", g->concurrency);
	f = cJSON_AddObjectToObject(o, "fields");
	add_str(f, "requester", g->requester_field);
	add_str(f, "requester_name", g->requester_name);
	add_str(f, "issue", g->issue_field);
	add_str(f, "geo", g->geo == CFG_GEO_FIELDS ? "fields" : "cgshape");
	add_str(f, "lat", g->lat_field);
	add_str(f, "lng", g->lng_field);
	add_str(f, "shape", g->geo == CFG_GEO_CGSHAPE ? g->shape_field : NULL);
	add_str(f, "description", g->description_field);
	add_str(f, "location_description", g->location_field);
	add_str(f, "attachment", g->attachment_field);
	add_str(f, "linked", g->linked_field);
	add_str(f, "comments", g->comments_field);
	add_str(f, "notes", g->notes_field);
	add_str(f, "external_id", g->external_id_field);
	add_str(f, "id", g->id_field);
	add_str(f, "status", g->status_field);
	closed = cJSON_AddArrayToObject(f, "closed_values");
	for (size_t i = 0; i < g->n_closed_values; i++)
		cJSON_AddItemToArray(closed, cJSON_CreateString(g->closed_values[i]));
	return o;
}

static cJSON *json_geocoder(const struct cfg_geocoder *g)
{
	cJSON *o = cJSON_CreateObject();

	cJSON_AddBoolToObject(o, "enabled", g->enabled);
	add_str(o, "base_url", g->base_url);
	add_str(o, "mode", cfg_geocoder_mode_name(g->mode));
	add_str(o, "token_file", g->token_file);
	cJSON_AddNumberToObject(o, "min_score", g->min_score);
	cJSON_AddNumberToObject(o, "max_distance_m", g->max_distance_m);
	cJSON_AddNumberToObject(o, "timeout_ms", g->timeout_ms);
	cJSON_AddNumberToObject(o, "max_locations", g->max_locations);
	add_str(o, "result_field", g->result_field);
	add_str(o, "ca_file", g->ca_file);
	return o;
}

static cJSON *json_type(const struct cfg_request_type *rt)
{
	cJSON *o = cJSON_CreateObject(), *cfs;

	cJSON_AddNumberToObject(o, "id", (double)rt->scf_id);
	add_str(o, "title", rt->title);
	add_str(o, "remote_id", rt->remote_id);
	add_str(o, "closing_message", rt->closing_message);
	cJSON_AddNumberToObject(o, "line", rt->line);
	cfs = cJSON_AddArrayToObject(o, "custom_fields");
	for (size_t j = 0; j < rt->n_custom; j++) {
		const struct cfg_custom_field *cf = &rt->custom[j];
		cJSON *x = cJSON_CreateObject();
		add_str(x, "field", cf->field);
		add_str(x, "kind", cf->kind == CFG_CUSTOM_STATIC ? "static" : "answer");
		add_str(x, "question", cf->question);
		add_str(x, cf->kind == CFG_CUSTOM_STATIC ? "value" : "default", cf->value);
		cJSON_AddItemToArray(cfs, x);
	}
	return o;
}

enum err_status cfg_describe_json(const struct cfg *c, struct buf *out)
{
	cJSON *root = cJSON_CreateObject(), *st, *types, *msgs;
	char *txt;
	enum err_status rc;

	if (!root)
		return ERR_TEMP;
	add_str(root, "configuration", c->path);
	add_str(root, "half", cfg_half_name(c->half));
	add_str(root, "log_level", cfg_log_level_name(c->log_level));
	cJSON_AddItemToObject(root, "spool", json_spool(&c->spool));
	cJSON_AddItemToObject(root, "scf",
	                      c->scf.base_url ? json_scf(&c->scf) : cJSON_CreateNull());
	cJSON_AddItemToObject(root, "cartegraph",
	                      c->cg.base_url ? json_cg(&c->cg) : cJSON_CreateNull());
	cJSON_AddItemToObject(root, "geocoder",
	                      c->geocoder.base_url ? json_geocoder(&c->geocoder)
	                                           : cJSON_CreateNull());
	st = cJSON_AddArrayToObject(root, "status_map");
	for (size_t i = 0; i < c->n_status; i++) {
		cJSON *x = cJSON_CreateObject();
		add_str(x, "scf", c->status[i].scf);
		add_str(x, "oms", c->status[i].oms);
		add_str(x, "note", c->status[i].note);
		cJSON_AddItemToArray(st, x);
	}
	types = cJSON_AddArrayToObject(root, "request_types");
	for (size_t i = 0; i < c->n_types; i++)
		cJSON_AddItemToArray(types, json_type(&c->types[i]));
	msgs = cJSON_AddObjectToObject(root, "messages");
	add_str(msgs, "acknowledgment", c->messages.ack);
	add_str(msgs, "closing", c->messages.closing);
	txt = cJSON_Print(root);
	cJSON_Delete(root);
	if (!txt)
		return ERR_TEMP;
	rc = buf_adds(out, txt);
	if (rc == ERR_OK)
		rc = buf_adds(out, "\n");
	free(txt);
	return rc;
}
