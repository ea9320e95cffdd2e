/*
 * literal - required literal strings of a PCRE2 pattern, for the prefilter.
 *
 * mt_literal_extract() reads a pattern conservatively and returns a set of
 * literals such that every string the pattern matches contains at least one
 * of them (one per top-level alternative).  Anything it does not fully
 * understand (groups, classes, escapes other than escaped punctuation,
 * extended mode) ends a literal run rather than being guessed at, so the
 * promise holds for every pattern; a pattern for which no literal of at
 * least MT_LITERAL_MIN bytes can be promised gets count 0 and must be tried
 * on every line ("costly").
 *
 * Each literal may come with a second one its alternative also requires
 * (both must be in the line).  The literals are lower-cased ASCII (the prefilter matches without case,
 * which is a superset of what the regex accepts with or without (?i)).
 * No I/O; its scratch (a few sets per alternative of each nested group) is
 * on the heap and freed before it returns, so the stack it uses stays small
 * whatever MT_LITERAL_ALTS is (out of memory: count 0, as for any pattern it
 * gives up on).
 */
#ifndef MT_LITERAL_H
#define MT_LITERAL_H

#include <stdbool.h>
#include <stddef.h>

#define MT_LITERAL_MIN	3  /* shorter literals select too many lines to help */
#define MT_LITERAL_MAX	64 /* longer runs are cut: 64 bytes select well enough */
/*
 * Literals per pattern: enough for the records with tens of top-level
 * alternatives (one Postfix warning text each) and for a group of keywords
 * repeated in each of a few alternatives.  A pattern that needs more is
 * costly.  struct mt_literals is sized by it (about 7 KiB at 48) but is only
 * a result to copy from: the matcher keeps each literal once (matcher.c).
 */
#define MT_LITERAL_ALTS 48

struct mt_literals {
	size_t count; /* 0: no usable literal */
	size_t len[MT_LITERAL_ALTS];
	char lit[MT_LITERAL_ALTS][MT_LITERAL_MAX];
	/*
	 * A second literal that lit[k]'s alternative also requires (length 0:
	 * none), so a line with lit[k] but without also[k] cannot match: a cheap
	 * check before the regex when lit[k] is shared by many signatures
	 * ("said: 5" with the enhanced code "5.7." after it).
	 */
	size_t also_len[MT_LITERAL_ALTS];
	char also[MT_LITERAL_ALTS][MT_LITERAL_MAX];
	/*
	 * Where also_set[k], lit[k]'s alternative also requires one of the set
	 * set2 (a group of words: the block-list names after '] said: 4'), so a
	 * line with lit[k] and none of them cannot match.  set2_count 0: none.
	 */
	bool also_set[MT_LITERAL_ALTS];
	size_t set2_count;
	size_t set2_len[MT_LITERAL_ALTS];
	char set2[MT_LITERAL_ALTS][MT_LITERAL_MAX];
};

void mt_literal_extract(const char *pattern, size_t len, struct mt_literals *ret);

/*
 * A weak literal selects most lines of any mail log: with its surrounding
 * spaces and punctuation removed it is shorter than MT_LITERAL_WEAK_MIN
 * bytes, or one of a built-in list of words found on most mail-log lines
 * ("host", "from", "said:", "status=", "rejected", "process", ...).
 */
#define MT_LITERAL_WEAK_MIN 4
bool mt_literal_is_weak(const char *lit, size_t len);

/*
 * The index of the first literal of l that is weak and whose second literal
 * (if any) is weak too, without a set2 to hold (its words are selective),
 * so lines holding it all become regex runs; -1 if
 * every literal is selective (or l has none: that is "costly", not weak).
 */
int mt_literals_weak_index(const struct mt_literals *l);

#endif
