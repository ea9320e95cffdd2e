/* Unit tests for tokline.c: escaping, the first error, and the two parsers. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "tap.h"
#include "util/buf.h"
#include "util/tokline.h"

static const struct {
	const char *in, *want;
} texts[] = {
	{ "plain", "plain" },
	{ "a b", "a\\x20b" },
	{ "k=v,w", "k\\x3dv\\x2cw" },
	{ "back\\slash", "back\\x5cslash" },
	{ "tab\tnl\n", "tab\\x09nl\\x0a" },
	{ "\x7f\xc3\xa9", "\\x7f\\xc3\\xa9" },
	{ "", "" },
};

static const struct {
	const char *in;
	int want_r;
	uint64_t want;
} nums[] = {
	{ "0", 0, 0 },
	{ "42", 0, 42 },
	{ "18446744073709551615", 0, UINT64_MAX },
	{ "18446744073709551616", -EINVAL, 0 },
	{ "000000000000000000001", -EINVAL, 0 }, /* 21 digits */
	{ "", -EINVAL, 0 },
	{ "-1", -EINVAL, 0 },
	{ "1x", -EINVAL, 0 },
};

static const struct {
	const char *in;
	int want_r;
	double want;
} times[] = {
	{ "3ff8000000000000", 0, 1.5 },	    { "0000000000000000", 0, 0.0 },
	{ "3FF8000000000000", -EINVAL, 0 }, /* upper case */
	{ "3ff800000000000", -EINVAL, 0 },  /* 15 digits */
	{ "7ff0000000000000", -EINVAL, 0 }, /* infinity */
	{ "7ff8000000000000", -EINVAL, 0 }, /* NaN */
};

int
main(void)
{
	struct mt_tokline w;
	struct mt_buf b;

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		mt_buf_init(&b, 1024);
		mt_tokline_begin(&w, &b);
		mt_tokline_text(&w, texts[i].in);
		ok(mt_tokline_end(&w) == 0 && strcmp(b.data, texts[i].want) == 0,
		   "text %zu: got '%s', want '%s'", i, b.data, texts[i].want);
		mt_buf_fini(&b);
	}

	mt_buf_init(&b, 1024);
	mt_tokline_begin(&w, &b);
	mt_tokline_puts(&w, "group");
	mt_tokline_tok(&w, "sig", "a b");
	mt_tokline_num(&w, "n", 7);
	mt_tokline_time(&w, "t", 1.5);
	ok(mt_tokline_end(&w) == 0 &&
		   strcmp(b.data, "group sig=a\\x20b n=7 t=3ff8000000000000") == 0,
	   "a line: got '%s'", b.data);
	mt_buf_fini(&b);

	/* Past the cap: the first error is kept and the line is cut back to where it began. */
	mt_buf_init(&b, 16);
	(void)mt_buf_puts(&b, "kept\n");
	mt_tokline_begin(&w, &b);
	mt_tokline_tok(&w, "sig", "0123456789");
	mt_tokline_num(&w, "n", 1);
	ok(w.r == -ENOBUFS, "past the cap: got r %d, want %d", w.r, -ENOBUFS);
	ok(mt_tokline_end(&w) == -ENOBUFS && b.len == 5 && strcmp(b.data, "kept\n") == 0,
	   "a failed line is cut back: got '%s'", b.data);
	mt_buf_fini(&b);

	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		uint64_t got = 0;
		int got_r = mt_tokline_parse_num(nums[i].in, strlen(nums[i].in), &got);

		ok(got_r == nums[i].want_r && got == nums[i].want,
		   "num '%s': got %d %llu, want %d %llu", nums[i].in, got_r,
		   (unsigned long long)got, nums[i].want_r, (unsigned long long)nums[i].want);
	}
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		double got = 0;
		int got_r = mt_tokline_parse_time(times[i].in, strlen(times[i].in), &got);

		ok(got_r == times[i].want_r && memcmp(&got, &times[i].want, sizeof(got)) == 0,
		   "time '%s': got %d %g, want %d %g", times[i].in, got_r, got, times[i].want_r,
		   times[i].want);
	}
	ok(mt_tokline_parse_num("12 ", 2, &(uint64_t){ 0 }) == 0,
	   "parsers read len bytes only (no NUL needed)");
	return tap_done();
}
