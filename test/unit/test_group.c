/*
 * Unit tests for group.c.  argv[1] (optional): the signatures directory, for
 * the catalog-reload case.  Time is simulated: run_until() plays the
 * daemon's timer, ticking at each deadline mt_grouper_next_deadline() gives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "alert_group.h"
#include "catalog.h"
#include "group.h"
#include "logline.h"
#include "matcher.h"
#include "tap.h"
#include "xalloc.h"

static const uint8_t test_key[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

/* ---- what the emit callback saw ---- */

#define NOTES_MAX 8192

struct note {
	enum mt_group_event ev;
	double at; /* the simulated time of the emitting call */
	const struct mt_signature *sig;
	char key[MT_GROUP_TEXT_MAX + 1]; /* "" when not keyed */
	size_t key_len;
	uint64_t count_new, count_total;
	double first_seen, last_seen;
	size_t nexamples, nqueue_ids, nfields;
	char example_last[MT_GROUP_TEXT_MAX + 1];
	size_t example_last_len;
	char id_last[MT_GROUP_ID_MAX + 1];
	char relay_host[MT_GROUP_FIELD_MAX + 1];
	char capture[MT_GROUP_FIELD_MAX + 1];
	size_t capture_len;
	enum mt_severity severity;
	char hostname[64], file[64];
};

static struct note notes[NOTES_MAX];
static size_t nnotes;
static double now_sim;
static uint64_t sum_new, bounds_bad;

static void
copy_str(char *dst, size_t size, const char *src)
{
	if (src == NULL)
		src = "";
	(void)mt_strlcpy(dst, src, size);
}

static void
on_emit(void *ctx, const struct mt_alert_group *g)
{
	struct note *n;

	(void)ctx;
	sum_new += g->count_new;
	if (g->nexamples > MT_GROUP_EXAMPLES_MAX || g->nqueue_ids > MT_GROUP_IDS_MAX ||
	    g->nfields > MT_GROUP_FIELDS_MAX || g->count_new > g->count_total ||
	    g->nexamples > g->count_new ||
	    (g->key_value && strlen(g->key_value) > MT_GROUP_TEXT_MAX))
		bounds_bad++;
	for (size_t i = 0; i < g->nexamples; i++)
		if (strlen(g->examples[i]) > MT_GROUP_TEXT_MAX)
			bounds_bad++;
	for (size_t i = 0; i < g->nfields; i++)
		if (strlen(g->fields[i].value) > MT_GROUP_FIELD_MAX)
			bounds_bad++;
	if (nnotes == NOTES_MAX)
		return; /* the storm only counts */
	n = &notes[nnotes++];
	memset(n, 0, sizeof(*n));
	n->ev = g->event;
	n->at = now_sim;
	n->sig = g->sig;
	if (g->key_value != NULL) {
		copy_str(n->key, sizeof(n->key), g->key_value);
		n->key_len = strlen(g->key_value);
	}
	n->count_new = g->count_new;
	n->count_total = g->count_total;
	n->first_seen = g->first_seen;
	n->last_seen = g->last_seen;
	n->nexamples = g->nexamples;
	n->nqueue_ids = g->nqueue_ids;
	n->nfields = g->nfields;
	if (g->nexamples > 0) {
		copy_str(n->example_last, sizeof(n->example_last), g->examples[g->nexamples - 1]);
		n->example_last_len = strlen(g->examples[g->nexamples - 1]);
	}
	if (g->nqueue_ids > 0)
		copy_str(n->id_last, sizeof(n->id_last), g->queue_ids[g->nqueue_ids - 1]);
	for (size_t i = 0; i < g->nfields; i++) {
		if (strcmp(g->fields[i].name, "relay_host") == 0)
			copy_str(n->relay_host, sizeof(n->relay_host), g->fields[i].value);
		if (strcmp(g->fields[i].name, "cap") == 0) {
			copy_str(n->capture, sizeof(n->capture), g->fields[i].value);
			n->capture_len = strlen(g->fields[i].value);
		}
	}
	n->severity = g->severity;
	copy_str(n->hostname, sizeof(n->hostname), g->hostname);
	copy_str(n->file, sizeof(n->file), g->file);
}

static void
notes_reset(void)
{
	nnotes = 0;
	sum_new = 0;
	bounds_bad = 0;
}

/* ---- building occurrences ---- */

static char id_a[] = "test-a", id_b[] = "test-b"; /* char *, not literals: -Wwrite-strings */
static struct mt_signature sig_a = { .id = id_a, .title = id_a, .severity = MT_SEV_WARNING };
static struct mt_signature sig_b = { .id = id_b, .title = id_b, .severity = MT_SEV_ERROR };

struct occ {
	char line[1024];
	struct mt_logrec rec;
	struct mt_match m;
	struct mt_alert a;
};

