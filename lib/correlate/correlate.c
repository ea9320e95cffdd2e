/* correlate - message, destination and cause tables (see correlate.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem(3) */
#endif
#include "correlate/correlate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/session.h"
#include "util/xalloc.h"

#define NIL	  UINT32_MAX
#define HEALTH_NB 15 /* buckets in a destination's window */
#define TOPC	  4  /* causes counted per destination for the dominant one */
#define CKEY_MAX  (200)

/* Every entry starts with its links: the LRU list and the hash chain. */
struct link {
	uint32_t prev, next, chain;
};

enum outcome {
	OUT_NONE,
	OUT_DEFERRED,
	OUT_BOUNCED,
	OUT_EXPIRED,
	OUT_FROZEN,
	OUT_DELIVERED,
	OUT__COUNT
};
static const char *const outcome_names[] = { "none",	"deferred", "bounced",
					     "expired", "frozen",   "delivered" };

#define MF_DONE 0x01u /* removed from the MTA's queue: a reused id starts afresh */

struct msg {
	struct link l;
	uint8_t klen;
	char k[MT_CORRELATE_ID_MAX];
	uint32_t first, last;
	uint32_t cause; /* handle, 0: none */
	uint32_t dest;	/* handle, 0: none */
	uint16_t attempts, rcpts;
	uint16_t last_rcpt; /* hash of the last recipient that failed */
	uint8_t outcome, flags;
};

struct bucket {
	uint32_t epoch, att, fail;
};

struct dest {
	struct link l;
	uint8_t klen;
	char k[MT_CORRELATE_NAME_MAX + 1]; /* NUL-terminated */
	uint16_t gen;
	bool alerted; /* health event given, not yet recovered */
	uint32_t first, last, since;
	uint32_t cause, last_cause; /* handles: the current trouble, the latest one */
	uint64_t attempts, sent, deferred, bounced, expired;
	struct bucket win[HEALTH_NB];
	uint32_t top[TOPC], topn[TOPC];
};

struct cause {
	struct link l;
	uint16_t klen;
	char k[CKEY_MAX]; /* "signature id" 0x1f "destination" */
	uint32_t gen;
	uint32_t since;
	const struct mt_signature *sig; /* looked up in sig_cat */
	const struct mt_catalog *sig_cat;
	char reply[MT_CORRELATE_REPLY_MAX + 1];
};

/* A bounded hash table with an LRU list, over entries of one struct type. */
struct table {
	unsigned char *e;
	size_t stride, koff, klen_off, klen_size;
	size_t n, cap, max;
	uint32_t *b;
	size_t nb;
	uint32_t head, tail; /* most, least recently used */
};

struct mt_correlate {
	struct mt_correlate_opts o;
	uint8_t key[16];
	struct table msgs, dests, causes;
	const struct mt_catalog *cat;
	struct mt_session *session; /* outcome lines of a session get its cause */
	struct mt_correlate_stats st;
	char scratch[MT_CORRELATE_NAME_MAX + 1];
	char scratch2[MT_CORRELATE_NAME_MAX + 1];
	/* Within one observe: the hashes already computed, by the key's address. */
	struct {
		const char *p;
		size_t len;
		uint64_t h;
	} memo[2];
	/* Causes interned lately, by signature and destination: failures repeat. */
	struct {
		const char *sig;
		char dest[48];
		size_t dlen;
		uint32_t cause;
	} recent[64];
};

/* --- the generic table ----------------------------------------------------- */

/* Entry i of t, of t's entry type (through void *: t->e is aligned for it). */
static void *
slot(const struct table *t, uint32_t i)
{
	return t->e + (size_t)i * t->stride;
}

/* The links every entry starts with. */
static struct link *
ent(const struct table *t, uint32_t i)
{
	return slot(t, i);
}

/* The slot of an entry of t. */
static uint32_t
slot_index(const struct table *t, const void *e)
{
	return (uint32_t)(((const unsigned char *)e - t->e) / t->stride);
}

static const char *
ekey(const struct table *t, uint32_t i, size_t *len)
{
	const unsigned char *p = slot(t, i);

	if (t->klen_size == 1)
		*len = p[t->klen_off];
	else
		*len = *(const uint16_t *)(const void *)(p + t->klen_off);
	return (const char *)p + t->koff;
}

static void
table_init(struct table *t, size_t stride, size_t koff, size_t klen_off, size_t klen_size,
	   size_t max)
{
	memset(t, 0, sizeof(*t));
	t->stride = stride;
	t->koff = koff;
	t->klen_off = klen_off;
	t->klen_size = klen_size;
	t->max = max;
	t->head = t->tail = NIL;
}

static void
table_fini(struct table *t)
{
	free(t->e);
	free(t->b);
}

static size_t
table_bytes(size_t cap, size_t stride)
{
	size_t nb = 16;

	while (nb < cap)
		nb *= 2;
	return cap * stride + nb * sizeof(uint32_t);
}

static inline uint64_t
rotl64(uint64_t x, int b)
{
	return x << b | x >> (64 - b);
}

static inline uint64_t
le64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

#define SIPROUND                                                              \
	do {                                                                  \
		v0 += v1, v1 = rotl64(v1, 13), v1 ^= v0, v0 = rotl64(v0, 32); \
		v2 += v3, v3 = rotl64(v3, 16), v3 ^= v2;                      \
		v0 += v3, v3 = rotl64(v3, 21), v3 ^= v0;                      \
		v2 += v1, v1 = rotl64(v1, 17), v1 ^= v2, v2 = rotl64(v2, 32); \
	} while (0)

/*
 * SipHash-2-4, the function group.c keys its table with
 * (mt_group_siphash24), in one pass over whole words: it runs on most
 * records, where group.c's streaming form costs several times more.
 */
