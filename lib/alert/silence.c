/* silence - silences and maintenance windows: which alerts the sinks skip, and when. */
#include "alert/silence.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "util/json.h"
#include "util/xalloc.h"
#include "util/ydoc.h"

static const char *const kind_names[] = { "signature", "category", "match" };

const char *
mt_silence_kind_name(enum mt_silence_kind k)
{
	return (unsigned)k < sizeof(kind_names) / sizeof(kind_names[0]) ? kind_names[k] : "?";
}

void
mt_silences_init(struct mt_silences *s)
{
	memset(s, 0, sizeof(*s));
}

void
mt_silences_fini(struct mt_silences *s)
{
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static bool
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

bool
mt_silence_key_valid(const char *key)
{
	if (strcmp(key, "recipient_domain") == 0)
		return true;
	for (int f = 0; f < MT_F__COUNT; f++)
		if (strcmp(key, mt_field_name((enum mt_field)f)) == 0)
			return true;
	return false;
}

int
mt_silence_check(const struct mt_silence *sl, char *why, size_t why_size)
{
	const char *msg = NULL;
	size_t idlen = strnlen(sl->id, sizeof(sl->id));

	if (idlen == 0 || idlen > MT_SILENCE_ID_MAX || strspn(sl->id, "0123456789abcdef") != idlen)
		msg = "the id must be 1 to 32 lowercase hex digits";
	else if ((unsigned)sl->kind > MT_SILENCE_MATCH)
		msg = "unknown kind";
	else if (sl->value[0] == '\0' || !printable(sl->value))
		msg = "the value must be printable and not empty";
	else if (sl->kind == MT_SILENCE_MATCH && !mt_silence_key_valid(sl->key))
		msg = "unknown match key (a parsed field such as host, relay_host, client_ip, "
		      "recipient, or recipient_domain)";
	else if (!printable(sl->comment) || !printable(sl->created_by))
		msg = "the comment must be printable";
	else if (!isfinite(sl->starts) || !isfinite(sl->ends) || sl->starts < 0 ||
		 sl->ends < sl->starts)
		msg = "the end must not come before the start";
	if (msg == NULL)
		return 0;
	if (why_size > 0) {
		size_t n = strnlen(msg, why_size - 1);

		memcpy(why, msg, n);
		why[n] = '\0';
	}
	return -EINVAL;
}

int
mt_silences_add(struct mt_silences *s, const struct mt_silence *sl)
{
	char why[160];

	if (mt_silence_check(sl, why, sizeof(why)) < 0)
		return -EINVAL;
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].id, sl->id) == 0)
			return -EEXIST;
	if (s->n >= MT_SILENCE_MAX)
		return -ENOSPC;
	s->v = mt_xreallocarray(s->v, s->n + 1, sizeof(*s->v));
	s->v[s->n++] = *sl;
	return 0;
}

int
mt_silences_expire(struct mt_silences *s, const char *id, double now)
{
	for (size_t i = 0; i < s->n; i++) {
		if (strcmp(s->v[i].id, id) != 0)
			continue;
		if (s->v[i].ends > now)
			s->v[i].ends = now < s->v[i].starts ? s->v[i].starts : now;
		return 0;
	}
	return -ENOENT;
}

size_t
mt_silences_prune(struct mt_silences *s, double now, double keep)
{
	size_t j = 0, before = s->n;

	for (size_t i = 0; i < s->n; i++)
		if (s->v[i].ends + keep >= now)
			s->v[j++] = s->v[i];
	s->n = j;
	return before - j;
}

bool
mt_silence_active(const struct mt_silence *sl, double now)
{
	return sl->starts <= now && now < sl->ends;
}

/* The recipient's domain: after the last '@', without a closing '>'. */
static bool
recipient_domain(const struct mt_logrec *rec, char *dst, size_t size)
{
	const struct mt_view *r = &rec->f[MT_F_RECIPIENT];
	const char *at = r->len ? memrchr(r->p, '@', r->len) : NULL;
	size_t n;

	if (at == NULL)
		return false;
	n = r->len - (size_t)(at + 1 - r->p);
	if (n > 0 && at[n] == '>')
		n--;
	if (n == 0 || n >= size)
		return false;
	memcpy(dst, at + 1, n);
	dst[n] = '\0';
	return true;
}

