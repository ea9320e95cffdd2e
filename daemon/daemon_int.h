/*
 * daemon_int - what the loop (daemon.c) and its operator's side
 * (operator.c: status, metrics, silences, the counters they show) share.
 * Private to those two files.
 */
#ifndef MT_DAEMON_INT_H
#define MT_DAEMON_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "alert/alert.h"
#include "alert/silence.h"
#include "daemon.h"
#include "sink/output.h"
#include "util/buf.h"
#include "util/diag.h"

/* Matches of one signature in the last hour: a ring of minutes. */
struct hourly {
	uint32_t count[60];
	int64_t minute[60]; /* which minute (Unix time / 60) count[i] holds */
};

/* What status shows of one input beyond the tail's own counters. */
struct input_stat {
	char *path;
	uint64_t lines, cut, position;
	double last_line;
};

/* A webhook's counters from the generations before a reload, by name. */
struct sink_carry {
	char *name;
	uint64_t sent, retried, failed, dropped, coalesced;
};

/* Everything a loaded configuration brings; swapped whole on reload. */
struct generation {
	struct mt_config *cfg;
	struct mt_catalog *cat;
	struct mt_matcher *matcher;
	struct mt_alert_cache *cache; /* rendered signature parts of alerts */
	int *severity;		      /* per signature: an override, or -1 */
	bool *limit_warned;	      /* per signature */
	uint64_t *matched;	      /* per signature, carried over reloads by id */
	uint64_t *silenced;	      /* per signature: kept from the sinks */
	struct hourly **hourly;	      /* per signature, allocated at its first match */
	size_t catalog_errors;	      /* in signature files that did not load (boot only) */
};

struct mt_daemon {
	struct ev_loop *loop;
	const struct mt_daemon_opts *opts;
	struct generation gen;
	char hostname[256];

	struct mt_inputs *inputs; /* the logs followed: tails, watches, journal */
	struct mt_state *state;	  /* positions and groups, saved atomically */
	struct mt_cursor *saved;  /* positions read at start (the inputs borrow them) */
	size_t nsaved;
	struct mt_output *out;	      /* every alert at once: stdout, syslog */
	struct mt_delivery *delivery; /* grouped notifications to webhooks; NULL without */
	uint8_t hash_key[16];	      /* the grouper's: remote servers choose the keys */
	struct mt_buf saved_groups;   /* the grouper's snapshot read at start, restored once */
	struct mt_correlation *corr;  /* records, message and destination tables (issue 12) */

	ev_signal sig_term, sig_int, sig_hup, sig_usr1;
	ev_timer checkpoint; /* runs only while there is something to save */
	ev_timer watchdog;
	ev_prepare flush; /* push alerts out before the loop sleeps */
	bool save_warned;
	uint64_t lines, alerts, reloads, reload_failures;
	uint64_t own_lines; /* our own alerts and messages, read back and skipped */

	/* The operator's side: status, metrics, silences. */
	struct mt_ctl *ctl;	    /* the control socket; NULL when off or failed */
	char *ctl_path;		    /* what ctl listens on */
	struct mt_metrics *metrics; /* the Prometheus endpoint; NULL when off */
	char *metrics_listen;
	struct input_stat *istats;
	size_t nistats, ilast;
	struct mt_output_stats out_carry; /* stdout, syslog, journal before the last reload */
	struct sink_carry *wcarry;	  /* webhooks before the last reload */
	size_t nwcarry;
	struct mt_silences silences;
	char *silences_path; /* <state>/silences.json */
	int silences_ino;    /* inotify on the state directory; -1: none */
	ev_io silences_watch;
	uint64_t silenced, generation;
	double started;
};

/* daemon.c */
void daemon_print_diags(const struct mt_diag *diag);

/* operator.c: counting what the loop does */
void op_count_line(struct mt_daemon *d, const char *file, size_t len, bool truncated,
		   uint64_t offset);
void op_count_match(struct generation *g, size_t idx, double now);
/* Whether a silence or an open maintenance window keeps this alert from the sinks. */
bool op_silenced(struct mt_daemon *d, const struct mt_alert *a);

/* operator.c: across a reload */
/* Before the sinks of the old generation go: keep their counters for status. */
void op_carry_sinks(struct mt_daemon *d);
/* Counts of the new generation's signatures carried from the old one, by id. */
void op_carry_counts(struct generation *to, const struct generation *from);

/* operator.c: the control socket, the metrics endpoint and the silences */
/* Start, move or stop the control socket and the metrics endpoint as the config says. */
void op_configure(struct mt_daemon *d);
void op_silences_start(struct mt_daemon *d);
void op_silences_stop(struct mt_daemon *d);
/* SIGUSR1: the status, one log line per line of `mtalertd status`. */
void op_log_status(struct mt_daemon *d);
/* At stop: everything op_* started and counted. */
void op_stop(struct mt_daemon *d);

#endif
