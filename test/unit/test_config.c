/*
 * Unit tests for config.c: the documented example loads and equals the
 * built-in defaults; every class of mistake is reported at its exact
 * file:line:col, all of them at once; durations and sizes; include, exclude
 * and overrides; the secrecy check.  argv[1] is conf/mtalert.yaml.
 */
#include <sys/stat.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "config/config.h"
#include "match/catalog.h"
#include "tap.h"
#include "util/diag.h"

#define SIGDIR "/usr/share/mtalert/signatures"

static char dir[64];

static void
path_of(char *dst, size_t size, const char *name)
{
	if ((size_t)snprintf(dst, size, "%s/%s", dir, name) >= size) {
		fprintf(stderr, "path too long: %s\n", name);
		exit(2);
	}
}

static void
write_file(const char *name, const char *text, mode_t mode)
{
	char path[256];
	FILE *f;

	path_of(path, sizeof(path), name);
	(void)unlink(path); /* it may be read-only from an earlier case */
	f = fopen(path, "w");
	if (f == NULL || fputs(text, f) == EOF || fclose(f) != 0 || chmod(path, mode) < 0) {
		perror(path);
		exit(2);
	}
}

static void
dump(const struct mt_diag *d)
{
	for (size_t i = 0; i < d->n; i++) {
		char line[1400];

		mt_diag_format(d, i, line, sizeof(line));
		diag("  %s", line);
	}
}

/* Does a rendered diagnostic start with want (after the directory)? */
/* Any diagnostic whose message holds want. */
static bool
diag_contains(const struct mt_diag *d, const char *want)
{
	for (size_t i = 0; i < d->n; i++)
		if (strstr(d->recs[i].msg, want) != NULL)
			return true;
	return false;
}

static bool
diag_has(const struct mt_diag *d, const char *want)
{
	char full[1400];

	path_of(full, sizeof(full), want);
	for (size_t i = 0; i < d->n; i++) {
		char line[1400];

		mt_diag_format(d, i, line, sizeof(line));
		if (strncmp(line, full, strlen(full)) == 0)
			return true;
	}
	return false;
}

/* --- the example and the defaults ------------------------------------------ */

/* Durations are exact for the values used here; this keeps -Wfloat-equal quiet. */
static bool
same_num(double a, double b)
{
	return fabs(a - b) < 1e-12;
}

static bool
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The example documents the defaults: it must load to the same values. */
static void
test_example_is_default(const char *example)
{
	struct mt_config *got = NULL, *want = mt_config_default(SIGDIR);
	struct mt_diag d;
	int r;

	mt_diag_init(&d);
	r = mt_config_load(example, SIGDIR, &d, &got);
	ok(r == 0 && d.errors == 0 && d.warnings == 0,
	   "example %s loads cleanly (got r=%d, %zu errors, %zu warnings; want 0, 0, 0)", example,
	   r, d.errors, d.warnings);
	dump(&d);
	mt_diag_fini(&d);
	if (got == NULL) {
		mt_config_free(want);
		return;
	}
	ok(strcmp(got->file, example) == 0, "file: got '%s', want '%s'", got->file, example);
	ok((int)got->log_level == (int)want->log_level, "example log_level: got %d, want %d",
	   (int)got->log_level, (int)want->log_level);
	ok((int)got->locale == (int)want->locale, "example locale: got %d, want %d",
	   (int)got->locale, (int)want->locale);
	ok(same_str(got->state_directory, want->state_directory),
	   "example state_directory: got %s, want %s", got->state_directory, want->state_directory);
	ok(same_num(got->checkpoint_interval, want->checkpoint_interval),
	   "example checkpoint_interval: got %g, want %g", got->checkpoint_interval,
	   want->checkpoint_interval);
	ok(got->ninputs == want->ninputs, "example inputs: got %zu, want %zu", got->ninputs,
	   want->ninputs);
	for (size_t i = 0; i < got->ninputs && i < want->ninputs; i++)
		ok(same_str(got->inputs[i].path, want->inputs[i].path) &&
			   (int)got->inputs[i].start_at == (int)want->inputs[i].start_at,
		   "example inputs[%zu]: got %s/%d, want %s/%d", i, got->inputs[i].path,
		   (int)got->inputs[i].start_at, want->inputs[i].path,
		   (int)want->inputs[i].start_at);
	ok((int)got->journal.enabled == (int)want->journal.enabled &&
		   got->journal.nmatches == want->journal.nmatches,
	   "example journal: got %d/%zu, want %d/%zu", (int)got->journal.enabled,
	   got->journal.nmatches, (int)want->journal.enabled, want->journal.nmatches);
	ok(got->limits.max_line_length == want->limits.max_line_length &&
		   same_num(got->limits.partial_line_timeout, want->limits.partial_line_timeout) &&
		   got->limits.read_chunk == want->limits.read_chunk,
	   "example limits: got %llu/%g/%llu, want %llu/%g/%llu",
	   (unsigned long long)got->limits.max_line_length, got->limits.partial_line_timeout,
	   (unsigned long long)got->limits.read_chunk,
	   (unsigned long long)want->limits.max_line_length, want->limits.partial_line_timeout,
	   (unsigned long long)want->limits.read_chunk);
	ok(got->correlate.enabled == want->correlate.enabled &&
		   got->correlate.max_messages == want->correlate.max_messages &&
		   got->correlate.max_destinations == want->correlate.max_destinations &&
		   same_num(got->correlate.message_max_age, want->correlate.message_max_age) &&
		   same_num(got->correlate.continuation_timeout,
			    want->correlate.continuation_timeout) &&
		   same_num(got->correlate.health_window, want->correlate.health_window) &&
		   got->correlate.health_threshold == want->correlate.health_threshold &&
		   got->correlate.health_min_attempts == want->correlate.health_min_attempts,
	   "example correlate equals the defaults");
	ok(got->signatures.ndirectories == 1 && strcmp(got->signatures.directories[0], SIGDIR) == 0,
	   "example signature directories: got %zu (%s), want 1 (%s)", got->signatures.ndirectories,
	   got->signatures.ndirectories ? got->signatures.directories[0] : "-", SIGDIR);
	ok(got->signatures.ninclude == 0 && got->signatures.nexclude == 0 &&
		   got->signatures.noverrides == 0,
	   "example include/exclude/overrides: got %zu/%zu/%zu, want 0/0/0",
	   got->signatures.ninclude, got->signatures.nexclude, got->signatures.noverrides);
	ok(got->alerting.stdout_sink.enabled == want->alerting.stdout_sink.enabled &&
		   (int)got->alerting.stdout_sink.format == (int)want->alerting.stdout_sink.format,
	   "example stdout: got %d/%d, want %d/%d", got->alerting.stdout_sink.enabled,
	   (int)got->alerting.stdout_sink.format, want->alerting.stdout_sink.enabled,
	   (int)want->alerting.stdout_sink.format);
	ok(got->alerting.syslog_sink.enabled == want->alerting.syslog_sink.enabled &&
		   got->alerting.syslog_sink.facility == want->alerting.syslog_sink.facility &&
		   same_str(got->alerting.syslog_sink.tag, want->alerting.syslog_sink.tag),
	   "example syslog: got %d/%d/%s, want %d/%d/%s", got->alerting.syslog_sink.enabled,
	   got->alerting.syslog_sink.facility, got->alerting.syslog_sink.tag,
	   want->alerting.syslog_sink.enabled, want->alerting.syslog_sink.facility,
	   want->alerting.syslog_sink.tag);
	ok(got->alerting.syslog_sink.filter.min_severity ==
			   want->alerting.syslog_sink.filter.min_severity &&
		   got->alerting.journal_sink.enabled == want->alerting.journal_sink.enabled &&
		   got->alerting.journal_sink.filter.min_severity ==
			   want->alerting.journal_sink.filter.min_severity,
	   "example syslog min_severity and journal sink: as the defaults");
	ok(got->control.enabled == want->control.enabled &&
		   same_str(got->control.socket, want->control.socket) &&
		   got->metrics.listen == NULL && got->nmaintenance == 0,
	   "example control, metrics and maintenance: as the defaults");
	mt_config_free(got);
	mt_config_free(want);
}