uint64_t
mt_correlate_hash(const uint8_t key[16], const void *data, size_t len)
{
	const unsigned char *p = data, *end = p + (len & ~(size_t)7);
	uint64_t k0 = le64(key), k1 = le64(key + 8), m, b = (uint64_t)len << 56;
	uint64_t v0 = k0 ^ UINT64_C(0x736f6d6570736575), v1 = k1 ^ UINT64_C(0x646f72616e646f6d);
	uint64_t v2 = k0 ^ UINT64_C(0x6c7967656e657261), v3 = k1 ^ UINT64_C(0x7465646279746573);

	for (; p < end; p += 8) {
		m = le64(p);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (size_t i = 0; i < (len & 7); i++)
		b |= (uint64_t)p[i] << (8 * i);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static uint64_t
hash(const struct mt_correlate *c, const char *k, size_t len)
{
	return mt_correlate_hash(c->key, len ? k : "", len); /* an absent view's p is NULL */
}

/* hash() of a view of the record being observed, computed once per observe. */
static uint64_t
hash_view(struct mt_correlate *c, const char *k, size_t len)
{
	for (size_t i = 0; i < 2; i++)
		if (c->memo[i].p == k && c->memo[i].len == len && k != NULL)
			return c->memo[i].h;
	c->memo[1] = c->memo[0];
	c->memo[0].p = k;
	c->memo[0].len = len;
	c->memo[0].h = hash(c, k, len);
	return c->memo[0].h;
}

static void
rehash(const struct mt_correlate *c, struct table *t, size_t nb)
{
	free(t->b);
	t->nb = nb;
	t->b = mt_xreallocarray(NULL, nb, sizeof(*t->b));
	for (size_t i = 0; i < nb; i++)
		t->b[i] = NIL;
	for (uint32_t i = 0; i < t->n; i++) {
		size_t len;
		const char *k = ekey(t, i, &len);
		size_t h = hash(c, k, len) & (nb - 1);

		ent(t, i)->chain = t->b[h];
		t->b[h] = i;
	}
}

static uint32_t
table_find(const struct table *t, const char *k, size_t len, uint64_t h)
{
	if (t->nb == 0)
		return NIL;
	for (uint32_t i = t->b[h & (t->nb - 1)]; i != NIL; i = ent(t, i)->chain) {
		size_t el;
		const char *ek = ekey(t, i, &el);

		if (el == len && memcmp(ek, k, len) == 0)
			return i;
	}
	return NIL;
}

static void
lru_unlink(struct table *t, uint32_t i)
{
	struct link *l = ent(t, i);

	if (l->prev != NIL)
		ent(t, l->prev)->next = l->next;
	else
		t->head = l->next;
	if (l->next != NIL)
		ent(t, l->next)->prev = l->prev;
	else
		t->tail = l->prev;
}

static void
lru_push(struct table *t, uint32_t i)
{
	struct link *l = ent(t, i);

	l->prev = NIL;
	l->next = t->head;
	if (t->head != NIL)
		ent(t, t->head)->prev = i;
	t->head = i;
	if (t->tail == NIL)
		t->tail = i;
}

static void
table_touch(struct table *t, uint32_t i)
{
	if (t->head == i)
		return;
	lru_unlink(t, i);
	lru_push(t, i);
}

/* Take i out of its hash chain (it stays in the array). */
static void
chain_unlink(const struct mt_correlate *c, struct table *t, uint32_t i)
{
	size_t len;
	const char *k = ekey(t, i, &len);
	uint32_t *pp = &t->b[hash(c, k, len) & (t->nb - 1)];

	while (*pp != i)
		pp = &ent(t, *pp)->chain;
	*pp = ent(t, i)->chain;
}

/*
 * A slot for a new key: a fresh one while the table may grow, else the
 * least recently used entry's (*ret_evicted set).  The caller fills the
 * entry; the key is written here.
 */
static uint32_t
table_insert(const struct mt_correlate *c, struct table *t, const char *k, size_t len, uint64_t h,
	     bool *ret_evicted)
{
	uint32_t i;
	unsigned char *p;

	*ret_evicted = false;
	if (t->n == t->cap && t->cap < t->max) {
		size_t cap = t->cap ? t->cap * 2 : 256;

		if (cap > t->max)
			cap = t->max;
		t->e = mt_xreallocarray(t->e, cap, t->stride);
		t->cap = cap;
	}
	if (t->n < t->cap) {
		/* More buckets first, over the entries there are: the new one is not keyed yet. */
		if (t->nb < t->cap) {
			size_t nb = t->nb ? t->nb : 16;

			while (nb < t->cap)
				nb *= 2;
			rehash(c, t, nb);
		}
		i = (uint32_t)t->n++;
		memset(slot(t, i), 0, t->stride);
	} else {
		i = t->tail;
		chain_unlink(c, t, i);
		lru_unlink(t, i);
		*ret_evicted = true;
	}
	p = slot(t, i);
	if (t->klen_size == 1)
		p[t->klen_off] = (uint8_t)len;
	else
		*(uint16_t *)(void *)(p + t->klen_off) = (uint16_t)len;
	memcpy(p + t->koff, k, len);
	ent(t, i)->chain = t->b[h & (t->nb - 1)];
	t->b[h & (t->nb - 1)] = i;
	lru_push(t, i);
	return i;
}

/* --- the entries of the three tables ----------------------------------------- */

static struct msg *
msg_at(const struct mt_correlate *c, uint32_t i)
{
	return slot(&c->msgs, i);
}

static struct dest *
dest_at(const struct mt_correlate *c, uint32_t i)
{
	return slot(&c->dests, i);
}

static struct cause *
cause_at(const struct mt_correlate *c, uint32_t i)
{
	return slot(&c->causes, i);
}

/* --- handles: slot and generation, so a reused slot is not mistaken -------- */

/*
 * A handle keeps an entry's slot in its low bits and the slot's generation
 * (as many low bits of it as are left) above; 0 is no handle.
 */
#define CAUSE_SLOT_BITS	    12 /* MT_CORRELATE_CAUSES slots */
#define DEST_SLOT_BITS	    20 /* up to 1000000 destinations (the cap of max_destinations) */
#define GEN_MASK(slot_bits) (UINT32_MAX >> (slot_bits)) /* the generation bits a handle keeps */

_Static_assert(MT_CORRELATE_CAUSES <= 1u << CAUSE_SLOT_BITS, "a cause's slot fits its handle");

static uint32_t
handle_pack(uint32_t gen, uint32_t i, unsigned slot_bits)
{
	return (gen & GEN_MASK(slot_bits)) << slot_bits | i;
}

/* The slot h names in t; NIL for no handle or a slot past t's entries. */
static uint32_t
handle_slot(const struct table *t, uint32_t h, unsigned slot_bits)
{
	uint32_t i = h & ((UINT32_C(1) << slot_bits) - 1);

	return h == 0 || i >= t->n ? NIL : i;
}

static uint32_t
cause_handle(const struct mt_correlate *c, uint32_t i)
{
	return handle_pack(cause_at(c, i)->gen, i, CAUSE_SLOT_BITS);
}

static uint32_t
cause_handle_of(const struct mt_correlate *c, const struct cause *e)
{
	return cause_handle(c, slot_index(&c->causes, e));
}

/* The cause h names; NULL if there is none, or its slot was reused since. */
static struct cause *
cause_get(struct mt_correlate *c, uint32_t h)
{
	uint32_t i = handle_slot(&c->causes, h, CAUSE_SLOT_BITS);

	return i != NIL && cause_handle(c, i) == h ? cause_at(c, i) : NULL;
}

static uint32_t
dest_handle(const struct mt_correlate *c, uint32_t i)
{
	return handle_pack(dest_at(c, i)->gen, i, DEST_SLOT_BITS);
}

static uint32_t
dest_handle_of(const struct mt_correlate *c, const struct dest *d)
{
	return dest_handle(c, slot_index(&c->dests, d));
}

/* The destination h names; NULL if there is none, or its slot was reused since. */
static struct dest *
dest_get(struct mt_correlate *c, uint32_t h)
{
	uint32_t i = handle_slot(&c->dests, h, DEST_SLOT_BITS);

	return i != NIL && dest_handle(c, i) == h ? dest_at(c, i) : NULL;
}

/* --- life -------------------------------------------------------------------- */

void
mt_correlate_opts_default(struct mt_correlate_opts *o)
{
	o->max_messages = 1000000;
	o->max_destinations = 10000;
	o->max_age = 10 * 86400.;
	o->health_window = 900.;
	o->health_threshold = 20;
	o->health_min_attempts = 10;
}

struct mt_correlate *
mt_correlate_new(const struct mt_correlate_opts *o, const uint8_t key[16])
{
	struct mt_correlate *c = mt_xcalloc(1, sizeof(*c));

	c->o = *o;
	if (c->o.max_messages < 16)
		c->o.max_messages = 16;
	if (c->o.max_messages > 10000000)
		c->o.max_messages = 10000000;
	if (c->o.max_destinations < 16)
		c->o.max_destinations = 16;
	if (c->o.max_destinations > 1000000)
		c->o.max_destinations = 1000000;
	if (c->o.health_window < 15)
		c->o.health_window = 15;
	memcpy(c->key, key, sizeof(c->key));
	table_init(&c->msgs, sizeof(struct msg), offsetof(struct msg, k),
		   offsetof(struct msg, klen), 1, c->o.max_messages);
	table_init(&c->dests, sizeof(struct dest), offsetof(struct dest, k),
		   offsetof(struct dest, klen), 1, c->o.max_destinations);
	table_init(&c->causes, sizeof(struct cause), offsetof(struct cause, k),
		   offsetof(struct cause, klen), 2, MT_CORRELATE_CAUSES);
	c->session = mt_session_new(c->key);
	c->st.memory_max = mt_session_bytes() + table_bytes(c->o.max_messages, sizeof(struct msg)) +
			   table_bytes(c->o.max_destinations, sizeof(struct dest)) +
			   table_bytes(MT_CORRELATE_CAUSES, sizeof(struct cause));
	return c;
}

struct mt_correlate *
mt_correlate_free(struct mt_correlate *c)
{
	if (c == NULL)
		return NULL;
	table_fini(&c->msgs);
	table_fini(&c->dests);
	table_fini(&c->causes);
	mt_session_free(c->session);
	free(c);
	return NULL;
}

void
mt_correlate_set_catalog(struct mt_correlate *c, const struct mt_catalog *cat)
{
	c->cat = cat;
	/* The cache is keyed by the catalog's id pointers: a new catalog may reuse them. */
	memset(c->recent, 0, sizeof(c->recent));
	mt_session_clear(c->session); /* it points into the old catalog */
}

const struct mt_correlate_stats *
mt_correlate_stats(struct mt_correlate *c)
{
	c->st.messages = c->msgs.n;
	c->st.destinations = c->dests.n;
	c->st.causes = c->causes.n;
	c->st.memory_messages = c->msgs.cap * c->msgs.stride + c->msgs.nb * sizeof(uint32_t);
	c->st.memory = mt_session_bytes() + c->msgs.cap * c->msgs.stride +
		       c->msgs.nb * sizeof(uint32_t) + c->dests.cap * c->dests.stride +
		       c->dests.nb * sizeof(uint32_t) + c->causes.cap * c->causes.stride +
		       c->causes.nb * sizeof(uint32_t);
	return &c->st;
}

/* --- time ------------------------------------------------------------------ */

static int
num(const char *p, size_t n)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (p[i] - '0');
	}
	return v;
}

/* Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm). */
static long
days_from_civil(long y, unsigned m, unsigned d)
{
	long era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}

static int
civil_year(double now)
{
	long z = (long)(now / 86400) + 719468;
	long era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;

	return (int)(yoe + era * 400 + (m <= 2));
}

double
mt_correlate_time(const struct mt_view *t, double now)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	const char *p = t->p;
	int y, mo = 0, d, h, mi, s;

	if (t->len >= 19 && p[4] == '-' && p[7] == '-' && (p[10] == ' ' || p[10] == 'T')) {
		/* Exim and ISO 8601; a zone, if any, is ignored: local and UTC alike. */
		y = num(p, 4), mo = num(p + 5, 2), d = num(p + 8, 2);
		h = num(p + 11, 2), mi = num(p + 14, 2), s = num(p + 17, 2);
	} else if (t->len >= 15 && p[3] == ' ' && p[6] == ' ' && p[9] == ':') {
		/* RFC 3164 has no year: the one of now, or the year before for a future date. */
		for (int i = 0; i < 12; i++)
			if (memcmp(p, months + 3 * i, 3) == 0)
				mo = i + 1;
		y = civil_year(now);
		d = num(p + 4 + (p[4] == ' '), p[4] == ' ' ? 1 : 2);
		h = num(p + 7, 2), mi = num(p + 10, 2), s = num(p + 13, 2);
		if (mo > 0 && d > 0 && h >= 0 && mi >= 0 && s >= 0) {
			double v = (double)days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
				   h * 3600 + mi * 60 + s;

			return v > now + 86400 ? v - 365 * 86400. : v;
		}
		return now;
	} else {
		return now;
	}
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || s < 0 || s > 60)
		return now;
	return (double)days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 +
	       s;
}

/* --- what a line says ------------------------------------------------------ */

enum kind {
	K_OTHER,
	K_SENT,
	K_DEFER,
	K_BOUNCE,
	K_EXPIRE,
	K_DONE,	   /* Postfix "removed", Exim "Completed" */
	K_RESTATE, /* retry time not reached, suspended, message is frozen */
};

static bool
view_is(const struct mt_view *v, const char *s)
{
	return v->len == strlen(s) && memcmp(v->p, s, v->len) == 0;
}

static bool
has(const struct mt_view *v, const char *s)
{
	return v->len && memmem(v->p, v->len, s, strlen(s)) != NULL;
}

static bool
starts(const struct mt_view *v, const char *s)
{
	size_t n = strlen(s);

	return v->len >= n && memcmp(v->p, s, n) == 0;
}

static enum kind
classify(const struct mt_logrec *r, bool *ret_frozen)
{
	const struct mt_view *st = &r->f[MT_F_STATUS], *m = &r->f[MT_F_MESSAGE];
	const struct mt_view *rp = &r->f[MT_F_REPLY];

	*ret_frozen = false;
	if (r->mta == MT_MTA_EXIM) {
		if (view_is(st, "==") && (starts(rp, "retry time not reached") ||
					  starts(rp, "Retry time not yet reached") ||
					  (rp->len == 0 && (has(m, "etry time not reached") ||
							    has(m, "etry time not yet reached")))))
			return K_RESTATE;
		if (st->len == 0 && r->f[MT_F_QUEUE_ID].len) {
			/* "<id> Message is frozen", "<id> Frozen (...)", "<id> frozen by ..." */
			const char *a = r->f[MT_F_QUEUE_ID].p + r->f[MT_F_QUEUE_ID].len + 1;
			const char *end = m->p + m->len;
			size_t n = a < end ? (size_t)(end - a) : 0;

			if (n >= 17 && memcmp(a, "Message is frozen", 17) == 0) {
				*ret_frozen = true;
				return K_RESTATE;
			}
			*ret_frozen = (n >= 6 && memcmp(a, "Frozen", 6) == 0) ||
				      (n >= 10 && memcmp(a, "frozen by ", 10) == 0);
			if (*ret_frozen)
				return K_OTHER;
		}
		if (view_is(st, "=>") || view_is(st, "->") || view_is(st, "*>"))
			return K_SENT;
		if (view_is(st, "=="))
			return K_DEFER;
		if (view_is(st, "**"))
			return starts(rp, "retry timeout exceeded") ||
					       has(rp->len ? rp : m, "retry timeout exceeded") ||
					       has(rp->len ? rp : m,
						   "have been failing for a long time") ?
				       K_EXPIRE :
				       K_BOUNCE;
		if (m->len >= 10 && memcmp(m->p + m->len - 10, " Completed", 10) == 0)
			return K_DONE;
		return K_OTHER;
	}
	if (r->mta == MT_MTA_POSTFIX) {
		if (view_is(st, "deferred"))
			return starts(rp, "delivery temporarily suspended") ||
					       (rp->len == 0 &&
						has(m, "delivery temporarily suspended")) ?
				       K_RESTATE :
				       K_DEFER;
		if (view_is(st, "sent") || view_is(st, "deliverable"))
			return K_SENT;
		if (view_is(st, "bounced"))
			return K_BOUNCE;
		if (view_is(st, "expired"))
			return K_EXPIRE;
		if (m->len >= 9 && memcmp(m->p + m->len - 9, ": removed", 9) == 0)
			return K_DONE;
	}
	return K_OTHER;
}

