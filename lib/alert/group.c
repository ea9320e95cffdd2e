/*
 * group - grouping and throttling of alerts; the contract is in group.h.
 * Saving and restoring the groups is in group_snapshot.c.
 *
 * Each group is on three structures at once:
 *   - a hash chain (lookup by signature id + key, SipHash-2-4, keyed);
 *   - the LRU list, most recently offered first (O(1) eviction from the tail);
 *   - a binary min-heap on its next deadline (tick and next_deadline).  Every
 *     group has one (a FIRST or a check due, a resolution, or for a pending
 *     group the expiry of its window); an idle group with resolve_after 0 is
 *     forgotten at once.
 * Every text is a bounded copy in a buffer the group reuses, so a storm of
 * one error costs a few memcpy per line and no allocation once warm.
 */
#include "alert/group.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alert/group_internal.h"
#include "match/matcher.h"
#include "parse/logline.h"
#include "util/xalloc.h"

#define BUCKETS_MIN 64

/* The parsed fields a notification carries, in this order. */
static const enum mt_field report_fields[] = {
	MT_F_PROGRAM,	  MT_F_SENDER,	  MT_F_RECIPIENT, MT_F_RELAY_HOST, MT_F_RELAY_IP,
	MT_F_CLIENT_HOST, MT_F_CLIENT_IP, MT_F_DSN,	  MT_F_STATUS,	   MT_F_REPLY,
};

/*
 * SipHash-2-4, from the paper (Aumasson, Bernstein: "SipHash: a fast
 * short-input PRF", 2012): little-endian 64-bit words, 2 compression rounds
 * per word, 4 finalisation rounds, the length's low byte in the last word.
 */
struct sip {
	uint64_t v0, v1, v2, v3;
	uint64_t tail; /* pending bytes, little-endian */
	size_t ntail;
	uint64_t len;
};

static inline uint64_t
rotl(uint64_t x, unsigned b)
{
	return (x << b) | (x >> (64 - b));
}

static inline uint64_t
load_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < 8; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static inline void
sip_round(struct sip *s)
{
	s->v0 += s->v1;
	s->v1 = rotl(s->v1, 13);
	s->v1 ^= s->v0;
	s->v0 = rotl(s->v0, 32);
	s->v2 += s->v3;
	s->v3 = rotl(s->v3, 16);
	s->v3 ^= s->v2;
	s->v0 += s->v3;
	s->v3 = rotl(s->v3, 21);
	s->v3 ^= s->v0;
	s->v2 += s->v1;
	s->v1 = rotl(s->v1, 17);
	s->v1 ^= s->v2;
	s->v2 = rotl(s->v2, 32);
}

static void
sip_word(struct sip *s, uint64_t m)
{
	s->v3 ^= m;
	sip_round(s);
	sip_round(s);
	s->v0 ^= m;
}

static void
sip_init(struct sip *s, const uint8_t key[16])
{
	uint64_t k0 = load_le64(key), k1 = load_le64(key + 8);

	s->v0 = k0 ^ UINT64_C(0x736f6d6570736575);
	s->v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
	s->v2 = k0 ^ UINT64_C(0x6c7967656e657261);
	s->v3 = k1 ^ UINT64_C(0x7465646279746573);
	s->tail = 0;
	s->ntail = 0;
	s->len = 0;
}

static void
sip_update(struct sip *s, const void *data, size_t len)
{
	const uint8_t *p = data;

	s->len += len;
	while (len > 0 && s->ntail > 0) {
		s->tail |= (uint64_t)*p++ << (8 * s->ntail);
		len--;
		if (++s->ntail == 8) {
			sip_word(s, s->tail);
			s->tail = 0;
			s->ntail = 0;
		}
	}
	for (; len >= 8; p += 8, len -= 8)
		sip_word(s, load_le64(p));
	for (; len > 0; len--)
		s->tail |= (uint64_t)*p++ << (8 * s->ntail++);
}

