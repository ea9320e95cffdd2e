/* literal - the literal strings a regex requires, for the prefilter. */
#include "match/literal.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/*
 * The extraction works on one alternation at a time (the whole pattern, or
 * the inside of a group): for each alternative it picks the best "factor",
 * either a run of plain characters or the literal set of a group whose every
 * alternative has one, and the alternation's set is the union.  A factor is
 * only taken where it is required: groups and characters followed by an
 * optional quantifier, lookarounds and classes are never factors.
 */

struct set {
	size_t count; /* 0: nothing usable */
	size_t len[MT_LITERAL_ALTS];
	char lit[MT_LITERAL_ALTS][MT_LITERAL_MAX];
};

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/*
 * Words found on most lines of any mail log: a literal that is only one of
 * these selects nearly every line, so it is worth no more than the shortest
 * usable literal.
 */
static const char *const common[] = {
	"after",	"from",		 "from [",  "to",      "for",	  "with",
	"host",		"said:",	 "status=", "relay=",  "postfix", "postfix/",
	"postfix/smtp", "postfix/smtpd", "smtp",    "smtpd",   "connect", "connect from",
	"error",	"warning:",	 "client",  "client=", "] said:", "reject:",
};

static bool
is_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* [*a, *b) of s without the spaces and punctuation around it. */
static void
trim_word(const char *s, size_t len, size_t *a, size_t *b)
{
	*a = 0;
	*b = len;
	while (*a < *b && !is_word_char(s[*a]))
		(*a)++;
	while (*b > *a && !is_word_char(s[*b - 1]))
		(*b)--;
}

/*
 * A literal's worth: its length, or 1 when it is only a common word once
 * the spaces and punctuation around both are trimmed (']: warning: ' is
 * "warning:", ' from ' is "from [").
 */
static size_t
score_one(const char *lit, size_t len)
{
	size_t a, b;

	trim_word(lit, len, &a, &b);
	for (size_t i = 0; i < sizeof(common) / sizeof(common[0]); i++) {
		size_t ca, cb;

		trim_word(common[i], strlen(common[i]), &ca, &cb);
		if (cb - ca == b - a && memcmp(common[i] + ca, lit + a, b - a) == 0)
			return 1;
	}
	return len;
}

/* A set is as good as its weakest literal; 0 if it is unusable. */
static size_t
score(const struct set *s)
{
	size_t best = 0;

	if (s->count == 0)
		return 0;
	for (size_t i = 0; i < s->count; i++) {
		size_t sc;

		if (s->len[i] < MT_LITERAL_MIN)
			return 0;
		sc = score_one(s->lit[i], s->len[i]);
		if (i == 0 || sc < best)
			best = sc;
	}
	return best;
}

static size_t
shortest(const struct set *s)
{
	size_t n = s->count ? s->len[0] : 0;

	for (size_t i = 1; i < s->count; i++)
		if (s->len[i] < n)
			n = s->len[i];
	return n;
}

static void
consider(struct set *best, const struct set *cand)
{
	size_t sb = score(best), sc = score(cand);

	/*
	 * Better weakest literal wins; on a tie, fewer literals cost less, and
	 * between common words the longer one (']: warning: ' over 'postfix').
	 */
	if (sc > sb || (sc == sb && sc > 0 && cand->count < best->count) ||
	    (sc == sb && sc > 0 && cand->count == best->count && shortest(cand) > shortest(best)))
		*best = *cand;
}

/* The current run of plain characters as a candidate factor. */
struct run {
	char buf[MT_LITERAL_MAX];
	size_t len;
	struct set *single; /* the best one-literal factor seen, kept as a fallback */
	struct set *all;    /* every run of this alternative's own level (all required) */
};

static void
end_run(struct run *r, struct set *best)
{
	struct set one = { .count = 1 };

	if (r->len > 0) {
		memcpy(one.lit[0], r->buf, r->len);
		one.len[0] = r->len;
		consider(best, &one);
		consider(r->single, &one);
		if (r->all->count < MT_LITERAL_ALTS && r->len >= MT_LITERAL_MIN) {
			memcpy(r->all->lit[r->all->count], r->buf, r->len);
			r->all->len[r->all->count++] = r->len;
		}
	}
	r->len = 0;
}

