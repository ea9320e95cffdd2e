#include "alert/payload.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "util/json.h"

#define TRY(x)                     \
	do {                       \
		if ((r = (x)) < 0) \
			return r;  \
	} while (0)

#define ZWSP	 "\xe2\x80\x8b" /* U+200B, breaks mentions and links without showing */
#define ELLIPSIS "\xe2\x80\xa6"
#define TICK	 "\xcb\x8b" /* U+02CB, a backtick look-alike that ends no code span */

#define LEVEL_MAX     5	   /* shrink steps before giving up */
#define FIELDS_MAX    6	   /* parsed fields shown in a chat message */
#define EXAMPLE_MAX   400  /* chars of one example line in a chat message */
#define ID_MAX	      64   /* chars of one queue id */
#define DISCORD_TOTAL 6000 /* Discord's limit on all text of one embed */

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

static const char hexdig[] = "0123456789abcdef";

/* The words of a message, per locale. */
struct words {
	const char *event[5]; /* by enum mt_group_event */
	const char *severity, *count, *new_, *host, *log, *seen, *queue_ids, *root_cause;
	const char *try_, *dont, *fails, *lines, *details, *doc;
};

static const struct words words_en = {
	{ "New", "Continuing", "Reminder", "Resolved", "Summary" },
	"Severity",
	"Count",
	"new",
	"Host",
	"Log",
	"Seen",
	"Queue ids",
	"Root cause",
	"Try, in order",
	"Don't",
	"fails",
	"Latest lines",
	"Details",
	"Documentation",
};

static const struct words words_zh = {
	{ "新告警", "持续中", "提醒", "已恢复", "汇总" },
	"严重性",
	"次数",
	"新增",
	"主机",
	"日志",
	"时间",
	"队列 ID",
	"根本原因",
	"依次尝试",
	"不要",
	"失败率",
	"最近日志",
	"详情",
	"文档",
};

struct ctx {
	const struct mt_alert_group *g;
	const struct mt_signature *s;
	const struct words *w;
	unsigned level;	    /* 0: everything; each step halves the budgets */
	size_t embed_units; /* Discord: text of the embed so far */
};

/* A budget at the current shrink level. */
static size_t
lim(const struct ctx *c, size_t full)
{
	size_t v = full >> c->level, floor = full < 64 ? full : 64;

	return v < floor ? floor : v;
}

/* Example lines shown in a chat message at the current level (newest ones). */
static size_t
nexamples(const struct ctx *c, size_t chat_max)
{
	static const size_t by_level[LEVEL_MAX + 1] = { 3, 2, 1, 1, 0, 0 };
	size_t n = c->g->examples ? c->g->nexamples : 0, want = by_level[c->level];

	if (want > chat_max)
		want = chat_max;
	return n < want ? n : want;
}

static const char *
event_word(const struct ctx *c)
{
	unsigned e = (unsigned)c->g->event;

	return e < 5 ? c->w->event[e] : "Alert";
}

static const char *
emoji(const struct ctx *c)
{
	if (c->g->event == MT_GROUP_RESOLVED)
		return "\xe2\x9c\x85"; /* check mark */
	switch (c->g->severity) {
	case MT_SEV_CRITICAL:
		return "\xf0\x9f\x94\xb4"; /* red circle */
	case MT_SEV_ERROR:
		return "\xf0\x9f\x9f\xa0"; /* orange circle */
	case MT_SEV_WARNING:
		return "\xf0\x9f\x9f\xa1"; /* yellow circle */
	case MT_SEV_INFO:
		break;
	}
	return "\xf0\x9f\x94\xb5"; /* blue circle */
}

static unsigned
color(const struct ctx *c)
{
	if (c->g->event == MT_GROUP_RESOLVED)
		return 0x388e3c;
	switch (c->g->severity) {
	case MT_SEV_CRITICAL:
		return 0xd32f2f;
	case MT_SEV_ERROR:
		return 0xf57c00;
	case MT_SEV_WARNING:
		return 0xfbc02d;
	case MT_SEV_INFO:
		break;
	}
	return 0x1976d2;
}

/* Length of p cut to at most max bytes without splitting a UTF-8 sequence. */
static size_t
utf8_cut(const char *p, size_t len, size_t max)
{
	if (len <= max)
		return len;
	len = max;
	while (len > 0 && max - len < 3 && ((unsigned char)p[len] & 0xc0) == 0x80)
		len--;
	return len;
}

static uint32_t
utf8_decode(const unsigned char *p, size_t n)
{
	static const unsigned char lead_mask[5] = { 0, 0x7f, 0x1f, 0x0f, 0x07 };
	uint32_t cp = p[0] & lead_mask[n];

	for (size_t i = 1; i < n; i++)
		cp = cp << 6 | (p[i] & 0x3f);
	return cp;
}

/*
 * Characters that change how text around them reads without being seen:
 * C1 controls, bidirectional overrides and isolates (U+202E turns "exe.txt"
 * around), zero-width characters, line and paragraph separators, tags.
 */