static bool
field_matches(const struct mt_silence *sl, const struct mt_alert *a)
{
	char val[MT_ALERT_FIELD_MAX + 1];

	if (a->rec == NULL)
		return false;
	if (strcmp(sl->key, "recipient_domain") == 0) {
		if (!recipient_domain(a->rec, val, sizeof(val)))
			return false;
	} else {
		int f;

		for (f = 0; f < MT_F__COUNT; f++)
			if (strcmp(sl->key, mt_field_name((enum mt_field)f)) == 0)
				break;
		if (f == MT_F__COUNT)
			return false;
		const struct mt_view *v = &a->rec->f[f];

		/* Absent fields never match, not even "*"; NULs (untrusted) end the value. */
		if (v->len == 0 || v->len >= sizeof(val))
			return false;
		memcpy(val, v->p, v->len);
		val[v->len] = '\0';
	}
	return fnmatch(sl->value, val, FNM_CASEFOLD) == 0;
}

const struct mt_silence *
mt_silences_match(const struct mt_silences *s, const struct mt_alert *a, double now)
{
	const struct mt_signature *sig = a->match->sig;

	for (size_t i = 0; i < s->n; i++) {
		const struct mt_silence *sl = &s->v[i];

		if (!mt_silence_active(sl, now))
			continue;
		switch (sl->kind) {
		case MT_SILENCE_SIGNATURE:
			if (strcmp(sl->value, sig->id) == 0)
				return sl;
			break;
		case MT_SILENCE_CATEGORY:
			if (sig->category != NULL && strcmp(sl->value, sig->category) == 0)
				return sl;
			break;
		case MT_SILENCE_MATCH:
			if (field_matches(sl, a))
				return sl;
			break;
		}
	}
	return NULL;
}

/* --- the file ---------------------------------------------------------- */

static int
put_num(struct mt_buf *b, double v)
{
	return mt_buf_printf(b, "%.0f", floor(v));
}

int
mt_silences_render(struct mt_buf *out, const struct mt_silences *s)
{
	int r = mt_buf_puts(out, "{\"silences\":[");

	for (size_t i = 0; i < s->n && r == 0; i++) {
		const struct mt_silence *sl = &s->v[i];
		bool first = true;

		r |= mt_buf_puts(out, i ? ",\n{" : "\n{");
		r |= mt_json_key(out, &first, "id");
		r |= mt_json_cstr(out, sl->id);
		r |= mt_json_key(out, &first, "kind");
		r |= mt_json_cstr(out, mt_silence_kind_name(sl->kind));
		if (sl->kind == MT_SILENCE_MATCH) {
			r |= mt_json_key(out, &first, "key");
			r |= mt_json_cstr(out, sl->key);
		}
		r |= mt_json_key(out, &first, "value");
		r |= mt_json_cstr(out, sl->value);
		r |= mt_json_key(out, &first, "starts");
		r |= put_num(out, sl->starts);
		r |= mt_json_key(out, &first, "ends");
		r |= put_num(out, sl->ends);
		r |= mt_json_key(out, &first, "comment");
		r |= mt_json_cstr(out, sl->comment);
		r |= mt_json_key(out, &first, "created_by");
		r |= mt_json_cstr(out, sl->created_by);
		r |= mt_buf_putc(out, '}');
	}
	r |= mt_buf_puts(out, "\n]}\n");
	return r < 0 ? -ENOBUFS : 0;
}

__attribute__((format(printf, 4, 5))) static void
bad(struct mt_diag *d, const char *name, const struct mt_ynode *n, const char *fmt, ...)
{
	char msg[300];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mt_diag_add(d, MT_DIAG_ERROR, name, n ? n->line : 0, "%s", msg);
}

static bool
get_str(struct mt_diag *d, const char *name, const struct mt_ynode *item, const char *key,
	char *dst, size_t size, bool required)
{
	const struct mt_ynode *n = mt_ynode_get(item, key);

	dst[0] = '\0';
	if (n == NULL || mt_ynode_is_null(n)) {
		if (required)
			bad(d, name, item, "silence: \"%s\" is missing", key);
		return !required;
	}
	if (n->type != MT_Y_SCALAR || n->len >= size || strlen(n->str) != n->len) {
		bad(d, name, n, "silence: \"%s\" must be a string of at most %zu bytes", key,
		    size - 1);
		return false;
	}
	memcpy(dst, n->str, n->len + 1);
	return true;
}

static bool
get_time(struct mt_diag *d, const char *name, const struct mt_ynode *item, const char *key,
	 double *ret)
{
	const struct mt_ynode *n = mt_ynode_get(item, key);

	if (n == NULL || mt_ynode_double(n, ret) < 0) {
		bad(d, name, n ? n : item, "silence: \"%s\" must be a number of Unix seconds", key);
		return false;
	}
	return true;
}

