/* payload_mattermost - Mattermost incoming-webhook messages (text and one attachment). */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "alert/payload_internal.h"
#include "util/json.h"

static int
mm_field(struct mt_buf *b, bool *first, struct pl_fld *f, const char *title, bool is_short)
{
	const char *open = is_short ? "{\"short\":true,\"title\":" : "{\"short\":false,\"title\":";

	return pl_json_titled(b, first, open, title, f);
}

/*
 * Mattermost has no collapsible part (it folds long posts only past a
 * height of its own): the text is line 1, the attachment the fix with its
 * command, the cause, and the rest trimmed to a sentence each with the
 * `mtalertd show ID` that prints it all.
 */
int
pl_render_mattermost(struct mt_buf *b, struct pl_ctx *c)
{
	const struct mt_alert_group *g = c->g;
	const struct pl_words *w = c->w;
	struct pl_fld f;
	bool first = true;
	int r;

	TRY(mt_buf_puts(b, "{\"username\":\"mtalert\",\"text\":"));
	pl_fld_init(&f, pl_lim(c, 4000));
	if (g->event == MT_GROUP_RESOLVED) {
		pl_fld_resolved(&f, c, 0, U_MD);
		TRY(pl_fld_end(b, &f));
		return mt_buf_putc(b, '}');
	}
	if (pl_fld_open(&f, "**", 2)) {
		pl_fld_line1(&f, c, 0, U_MD);
		pl_fld_close(&f, "**", 2);
	}
	TRY(pl_fld_end(b, &f));

	TRY(mt_buf_puts(b, ",\"attachments\":[{\"fallback\":"));
	pl_fld_init(&f, 300); /* plain notification text: no log text */
	pl_fld_headline(&f, c, 0);
	TRY(pl_fld_end(b, &f));
	TRY(mt_buf_printf(b, ",\"color\":\"#%06x\"", pl_color(c)));

	TRY(mt_buf_puts(b, ",\"text\":"));
	pl_fld_init(&f, pl_lim(c, 6000));
	if (pl_fix(c) != NULL) {
		pl_fld_printf(&f, 0, "**%s:** ", w->fix);
		pl_fld_fix(&f, c, 0, true);
		pl_fld_puts(&f, "\n", 0);
	}
	pl_fld_printf(&f, 0, "**%s:** ", w->cause);
	pl_fld_cause(&f, c, 0);
	pl_fld_more(&f, c, 0, "**");
	if (pl_nexamples(c, 1) > 0) {
		pl_fld_printf(&f, 0, "\n\n**%s**\n", w->lines);
		pl_fld_examples(&f, c, U_MD, 1);
	}
	TRY(pl_fld_end(b, &f));

	TRY(mt_buf_puts(b, ",\"fields\":["));
	pl_fld_init(&f, 256);
	pl_fld_seen(&f, c);
	TRY(mm_field(b, &first, &f, w->seen, true));
	if (pl_has_ids(g)) {
		pl_fld_init(&f, pl_lim(c, 2000));
		pl_fld_ids(&f, c, U_MD);
		TRY(mm_field(b, &first, &f, w->queue_ids, true));
	}
	if (pl_nfields_shown(c) > 0) {
		pl_fld_init(&f, pl_lim(c, 2000));
		pl_fld_fields(&f, c, U_MD, true);
		TRY(mm_field(b, &first, &f, w->details, false));
	}
	TRY(mt_buf_puts(b, "],\"footer\":"));
	pl_fld_init(&f, 600);
	pl_fld_footer(&f, c, 300);
	TRY(pl_fld_end(b, &f));
	return mt_buf_puts(b, "}]}");
}

/* One post: how many, then per notification line 1, the fix and the command. */
int
pl_digest_mattermost(struct mt_buf *b, struct pl_ctx *c)
{
	struct pl_fld f;
	int r;

	TRY(mt_buf_puts(b, "{\"username\":\"mtalert\",\"text\":"));
	pl_fld_init(&f, pl_lim(c, 4000));
	pl_fld_puts(&f, "**", 0);
	pl_fld_digest_head(&f, c);
	pl_fld_puts(&f, "**", 0);
	for (size_t i = 0; i < c->ngs; i++) {
		pl_digest_select(c, i);
		pl_fld_puts(&f, "\n\n", 0);
		pl_fld_digest_entry_md(&f, c, i);
	}
	pl_digest_select(c, 0);
	TRY(pl_fld_end(b, &f));
	return mt_buf_putc(b, '}');
}