/* The destination: the recipient's domain, lower-cased, else the relay host. */
static size_t
destination(const struct mt_logrec *r, char *out)
{
	const struct mt_view *v = &r->f[MT_F_RECIPIENT];
	const char *p = NULL;
	size_t n = 0;

	if (v->len) {
		const char *at = memchr(v->p, '@', v->len);

		if (at != NULL) {
			/* The last '@': a quoted local part may hold one. */
			for (const char *q = at; q != NULL;
			     q = memchr(q + 1, '@', (size_t)(v->p + v->len - q - 1)))
				at = q;
			p = at + 1;
			n = (size_t)(v->p + v->len - p);
		}
	}
	if (n == 0 && r->f[MT_F_RELAY_HOST].len && !view_is(&r->f[MT_F_RELAY_HOST], "none")) {
		p = r->f[MT_F_RELAY_HOST].p;
		n = r->f[MT_F_RELAY_HOST].len;
	}
	if (n > MT_CORRELATE_NAME_MAX)
		n = MT_CORRELATE_NAME_MAX;
	for (size_t i = 0; i < n; i++) {
		char ch = p[i];

		out[i] = ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
	}
	out[n] = '\0';
	return n;
}

/* --- causes ------------------------------------------------------------------ */

/* cause_intern()'s cache; sig_id is the catalog's pointer, stable while it lives. */
static size_t
recent_slot(const char *sig_id, const char *dest, size_t dlen)
{
	size_t v = (size_t)((uintptr_t)sig_id >> 3) ^ dlen * 31;

	if (dlen > 0)
		v ^= (size_t)(unsigned char)dest[0] * 7 ^ (size_t)(unsigned char)dest[dlen - 1];
	return v & 63;
}

static void
remember_cause(struct mt_correlate *c, const char *sig_id, const char *dest, size_t dlen,
	       uint32_t h)
{
	size_t r = recent_slot(sig_id, dest, dlen);

	if (dlen > sizeof(c->recent[0].dest) || c->cat == NULL) {
		c->recent[r].sig = NULL;
		return;
	}
	c->recent[r].sig = sig_id;
	memcpy(c->recent[r].dest, dest, dlen);
	c->recent[r].dlen = dlen;
	c->recent[r].cause = h;
}

/*
 * A cause's key in k: the signature id, 0x1f, the destination, cut to fit;
 * its length.  *dlen is cut to the part of the destination kept.
 */
static size_t
cause_key(char k[CKEY_MAX], const char *sig_id, const char *dest, size_t *dlen)
{
	size_t sl = strlen(sig_id);

	if (sl > CKEY_MAX - 2)
		sl = CKEY_MAX - 2;
	if (*dlen > CKEY_MAX - 1 - sl)
		*dlen = CKEY_MAX - 1 - sl;
	memcpy(k, sig_id, sl);
	k[sl] = 0x1f;
	memcpy(k + sl + 1, dest, *dlen);
	return sl + 1 + *dlen;
}

static uint32_t
cause_intern(struct mt_correlate *c, const char *sig_id, const char *dest, size_t dlen,
	     const struct mt_view *reply, uint32_t t)
{
	char k[CKEY_MAX];
	size_t len;
	uint64_t h;
	uint32_t i;
	bool evicted;
	struct cause *e;

	if (c->cat != NULL) {
		size_t r = recent_slot(sig_id, dest, dlen);

		if (c->recent[r].sig == sig_id && c->recent[r].dlen == dlen &&
		    memcmp(c->recent[r].dest, dest, dlen) == 0 &&
		    cause_get(c, c->recent[r].cause) != NULL)
			return c->recent[r].cause;
	}
	len = cause_key(k, sig_id, dest, &dlen);
	h = hash(c, k, len);
	i = table_find(&c->causes, k, len, h);
	if (i != NIL) {
		table_touch(&c->causes, i);
		remember_cause(c, sig_id, dest, dlen, cause_handle(c, i));
		return cause_handle(c, i);
	}
	i = table_insert(c, &c->causes, k, len, h, &evicted);
	e = cause_at(c, i);
	if (evicted) {
		c->st.cause_evicted++;
		e->gen++;
	}
	if (e->gen == 0 || (e->gen & GEN_MASK(CAUSE_SLOT_BITS)) == 0)
		e->gen = 1;
	e->since = t;
	e->sig = NULL;
	e->sig_cat = NULL;
	e->reply[0] = '\0';
	if (reply != NULL) {
		size_t n =
			reply->len > MT_CORRELATE_REPLY_MAX ? MT_CORRELATE_REPLY_MAX : reply->len;

		memcpy(e->reply, reply->p, n);
		e->reply[n] = '\0';
	}
	remember_cause(c, sig_id, dest, dlen, cause_handle(c, i));
	return cause_handle(c, i);
}

#define SUSPENDED "delivery temporarily suspended: "

/*
 * Postfix suspends a nexthop, whatever the recipient's domain, and quotes
 * the failure that suspended it: a cause is also found by (signature,
 * reply), under a second key whose destination part is 0x1e and the reply.
 */
static size_t
quoted_key(const struct mt_view *reply, char *buf, size_t size)
{
	const char *p = reply->p;
	size_t n = reply->len, sl = strlen(SUSPENDED);

	if (n >= sl && memcmp(p, SUSPENDED, sl) == 0) {
		p += sl;
		n -= sl;
	}
	if (n > size - 1)
		n = size - 1;
	buf[0] = 0x1e;
	memcpy(buf + 1, p, n);
	return n + 1;
}

static bool
cause_is(const struct cause *e, const char *sig_id)
{
	size_t n = strlen(sig_id);

	return n < e->klen && memcmp(e->k, sig_id, n) == 0 && e->k[n] == 0x1f;
}

/* The cause (signature, destination) if known; no entry is made. */
static struct cause *
cause_find(struct mt_correlate *c, const char *sig_id, const char *dest, size_t dlen)
{
	char k[CKEY_MAX];
	size_t len = cause_key(k, sig_id, dest, &dlen);
	uint32_t i = table_find(&c->causes, k, len, hash(c, k, len));

	return i == NIL ? NULL : cause_at(c, i);
}

