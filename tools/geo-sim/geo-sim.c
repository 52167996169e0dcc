/*
 * geo-sim: a loopback stand-in for an ArcGIS geocode service
 * (GeocodeServer), for tests and the demo.  See docs/geocoding.md.
 *
 *   GET {prefix}/findAddressCandidates  SingleLine|Address, location, outSR,
 *                                       maxLocations, outFields, f, token
 *   GET {prefix}/reverseGeocode         location (x,y or a JSON point), f, token
 *   GET {prefix}                        the service description (f=json)
 *
 * Answers have ArcGIS's shapes (spatialReference, candidates with address,
 * location, score, attributes, extent; reverseGeocode's address object and
 * location), always in WGS84.  Errors use ArcGIS's body
 * {"error":{"code":..,"message":..,"details":[..]}} with HTTP 200.
 *
 * The "city" is a street grid laid over the whole earth, so every point
 * has a plausible, stable address: east-west "Nth Street"s and north-south
 * named "Avenue"s every 0.001 degree, house numbers every 0.0001 degree
 * along them.  reverseGeocode answers the nearest house (always within
 * about 60 m).  findAddressCandidates places the typed address at the
 * house nearest to the location parameter (score 100 with a house number,
 * 90 for a bare street), plus a weaker grid candidate (score 71).  Rules
 * (--rules FILE or POST /_admin/rules) change what a spot answers: a
 * lower score, a candidate moved away, nothing found, or an error.
 *
 * Faults (command line or POST /_admin/faults) apply to the operations,
 * never to /_admin/: latency (fixed + jitter), hangs, HTTP 500, the error
 * body, malformed and truncated JSON.  Which request gets a fault is
 * decided from (seed, request number), so a run is repeatable.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "num.h"

#define BLOCK_DEG 0.001  /* street spacing */
#define STEP_DEG  0.0001 /* house spacing along a street */
#define SETBACK_M 9.0    /* house point off the centre line */
#define M_PER_DEG 111195.0
#define BODY_MAX  ((size_t)64 * 1024)
#define MAX_RULES 256

struct faults {
	double error_rate, http_error_rate, hang_rate, malformed_rate, truncate_rate;
	long latency_ms, jitter_ms, hang_ms;
};

struct rule {
	double lat, lng, radius_m;
	double score; /* < 0: unchanged */
	double offset_m;
	int none;
	long error_code;
	long http_status; /* != 0: answer this status with an HTML page */
	char error_message[200];
	char address[200];
};

static struct {
	char prefix[256];
	char token[512];
	char city[64], region[64], region_abbr[8], postal[8];
	double center_lat, center_lng;
	uint64_t seed;
	int quiet;
	struct faults faults;
	struct rule rules[MAX_RULES];
	size_t n_rules;
	uint64_t requests, find, reverse, faulted, auth_failed;
	pthread_mutex_t lock;
} sim = {
    .prefix = "/arcgis/rest/services/Locators/City/GeocodeServer",
    /* scf-sim seeds its issues around New Haven: same city by default */
    .city = "New Haven",
    .region = "Connecticut",
    .region_abbr = "CT",
    .postal = "06510",
    .center_lat = 41.3083,
    .center_lng = -72.9279,
    .faults = {.hang_ms = 30000},
    .lock = PTHREAD_MUTEX_INITIALIZER,
};

static volatile sig_atomic_t stopping;

static const char *const avenues[] = {
    "Oak",    "Maple",    "Cedar",   "Elm",     "Walnut", "Pine",    "Chestnut",
    "Spruce", "Willow",   "Hickory", "Birch",   "Poplar", "Ash",     "Sycamore",
    "Linden", "Magnolia", "Laurel",  "Juniper", "Locust", "Cypress",
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: geo-sim [options]\n"
	    "A loopback ArcGIS GeocodeServer (findAddressCandidates, reverseGeocode).\n"
	    "  --port N             listen on 127.0.0.1:N (0: any free port; default 0)\n"
	    "  --prefix PATH        service path (default %s)\n"
	    "  --token T            require token=T (or X-Esri-Authorization: Bearer T)\n"
	    "  --center LAT,LNG     where findAddressCandidates looks without a location\n"
	    "  --city NAME --region NAME --region-abbr XX --postal NNNNN   address parts\n"
	    "  --rules FILE         JSON array of rules (see docs/geocoding.md)\n"
	    "  --seed N             fault decisions are a function of (seed, request number)\n"
	    "  --error-rate P       fraction answered with the error body (HTTP 200)\n"
	    "  --http-error-rate P  fraction answered HTTP 500\n"
	    "  --latency-ms N       added to every answer\n"
	    "  --jitter-ms N        plus random(0..N)\n"
	    "  --hang-rate P        fraction that hang (no answer) for --hang-ms (default 30000)\n"
	    "  --malformed-rate P   fraction answered with an HTML page instead of JSON\n"
	    "  --truncate-rate P    fraction answered with JSON cut in half\n"
	    "  --quiet              no log line per request\n"
	    "  --help               this text\n"
	    "Admin: GET|POST /_admin/faults, GET|POST|DELETE /_admin/rules, GET /_admin/stats.\n"
	    "Prints \"listening on 127.0.0.1:PORT\" once ready; SIGTERM stops it.\n",
	    sim.prefix);
}

