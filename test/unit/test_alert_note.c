/* Unit tests for alert_group's notes: copy, merge (issue 14's coalescing), save and load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert/alert_group.h"
#include "match/catalog.h"
#include "tap.h"
#include "util/buf.h"
#include "util/diag.h"

#define SIG_ID "communication/smtp-421-service-not-available"

/* Times are copied, never computed: exact comparison is what is meant. */
static bool
same_time(double a, double b)
{
	return !(a < b) && !(a > b);
}

static struct mt_alert_group
group(const struct mt_signature *sig, enum mt_group_event ev, uint64_t total, uint64_t new,
      double first, double last, const char *const *ex, size_t nex, const char *const *ids,
      size_t nids)
{
	static const struct mt_group_field fields[] = { { "relay_host", "mx1.example.net" },
							{ "status", "deferred" } };

	return (struct mt_alert_group){
		.event = ev,
		.sig = sig,
		.severity = sig->severity,
		.locale = MT_LOCALE_EN,
		.key_name = "relay",
		.key_value = "mx1.example.net",
		.count_total = total,
		.count_new = new,
		.first_seen = first,
		.last_seen = last,
		.examples = ex,
		.nexamples = nex,
		.queue_ids = ids,
		.nqueue_ids = nids,
		.fields = fields,
		.nfields = 2,
		.hostname = "mail.example.org",
		.log_host = "mx1",
		.file = "/var/log/mail.log",
	};
}

