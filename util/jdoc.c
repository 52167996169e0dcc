/*
 * jdoc.c: a cJSON document whose first failed addition fails it all
 * (contract in jdoc.h).
 */
#include "jdoc.h"

#include <stddef.h>

static cJSON *root(struct jdoc *d, cJSON *item)
{
	if (d->root || !item) {
		cJSON_Delete(item);
		d->failed = 1;
		return NULL;
	}
	d->root = item;
	return item;
}

cJSON *jdoc_root_object(struct jdoc *d)
{
	return root(d, cJSON_CreateObject());
}

cJSON *jdoc_root_array(struct jdoc *d)
{
	return root(d, cJSON_CreateArray());
}

/* Attaches item, which it owns from here on; returns it, or NULL. */
static cJSON *attach(struct jdoc *d, cJSON *parent, const char *key, cJSON *item)
{
	int ok;

	if (d->failed || !parent || !item) {
		cJSON_Delete(item);
		d->failed = 1;
		return NULL;
	}
	/* Adding to an object copies the key, which can fail too. */
	ok = key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item);
	if (!ok) {
		cJSON_Delete(item);
		d->failed = 1;
		return NULL;
	}
	return item;
}

cJSON *jdoc_object(struct jdoc *d, cJSON *parent, const char *key)
{
	return attach(d, parent, key, d->failed ? NULL : cJSON_CreateObject());
}

cJSON *jdoc_array(struct jdoc *d, cJSON *parent, const char *key)
{
	return attach(d, parent, key, d->failed ? NULL : cJSON_CreateArray());
}

void jdoc_string(struct jdoc *d, cJSON *parent, const char *key, const char *v)
{
	if (!v)
		jdoc_null(d, parent, key);
	else
		attach(d, parent, key, d->failed ? NULL : cJSON_CreateString(v));
}

void jdoc_number(struct jdoc *d, cJSON *parent, const char *key, double v)
{
	attach(d, parent, key, d->failed ? NULL : cJSON_CreateNumber(v));
}

void jdoc_bool(struct jdoc *d, cJSON *parent, const char *key, int v)
{
	attach(d, parent, key, d->failed ? NULL : cJSON_CreateBool(v));
}

void jdoc_null(struct jdoc *d, cJSON *parent, const char *key)
{
	attach(d, parent, key, d->failed ? NULL : cJSON_CreateNull());
}

void jdoc_add(struct jdoc *d, cJSON *parent, const char *key, cJSON *item)
{
	attach(d, parent, key, item);
}

int jdoc_failed(const struct jdoc *d)
{
	return d->failed || !d->root;
}

char *jdoc_print(struct jdoc *d, int formatted)
{
	if (jdoc_failed(d))
		return NULL;
	return formatted ? cJSON_Print(d->root) : cJSON_PrintUnformatted(d->root);
}

void jdoc_release(struct jdoc *d)
{
	cJSON_Delete(d->root);
	d->root = NULL;
	d->failed = 0;
}

const char *jdoc_get_str(const cJSON *obj, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}