static void
test_defaults(void)
{
	static const char *const want_inputs[] = {
		"/var/log/mail.log",	  "/var/log/maillog",	    "/var/log/mail/mail.log",
		"/var/log/exim4/mainlog", "/var/log/exim/main.log", "/var/log/exim/mainlog",
	};
	struct mt_config *c = mt_config_default("/opt/sigs");
	const size_t nwant = sizeof(want_inputs) / sizeof(want_inputs[0]);

	ok(strcmp(c->file, "(default)") == 0, "default file: got '%s', want '(default)'", c->file);
	ok((int)c->log_level == MT_LOG_INFO, "default log_level: got %d, want %d",
	   (int)c->log_level, MT_LOG_INFO);
	ok((int)c->locale == MT_LOCALE_EN, "default locale: got %d, want %d", (int)c->locale,
	   MT_LOCALE_EN);
	ok(strcmp(c->state_directory, "/var/lib/mtalert") == 0,
	   "default state_directory: got %s, want /var/lib/mtalert", c->state_directory);
	ok(same_num(c->checkpoint_interval, 5.0), "default checkpoint_interval: got %g, want 5",
	   c->checkpoint_interval);
	ok(c->ninputs == nwant, "default inputs: got %zu, want %zu", c->ninputs, nwant);
	for (size_t i = 0; i < nwant && i < c->ninputs; i++)
		ok(strcmp(c->inputs[i].path, want_inputs[i]) == 0 &&
			   (int)c->inputs[i].start_at == MT_START_END && c->inputs[i].pos.line == 0,
		   "default inputs[%zu]: got %s/%d, want %s/end", i, c->inputs[i].path,
		   (int)c->inputs[i].start_at, want_inputs[i]);
	ok((int)c->journal.enabled == MT_AUTO && c->journal.nmatches == 0,
	   "default journal: got %d/%zu, want auto/0", (int)c->journal.enabled,
	   c->journal.nmatches);
	ok(c->limits.max_line_length == 65536 && same_num(c->limits.partial_line_timeout, 5.0) &&
		   c->limits.read_chunk == 262144,
	   "default limits: got %llu/%g/%llu, want 65536/5/262144",
	   (unsigned long long)c->limits.max_line_length, c->limits.partial_line_timeout,
	   (unsigned long long)c->limits.read_chunk);
	ok(c->correlate.enabled && c->correlate.max_messages == 1000000 &&
		   c->correlate.max_destinations == 10000 &&
		   same_num(c->correlate.message_max_age, 10 * 86400.) &&
		   same_num(c->correlate.continuation_timeout, 0.5) &&
		   same_num(c->correlate.health_window, 900.) &&
		   c->correlate.health_threshold == 20 && c->correlate.health_min_attempts == 10,
	   "default correlate: got %d/%llu/%llu/%g/%g/%g/%llu/%llu", c->correlate.enabled,
	   (unsigned long long)c->correlate.max_messages,
	   (unsigned long long)c->correlate.max_destinations, c->correlate.message_max_age,
	   c->correlate.continuation_timeout, c->correlate.health_window,
	   (unsigned long long)c->correlate.health_threshold,
	   (unsigned long long)c->correlate.health_min_attempts);
	ok(c->signatures.ndirectories == 1 &&
		   strcmp(c->signatures.directories[0], "/opt/sigs") == 0,
	   "default signature directory: got %zu, want the caller's", c->signatures.ndirectories);
	ok(c->alerting.stdout_sink.enabled && (int)c->alerting.stdout_sink.format == MT_FORMAT_JSON,
	   "default stdout: got %d/%d, want on/json", c->alerting.stdout_sink.enabled,
	   (int)c->alerting.stdout_sink.format);
	ok(c->alerting.syslog_sink.enabled && c->alerting.syslog_sink.facility == LOG_DAEMON &&
		   strcmp(c->alerting.syslog_sink.tag, "mtalert") == 0,
	   "default syslog: got %d/%d/%s, want on/LOG_DAEMON/mtalert",
	   c->alerting.syslog_sink.enabled, c->alerting.syslog_sink.facility,
	   c->alerting.syslog_sink.tag);
	ok(mt_config_signature_enabled(c, "a/b", "x", "y"), "default enables every signature");
	c = mt_config_free(c);
	ok(c == NULL && mt_config_free(NULL) == NULL, "mt_config_free returns NULL, takes NULL");

	c = mt_config_default(NULL);
	ok(c->signatures.ndirectories == 0, "no default signature directory: got %zu, want 0",
	   c->signatures.ndirectories);
	mt_config_free(c);
	/* Taken as given: it may come from the command line. */
	c = mt_config_default("relative/sigs");
	ok(c->signatures.ndirectories == 1 &&
		   strcmp(c->signatures.directories[0], "relative/sigs") == 0,
	   "a caller's relative default directory is kept as given");
	mt_config_free(c);
}

/* --- error classes --------------------------------------------------------- */

struct bad_case {
	const char *file;
	const char *text;
	const char *want; /* "file:LINE:COL: error: ..." prefix */
};

