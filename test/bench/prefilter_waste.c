/*
 * prefilter_waste - which records' prefilter literals let through lines
 * their regex then rejects: for every record, over every line of the given
 * logs, the lines its literal selects (candidates), the regex runs (after
 * the MTA filter, as the daemon does) and the matches; sorted by wasted
 * runs (runs that do not match) per line, with the literals, so the weakest
 * literals of the catalog are named.
 *
 * It applies the matcher's prefilter rule itself (a literal of the record in
 * the line, without case, and that literal's second literal too; a record
 * without literal is a candidate everywhere) to count per record.
 *
 * With -t, sorted by the CPU time of the record's regex runs instead (ns per
 * line of input, wasted and matching runs apart): where the matcher's time
 * goes.  Times are noisy; the counts are exact.
 *
 * usage: prefilter_waste [-n TOP] [-t] SIGNATURES_DIR LOG_FILE_OR_DIR...
 * Files named *.labels, *.md, *.tsv, *.yaml and *.json in directories are skipped.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "match/catalog.h"
#include "match/literal.h"
#include "parse/logline.h"

struct rec {
	size_t i;
	unsigned long long cand, runs, matches;
	double ns_wasted, ns_matched; /* thread CPU time in the regex runs */
};

struct state {
	const struct mt_catalog *c;
	struct mt_literals *lits;
	struct rec *r;
	pcre2_match_data *md;
	unsigned long long lines;
	char *low;
	size_t low_cap;
};

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static bool
contains(const char *low, size_t len, const char *lit, size_t n)
{
	return n == 0 || memmem(low, len, lit, n) != NULL;
}

static void
one_line(struct state *st, const char *p, size_t len)
{
	struct mt_logrec rec;

	if (len + 1 > st->low_cap) {
		st->low_cap = len + 1;
		st->low = realloc(st->low, st->low_cap);
		if (st->low == NULL)
			abort();
	}
	for (size_t i = 0; i < len; i++)
		st->low[i] = p[i] >= 'A' && p[i] <= 'Z' ? (char)(p[i] - 'A' + 'a') : p[i];
	mt_logline_parse(p, len, &rec);
	st->lines++;
	for (size_t s = 0; s < mt_catalog_count(st->c); s++) {
		const struct mt_literals *l = &st->lits[s];
		const struct mt_signature *sig = mt_catalog_get(st->c, s);
		bool cand = l->count == 0;

		for (size_t k = 0; k < l->count && !cand; k++) {
			cand = contains(st->low, len, l->lit[k], l->len[k]) &&
			       contains(st->low, len, l->also[k], l->also_len[k]);
			if (cand && l->also_set[k]) {
				cand = false;
				for (size_t j = 0; j < l->set2_count && !cand; j++)
					cand = contains(st->low, len, l->set2[j], l->set2_len[j]);
			}
		}
		if (!cand)
			continue;
		st->r[s].cand++;
		if (rec.mta != MT_MTA_UNKNOWN && sig->mta_mask != 0 &&
		    !(sig->mta_mask & (1u << rec.mta)))
			continue;
		{
			double t0 = now_ns(), dt;
			int rc = pcre2_match(sig->code, (PCRE2_SPTR)p, len, 0, 0, st->md, NULL);

			dt = now_ns() - t0;
			st->r[s].runs++;
			if (rc >= 0) {
				st->r[s].matches++;
				st->r[s].ns_matched += dt;
			} else {
				st->r[s].ns_wasted += dt;
			}
		}
	}
}

static void
one_file(struct state *st, const char *path)
{
	FILE *f = fopen(path, "rb");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		if (line[n - 1] == '\n')
			n--;
		one_line(st, line, (size_t)n);
	}
	free(line);
	fclose(f);
}

static bool
skipped(const char *name)
{
	static const char *const ext[] = { ".labels", ".md", ".tsv", ".yaml", ".json" };
	size_t len = strlen(name);

	if (name[0] == '.')
		return true;
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++)
		if (len > strlen(ext[i]) && strcmp(name + len - strlen(ext[i]), ext[i]) == 0)
			return true;
	return false;
}

