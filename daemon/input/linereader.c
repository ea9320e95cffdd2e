/* linereader - whole files, plain or gzip, line by line, for `scan`. */
#include "input/linereader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "util/buf.h"
#include "util/xalloc.h"

#define CHUNK (128 * 1024)

struct linereader {
	int fd;
	bool own_fd;
	bool gz, eof;
	bool in_member; /* gzip: inside a member whose end was not seen yet */
	z_stream zs;
	unsigned char *raw; /* compressed input chunk */
	char *chunk;	    /* decompressed / read bytes */
	size_t chunk_len, chunk_pos;
	struct mt_buf line; /* the line being assembled, capped */
	bool line_cut;
	uint64_t offset; /* stream offset of chunk[chunk_pos] */
	uint64_t line_start, lineno, truncated;
};

int
linereader_open(const char *path, size_t cap, struct linereader **ret)
{
	struct linereader *r;
	unsigned char magic[2];
	ssize_t n;
	int fd;

	if (strcmp(path, "-") == 0)
		fd = STDIN_FILENO;
	else if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
		return -errno;
	r = mt_xcalloc(1, sizeof(*r));
	r->fd = fd;
	r->own_fd = fd != STDIN_FILENO;
	r->chunk = mt_xmalloc(CHUNK);
	mt_buf_init(&r->line, cap);
	/* Peek at the magic without seeking, so pipes work: keep the bytes. */
	n = read(fd, magic, sizeof(magic));
	if (n < 0) {
		int e = -errno;

		linereader_free(r);
		return e;
	}
	if (n == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
		r->gz = true;
		r->raw = mt_xmalloc(CHUNK);
		if (inflateInit2(&r->zs, 15 + 32) != Z_OK) {
			linereader_free(r);
			return -ENOMEM;
		}
		r->zs.next_in = r->raw;
		memcpy(r->raw, magic, 2);
		r->zs.avail_in = 2;
	} else {
		memcpy(r->chunk, magic, (size_t)n);
		r->chunk_len = (size_t)n;
	}
	*ret = r;
	return 0;
}

struct linereader *
linereader_free(struct linereader *r)
{
	if (r == NULL)
		return NULL;
	if (r->gz)
		(void)inflateEnd(&r->zs);
	if (r->own_fd)
		(void)close(r->fd);
	free(r->raw);
	free(r->chunk);
	mt_buf_fini(&r->line);
	free(r);
	return NULL;
}

static ssize_t
read_full(int fd, void *p, size_t len)
{
	for (;;) {
		ssize_t n = read(fd, p, len);

		if (n >= 0 || errno != EINTR)
			return n;
	}
}

/* Refill chunk; 0 at end of input. */
static int
refill(struct linereader *r)
{
	r->chunk_pos = 0;
	r->chunk_len = 0;
	if (!r->gz) {
		ssize_t n = read_full(r->fd, r->chunk, CHUNK);

		if (n < 0)
			return -errno;
		r->chunk_len = (size_t)n;
		return n > 0;
	}
	while (r->chunk_len == 0) {
		int zr;

		if (r->zs.avail_in == 0) {
			ssize_t n = read_full(r->fd, r->raw, CHUNK);

			if (n < 0)
				return -errno;
			if (n == 0)
				/* What was inflated is kept; a cut-off member is still an error. */
				return r->in_member ? -EBADMSG : 0;
			r->zs.next_in = r->raw;
			r->zs.avail_in = (uInt)n;
		}
		r->in_member = true;
		r->zs.next_out = (unsigned char *)r->chunk;
		r->zs.avail_out = CHUNK;
		zr = inflate(&r->zs, Z_NO_FLUSH);
		if (zr == Z_STREAM_END) {
			/* Concatenated members (as `cat a.gz b.gz`) continue. */
			r->chunk_len = CHUNK - r->zs.avail_out;
			r->in_member = false;
			if (inflateReset(&r->zs) != Z_OK)
				return -EBADMSG;
		} else if (zr != Z_OK && zr != Z_BUF_ERROR) {
			return -EBADMSG;
		} else {
			r->chunk_len = CHUNK - r->zs.avail_out;
		}
	}
	return 1;
}

int
linereader_next(struct linereader *r, struct line *ret)
{
	mt_buf_reset(&r->line);
	r->line_cut = false;
	r->line_start = r->offset;
	for (;;) {
		const char *p, *nl;
		size_t avail;

		if (r->chunk_pos == r->chunk_len) {
			int rc;

			if (r->eof)
				return 0;
			rc = refill(r);
			if (rc < 0)
				return rc;
			if (rc == 0) {
				r->eof = true;
				if (r->line.len == 0 && !r->line_cut)
					return 0;
				break; /* the last line had no newline */
			}
		}
		p = r->chunk + r->chunk_pos;
		avail = r->chunk_len - r->chunk_pos;
		nl = memchr(p, '\n', avail);
		if (nl == NULL) {
			if (mt_buf_append_trunc(&r->line, p, avail) < avail)
				r->line_cut = true;
			r->chunk_pos += avail;
			r->offset += avail;
			continue;
		}
		if (mt_buf_append_trunc(&r->line, p, (size_t)(nl - p)) < (size_t)(nl - p))
			r->line_cut = true;
		r->chunk_pos += (size_t)(nl - p) + 1;
		r->offset += (size_t)(nl - p) + 1;
		break;
	}
	if (r->line_cut)
		r->truncated++;
	r->lineno++;
	ret->p = r->line.data;
	ret->len = r->line.len;
	/* A CRLF log keeps its CR out of the line. */
	if (ret->len > 0 && ret->p[ret->len - 1] == '\r')
		ret->len--;
	ret->truncated = r->line_cut;
	ret->offset = r->line_start;
	ret->lineno = r->lineno;
	return 1;
}

uint64_t
linereader_truncated(const struct linereader *r)
{
	return r->truncated;
}