static uint64_t
sip_final(struct sip *s)
{
	sip_word(s, s->tail | (s->len & 0xff) << 56);
	s->v2 ^= 0xff;
	for (int i = 0; i < 4; i++)
		sip_round(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

uint64_t
mt_group_siphash24(const uint8_t key[16], const void *p, size_t len)
{
	struct sip s;

	/* Fed in two parts, so the test vectors cover the streaming path too. */
	sip_init(&s, key);
	sip_update(&s, p, len / 3);
	sip_update(&s, (const uint8_t *)p + len / 3, len - len / 3);
	return sip_final(&s);
}

/* Bytes of p to keep under max, not cutting a UTF-8 sequence (as alert.c does). */
static size_t
cut_len(const char *p, size_t len, size_t max)
{
	if (len <= max)
		return len;
	len = max;
	while (len > 0 && ((unsigned char)p[len] & 0xc0) == 0x80 && max - len < 3)
		len--;
	return len;
}

void
grp_text_set(struct text *t, const char *p, size_t len, size_t max)
{
	len = cut_len(p, len, max);
	if (t->cap < len + 1) {
		/* Grow in steps, so a line that lengthens slowly does not realloc each time. */
		size_t n = len + 1 < 64 ? 64 : len + 1;

		if (n < 2 * t->cap)
			n = 2 * t->cap;
		if (n > max + 1)
			n = max + 1;
		t->s = mt_xreallocarray(t->s, n, 1);
		t->cap = n;
	}
	memcpy(t->s, p, len);
	t->s[len] = '\0';
}

static void
text_fini(struct text *t)
{
	free(t->s);
	t->s = NULL;
	t->cap = 0;
}

size_t
grp_ring_slot(const struct ring *r, size_t i, size_t cap)
{
	return (r->head + i) % cap;
}

/* The slot for a new entry: the next free one, else the oldest (overwritten). */
static size_t
ring_push(struct ring *r, size_t cap)
{
	size_t i;

	if (r->n < cap)
		return grp_ring_slot(r, r->n++, cap);
	i = r->head;
	r->head = (r->head + 1) % cap;
	return i;
}

/*
 * Keep only the entries of occurrence seq or later, in order, from slot 0.
 * Buffers are moved, never freed: the dropped entries' go to the free slots.
 */
static void
stamped_keep_since(struct stamped *v, struct ring *r, size_t cap, uint64_t seq)
{
	struct stamped tmp[MT_GROUP_IDS_MAX > MT_GROUP_EXAMPLES_MAX ? MT_GROUP_IDS_MAX :
								      MT_GROUP_EXAMPLES_MAX];
	bool kept[sizeof(tmp) / sizeof(tmp[0])] = { false };
	size_t k = 0;

	for (size_t i = 0; i < r->n; i++) {
		size_t slot = grp_ring_slot(r, i, cap);

		if (v[slot].seq >= seq) {
			tmp[k++] = v[slot];
			kept[slot] = true;
		}
	}
	r->head = 0;
	r->n = k;
	for (size_t i = 0; i < cap; i++)
		if (!kept[i])
			tmp[k++] = v[i];
	memcpy(v, tmp, cap * sizeof(*v));
}

/* The key's hash: id NUL, then (flag, name NUL, value) if keyed; unambiguous as none holds a NUL. */
uint64_t
grp_key_hash(const struct mt_grouper *gr, const struct key *k)
{
	static const uint8_t zero = 0;
	struct sip s;
	uint8_t flag = k->name != NULL;

	sip_init(&s, gr->key);
	sip_update(&s, k->id, strlen(k->id) + 1);
	sip_update(&s, &flag, 1);
	if (k->name != NULL) {
		sip_update(&s, k->name, k->name_len);
		sip_update(&s, &zero, 1);
		sip_update(&s, k->value, k->value_len);
	}
	return sip_final(&s);
}

static bool
text_eq(const struct text *t, const char *p, size_t len)
{
	return strlen(t->s) == len && memcmp(t->s, p, len) == 0;
}

/* The group's next deadline: the next check, resolution or (pending) expiry; -1: none. */
static double
group_deadline(const struct mt_grouper *gr, const struct group *g)
{
	double r;

	if (!g->started)
		return g->times_max + gr->p.window;
	if (gr->p.resolve_after <= 0)
		return g->due;
	r = g->last_seen + gr->p.resolve_after;
	if (g->nnotified == 0 && g->due > r)
		r = g->due; /* never resolve before the FIRST */
	return g->due >= 0 && g->due < r ? g->due : r;
}

/* When the group resolves (resolve_after > 0 only). */
static double
resolve_time(const struct mt_grouper *gr, const struct group *g)
{
	double r = g->last_seen + gr->p.resolve_after;

	if (g->nnotified == 0 && g->due > r)
		r = g->due;
	return r;
}

static bool
heap_less(const struct group *a, const struct group *b)
{
	if (a->deadline < b->deadline)
		return true;
	if (a->deadline > b->deadline)
		return false;
	return a->serial < b->serial;
}

static void
heap_set(struct mt_grouper *gr, size_t i, struct group *g)
{
	gr->heap[i] = g;
	g->heap_i = i;
}

static void
heap_up(struct mt_grouper *gr, size_t i)
{
	struct group *g = gr->heap[i];

	while (i > 0) {
		size_t parent = (i - 1) / 2;

		if (!heap_less(g, gr->heap[parent]))
			break;
		heap_set(gr, i, gr->heap[parent]);
		i = parent;
	}
	heap_set(gr, i, g);
}

static void
heap_down(struct mt_grouper *gr, size_t i)
{
	struct group *g = gr->heap[i];

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= gr->nheap)
			break;
		if (c + 1 < gr->nheap && heap_less(gr->heap[c + 1], gr->heap[c]))
			c++;
		if (!heap_less(gr->heap[c], g))
			break;
		heap_set(gr, i, gr->heap[c]);
		i = c;
	}
	heap_set(gr, i, g);
}