/* A Postfix deferral with queue id qid and relay host relay. */
static const struct mt_alert *
occ_make(struct occ *o, const struct mt_signature *sig, unsigned qid, const char *relay)
{
	int n = snprintf(o->line, sizeof(o->line),
			 "Mar 14 00:00:31 mx1 postfix/smtp[1234]: %05X%05X: to=<u@example.org>, "
			 "relay=%s[192.0.2.1]:25, delay=1, dsn=4.7.28, status=deferred (host %s "
			 "said: 421-4.7.28 rate limited)",
			 0xA0000u + (qid >> 20), qid & 0xFFFFF, relay, relay);

	if (n < 0 || (size_t)n >= sizeof(o->line))
		abort();
	mt_logline_parse(o->line, (size_t)n, &o->rec);
	memset(&o->m, 0, sizeof(o->m));
	o->m.sig = sig;
	o->a = (struct mt_alert){
		.match = &o->m,
		.rec = &o->rec,
		.line = o->line,
		.len = (size_t)n,
		.file = "/var/log/mail.log",
		.locale = MT_LOCALE_EN,
		.hostname = "mtalert-host",
	};
	return &o->a;
}

static struct mt_group_params
params(void)
{
	struct mt_group_params p;

	mt_group_params_default(&p);
	return p;
}

/* The daemon's timer: tick at every deadline up to t, then set the clock to t. */
static void
run_until(struct mt_grouper *g, double t)
{
	double d;

	while ((d = mt_grouper_next_deadline(g)) >= 0 && d <= t) {
		now_sim = d;
		mt_grouper_tick(g, d);
	}
	now_sim = t;
}

static void
offer_at(struct mt_grouper *g, double t, const struct mt_signature *sig, const char *key_name,
	 const char *key_value, unsigned qid)
{
	struct occ o;
	const char *relay = key_value && strlen(key_value) < 100 ? key_value : "mx.example.org";

	run_until(g, t);
	mt_grouper_offer(g, occ_make(&o, sig, qid, relay), key_name, key_value, t);
}

static bool
dbl_eq(double a, double b)
{
	return a - b < 1e-9 && b - a < 1e-9;
}

/* ---- SipHash-2-4: the reference vectors (key 00..0f, message 00..n-1) ---- */

static const uint64_t sip_vectors[64] = {
	0x726fdb47dd0e0e31, 0x74f839c593dc67fd, 0x0d6c8009d9a94f5a, 0x85676696d7fb7e2d,
	0xcf2794e0277187b7, 0x18765564cd99a68d, 0xcbc9466e58fee3ce, 0xab0200f58b01d137,
	0x93f5f5799a932462, 0x9e0082df0ba9e4b0, 0x7a5dbbc594ddb9f3, 0xf4b32f46226bada7,
	0x751e8fbc860ee5fb, 0x14ea5627c0843d90, 0xf723ca908e7af2ee, 0xa129ca6149be45e5,
	0x3f2acc7f57c29bdb, 0x699ae9f52cbe4794, 0x4bc1b3f0968dd39c, 0xbb6dc91da77961bd,
	0xbed65cf21aa2ee98, 0xd0f2cbb02e3b67c7, 0x93536795e3a33e88, 0xa80c038ccd5ccec8,
	0xb8ad50c6f649af94, 0xbce192de8a85b8ea, 0x17d835b85bbb15f3, 0x2f2e6163076bcfad,
	0xde4daaaca71dc9a5, 0xa6a2506687956571, 0xad87a3535c49ef28, 0x32d892fad841c342,
	0x7127512f72f27cce, 0xa7f32346f95978e3, 0x12e0b01abb051238, 0x15e034d40fa197ae,
	0x314dffbe0815a3b4, 0x027990f029623981, 0xcadcd4e59ef40c4d, 0x9abfd8766a33735c,
	0x0e3ea96b5304a7d0, 0xad0c42d6fc585992, 0x187306c89bc215a9, 0xd4a60abcf3792b95,
	0xf935451de4f21df2, 0xa9538f0419755787, 0xdb9acddff56ca510, 0xd06c98cd5c0975eb,
	0xe612a3cb9ecba951, 0xc766e62cfcadaf96, 0xee64435a9752fe72, 0xa192d576b245165a,
	0x0a8787bf8ecb74b2, 0x81b3e73d20b49b6f, 0x7fa8220ba3b2ecea, 0x245731c13ca42499,
	0xb78dbfaf3a8d83bd, 0xea1ad565322a1a0b, 0x60e61c23a3795013, 0x6606d7e446282b93,
	0x6ca4ecb15c5f91e1, 0x9f626da15c9625f3, 0xe51b38608ef25f57, 0x958a324ceb064572,
};

static void
test_siphash(void)
{
	uint8_t msg[64];
	size_t bad = 0;

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	for (size_t n = 0; n < 64; n++) {
		uint64_t got = mt_group_siphash24(test_key, msg, n);

		if (got != sip_vectors[n]) {
			diag("len %zu: got %016llx, want %016llx", n, (unsigned long long)got,
			     (unsigned long long)sip_vectors[n]);
			bad++;
		}
	}
	ok(bad == 0, "siphash-2-4: 64 reference vectors (empty -> %016llx)",
	   (unsigned long long)mt_group_siphash24(test_key, "", 0));
}

/* ---- params ---- */

