/*
 * scan - run logs through the parser and matcher, like fail2ban-regex:
 * one alert per matching record (JSON Lines or text), or a summary table.
 * Lines are joined into records (correlate/join.h) and go through the
 * correlation stage (correlate/correlate.h) as in the daemon, unless
 * --no-correlate: a restating line then carries repeat_of, and the summary
 * adds a table per destination and per failed message.
 */
#include <sys/random.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "alert/alert.h"
#include "cli/cli.h"
#include "correlate/correlate.h"
#include "correlate/join.h"
#include "input/linereader.h"
#include "log.h"
#include "match/matcher.h"
#include "parse/logline.h"
#include "util/json.h"
#include "util/xalloc.h"

#define SUMMARY_TEXT_MAX 160

enum scan_format {
	FORMAT_JSON,
	FORMAT_TEXT,
};

/* What the summary keeps per signature: bounded copies, cleaned. */
struct sig_summary {
	uint64_t count;
	uint64_t repeats; /* restating lines attributed to this signature as first cause */
	char *first_seen, *last_seen, *example;
	size_t order; /* for a stable sort */
};

struct scan {
	struct cli *o;
	enum scan_format format;
	bool format_set; /* --format given: --summary follows it too */
	bool summary;
	bool no_correlate;
	struct mt_join *join;
	struct mt_correlate *corr; /* NULL: --no-correlate */
	const char *file;
	double now;
	const struct mt_catalog *catalog;
	struct mt_matcher *matcher;
	struct mt_alert_cache *cache;
	struct sig_summary *sums;
	bool *limit_warned;
	struct mt_buf out;
	uint64_t lines, alerts, truncated, unparsed, files;
	uint64_t repeats, outcomes, records_joined;
	int status;
};

static char *
clean_copy(const char *p, size_t len, size_t max)
{
	struct mt_buf b;
	char *s;

	mt_buf_init(&b, max * 4 + 8);
	if (mt_text_clean(&b, p, len, max) == 1)
		(void)mt_buf_puts(&b, "...");
	s = mt_xstrdup(b.data);
	mt_buf_fini(&b);
	return s;
}

/* When a line was seen: its timestamp, else where it was read. */
static char *
seen_at(const struct mt_logrec *rec, const char *file, uint64_t lineno)
{
	char where[512];

	if (rec->f[MT_F_TIME].len)
		return clean_copy(rec->f[MT_F_TIME].p, rec->f[MT_F_TIME].len, 40);
	/* No timestamp: where it was read, short enough for the column. */
	(void)snprintf(where, sizeof(where), "%.400s:%llu",
		       strrchr(file, '/') ? strrchr(file, '/') + 1 : file,
		       (unsigned long long)lineno);
	return mt_xstrdup(where);
}

static void
note_summary(struct scan *s, const struct mt_match *m, const struct mt_logrec *rec,
	     const struct line *l, const char *file)
{
	struct sig_summary *ss = &s->sums[m->sig->index];

	if (ss->count++ == 0) {
		ss->first_seen = seen_at(rec, file, l->lineno);
		ss->example = clean_copy(l->p, l->len, SUMMARY_TEXT_MAX);
	}
	free(ss->last_seen);
	ss->last_seen = seen_at(rec, file, l->lineno);
}

static void
warn_limits(struct scan *s, const char *file, const struct line *l)
{
	for (size_t i = 0; i < mt_catalog_count(s->catalog); i++) {
		if (s->limit_warned[i] || mt_matcher_limit_hits(s->matcher, i) == 0)
			continue;
		s->limit_warned[i] = true;
		log_warnx("%s:%llu: signature %s hit the regex work limit; counted as no match "
			  "(warned once per signature)",
			  file, (unsigned long long)l->lineno, mt_catalog_get(s->catalog, i)->id);
	}
}

static void
emit(struct scan *s)
{
	if (fwrite(s->out.data, 1, s->out.len, stdout) != s->out.len) {
		log_warn("cannot write to standard output");
		exit(EX_IOERR);
	}
}

