/* payload_slack - Slack messages: Block Kit for what to do, a collapsed attachment for the rest. */
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

/* "*Label*\n" opening a part of a text. */
static void
slack_label(struct pl_fld *f, const char *label, bool first)
{
	pl_fld_puts(f, first ? "*" : "\n\n*", 0);
	pl_fld_puts(f, label, T_SLACK);
	pl_fld_puts(f, "*\n", 0);
}

/* The notification text and the first block: line 1, in bold. */
static int
slack_top(struct mt_buf *b, struct pl_ctx *c, bool resolved)
{
	struct pl_fld f;
	int r;

	TRY(mt_buf_puts(b, "{\"text\":"));
	pl_fld_init(&f, pl_lim(c, 3000));
	if (resolved)
		pl_fld_resolved(&f, c, T_SLACK, U_SLACK);
	else
		pl_fld_line1(&f, c, T_SLACK, U_SLACK);
	TRY(pl_fld_end(b, &f));
	TRY(mt_buf_puts(b, ",\"blocks\":[{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\","
			   "\"text\":"));
	pl_fld_init(&f, pl_lim(c, 3000));
	if (resolved) {
		pl_fld_resolved(&f, c, T_SLACK, U_SLACK);
	} else if (pl_fld_open(&f, "*", 1)) {
		pl_fld_line1(&f, c, T_SLACK, U_SLACK);
		pl_fld_close(&f, "*", 1);
	}
	TRY(pl_fld_end(b, &f));
	return mt_buf_puts(b, "}}");
}

/* "mtalert · `id` · <doc|Documentation> · `file`" */
static int
slack_context(struct mt_buf *b, struct pl_ctx *c)
{
	const struct mt_alert_group *g = c->g;
	struct mt_buf url;
	struct pl_fld f;
	int r;

	TRY(mt_buf_puts(b, ",{\"type\":\"context\",\"elements\":[{\"type\":\"mrkdwn\",\"text\":"));
	pl_fld_init(&f, pl_lim(c, 2000));
	pl_fld_puts(&f, "mtalert \xc2\xb7 ", 0);
	pl_fld_code(&f, c->s->id, U_SLACK, 200);
	if (pl_doc_url(c, &url, true)) {
		pl_fld_puts(&f, " \xc2\xb7 ", 0);
		/* A link is added whole or not at all: half a <url|text> is no link. */
		if (f.units + url.len + strlen(c->w->doc) + 8 < f.max) {
			pl_fld_puts(&f, "<", 0);
			pl_fld_puts(&f, url.data, 0);
			pl_fld_puts(&f, "|", 0);
			pl_fld_puts(&f, c->w->doc, T_SLACK);
			pl_fld_puts(&f, ">", 0);
		}
		mt_buf_fini(&url);
	}
	if (g->file) {
		pl_fld_puts(&f, " \xc2\xb7 ", 0);
		pl_fld_code(&f, g->file, U_SLACK, 300);
	}
	TRY(pl_fld_end(b, &f));
	return mt_buf_puts(b, "}]}");
}

/*
 * The rest, in a secondary attachment: Slack shows its text collapsed
 * behind "Show more" once it is over 700 characters or 5 lines, which it
 * always is here.  Block Kit has no collapsible block for webhooks.
 */
