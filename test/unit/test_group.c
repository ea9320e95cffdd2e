/*
 * Unit tests for group.c.  argv[1] (optional): the signatures directory, for
 * the catalog-reload case.  Time is simulated: run_until() plays the
 * daemon's timer, ticking at each deadline mt_grouper_next_deadline() gives.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert.h"
#include "alert/alert_group.h"
#include "alert/group.h"
#include "match/catalog.h"
#include "match/matcher.h"
#include "parse/logline.h"
#include "tap.h"
#include "util/xalloc.h"

static struct mt_catalog *cat; /* from argv[1], for the snapshot tests */

static const uint8_t test_key[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
static const uint8_t other_key[16] = { 0xde, 0xad, 0xbe, 0xef, 4,  5,  6,  7,
				       8,    9,	   10,	 11,   12, 13, 14, 15 };

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
	char hostname[64], log_host[64], file[64];
	uint64_t messages, destinations, repeats;
};

static struct note notes[NOTES_MAX];
static size_t nnotes;
static double now_sim;
static uint64_t sum_new, bounds_bad, nbatches;

static void
copy_str(char *dst, size_t size, const char *src)
{
	if (src == NULL)
		src = "";
	(void)mt_strlcpy(dst, src, size);
}

static void
on_emit_one(void *ctx, const struct mt_alert_group *g)
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
	n->messages = g->messages;
	n->destinations = g->destinations;
	n->repeats = g->repeats;
	copy_str(n->hostname, sizeof(n->hostname), g->hostname);
	copy_str(n->log_host, sizeof(n->log_host), g->log_host);
	copy_str(n->file, sizeof(n->file), g->file);
}

/* The grouper emits a batch: each of its notifications in turn. */
static void
on_emit(void *ctx, const struct mt_alert_group *gs, size_t n)
{
	nbatches++;
	if (n > MT_GROUP_BATCH_MAX)
		bounds_bad++;
	for (size_t i = 0; i < n; i++)
		on_emit_one(ctx, &gs[i]);
}

