/* alert - one alert as JSON or text, with the per-signature parts cached. */
#include "alert/alert.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util/json.h"
#include "util/xalloc.h"

const char *
mt_sig_title(const struct mt_signature *s, enum mt_locale l)
{
	/* The title may be mtalert's own; the translation is of `signature`. */
	return l == MT_LOCALE_ZH && s->signature_zh ? s->signature_zh : s->title;
}

const char *
mt_sig_root_cause(const struct mt_signature *s, enum mt_locale l)
{
	return l == MT_LOCALE_ZH && s->root_cause_zh ? s->root_cause_zh : s->root_cause;
}

const char *
mt_workaround_action(const struct mt_workaround *w, enum mt_locale l)
{
	return l == MT_LOCALE_ZH && w->action_zh ? w->action_zh : w->action;
}

enum mt_severity
mt_alert_severity(const struct mt_alert *a)
{
	return a->has_severity ? a->severity : a->match->sig->severity;
}

int
mt_locale_parse(const char *s, enum mt_locale *ret)
{
	if (strcmp(s, "en") == 0)
		*ret = MT_LOCALE_EN;
	else if (strcmp(s, "zh") == 0)
		*ret = MT_LOCALE_ZH;
	else
		return -EINVAL;
	return 0;
}

/* A JSON string of untrusted text, capped at max bytes on a character boundary. */
static int
json_capped(struct mt_buf *b, const char *p, size_t len, size_t max)
{
	if (len > max) {
		len = max;
		/* Do not cut inside a UTF-8 sequence: back up over continuation bytes. */
		while (len > 0 && ((unsigned char)p[len] & 0xc0) == 0x80 && max - len < 3)
			len--;
	}
	return mt_json_str(b, p, len);
}

static int
kv_str(struct mt_buf *b, bool *first, const char *key, const char *val)
{
	int r;

	if (val == NULL)
		return 0;
	if ((r = mt_json_key(b, first, key)) < 0)
		return r;
	return mt_json_cstr(b, val);
}

static int
kv_num(struct mt_buf *b, bool *first, const char *key, double v)
{
	int r;

	if (v < 0)
		return 0; /* absent */
	if ((r = mt_json_key(b, first, key)) < 0)
		return r;
	return mt_json_num(b, v);
}

/*
 * The part of the alert that depends only on the signature, the locale and
 * the severity: "id" ... "source_url", without braces.  It is most of the
 * alert's bytes, so callers that render many alerts cache it.
 */
static int
sig_part(struct mt_buf *b, const struct mt_alert *a)
{
	const struct mt_signature *s = a->match->sig;
	bool first = true, f2;
	int r = 0;

#define TRY(x)                     \
	do {                       \
		if ((r = (x)) < 0) \
			return r;  \
	} while (0)

	TRY(kv_str(b, &first, "id", s->id));
	TRY(kv_str(b, &first, "title", mt_sig_title(s, a->locale)));
	TRY(kv_str(b, &first, "signature", s->signature));
	TRY(kv_str(b, &first, "severity", mt_severity_name(mt_alert_severity(a))));
	TRY(kv_str(b, &first, "domain", s->domain));
	TRY(kv_str(b, &first, "category", s->category));
	TRY(kv_str(b, &first, "error_code", s->error_code));
	TRY(kv_str(b, &first, "root_cause", mt_sig_root_cause(s, a->locale)));
	TRY(kv_num(b, &first, "confidence", s->confidence));
	TRY(kv_num(b, &first, "fix_success_rate", s->fix_success_rate));

	TRY(mt_json_key(b, &first, "workarounds"));
	TRY(mt_buf_putc(b, '['));
	for (size_t i = 0; i < s->nworkarounds; i++) {
		const struct mt_workaround *w = &s->workarounds[i];

		f2 = true;
		TRY(mt_buf_puts(b, i ? ",{" : "{"));
		TRY(kv_num(b, &f2, "rank", (double)(i + 1)));
		TRY(kv_str(b, &f2, "action", mt_workaround_action(w, a->locale)));
		if (w->how && strcmp(w->how, w->action) != 0)
			TRY(kv_str(b, &f2, "how", w->how));
		TRY(kv_num(b, &f2, "success_rate", w->success_rate));
		if (w->condition && *w->condition)
			TRY(kv_str(b, &f2, "condition", w->condition));
		if (w->nverified_by > 0)
			TRY(mt_buf_puts(b, ",\"verified\":true"));
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
		TRY(kv_str(b, &f2, "why_fails", e->why_fails));
		TRY(kv_num(b, &f2, "fail_rate", e->fail_rate));
		TRY(mt_buf_putc(b, '}'));
	}
	TRY(mt_buf_putc(b, ']'));
	TRY(kv_str(b, &first, "doc_url", s->official_doc_url));
	TRY(kv_str(b, &first, "source_url", s->source_url));
#undef TRY
	return 0;
}

