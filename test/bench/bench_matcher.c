/*
 * bench_matcher - lines/s for the matcher alone and for the whole scan
 * pipeline (parse, match, render the alert JSON), with the shipped catalog
 * and with the catalog padded to 1,000 signatures by synthetic ones, next to
 * a naive loop that tries every PCRE2-JIT regex on every line, all measured
 * in the same run on the same lines.  Figures are thread CPU time, best of
 * several rounds; compare the ratios, not the absolute numbers, on a shared
 * machine.
 *
 * The input is the real production slice helga-slice.log (which holds no
 * error line at all) with one error line in fifty mixed in, taken round-robin
 * from the error lines of the rest of the public corpus, so that about 2 % of
 * lines are errors as in a real mail log.
 *
 * With --baseline DIR, an older catalog (say the one before the catalog grew:
 * test/bench/catalog_growth.sh extracts it from git) is measured instead, in
 * the same run on the same lines, so "the matcher stays flat" is a ratio, not
 * a memory.  A grown catalog recognises more lines, and a recognised line
 * costs more (its regex runs to the end, the alert is rendered), so the
 * lines are split by what the two catalogs recognise: the lines neither
 * recognises measure pure waste (the prefilter and the candidate regex runs
 * that fail), the lines both recognise measure the same real work.  Each
 * part also reports wasted regex runs per line (runs that do not match).
 *
 * MT_BENCH_PARTS_DIR=DIR writes each part's lines to DIR/part-KEY.log (for
 * prefilter_waste: which records cost what on which part).
 *
 * With --callgrind (under valgrind --tool=callgrind), every measurement is
 * one pass between CALLGRIND_ZERO_STATS and CALLGRIND_DUMP_STATS_AT, so
 * catalog_growth.sh can print instruction counts per line: repeatable
 * figures on a noisy machine.
 *
 * usage: bench_matcher [--quick] [--baseline DIR [--callgrind]] SIGNATURES_DIR CORPUS_DIR
 *        [TOTAL_SIGNATURES]
 */
#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND 1
#endif
#endif

#include "alert/alert.h"
#include "match/catalog.h"
#include "match/matcher.h"
#include "parse/logline.h"
#include "util/buf.h"

struct lines {
	char *data;
	size_t *off, *len;
	size_t n;
	size_t bytes;
};

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
add_line(struct lines *l, const char *p, size_t len, size_t *alloc_lines, size_t *alloc_bytes)
{
	if (l->n == *alloc_lines) {
		*alloc_lines = *alloc_lines ? *alloc_lines * 2 : 1024;
		l->off = realloc(l->off, *alloc_lines * sizeof(size_t));
		l->len = realloc(l->len, *alloc_lines * sizeof(size_t));
	}
	while (l->bytes + len + 1 > *alloc_bytes) {
		*alloc_bytes = *alloc_bytes ? *alloc_bytes * 2 : 65536;
		l->data = realloc(l->data, *alloc_bytes);
	}
	if (l->off == NULL || l->len == NULL || l->data == NULL)
		abort();
	memcpy(l->data + l->bytes, p, len);
	l->data[l->bytes + len] = '\n';
	l->off[l->n] = l->bytes;
	l->len[l->n++] = len;
	l->bytes += len + 1;
}

/* Call fn for every line of a file. */
static void
each_line(const char *path, void (*fn)(void *, const char *, size_t), void *ctx)
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
		fn(ctx, line, (size_t)n);
	}
	free(line);
	fclose(f);
}

struct collect {
	struct lines *l;
	size_t alloc_lines, alloc_bytes;
	bool errors_only;
};

static bool is_error_line(const char *p, size_t len);

static void
collect_line(void *ctx, const char *p, size_t len)
{
	struct collect *c = ctx;

	if (!c->errors_only || is_error_line(p, len))
		add_line(c->l, p, len, &c->alloc_lines, &c->alloc_bytes);
}

