/*
 * Unit tests for catalog.c and ydoc.c: every class of bad signature file is
 * reported with file, line and column, and does not stop the good ones.
 * argv[1] is the shared schema example (signature-example.json).
 */
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "match/catalog.h"
#include "tap.h"
#include "util/diag.h"

static char dir[64];

/* A valid record with one line replaced (or appended) to break it. */
static const char good[] = "id: test/good-%s\n"				   /* 1 */
			   "signature: \"550 5.1.1 User unknown\"\n"	   /* 2 */
			   "regex: 'said: 550[ -]5\\.1\\.1 (?<text>.*)'\n" /* 3 */
			   "domain: communication\n"			   /* 4 */
			   "category: recipient_error\n"		   /* 5 */
			   "root_cause: The mailbox does not exist.\n"	   /* 6 */
			   "workarounds:\n"				   /* 7 */
			   "  - action: Fix the address\n"		   /* 8 */
			   "    success_rate: 0.6\n"			   /* 9 */
			   "  - action: Ask the recipient\n"		   /* 10 */
			   "    success_rate: 0.9\n"			   /* 11 */
			   "workarounds_zh: [修正地址, 询问收件人]\n"	   /* 12 */
			   "dead_ends:\n"				   /* 13 */
			   "  - action: Retry\n"			   /* 14 */
			   "    fail_rate: 0.99\n"			   /* 15 */
			   "mta: [postfix, exim]\n"			   /* 16 */
			   "severity: warning\n";			   /* 17 */

static void
write_file(const char *name, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0) {
		perror(path);
		exit(2);
	}
}

/* good with line `line` (1-based) replaced by repl, or appended if line is 0. */
static void
write_variant(const char *name, const char *idtag, int line, const char *repl)
{
	char text[4096], out[4096];
	char *p = text, *o = out;
	int n = 1;

	snprintf(text, sizeof(text), good, idtag);
	while (*p) {
		char *nl = strchr(p, '\n');
		size_t len = (size_t)(nl - p) + 1;

		if (n == line)
			o += sprintf(o, "%s\n", repl);
		else
			memcpy(o, p, len), o += len;
		p += len;
		n++;
	}
	*o = '\0';
	if (line == 0)
		strcat(out, repl);
	write_file(name, out);
}

struct bad_case {
	const char *file;
	int line; /* line to replace; 0 appends */
	const char *repl;
	const char *want; /* "file:LINE:COL: error: ...text" fragment */
};

static const struct bad_case bad_cases[] = {
	{ "b01-syntax.yaml", 2, "signature: \"unclosed",
	  "b01-syntax.yaml:3:23: error: YAML syntax error: found unknown escape character" },
	{ "b02-missing.yaml", 3, "# no regex",
	  "b02-missing.yaml:1:1: error: missing required field 'regex'" },
	{ "b03-type.yaml", 6, "root_cause: [a, b]",
	  "b03-type.yaml:6:13: error: field 'root_cause' must be a string, not a list" },
	{ "b04-rate.yaml", 9, "    success_rate: 1.5",
	  "b04-rate.yaml:9:19: error: field 'success_rate' is 1.5, must be between 0 and 1" },
	{ "b05-failrate.yaml", 15, "    fail_rate: -0.1",
	  "b05-failrate.yaml:15:16: error: field 'fail_rate' is -0.1" },
	{ "b06-regex.yaml", 3, "regex: 'said: (550'",
	  "b06-regex.yaml:3:8: error: regex does not compile: at offset 10: missing closing parenthesis" },
	{ "b07-anchor.yaml", 5, "category: &c recipient_error",
	  "b07-anchor.yaml:5:11: error: YAML anchors are not allowed" },
	{ "b08-dupkey.yaml", 5, "domain: again",
	  "b08-dupkey.yaml:5:1: error: duplicate key 'domain' (first at line 4)" },
	{ "b09-severity.yaml", 17, "severity: fatal",
	  "b09-severity.yaml:17:11: error: field 'severity' must be info, warning, error or critical" },
	{ "b10-mta.yaml", 16, "mta: [postfix, qmail]",
	  "b10-mta.yaml:16:16: error: unknown MTA 'qmail'" },
	{ "b11-notnum.yaml", 11, "    success_rate: high",
	  "b11-notnum.yaml:11:19: error: field 'success_rate' must be a number, not a string" },
	{ "b12-zhcount.yaml", 12, "workarounds_zh: [只有一个]",
	  "b12-zhcount.yaml:12:17: error: field 'workarounds_zh' has 1 items, 'workarounds' has 2" },
	{ "b13-notmap.yaml", 15, "  - just text",
	  "b13-notmap.yaml:15:5: error: 'dead_ends' item 2 must be a mapping, not a string" },
	{ "b14-badid.yaml", 1, "id: Bad Id!",
	  "b14-badid.yaml:1:5: error: id 'Bad Id!' may hold only" },
	{ "b15-emptywa.yaml", 7, "workarounds: []\nx1: |",
	  "b15-emptywa.yaml:7:14: error: field 'workarounds' must list at least one workaround" },
	{ "b16-list.yaml", 0, "", NULL }, /* replaced below: a file that is a list */
	{ "b17-json.json", 0, "", NULL }, /* replaced below: broken JSON */
	{ "b18-alias.yaml", 0, "x_extra: *foo\n",
	  "b18-alias.yaml:18:10: error: YAML aliases are not allowed" },
	{ "b19-tag.yaml", 4, "domain: !!python/object foo",
	  "b19-tag.yaml:4:9: error: YAML tags are not allowed" },
	{ "b20-twodocs.yaml", 0, "---\nid: second\n",
	  "b20-twodocs.yaml:18:1: error: only one YAML document per file is allowed" },
	{ "b21-verified.yaml", 11, "    success_rate: 0.9\n    verified_by: [postfix-x]",
	  "b21-verified.yaml:10:5: error: a workaround with 'verified_by' must carry the 'apply'" },
};

