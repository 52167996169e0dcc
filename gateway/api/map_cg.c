/*
 * map_cg.c: records -> Cartegraph bodies, Cartegraph rows -> records
 * (see map.h).  Bodies are built with cJSON so quoting is never ours to
 * get wrong; free text goes through the ASP.NET escaping first.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"

#define NOTE_MARKER "[scf-comment "

static enum err_status oom(struct err *e)
{
	return err_set(e, ERR_TEMP, "out of memory building a Cartegraph body");
}

/* Add name: escaped text. */
static int add_text(cJSON *obj, const char *name, const char *text)
{
	struct buf b = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	cJSON *v;

	if (text_aspnet_escape(text ? text : "", &b) != ERR_OK) {
		buf_release(&b);
		return -1;
	}
	v = cJSON_AddStringToObject(obj, name, buf_str(&b));
	buf_release(&b);
	return v ? 0 : -1;
}

/* {"<class>":[row]}; takes row. */
static enum err_status envelope(const char *cls, cJSON *row, struct buf *out, struct err *e)
{
	cJSON *root = cJSON_CreateObject(), *arr = cJSON_CreateArray();
	char *txt;
	enum err_status st;

	if (!root || !arr) {
		cJSON_Delete(root);
		cJSON_Delete(arr);
		cJSON_Delete(row);
		return oom(e);
	}
	cJSON_AddItemToArray(arr, row);
	/* Copying the class name may fail; arr (and row in it) is ours then. */
	if (!cJSON_AddItemToObject(root, cls, arr)) {
		cJSON_Delete(arr);
		cJSON_Delete(root);
		return oom(e);
	}
	txt = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!txt)
		return oom(e);
	buf_reset(out);
	st = buf_adds(out, txt);
	free(txt);
	return st == ERR_OK ? ERR_OK : err_set(e, st, "Cartegraph body too large");
}

static int unanswered(const char *a)
{
	return !a || !*a || strcmp(a, "No Answer Given") == 0;
}

enum err_status map_cg_description(const struct cfg *c, const struct record_issue *is,
                                   struct buf *out)
{
	struct err e;

	return map_render_description(c, is, out, &e);
}

enum err_status map_cg_note(const struct cfg *c, const struct record_comment *cm, struct buf *out)
{
	struct err e;
	enum err_status st;

	/* the marker first, whatever the template says: map_cg_notes_have
	 * finds a note by it after a crash */
	st = buf_addf(out, NOTE_MARKER "%s] ", cm->comment_id);
	if (st != ERR_OK)
		return st;
	return map_render_comment(c, cm, out, &e);
}

int map_cg_notes_have(const char *notes, const char *comment_id)
{
	char marker[320];

	if (!notes || !comment_id)
		return 0;
	snprintf(marker, sizeof(marker), NOTE_MARKER "%s]", comment_id);
	return strstr(notes, marker) != NULL;
}

static int add_geo(const struct cfg_cartegraph *g, cJSON *row, double lat, double lng)
{
	cJSON *shape, *pts, *pt, *center;

	if (g->geo == CFG_GEO_FIELDS)
		return cJSON_AddNumberToObject(row, g->lat_field, lat) &&
		               cJSON_AddNumberToObject(row, g->lng_field, lng)
		           ? 0
		           : -1;
	/* The point form the REST clients use: ShapeType 1 = point. */
	if (!(shape = cJSON_AddObjectToObject(row, g->shape_field)) ||
	    !cJSON_AddNumberToObject(shape, "ShapeType", 1) ||
	    !(pts = cJSON_AddArrayToObject(shape, "Points")) || !(pt = cJSON_CreateObject()))
		return -1;
	cJSON_AddItemToArray(pts, pt);
	if (!cJSON_AddNumberToObject(pt, "Lat", lat) || !cJSON_AddNumberToObject(pt, "Lng", lng) ||
	    !cJSON_AddArrayToObject(shape, "Breaks") ||
	    !(center = cJSON_AddObjectToObject(shape, "Center")) ||
	    !cJSON_AddNumberToObject(center, "Lat", lat) ||
	    !cJSON_AddNumberToObject(center, "Lng", lng))
		return -1;
	return 0;
}