struct cache_entry {
	char *json; /* sig_part, NULL until rendered */
	size_t len;
	enum mt_locale locale;
	enum mt_severity severity;
};

struct mt_alert_cache {
	size_t n;
	struct cache_entry *e;
};

struct mt_alert_cache *
mt_alert_cache_new(size_t nsigs)
{
	struct mt_alert_cache *c = mt_xcalloc(1, sizeof(*c));

	c->n = nsigs;
	c->e = mt_xcalloc(nsigs ? nsigs : 1, sizeof(*c->e));
	return c;
}

struct mt_alert_cache *
mt_alert_cache_free(struct mt_alert_cache *c)
{
	if (c == NULL)
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		free(c->e[i].json);
	free(c->e);
	free(c);
	return NULL;
}

/* The signature part from the cache, rendering it on first use. */
static int
cached_sig_part(struct mt_buf *b, const struct mt_alert *a)
{
	const struct mt_signature *s = a->match->sig;
	struct cache_entry *e;
	struct mt_buf tmp;
	int r;

	if (a->cache == NULL || s->index >= a->cache->n)
		return sig_part(b, a);
	e = &a->cache->e[s->index];
	if (e->json == NULL || e->locale != a->locale || e->severity != mt_alert_severity(a)) {
		mt_buf_init(&tmp, b->cap);
		r = sig_part(&tmp, a);
		if (r < 0) {
			mt_buf_fini(&tmp);
			return r;
		}
		free(e->json);
		e->json = tmp.data; /* the buffer's storage becomes the entry */
		e->len = tmp.len;
		e->locale = a->locale;
		e->severity = mt_alert_severity(a);
	}
	return mt_buf_append(b, e->json, e->len);
}

int
mt_alert_json(struct mt_buf *b, const struct mt_alert *a)
{
	bool first = false, f2;
	int r = 0;

#define TRY(x)                     \
	do {                       \
		if ((r = (x)) < 0) \
			return r;  \
	} while (0)

	TRY(mt_buf_putc(b, '{'));
	TRY(cached_sig_part(b, a));
	TRY(mt_json_key(b, &first, "captures"));
	TRY(mt_buf_putc(b, '{'));
	f2 = true;
	for (size_t i = 0; i < a->match->ncaptures; i++) {
		const struct mt_capture *c = &a->match->captures[i];

		TRY(mt_json_key(b, &f2, c->name));
		TRY(json_capped(b, c->v.p, c->v.len, MT_ALERT_FIELD_MAX));
	}
	TRY(mt_buf_putc(b, '}'));

	if (a->rec != NULL) {
		TRY(kv_str(b, &first, "mta", mt_mta_name(a->rec->mta)));
		TRY(kv_str(b, &first, "log_format", mt_logfmt_name(a->rec->fmt)));
		TRY(mt_json_key(b, &first, "fields"));
		TRY(mt_buf_putc(b, '{'));
		f2 = true;
		for (int f = 0; f < MT_F__COUNT; f++) {
			const struct mt_view *v = &a->rec->f[f];

			/* The message is the line minus its header: the line is enough. */
			if (v->len == 0 || f == MT_F_MESSAGE)
				continue;
			TRY(mt_json_key(b, &f2, mt_field_name((enum mt_field)f)));
			TRY(json_capped(b, v->p, v->len, MT_ALERT_FIELD_MAX));
		}
		TRY(mt_buf_putc(b, '}'));
	}

	TRY(mt_json_key(b, &first, "also_matched"));
	TRY(mt_buf_putc(b, '['));
	for (size_t i = 0; i < a->nothers; i++) {
		if (i)
			TRY(mt_buf_putc(b, ','));
		TRY(mt_json_cstr(b, a->others[i].sig->id));
	}
	TRY(mt_buf_putc(b, ']'));

	if (a->cause_id != NULL && (a->repeat || a->outcome != NULL)) {
		/* The first cause the correlation stage attributes this line to. */
		TRY(mt_json_key(b, &first, a->repeat ? "repeat_of" : "outcome"));
		TRY(mt_buf_putc(b, '{'));
		f2 = true;
		if (a->outcome != NULL) {
			TRY(kv_str(b, &f2, "status", a->outcome));
			TRY(mt_json_key(b, &f2, "summary"));
			TRY(json_capped(b, a->outcome_text ? a->outcome_text : "",
					a->outcome_text ? strlen(a->outcome_text) : 0,
					MT_ALERT_FIELD_MAX));
		}
		TRY(kv_str(b, &f2, a->repeat ? "id" : "cause", a->cause_id));
		if (a->cause_sig != NULL)
			TRY(kv_str(b, &f2, "title", mt_sig_title(a->cause_sig, a->locale)));
		if (a->cause_reply != NULL && *a->cause_reply) {
			TRY(mt_json_key(b, &f2, "reply"));
			TRY(json_capped(b, a->cause_reply, strlen(a->cause_reply),
					MT_ALERT_FIELD_MAX));
		}
		if (a->cause_since > 0)
			TRY(kv_num(b, &f2, "since", a->cause_since));
		TRY(mt_buf_putc(b, '}'));
	}
	TRY(kv_str(b, &first, "hostname", a->hostname));
	TRY(kv_str(b, &first, "file", a->file));
	TRY(kv_num(b, &first, "offset", (double)a->offset));
	TRY(kv_num(b, &first, "line_number", (double)a->lineno));
	TRY(mt_json_key(b, &first, "line"));
	TRY(json_capped(b, a->line, a->len, MT_ALERT_LINE_MAX));
	TRY(mt_json_key(b, &first, "line_truncated"));
	TRY(mt_buf_puts(b, a->truncated || a->len > MT_ALERT_LINE_MAX ? "true" : "false"));
	TRY(mt_buf_putc(b, '}'));
#undef TRY
	return 0;
}

