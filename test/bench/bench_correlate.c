/*
 * bench_correlate - the message table under a flood of distinct queue ids:
 * N ids (default 10,000,000) into a table of MAX (default 1,000,000), each
 * a deferral with a cause.  Prints the time per record, the table's bytes
 * and the process's peak RSS, and checks that the table stayed at its size.
 *
 * usage: bench_correlate [N [MAX]]     (TAP: one line per check)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "correlate/correlate.h"
#include "parse/logline.h"

static long
peak_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long v = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0)
			v = strtol(line + 6, NULL, 10);
	(void)fclose(f);
	return v;
}

int
main(int argc, char **argv)
{
	static const uint8_t key[16] = { 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7 };
	size_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 10000000;
	size_t max = argc > 2 ? strtoull(argv[2], NULL, 10) : 1000000;
	struct mt_correlate_opts o;
	struct mt_correlate *c;
	struct mt_logrec rec;
	struct mt_corr_result res;
	struct mt_signature sig;
	const struct mt_correlate_stats *st;
	struct timespec t0, t1;
	long rss0 = peak_rss_kib(), rss1;
	char id[32];
	double secs;
	int failed = 0;

	memset(&sig, 0, sizeof(sig));
	sig.id = (char *)"communication/smtp-connect-refused";
	mt_correlate_opts_default(&o);
	o.max_messages = max;
	c = mt_correlate_new(&o, key);
	memset(&rec, 0, sizeof(rec));
	rec.mta = MT_MTA_POSTFIX;
	rec.f[MT_F_STATUS] = (struct mt_view){ "deferred", 8 };
	rec.f[MT_F_RECIPIENT] = (struct mt_view){ "bob@example.net", 15 };
	rec.f[MT_F_REPLY] =
		(struct mt_view){ "connect to mx.example.net[192.0.2.1]:25: Connection refused",
				  59 };
	rec.f[MT_F_MESSAGE] = rec.f[MT_F_REPLY];
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < n; i++) {
		/* Postfix long queue ids are up to 17 characters; these are 14. */
		int k = snprintf(id, sizeof(id), "4Q%012zX", i);

		rec.f[MT_F_QUEUE_ID] = (struct mt_view){ id, (size_t)k };
		mt_correlate_observe(c, &rec, &sig, 1.7e9 + (double)i / 1000, &res);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	st = mt_correlate_stats(c);
	rss1 = peak_rss_kib();
	printf("# %zu distinct queue ids into a table of %zu: %.0f ns each, %.2f s\n", n, max,
	       secs * 1e9 / (double)n, secs);
	printf("# kept %zu, evicted %llu by size and %llu by age; message table %zu bytes "
	       "(%.1f MiB, %.1f bytes a message), all tables %.1f MiB; peak RSS %.1f MiB "
	       "(%.1f MiB before)\n",
	       st->messages, (unsigned long long)st->msg_evicted_lru,
	       (unsigned long long)st->msg_evicted_age, st->memory_messages,
	       st->memory_messages / 1048576., (double)st->memory_messages / (double)max,
	       st->memory / 1048576., rss1 / 1024., rss0 / 1024.);
	if (st->messages != (n < max ? n : max)) {
		printf("not ok 1 - the table holds %zu, want %zu\n", st->messages,
		       n < max ? n : max);
		failed = 1;
	} else {
		printf("ok 1 - the table stays at its size\n");
	}
	if (st->msg_evicted_lru + st->msg_evicted_age != (n > max ? n - max : 0)) {
		printf("not ok 2 - evictions are counted\n");
		failed = 1;
	} else {
		printf("ok 2 - every eviction is counted\n");
	}
	if (max == 1000000 && st->memory_messages >= 64u * 1024 * 1024) {
		printf("not ok 3 - 1,000,000 messages take %zu bytes, over 64 MiB\n",
		       st->memory_messages);
		failed = 1;
	} else {
		printf("ok 3 - the message table is within its bound (%zu bytes)\n",
		       st->memory_messages);
	}
	printf("1..3\n");
	mt_correlate_free(c);
	return failed;
}