static const struct bad_case bad_cases[] = {
	{ "e01.yaml", "locale: en\nlog_level: verbose\n",
	  "e01.yaml:2:12: error: log_level must be one of error, warning, info, debug, not 'verbose'" },
	{ "e02.yaml", "locale: fr\n",
	  "e02.yaml:1:9: error: locale must be one of en, zh, not 'fr'" },
	{ "e03.yaml", "state_directory: var/lib/mtalert\n",
	  "e03.yaml:1:18: error: state_directory must be an absolute path (starting with '/'), not 'var/lib/mtalert'" },
	{ "e04.yaml", "state_directory: ''\n",
	  "e04.yaml:1:18: error: state_directory must not be empty; it must be an absolute path" },
	{ "e05.yaml", "checkpoint_interval: 2h\n",
	  "e05.yaml:1:22: error: checkpoint_interval must be between 100ms and 1h, not '2h'" },
	{ "e06.yaml", "checkpoint_interval: 99ms\n",
	  "e06.yaml:1:22: error: checkpoint_interval must be between 100ms and 1h, not '99ms'" },
	{ "e07.yaml", "checkpoint_interval: often\n",
	  "e07.yaml:1:22: error: checkpoint_interval must be a duration such as 250ms, 5s, 2m or 1h, not 'often'" },
	{ "e08.yaml", "limits:\n  max_line_length: 32MiB\n",
	  "e08.yaml:2:20: error: limits.max_line_length must be between 1KiB and 16MiB, not '32MiB'" },
	{ "e08b.yaml", "correlate:\n  health_threshold: 150\n",
	  "e08b.yaml:2:21: error: correlate.health_threshold must be between 1 and 100, not '150'" },
	{ "e08c.yaml", "correlate:\n  message_max_age: 100d\n",
	  "e08c.yaml:2:20: error: correlate.message_max_age must be between 1h and 90d, not '100d'" },
	{ "e08d.yaml", "correlate:\n  max_messages: 10\n",
	  "e08d.yaml:2:17: error: correlate.max_messages must be between 1000 and 10000000, not '10'" },
	{ "e09.yaml", "limits:\n  read_chunk: 1.5MiB\n",
	  "e09.yaml:2:15: error: limits.read_chunk must be a size such as 512B, 64KiB or 1MiB, not '1.5MiB'" },
	{ "e10.yaml", "limits:\n  partial_line_timeout: [5s]\n",
	  "e10.yaml:2:25: error: limits.partial_line_timeout must be a duration such as 250ms, 5s, 2m or 1h, not a list" },
	{ "e11.yaml", "log_level: info\ncolour: blue\n",
	  "e11.yaml:2:1: error: unknown key 'colour' (allowed: log_level, locale, state_directory, checkpoint_interval, inputs, journal, limits, correlate, signatures, alerting, control, metrics, maintenance)" },
	{ "e12.yaml", "alerting:\n  stdout:\n    colour: red\n",
	  "e12.yaml:3:5: error: unknown key 'colour' in alerting.stdout (allowed: enabled, format, min_severity, include, exclude)" },
	{ "e13.yaml", "alerting:\n  webhook: {}\n",
	  "e13.yaml:2:3: error: unknown key 'webhook' in alerting (allowed: stdout, syslog, journal, grouping, webhooks, spool, max_per_minute, webhook_failing_after)" },
	{ "e14.yaml", "signatures:\n  overrides:\n    a/b:\n      sevrity: info\n",
	  "e14.yaml:4:7: error: unknown key 'sevrity' in signatures.overrides.a/b (allowed: severity, disabled)" },
	{ "e15.yaml", "inputs:\n  - path: mail.log\n",
	  "e15.yaml:2:11: error: inputs[0].path must be an absolute path (starting with '/'), not 'mail.log'" },
	{ "e16.yaml", "inputs:\n  - path: \"\"\n",
	  "e16.yaml:2:11: error: inputs[0].path must not be empty" },
	{ "e17.yaml", "inputs:\n  - /var/log/a.log\n  - path: /var//log/a.log\n",
	  "e17.yaml:3:11: error: inputs[1]: '/var//log/a.log' is listed twice (first at line 2)" },
	{ "e18.yaml", "inputs:\n  - start_at: end\n",
	  "e18.yaml:2:5: error: inputs[0]: missing required key 'path'" },
	{ "e19.yaml", "inputs:\n  - path: /var/log/mail.log\n    start_at: begining\n",
	  "e19.yaml:3:15: error: inputs[0].start_at must be one of end, beginning, not 'begining'" },
	{ "e20.yaml", "inputs: [/var/log/exim4/]\n",
	  "e20.yaml:1:10: error: inputs[0] must name a file, not a directory: '/var/log/exim4/' ends in '/'" },
	{ "e21.yaml", "inputs: ['/var/log/mail[0-9.log']\n",
	  "e21.yaml:1:10: error: inputs[0] has a '[' without its ']'" },
	{ "e22.yaml", "inputs: /var/log/mail.log\n",
	  "e22.yaml:1:9: error: inputs must be a list of paths or mappings, not '/var/log/mail.log'" },
	{ "e23.yaml", "journal:\n  enabled: maybe\n",
	  "e23.yaml:2:12: error: journal.enabled must be auto, true or false, not 'maybe'" },
	{ "e24.yaml", "journal:\n  matches: [postfix]\n",
	  "e24.yaml:2:13: error: journal.matches[0] must be a journal match FIELD=value" },
	{ "e25.yaml", "signatures:\n  directories: [/usr/share/x, sigs]\n",
	  "e25.yaml:2:31: error: signatures.directories[1] must be an absolute path (starting with '/'), not 'sigs'" },
	{ "e26.yaml", "signatures:\n  include: [delivery/ok, Bad Id]\n",
	  "e26.yaml:2:26: error: signatures.include[1] must be a signature id, 'category:NAME' or 'domain:NAME', not 'Bad Id'" },
	{ "e27.yaml", "signatures:\n  exclude: ['category:']\n",
	  "e27.yaml:2:13: error: signatures.exclude[0]: the name after 'category:' must be 1 to 100 letters" },
	{ "e28.yaml", "signatures:\n  overrides:\n    Bad!: {disabled: true}\n",
	  "e28.yaml:3:5: error: signatures.overrides: key 'Bad!' must be a signature id" },
	{ "e29.yaml", "signatures:\n  overrides:\n    a/b: {severity: fatal}\n",
	  "e29.yaml:3:21: error: signatures.overrides.a/b.severity must be one of info, warning, error, critical, not 'fatal'" },
	{ "e30.yaml", "signatures:\n  overrides:\n    a/b:\n      disabled: yes\n",
	  "e30.yaml:4:17: error: signatures.overrides.a/b.disabled must be true or false, not 'yes'" },
	{ "e31.yaml", "alerting:\n  syslog:\n    facility: local8\n",
	  "e31.yaml:3:15: error: alerting.syslog.facility must be one of kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, authpriv, ftp, local0, local1, local2, local3, local4, local5, local6, local7, not 'local8'" },
	{ "e32.yaml", "alerting:\n  syslog:\n    tag: mt alert\n",
	  "e32.yaml:3:10: error: alerting.syslog.tag must be a word of letters, digits" },
	{ "e33.yaml", "alerting:\n  syslog:\n    tag: abcdefghijklmnopqrstuvwxyz0123456\n",
	  "e33.yaml:3:10: error: alerting.syslog.tag is 33 bytes long; at most 32 are allowed" },
	{ "e34.yaml", "alerting:\n  stdout:\n    format: xml\n",
	  "e34.yaml:3:13: error: alerting.stdout.format must be one of json, text, not 'xml'" },
	{ "e35.yaml", "alerting:\n  stdout:\n    enabled: \"true\"\n",
	  "e35.yaml:3:14: error: alerting.stdout.enabled must be true or false, not \"true\"" },
	{ "e36.yaml", "log_level:\nlocale: en\n",
	  "e36.yaml:1:11: error: log_level is empty; it must be one of error, warning, info, debug (or remove the key to use the default)" },
	{ "e37.yaml", "- log_level\n",
	  "e37.yaml:1:1: error: the file must be a mapping of keys, not a list" },
	{ "e38.yaml", "log_level: &lvl info\n",
	  "e38.yaml:1:12: error: YAML anchors are not allowed" },
	{ "e39.yaml", "inputs: []\njournal:\n  enabled: false\n",
	  "e39.yaml:1:9: error: nothing to read: inputs is empty and journal.enabled is false" },
	{ "e40.yaml", "locale: en\nlocale: zh\n",
	  "e40.yaml:2:1: error: duplicate key 'locale' (first at line 1)" },
	{ "e41.yaml", "limits: fast\n",
	  "e41.yaml:1:9: error: limits must be a mapping of keys, not 'fast'" },
	{ "e42.yaml", "signatures:\n  overrides: [a/b]\n",
	  "e42.yaml:2:14: error: signatures.overrides must be a mapping of signature ids to settings, not a list" },
	{ "e43.yaml", "signatures:\n  include: [domain:network, domain:network]\n",
	  "e43.yaml:2:29: error: signatures.include[1]: 'domain:network' is listed twice (first at line 2)" },
	{ "e44.yaml", "inputs:\n  - path: /var/log/a.log\n    follow: true\n",
	  "e44.yaml:3:5: error: unknown key 'follow' in inputs[0] (allowed: path, start_at)" },
	{ "e45.yaml", "state_directory: \"/var/lib/\\x01mt\"\n",
	  "e45.yaml:1:18: error: state_directory must not contain control characters, as in \"/var/lib/?mt\"" },
	{ "e46.yaml", "inputs:\n  -\n",
	  "e46.yaml:2:4: error: inputs[0] must be a path or a mapping, not empty" },
	{ "e47.yaml", "log_level: [\n",
	  "e47.yaml:2:1: error: YAML syntax error: did not find expected node content" },
	/* The byte that is not UTF-8 is where the error points, not 1:1. */
	{ "e48.yaml", "log_level: info\nlocale: en\nstate_directory: /var/lib/m\xe9t\n",
	  "e48.yaml:3:28: error: YAML syntax error: invalid trailing UTF-8 octet" },
	{ "e51.yaml", "log_level: info\nlocale: en\nstate_directory: /var/lib/m\xe2\x82\n",
	  "e51.yaml:3:28: error: YAML syntax error: invalid trailing UTF-8 octet" },
	{ "e49.yaml",
	  "alerting:\n  webhooks:\n    - name: chat\n      url: https://hooks.example.net/{token}\n",
	  "e49.yaml:4:12: error: url has {token} but neither token_file nor token_env gives one" },
	{ "e50.yaml",
	  "alerting:\n  webhooks:\n    - name: chat\n      url: https://hooks.example.net/x\n"
	  "      token_file: /nonexistent/mtalert-token\n",
	  "e50.yaml:3:7: error: webhook chat: token_file /nonexistent/mtalert-token cannot be read: No such file or directory" },
};

