/*
 * mtalertd - recognise known mail errors in Postfix, Exim and Sendmail logs
 * and say what to do about them.
 *
 * `mtalertd` alone runs the tailing daemon in the foreground (systemd
 * supervises it: no double fork); the subcommands are the tools an admin
 * runs by hand.  This is the only file that decides exit codes.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cli/cli.h"
#include "config/config.h"
#include "daemon.h"
#include "log.h"
#include "mt_config.h"

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: mtalertd [-c FILE] [-s DIR] [-d] [--input FILE ...] [--state-dir DIR]\n"
		"                [--format json|text]          run the daemon (foreground)\n"
		"       mtalertd [-s DIR] [--locale en|zh] COMMAND [ARGS]\n"
		"\n"
		"commands:\n"
		"  scan [--format json|text] [--summary] [--no-correlate] [FILE ...|-]\n"
		"                  report every known error in logs (plain or .gz)\n"
		"  test LINE ...   explain what a line matches: signatures, captures, fields\n"
		"  check [-c FILE] [--pre-start]\n"
		"                  validate the configuration, the catalog and its examples;\n"
		"                  --pre-start: fail only on what stops the daemon\n"
		"  list            list signatures by category\n"
		"  show ID         render one signature as Markdown\n"
		"  status [--json] ask the running daemon: inputs, signatures, sinks\n"
		"  silence add (--signature ID|--category C|--match KEY=GLOB) --for 2h\n"
		"                  --comment TEXT    keep matching alerts from every sink\n"
		"  silence list [--all] [--json] | silence expire ID\n"
		"  version         print the version\n"
		"\n"
		"options (before or after the command):\n"
		"  -c, --config FILE           configuration (default %s\n"
		"                              if it exists, else the embedded default)\n"
		"  -s, --signatures DIR|FILE   signature files to load (repeatable;\n"
		"                              default %s,\n"
		"                              else %s)\n"
		"  --locale en|zh              language of root causes and workarounds\n"
		"  -d, --debug                 log debug messages\n"
		"  -v, --verbose               say more\n"
		"  -V, --version               print the version\n",
		MT_CONFIG_PATH, MT_SIGNATURES_DIR, MT_SOURCE_SIGNATURES_DIR);
}

int
main(int argc, char **argv)
{
	struct cli o = { 0 };
	int i = 1;

	/* Options may come before the command too. */
	while (i < argc && argv[i][0] == '-') {
		int r = cli_common_option(&o, argc, argv, &i);

		/* The daemon's own overrides. */
		if (r == 0 && i + 1 < argc && !strcmp(argv[i], "--input") &&
		    o.ninputs < CLI_MAX_SIG_PATHS) {
			o.inputs[o.ninputs++] = argv[++i];
			r = 1;
		} else if (r == 0 && i + 1 < argc && !strcmp(argv[i], "--state-dir")) {
			o.state_dir = argv[++i];
			r = 1;
		} else if (r == 0 && i + 1 < argc && !strcmp(argv[i], "--format") &&
			   (!strcmp(argv[i + 1], "json") || !strcmp(argv[i + 1], "text"))) {
			o.format = argv[++i];
			r = 1;
		}

		if (r < 0)
			return EX_USAGE;
		if (r == 0) {
			if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
				usage(stdout);
				return 0;
			}
			if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
				printf("mtalertd %s\n", MT_VERSION);
				return 0;
			}
			log_error("unknown option '%s'", argv[i]);
			usage(stderr);
			return EX_USAGE;
		}
		i++;
	}
	if (i >= argc) {
		struct mt_daemon_opts d = {
			.config_path = o.config_path,
			.sig_paths = o.sig_paths,
			.nsig_paths = o.nsig_paths,
			.debug = o.debug,
			.inputs = o.inputs,
			.ninputs = o.ninputs,
			.state_dir = o.state_dir,
			.format = o.format,
		};

		return mt_daemon_run(&d);
	}
	argc -= i;
	argv += i;
	if (!strcmp(argv[0], "scan"))
		return cmd_scan(&o, argc, argv);
	if (!strcmp(argv[0], "test"))
		return cmd_test(&o, argc, argv);
	if (!strcmp(argv[0], "check"))
		return cmd_check(&o, argc, argv);
	if (!strcmp(argv[0], "list"))
		return cmd_list(&o, argc, argv);
	if (!strcmp(argv[0], "show"))
		return cmd_show(&o, argc, argv);
	if (!strcmp(argv[0], "status"))
		return cmd_status(&o, argc, argv);
	if (!strcmp(argv[0], "silence"))
		return cmd_silence(&o, argc, argv);
	if (!strcmp(argv[0], "version")) {
		printf("mtalertd %s\n", MT_VERSION);
		return 0;
	}
	if (!strcmp(argv[0], "help")) {
		usage(stdout);
		return 0;
	}
	log_error("unknown command '%.100s'", argv[0]);
	usage(stderr);
	return EX_USAGE;
}
