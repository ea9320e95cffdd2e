/* Unit tests for acmatch.c, checked against a naive search. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "match/acmatch.h"
#include "tap.h"

#define NPAT 200

static unsigned hits[NPAT];

static void
on_hit(void *ctx, uint32_t id)
{
	(void)ctx;
	hits[id]++;
}

static bool
naive_has(const char *text, size_t tlen, const char *pat)
{
	size_t plen = strlen(pat);

	for (size_t i = 0; i + plen <= tlen; i++)
		if (strncasecmp(text + i, pat, plen) == 0)
			return true;
	return false;
}

/*
 * A set of literals of any length checked against a naive search: texts made
 * of copies of the literals, some with one byte changed (a prefix that
 * matches and a tail that does not), some cut short at the end of the text,
 * and random bytes between them.
 */
struct set {
	char **pat;
	size_t n;
	unsigned *hits;
};

static void
count_hit(void *ctx, uint32_t id)
{
	struct set *s = ctx;

	s->hits[id]++;
}

static size_t
disagreements(const struct mt_ac *ac, struct set *set, unsigned *seed, int rounds,
	      const char *alphabet)
{
	size_t bad = 0, nalpha = strlen(alphabet);

	set->hits = calloc(set->n, sizeof(*set->hits));
	for (int round = 0; round < rounds; round++) {
		char text[400];
		size_t tlen = 0, want = (size_t)(rand_r(seed) % sizeof(text));

		while (tlen < want) {
			if (rand_r(seed) % 3 == 0) {
				text[tlen++] = alphabet[rand_r(seed) % nalpha];
			} else {
				const char *p = set->pat[rand_r(seed) % set->n];
				size_t plen = strlen(p), at = tlen;

				for (size_t k = 0; k < plen && tlen < want; k++)
					text[tlen++] =
						rand_r(seed) % 2 ? p[k] : (char)(p[k] ^ 0x20);
				if (rand_r(seed) % 3 == 0 && tlen > at)
					text[at + rand_r(seed) % (tlen - at)] ^= 1;
			}
		}
		memset(set->hits, 0, set->n * sizeof(*set->hits));
		mt_ac_scan(ac, text, tlen, count_hit, set);
		for (size_t p = 0; p < set->n; p++)
			if ((set->hits[p] > 0) != naive_has(text, tlen, set->pat[p]))
				bad++;
	}
	free(set->hits);
	return bad;
}

/* n random literals of lengths lo..hi over alphabet; the automaton of them. */
static struct mt_ac *
random_set(struct set *set, size_t n, size_t lo, size_t hi, const char *alphabet, unsigned *seed)
{
	struct mt_ac_builder *b = mt_ac_builder_new();
	size_t nalpha = strlen(alphabet);

	set->n = n;
	set->pat = calloc(n, sizeof(*set->pat));
	for (size_t i = 0; i < n; i++) {
		size_t len = lo + (size_t)rand_r(seed) % (hi - lo + 1);

		set->pat[i] = calloc(len + 1, 1);
		for (size_t k = 0; k < len; k++)
			set->pat[i][k] = alphabet[rand_r(seed) % nalpha];
		mt_ac_builder_add(b, set->pat[i], len, (uint32_t)i);
	}
	return mt_ac_build(b);
}

static void
set_free(struct set *set)
{
	for (size_t i = 0; i < set->n; i++)
		free(set->pat[i]);
	free(set->pat);
}