static const char *answer_for(const struct record_issue *is, const char *question)
{
	for (size_t i = 0; i < is->n_questions; i++)
		if (is->questions[i].question && strcmp(is->questions[i].question, question) == 0)
			return is->questions[i].answer;
	return NULL;
}

static int add_custom(const struct cfg_request_type *rt, const struct record_issue *is, cJSON *row)
{
	for (size_t i = 0; i < rt->n_custom; i++) {
		const struct cfg_custom_field *cf = &rt->custom[i];
		const char *v = cf->value;
		if (cf->kind == CFG_CUSTOM_ANSWER) {
			const char *a = answer_for(is, cf->question);
			v = unanswered(a) ? cf->value : a;
			if (!v || !*v)
				continue; /* unanswered and no default: leave the field alone */
		}
		if (add_text(row, cf->field, v))
			return -1;
	}
	return 0;
}

static enum err_status comments_text(const struct cfg *c, const struct record_issue *is,
                                     struct buf *out)
{
	enum err_status st = ERR_OK;

	for (size_t i = 0; st == ERR_OK && i < is->n_comments; i++) {
		if (!map_comment_forward(c, &is->comments[i]))
			continue;
		if (out->len)
			st = buf_adds(out, "\n");
		if (st == ERR_OK)
			st = map_cg_note(c, &is->comments[i], out);
	}
	return st;
}

enum err_status map_cg_create_body(const struct cfg *c, const struct record_issue *is,
                                   struct buf *out, struct err *e)
{
	return map_cg_create_body_ex(c, is, NULL, out, e);
}

/* The description, with the note at its end when it has no field of its own. */
static enum err_status description_text(const struct cfg *c, const struct record_issue *is,
                                        const struct map_cg_extra *x, struct buf *out)
{
	enum err_status st = map_cg_description(c, is, out);

	if (st == ERR_OK && x && x->note && *x->note && !x->note_field)
		st = buf_addf(out, "%s%s", out->len ? "\n\n" : "", x->note);
	return st;
}

enum err_status map_cg_create_body_ex(const struct cfg *c, const struct record_issue *is,
                                      const struct map_cg_extra *x, struct buf *out, struct err *e)
{
	const char *location = x && x->location ? x->location : is->address;
	const struct cfg_cartegraph *g = &c->cg;
	const struct cfg_request_type *rt = cfg_request_type(c, is->request_type_id);
	struct buf desc = BUF_INIT_CAP(BUF_DEFAULT_CAP), comments = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	cJSON *row = NULL;
	char ext[24];
	enum err_status st = ERR_OK;

	if (!rt)
		return err_set(e, ERR_PERM,
		               "SCF issue %" PRId64 ": request type %" PRId64 " is not mapped",
		               is->issue_id, is->request_type_id);
	if (!g->request_class)
		return err_set(e, ERR_FATAL, "configuration has no <cartegraph> section");
	if (description_text(c, is, x, &desc) != ERR_OK ||
	    comments_text(c, is, &comments) != ERR_OK || !(row = cJSON_CreateObject())) {
		st = oom(e);
		goto out;
	}
	if (add_text(row, g->requester_field, g->requester_name) ||
	    add_text(row, g->issue_field, rt->remote_id) || add_geo(g, row, is->lat, is->lng) ||
	    add_text(row, g->description_field, buf_str(&desc)) ||
	    (location && add_text(row, g->location_field, location)) ||
	    (x && x->note && *x->note && x->note_field && add_text(row, x->note_field, x->note)) ||
	    (is->media_url && g->request_photo_attachment_field &&
	     (!cJSON_AddStringToObject(row, g->request_photo_attachment_field, is->media_url) ||
	      !cJSON_AddBoolToObject(row, g->request_photo_linked_field, 1))) ||
	    (comments.len && add_text(row, g->comments_field, buf_str(&comments))) ||
	    add_custom(rt, is, row)) {
		st = oom(e);
		goto out;
	}
	if (g->external_id_field) {
		snprintf(ext, sizeof(ext), "%" PRId64, is->issue_id);
		if (!cJSON_AddStringToObject(row, g->external_id_field, ext)) {
			st = oom(e);
			goto out;
		}
	}
	st = envelope(g->request_class, row, out, e);
	row = NULL;
out:
	cJSON_Delete(row);
	buf_release(&desc);
	buf_release(&comments);
	return st;
}

