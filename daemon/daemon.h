/*
 * daemon - mtalertd running: one libev loop that tails the configured mail
 * logs, runs every new line through the parser and the matcher, and emits
 * alerts.  Owns every long-lived object (config, catalog, matcher, tails,
 * watches, state, outputs) through struct mt_daemon, the only context.
 *
 * Signals: SIGHUP reloads config and signatures, built beside the live ones
 * and swapped in only if both load without error (positions are kept);
 * SIGTERM and SIGINT stop reading, flush alerts, save positions and return
 * 0; SIGUSR1 logs the counters and the status.  The control socket
 * (ctl/ctl.h) answers `mtalertd status` and picks silence changes up; the
 * optional metrics endpoint (ctl/metrics.h) serves the same counters to
 * Prometheus; silences (<state>/silences.json, watched with inotify) and
 * maintenance windows keep alerts from every sink while still counting them.  systemd notifications (READY, RELOADING,
 * STOPPING, STATUS, WATCHDOG) are sent when $NOTIFY_SOCKET is set.
 */
#ifndef MT_DAEMON_H
#define MT_DAEMON_H

#include <stdbool.h>
#include <stddef.h>

struct mt_daemon_opts {
	const char *config_path; /* NULL: MT_CONFIG_PATH if it exists, else the embedded default */
	const char *const *sig_paths; /* -s options: override signatures.directories */
	size_t nsig_paths;
	bool debug;
	/* Command-line overrides of the configuration (none: as configured). */
	const char *const *inputs; /* --input: follow these files instead, from their start */
	size_t ninputs;
	const char *state_dir; /* --state-dir */
	const char *format;    /* --format json|text for stdout */
};

/* Returns a sysexits(3) code: 0 after a clean stop, EX_CONFIG on a bad config. */
int mt_daemon_run(const struct mt_daemon_opts *opts);

#endif
