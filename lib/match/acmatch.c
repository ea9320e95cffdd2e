/* acmatch - Aho-Corasick over byte classes: every literal of the catalog in one pass. */
#include "match/acmatch.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

#define NONE UINT32_MAX

/*
 * A literal's states: its first AC_DEPTH bytes.  Past them, prefixes of the
 * catalog's literals rarely branch (16 bytes such as "said: 421 4.7.0 "
 * already name one literal or a handful), yet every byte more costs a state
 * with a full row: the cut takes the shipped catalog (311 records) from
 * 17,628 states to 9,858.  The rest of a literal (its tail) is compared with
 * the text that follows the prefix: nothing in the per-byte loop, work only
 * where a cut prefix occurs.  12 would save 0.3 MB more but adds 2 % to the
 * prefilter's instructions on lines only today's catalog recognises.
 */
#define AC_DEPTH 16

/* A literal as added, folded to lower case. */
struct lit {
	char *p;
	size_t len;
	uint32_t id;
	uint32_t next; /* builder: next literal whose kept prefix ends at the same node */
	uint32_t tail; /* builder: offset of p + AC_DEPTH in the automaton's tails */
};

struct mt_ac_builder {
	struct lit *lits;
	size_t nlits, cap;
};

/*
 * The trie, built then freed inside mt_ac_build(): children are a linked
 * list (a node has few, the root up to a class count).
 */
struct tnode {
	uint32_t child;	  /* first child, or NONE */
	uint32_t sibling; /* next child of the same parent, or NONE */
	uint32_t fail;	  /* longest proper suffix that is a node */
	uint32_t lits;	  /* first literal whose kept prefix ends here, or NONE */
	uint32_t nout;	  /* literals reported here: its own and its fail chain's */
	uint8_t cls;	  /* class of the byte leading here */
};

/* What an output state reports: a literal, once its tail follows in the text. */
struct out {
	uint32_t id;
	uint32_t tail; /* offset in tails */
	uint32_t tail_len;
};

struct mt_ac {
	/*
	 * The table is column-major: the next state after state s on byte c is
	 * delta[col[c] + s], col[c] being its class times nstates.  Entries are
	 * state numbers, 16-bit when there are at most 65,536 states (any
	 * catalog so far), so the scan does the same work per byte as with the
	 * offsets of a row-major table, at half (or less) of its size.
	 */
	uint32_t col[256];
	uint32_t nstates;
	uint32_t nclasses;
	uint16_t *delta16; /* one of the two is set */
	uint32_t *delta32;
	/*
	 * States from out_first on report something: state out_first + k reports
	 * outs[out_idx[k] .. out_idx[k + 1]).  The root is state 0 and has none.
	 */
	uint32_t out_first;
	uint32_t *out_idx;
	struct out *outs;
	size_t nouts;
	uint8_t *tails; /* the literals past AC_DEPTH, folded */
	size_t ntails;
};

struct mt_ac_builder *
mt_ac_builder_new(void)
{
	return mt_xcalloc(1, sizeof(struct mt_ac_builder));
}