static void
test_bad_cases(void)
{
	const size_t n = sizeof(bad_cases) / sizeof(bad_cases[0]);

	for (size_t i = 0; i < n; i++) {
		const struct bad_case *bc = &bad_cases[i];
		struct mt_config *c = (struct mt_config *)&c; /* a sentinel: must stay */
		struct mt_diag d;
		char path[256];
		int r;

		write_file(bc->file, bc->text, 0600);
		path_of(path, sizeof(path), bc->file);
		mt_diag_init(&d);
		r = mt_config_load(path, SIGDIR, &d, &c);
		if (!ok(r == -EINVAL && diag_has(&d, bc->want) && d.errors == 1 &&
				c == (struct mt_config *)&c,
			"%s: one error, at its place (got r=%d, %zu errors)", bc->file, r,
			d.errors)) {
			diag("want %s", bc->want);
			dump(&d);
		}
		mt_diag_fini(&d);
	}
}

/* Every mistake in one file is reported, then the load fails once. */
static void
test_many_errors(void)
{
	static const char text[] = "log_level: loud\n"		 /* 1 */
				   "locale: en\n"		 /* 2 */
				   "checkpoint_interval: 0\n"	 /* 3 */
				   "inputs:\n"			 /* 4 */
				   "  - path: relative.log\n"	 /* 5 */
				   "  - path: /var/log/ok.log\n" /* 6 */
				   "    start_at: middle\n"	 /* 7 */
				   "limits:\n"			 /* 8 */
				   "  read_chunk: 1B\n"		 /* 9 */
				   "  max_line: 1KiB\n"		 /* 10 */
				   "alerting:\n"		 /* 11 */
				   "  syslog:\n"		 /* 12 */
				   "    facility: mail.info\n";	 /* 13 */
	static const char *const want[] = {
		"many.yaml:1:12: error: log_level must be one of",
		"many.yaml:3:22: error: checkpoint_interval must be between 100ms and 1h, not '0'",
		"many.yaml:5:11: error: inputs[0].path must be an absolute path",
		"many.yaml:7:15: error: inputs[1].start_at must be one of end, beginning, not 'middle'",
		"many.yaml:9:15: error: limits.read_chunk must be between 4KiB and 64MiB, not '1B'",
		"many.yaml:10:3: error: unknown key 'max_line' in limits",
		"many.yaml:13:15: error: alerting.syslog.facility must be one of",
	};
	const size_t nwant = sizeof(want) / sizeof(want[0]);
	struct mt_config *c = NULL;
	struct mt_diag d;
	char path[256];
	int r;

	write_file("many.yaml", text, 0600);
	path_of(path, sizeof(path), "many.yaml");
	mt_diag_init(&d);
	r = mt_config_load(path, SIGDIR, &d, &c);
	ok(r == -EINVAL && c == NULL, "a file with many errors fails (got r=%d, want %d)", r,
	   -EINVAL);
	ok(d.errors == nwant, "every error is reported: got %zu, want %zu", d.errors, nwant);
	for (size_t i = 0; i < nwant; i++)
		if (!ok(diag_has(&d, want[i]), "many errors: %s", want[i]))
			dump(&d);
	mt_diag_fini(&d);
}

/* Lists are capped (MT_CONFIG_LIST_MAX) before their items are looked at. */
static void
test_list_cap(void)
{
	size_t size = 32 + (MT_CONFIG_LIST_MAX + 1) * 8, o;
	char *text = malloc(size);
	struct mt_config *c = NULL;
	struct mt_diag d;
	int r;

	if (text == NULL)
		exit(2);
	o = (size_t)snprintf(text, size, "journal:\n  matches:\n");
	for (int i = 0; i <= MT_CONFIG_LIST_MAX; i++)
		o += (size_t)snprintf(text + o, size - o, "  - A=%d\n", i % 10);
	mt_diag_init(&d);
	r = mt_config_parse("cap.yaml", text, o, SIGDIR, &d, &c);
	ok(r == -EINVAL && d.n == 1 &&
		   strstr(d.recs[0].msg, "journal.matches has 1025 items; at most 1024") != NULL,
	   "a list longer than %d is refused (got r=%d, %zu diagnostics)", MT_CONFIG_LIST_MAX, r,
	   d.n);
	mt_diag_fini(&d);
	free(text);
}

