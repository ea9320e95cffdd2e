/*
 * Fuzz mt_grouper_load(): the first byte chooses the params, the rest is a
 * snapshot (untrusted: a damaged state file).  The bytes are loaded into a
 * fresh grouper, which is saved; the save is loaded into a second fresh
 * grouper and saved again.  Then both are ticked through their deadlines
 * and flushed.  Aborts when an invariant breaks:
 *   - restored + bad + unknown never exceeds the "group " lines, the table
 *     never exceeds max_groups;
 *   - a save loads back whole (nothing bad or unknown) and saves to the same
 *     text, before and after the ticks;
 *   - the text saved is printable ASCII lines, each under the line cap;
 *   - both groupers emit the same notifications, each within its bounds,
 *     and have the same deadlines;
 *   - after tick(now) nothing is due at now.
 * The catalog is one signature from memory, loaded on the first call (so
 * the standalone replay driver needs no LLVMFuzzerInitialize).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert_group.h"
#include "alert/group.h"
#include "match/catalog.h"
#include "util/buf.h"
#include "util/diag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (256 * 1024)
#define SAVE_CAP  (64 * 1024 * 1024)
#define TICKS_MAX 64

static const char sig_yaml[] =
	"id: fuzz/smtp-421-test\n"
	"title: Remote server answered 421\n"
	"signature: 421 Service not available\n"
	"regex: '421 (?<text>.*)'\n"
	"domain: network\n"
	"category: network_error\n"
	"root_cause: The remote server closes the session (RFC 5321).\n"
	"workarounds:\n"
	"  - action: Let the MTA retry\n"
	"    success_rate: 0.85\n"
	"dead_ends:\n"
	"  - action: Flush the queue repeatedly\n"
	"    why_fails: It looks like more pressure.\n"
	"    fail_rate: 0.9\n"
	"official_doc_url: https://www.rfc-editor.org/rfc/rfc5321#section-4.2.3\n"
	"severity: warning\n";

static struct mt_catalog *cat;
static double now_cur;

/* Every notification in full, so two groupers compare byte for byte. */
static void
on_emit_one(void *ctx, const struct mt_alert_group *g)
{
	struct mt_buf *b = ctx;

	if (g->count_new > g->count_total || g->nexamples > MT_GROUP_EXAMPLES_MAX ||
	    g->nexamples > g->count_new || g->nqueue_ids > MT_GROUP_IDS_MAX ||
	    g->nfields > MT_GROUP_FIELDS_MAX || (unsigned)g->event > MT_GROUP_FLUSH ||
	    (g->event == MT_GROUP_FIRST && (g->count_new == 0 || g->count_new != g->count_total)) ||
	    g->file == NULL || g->sig == NULL || (g->key_name == NULL) != (g->key_value == NULL))
		abort();
	if (g->key_value != NULL && strlen(g->key_value) > MT_GROUP_TEXT_MAX)
		abort();
	(void)mt_buf_printf(b, "%d %a %s %d %d %s|%s %llu %llu %a %a %s|%s", (int)g->event, now_cur,
			    g->sig->id, (int)g->severity, (int)g->locale,
			    g->key_name ? g->key_name : "-", g->key_value ? g->key_value : "-",
			    (unsigned long long)g->count_total, (unsigned long long)g->count_new,
			    g->first_seen, g->last_seen, g->hostname ? g->hostname : "-", g->file);
	(void)mt_buf_printf(b, " lhost=%s", g->log_host ? g->log_host : "-");
	for (size_t i = 0; i < g->nexamples; i++) {
		if (strlen(g->examples[i]) > MT_GROUP_TEXT_MAX)
			abort();
		(void)mt_buf_printf(b, " e[%s]", g->examples[i]);
	}
	for (size_t i = 0; i < g->nqueue_ids; i++) {
		if (strlen(g->queue_ids[i]) > MT_GROUP_ID_MAX)
			abort();
		(void)mt_buf_printf(b, " i[%s]", g->queue_ids[i]);
	}
	for (size_t i = 0; i < g->nfields; i++) {
		if (strlen(g->fields[i].value) > MT_GROUP_FIELD_MAX)
			abort();
		(void)mt_buf_printf(b, " f[%s=%s]", g->fields[i].name, g->fields[i].value);
	}
	(void)mt_buf_putc(b, '\n');
}

/* The grouper emits a batch: each of its notifications in turn. */
static void
on_emit(void *ctx, const struct mt_alert_group *gs, size_t n)
{
	if (n == 0 || n > MT_GROUP_BATCH_MAX)
		abort();
	(void)mt_buf_printf(ctx, "batch %zu\n", n);
	for (size_t i = 0; i < n; i++)
		on_emit_one(ctx, &gs[i]);
}

