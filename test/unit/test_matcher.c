/*
 * Unit tests for matcher.c.  argv[1]: the signatures directory, argv[2]: the
 * public corpus directory.  The prefilter must change nothing but speed:
 * over every corpus line, prefiltered and naive runs give the same matches.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match/catalog.h"
#include "match/literal.h"
#include "match/matcher.h"
#include "parse/logline.h"
#include "tap.h"

static char dir[64];

static void
write_sig(const char *name, const char *id, const char *regex, const char *extra)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL)
		exit(2);
	fprintf(f,
		"id: %s\nsignature: sig %s\nregex: '%s'\ndomain: d\ncategory: c\n"
		"root_cause: r\nworkarounds: [{action: a, success_rate: 0.5}]\n%s",
		id, id, regex, extra);
	if (fclose(f) != 0)
		exit(2);
}

static size_t
run(struct mt_matcher *m, const char *line, const struct mt_match **res)
{
	struct mt_logrec rec;

	mt_logline_parse(line, strlen(line), &rec);
	return mt_matcher_run(m, line, strlen(line), rec.mta, res);
}

static void
unit_cases(void)
{
	const char *paths[1] = { dir };
	const struct mt_match *res;
	struct mt_catalog *c;
	struct mt_matcher *m;
	struct mt_diag d;
	size_t n;

	snprintf(dir, sizeof(dir), "/tmp/mt-test-matcher-XXXXXX");
	if (mkdtemp(dir) == NULL)
		exit(2);
	write_sig("1.yaml", "generic-421", "said: 421[ -](?<text>.*)", "specificity: 20\n");
	write_sig("2.yaml", "gmail-421-4728", "said: 421[ -]4\\.7\\.28 .*(?<relay>google\\.com)",
		  "specificity: 80\nmta: [postfix]\n");
	write_sig("3.yaml", "exim-only", "said: 421", "mta: exim\n");
	write_sig("4.yaml", "costly", "^\\S+ \\d+ \\S+ \\S+ \\S+: [A-F0-9]{10}:\\sc", "");
	write_sig("5.yaml", "pathological", "xyz(a+)+$", "");
	write_sig("6.yaml", "alternatives", "Connection timed out|Connection refused", "");
	/* a group of words beside the literals: one of them is required too (set2) */
	write_sig("7.yaml", "set2", "(?:refused by peer|rejected by peer) .*(?:Spamhaus|Barracuda)",
		  "");
	/* one first literal ("said: 4"), seven second ones (" 4.N."), and one with letters */
	for (int k = 1; k <= 7; k++) {
		char name[32], id[32], re[64];

		snprintf(name, sizeof(name), "x%d.yaml", k);
		snprintf(id, sizeof(id), "x-%d", k);
		snprintf(re, sizeof(re), "said: 4\\d\\d 4\\.%d\\.\\d", k);
		write_sig(name, id, re, "");
	}
	write_sig("y.yaml", "mailbox-full", "said: 5\\d\\d .*Mailbox full", "");
	mt_diag_init(&d);
	c = mt_catalog_load(paths, 1, &d);
	ok(d.errors == 0 && mt_catalog_count(c) == 15, "test catalog loads");
	m = mt_matcher_new(c);

	n = run(m,
		"Jan 02 07:31:13 h postfix/smtp[1]: 251A3372458: to=<a@b>, relay=x, "
		"status=deferred (host mx.google.com[1.2.3.4] said: 421-4.7.28 rate limited by "
		"google.com)",
		&res);
	ok(n == 2, "two signatures match (got %zu)", n);
	ok(n >= 2 && strcmp(res[0].sig->id, "gmail-421-4728") == 0 &&
		   strcmp(res[1].sig->id, "generic-421") == 0,
	   "most specific first");
	ok(n >= 1 && res[0].ncaptures == 1 && strcmp(res[0].captures[0].name, "relay") == 0 &&
		   res[0].captures[0].v.len == 10 &&
		   !memcmp(res[0].captures[0].v.p, "google.com", 10),
	   "named capture view");
	ok(mt_matcher_is_costly(m, 3) && !mt_matcher_is_costly(m, 0), "costly signature detected");

	n = run(m,
		"2023-03-24 10:02:24 1pfdJV-004eVE-9X == a@b R=dnslookup T=remote_smtp "
		"defer (-44): SMTP error from remote mail server after RCPT: host h [1.2.3.4] said: 421 no",
		&res);
	ok(n == 2 && strcmp(res[0].sig->id, "exim-only") == 0 &&
		   strcmp(res[1].sig->id, "generic-421") == 0,
	   "mta filter: exim line gets exim-only, not the postfix one (got %zu)", n);

	n = run(m, "Feb 11 16:49:24 letterman postfix/smtp[8204]: AAB4D259B1: connect to x", &res);
	ok(n == 1 && strcmp(res[0].sig->id, "costly") == 0, "costly signature still matches");

	n = run(m, "postfix/smtp[1]: connect to x[1.2.3.4]:25: CONNECTION REFUSED", &res);
	ok(n == 0, "case matters to the regex even though the prefilter folds case");
	n = run(m, "postfix/smtp[1]: connect to x[1.2.3.4]:25: Connection refused", &res);
	ok(n == 1 && strcmp(res[0].sig->id, "alternatives") == 0, "second alternative's literal");

	{
		struct mt_literals *l = malloc(sizeof(*l));
		uint64_t c0, c1, c2;

		if (l == NULL)
			exit(2);
		mt_matcher_literals(m, 6, l);
		ok(l->count == 2 && l->also_set[0] && l->also_set[1] && l->set2_count == 2 &&
			   l->set2_len[0] == 8 && memcmp(l->set2[0], "spamhaus", 8) == 0,
		   "set2: 'refused by peer' and 'rejected by peer' with one of spamhaus, barracuda");
		free(l);
		c0 = mt_matcher_stats(m)->candidates;
		(void)run(m, "nothing here at all", &res);
		c1 = mt_matcher_stats(m)->candidates;
		n = run(m, "postfix/smtp[1]: refused by peer for no listed reason", &res);
		c2 = mt_matcher_stats(m)->candidates;
		ok(n == 0 && c2 - c1 == c1 - c0,
		   "a line with the literal and no set2 word: not a candidate (%llu, %llu)",
		   (unsigned long long)(c1 - c0), (unsigned long long)(c2 - c1));
		n = run(m, "postfix/smtp[1]: rejected by peer - listed at Barracuda", &res);
		ok(n == 1 && strcmp(res[0].sig->id, "set2") == 0, "set2 word after the literal");
		n = run(m, "Barracuda relay: refused by peer per Spamhaus", &res);
		ok(n == 1 && strcmp(res[0].sig->id, "set2") == 0,
		   "a set2 word before the literal (and the regex's after it)");
		n = run(m, "postfix/smtp[1]: refused by peer x Spamhaus; refused by peer y", &res);
		ok(n == 1 && strcmp(res[0].sig->id, "set2") == 0,
		   "set2 word between two hits of the literal");
	}
	{
		struct mt_literals *l = malloc(sizeof(*l));
		size_t x7 = 0, y = 0;
		uint64_t c0, c1, c2, c3;

		if (l == NULL)
			exit(2);
		for (size_t i = 0; i < mt_catalog_count(c); i++) {
			if (strcmp(mt_catalog_get(c, i)->id, "x-7") == 0)
				x7 = i;
			if (strcmp(mt_catalog_get(c, i)->id, "mailbox-full") == 0)
				y = i;
		}
		mt_matcher_literals(m, x7, l);
		ok(l->count == 1 && l->len[0] == 7 && memcmp(l->lit[0], "said: 4", 7) == 0 &&
			   l->also_len[0] == 5 && memcmp(l->also[0], " 4.7.", 5) == 0,
		   "x-7: 'said: 4' and ' 4.7.'");
		mt_matcher_literals(m, y, l);
		ok(l->count == 1 && l->len[0] == 12 && memcmp(l->lit[0], "mailbox full", 12) == 0 &&
			   l->also_len[0] == 7 && memcmp(l->also[0], "said: 5", 7) == 0,
		   "mailbox-full: 'mailbox full' and 'said: 5'");
		free(l);
		c0 = mt_matcher_stats(m)->candidates;
		n = run(m, "postfix/smtp[1]: host h said: 450 4.7.1 go away", &res);
		c1 = mt_matcher_stats(m)->candidates;
		/* plus the costly record, a candidate on every line */
		ok(n == 1 && strcmp(res[0].sig->id, "x-7") == 0 && c1 - c0 == 1 + 1,
		   "seven records share the first literal: only the one whose second is there is "
		   "a candidate (%llu)",
		   (unsigned long long)(c1 - c0));
		/*
		 * x-1 and x-2 are searched for one by one (x-1 found), the rest in
		 * one scan of the line (x-3, x-5 before the first literal, x-7).
		 */
		n = run(m, "code 4.3.0 and 4.1.9, then h said: 450 4.7.1 go away; 4.5.2 too", &res);
		c2 = mt_matcher_stats(m)->candidates;
		ok(n == 1 && strcmp(res[0].sig->id, "x-7") == 0 && c2 - c1 == 4 + 1,
		   "second literals anywhere in the line, one by one and in one scan: 4 "
		   "candidates (%llu)",
		   (unsigned long long)(c2 - c1));
		n = run(m, "postfix/smtp[1]: host h SAID: 552 Mailbox full", &res);
		c3 = mt_matcher_stats(m)->candidates;
		ok(n == 0 && c3 - c2 == 1 + 1,
		   "a second literal is found in any case (a candidate), the regex keeps its case");
		n = run(m, "postfix/smtp[1]: host h said: 552 Mailbox full; said: 450 4.2.0 x",
			&res);
		ok(n == 2, "both records of a line with two first literals (%zu)", n);
	}
	{
		char line[200];
		uint64_t before = mt_matcher_stats(m)->limit_hits;

		snprintf(line, sizeof(line), "xyz%s", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaab");
		n = run(m, line, &res);
		ok(n == 0 && mt_matcher_stats(m)->limit_hits == before + 1 &&
			   mt_matcher_limit_hits(m, 4) == 1,
		   "catastrophic backtracking stops at the limit and is counted");
	}
	mt_matcher_free(m);
	mt_catalog_free(c);
	mt_diag_fini(&d);
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		(void)system(cmd);
	}
}