/* --- good files ------------------------------------------------------------ */

static void
test_good(void)
{
	static const char text[] =
		"log_level: debug\n"
		"locale: zh\n"
		"state_directory: /srv//mtalert/\n"
		"checkpoint_interval: 250ms\n"
		"inputs:\n"
		"  - /var/log/mail/*.log\n"
		"  - path: '/var/log/exim4/main[0-9]'\n"
		"    start_at: beginning\n"
		"journal:\n"
		"  enabled: true\n"
		"  matches: [SYSLOG_IDENTIFIER=postfix/smtp, _SYSTEMD_UNIT=exim4.service, FOO=]\n"
		"limits:\n"
		"  max_line_length: 1MiB\n"
		"  partial_line_timeout: 1.5\n"
		"  read_chunk: 65536\n"
		"signatures:\n"
		"  directories: [/usr/share/mtalert/signatures, /etc/mtalert/signatures]\n"
		"  exclude: ['category:rate_limit']\n"
		"  overrides:\n"
		"    communication/smtp-421-service-not-available:\n"
		"      severity: critical\n"
		"      disabled: false\n"
		"alerting:\n"
		"  stdout: {enabled: false, format: text}\n"
		"  syslog:\n"
		"    facility: local3\n"
		"    tag: mtalert/test\n";
	struct mt_config *c = NULL;
	struct mt_diag d;
	enum mt_severity sev = MT_SEV_INFO;
	int r;

	mt_diag_init(&d);
	r = mt_config_parse("good.yaml", text, strlen(text), NULL, &d, &c);
	ok(r == 0 && d.errors == 0 && d.warnings == 0,
	   "a file setting every key loads (got r=%d, %zu errors)", r, d.errors);
	dump(&d);
	mt_diag_fini(&d);
	if (c == NULL)
		return;
	ok((int)c->log_level == MT_LOG_DEBUG && (int)c->locale == MT_LOCALE_ZH,
	   "log_level/locale: got %d/%d, want debug/zh", (int)c->log_level, (int)c->locale);
	ok(strcmp(c->state_directory, "/srv/mtalert") == 0,
	   "paths are normalised: got %s, want /srv/mtalert", c->state_directory);
	ok(same_num(c->checkpoint_interval, 0.25), "checkpoint_interval: got %g, want 0.25",
	   c->checkpoint_interval);
	ok(c->ninputs == 2 && strcmp(c->inputs[0].path, "/var/log/mail/*.log") == 0 &&
		   (int)c->inputs[0].start_at == MT_START_END && c->inputs[0].pos.line == 6 &&
		   c->inputs[0].pos.col == 5,
	   "shorthand input: got %s/%d at %u:%u, want /var/log/mail/*.log/end at 6:5",
	   c->inputs[0].path, (int)c->inputs[0].start_at, c->inputs[0].pos.line,
	   c->inputs[0].pos.col);
	ok(c->ninputs == 2 && strcmp(c->inputs[1].path, "/var/log/exim4/main[0-9]") == 0 &&
		   (int)c->inputs[1].start_at == MT_START_BEGINNING,
	   "glob input: got %s/%d, want /var/log/exim4/main[0-9]/beginning", c->inputs[1].path,
	   (int)c->inputs[1].start_at);
	ok((int)c->journal.enabled == MT_ON && c->journal.nmatches == 3 &&
		   strcmp(c->journal.matches[1], "_SYSTEMD_UNIT=exim4.service") == 0,
	   "journal: got %d/%zu, want on/3", (int)c->journal.enabled, c->journal.nmatches);
	ok(c->limits.max_line_length == 1048576 && same_num(c->limits.partial_line_timeout, 1.5) &&
		   c->limits.read_chunk == 65536,
	   "limits: got %llu/%g/%llu, want 1048576/1.5/65536",
	   (unsigned long long)c->limits.max_line_length, c->limits.partial_line_timeout,
	   (unsigned long long)c->limits.read_chunk);
	ok(c->signatures.ndirectories == 2 &&
		   strcmp(c->signatures.directories[1], "/etc/mtalert/signatures") == 0,
	   "directories replace the default: got %zu, want 2", c->signatures.ndirectories);
	ok(c->signatures.nexclude == 1 && (int)c->signatures.exclude[0].kind == MT_SEL_CATEGORY &&
		   strcmp(c->signatures.exclude[0].name, "rate_limit") == 0,
	   "exclude: got %zu, want category rate_limit", c->signatures.nexclude);
	r = mt_config_severity_override(c, "communication/smtp-421-service-not-available", &sev);
	ok(r == 0 && sev == MT_SEV_CRITICAL, "severity override: got r=%d sev=%d, want 0/%d", r,
	   (int)sev, MT_SEV_CRITICAL);
	ok(!c->alerting.stdout_sink.enabled &&
		   (int)c->alerting.stdout_sink.format == MT_FORMAT_TEXT,
	   "stdout: got %d/%d, want off/text", c->alerting.stdout_sink.enabled,
	   (int)c->alerting.stdout_sink.format);
	ok(c->alerting.syslog_sink.enabled && c->alerting.syslog_sink.facility == LOG_LOCAL3 &&
		   strcmp(c->alerting.syslog_sink.tag, "mtalert/test") == 0,
	   "syslog: got %d/%d/%s, want on/LOG_LOCAL3/mtalert/test", c->alerting.syslog_sink.enabled,
	   c->alerting.syslog_sink.facility, c->alerting.syslog_sink.tag);
	mt_config_free(c);
}

/* Files with nothing in them mean "all defaults". */
static void
test_empty(void)
{
	static const char *const texts[] = {
		"", "\n\n", "# only a comment\n   # another\n", "---\n# x\n...\n", "{}\n", "~\n"
	};

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		struct mt_config *c = NULL;
		struct mt_diag d;
		int r;

		mt_diag_init(&d);
		r = mt_config_parse("empty.yaml", texts[i], strlen(texts[i]), SIGDIR, &d, &c);
		ok(r == 0 && c != NULL && c->ninputs == 6 && d.n == 0,
		   "empty file %zu gives the defaults (got r=%d, %zu diagnostics)", i, r, d.n);
		mt_config_free(c);
		mt_diag_fini(&d);
	}
}