/* ---- deterministic randomness ---- */

static uint64_t mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ull;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

/* A number in [0,1) for (request, purpose). */
static double chance(uint64_t req, unsigned purpose)
{
	return (double)(mix(sim.seed ^ mix(req * 16 + purpose)) >> 11) / 9007199254740992.0;
}

/* ---- the street grid ---- */

struct house {
	char street[96];
	long number;
	double lat, lng;
	char postal[8];
};

/* The index of the grid line nearest to v. */
static long snap_index(double v, double unit)
{
	return (long)floor(v / unit + 0.5);
}

static long pmod(long a, long m)
{
	long r = a % m;

	return r < 0 ? r + m : r;
}

static const char *ordinal_suffix(long n)
{
	if (n % 100 >= 11 && n % 100 <= 13)
		return "th";
	switch (n % 10) {
	case 1:
		return "st";
	case 2:
		return "nd";
	case 3:
		return "rd";
	}
	return "th";
}

static void nearest_house(double lat, double lng, struct house *h)
{
	double coslat = fmax(cos(lat * M_PI / 180.0), 0.01); /* no blow-up at the poles */
	long i = snap_index(lat, BLOCK_DEG), j = snap_index(lng, BLOCK_DEG);
	double to_street = fabs(lat - (double)i * BLOCK_DEG) * M_PER_DEG;
	double to_avenue = fabs(lng - (double)j * BLOCK_DEG) * M_PER_DEG * coslat;
	long k, block, sub;
	int side;

	if (to_street <= to_avenue) {
		long n = pmod(i, 60) + 1;

		snprintf(h->street, sizeof(h->street), "%ld%s Street", n, ordinal_suffix(n));
		k = snap_index(lng, STEP_DEG);
		side = lat >= (double)i * BLOCK_DEG;
		h->lat = (double)i * BLOCK_DEG + (side ? 1 : -1) * SETBACK_M / M_PER_DEG;
		h->lng = (double)k * STEP_DEG;
	} else {
		snprintf(h->street, sizeof(h->street), "%s Avenue",
		         avenues[pmod(j, (long)(sizeof(avenues) / sizeof(avenues[0])))]);
		k = snap_index(lat, STEP_DEG);
		side = lng >= (double)j * BLOCK_DEG;
		h->lat = (double)k * STEP_DEG;
		h->lng = (double)j * BLOCK_DEG + (side ? 1 : -1) * SETBACK_M / (M_PER_DEG * coslat);
	}
	block = pmod((long)floor((double)k / 10.0), 90) + 10;
	sub = pmod(k, 10);
	h->number = block * 100 + sub * 2 + (side ? 0 : 1);
	snprintf(h->postal, sizeof(h->postal), "%.3s%02ld", sim.postal,
	         pmod(strtol(sim.postal + 3, NULL, 10) + pmod(i / 20 + j / 20, 8), 100));
}

static double distance_m(double lat1, double lng1, double lat2, double lng2)
{
	const double rad = M_PI / 180.0;
	double dlat = (lat2 - lat1) * rad, dlng = (lng2 - lng1) * rad;
	double a = sin(dlat / 2) * sin(dlat / 2) +
	           cos(lat1 * rad) * cos(lat2 * rad) * sin(dlng / 2) * sin(dlng / 2);

	return 2 * 6371008.8 * asin(sqrt(a > 1 ? 1 : a));
}

static const struct rule *rule_at(double lat, double lng)
{
	for (size_t i = sim.n_rules; i-- > 0;) {
		const struct rule *r = &sim.rules[i];

		if (distance_m(lat, lng, r->lat, r->lng) <= r->radius_m)
			return r;
	}
	return NULL;
}

/* ---- JSON helpers ---- */

static cJSON *spatial_ref(void)
{
	cJSON *sr = cJSON_CreateObject();

	cJSON_AddNumberToObject(sr, "wkid", 4326);
	cJSON_AddNumberToObject(sr, "latestWkid", 4326);
	return sr;
}

static cJSON *point(double lat, double lng, int with_sr)
{
	cJSON *p = cJSON_CreateObject();

	cJSON_AddNumberToObject(p, "x", lng);
	cJSON_AddNumberToObject(p, "y", lat);
	if (with_sr)
		cJSON_AddItemToObject(p, "spatialReference", spatial_ref());
	return p;
}

static char *error_body(long code, const char *message, const char *detail)
{
	cJSON *root = cJSON_CreateObject(), *err = cJSON_AddObjectToObject(root, "error");
	cJSON *details = cJSON_CreateArray();
	char *s;

	cJSON_AddNumberToObject(err, "code", (double)code);
	cJSON_AddStringToObject(err, "message", message);
	if (detail)
		cJSON_AddItemToArray(details, cJSON_CreateString(detail));
	cJSON_AddItemToObject(err, "details", details);
	s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return s;
}

