/* lineframe - read() chunks to lines: the cap, cut lines, partial lines. */
#include "util/lineframe.h"

#include <string.h>

static void
deliver(struct mt_lineframe *f, bool truncated, bool partial, mt_frame_fn *fn, void *ctx)
{
	struct mt_frame_line l = {
		.p = f->line.data,
		.len = f->line.len,
		.truncated = truncated,
		.partial = partial,
		.offset = f->line_start,
	};

	/* CRLF logs: the CR belongs to the line ending, not to the text. */
	if (l.len > 0 && l.p[l.len - 1] == '\r')
		l.len--;
	fn(ctx, &l);
	mt_buf_reset(&f->line);
}

void
mt_lineframe_init(struct mt_lineframe *f, size_t max_line)
{
	mt_buf_init(&f->line, max_line);
	f->cutting = false;
	f->line_start = f->end = 0;
}

void
mt_lineframe_fini(struct mt_lineframe *f)
{
	mt_buf_fini(&f->line);
}

void
mt_lineframe_reset(struct mt_lineframe *f, uint64_t pos)
{
	mt_buf_reset(&f->line);
	f->cutting = false;
	f->line_start = f->end = pos;
}

void
mt_lineframe_feed(struct mt_lineframe *f, uint64_t pos, const char *p, size_t n, mt_frame_fn *fn,
		  void *ctx)
{
	f->end = pos + n;
	while (n > 0) {
		const char *nl = memchr(p, '\n', n);
		size_t seg = nl ? (size_t)(nl - p) : n;
		size_t take = nl ? seg + 1 : n;
		size_t room = f->line.cap - f->line.len;

		if (f->cutting) {
			if (nl) {
				f->cutting = false;
				f->line_start = pos + take;
			}
		} else if (seg > room) {
			/* Over-long: deliver what fits, flagged; skip the rest. */
			(void)mt_buf_append(&f->line, p, room);
			deliver(f, true, false, fn, ctx);
			if (nl)
				f->line_start = pos + take;
			else
				f->cutting = true;
		} else {
			(void)mt_buf_append(&f->line, p, seg);
			if (nl) {
				deliver(f, false, false, fn, ctx);
				f->line_start = pos + take;
			}
		}
		p += take;
		n -= take;
		pos += take;
	}
}

bool
mt_lineframe_flush(struct mt_lineframe *f, mt_frame_fn *fn, void *ctx)
{
	if (f->line.len == 0 || f->cutting)
		return false;
	deliver(f, false, true, fn, ctx);
	f->line_start = f->end;
	return true;
}

bool
mt_lineframe_end_cut(struct mt_lineframe *f)
{
	if (!f->cutting)
		return false;
	f->cutting = false;
	f->line_start = f->end;
	return true;
}

bool
mt_lineframe_pending(const struct mt_lineframe *f)
{
	return f->line.len > 0 || f->cutting;
}

uint64_t
mt_lineframe_resume(const struct mt_lineframe *f)
{
	return f->cutting ? f->end : f->line_start;
}