static void
test_params(void)
{
	static const struct {
		const char *name;
		double group_wait, window;
		uint32_t min_count;
		size_t max_groups;
		int want;
	} cases[] = {
		{ "defaults", 10, 60, 1, 10000, 0 },
		{ "negative wait", -1, 60, 1, 10000, -1 },
		{ "min_count 0", 10, 60, 0, 10000, -1 },
		{ "min_count above max", 10, 60, MT_GROUP_MIN_COUNT_MAX + 1, 10000, -1 },
		{ "min_count without window", 10, 0, 3, 10000, -1 },
		{ "min_count 1 without window", 10, 0, 1, 10000, 0 },
		{ "max_groups 0", 10, 60, 1, 0, -1 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mt_group_params p = params();
		const char *why = NULL;
		int got;

		p.group_wait = cases[i].group_wait;
		p.window = cases[i].window;
		p.min_count = cases[i].min_count;
		p.max_groups = cases[i].max_groups;
		got = mt_group_params_check(&p, &why) < 0 ? -1 : 0;
		ok(got == cases[i].want, "params %s: got %d, want %d (%s)", cases[i].name, got,
		   cases[i].want, why ? why : "ok");
	}
}

/* ---- schedule ---- */

static void
test_first_and_resolve(void)
{
	struct mt_group_params p = params();
	struct mt_grouper *g = mt_grouper_new(&p, test_key, on_emit, NULL);
	double d;

	notes_reset();
	ok(mt_grouper_next_deadline(g) < 0, "idle: next_deadline negative");
	offer_at(g, 1000, &sig_a, NULL, NULL, 1);
	d = mt_grouper_next_deadline(g);
	ok(dbl_eq(d, 1010), "next_deadline = offer + group_wait: got %.3f, want 1010", d);
	now_sim = 1009.999;
	mt_grouper_tick(g, 1009.999);
	ok(nnotes == 0, "nothing before group_wait (got %zu notes)", nnotes);
	run_until(g, 1010);
	ok(nnotes == 1 && notes[0].ev == MT_GROUP_FIRST && notes[0].count_new == 1 &&
		   notes[0].count_total == 1 && dbl_eq(notes[0].at, 1010),
	   "FIRST at group_wait, count 1/1");
	ok(notes[0].nexamples == 1 && notes[0].nqueue_ids == 1 &&
		   strcmp(notes[0].relay_host, "mx.example.org") == 0 &&
		   strcmp(notes[0].hostname, "mtalert-host") == 0 &&
		   strcmp(notes[0].file, "/var/log/mail.log") == 0 &&
		   notes[0].severity == MT_SEV_WARNING && dbl_eq(notes[0].first_seen, 1000),
	   "FIRST carries example, id, fields, hostname, file, severity (relay_host '%s')",
	   notes[0].relay_host);
	d = mt_grouper_next_deadline(g);
	ok(dbl_eq(d, 1310), "next check at FIRST + group_interval: got %.3f, want 1310", d);
	run_until(g, 1310);
	ok(nnotes == 1, "no UPDATE without new occurrences");
	d = mt_grouper_next_deadline(g);
	ok(dbl_eq(d, 1900), "then resolve at last_seen + resolve_after: got %.3f, want 1900", d);
	run_until(g, 1899.5);
	ok(nnotes == 1, "not resolved before resolve_after");
	run_until(g, 1900);
	ok(nnotes == 2 && notes[1].ev == MT_GROUP_RESOLVED && notes[1].count_new == 0 &&
		   notes[1].count_total == 1 && notes[1].nexamples == 0,
	   "RESOLVED after resolve_after quiet, count_new 0");
	ok(mt_grouper_next_deadline(g) < 0 && mt_grouper_stats(g)->groups == 0,
	   "group forgotten, nothing pending");
	ok(mt_grouper_stats(g)->notifications == 2 && sum_new == 1,
	   "invariant: 1 offered, 1 notified");
	g = mt_grouper_free(g);
}

static void
test_burst_and_storm_schedule(void)
{
	static const struct {
		enum mt_group_event ev;
		double at;
	} want[] = {
		{ MT_GROUP_FIRST, 10 },	     { MT_GROUP_UPDATE, 310 },
		{ MT_GROUP_REMINDER, 3910 }, { MT_GROUP_REMINDER, 7510 },
		{ MT_GROUP_RESOLVED, 8100 },
	};
	struct mt_group_params p = params();
	struct mt_grouper *g = mt_grouper_new(&p, test_key, on_emit, NULL);
	unsigned q = 0;
	bool same = true;

	notes_reset();
	/* A burst: 100 lines in 5 s. */
	for (int i = 0; i < 100; i++)
		offer_at(g, i * 0.05, &sig_a, "relay", "mx.example.org", q++);
	run_until(g, 10);
	ok(nnotes == 1 && notes[0].ev == MT_GROUP_FIRST && notes[0].count_new == 100,
	   "a burst of 100 becomes one FIRST (got %zu notes, count %llu)", nnotes,
	   nnotes ? (unsigned long long)notes[0].count_new : 0ULL);
	ok(notes[0].nexamples == MT_GROUP_EXAMPLES_MAX && notes[0].nqueue_ids == MT_GROUP_IDS_MAX,
	   "examples and ids bounded: got %zu, %zu", notes[0].nexamples, notes[0].nqueue_ids);
	ok(strcmp(notes[0].id_last, "A000000063") == 0 &&
		   strstr(notes[0].example_last, "A000000063:"),
	   "newest id and example last (got '%s')", notes[0].id_last);

	/* The storm goes on: one line every 10 s until 7200. */
	for (double t = 10; t <= 7200; t += 10)
		offer_at(g, t, &sig_a, "relay", "mx.example.org", q++);
	run_until(g, 20000);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		if (i >= nnotes || notes[i].ev != want[i].ev || !dbl_eq(notes[i].at, want[i].at)) {
			diag("note %zu: got %s at %.1f, want %s at %.1f", i,
			     i < nnotes ? mt_group_event_name(notes[i].ev) : "none",
			     i < nnotes ? notes[i].at : -1, mt_group_event_name(want[i].ev),
			     want[i].at);
			same = false;
		}
	}
	ok(same && nnotes == 5,
	   "FIRST, UPDATE after group_interval, REMINDERs every repeat_interval, RESOLVED");
	ok(sum_new == q && mt_grouper_stats(g)->offered == q,
	   "count_new add up to the %u offered: got %llu", q, (unsigned long long)sum_new);
	ok(nnotes == 5 && notes[4].count_total == q, "count_total is every occurrence");
	g = mt_grouper_free(g);
}

