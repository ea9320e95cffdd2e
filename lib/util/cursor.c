/* cursor - one position record per input, encoded for the state file. */
#include "util/cursor.h"

#include <errno.h>
#include <string.h>

uint64_t
mt_cursor_hash(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 14695981039346656037ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

int
mt_cursor_encode(struct mt_buf *out, const struct mt_cursor *c)
{
	size_t mark = out->len;
	int r;

	if (c->kind == MT_CURSOR_JOURNAL)
		r = mt_buf_puts(out, "journal ");
	else
		r = mt_buf_printf(out, "file %llu %llu %llu %u %016llx ",
				  (unsigned long long)c->dev, (unsigned long long)c->ino,
				  (unsigned long long)c->offset, c->fp_len,
				  (unsigned long long)c->fp_hash);
	for (const char *p = c->path; r == 0 && *p; p++) {
		if (*p == '\\')
			r = mt_buf_puts(out, "\\\\");
		else if (*p == '\n')
			r = mt_buf_puts(out, "\\n");
		else if (*p == '\r')
			r = mt_buf_puts(out, "\\r");
		else
			r = mt_buf_putc(out, *p);
	}
	if (r == 0)
		r = mt_buf_putc(out, '\n');
	if (r < 0) {
		out->len = mark; /* never leave half a record */
		out->data[mark] = '\0';
	}
	return r;
}

/* Parse a decimal number ending at a space; advance *p past the space. */
static int
number(const char **p, const char *end, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;
	const char *s = *p;

	if (s == end || *s < '0' || *s > '9')
		return -EINVAL;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		unsigned d = (unsigned)(*s - '0');

		if (v > (max - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	if (s == end || *s != ' ')
		return -EINVAL;
	*p = s + 1;
	*ret = v;
	return 0;
}

static int
hex64(const char **p, const char *end, uint64_t *ret)
{
	uint64_t v = 0;
	const char *s = *p;

	if (end - s < 17 || s[16] != ' ')
		return -EINVAL;
	for (int i = 0; i < 16; i++, s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (*s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else
			return -EINVAL;
		v = v << 4 | d;
	}
	*p = s + 1;
	*ret = v;
	return 0;
}

static int
unescape(const char *s, const char *end, char *dst, size_t size)
{
	size_t n = 0;

	while (s < end) {
		char c = *s++;

		if (c == '\\') {
			if (s == end)
				return -EINVAL;
			c = *s++;
			if (c == 'n')
				c = '\n';
			else if (c == 'r')
				c = '\r';
			else if (c != '\\')
				return -EINVAL;
		} else if (c == '\0' || c == '\n') {
			return -EINVAL;
		}
		if (n + 1 >= size)
			return -EINVAL;
		dst[n++] = c;
	}
	if (n == 0)
		return -EINVAL;
	dst[n] = '\0';
	return 0;
}

int
mt_cursor_decode(const char *p, size_t len, struct mt_cursor *ret)
{
	const char *end = p + len;
	struct mt_cursor c;
	uint64_t fp_len;

	memset(&c, 0, sizeof(c));
	if (len > 8 && memcmp(p, "journal ", 8) == 0) {
		c.kind = MT_CURSOR_JOURNAL;
		if (unescape(p + 8, end, c.path, sizeof(c.path)) < 0)
			return -EINVAL;
		*ret = c;
		return 0;
	}
	if (len < 5 || memcmp(p, "file ", 5) != 0)
		return -EINVAL;
	p += 5;
	c.kind = MT_CURSOR_FILE;
	if (number(&p, end, UINT64_MAX, &c.dev) < 0 || number(&p, end, UINT64_MAX, &c.ino) < 0 ||
	    number(&p, end, INT64_MAX, &c.offset) < 0 ||
	    number(&p, end, MT_CURSOR_FP_MAX, &fp_len) < 0 || hex64(&p, end, &c.fp_hash) < 0 ||
	    unescape(p, end, c.path, sizeof(c.path)) < 0)
		return -EINVAL;
	c.fp_len = (uint32_t)fp_len;
	*ret = c;
	return 0;
}
