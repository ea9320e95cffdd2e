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

int
pl_render_discord(struct mt_buf *b, struct pl_ctx *c)
{
	const struct mt_alert_group *g = c->g;
	const struct pl_words *w = c->w;
	struct pl_fld f;
	int r;

	TRY(mt_buf_puts(b, "{\"username\":\"mtalert\",\"content\":"));
	pl_fld_init(&f, pl_lim(c, 2000));
	pl_fld_summary(&f, c, 0, U_MD);
	TRY(pl_fld_end(b, &f));
	TRY(mt_buf_puts(b, ",\"allowed_mentions\":{\"parse\":[]},\"embeds\":[{\"title\":"));
	pl_fld_init(&f, 256);
	pl_fld_puts(&f, pl_event_word(c), 0);
	pl_fld_puts(&f, ": ", 0);
	pl_fld_puts(&f, mt_sig_title(c->s, g->locale), 0);
	c->embed_units += f.units;
	TRY(pl_fld_end(b, &f));
	/* Discord rejects the whole message over a bad embed URL: only http(s). */
	TRY(pl_json_doc_url(b, c, "url"));
	TRY(mt_buf_printf(b, ",\"color\":%u,\"timestamp\":", pl_color(c)));
	TRY(pl_json_time(b, g->last_seen));
	TRY(mt_buf_puts(b, ",\"description\":"));
	pl_fld_init(&f, pl_lim(c, 2048));
	pl_fld_printf(&f, 0, "**%s**\n", w->root_cause);
	pl_fld_puts(&f, mt_sig_root_cause(c->s, g->locale), 0);
	c->embed_units += f.units;
	TRY(pl_fld_end(b, &f));

	/* Fields: the array begins with the severity, then ",{...}" each. */
	TRY(mt_buf_puts(b, ",\"fields\":[{\"inline\":true,\"name\":"));
	TRY(pl_json_trusted(b, w->severity, 256));
	TRY(mt_buf_puts(b, ",\"value\":"));
	TRY(pl_json_trusted(b, mt_severity_name(g->severity), 64));
	TRY(mt_buf_putc(b, '}'));
	c->embed_units += strlen(w->severity) + strlen(mt_severity_name(g->severity));
	pl_fld_init(&f, 256);
	pl_fld_count(&f, c);
	TRY(discord_field(b, c, w->count, &f, true));
	if (pl_has_key(g)) {
		struct mt_buf name;

		mt_buf_init(&name, 128);
		pl_fld_init(&f, pl_lim(c, 512));
		pl_fld_code(&f, g->key_value, U_MD, pl_lim(c, 300));
		(void)mt_buf_printf(&name, "%.60s", g->key_name);
		r = discord_field(b, c, name.data, &f, true);
		mt_buf_fini(&name);
		if (r < 0)
			return r;
	}
	if (g->hostname) {
		pl_fld_init(&f, 256);
		pl_fld_code(&f, g->hostname, U_MD, 250);
		TRY(discord_field(b, c, w->host, &f, true));
	}
	pl_fld_init(&f, 256);
	pl_fld_seen(&f, c);
	TRY(discord_field(b, c, w->seen, &f, true));
	if (pl_has_ids(g)) {
		pl_fld_init(&f, pl_lim(c, 1024));
		pl_fld_ids(&f, c, U_MD);
		TRY(discord_field(b, c, w->queue_ids, &f, false));
	}
	if (c->s->nworkarounds > 0) {
		pl_fld_init(&f, pl_lim(c, 1024));
		pl_fld_workarounds(&f, c, 0);
		TRY(discord_field(b, c, w->try_, &f, false));
	}
	if (c->s->ndead_ends > 0) {
		pl_fld_init(&f, pl_lim(c, 1024));
		pl_fld_dead_end(&f, c, 0);
		TRY(discord_field(b, c, w->dont, &f, false));
	}
	if (pl_nfields_shown(c) > 0) {
		pl_fld_init(&f, pl_lim(c, 1024));
		pl_fld_fields(&f, c, U_MD, true);
		TRY(discord_field(b, c, w->details, &f, false));
	}
	if (pl_nexamples(c, 2) > 0) {
		pl_fld_init(&f, pl_lim(c, 1024));
		pl_fld_examples(&f, c, U_MD, 2);
		TRY(discord_field(b, c, w->lines, &f, false));
	}
	TRY(mt_buf_puts(b, "],\"footer\":{\"text\":"));
	pl_fld_init(&f, 400);
	pl_fld_footer(&f, c, 200);
	c->embed_units += f.units;
	TRY(pl_fld_end(b, &f));
	return mt_buf_puts(b, "}}]}");
}
