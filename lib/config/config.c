/* config - mtalert.yaml validated against schema tables into struct mt_config. */
#include "config/config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "alert/payload.h"
#include "alert/silence.h"
#include "util/xalloc.h"
#include "util/ydoc.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NAME_LEN      320 /* a key's dotted name in messages: "signatures.overrides.ID.severity" */
#define SHOW_LEN      72  /* a value quoted in a message, at most */
#define NUM_LEN	      32  /* digits in a duration or size */
#define SEL_NAME_MAX  100 /* bytes in a category or domain name */
#define ID_MAX	      200 /* bytes in a signature id, as the catalog */
#define JFIELD_MAX    64  /* bytes in a journal field name, as sd-journal */
#define NO_OFF	      ((size_t)-1)

/*
 * The schema: what a key may hold and where it goes.  Every value that is
 * stored as an int (enums, facility, severity) goes through memcpy of an
 * int, so the enums must be int-sized.
 */
_Static_assert(sizeof(enum mt_log_level) == sizeof(int), "enum size");
_Static_assert(sizeof(enum mt_locale) == sizeof(int), "enum size");
_Static_assert(sizeof(enum mt_start_at) == sizeof(int), "enum size");
_Static_assert(sizeof(enum mt_tristate) == sizeof(int), "enum size");
_Static_assert(sizeof(enum mt_output_format) == sizeof(int), "enum size");

enum ftype {
	T_BOOL,	    /* bool */
	T_TRISTATE, /* enum mt_tristate: auto, true or false */
	T_ENUM,	    /* int: values[i] for names[i]; -1 when there is no default */
	T_STRING,   /* char *: printable, 1..maxlen bytes */
	T_PATH,	    /* char *: absolute, slashes normalised */
	T_DURATION, /* double seconds in [min, max] */
	T_SIZE,	    /* uint64_t bytes in [min, max] */
	T_UINT,	    /* uint64_t, a whole number in [min, max] */
	T_ID,	    /* char *: a signature id */
	T_SELECTOR, /* struct mt_config_sel: an id, "category:NAME" or "domain:NAME" */
	T_JMATCH,   /* char *: a journal match, "FIELD=value" */
	T_SECTION,  /* an embedded struct described by sub */
	T_LIST,	    /* array at off, count at n_off; items of type item, or mappings (sub) */
	T_MAP,	    /* mapping of names to mappings (sub); array at off, count at n_off */
};

#define F_REQUIRED  0x01u  /* a mapping item must set it */
#define F_UNIQUE    0x02u  /* lists: no item twice (mapping items: by their first field) */
#define F_GLOB	    0x04u  /* paths: may hold *, ? and [...]; brackets must close */
#define F_FILE	    0x08u  /* paths: must not end in '/' */
#define F_SIGDIR    0x10u  /* default: the caller's default signature directory */
#define F_TOKEN	    0x20u  /* strings: letters, digits, '.', '_', '-', '/' only */
#define F_SHORTHAND 0x40u  /* lists of mappings: a plain string item sets the first field */
#define F_URL	    0x80u  /* strings: an http:// or https:// URL, printable ASCII */
#define F_HEADER    0x100u /* strings: an HTTP header line "Name: value" */

struct ctx;
struct schema;

struct field {
	const char *key;
	enum ftype type;
	size_t off;		  /* offsetof in the section's struct */
	const char *def;	  /* the default, as one would write it in the file */
	const char *const *defl;  /* lists: the default items, NULL-terminated */
	const char *min, *max;	  /* durations and sizes, as one would write them */
	size_t maxlen;		  /* strings */
	unsigned flags;		  /* F_* */
	const char *const *names; /* enums: allowed words, NULL-terminated */
	const int *values;	  /* enums: the value stored for names[i] */
	const struct schema *sub; /* sections, lists of mappings, mappings */
	enum ftype item;	  /* lists of scalars: the type of one item */
	size_t n_off;		  /* lists and mappings: offsetof the count */
};

struct schema {
	const struct field *fields;
	size_t nfields;
	size_t size;	/* of the struct, for lists and mappings of them */
	size_t key_off; /* mapping entries: where the entry's name goes */
	size_t pos_off; /* where the item's struct mt_config_pos goes, or NO_OFF */
	/* Rules across keys, after the keys are read; may add errors. */
	void (*check)(struct ctx *k, const struct mt_ynode *map, void *obj);
};

#define SCHEMA(type, fields_, key, pos, check_)                                            \
	{                                                                                  \
		.fields = (fields_), .nfields = ARRAY_SIZE(fields_), .size = sizeof(type), \
		.key_off = (key), .pos_off = (pos), .check = (check_)                      \
	}

/* One load: where diagnostics go.  d == NULL: applying the built-in defaults. */
struct ctx {
	const char *file;
	struct mt_diag *d;
	const char *default_sig_dir;
	size_t errors;
};

/* --- the tables ------------------------------------------------------------ */

static const char *const log_level_names[] = { "error", "warning", "info", "debug", NULL };
static const int log_level_values[] = { MT_LOG_ERROR, MT_LOG_WARNING, MT_LOG_INFO, MT_LOG_DEBUG };
static const char *const locale_names[] = { "en", "zh", NULL };
static const int locale_values[] = { MT_LOCALE_EN, MT_LOCALE_ZH };
static const char *const start_at_names[] = { "end", "beginning", NULL };
static const int start_at_values[] = { MT_START_END, MT_START_BEGINNING };
static const char *const format_names[] = { "json", "text", NULL };
static const char *const syslog_format_names[] = { "text", "json", "rfc5424", NULL };
static const int syslog_format_values[] = { MT_SYSLOG_TEXT, MT_SYSLOG_JSON, MT_SYSLOG_RFC5424 };
static const char *const payload_names[] = { "json",	"slack",	"mattermost", "teams",
					     "discord", "alertmanager", NULL };
static const int payload_values[] = {
	MT_PAYLOAD_JSON,  MT_PAYLOAD_SLACK,   MT_PAYLOAD_MATTERMOST,
	MT_PAYLOAD_TEAMS, MT_PAYLOAD_DISCORD, MT_PAYLOAD_ALERTMANAGER
};
static const char *const group_by_names[] = { "none", "relay", "domain", "client_ip", NULL };
static const int group_by_values[] = { MT_GROUP_BY_NONE, MT_GROUP_BY_RELAY, MT_GROUP_BY_DOMAIN,
				       MT_GROUP_BY_CLIENT_IP };
static const int format_values[] = { MT_FORMAT_JSON, MT_FORMAT_TEXT };
static const char *const severity_names[] = { "info", "warning", "error", "critical", NULL };
static const int severity_values[] = { MT_SEV_INFO, MT_SEV_WARNING, MT_SEV_ERROR, MT_SEV_CRITICAL };
static const char *const facility_names[] = {
	"kern",	  "user",   "mail",   "daemon",	  "auth",   "syslog", "lpr",
	"news",	  "uucp",   "cron",   "authpriv", "ftp",    "local0", "local1",
	"local2", "local3", "local4", "local5",	  "local6", "local7", NULL,
};
static const int facility_values[] = {
	LOG_KERN,   LOG_USER,	LOG_MAIL,   LOG_DAEMON,	  LOG_AUTH,   LOG_SYSLOG, LOG_LPR,
	LOG_NEWS,   LOG_UUCP,	LOG_CRON,   LOG_AUTHPRIV, LOG_FTP,    LOG_LOCAL0, LOG_LOCAL1,
	LOG_LOCAL2, LOG_LOCAL3, LOG_LOCAL4, LOG_LOCAL5,	  LOG_LOCAL6, LOG_LOCAL7,
};
#define KEY(k, t, o) .key = (k), .type = (t), .off = (o)
#define NAMES(n, v)  .names = (n), .values = (v)
_Static_assert(ARRAY_SIZE(log_level_names) == ARRAY_SIZE(log_level_values) + 1, "names");
_Static_assert(ARRAY_SIZE(locale_names) == ARRAY_SIZE(locale_values) + 1, "names");
_Static_assert(ARRAY_SIZE(start_at_names) == ARRAY_SIZE(start_at_values) + 1, "names");
_Static_assert(ARRAY_SIZE(format_names) == ARRAY_SIZE(format_values) + 1, "names");
_Static_assert(ARRAY_SIZE(severity_names) == ARRAY_SIZE(severity_values) + 1, "names");
_Static_assert(ARRAY_SIZE(facility_names) == ARRAY_SIZE(facility_values) + 1, "names");

/* Where Debian, RHEL, SUSE and the BSDs put the Postfix and Exim logs. */
static const char *const default_inputs[] = {
	"/var/log/mail.log",
	"/var/log/maillog",
	"/var/log/mail/mail.log",
	"/var/log/exim4/mainlog",
	"/var/log/exim/main.log",
	"/var/log/exim/mainlog",
	NULL,
};