int
main(int argc, char **argv)
{
	const char *paths[1];
	struct mt_catalog *cat;
	const struct mt_signature *sig;
	struct mt_diag d;
	static const char *const ex1[] = { "line a", "line b" };
	static const char *const ex2[] = { "line c", "line d", "line e", "line f", "line g" };
	static const char *const ids1[] = { "Q1", "Q2" };
	static const char *const ids2[] = { "Q2", "Q3" };
	struct mt_alert_group g1, g2, g3;
	struct mt_alert_note *a, *b, *c, *l;
	struct mt_buf out;

	if (argc < 2) {
		fprintf(stderr, "usage: test_alert_note SIGNATURES-DIR\n");
		return 2;
	}
	paths[0] = argv[1];
	mt_diag_init(&d);
	cat = mt_catalog_load(paths, 1, &d);
	sig = cat ? mt_catalog_find(cat, SIG_ID) : NULL;
	if (!ok(sig != NULL, "catalog has " SIG_ID)) {
		mt_diag_fini(&d);
		mt_catalog_free(cat);
		return tap_done();
	}
	mt_buf_init(&out, 1 << 20);

	g1 = group(sig, MT_GROUP_FIRST, 3, 3, 100.0, 110.0, ex1, 2, ids1, 2);
	g2 = group(sig, MT_GROUP_UPDATE, 8, 5, 100.0, 130.0, ex2, 5, ids2, 2);
	a = mt_alert_note_new(&g1);
	b = mt_alert_note_new(&g2);
	ok(a->g.examples != g1.examples && strcmp(a->g.examples[1], "line b") == 0 &&
		   strcmp(a->g.key_value, "mx1.example.net") == 0 && !a->closed,
	   "a note is a deep copy");
	ok(mt_alert_note_same_group(a, b) && mt_alert_note_mergeable(a, b) &&
		   !mt_alert_note_mergeable(b, a),
	   "same group; an UPDATE merges into a FIRST");
	ok(mt_alert_note_merge(a, b), "merge");
	ok(a->g.event == MT_GROUP_FIRST && a->g.count_new == 8 && a->g.count_total == 8 &&
		   same_time(a->g.first_seen, 100.0) && same_time(a->g.last_seen, 130.0),
	   "merged: still the FIRST, count_new summed (3 + 5), latest total 8, times spanned "
	   "(event %d, new %llu, total %llu)",
	   (int)a->g.event, (unsigned long long)a->g.count_new,
	   (unsigned long long)a->g.count_total);
	ok(a->g.nexamples == MT_GROUP_EXAMPLES_MAX && strcmp(a->g.examples[0], "line c") == 0 &&
		   strcmp(a->g.examples[4], "line g") == 0,
	   "examples: the newest %d, newest last", MT_GROUP_EXAMPLES_MAX);
	ok(a->g.nqueue_ids == 3 && strcmp(a->g.queue_ids[0], "Q1") == 0 &&
		   strcmp(a->g.queue_ids[1], "Q2") == 0 && strcmp(a->g.queue_ids[2], "Q3") == 0,
	   "queue ids: distinct, newest last");

	/* A FIRST never merges (a new life of the group); nothing merges into an ended one. */
	g3 = group(sig, MT_GROUP_FIRST, 1, 1, 200.0, 200.0, ex1, 1, ids1, 1);
	c = mt_alert_note_new(&g3);
	ok(!mt_alert_note_mergeable(a, c) && !mt_alert_note_merge(a, c) && a->g.count_new == 8,
	   "a FIRST is not merged into a pending note of its group");
	mt_alert_note_free(c);
	g3 = group(sig, MT_GROUP_RESOLVED, 9, 1, 100.0, 140.0, NULL, 0, NULL, 0);
	c = mt_alert_note_new(&g3);
	ok(mt_alert_note_merge(a, c) && a->g.event == MT_GROUP_RESOLVED && a->closed &&
		   a->g.count_new == 9 && a->g.count_total == 9,
	   "a RESOLVED wins: one resolved notice with the total (9) and every unnotified "
	   "occurrence (new 9)");
	mt_alert_note_free(c);
	g3 = group(sig, MT_GROUP_REMINDER, 10, 1, 100.0, 150.0, NULL, 0, NULL, 0);
	c = mt_alert_note_new(&g3);
	ok(!mt_alert_note_merge(a, c), "nothing merges into a resolved note");
	mt_alert_note_free(c);
	g3 = group(sig, MT_GROUP_FLUSH, 4, 1, 100.0, 150.0, NULL, 0, NULL, 0);
	c = mt_alert_note_new(&g3);
	ok(c->closed && mt_alert_note_merge(b, c) && b->closed && b->g.event == MT_GROUP_FLUSH &&
		   b->g.count_new == 6,
	   "a FLUSH merges into an UPDATE and ends it (new 5 + 1)");
	mt_alert_note_free(c);

	/* Save and load: the same note, hostile text included. */
	g3 = group(sig, MT_GROUP_UPDATE, 42, 7, 1.5, 2.25, ex2, 5, ids2, 2);
	g3.key_value = "mx 1,=\\\n\x01\xff.example.net";
	g3.log_host = NULL;
	c = mt_alert_note_new(&g3);
	{
		int r = mt_alert_note_save(c, &out);

		ok(r == 0 && memchr(out.data, '\n', out.len) == NULL, "saved on one line: %.160s",
		   out.data);
	}
	l = mt_alert_note_load(out.data, out.len, cat);
	ok(l != NULL && l->g.sig == sig && l->g.event == MT_GROUP_UPDATE &&
		   l->g.count_total == 42 && l->g.count_new == 7 &&
		   same_time(l->g.first_seen, 1.5) && same_time(l->g.last_seen, 2.25) &&
		   strcmp(l->g.key_value, g3.key_value) == 0 && l->g.log_host == NULL &&
		   l->g.nexamples == 5 && l->g.nqueue_ids == 2 && l->g.nfields == 2 &&
		   strcmp(l->g.fields[1].value, "deferred") == 0 && mt_alert_note_same_group(l, c),
	   "loaded back the same");
	mt_alert_note_free(l);
	{
		static const char *const bad[] = {
			"note",
			"group ev=first",
			"note ev=first closed=0 sig=" SIG_ID " total=1 new=1",
			"note ev=nope closed=0 sig=" SIG_ID " total=1 new=1 first=3ff0000000000000 "
			"last=3ff0000000000000 sev=warning loc=en",
			"note ev=first closed=0 sig=no/such total=1 new=1 first=3ff0000000000000 "
			"last=3ff0000000000000 sev=warning loc=en",
			"note ev=first ev=first closed=0 sig=" SIG_ID " total=1 new=1 "
			"first=3ff0000000000000 last=3ff0000000000000 sev=warning loc=en",
			"note ev=first closed=0 sig=" SIG_ID
			" total=1 new=1 first=7ff0000000000000 "
			"last=3ff0000000000000 sev=warning loc=en",
			"note ev=first closed=0 sig=" SIG_ID " kn=relay total=1 new=1 "
			"first=3ff0000000000000 last=3ff0000000000000 sev=warning loc=en",
			"note ev=first closed=0 sig=" SIG_ID
			" total=1 new=1 first=3ff0000000000000 "
			"last=3ff0000000000000 sev=warning loc=en ex=a\\x00b",
		};
		size_t nbad = 0;

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			l = mt_alert_note_load(bad[i], strlen(bad[i]), cat);
			if (l != NULL)
				diag("loaded: %s", bad[i]);
			nbad += l == NULL;
			mt_alert_note_free(l);
		}
		ok(nbad == sizeof(bad) / sizeof(bad[0]),
		   "malformed, unknown signature, repeated, infinite, half a key: not loaded");
	}
	{
		const char *good =
			"note ev=first closed=0 sig=" SIG_ID " total=1 new=1 "
			"first=3ff0000000000000 last=3ff0000000000000 sev=warning loc=en";

		l = mt_alert_note_load(good, strlen(good), cat);
		ok(l != NULL && l->g.key_name == NULL && same_time(l->g.first_seen, 1.0),
		   "a minimal note loads (no key)");
		mt_alert_note_free(l);
	}
	mt_alert_note_free(a);
	mt_alert_note_free(b);
	mt_alert_note_free(c);
	mt_buf_fini(&out);
	mt_diag_fini(&d);
	mt_catalog_free(cat);
	return tap_done();
}