static void
heap_remove(struct mt_grouper *gr, struct group *g)
{
	size_t i = g->heap_i;
	struct group *last;

	if (i == NO_HEAP)
		return;
	g->heap_i = NO_HEAP;
	last = gr->heap[--gr->nheap];
	if (last == g)
		return;
	heap_set(gr, i, last);
	heap_up(gr, i);
	heap_down(gr, last->heap_i);
}

/* Recompute the group's deadline and its place in the heap. */
void
grp_heap_update(struct mt_grouper *gr, struct group *g)
{
	double d = group_deadline(gr, g);

	if (d < 0) {
		heap_remove(gr, g);
		return;
	}
	g->deadline = d;
	if (g->heap_i == NO_HEAP) {
		if (gr->nheap == gr->heap_cap) {
			gr->heap_cap = gr->heap_cap ? 2 * gr->heap_cap : 64;
			gr->heap = mt_xreallocarray(gr->heap, gr->heap_cap, sizeof(*gr->heap));
		}
		heap_set(gr, gr->nheap++, g);
		heap_up(gr, g->heap_i);
	} else {
		heap_up(gr, g->heap_i);
		heap_down(gr, g->heap_i);
	}
}

static void
lru_unlink(struct mt_grouper *gr, struct group *g)
{
	if (g->lru_prev != NULL)
		g->lru_prev->lru_next = g->lru_next;
	else
		gr->lru_head = g->lru_next;
	if (g->lru_next != NULL)
		g->lru_next->lru_prev = g->lru_prev;
	else
		gr->lru_tail = g->lru_prev;
	g->lru_prev = g->lru_next = NULL;
}

static void
lru_push_head(struct mt_grouper *gr, struct group *g)
{
	g->lru_prev = NULL;
	g->lru_next = gr->lru_head;
	if (gr->lru_head != NULL)
		gr->lru_head->lru_prev = g;
	else
		gr->lru_tail = g;
	gr->lru_head = g;
}

static void
buckets_grow(struct mt_grouper *gr)
{
	size_t n = gr->nbuckets * 2;
	struct group **b = mt_xcalloc(n, sizeof(*b));

	for (size_t i = 0; i < gr->nbuckets; i++) {
		struct group *g, *next;

		for (g = gr->buckets[i]; g != NULL; g = next) {
			next = g->hnext;
			g->hnext = b[g->hash & (n - 1)];
			b[g->hash & (n - 1)] = g;
		}
	}
	free(gr->buckets);
	gr->buckets = b;
	gr->nbuckets = n;
}

static void
group_free(struct group *g)
{
	text_fini(&g->key_name);
	text_fini(&g->key_value);
	text_fini(&g->hostname);
	text_fini(&g->log_host);
	text_fini(&g->file);
	text_fini(&g->dest);
	for (size_t i = 0; i < MT_GROUP_FIELDS_MAX; i++) {
		text_fini(&g->fields[i].name);
		text_fini(&g->fields[i].value);
	}
	for (size_t i = 0; i < MT_GROUP_EXAMPLES_MAX; i++)
		text_fini(&g->ex[i].t);
	for (size_t i = 0; i < MT_GROUP_IDS_MAX; i++)
		text_fini(&g->ids[i].t);
	free(g->times);
	free(g);
}

/*
 * Take the group off every structure; it is freed once the batch that may
 * point into it is emitted (batch_emit).  Its counts must be settled.
 */
static void
group_forget(struct mt_grouper *gr, struct group *g)
{
	struct group **pp = &gr->buckets[g->hash & (gr->nbuckets - 1)];

	while (*pp != g) {
		if (*pp == NULL)
			mt_panic("group not in its hash chain");
		pp = &(*pp)->hnext;
	}
	*pp = g->hnext;
	lru_unlink(gr, g);
	heap_remove(gr, g);
	gr->ngroups--;
	gr->stats.groups = gr->ngroups;
	g->hnext = gr->graveyard;
	gr->graveyard = g;
}

/* Emit the batch, if any, then free the groups forgotten meanwhile. */
static void
batch_emit(struct mt_grouper *gr)
{
	struct group *g, *next;

	if (gr->nbatch > 0) {
		gr->emitting = true;
		gr->emit(gr->ctx, gr->batch, gr->nbatch);
		gr->emitting = false;
		gr->nbatch = 0;
	}
	for (g = gr->graveyard; g != NULL; g = next) {
		next = g->hnext;
		group_free(g);
	}
	gr->graveyard = NULL;
}

/* Times copied, never computed apart: exact equality is what is meant. */
static bool
same_time(double a, double b)
{
	return !(a < b) && !(a > b);
}

/* The group leaves the open burst (its FIRST is going out, early or on time). */
static void
burst_leave(struct mt_grouper *gr, struct group *g)
{
	if (g->started && g->nnotified == 0 && same_time(g->due, gr->burst_due) && gr->burst_n > 0)
		gr->burst_n--;
}

/*
 * When a new burst of a group (its start, or an occurrence that wakes it
 * up) is checked: with the open burst if that is due within group_wait,
 * else group_wait from now, opening a burst if this is the group's FIRST.
 */
