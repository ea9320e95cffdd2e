/*
 * config - /etc/mtalert/mtalert.yaml, validated in one pass into an
 * immutable struct mt_config.
 *
 * Every key is optional and has a default (conf/mtalert.yaml and
 * mtalert.yaml(5) list them); unknown keys, at any level, are errors.  The
 * rules are data: one schema table per section in config.c (key, type,
 * default, min, max, offsetof into the section's struct).  Every problem is
 * added to the caller's mt_diag as "file:line:col: message" saying what is
 * allowed, and loading fails once at the end if there was any (-EINVAL), so
 * an admin sees all mistakes at once.  Loading is all or nothing: *ret_config
 * is written only on success, and a reload builds a new config beside the
 * live one.
 *
 * Ownership: struct mt_config is public so the daemon can read its fields,
 * but it is read-only.  It owns every string and array it points to; all
 * stay valid until mt_config_free().  Nothing points into the YAML text.
 *
 * Limits: the file is at most MT_YDOC_MAX_BYTES and nests at most
 * MT_YDOC_MAX_DEPTH (ydoc); lists hold at most MT_CONFIG_LIST_MAX items;
 * paths are absolute and at most MT_CONFIG_PATH_MAX bytes.  Durations and
 * sizes have per-key ranges (see the tables).
 *
 * Pure: no printing, no exit, no event loop; mt_config_load(),
 * mt_config_check_secrecy() and mt_config_check_files() touch the file
 * system, nothing else does.  Any
 * thread, any context; a loaded config may be shared read-only.
 */
#ifndef MT_CONFIG_H
#define MT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert/alert.h"
#include "match/catalog.h"
#include "util/diag.h"

/* The daemon's default file; a build may set its own (sysconfdir). */
#ifndef MT_CONFIG_PATH
#define MT_CONFIG_PATH "/etc/mtalert/mtalert.yaml"
#endif
#define MT_CONFIG_LIST_MAX	 1024 /* items in any one list or mapping */
#define MT_CONFIG_PATH_MAX	 4096 /* bytes in a path, as PATH_MAX */
#define MT_CONFIG_SYSLOG_TAG_MAX 32   /* RFC 3164 TAG */

/* In the order of the daemon's enum log_level. */
enum mt_log_level {
	MT_LOG_ERROR,
	MT_LOG_WARNING,
	MT_LOG_INFO,
	MT_LOG_DEBUG,
};

enum mt_start_at {
	MT_START_END,	    /* skip what is already there */
	MT_START_BEGINNING, /* read the whole file */
};

enum mt_tristate {
	MT_AUTO,
	MT_ON,
	MT_OFF,
};

enum mt_output_format {
	MT_FORMAT_JSON,
	MT_FORMAT_TEXT,
};

/* Where a list item or mapping entry was written (0, 0: a default). */
struct mt_config_pos {
	unsigned line, col;
};

struct mt_config_input {
	char *path; /* absolute; may hold *, ? and [...] globs */
	enum mt_start_at start_at;
	struct mt_config_pos pos;
};

/* One signatures.include or signatures.exclude item. */
enum mt_sel_kind {
	MT_SEL_ID,	 /* "delivery/recipient-user-unknown" */
	MT_SEL_CATEGORY, /* "category:NAME" */
	MT_SEL_DOMAIN,	 /* "domain:NAME" */
};

struct mt_config_sel {
	enum mt_sel_kind kind;
	char *name; /* without the "category:" or "domain:" prefix */
	struct mt_config_pos pos;
};

struct mt_config_override {
	char *id;
	int severity; /* enum mt_severity, or -1 when not overridden */
	bool disabled;
	struct mt_config_pos pos;
};

struct mt_config_journal {
	enum mt_tristate enabled; /* auto: only when no input file exists */
	char **matches;		  /* "FIELD=value"; none: the built-in MTA filter */
	size_t nmatches;
	char *directory; /* read journal files there, not the local system journal; NULL: system */
};

struct mt_config_limits {
	uint64_t max_line_length;    /* bytes; longer lines are cut and flagged */
	double partial_line_timeout; /* seconds before a line without newline is taken */
	uint64_t read_chunk;	     /* bytes per file per wakeup */
};

/* The correlation stage (correlate/correlate.h) and record joining (correlate/join.h). */
struct mt_config_correlate {
	bool enabled;		     /* false: every line judged alone, as before */
	uint64_t max_messages;	     /* message table size */
	uint64_t max_destinations;   /* destination table size */
	double message_max_age;	     /* seconds a message is kept after its last line */
	double continuation_timeout; /* seconds a multi-line record waits for its next line */
	double health_window;	     /* seconds */
	uint64_t health_threshold;   /* percent of attempts deferred or bounced */
	uint64_t health_min_attempts;
};

