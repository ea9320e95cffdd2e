/* payload_discord - Discord incoming-webhook messages: content and one embed, mentions off. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "alert/payload_internal.h"
#include "util/json.h"

static int
discord_field(struct mt_buf *b, struct pl_ctx *c, const char *name, struct pl_fld *f,
	      bool is_inline)
{
	struct pl_fld nf;
	int r = mt_buf_puts(b, is_inline ? ",{\"inline\":true,\"name\":" :
					   ",{\"inline\":false,\"name\":");

	pl_fld_init(&nf, 256);
	pl_fld_puts(&nf, name, 0);
	c->embed_units += nf.units + f->units;
	r = pl_fld_emit(b, r, &nf, ",\"value\":");
	return pl_fld_emit(b, r, f, "}");
}

/* The message text (line 1, or a resolved notice), mentions off. */
static int
discord_content(struct mt_buf *b, struct pl_ctx *c, bool resolved)
{
	struct pl_fld f;
	int r;

	TRY(mt_buf_puts(b, "{\"username\":\"mtalert\",\"content\":"));
	pl_fld_init(&f, pl_lim(c, 2000));
	if (resolved) {
		pl_fld_resolved(&f, c, 0, U_MD);
	} else if (pl_fld_open(&f, "**", 2)) {
		pl_fld_line1(&f, c, 0, U_MD);
		pl_fld_close(&f, "**", 2);
	}
	TRY(pl_fld_end(b, &f));
	return mt_buf_puts(b, ",\"allowed_mentions\":{\"parse\":[]}");
}

/*
 * Discord has no collapsible part: the embed's description holds the fix
 * with its command, the cause, and the rest trimmed to a sentence each with
 * the `mtalertd show ID` that prints it all.
 */
int
pl_render_discord(struct mt_buf *b, struct pl_ctx *c)
{
	const struct mt_alert_group *g = c->g;
	const struct pl_words *w = c->w;
	const struct mt_workaround *fix = pl_fix(c);
	struct mt_buf url;
	struct pl_fld f;
	int r;

	if (g->event == MT_GROUP_RESOLVED) {
		TRY(discord_content(b, c, true));
		return mt_buf_putc(b, '}');
	}
	TRY(discord_content(b, c, false));
	/*
	 * The embed's title is the fix, linked to its documentation: line 1
	 * (the content) already says what is wrong.
	 */
	TRY(mt_buf_puts(b, ",\"embeds\":[{\"title\":"));
	pl_fld_init(&f, 256);
	if (fix != NULL) {
		pl_fld_printf(&f, 0, "%s: ", w->fix);
		pl_fld_puts(&f, mt_workaround_action(fix, g->locale), 0);
		pl_fld_rate(&f, c, fix);
	} else {
		pl_fld_puts(&f, mt_sig_title(c->s, g->locale), 0);
	}
	c->embed_units += f.units;
	TRY(pl_fld_end(b, &f));
	/* Discord rejects the whole message over a bad embed URL: only http(s). */
	if (pl_fix_url(c, &url))
		TRY(pl_json_url(b, mt_buf_puts(b, ",\"url\":"), &url));
	TRY(mt_buf_printf(b, ",\"color\":%u,\"timestamp\":", pl_color(c)));
	TRY(pl_json_time(b, g->last_seen));
	TRY(mt_buf_puts(b, ",\"description\":"));
	pl_fld_init(&f, pl_lim(c, 4096));
	if (fix != NULL) {
		if (fix->condition && *fix->condition) {
			pl_fld_printf(&f, 0, "%s: ", w->if_);
			pl_fld_puts_max(&f, fix->condition, 0, pl_lim(c, 300));
		}
		pl_fld_how(&f, c, 0);
		pl_fld_puts(&f, "\n", 0);
	}
	pl_fld_printf(&f, 0, "**%s:** ", w->cause);
	pl_fld_cause(&f, c, 0);
	pl_fld_more(&f, c, 0, "**");
	c->embed_units += f.units;
	TRY(pl_fld_end(b, &f));

	/* Fields: the array begins with the time seen, then ",{...}" each. */
	TRY(mt_buf_puts(b, ",\"fields\":[{\"inline\":true,\"name\":"));
	TRY(pl_json_trusted(b, w->seen, 256));
	TRY(mt_buf_puts(b, ",\"value\":"));
	pl_fld_init(&f, 256);
	pl_fld_seen(&f, c);
	c->embed_units += strlen(w->seen) + f.units;
	TRY(pl_fld_end(b, &f));
	TRY(mt_buf_putc(b, '}'));
	if (pl_has_ids(g)) {
		pl_fld_init(&f, pl_lim(c, 1024));
		pl_fld_ids(&f, c, U_MD);
		TRY(discord_field(b, c, w->queue_ids, &f, true));
	}
	if (pl_nfields_shown(c) > 0) {
		pl_fld_init(&f, pl_lim(c, 1024));
		pl_fld_fields(&f, c, U_MD, true);
		TRY(discord_field(b, c, w->details, &f, false));
	}
	if (pl_nexamples(c, 1) > 0) {
		pl_fld_init(&f, pl_lim(c, 1024));
		pl_fld_examples(&f, c, U_MD, 1);
		TRY(discord_field(b, c, w->lines, &f, false));
	}
	TRY(mt_buf_puts(b, "],\"footer\":{\"text\":"));
	pl_fld_init(&f, 400);
	pl_fld_footer(&f, c, 200);
	c->embed_units += f.units;
	TRY(pl_fld_end(b, &f));
	return mt_buf_puts(b, "}}]}");
}

/* The content says how many; the embed lists each: line 1, fix, command. */
int
pl_digest_discord(struct mt_buf *b, struct pl_ctx *c)
{
	struct pl_fld f;
	int r;

	TRY(mt_buf_puts(b, "{\"username\":\"mtalert\",\"content\":"));
	pl_fld_init(&f, 2000);
	pl_fld_puts(&f, "**", 0);
	pl_fld_digest_head(&f, c);
	pl_fld_puts(&f, "**", 0);
	TRY(pl_fld_end(b, &f));
	pl_digest_select(c, pl_digest_top(c));
	TRY(mt_buf_printf(b,
			  ",\"allowed_mentions\":{\"parse\":[]},\"embeds\":[{\"color\":%u,"
			  "\"description\":",
			  pl_color(c)));
	pl_fld_init(&f, pl_lim(c, 4096));
	for (size_t i = 0; i < c->ngs; i++) {
		pl_digest_select(c, i);
		if (i)
			pl_fld_puts(&f, "\n\n", 0);
		pl_fld_digest_entry_md(&f, c, i);
	}
	pl_digest_select(c, 0);
	c->embed_units += f.units;
	TRY(pl_fld_end(b, &f));
	return mt_buf_puts(b, "}]}");
}
