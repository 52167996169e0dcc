/*
 * scf_state.c: the SCF half's persistent memory (watermark, sequence
 * covered, seen keys), see scf.h.  A sorted array keeps lookups
 * logarithmic and the saved file sorted, so two saves of the same state
 * are byte-identical.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "gen.h"
#include "num.h"
#include "scf.h"
#include "spool.h"
#include "when.h"

#define STATE_MAGIC  "scfgate-scf-state 1"
#define STATE_PREFIX "state."
#define STATE_VAL    20
#define STATE_MAX    ((size_t)512 * 1024 * 1024)

struct scf_entry {
	char *key;
	char val[STATE_VAL];
};

struct scf_state {
	char dir[SPOOL_PATH_MAX];
	char tmp[SPOOL_PATH_MAX];
	uint64_t gen;
	int64_t watermark;
	uint64_t seq;
	int64_t last_ok;  /* wall clock of the last successful SCF call; 0 unknown */
	int64_t alert_at; /* a fatal stop; 0 none */
	char alert[SCF_ALERT_MAX];
	struct scf_entry *v;
	size_t n, alloc;
};

static int mkdir_p(const char *path)
{
	char p[SPOOL_PATH_MAX];
	size_t len = strlen(path);

	if (len >= sizeof(p))
		return -1;
	memcpy(p, path, len + 1);
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0750) != 0 && errno != EEXIST)
			return -1;
		*s = '/';
	}
	if (mkdir(p, 0750) != 0 && errno != EEXIST)
		return -1;
	return 0;
}

