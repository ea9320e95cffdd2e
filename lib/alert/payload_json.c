/* payload_json - the generic JSON body (version 1, see payload.h): a data model, log text only JSON-escaped. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "alert/payload_internal.h"
#include "util/json.h"

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
	return mt_json_str(b, s, pl_utf8_cut(s, strlen(s), max));
}

static int
kv_num(struct mt_buf *b, bool *first, const char *key, double val)
{
	int r;

	TRY(mt_json_key(b, first, key));
	return mt_json_num(b, val);
}

/* One workaround of the ranked list, after sep. */
static int
json_workaround(struct mt_buf *b, const char *sep, size_t rank, const struct mt_workaround *w,
		enum mt_locale l)
{
	bool first = true;
	int r;

	TRY(mt_buf_puts(b, sep));
	TRY(mt_buf_putc(b, '{'));
	TRY(kv_num(b, &first, "rank", (double)rank));
	TRY(kv_str(b, &first, "action", mt_workaround_action(w, l)));
	if (w->how && strcmp(w->how, w->action) != 0)
		TRY(kv_str(b, &first, "how", w->how));
	TRY(kv_num(b, &first, "success_rate", w->success_rate));
	if (w->condition && *w->condition)
		TRY(kv_str(b, &first, "condition", w->condition));
	if (w->nverified_by > 0)
		TRY(mt_buf_puts(b, ",\"verified\":true"));
	return mt_buf_putc(b, '}');
}

static int
json_dead_end(struct mt_buf *b, const char *sep, const struct mt_dead_end *e)
{
	bool first = true;
	int r;

	TRY(mt_buf_puts(b, sep));
	TRY(mt_buf_putc(b, '{'));
	TRY(kv_str(b, &first, "action", e->action));
	if (e->why_fails)
		TRY(kv_str(b, &first, "why_fails", e->why_fails));
	TRY(kv_num(b, &first, "fail_rate", e->fail_rate));
	return mt_buf_putc(b, '}');
}

static int
render_json_sig(struct mt_buf *b, const struct pl_ctx *c)
{
	const struct mt_signature *s = c->s;
	enum mt_locale l = c->g->locale;
	bool first = true;
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
	for (size_t i = 0; i < s->nworkarounds; i++)
		TRY(json_workaround(b, i ? "," : "", i + 1, &s->workarounds[i], l));
	TRY(mt_buf_putc(b, ']'));
	TRY(mt_json_key(b, &first, "dead_ends"));
	TRY(mt_buf_putc(b, '['));
	for (size_t i = 0; i < s->ndead_ends; i++)
		TRY(json_dead_end(b, i ? "," : "", &s->dead_ends[i]));
	TRY(mt_buf_putc(b, ']'));
	TRY(kv_str(b, &first, "doc_url", s->official_doc_url));
	TRY(kv_str(b, &first, "source_url", s->source_url));
	return mt_buf_putc(b, '}');
}

int
pl_render_json(struct mt_buf *b, struct pl_ctx *c)
{
	const struct mt_alert_group *g = c->g;
	size_t n, max = pl_lim(c, MT_GROUP_TEXT_MAX);
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
	if (pl_has_key(g)) {
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
	TRY(mt_json_key(b, &first, "messages"));
	TRY(mt_buf_printf(b, "%llu", (unsigned long long)g->messages));
	TRY(mt_json_key(b, &first, "destinations"));
	TRY(mt_buf_printf(b, "%llu", (unsigned long long)g->destinations));
	TRY(mt_json_key(b, &first, "repeats"));
	TRY(mt_buf_printf(b, "%llu", (unsigned long long)g->repeats));
	TRY(mt_json_key(b, &first, "first_seen"));
	TRY(pl_json_time(b, g->first_seen));
	TRY(mt_json_key(b, &first, "last_seen"));
	TRY(pl_json_time(b, g->last_seen));

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
		TRY(json_capped(b, g->queue_ids[i], pl_lim(c, 256)));
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