enum err_status map_cg_notes_body(const struct cfg *c, int64_t oid, const char *existing_notes,
                                  const struct record_comment *cm, struct buf *out, struct err *e)
{
	struct buf note = BUF_INIT_CAP(BUF_DEFAULT_CAP), notes = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	cJSON *row = cJSON_CreateObject();
	int bad;

	/* Existing notes came from Cartegraph and go back as they were; only
	 * the new note is escaped. */
	bad = !row || map_cg_note(c, cm, &note) != ERR_OK ||
	      buf_adds(&notes, existing_notes ? existing_notes : "") != ERR_OK ||
	      (notes.len && buf_adds(&notes, "\n") != ERR_OK) ||
	      text_aspnet_escape(buf_str(&note), &notes) != ERR_OK ||
	      !cJSON_AddNumberToObject(row, "Oid", (double)oid) ||
	      !cJSON_AddStringToObject(row, c->cg.comment_field, buf_str(&notes));
	buf_release(&note);
	buf_release(&notes);
	if (bad) {
		cJSON_Delete(row);
		return oom(e);
	}
	return envelope(c->cg.request_class, row, out, e);
}

enum err_status map_cg_comment_child_body(const struct cfg *c, const struct record_comment *cm,
                                          struct buf *out, struct err *e)
{
	struct buf note = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	cJSON *row = cJSON_CreateObject();
	int bad = !row || map_cg_note(c, cm, &note) != ERR_OK ||
	          add_text(row, c->cg.comment_field, buf_str(&note));

	buf_release(&note);
	if (bad) {
		cJSON_Delete(row);
		return oom(e);
	}
	return envelope(c->cg.comment_class, row, out, e);
}

enum err_status map_cg_attachment_body(const struct cfg *c, const struct record_attachment *at,
                                       struct buf *out, struct err *e)
{
	cJSON *row = cJSON_CreateObject();

	if (!row || !cJSON_AddStringToObject(row, c->cg.attachment_field, at->url) ||
	    !cJSON_AddBoolToObject(row, c->cg.linked_field, 1)) {
		cJSON_Delete(row);
		return oom(e);
	}
	return envelope(c->cg.attachment_class, row, out, e);
}

/* ---- Cartegraph rows ------------------------------------------------------- */

void map_cg_request_clear(struct map_cg_request *rq)
{
	free(rq->request_id);
	free(rq->status);
	free(rq->last_modified);
	free(rq->source_json);
	memset(rq, 0, sizeof(*rq));
}

/* A string or number value as text.  0: *out is the text (NULL when
 * absent or null); 1: not text; -1: out of memory, which must not read
 * as a bad reply. */
static int value_text(const cJSON *v, char **out)
{
	char num[32];
	struct buf b = BUF_INIT_CAP(MAP_TEXT_MAX * 3 + 16);

	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (cJSON_IsNumber(v)) {
		snprintf(num, sizeof(num), "%.15g", v->valuedouble);
		return (*out = strdup(num)) ? 0 : -1;
	}
	if (!cJSON_IsString(v) || strlen(v->valuestring) > MAP_TEXT_MAX)
		return 1;
	if (text_utf8_repair(v->valuestring, strlen(v->valuestring), &b) != ERR_OK)
		return -1;
	*out = buf_detach(&b, NULL);
	return *out || (*out = strdup("")) ? 0 : -1;
}