/* One record (one line, or an Exim entry over several): match, correlate, print. */
static void
scan_record(void *ctx, const struct mt_join_rec *jr)
{
	struct scan *s = ctx;
	const struct line line = { .p = jr->p,
				   .len = jr->len,
				   .truncated = jr->truncated,
				   .offset = jr->offset,
				   .lineno = jr->lineno };
	const struct line *l = &line;
	const char *file = jr->file;
	const struct mt_match *res;
	struct mt_logrec rec;
	struct mt_corr_result cr;
	uint64_t hits_before = mt_matcher_stats(s->matcher)->limit_hits;
	size_t n;

	if (jr->truncated)
		s->truncated++;
	if (jr->nlines > 1)
		s->records_joined++;
	mt_logline_parse(l->p, l->len, &rec);
	if (rec.fmt == MT_FMT_NONE)
		s->unparsed++;
	n = mt_matcher_run(s->matcher, l->p, l->len, rec.mta, &res);
	if (mt_matcher_stats(s->matcher)->limit_hits != hits_before)
		warn_limits(s, file, l);
	cr.verdict = MT_CORR_NONE;
	if (s->corr != NULL)
		mt_correlate_observe(s->corr, &rec, n ? res[0].sig : NULL, s->now, &cr);
	if (n == 0)
		return;
	if (cr.verdict == MT_CORR_REPEAT) {
		s->repeats++;
	} else {
		s->alerts++;
		s->outcomes += cr.verdict == MT_CORR_OUTCOME;
	}
	if (s->summary) {
		if (cr.verdict != MT_CORR_REPEAT)
			note_summary(s, &res[0], &rec, l, file);
		else if (cr.cause_sig != NULL)
			s->sums[cr.cause_sig->index].repeats++;
		else
			s->sums[res[0].sig->index].repeats++;
		return;
	}
	{
		struct mt_alert a = {
			.match = &res[0],
			.others = res + 1,
			.nothers = n - 1,
			.rec = &rec,
			.line = l->p,
			.len = l->len,
			.truncated = l->truncated,
			.file = file,
			.offset = l->offset,
			.lineno = l->lineno,
			.locale = s->o->locale,
			.cache = s->cache,
			.repeat = cr.verdict == MT_CORR_REPEAT,
			.cause_id = cr.verdict >= MT_CORR_REPEAT ? cr.cause_id : NULL,
			.cause_sig = cr.verdict >= MT_CORR_REPEAT ? cr.cause_sig : NULL,
			.cause_reply = cr.verdict >= MT_CORR_REPEAT ? cr.cause_reply : NULL,
			.cause_since = cr.verdict >= MT_CORR_REPEAT ? cr.cause_since : 0,
			.outcome = cr.verdict == MT_CORR_OUTCOME ? cr.outcome : NULL,
			.outcome_text = cr.verdict == MT_CORR_OUTCOME ? cr.summary : NULL,
		};
		int r;

		mt_buf_reset(&s->out);
		r = s->format == FORMAT_JSON ? mt_alert_json(&s->out, &a) :
					       mt_alert_text(&s->out, &a);
		if (r < 0) {
			/* Cannot happen with the caps in alert.h; never drop silently. */
			log_warnx("%s:%llu: alert for %s too large to render, skipping", file,
				  (unsigned long long)l->lineno, res[0].sig->id);
			return;
		}
		(void)mt_buf_putc(&s->out, '\n');
		emit(s);
	}
}

static void
scan_file(struct scan *s, const char *path)
{
	struct linereader *r;
	struct line l;
	int rc;

	rc = linereader_open(path, MT_LINE_MAX, &r);
	if (rc < 0) {
		log_warnx("cannot open %s: %s, skipping", path, strerror(-rc));
		s->status = EX_NOINPUT;
		return;
	}
	s->files++;
	while ((rc = linereader_next(r, &l)) > 0) {
		s->lines++;
		if (s->corr == NULL) {
			/* --no-correlate: every line alone, as before the stage. */
			const struct mt_join_rec jr = { .file = path,
							.p = l.p,
							.len = l.len,
							.truncated = l.truncated,
							.offset = l.offset,
							.lineno = l.lineno,
							.nlines = 1 };

			scan_record(s, &jr);
			continue;
		}
		mt_join_line(s->join, path, l.p, l.len, l.truncated, l.offset, l.lineno);
	}
	mt_join_flush(s->join); /* a record does not span files */
	if (rc < 0) {
		log_warnx("%s: %s after %llu lines, skipping the rest", path,
			  rc == -EBADMSG ? "corrupt gzip data" : strerror(-rc),
			  (unsigned long long)l.lineno);
		s->status = EX_DATAERR;
	}
	linereader_free(r);
}