static void
test_resolved_carries_unnotified(void)
{
	struct mt_group_params p = params();
	struct mt_grouper *g = mt_grouper_new(&p, test_key, on_emit, NULL);

	notes_reset();
	offer_at(g, 0, &sig_a, NULL, NULL, 1);
	offer_at(g, 100, &sig_a, NULL, NULL, 2);
	offer_at(g, 400, &sig_a, NULL, NULL, 3); /* after the UPDATE at 310? no: 100 went in it */
	run_until(g, 100000);
	ok(nnotes == 3 && notes[0].ev == MT_GROUP_FIRST && notes[1].ev == MT_GROUP_UPDATE &&
		   notes[2].ev == MT_GROUP_RESOLVED,
	   "FIRST, UPDATE, RESOLVED (got %zu notes)", nnotes);
	ok(nnotes == 3 && notes[1].count_new == 1 && notes[2].count_new == 1 &&
		   notes[2].nexamples == 1 && dbl_eq(notes[2].at, 1300),
	   "RESOLVED at 1300 carries the occurrence the UPDATE did not (count_new 1)");
	ok(sum_new == 3, "invariant holds: %llu", (unsigned long long)sum_new);

	/* A group woken after an idle check is batched by group_wait. */
	notes_reset();
	offer_at(g, 200000, &sig_a, NULL, NULL, 1);
	run_until(g, 200000 + 400); /* FIRST at +10, idle check at +310 */
	offer_at(g, 200500, &sig_a, NULL, NULL, 2);
	run_until(g, 200509);
	ok(nnotes == 1, "woken group: nothing before group_wait");
	run_until(g, 200510);
	ok(nnotes == 2 && notes[1].ev == MT_GROUP_UPDATE && notes[1].count_new == 1,
	   "woken group: UPDATE at occurrence + group_wait");
	g = mt_grouper_free(g);
}

static void
test_resolve_after_zero(void)
{
	struct mt_group_params p = params();
	struct mt_grouper *g;

	p.resolve_after = 0;
	g = mt_grouper_new(&p, test_key, on_emit, NULL);
	notes_reset();
	offer_at(g, 0, &sig_a, NULL, NULL, 1);
	run_until(g, 10);
	ok(nnotes == 1 && mt_grouper_stats(g)->groups == 1, "resolve_after 0: FIRST");
	ok(dbl_eq(mt_grouper_next_deadline(g), 310), "resolve_after 0: check at group_interval");
	run_until(g, 310);
	ok(nnotes == 1 && mt_grouper_stats(g)->groups == 0 && mt_grouper_next_deadline(g) < 0,
	   "resolve_after 0: forgotten silently at the first empty check");
	offer_at(g, 400, &sig_a, NULL, NULL, 2);
	run_until(g, 410);
	ok(nnotes == 2 && notes[1].ev == MT_GROUP_FIRST && notes[1].count_total == 1,
	   "resolve_after 0: a later occurrence starts a new group");
	g = mt_grouper_free(g);
}

static void
test_keys(void)
{
	struct mt_group_params p = params();
	struct mt_grouper *g = mt_grouper_new(&p, test_key, on_emit, NULL);
	size_t nfirst = 0;
	uint64_t got_a = 0;

	notes_reset();
	offer_at(g, 0, &sig_a, "relay", "a.example", 1);
	offer_at(g, 1, &sig_a, "relay", "b.example", 2);
	offer_at(g, 2, &sig_a, "relay", "a.example", 3);
	offer_at(g, 3, &sig_a, NULL, NULL, 4);
	offer_at(g, 4, &sig_b, "relay", "a.example", 5);
	offer_at(g, 5, &sig_a, "domain", "a.example", 6);
	offer_at(g, 6, &sig_a, "relay", "", 7);
	offer_at(g, 7, &sig_a, "relay", NULL, 8); /* NULL value counts as "" */
	ok(mt_grouper_stats(g)->groups == 6, "6 distinct keys make 6 groups: got %llu",
	   (unsigned long long)mt_grouper_stats(g)->groups);
	run_until(g, 100);
	for (size_t i = 0; i < nnotes; i++) {
		if (notes[i].ev == MT_GROUP_FIRST)
			nfirst++;
		if (notes[i].sig == &sig_a && strcmp(notes[i].key, "a.example") == 0 &&
		    notes[i].ev == MT_GROUP_FIRST && notes[i].count_new == 2)
			got_a++;
	}
	ok(nfirst == 6 && got_a == 1, "one FIRST per group; relay a.example has 2 (got %zu, %llu)",
	   nfirst, (unsigned long long)got_a);
	ok(nnotes == 6 && dbl_eq(notes[0].at, 10) && dbl_eq(notes[5].at, 16),
	   "each group's FIRST at its own group_wait");
	g = mt_grouper_free(g);
}

