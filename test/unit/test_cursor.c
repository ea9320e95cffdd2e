/* Unit tests for cursor.c: round trips and rejection of damaged records. */
#include <errno.h>
#include <string.h>

#include "tap.h"
#include "util/buf.h"
#include "util/cursor.h"

static const char *const bad[] = {
	"",
	"file",
	"file 1 2 3 4 0123456789abcdef",		       /* no path */
	"file 1 2 3 4 0123456789abcdef ",		       /* empty path */
	"file 1 2 3 4096 0123456789abcdef /x",		       /* fp_len over the max */
	"file 1 2 -3 4 0123456789abcdef /x",		       /* negative */
	"file 1 2 3 4 0123456789ABCDEF /x",		       /* upper-case hex */
	"file 1 2 3 4 0123456789abcde /x",		       /* short hash */
	"file 99999999999999999999 2 3 4 0123456789abcdef /x", /* overflow */
	"file 1 2 3 4 0123456789abcdef /x\\q",		       /* bad escape */
	"file 1 2 3 4 0123456789abcdef /x\\",		       /* dangling escape */
	"journal ",
	"files 1 2 3 4 0123456789abcdef /x",
	"file  1 2 3 4 0123456789abcdef /x",
};

int
main(void)
{
	struct mt_cursor c = { .kind = MT_CURSOR_FILE,
			       .dev = 2049,
			       .ino = 131075,
			       .offset = 1234567890123ULL,
			       .fp_len = 1024,
			       .fp_hash = 0xfedcba9876543210ULL };
	struct mt_cursor got;
	struct mt_buf b;

	snprintf(c.path, sizeof(c.path), "%s", "/var/log/odd\\name\nwith newline");
	mt_buf_init(&b, 8192);
	ok(mt_cursor_encode(&b, &c) == 0 && b.data[b.len - 1] == '\n', "encode");
	ok(memchr(b.data, '\n', b.len - 1) == NULL,
	   "one line per record even with a newline in the path");
	ok(mt_cursor_decode(b.data, b.len - 1, &got) == 0, "decode");
	ok(got.kind == c.kind && got.dev == c.dev && got.ino == c.ino && got.offset == c.offset &&
		   got.fp_len == c.fp_len && got.fp_hash == c.fp_hash && !strcmp(got.path, c.path),
	   "round trip");
	mt_buf_reset(&b);
	c.kind = MT_CURSOR_JOURNAL;
	snprintf(c.path, sizeof(c.path), "%s",
		 "s=739ad463348b4ceca5a9e69c95a3c93f;i=4ece7;b=6c7c6013a8;m=25ebc;t=4fd05c;x=f9");
	ok(mt_cursor_encode(&b, &c) == 0 && mt_cursor_decode(b.data, b.len - 1, &got) == 0 &&
		   got.kind == MT_CURSOR_JOURNAL && !strcmp(got.path, c.path),
	   "journal cursor round trip");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ok(mt_cursor_decode(bad[i], strlen(bad[i]), &got) == -EINVAL, "rejects '%s'",
		   bad[i]);
	mt_buf_fini(&b);

	/* A cap too small for the record leaves the buffer as it was. */
	mt_buf_init(&b, 10);
	c.kind = MT_CURSOR_FILE;
	ok(mt_cursor_encode(&b, &c) == -ENOBUFS && b.len == 0, "no half record past the cap");
	mt_buf_fini(&b);
	ok(mt_cursor_hash("abc", 3) == 0xe71fa2190541574bULL, "FNV-1a 64 of 'abc'");
	return tap_done();
}