/* "x,y" or {"x":..,"y":..}; 0 on success. */
static int parse_location(const char *s, double *lat, double *lng)
{
	char *end;

	if (!s || !*s)
		return -1;
	if (*s == '{') {
		cJSON *p = cJSON_Parse(s);
		cJSON *x = cJSON_GetObjectItemCaseSensitive(p, "x");
		cJSON *y = cJSON_GetObjectItemCaseSensitive(p, "y");
		int ok = cJSON_IsNumber(x) && cJSON_IsNumber(y);

		if (ok)
			*lng = x->valuedouble, *lat = y->valuedouble;
		cJSON_Delete(p);
		return ok ? 0 : -1;
	}
	*lng = strtod(s, &end);
	if (end == s || *end != ',')
		return -1;
	s = end + 1;
	*lat = strtod(s, &end);
	return end == s || *end ? -1 : 0;
}

static int bad_point(double lat, double lng)
{
	return !isfinite(lat) || !isfinite(lng) || fabs(lat) > 90 || fabs(lng) > 180;
}

/* ---- the two operations ---- */

static void full_address(char *out, size_t size, const char *line, const char *postal, int longl)
{
	if (longl)
		snprintf(out, size, "%s, %s, %s, %s, USA", line, sim.city, sim.region_abbr, postal);
	else
		snprintf(out, size, "%s, %s, %s, %s", line, sim.city, sim.region, postal);
}

static void move_north(double *lat, double metres)
{
	*lat += metres / M_PER_DEG;
	if (*lat > 90)
		*lat = 90;
}

static char *reverse_answer(double lat, double lng)
{
	const struct rule *r = rule_at(lat, lng);
	struct house h;
	char line[256], match[400], longl[400], num[24];
	cJSON *root, *addr;
	char *s;

	if (r && r->error_code)
		return error_body(r->error_code, r->error_message, NULL);
	if (r && r->none)
		return error_body(400, "Cannot perform query. Invalid query parameters.",
		                  "Unable to find address for the specified location.");
	nearest_house(lat, lng, &h);
	if (r)
		move_north(&h.lat, r->offset_m);
	snprintf(num, sizeof(num), "%ld", h.number);
	if (r && r->address[0])
		snprintf(line, sizeof(line), "%s", r->address);
	else
		snprintf(line, sizeof(line), "%s %s", num, h.street);
	full_address(match, sizeof(match), line, h.postal, 0);
	full_address(longl, sizeof(longl), line, h.postal, 1);
	root = cJSON_CreateObject();
	addr = cJSON_AddObjectToObject(root, "address");
	cJSON_AddStringToObject(addr, "Match_addr", match);
	cJSON_AddStringToObject(addr, "LongLabel", longl);
	cJSON_AddStringToObject(addr, "ShortLabel", line);
	cJSON_AddStringToObject(addr, "Addr_type", "PointAddress");
	cJSON_AddStringToObject(addr, "Type", "");
	cJSON_AddStringToObject(addr, "PlaceName", "");
	cJSON_AddStringToObject(addr, "AddNum", num);
	cJSON_AddStringToObject(addr, "Address", line);
	cJSON_AddStringToObject(addr, "Block", "");
	cJSON_AddStringToObject(addr, "Sector", "");
	cJSON_AddStringToObject(addr, "Neighborhood", "");
	cJSON_AddStringToObject(addr, "District", "");
	cJSON_AddStringToObject(addr, "City", sim.city);
	cJSON_AddStringToObject(addr, "MetroArea", "");
	cJSON_AddStringToObject(addr, "Subregion", "");
	cJSON_AddStringToObject(addr, "Region", sim.region);
	cJSON_AddStringToObject(addr, "RegionAbbr", sim.region_abbr);
	cJSON_AddStringToObject(addr, "Territory", "");
	cJSON_AddStringToObject(addr, "Postal", h.postal);
	cJSON_AddStringToObject(addr, "PostalExt", "");
	cJSON_AddStringToObject(addr, "CntryName", "United States");
	cJSON_AddStringToObject(addr, "CountryCode", "USA");
	cJSON_AddItemToObject(root, "location", point(h.lat, h.lng, 1));
	s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return s;
}

static const char *expand_word(const char *w)
{
	static const char *const abbr[][2] = {
	    {"st", "Street"},      {"ave", "Avenue"},  {"av", "Avenue"}, {"rd", "Road"},
	    {"blvd", "Boulevard"}, {"dr", "Drive"},    {"ln", "Lane"},   {"ct", "Court"},
	    {"pl", "Place"},       {"hwy", "Highway"}, {"n", "North"},   {"s", "South"},
	    {"e", "East"},         {"w", "West"},
	};
	char low[16];
	size_t n = strlen(w);

	if (n == 0 || n >= sizeof(low))
		return NULL;
	for (size_t i = 0; i <= n; i++)
		low[i] = (char)((w[i] >= 'A' && w[i] <= 'Z') ? w[i] + 32 : w[i]);
	if (low[n - 1] == '.')
		low[n - 1] = '\0';
	for (size_t i = 0; i < sizeof(abbr) / sizeof(abbr[0]); i++)
		if (strcmp(low, abbr[i][0]) == 0)
			return abbr[i][1];
	return NULL;
}