/* Error lines of every *.log under dir except the base file. */
static void
collect_errors(const char *dir, const char *skip, struct collect *c, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (d == NULL || depth > 3)
		return;
	while ((de = readdir(d)) != NULL) {
		char path[2048];
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR)
			collect_errors(path, skip, c, depth + 1);
		else if (len > 4 && strcmp(de->d_name + len - 4, ".log") == 0 &&
			 strcmp(de->d_name, skip) != 0)
			each_line(path, collect_line, c);
	}
	closedir(d);
}

/* What a person would call an error line (the recall script's rule, simplified). */
static bool
is_error_line(const char *p, size_t len)
{
	static const char *const marks[] = {
		"status=deferred", "status=bounced", "warning:",  "fatal:",  "error:", "panic:",
		"reject:",	   " said: 4",	     " said: 5",  "NOQUEUE", " ** ",   " == ",
		"rejected",	   "defer (",	     "SMTP error"
	};

	for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++)
		if (memmem(p, len, marks[i], strlen(marks[i])) != NULL)
			return true;
	return false;
}

/* Synthetic signatures: realistic-looking texts that providers could log. */
static void
write_synthetic(const char *dir, size_t count)
{
	static const char *const words[] = { "policy",	"quota",     "reputation", "throttled",
					     "blocked", "suspended", "rejected",   "limit",
					     "tenant",	"relay",     "sender",	   "domain",
					     "inbound", "outbound",  "velocity",   "complaint" };
	unsigned seed = 42;

	for (size_t i = 0; i < count; i++) {
		char path[512], re[512];
		const char *w1 = words[rand_r(&seed) % 16], *w2 = words[rand_r(&seed) % 16];
		const char *w3 = words[rand_r(&seed) % 16];
		FILE *f;

		switch (i % 4) {
		case 0:
			snprintf(re, sizeof(re),
				 "said: 5\\d\\d[ -]5\\.7\\.\\d+ %s %s rule %s-%04zu", w1, w2, w3,
				 i);
			break;
		case 1:
			snprintf(re, sizeof(re),
				 "said: 4\\d\\d[ -]4\\.7\\.\\d+ .*%s %s error %04zu-%s", w1, w2, i,
				 w3);
			break;
		case 2:
			snprintf(re, sizeof(re),
				 "(?<relay>\\S+)\\[[^]]+\\] said: 550 .*%s %s code XR%04zu %s", w1,
				 w2, i, w3);
			break;
		default:
			snprintf(re, sizeof(re), "status=deferred \\(.*%s %s window TS%04zu %s", w1,
				 w2, i, w3);
			break;
		}
		snprintf(path, sizeof(path), "%s/synthetic-%04zu.yaml", dir, i);
		f = fopen(path, "w");
		if (f == NULL) {
			perror(path);
			exit(1);
		}
		fprintf(f,
			"id: bench/synthetic-%04zu\nsignature: synthetic %zu\nregex: '%s'\n"
			"domain: bench\ncategory: synthetic\nroot_cause: synthetic\n"
			"workarounds: [{action: none, success_rate: 0.5}]\n",
			i, i, re);
		fclose(f);
	}
}

enum mode {
	MATCH_ONLY,
	PIPELINE,
};