static void
test_load_errors(void)
{
	struct mt_config *c = NULL;
	struct mt_diag d;
	char path[256];
	int r;

	path_of(path, sizeof(path), "does-not-exist.yaml");
	mt_diag_init(&d);
	r = mt_config_load(path, SIGDIR, &d, &c);
	ok(r == -ENOENT && c == NULL && d.errors == 1, "missing file: got %d, want %d", r, -ENOENT);
	mt_diag_fini(&d);

	mt_diag_init(&d);
	r = mt_config_load(dir, SIGDIR, &d, &c);
	ok(r == -EINVAL && c == NULL && d.errors == 1, "a directory: got %d, want %d", r, -EINVAL);
	mt_diag_fini(&d);
}

/* --- durations and sizes --------------------------------------------------- */

struct dur_case {
	const char *in;
	int want_r;
	double want;
};

static const struct dur_case dur_cases[] = {
	{ "250ms", 0, 0.25 },
	{ "100ms", 0, 0.1 },
	{ "5s", 0, 5 },
	{ "2m", 0, 120 },
	{ "1h", 0, 3600 },
	{ "1.5s", 0, 1.5 },
	{ "0.5", 0, 0.5 },
	{ "10", 0, 10 },
	{ "0", 0, 0 },
	{ "007s", 0, 7 },
	{ "", -EINVAL, 0 },
	{ "s", -EINVAL, 0 },
	{ "5 s", -EINVAL, 0 },
	{ " 5s", -EINVAL, 0 },
	{ "5s ", -EINVAL, 0 },
	{ "-1s", -EINVAL, 0 },
	{ "+1s", -EINVAL, 0 },
	{ "1e3", -EINVAL, 0 },
	{ "5sec", -EINVAL, 0 },
	{ "5S", -EINVAL, 0 },
	{ "1d", 0, 86400 },
	{ "1w", -EINVAL, 0 },
	{ ".5s", -EINVAL, 0 },
	{ "5.s", -EINVAL, 0 },
	{ "inf", -EINVAL, 0 },
	{ "nan", -EINVAL, 0 },
	{ "0x10", -EINVAL, 0 },
	{ "1.2.3s", -EINVAL, 0 },
	{ "1000000000000000000000000000000000000000h", -ERANGE, 0 },
};

struct size_case {
	const char *in;
	int want_r;
	uint64_t want;
};

static const struct size_case size_cases[] = {
	{ "512B", 0, 512 },
	{ "64KiB", 0, 65536 },
	{ "1K", 0, 1024 },
	{ "1M", 0, 1048576 },
	{ "1MiB", 0, 1048576 },
	{ "1G", 0, 1073741824 },
	{ "1GiB", 0, 1073741824 },
	{ "123", 0, 123 },
	{ "0", 0, 0 },
	{ "18446744073709551615", 0, UINT64_MAX },
	{ "17179869183GiB", 0, 17179869183ull << 30 },
	{ "18446744073709551616", -ERANGE, 0 },
	{ "17179869184GiB", -ERANGE, 0 },
	{ "99999999999999999999999999999999999", -ERANGE, 0 },
	{ "", -EINVAL, 0 },
	{ "KiB", -EINVAL, 0 },
	{ "1.5MiB", -EINVAL, 0 },
	{ "1KB", -EINVAL, 0 },
	{ "1kib", -EINVAL, 0 },
	{ "1 KiB", -EINVAL, 0 },
	{ "-1", -EINVAL, 0 },
	{ "+1", -EINVAL, 0 },
	{ "1T", -EINVAL, 0 },
	{ "1TiB", -EINVAL, 0 },
	{ "0x10", -EINVAL, 0 },
	{ "1Ki", -EINVAL, 0 },
};

/* Boundaries of the tables and edge cases of the types, through a whole file. */
struct range_case {
	const char *text;
	bool want_ok;
};

static const struct range_case range_cases[] = {
	{ "checkpoint_interval: 100ms\n", true },
	{ "checkpoint_interval: 0.1\n", true },
	{ "checkpoint_interval: 99ms\n", false },
	{ "checkpoint_interval: 1h\n", true },
	{ "checkpoint_interval: 3600\n", true },
	{ "checkpoint_interval: 60m\n", true },
	{ "checkpoint_interval: 3601s\n", false },
	{ "checkpoint_interval: 3600.001\n", false },
	{ "limits: {max_line_length: 1KiB}\n", true },
	{ "limits: {max_line_length: 1023}\n", false },
	{ "limits: {max_line_length: 16MiB}\n", true },
	{ "limits: {max_line_length: 16777217}\n", false },
	{ "limits: {max_line_length: 99999999999999999999999}\n", false },
	{ "limits: {read_chunk: 4KiB}\n", true },
	{ "limits: {read_chunk: 4095}\n", false },
	{ "limits: {read_chunk: 64MiB}\n", true },
	{ "limits: {read_chunk: 1G}\n", false },
	{ "limits: {partial_line_timeout: 100ms}\n", true },
	{ "limits: {partial_line_timeout: 0}\n", false },
	{ "limits: {partial_line_timeout: 1h}\n", true },
	{ "limits: {partial_line_timeout: 61m}\n", false },
	{ "alerting: {syslog: {tag: abcdefghijklmnopqrstuvwxyz012345}}\n", true },
	{ "alerting: {syslog: {tag: \"\"}}\n", false },
	{ "journal: {enabled: \"auto\"}\n", true },
	{ "journal: {enabled: off}\n", false },
	{ "journal: {enabled: FALSE}\n", true },
	{ "locale: \"zh\"\n", true },
	{ "locale: ZH\n", false },
};

static void
test_units(void)
{
	for (size_t i = 0; i < sizeof(dur_cases) / sizeof(dur_cases[0]); i++) {
		const struct dur_case *dc = &dur_cases[i];
		double got = -1;
		int r = mt_parse_duration(dc->in, &got);

		ok(r == dc->want_r && (r != 0 || fabs(got - dc->want) < 1e-12),
		   "duration '%s': got %d/%g, want %d/%g", dc->in, r, got, dc->want_r, dc->want);
		if (r != 0)
			ok(same_num(got, -1), "duration '%s': nothing written on error", dc->in);
	}
	for (size_t i = 0; i < sizeof(size_cases) / sizeof(size_cases[0]); i++) {
		const struct size_case *sc = &size_cases[i];
		uint64_t got = 7;
		int r = mt_parse_size(sc->in, &got);

		ok(r == sc->want_r && (r != 0 || got == sc->want),
		   "size '%s': got %d/%llu, want %d/%llu", sc->in, r, (unsigned long long)got,
		   sc->want_r, (unsigned long long)sc->want);
		if (r != 0)
			ok(got == 7, "size '%s': nothing written on error", sc->in);
	}
	for (size_t i = 0; i < sizeof(range_cases) / sizeof(range_cases[0]); i++) {
		const struct range_case *rc = &range_cases[i];
		struct mt_config *c = NULL;
		struct mt_diag d;
		int r;

		mt_diag_init(&d);
		r = mt_config_parse("range.yaml", rc->text, strlen(rc->text), SIGDIR, &d, &c);
		if (!ok((r == 0) == rc->want_ok, "range: %.*s: got %s, want %s",
			(int)strcspn(rc->text, "\n"), rc->text, r == 0 ? "ok" : "error",
			rc->want_ok ? "ok" : "error"))
			dump(&d);
		mt_config_free(c);
		mt_diag_fini(&d);
	}
}