static int
slack_details(struct mt_buf *b, struct pl_ctx *c)
{
	const struct mt_alert_group *g = c->g;
	const struct pl_words *w = c->w;
	struct pl_fld f;
	int r;

	TRY(mt_buf_printf(b,
			  ",\"attachments\":[{\"color\":\"#%06x\",\"mrkdwn_in\":[\"text\"],"
			  "\"fallback\":",
			  pl_color(c)));
	TRY(pl_json_trusted(b, w->details, 64));
	TRY(mt_buf_puts(b, ",\"text\":"));
	/* Short lines first: what shows above "Show more" is a few lines, not a paragraph. */
	pl_fld_init(&f, pl_lim(c, 6000));
	pl_fld_printf(&f, 0, "*%s:* ", w->seen);
	pl_fld_seen(&f, c);
	if (g->hostname) {
		pl_fld_printf(&f, 0, "\n*%s:* ", w->seen_by);
		pl_fld_code(&f, g->hostname, U_SLACK, 256);
	}
	if (pl_has_ids(g)) {
		pl_fld_printf(&f, 0, "\n*%s:* ", w->queue_ids);
		pl_fld_ids(&f, c, U_SLACK);
	}
	slack_label(&f, w->root_cause, false);
	pl_fld_puts_max(&f, mt_sig_root_cause(c->s, g->locale), T_SLACK, pl_lim(c, 3000));
	if (c->s->nworkarounds > 1) {
		slack_label(&f, w->others, false);
		pl_fld_others(&f, c, T_SLACK);
	}
	if (c->s->ndead_ends > 0) {
		slack_label(&f, w->dont, false);
		pl_fld_dead_ends(&f, c, T_SLACK);
	}
	if (pl_nfields_shown(c) > 0) {
		slack_label(&f, w->details, false);
		pl_fld_fields(&f, c, U_SLACK, true);
	}
	if (pl_nexamples(c, 3) > 0) {
		slack_label(&f, w->lines, false);
		pl_fld_examples(&f, c, U_SLACK, 3);
	}
	TRY(pl_fld_end(b, &f));
	return mt_buf_puts(b, "}]");
}

int
pl_render_slack(struct mt_buf *b, struct pl_ctx *c)
{
	const struct pl_words *w = c->w;
	struct pl_fld f;
	int r;

	if (c->g->event == MT_GROUP_RESOLVED) {
		TRY(slack_top(b, c, true));
		return mt_buf_puts(b, "]}");
	}
	TRY(slack_top(b, c, false));
	if (pl_fix(c) != NULL) {
		pl_fld_init(&f, pl_lim(c, 3000));
		pl_fld_printf(&f, 0, "*%s:* ", w->fix);
		pl_fld_fix(&f, c, T_SLACK, true);
		TRY(slack_section(b, &f));
	}
	pl_fld_init(&f, pl_lim(c, 3000));
	pl_fld_printf(&f, 0, "*%s:* ", w->cause);
	pl_fld_cause(&f, c, T_SLACK);
	TRY(slack_section(b, &f));
	TRY(slack_context(b, c));
	TRY(mt_buf_putc(b, ']'));
	TRY(slack_details(b, c));
	return mt_buf_putc(b, '}');
}

/* One section per notification: its line 1, its fix and where to read the rest. */
int
pl_digest_slack(struct mt_buf *b, struct pl_ctx *c)
{
	struct pl_fld f;
	int r;

	TRY(mt_buf_puts(b, "{\"text\":"));
	pl_fld_init(&f, 3000);
	pl_fld_digest_head(&f, c);
	TRY(pl_fld_end(b, &f));
	TRY(mt_buf_puts(b, ",\"blocks\":[{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\","
			   "\"text\":"));
	pl_fld_init(&f, 3000);
	pl_fld_puts(&f, "*", 0);
	pl_fld_digest_head(&f, c);
	pl_fld_puts(&f, "*", 0);
	TRY(pl_fld_end(b, &f));
	TRY(mt_buf_puts(b, "}}"));
	for (size_t i = 0; i < c->ngs; i++) {
		pl_digest_select(c, i);
		pl_fld_init(&f, pl_lim(c, 3000));
		if (c->g->event == MT_GROUP_RESOLVED) {
			pl_fld_resolved(&f, c, T_SLACK, U_SLACK);
		} else {
			pl_fld_line1(&f, c, T_SLACK, U_SLACK);
			if (pl_digest_repeat(c, i)) {
				/* The same error elsewhere: its fix is above. */
			} else if (pl_fix(c) != NULL) {
				pl_fld_printf(&f, 0, "\n*%s:* ", c->w->fix);
				pl_fld_fix(&f, c, T_SLACK, false);
			}
			if (!pl_digest_repeat(c, i)) {
				pl_fld_puts(&f, "\n", 0);
				pl_fld_show(&f, c, T_SLACK);
			}
		}
		TRY(slack_section(b, &f));
	}
	pl_digest_select(c, 0);
	return mt_buf_puts(b, "]}");
}