static double
burst_due(struct mt_grouper *gr, const struct group *g, double now)
{
	bool first = g->nnotified == 0;

	if (gr->burst_n > 0 && gr->burst_due >= now && gr->burst_due <= now + gr->p.group_wait) {
		if (first)
			gr->burst_n++;
		return gr->burst_due;
	}
	if (first) {
		gr->burst_due = now + gr->p.group_wait;
		gr->burst_n = 1;
	}
	return now + gr->p.group_wait;
}

void
grp_burst_restore(struct mt_grouper *gr)
{
	gr->burst_n = 0;
	for (const struct group *g = gr->lru_head; g != NULL; g = g->lru_next) {
		if (!g->started || g->nnotified > 0 || g->due < 0)
			continue;
		if (gr->burst_n == 0 || g->due > gr->burst_due) {
			gr->burst_due = g->due;
			gr->burst_n = 1;
		} else if (same_time(g->due, gr->burst_due)) {
			gr->burst_n++;
		}
	}
}

/*
 * Add one notification of the group's unnotified occurrences to the batch,
 * and reset them.  It points into the group's texts, which nothing changes
 * until the batch is emitted: only an offer records, and every call that
 * notifies emits its batch before it returns.
 */
static void
notify(struct mt_grouper *gr, struct group *g, enum mt_group_event ev, double now)
{
	struct batch_text *bt;

	if (gr->emitting)
		mt_panic("emit callback called back into the grouper");
	if (gr->nbatch == MT_GROUP_BATCH_MAX) {
		/* Emit what is there; the graveyard waits for the end of the call. */
		gr->emitting = true;
		gr->emit(gr->ctx, gr->batch, gr->nbatch);
		gr->emitting = false;
		gr->nbatch = 0;
	}
	bt = &gr->batch_text[gr->nbatch];
	for (size_t i = 0; i < g->exr.n; i++)
		bt->examples[i] = g->ex[grp_ring_slot(&g->exr, i, MT_GROUP_EXAMPLES_MAX)].t.s;
	for (size_t i = 0; i < g->idr.n; i++)
		bt->ids[i] = g->ids[grp_ring_slot(&g->idr, i, MT_GROUP_IDS_MAX)].t.s;
	for (size_t i = 0; i < g->nfields; i++) {
		bt->fields[i].name = g->fields[i].name.s;
		bt->fields[i].value = g->fields[i].value.s;
	}
	gr->batch[gr->nbatch++] = (struct mt_alert_group){
		.event = ev,
		.sig = g->sig,
		.severity = g->severity,
		.locale = g->locale,
		.key_name = g->has_key ? g->key_name.s : NULL,
		.key_value = g->has_key ? g->key_value.s : NULL,
		.count_total = g->total,
		.count_new = g->pending,
		.first_seen = g->first_seen,
		.last_seen = g->last_seen,
		.examples = bt->examples,
		.nexamples = g->exr.n,
		.queue_ids = bt->ids,
		.nqueue_ids = g->idr.n,
		.messages = grp_distinct(g->mbits),
		.destinations = grp_distinct(g->dbits),
		.repeats = g->repeats,
		.fields = bt->fields,
		.nfields = g->nfields,
		.hostname = g->has_hostname ? g->hostname.s : NULL,
		.log_host = g->has_log_host ? g->log_host.s : NULL,
		.file = g->file.s,
	};
	gr->stats.notifications++;
	burst_leave(gr, g);
	g->pending = 0;
	/*
	 * The ring's slots are reused by the next offer only: the batch keeps
	 * pointing at valid texts until it is emitted.
	 */
	g->exr.head = g->exr.n = 0;
	g->idr.head = g->idr.n = 0;
	g->nnotified++;
	g->last_notify = now;
}

/* End a group early (eviction, flush, reload): FLUSH what was not notified, then forget it. */
static void
group_end(struct mt_grouper *gr, struct group *g, double now)
{
	if (!g->started)
		gr->stats.below_min_count += g->tr.n;
	else if (g->pending > 0)
		notify(gr, g, MT_GROUP_FLUSH, now);
	group_forget(gr, g);
}

/*
 * The bitmaps' hash has a fixed key, unlike the table's: a snapshot restored
 * after a restart (a new table key) must count the same id in the same bit.
 * A hostile log can at worst make the estimate low by choosing colliding
 * ids; it cannot make a lookup slow (there is none).
 */
static const uint8_t distinct_key[16] = { 'm', 't', 'a', 'l', 'e', 'r', 't', '-',
					  'd', 'i', 's', 't', 'i', 'n', 'c', 't' };

static void
distinct_add(uint8_t *bits, const char *p, size_t len)
{
	uint64_t h = mt_group_siphash24(distinct_key, p, len) % DISTINCT_BITS;

	bits[h / 8] |= (uint8_t)(1u << (h % 8));
}

uint64_t
grp_distinct(const uint8_t *bits)
{
	size_t zero = 0;

	for (size_t i = 0; i < DISTINCT_BYTES; i++)
		zero += 8 - (size_t)__builtin_popcount(bits[i]);
	if (zero == DISTINCT_BITS)
		return 0;
	if (zero == 0)
		zero = 1; /* saturated: the largest estimate */
	return (uint64_t)llround(-(double)DISTINCT_BITS * log((double)zero / DISTINCT_BITS));
}

