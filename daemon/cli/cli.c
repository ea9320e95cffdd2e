/*
 * cli - the options every command shares and the catalog loading they all
 * start with.  Diagnostics go to stderr; exit codes are main()'s.
 */
#include "cli/cli.h"

#include <sys/stat.h>

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "mt_config.h"
#include "util/diag.h"

int
cli_common_option(struct cli *o, int argc, char **argv, int *i)
{
	const char *a = argv[*i];

	if (!strcmp(a, "-s") || !strcmp(a, "--signatures")) {
		if (*i + 1 >= argc) {
			log_error("%s needs a directory or file", a);
			return -1;
		}
		if (o->nsig_paths == CLI_MAX_SIG_PATHS) {
			log_error("too many %s options (at most %d)", a, CLI_MAX_SIG_PATHS);
			return -1;
		}
		o->sig_paths[o->nsig_paths++] = argv[++*i];
		return 1;
	}
	if (!strcmp(a, "--locale")) {
		if (*i + 1 >= argc || mt_locale_parse(argv[*i + 1], &o->locale) < 0) {
			log_error("--locale takes en or zh");
			return -1;
		}
		++*i;
		return 1;
	}
	if (!strcmp(a, "-c") || !strcmp(a, "--config")) {
		if (*i + 1 >= argc) {
			log_error("%s needs a file", a);
			return -1;
		}
		o->config_path = argv[++*i];
		return 1;
	}
	if (!strcmp(a, "-d") || !strcmp(a, "--debug")) {
		o->debug = true;
		log_set_level(LOG_LEVEL_DEBUG);
		return 1;
	}
	if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
		o->verbose = true;
		return 1;
	}
	return 0;
}

const char *
cli_default_signatures(void)
{
	struct stat st;

	return stat(MT_SIGNATURES_DIR, &st) == 0 ? MT_SIGNATURES_DIR : MT_SOURCE_SIGNATURES_DIR;
}

const char *
cli_default_config(void)
{
	struct stat st;

	return stat(MT_CONFIG_PATH, &st) == 0 ? MT_CONFIG_PATH : NULL;
}

struct mt_catalog *
cli_load_catalog(const struct cli *o, size_t *ret_errors)
{
	const char *def[1];
	const char *const *paths = o->sig_paths;
	size_t npaths = o->nsig_paths;
	struct mt_catalog *c;
	struct mt_diag d;

	if (npaths == 0) {
		def[0] = cli_default_signatures();
		paths = def;
		npaths = 1;
	}
	mt_diag_init(&d);
	c = mt_catalog_load(paths, npaths, &d);
	for (size_t i = 0; i < d.n; i++) {
		char line[1400];

		mt_diag_format(&d, i, line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
	if (d.dropped)
		fprintf(stderr, "mtalertd: %zu more diagnostics not shown\n", d.dropped);
	if (ret_errors)
		*ret_errors = d.errors;
	mt_diag_fini(&d);
	if (mt_catalog_count(c) == 0) {
		log_error("no usable signature in %s%s", paths[0], npaths > 1 ? " and others" : "");
		mt_catalog_free(c);
		return NULL;
	}
	return c;
}
