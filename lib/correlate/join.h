/*
 * join - physical log lines to records: an Exim entry that spans several
 * lines becomes one record before it is matched.
 *
 * Exim writes a multi-line entry (a paniclog configuration error, a
 * rejectlog header dump, a "Suggested action" warning, an address list in
 * a qualify error) as one write: the first line carries the Exim timestamp,
 * the continuation lines carry none.  A line is a continuation when a
 * record whose head has an Exim timestamp is pending for the same file and
 * the line has no framing of its own (it starts with white space, or the
 * parser finds neither a header nor an MTA's fields in it).  The record is the lines joined with '\n',
 * as Exim wrote them.
 *
 * Only records with an Exim head are held; every other line passes through
 * at once, with no copy.  A held record goes out when the next head
 * arrives, when a line of another file arrives, or when the caller calls
 * mt_join_flush(): the daemon does so from a timer (the continuation time
 * limit) and before it saves positions; `scan` at the end of each file.
 *
 * Bounded: a record holds at most max_bytes and max_lines; what does not
 * fit is dropped, counted, and the record is flagged truncated.  The
 * callback's record and its text are valid only during the callback.  Pure:
 * no clock, no I/O; one joiner per caller, any context.
 */
#ifndef MT_JOIN_H
#define MT_JOIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mt_join;

struct mt_join_rec {
	const char *file; /* where the head was read */
	const char *p;	  /* the record: lines joined by '\n', no final newline */
	size_t len;
	bool truncated;	 /* a line was cut by the reader, or the record by max_* */
	uint64_t offset; /* of the head */
	uint64_t lineno; /* of the head; 0 when the caller does not count lines */
	size_t nlines;	 /* physical lines in the record, >= 1 */
};

struct mt_join_stats {
	uint64_t records;     /* records handed out */
	uint64_t joined;      /* records of more than one line */
	uint64_t cont_lines;  /* continuation lines folded into a record */
	uint64_t cut_records; /* records cut at max_bytes or max_lines */
};

typedef void (*mt_join_fn)(void *ctx, const struct mt_join_rec *r);

struct mt_join *mt_join_new(size_t max_bytes, size_t max_lines, mt_join_fn fn, void *ctx);
struct mt_join *mt_join_free(struct mt_join *j); /* drops a pending record; flush first */

/* One physical line (no newline); may call fn for a pending record, then for this one. */
void mt_join_line(struct mt_join *j, const char *file, const char *p, size_t len, bool truncated,
		  uint64_t offset, uint64_t lineno);
bool mt_join_pending(const struct mt_join *j);
void mt_join_flush(struct mt_join *j); /* hands out the pending record, if any */
const struct mt_join_stats *mt_join_stats(const struct mt_join *j);

/* True when p starts with an Exim timestamp, "YYYY-MM-DD HH:MM:SS". */
bool mt_join_exim_head(const char *p, size_t len);

#endif