#define IN(m) offsetof(struct mt_config_input, m)
static const struct field input_fields[] = {
	/* The first field is the item's identity (F_UNIQUE, F_SHORTHAND). */
	{ KEY("path", T_PATH, IN(path)), .flags = F_REQUIRED | F_GLOB | F_FILE },
	{ KEY("start_at", T_ENUM, IN(start_at)), .def = "end",
	  NAMES(start_at_names, start_at_values) },
};
static const struct schema input_schema =
	SCHEMA(struct mt_config_input, input_fields, NO_OFF, IN(pos), NULL);

#define JO(m) offsetof(struct mt_config_journal, m)
static const struct field journal_fields[] = {
	{ KEY("enabled", T_TRISTATE, JO(enabled)), .def = "auto" },
	{ KEY("matches", T_LIST, JO(matches)), .item = T_JMATCH, .n_off = JO(nmatches),
	  .flags = F_UNIQUE },
	{ KEY("directory", T_PATH, JO(directory)) },
};
static const struct schema journal_schema =
	SCHEMA(struct mt_config_journal, journal_fields, NO_OFF, NO_OFF, NULL);

#define LI(m) offsetof(struct mt_config_limits, m)
static const struct field limits_fields[] = {
	{ KEY("max_line_length", T_SIZE, LI(max_line_length)), .def = "64KiB", .min = "1KiB",
	  .max = "16MiB" },
	{ KEY("partial_line_timeout", T_DURATION, LI(partial_line_timeout)), .def = "5s",
	  .min = "100ms", .max = "1h" },
	{ KEY("read_chunk", T_SIZE, LI(read_chunk)), .def = "256KiB", .min = "4KiB",
	  .max = "64MiB" },
};
static const struct schema limits_schema =
	SCHEMA(struct mt_config_limits, limits_fields, NO_OFF, NO_OFF, NULL);

#define CO(m) offsetof(struct mt_config_correlate, m)
static const struct field correlate_fields[] = {
	{ KEY("enabled", T_BOOL, CO(enabled)), .def = "true" },
	{ KEY("max_messages", T_UINT, CO(max_messages)), .def = "1000000", .min = "1000",
	  .max = "10000000" },
	{ KEY("max_destinations", T_UINT, CO(max_destinations)), .def = "10000", .min = "16",
	  .max = "1000000" },
	{ KEY("message_max_age", T_DURATION, CO(message_max_age)), .def = "10d", .min = "1h",
	  .max = "90d" },
	{ KEY("continuation_timeout", T_DURATION, CO(continuation_timeout)), .def = "500ms",
	  .min = "10ms", .max = "10s" },
	{ KEY("health_window", T_DURATION, CO(health_window)), .def = "15m", .min = "1m",
	  .max = "1d" },
	{ KEY("health_threshold", T_UINT, CO(health_threshold)), .def = "20", .min = "1",
	  .max = "100" },
	{ KEY("health_min_attempts", T_UINT, CO(health_min_attempts)), .def = "10", .min = "1",
	  .max = "100000" },
};
static const struct schema correlate_schema =
	SCHEMA(struct mt_config_correlate, correlate_fields, NO_OFF, NO_OFF, NULL);

#define OV(m) offsetof(struct mt_config_override, m)
static const struct field override_fields[] = {
	{ KEY("severity", T_ENUM, OV(severity)), .def = NULL,
	  NAMES(severity_names, severity_values) },
	{ KEY("disabled", T_BOOL, OV(disabled)), .def = "false" },
};
static const struct schema override_schema =
	SCHEMA(struct mt_config_override, override_fields, OV(id), OV(pos), NULL);

#define SI(m) offsetof(struct mt_config_signatures, m)
static const struct field signatures_fields[] = {
	{ KEY("directories", T_LIST, SI(directories)), .item = T_PATH, .n_off = SI(ndirectories),
	  .flags = F_UNIQUE | F_SIGDIR },
	{ KEY("include", T_LIST, SI(include)), .item = T_SELECTOR, .n_off = SI(ninclude),
	  .flags = F_UNIQUE },
	{ KEY("exclude", T_LIST, SI(exclude)), .item = T_SELECTOR, .n_off = SI(nexclude),
	  .flags = F_UNIQUE },
	{ KEY("overrides", T_MAP, SI(overrides)), .sub = &override_schema,
	  .n_off = SI(noverrides) },
};
static const struct schema signatures_schema =
	SCHEMA(struct mt_config_signatures, signatures_fields, NO_OFF, NO_OFF, NULL);

/*
 * Sinks.  Adding one (webhooks, say) is: a struct in config.h and a member
 * of struct mt_config_alerting, a field table and SCHEMA here, and one line
 * in alerting_fields; for a list of them,
 *	{ KEY("webhooks", T_LIST, AL(webhooks)), .sub = &webhook_schema,
 *	  .n_off = AL(nwebhooks) },
 * (mark the item's identifying key F_REQUIRED and put it first for F_UNIQUE).
 */
/* Every sink's filter; the same keys in each sink's section. */
#define FILTER_FIELDS(off, def_sev)                                                             \
	{ KEY("min_severity", T_ENUM, (off) + offsetof(struct mt_config_filter, min_severity)), \
	  .def = def_sev, NAMES(severity_names, severity_values) },                             \
		{ KEY("include", T_LIST, (off) + offsetof(struct mt_config_filter, include)),   \
		  .item = T_SELECTOR,                                                           \
		  .n_off = (off) + offsetof(struct mt_config_filter, ninclude) },               \
	{                                                                                       \
		KEY("exclude", T_LIST, (off) + offsetof(struct mt_config_filter, exclude)),     \
			.item = T_SELECTOR,                                                     \
			.n_off = (off) + offsetof(struct mt_config_filter, nexclude)            \
	}

#define SO(m) offsetof(struct mt_config_stdout, m)
static const struct field stdout_fields[] = {
	{ KEY("enabled", T_BOOL, SO(enabled)), .def = "true" },
	{ KEY("format", T_ENUM, SO(format)), .def = "json", NAMES(format_names, format_values) },
	FILTER_FIELDS(SO(filter), "info"),
};
static const struct schema stdout_schema =
	SCHEMA(struct mt_config_stdout, stdout_fields, NO_OFF, NO_OFF, NULL);

#define SL(m) offsetof(struct mt_config_syslog, m)
static const struct field syslog_fields[] = {
	{ KEY("enabled", T_BOOL, SL(enabled)), .def = "true" },
	/* Not mail: Debian's rsyslog writes mail.* into the very logs we follow. */
	{ KEY("facility", T_ENUM, SL(facility)), .def = "daemon",
	  NAMES(facility_names, facility_values) },
	{ KEY("tag", T_STRING, SL(tag)), .def = "mtalert", .maxlen = MT_CONFIG_SYSLOG_TAG_MAX,
	  .flags = F_TOKEN },
	{ KEY("format", T_ENUM, SL(format)), .def = "text",
	  NAMES(syslog_format_names, syslog_format_values) },
	{ KEY("socket", T_PATH, SL(socket)), .def = "/dev/log", .flags = F_FILE },
	/* Info alerts are a large volume on a busy MX: scan, status and metrics keep them. */
	FILTER_FIELDS(SL(filter), "warning"),
};
static const struct schema syslog_schema =
	SCHEMA(struct mt_config_syslog, syslog_fields, NO_OFF, NO_OFF, NULL);

#define JS(m) offsetof(struct mt_config_journal_sink, m)
static const struct field journal_sink_fields[] = {
	/* Off: on most hosts /dev/log is journald's already, and the syslog sink feeds it. */
	{ KEY("enabled", T_BOOL, JS(enabled)), .def = "false" },
	FILTER_FIELDS(JS(filter), "warning"),
};
static const struct schema journal_sink_schema =
	SCHEMA(struct mt_config_journal_sink, journal_sink_fields, NO_OFF, NO_OFF, NULL);

#define GR(m) offsetof(struct mt_config_grouping, m)
static const struct field grouping_fields[] = {
	{ KEY("by", T_ENUM, GR(by)), .def = "relay", NAMES(group_by_names, group_by_values) },
	{ KEY("group_wait", T_DURATION, GR(group_wait)), .def = "10s", .min = "0s", .max = "1h" },
	{ KEY("group_interval", T_DURATION, GR(group_interval)), .def = "5m", .min = "1s",
	  .max = "24h" },
	{ KEY("repeat_interval", T_DURATION, GR(repeat_interval)), .def = "1h", .min = "1s",
	  .max = "168h" },
	{ KEY("resolve_after", T_DURATION, GR(resolve_after)), .def = "15m", .min = "0s",
	  .max = "168h" },
	{ KEY("min_count", T_UINT, GR(min_count)), .def = "1", .min = "1", .max = "1000" },
	{ KEY("window", T_DURATION, GR(window)), .def = "1m", .min = "1s", .max = "168h" },
	{ KEY("max_groups", T_UINT, GR(max_groups)), .def = "10000", .min = "16",
	  .max = "1000000" },
};
static const struct schema grouping_schema =
	SCHEMA(struct mt_config_grouping, grouping_fields, NO_OFF, NO_OFF, NULL);

