/*
 * test, list, show - explain a line, list the catalog, render a signature.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "cli/cli.h"
#include "log.h"
#include "match/matcher.h"
#include "parse/logline.h"
#include "util.h"
#include "util/json.h"
#include "util/xalloc.h"

/* Print untrusted text cleaned for the terminal. */
static void
print_clean(const char *p, size_t len, size_t max)
{
	struct mt_buf b;

	mt_buf_init(&b, max * 4 + 8);
	if (mt_text_clean(&b, p, len, max) == 1)
		(void)mt_buf_puts(&b, "...");
	fputs(b.data, stdout);
	mt_buf_fini(&b);
}

static int
parse_args(struct cli *o, int argc, char **argv, const char **args, size_t max, size_t *nargs)
{
	*nargs = 0;
	for (int i = 1; i < argc; i++) {
		int r = cli_common_option(o, argc, argv, &i);

		if (r < 0)
			return -1;
		if (r > 0)
			continue;
		if (*nargs == max) {
			log_error("%s: too many arguments", argv[0]);
			return -1;
		}
		args[(*nargs)++] = argv[i];
	}
	return 0;
}

int
cmd_test(struct cli *o, int argc, char **argv)
{
	const char *lines[256];
	size_t nlines;
	struct mt_catalog *c;
	struct mt_matcher *m;
	int status = 1; /* like grep: 1 when nothing matched */

	if (parse_args(o, argc, argv, lines, 256, &nlines) < 0)
		return EX_USAGE;
	if (nlines == 0) {
		log_error("usage: mtalertd test 'LOG LINE' ...");
		return EX_USAGE;
	}
	if ((c = cli_load_catalog(o, NULL)) == NULL)
		return EX_CONFIG;
	m = mt_matcher_new(c);
	for (size_t k = 0; k < nlines; k++) {
		const char *line = lines[k];
		size_t len = strlen(line), n;
		const struct mt_match *res;
		struct mt_logrec rec;

		mt_logline_parse(line, len, &rec);
		printf("line: ");
		print_clean(line, len, 2000);
		printf("\nparsed as %s (%s)\n", mt_logfmt_name(rec.fmt), mt_mta_name(rec.mta));
		for (int f = 0; f < MT_F__COUNT; f++) {
			if (rec.f[f].len == 0)
				continue;
			printf("  %-12s ", mt_field_name((enum mt_field)f));
			print_clean(rec.f[f].p, rec.f[f].len, 300);
			putchar('\n');
		}
		n = mt_matcher_run(m, line, len, rec.mta, &res);
		if (n == 0)
			printf("no signature matches\n");
		for (size_t i = 0; i < n; i++) {
			const struct mt_signature *s = res[i].sig;

			printf("%s %s (specificity %d, %s)\n  %s\n", i == 0 ? "MATCH" : "also ",
			       s->id, s->specificity, mt_severity_name(s->severity),
			       mt_sig_title(s, o->locale));
			for (size_t j = 0; j < res[i].ncaptures; j++) {
				printf("  capture %-12s ", res[i].captures[j].name);
				print_clean(res[i].captures[j].v.p, res[i].captures[j].v.len, 300);
				putchar('\n');
			}
			if (i == 0 && s->nworkarounds)
				printf("  fix (%.0f%%, %s): %s\n",
				       s->workarounds[0].success_rate * 100,
				       s->workarounds[0].nverified_by > 0 ? "verified" : "estimate",
				       mt_workaround_action(&s->workarounds[0], o->locale));
			status = 0;
		}
		if (k + 1 < nlines)
			putchar('\n');
	}
	mt_matcher_free(m);
	mt_catalog_free(c);
	return status;
}

static int
by_category(const void *a, const void *b)
{
	const struct mt_signature *x = *(const struct mt_signature *const *)a;
	const struct mt_signature *y = *(const struct mt_signature *const *)b;
	int r = strcmp(x->category, y->category);

	return r ? r : strcmp(x->id, y->id);
}

