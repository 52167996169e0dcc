/*
 * test_scf_posted.c: how the SCF half knows a fetched comment as its own
 * (scf_self.c): by the profile's user id, by the comment id a reply's
 * flag_url names, by the reply's created_at and text (SCF's documented
 * reply has no id), by the text sent when a moderated reply has neither;
 * and a resident's comment is never taken for ours.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "scf_impl.h"
#include "unconst.h"

static const char empty[] = "scfgate-scf-state 1\nwatermark 0\nseq 0\nend 0\n";

static struct record_comment comment(int64_t issue, const char *id, const char *at, int64_t by,
                                     const char *text)
{
	struct record_comment c;

	memset(&c, 0, sizeof(c));
	c.issue_id = issue;
	c.comment_id = UNCONST(id);
	c.created_at = UNCONST(at);
	c.commenter_id = by;
	c.text = UNCONST(text);
	return c;
}

static void by_reply(void **unused)
{
	static const char reply[] =
	    "{\"moderated\":false,\"comment\":\"Request SR-7 is complete.\","
	    "\"created_at\":\"2026-02-10T11:03:43-05:00\",\"commenter\":{\"id\":1},"
	    "\"flag_url\":\"https://seeclickfix.com/api/v2/comments/62322106/flag\"}";
	struct scf_state *st = NULL;
	struct err e;
	struct record_comment c;
	char why[128];

	(void)unused;
	assert_int_equal(scf_state_parse(empty, strlen(empty), &st, &e), ERR_OK);
	assert_int_equal(scf_self_note_posted(st, 5, reply, strlen(reply), "ignored"), ERR_OK);

	/* the id from flag_url, whatever its text says now (edited) */
	c = comment(5, "62322106", "2026-02-10T11:03:43-05:00", 1, "edited");
	assert_non_null(scf_self_why(st, &c, why, sizeof(why)));
	assert_non_null(strstr(why, "comment 62322106"));
	/* the same instant in another zone and the same text, under a fallback key */
	c = comment(5, "h-abc", "2026-02-10T16:03:43Z", 1, "Request SR-7 is complete.");
	assert_non_null(scf_self_why(st, &c, why, sizeof(why)));
	assert_non_null(strstr(why, "same time and text"));
	/* a resident repeating the words later, or on another issue: theirs */
	c = comment(5, "62322107", "2026-02-10T11:05:00-05:00", 9, "Request SR-7 is complete.");
	assert_null(scf_self_why(st, &c, why, sizeof(why)));
	c = comment(6, "62322106", "2026-02-10T11:03:43-05:00", 9, "Request SR-7 is complete.");
	assert_null(scf_self_why(st, &c, why, sizeof(why)));

	/* the profile's user: any comment of theirs */
	assert_int_equal(scf_state_put(st, "profile/user", "7000001"), ERR_OK);
	assert_int_equal(scf_self_user(st), 7000001);
	c = comment(8, "1", "2026-02-11T09:00:00Z", 7000001, "Crew on site.");
	assert_non_null(scf_self_why(st, &c, why, sizeof(why)));
	assert_string_equal(why, "by this gateway's SCF user 7000001");

	/* closing the issue forgets what was posted on it */
	scf_state_forget_issue(st, 5);
	c = comment(5, "62322106", "2026-02-10T11:03:43-05:00", 1, "edited");
	assert_null(scf_self_why(st, &c, why, sizeof(why)));
	scf_state_free(st);
}

static void moderated_reply(void **unused)
{
	static const char reply[] = "{\"metadata\":{\"moderated\":true}}";
	struct scf_state *st = NULL;
	struct err e;
	struct record_comment c;
	char why[128];

	(void)unused;
	assert_int_equal(scf_state_parse(empty, strlen(empty), &st, &e), ERR_OK);
	assert_int_equal(
	    scf_self_note_posted(st, 5, reply, strlen(reply), "Now work request SR-1."), ERR_OK);
	c = comment(5, "777", "2026-02-12T08:00:00Z", 1, "Now work request SR-1.");
	assert_non_null(scf_self_why(st, &c, why, sizeof(why)));
	assert_non_null(strstr(why, "same text"));
	c = comment(5, "778", "2026-02-12T08:00:00Z", 1, "Now work request SR-2.");
	assert_null(scf_self_why(st, &c, why, sizeof(why)));
	scf_state_free(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(by_reply),
	    cmocka_unit_test(moderated_reply),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