/* The destination a line names, lower-cased into buf: the recipient's domain, else the relay. */
static size_t
line_destination(const struct mt_logrec *rec, char *buf, size_t size)
{
	const struct mt_view *v;
	const char *p;
	size_t len;

	if (rec == NULL)
		return 0;
	v = &rec->f[MT_F_RECIPIENT];
	p = v->len > 0 ? memchr(v->p, '@', v->len) : NULL;
	if (p != NULL && (size_t)(p + 1 - v->p) < v->len) {
		len = v->len - (size_t)(p + 1 - v->p);
		p++;
	} else {
		p = rec->f[MT_F_RELAY_HOST].p;
		len = rec->f[MT_F_RELAY_HOST].len;
	}
	if (len == 0)
		return 0;
	len = cut_len(p, len, size - 1);
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)(p[i] >= 'A' && p[i] <= 'Z' ? p[i] - 'A' + 'a' : p[i]);
	buf[len] = '\0';
	return len;
}

/* Count the message and the destination the occurrence names. */
static void
count_affected(struct group *g, const struct mt_alert *a)
{
	const struct mt_logrec *rec = a->rec;
	char dest[MT_GROUP_FIELD_MAX + 1];
	size_t len;

	if (rec != NULL && rec->f[MT_F_QUEUE_ID].len > 0)
		distinct_add(g->mbits, rec->f[MT_F_QUEUE_ID].p,
			     cut_len(rec->f[MT_F_QUEUE_ID].p, rec->f[MT_F_QUEUE_ID].len,
				     MT_GROUP_ID_MAX));
	if ((len = line_destination(rec, dest, sizeof(dest))) == 0)
		return;
	distinct_add(g->dbits, dest, len);
	if (g->dest.s == NULL)
		grp_text_set(&g->dest, dest, len, MT_GROUP_FIELD_MAX);
}

/* The group's only destination is dest (case-insensitive), as far as its bitmap tells. */
static bool
sole_destination(const struct group *g, const char *dest, size_t len)
{
	size_t bits = 0;

	if (g->dest.s == NULL || strlen(g->dest.s) != len || strncasecmp(g->dest.s, dest, len) != 0)
		return false;
	for (size_t i = 0; i < DISTINCT_BYTES && bits < 2; i++)
		bits += (size_t)__builtin_popcount(g->dbits[i]);
	return bits == 1;
}

/* Record the latest occurrence's details (the counts are the caller's). */
static void
group_record(struct group *g, const struct mt_alert *a)
{
	const struct mt_logrec *rec = a->rec;
	const struct mt_match *m = a->match;
	struct stamped *e;
	size_t n = 0;

	g->sig = m->sig;
	count_affected(g, a);
	g->severity = mt_alert_severity(a);
	g->locale = a->locale;
	g->has_hostname = a->hostname != NULL;
	if (a->hostname != NULL)
		grp_text_set(&g->hostname, a->hostname, strlen(a->hostname), HOSTNAME_MAX);
	g->has_log_host = rec != NULL && rec->f[MT_F_HOST].len > 0;
	if (g->has_log_host)
		grp_text_set(&g->log_host, rec->f[MT_F_HOST].p, rec->f[MT_F_HOST].len,
			     HOSTNAME_MAX);
	grp_text_set(&g->file, a->file != NULL ? a->file : "",
		     a->file != NULL ? strlen(a->file) : 0, FILE_NAME_MAX);

	e = &g->ex[ring_push(&g->exr, MT_GROUP_EXAMPLES_MAX)];
	grp_text_set(&e->t, a->line != NULL ? a->line : "", a->line != NULL ? a->len : 0,
		     MT_GROUP_TEXT_MAX);
	e->seq = g->seq;

	if (rec != NULL && rec->f[MT_F_QUEUE_ID].len > 0) {
		const struct mt_view *v = &rec->f[MT_F_QUEUE_ID];
		size_t len = cut_len(v->p, v->len, MT_GROUP_ID_MAX);
		bool seen = false;

		for (size_t i = 0; i < g->idr.n && !seen; i++) {
			e = &g->ids[grp_ring_slot(&g->idr, i, MT_GROUP_IDS_MAX)];
			if (strlen(e->t.s) == len && memcmp(e->t.s, v->p, len) == 0) {
				e->seq = g->seq;
				seen = true;
			}
		}
		if (!seen) {
			e = &g->ids[ring_push(&g->idr, MT_GROUP_IDS_MAX)];
			grp_text_set(&e->t, v->p, len, MT_GROUP_ID_MAX);
			e->seq = g->seq;
		}
	}

	for (size_t i = 0; rec != NULL && i < sizeof(report_fields) / sizeof(report_fields[0]);
	     i++) {
		const struct mt_view *v = &rec->f[report_fields[i]];
		const char *name = mt_field_name(report_fields[i]);

		if (v->len == 0 || n == MT_GROUP_FIELDS_MAX)
			continue;
		grp_text_set(&g->fields[n].name, name, strlen(name), MT_GROUP_NAME_MAX);
		grp_text_set(&g->fields[n].value, v->p, v->len, MT_GROUP_FIELD_MAX);
		n++;
	}
	for (size_t i = 0; i < m->ncaptures && i < MT_CAPTURES_MAX; i++) {
		const struct mt_capture *c = &m->captures[i];

		if (c->name == NULL || c->v.len == 0 || n == MT_GROUP_FIELDS_MAX)
			continue;
		grp_text_set(&g->fields[n].name, c->name, strlen(c->name), MT_GROUP_NAME_MAX);
		grp_text_set(&g->fields[n].value, c->v.p, c->v.len, MT_GROUP_FIELD_MAX);
		n++;
	}
	g->nfields = n;
}

