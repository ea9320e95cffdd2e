/*
 * Fuzz the correlation stage with untrusted bytes two ways, chosen by the
 * first byte:
 *   - even: the bytes are log text.  Their lines go through the record
 *     joiner (small bounds; a line that is no joined record passes whole) and each record through the parser and
 *     mt_correlate_observe() (tiny tables, so eviction runs), with the
 *     signature chosen by the record's bytes.  Checks: a record is within
 *     its bounds, every result's strings are NUL-terminated and bounded,
 *     the tables never exceed their sizes nor their memory bound.
 *   - odd: the bytes are a saved table (a damaged state file).  It is
 *     loaded, saved, loaded into a second table and saved again: both saves
 *     must be equal, and the second load must skip nothing.
 * Aborts when an invariant breaks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/correlate.h"
#include "correlate/join.h"
#include "match/catalog.h"
#include "parse/logline.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (256 * 1024)
#define REC_BYTES 512
#define REC_LINES 4
#define SAVE_CAP  (16 * 1024 * 1024)
#define NSIGS	  3

static const uint8_t key[16] = { 3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3 };
static struct mt_signature sigs[NSIGS];
static struct mt_correlate *cur;

static void
check_str(const char *s, size_t max)
{
	if (s != NULL && strnlen(s, max + 1) > max)
		abort();
}

static void
on_record(void *ctx, const struct mt_join_rec *r)
{
	struct mt_logrec rec;
	struct mt_corr_result res;
	const struct mt_correlate_stats *st;
	const struct mt_signature *sig = NULL;

	if ((r->nlines > 1 && r->len > REC_BYTES) || r->nlines > REC_LINES || r->nlines == 0)
		abort();
	mt_logline_parse(r->p, r->len, &rec);
	if (r->len > 0 && (unsigned char)r->p[r->len - 1] % 4 != 3)
		sig = &sigs[(unsigned char)r->p[r->len - 1] % 4 % NSIGS];
	mt_correlate_observe(cur, &rec, sig, 1.7e9, &res);
	if (res.verdict == MT_CORR_REPEAT || res.verdict == MT_CORR_OUTCOME) {
		if (res.cause_id == NULL || res.cause_reply == NULL)
			abort();
		check_str(res.cause_id, 200);
		check_str(res.cause_reply, MT_CORRELATE_REPLY_MAX);
	}
	check_str(res.summary, MT_CORRELATE_SUMMARY_MAX - 1);
	check_str(res.resolved_destination, MT_CORRELATE_NAME_MAX);
	check_str(res.health_destination, MT_CORRELATE_NAME_MAX);
	st = mt_correlate_stats(cur);
	if (st->messages > 1000 || st->destinations > 16 || st->memory > st->memory_max)
		abort();
}

static void
fuzz_log(const uint8_t *data, size_t size)
{
	struct mt_correlate_opts o;
	struct mt_join *j = mt_join_new(REC_BYTES, REC_LINES, on_record, NULL);
	struct mt_corr_dest *dv;
	struct mt_corr_msg *mv;

	mt_correlate_opts_default(&o);
	o.max_messages = 16;
	o.max_destinations = 16;
	o.health_min_attempts = 2;
	cur = mt_correlate_new(&o, key);
	for (size_t i = 0; i < size;) {
		const uint8_t *e = memchr(data + i, '\n', size - i);
		size_t n = e ? (size_t)(e - (data + i)) : size - i;

		mt_join_line(j, (i / 64) % 2 ? "a" : "b", (const char *)data + i, n, false, i, 0);
		i += n + 1;
	}
	mt_join_flush(j);
	(void)mt_correlate_destinations(cur, &dv);
	free(dv);
	(void)mt_correlate_messages(cur, &mv);
	free(mv);
	mt_join_free(j);
	cur = mt_correlate_free(cur);
}

static void
fuzz_load(const uint8_t *data, size_t size)
{
	struct mt_correlate_opts o;
	struct mt_correlate *a, *b;
	struct mt_buf s1, s2;
	size_t skipped = 0;

	mt_correlate_opts_default(&o);
	o.max_messages = 1000;
	o.max_destinations = 64;
	a = mt_correlate_new(&o, key);
	b = mt_correlate_new(&o, key);
	mt_buf_init(&s1, SAVE_CAP);
	mt_buf_init(&s2, SAVE_CAP);
	(void)mt_correlate_load(a, (const char *)data, size, NULL);
	if (mt_correlate_save(a, &s1) < 0)
		abort();
	if (mt_correlate_load(b, s1.data, s1.len, &skipped) < 0 || skipped != 0)
		abort();
	if (mt_correlate_save(b, &s2) < 0)
		abort();
	if (s1.len != s2.len || memcmp(s1.data, s2.data, s1.len) != 0)
		abort();
	mt_buf_fini(&s1);
	mt_buf_fini(&s2);
	mt_correlate_free(a);
	mt_correlate_free(b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (sigs[0].id == NULL) {
		sigs[0].id = (char *)"fuzz/a";
		sigs[1].id = (char *)"fuzz/b-longer-signature-id";
		sigs[2].id = (char *)"fuzz/c";
		for (int i = 0; i < NSIGS; i++)
			sigs[i].title = sigs[i].id;
	}
	if (size == 0 || size > INPUT_MAX)
		return 0;
	if (data[0] % 2 == 0)
		fuzz_log(data + 1, size - 1);
	else
		fuzz_load(data + 1, size - 1);
	return 0;
}