static void
notes_reset(void)
{
	nnotes = 0;
	sum_new = 0;
	bounds_bad = 0;
	nbatches = 0;
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

static const char *occ_domain = "example.org"; /* the recipient's domain */

/* A Postfix deferral with queue id qid and relay host relay. */
static const struct mt_alert *
occ_make(struct occ *o, const struct mt_signature *sig, unsigned qid, const char *relay)
{
	int n = snprintf(o->line, sizeof(o->line),
			 "Mar 14 00:00:31 mx1 postfix/smtp[1234]: %05X%05X: to=<u@%s>, "
			 "relay=%s[192.0.2.1]:25, delay=1, dsn=4.7.28, status=deferred (host %s "
			 "said: 421-4.7.28 rate limited)",
			 0xA0000u + (qid >> 20), qid & 0xFFFFF, occ_domain, relay, relay);

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

/* Exactly the same double, to the bit (a restored schedule must be). */
static bool
same_bits(double a, double b)
{
	return memcmp(&a, &b, sizeof(a)) == 0;
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
		   strcmp(notes[0].log_host, "mx1") == 0 &&
		   strcmp(notes[0].file, "/var/log/mail.log") == 0 &&
		   notes[0].severity == MT_SEV_WARNING && dbl_eq(notes[0].first_seen, 1000),
	   "FIRST carries example, id, fields, hostname, the line's host, file, severity (relay_host '%s')",
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

/* Different errors starting within group_wait go out together: one batch, one digest. */
static void
test_bursts(void)
{
	struct mt_group_params p = params(); /* group_wait 10, group_interval 300 */
	struct mt_grouper *g = mt_grouper_new(&p, test_key, on_emit, NULL);
	char key[32];

	notes_reset();
	offer_at(g, 0, &sig_a, "relay", "a.example", 1);
	offer_at(g, 5, &sig_b, "relay", "b.example", 2);
	offer_at(g, 9, &sig_b, "relay", "c.example", 3);
	run_until(g, 9.5);
	ok(nnotes == 0, "nothing before the burst's group_wait");
	run_until(g, 10);
	ok(nnotes == 3 && nbatches == 1 && dbl_eq(notes[0].at, 10) && dbl_eq(notes[2].at, 10) &&
		   notes[0].ev == MT_GROUP_FIRST && notes[2].ev == MT_GROUP_FIRST,
	   "3 groups started at 0, 5, 9: their FIRSTs at 10 in one batch (got %zu in %llu)", nnotes,
	   (unsigned long long)nbatches);
	ok(notes[0].sig == &sig_a && strcmp(notes[1].key, "b.example") == 0 &&
		   strcmp(notes[2].key, "c.example") == 0,
	   "the batch is in start order");

	/* The burst went out: the next new group waits its own group_wait... */
	offer_at(g, 12, &sig_a, "relay", "d.example", 4);
	/* ...and one 3 s later joins it, waiting 7 s, never longer than group_wait. */
	offer_at(g, 15, &sig_a, "relay", "e.example", 5);
	ok(dbl_eq(mt_grouper_next_deadline(g), 22), "a second burst opens at 12 + 10: got %.1f",
	   mt_grouper_next_deadline(g));
	run_until(g, 21.9);
	ok(nnotes == 3, "nothing of the second burst before 22");
	run_until(g, 22);
	ok(nnotes == 5 && nbatches == 2 && dbl_eq(notes[4].at, 22),
	   "the second burst: 2 FIRSTs at 22 in one batch (got %zu in %llu)", nnotes,
	   (unsigned long long)nbatches);

	/* A group woken up after an empty check joins an open burst too. */
	offer_at(g, 320, &sig_b, "relay", "f.example", 6); /* opens a burst at 330 */
	offer_at(g, 325, &sig_a, "relay", "a.example",
		 7); /* a.example: idle since its check at 310 */
	run_until(g, 330);
	ok(nnotes == 7 && nbatches == 3 && notes[6].ev == MT_GROUP_FIRST &&
		   notes[5].ev == MT_GROUP_UPDATE && strcmp(notes[5].key, "a.example") == 0,
	   "a woken group's UPDATE joins the open burst (got %zu in %llu)", nnotes,
	   (unsigned long long)nbatches);
	mt_grouper_flush(g, 2000);
	ok(sum_new == mt_grouper_stats(g)->offered, "bursts keep the count invariant");
	g = mt_grouper_free(g);

	/* More due at once than a batch holds: several batches, none over the cap. */
	g = mt_grouper_new(&p, test_key, on_emit, NULL);
	notes_reset();
	for (unsigned i = 0; i < 100; i++) {
		(void)snprintf(key, sizeof(key), "relay-%u.example", i);
		offer_at(g, i * 0.05, &sig_a, "relay", key, i);
	}
	run_until(g, 10);
	ok(nnotes == 100 && nbatches == 2 && bounds_bad == 0,
	   "100 FIRSTs due at once: 2 batches of at most %d (got %zu in %llu)", MT_GROUP_BATCH_MAX,
	   nnotes, (unsigned long long)nbatches);
	mt_grouper_flush(g, 100);
	ok(sum_new == mt_grouper_stats(g)->offered, "count invariant over split batches");
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
	ok(nnotes == 6 && dbl_eq(notes[0].at, 10) && dbl_eq(notes[5].at, 10) && nbatches == 1,
	   "6 groups started within group_wait: every FIRST at 10, in one batch (got %zu, %llu)",
	   nnotes, (unsigned long long)nbatches);
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

/* ---- snapshot and restore ---- */

/* Every notification in full, one record each, so two runs compare byte for byte. */
static void
rec_emit_one(void *ctx, const struct mt_alert_group *g)
{
	struct mt_buf *b = ctx;

	on_emit_one(NULL, g);
	(void)mt_buf_printf(b,
			    "%s at=%a sig=%s sev=%d loc=%d kn=%s kv=[%s] total=%llu new=%llu "
			    "first=%a last=%a host=%s file=%s ex=%zu",
			    mt_group_event_name(g->event), now_sim, g->sig->id, (int)g->severity,
			    (int)g->locale, g->key_name ? g->key_name : "(null)",
			    g->key_value ? g->key_value : "(null)",
			    (unsigned long long)g->count_total, (unsigned long long)g->count_new,
			    g->first_seen, g->last_seen, g->hostname ? g->hostname : "(null)",
			    g->file ? g->file : "(null)", g->nexamples);
	(void)mt_buf_printf(b, " lhost=%s", g->log_host ? g->log_host : "(null)");
	for (size_t i = 0; i < g->nexamples; i++)
		(void)mt_buf_printf(b, " [%s]", g->examples[i]);
	(void)mt_buf_printf(b, " ids=%zu", g->nqueue_ids);
	for (size_t i = 0; i < g->nqueue_ids; i++)
		(void)mt_buf_printf(b, " [%s]", g->queue_ids[i]);
	(void)mt_buf_printf(b, " fields=%zu", g->nfields);
	for (size_t i = 0; i < g->nfields; i++)
		(void)mt_buf_printf(b, " [%s=%s]", g->fields[i].name, g->fields[i].value);
	(void)mt_buf_putc(b, '\n');
}

/* The grouper emits a batch: each of its notifications in turn. */
static void
rec_emit(void *ctx, const struct mt_alert_group *gs, size_t n)
{
	(void)mt_buf_printf(ctx, "batch of %zu\n", n);
	for (size_t i = 0; i < n; i++)
		rec_emit_one(ctx, &gs[i]);
}

struct step {
	double t;
	unsigned sig;	  /* index in the catalog */
	const char *key;  /* NULL: signature only */
	const char *line; /* NULL: a Postfix line made from the key; else line_len bytes */
	size_t line_len;
};

#define HOSTILE_LINE "a\nb\xff\xfe \\x00 group sig=x\r\n,=%s\0after the NUL"

static void
step_offer(struct mt_grouper *g, const struct step *s, unsigned qid)
{
	struct occ o;
	const struct mt_alert *a;

	run_until(g, s->t);
	a = occ_make(&o, mt_catalog_get(cat, s->sig), qid,
		     s->key != NULL && strlen(s->key) < 100 ? s->key : "mx.example.org");
	if (s->line != NULL) {
		o.a.line = s->line;
		o.a.len = s->line_len;
		o.m.ncaptures = 1;
		o.m.captures[0].name = "cap";
		o.m.captures[0].v = (struct mt_view){ s->line, s->line_len };
		o.a.hostname = NULL;
		o.a.locale = MT_LOCALE_ZH;
		o.a.has_severity = true;
		o.a.severity = MT_SEV_CRITICAL;
	}
	mt_grouper_offer(g, a, s->key != NULL ? "relay" : NULL, s->key, s->t);
}

#define SCEN_STEPS 400

struct scenario {
	const char *name;
	uint32_t min_count;
	double resolve_after;
	size_t max_groups;
	double save_at;
	struct step steps[SCEN_STEPS];
	size_t nsteps;
};

static struct scenario scen;

static void
scen_add(double t, unsigned sig, const char *key)
{
	if (scen.nsteps < SCEN_STEPS)
		scen.steps[scen.nsteps++] = (struct step){ t, sig, key, NULL, 0 };
}

static char many_keys[300][16];

/* Fill scen for case i; false past the last case. */
static bool
scen_make(size_t i)
{
	static const char hostile_line[] = HOSTILE_LINE;

	memset(&scen, 0, sizeof(scen));
	scen.min_count = 1;
	scen.resolve_after = 900;
	scen.max_groups = 10000;
	switch (i) {
	case 0:
		scen.name = "mid group_wait";
		scen_add(0, 0, "k");
		scen_add(1, 0, "k");
		scen_add(2, 1, NULL);
		scen.save_at = 5;
		scen_add(6, 0, "k");
		scen_add(12, 0, "k");
		scen_add(400, 0, "k");
		return true;
	case 1:
		scen.name = "after FIRST, unnotified occurrences";
		scen_add(0, 0, "k");
		scen_add(1, 0, "k");
		scen_add(20, 0, "k");
		scen_add(30, 0, "k");
		scen.save_at = 40;
		scen_add(50, 0, "k");
		scen_add(400, 0, "k");
		scen_add(4000, 0, "k");
		return true;
	case 2:
		scen.name = "pending below min_count";
		scen.min_count = 3;
		scen_add(0, 0, "k");
		scen_add(10, 0, "k");
		scen_add(15, 1, "p");
		scen.save_at = 20;
		scen_add(30, 0, "k");
		scen_add(35, 0, "k");
		scen_add(40, 1, "p");
		scen_add(200, 1, "p");
		return true;
	case 3:
		scen.name = "near resolve";
		scen_add(0, 0, "k");
		scen_add(5, 1, "j");
		scen.save_at = 899.75;
		scen_add(899.9, 1, "j");
		scen_add(2000, 0, "k");
		return true;
	case 4:
		scen.name = "idle after an empty check";
		scen_add(0, 0, "k");
		scen.save_at = 400;
		scen_add(500, 0, "k");
		scen_add(505, 0, "k");
		return true;
	case 5:
		scen.name = "resolve_after 0";
		scen.resolve_after = 0;
		scen_add(0, 0, "k");
		scen_add(100, 0, "k");
		scen.save_at = 200;
		scen_add(250, 0, "k");
		scen_add(700, 0, "k");
		return true;
	case 6:
		scen.name = "many groups, LRU eviction";
		scen.max_groups = 100;
		for (size_t k = 0; k < 150; k++) {
			snprintf(many_keys[k], sizeof(many_keys[k]), "relay-%zu", k);
			scen_add((double)k * 0.5, (unsigned)(k % 2), many_keys[k % 120]);
		}
		scen.save_at = 75;
		for (size_t k = 0; k < 150; k++)
			scen_add(80 + (double)k * 0.25, (unsigned)(k % 2),
				 many_keys[(k * 7) % 150]);
		return true;
	case 7:
		scen.name = "hostile keys and lines";
		scen_add(0, 0, "line\none");
		scen_add(1, 0, "\xff\xfe\x01 \\x41,=%n");
		scen_add(2, 0, "group sig=x kn=relay kv=y serial=0\ngroup");
		scen.steps[scen.nsteps++] =
			(struct step){ 3, 1, "\t\r\x7f", hostile_line, sizeof(hostile_line) - 1 };
		scen.save_at = 4;
		scen.steps[scen.nsteps++] =
			(struct step){ 5, 1, "\t\r\x7f", hostile_line, sizeof(hostile_line) - 1 };
		scen_add(20, 0, "line\none");
		scen_add(21, 0, "\xff\xfe\x01 \\x41,=%n");
		return true;
	case 8:
		/* The restored grouper finds the open burst: m joins it at 10 in both. */
		scen.name = "open burst";
		scen_add(0, 0, "k");
		scen_add(3, 1, "j");
		scen.save_at = 5;
		scen_add(7, 0, "m");
		scen_add(12, 1, "n");
		scen_add(15, 0, "k");
		return true;
	default:
		return false;
	}
}

static void
test_snapshot_twins(void)
{
	struct mt_buf got_notes, want_notes, snap, snap2;

	mt_buf_init(&got_notes, 16 * 1024 * 1024);
	mt_buf_init(&want_notes, 16 * 1024 * 1024);
	mt_buf_init(&snap, 16 * 1024 * 1024);
	mt_buf_init(&snap2, 16 * 1024 * 1024);
	for (size_t i = 0; scen_make(i); i++) {
		struct mt_group_params p = params();
		struct mt_grouper *a, *b;
		size_t j = 0, got_n, bad = 9, unknown = 9;
		double end;
		bool same_deadlines = true;
		int rc;

		p.min_count = scen.min_count;
		p.resolve_after = scen.resolve_after;
		p.max_groups = scen.max_groups;
		a = mt_grouper_new(&p, test_key, rec_emit, &want_notes);
		/* The daemon draws a new hash key at each start: nothing may depend on it. */
		b = mt_grouper_new(&p, other_key, rec_emit, &got_notes);
		notes_reset();
		mt_buf_reset(&want_notes);
		mt_buf_reset(&got_notes);
		mt_buf_reset(&snap);
		mt_buf_reset(&snap2);
		for (; j < scen.nsteps && scen.steps[j].t < scen.save_at; j++)
			step_offer(a, &scen.steps[j], (unsigned)j);
		run_until(a, scen.save_at);
		mt_buf_reset(&want_notes); /* only what follows the snapshot is compared */
		rc = mt_grouper_save(a, &snap);
		ok(rc == 0 && snap.len > 0, "snapshot %s: saved %zu bytes", scen.name, snap.len);
		ok(memchr(snap.data, '\0', snap.len) == NULL &&
			   strspn(snap.data,
				  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				  "0123456789!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ \n") == snap.len,
		   "snapshot %s: printable ASCII lines only", scen.name);
		got_n = mt_grouper_load(b, cat, snap.data, snap.len, scen.save_at, &bad, &unknown);
		ok(got_n == mt_grouper_stats(a)->groups && bad == 0 && unknown == 0,
		   "snapshot %s: restored %zu groups, want %llu (%zu bad, %zu unknown)", scen.name,
		   got_n, (unsigned long long)mt_grouper_stats(a)->groups, bad, unknown);
		(void)mt_grouper_save(b, &snap2);
		ok(snap2.len == snap.len && memcmp(snap.data, snap2.data, snap.len) == 0,
		   "snapshot %s: the restored grouper saves the same text", scen.name);
		for (; j < scen.nsteps; j++) {
			same_deadlines &=
				same_bits(mt_grouper_next_deadline(a), mt_grouper_next_deadline(b));
			step_offer(a, &scen.steps[j], (unsigned)j);
			step_offer(b, &scen.steps[j], (unsigned)j);
		}
		end = scen.nsteps > 0 ? scen.steps[scen.nsteps - 1].t + 200000 : 200000;
		run_until(a, end);
		run_until(b, end);
		mt_grouper_flush(a, end);
		mt_grouper_flush(b, end);
		ok(same_deadlines && want_notes.len > 0 && got_notes.len == want_notes.len &&
			   memcmp(got_notes.data, want_notes.data, want_notes.len) == 0,
		   "snapshot %s: snapshot + continue == never stopped (%zu vs %zu bytes of notices)",
		   scen.name, got_notes.len, want_notes.len);
		if (got_notes.len != want_notes.len ||
		    memcmp(got_notes.data, want_notes.data, want_notes.len) != 0)
			diag("want:\n%s\ngot:\n%s", want_notes.data, got_notes.data);
		ok(bounds_bad == 0, "snapshot %s: notices within bounds", scen.name);
		a = mt_grouper_free(a);
		b = mt_grouper_free(b);
	}
	mt_buf_fini(&got_notes);
	mt_buf_fini(&want_notes);
	mt_buf_fini(&snap);
	mt_buf_fini(&snap2);
}

/* Load text into a fresh grouper; then what it saves must load back to the same text. */
static size_t
load_check(const struct mt_group_params *p, const char *text, size_t len, size_t *ret_bad,
	   size_t *ret_unknown, bool *ret_stable)
{
	struct mt_grouper *g = mt_grouper_new(p, test_key, on_emit, NULL);
	struct mt_grouper *g2 = mt_grouper_new(p, test_key, on_emit, NULL);
	struct mt_buf s1, s2;
	size_t n, n2, bad2, unknown2;

	mt_buf_init(&s1, 64 * 1024 * 1024);
	mt_buf_init(&s2, 64 * 1024 * 1024);
	n = mt_grouper_load(g, cat, text, len, 0, ret_bad, ret_unknown);
	(void)mt_grouper_save(g, &s1);
	n2 = mt_grouper_load(g2, cat, s1.data, s1.len, 0, &bad2, &unknown2);
	(void)mt_grouper_save(g2, &s2);
	*ret_stable = n2 == n && bad2 == 0 && unknown2 == 0 && s1.len == s2.len &&
		      memcmp(s1.data, s2.data, s1.len) == 0;
	mt_buf_fini(&s1);
	mt_buf_fini(&s2);
	mt_grouper_flush(g, 1e9);
	mt_grouper_free(g);
	mt_grouper_free(g2);
	return n;
}

/* A snapshot of a few groups: scenario 7 (hostile) at its save time. */
static void
make_snapshot(struct mt_buf *out, const struct mt_group_params *p)
{
	struct mt_grouper *g = mt_grouper_new(p, test_key, on_emit, NULL);

	(void)scen_make(7);
	for (size_t j = 0; j < scen.nsteps && scen.steps[j].t < scen.save_at; j++)
		step_offer(g, &scen.steps[j], (unsigned)j);
	run_until(g, scen.save_at);
	if (mt_grouper_save(g, out) < 0)
		abort();
	mt_grouper_free(g);
}

static void
test_snapshot_untrusted(void)
{
	struct mt_group_params p = params();
	struct mt_buf snap, text;
	const char *line2;
	size_t first_len, n, bad, unknown, nbad_prefix = 0, sum_prefix = 0;
	bool stable, all_stable = true;
	char *big;
	int rc;

	mt_buf_init(&snap, 1024 * 1024);
	mt_buf_init(&text, 32 * 1024 * 1024);
	make_snapshot(&snap, &p);
	line2 = memchr(snap.data, '\n', snap.len);
	first_len = (size_t)(line2 - snap.data) + 1;
	notes_reset();

	/* Every prefix of a line: a valid shorter line or a bad one, never a crash. */
	for (size_t k = 6; k < first_len; k++) {
		n = load_check(&p, snap.data, k, &bad, &unknown, &stable);
		nbad_prefix += bad;
		sum_prefix += n + bad + unknown != 1;
		all_stable &= stable;
	}
	ok(sum_prefix == 0 && all_stable && nbad_prefix > first_len / 2,
	   "truncated lines: each restored or counted bad (%zu of %zu bad), save stable",
	   nbad_prefix, first_len - 6);

	/* Garbage: random bytes after "group ", and lines not starting with it. */
	rng_state = 42;
	mt_buf_reset(&text);
	for (size_t k = 0; k < 2000; k++) {
		size_t l = rng() % 200;

		(void)mt_buf_puts(&text, k % 2 ? "group " : "grou");
		for (size_t m = 0; m < l; m++) {
			char c = (char)(rng() & 0xff);

			(void)mt_buf_putc(&text, c == '\n' ? 'x' : c);
		}
		(void)mt_buf_putc(&text, '\n');
	}
	n = load_check(&p, text.data, text.len, &bad, &unknown, &stable);
	ok(n == 0 && bad == 1000 && unknown == 0 && stable,
	   "garbage: 1000 bad lines counted, others ignored (got %zu, %zu bad)", n, bad);

	/* Mutations of a valid line: one byte changed at every position; never a crash. */
	{
		char *m = mt_xmalloc(first_len);
		size_t restored = 0;

		for (size_t k = 6; k + 1 < first_len; k++) {
			static const char subst[] = { ' ', '\\', ',', '=', '\0', '9', 'z', '\xff' };

			for (size_t q = 0; q < sizeof(subst); q++) {
				memcpy(m, snap.data, first_len);
				m[k] = subst[q];
				n = load_check(&p, m, first_len, &bad, &unknown, &stable);
				restored += n;
				all_stable &= stable && n + bad + unknown >= 1;
			}
		}
		ok(all_stable,
		   "one-byte mutations at every position: counted, save stable "
		   "(%zu still valid)",
		   restored);
		free(m);
	}

	/* Oversized fields. */
	{
		static const struct {
			const char *name, *tok;
			size_t len;
		} over[] = {
			{ "key value", " kv=", MT_GROUP_TEXT_MAX + 1 },
			{ "key name", " kn=", MT_GROUP_NAME_MAX + 1 },
			{ "host", " host=", MT_GROUP_FIELD_MAX + 1 },
			{ "file", " file=", MT_GROUP_TEXT_MAX + 1 },
			{ "example", " ex=1,", MT_GROUP_TEXT_MAX + 1 },
			{ "queue id", " id=1,", MT_GROUP_ID_MAX + 1 },
			{ "signature id", " sig=", 257 },
		};
		size_t nok = 0;

		for (size_t k = 0; k < sizeof(over) / sizeof(over[0]); k++) {
			static const char *const base[] = {
				" sig=x",
				" kn=relay",
				" kv=v",
				" serial=0 seq=1 total=1 new=1 notified=0",
				" next=first first=0000000000000000 last=0000000000000000",
				" notify=0000000000000000 due=4024000000000000 sev=error loc=en",
				" file=f",
			};

			/* The base line without the token under test (repeated ones are bad anyway). */
			mt_buf_reset(&text);
			(void)mt_buf_puts(&text, "group");
			for (size_t m = 0; m < sizeof(base) / sizeof(base[0]); m++)
				if (strncmp(base[m], over[k].tok, strlen(over[k].tok)) != 0)
					(void)mt_buf_puts(&text, base[m]);
			(void)mt_buf_puts(&text, over[k].tok);
			for (size_t m = 0; m < over[k].len; m++)
				(void)mt_buf_putc(&text, 'a');
			n = load_check(&p, text.data, text.len, &bad, &unknown, &stable);
			if (n == 0 && bad == 1)
				nok++;
			else
				diag("oversized %s: got %zu restored, %zu bad", over[k].name, n,
				     bad);
			/* One byte less fits (the id has no such signature: unknown). */
			text.len--;
			n = load_check(&p, text.data, text.len, &bad, &unknown, &stable);
			if (bad == 0 && n + unknown == 1)
				nok++;
			else
				diag("%s at its cap: got %zu restored, %zu bad", over[k].name, n,
				     bad);
		}
		ok(nok == 2 * sizeof(over) / sizeof(over[0]),
		   "oversized fields: skipped and counted; at the cap: kept");
	}

	/* Duplicates and unknown signatures. */
	mt_buf_reset(&text);
	(void)mt_buf_append(&text, snap.data, first_len);
	(void)mt_buf_append(&text, snap.data, first_len);
	(void)mt_buf_puts(&text, "group sig=no-such-signature serial=0 seq=1 total=1 new=1 "
				 "notified=0 next=first first=0000000000000000 "
				 "last=0000000000000000 notify=0000000000000000 "
				 "due=4024000000000000 sev=error loc=en file=f\n");
	n = load_check(&p, text.data, text.len, &bad, &unknown, &stable);
	ok(n == 1 && bad == 1 && unknown == 1 && stable,
	   "duplicate group: bad; unknown signature: counted apart (got %zu, %zu bad, %zu unknown)",
	   n, bad, unknown);

	/* Inconsistent with the params: a pending group under min_count 1. */
	{
		struct mt_group_params p3 = params();
		struct mt_grouper *g;
		size_t got_pending;

		p3.min_count = 3;
		g = mt_grouper_new(&p3, test_key, on_emit, NULL);
		offer_at(g, 0, mt_catalog_get(cat, 0), "relay", "x", 1);
		mt_buf_reset(&text);
		(void)mt_grouper_save(g, &text);
		mt_grouper_flush(g, 0);
		mt_grouper_free(g);
		got_pending = load_check(&p3, text.data, text.len, &bad, &unknown, &stable);
		n = load_check(&p, text.data, text.len, &bad, &unknown, &stable);
		ok(got_pending == 1 && n == 0 && bad == 1,
		   "a pending group loads under min_count 3, is bad under min_count 1");
	}

	/* max_groups: the extra groups are skipped and counted. */
	{
		struct mt_group_params p2 = params();

		p2.max_groups = 2;
		n = load_check(&p2, snap.data, snap.len, &bad, &unknown, &stable);
		ok(n == 2 && bad == 2 && stable,
		   "max_groups 2: 2 of 4 restored, 2 bad (got %zu, %zu)", n, bad);
	}

	/* 10 MB: valid lines between garbage and one 3 MB line; linear, bounded. */
	mt_buf_reset(&text);
	big = mt_xmalloc(3 * 1024 * 1024);
	memset(big, 'a', 3 * 1024 * 1024);
	memcpy(big, "group sig=", 10);
	while (text.len < 10 * 1024 * 1024) {
		(void)mt_buf_append(&text, snap.data, snap.len);
		(void)mt_buf_puts(&text, "junk line\n");
		if (text.len > 5 * 1024 * 1024 && text.len < 6 * 1024 * 1024) {
			(void)mt_buf_append(&text, big, 3 * 1024 * 1024);
			(void)mt_buf_putc(&text, '\n');
		}
	}
	n = load_check(&p, text.data, text.len, &bad, &unknown, &stable);
	ok(n == 4 && stable && bad > 1000,
	   "10 MB input: %zu restored (duplicates of 4 groups), %zu bad", n, bad);
	free(big);

	/* -ENOBUFS leaves out as it was. */
	{
		struct mt_grouper *g = mt_grouper_new(&p, test_key, on_emit, NULL);
		struct mt_buf small;

		mt_buf_init(&small, snap.len + 10);
		(void)mt_buf_puts(&small, "file 1 2 3\n");
		(void)mt_grouper_load(g, cat, snap.data, snap.len, 0, NULL, NULL);
		rc = mt_grouper_save(g, &small);
		ok(rc == -ENOBUFS && small.len == 11 && strcmp(small.data, "file 1 2 3\n") == 0,
		   "save past the cap: -ENOBUFS, buffer as it was (got %d, %zu bytes)", rc,
		   small.len);
		mt_buf_reset(&small);
		ok(mt_grouper_save(g, &small) == 0 && small.len == snap.len,
		   "save at the cap: fits");
		mt_buf_fini(&small);
		mt_grouper_flush(g, 0);
		mt_grouper_free(g);
	}
	mt_buf_fini(&snap);
	mt_buf_fini(&text);
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
static const struct mt_signature *storm_sigs[5];
static uint64_t storm_by_ev[MT_GROUP_FLUSH + 1];

static void
storm_emit_one(void *ctx, const struct mt_alert_group *g)
{
	size_t s = 0;
	unsigned k = (unsigned)strtoul(g->key_value + 6, NULL, 10); /* "relay-N" */
	struct storm_track *t;

	(void)ctx;
	while (s < 5 && storm_sigs[s] != g->sig)
		s++;
	t = &track[(s * 10 + k) % STORM_GROUPS];
	on_emit_one(NULL, g);
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

/* The grouper emits a batch: each of its notifications in turn. */
static void
storm_emit(void *ctx, const struct mt_alert_group *gs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		storm_emit_one(ctx, &gs[i]);
}

/* Save g, load a fresh grouper from it, free g: the storm goes on with the copy. */
static struct mt_grouper *
storm_restore(struct mt_grouper *g, const struct mt_group_params *p, const char *name,
	      uint64_t *pre_offered, uint64_t *pre_below, uint64_t *pre_notifications, bool *saved)
{
	const struct mt_grouper_stats *st = mt_grouper_stats(g);
	struct mt_grouper *r = mt_grouper_new(p, test_key, storm_emit, NULL);
	struct mt_buf b;
	size_t got, bad = 1, unknown = 1;
	int rc;

	mt_buf_init(&b, 64 * 1024 * 1024);
	rc = mt_grouper_save(g, &b);
	got = mt_grouper_load(r, cat, b.data, b.len, now_sim, &bad, &unknown);
	*saved = rc == 0 && got == st->groups && bad == 0 && unknown == 0 &&
		 same_bits(mt_grouper_next_deadline(r), mt_grouper_next_deadline(g));
	if (!*saved)
		diag("storm %s: save %d, restored %zu of %llu groups, %zu bad, %zu unknown", name,
		     rc, got, (unsigned long long)st->groups, bad, unknown);
	*pre_offered = st->offered;
	*pre_below = st->below_min_count;
	*pre_notifications = st->notifications;
	mt_buf_fini(&b);
	mt_grouper_free(g);
	return r;
}

/*
 * The storm; with a catalog of 5 signatures or more, it also saves the
 * grouper after save_n occurrences, restores it into a fresh one and goes on
 * with that: the counts must still add up exactly.
 */
static void
storm(const char *name, const struct mt_group_params *pp, uint64_t max_notifications,
      uint64_t save_n)
{
	struct mt_signature sigs[5];
	char ids[5][24];
	struct mt_group_params p = *pp;
	struct mt_grouper *g;
	const struct mt_grouper_stats *st;
	double t = 0, weights[STORM_GROUPS], wsum = 0;
	unsigned nbad = 0;
	uint64_t n = 0, pre_offered = 0, pre_below = 0, pre_notifications = 0;
	bool saved = false;

	for (unsigned i = 0; i < 5; i++) {
		snprintf(ids[i], sizeof(ids[i]), "storm-%u", i);
		sigs[i] = (struct mt_signature){ .id = ids[i], .severity = MT_SEV_ERROR };
		storm_sigs[i] = cat != NULL && mt_catalog_count(cat) >= 5 ? mt_catalog_get(cat, i) :
									    &sigs[i];
	}
	if (storm_sigs[0] == &sigs[0])
		save_n = UINT64_MAX; /* no catalog to resolve ids in */
	for (int i = 0; i < STORM_GROUPS; i++) {
		weights[i] = 1.0 / (i + 1); /* a Zipf mix: one loud group, many quiet ones */
		wsum += weights[i];
	}
	storm_p = &p;
	rng_state = 0x9e3779b97f4a7c15;
	memset(storm_by_ev, 0, sizeof(storm_by_ev));
	g = mt_grouper_new(&p, test_key, storm_emit, NULL);
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
		if (n == save_n)
			g = storm_restore(g, &p, name, &pre_offered, &pre_below, &pre_notifications,
					  &saved);
		st = mt_grouper_stats(g);
		mt_grouper_offer(g, occ_make(&o, storm_sigs[gi / 10], (unsigned)n, key), "relay",
				 key, t);
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
	     (unsigned long long)(pre_notifications + st->notifications),
	     (unsigned long long)storm_by_ev[MT_GROUP_FIRST],
	     (unsigned long long)storm_by_ev[MT_GROUP_UPDATE],
	     (unsigned long long)storm_by_ev[MT_GROUP_REMINDER],
	     (unsigned long long)storm_by_ev[MT_GROUP_RESOLVED],
	     (unsigned long long)storm_by_ev[MT_GROUP_FLUSH],
	     (unsigned long long)(pre_below + st->below_min_count),
	     (unsigned long long)st->evicted);
	if (save_n != UINT64_MAX)
		ok(saved, "storm %s: saved and restored after %llu occurrences", name,
		   (unsigned long long)save_n);
	ok(sum_new + pre_below + st->below_min_count == STORM_N &&
		   pre_offered + st->offered == STORM_N,
	   "storm %s: count_new + below_min_count add up to exactly %d across the restore "
	   "(got %llu + %llu)",
	   name, STORM_N, (unsigned long long)sum_new,
	   (unsigned long long)(pre_below + st->below_min_count));
	ok(pre_notifications + st->notifications <= max_notifications,
	   "storm %s: bounded notifications (got %llu, want <= %llu)", name,
	   (unsigned long long)(pre_notifications + st->notifications),
	   (unsigned long long)max_notifications);
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
		/* A different point for each case, off the storm's own random stream. */
		storm(cases[i].name, &p, cases[i].max_notifications,
		      (UINT64_C(0x9e3779b97f4a7c15) * (i + 1) >> 33) % STORM_N);
	}
}

/* ---- repeats, what a group affects, resolution by destination (issue 12) ---- */

/* A repeat of cause (a->repeat): a retry or frozen notice of its own signature sig. */
static void
offer_repeat(struct mt_grouper *g, double t, const struct mt_signature *sig,
	     const struct mt_signature *cause, const char *key_value, unsigned qid)
{
	struct occ o;
	struct mt_alert *a;

	run_until(g, t);
	a = (struct mt_alert *)occ_make(&o, sig, qid, key_value ? key_value : "mx.example.org");
	a->repeat = true;
	a->cause_id = cause->id;
	a->cause_sig = cause;
	mt_grouper_offer(g, a, key_value ? "relay" : NULL, key_value, t);
}

static void
test_repeats(void)
{
	struct mt_group_params p = params();
	struct mt_grouper *g = mt_grouper_new(&p, test_key, on_emit, NULL);
	const struct mt_grouper_stats *st = mt_grouper_stats(g);
	size_t before;

	notes_reset();
	offer_at(g, 1000, &sig_a, "relay", "mx.a", 1);
	run_until(g, 1010);
	ok(nnotes == 1 && notes[0].ev == MT_GROUP_FIRST && notes[0].messages == 1 &&
		   notes[0].destinations == 1 && notes[0].repeats == 0,
	   "the cause's FIRST: 1 message, 1 destination, no repeat (got %llu, %llu, %llu)",
	   (unsigned long long)notes[0].messages, (unsigned long long)notes[0].destinations,
	   (unsigned long long)notes[0].repeats);
	/* Queue runs: every deferred message restated, each 30 s, for 20 minutes. */
	for (unsigned i = 0; i < 40; i++)
		offer_repeat(g, 1020 + 30 * i, &sig_b, &sig_a, "mx.a", 1 + i % 20);
	run_until(g, 2200);
	ok(nnotes == 1, "40 repeats over 20 minutes: no notification (got %zu)", nnotes);
	ok(st->repeats == 40 && st->groups == 1,
	   "the repeats are folded into the cause's group: %llu repeats, %llu groups (no group "
	   "for the retry signature)",
	   (unsigned long long)st->repeats, (unsigned long long)st->groups);
	/* A repeat with another key (the notice names no relay) finds the cause by destination. */
	offer_repeat(g, 2210, &sig_b, &sig_a, NULL, 21);
	ok(st->repeats == 41 && st->groups == 1, "a repeat keyed otherwise: same group");
	/* A new message failing with the cause: an UPDATE that shows the repeats. */
	offer_at(g, 2300, &sig_a, "relay", "mx.a", 100);
	run_until(g, 2310);
	ok(nnotes == 2 && notes[1].ev == MT_GROUP_UPDATE && notes[1].count_new == 1 &&
		   notes[1].count_total == 2 && notes[1].repeats == 41 && notes[1].messages == 22,
	   "a new occurrence: UPDATE with count 1/2, 41 repeats, 22 messages (got %s %llu/%llu, "
	   "%llu, %llu)",
	   nnotes == 2 ? mt_group_event_name(notes[1].ev) : "-",
	   (unsigned long long)notes[1].count_new, (unsigned long long)notes[1].count_total,
	   (unsigned long long)notes[1].repeats, (unsigned long long)notes[1].messages);
	/* Repeats keep it alive: RESOLVED only resolve_after after the last one. */
	offer_repeat(g, 3000, &sig_b, &sig_a, "mx.a", 3);
	run_until(g, 3000 + p.resolve_after - 1);
	ok(nnotes == 2, "no RESOLVED while the cause is restated");
	run_until(g, 3000 + p.resolve_after);
	ok(nnotes == 3 && notes[2].ev == MT_GROUP_RESOLVED && notes[2].repeats == 42,
	   "RESOLVED resolve_after after the last repeat, with 42 repeats");
	ok(st->offered == sum_new + st->below_min_count + st->repeats,
	   "offered %llu = notified %llu + below min_count %llu + repeats %llu",
	   (unsigned long long)st->offered, (unsigned long long)sum_new,
	   (unsigned long long)st->below_min_count, (unsigned long long)st->repeats);

	/* No group of the cause (the daemon started late): the repeat alerts on its own. */
	before = nnotes;
	offer_repeat(g, 5000, &sig_b, &sig_a, "mx.a", 7);
	run_until(g, 5010);
	ok(nnotes == before + 1 && notes[before].ev == MT_GROUP_FIRST &&
		   notes[before].sig == &sig_b && notes[before].repeats == 0,
	   "a repeat whose cause has no group: a FIRST of its own signature");
	mt_grouper_flush(g, 6000);
	g = mt_grouper_free(g);
}

static void
test_affected_and_resolve(void)
{
	struct mt_group_params p = params();
	struct mt_grouper *g = mt_grouper_new(&p, test_key, on_emit, NULL);
	const struct mt_grouper_stats *st = mt_grouper_stats(g);
	static const char *const domains[] = { "outlook.com", "hotmail.com", "live.com" };
	size_t n;

	notes_reset();
	/* 300 messages to 3 domains through one relay: the counts, exact at this size. */
	for (unsigned i = 0; i < 300; i++) {
		occ_domain = domains[i % 3];
		offer_at(g, 1000 + i * 0.01, &sig_a, "relay", "mx.outlook", i);
	}
	/* One group keyed by a domain, and one of a single destination by relay. */
	occ_domain = "Example.NET";
	offer_at(g, 1004, &sig_b, "relay", "mx.example.net", 1);
	occ_domain = "example.org";
	offer_at(g, 1004, &sig_a, "domain", "gmail.com", 2);
	run_until(g, 1020);
	n = 0;
	for (size_t i = 0; i < nnotes; i++)
		if (notes[i].sig == &sig_a && strcmp(notes[i].key, "mx.outlook") == 0 &&
		    notes[i].messages >= 297 && notes[i].messages <= 303 &&
		    notes[i].destinations == 3)
			n++;
	ok(nnotes == 3 && n == 1,
	   "300 messages to 3 domains: the FIRST counts 300 messages (within 1 %%) and 3 "
	   "destinations");
	ok(mt_grouper_resolve(g, NULL, "hotmail.com", 1030) == 0 && nnotes == 3,
	   "one of a group's 3 destinations accepting again resolves nothing");
	run_until(g, 1031);
	ok(mt_grouper_resolve(g, NULL, "example.net", 1031) == 1 && nnotes == 4 &&
		   notes[3].ev == MT_GROUP_RESOLVED && notes[3].sig == &sig_b &&
		   dbl_eq(notes[3].at, 1031),
	   "the only destination of a group (any case) accepting again: RESOLVED at once");
	ok(mt_grouper_resolve(g, sig_b.id, "GMAIL.com", 1032) == 0,
	   "resolution of another signature leaves a group alone");
	ok(mt_grouper_resolve(g, sig_a.id, "GMAIL.com", 1032) == 1 && nnotes == 5 &&
		   notes[4].ev == MT_GROUP_RESOLVED && strcmp(notes[4].key, "gmail.com") == 0,
	   "a group keyed by the destination resolves");
	/* Before its FIRST: FIRST then RESOLVED, in one batch. */
	occ_domain = "yahoo.com";
	offer_at(g, 1040, &sig_b, "relay", "mta5.yahoo", 3);
	n = (size_t)nbatches;
	ok(mt_grouper_resolve(g, NULL, "yahoo.com", 1041) == 1 && nnotes == 7 &&
		   notes[5].ev == MT_GROUP_FIRST && notes[6].ev == MT_GROUP_RESOLVED &&
		   nbatches == n + 1,
	   "resolved before its FIRST: FIRST then RESOLVED in one batch");
	ok(st->resolved == 3 && st->groups == 1, "3 resolved, 1 group left");
	occ_domain = "example.org";
	mt_grouper_flush(g, 2000);
	g = mt_grouper_free(g);
}

/* The snapshot keeps repeats, the distinct counts and the first destination. */
static void
test_snapshot_affected(void)
{
	struct mt_group_params p = params();
	const struct mt_signature *s0 = mt_catalog_get(cat, 0), *s1 = mt_catalog_get(cat, 1);
	struct mt_grouper *g = mt_grouper_new(&p, test_key, on_emit, NULL), *h;
	struct mt_buf b1, b2;
	size_t bad = 9, unknown = 9;

	notes_reset();
	for (unsigned i = 0; i < 5; i++)
		offer_at(g, 1000 + i, s0, NULL, NULL, i);
	run_until(g, 1020);
	for (unsigned i = 0; i < 7; i++)
		offer_repeat(g, 1030 + i, s1, s0, NULL, 10 + i);
	mt_buf_init(&b1, 1 << 20);
	mt_buf_init(&b2, 1 << 20);
	ok(mt_grouper_save(g, &b1) == 0 && strstr(b1.data, " rep=7 ") != NULL &&
		   strstr(b1.data, " mb=") != NULL && strstr(b1.data, " dest=example.org") != NULL,
	   "the snapshot has rep, mb, dest");
	h = mt_grouper_new(&p, other_key, on_emit, NULL);
	ok(mt_grouper_load(h, cat, b1.data, b1.len, 1040, &bad, &unknown) == 1 && bad == 0 &&
		   mt_grouper_save(h, &b2) == 0 && strcmp(b1.data, b2.data) == 0,
	   "restored under another key, it saves the same text");
	offer_at(h, 1050, s0, NULL, NULL, 99);
	run_until(h, 1400);
	ok(nnotes == 2 && notes[1].ev == MT_GROUP_UPDATE && notes[1].repeats == 7 &&
		   notes[1].messages == 13 && notes[1].destinations == 1,
	   "the restored group's UPDATE: 7 repeats, 13 messages, 1 destination (got %llu %llu "
	   "%llu)",
	   (unsigned long long)notes[1].repeats, (unsigned long long)notes[1].messages,
	   (unsigned long long)notes[1].destinations);
	b2.len = 0;
	(void)mt_buf_puts(&b2, "group sig=");
	(void)mt_buf_puts(&b2, s0->id);
	(void)mt_buf_puts(&b2, " serial=1 seq=1 total=1 new=0 notified=1 next=update "
			       "first=4090000000000000 last=4090000000000000 "
			       "notify=4090000000000000 due=bff0000000000000 sev=info loc=en "
			       "file=x mb=00ff\n");
	mt_grouper_flush(h, 2000);
	h = mt_grouper_free(h);
	h = mt_grouper_new(&p, other_key, on_emit, NULL);
	ok(mt_grouper_load(h, cat, b2.data, b2.len, 1040, &bad, &unknown) == 0 && bad == 1,
	   "a short bitmap is a damaged line");
	mt_grouper_flush(g, 2000);
	g = mt_grouper_free(g);
	h = mt_grouper_free(h);
	mt_buf_fini(&b1);
	mt_buf_fini(&b2);
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
	test_bursts();
	test_min_count();
	test_eviction();
	test_flush();
	test_copies_and_caps();
	test_repeats();
	test_affected_and_resolve();
	if (argc > 1) {
		const char *paths[1] = { argv[1] };
		struct mt_diag d;

		test_set_catalog(argv[1]);
		mt_diag_init(&d);
		cat = mt_catalog_load(paths, 1, &d);
		mt_diag_fini(&d);
	}
	if (cat != NULL && mt_catalog_count(cat) >= 2) {
		test_snapshot_twins();
		test_snapshot_untrusted();
		test_snapshot_affected();
	} else {
		diag("no catalog of 2 signatures or more: snapshot tests skipped");
	}
	test_storm();
	cat = mt_catalog_free(cat);
	return tap_done();
}