static bool
parse_one(struct mt_diag *d, const char *name, const struct mt_ynode *item, struct mt_silence *sl)
{
	char kind[16], why[160];
	bool ok = true;

	memset(sl, 0, sizeof(*sl));
	if (item->type != MT_Y_MAP) {
		bad(d, name, item, "silence: each item must be a mapping");
		return false;
	}
	ok &= get_str(d, name, item, "id", sl->id, sizeof(sl->id), true);
	ok &= get_str(d, name, item, "kind", kind, sizeof(kind), true);
	ok &= get_str(d, name, item, "key", sl->key, sizeof(sl->key), false);
	ok &= get_str(d, name, item, "value", sl->value, sizeof(sl->value), true);
	ok &= get_str(d, name, item, "comment", sl->comment, sizeof(sl->comment), false);
	ok &= get_str(d, name, item, "created_by", sl->created_by, sizeof(sl->created_by), false);
	ok &= get_time(d, name, item, "starts", &sl->starts);
	ok &= get_time(d, name, item, "ends", &sl->ends);
	if (!ok)
		return false;
	for (sl->kind = MT_SILENCE_SIGNATURE; sl->kind <= MT_SILENCE_MATCH; sl->kind++)
		if (strcmp(kind, kind_names[sl->kind]) == 0)
			break;
	if (sl->kind > MT_SILENCE_MATCH) {
		bad(d, name, item, "silence %s: kind must be signature, category or match", sl->id);
		return false;
	}
	if (mt_silence_check(sl, why, sizeof(why)) < 0) {
		bad(d, name, item, "silence %s: %s", sl->id, why);
		return false;
	}
	return true;
}

int
mt_silences_parse(const char *name, const char *p, size_t len, struct mt_diag *d,
		  struct mt_silences *ret)
{
	struct mt_silences s;
	struct mt_ydoc *doc;
	const struct mt_ynode *list;
	size_t errors = d->errors;

	if (mt_ydoc_parse(name, p, len, d, &doc) < 0)
		return -EINVAL;
	list = mt_ynode_get(mt_ydoc_root(doc), "silences");
	if (list == NULL || list->type != MT_Y_SEQ) {
		bad(d, name, mt_ydoc_root(doc), "expected {\"silences\": [...]}");
		doc = mt_ydoc_free(doc);
		return -EINVAL;
	}
	mt_silences_init(&s);
	for (size_t i = 0; i < list->n; i++) {
		struct mt_silence sl;
		int r;

		if (!parse_one(d, name, list->items[i], &sl))
			continue;
		r = mt_silences_add(&s, &sl);
		if (r == -EEXIST)
			bad(d, name, list->items[i], "silence %s: the id is used twice", sl.id);
		else if (r == -ENOSPC)
			bad(d, name, list->items[i], "more than %d silences", MT_SILENCE_MAX);
	}
	doc = mt_ydoc_free(doc);
	if (d->errors != errors) {
		mt_silences_fini(&s);
		return -EINVAL;
	}
	mt_silences_fini(ret);
	*ret = s;
	return 0;
}

/* --- maintenance windows ------------------------------------------------- */

int
mt_window_parse_time(const char *s, int *ret_minutes)
{
	int h, m;

	if (strlen(s) != 5 || s[2] != ':' || strspn(s, "0123456789:") != 5)
		return -EINVAL;
	h = (s[0] - '0') * 10 + (s[1] - '0');
	m = (s[3] - '0') * 10 + (s[4] - '0');
	if (h > 23 || m > 59)
		return -EINVAL;
	*ret_minutes = h * 60 + m;
	return 0;
}

int
mt_window_parse_day(const char *s)
{
	static const char *const days[] = { "sunday",	"monday", "tuesday", "wednesday",
					    "thursday", "friday", "saturday" };

	for (int i = 0; i < 7; i++)
		if (strcasecmp(s, days[i]) == 0 ||
		    (strlen(s) == 3 && strncasecmp(s, days[i], 3) == 0))
			return i;
	return -EINVAL;
}

bool
mt_window_active(const struct mt_window *w, int wday, int minute)
{
	int prev = (wday + 6) % 7;

	if (w->end > w->start)
		return (w->days & (1u << wday)) && minute >= w->start && minute < w->end;
	/* Past midnight: from start on the day it starts, until end on the next. */
	return ((w->days & (1u << wday)) && minute >= w->start) ||
	       ((w->days & (1u << prev)) && minute < w->end);
}