#define WH(m) offsetof(struct mt_config_webhook, m)
static const struct field webhook_fields[] = {
	/* The first field is the item's identity (F_UNIQUE). */
	{ KEY("name", T_STRING, WH(name)), .maxlen = 64, .flags = F_REQUIRED | F_TOKEN },
	{ KEY("url", T_STRING, WH(url)), .flags = F_REQUIRED | F_URL },
	{ KEY("format", T_ENUM, WH(format)), .def = "json", NAMES(payload_names, payload_values) },
	FILTER_FIELDS(WH(filter), "warning"),
	{ KEY("headers", T_LIST, WH(headers)), .item = T_STRING, .n_off = WH(nheaders),
	  .flags = F_HEADER },
	{ KEY("token_file", T_PATH, WH(token_file)), .flags = F_FILE },
	{ KEY("token_env", T_STRING, WH(token_env)), .maxlen = 128, .flags = F_TOKEN },
	{ KEY("timeout", T_DURATION, WH(timeout)), .def = "10s", .min = "100ms", .max = "5m" },
	{ KEY("connect_timeout", T_DURATION, WH(connect_timeout)), .def = "5s", .min = "100ms",
	  .max = "1m" },
	{ KEY("ca_file", T_PATH, WH(ca_file)), .flags = F_FILE },
	{ KEY("max_per_minute", T_UINT, WH(max_per_minute)), .def = "30", .min = "1",
	  .max = "100000" },
	{ KEY("give_up_after", T_DURATION, WH(give_up_after)), .def = "24h", .min = "5s",
	  .max = "720h" },
	{ KEY("resend_interval", T_DURATION, WH(resend_interval)), .def = "1m", .min = "1s",
	  .max = "1h" },
};
static void check_webhook(struct ctx *k, const struct mt_ynode *map, void *obj);
static const struct schema webhook_schema =
	SCHEMA(struct mt_config_webhook, webhook_fields, NO_OFF, WH(pos), check_webhook);

#define SP(m) offsetof(struct mt_config_spool, m)
static const struct field spool_fields[] = {
	{ KEY("max_size", T_SIZE, SP(max_size)), .def = "64MiB", .min = "64KiB", .max = "16GiB" },
	{ KEY("max_age", T_DURATION, SP(max_age)), .def = "168h", .min = "1m", .max = "2160h" },
};
static const struct schema spool_schema =
	SCHEMA(struct mt_config_spool, spool_fields, NO_OFF, NO_OFF, NULL);

#define AL(m) offsetof(struct mt_config_alerting, m)
static const struct field alerting_fields[] = {
	{ KEY("stdout", T_SECTION, AL(stdout_sink)), .sub = &stdout_schema },
	{ KEY("syslog", T_SECTION, AL(syslog_sink)), .sub = &syslog_schema },
	{ KEY("journal", T_SECTION, AL(journal_sink)), .sub = &journal_sink_schema },
	{ KEY("grouping", T_SECTION, AL(grouping)), .sub = &grouping_schema },
	{ KEY("webhooks", T_LIST, AL(webhooks)), .sub = &webhook_schema, .n_off = AL(nwebhooks),
	  .flags = F_UNIQUE },
	{ KEY("spool", T_SECTION, AL(spool)), .sub = &spool_schema },
	{ KEY("max_per_minute", T_UINT, AL(max_per_minute)), .def = "120", .min = "1",
	  .max = "1000000" },
	{ KEY("webhook_failing_after", T_DURATION, AL(webhook_failing_after)), .def = "15m",
	  .min = "1s", .max = "24h" },
};
static const struct schema alerting_schema =
	SCHEMA(struct mt_config_alerting, alerting_fields, NO_OFF, NO_OFF, NULL);

#define CT(m) offsetof(struct mt_config_control, m)
static const struct field control_fields[] = {
	{ KEY("enabled", T_BOOL, CT(enabled)), .def = "true" },
	{ KEY("socket", T_PATH, CT(socket)), .def = "/run/mtalert/control", .flags = F_FILE },
};
static const struct schema control_schema =
	SCHEMA(struct mt_config_control, control_fields, NO_OFF, NO_OFF, NULL);

static void check_metrics(struct ctx *k, const struct mt_ynode *map, void *obj);
#define ME(m) offsetof(struct mt_config_metrics, m)
static const struct field metrics_fields[] = {
	{ KEY("listen", T_STRING, ME(listen)), .maxlen = 64 },
};
static const struct schema metrics_schema =
	SCHEMA(struct mt_config_metrics, metrics_fields, NO_OFF, NO_OFF, check_metrics);

static void check_window(struct ctx *k, const struct mt_ynode *map, void *obj);
#define MW(m) offsetof(struct mt_config_window, m)
static const struct field window_fields[] = {
	{ KEY("signatures", T_LIST, MW(select)), .item = T_SELECTOR, .n_off = MW(nselect),
	  .flags = F_REQUIRED | F_UNIQUE },
	{ KEY("days", T_LIST, MW(days)), .item = T_STRING, .n_off = MW(ndays), .flags = F_UNIQUE },
	{ KEY("start", T_STRING, MW(start)), .maxlen = 5, .flags = F_REQUIRED },
	{ KEY("end", T_STRING, MW(end)), .maxlen = 5, .flags = F_REQUIRED },
	{ KEY("comment", T_STRING, MW(comment)), .maxlen = 200 },
};
static const struct schema window_schema =
	SCHEMA(struct mt_config_window, window_fields, NO_OFF, MW(pos), check_window);

static void check_top(struct ctx *k, const struct mt_ynode *map, void *obj);

#define TOP(m) offsetof(struct mt_config, m)
static const struct field top_fields[] = {
	{ KEY("log_level", T_ENUM, TOP(log_level)), .def = "info",
	  NAMES(log_level_names, log_level_values) },
	{ KEY("locale", T_ENUM, TOP(locale)), .def = "en", NAMES(locale_names, locale_values) },
	{ KEY("state_directory", T_PATH, TOP(state_directory)), .def = "/var/lib/mtalert" },
	{ KEY("checkpoint_interval", T_DURATION, TOP(checkpoint_interval)), .def = "5s",
	  .min = "100ms", .max = "1h" },
	{ KEY("inputs", T_LIST, TOP(inputs)), .sub = &input_schema, .n_off = TOP(ninputs),
	  .defl = default_inputs, .flags = F_UNIQUE | F_SHORTHAND },
	{ KEY("journal", T_SECTION, TOP(journal)), .sub = &journal_schema },
	{ KEY("limits", T_SECTION, TOP(limits)), .sub = &limits_schema },
	{ KEY("correlate", T_SECTION, TOP(correlate)), .sub = &correlate_schema },
	{ KEY("signatures", T_SECTION, TOP(signatures)), .sub = &signatures_schema },
	{ KEY("alerting", T_SECTION, TOP(alerting)), .sub = &alerting_schema },
	{ KEY("control", T_SECTION, TOP(control)), .sub = &control_schema },
	{ KEY("metrics", T_SECTION, TOP(metrics)), .sub = &metrics_schema },
	{ KEY("maintenance", T_LIST, TOP(maintenance)), .sub = &window_schema,
	  .n_off = TOP(nmaintenance) },
};
static const struct schema top_schema =
	SCHEMA(struct mt_config, top_fields, NO_OFF, NO_OFF, check_top);

/* --- diagnostics ----------------------------------------------------------- */

__attribute__((format(printf, 3, 4))) static void
err(struct ctx *k, const struct mt_ynode *n, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (k->d == NULL)
		mt_panic("built-in default does not validate: %s", msg);
	mt_diag_addc(k->d, MT_DIAG_ERROR, k->file, n ? n->line : 0, n ? n->col : 0, "%s", msg);
	k->errors++;
}

/* A value for a message: 'plain' or "quoted", cleaned and capped; or "a list". */
static const char *
show(const struct mt_ynode *n, char *buf, size_t size)
{
	size_t i, o = 0, max = size - 5; /* quote, "...", quote, NUL */
	char q;

	if (n->type == MT_Y_SEQ)
		return "a list";
	if (n->type == MT_Y_MAP)
		return "a mapping";
	q = n->quoted ? '"' : '\'';
	buf[o++] = q;
	for (i = 0; i < n->len && o < max; i++) {
		unsigned char c = (unsigned char)n->str[i];

		/* Do not end inside a UTF-8 sequence. */
		if (c >= 0xc0 && o + 4 > max)
			break;
		buf[o++] = n->str[i];
		if (c < 0x20 || c == 0x7f)
			buf[o - 1] = '?'; /* control characters stay out of messages */
	}
	if (i < n->len) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = q;
	buf[o] = '\0';
	return buf;
}