static bool
invisible(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x61c || (cp >= 0x200b && cp <= 0x200f) ||
	       (cp >= 0x2028 && cp <= 0x202e) || (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff ||
	       (cp >= 0xfff9 && cp <= 0xfffb) || (cp >= 0xe0000 && cp <= 0xe007f);
}

/*
 * A text being built for one size-limited place of a message (a Slack
 * field, a Discord embed title), as it will be shown, before JSON escaping.
 * Pieces are added whole or not at all, so an escape or a defanging space
 * is never cut in two; the first piece that does not fit ends the text with
 * an ellipsis.  Closing markup (the end of a code block) is reserved ahead.
 */
struct fld {
	struct mt_buf b;
	size_t units;	/* UTF-16 code units, as the platforms count */
	size_t max;	/* the limit, in units */
	size_t reserve; /* units kept for closing markup */
	bool full;	/* something was left out */
};

static void
fld_init(struct fld *f, size_t max)
{
	/* A unit is at most 3 bytes (4 bytes are 2 units): the cap is never hit. */
	mt_buf_init(&f->b, max * 3 + 16);
	f->units = 0;
	f->max = max;
	f->reserve = 0;
	f->full = false;
}

static void
fld_unit(struct fld *f, const char *s, size_t n, size_t units)
{
	if (f->full)
		return;
	if (f->units + units + f->reserve + 1 > f->max) { /* 1: the ellipsis */
		f->full = true;
		if (f->units + f->reserve + 1 <= f->max) {
			(void)mt_buf_append(&f->b, ELLIPSIS, 3);
			f->units++;
		}
		return;
	}
	(void)mt_buf_append(&f->b, s, n);
	f->units += units;
}

/*
 * Open markup whose closing text (of close_units) must always fit; returns
 * whether it was opened, and only then may the caller close it.
 */
static bool
fld_open(struct fld *f, const char *open, size_t close_units)
{
	f->reserve += close_units; /* the opening fits only with its closing */
	fld_unit(f, open, strlen(open), strlen(open));
	if (f->full)
		f->reserve -= close_units;
	return !f->full;
}

static void
fld_close(struct fld *f, const char *close, size_t close_units)
{
	f->reserve -= close_units;
	(void)mt_buf_append(&f->b, close, strlen(close));
	f->units += close_units;
}

/*
 * The shown form of the ASCII character at p (not a control), in u; returns
 * the input bytes it stands for.
 */
static size_t
ascii_unit(const unsigned char *p, const unsigned char *end, unsigned prev, unsigned flags, char *u,
	   size_t *ret_n, size_t *ret_units)
{
	const char *rep = NULL;
	size_t used = 1;

	if (flags & T_SLACK) {
		if (*p == '&')
			rep = "&amp;";
		else if (*p == '<')
			rep = "&lt;";
		else if (*p == '>')
			rep = "&gt;";
	}
	/* Backticks go even outside code: Alertmanager's templates may put text in one. */
	if (rep == NULL && (flags & (T_CODE | T_DEFANG)) && *p == '`')
		rep = TICK;
	if (rep == NULL && (flags & T_DEFANG)) {
		bool word_start = !((prev | 0x20) >= 'a' && (prev | 0x20) <= 'z') &&
				  !(prev >= '0' && prev <= '9');

		if (*p == '@')
			rep = "@" ZWSP;
		else if (*p == '<')
			rep = "<" ZWSP;
		else if (*p == ':' && end - p >= 3 && p[1] == '/' && p[2] == '/')
			rep = ":" ZWSP;
		else if (*p == ']' && end - p >= 2 && p[1] == '(')
			rep = "]" ZWSP;
		else if ((*p | 0x20) == 'w' && word_start && end - p >= 4 && (p[1] | 0x20) == 'w' &&
			 (p[2] | 0x20) == 'w' && p[3] == '.') {
			memcpy(u, p, 3);
			memcpy(u + 3, ZWSP, 3);
			*ret_n = 6;
			*ret_units = 4;
			return 3;
		}
	}
	if (rep == NULL) {
		u[0] = (char)*p;
		*ret_n = 1;
		*ret_units = 1;
		return used;
	}
	*ret_n = strlen(rep);
	memcpy(u, rep, *ret_n);
	/* Slack counts its entities as written; a ZWSP or TICK is one unit more or one. */
	*ret_units = rep[0] == '&' ? *ret_n : (*ret_n > 3 ? 2 : 1);
	return used;
}

/* Add text, transformed by flags; untrusted text (T_CLEAN) is capped first. */
static void
fld_put(struct fld *f, const char *s, size_t len, unsigned flags)
{
	const unsigned char *p = (const unsigned char *)s, *end;
	unsigned prev = ' ';
	bool cut = false;

	if (s == NULL)
		return;
	if ((flags & T_CLEAN) && len > MT_GROUP_TEXT_MAX) {
		len = utf8_cut(s, len, MT_GROUP_TEXT_MAX);
		cut = true;
	}
	end = p + len;
	while (p < end && !f->full) {
		char u[16];
		size_t n, units, used, seq;
		uint32_t cp;

		if (*p >= 0x20 && *p < 0x7f) {
			used = ascii_unit(p, end, prev, flags, u, &n, &units);
		} else if (*p == '\n' && !(flags & T_CLEAN)) {
			u[0] = '\n', n = 1, units = 1, used = 1;
		} else if (*p < 0x80 || (seq = mt_utf8_seq(p, (size_t)(end - p))) == 0) {
			/* A control character or a byte that is not UTF-8, shown as an escape. */
			u[0] = '\\';
			n = 2;
			switch (*p) {
			case '\n':
				u[1] = 'n';
				break;
			case '\r':
				u[1] = 'r';
				break;
			case '\t':
				u[1] = 't';
				break;
			case 033:
				u[1] = 'e';
				break;
			default:
				u[1] = 'x', u[2] = hexdig[*p >> 4], u[3] = hexdig[*p & 15];
				n = 4;
				break;
			}
			units = n, used = 1;
		} else if (invisible(cp = utf8_decode(p, seq))) {
			int shift = cp > 0xffff ? 20 : 12;

			u[0] = '\\', u[1] = cp > 0xffff ? 'U' : 'u', n = 2;
			for (; shift >= 0; shift -= 4)
				u[n++] = hexdig[(cp >> shift) & 15];
			units = n, used = seq;
		} else {
			memcpy(u, p, seq);
			n = seq, units = seq == 4 ? 2 : 1, used = seq;
		}
		fld_unit(f, u, n, units);
		prev = *p;
		p += used;
	}
	if (cut)
		fld_unit(f, ELLIPSIS, 3, 1);
}

static void
fld_puts(struct fld *f, const char *s, unsigned flags)
{
	if (s != NULL)
		fld_put(f, s, strlen(s), flags);
}

/* Add a piece of at most max units, without ending the whole text when it is cut. */
static void
fld_puts_max(struct fld *f, const char *s, unsigned flags, size_t max)
{
	size_t save = f->max;

	if (f->full || s == NULL)
		return;
	if (f->units + f->reserve + max + 1 < f->max)
		f->max = f->units + f->reserve + max + 1;
	fld_put(f, s, strlen(s), flags);
	if (f->max != save) {
		f->max = save;
		f->full = false;
	}
}

__attribute__((format(printf, 3, 4))) static void
fld_printf(struct fld *f, unsigned flags, const char *fmt, ...)
{
	struct mt_buf tmp;
	va_list ap;

	mt_buf_init(&tmp, 256);
	va_start(ap, fmt);
	(void)mt_buf_vprintf(&tmp, fmt, ap); /* our own short text: the cap is never hit */
	va_end(ap);
	fld_put(f, tmp.data, tmp.len, flags);
	mt_buf_fini(&tmp);
}

/* Release the text unwritten, passing on the error that stopped it. */
static int
fld_drop(struct fld *f, int r)
{
	mt_buf_fini(&f->b);
	return r;
}

/* Write the text as a JSON string and release it. */
static int
fld_end(struct mt_buf *b, struct fld *f)
{
	int r = mt_json_str(b, f->b.data, f->b.len);

	mt_buf_fini(&f->b);
	return r;
}

/* A JSON string of untrusted text in a plain context (Alertmanager, Teams runs). */
static int
json_untrusted(struct mt_buf *b, const char *s, size_t max)
{
	struct fld f;

	fld_init(&f, max);
	fld_puts(&f, s, U_PLAIN);
	return fld_end(b, &f);
}

static int
json_trusted(struct mt_buf *b, const char *s, size_t max)
{
	struct fld f;

	fld_init(&f, max);
	fld_puts(&f, s, 0);
	return fld_end(b, &f);
}

/* Unix time as "2026-03-03T10:15:42Z" (rfc) or "2026-03-03 10:15:42 UTC". */
static int
put_time(struct mt_buf *b, double t, bool rfc)
{
	struct tm tm;
	time_t sec;
	long ms;
	int r;

	if (!isfinite(t) || t < 0 || t > 253402300799.0) /* 9999-12-31T23:59:59Z */
		t = 0;
	sec = (time_t)t;
	ms = (long)((t - (double)sec) * 1000.0 + 0.5);
	if (ms > 999)
		ms = 999;
	if (gmtime_r(&sec, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	TRY(mt_buf_printf(b, "%04d-%02d-%02d%c%02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
			  tm.tm_mday, rfc ? 'T' : ' ', tm.tm_hour, tm.tm_min, tm.tm_sec));
	if (rfc && ms > 0)
		TRY(mt_buf_printf(b, ".%03ld", ms));
	return mt_buf_puts(b, rfc ? "Z" : " UTC");
}

static int
json_time(struct mt_buf *b, double t)
{
	int r;

	TRY(mt_buf_putc(b, '"'));
	TRY(put_time(b, t, true));
	return mt_buf_putc(b, '"');
}

/* "2026-03-03 10:15:42 – 10:20:03 UTC": the date once when both share it. */
static void
fld_seen(struct fld *f, const struct ctx *c)
{
	struct mt_buf a, z;

	mt_buf_init(&a, 64);
	mt_buf_init(&z, 64);
	(void)put_time(&a, c->g->first_seen, false);
	(void)put_time(&z, c->g->last_seen, false);
	if (strcmp(a.data, z.data) == 0) {
		fld_puts(f, a.data, 0);
	} else {
		a.len -= strlen(" UTC");
		a.data[a.len] = '\0';
		fld_puts(f, a.data, 0);
		fld_puts(f, " \xe2\x80\x93 ", 0); /* en dash */
		fld_puts(f, a.len >= 10 && strncmp(a.data, z.data, 10) == 0 ? z.data + 11 : z.data,
			 0);
	}
	mt_buf_fini(&a);
	mt_buf_fini(&z);
}

static void
fld_count(struct fld *f, const struct ctx *c)
{
	const struct mt_alert_group *g = c->g;

	fld_printf(f, 0, "%llu", (unsigned long long)g->count_total);
	if (g->count_new > 0 && g->count_new != g->count_total)
		fld_printf(f, 0, " (+%llu %s)", (unsigned long long)g->count_new, c->w->new_);
}

static unsigned
pct(double rate)
{
	if (!(rate > 0))
		return 0;
	return rate >= 1 ? 100 : (unsigned)(rate * 100 + 0.5);
}

/* "1. action (85%)" lines for the top three workarounds; tflags for catalog text. */
static void
fld_workarounds(struct fld *f, const struct ctx *c, unsigned tflags)
{
	const struct mt_signature *s = c->s;

	for (size_t i = 0; i < s->nworkarounds && i < 3; i++) {
		fld_printf(f, 0, "%s%zu. ", i ? "\n" : "", i + 1);
		fld_puts_max(f, mt_workaround_action(&s->workarounds[i], c->g->locale), tflags,
			     lim(c, 600));
		fld_printf(f, 0, " (%u%%)", pct(s->workarounds[i].success_rate));
	}
}

/* The top dead end: "action (fails 95%)" and, below, why it fails. */
static void
fld_dead_end(struct fld *f, const struct ctx *c, unsigned tflags)
{
	const struct mt_dead_end *e = &c->s->dead_ends[0];

	fld_puts_max(f, e->action, tflags, lim(c, 600));
	fld_printf(f, 0, " (%s %u%%)", c->w->fails, pct(e->fail_rate));
	if (e->why_fails && *e->why_fails) {
		fld_puts(f, "\n", 0);
		fld_puts_max(f, e->why_fails, tflags, lim(c, 400));
	}
}

/* `a` `b` `c`: queue ids as code spans. */
static void
fld_ids(struct fld *f, const struct ctx *c, unsigned uflags)
{
	const struct mt_alert_group *g = c->g;
	size_t n = g->queue_ids ? g->nqueue_ids : 0;

	for (size_t i = 0; i < n && i < MT_GROUP_IDS_MAX; i++) {
		if (g->queue_ids[i] == NULL)
			continue;
		if (!fld_open(f, i ? " `" : "`", 1))
			return;
		fld_puts_max(f, g->queue_ids[i], uflags, lim(c, ID_MAX));
		fld_close(f, "`", 1);
	}
}

/* A code span of untrusted text, capped at max units. */
static void
fld_code(struct fld *f, const char *s, unsigned uflags, size_t max)
{
	if (s == NULL || !fld_open(f, "`", 1))
		return;
	fld_puts_max(f, s, uflags, max);
	fld_close(f, "`", 1);
}

/* The newest example lines, one per line, in a fenced code block. */
static void
fld_examples(struct fld *f, const struct ctx *c, unsigned uflags, size_t nmax)
{
	const struct mt_alert_group *g = c->g;
	size_t n = nexamples(c, nmax);

	if (!fld_open(f, "```\n", 4))
		return;
	for (size_t i = g->nexamples - n; i < g->nexamples; i++) {
		if (i > g->nexamples - n)
			fld_puts(f, "\n", 0);
		fld_puts_max(f, g->examples[i] ? g->examples[i] : "", uflags, lim(c, EXAMPLE_MAX));
	}
	fld_close(f, "\n```", 4);
}

/* "name: `value`" lines for the parsed fields, the group key left out. */
static void
fld_fields(struct fld *f, const struct ctx *c, unsigned uflags, bool code)
{
	const struct mt_alert_group *g = c->g;
	size_t shown = 0;

	for (size_t i = 0; g->fields && i < g->nfields && shown < FIELDS_MAX; i++) {
		const struct mt_group_field *fd = &g->fields[i];

		if (fd->name == NULL || fd->value == NULL ||
		    (g->key_name && strcmp(fd->name, g->key_name) == 0))
			continue;
		if (shown++)
			fld_puts(f, "\n", 0);
		fld_puts_max(f, fd->name, uflags & ~T_CODE, 64);
		fld_puts(f, ": ", 0);
		if (code)
			fld_code(f, fd->value, uflags, lim(c, 200));
		else
			fld_puts_max(f, fd->value, uflags, lim(c, 200));
	}
}

static size_t
nfields_shown(const struct ctx *c)
{
	const struct mt_alert_group *g = c->g;
	size_t n = 0;

	for (size_t i = 0; g->fields && i < g->nfields; i++)
		if (g->fields[i].name && g->fields[i].value &&
		    !(g->key_name && strcmp(g->fields[i].name, g->key_name) == 0))
			n++;
	return n;
}

static bool
has_ids(const struct mt_alert_group *g)
{
	return g->queue_ids && g->nqueue_ids > 0;
}

static bool
has_key(const struct mt_alert_group *g)
{
	return g->key_name && g->key_value;
}

/*
 * The documentation link as a JSON-safe, Markdown- and Slack-safe URL, or
 * false when the catalog holds no http(s) URL.  Bytes outside RFC 3986's
 * unreserved and reserved sets, and ( ) [ ] (they end Markdown links), are
 * percent-encoded; Slack also needs & as &amp;.
 */
static bool
doc_url(const struct ctx *c, struct mt_buf *ret, bool slack)
{
	static const char safe[] = "-._~:/?#@!$'*+,;=%";
	const char *u = c->s->official_doc_url;

	if (u == NULL || (strncmp(u, "https://", 8) != 0 && strncmp(u, "http://", 7) != 0))
		return false;
	mt_buf_init(ret, 4 * 1024);
	for (const unsigned char *p = (const unsigned char *)u; *p; p++) {
		char pc[3] = { '%', hexdig[*p >> 4], hexdig[*p & 15] };
		int r;

		if ((*p | 0x20) >= 'a' && (*p | 0x20) <= 'z' && *p < 0x80)
			r = mt_buf_putc(ret, (char)*p);
		else if ((*p >= '0' && *p <= '9') || (*p != '\0' && strchr(safe, *p)))
			r = mt_buf_putc(ret, (char)*p);
		else if (*p == '&')
			r = mt_buf_puts(ret, slack ? "&amp;" : "&");
		else
			r = mt_buf_append(ret, pc, 3);
		if (r < 0) {
			mt_buf_fini(ret);
			return false; /* an absurd URL: leave it out */
		}
	}
	return true;
}

/* "🟡 New: title" */
static void
fld_headline(struct fld *f, const struct ctx *c, unsigned tflags)
{
	fld_puts(f, emoji(c), 0);
	fld_puts(f, " ", 0);
	fld_puts(f, event_word(c), 0);
	fld_puts(f, ": ", 0);
	fld_puts(f, mt_sig_title(c->s, c->g->locale), tflags);
}

/* "🟡 New: title · 42 (+7 new) · relay `mx.example.net` · host `mx1`" */
static void
fld_summary(struct fld *f, const struct ctx *c, unsigned tflags, unsigned uflags)
{
	fld_headline(f, c, tflags);
	fld_puts(f, " \xc2\xb7 ", 0);
	fld_count(f, c);
	if (has_key(c->g)) {
		fld_puts(f, " \xc2\xb7 ", 0);
		fld_puts_max(f, c->g->key_name, uflags & ~T_CODE, 64);
		fld_puts(f, " ", 0);
		if (uflags & T_CODE)
			fld_code(f, c->g->key_value, uflags, lim(c, 200));
		else
			fld_puts_max(f, c->g->key_value, uflags, lim(c, 200));
	}
}

/* ---- Generic JSON ---------------------------------------------------- */

static int
kv_str(struct mt_buf *b, bool *first, const char *key, const char *val)
{
	int r;

	TRY(mt_json_key(b, first, key));
	return mt_json_cstr(b, val);
}

/* Untrusted text, capped on a character boundary, JSON-escaped only. */
static int
json_capped(struct mt_buf *b, const char *s, size_t max)
{
	if (s == NULL)
		return mt_buf_puts(b, "null");
	return mt_json_str(b, s, utf8_cut(s, strlen(s), max));
}

static int
render_json_sig(struct mt_buf *b, const struct ctx *c)
{
	const struct mt_signature *s = c->s;
	enum mt_locale l = c->g->locale;
	bool first = true, f2;
	int r;

	TRY(mt_buf_putc(b, '{'));
	TRY(kv_str(b, &first, "id", s->id));
	TRY(kv_str(b, &first, "title", mt_sig_title(s, l)));
	TRY(kv_str(b, &first, "signature", s->signature));
	TRY(kv_str(b, &first, "severity", mt_severity_name(s->severity)));
	TRY(kv_str(b, &first, "domain", s->domain));
	TRY(kv_str(b, &first, "category", s->category));
	TRY(kv_str(b, &first, "error_code", s->error_code));
	TRY(kv_str(b, &first, "root_cause", mt_sig_root_cause(s, l)));
	TRY(mt_json_key(b, &first, "workarounds"));
	TRY(mt_buf_putc(b, '['));
	for (size_t i = 0; i < s->nworkarounds; i++) {
		const struct mt_workaround *w = &s->workarounds[i];

		f2 = true;
		TRY(mt_buf_puts(b, i ? ",{" : "{"));
		TRY(mt_json_key(b, &f2, "rank"));
		TRY(mt_json_num(b, (double)(i + 1)));
		TRY(kv_str(b, &f2, "action", mt_workaround_action(w, l)));
		if (w->how && strcmp(w->how, w->action) != 0)
			TRY(kv_str(b, &f2, "how", w->how));
		TRY(mt_json_key(b, &f2, "success_rate"));
		TRY(mt_json_num(b, w->success_rate));
		if (w->condition && *w->condition)
			TRY(kv_str(b, &f2, "condition", w->condition));
		TRY(mt_buf_putc(b, '}'));
	}
	TRY(mt_buf_putc(b, ']'));
	TRY(mt_json_key(b, &first, "dead_ends"));
	TRY(mt_buf_putc(b, '['));
	for (size_t i = 0; i < s->ndead_ends; i++) {
		const struct mt_dead_end *e = &s->dead_ends[i];

		f2 = true;
		TRY(mt_buf_puts(b, i ? ",{" : "{"));
		TRY(kv_str(b, &f2, "action", e->action));
		if (e->why_fails)
			TRY(kv_str(b, &f2, "why_fails", e->why_fails));
		TRY(mt_json_key(b, &f2, "fail_rate"));
		TRY(mt_json_num(b, e->fail_rate));
		TRY(mt_buf_putc(b, '}'));
	}
	TRY(mt_buf_putc(b, ']'));
	TRY(kv_str(b, &first, "doc_url", s->official_doc_url));
	TRY(kv_str(b, &first, "source_url", s->source_url));
	return mt_buf_putc(b, '}');
}

static int
render_json(struct mt_buf *b, struct ctx *c)
{
	const struct mt_alert_group *g = c->g;
	size_t n, max = lim(c, MT_GROUP_TEXT_MAX);
	bool first = true, f2;
	int r;

	TRY(mt_buf_putc(b, '{'));
	TRY(mt_json_key(b, &first, "version"));
	TRY(mt_buf_putc(b, '1'));
	TRY(kv_str(b, &first, "event", mt_group_event_name(g->event)));
	TRY(kv_str(b, &first, "severity", mt_severity_name(g->severity)));
	TRY(kv_str(b, &first, "locale", g->locale == MT_LOCALE_ZH ? "zh" : "en"));
	TRY(mt_json_key(b, &first, "signature"));
	TRY(render_json_sig(b, c));
	TRY(mt_json_key(b, &first, "key"));
	if (has_key(g)) {
		f2 = true;
		TRY(mt_buf_putc(b, '{'));
		TRY(kv_str(b, &f2, "name", g->key_name));
		TRY(mt_json_key(b, &f2, "value"));
		TRY(json_capped(b, g->key_value, max));
		TRY(mt_buf_putc(b, '}'));
	} else {
		TRY(mt_buf_puts(b, "null"));
	}
	TRY(mt_json_key(b, &first, "count_total"));
	TRY(mt_buf_printf(b, "%llu", (unsigned long long)g->count_total));
	TRY(mt_json_key(b, &first, "count_new"));
	TRY(mt_buf_printf(b, "%llu", (unsigned long long)g->count_new));
	TRY(mt_json_key(b, &first, "first_seen"));
	TRY(json_time(b, g->first_seen));
	TRY(mt_json_key(b, &first, "last_seen"));
	TRY(json_time(b, g->last_seen));

	TRY(mt_json_key(b, &first, "examples"));
	TRY(mt_buf_putc(b, '['));
	n = g->examples ? g->nexamples : 0;
	if (n > ((size_t)MT_GROUP_EXAMPLES_MAX >> (c->level > 2 ? 2 : c->level)))
		n = (size_t)MT_GROUP_EXAMPLES_MAX >> (c->level > 2 ? 2 : c->level);
	for (size_t i = g->nexamples - n, k = 0; i < g->nexamples; i++, k++) {
		if (k)
			TRY(mt_buf_putc(b, ','));
		TRY(json_capped(b, g->examples[i] ? g->examples[i] : "", max));
	}
	TRY(mt_buf_putc(b, ']'));

	TRY(mt_json_key(b, &first, "queue_ids"));
	TRY(mt_buf_putc(b, '['));
	n = g->queue_ids ? g->nqueue_ids : 0;
	for (size_t i = 0, k = 0; i < n && i < MT_GROUP_IDS_MAX; i++) {
		if (g->queue_ids[i] == NULL)
			continue;
		if (k++)
			TRY(mt_buf_putc(b, ','));
		TRY(json_capped(b, g->queue_ids[i], lim(c, 256)));
	}
	TRY(mt_buf_putc(b, ']'));

	TRY(mt_json_key(b, &first, "fields"));
	TRY(mt_buf_putc(b, '{'));
	f2 = true;
	for (size_t i = 0, k = 0; g->fields && i < g->nfields && k < 32; i++) {
		if (g->fields[i].name == NULL || g->fields[i].value == NULL)
			continue;
		k++;
		TRY(mt_json_key(b, &f2, g->fields[i].name));
		TRY(json_capped(b, g->fields[i].value, max));
	}
	TRY(mt_buf_putc(b, '}'));
	TRY(mt_json_key(b, &first, "hostname"));
	TRY(json_capped(b, g->hostname, 256));
	TRY(mt_json_key(b, &first, "file"));
	TRY(json_capped(b, g->file, MT_GROUP_TEXT_MAX));
	return mt_buf_putc(b, '}');
}

/* ---- Slack ----------------------------------------------------------- */

static int
slack_section(struct mt_buf *b, struct fld *f)
{
	int r;

	if ((r = mt_buf_puts(b, ",{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":")) <
	    0)
		return fld_drop(f, r);
	TRY(fld_end(b, f));
	return mt_buf_puts(b, "}}");
}

/* One "*Label*\nvalue" field of a section; opens the text, the caller adds the value. */
static void
slack_field_begin(struct fld *f, const char *label, size_t max)
{
	fld_init(f, max);
	fld_puts(f, "*", 0);
	fld_puts(f, label, T_SLACK);
	fld_puts(f, "*\n", 0);
}

static int
slack_field_end(struct mt_buf *b, struct fld *f, bool *first)
{
	int r;

	r = mt_buf_puts(b, *first ? "{\"type\":\"mrkdwn\",\"text\":" :
				    ",{\"type\":\"mrkdwn\",\"text\":");
	if (r < 0)
		return fld_drop(f, r);
	*first = false;
	TRY(fld_end(b, f));
	return mt_buf_putc(b, '}');
}

static int
render_slack(struct mt_buf *b, struct ctx *c)
{
	const struct mt_alert_group *g = c->g;
	const struct words *w = c->w;
	size_t fmax = lim(c, 2000), smax = lim(c, 3000);
	struct mt_buf url;
	struct fld f;
	bool first = true;
	int r;

	/* The notification text, shown where blocks are not (push, search). */
	TRY(mt_buf_puts(b, "{\"text\":"));
	fld_init(&f, lim(c, 3000));
	fld_summary(&f, c, T_SLACK, U_SLACK);
	TRY(fld_end(b, &f));

	TRY(mt_buf_puts(b, ",\"blocks\":[{\"type\":\"header\",\"text\":{\"type\":\"plain_text\","
			   "\"emoji\":true,\"text\":"));
	fld_init(&f, 150); /* plain text: Slack shows it as is, so only catalog text goes here */
	fld_headline(&f, c, 0);
	TRY(fld_end(b, &f));
	TRY(mt_buf_puts(b, "}}"));

	TRY(mt_buf_puts(b, ",{\"type\":\"section\",\"fields\":["));
	slack_field_begin(&f, w->severity, fmax);
	fld_puts(&f, mt_severity_name(g->severity), 0);
	TRY(slack_field_end(b, &f, &first));
	slack_field_begin(&f, w->count, fmax);
	fld_count(&f, c);
	TRY(slack_field_end(b, &f, &first));
	if (has_key(g)) {
		slack_field_begin(&f, g->key_name, fmax);
		fld_code(&f, g->key_value, U_SLACK, lim(c, 300));
		TRY(slack_field_end(b, &f, &first));
	}
	if (g->hostname) {
		slack_field_begin(&f, w->host, fmax);
		fld_code(&f, g->hostname, U_SLACK, 256);
		TRY(slack_field_end(b, &f, &first));
	}
	slack_field_begin(&f, w->seen, fmax);
	fld_seen(&f, c);
	TRY(slack_field_end(b, &f, &first));
	if (has_ids(g)) {
		slack_field_begin(&f, w->queue_ids, fmax);
		fld_ids(&f, c, U_SLACK);
		TRY(slack_field_end(b, &f, &first));
	}
	TRY(mt_buf_puts(b, "]}"));

	fld_init(&f, smax);
	fld_printf(&f, 0, "*%s*\n", w->root_cause);
	fld_puts(&f, mt_sig_root_cause(c->s, g->locale), T_SLACK);
	TRY(slack_section(b, &f));
	if (c->s->nworkarounds > 0) {
		fld_init(&f, smax);
		fld_printf(&f, 0, "*%s*\n", w->try_);
		fld_workarounds(&f, c, T_SLACK);
		TRY(slack_section(b, &f));
	}
	if (c->s->ndead_ends > 0) {
		fld_init(&f, smax);
		fld_printf(&f, 0, "*%s:* ", w->dont);
		fld_dead_end(&f, c, T_SLACK);
		TRY(slack_section(b, &f));
	}
	if (nfields_shown(c) > 0) {
		fld_init(&f, smax);
		fld_printf(&f, 0, "*%s*\n", w->details);
		fld_fields(&f, c, U_SLACK, true);
		TRY(slack_section(b, &f));
	}
	if (nexamples(c, 3) > 0) {
		fld_init(&f, smax);
		fld_printf(&f, 0, "*%s*\n", w->lines);
		fld_examples(&f, c, U_SLACK, 3);
		TRY(slack_section(b, &f));
	}

	TRY(mt_buf_puts(b, ",{\"type\":\"context\",\"elements\":[{\"type\":\"mrkdwn\",\"text\":"));
	fld_init(&f, fmax);
	fld_puts(&f, "mtalert \xc2\xb7 ", 0);
	fld_code(&f, c->s->id, U_SLACK, 200);
	if (doc_url(c, &url, true)) {
		fld_puts(&f, " \xc2\xb7 ", 0);
		/* A link is added whole or not at all: half a <url|text> is no link. */
		if (f.units + url.len + strlen(w->doc) + 8 < f.max) {
			fld_puts(&f, "<", 0);
			fld_puts(&f, url.data, 0);
			fld_puts(&f, "|", 0);
			fld_puts(&f, w->doc, T_SLACK);
			fld_puts(&f, ">", 0);
		}
		mt_buf_fini(&url);
	}
	if (g->file) {
		fld_puts(&f, " \xc2\xb7 ", 0);
		fld_code(&f, g->file, U_SLACK, 300);
	}
	TRY(fld_end(b, &f));
	return mt_buf_puts(b, "}]}]}");
}

/* ---- Mattermost ------------------------------------------------------ */

static int
mm_field(struct mt_buf *b, bool *first, struct fld *f, const char *title, bool is_short)
{
	int r;

	const char *sep = *first ? "" : ",";

	*first = false;
	if ((r = mt_buf_printf(b, "%s{\"short\":%s,\"title\":", sep, is_short ? "true" : "false")) <
		    0 ||
	    (r = json_trusted(b, title, 256)) < 0 || (r = mt_buf_puts(b, ",\"value\":")) < 0)
		return fld_drop(f, r);
	TRY(fld_end(b, f));
	return mt_buf_putc(b, '}');
}

static int
render_mattermost(struct mt_buf *b, struct ctx *c)
{
	const struct mt_alert_group *g = c->g;
	const struct words *w = c->w;
	struct mt_buf url;
	struct fld f;
	bool first = true;
	int r;

	TRY(mt_buf_puts(b, "{\"username\":\"mtalert\",\"text\":"));
	fld_init(&f, lim(c, 4000));
	if (fld_open(&f, "**", 2)) {
		fld_headline(&f, c, 0);
		fld_close(&f, "**", 2);
	}
	fld_puts(&f, "\n", 0);
	fld_count(&f, c);
	if (has_key(g)) {
		fld_puts(&f, " \xc2\xb7 ", 0);
		fld_puts_max(&f, g->key_name, U_PLAIN, 64);
		fld_puts(&f, " ", 0);
		fld_code(&f, g->key_value, U_MD, lim(c, 200));
	}
	if (g->hostname) {
		fld_printf(&f, 0, " \xc2\xb7 %s ", w->host);
		fld_code(&f, g->hostname, U_MD, 256);
	}
	TRY(fld_end(b, &f));

	TRY(mt_buf_puts(b, ",\"attachments\":[{\"fallback\":"));
	fld_init(&f, 300); /* plain notification text: no log text */
	fld_headline(&f, c, 0);
	TRY(fld_end(b, &f));
	TRY(mt_buf_printf(b, ",\"color\":\"#%06x\",\"title\":", color(c)));
	TRY(json_trusted(b, mt_sig_title(c->s, g->locale), 256));
	if (doc_url(c, &url, false)) {
		TRY(mt_buf_puts(b, ",\"title_link\":"));
		r = mt_json_str(b, url.data, url.len);
		mt_buf_fini(&url);
		if (r < 0)
			return r;
	}

	TRY(mt_buf_puts(b, ",\"text\":"));
	fld_init(&f, lim(c, 6000));
	fld_printf(&f, 0, "**%s**\n", w->root_cause);
	fld_puts_max(&f, mt_sig_root_cause(c->s, g->locale), 0, lim(c, 3000));
	if (c->s->nworkarounds > 0) {
		fld_printf(&f, 0, "\n\n**%s**\n", w->try_);
		fld_workarounds(&f, c, 0);
	}
	if (c->s->ndead_ends > 0) {
		fld_printf(&f, 0, "\n\n**%s:** ", w->dont);
		fld_dead_end(&f, c, 0);
	}
	if (nexamples(c, 3) > 0) {
		fld_printf(&f, 0, "\n\n**%s**\n", w->lines);
		fld_examples(&f, c, U_MD, 3);
	}
	TRY(fld_end(b, &f));

	TRY(mt_buf_puts(b, ",\"fields\":["));
	fld_init(&f, 256);
	fld_puts(&f, mt_severity_name(g->severity), 0);
	TRY(mm_field(b, &first, &f, w->severity, true));
	fld_init(&f, 256);
	fld_count(&f, c);
	TRY(mm_field(b, &first, &f, w->count, true));
	if (has_ids(g)) {
		fld_init(&f, lim(c, 2000));
		fld_ids(&f, c, U_MD);
		TRY(mm_field(b, &first, &f, w->queue_ids, false));
	}
	fld_init(&f, 256);
	fld_seen(&f, c);
	TRY(mm_field(b, &first, &f, w->seen, false));
	if (nfields_shown(c) > 0) {
		fld_init(&f, lim(c, 2000));
		fld_fields(&f, c, U_MD, true);
		TRY(mm_field(b, &first, &f, w->details, false));
	}
	TRY(mt_buf_puts(b, "],\"footer\":"));
	fld_init(&f, 600);
	fld_puts(&f, "mtalert \xc2\xb7 ", 0);
	fld_puts(&f, c->s->id, 0);
	if (g->file) {
		fld_puts(&f, " \xc2\xb7 ", 0);
		fld_puts_max(&f, g->file, U_PLAIN, 300);
	}
	TRY(fld_end(b, &f));
	return mt_buf_puts(b, "}]}");
}

/* ---- Microsoft Teams (Adaptive Card) --------------------------------- */

/* A TextBlock of our own text (Markdown allowed); attrs is ",\"k\":v..." or "". */
static int
teams_text(struct mt_buf *b, struct fld *f, const char *attrs)
{
	int r;

	if ((r = mt_buf_printf(b, ",{\"type\":\"TextBlock\",\"wrap\":true%s,\"text\":", attrs)) < 0)
		return fld_drop(f, r);
	TRY(fld_end(b, f));
	return mt_buf_putc(b, '}');
}

static int
teams_heading(struct mt_buf *b, const char *s)
{
	struct fld f;

	fld_init(&f, 256);
	fld_puts(&f, s, 0);
	return teams_text(b, &f, ",\"weight\":\"Bolder\",\"spacing\":\"Medium\"");
}

/*
 * "label: value" with the value in a monospace TextRun: TextRuns are never
 * parsed as Markdown, so log text there cannot format or link.
 */
static int
teams_run(struct mt_buf *b, const char *label, struct fld *f)
{
	int r;

	if ((r = mt_buf_puts(b, ",{\"type\":\"RichTextBlock\",\"inlines\":[")) < 0)
		return fld_drop(f, r);
	if (label) {
		struct fld lf;

		fld_init(&lf, 80);
		fld_puts_max(&lf, label, U_PLAIN, 60);
		fld_puts(&lf, ": ", 0);
		if ((r = mt_buf_puts(b, "{\"type\":\"TextRun\",\"weight\":\"Bolder\",\"text\":")) <
			    0 ||
		    (r = fld_end(b, &lf)) < 0 || (r = mt_buf_puts(b, "},")) < 0)
			return fld_drop(f, r);
	}
	if ((r = mt_buf_puts(b, "{\"type\":\"TextRun\",\"fontType\":\"Monospace\",\"text\":")) < 0)
		return fld_drop(f, r);
	TRY(fld_end(b, f));
	return mt_buf_puts(b, "}]}");
}

static int
teams_fact(struct mt_buf *b, bool *first, const char *title, struct fld *f)
{
	const char *sep = *first ? "" : ",";
	int r;

	*first = false;
	if ((r = mt_buf_printf(b, "%s{\"title\":", sep)) < 0 ||
	    (r = json_trusted(b, title, 256)) < 0 || (r = mt_buf_puts(b, ",\"value\":")) < 0)
		return fld_drop(f, r);
	TRY(fld_end(b, f));
	return mt_buf_putc(b, '}');
}

static const char *
teams_color(const struct ctx *c)
{
	if (c->g->event == MT_GROUP_RESOLVED)
		return "Good";
	switch (c->g->severity) {
	case MT_SEV_CRITICAL:
	case MT_SEV_ERROR:
		return "Attention";
	case MT_SEV_WARNING:
		return "Warning";
	case MT_SEV_INFO:
		break;
	}
	return "Accent";
}

static int
render_teams(struct mt_buf *b, struct ctx *c)
{
	const struct mt_alert_group *g = c->g;
	const struct words *w = c->w;
	size_t vmax = lim(c, 1024), n;
	struct mt_buf url;
	struct fld f;
	bool first = true;
	int r;

	TRY(mt_buf_puts(b, "{\"type\":\"message\",\"attachments\":[{\"contentType\":"
			   "\"application/vnd.microsoft.card.adaptive\",\"contentUrl\":null,"
			   "\"content\":{\"$schema\":\"http://adaptivecards.io/schemas/"
			   "adaptive-card.json\",\"type\":\"AdaptiveCard\",\"version\":\"1.4\","
			   "\"msteams\":{\"width\":\"Full\"},\"body\":["));
	/* The first element has no leading comma: begin with it by hand. */
	TRY(mt_buf_printf(b,
			  "{\"type\":\"TextBlock\",\"wrap\":true,\"size\":\"Medium\","
			  "\"weight\":\"Bolder\",\"color\":\"%s\",\"text\":",
			  teams_color(c)));
	fld_init(&f, 400);
	fld_headline(&f, c, 0);
	TRY(fld_end(b, &f));
	TRY(mt_buf_putc(b, '}'));

	TRY(mt_buf_puts(b, ",{\"type\":\"FactSet\",\"facts\":["));
	fld_init(&f, 64);
	fld_puts(&f, mt_severity_name(g->severity), 0);
	TRY(teams_fact(b, &first, w->severity, &f));
	fld_init(&f, 128);
	fld_count(&f, c);
	TRY(teams_fact(b, &first, w->count, &f));
	fld_init(&f, 128);
	fld_seen(&f, c);
	TRY(teams_fact(b, &first, w->seen, &f));
	TRY(mt_buf_puts(b, "]}"));

	if (has_key(g)) {
		fld_init(&f, vmax);
		fld_puts(&f, g->key_value, U_PLAIN);
		TRY(teams_run(b, g->key_name, &f));
	}
	if (g->hostname) {
		fld_init(&f, 256);
		fld_puts(&f, g->hostname, U_PLAIN);
		TRY(teams_run(b, w->host, &f));
	}
	if (g->file) {
		fld_init(&f, 300);
		fld_puts(&f, g->file, U_PLAIN);
		TRY(teams_run(b, w->log, &f));
	}
	if (has_ids(g)) {
		fld_init(&f, vmax);
		for (size_t i = 0, k = 0; i < g->nqueue_ids && i < MT_GROUP_IDS_MAX; i++) {
			if (g->queue_ids[i] == NULL)
				continue;
			if (k++)
				fld_puts(&f, ", ", 0);
			fld_puts_max(&f, g->queue_ids[i], U_PLAIN, lim(c, ID_MAX));
		}
		TRY(teams_run(b, w->queue_ids, &f));
	}

	TRY(teams_heading(b, w->root_cause));
	fld_init(&f, lim(c, 3000));
	fld_puts(&f, mt_sig_root_cause(c->s, g->locale), 0);
	TRY(teams_text(b, &f, ""));
	if (c->s->nworkarounds > 0) {
		TRY(teams_heading(b, w->try_));
		fld_init(&f, lim(c, 2000));
		fld_workarounds(&f, c, 0);
		TRY(teams_text(b, &f, ""));
	}
	if (c->s->ndead_ends > 0) {
		TRY(teams_heading(b, w->dont));
		fld_init(&f, lim(c, 1200));
		fld_dead_end(&f, c, 0);
		TRY(teams_text(b, &f, ""));
	}
	if (nfields_shown(c) > 0) {
		TRY(teams_heading(b, w->details));
		for (size_t i = 0, k = 0; g->fields && i < g->nfields && k < FIELDS_MAX; i++) {
			const struct mt_group_field *fd = &g->fields[i];

			if (fd->name == NULL || fd->value == NULL ||
			    (g->key_name && strcmp(fd->name, g->key_name) == 0))
				continue;
			k++;
			fld_init(&f, lim(c, 200));
			fld_puts(&f, fd->value, U_PLAIN);
			TRY(teams_run(b, fd->name, &f));
		}
	}
	if ((n = nexamples(c, 3)) > 0) {
		TRY(teams_heading(b, w->lines));
		for (size_t i = g->nexamples - n; i < g->nexamples; i++) {
			fld_init(&f, lim(c, EXAMPLE_MAX));
			fld_puts(&f, g->examples[i] ? g->examples[i] : "", U_PLAIN);
			TRY(teams_run(b, NULL, &f));
		}
	}
	TRY(mt_buf_puts(b, "],\"actions\":["));
	if (doc_url(c, &url, false)) {
		r = mt_buf_puts(b, "{\"type\":\"Action.OpenUrl\",\"title\":");
		if (r == 0)
			r = json_trusted(b, w->doc, 64);
		if (r == 0)
			r = mt_buf_puts(b, ",\"url\":");
		if (r == 0)
			r = mt_json_str(b, url.data, url.len);
		mt_buf_fini(&url);
		if (r < 0)
			return r;
		TRY(mt_buf_putc(b, '}'));
	}
	return mt_buf_puts(b, "]}}]}");
}

/* ---- Discord --------------------------------------------------------- */

static int
discord_field(struct mt_buf *b, struct ctx *c, const char *name, struct fld *f, bool is_inline)
{
	struct fld nf;
	int r;

	fld_init(&nf, 256);
	fld_puts(&nf, name, 0);
	c->embed_units += nf.units + f->units;
	if ((r = mt_buf_printf(b, ",{\"inline\":%s,\"name\":", is_inline ? "true" : "false")) < 0 ||
	    (r = fld_end(b, &nf)) < 0 || (r = mt_buf_puts(b, ",\"value\":")) < 0)
		return fld_drop(f, r);
	TRY(fld_end(b, f));
	return mt_buf_putc(b, '}');
}

static int
render_discord(struct mt_buf *b, struct ctx *c)
{
	const struct mt_alert_group *g = c->g;
	const struct words *w = c->w;
	struct mt_buf url;
	struct fld f;
	int r;

	TRY(mt_buf_puts(b, "{\"username\":\"mtalert\",\"content\":"));
	fld_init(&f, lim(c, 2000));
	fld_summary(&f, c, 0, U_MD);
	TRY(fld_end(b, &f));
	TRY(mt_buf_puts(b, ",\"allowed_mentions\":{\"parse\":[]},\"embeds\":[{\"title\":"));
	fld_init(&f, 256);
	fld_puts(&f, event_word(c), 0);
	fld_puts(&f, ": ", 0);
	fld_puts(&f, mt_sig_title(c->s, g->locale), 0);
	c->embed_units += f.units;
	TRY(fld_end(b, &f));
	/* Discord rejects the whole message over a bad embed URL: only http(s). */
	if (doc_url(c, &url, false)) {
		r = mt_buf_puts(b, ",\"url\":");
		if (r == 0)
			r = mt_json_str(b, url.data, url.len);
		mt_buf_fini(&url);
		if (r < 0)
			return r;
	}
	TRY(mt_buf_printf(b, ",\"color\":%u,\"timestamp\":", color(c)));
	TRY(json_time(b, g->last_seen));
	TRY(mt_buf_puts(b, ",\"description\":"));
	fld_init(&f, lim(c, 2048));
	fld_printf(&f, 0, "**%s**\n", w->root_cause);
	fld_puts(&f, mt_sig_root_cause(c->s, g->locale), 0);
	c->embed_units += f.units;
	TRY(fld_end(b, &f));

	/* Fields: the array begins with the severity, then ",{...}" each. */
	TRY(mt_buf_puts(b, ",\"fields\":[{\"inline\":true,\"name\":"));
	TRY(json_trusted(b, w->severity, 256));
	TRY(mt_buf_puts(b, ",\"value\":"));
	TRY(json_trusted(b, mt_severity_name(g->severity), 64));
	TRY(mt_buf_putc(b, '}'));
	c->embed_units += strlen(w->severity) + strlen(mt_severity_name(g->severity));
	fld_init(&f, 256);
	fld_count(&f, c);
	TRY(discord_field(b, c, w->count, &f, true));
	if (has_key(g)) {
		struct mt_buf name;

		mt_buf_init(&name, 128);
		fld_init(&f, lim(c, 512));
		fld_code(&f, g->key_value, U_MD, lim(c, 300));
		(void)mt_buf_printf(&name, "%.60s", g->key_name);
		r = discord_field(b, c, name.data, &f, true);
		mt_buf_fini(&name);
		if (r < 0)
			return r;
	}
	if (g->hostname) {
		fld_init(&f, 256);
		fld_code(&f, g->hostname, U_MD, 250);
		TRY(discord_field(b, c, w->host, &f, true));
	}
	fld_init(&f, 256);
	fld_seen(&f, c);
	TRY(discord_field(b, c, w->seen, &f, true));
	if (has_ids(g)) {
		fld_init(&f, lim(c, 1024));
		fld_ids(&f, c, U_MD);
		TRY(discord_field(b, c, w->queue_ids, &f, false));
	}
	if (c->s->nworkarounds > 0) {
		fld_init(&f, lim(c, 1024));
		fld_workarounds(&f, c, 0);
		TRY(discord_field(b, c, w->try_, &f, false));
	}
	if (c->s->ndead_ends > 0) {
		fld_init(&f, lim(c, 1024));
		fld_dead_end(&f, c, 0);
		TRY(discord_field(b, c, w->dont, &f, false));
	}
	if (nfields_shown(c) > 0) {
		fld_init(&f, lim(c, 1024));
		fld_fields(&f, c, U_MD, true);
		TRY(discord_field(b, c, w->details, &f, false));
	}
	if (nexamples(c, 2) > 0) {
		fld_init(&f, lim(c, 1024));
		fld_examples(&f, c, U_MD, 2);
		TRY(discord_field(b, c, w->lines, &f, false));
	}
	TRY(mt_buf_puts(b, "],\"footer\":{\"text\":"));
	fld_init(&f, 400);
	fld_puts(&f, "mtalert \xc2\xb7 ", 0);
	fld_puts(&f, c->s->id, 0);
	if (g->file) {
		fld_puts(&f, " \xc2\xb7 ", 0);
		fld_puts_max(&f, g->file, U_PLAIN, 200);
	}
	c->embed_units += f.units;
	TRY(fld_end(b, &f));
	return mt_buf_puts(b, "}}]}");
}

/* ---- Alertmanager ---------------------------------------------------- */

/* Append s made a Prometheus label name: [a-zA-Z_][a-zA-Z0-9_]*. */
static int
label_name(struct mt_buf *b, const char *s, size_t max)
{
	int r = 0;

	if (*s >= '0' && *s <= '9')
		r = mt_buf_puts(b, "mt_");
	for (size_t i = 0; r == 0 && s[i] && i < max; i++) {
		unsigned char ch = (unsigned char)s[i];
		bool ok = ((ch | 0x20) >= 'a' && (ch | 0x20) <= 'z') || (ch >= '0' && ch <= '9');

		r = mt_buf_putc(b, ok ? (char)ch : '_');
	}
	return r;
}

/* A label from text of ours; absent when empty, as Prometheus treats it. */
static int
label_trusted(struct mt_buf *b, const char *name, const char *val)
{
	int r;

	if (val == NULL || *val == '\0')
		return 0;
	TRY(mt_buf_printf(b, ",\"%s\":", name));
	return json_trusted(b, val, 1024);
}

static int
annot_begin(struct mt_buf *b, const char *name)
{
	return mt_buf_printf(b, ",\"%s\":", name);
}

static int
render_alertmanager(struct mt_buf *b, struct ctx *c)
{
	static const char *const reserved[] = { "alertname", "signature_id", "severity",
						"category",  "instance",     "job" };
	const struct mt_alert_group *g = c->g;
	const char *id = c->s->id, *slash = strrchr(id, '/');
	struct mt_buf name;
	struct fld f;
	int r;

	TRY(mt_buf_puts(b, "[{\"labels\":{\"alertname\":\""));
	TRY(label_name(b, slash ? slash + 1 : id, 200));
	TRY(mt_buf_putc(b, '"'));
	TRY(label_trusted(b, "signature_id", id));
	TRY(label_trusted(b, "severity", mt_severity_name(g->severity)));
	TRY(label_trusted(b, "category", c->s->category));
	if (g->hostname && *g->hostname) {
		TRY(mt_buf_puts(b, ",\"instance\":"));
		TRY(json_untrusted(b, g->hostname, 256));
	}
	if (has_key(g) && *g->key_value) {
		bool clash = *g->key_name == '\0' || strncmp(g->key_name, "__", 2) == 0;

		for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
			clash = clash || strcmp(g->key_name, reserved[i]) == 0;
		mt_buf_init(&name, 128);
		r = mt_buf_puts(&name, clash ? "key_" : "");
		if (r == 0)
			r = label_name(&name, g->key_name, 64);
		if (r == 0)
			r = mt_buf_printf(b, ",\"%s\":", name.data);
		mt_buf_fini(&name);
		if (r < 0)
			return r;
		TRY(json_untrusted(b, g->key_value, 1024));
	}
	TRY(mt_buf_puts(b, ",\"job\":\"mtalert\"},\"annotations\":{\"summary\":"));
	fld_init(&f, 1024);
	fld_puts(&f, mt_sig_title(c->s, g->locale), 0);
	if (has_key(g)) {
		fld_puts(&f, " (", 0);
		fld_puts_max(&f, g->key_name, U_PLAIN, 64);
		fld_puts(&f, " ", 0);
		fld_puts_max(&f, g->key_value, U_PLAIN, lim(c, 256));
		fld_puts(&f, ")", 0);
	}
	TRY(fld_end(b, &f));

	TRY(annot_begin(b, "description"));
	fld_init(&f, lim(c, 4000));
	fld_puts_max(&f, mt_sig_root_cause(c->s, g->locale), 0, lim(c, 3000));
	if (c->s->nworkarounds > 0) {
		fld_printf(&f, 0, "\n\n%s: ", c->w->try_);
		fld_puts_max(&f, mt_workaround_action(&c->s->workarounds[0], g->locale), 0, 600);
		fld_printf(&f, 0, " (%u%%)", pct(c->s->workarounds[0].success_rate));
	}
	TRY(fld_end(b, &f));
	if (c->s->official_doc_url) {
		TRY(annot_begin(b, "runbook_url"));
		TRY(json_trusted(b, c->s->official_doc_url, 2048));
	}
	TRY(annot_begin(b, "event"));
	TRY(mt_json_cstr(b, mt_group_event_name(g->event)));
	TRY(mt_buf_printf(b, ",\"count\":\"%llu\",\"count_new\":\"%llu\",\"first_seen\":",
			  (unsigned long long)g->count_total, (unsigned long long)g->count_new));
	TRY(json_time(b, g->first_seen));
	TRY(annot_begin(b, "last_seen"));
	TRY(json_time(b, g->last_seen));
	if (g->examples && g->nexamples > 0 && c->level < LEVEL_MAX) {
		TRY(annot_begin(b, "example"));
		TRY(json_untrusted(
			b, g->examples[g->nexamples - 1] ? g->examples[g->nexamples - 1] : "",
			lim(c, MT_GROUP_TEXT_MAX)));
	}
	if (has_ids(g)) {
		TRY(annot_begin(b, "queue_ids"));
		fld_init(&f, lim(c, 1024));
		for (size_t i = 0, k = 0; i < g->nqueue_ids && i < MT_GROUP_IDS_MAX; i++) {
			if (g->queue_ids[i] == NULL)
				continue;
			if (k++)
				fld_puts(&f, ", ", 0);
			fld_puts_max(&f, g->queue_ids[i], U_PLAIN, ID_MAX);
		}
		TRY(fld_end(b, &f));
	}
	if (g->file) {
		TRY(annot_begin(b, "file"));
		TRY(json_untrusted(b, g->file, 1024));
	}
	TRY(mt_buf_puts(b, "},\"startsAt\":"));
	TRY(json_time(b, g->first_seen));
	if (g->event == MT_GROUP_RESOLVED) {
		/* A time in the past resolves the alert at once. */
		TRY(mt_buf_puts(b, ",\"endsAt\":"));
		TRY(json_time(b, g->last_seen));
	}
	return mt_buf_puts(b, "}]");
}

/* ---- Dispatch -------------------------------------------------------- */

struct format {
	const char *name;
	int (*render)(struct mt_buf *b, struct ctx *c);
};

static const struct format formats[MT_PAYLOAD__COUNT] = {
	[MT_PAYLOAD_JSON] = { "json", render_json },
	[MT_PAYLOAD_SLACK] = { "slack", render_slack },
	[MT_PAYLOAD_MATTERMOST] = { "mattermost", render_mattermost },
	[MT_PAYLOAD_TEAMS] = { "teams", render_teams },
	[MT_PAYLOAD_DISCORD] = { "discord", render_discord },
	[MT_PAYLOAD_ALERTMANAGER] = { "alertmanager", render_alertmanager },
};

/* Limits on the whole payload that no single text's budget can keep. */
static bool
fits(enum mt_payload_format f, const struct mt_buf *b, size_t start, const struct ctx *c)
{
	if (f == MT_PAYLOAD_TEAMS)
		return b->len - start <= MT_PAYLOAD_TEAMS_MAX;
	if (f == MT_PAYLOAD_DISCORD)
		return c->embed_units <= DISCORD_TOTAL;
	return true;
}

int
mt_payload_render(struct mt_buf *out, enum mt_payload_format f, const struct mt_alert_group *g)
{
	size_t start = out->len;

	if ((unsigned)f >= MT_PAYLOAD__COUNT || g == NULL || g->sig == NULL || g->sig->id == NULL)
		return -EINVAL;
	/*
	 * Render, and if the result is over a limit, render again with less
	 * log text: a payload the receiver rejects helps nobody.
	 */
	for (unsigned level = 0; level <= LEVEL_MAX; level++) {
		struct ctx c = {
			.g = g,
			.s = g->sig,
			.w = g->locale == MT_LOCALE_ZH ? &words_zh : &words_en,
			.level = level,
		};
		int r = formats[f].render(out, &c);

		if (r == 0 && fits(f, out, start, &c))
			return 0;
		out->len = start; /* back to where it was */
		out->data[start] = '\0';
		if (r < 0 && r != -ENOBUFS)
			return r;
	}
	return -ENOBUFS;
}

int
mt_payload_format_parse(const char *s, enum mt_payload_format *ret)
{
	for (size_t i = 0; s != NULL && i < MT_PAYLOAD__COUNT; i++) {
		if (strcmp(s, formats[i].name) == 0) {
			*ret = (enum mt_payload_format)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *
mt_payload_format_name(enum mt_payload_format f)
{
	return (unsigned)f < MT_PAYLOAD__COUNT ? formats[f].name : "unknown";
}

const char *
mt_payload_content_type(enum mt_payload_format f)
{
	(void)f; /* every receiver takes JSON; kept per format for one that will not */
	return "application/json";
}