/* The cause's signature id (a NUL-terminated copy in scratch storage). */
static const char *
cause_id(struct cause *e, char *buf, size_t size)
{
	size_t n = 0;

	while (n < e->klen && e->k[n] != 0x1f && n + 1 < size) {
		buf[n] = e->k[n];
		n++;
	}
	buf[n] = '\0';
	return buf;
}

static void
fill_cause(struct mt_correlate *c, struct cause *e, struct mt_corr_result *r)
{
	r->cause_id = cause_id(e, c->scratch, sizeof(c->scratch));
	if (e->sig_cat != c->cat || (e->sig == NULL && c->cat != NULL)) {
		e->sig = c->cat ? mt_catalog_find(c->cat, r->cause_id) : NULL;
		e->sig_cat = c->cat;
	}
	r->cause_sig = e->sig;
	r->cause_reply = e->reply;
	r->cause_since = e->since;
}

/* --- the message and destination tables ------------------------------------- */

static bool
msg_stale(const struct mt_correlate *c, const struct msg *m, uint32_t t)
{
	return (double)m->last + c->o.max_age < (double)t;
}

static void
msg_reset(struct msg *m, uint32_t t)
{
	memset(&m->first, 0, sizeof(*m) - offsetof(struct msg, first));
	m->first = m->last = t;
}

/*
 * The message's entry; with create, a new one if there is none.  A full
 * table gives the least recently seen message's slot: an age eviction if it
 * is older than max_age, else a size eviction.
 */
static struct msg *
msg_lookup(struct mt_correlate *c, const struct mt_view *id, bool create, uint32_t t)
{
	uint64_t h;
	uint32_t i;
	bool evicted, stale_tail;
	struct msg *m;

	if (id->len == 0 || id->len > MT_CORRELATE_ID_MAX)
		return NULL;
	h = hash_view(c, id->p, id->len);
	i = table_find(&c->msgs, id->p, id->len, h);
	if (i != NIL) {
		m = msg_at(c, i);
		table_touch(&c->msgs, i);
		if (msg_stale(c, m, t)) {
			c->st.msg_evicted_age++;
			msg_reset(m, t);
		}
		return m;
	}
	if (!create)
		return NULL;
	stale_tail = c->msgs.tail != NIL && msg_stale(c, msg_at(c, c->msgs.tail), t);
	i = table_insert(c, &c->msgs, id->p, id->len, h, &evicted);
	if (evicted && stale_tail)
		c->st.msg_evicted_age++;
	else if (evicted)
		c->st.msg_evicted_lru++;
	m = msg_at(c, i);
	msg_reset(m, t);
	return m;
}

static struct dest *
dest_lookup(struct mt_correlate *c, const char *name, size_t len, bool create, uint32_t t)
{
	uint64_t h;
	uint32_t i;
	bool evicted;
	struct dest *d;
	uint16_t gen;

	if (len == 0)
		return NULL;
	h = hash(c, name, len);
	i = table_find(&c->dests, name, len, h);
	if (i != NIL) {
		table_touch(&c->dests, i);
		return dest_at(c, i);
	}
	if (!create)
		return NULL;
	i = table_insert(c, &c->dests, name, len, h, &evicted);
	d = dest_at(c, i);
	gen = d->gen;
	if (evicted)
		c->st.dest_evicted++;
	memset((char *)d + offsetof(struct dest, gen), 0, sizeof(*d) - offsetof(struct dest, gen));
	d->gen = (uint16_t)((evicted ? gen + 1u : gen) & GEN_MASK(DEST_SLOT_BITS));
	if (d->gen == 0)
		d->gen = 1;
	d->k[len] = '\0';
	d->first = d->last = t;
	return d;
}

static void
health_add(struct mt_correlate *c, struct dest *d, uint32_t t, bool failed, uint32_t cause)
{
	double width = c->o.health_window / HEALTH_NB;
	uint32_t epoch = (uint32_t)((double)t / width);
	struct bucket *b = &d->win[epoch % HEALTH_NB];

	if (b->epoch != epoch) {
		b->epoch = epoch;
		b->att = b->fail = 0;
	}
	b->att++;
	b->fail += failed;
	if (!failed || cause == 0)
		return;
	/* The dominant cause: counts kept for a few, the least counted replaced. */
	{
		size_t min = 0;

		for (size_t k = 0; k < TOPC; k++) {
			if (d->top[k] == cause) {
				d->topn[k]++;
				return;
			}
			if (d->topn[k] < d->topn[min])
				min = k;
		}
		d->top[min] = cause;
		d->topn[min] = d->topn[min] + 1;
	}
}

static void
health_check(struct mt_correlate *c, struct dest *d, uint32_t t, struct mt_corr_result *r)
{
	double width = c->o.health_window / HEALTH_NB;
	uint32_t epoch = (uint32_t)((double)t / width);
	uint64_t att = 0, fail = 0;

	for (size_t k = 0; k < HEALTH_NB; k++)
		if (d->win[k].epoch + HEALTH_NB > epoch && d->win[k].epoch <= epoch) {
			att += d->win[k].att;
			fail += d->win[k].fail;
		}
	if (att == 0)
		return;
	if (!d->alerted && att >= c->o.health_min_attempts &&
	    fail * 100 > (uint64_t)c->o.health_threshold * att) {
		size_t best = 0;
		struct cause *e;

		d->alerted = true;
		c->st.health_alerts++;
		for (size_t k = 1; k < TOPC; k++)
			if (d->topn[k] > d->topn[best])
				best = k;
		e = cause_get(c, d->top[best]);
		r->health_cause = e ? cause_id(e, c->scratch2, sizeof(c->scratch2)) : NULL;
	} else if (d->alerted && fail * 200 <= (uint64_t)c->o.health_threshold * att) {
		d->alerted = false;
		memset(d->top, 0, sizeof(d->top));
		memset(d->topn, 0, sizeof(d->topn));
		r->health_recovered = true;
	} else {
		return;
	}
	r->health_destination = d->k; /* NUL-terminated below */
	r->health_percent = (unsigned)(fail * 100 / att);
	r->health_attempts = (unsigned)att;
}

static void
say_duration(char *buf, size_t size, double s)
{
	unsigned long v;

	if (s < 0 || s > 4e9)
		s = 0;
	v = (unsigned long)s;
	if (v < 7200)
		(void)snprintf(buf, size, "%lu minute%s", v / 60, v / 60 == 1 ? "" : "s");
	else if (v < 2 * 86400)
		(void)snprintf(buf, size, "%lu hours", v / 3600);
	else
		(void)snprintf(buf, size, "%lu days", v / 86400);
}

/* --- observe ----------------------------------------------------------------- */