void
mt_group_params_default(struct mt_group_params *ret)
{
	*ret = (struct mt_group_params){
		.group_wait = 10,
		.group_interval = 5 * 60,
		.repeat_interval = 60 * 60,
		.resolve_after = 15 * 60,
		.min_count = 1,
		.window = 60,
		.max_groups = 10000,
	};
}

static bool
time_ok(double t)
{
	return isfinite(t) && t >= 0;
}

int
mt_group_params_check(const struct mt_group_params *p, const char **ret_why)
{
	const char *why = NULL;

	if (!time_ok(p->group_wait) || !time_ok(p->group_interval) ||
	    !time_ok(p->repeat_interval) || !time_ok(p->resolve_after) || !time_ok(p->window))
		why = "times must be finite and not negative";
	else if (p->min_count < 1 || p->min_count > MT_GROUP_MIN_COUNT_MAX)
		why = "min_count out of range";
	else if (p->min_count > 1 && p->window <= 0)
		why = "min_count above 1 needs a window";
	else if (p->max_groups < 1 || p->max_groups > MT_GROUP_MAX_GROUPS_MAX)
		why = "max_groups out of range";
	if (why == NULL)
		return 0;
	if (ret_why != NULL)
		*ret_why = why;
	return -EINVAL;
}

struct mt_grouper *
mt_grouper_new(const struct mt_group_params *p, const uint8_t hash_key[16], mt_group_emit_fn *emit,
	       void *ctx)
{
	struct mt_grouper *gr;
	const char *why;

	if (mt_group_params_check(p, &why) < 0)
		mt_panic("bad params: %s", why);
	gr = mt_xcalloc(1, sizeof(*gr));
	gr->p = *p;
	memcpy(gr->key, hash_key, sizeof(gr->key));
	gr->emit = emit;
	gr->ctx = ctx;
	gr->nbuckets = BUCKETS_MIN;
	gr->buckets = mt_xcalloc(gr->nbuckets, sizeof(*gr->buckets));
	gr->batch = mt_xcalloc(MT_GROUP_BATCH_MAX, sizeof(*gr->batch));
	gr->batch_text = mt_xcalloc(MT_GROUP_BATCH_MAX, sizeof(*gr->batch_text));
	return gr;
}

struct mt_grouper *
mt_grouper_free(struct mt_grouper *gr)
{
	struct group *g, *next;

	if (gr == NULL)
		return NULL;
	for (g = gr->lru_head; g != NULL; g = next) {
		next = g->lru_next;
		group_free(g);
	}
	for (g = gr->graveyard; g != NULL; g = next) {
		next = g->hnext;
		group_free(g);
	}
	free(gr->buckets);
	free(gr->heap);
	free(gr->batch);
	free(gr->batch_text);
	free(gr);
	return NULL;
}

struct group *
grp_lookup(struct mt_grouper *gr, uint64_t h, const struct key *k)
{
	for (struct group *g = gr->buckets[h & (gr->nbuckets - 1)]; g != NULL; g = g->hnext) {
		if (g->hash != h || strcmp(g->sig->id, k->id) != 0 ||
		    g->has_key != (k->name != NULL))
			continue;
		if (k->name == NULL || (text_eq(&g->key_name, k->name, k->name_len) &&
					text_eq(&g->key_value, k->value, k->value_len)))
			return g;
	}
	return NULL;
}

/* Put a new group (hash set) on the hash chain and at the head of the LRU list. */
void
grp_link(struct mt_grouper *gr, struct group *g)
{
	g->hnext = gr->buckets[g->hash & (gr->nbuckets - 1)];
	gr->buckets[g->hash & (gr->nbuckets - 1)] = g;
	lru_push_head(gr, g);
	gr->ngroups++;
	gr->stats.groups = gr->ngroups;
	if (gr->ngroups > gr->nbuckets)
		buckets_grow(gr);
}

