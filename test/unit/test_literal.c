/* Unit tests for literal.c: the literals promised must really be required. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match/literal.h"
#include "tap.h"

struct lit_case {
	const char *re;
	const char *want[3]; /* NULL-terminated; none: costly */
};

static const struct lit_case cases[] = {
	{ "421\\s+4\\.7\\.0\\s+Service not available", { "service not available", NULL } },
	{ "Relay access denied", { "relay access denied", NULL } },
	{ "(?i)relay ACCESS", { "relay access", NULL } },
	{ "said: 4[25]1[ -]4\\.7\\.28", { "said: 4", NULL } },
	{ "colou?r blindness", { "r blindness", NULL } },
	{ "abcd+efg", { "abcd", NULL } },
	{ "xy{0,3}zzzz", { "zzzz", NULL } },
	{ "xyz{2}abc", { "xyz", NULL } },
	{ "foo(bar|baz)quuxx", { "quuxx", NULL } },
	{ "timed out|refused connection", { "timed out", "refused connection", NULL } },
	{ "timed out|ab", { NULL } }, /* one branch has no literal: costly */
	{ "\\d+\\.\\d+", { NULL } },
	{ ".*", { NULL } },
	{ "[abc]+", { NULL } },
	{ "(?x) spaced  out ", { NULL } }, /* extended mode: give up */
	{ "status=deferred \\(host (?<relay>[^ ]+) said", { "status=deferred (host ", NULL } },
	{ "\\Qa.b\\Ecdef", { "cdef", NULL } },
	{ "Host or domain name not found\\. Name service error",
	  { "host or domain name not found. name service error", NULL } },
	{ "a{bc}defg", { "a{bc}defg", NULL } }, /* not a quantifier: literal braces */
	{ "[]x]yzzy", { "yzzy", NULL } },
	{ "[^]]*hello", { "hello", NULL } },
	/* a group whose every alternative has a literal is a required set */
	{ "(?<t>COMMAND PIPELINING|NON-SMTP COMMAND) from \\[",
	  { "command pipelining", "non-smtp command", NULL } },
	{ " \\*\\* \\S+ (?:SMTP error from remote|LMTP error) after ",
	  { "smtp error from remote", "lmtp error", NULL } },
	{ "(?:abc|x) tail_literal", { " tail_literal", NULL } }, /* the group has a weak branch */
	{ "(?:optional group)? tail", { " tail", NULL } },
	{ "(?=lookahead text)abc", { "abc", NULL } },
	{ "(?i:case folded) x", { "case folded", NULL } },
	{ "(?x: spaced )abc", { NULL } },
	/* words on most mail-log lines lose to anything more distinctive */
	{ "(?<e>lost connection|timeout) after (?<a>[A-Z]+)",
	  { "lost connection", "timeout", NULL } },
	{ "connect from \\S+ refused!", { " refused!", NULL } },
	/* a common word with punctuation around it is still common: the phrases win */
	{ "postfix/\\w+\\[\\d+\\]: warning: [^\\n]{0,300}?(?:bad SIZE|BDAT request)",
	  { "bad size", "bdat request", NULL } },
	/* a class of one letter in both cases is that letter (the prefilter ignores case) */
	{ "\\b[Ss]pam[Cc]op\\b", { "spamcop", NULL } },
	{ "[Jj]unk [mM]ail|x[5]yz", { "junk mail", "x5yz", NULL } },
	{ "[Ab]cdef|[.]ghij", { "cdef", "ghij", NULL } }, /* two letters, or punctuation: not */
	{ "[Bb]lock ?listed", { "listed", NULL } },
	/* between two common words, the longer one */
	{ "postfix[\\w.-]*/[\\w.-]+\\[\\d+\\]: warning: \\S+", { "]: warning: ", NULL } },
};

/* The second literal: another run the same alternative requires, or none. */
struct also_case {
	const char *re;
	const char *want[2]; /* per literal: its second one, "" for none */
};

/* A required group of selective words beside the chosen literals: one of them is required too. */
static void
second_sets(void)
{
	static const struct {
		const char *re;
		size_t set2; /* how many words, 0: none */
	} w[] = {
		{ "host \\S+ (?:said: 4|said: 5)\\d\\d .*(?:[Ss]pamhaus|[Bb]arracuda|DNSBL)", 3 },
		/* a word on most lines in the group: no set2 */
		{ "host \\S+ (?:said: 4|said: 5)\\d\\d .*(?:[Ss]pamhaus|[Bb]arracuda|host)", 0 },
		/* an optional group is not required */
		{ "host \\S+ (?:said: 4|said: 5)\\d\\d .*(?:[Ss]pamhaus|[Bb]arracuda)?", 0 },
		/* a word that beats the group: the group is its set2 */
		{ "(?:said: 4|said: 5)\\d\\d .*(?:[Ss]pamhaus)", 2 },
		/* two alternatives with the same group share it; the plain alternative has none */
		{ "refused to talk to me: .*(?:Spamhaus|Barracuda)|stat=Deferred: "
		  ".*(?:Spamhaus|Barracuda)|reply=55",
		  2 },
	};

	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		struct mt_literals *got = malloc(sizeof(*got));
		bool flags = true;

		if (got == NULL)
			abort();
		mt_literal_extract(w[i].re, strlen(w[i].re), got);
		for (size_t k = 0; k < got->count; k++)
			flags = flags && got->also_set[k] == (w[i].set2 > 0 && k < 2);
		if (!ok(got->count > 0 && got->set2_count == w[i].set2 && flags,
			"set2 of /%s/: %zu words", w[i].re, w[i].set2))
			for (size_t k = 0; k < got->count; k++)
				diag("got '%.*s'%s", (int)got->len[k], got->lit[k],
				     got->also_set[k] ? " with set2" : "");
		free(got);
	}
}