/* Lines per second of thread CPU time; best of `rounds`. */
static double
measure(struct mt_matcher *m, const struct lines *l, size_t repeat, int rounds, enum mode mode,
	size_t *ret_alerts, struct mt_alert_cache *cache)
{
	double best = 0;
	struct mt_buf out;

	mt_buf_init(&out, MT_ALERT_JSON_MAX);
	for (int r = 0; r < rounds; r++) {
		double t0 = cpu_now(), dt;
		size_t alerts = 0;

		for (size_t k = 0; k < repeat; k++)
			for (size_t i = 0; i < l->n; i++) {
				const char *p = l->data + l->off[i];
				const struct mt_match *res;
				struct mt_logrec rec;
				size_t n;

				if (mode == MATCH_ONLY) {
					n = mt_matcher_run(m, p, l->len[i], MT_MTA_UNKNOWN, &res);
					alerts += n > 0;
					continue;
				}
				mt_logline_parse(p, l->len[i], &rec);
				n = mt_matcher_run(m, p, l->len[i], rec.mta, &res);
				if (n > 0) {
					struct mt_alert a = { .match = res,
							      .others = res + 1,
							      .nothers = n - 1,
							      .rec = &rec,
							      .line = p,
							      .len = l->len[i],
							      .file = "bench",
							      .offset = l->off[i],
							      .lineno = i + 1,
							      .cache = cache };

					mt_buf_reset(&out);
					(void)mt_alert_json(&out, &a);
					alerts++;
				}
			}
		dt = cpu_now() - t0;
		if (dt > 0 && (double)(repeat * l->n) / dt > best)
			best = (double)(repeat * l->n) / dt;
		*ret_alerts = alerts / repeat; /* matching lines in one pass */
	}
	mt_buf_fini(&out);
	return best;
}

static double
measure_parser(const struct lines *l, size_t repeat, int rounds)
{
	double best = 0;
	volatile size_t sink = 0;

	for (int r = 0; r < rounds; r++) {
		double t0 = cpu_now(), dt;

		for (size_t k = 0; k < repeat; k++)
			for (size_t i = 0; i < l->n; i++) {
				struct mt_logrec rec;

				mt_logline_parse(l->data + l->off[i], l->len[i], &rec);
				sink += rec.f[MT_F_MESSAGE].len;
			}
		dt = cpu_now() - t0;
		if (dt > 0 && (double)(repeat * l->n) / dt > best)
			best = (double)(repeat * l->n) / dt;
	}
	(void)sink;
	return best;
}

static struct mt_catalog *
load(const char *const *paths, size_t n)
{
	struct mt_diag d;
	struct mt_catalog *c;

	mt_diag_init(&d);
	c = mt_catalog_load(paths, n, &d);
	if (d.errors) {
		fprintf(stderr, "bench: the catalog has %zu errors; run mtalertd check\n",
			d.errors);
		exit(1);
	}
	mt_diag_fini(&d);
	return c;
}

static void
row(const char *what, size_t nsig, double rate, double base)
{
	printf("%-34s %6zu %14.0f %10.2fx\n", what, nsig, rate, base > 0 ? rate / base : 0.0);
}

/*
 * --baseline: the old catalog (index 0) and today's (index 1) on the same
 * lines, split by what each recognises.
 */
enum {
	PART_ALL,
	PART_NEITHER,
	PART_BOTH,
	PART_TODAY_ONLY,
	NPARTS
};

static const char *const part_name[NPARTS] = { "all lines", "neither recognises", "both recognise",
					       "only today's recognises" };
static const char *const part_key[NPARTS] = { "all", "neither", "both", "today-only" };

struct part {
	struct lines l;
	size_t alloc_lines, alloc_bytes;
	double rate[2][2]; /* [mode][catalog], best of the rounds */
	double cand[2], wasted[2];
};

/* Candidates and failed regex runs per line of one pass (the stats' difference). */
static void
waste(struct mt_matcher *m, const struct lines *l, double *ret_cand, double *ret_wasted)
{
	struct mt_matcher_stats a = *mt_matcher_stats(m), b;

	for (size_t i = 0; i < l->n; i++) {
		const struct mt_match *res;

		(void)mt_matcher_run(m, l->data + l->off[i], l->len[i], MT_MTA_UNKNOWN, &res);
	}
	b = *mt_matcher_stats(m);
	*ret_cand = l->n ? (double)(b.candidates - a.candidates) / (double)l->n : 0;
	*ret_wasted = l->n ? (double)((b.regex_runs - a.regex_runs) - (b.matches - a.matches)) /
				      (double)l->n :
			     0;
}

static double
ratio(double today, double base)
{
	return base > 0 ? today / base : 0.0;
}