/* "165 Church Street New Haven" (no comma before the city): drop the city. */
static void drop_city(char *line)
{
	size_t n = strlen(line), c = strlen(sim.city);

	if (c && n > c + 1 && line[n - c - 1] == ' ' && strcasecmp(line + n - c, sim.city) == 0)
		line[n - c - 1] = '\0';
}

/* The street line of a typed address, tidied the way a locator echoes it:
 * up to the first comma, words title-cased, common abbreviations spelled
 * out.  Returns 1 if it starts with a house number. */
static int tidy_line(const char *in, char *out, size_t size)
{
	char buf[256], *save = NULL, *w;
	size_t o = 0;
	int numbered = 0, first = 1;

	snprintf(buf, sizeof(buf), "%.*s", (int)strcspn(in, ","), in);
	for (w = strtok_r(buf, " \t", &save); w; w = strtok_r(NULL, " \t", &save)) {
		const char *full = first ? NULL : expand_word(w);
		char word[96];
		int n;

		if (first && w[0] >= '0' && w[0] <= '9')
			numbered = 1;
		snprintf(word, sizeof(word), "%s", full ? full : w);
		if (!full && word[0] >= 'a' && word[0] <= 'z')
			word[0] = (char)(word[0] - 32);
		n = snprintf(out + o, size - o, "%s%s", o ? " " : "", word);
		if (n < 0 || (size_t)n >= size - o)
			break;
		o += (size_t)n;
		first = 0;
	}
	out[o] = '\0';
	drop_city(out);
	return numbered;
}

static cJSON *candidate(const char *line, const char *postal, double lat, double lng, double score,
                        const char *type)
{
	cJSON *c = cJSON_CreateObject(), *attr, *ext;
	char match[400];

	full_address(match, sizeof(match), line, postal, 0);
	cJSON_AddStringToObject(c, "address", match);
	cJSON_AddItemToObject(c, "location", point(lat, lng, 0));
	cJSON_AddNumberToObject(c, "score", score);
	attr = cJSON_AddObjectToObject(c, "attributes");
	cJSON_AddStringToObject(attr, "Match_addr", match);
	cJSON_AddStringToObject(attr, "Addr_type", type);
	ext = cJSON_AddObjectToObject(c, "extent");
	cJSON_AddNumberToObject(ext, "xmin", lng - 0.0005);
	cJSON_AddNumberToObject(ext, "ymin", lat - 0.0005);
	cJSON_AddNumberToObject(ext, "xmax", lng + 0.0005);
	cJSON_AddNumberToObject(ext, "ymax", lat + 0.0005);
	return c;
}

static char *find_answer(const char *text, double lat, double lng, long max_locations)
{
	const struct rule *r = rule_at(lat, lng);
	cJSON *root, *cands;
	struct house h;
	char line[256], grid[160];
	double score;
	int numbered;
	char *s;

	if (r && r->error_code)
		return error_body(r->error_code, r->error_message, NULL);
	root = cJSON_CreateObject();
	cJSON_AddItemToObject(root, "spatialReference", spatial_ref());
	cands = cJSON_AddArrayToObject(root, "candidates");
	numbered = text ? tidy_line(text, line, sizeof(line)) : 0;
	if (!text || !line[0] || (r && r->none) || max_locations < 1)
		goto done;
	nearest_house(lat, lng, &h);
	score = numbered ? 100 : 90;
	if (r && r->score >= 0)
		score = r->score;
	if (r && r->address[0])
		snprintf(line, sizeof(line), "%s", r->address);
	{
		double clat = h.lat;

		if (r)
			move_north(&clat, r->offset_m);
		cJSON_AddItemToArray(cands, candidate(line, h.postal, clat, h.lng, score,
		                                      numbered ? "PointAddress" : "StreetName"));
	}
	snprintf(grid, sizeof(grid), "%ld %s", h.number, h.street);
	if (!r && max_locations > 1 && strcasecmp(grid, line) != 0)
		cJSON_AddItemToArray(cands,
		                     candidate(grid, h.postal, h.lat, h.lng, 71, "PointAddress"));
done:
	s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return s;
}

static char *service_info(void)
{
	cJSON *root = cJSON_CreateObject();
	char *s;

	cJSON_AddNumberToObject(root, "currentVersion", 11.3);
	cJSON_AddStringToObject(root, "serviceDescription", "geo-sim street grid locator");
	cJSON_AddItemToObject(root, "spatialReference", spatial_ref());
	cJSON_AddStringToObject(root, "capabilities", "Geocode,ReverseGeocode");
	s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return s;
}

/* ---- rules and faults as JSON ---- */

