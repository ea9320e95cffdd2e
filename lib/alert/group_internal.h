/*
 * group_internal - what lib/alert/group*.c share; not part of the API.
 *
 * group.c is the grouping engine (hash chains, LRU list, deadline heap, the
 * schedule); group_snapshot.c saves its groups as text and rebuilds them
 * from it (mt_grouper_save, mt_grouper_load).  Both see the same structs;
 * the snapshot reads them freely but links a restored group into the
 * grouper only through the engine's helpers declared here (grp_ prefix).
 * Same context rules as group.h: one thread, never from inside the emit
 * callback.
 */
#ifndef MT_GROUP_INTERNAL_H
#define MT_GROUP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alert/group.h"

#define NO_HEAP	      SIZE_MAX
#define HOSTNAME_MAX  MT_GROUP_FIELD_MAX
#define FILE_NAME_MAX MT_GROUP_TEXT_MAX

/*
 * Distinct messages and destinations of a group (issue 12): linear counting
 * (Whang, Vander-Zanden, Taylor 1990) over a bitmap of DISTINCT_BITS bits
 * set by the keyed hash of each id or destination.  Exact in practice for
 * small counts (n < 50: collisions are rare and the estimate corrects for
 * them), within a few percent up to a few thousand, and saturating at
 * DISTINCT_BITS * ln(DISTINCT_BITS) (about 15,600): a fixed 256 bytes each.
 */
#define DISTINCT_BITS  2048
#define DISTINCT_BYTES (DISTINCT_BITS / 8)

/* A bounded copy, NUL-terminated; s is NULL until the first set. */
struct text {
	char *s;
	size_t cap; /* bytes allocated */
};

/* An example line or a queue id, with the group's occurrence number that last had it. */
struct stamped {
	struct text t;
	uint64_t seq;
};

/* A ring of the newest n entries, oldest at head. */
struct ring {
	size_t head, n;
};

struct field {
	struct text name, value;
};

struct group {
	struct group *hnext;		   /* hash chain */
	struct group *lru_prev, *lru_next; /* most recently active first */
	uint64_t hash;
	uint64_t serial; /* creation order: ties in the heap go to the older group */
	size_t heap_i;	 /* index in the heap, or NO_HEAP */
	double deadline; /* heap key: the next time tick has work for this group */

	/* The key.  sig->id is compared; sig is rebound on catalog reload. */
	const struct mt_signature *sig;
	bool has_key;
	struct text key_name, key_value;

	/* Pending (min_count not reached yet): times of the occurrences in window. */
	bool started;
	double *times; /* min_count entries, ring; NULL once started */
	struct ring tr;
	double times_max; /* newest time in the ring */

	uint64_t seq;	  /* occurrences offered to this group, started or not */
	uint64_t total;	  /* occurrences since the group started */
	uint64_t pending; /* not yet notified */
	uint64_t nnotified;
	double first_seen, last_seen, last_notify;
	double due; /* the next check, or -1: idle */

	/* What the group affects (issue 12); repeats: restating lines folded in. */
	uint64_t repeats;
	uint8_t mbits[DISTINCT_BYTES], dbits[DISTINCT_BYTES];
	struct text dest; /* the first destination seen; s NULL: none yet */

	/* The latest occurrence. */
	enum mt_severity severity;
	enum mt_locale locale;
	bool has_hostname, has_log_host;
	struct text hostname, log_host, file;
	struct field fields[MT_GROUP_FIELDS_MAX];
	size_t nfields;

	/* Since the previous notification. */
	struct stamped ex[MT_GROUP_EXAMPLES_MAX];
	struct ring exr;
	struct stamped ids[MT_GROUP_IDS_MAX];
	struct ring idr;
};

struct mt_grouper {
	struct mt_group_params p;
	uint8_t key[16];
	mt_group_emit_fn *emit;
	void *ctx;
	bool emitting; /* reentrancy guard */

	/*
	 * The notifications of one tick (or flush, or eviction), emitted
	 * together; groups forgotten meanwhile wait on the graveyard (linked
	 * by hnext) until the batch that may point into them is emitted.
	 */
	struct mt_alert_group *batch;
	struct batch_text *batch_text;
	size_t nbatch;
	struct group *graveyard;

	/*
	 * The open burst: the time of the FIRST notifications scheduled and not
	 * yet sent, and how many live groups wait for it (0: none open).  A new
	 * burst within group_wait of it joins it.
	 */
	double burst_due;
	size_t burst_n;

	struct group **buckets;
	size_t nbuckets; /* power of two */
	struct group *lru_head, *lru_tail;
	struct group **heap;
	size_t nheap, heap_cap;
	size_t ngroups;
	uint64_t serial;

	struct mt_grouper_stats stats;
};

/* What a batched notification points to besides the group's own texts. */
struct batch_text {
	const char *examples[MT_GROUP_EXAMPLES_MAX];
	const char *ids[MT_GROUP_IDS_MAX];
	struct mt_group_field fields[MT_GROUP_FIELDS_MAX];
};

/* A group's key as offered, already cut to what a group stores. */
struct key {
	const char *id;
	const char *name; /* NULL: signature only */
	size_t name_len;
	const char *value;
	size_t value_len;
};

/* Set t to p[0..len) cut to max bytes on a character boundary; t's buffer is reused. */
void grp_text_set(struct text *t, const char *p, size_t len, size_t max);

/* The slot of a ring's i-th entry, oldest first. */
size_t grp_ring_slot(const struct ring *r, size_t i, size_t cap);

/* The keyed hash of k, and the group with that key, or NULL. */
uint64_t grp_key_hash(const struct mt_grouper *gr, const struct key *k);
struct group *grp_lookup(struct mt_grouper *gr, uint64_t h, const struct key *k);

/* Put a new group (hash set) on the hash chain and at the head of the LRU list. */
void grp_link(struct mt_grouper *gr, struct group *g);

/* Recompute the group's deadline and its place in the heap. */
void grp_heap_update(struct mt_grouper *gr, struct group *g);

/* The estimated number of distinct entries of a bitmap (see DISTINCT_BITS). */
uint64_t grp_distinct(const uint8_t *bits);

/* After a load: find the open burst among the restored groups. */
void grp_burst_restore(struct mt_grouper *gr);

#endif
