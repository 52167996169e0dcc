/*
 * oms-filter.h: the Cartegraph filter= grammar, parsed and evaluated
 * against JSON records (used by oms-sim).
 *
 * Contract
 *   Grammar (keywords case-insensitive, whitespace free):
 *     expr   := term { OR term }
 *     term   := factor { AND factor }
 *     factor := "(" expr ")" | cond
 *     cond   := "[" name "]" op
 *     op     := ("is equal to" | "=") value
 *             | ("is not equal to" | "<>" | "!=") value
 *             | ("is greater than" | ">") value   | ("is less than" | "<") value
 *             | ("is greater than or equal to" | ">=") value
 *             | ("is less than or equal to" | "<=") value
 *             | "contains" string
 *             | ["not"] "in" "(" value { "," value } ")"
 *     value  := "string" (\" and "" escape a quote) | number | true | false | null
 *   - omsf_parse() resolves every [name] through resolve() (which maps a
 *     legacy name like [Status] to the record key "StatusField"; NULL =
 *     unknown field) and returns 0, or -1 with one line in why.
 *   - Comparison: strings case-insensitively (a missing or null field
 *     reads as ""), numbers numerically, booleans as booleans; ordering
 *     operators compare timestamps as times when both sides parse as
 *     ISO 8601 (zone-less values are taken in tz_offset_min).
 *   - omsf_eval() is pure; omsf_free() frees the tree (NULL is fine).
 */
#ifndef SCFGATE_OMS_FILTER_H
#define SCFGATE_OMS_FILTER_H

#include <stddef.h>

#include <cjson/cJSON.h>

struct omsf_node;

typedef const char *(*omsf_resolve_fn)(void *ctx, const char *name);

int omsf_parse(const char *text, omsf_resolve_fn resolve, void *ctx, struct omsf_node **out,
               char *why, size_t whylen);
int omsf_eval(const struct omsf_node *n, const cJSON *record, int tz_offset_min);
void omsf_free(struct omsf_node *n);

/*
 * Index support (oms-sim answers most queries from an index instead of
 * evaluating the filter on every record):
 *   - omsf_plan() returns 0 and sets *field, *lits (owned by the tree) and
 *     *numeric when every record the filter matches has *field equal, as
 *     omsf_eval() compares, to one of *lits: the filter is a condition
 *     "is equal to" / "in" on one field (or an AND with such a condition
 *     in it) whose literals are all numbers (none NaN), or all strings
 *     none of which reads as a time.  Otherwise -1 (scan every record).
 *   - omsf_key() writes the index key of a record's field value v (NULL =
 *     missing) or of a literal, for literals of the kind numeric: two
 *     values compare equal under omsf_eval() only if their keys are equal.
 *     Returns 0 (key written; cap >= OMSF_KEY_MAX), 1 (equal to no
 *     literal of that kind) or -1 (may equal any literal, e.g. NaN).
 */
#define OMSF_KEY_MAX 4096

int omsf_plan(const struct omsf_node *n, int tz_offset_min, const char **field, const cJSON **lits,
              int *numeric);
int omsf_key(const cJSON *v, int numeric, char *out, size_t cap);

#endif