static bool
same_buf(const struct mt_buf *a, const struct mt_buf *b)
{
	return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

static bool
same_bits(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
}

/* The text a grouper saves: printable ASCII lines starting "group ", under the cap. */
static void
check_text(const struct mt_buf *s)
{
	size_t line = 0;

	for (size_t i = 0; i < s->len; i++) {
		unsigned char c = (unsigned char)s->data[i];

		if (line == 0 && (s->len - i < 6 || memcmp(s->data + i, "group ", 6) != 0))
			abort();
		if (c == '\n') {
			line = 0;
			continue;
		}
		if (c < ' ' || c >= 0x7f || ++line > MT_GROUP_SAVE_LINE_MAX)
			abort();
	}
	if (s->len > 0 && s->data[s->len - 1] != '\n')
		abort();
}

/* Load s into a fresh grouper: everything must come back, and save the same. */
static void
check_roundtrip(const struct mt_group_params *p, const uint8_t key[16], const struct mt_buf *s,
		size_t want_groups)
{
	struct mt_buf notes, s2;
	struct mt_grouper *g;
	size_t n, bad = 1, unknown = 1;

	mt_buf_init(&notes, SAVE_CAP);
	mt_buf_init(&s2, SAVE_CAP);
	g = mt_grouper_new(p, key, on_emit, &notes);
	n = mt_grouper_load(g, cat, s->data, s->len, 0, &bad, &unknown);
	if (n != want_groups || bad != 0 || unknown != 0)
		abort();
	if (mt_grouper_save(g, &s2) < 0 || !same_buf(s, &s2))
		abort();
	mt_grouper_free(g);
	mt_buf_fini(&notes);
	mt_buf_fini(&s2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	struct mt_group_params p;
	struct mt_grouper *g1, *g2;
	struct mt_buf s1, s2, n1, n2;
	size_t n, bad = 0, unknown = 0, nlines = 0;
	const char *text;

	if (size < 1 || size > INPUT_MAX)
		return 0;
	if (cat == NULL) {
		struct mt_diag d;

		mt_diag_init(&d);
		cat = mt_catalog_load_buffer("fuzz.yaml", sig_yaml, sizeof(sig_yaml) - 1, &d);
		mt_diag_fini(&d);
		if (mt_catalog_count(cat) != 1)
			abort();
	}
	mt_group_params_default(&p);
	p.min_count = 1 + (data[0] & 3);
	p.resolve_after = (data[0] & 4) ? 0 : 900;
	p.max_groups = (data[0] & 8) ? 1 + (data[0] >> 4) : 10000;
	text = (const char *)data + 1;
	size--;
	for (size_t i = 0; i + 6 <= size; i++)
		if ((i == 0 || text[i - 1] == '\n') && memcmp(text + i, "group ", 6) == 0)
			nlines++;

	mt_buf_init(&s1, SAVE_CAP);
	mt_buf_init(&s2, SAVE_CAP);
	mt_buf_init(&n1, SAVE_CAP);
	mt_buf_init(&n2, SAVE_CAP);
	g1 = mt_grouper_new(&p, key, on_emit, &n1);
	g2 = mt_grouper_new(&p, key, on_emit, &n2);
	n = mt_grouper_load(g1, cat, text, size, 0, &bad, &unknown);
	if (n + bad + unknown != nlines || n > p.max_groups || mt_grouper_stats(g1)->groups != n)
		abort();
	if (mt_grouper_save(g1, &s1) < 0)
		abort();
	check_text(&s1);
	if (mt_grouper_load(g2, cat, s1.data, s1.len, 0, &bad, &unknown) != n || bad != 0 ||
	    unknown != 0)
		abort();
	if (mt_grouper_save(g2, &s2) < 0 || !same_buf(&s1, &s2))
		abort();

	/* Both go on alike: the timer fires at each deadline. */
	for (int i = 0; i < TICKS_MAX; i++) {
		double d = mt_grouper_next_deadline(g1);

		if (!same_bits(d, mt_grouper_next_deadline(g2)))
			abort();
		if (d < 0)
			break;
		now_cur = d;
		mt_grouper_tick(g1, d);
		mt_grouper_tick(g2, d);
		d = mt_grouper_next_deadline(g1);
		if (d >= 0 && d <= now_cur)
			abort();
		if (i == TICKS_MAX / 2) {
			/* A save mid-life loads back whole too. */
			mt_buf_reset(&s1);
			if (mt_grouper_save(g1, &s1) < 0)
				abort();
			check_text(&s1);
			check_roundtrip(&p, key, &s1, mt_grouper_stats(g1)->groups);
		}
	}
	mt_grouper_flush(g1, now_cur);
	mt_grouper_flush(g2, now_cur);
	if (!same_buf(&n1, &n2) || mt_grouper_stats(g1)->groups != 0)
		abort();
	mt_grouper_free(g1);
	mt_grouper_free(g2);
	mt_buf_fini(&s1);
	mt_buf_fini(&s2);
	mt_buf_fini(&n1);
	mt_buf_fini(&n2);
	return 0;
}