static struct group *
group_new(struct mt_grouper *gr, uint64_t h, const struct mt_signature *sig, const struct key *k,
	  double now)
{
	struct group *g;

	while (gr->ngroups >= gr->p.max_groups) {
		gr->stats.evicted++;
		group_end(gr, gr->lru_tail, now);
	}
	g = mt_xcalloc(1, sizeof(*g));
	g->hash = h;
	g->serial = gr->serial++;
	g->heap_i = NO_HEAP;
	g->sig = sig;
	g->has_key = k->name != NULL;
	if (k->name != NULL) {
		grp_text_set(&g->key_name, k->name, k->name_len, MT_GROUP_NAME_MAX);
		grp_text_set(&g->key_value, k->value, k->value_len, MT_GROUP_TEXT_MAX);
	}
	g->started = gr->p.min_count <= 1;
	if (!g->started)
		g->times = mt_xreallocarray(NULL, gr->p.min_count, sizeof(*g->times));
	g->due = -1;
	g->first_seen = now;
	grp_link(gr, g);
	return g;
}

/* A pending group's occurrence; true if it reached min_count (the group starts). */
static bool
pending_offer(struct mt_grouper *gr, struct group *g, double now)
{
	size_t cap = gr->p.min_count;
	double oldest;

	/* Expire from the oldest; a clock step back may leave some older ones inside. */
	while (g->tr.n > 0 && g->times[g->tr.head] + gr->p.window <= now) {
		g->tr.head = (g->tr.head + 1) % cap;
		g->tr.n--;
		gr->stats.below_min_count++;
	}
	if (g->tr.n == 0 || now > g->times_max)
		g->times_max = now;
	g->times[ring_push(&g->tr, cap)] = now;
	if (g->tr.n < cap)
		return false;

	oldest = now;
	for (size_t i = 0; i < g->tr.n; i++)
		if (g->times[i] < oldest)
			oldest = g->times[i];
	g->started = true;
	g->total = g->pending = g->tr.n;
	g->first_seen = oldest;
	free(g->times);
	g->times = NULL;
	g->tr.head = g->tr.n = 0;
	/*
	 * Expiry pops the oldest offered, so the starting set is the last tr.n
	 * occurrences; examples and ids of the expired ones are not the group's.
	 */
	stamped_keep_since(g->ex, &g->exr, MT_GROUP_EXAMPLES_MAX, g->seq - g->total + 1);
	stamped_keep_since(g->ids, &g->idr, MT_GROUP_IDS_MAX, g->seq - g->total + 1);
	return true;
}

/*
 * A repeat (a->repeat): the started group of its cause, with the same key if
 * there is one, else the most recently active group of the cause whose
 * destination is the line's, else the most recently active of the cause.
 * NULL: none (the daemon started late, or the group was forgotten).
 */
static struct group *
repeat_target(struct mt_grouper *gr, const struct mt_alert *a, const struct key *k)
{
	struct key ck = *k;
	struct group *g, *any = NULL;
	char dest[MT_GROUP_FIELD_MAX + 1];
	size_t dlen;

	ck.id = a->cause_sig->id;
	g = grp_lookup(gr, grp_key_hash(gr, &ck), &ck);
	if (g != NULL && g->started)
		return g;
	dlen = line_destination(a->rec, dest, sizeof(dest));
	for (g = gr->lru_head; g != NULL; g = g->lru_next) {
		if (!g->started || strcmp(g->sig->id, ck.id) != 0)
			continue;
		if (dlen == 0 || (g->dest.s != NULL && strcmp(g->dest.s, dest) == 0))
			return g;
		if (any == NULL)
			any = g;
	}
	return any;
}

/* Count a repeat into its cause's group, without a notification of its own; false: no group. */
static bool
fold_repeat(struct mt_grouper *gr, const struct mt_alert *a, const struct key *k, double now)
{
	struct group *g = repeat_target(gr, a, k);

	if (g == NULL)
		return false;
	lru_unlink(gr, g);
	lru_push_head(gr, g);
	g->repeats++; /* not g->seq: it numbers the occurrences that carry examples */
	count_affected(g, a);
	/* The cause is still there: the group does not resolve while it is restated. */
	if (now > g->last_seen)
		g->last_seen = now;
	gr->stats.repeats++;
	grp_heap_update(gr, g);
	return true;
}

void
mt_grouper_offer(struct mt_grouper *gr, const struct mt_alert *a, const char *key_name,
		 const char *key_value, double now)
{
	struct key k = { .id = a->match->sig->id };
	struct group *g;
	uint64_t h;

	if (!isfinite(now))
		mt_panic("time is not finite");
	if (gr->emitting)
		mt_panic("emit callback called back into the grouper");
	gr->stats.offered++;
	if (key_name != NULL) {
		/* Hash and compare what a group stores: both cut (never strlen a hostile value). */
		k.name = key_name;
		k.name_len = cut_len(key_name, strnlen(key_name, MT_GROUP_NAME_MAX + 1),
				     MT_GROUP_NAME_MAX);
		k.value = key_value != NULL ? key_value : "";
		k.value_len = cut_len(k.value, strnlen(k.value, MT_GROUP_TEXT_MAX + 1),
				      MT_GROUP_TEXT_MAX);
	}
	if (a->repeat && a->cause_sig != NULL && fold_repeat(gr, a, &k, now))
		return;
	h = grp_key_hash(gr, &k);
	g = grp_lookup(gr, h, &k);
	if (g == NULL) {
		g = group_new(gr, h, a->match->sig, &k, now);
	} else {
		lru_unlink(gr, g);
		lru_push_head(gr, g);
	}

	g->seq++;
	group_record(g, a);
	g->last_seen = now;
	if (!g->started) {
		if (pending_offer(gr, g, now))
			g->due = burst_due(gr, g, now);
	} else {
		g->total++;
		g->pending++;
		if (g->due < 0)
			g->due = burst_due(gr, g, now);
	}
	grp_heap_update(gr, g);
	batch_emit(gr); /* an eviction's FLUSH */
}