static uint8_t
fold(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

void
mt_ac_builder_add(struct mt_ac_builder *b, const char *lit, size_t len, uint32_t id)
{
	struct lit *l;

	if (len == 0)
		return;
	if (b->nlits == b->cap) {
		b->cap = b->cap ? 2 * b->cap : 64;
		b->lits = mt_xreallocarray(b->lits, b->cap, sizeof(*b->lits));
	}
	l = &b->lits[b->nlits++];
	l->p = mt_xmalloc(len);
	for (size_t i = 0; i < len; i++)
		l->p[i] = (char)fold((uint8_t)lit[i]);
	l->len = len;
	l->id = id;
	l->next = NONE;
	l->tail = 0;
}

static size_t
kept(const struct lit *l)
{
	return l->len < AC_DEPTH ? l->len : AC_DEPTH;
}

static uint32_t
child_of(const struct tnode *t, uint32_t s, uint8_t cls)
{
	for (uint32_t c = t[s].child; c != NONE; c = t[c].sibling)
		if (t[c].cls == cls)
			return c;
	return NONE;
}

/* The trie of the kept prefixes; returns its nodes, *ret_n of them (the root is 0). */
static struct tnode *
build_trie(struct mt_ac_builder *b, const uint8_t *cls, size_t *ret_n)
{
	size_t n = 1, cap = 1024;
	struct tnode *t = mt_xcalloc(cap, sizeof(*t));

	t[0] = (struct tnode){ NONE, NONE, 0, NONE, 0, 0 };
	for (size_t i = 0; i < b->nlits; i++) {
		uint32_t s = 0;

		for (size_t j = 0; j < kept(&b->lits[i]); j++) {
			uint8_t c = cls[(uint8_t)b->lits[i].p[j]];
			uint32_t nx = child_of(t, s, c);

			if (nx == NONE) {
				if (n == cap) {
					cap *= 2;
					t = mt_xreallocarray(t, cap, sizeof(*t));
				}
				if (n >= NONE)
					mt_panic("automaton too large");
				nx = (uint32_t)n++;
				t[nx] = (struct tnode){ NONE, t[s].child, 0, NONE, 0, c };
				t[s].child = nx;
			}
			s = nx;
		}
		b->lits[i].next = t[s].lits;
		t[s].lits = (uint32_t)i;
	}
	*ret_n = n;
	return t;
}

/* Breadth-first order into queue; failure links and output counts on the way. */
static void
link_trie(struct tnode *t, const struct lit *lits, uint32_t *queue, size_t n)
{
	size_t qh = 0, qt = 0;

	queue[qt++] = 0;
	while (qh < qt) {
		uint32_t s = queue[qh++];

		for (uint32_t c = t[s].child; c != NONE; c = t[c].sibling) {
			uint32_t f = NONE;

			/* A child's failure: follow the parent's failures until one has the byte. */
			for (uint32_t g = s; g != 0 && f == NONE;) {
				g = t[g].fail;
				f = child_of(t, g, t[c].cls);
			}
			t[c].fail = f == NONE ? 0 : f;
			/* The failure is shallower: its count is final (enqueued before c). */
			t[c].nout = t[t[c].fail].nout;
			for (uint32_t l = t[c].lits; l != NONE; l = lits[l].next)
				t[c].nout++;
			queue[qt++] = c;
		}
	}
	if (qt != n)
		mt_panic("trie walk saw %zu of %zu nodes", qt, n);
}

static uint32_t
get(const struct mt_ac *ac, size_t i)
{
	return ac->delta16 ? ac->delta16[i] : ac->delta32[i];
}

static void
put(struct mt_ac *ac, size_t i, uint32_t v)
{
	if (ac->delta16)
		ac->delta16[i] = (uint16_t)v;
	else
		ac->delta32[i] = v;
}

struct mt_ac *
mt_ac_build(struct mt_ac_builder *b)
{
	struct mt_ac *ac = mt_xcalloc(1, sizeof(*ac));
	uint8_t cls[256] = { 0 };
	struct tnode *t;
	uint32_t *queue, *newid;
	size_t nt, nout = 0, k = 0;

	/* Byte classes: one per distinct (folded) byte of a kept prefix. */
	ac->nclasses = 1;
	for (size_t i = 0; i < b->nlits; i++)
		for (size_t j = 0; j < kept(&b->lits[i]); j++) {
			uint8_t c = (uint8_t)b->lits[i].p[j];

			if (cls[c] == 0)
				cls[c] = (uint8_t)ac->nclasses++;
		}
	for (int c = 'A'; c <= 'Z'; c++)
		cls[c] = cls[c - 'A' + 'a'];

	t = build_trie(b, cls, &nt);
	queue = mt_xcalloc(nt, sizeof(*queue));
	link_trie(t, b->lits, queue, nt);

	/*
	 * Number the states in breadth-first order (the root, then the shallow
	 * states the scan visits most, sit together), those without output
	 * first, so that the scan tests one comparison per byte.
	 */
	newid = mt_xcalloc(nt, sizeof(*newid));
	for (size_t i = 0; i < nt; i++)
		if (t[queue[i]].nout == 0)
			newid[queue[i]] = (uint32_t)k++;
	ac->out_first = (uint32_t)k;
	for (size_t i = 0; i < nt; i++)
		if (t[queue[i]].nout != 0) {
			newid[queue[i]] = (uint32_t)k++;
			nout += t[queue[i]].nout;
		}
	if (newid[0] != 0)
		mt_panic("root state renumbered");
	if ((uint64_t)nt * ac->nclasses > UINT32_MAX || nout > UINT32_MAX)
		mt_panic("automaton too large: %zu states", nt);
	ac->nstates = (uint32_t)nt;
	for (int c = 0; c < 256; c++)
		ac->col[c] = cls[c] * ac->nstates;

	/*
	 * The table, straight into its final numbering: a state's row is its
	 * failure's (shallower, so already filled) with its own edges over it.
	 */
	if (nt <= (size_t)UINT16_MAX + 1)
		ac->delta16 = mt_xcalloc(nt * ac->nclasses, sizeof(*ac->delta16));
	else
		ac->delta32 = mt_xcalloc(nt * ac->nclasses, sizeof(*ac->delta32));
	for (size_t i = 0; i < nt; i++) {
		uint32_t s = queue[i], ns = newid[s], nf = newid[t[s].fail];

		/* The root's row is its edges alone: back to the root elsewhere, as calloc left it. */
		for (size_t c = 0; c < ac->nclasses && s != 0; c++)
			put(ac, c * nt + ns, get(ac, c * nt + nf));
		for (uint32_t e = t[s].child; e != NONE; e = t[e].sibling)
			put(ac, (size_t)t[e].cls * nt + ns, newid[e]);
	}

	/* The tails, each literal's once. */
	for (size_t i = 0; i < b->nlits; i++) {
		b->lits[i].tail = (uint32_t)ac->ntails;
		ac->ntails += b->lits[i].len - kept(&b->lits[i]);
		if (ac->ntails > UINT32_MAX)
			mt_panic("literals too long");
	}
	ac->tails = mt_xmalloc(ac->ntails ? ac->ntails : 1);
	for (size_t i = 0; i < b->nlits; i++)
		memcpy(ac->tails + b->lits[i].tail, b->lits[i].p + kept(&b->lits[i]),
		       b->lits[i].len - kept(&b->lits[i]));

	/* Each output state's literals: its own and those of its failure chain. */
	ac->out_idx = mt_xcalloc(nt - ac->out_first + 1, sizeof(*ac->out_idx));
	ac->outs = mt_xcalloc(nout ? nout : 1, sizeof(*ac->outs));
	ac->nouts = nout;
	k = 0;
	for (size_t i = 0; i < nt; i++) {
		uint32_t s = queue[i];
		size_t pos = ac->out_idx[k];

		if (t[s].nout == 0)
			continue;
		for (uint32_t n = s; n != 0; n = t[n].fail)
			for (uint32_t l = t[n].lits; l != NONE; l = b->lits[l].next)
				ac->outs[pos++] = (struct out){ b->lits[l].id, b->lits[l].tail,
								(uint32_t)(b->lits[l].len -
									   kept(&b->lits[l])) };
		ac->out_idx[++k] = (uint32_t)pos;
	}

	free(t);
	free(queue);
	free(newid);
	for (size_t i = 0; i < b->nlits; i++)
		free(b->lits[i].p);
	free(b->lits);
	free(b);
	return ac;
}

struct mt_ac *
mt_ac_free(struct mt_ac *ac)
{
	if (ac == NULL)
		return NULL;
	free(ac->delta16);
	free(ac->delta32);
	free(ac->out_idx);
	free(ac->outs);
	free(ac->tails);
	free(ac);
	return NULL;
}

/* Report output state out_first + k, whose prefix ends just before s. */
static void
report(const struct mt_ac *ac, uint32_t k, const uint8_t *s, const uint8_t *end, mt_ac_hit_fn *hit,
       void *ctx)
{
	for (uint32_t i = ac->out_idx[k]; i < ac->out_idx[k + 1]; i++) {
		const struct out *o = &ac->outs[i];
		const uint8_t *tail = ac->tails + o->tail;
		uint32_t j = 0;

		if (o->tail_len > (size_t)(end - s))
			continue;
		while (j < o->tail_len && fold(s[j]) == tail[j])
			j++;
		if (j == o->tail_len)
			hit(ctx, o->id);
	}
}

/* The per-byte loop, one copy per entry width (wide is a constant where it is inlined). */
static inline __attribute__((always_inline)) void
scan(const struct mt_ac *ac, bool wide, const uint8_t *s, const uint8_t *end, mt_ac_hit_fn *hit,
     void *ctx)
{
	const uint32_t *col = ac->col;
	const uint16_t *d16 = ac->delta16;
	const uint32_t *d32 = ac->delta32;
	uint32_t st = 0, out_first = ac->out_first;

	while (s < end) {
		uint32_t i = col[*s++] + st;

		st = wide ? d32[i] : d16[i];
		if (__builtin_expect(st >= out_first, 0))
			report(ac, st - out_first, s, end, hit, ctx);
	}
}

void
mt_ac_scan(const struct mt_ac *ac, const char *p, size_t len, mt_ac_hit_fn *hit, void *ctx)
{
	const uint8_t *s = (const uint8_t *)p;

	if (ac->out_first >= ac->nstates)
		return; /* no literal at all */
	if (ac->delta16)
		scan(ac, false, s, s + len, hit, ctx);
	else
		scan(ac, true, s, s + len, hit, ctx);
}

size_t
mt_ac_states(const struct mt_ac *ac)
{
	return ac->nstates;
}

size_t
mt_ac_entry_size(const struct mt_ac *ac)
{
	return ac->delta16 ? sizeof(*ac->delta16) : sizeof(*ac->delta32);
}

size_t
mt_ac_memory(const struct mt_ac *ac)
{
	return sizeof(*ac) + (size_t)ac->nstates * ac->nclasses * mt_ac_entry_size(ac) +
	       (ac->nstates - ac->out_first + 1) * sizeof(*ac->out_idx) +
	       ac->nouts * sizeof(*ac->outs) + ac->ntails;
}
