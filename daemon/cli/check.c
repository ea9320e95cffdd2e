/*
 * check - validate the catalog like `nginx -t`: every file loads, every
 * regex compiles, every example line matches (or does not) as it says, and
 * signatures that would cost a regex run on every line (no prefilter
 * literal) or on most lines (only a weak one, see mt_literal_is_weak) are
 * named, as warnings.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "log.h"
#include "match/literal.h"
#include "match/matcher.h"
#include "mt_config.h"
#include "parse/logline.h"
#include "util.h"
#include "util/json.h"
#include "util/xalloc.h"

#define STR_(x)	      #x
#define STR(x)	      STR_(x)
#define WEAK_MIN_TEXT STR(MT_LITERAL_WEAK_MIN)

/* The node of the i-th example of a kind, for its line number. */
static const struct mt_ynode *
example_node(const struct mt_signature *s, const char *kind, size_t i)
{
	const struct mt_ynode *ex = mt_ynode_get(mt_ydoc_root(s->doc), "examples");
	const struct mt_ynode *l = mt_ynode_get(ex, kind);

	return l != NULL && l->type == MT_Y_SEQ && i < l->n ? l->items[i] : NULL;
}

static bool
matched_by(const struct mt_match *res, size_t n, const struct mt_signature *s)
{
	for (size_t i = 0; i < n; i++)
		if (res[i].sig == s)
			return true;
	return false;
}

static void
report(size_t *count, const char *level, const struct mt_signature *s, const struct mt_ynode *n,
       const char *msg, const char *line)
{
	char clean[400];
	struct mt_buf b;

	mt_buf_init(&b, sizeof(clean));
	if (line)
		(void)mt_text_clean(&b, line, strlen(line), 200);
	fprintf(stderr, "%s:%u:%u: %s: %s: %s%s%s\n", s->file, n ? n->line : s->line,
		n ? n->col : 1, level, s->id, msg, line ? ": " : "", line ? b.data : "");
	mt_buf_fini(&b);
	(*count)++;
}

/*
 * The state directory must be writable by whoever runs this (under
 * ExecStartPre=, the service's user), or creatable in its parent.
 */
static size_t
check_state_directory(const char *dir)
{
	char parent[4096];
	const char *slash = strrchr(dir, '/');

	if (access(dir, W_OK | X_OK) == 0)
		return 0;
	if (errno == ENOENT && slash != NULL && (size_t)(slash - dir) < sizeof(parent)) {
		memcpy(parent, dir, (size_t)(slash - dir));
		parent[slash == dir ? 1 : slash - dir] = '\0';
		if (slash == dir)
			parent[0] = '/';
		if (access(parent, W_OK | X_OK) == 0)
			return 0;
	}
	fprintf(stderr, "%s: error: state_directory cannot be written by this user: %s\n", dir,
		strerror(errno));
	return 1;
}

