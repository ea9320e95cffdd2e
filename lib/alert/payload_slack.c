/* payload_slack - Slack Block Kit messages for a notification. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "alert/payload_internal.h"
#include "util/json.h"

static int
slack_section(struct mt_buf *b, struct pl_fld *f)
{
	int r = mt_buf_puts(b, ",{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\",\"text\":");

	return pl_fld_emit(b, r, f, "}}");
}

/* One "*Label*\nvalue" field of a section; opens the text, the caller adds the value. */
static void
slack_field_begin(struct pl_fld *f, const char *label, size_t max)
{
	pl_fld_init(f, max);
	pl_fld_puts(f, "*", 0);
	pl_fld_puts(f, label, T_SLACK);
	pl_fld_puts(f, "*\n", 0);
}

static int
slack_field_end(struct mt_buf *b, struct pl_fld *f, bool *first)
{
	int r = mt_buf_puts(b, *first ? "{\"type\":\"mrkdwn\",\"text\":" :
					",{\"type\":\"mrkdwn\",\"text\":");

	*first = false;
	return pl_fld_emit(b, r, f, "}");
}

/* A field whose value is log text in a code span. */
static int
slack_code_field(struct mt_buf *b, bool *first, const char *label, const char *s, size_t fmax,
		 size_t max)
{
	struct pl_fld f;

	slack_field_begin(&f, label, fmax);
	pl_fld_code(&f, s, U_SLACK, max);
	return slack_field_end(b, &f, first);
}

int
pl_render_slack(struct mt_buf *b, struct pl_ctx *c)
{
	const struct mt_alert_group *g = c->g;
	const struct pl_words *w = c->w;
	size_t fmax = pl_lim(c, 2000), smax = pl_lim(c, 3000);
	struct mt_buf url;
	struct pl_fld f;
	bool first = true;
	int r;

	/* The notification text, shown where blocks are not (push, search). */
	TRY(mt_buf_puts(b, "{\"text\":"));
	pl_fld_init(&f, pl_lim(c, 3000));
	pl_fld_summary(&f, c, T_SLACK, U_SLACK);
	TRY(pl_fld_end(b, &f));

	TRY(mt_buf_puts(b, ",\"blocks\":[{\"type\":\"header\",\"text\":{\"type\":\"plain_text\","
			   "\"emoji\":true,\"text\":"));
	pl_fld_init(&f, 150); /* plain text: Slack shows it as is, so only catalog text goes here */
	pl_fld_headline(&f, c, 0);
	TRY(pl_fld_end(b, &f));
	TRY(mt_buf_puts(b, "}}"));

	TRY(mt_buf_puts(b, ",{\"type\":\"section\",\"fields\":["));
	slack_field_begin(&f, w->severity, fmax);
	pl_fld_puts(&f, mt_severity_name(g->severity), 0);
	TRY(slack_field_end(b, &f, &first));
	slack_field_begin(&f, w->count, fmax);
	pl_fld_count(&f, c);
	TRY(slack_field_end(b, &f, &first));
	if (pl_has_key(g))
		TRY(slack_code_field(b, &first, g->key_name, g->key_value, fmax, pl_lim(c, 300)));
	if (g->hostname)
		TRY(slack_code_field(b, &first, w->host, g->hostname, fmax, 256));
	slack_field_begin(&f, w->seen, fmax);
	pl_fld_seen(&f, c);
	TRY(slack_field_end(b, &f, &first));
	if (pl_has_ids(g)) {
		slack_field_begin(&f, w->queue_ids, fmax);
		pl_fld_ids(&f, c, U_SLACK);
		TRY(slack_field_end(b, &f, &first));
	}
	TRY(mt_buf_puts(b, "]}"));

	pl_fld_init(&f, smax);
	pl_fld_printf(&f, 0, "*%s*\n", w->root_cause);
	pl_fld_puts(&f, mt_sig_root_cause(c->s, g->locale), T_SLACK);
	TRY(slack_section(b, &f));
	if (c->s->nworkarounds > 0) {
		pl_fld_init(&f, smax);
		pl_fld_printf(&f, 0, "*%s*\n", w->try_);
		pl_fld_workarounds(&f, c, T_SLACK);
		TRY(slack_section(b, &f));
	}
	if (c->s->ndead_ends > 0) {
		pl_fld_init(&f, smax);
		pl_fld_printf(&f, 0, "*%s:* ", w->dont);
		pl_fld_dead_end(&f, c, T_SLACK);
		TRY(slack_section(b, &f));
	}
	if (pl_nfields_shown(c) > 0) {
		pl_fld_init(&f, smax);
		pl_fld_printf(&f, 0, "*%s*\n", w->details);
		pl_fld_fields(&f, c, U_SLACK, true);
		TRY(slack_section(b, &f));
	}
	if (pl_nexamples(c, 3) > 0) {
		pl_fld_init(&f, smax);
		pl_fld_printf(&f, 0, "*%s*\n", w->lines);
		pl_fld_examples(&f, c, U_SLACK, 3);
		TRY(slack_section(b, &f));
	}

	TRY(mt_buf_puts(b, ",{\"type\":\"context\",\"elements\":[{\"type\":\"mrkdwn\",\"text\":"));
	pl_fld_init(&f, fmax);
	pl_fld_puts(&f, "mtalert \xc2\xb7 ", 0);
	pl_fld_code(&f, c->s->id, U_SLACK, 200);
	if (pl_doc_url(c, &url, true)) {
		pl_fld_puts(&f, " \xc2\xb7 ", 0);
		/* A link is added whole or not at all: half a <url|text> is no link. */
		if (f.units + url.len + strlen(w->doc) + 8 < f.max) {
			pl_fld_puts(&f, "<", 0);
			pl_fld_puts(&f, url.data, 0);
			pl_fld_puts(&f, "|", 0);
			pl_fld_puts(&f, w->doc, T_SLACK);
			pl_fld_puts(&f, ">", 0);
		}
		mt_buf_fini(&url);
	}
	if (g->file) {
		pl_fld_puts(&f, " \xc2\xb7 ", 0);
		pl_fld_code(&f, g->file, U_SLACK, 300);
	}
	TRY(pl_fld_end(b, &f));
	return mt_buf_puts(b, "}]}]}");
}
