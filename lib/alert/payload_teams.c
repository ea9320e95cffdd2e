/* payload_teams - Microsoft Teams messages: an Adaptive Card for a workflow webhook. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "alert/payload_internal.h"
#include "util/json.h"

/* A TextBlock of our own text (Markdown allowed); attrs is ",\"k\":v..." or "". */
static int
teams_text(struct mt_buf *b, struct pl_fld *f, const char *attrs)
{
	int r = mt_buf_printf(b, ",{\"type\":\"TextBlock\",\"wrap\":true%s,\"text\":", attrs);

	return pl_fld_emit(b, r, f, "}");
}

static int
teams_heading(struct mt_buf *b, const char *s)
{
	struct pl_fld f;

	pl_fld_init(&f, 256);
	pl_fld_puts(&f, s, 0);
	return teams_text(b, &f, ",\"weight\":\"Bolder\",\"spacing\":\"Medium\"");
}

/*
 * "label: value" with the value in a monospace TextRun: TextRuns are never
 * parsed as Markdown, so log text there cannot format or link.
 */
static int
teams_run(struct mt_buf *b, const char *label, struct pl_fld *f)
{
	int r = mt_buf_puts(b, ",{\"type\":\"RichTextBlock\",\"inlines\":[");

	if (label) {
		struct pl_fld lf;

		pl_fld_init(&lf, 80);
		pl_fld_puts_max(&lf, label, U_PLAIN, 60);
		pl_fld_puts(&lf, ": ", 0);
		if (r == 0)
			r = mt_buf_puts(b, "{\"type\":\"TextRun\",\"weight\":\"Bolder\",\"text\":");
		r = pl_fld_emit(b, r, &lf, "},");
	}
	if (r == 0)
		r = mt_buf_puts(b, "{\"type\":\"TextRun\",\"fontType\":\"Monospace\",\"text\":");
	return pl_fld_emit(b, r, f, "}]}");
}

static int
teams_fact(struct mt_buf *b, bool *first, const char *title, struct pl_fld *f)
{
	return pl_json_titled(b, first, "{\"title\":", title, f);
}

static const char *
teams_color(const struct pl_ctx *c)
{
	if (c->g->event == MT_GROUP_RESOLVED)
		return "Good";
	switch (c->g->severity) {
	case MT_SEV_CRITICAL:
	case MT_SEV_ERROR:
		return "Attention";
	case MT_SEV_WARNING:
		return "Warning";
	case MT_SEV_INFO:
		break;
	}
	return "Accent";
}

