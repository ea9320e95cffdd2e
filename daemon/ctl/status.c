/* status - the daemon's counters as text, JSON and Prometheus exposition format. */
#include "ctl/status.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util/json.h"

#define TEXT_NAME_MAX 200 /* bytes of a path or name shown in text */

/* "12s", "5m", "3h", "2d": how long ago, for a person. */
static void
age(char *dst, size_t size, double seconds)
{
	unsigned long long s = seconds > 0 && seconds < 1e15 ? (unsigned long long)seconds : 0;

	if (s < 120)
		(void)snprintf(dst, size, "%llus", s);
	else if (s < 7200)
		(void)snprintf(dst, size, "%llum", s / 60);
	else if (s < 172800)
		(void)snprintf(dst, size, "%lluh", s / 3600);
	else
		(void)snprintf(dst, size, "%llud", s / 86400);
}

static void
iso(char *dst, size_t size, double t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (gmtime_r(&tt, &tm) == NULL || strftime(dst, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		(void)snprintf(dst, size, "?");
}

static int
clean(struct mt_buf *b, const char *s)
{
	return mt_text_clean(b, s ? s : "", s ? strlen(s) : 0, TEXT_NAME_MAX) < 0 ? -ENOBUFS : 0;
}

int
mt_status_text(struct mt_buf *out, const struct mt_status *s)
{
	char up[32], a[32], t[32];
	int r = 0;

	age(up, sizeof(up), s->now - s->started);
	r |= mt_buf_printf(out,
			   "mtalertd %s, up %s\n"
			   "catalog: generation %llu, %llu signatures, %llu load error%s; "
			   "%llu reload%s, %llu failed\n"
			   "lines %llu, alerts %llu (%llu silenced), own lines skipped %llu\n"
			   "silences active %llu, maintenance windows open %llu\n",
			   s->version, up, (unsigned long long)s->generation,
			   (unsigned long long)s->signatures, (unsigned long long)s->catalog_errors,
			   s->catalog_errors == 1 ? "" : "s", (unsigned long long)s->reloads,
			   s->reloads == 1 ? "" : "s", (unsigned long long)s->reload_failures,
			   (unsigned long long)s->lines, (unsigned long long)s->alerts,
			   (unsigned long long)s->silenced, (unsigned long long)s->own_lines,
			   (unsigned long long)s->silences_active,
			   (unsigned long long)s->maintenance_windows);

	r |= mt_buf_printf(out, "\n%-10s %-12s %-22s %-9s %-6s %-6s %-6s %s\n", "LINES", "POSITION",
			   "LAST LINE", "ROTATIONS", "TRUNC", "CUT", "LOST", "INPUT");
	if (s->ninputs == 0)
		r |= mt_buf_puts(out, "(no input has been read)\n");
	for (size_t i = 0; i < s->ninputs; i++) {
		const struct mt_status_input *in = &s->inputs[i];
		char last[48] = "never";

		if (in->last_line > 0) {
			age(a, sizeof(a), s->now - in->last_line);
			(void)snprintf(last, sizeof(last), "%s ago", a);
		}
		r |= mt_buf_printf(out, "%-10llu %-12llu %-22s %-9llu %-6llu %-6llu %-6llu ",
				   (unsigned long long)in->lines, (unsigned long long)in->position,
				   last, (unsigned long long)in->rotations,
				   (unsigned long long)in->truncations, (unsigned long long)in->cut,
				   (unsigned long long)in->lost);
		r |= clean(out, in->path);
		r |= mt_buf_putc(out, '\n');
	}

	r |= mt_buf_printf(out, "\n%-10s %-10s %-9s %-9s %s\n", "LAST HOUR", "TOTAL", "SILENCED",
			   "SEVERITY", "SIGNATURE");
	if (s->nsigs == 0)
		r |= mt_buf_puts(out, "(no signature has matched)\n");
	for (size_t i = 0; i < s->nsigs; i++) {
		const struct mt_status_signature *g = &s->sigs[i];

		r |= mt_buf_printf(out, "%-10llu %-10llu %-9llu %-9s ",
				   (unsigned long long)g->last_hour, (unsigned long long)g->total,
				   (unsigned long long)g->silenced, g->severity);
		r |= clean(out, g->id);
		r |= mt_buf_putc(out, '\n');
	}

	r |= mt_buf_printf(out, "\n%-9s %-8s %-7s %-8s %-7s %-24s %s\n", "SENT", "RETRIED",
			   "FAILED", "DROPPED", "QUEUED", "FAILING SINCE", "SINK");
	for (size_t i = 0; i < s->nsinks; i++) {
		const struct mt_status_sink *k = &s->sinks[i];
		char since[32] = "-";

		if (k->failing_since > 0)
			iso(since, sizeof(since), k->failing_since);
		r |= mt_buf_printf(out, "%-9llu %-8llu %-7llu %-8llu %-7llu %-24s %s%s",
				   (unsigned long long)k->sent, (unsigned long long)k->retried,
				   (unsigned long long)k->failed, (unsigned long long)k->dropped,
				   (unsigned long long)k->queued, since, k->kind,
				   k->name ? " " : "");
		if (k->name)
			r |= clean(out, k->name);
		if (!k->enabled)
			r |= mt_buf_puts(out, " (disabled)");
		if (k->failing_since > 0 && k->last_error && k->last_error[0]) {
			r |= mt_buf_puts(out, ": ");
			r |= clean(out, k->last_error);
		}
		r |= mt_buf_putc(out, '\n');
	}
	iso(t, sizeof(t), s->now);
	r |= mt_buf_printf(out, "spool: %llu bytes, %llu dropped; as of %s\n",
			   (unsigned long long)s->spool_bytes, (unsigned long long)s->spool_dropped,
			   t);
	return r < 0 ? -ENOBUFS : 0;
}

static int
num_u(struct mt_buf *b, bool *first, const char *key, uint64_t v)
{
	return mt_json_key(b, first, key) | mt_buf_printf(b, "%llu", (unsigned long long)v);
}

static int
num_t(struct mt_buf *b, bool *first, const char *key, double v)
{
	int r = mt_json_key(b, first, key);

	return r | (v > 0 ? mt_buf_printf(b, "%.3f", v) : mt_buf_puts(b, "null"));
}

static int
str_k(struct mt_buf *b, bool *first, const char *key, const char *v)
{
	return mt_json_key(b, first, key) | mt_json_cstr(b, v);
}

int
mt_status_json(struct mt_buf *out, const struct mt_status *s)
{
	bool f = true;
	int r = mt_buf_putc(out, '{');

	r |= str_k(out, &f, "version", s->version);
	r |= num_t(out, &f, "now", s->now);
	r |= num_t(out, &f, "started", s->started);
	r |= num_u(out, &f, "generation", s->generation);
	r |= num_u(out, &f, "signatures", s->signatures);
	r |= num_u(out, &f, "catalog_errors", s->catalog_errors);
	r |= num_u(out, &f, "reloads", s->reloads);
	r |= num_u(out, &f, "reload_failures", s->reload_failures);
	r |= num_u(out, &f, "lines", s->lines);
	r |= num_u(out, &f, "alerts", s->alerts);
	r |= num_u(out, &f, "silenced", s->silenced);
	r |= num_u(out, &f, "own_lines", s->own_lines);
	r |= num_u(out, &f, "silences_active", s->silences_active);
	r |= num_u(out, &f, "maintenance_windows_open", s->maintenance_windows);
	r |= num_u(out, &f, "spool_bytes", s->spool_bytes);
	r |= num_u(out, &f, "spool_dropped", s->spool_dropped);

	r |= mt_json_key(out, &f, "inputs") | mt_buf_putc(out, '[');
	for (size_t i = 0; i < s->ninputs; i++) {
		const struct mt_status_input *in = &s->inputs[i];
		bool g = true;

		r |= mt_buf_puts(out, i ? ",{" : "{");
		r |= str_k(out, &g, "path", in->path);
		r |= num_u(out, &g, "lines", in->lines);
		r |= num_u(out, &g, "position", in->position);
		r |= num_t(out, &g, "last_line", in->last_line);
		r |= mt_json_key(out, &g, "last_line_age");
		r |= in->last_line > 0 ? mt_buf_printf(out, "%.3f", s->now - in->last_line) :
					 mt_buf_puts(out, "null");
		r |= num_u(out, &g, "rotations", in->rotations);
		r |= num_u(out, &g, "truncations", in->truncations);
		r |= num_u(out, &g, "cut", in->cut);
		r |= num_u(out, &g, "lost", in->lost);
		r |= mt_buf_putc(out, '}');
	}
	r |= mt_buf_putc(out, ']');

	r |= mt_json_key(out, &f, "signatures_matched") | mt_buf_putc(out, '[');
	for (size_t i = 0; i < s->nsigs; i++) {
		const struct mt_status_signature *sg = &s->sigs[i];
		bool g = true;

		r |= mt_buf_puts(out, i ? ",{" : "{");
		r |= str_k(out, &g, "id", sg->id);
		r |= str_k(out, &g, "severity", sg->severity);
		r |= num_u(out, &g, "last_hour", sg->last_hour);
		r |= num_u(out, &g, "total", sg->total);
		r |= num_u(out, &g, "silenced", sg->silenced);
		r |= mt_buf_putc(out, '}');
	}
	r |= mt_buf_putc(out, ']');

	r |= mt_json_key(out, &f, "sinks") | mt_buf_putc(out, '[');
	for (size_t i = 0; i < s->nsinks; i++) {
		const struct mt_status_sink *k = &s->sinks[i];
		bool g = true;

		r |= mt_buf_puts(out, i ? ",{" : "{");
		r |= str_k(out, &g, "kind", k->kind);
		r |= str_k(out, &g, "name", k->name);
		r |= mt_json_key(out, &g, "enabled") |
		     mt_buf_puts(out, k->enabled ? "true" : "false");
		r |= num_u(out, &g, "sent", k->sent);
		r |= num_u(out, &g, "retried", k->retried);
		r |= num_u(out, &g, "failed", k->failed);
		r |= num_u(out, &g, "dropped", k->dropped);
		r |= num_u(out, &g, "queued", k->queued);
		if (strcmp(k->kind, "webhook") == 0)
			r |= num_u(out, &g, "spool_bytes", k->spool_bytes) |
			     num_u(out, &g, "coalesced", k->coalesced);
		r |= num_t(out, &g, "failing_since", k->failing_since);
		r |= str_k(out, &g, "last_error",
			   k->last_error && k->last_error[0] ? k->last_error : NULL);
		r |= mt_buf_putc(out, '}');
	}
	r |= mt_buf_puts(out, "]}\n");
	return r < 0 ? -ENOBUFS : 0;
}

/* --- Prometheus text exposition format 0.0.4 ---------------------------------- */

/* A label value: \\, \" and \n escaped; control bytes and ill-formed UTF-8 as '?'. */
static int
label(struct mt_buf *b, const char *s)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t len = strlen((const char *)p);
	int r = mt_buf_putc(b, '"');

	for (size_t i = 0; i < len;) {
		size_t n = p[i] >= 0x80 ? mt_utf8_seq(p + i, len - i) : 1;

		if (n == 0) {
			r |= mt_buf_putc(b, '?');
			i++;
			continue;
		}
		if (p[i] == '\\')
			r |= mt_buf_puts(b, "\\\\");
		else if (p[i] == '"')
			r |= mt_buf_puts(b, "\\\"");
		else if (p[i] == '\n')
			r |= mt_buf_puts(b, "\\n");
		else if (p[i] < 0x20 || p[i] == 0x7f)
			r |= mt_buf_putc(b, '?');
		else
			r |= mt_buf_append(b, p + i, n);
		i += n;
	}
	return r | mt_buf_putc(b, '"');
}

static int
head(struct mt_buf *b, const char *name, const char *type, const char *help)
{
	return mt_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int
gauge(struct mt_buf *b, const char *name, const char *help, double v)
{
	return head(b, name, "gauge", help) | mt_buf_printf(b, "%s %.17g\n", name, v);
}

static int
counter(struct mt_buf *b, const char *name, const char *help, uint64_t v)
{
	return head(b, name, "counter", help) |
	       mt_buf_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

/* The uint64_t at off in a row (an input or a sink): one table drives every family. */
static uint64_t
field_at(const void *row, size_t off)
{
	uint64_t v;

	memcpy(&v, (const char *)row + off, sizeof(v));
	return v;
}

/* One sample per input of one of its counters or gauges. */
static int
per_input(struct mt_buf *b, const struct mt_status *s, const char *name, const char *type,
	  const char *help, size_t off)
{
	int r = head(b, name, type, help);

	for (size_t i = 0; i < s->ninputs; i++)
		r |= mt_buf_printf(b, "%s{input=", name) | label(b, s->inputs[i].path) |
		     mt_buf_printf(b, "} %llu\n", (unsigned long long)field_at(&s->inputs[i], off));
	return r;
}

/* One sample per webhook of one of its counters (off2: a second one added, or 0). */
static int
per_webhook(struct mt_buf *b, const struct mt_status *s, const char *name, const char *type,
	    const char *help, size_t off, size_t off2)
{
	int r = head(b, name, type, help);

	for (size_t i = 0; i < s->nsinks; i++) {
		const struct mt_status_sink *k = &s->sinks[i];
		uint64_t v = field_at(k, off) + (off2 ? field_at(k, off2) : 0);

		if (strcmp(k->kind, "webhook") != 0)
			continue;
		r |= mt_buf_printf(b, "%s{webhook=", name) | label(b, k->name) |
		     mt_buf_printf(b, "} %llu\n", (unsigned long long)v);
	}
	return r;
}

#define IN(f)  offsetof(struct mt_status_input, f)
#define OUT(f) offsetof(struct mt_status_sink, f)

int
mt_status_prometheus(struct mt_buf *out, const struct mt_status *s)
{
	int r = 0;

	r |= head(out, "mtalert_build_info", "gauge", "mtalert's version; always 1.");
	r |= mt_buf_puts(out, "mtalert_build_info{version=") | label(out, s->version) |
	     mt_buf_puts(out, "} 1\n");
	r |= gauge(out, "mtalert_start_time_seconds", "When the daemon started, Unix time.",
		   floor(s->started));
	r |= gauge(out, "mtalert_catalog_generation",
		   "Configuration and catalog loads that took effect (1 at start).",
		   (double)s->generation);
	r |= gauge(out, "mtalert_catalog_signatures", "Signatures in the live catalog.",
		   (double)s->signatures);
	r |= gauge(out, "mtalert_catalog_load_errors",
		   "Signature files that did not load at start.", (double)s->catalog_errors);
	r |= counter(out, "mtalert_reload_failures_total", "Reloads refused (the previous kept).",
		     s->reload_failures);

	r |= per_input(out, s, "mtalert_lines_total", "counter", "Lines read, per input.",
		       IN(lines));
	r |= per_input(out, s, "mtalert_cut_lines_total", "counter",
		       "Lines longer than limits.max_line_length, cut, per input.", IN(cut));
	r |= per_input(out, s, "mtalert_input_rotations_total", "counter",
		       "Rotations the tail followed (renamed, copied and truncated, replaced).",
		       IN(rotations));
	r |= per_input(out, s, "mtalert_input_truncations_total", "counter",
		       "Times the file shrank under the reader and was read again from the start.",
		       IN(truncations));
	r |= per_input(out, s, "mtalert_input_lost_lines_total", "counter",
		       "Lines no reader could have had: rotated away unread and gone (counted, "
		       "logged).",
		       IN(lost));
	r |= per_input(out, s, "mtalert_input_position_bytes", "gauge",
		       "Byte offset after the last line read, per input file.", IN(position));
	r |= head(out, "mtalert_last_line_age_seconds", "gauge",
		  "Seconds since the last line was read, per input that has had one.");
	for (size_t i = 0; i < s->ninputs; i++)
		if (s->inputs[i].last_line > 0)
			r |= mt_buf_puts(out, "mtalert_last_line_age_seconds{input=") |
			     label(out, s->inputs[i].path) |
			     mt_buf_printf(out, "} %.3f\n", s->now - s->inputs[i].last_line);

	r |= head(out, "mtalert_alerts_total", "counter",
		  "Alerts raised (silenced ones included), per signature and severity.");
	for (size_t i = 0; i < s->nsigs; i++)
		r |= mt_buf_puts(out, "mtalert_alerts_total{signature=") |
		     label(out, s->sigs[i].id) | mt_buf_puts(out, ",severity=") |
		     label(out, s->sigs[i].severity) |
		     mt_buf_printf(out, "} %llu\n", (unsigned long long)s->sigs[i].total);
	r |= head(out, "mtalert_alerts_silenced_total", "counter",
		  "Alerts kept from the sinks by a silence or a maintenance window.");
	for (size_t i = 0; i < s->nsigs; i++)
		r |= mt_buf_puts(out, "mtalert_alerts_silenced_total{signature=") |
		     label(out, s->sigs[i].id) |
		     mt_buf_printf(out, "} %llu\n", (unsigned long long)s->sigs[i].silenced);
	r |= gauge(out, "mtalert_silences_active", "Silences in force now.",
		   (double)s->silences_active);

	r |= per_webhook(out, s, "mtalert_webhook_sent_total", "counter",
			 "Notifications delivered.", OUT(sent), 0);
	r |= per_webhook(out, s, "mtalert_webhook_retries_total", "counter",
			 "Failed attempts that will be tried again.", OUT(retried), 0);
	r |= per_webhook(out, s, "mtalert_webhook_failures_total", "counter",
			 "Delivery attempts that failed (to be retried, or refused for good).",
			 OUT(retried), OUT(failed));
	r |= per_webhook(out, s, "mtalert_webhook_dropped_total", "counter",
			 "Notifications given up (give_up_after, spool bounds).", OUT(dropped), 0);
	r |= per_webhook(out, s, "mtalert_webhook_queued", "gauge",
			 "Notifications waiting or in flight.", OUT(queued), 0);
	r |= per_webhook(out, s, "mtalert_webhook_spool_bytes", "gauge",
			 "The webhook's undelivered notifications on disk, bytes.",
			 OUT(spool_bytes), 0);
	r |= per_webhook(out, s, "mtalert_webhook_coalesced_total", "counter",
			 "Notifications merged into a pending one of their group (an outage).",
			 OUT(coalesced), 0);
	r |= head(out, "mtalert_webhook_failing_since_seconds", "gauge",
		  "When the webhook's current run of failures began, Unix time; 0 when healthy.");
	for (size_t i = 0; i < s->nsinks; i++)
		if (strcmp(s->sinks[i].kind, "webhook") == 0)
			r |= mt_buf_puts(out, "mtalert_webhook_failing_since_seconds{webhook=") |
			     label(out, s->sinks[i].name) |
			     mt_buf_printf(out, "} %.0f\n", floor(s->sinks[i].failing_since));
	r |= gauge(out, "mtalert_spool_bytes", "Undelivered notifications on disk, bytes.",
		   (double)s->spool_bytes);
	return r < 0 ? -ENOBUFS : 0;
}
