/* payload_teams - Microsoft Teams messages: an Adaptive Card for a workflow webhook. */
#include <stdbool.h>
#include <stddef.h>
#include <string.h>

#include "alert/payload_internal.h"
#include "util/json.h"

/*
 * A TextBlock of our own text (Markdown allowed); attrs is ",\"k\":v..." or
 * "".  Markdown joins lines: each line break is written as a paragraph
 * break, the one a TextBlock shows.
 */
static int
teams_text(struct mt_buf *b, struct pl_fld *f, const char *attrs)
{
	int r = mt_buf_printf(b, ",{\"type\":\"TextBlock\",\"wrap\":true%s,\"text\":", attrs);
	struct mt_buf para;

	mt_buf_init(&para, 2 * f->b.len + 16);
	for (size_t i = 0; i < f->b.len; i++)
		(void)(f->b.data[i] == '\n' ? mt_buf_puts(&para, "\n\n") :
					      mt_buf_putc(&para, f->b.data[i]));
	mt_buf_fini(&f->b);
	f->b = para;
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

/* One TextRun; attrs is ",\"k\":v..." or "". */
static int
teams_inline(struct mt_buf *b, bool *first, const char *attrs, struct pl_fld *f)
{
	int r = mt_buf_printf(b, "%s{\"type\":\"TextRun\"%s,\"text\":", *first ? "" : ",", attrs);

	*first = false;
	return pl_fld_emit(b, r, f, "}");
}

static int
teams_inline_s(struct mt_buf *b, bool *first, const char *attrs, const char *s, unsigned flags,
	       size_t max)
{
	struct pl_fld f;

	pl_fld_init(&f, max);
	pl_fld_puts(&f, s, flags);
	return teams_inline(b, first, attrs, &f);
}

/*
 * Line 1 as one RichTextBlock: the title in bold and the severity's color,
 * then host, key and count, log text in monospace runs (never Markdown).
 * lead: ",{" or "{" (first element of a body).
 */
static int
teams_line1(struct mt_buf *b, struct pl_ctx *c, const char *lead, bool resolved)
{
	const struct mt_alert_group *g = c->g;
	const char *host = g->log_host && *g->log_host ? g->log_host : g->hostname;
	struct mt_buf attrs;
	struct pl_fld f;
	bool first = true;
	int r;

	TRY(mt_buf_printf(b, "%s\"type\":\"RichTextBlock\",\"inlines\":[", lead));
	pl_fld_init(&f, 400);
	pl_fld_puts(&f, pl_emoji(c), 0);
	pl_fld_puts(&f, " ", 0);
	if (g->event != MT_GROUP_FIRST) {
		pl_fld_puts(&f, pl_event_word(c), 0);
		pl_fld_puts(&f, ": ", 0);
	}
	pl_fld_puts(&f, mt_sig_title(c->s, g->locale), 0);
	mt_buf_init(&attrs, 128);
	(void)mt_buf_printf(&attrs, ",\"weight\":\"Bolder\",\"color\":\"%s\"%s", teams_color(c),
			    c->ngs ? "" : ",\"size\":\"Medium\"");
	r = teams_inline(b, &first, attrs.data, &f);
	mt_buf_fini(&attrs);
	if (r < 0)
		return r;
	if (host) {
		TRY(teams_inline_s(b, &first, "", " \xc2\xb7 ", 0, 8));
		TRY(teams_inline_s(b, &first, ",\"fontType\":\"Monospace\"", host, U_PLAIN, 256));
	}
	if (pl_has_key(g)) {
		pl_fld_init(&f, 80);
		pl_fld_puts(&f, " \xc2\xb7 ", 0);
		pl_fld_puts_max(&f, g->key_name, U_PLAIN, 60);
		pl_fld_puts(&f, " ", 0);
		TRY(teams_inline(b, &first, "", &f));
		TRY(teams_inline_s(b, &first, ",\"fontType\":\"Monospace\"", g->key_value, U_PLAIN,
				   pl_lim(c, 300)));
	}
	pl_fld_init(&f, 200);
	pl_fld_puts(&f, " \xc2\xb7 ", 0);
	if (resolved)
		pl_fld_resolved_tail(&f, c);
	else
		pl_fld_count(&f, c);
	TRY(teams_inline(b, &first, "", &f));
	return mt_buf_puts(b, "]}");
}

static int
teams_open(struct mt_buf *b)
{
	return mt_buf_puts(b, "{\"type\":\"message\",\"attachments\":[{\"contentType\":"
			      "\"application/vnd.microsoft.card.adaptive\",\"contentUrl\":null,"
			      "\"content\":{\"$schema\":\"http://adaptivecards.io/schemas/"
			      "adaptive-card.json\",\"type\":\"AdaptiveCard\",\"version\":\"1.4\","
			      "\"msteams\":{\"width\":\"Full\"},\"body\":[");
}

/* The fix: action and condition as text, the command in a monospace run. */
static int
teams_fix(struct mt_buf *b, struct pl_ctx *c, bool how)
{
	const struct mt_workaround *w = pl_fix(c);
	struct pl_fld f;
	int r;

	if (w == NULL)
		return 0;
	pl_fld_init(&f, pl_lim(c, 1200));
	pl_fld_printf(&f, 0, "**%s:** ", c->w->fix);
	pl_fld_fix(&f, c, 0, false);
	TRY(teams_text(b, &f, ",\"spacing\":\"Small\""));
	if (how && w->how && *w->how) {
		pl_fld_init(&f, pl_lim(c, 1500));
		pl_fld_puts(&f, w->how, 0);
		TRY(teams_run(b, NULL, &f));
	}
	return 0;
}

/* The rest, in the card Action.ShowCard opens: collapsed until tapped. */
static int
teams_details(struct mt_buf *b, struct pl_ctx *c)
{
	const struct mt_alert_group *g = c->g;
	const struct pl_words *w = c->w;
	struct pl_fld f;
	bool first = true;
	size_t n;
	int r;

	TRY(mt_buf_puts(b, "{\"type\":\"Action.ShowCard\",\"title\":"));
	TRY(pl_json_trusted(b, w->collapsed, 128));
	TRY(mt_buf_puts(b, ",\"card\":{\"type\":\"AdaptiveCard\",\"body\":["));
	/* The first element has no leading comma: begin with it by hand. */
	TRY(mt_buf_puts(b, "{\"type\":\"TextBlock\",\"wrap\":true,\"weight\":\"Bolder\","
			   "\"text\":"));
	TRY(pl_json_trusted(b, w->root_cause, 256));
	TRY(mt_buf_putc(b, '}'));
	pl_fld_init(&f, pl_lim(c, 3000));
	pl_fld_puts(&f, mt_sig_root_cause(c->s, g->locale), 0);
	TRY(teams_text(b, &f, ""));
	if (c->s->nworkarounds > 1) {
		TRY(teams_heading(b, w->others));
		pl_fld_init(&f, pl_lim(c, 2000));
		pl_fld_others(&f, c, 0);
		TRY(teams_text(b, &f, ""));
	}
	if (c->s->ndead_ends > 0) {
		TRY(teams_heading(b, w->dont));
		pl_fld_init(&f, pl_lim(c, 2000));
		pl_fld_dead_ends(&f, c, 0);
		TRY(teams_text(b, &f, ""));
	}
	TRY(mt_buf_puts(b, ",{\"type\":\"FactSet\",\"facts\":["));
	pl_fld_init(&f, 64);
	pl_fld_puts(&f, mt_severity_name(g->severity), 0);
	TRY(teams_fact(b, &first, w->severity, &f));
	pl_fld_init(&f, 128);
	pl_fld_seen(&f, c);
	TRY(teams_fact(b, &first, w->seen, &f));
	TRY(mt_buf_puts(b, "]}"));
	if (g->hostname) {
		pl_fld_init(&f, 256);
		pl_fld_puts(&f, g->hostname, U_PLAIN);
		TRY(teams_run(b, w->seen_by, &f));
	}
	if (g->file) {
		pl_fld_init(&f, 300);
		pl_fld_puts(&f, g->file, U_PLAIN);
		TRY(teams_run(b, w->log, &f));
	}
	if (pl_has_ids(g)) {
		pl_fld_init(&f, pl_lim(c, 1024));
		for (size_t i = 0, k = 0; i < g->nqueue_ids && i < MT_GROUP_IDS_MAX; i++) {
			if (g->queue_ids[i] == NULL)
				continue;
			if (k++)
				pl_fld_puts(&f, ", ", 0);
			pl_fld_puts_max(&f, g->queue_ids[i], U_PLAIN, pl_lim(c, ID_MAX));
		}
		TRY(teams_run(b, w->queue_ids, &f));
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
	return mt_buf_puts(b, "]}}");
}

static int
teams_doc(struct mt_buf *b, struct pl_ctx *c)
{
	struct mt_buf url;
	int r;

	if (!pl_doc_url(c, &url, false))
		return 0;
	r = mt_buf_puts(b, ",{\"type\":\"Action.OpenUrl\",\"title\":");
	if (r == 0)
		r = pl_json_trusted(b, c->w->doc, 64);
	if (r == 0)
		r = mt_buf_puts(b, ",\"url\":");
	TRY(pl_json_url(b, r, &url));
	return mt_buf_putc(b, '}');
}

int
pl_render_teams(struct mt_buf *b, struct pl_ctx *c)
{
	struct pl_fld f;
	int r;

	TRY(teams_open(b));
	if (c->g->event == MT_GROUP_RESOLVED) {
		TRY(teams_line1(b, c, "{", true));
		return mt_buf_puts(b, "]}}]}");
	}
	TRY(teams_line1(b, c, "{", false));
	TRY(teams_fix(b, c, true));
	pl_fld_init(&f, pl_lim(c, 800));
	pl_fld_printf(&f, 0, "**%s:** ", c->w->cause);
	pl_fld_cause(&f, c, 0);
	TRY(teams_text(b, &f, ""));
	TRY(mt_buf_puts(b, "],\"actions\":["));
	TRY(teams_details(b, c));
	TRY(teams_doc(b, c));
	return mt_buf_puts(b, "]}}]}");
}

/* Per notification: line 1, the fix, and the command that shows the rest. */
int
pl_digest_teams(struct mt_buf *b, struct pl_ctx *c)
{
	struct pl_fld f;
	int r;

	TRY(teams_open(b));
	TRY(mt_buf_puts(b, "{\"type\":\"TextBlock\",\"wrap\":true,\"size\":\"Medium\","
			   "\"weight\":\"Bolder\",\"text\":"));
	pl_fld_init(&f, 400);
	pl_fld_digest_head(&f, c);
	TRY(pl_fld_end(b, &f));
	TRY(mt_buf_putc(b, '}'));
	for (size_t i = 0; i < c->ngs; i++) {
		pl_digest_select(c, i);
		TRY(teams_line1(b, c, ",{\"separator\":true,", c->g->event == MT_GROUP_RESOLVED));
		if (c->g->event == MT_GROUP_RESOLVED || pl_digest_repeat(c, i))
			continue; /* a repeated error's fix is above */
		TRY(teams_fix(b, c, false));
		pl_fld_init(&f, 300);
		pl_fld_show(&f, c, 0);
		TRY(teams_text(b, &f, ",\"spacing\":\"None\",\"isSubtle\":true"));
	}
	pl_digest_select(c, 0);
	return mt_buf_puts(b, "]}}]}");
}