struct mt_config_signatures {
	char **directories; /* absolute */
	size_t ndirectories;
	struct mt_config_sel *include; /* none: every signature */
	size_t ninclude;
	struct mt_config_sel *exclude;
	size_t nexclude;
	struct mt_config_override *overrides;
	size_t noverrides;
};

/* One struct per sink section; a new sink adds a struct here and a table in config.c. */
/* Which alerts a sink takes: by severity, and by signature id, category or domain. */
struct mt_config_filter {
	int min_severity; /* enum mt_severity */
	struct mt_config_sel *include, *exclude;
	size_t ninclude, nexclude;
};

struct mt_config_stdout {
	bool enabled;
	enum mt_output_format format;
	struct mt_config_filter filter;
};

enum mt_syslog_format {
	MT_SYSLOG_TEXT,	   /* a one-line human summary */
	MT_SYSLOG_JSON,	   /* the alert JSON as the message */
	MT_SYSLOG_RFC5424, /* RFC 5424 with the alert as structured data */
};

struct mt_config_syslog {
	bool enabled;
	int facility; /* LOG_MAIL etc., as for openlog(3) */
	char *tag;
	int format;   /* enum mt_syslog_format */
	char *socket; /* the local syslog socket, /dev/log */
	struct mt_config_filter filter;
};

enum mt_group_by {
	MT_GROUP_BY_NONE,
	MT_GROUP_BY_RELAY,     /* the remote server (relay host, else client) */
	MT_GROUP_BY_DOMAIN,    /* the recipient's domain */
	MT_GROUP_BY_CLIENT_IP, /* the connecting client's address */
};

/* How alerts become notifications for webhooks (see group.h). */
struct mt_config_grouping {
	int by; /* enum mt_group_by */
	double group_wait, group_interval, repeat_interval, resolve_after, window;
	uint64_t min_count, max_groups;
};

struct mt_config_webhook {
	char *name; /* unique, shown in logs and spool file names */
	char *url;  /* http:// or https:// */
	int format; /* enum mt_payload_format */
	struct mt_config_filter filter;
	char **headers; /* "Name: value" */
	size_t nheaders;
	char *token_file; /* a secret read at start: Authorization: Bearer, or {token} in url */
	char *token_env;  /* the same from an environment variable */
	double timeout, connect_timeout;
	char *ca_file; /* TLS trust anchors; NULL: the system's */
	uint64_t max_per_minute;
	double give_up_after; /* a notification undelivered this long is dropped (counted, logged) */
	double resend_interval; /* alertmanager: firing alerts posted again this often */
	struct mt_config_pos pos;
};

struct mt_config_spool {
	uint64_t max_size; /* bytes of undelivered notifications kept in <state>/spool */
	double max_age;	   /* seconds */
};

/* The journal sink: alerts as structured entries through sd_journal_send. */
struct mt_config_journal_sink {
	bool enabled;
	struct mt_config_filter filter;
};

struct mt_config_alerting {
	struct mt_config_stdout stdout_sink;
	struct mt_config_syslog syslog_sink;
	struct mt_config_journal_sink journal_sink;
	struct mt_config_grouping grouping;
	struct mt_config_webhook *webhooks;
	size_t nwebhooks;
	struct mt_config_spool spool;
	uint64_t max_per_minute;      /* over every webhook together */
	double webhook_failing_after; /* a webhook failing this long raises an alert elsewhere */
};

/* The control socket that `mtalertd status` and `mtalertd silence` talk to. */
struct mt_config_control {
	bool enabled;
	char *socket; /* absolute */
};

/* The Prometheus endpoint; off unless listen is set. */
struct mt_config_metrics {
	char *listen;  /* "127.0.0.1:9897", "[::1]:9897"; NULL: off */
	char *address; /* the address part, checked */
	unsigned port;
};

/* One weekly maintenance window: the sinks skip what it selects while it is open. */
struct mt_config_window {
	struct mt_config_sel *select; /* signature ids, "category:NAME", "domain:NAME" */
	size_t nselect;
	char **days; /* "mon".."sun"; none: every day */
	size_t ndays;
	char *start, *end; /* "HH:MM", local time */
	char *comment;
	struct mt_config_pos pos;
	/* Computed at load from days, start and end. */
	unsigned day_mask; /* bit (1 << tm_wday) */
	int start_min, end_min;
};