/* Append s to the string in dst, truncating: these are names for messages. */
static void
append(char *dst, size_t size, const char *s)
{
	size_t len = strnlen(dst, size);

	if (len + 1 < size)
		(void)mt_strlcpy(dst + len, s, size - len);
}

/* "limits" + "read_chunk" -> "limits.read_chunk"; "" + "locale" -> "locale" */
static void
join_name(char *dst, size_t size, const char *parent, const char *key)
{
	dst[0] = '\0';
	append(dst, size, parent);
	if (parent[0] != '\0')
		append(dst, size, ".");
	append(dst, size, key);
}

/* "a, b, c" */
static const char *
join_words(const char *const *w, char *buf, size_t size)
{
	buf[0] = '\0';
	for (size_t i = 0; w[i] != NULL; i++) {
		append(buf, size, i == 0 ? "" : ", ");
		append(buf, size, w[i]);
	}
	return buf;
}

/* What a key of this type may hold, for "NAME must be WHAT, not VALUE". */
static const char *
expect(const struct field *f, enum ftype type, char *buf, size_t size)
{
	char words[512];

	switch (type) {
	case T_BOOL:
		return "true or false";
	case T_TRISTATE:
		return "auto, true or false";
	case T_ENUM:
		(void)snprintf(buf, size, "one of %s", join_words(f->names, words, sizeof(words)));
		return buf;
	case T_STRING:
		if (f->flags & F_URL)
			return "an http:// or https:// URL";
		if (f->flags & F_HEADER)
			return "an HTTP header such as 'X-Name: value'";
		return f->flags & F_TOKEN ? "a word of letters, digits, '.', '_', '-' and '/'" :
					    "a string";
	case T_PATH:
		return "an absolute path";
	case T_DURATION:
		return "a duration such as 250ms, 5s, 2m or 1h";
	case T_SIZE:
		return "a size such as 512B, 64KiB or 1MiB";
	case T_UINT:
		return "a whole number";
	case T_ID:
		return "a signature id (a-z, 0-9, '-', '_', '.' and '/')";
	case T_SELECTOR:
		return "a signature id, 'category:NAME' or 'domain:NAME'";
	case T_JMATCH:
		return "a journal match FIELD=value (FIELD of A-Z, 0-9 and '_')";
	case T_SECTION:
		return "a mapping";
	case T_MAP:
		return "a mapping of signature ids to settings";
	case T_LIST:
		if (f->sub != NULL)
			return f->flags & F_SHORTHAND ? "a list of paths or mappings" :
							"a list of mappings";
		if (f->item == T_PATH)
			return "a list of absolute paths";
		if (f->item == T_SELECTOR)
			return "a list of signature ids, 'category:NAME' or 'domain:NAME'";
		if (f->item == T_JMATCH)
			return "a list of journal matches FIELD=value";
		return "a list of strings";
	}
	mt_panic("unknown field type %d", (int)type);
}

/* "NAME must be WHAT, not VALUE": n is not what a key of this type holds.  Returns false. */
static bool
type_err(struct ctx *k, const struct field *f, enum ftype type, const char *name,
	 const struct mt_ynode *n)
{
	char shown[SHOW_LEN], what[512];

	err(k, n, "%s must be %s, not %s", name, expect(f, type, what, sizeof(what)),
	    show(n, shown, sizeof(shown)));
	return false;
}

/* --- values ---------------------------------------------------------------- */

static void
set_ptr(void *at, void *p)
{
	memcpy(at, &p, sizeof(p));
}

static void *
get_ptr(const void *at)
{
	void *p;

	memcpy(&p, at, sizeof(p));
	return p;
}

static void
set_int(void *at, int v)
{
	memcpy(at, &v, sizeof(v));
}

static size_t
scalar_size(enum ftype t)
{
	return t == T_SELECTOR ? sizeof(struct mt_config_sel) : sizeof(char *);
}

static void
free_scalar(enum ftype t, void *at)
{
	if (t == T_SELECTOR) {
		struct mt_config_sel *s = at;

		free(s->name);
		s->name = NULL;
	} else if (t == T_STRING || t == T_PATH || t == T_ID || t == T_JMATCH) {
		free(get_ptr(at));
		set_ptr(at, NULL);
	}
}

static bool
has_ctl(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

static bool
valid_id(const char *id, size_t len)
{
	if (len == 0 || len > ID_MAX || id[0] == '/' || id[len - 1] == '/')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.' || c == '/'))
			return false;
	}
	return true;
}

static bool
valid_sel_name(const char *s, size_t len)
{
	if (len == 0 || len > SEL_NAME_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
	}
	return true;
}

/* sd_journal_add_match(): FIELD=value, FIELD of A-Z, 0-9, '_', not starting with a digit. */
static bool
valid_jmatch(const char *s)
{
	const char *eq = strchr(s, '=');
	size_t flen;

	if (eq == NULL)
		return false;
	flen = (size_t)(eq - s);
	if (flen == 0 || flen > JFIELD_MAX || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (size_t i = 0; i < flen; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
			return false;
	return true;
}

static bool
valid_token(const char *s)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '.' || *s == '_' || *s == '-' || *s == '/'))
			return false;
	return true;
}

/* A '[' must close in the same path component, as glob(3) reads it. */
static bool
glob_brackets_close(const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' && s[1] != '\0') {
			s++;
			continue;
		}
		if (*s != '[')
			continue;
		s++;
		if (*s == '!' || *s == '^')
			s++;
		if (*s == ']')
			s++;
		while (*s && *s != ']' && *s != '/')
			s++;
		if (*s != ']')
			return false;
	}
	return true;
}

/* A copy with runs of '/' squeezed and a trailing '/' dropped, so equal paths compare equal. */
static char *
normalise_path(const char *s)
{
	size_t len = strlen(s), o = 0;
	char *p = mt_xmalloc(len + 1);

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '/' && o > 0 && p[o - 1] == '/')
			continue;
		p[o++] = s[i];
	}
	if (o > 1 && p[o - 1] == '/')
		o--;
	p[o] = '\0';
	return p;
}

static bool
set_path(struct ctx *k, const struct field *f, const char *name, const struct mt_ynode *n, void *at)
{
	char shown[SHOW_LEN];

	if (n->str[0] != '/') {
		err(k, n, "%s must be an absolute path (starting with '/'), not %s", name,
		    show(n, shown, sizeof(shown)));
		return false;
	}
	if (n->len >= MT_CONFIG_PATH_MAX) {
		err(k, n, "%s is %zu bytes long; a path may have at most %d", name, n->len,
		    MT_CONFIG_PATH_MAX - 1);
		return false;
	}
	if ((f->flags & F_FILE) && n->str[n->len - 1] == '/') {
		err(k, n, "%s must name a file, not a directory: %s ends in '/'", name,
		    show(n, shown, sizeof(shown)));
		return false;
	}
	if ((f->flags & F_GLOB) && !glob_brackets_close(n->str)) {
		err(k, n, "%s has a '[' without its ']' in %s (write '\\[' for a literal '[')",
		    name, show(n, shown, sizeof(shown)));
		return false;
	}
	free_scalar(T_PATH, at);
	set_ptr(at, normalise_path(n->str));
	return true;
}

static bool
set_selector(struct ctx *k, const char *name, const struct mt_ynode *n, void *at)
{
	static const struct {
		const char *prefix;
		enum mt_sel_kind kind;
	} kinds[] = { { "category:", MT_SEL_CATEGORY }, { "domain:", MT_SEL_DOMAIN } };
	struct mt_config_sel *sel = at;
	char shown[SHOW_LEN];

	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		size_t plen = strlen(kinds[i].prefix);

		if (strncmp(n->str, kinds[i].prefix, plen) != 0)
			continue;
		if (!valid_sel_name(n->str + plen, n->len - plen)) {
			err(k, n,
			    "%s: the name after '%s' must be 1 to %d letters, digits, '-', '_' or '.', not %s",
			    name, kinds[i].prefix, SEL_NAME_MAX, show(n, shown, sizeof(shown)));
			return false;
		}
		free_scalar(T_SELECTOR, at);
		sel->kind = kinds[i].kind;
		sel->name = mt_xstrdup(n->str + plen);
		sel->pos = (struct mt_config_pos){ n->line, n->col };
		return true;
	}
	if (!valid_id(n->str, n->len)) {
		err(k, n, "%s must be %s, not %s", name, expect(NULL, T_SELECTOR, NULL, 0),
		    show(n, shown, sizeof(shown)));
		return false;
	}
	free_scalar(T_SELECTOR, at);
	sel->kind = MT_SEL_ID;
	sel->name = mt_xstrdup(n->str);
	sel->pos = (struct mt_config_pos){ n->line, n->col };
	return true;
}

