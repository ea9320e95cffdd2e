/* Unit tests for acmatch.c, checked against a naive search. */
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

	/* An empty automaton finds nothing and does not crash. */
	ac = mt_ac_build(mt_ac_builder_new());
	memset(hits, 0, sizeof(hits));
	mt_ac_scan(ac, "anything", 8, on_hit, NULL);
	ok(hits[0] == 0, "empty automaton");
	mt_ac_free(ac);
	return tap_done();
}