static double num_or(const cJSON *o, const char *k, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static int add_rule(const cJSON *o)
{
	struct rule *r;
	const cJSON *v;

	if (!cJSON_IsObject(o) || sim.n_rules == MAX_RULES)
		return -1;
	r = &sim.rules[sim.n_rules];
	memset(r, 0, sizeof(*r));
	r->lat = num_or(o, "lat", NAN);
	r->lng = num_or(o, "lng", NAN);
	if (bad_point(r->lat, r->lng))
		return -1;
	r->radius_m = num_or(o, "radius_m", 25);
	r->score = num_or(o, "score", -1);
	r->offset_m = num_or(o, "offset_m", 0);
	r->none = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "none"));
	r->error_code = (long)num_or(o, "error_code", 0);
	r->http_status = (long)num_or(o, "http_status", 0);
	if (r->http_status && (r->http_status < 100 || r->http_status > 599))
		return -1;
	v = cJSON_GetObjectItemCaseSensitive(o, "error_message");
	snprintf(r->error_message, sizeof(r->error_message), "%s",
	         cJSON_IsString(v) ? v->valuestring : "Unable to complete operation.");
	v = cJSON_GetObjectItemCaseSensitive(o, "address");
	if (cJSON_IsString(v))
		snprintf(r->address, sizeof(r->address), "%s", v->valuestring);
	sim.n_rules++;
	return 0;
}

/* An object or an array of objects; 0 if all were taken. */
static int add_rules(const cJSON *j)
{
	const cJSON *o;

	if (cJSON_IsObject(j))
		return add_rule(j);
	if (!cJSON_IsArray(j))
		return -1;
	cJSON_ArrayForEach(o, j)
	{
		if (add_rule(o))
			return -1;
	}
	return 0;
}

static char *rules_json(void)
{
	cJSON *a = cJSON_CreateArray();
	char *s;

	for (size_t i = 0; i < sim.n_rules; i++) {
		const struct rule *r = &sim.rules[i];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddNumberToObject(o, "lat", r->lat);
		cJSON_AddNumberToObject(o, "lng", r->lng);
		cJSON_AddNumberToObject(o, "radius_m", r->radius_m);
		if (r->score >= 0)
			cJSON_AddNumberToObject(o, "score", r->score);
		if (r->offset_m)
			cJSON_AddNumberToObject(o, "offset_m", r->offset_m);
		if (r->none)
			cJSON_AddTrueToObject(o, "none");
		if (r->http_status)
			cJSON_AddNumberToObject(o, "http_status", (double)r->http_status);
		if (r->error_code) {
			cJSON_AddNumberToObject(o, "error_code", (double)r->error_code);
			cJSON_AddStringToObject(o, "error_message", r->error_message);
		}
		if (r->address[0])
			cJSON_AddStringToObject(o, "address", r->address);
		cJSON_AddItemToArray(a, o);
	}
	s = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	return s;
}

static int set_faults(const cJSON *o, struct faults *f)
{
	struct faults n = *f;

	if (!cJSON_IsObject(o))
		return -1;
	n.error_rate = num_or(o, "error_rate", n.error_rate);
	n.http_error_rate = num_or(o, "http_error_rate", n.http_error_rate);
	n.hang_rate = num_or(o, "hang_rate", n.hang_rate);
	n.malformed_rate = num_or(o, "malformed_rate", n.malformed_rate);
	n.truncate_rate = num_or(o, "truncate_rate", n.truncate_rate);
	n.latency_ms = (long)num_or(o, "latency_ms", (double)n.latency_ms);
	n.jitter_ms = (long)num_or(o, "jitter_ms", (double)n.jitter_ms);
	n.hang_ms = (long)num_or(o, "hang_ms", (double)n.hang_ms);
	if (n.latency_ms < 0 || n.jitter_ms < 0 || n.hang_ms < 0)
		return -1;
	*f = n;
	return 0;
}

static char *faults_json(const struct faults *f)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

	cJSON_AddNumberToObject(o, "error_rate", f->error_rate);
	cJSON_AddNumberToObject(o, "http_error_rate", f->http_error_rate);
	cJSON_AddNumberToObject(o, "hang_rate", f->hang_rate);
	cJSON_AddNumberToObject(o, "malformed_rate", f->malformed_rate);
	cJSON_AddNumberToObject(o, "truncate_rate", f->truncate_rate);
	cJSON_AddNumberToObject(o, "latency_ms", (double)f->latency_ms);
	cJSON_AddNumberToObject(o, "jitter_ms", (double)f->jitter_ms);
	cJSON_AddNumberToObject(o, "hang_ms", (double)f->hang_ms);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

static char *stats_json(void)
{
	cJSON *o = cJSON_CreateObject();
	char *s;

	cJSON_AddNumberToObject(o, "requests", (double)sim.requests);
	cJSON_AddNumberToObject(o, "findAddressCandidates", (double)sim.find);
	cJSON_AddNumberToObject(o, "reverseGeocode", (double)sim.reverse);
	cJSON_AddNumberToObject(o, "faulted", (double)sim.faulted);
	cJSON_AddNumberToObject(o, "auth_failed", (double)sim.auth_failed);
	cJSON_AddNumberToObject(o, "rules", (double)sim.n_rules);
	s = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return s;
}

/* ---- HTTP ---- */

struct upload {
	char *data;
	size_t len;
	int too_big;
};

struct answer {
	int status;
	char *body;
	const char *type;
	const char *fault;
};

static const char *arg(struct MHD_Connection *c, const char *k)
{
	return MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, k);
}

