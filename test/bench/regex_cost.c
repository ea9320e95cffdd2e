/*
 * regex_cost - which records' regexes cost the most on the lines they match.
 *
 * For every line of the given files, the matcher runs once; then every
 * record it reported is run again alone, REPEAT times, and the thread CPU
 * time is charged to that record.  Prints the records by total cost (and
 * cost per matched line), so a regex rewrite can start with the worst one.
 * Figures are relative (a shared machine): compare records, not runs.
 *
 * Under valgrind --tool=callgrind with --callgrind, each record's regex runs
 * once over the lines it matched between CALLGRIND_ZERO_STATS and
 * CALLGRIND_DUMP_STATS_AT("regex_cost id=ID lines=N"): instructions per
 * record, repeatable on a busy machine (callgrind_annotate each dump).
 *
 * usage: regex_cost [--callgrind] SIGNATURES_DIR REPEAT FILE...
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND 1
#endif
#endif

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "match/catalog.h"
#include "match/matcher.h"

struct cost {
	size_t sig;
	double ns;
	size_t lines;
	char **line; /* --callgrind: the lines it matched */
	size_t *len;
};

static double
cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
by_cost(const void *a, const void *b)
{
	const struct cost *x = a, *y = b;

	return x->ns < y->ns ? 1 : x->ns > y->ns ? -1 : 0;
}

int
main(int argc, char **argv)
{
	const char *paths[1];
	struct mt_diag d;
	struct mt_catalog *c;
	struct mt_matcher *m;
	struct cost *cost;
	pcre2_match_data *md;
	size_t n, repeat, total_lines = 0, matched_lines = 0;
	double total = 0;
	bool callgrind = argc > 1 && strcmp(argv[1], "--callgrind") == 0;

	if (callgrind) {
		argv++;
		argc--;
	}
	if (argc < 4) {
		fprintf(stderr, "usage: regex_cost SIGNATURES_DIR REPEAT FILE...\n");
		return 64;
	}
	paths[0] = argv[1];
	repeat = strtoul(argv[2], NULL, 10);
	mt_diag_init(&d);
	c = mt_catalog_load(paths, 1, &d);
	if (d.errors)
		return 1;
	mt_diag_fini(&d);
	n = mt_catalog_count(c);
	m = mt_matcher_new(c);
	cost = calloc(n, sizeof(*cost));
	md = pcre2_match_data_create(MT_CAPTURES_MAX + 1, NULL);
	if (cost == NULL || md == NULL)
		return 1;
	for (size_t i = 0; i < n; i++)
		cost[i].sig = i;
	for (int a = 3; a < argc; a++) {
		FILE *f = fopen(argv[a], "rb");
		char *line = NULL;
		size_t cap = 0;
		ssize_t len;

		if (f == NULL) {
			perror(argv[a]);
			return 1;
		}
		while ((len = getline(&line, &cap, f)) > 0) {
			const struct mt_match *res;
			size_t k;

			if (line[len - 1] == '\n')
				len--;
			total_lines++;
			k = mt_matcher_run(m, line, (size_t)len, MT_MTA_UNKNOWN, &res);
			matched_lines += k > 0;
			for (size_t j = 0; j < k; j++) {
				const struct mt_signature *s = res[j].sig;
				double t0 = cpu_ns(), dt;

				for (size_t r = 0; r < repeat; r++)
					(void)pcre2_match(s->code, (PCRE2_SPTR)line, (size_t)len, 0,
							  0, md, NULL);
				dt = (cpu_ns() - t0) / (double)repeat;
				cost[s->index].ns += dt;
				total += dt;
				if (callgrind) {
					struct cost *e = &cost[s->index];

					e->line =
						realloc(e->line, (e->lines + 1) * sizeof(*e->line));
					e->len = realloc(e->len, (e->lines + 1) * sizeof(*e->len));
					if (e->line == NULL || e->len == NULL)
						abort();
					e->line[e->lines] = strndup(line, (size_t)len);
					e->len[e->lines] = (size_t)len;
				}
				cost[s->index].lines++;
			}
		}
		free(line);
		fclose(f);
	}
#ifdef HAVE_CALLGRIND
	for (size_t i = 0; i < n && callgrind; i++) {
		const struct mt_signature *s = mt_catalog_get(c, i);
		char label[300];

		if (cost[i].lines == 0)
			continue;
		snprintf(label, sizeof(label), "regex_cost id=%s lines=%zu", s->id, cost[i].lines);
		CALLGRIND_ZERO_STATS;
		for (size_t j = 0; j < cost[i].lines; j++)
			(void)pcre2_match(s->code, (PCRE2_SPTR)cost[i].line[j], cost[i].len[j], 0,
					  0, md, NULL);
		CALLGRIND_DUMP_STATS_AT(label);
	}
#endif
	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < cost[i].lines && cost[i].line != NULL; j++)
			free(cost[i].line[j]);
		free(cost[i].line);
		free(cost[i].len);
		cost[i].line = NULL;
	}
	qsort(cost, n, sizeof(*cost), by_cost);
	printf("%zu lines, %zu matched; %.0f ns of matching regex runs in all (%.0f per matched "
	       "line)\n",
	       total_lines, matched_lines, total,
	       matched_lines ? total / (double)matched_lines : 0);
	printf("%-52s %7s %10s %8s %6s\n", "record", "lines", "total ns", "ns/line", "share");
	for (size_t i = 0; i < n && cost[i].lines > 0; i++)
		printf("%-52s %7zu %10.0f %8.0f %5.1f%%\n", mt_catalog_get(c, cost[i].sig)->id,
		       cost[i].lines, cost[i].ns, cost[i].ns / (double)cost[i].lines,
		       100.0 * cost[i].ns / total);
	pcre2_match_data_free(md);
	free(cost);
	mt_matcher_free(m);
	mt_catalog_free(c);
	return 0;
}
