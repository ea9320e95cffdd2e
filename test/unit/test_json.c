/* Unit tests for json.c: escaping of untrusted text. */
#include <string.h>

#include "tap.h"
#include "util/buf.h"
#include "util/json.h"

struct json_case {
	const char *name;
	const char *in;
	size_t len;
	const char *want;
};

#define C(name, lit, want)                       \
	{                                        \
		name, lit, sizeof(lit) - 1, want \
	}

static const struct json_case json_cases[] = {
	C("plain", "hello", "\"hello\""),
	C("quote and backslash", "a\"b\\c", "\"a\\\"b\\\\c\""),
	C("newline tab cr", "a\nb\tc\rd", "\"a\\nb\\tc\\rd\""),
	C("other control", "a\001b\033[31m", "\"a\\u0001b\\u001b[31m\""),
	C("DEL", "a\177b", "\"a\\u007fb\""),
	C("NUL kept", "a\0b", "\"a\\u0000b\""),
	C("utf8 passes", "caf\xc3\xa9 \xe6\x9c\x8d", "\"caf\xc3\xa9 \xe6\x9c\x8d\""),
	C("4-byte utf8", "\xf0\x9f\x93\xa7", "\"\xf0\x9f\x93\xa7\""),
	C("lone high byte", "a\xe9z", "\"a\\\\xe9z\""),
	C("overlong", "\xc0\xaf", "\"\\\\xc0\\\\xaf\""),
	C("surrogate", "\xed\xa0\x80", "\"\\\\xed\\\\xa0\\\\x80\""),
	C("truncated seq", "\xe6\x9c", "\"\\\\xe6\\\\x9c\""),
	C("beyond U+10FFFF", "\xf4\x90\x80\x80", "\"\\\\xf4\\\\x90\\\\x80\\\\x80\""),
	C("line separator", "a\xe2\x80\xa8z", "\"a\\u2028z\""),
	C("empty", "", "\"\""),
};

struct clean_case {
	const char *name;
	const char *in;
	size_t len, max;
	const char *want;
	int want_rc;
};

static const struct clean_case clean_cases[] = {
	{ "printable", "abc", 3, 100, "abc", 0 },
	{ "escape seq", "\033[2Jx", 5, 100, "\\e[2Jx", 0 },
	{ "newline", "a\nb", 3, 100, "a\\nb", 0 },
	{ "binary", "\x01\xff", 2, 100, "\\x01\\xff", 0 },
	{ "utf8 kept", "\xc3\xa9", 2, 100, "\xc3\xa9", 0 },
	{ "cut", "abcdef", 6, 3, "abc", 1 },
	{ "cut before escape", "ab\x01", 3, 4, "ab", 1 },
};

int
main(void)
{
	struct mt_buf b;

	for (size_t i = 0; i < sizeof(json_cases) / sizeof(json_cases[0]); i++) {
		const struct json_case *c = &json_cases[i];
		int rc;

		mt_buf_init(&b, 1024);
		rc = mt_json_str(&b, c->in, c->len);
		if (!ok(rc == 0 && strcmp(b.data, c->want) == 0, "json %s", c->name))
			diag("got %s, want %s", b.data, c->want);
		mt_buf_fini(&b);
	}
	for (size_t i = 0; i < sizeof(clean_cases) / sizeof(clean_cases[0]); i++) {
		const struct clean_case *c = &clean_cases[i];
		int rc;

		mt_buf_init(&b, 1024);
		rc = mt_text_clean(&b, c->in, c->len, c->max);
		if (!ok(rc == c->want_rc && strcmp(b.data, c->want) == 0, "clean %s", c->name))
			diag("got '%s' rc %d, want '%s' rc %d", b.data, rc, c->want, c->want_rc);
		mt_buf_fini(&b);
	}

	/* Every byte value, alone: the output must be pure printable ASCII or UTF-8. */
	for (int v = 0; v < 256; v++) {
		char in = (char)v;
		bool clean = true;

		mt_buf_init(&b, 64);
		(void)mt_json_str(&b, &in, 1);
		for (size_t k = 0; k < b.len; k++)
			if ((unsigned char)b.data[k] < 0x20 || (unsigned char)b.data[k] >= 0x7f)
				clean = false;
		if (v < 0x80 && v >= 0x20 && v != 0x7f)
			clean = true; /* printable ASCII may pass as is */
		if (!clean) {
			ok(false, "byte %02x escaped", (unsigned)v);
			diag("got %s", b.data);
		}
		mt_buf_fini(&b);
	}
	ok(true, "all 256 single bytes render as printable JSON");

	/* The cap: a buffer too small reports -ENOBUFS and never overruns. */
	mt_buf_init(&b, 8);
	ok(mt_json_str(&b, "0123456789", 10) < 0 && b.len <= 8, "cap respected");
	mt_buf_fini(&b);

	{
		struct mt_buf n;

		mt_buf_init(&n, 64);
		(void)mt_json_num(&n, 0.85);
		(void)mt_buf_putc(&n, ' ');
		(void)mt_json_num(&n, 12);
		(void)mt_buf_putc(&n, ' ');
		(void)mt_json_num(&n, 1.0 / 0.0);
		if (!ok(strcmp(n.data, "0.85 12 null") == 0, "numbers"))
			diag("got %s", n.data);
		mt_buf_fini(&n);
	}
	return tap_done();
}
