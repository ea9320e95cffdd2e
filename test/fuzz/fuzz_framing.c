/*
 * Fuzz the tail's line framing (util/lineframe) over arbitrary read
 * boundaries: the same bytes fed in fuzzer-chosen chunks give exactly the
 * lines fed in one piece, none longer than the cap, each the input's own
 * bytes at its offset.
 *
 * Input: byte 0 the cap (1..64), byte 1 how many chunk sizes follow (0..15),
 * then the sizes (1..32 each, cycled), then the bytes to frame.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/lineframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rec {
	struct mt_buf out; /* every line: offset, flags, length, bytes */
	size_t cap;
	const uint8_t *in;
	size_t in_len;
};

static void
record(void *ctx, const struct mt_frame_line *l)
{
	struct rec *r = ctx;
	uint64_t len = l->len;
	char flags = (char)((l->truncated ? 1 : 0) | (l->partial ? 2 : 0));

	if (l->len > r->cap || l->offset + l->len > r->in_len)
		abort();
	/* The line is the input's bytes at its offset... */
	if (l->len > 0 && memcmp(r->in + l->offset, l->p, l->len) != 0)
		abort();
	/* ...ended by its newline (after an optional CR), unless cut or partial. */
	if (!l->truncated && !l->partial) {
		size_t e = (size_t)l->offset + l->len;

		if (e < r->in_len && r->in[e] == '\r')
			e++;
		if (e >= r->in_len || r->in[e] != '\n')
			abort();
	}
	if (mt_buf_append(&r->out, &l->offset, sizeof(l->offset)) < 0 ||
	    mt_buf_append(&r->out, &flags, 1) < 0 ||
	    mt_buf_append(&r->out, &len, sizeof(len)) < 0 ||
	    mt_buf_append(&r->out, l->p, l->len) < 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mt_lineframe f;
	struct rec whole, chunked;
	size_t cap, nsizes, pos = 0, k = 0;
	const uint8_t *sizes;

	if (size < 2 || size > 64 * 1024)
		return 0;
	cap = 1 + data[0] % 64;
	nsizes = data[1] % 16;
	if (size < 2 + nsizes)
		return 0;
	sizes = data + 2;
	data += 2 + nsizes;
	size -= 2 + nsizes;

	/* Lines are at most the input plus 17 bytes of header each. */
	mt_buf_init(&whole.out, 18 * size + 64);
	mt_buf_init(&chunked.out, 18 * size + 64);
	whole.cap = chunked.cap = cap;
	whole.in = chunked.in = data;
	whole.in_len = chunked.in_len = size;

	mt_lineframe_init(&f, cap);
	mt_lineframe_feed(&f, 0, (const char *)data, size, record, &whole);
	(void)mt_lineframe_flush(&f, record, &whole);
	mt_lineframe_fini(&f);

	mt_lineframe_init(&f, cap);
	while (pos < size) {
		size_t take = nsizes == 0 ? 1 : 1 + sizes[k++ % nsizes] % 32;

		if (take > size - pos)
			take = size - pos;
		mt_lineframe_feed(&f, pos, (const char *)data + pos, take, record, &chunked);
		pos += take;
		if (mt_lineframe_resume(&f) > pos)
			abort();
	}
	(void)mt_lineframe_flush(&f, record, &chunked);
	if (mt_lineframe_pending(&f) && !f.cutting)
		abort();
	mt_lineframe_fini(&f);

	if (whole.out.len != chunked.out.len ||
	    memcmp(whole.out.data, chunked.out.data, whole.out.len) != 0)
		abort();
	mt_buf_fini(&whole.out);
	mt_buf_fini(&chunked.out);
	return 0;
}