/*
 * Prefilter and naive agree on every line of every corpus file (*.log) and
 * every log the scenario farm recorded (maillog, mainlog, paniclog).
 */
static void
corpus_agreement(const char *sigdir, const char *corpus, const char *farm)
{
	const char *paths[1] = { sigdir };
	struct mt_diag d;
	struct mt_catalog *c;
	struct mt_matcher *fast, *slow;
	size_t lines = 0, disagree = 0, matched = 0, files = 0;
	char cmd[600];
	FILE *list;
	char path[1024];

	mt_diag_init(&d);
	c = mt_catalog_load(paths, 1, &d);
	ok(d.errors == 0 && mt_catalog_count(c) > 0, "shipped catalog loads (%zu signatures)",
	   mt_catalog_count(c));
	fast = mt_matcher_new(c);
	slow = mt_matcher_new(c);
	mt_matcher_set_naive(slow, true);
	snprintf(cmd, sizeof(cmd),
		 "find '%s' %s%s%s -type f \\( -name '*.log' -o -name maillog -o -name mainlog "
		 "-o -name paniclog \\) | sort",
		 corpus, farm ? "'" : "", farm ? farm : "", farm ? "'" : "");
	list = popen(cmd, "r");
	while (list && fgets(path, sizeof(path), list)) {
		FILE *f;
		char *line = NULL;
		size_t cap = 0;
		ssize_t len;

		path[strcspn(path, "\n")] = '\0';
		if ((f = fopen(path, "r")) == NULL)
			continue;
		files++;
		while ((len = getline(&line, &cap, f)) > 0) {
			const struct mt_match *a, *b;
			struct mt_logrec rec;
			size_t na, nb;

			if (line[len - 1] == '\n')
				len--;
			mt_logline_parse(line, (size_t)len, &rec);
			na = mt_matcher_run(fast, line, (size_t)len, rec.mta, &a);
			nb = mt_matcher_run(slow, line, (size_t)len, rec.mta, &b);
			lines++;
			matched += na > 0;
			if (na != nb) {
				disagree++;
				continue;
			}
			for (size_t i = 0; i < na; i++)
				if (a[i].sig != b[i].sig)
					disagree++;
		}
		free(line);
		fclose(f);
	}
	if (list)
		pclose(list);
	ok(files > 20 && lines > 10000, "corpus read (%zu files, %zu lines)", files, lines);
	ok(disagree == 0,
	   "prefilter agrees with naive on every line (%zu disagreements, %zu matched)", disagree,
	   matched);
	ok(mt_matcher_stats(fast)->regex_runs * 10 < mt_matcher_stats(slow)->regex_runs,
	   "prefilter runs far fewer regexes (%llu vs %llu)",
	   (unsigned long long)mt_matcher_stats(fast)->regex_runs,
	   (unsigned long long)mt_matcher_stats(slow)->regex_runs);
	mt_matcher_free(fast);
	mt_matcher_free(slow);
	mt_catalog_free(c);
	mt_diag_fini(&d);
}

int
main(int argc, char **argv)
{
	unit_cases();
	if (argc > 2)
		corpus_agreement(argv[1], argv[2], argc > 3 ? argv[3] : NULL);
	return tap_done();
}