/* --- include, exclude, overrides ------------------------------------------- */

struct sel_case {
	const char *id, *category, *domain;
	bool want;
};

static void
test_selection(void)
{
	static const char text[] = "signatures:\n"
				   "  include:\n"
				   "    - category:recipient_error\n"
				   "    - domain:network\n"
				   "    - policy/spf-fail\n"
				   "    - policy/dkim-fail\n"
				   "  exclude:\n"
				   "    - delivery/user-unknown-noisy\n"
				   "    - domain:network-lab\n"
				   "    - category:dns_error\n"
				   "  overrides:\n"
				   "    policy/dkim-fail: {disabled: true}\n"
				   "    delivery/mailbox-full: {severity: warning}\n"
				   "    network/timeout: {disabled: false, severity: info}\n";
	static const struct sel_case cases[] = {
		{ "delivery/mailbox-full", "recipient_error", "delivery", true },
		{ "delivery/user-unknown-noisy", "recipient_error", "delivery", false },
		{ "network/timeout", "network_error", "network", true },
		{ "network/dns-servfail", "dns_error", "network", false },
		{ "lab/x", "network_error", "network-lab", false },
		{ "policy/spf-fail", "policy", "policy", true },
		{ "policy/dkim-fail", "policy", "policy", false },
		{ "policy/dmarc-fail", "policy", "policy", false },
		{ "other/x", NULL, NULL, false },
		{ "policy/spf-fail", NULL, NULL, true },
	};
	struct mt_config *c = NULL;
	struct mt_diag d;
	enum mt_severity sev;
	int r;

	mt_diag_init(&d);
	r = mt_config_parse("sel.yaml", text, strlen(text), SIGDIR, &d, &c);
	ok(r == 0, "selection config loads (got %d)", r);
	dump(&d);
	mt_diag_fini(&d);
	if (c == NULL)
		return;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = mt_config_signature_enabled(c, cases[i].id, cases[i].category,
						       cases[i].domain);

		ok(got == cases[i].want, "enabled(%s, %s, %s): got %d, want %d", cases[i].id,
		   cases[i].category ? cases[i].category : "NULL",
		   cases[i].domain ? cases[i].domain : "NULL", got, cases[i].want);
	}
	sev = MT_SEV_CRITICAL;
	r = mt_config_severity_override(c, "delivery/mailbox-full", &sev);
	ok(r == 0 && sev == MT_SEV_WARNING, "override severity: got %d/%d, want 0/%d", r, (int)sev,
	   MT_SEV_WARNING);
	sev = MT_SEV_CRITICAL;
	r = mt_config_severity_override(c, "policy/dkim-fail", &sev);
	ok(r == -ENOENT && sev == MT_SEV_CRITICAL,
	   "override without severity: got %d/%d, want -ENOENT, untouched", r, (int)sev);
	r = mt_config_severity_override(c, "not/there", &sev);
	ok(r == -ENOENT, "no override: got %d, want %d", r, -ENOENT);
	r = mt_config_severity_override(c, "network/timeout", &sev);
	ok(r == 0 && sev == MT_SEV_INFO, "override severity info: got %d/%d, want 0/%d", r,
	   (int)sev, MT_SEV_INFO);
	ok(c->signatures.noverrides == 3 && c->signatures.overrides[1].pos.line == 13 &&
		   c->signatures.overrides[1].pos.col == 5,
	   "override position: got %u:%u, want 13:5", c->signatures.overrides[1].pos.line,
	   c->signatures.overrides[1].pos.col);
	mt_config_free(c);
}

/* Entries naming no signature in the catalog are warned about. */
static void
test_check_catalog(void)
{
	static const char sig[] = "id: delivery/user-unknown\n"
				  "signature: \"550 5.1.1 User unknown\"\n"
				  "regex: 'said: 550[ -]5\\.1\\.1'\n"
				  "domain: delivery\n"
				  "category: recipient_error\n"
				  "root_cause: The mailbox does not exist.\n"
				  "workarounds:\n"
				  "  - action: Fix the address\n"
				  "    success_rate: 0.6\n";
	static const char text[] = "signatures:\n"
				   "  include: [delivery/user-unknown, 'category:recipient_eror']\n"
				   "  exclude: ['domain:delivery', 'domain:nowhere']\n"
				   "  overrides:\n"
				   "    delivery/user-unknown: {severity: info}\n"
				   "    delivery/user-unknwn: {severity: info}\n";
	static const char *const want[] = {
		"chk.yaml:2:36: warning: signatures.include: no signature has category 'recipient_eror'",
		"chk.yaml:3:32: warning: signatures.exclude: no signature has domain 'nowhere'",
		"chk.yaml:6:5: warning: signatures.overrides: no signature has id 'delivery/user-unknwn'",
	};
	struct mt_catalog *cat;
	struct mt_config *c = NULL;
	struct mt_diag d;
	int r;

	mt_diag_init(&d);
	cat = mt_catalog_load_buffer("sig.yaml", sig, strlen(sig), &d);
	ok(mt_catalog_count(cat) == 1 && d.errors == 0, "test signature loads (got %zu)",
	   mt_catalog_count(cat));
	dump(&d);
	mt_diag_fini(&d);
	mt_diag_init(&d);
	r = mt_config_parse("chk.yaml", text, strlen(text), SIGDIR, &d, &c);
	ok(r == 0, "catalog-check config loads (got %d)", r);
	if (c != NULL) {
		r = mt_config_check_catalog(c, cat, &d);
		ok(r == 3 && d.warnings == 3, "check_catalog: got %d warnings, want 3", r);
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			bool found = false;

			for (size_t j = 0; j < d.n && !found; j++) {
				char line[1400];

				mt_diag_format(&d, j, line, sizeof(line));
				found = strcmp(line, want[i]) == 0;
			}
			if (!ok(found, "check_catalog: %s", want[i]))
				dump(&d);
		}
	}
	mt_config_free(c);
	mt_catalog_free(cat);
	mt_diag_fini(&d);
}

/* --- secrecy --------------------------------------------------------------- */

struct mode_case {
	mode_t mode;
	int want;
	const char *want_msg; /* a fragment of the first warning, or NULL */
};