/* Index of key, or -(insertion point) - 1. */
static long find(const struct scf_state *s, const char *key)
{
	size_t lo = 0, hi = s->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(s->v[mid].key, key);

		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

const char *scf_state_get(const struct scf_state *s, const char *key)
{
	long i = find(s, key);

	return i >= 0 ? s->v[i].val : NULL;
}

enum err_status scf_state_put(struct scf_state *s, const char *key, const char *val)
{
	long i = find(s, key);
	size_t at;
	char *k;

	if (i >= 0) {
		snprintf(s->v[i].val, STATE_VAL, "%s", val);
		return ERR_OK;
	}
	at = (size_t)(-i - 1);
	if (s->n == s->alloc) {
		size_t na = s->alloc ? s->alloc * 2 : 256;
		struct scf_entry *nv = realloc(s->v, na * sizeof(*nv));

		if (!nv)
			return ERR_TEMP;
		s->v = nv;
		s->alloc = na;
	}
	if (!(k = strdup(key)))
		return ERR_TEMP;
	memmove(s->v + at + 1, s->v + at, (s->n - at) * sizeof(*s->v));
	s->v[at].key = k;
	snprintf(s->v[at].val, STATE_VAL, "%s", val);
	s->n++;
	return ERR_OK;
}

static void drop_prefix(struct scf_state *s, const char *prefix)
{
	size_t plen = strlen(prefix), lo, hi;
	long i = find(s, prefix);

	lo = i >= 0 ? (size_t)i : (size_t)(-i - 1);
	for (hi = lo; hi < s->n && strncmp(s->v[hi].key, prefix, plen) == 0; hi++)
		free(s->v[hi].key);
	/* An empty state has no array at all: memmove on NULL is undefined
	 * even for zero bytes. */
	if (hi == lo)
		return;
	memmove(s->v + lo, s->v + hi, (s->n - hi) * sizeof(*s->v));
	s->n -= hi - lo;
}

void scf_state_del(struct scf_state *s, const char *key)
{
	long i = find(s, key);

	if (i < 0)
		return;
	free(s->v[i].key);
	memmove(s->v + i, s->v + i + 1, (s->n - (size_t)i - 1) * sizeof(*s->v));
	s->n--;
}

size_t scf_state_lower_bound(const struct scf_state *s, const char *prefix)
{
	long i = find(s, prefix);

	return i >= 0 ? (size_t)i : (size_t)(-i - 1);
}

const char *scf_state_key_at(const struct scf_state *s, size_t i)
{
	return i < s->n ? s->v[i].key : NULL;
}

size_t scf_state_count_prefix(const struct scf_state *s, const char *prefix, const char *val)
{
	size_t plen = strlen(prefix), n = 0;

	for (size_t i = scf_state_lower_bound(s, prefix);
	     i < s->n && strncmp(s->v[i].key, prefix, plen) == 0; i++)
		n += !val || strcmp(s->v[i].val, val) == 0;
	return n;
}

void scf_state_forget_issue(struct scf_state *s, int64_t issue_id)
{
	char p[64];

	snprintf(p, sizeof(p), "comment/%" PRId64 "/", issue_id);
	drop_prefix(s, p);
	snprintf(p, sizeof(p), "attachment/%" PRId64 "/", issue_id);
	drop_prefix(s, p);
	/* Nothing of a closed issue is fetched again: what we posted on it and
	 * the transitions it offered are no longer needed. */
	snprintf(p, sizeof(p), "posted/%" PRId64 "/", issue_id);
	drop_prefix(s, p);
	snprintf(p, sizeof(p), "transitions/%" PRId64, issue_id);
	scf_state_del(s, p);
}

size_t scf_state_count(const struct scf_state *s)
{
	return s->n;
}

int64_t scf_state_watermark(const struct scf_state *s)
{
	return s->watermark;
}

void scf_state_set_watermark(struct scf_state *s, int64_t t)
{
	s->watermark = t;
}

uint64_t scf_state_seq(const struct scf_state *s)
{
	return s->seq;
}

void scf_state_set_seq(struct scf_state *s, uint64_t seq)
{
	s->seq = seq;
}

int64_t scf_state_last_ok(const struct scf_state *s)
{
	return s->last_ok;
}

void scf_state_set_last_ok(struct scf_state *s, int64_t t)
{
	s->last_ok = t;
}

const char *scf_state_alert(const struct scf_state *s, int64_t *at)
{
	if (at)
		*at = s->alert_at;
	return s->alert_at ? s->alert : NULL;
}

void scf_state_set_alert(struct scf_state *s, int64_t at, const char *reason)
{
	const char *in = reason ? reason : "";
	size_t len = strlen(in), size = sizeof(s->alert), head = size / 3, k = 0;

	s->alert_at = at > 0 ? at : 0;
	s->alert[0] = '\0';
	if (!s->alert_at)
		return;
	/* One line in the file: no newline may survive, and it must not be
	 * empty.  A long reason keeps its start and its end (the HTTP status
	 * and the server's words come after a long URL). */
	for (size_t i = 0; i < len && k + 1 < size; i++) {
		if (len >= size && i == head) {
			k += (size_t)snprintf(s->alert + k, size - k, " ... ");
			i = len - (size - 1 - k);
		}
		s->alert[k++] = (in[i] == '\n' || in[i] == '\r') ? ' ' : in[i];
	}
	s->alert[k] = '\0';
	if (!k)
		snprintf(s->alert, sizeof(s->alert), "(no reason given)");
}

void scf_state_free(struct scf_state *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].key);
	free(s->v);
	free(s);
}

/* Parse one generation; ERR_PERM if incomplete or malformed. */
static enum err_status parse(struct scf_state *s, char *text, const char *path, struct err *e)
{
	char *save = NULL, *line;
	unsigned lineno = 0;
	uint64_t want = UINT64_MAX;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char key[1024], val[STATE_VAL];
		const char *end;

		lineno++;
		if (lineno == 1) {
			if (strcmp(line, STATE_MAGIC) != 0)
				return err_set(e, ERR_PERM, "%s:1: not a state file", path);
		} else if (num_line_i64(line, "watermark ", &s->watermark) == 0 ||
		           num_line_u64(line, "seq ", &s->seq) == 0 ||
		           num_line_i64(line, "last_ok ", &s->last_ok) == 0) {
			/* a scalar: read into its place by the test itself */
		} else if (num_i64(num_after(line, "alert "), &end, &s->alert_at) == 0 &&
		           *end == ' ' && s->alert_at > 0 && end[1]) {
			snprintf(s->alert, sizeof(s->alert), "%s", end + 1);
		} else if (sscanf(line, "k %1023s %19s", key, val) == 2) {
			/* The file is sorted; appending keeps this O(n). */
			if (s->n && strcmp(s->v[s->n - 1].key, key) >= 0)
				return err_set(e, ERR_PERM, "%s:%u: keys out of order", path,
				               lineno);
			if (scf_state_put(s, key, val) != ERR_OK)
				return err_set(e, ERR_TEMP, "%s: out of memory", path);
		} else if (num_line_u64(line, "end ", &want) == 0) {
			break;
		} else {
			return err_set(e, ERR_PERM, "%s:%u: bad line", path, lineno);
		}
	}
	if (want == UINT64_MAX || want != s->n)
		return err_set(e, ERR_PERM, "%s: incomplete (no matching end line)", path);
	return ERR_OK;
}