static void sleep_ms(long ms)
{
	/* In slices, so SIGTERM is not held up by a hanging answer. */
	while (ms > 0 && !stopping) {
		long slice = ms < 50 ? ms : 50;
		struct timespec ts = {0, slice * 1000000L};

		nanosleep(&ts, NULL);
		ms -= slice;
	}
}

static int token_ok(struct MHD_Connection *c, struct answer *a)
{
	const char *t = arg(c, "token");
	const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Esri-Authorization");

	if (!sim.token[0])
		return 1;
	if (!t && h && strncasecmp(h, "Bearer ", 7) == 0)
		t = h + 7;
	if (t && strcmp(t, sim.token) == 0)
		return 1;
	a->status = 200;
	a->body = t && *t ? error_body(498, "Invalid Token", NULL)
	                  : error_body(499, "Token Required", NULL);
	sim.auth_failed++;
	return 0;
}

static void operation(struct MHD_Connection *c, const char *op, struct answer *a)
{
	const char *f = arg(c, "f");
	const char *out_sr = arg(c, "outSR");
	double lat = sim.center_lat, lng = sim.center_lng;
	const char *loc = arg(c, "location");

	a->status = 200;
	if (!token_ok(c, a))
		return;
	if (!*op) {
		a->body = service_info();
		return;
	}
	if (!f || (strcmp(f, "json") != 0 && strcmp(f, "pjson") != 0)) {
		a->body = error_body(400, "Invalid or missing input parameters.", "f");
		return;
	}
	if (out_sr && strcmp(out_sr, "4326") != 0 && !strstr(out_sr, "4326")) {
		a->body = error_body(400, "Invalid or missing input parameters.",
		                     "geo-sim answers in WGS84 (outSR 4326) only");
		return;
	}
	if (loc && (parse_location(loc, &lat, &lng) || bad_point(lat, lng))) {
		a->body = error_body(400, "Cannot perform query. Invalid query parameters.",
		                     "'location' is not a valid point");
		return;
	}
	if (loc && rule_at(lat, lng) && rule_at(lat, lng)->http_status) {
		a->status = (int)rule_at(lat, lng)->http_status;
		a->body = strdup("<html><head><title>Service Unavailable</title></head>"
		                 "<body>The service is not available.</body></html>");
		a->type = "text/html";
		return;
	}
	if (strcmp(op, "/reverseGeocode") == 0) {
		sim.reverse++;
		a->body = loc ? reverse_answer(lat, lng)
		              : error_body(400, "Cannot perform query. Invalid query parameters.",
		                           "'location' parameter not specified");
		return;
	}
	if (strcmp(op, "/findAddressCandidates") == 0) {
		const char *text = arg(c, "SingleLine");
		const char *ml = arg(c, "maxLocations");

		if (!text)
			text = arg(c, "Address");
		sim.find++;
		a->body = find_answer(text, lat, lng, ml ? strtol(ml, NULL, 10) : 50);
		return;
	}
	a->status = 404;
	a->body = error_body(404, "Requested operation is not supported.", op);
}

static void admin(struct MHD_Connection *c, const char *method, const char *path,
                  const struct upload *up, struct answer *a)
{
	cJSON *j = up->len ? cJSON_ParseWithLength(up->data, up->len) : NULL;
	int post = strcmp(method, "POST") == 0;

	a->status = 200;
	if (strcmp(path, "/_admin/stats") == 0 && strcmp(method, "GET") == 0) {
		a->body = stats_json();
	} else if (strcmp(path, "/_admin/faults") == 0 && (post || strcmp(method, "GET") == 0)) {
		if (post && set_faults(j, &sim.faults))
			a->status = 400;
		a->body = faults_json(&sim.faults);
	} else if (strcmp(path, "/_admin/rules") == 0 && strcmp(method, "DELETE") == 0) {
		sim.n_rules = 0;
		a->body = rules_json();
	} else if (strcmp(path, "/_admin/rules") == 0 && (post || strcmp(method, "GET") == 0)) {
		if (post && add_rules(j))
			a->status = 400;
		a->body = rules_json();
	} else {
		a->status = 404;
		a->body = strdup("{\"error\":\"no such admin endpoint\"}");
	}
	cJSON_Delete(j);
}