static void
add_char(struct run *r, struct set *best, char c)
{
	if (r->len == MT_LITERAL_MAX)
		end_run(r, best);
	r->buf[r->len++] = lower(c);
}

/* Skip a character class starting at p[i] == '['; returns the index after ']'. */
static size_t
skip_class(const char *p, size_t len, size_t i)
{
	i++;
	if (i < len && p[i] == '^')
		i++;
	if (i < len && p[i] == ']') /* a leading ']' is literal */
		i++;
	while (i < len && p[i] != ']') {
		if (p[i] == '\\')
			i++;
		else if (p[i] == '[' && i + 1 < len && p[i + 1] == ':') {
			const char *e = memchr(p + i + 2, ']', len - i - 2);

			if (e != NULL)
				i = (size_t)(e - p);
		}
		i++;
	}
	return i < len ? i + 1 : len;
}

/*
 * A class at p[i] == '[' that is one letter in either case ("[Ss]", "[sS]")
 * or one letter or digit ("[s]"): the prefilter compares without case, so it
 * is that character of a literal.  *ret_c is the character.
 */
static bool
class_letter(const char *p, size_t len, size_t i, char *ret_c)
{
	if (i + 2 < len && p[i + 2] == ']' && is_word_char(p[i + 1])) {
		*ret_c = p[i + 1];
		return true;
	}
	if (i + 3 < len && p[i + 3] == ']' && p[i + 1] != p[i + 2] &&
	    ((p[i + 1] >= 'A' && p[i + 1] <= 'Z') || (p[i + 1] >= 'a' && p[i + 1] <= 'z')) &&
	    lower(p[i + 1]) == lower(p[i + 2])) {
		*ret_c = p[i + 1];
		return true;
	}
	return false;
}

/* Index of the ')' closing the group that starts at p[i] == '(' (len if none). */
static size_t
group_end(const char *p, size_t len, size_t i)
{
	int depth = 0;

	while (i < len) {
		if (p[i] == '\\') {
			i += 2;
			continue;
		}
		if (p[i] == '[') {
			i = skip_class(p, len, i);
			continue;
		}
		if (p[i] == '(')
			depth++;
		else if (p[i] == ')' && --depth == 0)
			return i;
		i++;
	}
	return len;
}

/* Length of a quantifier at p[i] ("?", "*", "+", "{n}", "{n,m}" plus lazy/possessive). */
static size_t
quantifier(const char *p, size_t len, size_t i, bool *ret_optional)
{
	size_t j = i;

	*ret_optional = false;
	if (i >= len)
		return 0;
	if (p[i] == '?' || p[i] == '*') {
		*ret_optional = true;
		j = i + 1;
	} else if (p[i] == '+') {
		j = i + 1;
	} else if (p[i] == '{') {
		size_t k = i + 1;

		if (k >= len || p[k] < '0' || p[k] > '9')
			return 0; /* a literal '{' */
		*ret_optional = true;
		while (k < len && p[k] == '0')
			k++;
		if (k < len && p[k] >= '1' && p[k] <= '9')
			*ret_optional = false;
		while (k < len && ((p[k] >= '0' && p[k] <= '9') || p[k] == ','))
			k++;
		if (k >= len || p[k] != '}') {
			*ret_optional = false;
			return 0;
		}
		j = k + 1;
	} else {
		return 0;
	}
	if (j < len && (p[j] == '?' || p[j] == '+'))
		j++;
	return j - i;
}

/* What the prefilter checks: the literal sets, each with a second required literal. */
struct extracted {
	struct set set;
	struct set also; /* also.lit[k] (length 0: none) is required with set.lit[k] */
	/* top level only: one of set2 is required with set.lit[k] where also_set[k] */
	struct set set2;
	bool also_set[MT_LITERAL_ALTS];
};

static bool alternation(const char *p, size_t len, int depth, struct extracted *ret);

/*
 * The inside of a group [i, e) (after its '(' up to its ')'): where its own
 * syntax ends, or -1 for groups that are never required text (lookarounds,
 * comments, inline option settings).  *ret_extended is set for (?x).
 */