static void
test_operator(void)
{
	struct mt_config *c = mt_config_default(SIGDIR);
	struct mt_signature s421 = { .id = (char *)"communication/smtp-421",
				     .category = (char *)"network_error",
				     .domain = (char *)"communication" };
	struct mt_signature other = { .id = (char *)"delivery/x",
				      .category = (char *)"delivery",
				      .domain = (char *)"delivery" };
	struct mt_diag d;
	int r;

	ok(c->alerting.syslog_sink.filter.min_severity == MT_SEV_WARNING,
	   "default syslog min_severity: warning");
	ok(!c->alerting.journal_sink.enabled &&
		   c->alerting.journal_sink.filter.min_severity == MT_SEV_WARNING,
	   "default journal sink: off, min_severity warning");
	ok(c->alerting.stdout_sink.filter.min_severity == MT_SEV_INFO,
	   "default stdout min_severity: still info");
	ok(c->control.enabled && same_str(c->control.socket, "/run/mtalert/control"),
	   "default control socket: /run/mtalert/control");
	ok(c->metrics.listen == NULL && c->metrics.address == NULL, "default metrics: off");
	mt_config_free(c);

	static const char good[] = "metrics: {listen: \"[::1]:10925\"}\n"
				   "control: {socket: /run/x/ctl}\n"
				   "alerting:\n  journal: {enabled: true, min_severity: error}\n"
				   "maintenance:\n"
				   "  - signatures: [category:network_error]\n"
				   "    days: [sat]\n"
				   "    start: \"22:00\"\n"
				   "    end: \"02:00\"\n"
				   "  - signatures: [delivery/x]\n"
				   "    start: \"12:00\"\n"
				   "    end: \"13:00\"\n"
				   "    comment: lunch\n";
	mt_diag_init(&d);
	c = NULL;
	r = mt_config_parse("op.yaml", good, strlen(good), SIGDIR, &d, &c);
	ok(r == 0 && d.errors == 0, "control, metrics, journal and maintenance parse (r=%d)", r);
	dump(&d);
	mt_diag_fini(&d);
	if (c != NULL) {
		ok(same_str(c->metrics.address, "::1") && c->metrics.port == 10925,
		   "metrics.listen [::1]:10925: address ::1, port 10925 (got %s %u)",
		   c->metrics.address ? c->metrics.address : "-", c->metrics.port);
		ok(same_str(c->control.socket, "/run/x/ctl"), "control.socket set");
		ok(c->alerting.journal_sink.enabled &&
			   c->alerting.journal_sink.filter.min_severity == MT_SEV_ERROR,
		   "alerting.journal: enabled, min_severity error");
		ok(c->nmaintenance == 2 && c->maintenance[0].day_mask == 1u << 6 &&
			   c->maintenance[0].start_min == 22 * 60 &&
			   c->maintenance[0].end_min == 120 && c->maintenance[1].day_mask == 0x7f,
		   "maintenance: Saturday 22:00-02:00, and every day 12:00-13:00");
		ok(mt_config_maintenance(c, &s421, 6, 23 * 60) == &c->maintenance[0] &&
			   mt_config_maintenance(c, &s421, 0, 60) == &c->maintenance[0],
		   "the window takes network_error Saturday 23:00 and Sunday 01:00");
		ok(mt_config_maintenance(c, &s421, 0, 23 * 60) == NULL &&
			   mt_config_maintenance(c, &other, 6, 23 * 60) == NULL,
		   "not Sunday 23:00, not another category");
		ok(mt_config_maintenance(c, &other, 3, 12 * 60 + 30) == &c->maintenance[1] &&
			   mt_config_maintenance(c, &other, 3, 13 * 60) == NULL,
		   "delivery/x every day 12:00-13:00: open 12:30, closed 13:00");
		mt_config_free(c);
	}

	static const struct {
		const char *text, *want;
	} bad[] = {
		{ "metrics: {listen: \"localhost:9\"}\n", "not a numeric IPv4 or IPv6 address" },
		{ "metrics: {listen: \"127.0.0.1\"}\n", "metrics.listen must be ADDRESS:PORT" },
		{ "metrics: {listen: \"127.0.0.1:70000\"}\n",
		  "metrics.listen must be ADDRESS:PORT" },
		{ "metrics: {listen: \"::1:80\"}\n", "IPv6 addresses go in brackets" },
		{ "maintenance:\n  - signatures: [a/b]\n    start: \"24:00\"\n    end: \"01:00\"\n",
		  "start must be a time HH:MM" },
		{ "maintenance:\n  - signatures: [a/b]\n    days: [funday]\n    start: \"01:00\"\n"
		  "    end: \"02:00\"\n",
		  "'funday' is not a day" },
		{ "maintenance:\n  - days: [mon]\n    start: \"01:00\"\n    end: \"02:00\"\n",
		  "missing required key 'signatures'" },
		{ "control: {socket: run/ctl}\n", "must be an absolute path" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		mt_diag_init(&d);
		c = NULL;
		r = mt_config_parse("bad.yaml", bad[i].text, strlen(bad[i].text), SIGDIR, &d, &c);
		ok(r == -EINVAL && c == NULL && diag_contains(&d, bad[i].want),
		   "operator bad case %zu refused with '%s'", i, bad[i].want);
		if (!diag_contains(&d, bad[i].want))
			dump(&d);
		mt_diag_fini(&d);
		mt_config_free(c);
	}
}

static void
test_secrecy(void)
{
	static const struct mode_case cases[] = {
		{ 0600, 0, NULL },
		{ 0640, 0, NULL },
		{ 0400, 0, NULL },
		{ 0644, 1, "is world-readable (mode 0644)" },
		{ 0620, 1, "is group-writable (mode 0620)" },
		{ 0664, 2, "is group-writable (mode 0664)" },
		{ 0602, 1, "is world-writable (mode 0602)" },
	};
	char path[256];
	struct mt_diag d;
	int r;

	path_of(path, sizeof(path), "secret.yaml");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_file("secret.yaml", "log_level: info\n", cases[i].mode);
		mt_diag_init(&d);
		r = mt_config_check_secrecy(path, &d);
		ok(r == cases[i].want && d.warnings == (size_t)cases[i].want && d.errors == 0,
		   "secrecy %04o: got %d warnings, want %d", (unsigned)cases[i].mode, r,
		   cases[i].want);
		if (cases[i].want_msg != NULL)
			ok(d.n > 0 && d.recs[0].level == MT_DIAG_WARNING &&
				   strstr(d.recs[0].msg, cases[i].want_msg) != NULL,
			   "secrecy %04o: got '%s', want '%s'", (unsigned)cases[i].mode,
			   d.n ? d.recs[0].msg : "", cases[i].want_msg);
		mt_diag_fini(&d);
	}
	mt_diag_init(&d);
	path_of(path, sizeof(path), "no-such-file");
	r = mt_config_check_secrecy(path, &d);
	ok(r == -ENOENT && d.n == 0, "secrecy of a missing file: got %d, want %d", r, -ENOENT);
	mt_diag_fini(&d);
}

static void
cleanup(void)
{
	char cmd[128];

	if ((size_t)snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir) < sizeof(cmd))
		(void)system(cmd);
}

int
main(int argc, char **argv)
{
	const char *example = argc > 1 ? argv[1] : "conf/mtalert.yaml";

	(void)snprintf(dir, sizeof(dir), "/tmp/mt-test-config-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_example_is_default(example);
	test_defaults();
	test_bad_cases();
	test_many_errors();
	test_list_cap();
	test_good();
	test_empty();
	test_load_errors();
	test_units();
	test_selection();
	test_check_catalog();
	test_secrecy();
	test_operator();
	cleanup();
	return tap_done();
}
