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
};

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
	return tap_done();
}