static void
test_min_count(void)
{
	struct mt_group_params p = params();
	struct mt_grouper *g;
	double d;

	p.min_count = 3;
	p.window = 60;
	g = mt_grouper_new(&p, test_key, on_emit, NULL);
	notes_reset();
	offer_at(g, 0, &sig_a, NULL, NULL, 1);
	offer_at(g, 30, &sig_a, NULL, NULL, 2);
	d = mt_grouper_next_deadline(g);
	ok(dbl_eq(d, 90), "pending group: deadline at newest + window: got %.1f", d);
	run_until(g, 200);
	ok(nnotes == 0 && mt_grouper_stats(g)->below_min_count == 2 &&
		   mt_grouper_stats(g)->groups == 0,
	   "2 of 3 in window: never notified, counted below_min_count, forgotten");

	/* Boundary: an occurrence at t counts until t + window, exclusive. */
	offer_at(g, 1000, &sig_a, NULL, NULL, 3);
	offer_at(g, 1030, &sig_a, NULL, NULL, 4);
	offer_at(g, 1060, &sig_a, NULL, NULL, 5);
	run_until(g, 1100);
	ok(nnotes == 0, "3 spanning exactly window: not started");
	offer_at(g, 1089.5, &sig_a, NULL, NULL, 6);
	run_until(g, 1099.4);
	ok(nnotes == 0, "started at the 3rd within window: FIRST not before group_wait");
	run_until(g, 1099.5);
	ok(nnotes == 1 && notes[0].ev == MT_GROUP_FIRST && notes[0].count_new == 3 &&
		   notes[0].count_total == 3 && dbl_eq(notes[0].first_seen, 1030),
	   "FIRST with the 3 in window, first_seen the oldest of them (got %llu, %.1f)",
	   nnotes ? (unsigned long long)notes[0].count_new : 0ULL,
	   nnotes ? notes[0].first_seen : 0);
	ok(nnotes == 1 && notes[0].nexamples == 3 && strstr(notes[0].example_last, "A000000006:"),
	   "examples are the 3 in window, not the expired one (got %zu)", notes[0].nexamples);
	ok(mt_grouper_stats(g)->below_min_count == 3,
	   "the expired one counted: below_min_count %llu",
	   (unsigned long long)mt_grouper_stats(g)->below_min_count);
	/* Once started, each occurrence counts. */
	offer_at(g, 1200, &sig_a, NULL, NULL, 7);
	run_until(g, 5000);
	ok(nnotes == 3 && notes[1].ev == MT_GROUP_UPDATE && notes[1].count_new == 1 &&
		   notes[2].ev == MT_GROUP_RESOLVED,
	   "started group: single occurrences count");
	ok(sum_new + mt_grouper_stats(g)->below_min_count == mt_grouper_stats(g)->offered,
	   "offered = notified + below_min_count");
	g = mt_grouper_free(g);
}

static void
test_eviction(void)
{
	struct mt_group_params p = params();
	struct mt_grouper *g;
	const struct mt_grouper_stats *st;

	p.max_groups = 3;
	g = mt_grouper_new(&p, test_key, on_emit, NULL);
	st = mt_grouper_stats(g);
	notes_reset();
	offer_at(g, 0, &sig_a, "relay", "k1", 1);
	offer_at(g, 1, &sig_a, "relay", "k2", 2);
	offer_at(g, 2, &sig_a, "relay", "k3", 3);
	offer_at(g, 3, &sig_a, "relay", "k1", 4);
	offer_at(g, 4, &sig_a, "relay", "k4", 5); /* evicts k2, the least recently active */
	ok(nnotes == 1 && notes[0].ev == MT_GROUP_FLUSH && strcmp(notes[0].key, "k2") == 0 &&
		   notes[0].count_new == 1 && notes[0].count_total == 1 && st->evicted == 1,
	   "full table: the LRU group is FLUSHed at once with its count");
	run_until(g, 20); /* FIRSTs of k1 (2), k3, k4 */
	ok(nnotes == 4 && notes[1].count_new == 2, "the others go on: 3 FIRSTs");
	offer_at(g, 21, &sig_a, "relay", "k1", 6);
	offer_at(g, 22, &sig_a, "relay", "k1", 7);
	offer_at(g, 23, &sig_a, "relay", "k5", 8); /* evicts k3: all notified, no notice */
	offer_at(g, 24, &sig_a, "relay", "k6", 9); /* evicts k4: likewise */
	ok(nnotes == 4 && st->evicted == 3, "evicting fully notified groups emits nothing");
	offer_at(g, 25, &sig_a, "relay", "k7", 10); /* evicts k1: 2 unnotified */
	ok(nnotes == 5 && notes[4].ev == MT_GROUP_FLUSH && strcmp(notes[4].key, "k1") == 0 &&
		   notes[4].count_new == 2 && notes[4].count_total == 4,
	   "evicted notified group: FLUSH with count_new 2, count_total 4");
	ok(st->groups == 3, "table stays at max_groups");
	now_sim = 26;
	mt_grouper_flush(g, 26);
	ok(sum_new == 10 && st->offered == 10, "invariant over evictions: got %llu of 10",
	   (unsigned long long)sum_new);
	g = mt_grouper_free(g);
}