static int
by_count(const void *a, const void *b, void *ctx)
{
	const struct sig_summary *sums = ctx;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	if (sums[x].count != sums[y].count)
		return sums[x].count < sums[y].count ? 1 : -1;
	return x < y ? -1 : x > y;
}

#define SUMMARY_MESSAGES_MAX 50 /* failed messages listed in the text summary */
#define JSON_MESSAGES_MAX    1000

/* Log time as the log wrote it (zone-less times are kept as read). */
static void
fmt_time(char *buf, size_t size, double t)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t <= 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		mt_strlcpy(buf, "-", size);
}

/* The correlation stage's view: destinations with failures, failed messages. */
static void
print_correlation(struct scan *s)
{
	struct mt_corr_dest *dv;
	struct mt_corr_msg *mv;
	size_t nd, nm, shown = 0;
	const struct mt_correlate_stats *st;

	if (s->corr == NULL)
		return;
	nd = mt_correlate_destinations(s->corr, &dv);
	nm = mt_correlate_messages(s->corr, &mv);
	st = mt_correlate_stats(s->corr);
	printf("Destinations with failed deliveries: %zu\n", nd);
	if (nd > 0)
		printf("%-8s  %8s  %8s  %8s  %-32s  %s\n", "ATTEMPTS", "DEFERRED", "BOUNCED",
		       "EXPIRED", "DESTINATION", "MAIN CAUSE");
	for (size_t i = 0; i < nd; i++) {
		char *name = clean_copy(dv[i].name, strlen(dv[i].name), 64);

		printf("%-8llu  %8llu  %8llu  %8llu  %-32s  %s%s\n",
		       (unsigned long long)dv[i].attempts, (unsigned long long)dv[i].deferred,
		       (unsigned long long)dv[i].bounced, (unsigned long long)dv[i].expired, name,
		       *dv[i].cause_id ? dv[i].cause_id : "-",
		       dv[i].troubled ? " (unresolved)" : "");
		free(name);
	}
	printf("\nMessages that failed: %zu\n", nm);
	for (size_t i = 0; i < nm && shown < SUMMARY_MESSAGES_MAX; i++, shown++) {
		char first[32], last[32];
		char *dest = clean_copy(mv[i].destination, strlen(mv[i].destination), 64);
		char *reply = clean_copy(mv[i].cause_reply, strlen(mv[i].cause_reply), 120);

		fmt_time(first, sizeof(first), mv[i].first);
		fmt_time(last, sizeof(last), mv[i].last);
		printf("* %s  %s  %s .. %s  %u attempt%s  to %s\n    cause: %s: %s\n", mv[i].id,
		       mv[i].outcome, first, last, mv[i].attempts, mv[i].attempts == 1 ? "" : "s",
		       *dest ? dest : "-", mv[i].cause_id, reply);
		free(dest);
		free(reply);
	}
	if (nm > shown)
		printf("  ... and %zu more\n", nm - shown);
	printf("\nCorrelation: %llu restating lines attributed to a first cause, %llu outcomes, "
	       "%llu multi-line records; %zu messages tracked (%llu evicted by size, %llu by age)\n",
	       (unsigned long long)s->repeats, (unsigned long long)s->outcomes,
	       (unsigned long long)s->records_joined, st->messages,
	       (unsigned long long)st->msg_evicted_lru, (unsigned long long)st->msg_evicted_age);
	free(dv);
	free(mv);
}