static long
group_body(const char *p, size_t i, size_t e, bool *ret_extended)
{
	*ret_extended = false;
	if (i >= e || p[i] != '?')
		return (long)i; /* a plain capture group */
	if (i + 1 >= e)
		return -1;
	switch (p[i + 1]) {
	case ':':
	case '|':
	case '>':
		return (long)(i + 2);
	case '=':
	case '!':
	case '#':
		return -1;
	case 'P':
	case '\'':
	case '<':
		if (p[i + 1] == '<' && i + 2 < e && (p[i + 2] == '=' || p[i + 2] == '!'))
			return -1; /* lookbehind */
		for (size_t k = i + 2; k < e; k++)
			if (p[k] == '>' || p[k] == '\'')
				return (long)(k + 1);
		return -1;
	default:
		/* (?flags) or (?flags:...): extended mode changes what spaces mean. */
		for (size_t k = i + 1; k < e && p[k] != ':'; k++)
			if (p[k] == 'x')
				*ret_extended = true;
		for (size_t k = i + 1; k < e; k++)
			if (p[k] == ':')
				return (long)(k + 1);
		return -1;
	}
}

/*
 * One alternative [0, len): its best factor into *best, its best single
 * literal into *single (used when the sets of all alternatives together
 * would not fit), and the runs of plain characters at its own level, with
 * the literals of its required one-literal groups, into *runs (each one is
 * in every string the alternative matches), and its two best required
 * groups of several literals into groups[0] and groups[1] (one of each group
 * is in every string it matches).  false: give up entirely.
 */
static bool
alternative(const char *p, size_t len, int depth, struct set *best, struct set *single,
	    struct set *runs, struct set *groups)
{
	struct run run = { .len = 0, .single = single, .all = runs };
	struct extracted *inner = NULL; /* a group's sets: on the heap, not per level of stack */
	size_t i = 0;
	bool opt;

	memset(best, 0, sizeof(*best));
	memset(single, 0, sizeof(*single));
	memset(runs, 0, sizeof(*runs));
	memset(groups, 0, 2 * sizeof(*groups));
	while (i < len) {
		char c = p[i];
		size_t q;

		switch (c) {
		case '(': {
			size_t e = group_end(p, len, i);
			bool extended;
			long body = group_body(p, i + 1, e, &extended);

			end_run(&run, best);
			if (extended)
				goto fail;
			q = e < len ? quantifier(p, len, e + 1, &opt) : 0;
			if (inner == NULL && (inner = malloc(sizeof(*inner))) == NULL)
				goto fail; /* out of memory: no literal is promised */
			if (body >= 0 && !opt && depth < 8 &&
			    alternation(p + body, e - (size_t)body, depth + 1, inner)) {
				consider(best, &inner->set);
				if (inner->set.count > 1 &&
				    score(&inner->set) > score(&groups[1])) {
					/* the two best required groups of several literals */
					if (score(&inner->set) > score(&groups[0])) {
						groups[1] = groups[0];
						groups[0] = inner->set;
					} else {
						groups[1] = inner->set;
					}
				}
				if (inner->set.count == 1) {
					consider(single, &inner->set);
					/*
					 * A required group with one literal (a capture
					 * around "4\.7\.") requires it like a run of
					 * this level: a second literal too.
					 */
					if (runs->count < MT_LITERAL_ALTS &&
					    inner->set.len[0] >= MT_LITERAL_MIN) {
						memcpy(runs->lit[runs->count], inner->set.lit[0],
						       inner->set.len[0]);
						runs->len[runs->count++] = inner->set.len[0];
					}
				}
			}
			i = (e < len ? e + 1 : len) + q;
			continue;
		}
		case '[':
			if (class_letter(p, len, i, &c)) {
				i += p[i + 2] == ']' ? 3 : 4;
				break; /* that letter, without case like every literal */
			}
			end_run(&run, best);
			i = skip_class(p, len, i);
			i += quantifier(p, len, i, &opt);
			continue;
		case '.':
		case '^':
		case '$':
			end_run(&run, best);
			i++;
			i += quantifier(p, len, i, &opt);
			continue;
		case '\\':
			if (i + 1 >= len) {
				i++;
				continue;
			}
			c = p[i + 1];
			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9')) {
				/* \d, \s, \b, \x.., \Q, back-references: not a plain byte. */
				end_run(&run, best);
				i += 2;
				if (c == 'Q') { /* skip \Q...\E entirely */
					while (i + 1 < len && !(p[i] == '\\' && p[i + 1] == 'E'))
						i++;
					i += 2;
				}
				i += quantifier(p, len, i, &opt);
				continue;
			}
			i += 2;
			break; /* escaped punctuation is that byte */
		default:
			i++;
			break;
		}
		/* c is one literal byte; a quantifier after it may make it optional. */
		q = quantifier(p, len, i, &opt);
		if (q == 0) {
			add_char(&run, best, c);
		} else if (opt) {
			end_run(&run, best);
		} else {
			add_char(&run, best, c);
			end_run(&run, best);
		}
		i += q;
	}
	free(inner);
	end_run(&run, best);
	return true;
