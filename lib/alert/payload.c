/* payload - what every format shares: text cleaning and capping, common pieces, the dispatcher. */
#include "alert/payload.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "alert/payload_internal.h"
#include "util/json.h"

#define ZWSP	 "\xe2\x80\x8b" /* U+200B, breaks mentions and links without showing */
#define ELLIPSIS "\xe2\x80\xa6"
#define TICK	 "\xcb\x8b" /* U+02CB, a backtick look-alike that ends no code span */

#define DISCORD_TOTAL 6000 /* Discord's limit on all text of one embed */

static const char hexdig[] = "0123456789abcdef";

static const struct pl_words words_en = {
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
	"Fix",
	"If",
	"Cause",
	"Also",
	"more",
	"Other fixes",
	"Root cause, every fix and dead end:",
	"quiet since",
	"in all",
	"alerts",
	"at once",
	"Run",
	"Root cause, other fixes, don'ts",
	"Seen by mtalert on",
	"verified",
	"estimate",
	"message",
	"messages",
	"destination",
	"destinations",
	"repeat",
	"repeats",
};

static const struct pl_words words_zh = {
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
	"修复",
	"条件",
	"原因",
	"另可",
	"更多",
	"其他修复",
	"完整原因、全部修复和无效做法：",
	"恢复于",
	"共",
	"条告警",
	"同时发生",
	"执行",
	"完整原因、其他修复、无效做法",
	"上报主机",
	"已验证",
	"估计",
	"封邮件",
	"封邮件",
	"个目的地",
	"个目的地",
	"次重复",
	"次重复",
};

/* A budget at the current shrink level. */
size_t
pl_lim(const struct pl_ctx *c, size_t full)
{
	size_t v = full >> c->level, floor = full < 64 ? full : 64;

	return v < floor ? floor : v;
}

/* Example lines shown in a chat message at the current level (newest ones). */
size_t
pl_nexamples(const struct pl_ctx *c, size_t chat_max)
{
	static const size_t by_level[LEVEL_MAX + 1] = { 3, 2, 1, 1, 0, 0 };
	size_t n = c->g->examples ? c->g->nexamples : 0, want = by_level[c->level];

	if (want > chat_max)
		want = chat_max;
	return n < want ? n : want;
}

const char *
pl_event_word(const struct pl_ctx *c)
{
	unsigned e = (unsigned)c->g->event;

	return e < 5 ? c->w->event[e] : "Alert";
}

const char *
pl_emoji(const struct pl_ctx *c)
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

unsigned
pl_color(const struct pl_ctx *c)
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
size_t
pl_utf8_cut(const char *p, size_t len, size_t max)
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

void
pl_fld_init(struct pl_fld *f, size_t max)
{
	/* A unit is at most 3 bytes (4 bytes are 2 units): the cap is never hit. */
	mt_buf_init(&f->b, max * 3 + 16);
	f->units = 0;
	f->max = max;
	f->reserve = 0;
	f->full = false;
}

static void
fld_unit(struct pl_fld *f, const char *s, size_t n, size_t units)
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
bool
pl_fld_open(struct pl_fld *f, const char *open, size_t close_units)
{
	f->reserve += close_units; /* the opening fits only with its closing */
	fld_unit(f, open, strlen(open), strlen(open));
	if (f->full)
		f->reserve -= close_units;
	return !f->full;
}

void
pl_fld_close(struct pl_fld *f, const char *close, size_t close_units)
{
	f->reserve -= close_units;
	(void)mt_buf_append(&f->b, close, strlen(close));
	f->units += close_units;
}

