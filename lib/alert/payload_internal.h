/*
 * payload_internal - what lib/alert/payload*.c share; not part of the API.
 *
 * payload.c holds what every format needs: the words of a message per
 * locale, the shrink levels, struct pl_fld (a size-limited text that
 * cleans, defangs and escapes untrusted log text as it is added, see
 * payload.h), the pieces several chat formats show alike (headline, count,
 * times, queue ids; the parts of the message a person reads: line 1, the
 * fix, the cause, the rest; a digest's head) and the dispatcher.  Each
 * payload_<format>.c renders one format (and its digest) with them; its
 * own helpers are static there.  Everything here is pure and reentrant,
 * like the module.
 */
#ifndef MT_PAYLOAD_INTERNAL_H
#define MT_PAYLOAD_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "alert/alert_group.h"
#include "alert/payload.h"
#include "util/buf.h"

/* Return r from the calling function if x, assigned to r, is an error. */
#define TRY(x)                     \
	do {                       \
		if ((r = (x)) < 0) \
			return r;  \
	} while (0)

#define LEVEL_MAX   5	/* shrink steps before giving up */
#define FIELDS_MAX  6	/* parsed fields shown in a chat message */
#define EXAMPLE_MAX 400 /* chars of one example line in a chat message */
#define ID_MAX	    64	/* chars of one queue id */

/* How a piece of text is transformed on its way into a chat message. */
enum {
	T_CLEAN = 1 << 0,  /* untrusted: newline, tab, invisible characters become escapes */
	T_DEFANG = 1 << 1, /* untrusted: no mention, link or autolink can form */
	T_SLACK = 1 << 2,  /* Slack's &amp; &lt; &gt; */
	T_CODE = 1 << 3,   /* inside a code span or block: no backtick may end it */
};

#define U_SLACK (T_CLEAN | T_DEFANG | T_SLACK | T_CODE) /* log text in Slack code */
#define U_MD	(T_CLEAN | T_DEFANG | T_CODE)		/* log text in Markdown code */
#define U_PLAIN (T_CLEAN | T_DEFANG)			/* log text in plain text */

/* The words of a message, per locale. */
struct pl_words {
	const char *event[5]; /* by enum mt_group_event */
	const char *severity, *count, *new_, *host, *log, *seen, *queue_ids, *root_cause;
	const char *try_, *dont, *fails, *lines, *details, *doc;
	const char *fix, *if_, *cause, *also, *more, *others, *show, *quiet, *in_all, *alerts,
		*at_once, *run, *collapsed, *seen_by, *verified, *estimate;
	const char *message, *messages, *destination, *destinations, *repeat, *repeats;
};

/* One rendering of one group, at one shrink level. */
struct pl_ctx {
	const struct mt_alert_group *g;
	const struct mt_signature *s;
	const struct pl_words *w;
	unsigned level;				/* 0: everything; each step halves the budgets */
	size_t embed_units;			/* Discord: text of the embed so far */
	const struct mt_alert_group *const *gs; /* a digest: its notifications (g: the first) */
	size_t ngs;				/* 0: not a digest */
};

/*
 * A text being built for one size-limited place of a message (a Slack
 * field, a Discord embed title), as it will be shown, before JSON escaping.
 * Pieces are added whole or not at all, so an escape or a defanging space
 * is never cut in two; the first piece that does not fit ends the text with
 * an ellipsis.  Closing markup (the end of a code block) is reserved ahead.
 * Every pl_fld_init() is ended by pl_fld_end(), pl_fld_emit() or
 * pl_fld_drop(), which release the text.
 */
struct pl_fld {
	struct mt_buf b;
	size_t units;	/* UTF-16 code units, as the platforms count */
	size_t max;	/* the limit, in units */
	size_t reserve; /* units kept for closing markup */
	bool full;	/* something was left out */
};

/* Budgets and what a message shows at the current shrink level. */
size_t pl_lim(const struct pl_ctx *c, size_t full);
size_t pl_nexamples(const struct pl_ctx *c, size_t chat_max);
size_t pl_nfields_shown(const struct pl_ctx *c);
bool pl_has_ids(const struct mt_alert_group *g);
bool pl_has_key(const struct mt_alert_group *g);
const char *pl_event_word(const struct pl_ctx *c);
unsigned pl_color(const struct pl_ctx *c);
unsigned pl_pct(double rate);
/* " (85%, verified)" when the farm verified the workaround, else " (85%, estimate)". */
void pl_fld_rate(struct pl_fld *f, const struct pl_ctx *c, const struct mt_workaround *w);
size_t pl_utf8_cut(const char *p, size_t len, size_t max);
bool pl_doc_url(const struct pl_ctx *c, struct mt_buf *ret, bool slack);
bool pl_fix_url(const struct pl_ctx *c, struct mt_buf *ret);