fail:
	free(inner);
	return false;
}

/*
 * The best run of an alternative that is not one of its chosen literals: a
 * second literal the line must also contain.  Only worth it when it scores
 * above the shortest usable literal.
 */
static void
second_run(const struct set *runs, const struct set *chosen, char *dst, size_t *dst_len)
{
	size_t best = 0, bi = 0;

	*dst_len = 0;
	for (size_t r = 0; r < runs->count; r++) {
		bool same = false;
		size_t sc = score_one(runs->lit[r], runs->len[r]);

		for (size_t k = 0; k < chosen->count && !same; k++)
			same = chosen->len[k] == runs->len[r] &&
			       memcmp(chosen->lit[k], runs->lit[r], runs->len[r]) == 0;
		if (!same && sc > best) {
			best = sc;
			bi = r;
		}
	}
	if (best > 1) {
		memcpy(dst, runs->lit[bi], runs->len[bi]);
		*dst_len = runs->len[bi];
	}
}

static bool
same_set(const struct set *a, const struct set *b)
{
	if (a->count != b->count)
		return false;
	for (size_t k = 0; k < a->count; k++)
		if (a->len[k] != b->len[k] || memcmp(a->lit[k], b->lit[k], a->len[k]) != 0)
			return false;
	return true;
}

/*
 * A required group of selective words beside an alternative's chosen
 * literals (the list of block-list names after '] said: 4'): the line must
 * hold one of them too.  The pattern has one such set (*set2, the first
 * one taken): an alternative whose group is another set goes without.
 */
static bool
second_group(const struct set *groups, const struct set *chosen, struct set *set2)
{
	const struct set *g = same_set(&groups[0], chosen) ? &groups[1] : &groups[0];

	if (g->count < 2 || score(g) < MT_LITERAL_WEAK_MIN)
		return false;
	for (size_t k = 0; k < g->count; k++)
		if (mt_literal_is_weak(g->lit[k], g->len[k]))
			return false;
	if (set2->count == 0)
		*set2 = *g;
	return same_set(set2, g);
}

/*
 * An alternation [0, len): the union of its alternatives' factors, or false.
 * When the sets do not fit in MT_LITERAL_ALTS together, the alternatives
 * with the largest sets fall back to their best single literal.  Each
 * literal carries a second run of its own alternative, when it has one.
 */
/* The end of the alternative that starts at p[i]: the next '|' of this level, or len. */
static size_t
alternative_end(const char *p, size_t len, size_t i)
{
	while (i < len && p[i] != '|') {
		if (p[i] == '\\') {
			i = i + 2 <= len ? i + 2 : len;
		} else if (p[i] == '[') {
			i = skip_class(p, len, i);
		} else if (p[i] == '(') {
			size_t e = group_end(p, len, i);

			i = e < len ? e + 1 : len;
		} else {
			i++;
		}
	}
	return i;
}