/* A duration or size that is not one (r: -EINVAL) or outside f's range: say which. */
static bool
range_err(struct ctx *k, const struct field *f, enum ftype type, const char *name,
	  const struct mt_ynode *n, int r)
{
	char shown[SHOW_LEN];

	if (r == -EINVAL)
		return type_err(k, f, type, name, n);
	err(k, n, "%s must be between %s and %s, not %s", name, f->min, f->max,
	    show(n, shown, sizeof(shown)));
	return false;
}

static bool
set_duration(struct ctx *k, const struct field *f, const char *name, const struct mt_ynode *n,
	     void *at)
{
	double v = 0, lo, hi;
	int r;

	if (mt_parse_duration(f->min, &lo) < 0 || mt_parse_duration(f->max, &hi) < 0)
		mt_panic("bad range for %s", f->key);
	r = mt_parse_duration(n->str, &v);
	/* -ERANGE (too many digits) is out of range too. */
	if (r < 0 || v < lo || v > hi)
		return range_err(k, f, T_DURATION, name, n, r);
	memcpy(at, &v, sizeof(v));
	return true;
}

static bool
set_size(struct ctx *k, const struct field *f, const char *name, const struct mt_ynode *n, void *at)
{
	uint64_t v = 0, lo, hi;
	int r;

	if (mt_parse_size(f->min, &lo) < 0 || mt_parse_size(f->max, &hi) < 0)
		mt_panic("bad range for %s", f->key);
	r = mt_parse_size(n->str, &v);
	if (r < 0 || v < lo || v > hi)
		return range_err(k, f, T_SIZE, name, n, r);
	memcpy(at, &v, sizeof(v));
	return true;
}

static bool
set_uint(struct ctx *k, const struct field *f, const char *name, const struct mt_ynode *n, void *at)
{
	char shown[SHOW_LEN], *end;
	unsigned long long lo, hi;
	long long v;

	errno = 0;
	lo = strtoull(f->min ? f->min : "0", &end, 10);
	hi = strtoull(f->max ? f->max : "18446744073709551615", &end, 10);
	if (errno != 0)
		mt_panic("bad range for %s", f->key);
	if (mt_ynode_int(n, &v) < 0 || v < 0)
		return type_err(k, f, T_UINT, name, n);
	if ((unsigned long long)v < lo || (unsigned long long)v > hi) {
		err(k, n, "%s must be between %llu and %llu, not %s", name, lo, hi,
		    show(n, shown, sizeof(shown)));
		return false;
	}
	{
		uint64_t u = (uint64_t)v;

		memcpy(at, &u, sizeof(u));
	}
	return true;
}

/* An http(s) URL: printable ASCII, no spaces, a host after the scheme. */
static bool
valid_url(const char *s)
{
	size_t skip = strncmp(s, "https://", 8) == 0 ? 8 : strncmp(s, "http://", 7) == 0 ? 7 : 0;

	if (skip == 0 || s[skip] == '\0' || s[skip] == '/' || strlen(s) > 4096)
		return false;
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return false;
	return true;
}