static const struct also_case also_cases[] = {
	{ "said: 4[25]1[ -]4\\.7\\.28", { "4.7.28", NULL } },
	{ "said: 4\\d\\d[ -]4\\.5\\.\\d|said: 5\\d\\d[ -]5\\.5\\.\\d", { "4.5.", "5.5." } },
	/* runs inside an optional group or under an optional quantifier are not required */
	{ "service not available(?: closing channel)?", { "", NULL } },
	{ "colou?r blindness", { "colo", NULL } },
	/* a run that is only a common word is worth nothing as a second literal */
	{ "Relay access denied from \\S+", { "", NULL } },
	/* the group set is chosen; the plain run beside it is the second literal */
	{ "(?:COMMAND PIPELINING|NON-SMTP COMMAND) sent by client", { " sent by client", NULL } },
	/* a required group with one literal is required like a run: the code in a capture */
	{ "SMTP error from remote mail server after [^\\n]{0,300}?: (?<code>[45]\\d\\d)[ "
	  "-](?<dsn>[45]\\.4\\.6)(?![\\d.])",
	  { ".4.6", NULL } },
	/* but not an optional one, nor one with several literals */
	{ "SMTP error from remote mail server after (?:\\S+ )?(?:[45]\\.4\\.6)?x", { "", NULL } },
	{ "SMTP error from remote mail server after (?:4\\.4\\.6|5\\.4\\.6)", { "", NULL } },
};

static void
second_literals(void)
{
	for (size_t i = 0; i < sizeof(also_cases) / sizeof(also_cases[0]); i++) {
		const struct also_case *c = &also_cases[i];
		struct mt_literals got;
		bool same = true;

		mt_literal_extract(c->re, strlen(c->re), &got);
		for (size_t k = 0; k < got.count && k < 2 && c->want[k] != NULL; k++)
			same = same && got.also_len[k] == strlen(c->want[k]) &&
			       memcmp(got.also[k], c->want[k], got.also_len[k]) == 0;
		if (!ok(got.count > 0 && same, "second literal of /%s/", c->re))
			for (size_t k = 0; k < got.count; k++)
				diag("got '%.*s' and '%.*s'", (int)got.len[k], got.lit[k],
				     (int)got.also_len[k], got.also[k]);
	}
}

/* Weak literals (the lint of `mtalertd check`): short, or a word on most mail-log lines. */
static void
weak_literals(void)
{
	static const struct {
		const char *re;
		bool weak;
	} w[] = {
		{ "host (?<h>\\S+)\\[", true },		   /* 'host ' */
		{ "]: warning: [a-z]+ \\d+", true },	   /* ']: warning: ' */
		{ "Process \\d+ exited", false },	   /* ' exited' wins over 'process ' */
		{ " \\*\\* \\S+", true },		   /* ' ** ': nothing but punctuation */
		{ "said: 4\\d\\d[ -]4\\.7\\.\\d", false }, /* 'said: 4' */
		{ "warning: mailbox quota exceeded", false },
		/* a selective run beside a weak one wins */
		{ "reject: \\S+ Recipient address rejected", false },
		/* 'rejected: ' (a weak word) is chosen, with the selective second 'qwerty' */
		{ "rejected: \\S+ qwerty", false },
	};

	ok(mt_literal_is_weak("] said: ", 8), "'] said: ' is weak");
	ok(mt_literal_is_weak(" FROM ", 6), "' FROM ' is weak (without case)");
	ok(mt_literal_is_weak(".4.", 3), "'.4.' is weak (short)");
	ok(!mt_literal_is_weak("fatal: open ", 12), "'fatal: open ' is not weak");
	for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		struct mt_literals got;

		mt_literal_extract(w[i].re, strlen(w[i].re), &got);
		if (!ok(got.count > 0 && (mt_literals_weak_index(&got) >= 0) == w[i].weak,
			"/%s/ %s", w[i].re, w[i].weak ? "is weak" : "is not weak"))
			for (size_t k = 0; k < got.count; k++)
				diag("got '%.*s' and '%.*s'", (int)got.len[k], got.lit[k],
				     (int)got.also_len[k], got.also[k]);
	}
}

