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

#endif