/* "Name: value": a token name, then printable text; never a CR or LF. */
static bool
valid_header(const char *s)
{
	const char *colon = strchr(s, ':');

	if (colon == NULL || colon == s || strlen(s) > 1024)
		return false;
	for (const char *p = s; p < colon; p++)
		if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
			return false;
	for (const char *p = colon + 1; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	return true;
}

/* Read one scalar of the given type into at; on error, say why and leave at alone. */
static bool
set_value(struct ctx *k, const struct field *f, enum ftype type, const char *name,
	  const struct mt_ynode *n, void *at)
{
	char shown[SHOW_LEN], what[512];
	bool b;

	if (n->type != MT_Y_SCALAR)
		return type_err(k, f, type, name, n);
	if (strlen(n->str) != n->len) {
		err(k, n, "%s must not contain a NUL character", name);
		return false;
	}
	if (n->len == 0) {
		err(k, n, "%s must not be empty; it must be %s", name,
		    expect(f, type, what, sizeof(what)));
		return false;
	}
	if (has_ctl(n->str, n->len)) {
		err(k, n, "%s must not contain control characters, as in %s", name,
		    show(n, shown, sizeof(shown)));
		return false;
	}
	switch (type) {
	case T_BOOL:
		if (mt_ynode_bool(n, &b) < 0)
			break;
		memcpy(at, &b, sizeof(b));
		return true;
	case T_TRISTATE:
		if (strcmp(n->str, "auto") == 0)
			set_int(at, MT_AUTO);
		else if (mt_ynode_bool(n, &b) == 0)
			set_int(at, b ? MT_ON : MT_OFF);
		else
			break;
		return true;
	case T_ENUM:
		for (size_t i = 0; f->names[i] != NULL; i++)
			if (strcmp(n->str, f->names[i]) == 0) {
				set_int(at, f->values[i]);
				return true;
			}
		break;
	case T_STRING:
		if (f->maxlen && n->len > f->maxlen) {
			err(k, n, "%s is %zu bytes long; at most %zu are allowed", name, n->len,
			    f->maxlen);
			return false;
		}
		if ((f->flags & F_TOKEN) && !valid_token(n->str))
			break;
		if ((f->flags & F_URL) && !valid_url(n->str))
			break;
		if ((f->flags & F_HEADER) && !valid_header(n->str))
			break;
		free_scalar(T_STRING, at);
		set_ptr(at, mt_xstrdup(n->str));
		return true;
	case T_PATH:
		return set_path(k, f, name, n, at);
	case T_DURATION:
		return set_duration(k, f, name, n, at);
	case T_SIZE:
		return set_size(k, f, name, n, at);
	case T_UINT:
		return set_uint(k, f, name, n, at);
	case T_ID:
		if (!valid_id(n->str, n->len))
			break;
		free_scalar(T_ID, at);
		set_ptr(at, mt_xstrdup(n->str));
		return true;
	case T_SELECTOR:
		return set_selector(k, name, n, at);
	case T_JMATCH:
		if (!valid_jmatch(n->str))
			break;
		free_scalar(T_JMATCH, at);
		set_ptr(at, mt_xstrdup(n->str));
		return true;
	case T_SECTION:
	case T_LIST:
	case T_MAP:
		mt_panic("%s is not a scalar", name);
	}
	return type_err(k, f, type, name, n);
}

/* --- sections, lists, mappings --------------------------------------------- */

static void free_obj(const struct schema *s, void *obj);
static void parse_section(struct ctx *k, const struct schema *s, const char *name,
			  const struct mt_ynode *map, void *obj);
static void apply_defaults(struct ctx *k, const struct schema *s, void *obj);

static void
free_list(const struct field *f, void *arr, size_t n)
{
	size_t esize = f->sub ? f->sub->size : scalar_size(f->item);

	for (size_t i = 0; i < n; i++) {
		char *e = (char *)arr + i * esize;

		if (f->sub)
			free_obj(f->sub, e);
		else
			free_scalar(f->item, e);
	}
	free(arr);
}

static void
free_obj(const struct schema *s, void *obj)
{
	char *base = obj;

	if (s->key_off != NO_OFF)
		free(get_ptr(base + s->key_off));
	for (size_t i = 0; i < s->nfields; i++) {
		const struct field *f = &s->fields[i];
		char *at = base + f->off;

		if (f->type == T_SECTION) {
			free_obj(f->sub, at);
		} else if (f->type == T_LIST || f->type == T_MAP) {
			free_list(f, get_ptr(at), *(size_t *)(void *)(base + f->n_off));
			set_ptr(at, NULL);
		} else {
			free_scalar(f->type, at);
		}
	}
}

/* The identity of a list item, for F_UNIQUE: its string, or its first field's. */
static bool
same_item(const struct field *f, const void *a, const void *b)
{
	if (f->sub != NULL) {
		size_t off = f->sub->fields[0].off;
		const char *sa = get_ptr((const char *)a + off);
		const char *sb = get_ptr((const char *)b + off);

		return sa != NULL && sb != NULL && strcmp(sa, sb) == 0;
	}
	if (f->item == T_SELECTOR) {
		const struct mt_config_sel *sa = a, *sb = b;

		return sa->kind == sb->kind && strcmp(sa->name, sb->name) == 0;
	}
	return strcmp(get_ptr(a), get_ptr(b)) == 0;
}

/* One mapping item of a list, or a plain string setting its first field (F_SHORTHAND). */
static bool
parse_item(struct ctx *k, const struct field *f, const char *name, const struct mt_ynode *it,
	   void *e)
{
	struct ctx dk = { .default_sig_dir = k->default_sig_dir };
	const struct schema *s = f->sub;
	size_t before = k->errors;
	char what[128];

	apply_defaults(&dk, s, e);
	if (s->pos_off != NO_OFF)
		memcpy((char *)e + s->pos_off, &(struct mt_config_pos){ it->line, it->col },
		       sizeof(struct mt_config_pos));
	if (it->type == MT_Y_MAP)
		parse_section(k, s, name, it, e);
	else if (it->type == MT_Y_SCALAR && (f->flags & F_SHORTHAND) && !mt_ynode_is_null(it))
		(void)set_value(k, &s->fields[0], s->fields[0].type, name, it,
				(char *)e + s->fields[0].off);
	else
		err(k, it, "%s must be %s, not %s", name,
		    f->flags & F_SHORTHAND ? "a path or a mapping" : "a mapping",
		    mt_ynode_is_null(it) ? "empty" : show(it, what, sizeof(what)));
	return k->errors == before;
}

/* Replace the list at f with the items given; bad items are left out. */
static void
parse_list(struct ctx *k, const struct field *f, const char *name,
	   const struct mt_ynode *const *items, size_t n, const struct mt_ynode *at, void *obj)
{
	size_t esize = f->sub ? f->sub->size : scalar_size(f->item);
	size_t *np = (size_t *)(void *)((char *)obj + f->n_off);
	const struct mt_ynode **src;
	size_t count = 0;
	char *arr;

	if (n > MT_CONFIG_LIST_MAX) {
		err(k, at, "%s has %zu items; at most %d are allowed", name, n, MT_CONFIG_LIST_MAX);
		return;
	}
	arr = mt_xcalloc(n ? n : 1, esize);
	src = mt_xcalloc(n ? n : 1, sizeof(*src));
	for (size_t i = 0; i < n; i++) {
		const struct mt_ynode *it = items[i];
		char *e = arr + count * esize;
		char iname[NAME_LEN], what[128];
		bool good = false;

		(void)snprintf(iname, sizeof(iname), "%s[%zu]", name, i);
		if (f->sub != NULL)
			good = parse_item(k, f, iname, it, e);
		else if (mt_ynode_is_null(it))
			err(k, it, "%s is empty; it must be %s", iname,
			    expect(f, f->item, what, sizeof(what)));
		else
			good = set_value(k, f, f->item, iname, it, e);
		for (size_t j = 0; good && (f->flags & F_UNIQUE) && j < count; j++) {
			if (same_item(f, arr + j * esize, e)) {
				char shown[SHOW_LEN];
				const struct mt_ynode *key = it;

				if (f->sub && it->type == MT_Y_MAP)
					key = mt_ynode_get(it, f->sub->fields[0].key);
				err(k, key, "%s: %s is listed twice (first at line %u)", iname,
				    show(key, shown, sizeof(shown)), src[j]->line);
				good = false;
			}
		}
		if (!good) {
			if (f->sub)
				free_obj(f->sub, e);
			else
				free_scalar(f->item, e);
			memset(e, 0, esize);
			continue;
		}
		src[count++] = it;
	}
	free(src);
	free_list(f, get_ptr((char *)obj + f->off), *np);
	set_ptr((char *)obj + f->off, arr);
	*np = count;
}

/* A mapping of names (signature ids) to mappings, as signatures.overrides. */
static void
parse_map(struct ctx *k, const struct field *f, const char *name, const struct mt_ynode *map,
	  void *obj)
{
	const struct schema *s = f->sub;
	size_t *np = (size_t *)(void *)((char *)obj + f->n_off);
	size_t n = map->n / 2, count = 0;
	char *arr;

	if (n > MT_CONFIG_LIST_MAX) {
		err(k, map, "%s has %zu entries; at most %d are allowed", name, n,
		    MT_CONFIG_LIST_MAX);
		return;
	}
	arr = mt_xcalloc(n ? n : 1, s->size);
	for (size_t i = 0; i < n; i++) {
		const struct mt_ynode *key = map->items[2 * i], *val = map->items[2 * i + 1];
		struct ctx dk = { .default_sig_dir = k->default_sig_dir };
		char *e = arr + count * s->size;
		char ename[NAME_LEN], shown[SHOW_LEN], what[128];
		size_t before = k->errors;

		if (!valid_id(key->str, key->len) || strlen(key->str) != key->len) {
			err(k, key, "%s: key %s must be %s", name, show(key, shown, sizeof(shown)),
			    expect(f, T_ID, what, sizeof(what)));
			continue;
		}
		join_name(ename, sizeof(ename), name, key->str);
		apply_defaults(&dk, s, e);
		set_ptr(e + s->key_off, mt_xstrdup(key->str));
		if (s->pos_off != NO_OFF)
			memcpy(e + s->pos_off, &(struct mt_config_pos){ key->line, key->col },
			       sizeof(struct mt_config_pos));
		if (mt_ynode_is_null(val))
			err(k, val, "%s is empty; it must be a mapping (or remove it)", ename);
		else
			parse_section(k, s, ename, val, e);
		if (k->errors != before) {
			free_obj(s, e);
			memset(e, 0, s->size);
			continue;
		}
		count++;
	}
	free_list(f, get_ptr((char *)obj + f->off), *np);
	set_ptr((char *)obj + f->off, arr);
	*np = count;
}

static void
parse_field(struct ctx *k, const struct field *f, const char *name, const struct mt_ynode *v,
	    void *obj)
{
	char *at = (char *)obj + f->off;
	char what[512];

	if (mt_ynode_is_null(v)) {
		err(k, v, "%s is empty; it must be %s (or remove the key to use the default)", name,
		    expect(f, f->type, what, sizeof(what)));
		return;
	}
	if (f->type == T_SECTION)
		parse_section(k, f->sub, name, v, at);
	else if (f->type == T_LIST && v->type == MT_Y_SEQ)
		parse_list(k, f, name, (const struct mt_ynode *const *)v->items, v->n, v, obj);
	else if (f->type == T_MAP && v->type == MT_Y_MAP)
		parse_map(k, f, name, v, obj);
	else if (f->type == T_LIST || f->type == T_MAP)
		(void)type_err(k, f, f->type, name, v);
	else
		(void)set_value(k, f, f->type, name, v, at);
}

static void
parse_section(struct ctx *k, const struct schema *s, const char *name, const struct mt_ynode *map,
	      void *obj)
{
	char shown[SHOW_LEN];

	if (map->type != MT_Y_MAP) {
		err(k, map, "%s must be a mapping of keys, not %s", name[0] ? name : "the file",
		    show(map, shown, sizeof(shown)));
		return;
	}
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct mt_ynode *key = map->items[i];
		const struct field *f = NULL;
		char cname[NAME_LEN];

		for (size_t j = 0; j < s->nfields; j++)
			if (strcmp(key->str, s->fields[j].key) == 0 &&
			    strlen(key->str) == key->len) {
				f = &s->fields[j];
				break;
			}
		if (f == NULL) {
			char allowed[512];

			allowed[0] = '\0';
			for (size_t j = 0; j < s->nfields; j++) {
				append(allowed, sizeof(allowed), j ? ", " : "");
				append(allowed, sizeof(allowed), s->fields[j].key);
			}
			err(k, key, "unknown key %s%s%s (allowed: %s)",
			    show(key, shown, sizeof(shown)), name[0] ? " in " : "", name, allowed);
			continue;
		}
		join_name(cname, sizeof(cname), name, f->key);
		parse_field(k, f, cname, map->items[i + 1], obj);
	}
	for (size_t j = 0; j < s->nfields; j++)
		if ((s->fields[j].flags & F_REQUIRED) &&
		    mt_ynode_get(map, s->fields[j].key) == NULL)
			err(k, map, "%s: missing required key '%s'", name, s->fields[j].key);
	if (s->check != NULL)
		s->check(k, map, obj);
}

/*
 * The caller's signature directory, taken as given: it may come from the
 * command line, and a bad one is reported when the catalog loads.
 */
static void
set_sigdir(struct ctx *k, const struct field *f, void *obj)
{
	size_t *np = (size_t *)(void *)((char *)obj + f->n_off);
	char **arr = mt_xcalloc(1, sizeof(*arr));

	if (f->sub != NULL || f->item != T_PATH)
		mt_panic("%s: F_SIGDIR needs a list of paths", f->key);
	free_list(f, get_ptr((char *)obj + f->off), *np);
	*np = 0;
	if (k->default_sig_dir != NULL)
		arr[(*np)++] = mt_xstrdup(k->default_sig_dir);
	set_ptr((char *)obj + f->off, arr);
}

/* A plain scalar standing for a default written in a table. */
static struct mt_ynode
fake_scalar(const char *s)
{
	return (struct mt_ynode){ .type = MT_Y_SCALAR, .str = (char *)s, .len = strlen(s) };
}