/* Building a text (flags: T_* and U_*). */
void pl_fld_init(struct pl_fld *f, size_t max);
bool pl_fld_open(struct pl_fld *f, const char *open, size_t close_units);
void pl_fld_close(struct pl_fld *f, const char *close, size_t close_units);
void pl_fld_puts(struct pl_fld *f, const char *s, unsigned flags);
void pl_fld_puts_max(struct pl_fld *f, const char *s, unsigned flags, size_t max);
__attribute__((format(printf, 3, 4))) void pl_fld_printf(struct pl_fld *f, unsigned flags,
							 const char *fmt, ...);
int pl_fld_drop(struct pl_fld *f, int r);
int pl_fld_end(struct mt_buf *b, struct pl_fld *f);
int pl_fld_emit(struct mt_buf *b, int r, struct pl_fld *f, const char *after);

/* JSON strings and times. */
int pl_json_untrusted(struct mt_buf *b, const char *s, size_t max);
int pl_json_trusted(struct mt_buf *b, const char *s, size_t max);
int pl_json_time(struct mt_buf *b, double t);
int pl_json_titled(struct mt_buf *b, bool *first, const char *open, const char *title,
		   struct pl_fld *f);
int pl_json_url(struct mt_buf *b, int r, struct mt_buf *url);
int pl_json_doc_url(struct mt_buf *b, const struct pl_ctx *c, const char *key);

/* Pieces of a chat message (tflags for catalog text, uflags for log text). */
/* ", 3 messages, 2 destinations, 120 repeats": what a group affects (the nonzero ones). */
void pl_fld_affected(struct pl_fld *f, const struct pl_ctx *c);
void pl_fld_headline(struct pl_fld *f, const struct pl_ctx *c, unsigned tflags);
void pl_fld_footer(struct pl_fld *f, const struct pl_ctx *c, size_t file_max);
void pl_fld_count(struct pl_fld *f, const struct pl_ctx *c);
void pl_fld_seen(struct pl_fld *f, const struct pl_ctx *c);
void pl_fld_ids(struct pl_fld *f, const struct pl_ctx *c, unsigned uflags);
void pl_fld_code(struct pl_fld *f, const char *s, unsigned uflags, size_t max);
void pl_fld_examples(struct pl_fld *f, const struct pl_ctx *c, unsigned uflags, size_t nmax);
void pl_fld_fields(struct pl_fld *f, const struct pl_ctx *c, unsigned uflags, bool code);

/* The message a person reads (see payload.h): line 1, the fix, the cause, the rest. */
const struct mt_workaround *pl_fix(const struct pl_ctx *c);
size_t pl_sentence_len(const char *s);
void pl_fld_line1(struct pl_fld *f, const struct pl_ctx *c, unsigned tflags, unsigned uflags);
void pl_fld_fix(struct pl_fld *f, const struct pl_ctx *c, unsigned tflags, bool how);
void pl_fld_how(struct pl_fld *f, const struct pl_ctx *c, unsigned tflags);
void pl_fld_cause(struct pl_fld *f, const struct pl_ctx *c, unsigned tflags);
void pl_fld_others(struct pl_fld *f, const struct pl_ctx *c, unsigned tflags);
void pl_fld_dead_ends(struct pl_fld *f, const struct pl_ctx *c, unsigned tflags);
void pl_fld_more(struct pl_fld *f, const struct pl_ctx *c, unsigned tflags, const char *bold);
void pl_fld_show(struct pl_fld *f, const struct pl_ctx *c, unsigned tflags);
/*
 * Entry i of a digest (selected) for the Markdown chats that cannot fold
 * (Discord, Mattermost): the resolved line, or line 1, the fix trimmed to a
 * sentence and the `mtalertd show ID` pointer.
 */
void pl_fld_digest_entry_md(struct pl_fld *f, const struct pl_ctx *c, size_t i);
void pl_fld_resolved(struct pl_fld *f, const struct pl_ctx *c, unsigned tflags, unsigned uflags);
void pl_fld_resolved_tail(struct pl_fld *f, const struct pl_ctx *c);
size_t pl_digest_top(const struct pl_ctx *c);
bool pl_digest_repeat(const struct pl_ctx *c, size_t i);
void pl_fld_digest_head(struct pl_fld *f, const struct pl_ctx *c);
void pl_digest_select(struct pl_ctx *c, size_t i);
const char *pl_emoji(const struct pl_ctx *c);

/* The formats, one file each: append the body for c->g to b. */
int pl_render_json(struct mt_buf *b, struct pl_ctx *c);
int pl_render_slack(struct mt_buf *b, struct pl_ctx *c);
int pl_render_mattermost(struct mt_buf *b, struct pl_ctx *c);
int pl_render_teams(struct mt_buf *b, struct pl_ctx *c);
int pl_render_discord(struct mt_buf *b, struct pl_ctx *c);
int pl_render_alertmanager(struct mt_buf *b, struct pl_ctx *c);

/* The digests of the chat formats: append the body for c->gs[0..c->ngs) to b. */
int pl_digest_slack(struct mt_buf *b, struct pl_ctx *c);
int pl_digest_mattermost(struct mt_buf *b, struct pl_ctx *c);
int pl_digest_teams(struct mt_buf *b, struct pl_ctx *c);
int pl_digest_discord(struct mt_buf *b, struct pl_ctx *c);

#endif