static void
observe_record(struct mt_correlate *c, const struct mt_logrec *rec, const struct mt_signature *sig,
	       double now, struct mt_corr_result *r)
{
	char dname[MT_CORRELATE_NAME_MAX + 1];
	size_t dlen = 0;
	bool frozen, failed, attempt;
	enum kind k;
	uint32_t t;
	struct msg *m;
	struct dest *d = NULL;
	struct cause *known = NULL;
	const struct mt_view *id = &rec->f[MT_F_QUEUE_ID];
	uint32_t sig_cause = 0; /* this line's (signature, destination) cause, once interned */

	memset(r, 0, offsetof(struct mt_corr_result, summary));
	memset(c->memo, 0, sizeof(c->memo));
	r->summary[0] = '\0';
	r->resolved_destination = r->resolved_cause = r->health_destination = NULL;
	r->health_cause = NULL;
	r->health_recovered = false;
	r->health_percent = r->health_attempts = 0;
	if (rec->mta != MT_MTA_POSTFIX && rec->mta != MT_MTA_EXIM)
		return;
	k = classify(rec, &frozen);
	/* Most lines: nothing happened to a delivery, and no message to remember it for. */
	if (k == K_OTHER && (sig == NULL || id->len == 0))
		return;
	{
		double tt = mt_correlate_time(&rec->f[MT_F_TIME], now);

		t = tt < 0 ? 0 : tt > 4e9 ? 4000000000u : (uint32_t)tt;
	}
	failed = k == K_DEFER || k == K_BOUNCE || k == K_EXPIRE;
	attempt = failed || k == K_SENT;
	m = k == K_SENT ? NULL : msg_lookup(c, id, false, t);
	if (m != NULL && (m->flags & MF_DONE) && k != K_DONE)
		msg_reset(m, t); /* the MTA removed it: a new message under a reused id */
	if (m != NULL) {
		m->last = t;
		known = cause_get(c, m->cause);
	}
	if (attempt || k == K_RESTATE) {
		dlen = destination(rec, dname);
		d = dest_lookup(c, dname, dlen, failed || (sig != NULL && k == K_RESTATE), t);
	}
	if (d != NULL) {
		d->last = t;
		if (known == NULL && k == K_RESTATE)
			known = cause_get(c, d->cause);
	}
	if (known == NULL && k == K_RESTATE && sig != NULL && rec->f[MT_F_REPLY].len) {
		char q[CKEY_MAX];
		size_t ql = quoted_key(&rec->f[MT_F_REPLY], q, sizeof(q));

		known = cause_find(c, sig->id, q, ql);
	}

	/* Counts, whatever matched. */
	if (d != NULL && attempt) {
		/* Interning may grow the cause table: hold the known cause by handle. */
		uint32_t kh = known != NULL ? cause_handle_of(c, known) : 0;
		uint32_t ch = sig ? cause_intern(c, sig->id, dname, dlen,
						 rec->f[MT_F_REPLY].len ? &rec->f[MT_F_REPLY] :
									  &rec->f[MT_F_MESSAGE],
						 t) :
				    0;

		known = kh != 0 ? cause_get(c, kh) : NULL;

		sig_cause = ch;
		d->attempts++;
		if (k == K_SENT)
			d->sent++;
		else if (k == K_DEFER)
			d->deferred++;
		else if (k == K_BOUNCE)
			d->bounced++;
		else
			d->expired++;
		health_add(c, d, t, failed, ch);
		if (k == K_SENT && cause_get(c, d->cause) != NULL) {
			struct cause *e = cause_get(c, d->cause);

			c->st.resolved++;
			r->resolved_destination = d->k;
			r->resolved_cause = cause_id(e, c->scratch2, sizeof(c->scratch2));
			d->cause = 0;
			d->since = 0;
		}
		health_check(c, d, t, r);
	}
	if (k == K_DONE) {
		if (m != NULL) {
			m->flags |= MF_DONE;
			if (m->outcome == OUT_DEFERRED || m->outcome == OUT_FROZEN)
				m->outcome = OUT_DELIVERED;
		}
		return;
	}
	if (sig == NULL && (m == NULL || !failed))
		return;

	/* A restatement, or the same failure again: the first cause. */
	if (known != NULL &&
	    (k == K_RESTATE || (sig != NULL && k != K_BOUNCE && k != K_EXPIRE && m != NULL &&
				cause_get(c, m->cause) == known && cause_is(known, sig->id)))) {
		if (m == NULL) {
			m = msg_lookup(c, id, true, t);
			if (m != NULL) {
				m->cause = cause_handle_of(c, known);
				m->dest = d ? dest_handle_of(c, d) : 0;
			}
		}
		if (m != NULL) {
			if (frozen)
				m->outcome = OUT_FROZEN;
			else if (m->outcome == OUT_NONE)
				m->outcome = OUT_DEFERRED;
			if (k == K_DEFER && m->attempts < UINT16_MAX)
				m->attempts++;
			r->attempts = m->attempts;
		}
		if (sig == NULL)
			return;
		r->verdict = MT_CORR_REPEAT;
		c->st.repeats++;
		fill_cause(c, known, r);
		return;
	}

	/* The end of a message that failed before: reported with its first cause. */
	if (known != NULL && m != NULL && (k == K_BOUNCE || k == K_EXPIRE)) {
		char dur[64];
		const struct mt_signature *cs;

		m->outcome = k == K_EXPIRE ? OUT_EXPIRED : OUT_BOUNCED;
		if (m->attempts < UINT16_MAX)
			m->attempts++;
		r->verdict = MT_CORR_OUTCOME;
		r->outcome = outcome_names[m->outcome];
		r->attempts = m->attempts;
		c->st.outcomes++;
		fill_cause(c, known, r);
		cs = r->cause_sig;
		say_duration(dur, sizeof(dur), (double)t - known->since);
		(void)snprintf(r->summary, sizeof(r->summary), "%s after %s of %s: %s%s%.200s",
			       r->outcome, dur, frozen ? "freezing" : "deferrals",
			       cs ? cs->title : r->cause_id, *known->reply ? " - " : "",
			       known->reply);
		if (d != NULL && k == K_EXPIRE && d->expired == 0)
			d->expired++;
		if (sig == NULL)
			r->verdict = MT_CORR_OUTCOME; /* the caller decides whether to say it */
		return;
	}
	if (sig == NULL) {
		/* An unmatched failure of a known message: counted above, nothing to say. */
		if (m != NULL && m->attempts < UINT16_MAX)
			m->attempts++;
		return;
	}

	/* A first cause: remembered for the message and the destination. */
	{
		uint32_t ch = cause_get(c, sig_cause) != NULL ?
				      sig_cause :
				      cause_intern(c, sig->id, dname, dlen,
						   rec->f[MT_F_REPLY].len ? &rec->f[MT_F_REPLY] :
									    &rec->f[MT_F_MESSAGE],
						   t);

		if (m == NULL)
			m = msg_lookup(c, id, true, t);
		if (m != NULL) {
			uint16_t rh = (uint16_t)hash(c, rec->f[MT_F_RECIPIENT].p,
						     rec->f[MT_F_RECIPIENT].len);

			if (m->cause == 0 || cause_get(c, m->cause) == NULL)
				m->cause = ch;
			if (d != NULL)
				m->dest = dest_handle_of(c, d);
			if (failed && m->attempts < UINT16_MAX)
				m->attempts++;
			if (failed && (m->rcpts == 0 || m->last_rcpt != rh) &&
			    m->rcpts < UINT16_MAX)
				m->rcpts++;
			m->last_rcpt = rh;
			m->outcome = frozen	   ? OUT_FROZEN :
				     k == K_BOUNCE ? OUT_BOUNCED :
				     k == K_EXPIRE ? OUT_EXPIRED :
				     k == K_DEFER  ? OUT_DEFERRED :
						     m->outcome;
			r->attempts = m->attempts;
		}
		if (d != NULL && failed && cause_get(c, d->cause) == NULL) {
			d->cause = ch;
			d->since = t;
		}
		if (failed && rec->mta == MT_MTA_POSTFIX && rec->f[MT_F_REPLY].len) {
			char q[CKEY_MAX];
			size_t ql = quoted_key(&rec->f[MT_F_REPLY], q, sizeof(q));

			if (cause_find(c, sig->id, q, ql) == NULL)
				(void)cause_intern(c, sig->id, q, ql, &rec->f[MT_F_REPLY], t);
		}
		if (d != NULL && failed)
			d->last_cause = ch;
		r->verdict = m != NULL || d != NULL ? MT_CORR_NEW : MT_CORR_NONE;
	}
}

