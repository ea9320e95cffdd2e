/*
 * Fuzz the grouper: the bytes choose the params, then drive a sequence of
 * offers (signature, key, queue id, time step), ticks, clock steps back and
 * flushes.  Aborts when an invariant breaks:
 *   - every notification is within its bounds, count_new <= count_total;
 *   - per group, the count_new of its notifications add up to count_total;
 *   - a tick before next_deadline emits nothing; after tick(now) the next
 *     deadline is in the future or negative;
 *   - the table never exceeds max_groups;
 *   - at the end (after flush): offered == notified + below_min_count +
 *     repeats (op 3 offers a repeat of another signature's cause; op 7
 *     resolves by destination).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "alert/alert_group.h"
#include "alert/group.h"
#include "match/matcher.h"
#include "parse/logline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NSIGS 3
#define NKEYS 6 /* key values; index NKEYS: no key */

static char sig_ids[NSIGS][8] = { "fuzz-0", "fuzz-1", "fuzz-2" };
static struct mt_signature sigs[NSIGS] = {
	{ .id = sig_ids[0], .severity = MT_SEV_INFO },
	{ .id = sig_ids[1], .severity = MT_SEV_ERROR },
	{ .id = sig_ids[2], .severity = MT_SEV_CRITICAL },
};

static char long_key[3000];
static const char *key_values[NKEYS] = { "a.example", "b.example", "c", "", "e", long_key };

struct track {
	uint64_t sum;
	bool live;
};

static struct track tracks[NSIGS][NKEYS + 1];
static uint64_t notified, emitted;

static size_t
key_index(const struct mt_alert_group *g)
{
	if (g->key_name == NULL)
		return NKEYS;
	for (size_t i = 0; i < NKEYS; i++)
		if (strncmp(g->key_value, key_values[i], MT_GROUP_TEXT_MAX) == 0)
			return i;
	abort(); /* a key that was never offered */
}

static void
on_emit_one(void *ctx, const struct mt_alert_group *g)
{
	size_t s = (size_t)(g->sig - sigs);
	struct track *t;

	(void)ctx;
	if (s >= NSIGS || g->count_new > g->count_total || g->nexamples > MT_GROUP_EXAMPLES_MAX ||
	    g->nexamples > g->count_new || g->nqueue_ids > MT_GROUP_IDS_MAX ||
	    g->nfields > MT_GROUP_FIELDS_MAX || (unsigned)g->event > MT_GROUP_FLUSH)
		abort();
	if (g->key_value != NULL && strlen(g->key_value) > MT_GROUP_TEXT_MAX)
		abort();
	for (size_t i = 0; i < g->nexamples; i++)
		if (strlen(g->examples[i]) > MT_GROUP_TEXT_MAX)
			abort();
	for (size_t i = 0; i < g->nqueue_ids; i++)
		if (strlen(g->queue_ids[i]) > MT_GROUP_ID_MAX)
			abort();
	t = &tracks[s][key_index(g)];
	if (g->event == MT_GROUP_FIRST ||
	    (g->event == MT_GROUP_FLUSH && g->count_new == g->count_total)) {
		t->sum = 0;
		t->live = true;
	} else if (!t->live) {
		abort(); /* an UPDATE, REMINDER or RESOLVED of no group */
	}
	if (g->event == MT_GROUP_FIRST && g->count_new == 0)
		abort();
	t->sum += g->count_new;
	if (t->sum != g->count_total)
		abort();
	if (g->event == MT_GROUP_RESOLVED || g->event == MT_GROUP_FLUSH)
		t->live = false;
	notified += g->count_new;
	emitted++;
}

