/* json - JSON strings from untrusted bytes: escaped, invalid UTF-8 written as \xHH. */
#include "util/json.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

size_t
mt_utf8_seq(const unsigned char *p, size_t len)
{
	unsigned c = p[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return len >= 2 && (p[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		/* No overlongs (E0 80..9F) and no surrogates (ED A0..BF). */
		unsigned lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;

		return len >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;

		return len >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xc0) == 0x80 &&
				       (p[3] & 0xc0) == 0x80 ?
			       4 :
			       0;
	}
	return 0;
}

static const char hexdig[] = "0123456789abcdef";

int
mt_json_str(struct mt_buf *b, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	int r = mt_buf_putc(b, '"');

	while (r == 0 && p < end) {
		const unsigned char *run = p;
		char esc[8];
		size_t n;

		/* Copy the longest run that needs no escaping in one append. */
		while (p < end && *p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\')
			p++;
		if (p > run && (r = mt_buf_append(b, run, (size_t)(p - run))) < 0)
			break;
		if (p == end)
			break;
		n = *p >= 0x80 ? mt_utf8_seq(p, (size_t)(end - p)) : 0;
		if (n == 3 && p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9)) {
			r = mt_buf_puts(b, p[2] == 0xa8 ? "\\u2028" : "\\u2029");
			p += 3;
		} else if (n > 0) {
			r = mt_buf_append(b, p, n);
			p += n;
		} else if (*p >= 0x80) {
			/* Not UTF-8: keep the byte's value visible, as \xHH. */
			esc[0] = '\\', esc[1] = '\\', esc[2] = 'x';
			esc[3] = hexdig[*p >> 4], esc[4] = hexdig[*p & 15];
			r = mt_buf_append(b, esc, 5);
			p++;
		} else {
			switch (*p) {
			case '"':
				r = mt_buf_puts(b, "\\\"");
				break;
			case '\\':
				r = mt_buf_puts(b, "\\\\");
				break;
			case '\n':
				r = mt_buf_puts(b, "\\n");
				break;
			case '\r':
				r = mt_buf_puts(b, "\\r");
				break;
			case '\t':
				r = mt_buf_puts(b, "\\t");
				break;
			default:
				esc[0] = '\\', esc[1] = 'u', esc[2] = '0', esc[3] = '0';
				esc[4] = hexdig[*p >> 4], esc[5] = hexdig[*p & 15];
				r = mt_buf_append(b, esc, 6);
				break;
			}
			p++;
		}
	}
	return r < 0 ? r : mt_buf_putc(b, '"');
}

int
mt_json_cstr(struct mt_buf *b, const char *s)
{
	return s ? mt_json_str(b, s, strlen(s)) : mt_buf_puts(b, "null");
}

int
mt_json_num(struct mt_buf *b, double v)
{
	if (!isfinite(v))
		return mt_buf_puts(b, "null");
	if (fabs(v) < 1e15 && (double)(long long)v - v < 1e-9 && v - (double)(long long)v < 1e-9)
		return mt_buf_printf(b, "%lld", (long long)v);
	return mt_buf_printf(b, "%.3g", v);
}

int
mt_json_key(struct mt_buf *b, bool *first, const char *key)
{
	int r = 0;

	if (!*first)
		r = mt_buf_putc(b, ',');
	*first = false;
	if (r == 0)
		r = mt_json_cstr(b, key);
	return r < 0 ? r : mt_buf_putc(b, ':');
}

int
mt_text_clean(struct mt_buf *b, const char *s, size_t len, size_t max)
{
	const unsigned char *p = (const unsigned char *)s, *end = p + len;
	size_t out = 0;
	int r = 0;

	while (p < end) {
		char esc[4];
		size_t n = 1, w;
		const void *src = p;

		if (*p >= 0x20 && *p < 0x7f) {
			w = 1;
		} else if (*p >= 0x80 && (n = mt_utf8_seq(p, (size_t)(end - p))) > 0 &&
			   !(n == 3 && p[0] == 0xe2 && p[1] == 0x80 &&
			     (p[2] == 0xa8 || p[2] == 0xa9))) {
			w = n;
		} else {
			n = 1;
			src = esc;
			esc[0] = '\\';
			switch (*p) {
			case '\n':
				esc[1] = 'n', w = 2;
				break;
			case '\r':
				esc[1] = 'r', w = 2;
				break;
			case '\t':
				esc[1] = 't', w = 2;
				break;
			case 033:
				esc[1] = 'e', w = 2;
				break;
			default:
				esc[1] = 'x', esc[2] = hexdig[*p >> 4], esc[3] = hexdig[*p & 15];
				w = 4;
				break;
			}
		}
		if (out + w > max)
			return 1;
		if ((r = mt_buf_append(b, src, w)) < 0)
			return r;
		out += w;
		p += n;
	}
	return 0;
}