/* --- views ------------------------------------------------------------------- */

static int
by_failures(const void *a, const void *b)
{
	const struct mt_corr_dest *x = a, *y = b;
	uint64_t fx = x->deferred + x->bounced + x->expired,
		 fy = y->deferred + y->bounced + y->expired;

	if (fx != fy)
		return fx < fy ? 1 : -1;
	return strcmp(x->name, y->name);
}

size_t
mt_correlate_destinations(struct mt_correlate *c, struct mt_corr_dest **ret)
{
	struct mt_corr_dest *v = mt_xcalloc(c->dests.n ? c->dests.n : 1, sizeof(*v));
	size_t n = 0;

	for (uint32_t i = 0; i < c->dests.n; i++) {
		const struct dest *d = dest_at(c, i);
		struct mt_corr_dest *o = &v[n];
		struct cause *e = cause_get(c, d->cause);

		if (d->deferred + d->bounced + d->expired == 0)
			continue;
		memcpy(o->name, d->k, d->klen);
		o->name[d->klen] = '\0';
		o->attempts = d->attempts;
		o->sent = d->sent;
		o->deferred = d->deferred;
		o->bounced = d->bounced;
		o->expired = d->expired;
		o->troubled = e != NULL;
		if (e == NULL)
			e = cause_get(c, d->last_cause);
		if (e != NULL)
			(void)cause_id(e, o->cause_id, sizeof(o->cause_id));
		o->cause_reply = e ? e->reply : "";
		o->first = d->first;
		o->last = d->last;
		n++;
	}
	qsort(v, n, sizeof(*v), by_failures);
	*ret = v;
	return n;
}

size_t
mt_correlate_messages(struct mt_correlate *c, struct mt_corr_msg **ret)
{
	struct mt_corr_msg *v = mt_xcalloc(c->msgs.n ? c->msgs.n : 1, sizeof(*v));
	size_t n = 0;

	for (uint32_t i = c->msgs.tail; i != NIL; i = ent(&c->msgs, i)->prev) {
		const struct msg *m = msg_at(c, i);
		struct cause *e = cause_get(c, m->cause);
		struct dest *d = dest_get(c, m->dest);
		struct mt_corr_msg *o = &v[n];

		if (e == NULL)
			continue;
		memcpy(o->id, m->k, m->klen);
		o->id[m->klen] = '\0';
		if (d != NULL) {
			memcpy(o->destination, d->k, d->klen);
			o->destination[d->klen] = '\0';
		}
		(void)cause_id(e, o->cause_id, sizeof(o->cause_id));
		o->cause_reply = e->reply;
		o->first = m->first;
		o->last = m->last;
		o->attempts = m->attempts;
		o->recipients = m->rcpts;
		o->outcome = outcome_names[m->outcome < OUT__COUNT ? m->outcome : 0];
		n++;
	}
	*ret = v;
	return n;
}

/* --- persistence ------------------------------------------------------------- */

#define SAVE_MAGIC "mtalert-correlate 1\n"

static void
put_hex(struct mt_buf *b, const char *p, size_t len)
{
	static const char hex[] = "0123456789abcdef";

	if (len == 0)
		(void)mt_buf_putc(b, '-');
	for (size_t i = 0; i < len; i++) {
		(void)mt_buf_putc(b, hex[(unsigned char)p[i] >> 4]);
		(void)mt_buf_putc(b, hex[(unsigned char)p[i] & 15]);
	}
}

/* Cause handle to its position in the saved text (1-based), 0: none. */
static unsigned long
cause_pos(struct mt_correlate *c, const uint32_t *pos, uint32_t h)
{
	return cause_get(c, h) ? pos[handle_slot(&c->causes, h, CAUSE_SLOT_BITS)] : 0;
}

int
mt_correlate_save(struct mt_correlate *c, struct mt_buf *out)
{
	uint32_t pos[MT_CORRELATE_CAUSES] = { 0 };
	uint32_t k = 0;
	int r = 0;

	r |= mt_buf_puts(out, SAVE_MAGIC);
	for (uint32_t i = c->causes.tail; i != NIL; i = ent(&c->causes, i)->prev) {
		const struct cause *e = cause_at(c, i);

		pos[i] = ++k;
		r |= mt_buf_printf(out, "C %u ", e->since);
		put_hex(out, e->k, e->klen);
		(void)mt_buf_putc(out, ' ');
		put_hex(out, e->reply, strlen(e->reply));
		r |= mt_buf_putc(out, '\n');
	}
	for (uint32_t i = c->dests.tail; i != NIL; i = ent(&c->dests, i)->prev) {
		const struct dest *d = dest_at(c, i);

		(void)mt_buf_puts(out, "D ");
		put_hex(out, d->k, d->klen);
		r |= mt_buf_printf(out, " %u %u %u %llu %llu %llu %llu %llu %lu %lu\n", d->first,
				   d->last, d->since, (unsigned long long)d->attempts,
				   (unsigned long long)d->sent, (unsigned long long)d->deferred,
				   (unsigned long long)d->bounced, (unsigned long long)d->expired,
				   cause_pos(c, pos, d->cause), cause_pos(c, pos, d->last_cause));
	}
	for (uint32_t i = c->msgs.tail; i != NIL; i = ent(&c->msgs, i)->prev) {
		const struct msg *m = msg_at(c, i);
		const struct dest *d = dest_get(c, m->dest);

		(void)mt_buf_puts(out, "M ");
		put_hex(out, m->k, m->klen);
		r |= mt_buf_printf(out, " %u %u %u %u %u %u %lu ", m->first, m->last, m->attempts,
				   m->rcpts, m->outcome, m->flags, cause_pos(c, pos, m->cause));
		put_hex(out, d ? d->k : "", d ? d->klen : 0);
		r |= mt_buf_putc(out, '\n');
		if (r < 0)
			return -ENOBUFS;
	}
	return r < 0 ? -ENOBUFS : 0;
}

/* Decode hex (or "-" for empty) into out (size bytes); -1 if malformed or too long. */
static long
get_hex(const char *p, size_t len, char *out, size_t size)
{
	if (len == 1 && p[0] == '-')
		return 0;
	if (len % 2 || len / 2 > size)
		return -1;
	for (size_t i = 0; i < len; i += 2) {
		int v = 0;

		for (size_t j = 0; j < 2; j++) {
			char ch = p[i + j];

			v <<= 4;
			if (ch >= '0' && ch <= '9')
				v |= ch - '0';
			else if (ch >= 'a' && ch <= 'f')
				v |= ch - 'a' + 10;
			else
				return -1;
		}
		out[i / 2] = (char)v;
	}
	return (long)(len / 2);
}