static int value_i64(const cJSON *v, int64_t *out)
{
	char *end;

	if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble < 9.0e15 &&
	    v->valuedouble == (double)(int64_t)v->valuedouble) {
		*out = (int64_t)v->valuedouble;
		return 0;
	}
	if (cJSON_IsString(v) && *v->valuestring &&
	    strspn(v->valuestring, "0123456789") == strlen(v->valuestring) &&
	    strlen(v->valuestring) < 19) {
		*out = strtoll(v->valuestring, &end, 10);
		return 0;
	}
	return -1;
}

enum err_status map_cg_request_cjson(const struct cfg *c, const cJSON *obj,
                                     struct map_cg_request *out, struct err *e)
{
	const struct cfg_cartegraph *g = &c->cg;
	const char *field = NULL;
	const cJSON *ext;
	char *raw;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!cJSON_IsObject(obj))
		return err_set(e, ERR_PERM, "Cartegraph request: expected a JSON object");
	if (value_i64(cJSON_GetObjectItemCaseSensitive(obj, "Oid"), &out->oid))
		return err_set(e, ERR_PERM, "Cartegraph request: field Oid: missing or not an id");
	/* the first of the three text fields that is not text names the error */
	rc = value_text(cJSON_GetObjectItemCaseSensitive(obj, g->id_field), &out->request_id);
	if (rc != 0)
		field = g->id_field;
	if (rc == 0) {
		rc = value_text(cJSON_GetObjectItemCaseSensitive(obj, g->status_field),
		                &out->status);
		if (rc != 0)
			field = g->status_field;
	}
	if (rc == 0) {
		rc = value_text(cJSON_GetObjectItemCaseSensitive(obj, "cgLastModifiedField"),
		                &out->last_modified);
		if (rc != 0)
			field = "cgLastModifiedField";
	}
	if (field) {
		map_cg_request_clear(out);
		return rc < 0
		           ? oom(e)
		           : err_set(e, ERR_PERM, "Cartegraph request: field %s: not text", field);
	}
	if (g->external_id_field &&
	    (ext = cJSON_GetObjectItemCaseSensitive(obj, g->external_id_field)) &&
	    !cJSON_IsNull(ext) && !(cJSON_IsString(ext) && !*ext->valuestring) &&
	    value_i64(ext, &out->external_id)) {
		map_cg_request_clear(out);
		return err_set(e, ERR_PERM,
		               "Cartegraph request %" PRId64 ": field %s: not an SCF id", out->oid,
		               g->external_id_field);
	}
	out->closed = cfg_is_closed_value(c, out->status);
	if (!(raw = cJSON_PrintUnformatted(obj))) {
		map_cg_request_clear(out);
		return oom(e);
	}
	{
		struct buf b = BUF_INIT_CAP(MAP_JSON_MAX * 3);
		enum err_status st = text_utf8_repair(raw, strlen(raw), &b);
		free(raw);
		if (st != ERR_OK || !(out->source_json = buf_detach(&b, NULL))) {
			buf_release(&b);
			map_cg_request_clear(out);
			return oom(e);
		}
	}
	return ERR_OK;
}

enum err_status map_cg_request(const struct cfg *c, const char *json, size_t len,
                               struct map_cg_request *out, struct err *e)
{
	cJSON *obj;
	enum err_status st;

	memset(out, 0, sizeof(*out));
	if (len > MAP_JSON_MAX)
		return err_set(e, ERR_PERM, "Cartegraph request: JSON too large");
	if (!(obj = cJSON_ParseWithLength(json, len)))
		return err_set(e, ERR_PERM, "Cartegraph request: not valid JSON");
	st = map_cg_request_cjson(c, obj, out, e);
	cJSON_Delete(obj);
	return st;
}

