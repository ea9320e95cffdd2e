/* Unit tests for buf.c: the cap is never exceeded. */
#include <errno.h>
#include <string.h>

#include "tap.h"
#include "util/buf.h"

int
main(void)
{
	struct mt_buf b;
	char big[5000];

	memset(big, 'x', sizeof(big));
	mt_buf_init(&b, 10);
	ok(mt_buf_append(&b, "hello", 5) == 0 && b.len == 5, "append within cap");
	ok(mt_buf_append(&b, "world!", 6) == -ENOBUFS && b.len == 5,
	   "append past cap refused whole");
	ok(mt_buf_append_trunc(&b, "world!", 6) == 5 && b.len == 10, "append_trunc fills to cap");
	ok(strcmp(b.data, "helloworld") == 0, "data NUL-terminated");
	ok(mt_buf_putc(&b, 'z') == -ENOBUFS, "putc at cap refused");
	mt_buf_consume(&b, 5);
	ok(b.len == 5 && strcmp(b.data, "world") == 0, "consume");
	ok(mt_buf_printf(&b, "%d", 12345) == 0 && strcmp(b.data, "world12345") == 0, "printf");
	ok(mt_buf_printf(&b, "%d", 1) == -ENOBUFS && b.len == 10, "printf past cap refused");
	mt_buf_reset(&b);
	ok(b.len == 0 && b.data[0] == '\0', "reset");
	mt_buf_fini(&b);

	mt_buf_init(&b, 100000);
	for (int i = 0; i < 20; i++)
		(void)mt_buf_append(&b, big, sizeof(big));
	ok(b.len == 100000 - 100000 % sizeof(big), "growth up to cap, got %zu", b.len);
	ok(b.size <= 100001, "never allocates past cap+1 (size %zu)", b.size);
	mt_buf_fini(&b);
	return tap_done();
}