/* @everyone, @here, @channel, @all: broken wherever they stand. */
static bool
broadcast(const unsigned char *p, const unsigned char *end)
{
	static const char *const words[] = { "everyone", "here", "channel", "all" };

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t n = strlen(words[i]);

		if ((size_t)(end - p) >= n && strncasecmp((const char *)p, words[i], n) == 0)
			return true;
	}
	return false;
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

		/*
		 * A mention starts a word (@here, @channel, @everyone, @user);
		 * the @ of an address follows its local part and pings nobody,
		 * so it stays whole and the address copies as it is.
		 */
		bool in_address = !word_start || prev == '.' || prev == '_' || prev == '-' ||
				  prev == '+' || prev == '%' || prev == '=';

		if (*p == '@' && (!in_address || broadcast(p + 1, end)))
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
fld_put(struct pl_fld *f, const char *s, size_t len, unsigned flags)
{
	const unsigned char *p = (const unsigned char *)s, *end;
	unsigned prev = ' ';
	bool cut = false;

	if (s == NULL)
		return;
	if ((flags & T_CLEAN) && len > MT_GROUP_TEXT_MAX) {
		len = pl_utf8_cut(s, len, MT_GROUP_TEXT_MAX);
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

void
pl_fld_puts(struct pl_fld *f, const char *s, unsigned flags)
{
	if (s != NULL)
		fld_put(f, s, strlen(s), flags);
}

/* Add a piece of at most max units, without ending the whole text when it is cut. */
void
pl_fld_puts_max(struct pl_fld *f, const char *s, unsigned flags, size_t max)
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

__attribute__((format(printf, 3, 4))) void
pl_fld_printf(struct pl_fld *f, unsigned flags, const char *fmt, ...)
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
int
pl_fld_drop(struct pl_fld *f, int r)
{
	mt_buf_fini(&f->b);
	return r;
}

/* Write the text as a JSON string and release it. */
int
pl_fld_end(struct mt_buf *b, struct pl_fld *f)
{
	int r = mt_json_str(b, f->b.data, f->b.len);

	mt_buf_fini(&f->b);
	return r;
}

/*
 * Unless r (the result of writing what goes before the text) is an error,
 * write f as a JSON string, then after.  f is released either way.
 */
int
pl_fld_emit(struct mt_buf *b, int r, struct pl_fld *f, const char *after)
{
	if (r < 0)
		return pl_fld_drop(f, r);
	if ((r = pl_fld_end(b, f)) < 0)
		return r;
	return mt_buf_puts(b, after);
}

/* A {..."title":title,"value":f} object; open is its start up to the title's key. */
int
pl_json_titled(struct mt_buf *b, bool *first, const char *open, const char *title, struct pl_fld *f)
{
	int r = *first ? 0 : mt_buf_putc(b, ',');

	*first = false;
	if (r == 0)
		r = mt_buf_puts(b, open);
	if (r == 0)
		r = pl_json_trusted(b, title, 256);
	if (r == 0)
		r = mt_buf_puts(b, ",\"value\":");
	return pl_fld_emit(b, r, f, "}");
}

/* A JSON string of untrusted text in a plain context (Alertmanager, Teams runs). */
int
pl_json_untrusted(struct mt_buf *b, const char *s, size_t max)
{
	struct pl_fld f;

	pl_fld_init(&f, max);
	pl_fld_puts(&f, s, U_PLAIN);
	return pl_fld_end(b, &f);
}

int
pl_json_trusted(struct mt_buf *b, const char *s, size_t max)
{
	struct pl_fld f;

	pl_fld_init(&f, max);
	pl_fld_puts(&f, s, 0);
	return pl_fld_end(b, &f);
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

int
pl_json_time(struct mt_buf *b, double t)
{
	int r;

	TRY(mt_buf_putc(b, '"'));
	TRY(put_time(b, t, true));
	return mt_buf_putc(b, '"');
}

/* "2026-03-03 10:15:42 – 10:20:03 UTC": the date once when both share it. */
void
pl_fld_seen(struct pl_fld *f, const struct pl_ctx *c)
{
	struct mt_buf a, z;

	mt_buf_init(&a, 64);
	mt_buf_init(&z, 64);
	(void)put_time(&a, c->g->first_seen, false);
	(void)put_time(&z, c->g->last_seen, false);
	if (strcmp(a.data, z.data) == 0) {
		pl_fld_puts(f, a.data, 0);
	} else {
		a.len -= strlen(" UTC");
		a.data[a.len] = '\0';
		pl_fld_puts(f, a.data, 0);
		pl_fld_puts(f, " \xe2\x80\x93 ", 0); /* en dash */
		pl_fld_puts(f,
			    a.len >= 10 && strncmp(a.data, z.data, 10) == 0 ? z.data + 11 : z.data,
			    0);
	}
	mt_buf_fini(&a);
	mt_buf_fini(&z);
}

void
pl_fld_count(struct pl_fld *f, const struct pl_ctx *c)
{
	const struct mt_alert_group *g = c->g;

	pl_fld_printf(f, 0, "%llu", (unsigned long long)g->count_total);
	if (g->count_new > 0 && g->count_new != g->count_total)
		pl_fld_printf(f, 0, " (+%llu %s)", (unsigned long long)g->count_new, c->w->new_);
	pl_fld_affected(f, c);
}

void
pl_fld_affected(struct pl_fld *f, const struct pl_ctx *c)
{
	const struct mt_alert_group *g = c->g;
	const struct {
		uint64_t n;
		const char *one, *many;
	} v[] = {
		{ g->messages, c->w->message, c->w->messages },
		{ g->destinations, c->w->destination, c->w->destinations },
		{ g->repeats, c->w->repeat, c->w->repeats },
	};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (v[i].n > 0)
			pl_fld_printf(f, 0, ", %llu %s", (unsigned long long)v[i].n,
				      v[i].n == 1 ? v[i].one : v[i].many);
}

unsigned
pl_pct(double rate)
{
	if (!(rate > 0))
		return 0;
	return rate >= 1 ? 100 : (unsigned)(rate * 100 + 0.5);
}

void
pl_fld_rate(struct pl_fld *f, const struct pl_ctx *c, const struct mt_workaround *w)
{
	/*
	 * A rate the farm has not verified is the author's estimate (signatures/
	 * README.md, "How sure a record is"); the reader is told which it is.
	 */
	pl_fld_printf(f, 0, " (%u%%, %s)", pl_pct(w->success_rate),
		      w->nverified_by > 0 ? c->w->verified : c->w->estimate);
}

/* `a` `b` `c`: queue ids as code spans. */
void
pl_fld_ids(struct pl_fld *f, const struct pl_ctx *c, unsigned uflags)
{
	const struct mt_alert_group *g = c->g;
	size_t n = g->queue_ids ? g->nqueue_ids : 0;

	for (size_t i = 0; i < n && i < MT_GROUP_IDS_MAX; i++) {
		if (g->queue_ids[i] == NULL)
			continue;
		if (!pl_fld_open(f, i ? " `" : "`", 1))
			return;
		pl_fld_puts_max(f, g->queue_ids[i], uflags, pl_lim(c, ID_MAX));
		pl_fld_close(f, "`", 1);
	}
}

/* A code span of untrusted text, capped at max units. */
void
pl_fld_code(struct pl_fld *f, const char *s, unsigned uflags, size_t max)
{
	if (s == NULL || !pl_fld_open(f, "`", 1))
		return;
	pl_fld_puts_max(f, s, uflags, max);
	pl_fld_close(f, "`", 1);
}

/* The newest example lines, one per line, in a fenced code block. */
void
pl_fld_examples(struct pl_fld *f, const struct pl_ctx *c, unsigned uflags, size_t nmax)
{
	const struct mt_alert_group *g = c->g;
	size_t n = pl_nexamples(c, nmax);

	if (!pl_fld_open(f, "```\n", 4))
		return;
	for (size_t i = g->nexamples - n; i < g->nexamples; i++) {
		if (i > g->nexamples - n)
			pl_fld_puts(f, "\n", 0);
		pl_fld_puts_max(f, g->examples[i] ? g->examples[i] : "", uflags,
				pl_lim(c, EXAMPLE_MAX));
	}
	pl_fld_close(f, "\n```", 4);
}

/* "name: `value`" lines for the parsed fields, the group key left out. */
void
pl_fld_fields(struct pl_fld *f, const struct pl_ctx *c, unsigned uflags, bool code)
{
	const struct mt_alert_group *g = c->g;
	size_t shown = 0;

	for (size_t i = 0; g->fields && i < g->nfields && shown < FIELDS_MAX; i++) {
		const struct mt_group_field *fd = &g->fields[i];

		if (fd->name == NULL || fd->value == NULL ||
		    (g->key_name && strcmp(fd->name, g->key_name) == 0))
			continue;
		if (shown++)
			pl_fld_puts(f, "\n", 0);
		pl_fld_puts_max(f, fd->name, uflags & ~T_CODE, 64);
		pl_fld_puts(f, ": ", 0);
		if (code)
			pl_fld_code(f, fd->value, uflags, pl_lim(c, 200));
		else
			pl_fld_puts_max(f, fd->value, uflags, pl_lim(c, 200));
	}
}

size_t
pl_nfields_shown(const struct pl_ctx *c)
{
	const struct mt_alert_group *g = c->g;
	size_t n = 0;

	for (size_t i = 0; g->fields && i < g->nfields; i++)
		if (g->fields[i].name && g->fields[i].value &&
		    !(g->key_name && strcmp(g->fields[i].name, g->key_name) == 0))
			n++;
	return n;
}

bool
pl_has_ids(const struct mt_alert_group *g)
{
	return g->queue_ids && g->nqueue_ids > 0;
}

bool
pl_has_key(const struct mt_alert_group *g)
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
safe_url(const char *u, struct mt_buf *ret, bool slack)
{
	static const char safe[] = "-._~:/?#@!$'*+,;=%";

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

bool
pl_doc_url(const struct pl_ctx *c, struct mt_buf *ret, bool slack)
{
	return safe_url(c->s->official_doc_url, ret, slack);
}

/* The fix's own documentation (its first source), else the signature's; made safe the same way. */
bool
pl_fix_url(const struct pl_ctx *c, struct mt_buf *ret)
{
	const struct mt_workaround *w = pl_fix(c);

	if (w != NULL && w->nsources > 0 && safe_url(w->sources[0], ret, false))
		return true;
	return pl_doc_url(c, ret, false);
}

/* Unless r is an error, write url (from pl_doc_url()) as a JSON string; url is released either way. */
int
pl_json_url(struct mt_buf *b, int r, struct mt_buf *url)
{
	if (r == 0)
		r = mt_json_str(b, url->data, url->len);
	mt_buf_fini(url);
	return r;
}

/* ,"key":"URL" for the documentation link (see pl_doc_url()), or nothing without one. */
int
pl_json_doc_url(struct mt_buf *b, const struct pl_ctx *c, const char *key)
{
	struct mt_buf url;

	if (!pl_doc_url(c, &url, false))
		return 0;
	return pl_json_url(b, mt_buf_printf(b, ",\"%s\":", key), &url);
}

/* "🟡 New: title" */
void
pl_fld_headline(struct pl_fld *f, const struct pl_ctx *c, unsigned tflags)
{
	pl_fld_puts(f, pl_emoji(c), 0);
	pl_fld_puts(f, " ", 0);
	pl_fld_puts(f, pl_event_word(c), 0);
	pl_fld_puts(f, ": ", 0);
	pl_fld_puts(f, mt_sig_title(c->s, c->g->locale), tflags);
}

/* "mtalert · signature id · log file", the file capped at file_max units. */
void
pl_fld_footer(struct pl_fld *f, const struct pl_ctx *c, size_t file_max)
{
	pl_fld_puts(f, "mtalert \xc2\xb7 ", 0);
	pl_fld_puts(f, c->s->id, 0);
	if (c->g->file) {
		pl_fld_puts(f, " \xc2\xb7 ", 0);
		pl_fld_puts_max(f, c->g->file, U_PLAIN, file_max);
	}
}

/* ---- The message a person reads ------------------------------------- */

/*
 * The fix shown first: the best ranked workaround.  Conditions are prose
 * ("The refusing server is a Postfix you administer"), which nothing here
 * can decide, so the first one is shown with its condition under it.
 */
const struct mt_workaround *
pl_fix(const struct pl_ctx *c)
{
	return c->s->nworkarounds > 0 ? &c->s->workarounds[0] : NULL;
}

static bool
abbreviation(const char *start, const char *dot)
{
	static const char *const abbr[] = { "e.g",    "i.e",  "etc", "vs", "cf", "No",
					    "approx", "incl", "Fig", "St", "Mr", "Dr" };
	const char *w = dot;
	size_t n;

	if (dot > start && (dot[-1] == ')' || dot[-1] == '"' || dot[-1] == '\''))
		return false; /* "(RFC 5321 section 4.2.3)." ends a sentence */
	while (w > start && w[-1] != ' ' && w[-1] != '(' && w[-1] != '\n')
		w--;
	n = (size_t)(dot - w);
	if (n <= 1)
		return true; /* "a." "3." an initial or an item number */
	for (size_t i = 0; i < sizeof(abbr) / sizeof(abbr[0]); i++)
		if (strlen(abbr[i]) == n && strncmp(w, abbr[i], n) == 0)
			return true;
	return memchr(w, '.', n) != NULL; /* "e.g." written another way, a host name */
}

/*
 * Bytes of the first sentence of s: through the first '.', '!' or '?' that
 * ends a sentence (outside parentheses, followed by a space and a capital
 * letter, a digit, a quote or a parenthesis, not ending an abbreviation), or the first '。', or all
 * of s.
 */
size_t
pl_sentence_len(const char *s)
{
	int depth = 0;

	if (s == NULL)
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')' && depth > 0)
			depth--;
		else if (strncmp(p, "\xe3\x80\x82", 3) == 0)
			return (size_t)(p - s) + 3;
		else if ((*p == '.' || *p == '!' || *p == '?') && depth == 0 &&
			 (p[1] == ' ' || p[1] == '\n') &&
			 ((p[2] >= 'A' && p[2] <= 'Z') || (p[2] >= '0' && p[2] <= '9') ||
			  p[2] == '"' || p[2] == '(') &&
			 !(*p == '.' && abbreviation(s, p)))
			return (size_t)(p - s) + 1;
	}
	return strlen(s);
}

/* The host the log line names, else the one mtalert runs on (NULL: neither). */
static const char *
where(const struct mt_alert_group *g)
{
	return g->log_host && *g->log_host ? g->log_host : g->hostname;
}

/* " · relay `mx.example.net`": a value of log text, in code where uflags say so. */
static void
fld_value(struct pl_fld *f, const struct pl_ctx *c, const char *name, const char *v,
	  unsigned uflags)
{
	pl_fld_puts(f, " \xc2\xb7 ", 0);
	if (name) {
		pl_fld_puts_max(f, name, uflags & ~T_CODE, 64);
		pl_fld_puts(f, " ", 0);
	}
	if (uflags & T_CODE)
		pl_fld_code(f, v, uflags, pl_lim(c, 200));
	else
		pl_fld_puts_max(f, v, uflags, pl_lim(c, 200));
}

/* "🟠 Title · mx1 · relay `mx.example.net` · 42 (+7 new)": what, where, how many. */
void
pl_fld_line1(struct pl_fld *f, const struct pl_ctx *c, unsigned tflags, unsigned uflags)
{
	const struct mt_alert_group *g = c->g;

	pl_fld_puts(f, pl_emoji(c), 0);
	pl_fld_puts(f, " ", 0);
	if (g->event != MT_GROUP_FIRST) {
		pl_fld_puts(f, pl_event_word(c), 0);
		pl_fld_puts(f, ": ", 0);
	}
	pl_fld_puts(f, mt_sig_title(c->s, g->locale), tflags);
	if (where(g))
		fld_value(f, c, NULL, where(g), uflags);
	if (pl_has_key(g))
		fld_value(f, c, g->key_name, g->key_value, uflags);
	pl_fld_puts(f, " \xc2\xb7 ", 0);
	pl_fld_count(f, c);
}

/* "Fix: action (85%)", then "If: condition" and, with how, its command. */
void
pl_fld_fix(struct pl_fld *f, const struct pl_ctx *c, unsigned tflags, bool how)
{
	const struct mt_workaround *w = pl_fix(c);

	if (w == NULL)
		return;
	pl_fld_puts_max(f, mt_workaround_action(w, c->g->locale), tflags, pl_lim(c, 600));
	pl_fld_rate(f, c, w);
	if (w->condition && *w->condition) {
		pl_fld_printf(f, 0, "\n%s: ", c->w->if_);
		pl_fld_puts_max(f, w->condition, tflags, pl_lim(c, 300));
	}
	if (how)
		pl_fld_how(f, c, tflags);
}

/* The fix's command as a fenced code block (catalog text, backticks made safe). */
void
pl_fld_how(struct pl_fld *f, const struct pl_ctx *c, unsigned tflags)
{
	const struct mt_workaround *w = pl_fix(c);

	if (w == NULL || w->how == NULL || !*w->how ||
	    !pl_fld_open(f, f->units > 0 ? "\n```\n" : "```\n", 4))
		return;
	pl_fld_puts_max(f, w->how, (tflags & T_SLACK) | T_CODE, pl_lim(c, 1500));
	pl_fld_close(f, "\n```", 4);
}

/* The root cause's first sentence. */
void
pl_fld_cause(struct pl_fld *f, const struct pl_ctx *c, unsigned tflags)
{
	const char *rc = mt_sig_root_cause(c->s, c->g->locale);
	size_t n = pl_sentence_len(rc);
	char *one;

	if (rc == NULL)
		return;
	one = strndup(rc, n);
	if (one == NULL)
		return;
	pl_fld_puts_max(f, one, tflags, pl_lim(c, 360));
	free(one);
}

/* "2. action (80%) — If: condition" for every workaround after the first. */
void
pl_fld_others(struct pl_fld *f, const struct pl_ctx *c, unsigned tflags)
{
	const struct mt_signature *s = c->s;

	for (size_t i = 1; i < s->nworkarounds; i++) {
		const struct mt_workaround *w = &s->workarounds[i];

		pl_fld_printf(f, 0, "%s%zu. ", i > 1 ? "\n" : "", i + 1);
		pl_fld_puts_max(f, mt_workaround_action(w, c->g->locale), tflags, pl_lim(c, 400));
		pl_fld_rate(f, c, w);
		if (w->condition && *w->condition) {
			pl_fld_printf(f, 0, " \xe2\x80\x94 %s: ", c->w->if_);
			pl_fld_puts_max(f, w->condition, tflags, pl_lim(c, 200));
		}
	}
}

/* "action (fails 95%): why" for every dead end. */
void
pl_fld_dead_ends(struct pl_fld *f, const struct pl_ctx *c, unsigned tflags)
{
	const struct mt_signature *s = c->s;

	for (size_t i = 0; i < s->ndead_ends; i++) {
		const struct mt_dead_end *e = &s->dead_ends[i];

		if (i)
			pl_fld_puts(f, "\n", 0);
		pl_fld_puts_max(f, e->action, tflags, pl_lim(c, 300));
		pl_fld_printf(f, 0, " (%s %u%%)", c->w->fails, pl_pct(e->fail_rate));
		if (e->why_fails && *e->why_fails) {
			size_t n = pl_sentence_len(e->why_fails);
			char *one = strndup(e->why_fails, n);

			pl_fld_puts(f, ": ", 0);
			pl_fld_puts_max(f, one, tflags, pl_lim(c, 300));
			free(one);
		}
	}
}

void
pl_fld_digest_entry_md(struct pl_fld *f, const struct pl_ctx *c, size_t i)
{
	if (c->g->event == MT_GROUP_RESOLVED) {
		pl_fld_resolved(f, c, 0, U_MD);
		return;
	}
	pl_fld_line1(f, c, 0, U_MD);
	if (pl_digest_repeat(c, i))
		return; /* the same error elsewhere: its fix is above */
	if (pl_fix(c) != NULL) {
		pl_fld_printf(f, 0, "\n**%s:** ", c->w->fix);
		pl_fld_puts_max(f, mt_workaround_action(pl_fix(c), c->g->locale), 0,
				pl_lim(c, 300));
	}
	pl_fld_puts(f, "\n", 0);
	pl_fld_show(f, c, 0);
}

/* "`mtalertd show ID`" as a code span. */
void
pl_fld_show(struct pl_fld *f, const struct pl_ctx *c, unsigned tflags)
{
	if (!pl_fld_open(f, "`", 1))
		return;
	pl_fld_puts(f, "mtalertd show ", 0);
	pl_fld_puts_max(f, c->s->id, (tflags & T_SLACK) | T_CODE, 200);
	pl_fld_close(f, "`", 1);
}

/*
 * Where the rest is not collapsible: each of the other fixes and the top
 * dead end trimmed to its action, and the command that shows everything.
 * bold: the chat's bold marker ("**", "*").
 */
void
pl_fld_more(struct pl_fld *f, const struct pl_ctx *c, unsigned tflags, const char *bold)
{
	const struct mt_signature *s = c->s;

	if (s->nworkarounds > 1) {
		pl_fld_printf(f, 0, "\n%s%s:%s ", bold, c->w->also, bold);
		pl_fld_puts_max(f, mt_workaround_action(&s->workarounds[1], c->g->locale), tflags,
				pl_lim(c, 300));
		pl_fld_rate(f, c, &s->workarounds[1]);
		if (s->nworkarounds > 2)
			pl_fld_printf(f, 0, " +%zu %s", s->nworkarounds - 2, c->w->more);
	}
	if (s->ndead_ends > 0) {
		pl_fld_printf(f, 0, "\n%s%s:%s ", bold, c->w->dont, bold);
		pl_fld_puts_max(f, s->dead_ends[0].action, tflags, pl_lim(c, 300));
		pl_fld_printf(f, 0, " (%s %u%%)", c->w->fails, pl_pct(s->dead_ends[0].fail_rate));
	}
	pl_fld_printf(f, 0, "\n%s ", c->w->show);
	pl_fld_show(f, c, tflags);
}

/* "✅ Resolved: Title · mx1 · relay `mx` · 42 in all, quiet since 10:20:03 UTC" */
void
pl_fld_resolved(struct pl_fld *f, const struct pl_ctx *c, unsigned tflags, unsigned uflags)
{
	const struct mt_alert_group *g = c->g;

	pl_fld_puts(f, pl_emoji(c), 0);
	pl_fld_printf(f, 0, " %s: ", pl_event_word(c));
	pl_fld_puts(f, mt_sig_title(c->s, g->locale), tflags);
	if (where(g))
		fld_value(f, c, NULL, where(g), uflags);
	if (pl_has_key(g))
		fld_value(f, c, g->key_name, g->key_value, uflags);
	pl_fld_puts(f, " \xc2\xb7 ", 0);
	pl_fld_resolved_tail(f, c);
}

/* "42 in all, quiet since 10:20:03 UTC" */
void
pl_fld_resolved_tail(struct pl_fld *f, const struct pl_ctx *c)
{
	struct mt_buf t;

	pl_fld_printf(f, 0, "%llu %s", (unsigned long long)c->g->count_total, c->w->in_all);
	pl_fld_affected(f, c);
	pl_fld_printf(f, 0, ", %s ", c->w->quiet);
	mt_buf_init(&t, 64);
	(void)put_time(&t, c->g->last_seen, false);
	pl_fld_puts(f, t.len > 11 ? t.data + 11 : t.data, 0); /* the time of day */
	mt_buf_fini(&t);
}

/* The most severe notification of a digest that is not a resolved notice (else the first). */
size_t
pl_digest_top(const struct pl_ctx *c)
{
	size_t top = 0;

	for (size_t i = 1; i < c->ngs; i++) {
		const struct mt_alert_group *g = c->gs[i], *t = c->gs[top];

		if (g->event != MT_GROUP_RESOLVED &&
		    (t->event == MT_GROUP_RESOLVED || g->severity > t->severity))
			top = i;
	}
	return top;
}

/* Whether an earlier notification of the digest has the same signature (its fix is shown once). */
bool
pl_digest_repeat(const struct pl_ctx *c, size_t i)
{
	for (size_t k = 0; k < i; k++)
		if (c->gs[k]->sig == c->gs[i]->sig && c->gs[k]->event != MT_GROUP_RESOLVED)
			return true;
	return false;
}

/* Point the context at the digest's i-th notification. */
void
pl_digest_select(struct pl_ctx *c, size_t i)
{
	c->g = c->gs[i];
	c->s = c->g->sig;
}

/* "🔴 3 alerts at once: 2 New, 1 Resolved" (emoji of the most severe). */
void
pl_fld_digest_head(struct pl_fld *f, const struct pl_ctx *c)
{
	struct pl_ctx top = *c;
	size_t by_ev[5] = { 0 };
	bool first = true;

	for (size_t i = 0; i < c->ngs; i++)
		if ((unsigned)c->gs[i]->event < 5)
			by_ev[c->gs[i]->event]++;
	top.g = c->gs[pl_digest_top(c)];
	pl_fld_puts(f, pl_emoji(&top), 0);
	pl_fld_printf(f, 0, " %zu %s %s: ", c->ngs, c->w->alerts, c->w->at_once);
	for (unsigned e = 0; e < 5; e++) {
		if (by_ev[e] == 0)
			continue;
		pl_fld_printf(f, 0, "%s%zu %s", first ? "" : ", ", by_ev[e], c->w->event[e]);
		first = false;
	}
}

/* ---- Dispatch -------------------------------------------------------- */

struct format {
	const char *name;
	int (*render)(struct mt_buf *b, struct pl_ctx *c);
	int (*digest)(struct mt_buf *b, struct pl_ctx *c); /* NULL: one body per notification */
};

static const struct format formats[MT_PAYLOAD__COUNT] = {
	[MT_PAYLOAD_JSON] = { "json", pl_render_json, NULL },
	[MT_PAYLOAD_SLACK] = { "slack", pl_render_slack, pl_digest_slack },
	[MT_PAYLOAD_MATTERMOST] = { "mattermost", pl_render_mattermost, pl_digest_mattermost },
	[MT_PAYLOAD_TEAMS] = { "teams", pl_render_teams, pl_digest_teams },
	[MT_PAYLOAD_DISCORD] = { "discord", pl_render_discord, pl_digest_discord },
	[MT_PAYLOAD_ALERTMANAGER] = { "alertmanager", pl_render_alertmanager, NULL },
};

/* Limits on the whole payload that no single text's budget can keep. */
static bool
fits(enum mt_payload_format f, const struct mt_buf *b, size_t start, const struct pl_ctx *c)
{
	if (f == MT_PAYLOAD_TEAMS)
		return b->len - start <= MT_PAYLOAD_TEAMS_MAX;
	if (f == MT_PAYLOAD_DISCORD)
		return c->embed_units <= DISCORD_TOTAL;
	return true;
}

static int
render(struct mt_buf *out, enum mt_payload_format f, const struct mt_alert_group *const *gs,
       size_t n)
{
	const struct mt_alert_group *g = gs[0];
	size_t start = out->len;

	/*
	 * Render, and if the result is over a limit, render again with less
	 * log text: a payload the receiver rejects helps nobody.
	 */
	for (unsigned level = 0; level <= LEVEL_MAX; level++) {
		struct pl_ctx c = {
			.g = g,
			.s = g->sig,
			.w = g->locale == MT_LOCALE_ZH ? &words_zh : &words_en,
			.level = level,
			.gs = n > 1 ? gs : NULL,
			.ngs = n > 1 ? n : 0,
		};
		int r = n > 1 ? formats[f].digest(out, &c) : formats[f].render(out, &c);

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
mt_payload_render(struct mt_buf *out, enum mt_payload_format f, const struct mt_alert_group *g)
{
	if ((unsigned)f >= MT_PAYLOAD__COUNT || g == NULL || g->sig == NULL || g->sig->id == NULL)
		return -EINVAL;
	return render(out, f, &g, 1);
}

bool
mt_payload_has_digest(enum mt_payload_format f)
{
	return (unsigned)f < MT_PAYLOAD__COUNT && formats[f].digest != NULL;
}

int
mt_payload_render_digest(struct mt_buf *out, enum mt_payload_format f,
			 const struct mt_alert_group *const *gs, size_t n)
{
	if (!mt_payload_has_digest(f) || gs == NULL || n < 2 || n > MT_PAYLOAD_DIGEST_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (gs[i] == NULL || gs[i]->sig == NULL || gs[i]->sig->id == NULL)
			return -EINVAL;
	return render(out, f, gs, n);
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
