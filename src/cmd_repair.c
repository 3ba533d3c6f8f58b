/* cmd_repair.c - garage-migrate repair: accept intentional edits. */
#include "cli.h"
#include "gm_repair.h"
#include "gm_history.h"
#include "gm_strbuf.h"
#include "gm_text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char repair_usage[] =
	"usage: garage-migrate repair [--yes] [--remove-missing [--allow-newer]] [options]\n"
	"\n"
	"Bring the history back in line with the files, for every state list and\n"
	"verify can report: after an intentional edit of an applied migration,\n"
	"record the file's current checksum (old and new are printed); remove the\n"
	"entry of a no-transaction migration that failed or was interrupted (what\n"
	"it ran stays; up runs it again while its file is there); with\n"
	"--remove-missing, remove the entries of applied migrations whose files\n"
	"are gone (not those newer than every file in the folder unless\n"
	"--allow-newer: the wrong folder, or an old checkout, would have the\n"
	"next up run them again).  A migration another session is applying\n"
	"right now is left alone.  Asks for confirmation on a terminal;\n"
	"elsewhere --yes is required.\n"
	"Nothing is executed but the history change, which is audited.\n"
	"\n"
	"Options:\n"
	"  -y, --yes               do not ask\n"
	"      --remove-missing    also delete the entries of missing files\n"
	"      --allow-newer       with --remove-missing, also those newer than every\n"
	"                          file in the folder (migrations abandoned for good)\n" GM_GLOBAL_HELP;

/* One line of the preview: its fields come from file names and the
 * history, where a failed migration's message is the server's, which may
 * quote rows any tenant wrote: escaped whole, so none can drive the
 * terminal or redraw the question below it. */
static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
	struct gm_strbuf sb = GM_STRBUF_INIT;
	va_list ap;
	char *line;

	va_start(ap, fmt);
	gm_strbuf_vaddf(&sb, fmt, ap);
	va_end(ap);
	line = gm_text_escape_line(sb.buf);
	printf("%s\n", line);
	free(line);
	gm_strbuf_release(&sb);
}

static size_t describe(const struct gm_status *st, int remove_missing)
{
	size_t k, n = 0, missing_left = 0;

	for (k = 0; k < st->n; k++) {
		const struct gm_status_item *it = &st->v[k];
		if (it->state == GM_STATE_MODIFIED) {
			say("%s: record %s (was %s)", it->m->path, it->m->checksum, it->a->checksum);
			n++;
		} else if (it->state == GM_STATE_MISSING && remove_missing) {
			say("%s_%s: remove the entry (file %s is missing)", it->a->version_text, it->a->name, it->a->script);
			n++;
		} else if (it->state == GM_STATE_MISSING) {
			missing_left++;
		} else if (it->state == GM_STATE_FAILED) {
			say("%s_%s: remove the entry of %s no-transaction migration (%s); what it ran stays",
			    it->a->version_text, it->a->name,
			    !strcmp(it->a->status, "interrupted") ? "an interrupted" : "a failed",
			    it->a->message ? it->a->message : "no details");
			n++;
		} else if (it->state == GM_STATE_RUNNING) {
			say("%s_%s: left alone: another session is applying it right now", it->a->version_text, it->a->name);
		}
	}
	if (missing_left)
		printf("%zu applied migration%s ha%s no file; pass --remove-missing to delete %s entr%s\n",
		       missing_left, missing_left == 1 ? "" : "s", missing_left == 1 ? "s" : "ve",
		       missing_left == 1 ? "its" : "their", missing_left == 1 ? "y" : "ies");
	return n;
}

static int confirmed(void)
{
	char answer[16];

	printf("record these changes in the history? [y/N] ");
	fflush(stdout);
	if (!fgets(answer, sizeof(answer), stdin))
		return 0;
	return answer[0] == 'y' || answer[0] == 'Y';
}

enum { OPT_REMOVE_MISSING = 256, OPT_ALLOW_NEWER };

int cmd_repair(int argc, char **argv, struct gm_cli *cli)
{
	static const struct option longopts[] = {
		GM_GLOBAL_LONGOPTS,
		{ "yes", no_argument, NULL, 'y' },
		{ "remove-missing", no_argument, NULL, OPT_REMOVE_MISSING },
		{ "allow-newer", no_argument, NULL, OPT_ALLOW_NEWER },
		{ NULL, 0, NULL, 0 },
	};
	struct gm_migration_set *set = NULL;
	struct gm_db *db = NULL;
	struct gm_history hist = { 0, NULL, 0 };
	struct gm_status st = { NULL, 0, { 0 } };
	struct gm_error *err;
	int yes = 0, remove_missing = 0, allow_newer = 0, c, rc = GM_EXIT_OK;
	size_t n;

	while ((c = gm_cli_getopt(argc, argv, GM_GLOBAL_SHORTOPTS "y", longopts)) != -1) {
		if (gm_cli_global_opt(cli, c, optarg))
			continue;
		switch (c) {
		case 'h':
			return gm_cli_help(repair_usage);
		case 'y':
			yes = 1;
			break;
		case OPT_REMOVE_MISSING:
			remove_missing = 1;
			break;
		case OPT_ALLOW_NEWER:
			allow_newer = 1;
			break;
		default:
			return gm_cli_usage_error("repair", "unknown or incomplete option '%s' (options are never abbreviated)", gm_cli_bad_option(argv));
		}
	}
	if (optind < argc)
		return gm_cli_usage_error("repair", "unexpected argument '%s'", argv[optind]);
	if (allow_newer && !remove_missing)
		return gm_cli_usage_error("repair", "--allow-newer goes with --remove-missing");

	if ((err = gm_cli_open(cli, &set, &db)) || (err = gm_history_read(db, &hist))) {
		gm_cli_close(set, db);
		return gm_cli_fail(err);
	}
	gm_status_build(set, &hist, &st);
	if ((err = gm_repair_check(&st, remove_missing, allow_newer, cli->migrations_dir))) {
		rc = gm_cli_fail(err);
		goto done;
	}
	n = describe(&st, remove_missing);
	if (n == 0) {
		printf("nothing to repair\n");
	} else if (!yes && !isatty(STDIN_FILENO)) {
		rc = gm_cli_usage_error("repair", "repair changes the history: pass --yes to confirm (standard input is not a terminal)");
	} else if (!yes && !confirmed()) {
		printf("nothing changed\n");
	} else if ((err = gm_engine_repair(db, &st, remove_missing, allow_newer, gm_cli_os_user()))) {
		rc = gm_cli_fail(err);
	} else {
		printf("repaired %zu entr%s\n", n, n == 1 ? "y" : "ies");
	}
done:
	gm_status_release(&st);
	gm_history_release(&hist);
	gm_cli_close(set, db);
	return rc;
}
