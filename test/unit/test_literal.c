/* Unit tests for literal.c: the literals promised must really be required. */
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
	/* between two common words, the longer one */
	{ "postfix[\\w.-]*/[\\w.-]+\\[\\d+\\]: warning: \\S+", { "]: warning: ", NULL } },
};

/* The second literal: another run the same alternative requires, or none. */
struct also_case {
	const char *re;
	const char *want[2]; /* per literal: its second one, "" for none */
};

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
	return tap_done();
}