/* Decide and apply this request's fault; 1 if the answer is replaced. */
static int fault(uint64_t req, struct answer *a, struct faults *f)
{
	if (f->hang_rate > 0 && chance(req, 1) < f->hang_rate) {
		a->fault = "hang";
		return 2;
	}
	if (f->http_error_rate > 0 && chance(req, 2) < f->http_error_rate) {
		a->fault = "http500";
		a->status = 500;
		a->body = error_body(500, "Internal server error.", NULL);
		return 1;
	}
	if (f->error_rate > 0 && chance(req, 3) < f->error_rate) {
		a->fault = "error";
		a->body = error_body(500, "Unable to complete operation.",
		                     "Geocode service is not available.");
		return 1;
	}
	if (f->malformed_rate > 0 && chance(req, 4) < f->malformed_rate) {
		a->fault = "malformed";
		a->body = strdup("<html><head><title>502 Proxy Error</title></head><body>"
		                 "The proxy server received an invalid response.</body></html>");
		a->type = "text/html";
		return 1;
	}
	if (f->truncate_rate > 0 && chance(req, 5) < f->truncate_rate)
		a->fault = "truncated"; /* applied to the real answer below */
	return 0;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
                              const char *method, const char *version, const char *upload_data,
                              size_t *upload_size, void **con_cls)
{
	struct upload *up = *con_cls;
	struct answer a = {200, NULL, "application/json;charset=UTF-8", NULL};
	struct MHD_Response *resp;
	struct faults f;
	struct timespec t0, t1;
	uint64_t req;
	size_t plen = strlen(sim.prefix);
	enum MHD_Result ret;
	int hang = 0;
	long delay = 0;

	if (!up) {
		up = calloc(1, sizeof(*up));
		*con_cls = up;
		return up ? MHD_YES : MHD_NO;
	}
	if (*upload_size) {
		if (up->len + *upload_size > BODY_MAX) {
			up->too_big = 1;
		} else {
			char *n = realloc(up->data, up->len + *upload_size + 1);

			if (n) {
				memcpy(n + up->len, upload_data, *upload_size);
				up->data = n;
				up->len += *upload_size;
				n[up->len] = '\0';
			}
		}
		*upload_size = 0;
		return MHD_YES;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_lock(&sim.lock);
	req = ++sim.requests;
	f = sim.faults;
	if (up->too_big) {
		a.status = 413;
		a.body = strdup("{\"error\":\"body too large\"}");
	} else if (strncmp(url, "/_admin/", 8) == 0) {
		admin(c, method, url, up, &a);
	} else if (strncmp(url, sim.prefix, plen) == 0 && (!url[plen] || url[plen] == '/') &&
	           (strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0)) {
		int r = fault(req, &a, &f);

		if (r)
			sim.faulted++;
		hang = r == 2;
		if (!r || !hang)
			delay =
			    f.latency_ms +
			    (f.jitter_ms ? (long)(chance(req, 6) * (double)(f.jitter_ms + 1)) : 0);
		if (!r)
			operation(c, url + plen, &a);
		if (a.fault && strcmp(a.fault, "truncated") == 0 && a.body)
			a.body[strlen(a.body) / 2] = '\0', sim.faulted++;
	} else {
		a.status = 404;
		a.body = error_body(404, "Service not found.", NULL);
	}
	pthread_mutex_unlock(&sim.lock);

	if (hang) {
		sleep_ms(f.hang_ms);
		if (!sim.quiet)
			fprintf(stderr, "geo-sim %s %s - %ldms fault=hang\n", method, url,
			        f.hang_ms);
		return MHD_NO; /* drop the connection without an answer */
	}
	sleep_ms(delay);
	if (!a.body)
		a.body = strdup("{}");
	resp = MHD_create_response_from_buffer(strlen(a.body), a.body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(resp, "Content-Type", a.type);
	ret = MHD_queue_response(c, (unsigned)a.status, resp);
	MHD_destroy_response(resp);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!sim.quiet)
		/* the path only: the query may hold the token */
		fprintf(
		    stderr, "geo-sim %s %s %d %ldms%s%s\n", method, url, a.status,
		    (long)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000),
		    a.fault ? " fault=" : "", a.fault ? a.fault : "");
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
	struct upload *up = *con_cls;

	if (up) {
		free(up->data);
		free(up);
	}
	*con_cls = NULL;
}

static void on_signal(int sig)
{
	stopping = 1;
}

static int parse_rate(const char *s, double *out)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || !(v >= 0 && v <= 1))
		return -1;
	*out = v;
	return 0;
}