static void
apply_defaults(struct ctx *k, const struct schema *s, void *obj)
{
	char *base = obj;

	for (size_t i = 0; i < s->nfields; i++) {
		const struct field *f = &s->fields[i];
		const char *const *defl = f->defl;
		struct mt_ynode one, *nodes;
		const struct mt_ynode **items;
		size_t n = 0;

		if (f->type == T_SECTION) {
			apply_defaults(k, f->sub, base + f->off);
		} else if (f->type == T_MAP) {
			continue; /* no entries */
		} else if (f->type == T_LIST && (f->flags & F_SIGDIR)) {
			set_sigdir(k, f, obj);
		} else if (f->type == T_LIST) {
			while (defl != NULL && defl[n] != NULL)
				n++;
			nodes = mt_xcalloc(n ? n : 1, sizeof(*nodes));
			items = mt_xcalloc(n ? n : 1, sizeof(*items));
			for (size_t j = 0; j < n; j++) {
				nodes[j] = fake_scalar(defl[j]);
				items[j] = &nodes[j];
			}
			parse_list(k, f, f->key, items, n, NULL, obj);
			free(items);
			free(nodes);
		} else if (f->def != NULL) {
			one = fake_scalar(f->def);
			(void)set_value(k, f, f->type, f->key, &one, base + f->off);
		} else if (f->type == T_ENUM) {
			set_int(base + f->off, -1); /* not set */
		}
	}
}

/* Rules across sections. */
/* A {token} that nothing fills would be posted as the literal text "{token}". */
static void
check_webhook(struct ctx *k, const struct mt_ynode *map, void *obj)
{
	const struct mt_config_webhook *w = obj;

	if (w->url != NULL && strstr(w->url, "{token}") != NULL && w->token_file == NULL &&
	    w->token_env == NULL)
		err(k, mt_ynode_get(map, "url"),
		    "url has {token} but neither token_file nor token_env gives one");
}

/* "ADDRESS:PORT" with a numeric IPv4 address or a bracketed IPv6 one. */
static void
check_metrics(struct ctx *k, const struct mt_ynode *map, void *obj)
{
	struct mt_config_metrics *m = obj;
	const char *colon, *addr;
	bool bracketed = false;
	size_t alen;
	char *end;
	unsigned long port;
	unsigned char tmp[16];
	char host[INET6_ADDRSTRLEN + 1];

	if (m->listen == NULL)
		return;
	colon = strrchr(m->listen, ':');
	addr = m->listen;
	alen = colon ? (size_t)(colon - addr) : 0;
	if (alen >= 2 && addr[0] == '[' && addr[alen - 1] == ']') {
		addr++;
		alen -= 2;
		bracketed = true;
	}
	errno = 0;
	port = colon ? strtoul(colon + 1, &end, 10) : 0;
	if (colon == NULL || alen == 0 || alen >= sizeof(host) || errno != 0 || *end != '\0' ||
	    colon[1] == '\0' || port == 0 || port > 65535) {
		err(k, mt_ynode_get(map, "listen"),
		    "metrics.listen must be ADDRESS:PORT, such as 127.0.0.1:10925 or [::1]:10925");
		return;
	}
	memcpy(host, addr, alen);
	host[alen] = '\0';
	if (!bracketed && strchr(host, ':') != NULL) {
		err(k, mt_ynode_get(map, "listen"),
		    "metrics.listen: IPv6 addresses go in brackets, as [::1]:10925");
		return;
	}
	if (inet_pton(strchr(host, ':') ? AF_INET6 : AF_INET, host, tmp) != 1) {
		err(k, mt_ynode_get(map, "listen"),
		    "metrics.listen: '%s' is not a numeric IPv4 or IPv6 address", host);
		return;
	}
	m->address = mt_xstrdup(host);
	m->port = (unsigned)port;
}

static void
check_window(struct ctx *k, const struct mt_ynode *map, void *obj)
{
	struct mt_config_window *w = obj;
	const struct mt_ynode *days = mt_ynode_get(map, "days");

	if (w->start != NULL && mt_window_parse_time(w->start, &w->start_min) < 0)
		err(k, mt_ynode_get(map, "start"), "start must be a time HH:MM, 00:00 to 23:59");
	if (w->end != NULL && mt_window_parse_time(w->end, &w->end_min) < 0)
		err(k, mt_ynode_get(map, "end"), "end must be a time HH:MM, 00:00 to 23:59");
	w->day_mask = w->ndays ? 0 : 0x7f;
	for (size_t i = 0; i < w->ndays; i++) {
		int d = mt_window_parse_day(w->days[i]);

		if (d < 0)
			err(k, days && i < days->n ? days->items[i] : map,
			    "days: '%s' is not a day (mon, tue, wed, thu, fri, sat, sun)",
			    w->days[i]);
		else
			w->day_mask |= 1u << d;
	}
}

static void
check_top(struct ctx *k, const struct mt_ynode *map, void *obj)
{
	const struct mt_ynode *inputs = mt_ynode_get(map, "inputs");
	struct mt_config *c = obj;

	/* Only an explicit "inputs: []": a list of bad items has its own errors. */
	if (c->journal.enabled == MT_OFF && inputs != NULL && inputs->type == MT_Y_SEQ &&
	    inputs->n == 0)
		err(k, inputs, "nothing to read: inputs is empty and journal.enabled is false");
}

/* --- loading --------------------------------------------------------------- */

static struct mt_config *
config_new(const char *name, const char *default_sig_dir)
{
	struct ctx dk = { .default_sig_dir = default_sig_dir };
	struct mt_config *c = mt_xcalloc(1, sizeof(*c));

	apply_defaults(&dk, &top_schema, c);
	c->file = mt_xstrdup(name);
	return c;
}

/* Only blanks, comments and document markers: an empty config, all defaults. */
static bool
is_blank(const char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t eol = i;

		while (eol < len && p[eol] != '\n')
			eol++;
		while (i < eol && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
			i++;
		if (i < eol && p[i] != '#') {
			if (eol - i >= 3 &&
			    (memcmp(p + i, "---", 3) == 0 || memcmp(p + i, "...", 3) == 0)) {
				i += 3;
				while (i < eol && (p[i] == ' ' || p[i] == '\t' || p[i] == '\r'))
					i++;
				if (i < eol && p[i] != '#')
					return false;
			} else {
				return false;
			}
		}
		i = eol + 1;
	}
	return true;
}

int
mt_config_parse(const char *name, const char *p, size_t len, const char *default_sig_dir,
		struct mt_diag *d, struct mt_config **ret_config)
{
	struct ctx k = { .file = name, .d = d, .default_sig_dir = default_sig_dir };
	struct mt_config *c;
	struct mt_ydoc *doc = NULL;
	const struct mt_ynode *root;
	int r;

	if (len > (size_t)MT_YDOC_MAX_BYTES) {
		mt_diag_add(d, MT_DIAG_ERROR, name, 0, "file is larger than %d bytes",
			    MT_YDOC_MAX_BYTES);
		return -EFBIG;
	}
	c = config_new(name, default_sig_dir);
	if (!is_blank(p, len)) {
		r = mt_ydoc_parse(name, p, len, d, &doc);
		if (r < 0) {
			mt_config_free(c);
			return r;
		}
		root = mt_ydoc_root(doc);
		if (!mt_ynode_is_null(root))
			parse_section(&k, &top_schema, "", root, c);
		mt_ydoc_free(doc);
	}
	if (k.errors > 0) {
		mt_config_free(c);
		return -EINVAL;
	}
	*ret_config = c;
	return 0;
}

int
mt_config_load(const char *path, const char *default_sig_dir, struct mt_diag *d,
	       struct mt_config **ret_config)
{
	char *data;
	size_t len;
	int r = mt_ydoc_read_file(path, d, &data, &len);

	if (r < 0)
		return r;
	struct mt_config *c;

	r = mt_config_parse(path, data, len, default_sig_dir, d, &c);
	free(data);
	if (r < 0)
		return r;
	if (mt_config_check_files(c, d) > 0) {
		mt_config_free(c);
		return -EINVAL;
	}
	*ret_config = c;
	return 0;
}

int
mt_config_check_files(const struct mt_config *c, struct mt_diag *d)
{
	int errors = 0;

	for (size_t i = 0; i < c->alerting.nwebhooks; i++) {
		const struct mt_config_webhook *w = &c->alerting.webhooks[i];
		char byte;
		ssize_t n;
		int fd;

		if (w->token_file == NULL)
			continue;
		fd = open(w->token_file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		n = fd < 0 ? -1 : read(fd, &byte, 1);
		if (n <= 0)
			mt_diag_addc(d, MT_DIAG_ERROR, c->file, w->pos.line, w->pos.col,
				     "webhook %s: token_file %s %s%s", w->name, w->token_file,
				     n == 0 ? "is empty" : "cannot be read: ",
				     n == 0 ? "" : strerror(errno));
		errors += n <= 0;
		if (fd >= 0)
			(void)close(fd);
	}
	return errors;
}

struct mt_config *
mt_config_default(const char *default_sig_dir)
{
	return config_new("(default)", default_sig_dir);
}

struct mt_config *
mt_config_free(struct mt_config *c)
{
	if (c == NULL)
		return NULL;
	free(c->metrics.address); /* computed by check_metrics, not in the table */
	free_obj(&top_schema, c);
	free(c->file);
	free(c);
	return NULL;
}

int
mt_config_set_inputs(struct mt_config *c, const char *const *paths, size_t n,
		     enum mt_start_at start_at)
{
	struct mt_config_input *v;

	for (size_t i = 0; i < n; i++)
		if (paths[i][0] != '/' || strlen(paths[i]) >= MT_CONFIG_PATH_MAX)
			return -EINVAL;
	v = mt_xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++) {
		v[i].path = mt_xstrdup(paths[i]);
		v[i].start_at = start_at;
	}
	for (size_t i = 0; i < c->ninputs; i++)
		free(c->inputs[i].path);
	free(c->inputs);
	c->inputs = v;
	c->ninputs = n;
	return 0;
}

