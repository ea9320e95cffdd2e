/*
 * status - what the daemon has done, in three renderings: the text of
 * `mtalertd status` (and SIGUSR1's log lines), JSON for `status --json`, and
 * the Prometheus text exposition format for the metrics endpoint.
 *
 * The daemon fills a struct mt_status from its counters (everything is
 * borrowed and only read while rendering); the renderers do no I/O.  Input
 * paths, signature ids and webhook names are escaped for each format
 * (JSON strings, Prometheus label values, cleaned text).
 */
#ifndef MT_STATUS_H
#define MT_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct mt_status_input {
	const char *path; /* "journal" for the journal */
	uint64_t lines, cut;
	uint64_t rotations, truncations; /* as the tail saw them */
	uint64_t lost;			 /* lines no reader could have had (see tail.h) */
	uint64_t position;		 /* byte offset after the last line read */
	double last_line;		 /* wall clock of the last line read; 0: none yet */
};

struct mt_status_signature {
	const char *id, *severity;
	uint64_t total, last_hour, silenced;
};

struct mt_status_sink {
	const char *kind; /* "stdout", "syslog", "journal", "webhook" */
	const char *name;
	bool enabled;
	uint64_t sent, retried, failed, dropped, queued;
	uint64_t coalesced;   /* webhooks: notifications merged into a pending one of their group */
	double failing_since; /* wall clock; 0: healthy */
	const char *last_error;
	uint64_t spool_bytes; /* webhooks: its notifications on disk now */
};

struct mt_status {
	const char *version;
	double now; /* wall clock */
	double started;
	uint64_t generation, reloads, reload_failures;
	uint64_t catalog_errors, signatures;
	uint64_t lines, alerts, silenced, own_lines;
	uint64_t silences_active, maintenance_windows;
	uint64_t spool_bytes, spool_dropped;
	const struct mt_status_input *inputs;
	size_t ninputs;
	const struct mt_status_signature *sigs; /* only those that matched */
	size_t nsigs;
	const struct mt_status_sink *sinks;
	size_t nsinks;
};

int mt_status_text(struct mt_buf *out, const struct mt_status *s);
int mt_status_json(struct mt_buf *out, const struct mt_status *s);
int mt_status_prometheus(struct mt_buf *out, const struct mt_status *s);

#endif
