/*
 * cli - what the subcommands share: options common to all, loading the
 * catalog and printing its diagnostics.  Each subcommand is a function
 * returning a sysexits(3) code; only main() exits.
 */
#ifndef MT_CLI_H
#define MT_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include "alert/alert.h"
#include "match/catalog.h"

struct mt_config;

#define CLI_MAX_SIG_PATHS 32

struct cli {
	const char *sig_paths[CLI_MAX_SIG_PATHS];
	size_t nsig_paths;
	bool sig_paths_copied; /* check: they are copies of the configuration's (heap) */
	enum mt_locale locale;
	bool verbose, debug;
	const char *config_path;	       /* -c */
	const char *inputs[CLI_MAX_SIG_PATHS]; /* daemon --input */
	size_t ninputs;
	const char *state_dir; /* daemon --state-dir */
	const char *format;    /* daemon --format */
};

/*
 * Load the catalog from the --signatures paths (default: the installed
 * signatures, else the source tree's).  Prints every diagnostic to stderr.
 * Returns NULL (after printing) when nothing usable loaded.
 */
struct mt_catalog *cli_load_catalog(const struct cli *o, size_t *ret_errors);

/*
 * Where signatures are when neither -s nor the configuration says: the
 * installed ones, or the source tree's when run from a build directory.
 * The daemon and every command use this one rule.
 */
const char *cli_default_signatures(void);

/* The configuration file to read when -c is not given: MT_CONFIG_PATH if it exists, else NULL. */
const char *cli_default_config(void);

/* Try a common option at argv[*i]: 1 taken (i advanced), 0 not ours, -1 bad. */
int cli_common_option(struct cli *o, int argc, char **argv, int *i);

int cmd_scan(struct cli *o, int argc, char **argv);
int cmd_test(struct cli *o, int argc, char **argv);
int cmd_check(struct cli *o, int argc, char **argv);
int cmd_list(struct cli *o, int argc, char **argv);
int cmd_show(struct cli *o, int argc, char **argv);
int cmd_status(struct cli *o, int argc, char **argv);
int cmd_silence(struct cli *o, int argc, char **argv);

/* The configuration the commands that talk to the daemon read (-c, else the default); NULL after printing why. */
struct mt_config *cli_load_config(const struct cli *o);
/* The exit code for a control socket error r (-errno), after saying what it means. */
int cli_ctl_exit(const char *path, int r);

#endif
