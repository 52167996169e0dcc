/*
 * test_jdoc.c: the JSON output builder.  A document is printed whole or
 * not at all; what running out of memory does to it is test_oom's part
 * (status and config describe, every allocation failing in turn).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jdoc.h"

static void test_builds_nested_document(void **state)
{
	struct jdoc d = JDOC_INIT;
	cJSON *o = jdoc_root_object(&d), *a, *inner;
	char *t;

	(void)state;
	jdoc_string(&d, o, "name", "pothole");
	jdoc_string(&d, o, "missing", NULL);
	jdoc_number(&d, o, "seq", 42);
	jdoc_bool(&d, o, "alarm", 1);
	a = jdoc_array(&d, o, "list");
	jdoc_string(&d, a, NULL, "x");
	jdoc_number(&d, a, NULL, 7);
	inner = jdoc_object(&d, a, NULL);
	jdoc_null(&d, inner, "gap");
	jdoc_add(&d, o, "raw", cJSON_CreateString("kept"));
	assert_false(jdoc_failed(&d));
	t = jdoc_print(&d, 0);
	assert_non_null(t);
	assert_string_equal(t, "{\"name\":\"pothole\",\"missing\":null,\"seq\":42,\"alarm\":true,"
	                       "\"list\":[\"x\",7,{\"gap\":null}],\"raw\":\"kept\"}");
	cJSON_free(t);
	jdoc_release(&d);
	assert_null(d.root);
	assert_false(d.failed);
}

/* A NULL parent is what a failed container creation leaves behind: the
 * document must fail, not print without that part. */
static void test_null_parent_fails_document(void **state)
{
	struct jdoc d = JDOC_INIT;
	cJSON *o = jdoc_root_object(&d);

	(void)state;
	jdoc_string(&d, o, "before", "yes");
	jdoc_string(&d, NULL, "lost", "value");
	assert_true(jdoc_failed(&d));
	/* later calls do nothing and containers come back NULL */
	assert_null(jdoc_object(&d, o, "after"));
	assert_null(jdoc_array(&d, o, "after2"));
	jdoc_number(&d, o, "after3", 1);
	assert_null(cJSON_GetObjectItem(o, "after3"));
	assert_null(jdoc_print(&d, 1));
	jdoc_release(&d);
}

static void test_add_takes_item_even_on_failure(void **state)
{
	struct jdoc d = JDOC_INIT;
	cJSON *o = jdoc_root_object(&d);

	(void)state;
	/* LeakSanitizer would report the item if it were dropped */
	jdoc_add(&d, NULL, "k", cJSON_CreateString("owned"));
	assert_true(jdoc_failed(&d));
	jdoc_release(&d);
	o = jdoc_root_object(&d);
	jdoc_add(&d, o, "k", NULL);
	assert_true(jdoc_failed(&d));
	jdoc_release(&d);
}

static void test_no_root_or_second_root_fails(void **state)
{
	struct jdoc d = JDOC_INIT;

	(void)state;
	assert_true(jdoc_failed(&d));
	assert_null(jdoc_print(&d, 0));
	assert_non_null(jdoc_root_array(&d));
	assert_false(jdoc_failed(&d));
	assert_null(jdoc_root_object(&d));
	assert_true(jdoc_failed(&d));
	jdoc_release(&d);
}

/* jdoc_get_str: a string member, else NULL (absent, another type, not
 * an object, no object at all). */
static void test_get_str(void **state)
{
	cJSON *o = cJSON_Parse("{\"a\":\"x\",\"n\":1,\"z\":null,\"e\":\"\",\"o\":{\"a\":\"y\"}}");

	(void)state;
	assert_non_null(o);
	assert_string_equal(jdoc_get_str(o, "a"), "x");
	assert_string_equal(jdoc_get_str(o, "e"), "");
	assert_string_equal(jdoc_get_str(cJSON_GetObjectItemCaseSensitive(o, "o"), "a"), "y");
	assert_null(jdoc_get_str(o, "A"));
	assert_null(jdoc_get_str(o, "n"));
	assert_null(jdoc_get_str(o, "z"));
	assert_null(jdoc_get_str(o, "o"));
	assert_null(jdoc_get_str(o, "missing"));
	assert_null(jdoc_get_str(cJSON_GetObjectItemCaseSensitive(o, "a"), "a"));
	assert_null(jdoc_get_str(NULL, "a"));
	cJSON_Delete(o);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_builds_nested_document),
	    cmocka_unit_test(test_null_parent_fails_document),
	    cmocka_unit_test(test_add_takes_item_even_on_failure),
	    cmocka_unit_test(test_no_root_or_second_root_fails),
	    cmocka_unit_test(test_get_str),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