int
cmd_list(struct cli *o, int argc, char **argv)
{
	const char *args[1];
	size_t nargs, n;
	struct mt_catalog *c;
	const struct mt_signature **v;

	if (parse_args(o, argc, argv, args, 0, &nargs) < 0)
		return EX_USAGE;
	if ((c = cli_load_catalog(o, NULL)) == NULL)
		return EX_CONFIG;
	n = mt_catalog_count(c);
	v = mt_xcalloc(n, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = mt_catalog_get(c, i);
	qsort(v, n, sizeof(*v), by_category);
	for (size_t i = 0; i < n; i++) {
		size_t same = 0;

		if (i == 0 || strcmp(v[i]->category, v[i - 1]->category) != 0) {
			while (i + same < n && strcmp(v[i + same]->category, v[i]->category) == 0)
				same++;
			printf("%s%s (%zu)\n", i ? "\n" : "", v[i]->category, same);
		}
		printf("  %-56s %-8s %s\n", v[i]->id, mt_severity_name(v[i]->severity),
		       mt_sig_title(v[i], o->locale));
	}
	printf("\n%zu signature%s\n", n, plural(n));
	free(v);
	mt_catalog_free(c);
	return 0;
}

static const char *
or_dash(const char *s)
{
	return s && *s ? s : "—";
}

static void
show_markdown(const struct mt_signature *s, enum mt_locale l)
{
	printf("# %s\n\n", mt_sig_title(s, l));
	if (strcmp(s->title, s->signature) != 0)
		printf("`%s`\n\n", s->signature);
	printf("- **ID:** `%s`\n", s->id);
	printf("- **Domain:** %s\n- **Category:** %s\n", s->domain, s->category);
	if (s->error_code)
		printf("- **Error Code:** `%s`\n", s->error_code);
	printf("- **Severity:** %s\n", mt_severity_name(s->severity));
	printf("- **Applies to:** ");
	if (s->mta_mask == 0)
		printf("any MTA");
	for (int m = MT_MTA_POSTFIX, first = 1; m < MT_MTA__COUNT; m++)
		if (s->mta_mask & (1u << m)) {
			printf("%s%s", first ? "" : ", ", mt_mta_name((enum mt_mta)m));
			first = 0;
		}
	printf("\n");
	if (s->verification_tier)
		printf("- **Verification:** %s\n", s->verification_tier);
	if (s->nreproduced_by > 0) {
		printf("- **Reproduced by the scenario farm:** ");
		for (size_t i = 0; i < s->nreproduced_by; i++)
			printf("%s%s", i ? ", " : "", s->reproduced_by[i]);
		printf("\n");
	}
	if (s->fix_success_rate >= 0)
		printf("- **Fix Rate:** %.0f%% (estimate)\n", s->fix_success_rate * 100);
	if (s->confidence >= 0)
		printf("- **Confidence:** %.0f%%\n", s->confidence * 100);

	printf("\n## %s\n\n%s\n", l == MT_LOCALE_ZH ? "根本原因 (Root Cause)" : "Root Cause",
	       mt_sig_root_cause(s, l));
	if (s->nversions) {
		printf("\n## Version Compatibility\n\n| Version | Status | Introduced | Deprecated |\n"
		       "|---------|--------|------------|------------|\n");
		for (size_t i = 0; i < s->nversions; i++)
			printf("| %s | %s | %s | %s |\n", s->versions[i].version,
			       or_dash(s->versions[i].status), or_dash(s->versions[i].introduced),
			       or_dash(s->versions[i].deprecated));
	}
	printf("\n## %s\n\n", l == MT_LOCALE_ZH ? "解决方法 (Workarounds)" : "Workarounds");
	for (size_t i = 0; i < s->nworkarounds; i++) {
		const struct mt_workaround *w = &s->workarounds[i];

		printf("%zu. **%s** (%.0f%% success, %s)\n", i + 1, mt_workaround_action(w, l),
		       w->success_rate * 100, w->nverified_by > 0 ? "verified" : "estimate");
		if (w->how && strcmp(w->how, w->action) != 0) {
			/* Every line indented, so the block stays inside its list item. */
			printf("   ```\n   ");
			for (const char *c = w->how; *c; c++) {
				putchar(*c);
				if (*c == '\n' && c[1] != '\0')
					fputs("   ", stdout);
			}
			printf("\n   ```\n");
		}
		if (w->condition && *w->condition)
			printf("   Only when: %s\n", w->condition);
		if (w->nverified_by > 0) {
			printf("   verified by the farm: ");
			for (size_t j = 0; j < w->nverified_by; j++)
				printf("%s%s", j ? ", " : "", w->verified_by[j]);
			printf("\n");
		}
	}
	if (s->ndead_ends) {
		printf("\n## Dead Ends\n\n");
		for (size_t i = 0; i < s->ndead_ends; i++)
			printf("- **%s** (fails %.0f%%): %s\n", s->dead_ends[i].action,
			       s->dead_ends[i].fail_rate * 100, or_dash(s->dead_ends[i].why_fails));
	}
	if (s->official_doc_url)
		printf("\n## Official Documentation\n\n%s\n", s->official_doc_url);
	if (s->source_url && (!s->official_doc_url || strcmp(s->source_url, s->official_doc_url)))
		printf("\nSource: %s\n", s->source_url);
	printf("\n## Matching\n\nRegex: `%s`\n", s->regex);
	if (s->nex_match) {
		printf("\nExample log lines:\n\n```\n");
		for (size_t i = 0; i < s->nex_match; i++)
			printf("%s\n", s->ex_match[i]);
		printf("```\n");
	}
}

int
cmd_show(struct cli *o, int argc, char **argv)
{
	const char *ids[64];
	size_t nids;
	struct mt_catalog *c;
	int status = 0;

	if (parse_args(o, argc, argv, ids, 64, &nids) < 0)
		return EX_USAGE;
	if (nids == 0) {
		log_error("usage: mtalertd show ID ...");
		return EX_USAGE;
	}
	if ((c = cli_load_catalog(o, NULL)) == NULL)
		return EX_CONFIG;
	for (size_t i = 0; i < nids; i++) {
		const struct mt_signature *s = mt_catalog_find(c, ids[i]);

		if (s == NULL) {
			log_error("no signature with id '%.200s' (see 'mtalertd list')", ids[i]);
			status = EX_DATAERR;
			continue;
		}
		if (i)
			printf("\n---\n\n");
		show_markdown(s, o->locale);
	}
	mt_catalog_free(c);
	return status;
}
