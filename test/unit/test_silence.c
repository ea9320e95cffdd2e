/* test_silence - silences (match, expire, prune, file round trip) and maintenance windows. */
#include <errno.h>
#include <string.h>

#include "alert/silence.h"
#include "parse/logline.h"
#include "tap.h"

static const char LINE[] =
	"Mar  3 10:15:42 mx1 postfix/smtp[24311]: 4F2A81C0E5B: to=<ops@Mail.Example.NET>, "
	"relay=mx.example.net[203.0.113.25]:25, delay=4.1, dsn=4.7.0, status=deferred (host "
	"mx.example.net[203.0.113.25] said: 421 4.7.0 Service not available)";

static struct mt_silence
mk(const char *id, enum mt_silence_kind kind, const char *key, const char *value, double starts,
   double ends)
{
	struct mt_silence sl;

	memset(&sl, 0, sizeof(sl));
	(void)snprintf(sl.id, sizeof(sl.id), "%s", id);
	sl.kind = kind;
	(void)snprintf(sl.key, sizeof(sl.key), "%s", key);
	(void)snprintf(sl.value, sizeof(sl.value), "%s", value);
	sl.starts = starts;
	sl.ends = ends;
	(void)snprintf(sl.comment, sizeof(sl.comment), "relay \"upgrade\"\\ day");
	return sl;
}

static void
test_match(void)
{
	struct mt_signature sig = { .id = (char *)"smtp/smtp-421", .category = (char *)"smtp" };
	struct mt_match m = { .sig = &sig };
	struct mt_logrec rec;
	struct mt_alert a = { .match = &m, .rec = &rec, .line = LINE, .len = sizeof(LINE) - 1 };
	struct mt_silences s;
	struct mt_silence sl;
	const struct mt_silence *hit;

	mt_logline_parse(LINE, sizeof(LINE) - 1, &rec);
	mt_silences_init(&s);
	ok(mt_silences_match(&s, &a, 1000) == NULL, "no silence: nothing silenced");

	sl = mk("a1", MT_SILENCE_SIGNATURE, "", "smtp/smtp-421", 1000, 2000);
	ok(mt_silences_add(&s, &sl) == 0, "add a signature silence");
	ok(mt_silences_add(&s, &sl) == -EEXIST, "the same id twice: -EEXIST");
	ok(mt_silences_match(&s, &a, 999) == NULL, "before its start: not silenced");
	hit = mt_silences_match(&s, &a, 1000);
	ok(hit != NULL && strcmp(hit->id, "a1") == 0, "at its start: silenced by a1");
	ok(mt_silences_match(&s, &a, 2000) == NULL, "at its end: no longer silenced");
	ok(mt_silences_expire(&s, "a1", 1500) == 0 && mt_silences_match(&s, &a, 1600) == NULL,
	   "expired at 1500: not silenced at 1600");
	ok(mt_silences_expire(&s, "zz", 1500) == -ENOENT, "expire an unknown id: -ENOENT");

	sl = mk("b2", MT_SILENCE_CATEGORY, "", "tls", 0, 5000);
	ok(mt_silences_add(&s, &sl) == 0 && mt_silences_match(&s, &a, 3000) == NULL,
	   "another category: not silenced");
	sl = mk("c3", MT_SILENCE_CATEGORY, "", "smtp", 0, 5000);
	(void)mt_silences_add(&s, &sl);
	hit = mt_silences_match(&s, &a, 3000);
	ok(hit != NULL && strcmp(hit->id, "c3") == 0, "category smtp: silenced by c3");
	(void)mt_silences_expire(&s, "c3", 0);

	sl = mk("d4", MT_SILENCE_MATCH, "recipient_domain", "*.example.net", 0, 5000);
	ok(mt_silences_add(&s, &sl) == 0, "add a recipient_domain glob");
	hit = mt_silences_match(&s, &a, 3000);
	ok(hit != NULL && strcmp(hit->id, "d4") == 0,
	   "recipient_domain *.example.net takes Mail.Example.NET (case-insensitive)");
	(void)mt_silences_expire(&s, "d4", 0);
	sl = mk("e5", MT_SILENCE_MATCH, "relay_host", "mx.example.org", 0, 5000);
	(void)mt_silences_add(&s, &sl);
	ok(mt_silences_match(&s, &a, 3000) == NULL, "relay_host mx.example.org: not silenced");
	sl = mk("f6", MT_SILENCE_MATCH, "client_ip", "*", 0, 5000);
	(void)mt_silences_add(&s, &sl);
	ok(mt_silences_match(&s, &a, 3000) == NULL, "an absent field never matches, not even *");
	sl = mk("a7", MT_SILENCE_MATCH, "host", "mx1", 0, 5000);
	(void)mt_silences_add(&s, &sl);
	hit = mt_silences_match(&s, &a, 3000);
	ok(hit != NULL && strcmp(hit->id, "a7") == 0, "host=mx1: silenced");

	sl = mk("b8", MT_SILENCE_MATCH, "colour", "x", 0, 5000);
	ok(mt_silences_add(&s, &sl) == -EINVAL, "unknown match key: -EINVAL");
	sl = mk("XY", MT_SILENCE_SIGNATURE, "", "x", 0, 5000);
	ok(mt_silences_add(&s, &sl) == -EINVAL, "id not lowercase hex: -EINVAL");
	sl = mk("b9", MT_SILENCE_SIGNATURE, "", "x", 50, 10);
	ok(mt_silences_add(&s, &sl) == -EINVAL, "ends before starts: -EINVAL");

	mt_silences_fini(&s);
}