static bool
alternation(const char *p, size_t len, int depth, struct extracted *ret)
{
	/*
	 * Three sets per alternative, on the heap: with up to MT_LITERAL_ALTS
	 * alternatives at each of the nested levels they would not fit on a
	 * thread's stack.
	 */
	struct set *sets, *best, *single, *runs, *groups;
	size_t nalt = 1, total = 0;
	bool ok = false;

	memset(ret, 0, sizeof(*ret));
	for (size_t i = alternative_end(p, len, 0); i < len; i = alternative_end(p, len, i + 1))
		if (++nalt > MT_LITERAL_ALTS)
			return false;
	sets = calloc(5 * nalt, sizeof(*sets));
	if (sets == NULL)
		return false; /* out of memory: no literal is promised */
	best = sets;
	single = sets + nalt;
	runs = sets + 2 * nalt;
	groups = sets + 3 * nalt; /* two per alternative */
	for (size_t a = 0, start = 0; a < nalt; a++) {
		size_t e = alternative_end(p, len, start);

		if (!alternative(p + start, e - start, depth, &best[a], &single[a], &runs[a],
				 &groups[2 * a]) ||
		    score(&best[a]) == 0)
			goto out;
		total += best[a].count;
		start = e + 1;
	}
	while (total > MT_LITERAL_ALTS) {
		size_t big = 0;

		for (size_t k = 1; k < nalt; k++)
			if (best[k].count > best[big].count)
				big = k;
		if (best[big].count == 1 || score(&single[big]) == 0)
			goto out;
		total -= best[big].count - 1;
		best[big] = single[big];
	}
	for (size_t a = 0; a < nalt; a++) {
		char also[MT_LITERAL_MAX];
		size_t also_len;
		bool with_set2 = depth == 0 && second_group(&groups[2 * a], &best[a], &ret->set2);

		second_run(&runs[a], &best[a], also, &also_len);
		for (size_t k = 0; k < best[a].count; k++) {
			size_t n = ret->set.count++;

			ret->also_set[n] = with_set2;
			memcpy(ret->set.lit[n], best[a].lit[k], best[a].len[k]);
			ret->set.len[n] = best[a].len[k];
			memcpy(ret->also.lit[n], also, also_len);
			ret->also.len[n] = also_len;
		}
	}
	ok = true;
out:
	free(sets);
	if (!ok)
		memset(ret, 0, sizeof(*ret));
	return ok;
}

void
mt_literal_extract(const char *p, size_t len, struct mt_literals *ret)
{
	struct extracted *x = malloc(sizeof(*x));

	memset(ret, 0, sizeof(*ret));
	if (x == NULL || !alternation(p, len, 0, x)) {
		free(x);
		return;
	}
	ret->count = x->set.count;
	memcpy(ret->len, x->set.len, sizeof(x->set.len));
	memcpy(ret->lit, x->set.lit, sizeof(x->set.lit));
	memcpy(ret->also_len, x->also.len, sizeof(x->also.len));
	memcpy(ret->also, x->also.lit, sizeof(x->also.lit));
	for (size_t k = 0; k < x->set.count; k++)
		ret->also_set[k] = x->also_set[k];
	if (x->set2.count > 0) {
		ret->set2_count = x->set2.count;
		memcpy(ret->set2_len, x->set2.len, sizeof(x->set2.len));
		memcpy(ret->set2, x->set2.lit, sizeof(x->set2.lit));
	}
	free(x);
}

/*
 * Words a literal must not be alone, for `mtalertd check`: the scoring list
 * above (without its punctuation) and words on most lines of an Exim,
 * Postfix or Sendmail log.  Compared after lower-casing and trimming.
 */
static const char *const weak_words[] = {
	"after",    "from",	    "with",	    "host",	     "said",	 "status",
	"relay",    "postfix",	    "postfix/smtp", "postfix/smtpd", "smtp",	 "smtpd",
	"connect",  "connect from", "error",	    "warning",	     "client",	 "reject",
	"rejected", "process",	    "message",	    "mail",	     "sender",	 "recipient",
	"deferred", "failed",	    "refused",	    "delivery",	     "queue",	 "connection",
	"dsn",	    "stat",	    "mailer",	    "exim",	     "sendmail", "localhost",
	"unknown",  "denied",	    "timeout",	    "address",	     "domain",
};

bool
mt_literal_is_weak(const char *lit, size_t len)
{
	size_t a, b;

	trim_word(lit, len, &a, &b);
	if (b - a < MT_LITERAL_WEAK_MIN)
		return true;
	for (size_t i = 0; i < sizeof(weak_words) / sizeof(weak_words[0]); i++) {
		const char *w = weak_words[i];
		size_t k = 0;

		if (strlen(w) != b - a)
			continue;
		while (k < b - a && lower(lit[a + k]) == w[k])
			k++;
		if (k == b - a)
			return true;
	}
	return false;
}

int
mt_literals_weak_index(const struct mt_literals *l)
{
	for (size_t k = 0; k < l->count; k++)
		if (mt_literal_is_weak(l->lit[k], l->len[k]) && !l->also_set[k] &&
		    (l->also_len[k] == 0 || mt_literal_is_weak(l->also[k], l->also_len[k])))
			return (int)k;
	return -1;
}
