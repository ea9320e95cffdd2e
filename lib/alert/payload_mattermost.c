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
	if (pl_fld_open(&f, "**", 2)) {
		pl_fld_headline(&f, c, 0);
		pl_fld_close(&f, "**", 2);
	}
	pl_fld_puts(&f, "\n", 0);
	pl_fld_count(&f, c);
	if (pl_has_key(g)) {
		pl_fld_puts(&f, " \xc2\xb7 ", 0);
		pl_fld_puts_max(&f, g->key_name, U_PLAIN, 64);
		pl_fld_puts(&f, " ", 0);
		pl_fld_code(&f, g->key_value, U_MD, pl_lim(c, 200));
	}
	if (g->hostname) {
		pl_fld_printf(&f, 0, " \xc2\xb7 %s ", w->host);
		pl_fld_code(&f, g->hostname, U_MD, 256);
	}
	TRY(pl_fld_end(b, &f));

	TRY(mt_buf_puts(b, ",\"attachments\":[{\"fallback\":"));
	pl_fld_init(&f, 300); /* plain notification text: no log text */
	pl_fld_headline(&f, c, 0);
	TRY(pl_fld_end(b, &f));
	TRY(mt_buf_printf(b, ",\"color\":\"#%06x\",\"title\":", pl_color(c)));
	TRY(pl_json_trusted(b, mt_sig_title(c->s, g->locale), 256));
	TRY(pl_json_doc_url(b, c, "title_link"));

	TRY(mt_buf_puts(b, ",\"text\":"));
	pl_fld_init(&f, pl_lim(c, 6000));
	pl_fld_printf(&f, 0, "**%s**\n", w->root_cause);
	pl_fld_puts_max(&f, mt_sig_root_cause(c->s, g->locale), 0, pl_lim(c, 3000));
	if (c->s->nworkarounds > 0) {
		pl_fld_printf(&f, 0, "\n\n**%s**\n", w->try_);
		pl_fld_workarounds(&f, c, 0);
	}
	if (c->s->ndead_ends > 0) {
		pl_fld_printf(&f, 0, "\n\n**%s:** ", w->dont);
		pl_fld_dead_end(&f, c, 0);
	}
	if (pl_nexamples(c, 3) > 0) {
		pl_fld_printf(&f, 0, "\n\n**%s**\n", w->lines);
		pl_fld_examples(&f, c, U_MD, 3);
	}
	TRY(pl_fld_end(b, &f));

	TRY(mt_buf_puts(b, ",\"fields\":["));
	pl_fld_init(&f, 256);
	pl_fld_puts(&f, mt_severity_name(g->severity), 0);
	TRY(mm_field(b, &first, &f, w->severity, true));
	pl_fld_init(&f, 256);
	pl_fld_count(&f, c);
	TRY(mm_field(b, &first, &f, w->count, true));
	if (pl_has_ids(g)) {
		pl_fld_init(&f, pl_lim(c, 2000));
		pl_fld_ids(&f, c, U_MD);
		TRY(mm_field(b, &first, &f, w->queue_ids, false));
	}
	pl_fld_init(&f, 256);
	pl_fld_seen(&f, c);
	TRY(mm_field(b, &first, &f, w->seen, false));
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