enum err_status scf_state_parse(const char *text, size_t len, struct scf_state **out, struct err *e)
{
	struct scf_state *s = calloc(1, sizeof(*s));
	char *copy = malloc(len + 1);
	enum err_status st;

	*out = NULL;
	if (!s || !copy) {
		free(s);
		free(copy);
		return err_set(e, ERR_TEMP, "out of memory");
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	st = parse(s, copy, "<memory>", e);
	free(copy);
	if (st != ERR_OK) {
		scf_state_free(s);
		return st;
	}
	*out = s;
	return ERR_OK;
}

static void clear_entries(struct scf_state *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].key);
	s->n = 0;
	s->watermark = 0;
	s->seq = 0;
	s->last_ok = 0;
	s->alert_at = 0;
	s->alert[0] = '\0';
}

enum err_status scf_state_load(const char *dir, struct scf_state **out, struct err *e)
{
	struct scf_state *s = calloc(1, sizeof(*s));
	uint64_t gens[64];
	size_t ng;
	enum err_status st = ERR_OK;
	struct err first;

	*out = NULL;
	err_clear(&first);
	if (!s)
		return err_set(e, ERR_TEMP, "out of memory");
	if (snprintf(s->dir, sizeof(s->dir), "%s", dir) >= (int)sizeof(s->dir) ||
	    snprintf(s->tmp, sizeof(s->tmp), "%s/tmp", dir) >= (int)sizeof(s->tmp)) {
		st = err_set(e, ERR_FATAL, "%s: path too long", dir);
		goto out;
	}
	if (mkdir_p(s->tmp) != 0) {
		st = err_errno(e, ERR_FATAL, errno, "%s: cannot create", s->tmp);
		goto out;
	}
	ng = gen_list(dir, STATE_PREFIX, gens, sizeof(gens) / sizeof(gens[0]));
	for (size_t i = 0; i < ng; i++) {
		char path[SPOOL_PATH_MAX];
		struct buf b;
		struct err pe;
		char empty[1] = ""; /* parse writes into its text */

		buf_init(&b, STATE_MAX);
		if (snprintf(path, sizeof(path), "%s/" STATE_PREFIX "%020" PRIu64, dir, gens[i]) >=
		    (int)sizeof(path))
			continue;
		/* Read like anything in the spool root: a link is not followed,
		 * a FIFO never opened. */
		st = spool_read_untrusted(path, STATE_MAX, &b, NULL, &pe);
		if (st == ERR_OK)
			st = parse(s, b.data ? b.data : empty, path, &pe);
		buf_release(&b);
		if (st == ERR_OK) {
			s->gen = gens[i];
			goto out;
		}
		/* A torn newest generation cannot exist (rename is atomic), but
		 * a damaged disk can: fall back to the previous one and say so. */
		if (first.msg[0] == '\0')
			first = pe;
		clear_entries(s);
	}
	st = ERR_OK;
	if (first.msg[0]) {
		st = err_set(e, ERR_FATAL, "state: no usable generation: %s", first.msg);
		goto out;
	}
out:
	if (st != ERR_OK) {
		scf_state_free(s);
		return st;
	}
	*out = s;
	return ERR_OK;
}

enum err_status scf_state_save(struct scf_state *s, struct err *e)
{
	struct buf b;
	char name[64];
	enum err_status st;
	uint64_t gens[64];
	size_t ng;