static void
test_file(void)
{
	struct mt_silences s, back;
	struct mt_silence sl;
	struct mt_buf b;
	struct mt_diag d;

	mt_silences_init(&s);
	mt_silences_init(&back);
	sl = mk("0123abcd", MT_SILENCE_MATCH, "recipient_domain", "gmail.com", 1772532942,
		1772540142);
	(void)mt_silences_add(&s, &sl);
	sl = mk("ff", MT_SILENCE_SIGNATURE, "", "smtp/smtp-421", 100, 200);
	(void)mt_silences_add(&s, &sl);
	mt_buf_init(&b, MT_SILENCE_FILE_MAX);
	ok(mt_silences_render(&b, &s) == 0, "render two silences");
	mt_diag_init(&d);
	ok(mt_silences_parse("silences.json", b.data, b.len, &d, &back) == 0 && back.n == 2,
	   "parse them back: 2 silences");
	ok(back.n == 2 && strcmp(back.v[0].key, "recipient_domain") == 0 &&
		   strcmp(back.v[0].value, "gmail.com") == 0 &&
		   (long long)back.v[0].ends == 1772540142LL &&
		   strcmp(back.v[0].comment, "relay \"upgrade\"\\ day") == 0 &&
		   back.v[1].kind == MT_SILENCE_SIGNATURE,
	   "round trip keeps key, value, times and an escaped comment");

	ok(mt_silences_prune(&s, 200 + 3600, 3600) == 0, "prune keeps what ended within keep");
	ok(mt_silences_prune(&s, 201 + 3600, 3600) == 1 && s.n == 1 &&
		   strcmp(s.v[0].id, "0123abcd") == 0,
	   "prune drops what ended longer ago");

	static const char *const bad[] = {
		"[]",
		"{\"silences\": [{\"id\": \"a\", \"kind\": \"nope\", \"value\": \"x\", "
		"\"starts\": 1, \"ends\": 2}]}",
		"{\"silences\": [{\"id\": \"a\", \"kind\": \"signature\", \"value\": \"x\", "
		"\"starts\": 1}]}",
		"{\"silences\": [{\"id\": \"a\", \"kind\": \"signature\", \"value\": \"x\", "
		"\"starts\": 1, \"ends\": 2}, {\"id\": \"a\", \"kind\": \"signature\", \"value\": "
		"\"y\", \"starts\": 1, \"ends\": 2}]}",
		"{\"silences\": [{\"id\": \"a\", \"kind\": \"match\", \"key\": \"x\", \"value\": "
		"\"y\", \"starts\": 1, \"ends\": 2}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t e = d.errors;

		ok(mt_silences_parse("s.json", bad[i], strlen(bad[i]), &d, &back) == -EINVAL &&
			   d.errors > e && back.n == 2,
		   "bad file %zu refused with a reason, the previous set kept", i);
	}
	mt_diag_fini(&d);
	mt_buf_fini(&b);
	mt_silences_fini(&s);
	mt_silences_fini(&back);
}

static void
test_windows(void)
{
	int min;
	struct mt_window w = { .days = 1u << 6, .start = 22 * 60, .end = 2 * 60 }; /* Sat 22-02 */
	struct mt_window day = { .days = (1u << 1) | (1u << 3), .start = 120, .end = 240 };

	ok(mt_window_parse_time("02:30", &min) == 0 && min == 150, "02:30 is minute 150");
	ok(mt_window_parse_time("24:00", &min) < 0 && mt_window_parse_time("2:30", &min) < 0 &&
		   mt_window_parse_time("02:60", &min) < 0,
	   "24:00, 2:30 and 02:60 refused");
	ok(mt_window_parse_day("Sun") == 0 && mt_window_parse_day("saturday") == 6 &&
		   mt_window_parse_day("sa") < 0,
	   "days: sun, saturday; 'sa' refused");
	ok(mt_window_active(&day, 1, 120) && mt_window_active(&day, 3, 239),
	   "Mon and Wed 02:00-04:00: open at 02:00 Mon and 03:59 Wed");
	ok(!mt_window_active(&day, 1, 240) && !mt_window_active(&day, 2, 150),
	   "closed at 04:00 and on Tuesday");
	ok(mt_window_active(&w, 6, 22 * 60) && mt_window_active(&w, 0, 60),
	   "Sat 22:00-02:00: open Saturday 22:00 and Sunday 01:00");
	ok(!mt_window_active(&w, 6, 60) && !mt_window_active(&w, 0, 2 * 60) &&
		   !mt_window_active(&w, 0, 23 * 60),
	   "closed Saturday 01:00, Sunday 02:00 and Sunday 23:00");
}

int
main(void)
{
	test_match();
	test_file();
	test_windows();
	return tap_done();
}