static void
print_correlation_json(struct scan *s)
{
	struct mt_corr_dest *dv;
	struct mt_corr_msg *mv;
	size_t nd, nm;
	struct mt_buf b;
	bool first;

	if (s->corr == NULL)
		return;
	nd = mt_correlate_destinations(s->corr, &dv);
	nm = mt_correlate_messages(s->corr, &mv);
	mt_buf_init(&b, 64 * 1024);
	printf(",\"repeats\":%llu,\"outcomes\":%llu,\"destinations\":[",
	       (unsigned long long)s->repeats, (unsigned long long)s->outcomes);
	for (size_t i = 0; i < nd; i++) {
		mt_buf_reset(&b);
		first = true;
		(void)mt_buf_putc(&b, '{');
		(void)mt_json_key(&b, &first, "destination");
		(void)mt_json_str(&b, dv[i].name, strlen(dv[i].name));
		(void)mt_buf_printf(
			&b,
			",\"attempts\":%llu,\"sent\":%llu,\"deferred\":%llu,"
			"\"bounced\":%llu,\"expired\":%llu,\"unresolved\":%s",
			(unsigned long long)dv[i].attempts, (unsigned long long)dv[i].sent,
			(unsigned long long)dv[i].deferred, (unsigned long long)dv[i].bounced,
			(unsigned long long)dv[i].expired, dv[i].troubled ? "true" : "false");
		if (*dv[i].cause_id) {
			(void)mt_json_key(&b, &first, "cause");
			(void)mt_json_cstr(&b, dv[i].cause_id);
			(void)mt_json_key(&b, &first, "reply");
			(void)mt_json_str(&b, dv[i].cause_reply, strlen(dv[i].cause_reply));
		}
		(void)mt_buf_putc(&b, '}');
		printf("%s%.*s", i ? "," : "", (int)b.len, b.data);
	}
	printf("],\"failed_messages\":%zu,\"messages\":[", nm);
	for (size_t i = 0; i < nm && i < JSON_MESSAGES_MAX; i++) {
		mt_buf_reset(&b);
		first = true;
		(void)mt_buf_putc(&b, '{');
		(void)mt_json_key(&b, &first, "id");
		(void)mt_json_str(&b, mv[i].id, strlen(mv[i].id));
		(void)mt_json_key(&b, &first, "outcome");
		(void)mt_json_cstr(&b, mv[i].outcome);
		(void)mt_json_key(&b, &first, "destination");
		(void)mt_json_str(&b, mv[i].destination, strlen(mv[i].destination));
		(void)mt_json_key(&b, &first, "cause");
		(void)mt_json_cstr(&b, mv[i].cause_id);
		(void)mt_json_key(&b, &first, "reply");
		(void)mt_json_str(&b, mv[i].cause_reply, strlen(mv[i].cause_reply));
		(void)mt_buf_printf(&b,
				    ",\"attempts\":%u,\"recipients\":%u,\"first\":%.0f,"
				    "\"last\":%.0f}",
				    mv[i].attempts, mv[i].recipients, mv[i].first, mv[i].last);
		printf("%s%.*s", i ? "," : "", (int)b.len, b.data);
	}
	printf("]");
	mt_buf_fini(&b);
	free(dv);
	free(mv);
}