enum err_status map_cg_created(const struct cfg *c, const char *json, size_t len,
                               struct map_cg_request *out, struct err *e)
{
	cJSON *obj, *arr;
	enum err_status st;

	memset(out, 0, sizeof(*out));
	if (len > MAP_JSON_MAX)
		return err_set(e, ERR_PERM, "Cartegraph response: JSON too large");
	if (!(obj = cJSON_ParseWithLength(json, len)))
		return err_set(e, ERR_PERM, "Cartegraph response: not valid JSON");
	arr = cJSON_GetObjectItemCaseSensitive(obj, c->cg.request_class);
	if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) < 1)
		st = err_set(e, ERR_PERM, "Cartegraph response: no %s array with a row",
		             c->cg.request_class);
	else
		st = map_cg_request_cjson(c, cJSON_GetArrayItem(arr, 0), out, e);
	cJSON_Delete(obj);
	return st;
}

/* ---- ack and close records ----------------------------------------------- */

static enum err_status fill_common(const struct map_cg_request *rq,
                                   const struct cfg_request_type *rt, const char *when, char **id,
                                   char **title, char **at, struct err *e)
{
	char oidtxt[24];

	if (!when || !text_time_ok(when))
		return err_set(e, ERR_PERM,
		               "Cartegraph request %" PRId64 ": no usable time for the record",
		               rq->oid);
	snprintf(oidtxt, sizeof(oidtxt), "%" PRId64, rq->oid);
	*id = strdup(rq->request_id && *rq->request_id ? rq->request_id : oidtxt);
	*at = strdup(when);
	*title = rt && rt->title && *rt->title ? strdup(rt->title) : NULL;
	if (!*id || !*at || (rt && rt->title && *rt->title && !*title))
		return oom(e);
	return ERR_OK;
}

enum err_status map_ack_record(int64_t issue_id, const struct map_cg_request *rq,
                               const struct cfg_request_type *rt, const char *accepted_at,
                               struct record **out, struct err *e)
{
	struct record *rec = record_new(RECORD_ACK);
	struct record_ack *a;
	enum err_status st;

	*out = NULL;
	if (!rec)
		return oom(e);
	a = &rec->u.ack;
	a->issue_id = issue_id;
	a->oid = rq->oid;
	a->request_type_id = rt ? rt->scf_id : 0;
	st = fill_common(rq, rt, accepted_at, &a->request_id, &a->request_type_title,
	                 &a->accepted_at, e);
	if (st == ERR_OK && asprintf(&rec->key, "ack/%" PRId64, issue_id) < 0) {
		rec->key = NULL;
		st = oom(e);
	}
	if (st != ERR_OK) {
		record_free(rec);
		return st;
	}
	*out = rec;
	return ERR_OK;
}

enum err_status map_close_record(int64_t issue_id, const struct map_cg_request *rq,
                                 const struct cfg_request_type *rt, const char *closed_at,
                                 struct record **out, struct err *e)
{
	struct record *rec = record_new(RECORD_CLOSE);
	struct record_close *cl;
	enum err_status st;

	*out = NULL;
	if (!rec)
		return oom(e);
	cl = &rec->u.close;
	cl->issue_id = issue_id;
	cl->oid = rq->oid;
	cl->request_type_id = rt ? rt->scf_id : 0;
	st = fill_common(rq, rt, closed_at ? closed_at : rq->last_modified, &cl->request_id,
	                 &cl->request_type_title, &cl->closed_at, e);
	if (st == ERR_OK && (!(cl->oms_status = strdup(rq->status ? rq->status : "")) ||
	                     (rq->source_json && !(cl->source_json = strdup(rq->source_json)))))
		st = oom(e);
	if (st == ERR_OK && asprintf(&rec->key, "close/%" PRId64, issue_id) < 0) {
		rec->key = NULL;
		st = oom(e);
	}
	if (st != ERR_OK) {
		record_free(rec);
		return st;
	}
	*out = rec;
	return ERR_OK;
}