static int
run_check(struct cli *o, int argc, char **argv)
{
	struct mt_catalog *c;
	struct mt_matcher *m;
	struct mt_literals *l;
	size_t errors = 0, warnings = 0, costly = 0, examples = 0, catalog_errors = 0;
	bool pre_start = false;

	for (int i = 1; i < argc; i++) {
		int r = cli_common_option(o, argc, argv, &i);

		if (r < 0)
			return EX_USAGE;
		if (r == 0 && !strcmp(argv[i], "--pre-start")) {
			/* What the daemon refuses to start on; it runs without a broken signature file. */
			pre_start = true;
			continue;
		}
		if (r == 0) {
			log_error("check: unknown argument '%s'", argv[i]);
			return EX_USAGE;
		}
	}
	/* The file the daemon would read, unless told otherwise. */
	if (o->config_path == NULL)
		o->config_path = cli_default_config();
	if (o->config_path != NULL) {
		struct mt_config *cfg = NULL;
		struct mt_diag d;
		int r;

		/* Like `nginx -t`: the config first, then the catalog it names. */
		mt_diag_init(&d);
		(void)mt_config_check_secrecy(o->config_path, &d);
		r = mt_config_load(o->config_path, cli_default_signatures(), &d, &cfg);
		for (size_t i = 0; i < d.n; i++) {
			char line[1400];

			mt_diag_format(&d, i, line, sizeof(line));
			fprintf(stderr, "%s\n", line);
		}
		errors += d.errors;
		warnings += d.warnings;
		mt_diag_fini(&d);
		if (r < 0) {
			printf("%s: configuration has %zu error%s\n", o->config_path, errors,
			       plural(errors));
			return EX_CONFIG;
		}
		errors += check_state_directory(cfg->state_directory);
		if (errors > 0) {
			mt_config_free(cfg);
			return EX_CONFIG;
		}
		printf("%s: configuration OK\n", o->config_path);
		if (o->nsig_paths == 0) {
			o->sig_paths_copied = true;
			for (size_t i = 0;
			     i < cfg->signatures.ndirectories && o->nsig_paths < CLI_MAX_SIG_PATHS;
			     i++)
				o->sig_paths[o->nsig_paths++] =
					mt_xstrdup(cfg->signatures.directories[i]);
		}
		mt_config_free(cfg);
	}
	{
		size_t cat_errors = 0;

		c = cli_load_catalog(o, &cat_errors);
		catalog_errors = cat_errors;
	}
	if (c == NULL)
		return EX_CONFIG;
	if (o->config_path != NULL) {
		struct mt_config *cfg = NULL;
		struct mt_diag d;

		/* Include, exclude and override entries that name nothing: likely typos. */
		mt_diag_init(&d);
		if (mt_config_load(o->config_path, cli_default_signatures(), &d, &cfg) == 0) {
			mt_diag_fini(&d);
			mt_diag_init(&d);
			(void)mt_config_check_catalog(cfg, c, &d);
			for (size_t i = 0; i < d.n; i++) {
				char line[1400];

				mt_diag_format(&d, i, line, sizeof(line));
				fprintf(stderr, "%s\n", line);
			}
			warnings += d.warnings;
			mt_config_free(cfg);
		}
		mt_diag_fini(&d);
	}
	m = mt_matcher_new(c);
	l = mt_xmalloc(sizeof(*l)); /* a signature's literals, about 7 KiB */
	for (size_t i = 0; i < mt_catalog_count(c); i++) {
		const struct mt_signature *s = mt_catalog_get(c, i);
		int weak;

		if (mt_matcher_is_costly(m, i)) {
			report(&warnings, "warning", s, mt_ynode_get(mt_ydoc_root(s->doc), "regex"),
			       "regex has no literal of 3+ characters outside groups and classes, "
			       "so it runs on every line (costly)",
			       NULL);
			costly++;
		} else if ((mt_matcher_literals(m, i, l), weak = mt_literals_weak_index(l)) >= 0) {
			char lit[2 * MT_LITERAL_MAX + 16];

			/* A warning, not an error: the record works, it only costs. */
			size_t n = 0;

			lit[n++] = '\'';
			memcpy(lit + n, l->lit[weak], l->len[weak]);
			n += l->len[weak];
			lit[n++] = '\'';
			if (l->also_len[weak] > 0) {
				memcpy(lit + n, " with '", 7);
				n += 7;
				memcpy(lit + n, l->also[weak], l->also_len[weak]);
				n += l->also_len[weak];
				lit[n++] = '\'';
			}
			lit[n] = '\0';
			report(&warnings, "warning", s, mt_ynode_get(mt_ydoc_root(s->doc), "regex"),
			       "regex's prefilter literal is weak (under " WEAK_MIN_TEXT
			       " bytes without punctuation, or a word on most mail-log lines), so "
			       "the regex runs on most lines; require a more specific text",
			       lit);
		}
		if (o->verbose && !mt_matcher_is_costly(m, i)) {
			mt_matcher_literals(m, i, l);
			for (size_t k = 0; k < l->count; k++)
				fprintf(stderr, "%s: prefilter literal '%.*s'%s%.*s%s%s\n", s->id,
					(int)l->len[k], l->lit[k], l->also_len[k] ? " and '" : "",
					(int)l->also_len[k], l->also[k], l->also_len[k] ? "'" : "",
					l->also_set[k] ? " and a word of its set" : "");
			for (size_t k = 0; k < l->set2_count; k++)
				fprintf(stderr, "%s: prefilter set word '%.*s'\n", s->id,
					(int)l->set2_len[k], l->set2[k]);
		}
		if (s->nex_match == 0)
			report(&warnings, "warning", s, NULL,
			       "no example line under examples.match", NULL);
		for (size_t k = 0; k < s->nex_match + s->nex_no_match; k++) {
			bool want = k < s->nex_match;
			size_t j = want ? k : k - s->nex_match;
			const char *line = want ? s->ex_match[j] : s->ex_no_match[j];
			const struct mt_match *res;
			struct mt_logrec rec;
			size_t n;

			examples++;
			mt_logline_parse(line, strlen(line), &rec);
			n = mt_matcher_run(m, line, strlen(line), rec.mta, &res);
			if (matched_by(res, n, s) != want)
				report(&errors, "error", s,
				       example_node(s, want ? "match" : "no_match", j),
				       want ? "example does not match" : "near miss matches", line);
			else if (want && res[0].sig != s && o->verbose)
				report(&warnings, "note", s, example_node(s, "match", j),
				       "example matches but a more specific signature wins", line);
		}
	}
	errors += catalog_errors;
	printf("checked %zu signature%s and %zu example line%s: %zu error%s, %zu warning%s, %zu "
	       "costly\n",
	       mt_catalog_count(c), plural(mt_catalog_count(c)), examples, plural(examples), errors,
	       plural(errors), warnings, plural(warnings), costly);
	free(l);
	mt_matcher_free(m);
	mt_catalog_free(c);
	if (pre_start && errors == catalog_errors && catalog_errors > 0) {
		printf("--pre-start: the daemon will run without the signature files in error\n");
		return 0;
	}
	return errors ? EX_CONFIG : 0;
}

int
cmd_check(struct cli *o, int argc, char **argv)
{
	int r = run_check(o, argc, argv);

	/* The signature directories taken from the configuration are copies of ours. */
	for (size_t i = 0; o->sig_paths_copied && i < o->nsig_paths; i++)
		free((char *)o->sig_paths[i]);
	if (o->sig_paths_copied)
		o->nsig_paths = 0;
	o->sig_paths_copied = false;
	return r;
}