static void
print_summary(struct scan *s)
{
	size_t n = mt_catalog_count(s->catalog), nsig = 0;
	size_t *order = mt_xcalloc(n ? n : 1, sizeof(*order));
	const struct mt_matcher_stats *st = mt_matcher_stats(s->matcher);

	for (size_t i = 0; i < n; i++)
		if (s->sums[i].count)
			order[nsig++] = i;
	qsort_r(order, nsig, sizeof(*order), by_count, s->sums);

	printf("mtalertd scan: %llu file%s, %llu lines, %llu alerts from %zu of %zu signatures\n",
	       (unsigned long long)s->files, s->files == 1 ? "" : "s", (unsigned long long)s->lines,
	       (unsigned long long)s->alerts, nsig, n);
	printf("  lines without a recognised header: %llu; lines cut at %d bytes: %llu; "
	       "regex limit hits: %llu\n\n",
	       (unsigned long long)s->unparsed, MT_LINE_MAX, (unsigned long long)s->truncated,
	       (unsigned long long)st->limit_hits);
	if (nsig == 0)
		printf("No known error found.\n");
	else
		printf("%7s  %-8s  %-32s  %-32s  %s\n", "COUNT", "SEVERITY", "FIRST SEEN",
		       "LAST SEEN", "SIGNATURE");
	for (size_t k = 0; k < nsig; k++) {
		const struct mt_signature *sig = mt_catalog_get(s->catalog, order[k]);
		const struct sig_summary *ss = &s->sums[order[k]];

		if (ss->count == 0)
			continue; /* only restated: shown under its first cause */
		printf("%7llu  %-8s  %-32.32s  %-32.32s  %s\n", (unsigned long long)ss->count,
		       mt_severity_name(sig->severity), ss->first_seen, ss->last_seen, sig->id);
		printf("%9s %s\n", "", mt_sig_title(sig, s->o->locale));
		printf("%9s e.g. %s\n", "", ss->example);
		if (ss->repeats)
			printf("%9s + %llu restating line%s (retry, frozen, suspended) of the same "
			       "cause%s\n",
			       "", (unsigned long long)ss->repeats, ss->repeats == 1 ? "" : "s",
			       ss->repeats == 1 ? "" : "s");
		if (sig->nworkarounds) {
			const struct mt_workaround *w = &sig->workarounds[0];

			printf("%9s fix (%.0f%%, %s): %s", "", w->success_rate * 100,
			       w->nverified_by > 0 ? "verified" : "estimate",
			       mt_workaround_action(w, s->o->locale));
			/* A conditional fix says when it applies: catch-alls rank those first. */
			if (w->condition && *w->condition)
				printf(" (if: %.120s%s)", w->condition,
				       strlen(w->condition) > 120 ? "..." : "");
			printf("\n");
		}
		printf("\n");
	}
	print_correlation(s);
	free(order);
}

/* The summary as one JSON object, for scripts (`--summary --format json`). */
static void
print_summary_json(struct scan *s)
{
	size_t n = mt_catalog_count(s->catalog), nsig = 0;
	size_t *order = mt_xcalloc(n ? n : 1, sizeof(*order));
	const struct mt_matcher_stats *st = mt_matcher_stats(s->matcher);
	struct mt_buf b;
	bool first = true;
	char num[32];

	for (size_t i = 0; i < n; i++)
		if (s->sums[i].count)
			order[nsig++] = i;
	qsort_r(order, nsig, sizeof(*order), by_count, s->sums);
	printf("{\"files\":%llu,\"lines\":%llu,\"alerts\":%llu,\"unparsed\":%llu,"
	       "\"cut\":%llu,\"regex_limit_hits\":%llu,\"signatures\":%zu,\"errors\":[",
	       (unsigned long long)s->files, (unsigned long long)s->lines,
	       (unsigned long long)s->alerts, (unsigned long long)s->unparsed,
	       (unsigned long long)s->truncated, (unsigned long long)st->limit_hits, n);
	mt_buf_init(&b, 1024 * 1024); /* signature texts are capped by the YAML reader */
	for (size_t k = 0; k < nsig; k++) {
		const struct mt_signature *sig = mt_catalog_get(s->catalog, order[k]);
		const struct sig_summary *ss = &s->sums[order[k]];

		mt_buf_reset(&b);
		first = true;
		(void)mt_buf_putc(&b, '{');
		(void)mt_json_key(&b, &first, "id");
		(void)mt_json_cstr(&b, sig->id);
		(void)mt_json_key(&b, &first, "title");
		(void)mt_json_cstr(&b, mt_sig_title(sig, s->o->locale));
		(void)mt_json_key(&b, &first, "severity");
		(void)mt_json_cstr(&b, mt_severity_name(sig->severity));
		(void)mt_json_key(&b, &first, "count");
		(void)snprintf(num, sizeof(num), "%llu", (unsigned long long)ss->count);
		(void)mt_buf_append(&b, num, strlen(num));
		(void)mt_json_key(&b, &first, "first_seen");
		(void)mt_json_cstr(&b, ss->first_seen);
		(void)mt_json_key(&b, &first, "last_seen");
		(void)mt_json_cstr(&b, ss->last_seen);
		(void)mt_json_key(&b, &first, "example");
		(void)mt_json_cstr(&b, ss->example);
		if (s->corr != NULL)
			(void)mt_buf_printf(&b, ",\"repeats\":%llu",
					    (unsigned long long)ss->repeats);
		if (sig->nworkarounds) {
			const struct mt_workaround *w = &sig->workarounds[0];

			(void)mt_json_key(&b, &first, "fix");
			(void)mt_json_cstr(&b, mt_workaround_action(w, s->o->locale));
			(void)mt_json_key(&b, &first, "fix_success_rate");
			(void)mt_json_num(&b, w->success_rate);
		}
		(void)mt_buf_putc(&b, '}');
		printf("%s%.*s", k ? "," : "", (int)b.len, b.data);
	}
	printf("]");
	print_correlation_json(s);
	printf("}\n");
	mt_buf_fini(&b);
	free(order);
}