static void
test_flush(void)
{
	struct mt_group_params p = params();
	struct mt_grouper *g;
	const struct mt_grouper_stats *st;
	size_t nflush = 0;

	p.min_count = 2;
	g = mt_grouper_new(&p, test_key, on_emit, NULL);
	st = mt_grouper_stats(g);
	notes_reset();
	offer_at(g, 0, &sig_a, "relay", "notified", 1);
	offer_at(g, 0, &sig_a, "relay", "notified", 2);
	offer_at(g, 1, &sig_a, "relay", "pending", 3);
	offer_at(g, 1, &sig_a, "relay", "pending", 4);
	offer_at(g, 30, &sig_a, "relay", "pending", 5);
	run_until(g, 30);
	offer_at(g, 40, &sig_a, "relay", "fresh", 6);
	offer_at(g, 41, &sig_a, "relay", "fresh", 7);
	offer_at(g, 42, &sig_a, "relay", "below", 8);
	ok(nnotes == 2, "before shutdown: 2 FIRSTs");
	now_sim = 43;
	mt_grouper_flush(g, 43);
	for (size_t i = 2; i < nnotes; i++)
		nflush += notes[i].ev == MT_GROUP_FLUSH;
	ok(nnotes == 4 && nflush == 2,
	   "flush: one FLUSH per group with unnotified occurrences (got %zu)", nflush);
	ok(st->groups == 0 && mt_grouper_next_deadline(g) < 0, "flush empties the grouper");
	ok(sum_new + st->below_min_count == 8 && st->below_min_count == 1,
	   "flush keeps the invariant: %llu notified + %llu below min_count",
	   (unsigned long long)sum_new, (unsigned long long)st->below_min_count);
	g = mt_grouper_free(g);
}

/* Copies, caps, hostile input. */
static void
test_copies_and_caps(void)
{
	struct mt_group_params p = params();
	struct mt_grouper *g = mt_grouper_new(&p, test_key, on_emit, NULL);
	size_t big = 1024 * 1024;
	char *hostile = malloc(big + 1), *hostile2 = malloc(big + 1), *line = malloc(big + 1);
	char keybuf[32], want_line[1024];
	struct occ o;
	const struct mt_alert *a;

	if (hostile == NULL || hostile2 == NULL || line == NULL)
		abort();
	notes_reset();

	/* Mutating the line and the key after offer changes nothing. */
	a = occ_make(&o, &sig_a, 42, "mx.example.org");
	memcpy(want_line, o.line, sizeof(want_line));
	snprintf(keybuf, sizeof(keybuf), "relay-x");
	mt_grouper_offer(g, a, "relay", keybuf, 0);
	memset(o.line, 'X', sizeof(o.line) - 1);
	memset(&o.rec, 0xff, sizeof(o.rec));
	memset(keybuf, 'Y', sizeof(keybuf) - 1);
	run_until(g, 10);
	ok(nnotes == 1 && strcmp(notes[0].example_last, want_line) == 0 &&
		   strcmp(notes[0].key, "relay-x") == 0 &&
		   strcmp(notes[0].id_last, "A00000002A") == 0 &&
		   strcmp(notes[0].relay_host, "mx.example.org") == 0,
	   "example, key, id and fields are copies");

	/* A 1 MB key value is cut; values equal in the first MT_GROUP_TEXT_MAX bytes share a group. */
	memset(hostile, 'a', big);
	hostile[big] = '\0';
	memcpy(hostile2, hostile, big + 1);
	hostile2[big - 1] = 'b';
	offer_at(g, 20, &sig_a, "relay", hostile, 1);
	offer_at(g, 21, &sig_a, "relay", hostile2, 2);
	run_until(g, 31);
	ok(nnotes == 2 && notes[1].key_len == MT_GROUP_TEXT_MAX && notes[1].count_new == 2,
	   "1 MB key value cut to %d bytes (got %zu), one group", MT_GROUP_TEXT_MAX,
	   nnotes == 2 ? notes[1].key_len : 0);

	/* Cut on a UTF-8 boundary: 3-byte characters. */
	for (size_t i = 0; i + 3 <= big; i += 3)
		memcpy(hostile + i, "\xe2\x82\xac", 3);
	hostile[big - big % 3] = '\0';
	offer_at(g, 40, &sig_a, "relay", hostile, 3);
	run_until(g, 50);
	ok(nnotes == 3 && notes[2].key_len == MT_GROUP_TEXT_MAX / 3 * 3,
	   "cut on a character boundary: got %zu, want %d", nnotes == 3 ? notes[2].key_len : 0,
	   MT_GROUP_TEXT_MAX / 3 * 3);

	/* A 1 MB line and a 1 MB capture are cut too. */
	memset(line, 'L', big);
	line[big] = '\0';
	a = occ_make(&o, &sig_b, 7, "mx.example.org");
	o.a.line = line;
	o.a.len = big;
	o.m.ncaptures = 1;
	o.m.captures[0].name = "cap";
	o.m.captures[0].v = (struct mt_view){ line, big };
	o.a.has_severity = true;
	o.a.severity = MT_SEV_CRITICAL;
	mt_grouper_offer(g, a, NULL, NULL, 60);
	memset(line, 'Z', big);
	run_until(g, 70);
	ok(nnotes == 4 && notes[3].example_last_len == MT_GROUP_TEXT_MAX &&
		   notes[3].example_last[0] == 'L' && notes[3].capture_len == MT_GROUP_FIELD_MAX &&
		   notes[3].capture[0] == 'L',
	   "1 MB line cut to %d, capture field to %d", MT_GROUP_TEXT_MAX, MT_GROUP_FIELD_MAX);
	ok(nnotes == 4 && notes[3].severity == MT_SEV_CRITICAL, "severity override carried");
	ok(bounds_bad == 0, "every notification within bounds");
	free(hostile);
	free(hostile2);
	free(line);
	g = mt_grouper_free(g);
}

