/* tokline - NAME=VALUE token lines with escaped text (see tokline.h). */
#include "util/tokline.h"

#include <errno.h>
#include <math.h>
#include <string.h>

void
mt_tokline_begin(struct mt_tokline *w, struct mt_buf *b)
{
	w->b = b;
	w->mark = b->len;
	w->r = 0;
}

int
mt_tokline_end(struct mt_tokline *w)
{
	if (w->r < 0) {
		w->b->len = w->mark;
		w->b->data[w->mark] = '\0';
	}
	return w->r;
}

void
mt_tokline_puts(struct mt_tokline *w, const char *s)
{
	if (w->r == 0)
		w->r = mt_buf_puts(w->b, s);
}

void
mt_tokline_text(struct mt_tokline *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	for (const unsigned char *p = (const unsigned char *)s; w->r == 0 && *p != '\0'; p++) {
		if (*p > ' ' && *p < 0x7f && *p != '\\' && *p != ',' && *p != '=') {
			w->r = mt_buf_putc(w->b, (char)*p);
		} else {
			char e[4] = { '\\', 'x', hex[*p >> 4], hex[*p & 15] };

			w->r = mt_buf_append(w->b, e, sizeof(e));
		}
	}
}

void
mt_tokline_tok(struct mt_tokline *w, const char *name, const char *text)
{
	mt_tokline_puts(w, " ");
	mt_tokline_puts(w, name);
	mt_tokline_puts(w, "=");
	mt_tokline_text(w, text);
}

void
mt_tokline_num(struct mt_tokline *w, const char *name, uint64_t v)
{
	if (w->r == 0)
		w->r = mt_buf_printf(w->b, " %s=%llu", name, (unsigned long long)v);
}

void
mt_tokline_time(struct mt_tokline *w, const char *name, double t)
{
	uint64_t bits;

	memcpy(&bits, &t, sizeof(bits));
	if (w->r == 0)
		w->r = mt_buf_printf(w->b, " %s=%016llx", name, (unsigned long long)bits);
}

int
mt_tokline_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
mt_tokline_parse_num(const char *p, size_t len, uint64_t *ret)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9' || v > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10)
			return -EINVAL;
		v = v * 10 + (uint64_t)(p[i] - '0');
	}
	*ret = v;
	return 0;
}

int
mt_tokline_parse_time(const char *p, size_t len, double *ret)
{
	uint64_t bits = 0;
	double t;

	if (len != 16)
		return -EINVAL;
	for (size_t i = 0; i < 16; i++) {
		int d = mt_tokline_hexval(p[i]);

		if (d < 0)
			return -EINVAL;
		bits = bits << 4 | (uint64_t)d;
	}
	memcpy(&t, &bits, sizeof(t));
	if (!isfinite(t))
		return -EINVAL;
	*ret = t;
	return 0;
}