	if (!s->dir[0])
		return err_set(e, ERR_PERM, "state: parsed from memory, nowhere to save");
	buf_init(&b, STATE_MAX);
	st = buf_addf(&b, STATE_MAGIC "\nwatermark %" PRId64 "\nseq %" PRIu64 "\n", s->watermark,
	              s->seq);
	if (st == ERR_OK && s->last_ok)
		st = buf_addf(&b, "last_ok %" PRId64 "\n", s->last_ok);
	if (st == ERR_OK && s->alert_at)
		st = buf_addf(&b, "alert %" PRId64 " %s\n", s->alert_at, s->alert);
	for (size_t i = 0; st == ERR_OK && i < s->n; i++)
		st = buf_addf(&b, "k %s %s\n", s->v[i].key, s->v[i].val);
	if (st == ERR_OK)
		st = buf_addf(&b, "end %zu\n", s->n);
	if (st != ERR_OK) {
		buf_release(&b);
		return err_set(e, st, "state: cannot build the file (%zu keys)", s->n);
	}
	snprintf(name, sizeof(name), STATE_PREFIX "%020" PRIu64, s->gen + 1);
	/* A leftover of a crashed save under the same name would block the
	 * no-replace rename; it was never the newest complete generation. */
	{
		char path[SPOOL_PATH_MAX];

		if (snprintf(path, sizeof(path), "%s/%s", s->dir, name) < (int)sizeof(path))
			unlink(path);
	}
	st = spool_write_atomic(s->tmp, s->dir, name, b.data, b.len, 1, e);
	buf_release(&b);
	if (st != ERR_OK)
		return err_prefix(e, "state: ");
	s->gen++;
	ng = gen_list(s->dir, STATE_PREFIX, gens, sizeof(gens) / sizeof(gens[0]));
	for (size_t i = 0; i < ng; i++) {
		char path[SPOOL_PATH_MAX];

		if (gens[i] >= s->gen)
			continue;
		if (snprintf(path, sizeof(path), "%s/" STATE_PREFIX "%020" PRIu64, s->dir,
		             gens[i]) < (int)sizeof(path))
			unlink(path);
	}
	return ERR_OK;
}

/* ---- time ------------------------------------------------------------------ */

int64_t scf_time_parse(const char *s)
{
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	struct tm tm;
	const char *p;

	/* Fixed-width digits: sscanf("%2d") also took " 1", "+1" and "-1", and
	 * a negative hour, minute or second passed the range checks below. */
	if (!s || num_digits(s, 4, &y) != 0 || s[4] != '-' || num_digits(s + 5, 2, &mo) != 0 ||
	    s[7] != '-' || num_digits(s + 8, 2, &d) != 0 || s[10] != 'T' ||
	    num_digits(s + 11, 2, &h) != 0 || s[13] != ':' || num_digits(s + 14, 2, &mi) != 0 ||
	    s[16] != ':' || num_digits(s + 17, 2, &sec) != 0)
		return -1;
	p = s + 19;
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	if (*p == 'Z' && p[1] == '\0') {
		sign = 0;
	} else if ((*p == '+' || *p == '-') && num_digits(p + 1, 2, &oh) == 0 && p[3] == ':' &&
	           num_digits(p + 4, 2, &om) == 0 && p[6] == '\0') {
		sign = *p == '+' ? 1 : -1;
	} else {
		return -1;
	}
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || oh > 23 ||
	    om > 59)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return (int64_t)timegm(&tm) - sign * (int64_t)(oh * 3600 + om * 60);
}

int64_t scf_http_date_parse(const char *s)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char mon[4];
	int d, y, h, mi, sec;
	const char *m;
	struct tm tm;

	/* IMF-fixdate only (RFC 9110 5.6.7): what every current server sends,
	 * each field at its place in "Sun, 06 Nov 1994 08:49:37 GMT".  Its
	 * digits are read as digits: sscanf("%2d") also took "-1". */
	if (!s || strlen(s) != 29 || s[3] != ',' || s[4] != ' ' || num_digits(s + 5, 2, &d) != 0 ||
	    s[7] != ' ' || s[11] != ' ' || num_digits(s + 12, 4, &y) != 0 || s[16] != ' ' ||
	    num_digits(s + 17, 2, &h) != 0 || s[19] != ':' || num_digits(s + 20, 2, &mi) != 0 ||
	    s[22] != ':' || num_digits(s + 23, 2, &sec) != 0 || s[25] != ' ' ||
	    strcmp(s + 26, "GMT") != 0)
		return -1;
	memcpy(mon, s + 8, 3);
	mon[3] = '\0';
	if (!(m = strstr(months, mon)) || (m - months) % 3 != 0 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60 || y < 1970)
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = (int)((m - months) / 3);
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return (int64_t)timegm(&tm);
}

void scf_time_format(int64_t t, char out[32])
{
	when_utc(t, out);
}