int
pl_render_teams(struct mt_buf *b, struct pl_ctx *c)
{
	const struct mt_alert_group *g = c->g;
	const struct pl_words *w = c->w;
	size_t vmax = pl_lim(c, 1024), n;
	struct mt_buf url;
	struct pl_fld f;
	bool first = true;
	int r;

	TRY(mt_buf_puts(b, "{\"type\":\"message\",\"attachments\":[{\"contentType\":"
			   "\"application/vnd.microsoft.card.adaptive\",\"contentUrl\":null,"
			   "\"content\":{\"$schema\":\"http://adaptivecards.io/schemas/"
			   "adaptive-card.json\",\"type\":\"AdaptiveCard\",\"version\":\"1.4\","
			   "\"msteams\":{\"width\":\"Full\"},\"body\":["));
	/* The first element has no leading comma: begin with it by hand. */
	TRY(mt_buf_printf(b,
			  "{\"type\":\"TextBlock\",\"wrap\":true,\"size\":\"Medium\","
			  "\"weight\":\"Bolder\",\"color\":\"%s\",\"text\":",
			  teams_color(c)));
	pl_fld_init(&f, 400);
	pl_fld_headline(&f, c, 0);
	TRY(pl_fld_end(b, &f));
	TRY(mt_buf_putc(b, '}'));

	TRY(mt_buf_puts(b, ",{\"type\":\"FactSet\",\"facts\":["));
	pl_fld_init(&f, 64);
	pl_fld_puts(&f, mt_severity_name(g->severity), 0);
	TRY(teams_fact(b, &first, w->severity, &f));
	pl_fld_init(&f, 128);
	pl_fld_count(&f, c);
	TRY(teams_fact(b, &first, w->count, &f));
	pl_fld_init(&f, 128);
	pl_fld_seen(&f, c);
	TRY(teams_fact(b, &first, w->seen, &f));
	TRY(mt_buf_puts(b, "]}"));

	if (pl_has_key(g)) {
		pl_fld_init(&f, vmax);
		pl_fld_puts(&f, g->key_value, U_PLAIN);
		TRY(teams_run(b, g->key_name, &f));
	}
	if (g->hostname) {
		pl_fld_init(&f, 256);
		pl_fld_puts(&f, g->hostname, U_PLAIN);
		TRY(teams_run(b, w->host, &f));
	}
	if (g->file) {
		pl_fld_init(&f, 300);
		pl_fld_puts(&f, g->file, U_PLAIN);
		TRY(teams_run(b, w->log, &f));
	}
	if (pl_has_ids(g)) {
		pl_fld_init(&f, vmax);
		for (size_t i = 0, k = 0; i < g->nqueue_ids && i < MT_GROUP_IDS_MAX; i++) {
			if (g->queue_ids[i] == NULL)
				continue;
			if (k++)
				pl_fld_puts(&f, ", ", 0);
			pl_fld_puts_max(&f, g->queue_ids[i], U_PLAIN, pl_lim(c, ID_MAX));
		}
		TRY(teams_run(b, w->queue_ids, &f));
	}

	TRY(teams_heading(b, w->root_cause));
	pl_fld_init(&f, pl_lim(c, 3000));
	pl_fld_puts(&f, mt_sig_root_cause(c->s, g->locale), 0);
	TRY(teams_text(b, &f, ""));
	if (c->s->nworkarounds > 0) {
		TRY(teams_heading(b, w->try_));
		pl_fld_init(&f, pl_lim(c, 2000));
		pl_fld_workarounds(&f, c, 0);
		TRY(teams_text(b, &f, ""));
	}
	if (c->s->ndead_ends > 0) {
		TRY(teams_heading(b, w->dont));
		pl_fld_init(&f, pl_lim(c, 1200));
		pl_fld_dead_end(&f, c, 0);
		TRY(teams_text(b, &f, ""));
	}
	if (pl_nfields_shown(c) > 0) {
		TRY(teams_heading(b, w->details));
		for (size_t i = 0, k = 0; g->fields && i < g->nfields && k < FIELDS_MAX; i++) {
			const struct mt_group_field *fd = &g->fields[i];

			if (fd->name == NULL || fd->value == NULL ||
			    (g->key_name && strcmp(fd->name, g->key_name) == 0))
				continue;
			k++;
			pl_fld_init(&f, pl_lim(c, 200));
			pl_fld_puts(&f, fd->value, U_PLAIN);
			TRY(teams_run(b, fd->name, &f));
		}
	}
	if ((n = pl_nexamples(c, 3)) > 0) {
		TRY(teams_heading(b, w->lines));
		for (size_t i = g->nexamples - n; i < g->nexamples; i++) {
			pl_fld_init(&f, pl_lim(c, EXAMPLE_MAX));
			pl_fld_puts(&f, g->examples[i] ? g->examples[i] : "", U_PLAIN);
			TRY(teams_run(b, NULL, &f));
		}
	}
	TRY(mt_buf_puts(b, "],\"actions\":["));
	if (pl_doc_url(c, &url, false)) {
		r = mt_buf_puts(b, "{\"type\":\"Action.OpenUrl\",\"title\":");
		if (r == 0)
			r = pl_json_trusted(b, w->doc, 64);
		if (r == 0)
			r = mt_buf_puts(b, ",\"url\":");
		TRY(pl_json_url(b, r, &url));
		TRY(mt_buf_putc(b, '}'));
	}
	return mt_buf_puts(b, "]}}]}");
}
