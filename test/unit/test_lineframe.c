/* Unit tests for lineframe.c: lines, the cap, cut and partial lines, any read boundaries. */
#include <stdio.h>
#include <string.h>

#include "tap.h"
#include "util/buf.h"
#include "util/lineframe.h"

/* Every line as "offset[T][P]:text|", in one string. */
static void
record(void *ctx, const struct mt_frame_line *l)
{
	struct mt_buf *out = ctx;

	(void)mt_buf_printf(out, "%llu%s%s:", (unsigned long long)l->offset,
			    l->truncated ? "T" : "", l->partial ? "P" : "");
	(void)mt_buf_append(out, l->p, l->len);
	(void)mt_buf_putc(out, '|');
}

/* Feed s in chunks of `chunk` bytes (0: whole), then flush; the lines in out. */
static void
run(size_t cap, const char *s, size_t chunk, bool flush, struct mt_buf *out)
{
	struct mt_lineframe f;
	size_t n = strlen(s), pos = 0;

	mt_buf_reset(out);
	mt_lineframe_init(&f, cap);
	while (pos < n) {
		size_t take = chunk == 0 || chunk > n - pos ? n - pos : chunk;

		mt_lineframe_feed(&f, pos, s + pos, take, record, out);
		pos += take;
	}
	if (flush)
		(void)mt_lineframe_flush(&f, record, out);
	mt_lineframe_fini(&f);
}

static const struct {
	size_t cap;
	const char *in, *want;
} cases[] = {
	{ 10, "a\nbb\n", "0:a|2:bb|" },
	{ 10, "\n\n", "0:|1:|" },
	{ 10, "a\r\nb\n", "0:a|3:b|" },			   /* CRLF */
	{ 3, "abc\nd\n", "0:abc|4:d|" },		   /* exactly the cap */
	{ 4, "abcdefg\nxy\n", "0T:abcd|8:xy|" },	   /* cut, rest skipped */
	{ 4, "abcdefghijklmnop\nxy\n", "0T:abcd|17:xy|" }, /* several chunks long */
	{ 4, "ab\nabcdef\ncd\n", "0:ab|3T:abcd|10:cd|" },
	{ 10, "abc", "0P:abc|" }, /* flushed at the end */
	{ 10, "ab\ncd", "0:ab|3P:cd|" },
	{ 4, "abcdefgh", "0T:abcd|" }, /* a cut is not flushed */
	{ 20, "x\r", "0P:x|" },
};

int
main(void)
{
	struct mt_buf out, whole;
	struct mt_lineframe f;

	mt_buf_init(&out, 1 << 16);
	mt_buf_init(&whole, 1 << 16);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool same = true;

		run(cases[i].cap, cases[i].in, 0, true, &out);
		ok(strcmp(out.data, cases[i].want) == 0, "case %zu: whole", i);
		if (strcmp(out.data, cases[i].want) != 0)
			diag("got %s, want %s", out.data, cases[i].want);
		/* Every chunk size gives the same lines. */
		for (size_t chunk = 1; chunk <= strlen(cases[i].in); chunk++) {
			run(cases[i].cap, cases[i].in, chunk, true, &out);
			if (strcmp(out.data, cases[i].want) != 0) {
				diag("chunk %zu: got %s, want %s", chunk, out.data, cases[i].want);
				same = false;
			}
		}
		ok(same, "case %zu: every chunk size gives the same lines", i);
	}

	/* A partial line waits for its newline, across feeds. */
	mt_lineframe_init(&f, 10);
	mt_lineframe_reset(&f, 100); /* a file resumed at offset 100 */
	mt_buf_reset(&out);
	mt_lineframe_feed(&f, 100, "ab\ncd", 5, record, &out);
	ok(strcmp(out.data, "100:ab|") == 0 && mt_lineframe_pending(&f),
	   "offsets from pos; cd waits");
	ok(mt_lineframe_resume(&f) == 103, "resume at the pending line's start: %llu",
	   (unsigned long long)mt_lineframe_resume(&f));
	mt_lineframe_feed(&f, 105, "e\n", 2, record, &out);
	ok(strcmp(out.data, "100:ab|103:cde|") == 0 && !mt_lineframe_pending(&f),
	   "completed by its newline");
	ok(!mt_lineframe_flush(&f, record, &out), "nothing to flush");
	mt_lineframe_feed(&f, 107, "xy", 2, record, &out);
	ok(mt_lineframe_flush(&f, record, &out) && strcmp(out.data, "100:ab|103:cde|107P:xy|") == 0,
	   "flush delivers it as partial");
	ok(mt_lineframe_resume(&f) == 109, "then resume after it");
	mt_lineframe_feed(&f, 109, "z\n", 2, record, &out);
	ok(strcmp(out.data, "100:ab|103:cde|107P:xy|109:z|") == 0, "the next bytes are a new line");

	/* A cut line: its rest skipped until a newline, or until end_cut. */
	mt_lineframe_reset(&f, 0);
	mt_buf_reset(&out);
	mt_lineframe_feed(&f, 0, "0123456789abc", 13, record, &out);
	ok(strcmp(out.data, "0T:0123456789|") == 0 && mt_lineframe_pending(&f), "cut at the cap");
	ok(mt_lineframe_resume(&f) == 13, "resume past the skipped rest");
	ok(!mt_lineframe_flush(&f, record, &out), "a cut line is not flushed again");
	mt_lineframe_feed(&f, 13, "def", 3, record, &out);
	ok(mt_lineframe_end_cut(&f) && !mt_lineframe_pending(&f), "end_cut ends the cut");
	ok(!mt_lineframe_end_cut(&f), "end_cut with no cut: false");
	mt_lineframe_feed(&f, 16, "next\n", 5, record, &out);
	ok(strcmp(out.data, "0T:0123456789|16:next|") == 0, "the line after is not swallowed");

	/* reset forgets what was pending. */
	mt_lineframe_feed(&f, 21, "half", 4, record, &out);
	mt_lineframe_reset(&f, 500);
	mt_lineframe_feed(&f, 500, "new\n", 4, record, &out);
	ok(strcmp(out.data, "0T:0123456789|16:next|500:new|") == 0, "reset drops the pending line");
	mt_lineframe_fini(&f);

	/* A long line never exceeds the cap, whatever the chunks. */
	{
		char big[3000];
		bool capped = true;

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		big[1500] = '\n';
		for (size_t chunk = 1; chunk < 700; chunk += 37) {
			run(100, big, chunk, true, &whole);
			capped = capped && strcmp(whole.data, "") != 0 &&
				 strstr(whole.data, "0T:") == whole.data &&
				 strstr(whole.data, "|1501T:") != NULL && whole.len < 2 * 100 + 20;
		}
		ok(capped, "two over-long lines, cut at 100 bytes each, any chunks: %s",
		   whole.data);
	}
	mt_buf_fini(&out);
	mt_buf_fini(&whole);
	return tap_done();
}