/* Catalog reload: groups follow the new catalog; a vanished signature is flushed. */
static void
test_set_catalog(const char *sigdir)
{
	const char *paths[1] = { sigdir };
	struct mt_group_params p = params();
	struct mt_catalog *c1, *c2;
	struct mt_grouper *g;
	struct mt_diag d;

	mt_diag_init(&d);
	c1 = mt_catalog_load(paths, 1, &d);
	c2 = mt_catalog_load(paths, 1, &d);
	if (mt_catalog_count(c1) < 2) {
		ok(false, "catalog %s loads", sigdir);
		goto out;
	}
	g = mt_grouper_new(&p, test_key, on_emit, NULL);
	notes_reset();
	offer_at(g, 0, mt_catalog_get(c1, 0), NULL, NULL, 1);
	offer_at(g, 0, mt_catalog_get(c1, 1), NULL, NULL, 2);
	offer_at(g, 0, &sig_a, NULL, NULL, 3);
	run_until(g, 10);
	offer_at(g, 11, &sig_a, NULL, NULL, 4);
	now_sim = 12;
	mt_grouper_set_catalog(g, c2, 12);
	ok(nnotes == 4 && notes[3].ev == MT_GROUP_FLUSH && notes[3].sig == &sig_a &&
		   notes[3].count_new == 1,
	   "reload: a group whose signature is gone is FLUSHed");
	c1 = mt_catalog_free(c1); /* ASan: nothing may point into it now */
	offer_at(g, 20, mt_catalog_get(c2, 0), NULL, NULL, 5);
	run_until(g, 400);
	ok(nnotes == 5 && notes[4].ev == MT_GROUP_UPDATE && notes[4].sig == mt_catalog_get(c2, 0) &&
		   notes[4].count_total == 2,
	   "reload: groups continue under the new catalog's signature");
	mt_grouper_flush(g, 400);
	g = mt_grouper_free(g);
out:
	mt_catalog_free(c1);
	mt_catalog_free(c2);
	mt_diag_fini(&d);
}

/* ---- the storm ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15;

static uint64_t
rng(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * UINT64_C(2685821657736338717);
}

#define STORM_GROUPS 50
#define STORM_N	     100000

/* Per storm group: the last notification seen, to check spacing and count_total. */
struct storm_track {
	double last_at;
	enum mt_group_event last_ev;
	uint64_t sum; /* count_new since the group (instance) began */
	bool live;
	unsigned nbad;
};

static struct storm_track track[STORM_GROUPS];
static const struct mt_group_params *storm_p;
static uint64_t storm_by_ev[MT_GROUP_FLUSH + 1];

static void
storm_emit(void *ctx, const struct mt_alert_group *g)
{
	struct mt_signature *sigs = ctx;
	size_t s = (size_t)(g->sig - sigs);
	unsigned k = (unsigned)strtoul(g->key_value + 6, NULL, 10); /* "relay-N" */
	struct storm_track *t = &track[(s * 10 + k) % STORM_GROUPS];

	on_emit(NULL, g);
	storm_by_ev[g->event]++;
	/* A new group instance: a FIRST, or a FLUSH of a group evicted before its FIRST. */
	if (g->event == MT_GROUP_FIRST ||
	    (g->event == MT_GROUP_FLUSH && g->count_new == g->count_total)) {
		t->sum = 0;
		t->live = true;
	} else if (!t->live) {
		t->nbad++; /* UPDATE/REMINDER/RESOLVED of no group */
	}
	t->sum += g->count_new;
	if (t->sum != g->count_total)
		t->nbad++;
	if (g->event == MT_GROUP_UPDATE &&
	    (t->last_ev != MT_GROUP_FIRST || now_sim - t->last_at < storm_p->group_interval - 1e-6))
		t->nbad++;
	if (g->event == MT_GROUP_REMINDER && now_sim - t->last_at < storm_p->repeat_interval - 1e-6)
		t->nbad++;
	if (g->event == MT_GROUP_RESOLVED || g->event == MT_GROUP_FLUSH)
		t->live = false;
	t->last_at = now_sim;
	t->last_ev = g->event;
}