static bool
diag_has(const struct mt_diag *d, const char *want, char *ret_first, size_t size)
{
	ret_first[0] = '\0';
	for (size_t i = 0; i < d->n; i++) {
		char line[1400];

		mt_diag_format(d, i, line, sizeof(line));
		if (strstr(line, want) != NULL)
			return true;
		if (ret_first[0] == '\0')
			snprintf(ret_first, size, "%s", line);
	}
	return false;
}

int
main(int argc, char **argv)
{
	const char *paths[2];
	struct mt_catalog *c;
	struct mt_diag d;
	char first[1400];
	size_t nbad = sizeof(bad_cases) / sizeof(bad_cases[0]);

	snprintf(dir, sizeof(dir), "/tmp/mt-test-catalog-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return 2;
	write_variant("a-good.yaml", "a", -1, "");
	write_variant("z-good.yaml", "z", -1, "");
	write_variant("z-unknown-field.yaml", "u", 0, "flavour: vanilla\n");
	write_variant("zz-dup.yaml", "a", -1, ""); /* same id as a-good */
	write_variant("z-verified.yaml", "v", 11,
		      "    success_rate: 0.9\n    apply: postmap /etc/postfix/transport\n"
		      "    verified_by: [postfix-x, postfix-y]");
	write_file("notes.txt", "ignored: not a signature file\n");
	for (size_t i = 0; i < nbad; i++)
		if (bad_cases[i].want != NULL)
			write_variant(bad_cases[i].file, bad_cases[i].file, bad_cases[i].line,
				      bad_cases[i].repl);
	write_file("b16-list.yaml", "- a\n- b\n");
	write_file("b17-json.json", "{\"id\": \"x\",\n \"regex\": \"a\",,\n}\n");

	paths[0] = dir;
	mt_diag_init(&d);
	c = mt_catalog_load(paths, 1, &d);
	ok(mt_catalog_count(c) == 4, "good files load beside bad ones (got %zu, want 4)",
	   mt_catalog_count(c));
	for (size_t i = 0; i < nbad; i++) {
		char want[512];

		if (bad_cases[i].want == NULL)
			continue;
		snprintf(want, sizeof(want), "%s/%s", dir, bad_cases[i].want);
		if (!ok(diag_has(&d, want, first, sizeof(first)), "%s reported", bad_cases[i].file))
			diag("want '%s'", want);
	}
	ok(diag_has(&d,
		    "b16-list.yaml:1:1: error: a signature file must hold one mapping, not a list",
		    first, sizeof(first)),
	   "list file reported");
	ok(diag_has(&d, "b17-json.json:2:15: error: YAML syntax error", first, sizeof(first)),
	   "bad JSON reported with position");
	ok(diag_has(&d, "zz-dup.yaml:1:5: error: duplicate id 'test/good-a'", first, sizeof(first)),
	   "duplicate id reported");
	ok(diag_has(&d, "z-unknown-field.yaml:18:1: warning: unknown field 'flavour'", first,
		    sizeof(first)),
	   "unknown field is a warning");
	ok(!diag_has(&d, "notes.txt", first, sizeof(first)), "non-signature files ignored");
	if (d.errors < nbad + 1) {
		for (size_t i = 0; i < d.n; i++) {
			char line[1400];

			mt_diag_format(&d, i, line, sizeof(line));
			diag("%s", line);
		}
	}

	{
		const struct mt_signature *s = mt_catalog_find(c, "test/good-v");
		const struct mt_workaround *w = s ? &s->workarounds[0] : NULL;

		ok(w != NULL && w->apply &&
			   strcmp(w->apply, "postmap /etc/postfix/transport") == 0 &&
			   w->nverified_by == 2 && strcmp(w->verified_by[1], "postfix-y") == 0,
		   "a workaround's apply and verified_by");
		ok(s != NULL && s->workarounds[1].apply == NULL &&
			   s->workarounds[1].nverified_by == 0,
		   "no apply, no verified_by");
	}
	{
		const struct mt_signature *s = mt_catalog_find(c, "test/good-a");

		ok(s != NULL, "find by id");
		if (s != NULL) {
			ok(s->nworkarounds == 2 && s->workarounds[0].success_rate > 0.8,
			   "workarounds in rank order");
			ok(s->workarounds[0].action_zh &&
				   strcmp(s->workarounds[0].action_zh, "询问收件人") == 0,
			   "translation follows its workaround when sorted");
			ok(s->severity == MT_SEV_WARNING && s->mta_mask == 6, "severity and mta");
			ok(s->specificity == MT_SPECIFICITY_DEF, "default specificity");
			ok(s->capture_name[1] && strcmp(s->capture_name[1], "text") == 0,
			   "named capture");
			ok(strcmp(s->title, s->signature) == 0, "title defaults to signature");
			ok(s->line == 1 && strstr(s->file, "a-good.yaml"), "origin kept");
		}
	}
	c = mt_catalog_free(c);
	mt_diag_fini(&d);

	/* The knowledge base's record, as JSON, loads as it is with every field. */
	if (argc > 1) {
		const struct mt_signature *s;

		paths[0] = argv[1];
		mt_diag_init(&d);
		c = mt_catalog_load(paths, 1, &d);
		ok(d.errors == 0 && mt_catalog_count(c) == 1, "schema example loads (%zu errors)",
		   d.errors);
		s = mt_catalog_get(c, 0);
		if (s) {
			ok(strcmp(s->id, "communication/smtp-421-service-not-available") == 0,
			   "id");
			ok(s->nversions == 5 && strcmp(s->versions[2].version, "Exim 4.96") == 0,
			   "versions");
			ok(s->ndead_ends == 3 && s->dead_ends[0].fail_rate > 0.9,
			   "dead ends by rate");
			ok(s->nworkarounds == 3 &&
				   s->workarounds[0].success_rate >= s->workarounds[1].success_rate,
			   "workarounds");
			ok(s->confidence > 0.85 && s->confidence < 0.87, "confidence");
			ok(s->root_cause_zh != NULL && s->signature_zh != NULL, "translations");
			ok(s->transition_graph != NULL && s->os_specific != NULL, "maps kept");
			ok(s->error_code && strcmp(s->error_code, "421") == 0, "error code");
			ok(s->evidence_count == 1, "evidence count");
			ok(s->subcategory == NULL, "null subcategory");
		}
		c = mt_catalog_free(c);
		mt_diag_fini(&d);

		/* The daemon's load keeps what alerts use and drops what only check and show read. */
		mt_diag_init(&d);
		c = mt_catalog_load_lean(paths, 1, &d);
		s = mt_catalog_get(c, 0);
		ok(d.errors == 0 && s != NULL && s->nworkarounds == 3 && s->ndead_ends == 3 &&
			   s->root_cause_zh != NULL && s->code != NULL,
		   "lean load: the fields alerts use are there");
		ok(s != NULL && s->nversions == 0 && s->versions == NULL && s->nex_match == 0 &&
			   s->ex_match == NULL && s->naliases == 0 && s->doc == NULL &&
			   s->transition_graph == NULL,
		   "lean load: versions, examples, aliases and the YAML tree are not kept");
		c = mt_catalog_free(c);
		mt_diag_fini(&d);
	}

	{
		char cmd[128];

		if (getenv("KEEP"))
			return tap_done();
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		(void)system(cmd);
	}
	return tap_done();
}
