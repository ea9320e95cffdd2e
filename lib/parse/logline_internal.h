/*
 * logline_internal - what lib/logline*.c share; not part of the API.
 *
 * logline.c frames the line (timestamp, host, program, pid) and hands the
 * message to one body parser per MTA.  Every scanner here works on a
 * half-open range [s, e) of the caller's line: it never reads at or past e
 * and never assumes a NUL.  Nothing allocates.  Helpers that only one file
 * needs are static in that file.
 */
#ifndef MT_LOGLINE_INTERNAL_H
#define MT_LOGLINE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "parse/logline.h"

#define LIT_LEN(lit) (sizeof(lit) - 1)

/* True if [s, e) starts with the string literal lit. */
#define HAS_PREFIX(s, e, lit) \
	((size_t)((e) - (s)) >= LIT_LEN(lit) && memcmp((s), (lit), LIT_LEN(lit)) == 0)

/* First occurrence of the string literal lit in [s, e), or NULL. */
#define FIND(s, e, lit) find((s), (e), (lit), LIT_LEN(lit))

static inline bool
is_digit(char c)
{
	return (unsigned)((unsigned char)c - '0') < 10u;
}

static inline bool
is_alpha(char c)
{
	return (unsigned)(((unsigned char)c | 0x20) - 'a') < 26u;
}

static inline bool
is_alnum(char c)
{
	return is_digit(c) || is_alpha(c);
}

static inline bool
is_lower(char c)
{
	return (unsigned)((unsigned char)c - 'a') < 26u;
}

static inline bool
is_upper(char c)
{
	return (unsigned)((unsigned char)c - 'A') < 26u;
}

static inline const char *
find(const char *s, const char *e, const char *needle, size_t n)
{
	if (s == NULL || s >= e)
		return NULL;
	return memmem(s, (size_t)(e - s), needle, n);
}

static inline const char *
find_chr(const char *s, const char *e, char c)
{
	if (s == NULL || s >= e)
		return NULL;
	return memchr(s, c, (size_t)(e - s));
}

static inline const char *
skip_spaces(const char *s, const char *e)
{
	while (s < e && *s == ' ')
		s++;
	return s;
}

/* End of the token at s: the first space (or e). */
static inline const char *
token_end(const char *s, const char *e)
{
	const char *q = find_chr(s, e, ' ');

	return q ? q : e;
}

static inline void
set_field(struct mt_logrec *r, enum mt_field f, const char *s, const char *e)
{
	r->f[f].p = s;
	r->f[f].len = (size_t)(e - s);
}

/* Set f unless an earlier, more specific rule already did. */
static inline void
set_field_once(struct mt_logrec *r, enum mt_field f, const char *s, const char *e)
{
	if (r->f[f].len == 0)
		set_field(r, f, s, e);
}

/* Set f to an address, dropping one pair of angle brackets: "<a@b>" -> "a@b", "<>" -> "". */
static inline void
set_addr(struct mt_logrec *r, enum mt_field f, const char *s, const char *e)
{
	if (e - s >= 2 && *s == '<' && e[-1] == '>') {
		s++;
		e--;
	}
	set_field(r, f, s, e);
}

/* End of "<...>" starting at s (just past the '>'), or e when unterminated. */
static inline const char *
angle_end(const char *s, const char *e)
{
	const char *q = find_chr(s + 1, e, '>');

	return q ? q + 1 : e;
}

/*
 * The first "host[ip]" in [s, e) whose bracket holds an address (digits,
 * hex, '.' and ':'; "unknown[unknown]" and "get_values[1]" do not count).
 * host may be empty, as in postscreen's "[1.2.3.4]:5678".  Returns a
 * pointer just past the ']' or NULL; fills the four pointers on success.
 */
const char *mt_logline_hostip(const char *s, const char *e, const char **ret_host,
			      const char **ret_host_end, const char **ret_ip,
			      const char **ret_ip_end);

/* End of "YYYY-MM-DD HH:MM:SS[.fff][ +hhmm]" at s, or NULL. */
const char *mt_logline_exim_time(const char *s, const char *e);

/* The body parsers: [s, e) is the message, after the framing. */
void mt_logline_postfix(struct mt_logrec *r, const char *s, const char *e);
void mt_logline_exim(struct mt_logrec *r, const char *s, const char *e);
void mt_logline_sendmail(struct mt_logrec *r, const char *s, const char *e);

/* Whether a headerless message starts the way only one MTA's do. */
bool mt_logline_postfix_bare(const char *s, const char *e);
bool mt_logline_exim_bare(const char *s, const char *e);
bool mt_logline_sendmail_bare(const char *s, const char *e);

#endif