static void
storm(const char *name, const struct mt_group_params *pp, uint64_t max_notifications)
{
	struct mt_signature sigs[5];
	char ids[5][24];
	struct mt_group_params p = *pp;
	struct mt_grouper *g;
	const struct mt_grouper_stats *st;
	double t = 0, weights[STORM_GROUPS], wsum = 0;
	unsigned nbad = 0;
	uint64_t n = 0;

	for (unsigned i = 0; i < 5; i++) {
		snprintf(ids[i], sizeof(ids[i]), "storm-%u", i);
		sigs[i] = (struct mt_signature){ .id = ids[i], .severity = MT_SEV_ERROR };
	}
	for (int i = 0; i < STORM_GROUPS; i++) {
		weights[i] = 1.0 / (i + 1); /* a Zipf mix: one loud group, many quiet ones */
		wsum += weights[i];
	}
	storm_p = &p;
	rng_state = 0x9e3779b97f4a7c15;
	memset(storm_by_ev, 0, sizeof(storm_by_ev));
	g = mt_grouper_new(&p, test_key, storm_emit, sigs);
	st = mt_grouper_stats(g);
	notes_reset();
	memset(track, 0, sizeof(track));
	/* 100,000 lines over about 6 simulated hours (mean gap 0.216 s, bursts and lulls). */
	while (n < STORM_N) {
		double r = (double)(rng() >> 11) / 9007199254740992.0, acc = 0;
		size_t gi = 0;
		char key[32];
		struct occ o;

		t += (rng() % 1000 == 0) ? 120 : 0.432 * (double)(rng() % 1000) / 1000.0;
		r *= wsum;
		while (gi + 1 < STORM_GROUPS && (acc += weights[gi]) < r)
			gi++;
		/* Each group rests 30 min of every 2 h, staggered: groups resolve and return. */
		if ((unsigned)(t / 1800 + (double)gi) % 4 == 0)
			continue;
		snprintf(key, sizeof(key), "relay-%zu", gi % 10);
		run_until(g, t);
		mt_grouper_offer(g, occ_make(&o, &sigs[gi / 10], (unsigned)n, key), "relay", key,
				 t);
		n++;
	}
	run_until(g, t + 86400);
	now_sim = t + 86400;
	mt_grouper_flush(g, now_sim);
	for (int i = 0; i < STORM_GROUPS; i++)
		nbad += track[i].nbad;
	diag("storm %s: %llu occurrences in %.1f h across %d keys -> %llu notifications "
	     "(first %llu, update %llu, reminder %llu, resolved %llu, flush %llu), "
	     "%llu below min_count, %llu evicted",
	     name, (unsigned long long)n, t / 3600, STORM_GROUPS,
	     (unsigned long long)st->notifications, (unsigned long long)storm_by_ev[MT_GROUP_FIRST],
	     (unsigned long long)storm_by_ev[MT_GROUP_UPDATE],
	     (unsigned long long)storm_by_ev[MT_GROUP_REMINDER],
	     (unsigned long long)storm_by_ev[MT_GROUP_RESOLVED],
	     (unsigned long long)storm_by_ev[MT_GROUP_FLUSH],
	     (unsigned long long)st->below_min_count, (unsigned long long)st->evicted);
	ok(sum_new + st->below_min_count == STORM_N && st->offered == STORM_N,
	   "storm %s: count_new + below_min_count add up to exactly %d (got %llu + %llu)", name,
	   STORM_N, (unsigned long long)sum_new, (unsigned long long)st->below_min_count);
	ok(st->notifications <= max_notifications,
	   "storm %s: bounded notifications (got %llu, want <= %llu)", name,
	   (unsigned long long)st->notifications, (unsigned long long)max_notifications);
	ok(nbad == 0,
	   "storm %s: per group count_total and spacing of UPDATE/REMINDER hold (%u bad)", name,
	   nbad);
	ok(bounds_bad == 0 && st->groups == 0, "storm %s: every notification within bounds", name);
	g = mt_grouper_free(g);
}

static void
test_storm(void)
{
	static const struct {
		const char *name;
		uint32_t min_count;
		double window;
		size_t max_groups;
		double resolve_after;
		uint64_t max_notifications;
	} cases[] = {
		{ "defaults", 1, 60, 10000, 900, 1500 },
		{ "min_count 20/60s", 20, 60, 10000, 900, 1500 },
		{ "no resolve", 1, 60, 10000, 0, 1500 },
		/* A table too small for the keys: every eviction with news is a FLUSH. */
		{ "max_groups 20", 1, 60, 20, 900, STORM_N },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct mt_group_params p = params();

		p.min_count = cases[i].min_count;
		p.window = cases[i].window;
		p.max_groups = cases[i].max_groups;
		p.resolve_after = cases[i].resolve_after;
		storm(cases[i].name, &p, cases[i].max_notifications);
	}
}

int
main(int argc, char **argv)
{
	test_siphash();
	test_params();
	test_first_and_resolve();
	test_burst_and_storm_schedule();
	test_resolved_carries_unnotified();
	test_resolve_after_zero();
	test_keys();
	test_min_count();
	test_eviction();
	test_flush();
	test_copies_and_caps();
	if (argc > 1)
		test_set_catalog(argv[1]);
	test_storm();
	return tap_done();
}
