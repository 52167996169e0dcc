/*
 * cmd_report.c: `scfgate report`, one static page (or one JSON document)
 * of a half at a glance (see report.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "cli.h"
#include "report.h"

static const char usage_text[] =
    "usage: scfgate report [--config FILE] (--html OUT.html | --json OUT.json)... [--issue "
    "ID]...\n"
    "\n"
    "Write one self-contained page of this half: its verdict (as `scfgate status`\n"
    "gives it), its queues and their depths and oldest ages over time (a chart of\n"
    "the samples the half keeps), failed, held and dismissed records with their\n"
    "reasons, stuck records, the last reconciliation (classes with counts, the\n"
    "affected issues with links to SeeClickFix and their Cartegraph request), and\n"
    "the life of each issue asked for (fetched, forwarded, acknowledged, closed).\n"
    "The page has no script and loads nothing: it can be mailed or opened on a\n"
    "machine without network.  Safe while the half runs.\n"
    "\n"
    "  --config FILE  the half's configuration; default /etc/scfgate/scf.xml or\n"
    "                 /etc/scfgate/oms.xml, whichever exists (both: refused)\n"
    "  --html OUT     write the page to OUT (replaced whole, mode 0640)\n"
    "  --json OUT     write the same data as one JSON document to OUT\n"
    "  --issue ID     an SCF issue id whose timeline to show (repeatable, at most 50)\n"
    "\n"
    "At least one of --html and --json.  Exit 0 when written, 1 when the report\n"
    "cannot be built or written, 2 on bad usage.\n";

/* Write data as path, whole or not at all: a temporary name beside it,
 * then rename, so a mailer never picks up half a page. */
static int write_whole(const char *path, const char *data, size_t len, struct err *e)
{
	char tmp[CLI_PATH_MAX + 32];
	size_t off = 0;
	int fd;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		err_set(e, ERR_PERM, "%s: path too long", path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		err_errno(e, ERR_PERM, errno, "%s", tmp);
		return -1;
	}
	while (off < len) {
		ssize_t n = write(fd, data + off, len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			err_errno(e, ERR_PERM, n < 0 ? errno : EIO, "write %s", tmp);
			close(fd);
			unlink(tmp);
			return -1;
		}
		off += (size_t)n;
	}
	if (fsync(fd) != 0 || close(fd) != 0) {
		err_errno(e, ERR_PERM, errno, "%s", tmp);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) != 0) {
		err_errno(e, ERR_PERM, errno, "rename to %s", path);
		unlink(tmp);
		return -1;
	}
	return 0;
}

enum { OPT_HTML = CLI_OPT_LONG, OPT_JSON, OPT_ISSUE };

static const struct option options[] = {
    CLI_OPT_CONFIG,
    {"html", required_argument, NULL, OPT_HTML},
    {"json", required_argument, NULL, OPT_JSON},
    {"issue", required_argument, NULL, OPT_ISSUE},
    {NULL, 0, NULL, 0},
};

int cmd_report(int argc, char **argv)
{
	const char *config = NULL, *html = NULL, *json = NULL;
	char config_buf[CLI_PATH_MAX];
	int64_t issues[REPORT_ISSUES_MAX];
	size_t n_issues = 0;
	struct jdoc d = JDOC_INIT;
	struct buf page = BUF_INIT_CAP(BUF_DEFAULT_CAP);
	struct cfg *c = NULL;
	char *text = NULL;
	struct cli_opt o;
	struct err e;
	int rc, opt;

	if (cli_wants_help(argc, argv)) {
		fputs(usage_text, stdout);
		return CLI_EXIT_OK;
	}
	cli_opt_init(&o, "report", NULL, argc, argv, options);
	while ((opt = cli_opt_next(&o)) != CLI_OPT_END) {
		switch (opt) {
		case 'c':
			config = o.arg;
			break;
		case OPT_HTML:
		case OPT_JSON:
			if (!o.arg[0])
				return cli_usage("report", "%s needs a file name", o.name);
			*(opt == OPT_HTML ? &html : &json) = o.arg;
			break;
		case OPT_ISSUE:
			if (n_issues == REPORT_ISSUES_MAX)
				return cli_usage("report", "at most %d --issue ids",
				                 REPORT_ISSUES_MAX);
			if (!(issues[n_issues] = cli_id(o.arg)))
				return cli_usage("report",
				                 "--issue needs an SCF issue id (a number)");
			n_issues++;
			break;
		case CLI_OPT_BAD:
			return CLI_EXIT_USAGE;
		default:
			return cli_opt_unknown(&o);
		}
	}
	if (!html && !json)
		return cli_usage("report", "--html OUT or --json OUT is required");
	if ((rc = cli_config_path("report", CLI_HALF_ANY, config, config_buf, &config)) != 0)
		return rc;
	err_clear(&e);
	rc = CLI_EXIT_OK;
	if (cfg_load_file(config, &c, &e) != ERR_OK ||
	    report_collect(c, issues, n_issues, 0, &d, &e) != ERR_OK) {
		rc = cli_fail("report", &e);
		goto out;
	}
	if (json) {
		if (!(text = jdoc_print(&d, 1))) {
			err_set(&e, ERR_TEMP, "cannot print the JSON document (out of memory)");
			rc = cli_fail("report", &e);
			goto out;
		}
		if (write_whole(json, text, strlen(text), &e) != 0) {
			rc = cli_fail("report", &e);
			goto out;
		}
	}
	if (html) {
		if (report_render_html(d.root, &page, &e) != ERR_OK ||
		    write_whole(html, page.data, page.len, &e) != 0) {
			rc = cli_fail("report", &e);
			goto out;
		}
	}
out:
	if (text)
		cJSON_free(text);
	buf_release(&page);
	jdoc_release(&d);
	cfg_free(c);
	return rc;
}