/* Per-line counts of both catalogs; the ratio only where the baseline's is not 0. */
static void
stat_row(const char *lines, const char *what, const double v[2])
{
	if (v[0] > 0)
		printf("%-24s %6s  %-26s %12.2f %12.2f %7.2fx\n", lines, "", what, v[0], v[1],
		       v[1] / v[0]);
	else
		printf("%-24s %6s  %-26s %12.2f %12.2f %8s\n", lines, "", what, v[0], v[1], "-");
}

static int
growth(const struct lines *l, const char *sigdir, const char *baseline, bool quick, bool callgrind)
{
	const char *paths[2] = { baseline, sigdir };
	static const char *const cat_key[2] = { "baseline", "today" };
	static const char *const mode_key[2] = { "matcher", "pipeline" };
	struct mt_catalog *cat[2];
	struct mt_matcher *m[2];
	struct mt_alert_cache *cache[2];
	struct part *part = calloc(NPARTS, sizeof(*part));
	size_t only_old = 0;
	int rounds = quick || callgrind ? 1 : 3;

	if (part == NULL)
		abort();
	for (int c = 0; c < 2; c++) {
		cat[c] = load(&paths[c], 1);
		m[c] = mt_matcher_new(cat[c]);
		cache[c] = mt_alert_cache_new(mt_catalog_count(cat[c]));
	}
	for (size_t i = 0; i < l->n; i++) {
		const char *p = l->data + l->off[i];
		const struct mt_match *res;
		bool old = mt_matcher_run(m[0], p, l->len[i], MT_MTA_UNKNOWN, &res) > 0;
		bool now = mt_matcher_run(m[1], p, l->len[i], MT_MTA_UNKNOWN, &res) > 0;
		int k = old && now   ? PART_BOTH :
			!old && !now ? PART_NEITHER :
			now	     ? PART_TODAY_ONLY :
				       -1;

		add_line(&part[PART_ALL].l, p, l->len[i], &part[PART_ALL].alloc_lines,
			 &part[PART_ALL].alloc_bytes);
		if (k < 0)
			only_old++;
		else
			add_line(&part[k].l, p, l->len[i], &part[k].alloc_lines,
				 &part[k].alloc_bytes);
	}
	printf("mtalert matcher benchmark: catalog growth%s\n",
	       quick	 ? " (--quick: one short round, figures not meaningful)" :
	       callgrind ? " (--callgrind: one pass per measurement, instructions below)" :
			   "");
	printf("baseline %s: %zu signatures; today %s: %zu signatures\n", baseline,
	       mt_catalog_count(cat[0]), sigdir, mt_catalog_count(cat[1]));
	printf("%zu lines: %zu recognised by neither, %zu by both, %zu by today's only, %zu by "
	       "the baseline's only\n",
	       l->n, part[PART_NEITHER].l.n, part[PART_BOTH].l.n, part[PART_TODAY_ONLY].l.n,
	       only_old);

	for (int k = 0; k < NPARTS; k++)
		for (int c = 0; c < 2; c++)
			waste(m[c], &part[k].l, &part[k].cand[c], &part[k].wasted[c]);
	/* MT_BENCH_PARTS_DIR: each part's lines as part-KEY.log, for prefilter_waste. */
	for (int k = 0; k < NPARTS && getenv("MT_BENCH_PARTS_DIR") != NULL; k++) {
		char path[4096];
		FILE *f;

		snprintf(path, sizeof(path), "%s/part-%s.log", getenv("MT_BENCH_PARTS_DIR"),
			 part_key[k]);
		f = fopen(path, "w");
		if (f == NULL || fwrite(part[k].l.data, 1, part[k].l.bytes, f) != part[k].l.bytes ||
		    fclose(f) != 0)
			perror(path);
	}

	for (int k = 0; k < NPARTS && !callgrind; k++) {
		/* About half a second per matcher measurement; interleaved so drift shows in both. */
		size_t repeat = quick ? 1 : 1000000 / (part[k].l.n + 1) + 1;

		if (part[k].l.n == 0)
			continue;
		for (int mode = 0; mode < 2; mode++)
			for (int r = 0; r < rounds; r++)
				for (int c = 0; c < 2; c++) {
					size_t alerts;
					double v = measure(m[c], &part[k].l, repeat, 1,
							   mode ? PIPELINE : MATCH_ONLY, &alerts,
							   mode ? cache[c] : NULL);

					if (v > part[k].rate[mode][c])
						part[k].rate[mode][c] = v;
				}
	}
#ifdef HAVE_CALLGRIND
	for (int k = 0; k < NPARTS && callgrind; k++)
		for (int mode = 0; mode < 2; mode++)
			for (int c = 0; c < 2; c++) {
				char label[160];
				size_t alerts;

				if (part[k].l.n == 0)
					continue;
				snprintf(label, sizeof(label),
					 "mtbench part=%s mode=%s catalog=%s lines=%zu",
					 part_key[k], mode_key[mode], cat_key[c], part[k].l.n);
				CALLGRIND_ZERO_STATS;
				(void)measure(m[c], &part[k].l, 1, 1, mode ? PIPELINE : MATCH_ONLY,
					      &alerts, mode ? cache[c] : NULL);
				CALLGRIND_DUMP_STATS_AT(label);
			}
#else
	if (callgrind)
		printf("built without valgrind/callgrind.h: no instruction counts\n");
#endif

	printf("\n%-24s %6s  %-26s %12s %12s %8s\n", "lines", "count", "figure", "baseline",
	       "today", "today/baseline");
	for (int k = 0; k < NPARTS; k++) {
		static const char *const fig[2] = { "matcher lines/s", "pipeline lines/s" };
		char count[32];

		if (part[k].l.n == 0)
			continue;
		snprintf(count, sizeof(count), "%zu", part[k].l.n);
		for (int mode = 0; mode < 2 && !callgrind; mode++)
			printf("%-24s %6s  %-26s %12.0f %12.0f %7.2fx\n", mode ? "" : part_name[k],
			       mode ? "" : count, fig[mode], part[k].rate[mode][0],
			       part[k].rate[mode][1],
			       ratio(part[k].rate[mode][1], part[k].rate[mode][0]));
		stat_row(callgrind ? part_name[k] : "", "candidates per line", part[k].cand);
		stat_row("", "wasted regex runs/line", part[k].wasted);
	}
	if (!callgrind)
		printf("\nflat: about 1.0x on the lines neither recognises (pure waste) and on the "
		       "lines both recognise (the same real work)\n");
	for (int c = 0; c < 2; c++) {
		mt_alert_cache_free(cache[c]);
		mt_matcher_free(m[c]);
		mt_catalog_free(cat[c]);
	}
	for (int k = 0; k < NPARTS; k++) {
		free(part[k].l.data);
		free(part[k].l.off);
		free(part[k].l.len);
	}
	free(part);
	if (quick)
		printf("1..1\nok 1 - growth benchmark runs\n");
	return 0;
}