struct mt_config {
	char *file; /* what it was loaded from; "(default)" for mt_config_default() */
	enum mt_log_level log_level;
	enum mt_locale locale;
	char *state_directory;	    /* absolute */
	double checkpoint_interval; /* seconds */
	struct mt_config_input *inputs;
	size_t ninputs;
	struct mt_config_journal journal;
	struct mt_config_limits limits;
	struct mt_config_correlate correlate;
	struct mt_config_signatures signatures;
	struct mt_config_alerting alerting;
	struct mt_config_control control;
	struct mt_config_metrics metrics;
	struct mt_config_window *maintenance;
	size_t nmaintenance;
};

/*
 * Load a file.  default_sig_dir (may be NULL: none) is the value of
 * signatures.directories when the file does not set it; it is taken as
 * given, unchecked.  A file with only comments (or "{}") gives the
 * defaults.  On failure: -errno if it cannot be read (-ENOENT: the caller
 * may fall back to mt_config_default()), -EFBIG if too large, -EINVAL if
 * invalid; each with its reasons in d.  Warnings do not fail the load.
 */
int mt_config_load(const char *path, const char *default_sig_dir, struct mt_diag *d,
		   struct mt_config **ret_config);
/* The same from memory; name stands for the file name in diagnostics. */
int mt_config_parse(const char *name, const char *p, size_t len, const char *default_sig_dir,
		    struct mt_diag *d, struct mt_config **ret_config);
/* The configuration used when there is no file.  Never fails. */
struct mt_config *mt_config_default(const char *default_sig_dir);
struct mt_config *mt_config_free(struct mt_config *c);

/*
 * Command-line overrides, applied by the one owner of a freshly loaded
 * config before it is used or shared: replace the inputs (paths must be
 * absolute; -EINVAL otherwise, nothing changed) or the state directory.
 */
int mt_config_set_inputs(struct mt_config *c, const char *const *paths, size_t n,
			 enum mt_start_at start_at);
int mt_config_set_state_directory(struct mt_config *c, const char *dir);

/*
 * Warn (MT_DIAG_WARNING) when path is group- or world-writable or
 * world-readable: the file will hold webhook secrets.  Returns the number
 * of warnings added, or -errno if it cannot be stat'ed.
 */
int mt_config_check_secrecy(const char *path, struct mt_diag *d);

/*
 * Files the configuration names and the daemon must read at start: each
 * webhook's token_file (readable and not empty, by the user running this,
 * so `mtalertd check` under the service's user finds what the daemon would).
 * Adds an error per problem at the webhook's position; returns their count.
 * mt_config_load() runs it.
 */
int mt_config_check_files(const struct mt_config *c, struct mt_diag *d);

/*
 * Warn about include, exclude and override entries that name no signature
 * in the catalog (most likely a typo).  Returns the number of warnings.
 */
int mt_config_check_catalog(const struct mt_config *c, const struct mt_catalog *cat,
			    struct mt_diag *d);

/*
 * Whether a signature is used: it must match an include entry (when there
 * are any), match no exclude entry, and not be disabled by an override.
 * category and domain may be NULL.  Linear in the lists: call it once per
 * signature at load, not per line.
 */
bool mt_config_signature_enabled(const struct mt_config *c, const char *id, const char *category,
				 const char *domain);
/*
 * Whether a sink's filter takes an alert of this signature and severity:
 * at least min_severity, matching an include entry (when there are any) and
 * no exclude entry.
 */
bool mt_config_filter_accepts(const struct mt_config_filter *f, const struct mt_signature *s,
			      enum mt_severity severity);
/*
 * The first maintenance window open at local time (wday 0..6 with 0 Sunday,
 * minute of the day) that selects the signature, or NULL.
 */
const struct mt_config_window *mt_config_maintenance(const struct mt_config *c,
						     const struct mt_signature *s, int wday,
						     int minute);
/* 0 and *ret_severity if overrides sets a severity for id, else -ENOENT. */
int mt_config_severity_override(const struct mt_config *c, const char *id,
				enum mt_severity *ret_severity);

/*
 * "250ms", "5s", "2m", "1h", "1.5s" or a plain number of seconds ("0.5").
 * -EINVAL on bad syntax, -ERANGE if too large to represent.
 */
int mt_parse_duration(const char *s, double *ret_seconds);
/*
 * "512B", "64KiB", "1MiB", "1GiB" (K, M, G mean KiB, MiB, GiB) or a plain
 * number of bytes.  -EINVAL on bad syntax, -ERANGE on overflow.
 */
int mt_parse_size(const char *s, uint64_t *ret_bytes);

#endif