/* The group's scheduled check: notify if anything is new.  False: the group was forgotten. */
static bool
check(struct mt_grouper *gr, struct group *g, double now)
{
	enum mt_group_event ev;

	if (g->pending == 0) {
		if (gr->p.resolve_after <= 0) {
			group_forget(gr, g);
			return false;
		}
		g->due = -1;
		return true;
	}
	ev = g->nnotified == 0 ? MT_GROUP_FIRST :
	     g->nnotified == 1 ? MT_GROUP_UPDATE :
				 MT_GROUP_REMINDER;
	notify(gr, g, ev, now);
	g->due = now + (ev == MT_GROUP_FIRST ? gr->p.group_interval : gr->p.repeat_interval);
	return true;
}

/* Everything due for one group at now, in time order. */
static void
group_tick(struct mt_grouper *gr, struct group *g, double now)
{
	if (!g->started) {
		/* Its deadline is the expiry of its newest occurrence: all expired. */
		gr->stats.below_min_count += g->tr.n;
		group_forget(gr, g);
		return;
	}
	for (;;) {
		double r = gr->p.resolve_after > 0 ? resolve_time(gr, g) : -1;

		if (g->due >= 0 && g->due <= now && (r < 0 || g->due <= r)) {
			if (!check(gr, g, now))
				return;
			continue;
		}
		if (r >= 0 && r <= now) {
			notify(gr, g, MT_GROUP_RESOLVED, now);
			group_forget(gr, g);
			return;
		}
		break;
	}
	grp_heap_update(gr, g);
}

void
mt_grouper_tick(struct mt_grouper *gr, double now)
{
	if (!isfinite(now))
		mt_panic("time is not finite");
	if (gr->emitting)
		mt_panic("emit callback called back into the grouper");
	while (gr->nheap > 0 && gr->heap[0]->deadline <= now)
		group_tick(gr, gr->heap[0], now);
	batch_emit(gr);
}

double
mt_grouper_next_deadline(const struct mt_grouper *gr)
{
	return gr->nheap > 0 ? gr->heap[0]->deadline : -1;
}

void
mt_grouper_flush(struct mt_grouper *gr, double now)
{
	if (gr->emitting)
		mt_panic("emit callback called back into the grouper");
	while (gr->lru_tail != NULL)
		group_end(gr, gr->lru_tail, now);
	batch_emit(gr);
}

void
mt_grouper_set_catalog(struct mt_grouper *gr, const struct mt_catalog *c, double now)
{
	struct group *g, *next;

	if (gr->emitting)
		mt_panic("emit callback called back into the grouper");
	for (g = gr->lru_tail; g != NULL; g = next) {
		const struct mt_signature *s = mt_catalog_find(c, g->sig->id);

		next = g->lru_prev;
		if (s != NULL)
			g->sig = s;
		else
			group_end(gr, g, now);
	}
	batch_emit(gr);
}

const struct mt_grouper_stats *
mt_grouper_stats(const struct mt_grouper *gr)
{
	return &gr->stats;
}

size_t
mt_grouper_resolve(struct mt_grouper *gr, const char *sig_id, const char *destination, double now)
{
	struct group *g, *next;
	size_t n = 0, len;

	if (!isfinite(now))
		mt_panic("time is not finite");
	if (gr->emitting)
		mt_panic("emit callback called back into the grouper");
	if (destination == NULL)
		return 0;
	len = cut_len(destination, strnlen(destination, MT_GROUP_TEXT_MAX + 1), MT_GROUP_TEXT_MAX);
	for (g = gr->lru_tail; g != NULL; g = next) {
		next = g->lru_prev;
		if (!g->started || (sig_id != NULL && strcmp(g->sig->id, sig_id) != 0))
			continue;
		if (!(g->has_key && strlen(g->key_value.s) == len &&
		      strncasecmp(g->key_value.s, destination, len) == 0) &&
		    !sole_destination(g, destination, len))
			continue;
		/* Never a RESOLVED before its FIRST. */
		if (g->nnotified == 0)
			notify(gr, g, MT_GROUP_FIRST, now);
		notify(gr, g, MT_GROUP_RESOLVED, now);
		group_forget(gr, g);
		gr->stats.resolved++;
		n++;
	}
	batch_emit(gr);
	return n;
}