int
cmd_scan(struct cli *o, int argc, char **argv)
{
	struct scan s = { .o = o, .status = 0 };
	const char *files[4096];
	size_t nfiles = 0;

	for (int i = 1; i < argc; i++) {
		int r = cli_common_option(o, argc, argv, &i);

		if (r < 0)
			return EX_USAGE;
		if (r > 0)
			continue;
		if (!strcmp(argv[i], "--summary")) {
			s.summary = true;
		} else if (!strcmp(argv[i], "--no-correlate")) {
			s.no_correlate = true;
		} else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
			i++;
			s.format_set = true;
			if (!strcmp(argv[i], "json"))
				s.format = FORMAT_JSON;
			else if (!strcmp(argv[i], "text"))
				s.format = FORMAT_TEXT;
			else {
				log_error("--format takes json or text");
				return EX_USAGE;
			}
		} else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			log_error("scan: unknown option '%s'", argv[i]);
			return EX_USAGE;
		} else if (nfiles == sizeof(files) / sizeof(files[0])) {
			log_error("scan: too many files (at most %zu)", nfiles);
			return EX_USAGE;
		} else {
			files[nfiles++] = argv[i];
		}
	}
	if (nfiles == 0)
		files[nfiles++] = "-";

	s.catalog = cli_load_catalog(o, NULL);
	if (s.catalog == NULL)
		return EX_CONFIG;
	s.matcher = mt_matcher_new(s.catalog);
	s.cache = mt_alert_cache_new(mt_catalog_count(s.catalog));
	s.sums = mt_xcalloc(mt_catalog_count(s.catalog), sizeof(*s.sums));
	s.limit_warned = mt_xcalloc(mt_catalog_count(s.catalog), sizeof(*s.limit_warned));
	mt_buf_init(&s.out, MT_ALERT_JSON_MAX);
	s.now = (double)time(NULL);
	s.join = mt_join_new(MT_ALERT_LINE_MAX, 256, scan_record, &s);
	if (!s.no_correlate) {
		struct mt_correlate_opts co;
		uint8_t key[16];

		/* Destinations come from remote servers: a keyed hash, as the daemon's. */
		if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
			memset(key, 0x5a, sizeof(key));
		mt_correlate_opts_default(&co);
		s.corr = mt_correlate_new(&co, key);
		mt_correlate_set_catalog(s.corr, s.catalog);
	}

	for (size_t i = 0; i < nfiles; i++)
		scan_file(&s, files[i]);
	if (s.summary && s.format_set && s.format == FORMAT_JSON)
		print_summary_json(&s);
	else if (s.summary)
		print_summary(&s);
	if (fflush(stdout) != 0) {
		log_warn("cannot write to standard output");
		s.status = EX_IOERR;
	}

	for (size_t i = 0; i < mt_catalog_count(s.catalog); i++) {
		free(s.sums[i].first_seen);
		free(s.sums[i].last_seen);
		free(s.sums[i].example);
	}
	free(s.sums);
	free(s.limit_warned);
	mt_join_free(s.join);
	mt_correlate_free(s.corr);
	mt_buf_fini(&s.out);
	mt_matcher_free(s.matcher);
	mt_alert_cache_free(s.cache);
	mt_catalog_free((struct mt_catalog *)s.catalog);
	return s.status;
}
