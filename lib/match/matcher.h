/*
 * matcher - find every signature of a catalog that matches a line.
 *
 * Built once from a catalog (which must outlive it).  Each signature's regex
 * yields required literals (see literal.h); all literals of all signatures
 * go into one Aho-Corasick automaton, so a line is scanned once whatever the
 * catalog's size, and only the signatures whose literal occurs in the line
 * (plus the few "costly" ones without a usable literal) are confirmed with
 * PCRE2 (JIT).  The cost per line therefore does not grow with the catalog.
 *
 * Every PCRE2 run is bounded by match, depth and heap limits and a private
 * JIT stack: a hostile line or a bad pattern costs at most a bounded amount
 * of work.  A run that hits a limit counts as no match for that signature,
 * and is counted (per signature and in total) so the caller can report it.
 *
 * A matcher owns per-match scratch (match data, candidate stamps), so it is
 * not shared between threads; results are valid until the next run and
 * their views point into the caller's line.
 */
#ifndef MT_MATCHER_H
#define MT_MATCHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "match/catalog.h"
#include "parse/logline.h"

#define MT_MATCHES_MAX	  16	 /* signatures reported for one line */
#define MT_MATCH_LIMIT	  200000 /* pcre2_set_match_limit */
#define MT_DEPTH_LIMIT	  5000	 /* pcre2_set_depth_limit (interpreter only) */
#define MT_HEAP_LIMIT_KIB 4096	 /* pcre2_set_heap_limit */
#define MT_JIT_STACK_MAX  (512 * 1024)

struct mt_capture {
	const char *name; /* the group's name, owned by the catalog */
	struct mt_view v; /* into the line */
};

struct mt_match {
	const struct mt_signature *sig;
	size_t ncaptures;
	struct mt_capture captures[MT_CAPTURES_MAX];
};

struct mt_matcher_stats {
	uint64_t lines;			/* lines run */
	uint64_t candidates;		/* signatures the prefilter let through */
	uint64_t second_literal_misses; /* literal hits without their second literal */
	uint64_t regex_runs;		/* PCRE2 runs */
	uint64_t matches;		/* signatures matched */
	uint64_t limit_hits;		/* runs stopped by a limit */
	uint64_t errors;		/* other PCRE2 failures */
	uint64_t overflow;		/* matches beyond MT_MATCHES_MAX, not reported */
};

struct mt_matcher;
struct mt_literals;

struct mt_matcher *mt_matcher_new(const struct mt_catalog *c);
struct mt_matcher *mt_matcher_free(struct mt_matcher *m);

/*
 * Run the line (of the given MTA; MT_MTA_UNKNOWN tries every signature).
 * Returns the number of matches in *ret, most specific first (specificity,
 * then catalog order).
 */
size_t mt_matcher_run(struct mt_matcher *m, const char *line, size_t len, enum mt_mta mta,
		      const struct mt_match **ret);

/* Limit hits of signature i so far (to warn once per signature). */
uint64_t mt_matcher_limit_hits(const struct mt_matcher *m, size_t i);
const struct mt_matcher_stats *mt_matcher_stats(const struct mt_matcher *m);

/* No usable literal: tried on every line. */
bool mt_matcher_is_costly(const struct mt_matcher *m, size_t i);
/* The literals chosen for signature i into *ret, for `mtalertd check -v` and tests. */
void mt_matcher_literals(const struct mt_matcher *m, size_t i, struct mt_literals *ret);
size_t mt_matcher_memory(const struct mt_matcher *m);

/* Turn a signature off or on (configuration: include, exclude, disabled). */
void mt_matcher_set_enabled(struct mt_matcher *m, size_t i, bool enabled);

/* Benchmarks only: skip the prefilter and try every regex on every line. */
void mt_matcher_set_naive(struct mt_matcher *m, bool naive);

#endif