int
main(int argc, char **argv)
{
	bool quick = argc > 1 && strcmp(argv[1], "--quick") == 0;
	const char *sigdir, *corpus, *baseline = NULL;
	char logfile[2048];
	struct lines base = { 0 }, errs = { 0 };
	char tmpdir[] = "/tmp/mt-bench-XXXXXX";
	size_t total, repeat, err_lines = 0, alerts, alerts_naive;
	struct lines l = { 0 };
	struct mt_catalog *small, *big;
	struct mt_matcher *ms, *mb, *ms_naive, *mb_naive;
	struct mt_alert_cache *cache_small, *cache_big;
	double r_small, r_small_naive, r_big, r_big_naive, p_small, p_big, parse;
	int rounds = quick ? 1 : 3;
	bool callgrind = false;

	if (quick) {
		argv++;
		argc--;
	}
	if (argc > 2 && strcmp(argv[1], "--baseline") == 0) {
		baseline = argv[2];
		argv += 2;
		argc -= 2;
		if (argc > 1 && strcmp(argv[1], "--callgrind") == 0) {
			callgrind = true;
			argv++;
			argc--;
		}
	}
	if (argc < 3) {
		fprintf(stderr, "usage: bench_matcher [--quick] [--baseline DIR [--callgrind]] "
				"SIGNATURES_DIR CORPUS_DIR [TOTAL]\n");
		return 64;
	}
	sigdir = argv[1];
	corpus = argv[2];
	total = argc > 3 ? strtoul(argv[3], NULL, 10) : 1000;
	snprintf(logfile, sizeof(logfile), "%s/pixelpark-postfix-logsums/helga-slice.log", corpus);
	{
		struct collect cb = { .l = &base }, ce = { .l = &errs, .errors_only = true };
		struct collect cl = { .l = &l };

		each_line(logfile, collect_line, &cb);
		collect_errors(corpus, "helga-slice.log", &ce, 0);
		if (base.n == 0 || errs.n == 0)
			return 1;
		/* 49 production lines, then one error line: 2 %. */
		for (size_t i = 0, e = 0; i < base.n; i++) {
			add_line(&l, base.data + base.off[i], base.len[i], &cl.alloc_lines,
				 &cl.alloc_bytes);
			if (i % 49 == 48) {
				add_line(&l, errs.data + errs.off[e], errs.len[e], &cl.alloc_lines,
					 &cl.alloc_bytes);
				e = (e + 1) % errs.n;
			}
		}
	}
	for (size_t i = 0; i < l.n; i++)
		err_lines += is_error_line(l.data + l.off[i], l.len[i]);
	if (baseline != NULL) {
		int rc;

		printf("input: %s (%zu lines) with 1 in 50 lines taken from the %zu error lines of "
		       "the rest of the corpus\n",
		       logfile, base.n, errs.n);
		rc = growth(&l, sigdir, baseline, quick, callgrind);
		free(l.data);
		free(l.off);
		free(l.len);
		free(base.data);
		free(base.off);
		free(base.len);
		free(errs.data);
		free(errs.off);
		free(errs.len);
		return rc;
	}
	/* About a second per measurement on this machine's matcher speed. */
	repeat = quick ? 1 : 3000000 / l.n + 1;

	{
		const char *p1[1] = { sigdir };

		small = load(p1, 1);
	}
	if (mkdtemp(tmpdir) == NULL)
		return 1;
	if (total > mt_catalog_count(small))
		write_synthetic(tmpdir, total - mt_catalog_count(small));
	{
		const char *p2[2] = { sigdir, tmpdir };

		big = load(p2, 2);
	}
	ms = mt_matcher_new(small);
	mb = mt_matcher_new(big);
	ms_naive = mt_matcher_new(small);
	mb_naive = mt_matcher_new(big);
	mt_matcher_set_naive(ms_naive, true);
	mt_matcher_set_naive(mb_naive, true);
	cache_small = mt_alert_cache_new(mt_catalog_count(small));
	cache_big = mt_alert_cache_new(mt_catalog_count(big));

	printf("mtalert matcher benchmark%s\n", quick ? " (--quick: one short round, figures "
							"not meaningful)" :
							"");
	printf("input: %s (%zu lines) with 1 in 50 lines taken from the %zu error lines of the "
	       "rest of the corpus:\n       %zu lines, %.0f bytes/line on average, %.1f%% error "
	       "lines, replayed %zu times per round, best of %d rounds (thread CPU time)\n",
	       logfile, base.n, errs.n, l.n, (double)l.bytes / (double)l.n,
	       100.0 * (double)err_lines / (double)l.n, repeat, rounds);
	printf("automaton: %zu signatures -> %zu KiB; %zu signatures -> %zu KiB\n\n",
	       mt_catalog_count(small), mt_matcher_memory(ms) / 1024, mt_catalog_count(big),
	       mt_matcher_memory(mb) / 1024);

	r_small_naive = measure(ms_naive, &l, quick ? 1 : repeat / 4 + 1, rounds, MATCH_ONLY,
				&alerts_naive, NULL);
	r_small = measure(ms, &l, repeat, rounds, MATCH_ONLY, &alerts, NULL);
	if (alerts != alerts_naive)
		printf("WARNING: prefilter found %zu matching lines, naive %zu\n", alerts,
		       alerts_naive);
	r_big_naive = measure(mb_naive, &l, quick ? 1 : repeat / 300 + 1, rounds, MATCH_ONLY,
			      &alerts_naive, NULL);
	r_big = measure(mb, &l, repeat, rounds, MATCH_ONLY, &alerts, NULL);
	if (alerts != alerts_naive)
		printf("WARNING: prefilter found %zu matching lines, naive %zu\n", alerts,
		       alerts_naive);
	p_small = measure(ms, &l, repeat, rounds, PIPELINE, &alerts, cache_small);
	p_big = measure(mb, &l, repeat, rounds, PIPELINE, &alerts, cache_big);
	parse = measure_parser(&l, repeat, rounds);

	printf("%-34s %6s %14s %11s\n", "what", "sigs", "lines/s", "vs naive");
	row("matcher, naive PCRE2-JIT loop", mt_catalog_count(small), r_small_naive, r_small_naive);
	row("matcher, prefilter + JIT", mt_catalog_count(small), r_small, r_small_naive);
	row("matcher, naive PCRE2-JIT loop", mt_catalog_count(big), r_big_naive, r_big_naive);
	row("matcher, prefilter + JIT", mt_catalog_count(big), r_big, r_big_naive);
	row("scan pipeline (parse+match+JSON)", mt_catalog_count(small), p_small, r_small_naive);
	row("scan pipeline (parse+match+JSON)", mt_catalog_count(big), p_big, r_big_naive);
	printf("%-34s %6s %14.0f\n", "parser alone", "-", parse);
	printf("\nmatching lines per pass: %zu of %zu (most are postscreen PREGREET/HANGUP/DNSBL-rank "
	       "lines, which the catalog reports at severity info)\n",
	       alerts, l.n);
	{
		const struct mt_matcher_stats *a = mt_matcher_stats(ms), *b = mt_matcher_stats(mb);

		printf("per line, prefilter: %.2f candidates and %.2f regex runs with %zu signatures, "
		       "%.2f and %.2f with %zu\n",
		       (double)a->candidates / (double)a->lines,
		       (double)a->regex_runs / (double)a->lines, mt_catalog_count(small),
		       (double)b->candidates / (double)b->lines,
		       (double)b->regex_runs / (double)b->lines, mt_catalog_count(big));
	}
	printf("cost of a %zux larger catalog: matcher %.2fx slower (target <= 1.5x), "
	       "pipeline %.2fx slower\n",
	       mt_catalog_count(big) / (mt_catalog_count(small) ? mt_catalog_count(small) : 1),
	       r_big > 0 ? r_small / r_big : 0, p_big > 0 ? p_small / p_big : 0);
	printf("matcher with the shipped catalog: %.2f M lines/s (target >= 3 M on one core)\n",
	       r_small / 1e6);
	{
		char cmd[64];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "bench: could not remove %s\n", tmpdir);
	}
	mt_alert_cache_free(cache_small);
	mt_alert_cache_free(cache_big);
	mt_matcher_free(ms);
	mt_matcher_free(mb);
	mt_matcher_free(ms_naive);
	mt_matcher_free(mb_naive);
	mt_catalog_free(small);
	mt_catalog_free(big);
	free(l.data);
	free(l.off);
	free(l.len);
	free(base.data);
	free(base.off);
	free(base.len);
	free(errs.data);
	free(errs.off);
	free(errs.len);
	if (quick)
		printf("1..1\nok 1 - benchmark runs\n");
	return 0;
}