static int parse_long(const char *s, long *out, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (end == s || *end || errno || v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

static int load_rules(const char *path)
{
	FILE *fp = fopen(path, "rb");
	char *data = NULL;
	long n;
	cJSON *j;
	int rc = -1;

	if (!fp)
		return -1;
	if (fseek(fp, 0, SEEK_END) == 0 && (n = ftell(fp)) >= 0 && n < 1024L * 1024 &&
	    fseek(fp, 0, SEEK_SET) == 0 && (data = malloc((size_t)n + 1)) &&
	    fread(data, 1, (size_t)n, fp) == (size_t)n) {
		j = cJSON_ParseWithLength(data, (size_t)n);
		rc = j ? add_rules(j) : -1;
		cJSON_Delete(j);
	}
	free(data);
	fclose(fp);
	return rc;
}

static int bad(const char *what, const char *val)
{
	fprintf(stderr, "geo-sim: bad %s '%s'\n", what, val);
	return 2;
}

int main(int argc, char **argv)
{
	enum {
		O_PORT = 256,
		O_PREFIX,
		O_TOKEN,
		O_CENTER,
		O_CITY,
		O_REGION,
		O_ABBR,
		O_POSTAL,
		O_RULES,
		O_SEED,
		O_ERR,
		O_HTTPERR,
		O_LAT,
		O_JIT,
		O_HANG,
		O_HANGMS,
		O_MAL,
		O_TRUNC,
		O_QUIET,
		O_HELP,
	};
	static const struct option opts[] = {
	    {"port", 1, 0, O_PORT},
	    {"prefix", 1, 0, O_PREFIX},
	    {"token", 1, 0, O_TOKEN},
	    {"center", 1, 0, O_CENTER},
	    {"city", 1, 0, O_CITY},
	    {"region", 1, 0, O_REGION},
	    {"region-abbr", 1, 0, O_ABBR},
	    {"postal", 1, 0, O_POSTAL},
	    {"rules", 1, 0, O_RULES},
	    {"seed", 1, 0, O_SEED},
	    {"error-rate", 1, 0, O_ERR},
	    {"http-error-rate", 1, 0, O_HTTPERR},
	    {"latency-ms", 1, 0, O_LAT},
	    {"jitter-ms", 1, 0, O_JIT},
	    {"hang-rate", 1, 0, O_HANG},
	    {"hang-ms", 1, 0, O_HANGMS},
	    {"malformed-rate", 1, 0, O_MAL},
	    {"truncate-rate", 1, 0, O_TRUNC},
	    {"quiet", 0, 0, O_QUIET},
	    {"help", 0, 0, O_HELP},
	    {0, 0, 0, 0},
	};
	struct sockaddr_in sa;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *info;
	struct sigaction sact;
	long port = 0, v;
	const char *end;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case O_PORT:
			if (parse_long(optarg, &port, 65535))
				return bad("port", optarg);
			break;
		case O_PREFIX:
			if (optarg[0] != '/' || strlen(optarg) >= sizeof(sim.prefix))
				return bad("prefix", optarg);
			snprintf(sim.prefix, sizeof(sim.prefix), "%s", optarg);
			break;
		case O_TOKEN:
			if (!optarg[0] || strlen(optarg) >= sizeof(sim.token))
				return bad("token", "...");
			snprintf(sim.token, sizeof(sim.token), "%s", optarg);
			break;
		case O_CENTER:
			if (num_double(optarg, &end, &sim.center_lat) != 0 || *end != ',' ||
			    num_double(end + 1, &end, &sim.center_lng) != 0 || *end != '\0' ||
			    bad_point(sim.center_lat, sim.center_lng))
				return bad("center", optarg);
			break;
		case O_CITY:
			snprintf(sim.city, sizeof(sim.city), "%s", optarg);
			break;
		case O_REGION:
			snprintf(sim.region, sizeof(sim.region), "%s", optarg);
			break;
		case O_ABBR:
			snprintf(sim.region_abbr, sizeof(sim.region_abbr), "%s", optarg);
			break;
		case O_POSTAL:
			if (strlen(optarg) != 5 || strspn(optarg, "0123456789") != 5)
				return bad("postal code", optarg);
			snprintf(sim.postal, sizeof(sim.postal), "%s", optarg);
			break;
		case O_RULES:
			if (load_rules(optarg))
				return bad("rules file", optarg);
			break;
		case O_SEED:
			if (parse_long(optarg, &v, 0x7fffffffL))
				return bad("seed", optarg);
			sim.seed = (uint64_t)v;
			break;
		case O_ERR:
			if (parse_rate(optarg, &sim.faults.error_rate))
				return bad("rate", optarg);
			break;
		case O_HTTPERR:
			if (parse_rate(optarg, &sim.faults.http_error_rate))
				return bad("rate", optarg);
			break;
		case O_HANG:
			if (parse_rate(optarg, &sim.faults.hang_rate))
				return bad("rate", optarg);
			break;
		case O_MAL:
			if (parse_rate(optarg, &sim.faults.malformed_rate))
				return bad("rate", optarg);
			break;
		case O_TRUNC:
			if (parse_rate(optarg, &sim.faults.truncate_rate))
				return bad("rate", optarg);
			break;
		case O_LAT:
			if (parse_long(optarg, &sim.faults.latency_ms, 600000))
				return bad("latency", optarg);
			break;
		case O_JIT:
			if (parse_long(optarg, &sim.faults.jitter_ms, 600000))
				return bad("jitter", optarg);
			break;
		case O_HANGMS:
			if (parse_long(optarg, &sim.faults.hang_ms, 3600000))
				return bad("hang time", optarg);
			break;
		case O_QUIET:
			sim.quiet = 1;
			break;
		case O_HELP:
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "geo-sim: unknown option (see --help)\n");
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "geo-sim: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}

	memset(&sact, 0, sizeof(sact));
	sact.sa_handler = on_signal;
	sigaction(SIGTERM, &sact, NULL);
	sigaction(SIGINT, &sact, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0,
	    NULL, NULL, handle, NULL, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED,
	    completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "geo-sim: cannot listen on 127.0.0.1:%ld\n", port);
		return 1;
	}
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	printf("listening on 127.0.0.1:%u\n", info ? (unsigned)info->port : (unsigned)port);
	fflush(stdout);
	while (!stopping) {
		struct timespec ts = {0, 100 * 1000000L};

		nanosleep(&ts, NULL);
	}
	MHD_stop_daemon(d);
	return 0;
}