static int
text_field(struct mt_buf *b, const char *label, const struct mt_view *v)
{
	int r;

	if (v->len == 0)
		return 0;
	if ((r = mt_buf_printf(b, "  %s: ", label)) < 0)
		return r;
	r = mt_text_clean(b, v->p, v->len, 200);
	return r < 0 ? r : 0;
}

int
mt_alert_text(struct mt_buf *b, const struct mt_alert *a)
{
	const struct mt_signature *s = a->match->sig;
	int r;

#define TRY(x)                     \
	do {                       \
		if ((r = (x)) < 0) \
			return r;  \
	} while (0)

	TRY(mt_buf_printf(b, "[%s] %s (%s)\n", mt_severity_name(mt_alert_severity(a)),
			  mt_sig_title(s, a->locale), s->id));
	if (a->lineno)
		TRY(mt_buf_printf(b, "  at %s:%llu", a->file ? a->file : "-",
				  (unsigned long long)a->lineno));
	else
		TRY(mt_buf_printf(b, "  at %s (offset %llu)", a->file ? a->file : "-",
				  (unsigned long long)a->offset));
	if (a->rec) {
		TRY(text_field(b, "time", &a->rec->f[MT_F_TIME]));
		TRY(text_field(b, "queue", &a->rec->f[MT_F_QUEUE_ID]));
		TRY(text_field(b, "relay", &a->rec->f[MT_F_RELAY_HOST]));
		TRY(text_field(b, "client", &a->rec->f[MT_F_CLIENT_HOST]));
	}
	for (size_t i = 0; i < a->match->ncaptures; i++) {
		const struct mt_capture *c = &a->match->captures[i];
		bool shown = false;

		/* A capture that repeats a parsed field adds nothing. */
		for (int f = 0; a->rec && f < MT_F__COUNT && !shown; f++)
			shown = a->rec->f[f].len == c->v.len &&
				memcmp(a->rec->f[f].p, c->v.p, c->v.len) == 0 &&
				(f == MT_F_QUEUE_ID || f == MT_F_RELAY_HOST ||
				 f == MT_F_CLIENT_HOST || f == MT_F_TIME);
		if (!shown)
			TRY(text_field(b, c->name, &c->v));
	}
	if (a->cause_id != NULL && a->repeat)
		TRY(mt_buf_printf(b, "\n  repeat of: %s", a->cause_id));
	if (a->outcome_text != NULL) {
		TRY(mt_buf_puts(b, "\n  outcome: "));
		TRY(mt_text_clean(b, a->outcome_text, strlen(a->outcome_text), 400));
	}
	TRY(mt_buf_puts(b, "\n  line: "));
	if ((r = mt_text_clean(b, a->line, a->len, 400)) < 0)
		return r;
	if (r == 1)
		TRY(mt_buf_puts(b, " [...]"));
	TRY(mt_buf_printf(b, "\n  cause: %s\n", mt_sig_root_cause(s, a->locale)));
	for (size_t i = 0; i < s->nworkarounds && i < 3; i++)
		TRY(mt_buf_printf(b, "  %s %zu. (%.0f%%%s) %s\n", i ? "    " : "fix:", i + 1,
				  s->workarounds[i].success_rate * 100,
				  s->workarounds[i].nverified_by > 0 ? ", verified" : "",
				  mt_workaround_action(&s->workarounds[i], a->locale)));
	for (size_t i = 0; i < s->ndead_ends && i < 2; i++)
		TRY(mt_buf_printf(b, "  %s %s (fails %.0f%%)\n", i ? "      " : "avoid:",
				  s->dead_ends[i].action, s->dead_ends[i].fail_rate * 100));
	if (s->official_doc_url)
		TRY(mt_buf_printf(b, "  doc: %s\n", s->official_doc_url));
#undef TRY
	return 0;
}