static void
walk(struct state *st, const char *path, int depth)
{
	struct stat sb;
	DIR *d;
	struct dirent *de;

	if (stat(path, &sb) != 0) {
		perror(path);
		exit(1);
	}
	if (!S_ISDIR(sb.st_mode)) {
		one_file(st, path);
		return;
	}
	if (depth > 6 || (d = opendir(path)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char sub[4096];

		if (skipped(de->d_name))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		walk(st, sub, depth + 1);
	}
	closedir(d);
}

static bool sort_by_time;

static int
by_waste(const void *a, const void *b)
{
	if (sort_by_time) {
		const struct rec *x = a, *y = b;
		double tx = x->ns_wasted + x->ns_matched, ty = y->ns_wasted + y->ns_matched;

		return tx < ty ? 1 : tx > ty ? -1 : 0;
	}
	const struct rec *x = a, *y = b;
	unsigned long long wx = x->runs - x->matches, wy = y->runs - y->matches;

	return wx < wy ? 1 : wx > wy ? -1 : (x->i > y->i) - (x->i < y->i);
}

int
main(int argc, char **argv)
{
	struct state st = { 0 };
	struct mt_diag d;
	const char *sigdir[1];
	struct mt_catalog *c;
	size_t top = 25, n;
	unsigned long long cand = 0, runs = 0, matches = 0;
	int a = 1;

	for (;;) {
		if (argc > a + 1 && strcmp(argv[a], "-n") == 0) {
			top = strtoul(argv[a + 1], NULL, 10);
			a += 2;
		} else if (argc > a && strcmp(argv[a], "-t") == 0) {
			sort_by_time = true;
			a++;
		} else {
			break;
		}
	}
	if (argc - a < 2) {
		fprintf(stderr,
			"usage: prefilter_waste [-n TOP] [-t] SIGNATURES_DIR LOG_FILE_OR_DIR...\n");
		return 64;
	}
	sigdir[0] = argv[a];
	mt_diag_init(&d);
	c = mt_catalog_load(sigdir, 1, &d);
	if (c == NULL || d.errors) {
		fprintf(stderr, "prefilter_waste: the catalog has errors; run mtalertd check\n");
		return 1;
	}
	mt_diag_fini(&d);
	n = mt_catalog_count(c);
	st.c = c;
	st.lits = calloc(n ? n : 1, sizeof(*st.lits));
	st.r = calloc(n ? n : 1, sizeof(*st.r));
	st.md = pcre2_match_data_create(64, NULL);
	if (st.lits == NULL || st.r == NULL || st.md == NULL)
		abort();
	for (size_t i = 0; i < n; i++) {
		const struct mt_signature *s = mt_catalog_get(c, i);

		mt_literal_extract(s->regex, strlen(s->regex), &st.lits[i]);
		st.r[i].i = i;
	}
	for (int i = a + 1; i < argc; i++)
		walk(&st, argv[i], 0);
	for (size_t i = 0; i < n; i++) {
		cand += st.r[i].cand;
		runs += st.r[i].runs;
		matches += st.r[i].matches;
	}
	printf("%llu lines, %zu records: %.3f candidates, %.3f regex runs, %.3f wasted runs per "
	       "line\n\n",
	       st.lines, n, (double)cand / (double)(st.lines ? st.lines : 1),
	       (double)runs / (double)(st.lines ? st.lines : 1),
	       (double)(runs - matches) / (double)(st.lines ? st.lines : 1));
	qsort(st.r, n, sizeof(*st.r), by_waste);
	printf("%-9s %-9s %-7s %-8s %-8s %s\n", "wasted/ln", "cand/ln", "matches", "ns/ln:w",
	       "ns/ln:m", "record: literals");
	for (size_t k = 0; k < n && k < top; k++) {
		const struct rec *r = &st.r[k];
		const struct mt_literals *l = &st.lits[r->i];

		if (r->runs == r->matches && !sort_by_time)
			break;
		printf("%9.4f %9.4f %7llu %8.1f %8.1f %s:",
		       (double)(r->runs - r->matches) / (double)st.lines,
		       (double)r->cand / (double)st.lines, r->matches,
		       r->ns_wasted / (double)st.lines, r->ns_matched / (double)st.lines,
		       mt_catalog_get(c, r->i)->id);
		if (l->count == 0)
			printf(" (none: costly)");
		for (size_t j = 0; j < l->count; j++)
			printf(" '%.*s'%s%.*s%s%s", (int)l->len[j], l->lit[j],
			       l->also_len[j] ? "+'" : "", (int)l->also_len[j], l->also[j],
			       l->also_len[j] ? "'" : "", l->also_set[j] ? "+set2" : "");
		if (l->set2_count > 0) {
			printf(" set2:");
			for (size_t j = 0; j < l->set2_count; j++)
				printf(" '%.*s'", (int)l->set2_len[j], l->set2[j]);
		}
		printf("\n");
	}
	pcre2_match_data_free(st.md);
	free(st.low);
	free(st.lits);
	free(st.r);
	mt_catalog_free(c);
	return 0;
}
