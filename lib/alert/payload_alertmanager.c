/* payload_alertmanager - Alertmanager POST /api/v2/alerts bodies: labels and annotations. */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "alert/payload_internal.h"
#include "util/json.h"

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
	return pl_json_trusted(b, val, 1024);
}

static int
annot_begin(struct mt_buf *b, const char *name)
{
	return mt_buf_printf(b, ",\"%s\":", name);
}

int
pl_render_alertmanager(struct mt_buf *b, struct pl_ctx *c)
{
	static const char *const reserved[] = { "alertname", "signature_id", "severity",
						"category",  "instance",     "job" };
	const struct mt_alert_group *g = c->g;
	const char *id = c->s->id, *slash = strrchr(id, '/');
	struct mt_buf name;
	struct pl_fld f;
	int r;

	TRY(mt_buf_puts(b, "[{\"labels\":{\"alertname\":\""));
	TRY(label_name(b, slash ? slash + 1 : id, 200));
	TRY(mt_buf_putc(b, '"'));
	TRY(label_trusted(b, "signature_id", id));
	TRY(label_trusted(b, "severity", mt_severity_name(g->severity)));
	TRY(label_trusted(b, "category", c->s->category));
	if (g->hostname && *g->hostname) {
		TRY(mt_buf_puts(b, ",\"instance\":"));
		TRY(pl_json_untrusted(b, g->hostname, 256));
	}
	if (pl_has_key(g) && *g->key_value) {
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
		TRY(pl_json_untrusted(b, g->key_value, 1024));
	}
	TRY(mt_buf_puts(b, ",\"job\":\"mtalert\"},\"annotations\":{\"summary\":"));
	pl_fld_init(&f, 1024);
	pl_fld_puts(&f, mt_sig_title(c->s, g->locale), 0);
	if (pl_has_key(g)) {
		pl_fld_puts(&f, " (", 0);
		pl_fld_puts_max(&f, g->key_name, U_PLAIN, 64);
		pl_fld_puts(&f, " ", 0);
		pl_fld_puts_max(&f, g->key_value, U_PLAIN, pl_lim(c, 256));
		pl_fld_puts(&f, ")", 0);
	}
	TRY(pl_fld_end(b, &f));

	TRY(annot_begin(b, "description"));
	pl_fld_init(&f, pl_lim(c, 4000));
	pl_fld_puts_max(&f, mt_sig_root_cause(c->s, g->locale), 0, pl_lim(c, 3000));
	if (c->s->nworkarounds > 0) {
		pl_fld_printf(&f, 0, "\n\n%s: ", c->w->try_);
		pl_fld_puts_max(&f, mt_workaround_action(&c->s->workarounds[0], g->locale), 0, 600);
		pl_fld_rate(&f, c, &c->s->workarounds[0]);
	}
	TRY(pl_fld_end(b, &f));
	if (c->s->official_doc_url) {
		TRY(annot_begin(b, "runbook_url"));
		TRY(pl_json_trusted(b, c->s->official_doc_url, 2048));
	}
	TRY(annot_begin(b, "event"));
	TRY(mt_json_cstr(b, mt_group_event_name(g->event)));
	/* Annotations, not labels: the counts change, the alert's identity must not. */
	TRY(mt_buf_printf(b,
			  ",\"count\":\"%llu\",\"count_new\":\"%llu\",\"messages\":\"%llu\","
			  "\"destinations\":\"%llu\",\"repeats\":\"%llu\",\"first_seen\":",
			  (unsigned long long)g->count_total, (unsigned long long)g->count_new,
			  (unsigned long long)g->messages, (unsigned long long)g->destinations,
			  (unsigned long long)g->repeats));
	TRY(pl_json_time(b, g->first_seen));
	TRY(annot_begin(b, "last_seen"));
	TRY(pl_json_time(b, g->last_seen));
	if (g->examples && g->nexamples > 0 && c->level < LEVEL_MAX) {
		TRY(annot_begin(b, "example"));
		TRY(pl_json_untrusted(
			b, g->examples[g->nexamples - 1] ? g->examples[g->nexamples - 1] : "",
			pl_lim(c, MT_GROUP_TEXT_MAX)));
	}
	if (pl_has_ids(g)) {
		TRY(annot_begin(b, "queue_ids"));
		pl_fld_init(&f, pl_lim(c, 1024));
		for (size_t i = 0, k = 0; i < g->nqueue_ids && i < MT_GROUP_IDS_MAX; i++) {
			if (g->queue_ids[i] == NULL)
				continue;
			if (k++)
				pl_fld_puts(&f, ", ", 0);
			pl_fld_puts_max(&f, g->queue_ids[i], U_PLAIN, ID_MAX);
		}
		TRY(pl_fld_end(b, &f));
	}
	if (g->file) {
		TRY(annot_begin(b, "file"));
		TRY(pl_json_untrusted(b, g->file, 1024));
	}
	TRY(mt_buf_puts(b, "},\"startsAt\":"));
	TRY(pl_json_time(b, g->first_seen));
	if (g->event == MT_GROUP_RESOLVED) {
		/* A time in the past resolves the alert at once. */
		TRY(mt_buf_puts(b, ",\"endsAt\":"));
		TRY(pl_json_time(b, g->last_seen));
	}
	return mt_buf_puts(b, "}]");
}

int
mt_payload_alertmanager_valid_until(struct mt_buf *body, double ends_at)
{
	int r;

	if (body->len < 2 || memcmp(body->data + body->len - 2, "}]", 2) != 0 ||
	    strstr(body->data, "\"endsAt\":") != NULL)
		return -EINVAL;
	body->len -= 2;
	body->data[body->len] = '\0';
	TRY(mt_buf_puts(body, ",\"endsAt\":"));
	TRY(pl_json_time(body, ends_at));
	return mt_buf_puts(body, "}]");
}