/* n alternatives "alt00 text" ... inside `before` and `after`. */
static char *
alternatives(const char *before, size_t n, const char *after)
{
	size_t cap = strlen(before) + strlen(after) + 16 * n + 1, k = 0;
	char *re = malloc(cap);

	if (re == NULL)
		abort();
	k += (size_t)snprintf(re + k, cap - k, "%s", before);
	for (size_t i = 0; i < n; i++)
		k += (size_t)snprintf(re + k, cap - k, "%salt%02zu text", i ? "|" : "", i);
	snprintf(re + k, cap - k, "%s", after);
	return re;
}

/* Records with tens of alternatives (one Postfix warning each) get one literal per alternative. */
static void
many_alternatives(void)
{
	struct mt_literals *got = malloc(sizeof(*got));
	char *re;

	if (got == NULL)
		abort();
	re = alternatives("", 37, "");
	mt_literal_extract(re, strlen(re), got);
	ok(got->count == 37 && got->len[36] == 10 && memcmp(got->lit[36], "alt36 text", 10) == 0,
	   "37 top-level alternatives: 37 literals (%zu)", got->count);
	free(re);
	re = alternatives("", MT_LITERAL_ALTS, "");
	mt_literal_extract(re, strlen(re), got);
	ok(got->count == MT_LITERAL_ALTS, "%d top-level alternatives: as many literals (%zu)",
	   MT_LITERAL_ALTS, got->count);
	free(re);
	re = alternatives("", MT_LITERAL_ALTS + 1, "");
	mt_literal_extract(re, strlen(re), got);
	ok(got->count == 0, "%d top-level alternatives: costly (%zu)", MT_LITERAL_ALTS + 1,
	   got->count);
	free(re);
	/* a group of 20 phrases after a common word: the phrases, the word is worth nothing */
	re = alternatives("postfix/\\w+\\[\\d+\\]: warning: (?:", 20, ")");
	mt_literal_extract(re, strlen(re), got);
	ok(got->count == 20 && memcmp(got->lit[0], "alt00 text", 10) == 0,
	   "a group of 20 phrases is the set (%zu)", got->count);
	free(re);
	/* a group too large for the set: the run beside it */
	re = alternatives("]: warning: rare word (?:", MT_LITERAL_ALTS + 1, ")");
	mt_literal_extract(re, strlen(re), got);
	ok(got->count == 1 && got->len[0] == 22 &&
		   memcmp(got->lit[0], "]: warning: rare word ", 22) == 0,
	   "a group of %d phrases: the run beside it (%zu)", MT_LITERAL_ALTS + 1, got->count);
	free(re);
	free(got);
}

/*
 * Groups nested as deep as the extractor goes, each with as many
 * alternatives as it takes: its scratch is on the heap, so a thread with a
 * small stack is enough (sets on the stack would need over 400 KiB a level).
 */
static void *
deep(void *arg)
{
	struct mt_literals *got = arg;
	char *re = strdup("innermost");

	for (int d = 0; d < 10 && re != NULL; d++) {
		char *next = alternatives("(?:", MT_LITERAL_ALTS - 1, "|level ");
		size_t a = strlen(next), b = strlen(re);
		char *both = malloc(a + b + 2);

		if (both != NULL) {
			memcpy(both, next, a);
			memcpy(both + a, re, b);
			memcpy(both + a + b, ")", 2);
		}
		free(next);
		free(re);
		re = both;
	}
	if (re == NULL)
		abort();
	mt_literal_extract(re, strlen(re), got);
	free(re);
	return NULL;
}

static void
small_stack(void)
{
	struct mt_literals *got = calloc(1, sizeof(*got));
	pthread_attr_t attr;
	pthread_t t;
	int rc;

	if (got == NULL)
		abort();
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	rc = pthread_create(&t, &attr, deep, got);
	ok(rc == 0, "thread with a 256 KiB stack started");
	if (rc == 0)
		pthread_join(t, NULL);
	/* each level: 47 phrases, and "level " for the group too large beside it */
	ok(got->count == MT_LITERAL_ALTS && got->len[MT_LITERAL_ALTS - 1] == 6,
	   "10 nested groups of %d alternatives on a 256 KiB stack: %zu literals", MT_LITERAL_ALTS,
	   got->count);
	pthread_attr_destroy(&attr);
	free(got);
}

int
main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct lit_case *c = &cases[i];
		struct mt_literals got;
		size_t want_n = 0;
		bool same = true;

		while (c->want[want_n])
			want_n++;
		mt_literal_extract(c->re, strlen(c->re), &got);
		same = got.count == want_n;
		for (size_t k = 0; same && k < want_n; k++)
			same = got.len[k] == strlen(c->want[k]) &&
			       memcmp(got.lit[k], c->want[k], got.len[k]) == 0;
		if (!ok(same, "literals of /%s/", c->re)) {
			diag("got %zu literal(s), want %zu", got.count, want_n);
			for (size_t k = 0; k < got.count; k++)
				diag("got '%.*s'", (int)got.len[k], got.lit[k]);
		}
	}
	second_literals();
	weak_literals();
	many_alternatives();
	small_stack();
	second_sets();
	return tap_done();
}
