/*
 * tokline - the text lines that saved groups and notes are written in:
 * NAME=VALUE tokens, each after one space, with text values escaped.
 *
 * Text is escaped so that a value never holds a space, a ',', a '=', a
 * '\\' or a byte outside '!'..'~': each such byte is written as the four
 * characters \xHH (lower-case hex).  The writer remembers its first error,
 * so a line is written without a check per call; mt_tokline_end() then cuts
 * the buffer back to where the writer began.  The parsers are pure: they
 * read (p, len), need no NUL and allocate nothing.  Callers decode escaped
 * text themselves, by their own caps and rules.
 */
#ifndef MT_TOKLINE_H
#define MT_TOKLINE_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* A writer over a caller's buffer; embedded in the caller (on its stack). */
struct mt_tokline {
	struct mt_buf *b; /* borrowed, for the writer's life */
	size_t mark;	  /* b->len at begin: where a failed write is cut back to */
	int r;		  /* the first error (-ENOBUFS), 0 while there is none */
};

void mt_tokline_begin(struct mt_tokline *w, struct mt_buf *b);
/* 0; or the first error, with b cut back to its length at begin. */
int mt_tokline_end(struct mt_tokline *w);

void mt_tokline_puts(struct mt_tokline *w, const char *s);		       /* s as it is */
void mt_tokline_text(struct mt_tokline *w, const char *s);		       /* s escaped */
void mt_tokline_tok(struct mt_tokline *w, const char *name, const char *text); /* " name=text" */
void mt_tokline_num(struct mt_tokline *w, const char *name, uint64_t v);       /* " name=123" */
/* " name=" and the 16 hex digits of t's bits: exact, whatever the double. */
void mt_tokline_time(struct mt_tokline *w, const char *name, double t);

int mt_tokline_hexval(char c); /* a lower-case hex digit's value, else -1 */
/* 0 and *ret, or -EINVAL: not 1 to 20 decimal digits, or past UINT64_MAX. */
int mt_tokline_parse_num(const char *p, size_t len, uint64_t *ret);
/* 0 and *ret, or -EINVAL: not 16 lower-case hex digits, or not a finite double. */
int mt_tokline_parse_time(const char *p, size_t len, double *ret);

#endif