int
mt_config_set_state_directory(struct mt_config *c, const char *dir)
{
	if (dir[0] != '/' || strlen(dir) >= MT_CONFIG_PATH_MAX)
		return -EINVAL;
	free(c->state_directory);
	c->state_directory = mt_xstrdup(dir);
	return 0;
}

int
mt_config_check_secrecy(const char *path, struct mt_diag *d)
{
	struct stat st;
	int n = 0;

	if (stat(path, &st) < 0)
		return -errno;
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		mt_diag_add(
			d, MT_DIAG_WARNING, path, 0,
			"is %s-writable (mode %04o): others can change what mtalert reads and where it sends alerts; run chmod 0640 or 0600",
			(st.st_mode & S_IWOTH) ? "world" : "group", (unsigned)(st.st_mode & 07777));
		n++;
	}
	if (st.st_mode & S_IROTH) {
		mt_diag_add(
			d, MT_DIAG_WARNING, path, 0,
			"is world-readable (mode %04o) and may hold secrets such as webhook tokens; run chmod 0640 or 0600",
			(unsigned)(st.st_mode & 07777));
		n++;
	}
	return n;
}

/* --- queries --------------------------------------------------------------- */

static bool
sel_matches(const struct mt_config_sel *s, const char *id, const char *category, const char *domain)
{
	const char *v = s->kind == MT_SEL_ID ? id : s->kind == MT_SEL_CATEGORY ? category : domain;

	return v != NULL && strcmp(s->name, v) == 0;
}

bool
mt_config_filter_accepts(const struct mt_config_filter *f, const struct mt_signature *s,
			 enum mt_severity severity)
{
	bool in = f->ninclude == 0;

	if ((int)severity < f->min_severity)
		return false;
	for (size_t i = 0; i < f->ninclude && !in; i++)
		in = sel_matches(&f->include[i], s->id, s->category, s->domain);
	for (size_t i = 0; i < f->nexclude && in; i++)
		in = !sel_matches(&f->exclude[i], s->id, s->category, s->domain);
	return in;
}

const struct mt_config_window *
mt_config_maintenance(const struct mt_config *c, const struct mt_signature *s, int wday, int minute)
{
	for (size_t i = 0; i < c->nmaintenance; i++) {
		const struct mt_config_window *w = &c->maintenance[i];
		struct mt_window win = { .days = w->day_mask,
					 .start = w->start_min,
					 .end = w->end_min };

		if (!mt_window_active(&win, wday, minute))
			continue;
		for (size_t j = 0; j < w->nselect; j++)
			if (sel_matches(&w->select[j], s->id, s->category, s->domain))
				return w;
	}
	return NULL;
}

static const struct mt_config_override *
find_override(const struct mt_config *c, const char *id)
{
	for (size_t i = 0; i < c->signatures.noverrides; i++)
		if (strcmp(c->signatures.overrides[i].id, id) == 0)
			return &c->signatures.overrides[i];
	return NULL;
}

bool
mt_config_signature_enabled(const struct mt_config *c, const char *id, const char *category,
			    const char *domain)
{
	const struct mt_config_signatures *s = &c->signatures;
	const struct mt_config_override *o = find_override(c, id);
	bool included = s->ninclude == 0;

	if (o != NULL && o->disabled)
		return false;
	for (size_t i = 0; !included && i < s->ninclude; i++)
		included = sel_matches(&s->include[i], id, category, domain);
	if (!included)
		return false;
	for (size_t i = 0; i < s->nexclude; i++)
		if (sel_matches(&s->exclude[i], id, category, domain))
			return false;
	return true;
}

int
mt_config_severity_override(const struct mt_config *c, const char *id,
			    enum mt_severity *ret_severity)
{
	const struct mt_config_override *o = find_override(c, id);

	if (o == NULL || o->severity < 0)
		return -ENOENT;
	*ret_severity = (enum mt_severity)o->severity;
	return 0;
}

static int
check_sels(const struct mt_config *c, const struct mt_catalog *cat, const char *list,
	   const struct mt_config_sel *sels, size_t n, struct mt_diag *d)
{
	static const char *const kind_word[] = { "id", "category", "domain" };
	size_t count = mt_catalog_count(cat);
	int warned = 0;

	for (size_t i = 0; i < n; i++) {
		const struct mt_config_sel *s = &sels[i];
		bool found = false;

		for (size_t j = 0; !found && j < count; j++) {
			const struct mt_signature *sig = mt_catalog_get(cat, j);

			found = sel_matches(s, sig->id, sig->category, sig->domain);
		}
		if (!found) {
			mt_diag_addc(d, MT_DIAG_WARNING, c->file, s->pos.line, s->pos.col,
				     "signatures.%s: no signature has %s '%s'", list,
				     kind_word[s->kind], s->name);
			warned++;
		}
	}
	return warned;
}

int
mt_config_check_catalog(const struct mt_config *c, const struct mt_catalog *cat, struct mt_diag *d)
{
	const struct mt_config_signatures *s = &c->signatures;
	int warned = 0;

	warned += check_sels(c, cat, "include", s->include, s->ninclude, d);
	warned += check_sels(c, cat, "exclude", s->exclude, s->nexclude, d);
	for (size_t i = 0; i < s->noverrides; i++) {
		const struct mt_config_override *o = &s->overrides[i];

		if (mt_catalog_find(cat, o->id) == NULL) {
			mt_diag_addc(d, MT_DIAG_WARNING, c->file, o->pos.line, o->pos.col,
				     "signatures.overrides: no signature has id '%s'", o->id);
			warned++;
		}
	}
	return warned;
}

/* --- durations and sizes --------------------------------------------------- */

/* Copy the leading digits (and, if frac, one '.' and more digits) of s; NULL if none. */
static const char *
take_number(const char *s, bool frac, char *num, size_t size, int *ret_err)
{
	const char *p = s;

	while (*p >= '0' && *p <= '9')
		p++;
	if (p == s) {
		*ret_err = -EINVAL;
		return NULL;
	}
	if (frac && *p == '.') {
		const char *q = ++p;

		while (*p >= '0' && *p <= '9')
			p++;
		if (p == q) {
			*ret_err = -EINVAL;
			return NULL;
		}
	}
	if ((size_t)(p - s) >= size) {
		*ret_err = -ERANGE;
		return NULL;
	}
	memcpy(num, s, (size_t)(p - s));
	num[p - s] = '\0';
	return p;
}

int
mt_parse_duration(const char *s, double *ret_seconds)
{
	static const struct {
		const char *unit;
		double div, mul; /* divide for ms, so 100ms is exactly 0.1 */
	} units[] = {
		{ "", 1, 1 },	{ "ms", 1000, 1 }, { "s", 1, 1 },
		{ "m", 1, 60 }, { "h", 1, 3600 },  { "d", 1, 86400 },
	};
	char num[NUM_LEN];
	const char *unit;
	double v;
	int r;

	unit = take_number(s, true, num, sizeof(num), &r);
	if (unit == NULL)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(unit, units[i].unit) != 0)
			continue;
		errno = 0;
		v = strtod(num, NULL);
		if (errno != 0)
			return -ERANGE;
		v = v / units[i].div * units[i].mul;
		if (!isfinite(v))
			return -ERANGE;
		*ret_seconds = v;
		return 0;
	}
	return -EINVAL;
}

int
mt_parse_size(const char *s, uint64_t *ret_bytes)
{
	static const struct {
		const char *unit;
		uint64_t mul;
	} units[] = {
		{ "", 1 },	     { "B", 1 },
		{ "K", 1ull << 10 }, { "KiB", 1ull << 10 },
		{ "M", 1ull << 20 }, { "MiB", 1ull << 20 },
		{ "G", 1ull << 30 }, { "GiB", 1ull << 30 },
	};
	char num[NUM_LEN];
	const char *unit;
	unsigned long long v;
	int r;

	unit = take_number(s, false, num, sizeof(num), &r);
	if (unit == NULL)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(units); i++) {
		if (strcmp(unit, units[i].unit) != 0)
			continue;
		errno = 0;
		v = strtoull(num, NULL, 10);
		if (errno != 0 || v > UINT64_MAX / units[i].mul)
			return -ERANGE;
		*ret_bytes = (uint64_t)v * units[i].mul;
		return 0;
	}
	return -EINVAL;
}