/* The grouper emits a batch: each of its notifications in turn. */
static void
on_emit(void *ctx, const struct mt_alert_group *gs, size_t n)
{
	if (n == 0 || n > MT_GROUP_BATCH_MAX)
		abort();
	for (size_t i = 0; i < n; i++)
		on_emit_one(ctx, &gs[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mt_group_params p;
	struct mt_grouper *g;
	const struct mt_grouper_stats *st;
	uint8_t key[16];
	double now = 1e9;
	size_t i;

	if (size < 8 || size > 4096)
		return 0;
	memset(long_key, 'x', sizeof(long_key) - 1);
	memset(tracks, 0, sizeof(tracks));
	notified = emitted = 0;

	mt_group_params_default(&p);
	p.group_wait = data[0] % 20;
	p.group_interval = data[1] % 50;
	p.repeat_interval = data[2] % 100;
	p.resolve_after = data[3] % 4 == 0 ? 0 : data[3] % 150;
	p.min_count = 1 + data[4] % 4;
	p.window = 1 + data[5] % 40;
	p.max_groups = 1 + data[6] % 8;
	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(data[7] + i);
	g = mt_grouper_new(&p, key, on_emit, NULL);
	st = mt_grouper_stats(g);

	for (i = 8; i + 1 < size; i += 2) {
		uint8_t op = data[i], arg = data[i + 1];
		double step = (op >> 3) * 0.5;

		switch (op & 7) {
		case 0:
		case 1:
		case 2:
		case 3: {
			char line[256];
			struct mt_logrec rec;
			struct mt_match m = { .sig = &sigs[arg % NSIGS] };
			struct mt_alert a;
			size_t k = (arg >> 2) % (NKEYS + 1);
			int n = snprintf(line, sizeof(line),
					 "Mar 14 00:00:31 h postfix/smtp[1]: ABCDE%02X: to=<u@x>, "
					 "relay=r%u[192.0.2.1]:25, dsn=4.0.0, status=deferred (%u)",
					 (unsigned)(arg >> 5), (unsigned)op, (unsigned)arg);

			if (n < 0 || (size_t)n >= sizeof(line))
				abort();
			mt_logline_parse(line, (size_t)n, &rec);
			a = (struct mt_alert){ .match = &m,
					       .rec = &rec,
					       .line = line,
					       .len = (size_t)n,
					       .file = "f",
					       .hostname = "h" };
			if ((op & 7) == 3) {
				a.repeat = true;
				a.cause_sig = &sigs[(arg + 1) % NSIGS];
				a.cause_id = a.cause_sig->id;
			}
			now += step;
			mt_grouper_offer(g, &a, k == NKEYS ? NULL : "relay",
					 k == NKEYS ? NULL : key_values[k], now);
			memset(line, 0, sizeof(line)); /* the grouper must have copied */
			break;
		}
		case 4:
		case 5: {
			double d = mt_grouper_next_deadline(g);
			uint64_t before = emitted;

			now += step * (1 + arg % 8);
			mt_grouper_tick(g, now);
			if (!(d < 0 || d <= now) && emitted != before)
				abort(); /* emitted before its deadline */
			d = mt_grouper_next_deadline(g);
			if (d >= 0 && d <= now)
				abort(); /* something due is left */
			break;
		}
		case 6: {
			double d = mt_grouper_next_deadline(g);

			if (arg & 1) {
				now -= step; /* a clock step back */
			} else if (d >= 0) {
				now = d > now ? d : now; /* the timer fires */
				mt_grouper_tick(g, now);
			}
			break;
		}
		case 7:
			if (arg % 8 == 0)
				mt_grouper_flush(g, now);
			else if (arg % 8 == 1)
				(void)mt_grouper_resolve(
					g, (arg & 16) ? sigs[(arg >> 5) % NSIGS].id : NULL,
					(arg & 8) ? "x" : key_values[(arg >> 5) % NKEYS], now);
			break;
		}
		if (st->groups > p.max_groups)
			abort();
	}
	mt_grouper_flush(g, now);
	if (st->groups != 0 || mt_grouper_next_deadline(g) >= 0)
		abort();
	if (st->offered != notified + st->below_min_count + st->repeats ||
	    st->notifications != emitted)
		abort();
	mt_grouper_free(g);
	return 0;
}