static bool
get_u(const char *p, size_t len, unsigned long long max, unsigned long long *ret)
{
	unsigned long long v = 0;

	if (len == 0 || len > 20)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9' || v > (max - (unsigned)(p[i] - '0')) / 10)
			return false;
		v = v * 10 + (unsigned)(p[i] - '0');
	}
	*ret = v;
	return true;
}

#define TOK_MAX 12

static bool
load_line(struct mt_correlate *c, const char *p, size_t len, uint32_t *map, uint32_t *nmap)
{
	const char *tok[TOK_MAX];
	size_t tl[TOK_MAX], nt = 0;
	unsigned long long u[TOK_MAX] = { 0 };
	char a[CKEY_MAX + MT_CORRELATE_REPLY_MAX + 2], b[MT_CORRELATE_REPLY_MAX + 1];
	long la, lb;

	for (size_t i = 0; i < len;) {
		size_t j = i;

		while (j < len && p[j] != ' ')
			j++;
		if (nt == TOK_MAX)
			return false;
		tok[nt] = p + i;
		tl[nt++] = j - i;
		i = j + 1;
	}
	if (nt < 2 || tl[0] != 1)
		return false;
	if (p[0] == 'C' && nt == 4) {
		struct mt_view reply;
		const char *sep;

		if (!get_u(tok[1], tl[1], UINT32_MAX, &u[1]) ||
		    (la = get_hex(tok[2], tl[2], a, CKEY_MAX)) <= 0 ||
		    (lb = get_hex(tok[3], tl[3], b, MT_CORRELATE_REPLY_MAX)) < 0 ||
		    (sep = memchr(a, 0x1f, (size_t)la)) == NULL || *nmap >= MT_CORRELATE_CAUSES)
			return false;
		a[la] = '\0';
		reply.p = b;
		reply.len = (size_t)lb;
		{
			char id[CKEY_MAX];

			memcpy(id, a, (size_t)(sep - a));
			id[sep - a] = '\0';
			map[(*nmap)++] = cause_intern(c, id, sep + 1, (size_t)(a + la - sep - 1),
						      &reply, (uint32_t)u[1]);
		}
		return true;
	}
	if (p[0] == 'D' && nt == 12) {
		struct dest *d;

		la = get_hex(tok[1], tl[1], a, MT_CORRELATE_NAME_MAX);
		for (size_t i = 2; i < 12; i++)
			if (!get_u(tok[i], tl[i], i < 5 ? UINT32_MAX : UINT64_MAX, &u[i]))
				return false;
		if (la <= 0 || u[10] > *nmap || u[11] > *nmap)
			return false;
		d = dest_lookup(c, a, (size_t)la, true, (uint32_t)u[3]);
		d->first = (uint32_t)u[2];
		d->last = (uint32_t)u[3];
		d->since = (uint32_t)u[4];
		d->attempts = u[5];
		d->sent = u[6];
		d->deferred = u[7];
		d->bounced = u[8];
		d->expired = u[9];
		d->cause = u[10] ? map[u[10] - 1] : 0;
		d->last_cause = u[11] ? map[u[11] - 1] : 0;
		return true;
	}
	if (p[0] == 'M' && nt == 10) {
		struct mt_view id;
		struct msg *m;
		struct dest *d;

		la = get_hex(tok[1], tl[1], a, MT_CORRELATE_ID_MAX);
		lb = get_hex(tok[9], tl[9], b, MT_CORRELATE_NAME_MAX);
		for (size_t i = 2; i < 9; i++)
			if (!get_u(tok[i], tl[i], i < 4 ? UINT32_MAX : UINT16_MAX, &u[i]))
				return false;
		if (la <= 0 || lb < 0 || u[6] >= OUT__COUNT || u[7] > 0xff || u[8] > *nmap)
			return false;
		id.p = a;
		id.len = (size_t)la;
		m = msg_lookup(c, &id, true, (uint32_t)u[3]);
		m->first = (uint32_t)u[2];
		m->last = (uint32_t)u[3];
		m->attempts = (uint16_t)u[4];
		m->rcpts = (uint16_t)u[5];
		m->outcome = (uint8_t)u[6];
		m->flags = (uint8_t)u[7];
		m->cause = u[8] ? map[u[8] - 1] : 0;
		d = lb > 0 ? dest_lookup(c, b, (size_t)lb, false, m->last) : NULL;
		m->dest = d ? dest_handle_of(c, d) : 0;
		return true;
	}
	return false;
}

int
mt_correlate_load(struct mt_correlate *c, const char *p, size_t len, size_t *ret_skipped)
{
	static const size_t ml = sizeof(SAVE_MAGIC) - 1;
	uint32_t *map = mt_xcalloc(MT_CORRELATE_CAUSES, sizeof(*map));
	uint32_t nmap = 0;
	size_t skipped = 0;

	const struct mt_catalog *cat = c->cat;

	if (len < ml || memcmp(p, SAVE_MAGIC, ml) != 0) {
		free(map);
		return -EINVAL;
	}
	/* Ids read here live on the stack: no cause cache while loading (it needs a catalog). */
	mt_correlate_set_catalog(c, NULL);
	for (size_t i = ml; i < len;) {
		const char *e = memchr(p + i, '\n', len - i);
		size_t n = e ? (size_t)(e - (p + i)) : len - i;

		/* The memo is keyed by address: the lines are parsed into one stack buffer. */
		memset(c->memo, 0, sizeof(c->memo));
		if (!load_line(c, p + i, n, map, &nmap))
			skipped++;
		i += n + 1;
	}
	free(map);
	memset(c->memo, 0, sizeof(c->memo));
	mt_correlate_set_catalog(c, cat);
	if (ret_skipped != NULL)
		*ret_skipped = skipped;
	return 0;
}

void
mt_correlate_observe(struct mt_correlate *c, const struct mt_logrec *rec,
		     const struct mt_signature *sig, double now, struct mt_corr_result *r)
{
	const struct mt_signature *cause = NULL;
	uint32_t since = 0;

	/* An outcome line of a failed session: its process said why just before. */
	if (sig != NULL && rec->f[MT_F_PID].len > 0) {
		double tt = mt_correlate_time(&rec->f[MT_F_TIME], now);

		cause = mt_session_cause(c->session, rec, sig,
					 tt < 0	  ? 0 :
					 tt > 4e9 ? 4000000000u :
						    (uint32_t)tt,
					 &since);
	}
	/* The message and its destination remember the cause, not the outcome. */
	observe_record(c, rec, cause != NULL ? cause : sig, now, r);
	if (cause != NULL && (r->verdict == MT_CORR_NONE || r->verdict == MT_CORR_NEW)) {
		r->verdict = MT_CORR_REPEAT;
		r->cause_id = cause->id;
		r->cause_sig = cause;
		r->cause_reply = "";
		r->cause_since = since;
		c->st.repeats++;
		c->st.session_repeats++;
	}
}