int
main(void)
{
	static const char *const fixed[] = {
		"he", "she", "his", "hers", "Relay access denied", "status=deferred", "said: 421"
	};
	char pats[NPAT][12];
	struct mt_ac_builder *b = mt_ac_builder_new();
	struct mt_ac *ac;
	unsigned seed = 12345;
	size_t npat = 0, bad = 0;

	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		snprintf(pats[npat], sizeof(pats[npat]), "%.11s", fixed[i]);
		mt_ac_builder_add(b, fixed[i], strlen(fixed[i]), (uint32_t)npat++);
	}
	/* Random short patterns over a small alphabet collide and overlap a lot. */
	while (npat < NPAT) {
		size_t len = 2 + rand_r(&seed) % 6;

		for (size_t k = 0; k < len; k++)
			pats[npat][k] = "abcAB"[rand_r(&seed) % 5];
		pats[npat][len] = '\0';
		mt_ac_builder_add(b, pats[npat], len, (uint32_t)npat);
		npat++;
	}
	ac = mt_ac_build(b);
	ok(mt_ac_states(ac) > 1, "automaton built (%zu states)", mt_ac_states(ac));
	ok(mt_ac_entry_size(ac) == 2, "small automaton: 16-bit entries (got %zu bytes)",
	   mt_ac_entry_size(ac));

	{
		const char *t = "ushers: host mx[1.2.3.4] said: 421 4.7.0; RELAY ACCESS DENIED";

		memset(hits, 0, sizeof(hits));
		mt_ac_scan(ac, t, strlen(t), on_hit, NULL);
		ok(hits[0] && hits[1] && hits[3] && !hits[2], "classic he/she/his/hers");
		ok(hits[4] == 1, "case-insensitive literal");
		ok(hits[6] == 1 && hits[5] == 0, "said: 421 found, status=deferred not");
	}
	for (int round = 0; round < 300; round++) {
		char text[300];
		size_t tlen = (size_t)(rand_r(&seed) % sizeof(text));

		for (size_t k = 0; k < tlen; k++)
			text[k] = "abcABxy\0\xff"[rand_r(&seed) % 9];
		memset(hits, 0, sizeof(hits));
		mt_ac_scan(ac, text, tlen, on_hit, NULL);
		for (size_t p = 0; p < npat; p++)
			if ((hits[p] > 0) != naive_has(text, tlen, pats[p]))
				bad++;
	}
	ok(bad == 0, "300 random texts agree with naive search (%zu disagreements)", bad);
	mt_ac_free(ac);

	/*
	 * Literals longer than the automaton's 16-byte prefixes, over a small
	 * alphabet: many share their first 16 bytes and differ in the tail.
	 */
	{
		struct set set;

		ac = random_set(&set, 300, 10, 40, "abAB", &seed);
		bad = disagreements(ac, &set, &seed, 400, "abcAB");
		ok(bad == 0,
		   "literals of 10..40 bytes: 400 texts agree with naive search (%zu "
		   "disagreements)",
		   bad);
		mt_ac_free(ac);
		set_free(&set);
	}
	{
		static const char *const lits[] = {
			"said: 421 4.7.0 service not available",
			"said: 421 4.7.0 try again later",
			"said: 421 4.7.0 ", /* the prefix alone */
			"status=deferred (host",
		};
		/* Scanned without its last byte, which would complete lits[3]. */
		const char *t = "host mx said: 421 4.7.0 Try Again Later; status=deferred (host";
		struct mt_ac_builder *lb = mt_ac_builder_new();

		for (size_t i = 0; i < 4; i++)
			mt_ac_builder_add(lb, lits[i], strlen(lits[i]), (uint32_t)i);
		ac = mt_ac_build(lb);
		memset(hits, 0, sizeof(hits));
		mt_ac_scan(ac, t, strlen(t) - 1, on_hit, NULL);
		ok(!hits[0] && hits[1] == 1 && hits[2] == 1,
		   "a shared 16-byte prefix: the literal whose tail follows, not its sibling");
		ok(hits[3] == 0, "a literal cut short by the end of the text is not reported");
		mt_ac_free(ac);
	}

	/*
	 * More than 65,536 states: the 32-bit table, with short and long
	 * literals, agreeing with a naive search like the 16-bit one.
	 */
	{
		struct set set;

		ac = random_set(&set, 9000, 4, 30, "abcdefghijklmnopqrstuvwxyz0123456789", &seed);
		ok(mt_ac_states(ac) > 65536 && mt_ac_entry_size(ac) == 4,
		   "9000 random literals: %zu states, %zu-byte entries", mt_ac_states(ac),
		   mt_ac_entry_size(ac));
		bad = disagreements(ac, &set, &seed, 60, "abcdefghijklmnopqrstuvwxyz0123456789 ");
		ok(bad == 0, "32-bit table: 60 texts agree with naive search (%zu disagreements)",
		   bad);
		mt_ac_free(ac);
		set_free(&set);
	}

	/* An empty automaton finds nothing and does not crash. */
	ac = mt_ac_build(mt_ac_builder_new());
	memset(hits, 0, sizeof(hits));
	mt_ac_scan(ac, "anything", 8, on_hit, NULL);
	ok(hits[0] == 0, "empty automaton");
	mt_ac_free(ac);
	return tap_done();
}
