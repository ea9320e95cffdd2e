/* acmatch - Aho-Corasick over byte classes: every literal of the catalog in one pass. */
#include "match/acmatch.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util/xalloc.h"

/* The builder is a plain trie with per-node sparse edges. */
struct edge {
	uint8_t cls;
	uint32_t to;
};

struct tnode {
	struct edge *edges;
	uint32_t nedges;
	uint32_t fail;
	uint32_t *ids; /* literals ending here */
	uint32_t nids;
};

struct lit {
	char *p;
	size_t len;
	uint32_t id;
};

struct mt_ac_builder {
	struct lit *lits;
	size_t nlits;
};

struct mt_ac {
	uint8_t cls[256];
	uint32_t nclasses;
	uint32_t nstates;
	/*
	 * delta[state_off + cls] is the next state's offset (state * nclasses).
	 * States with output have offsets >= out_first; their outputs are
	 * out_ids[out_idx[k]..out_idx[k+1]) with k = state - first output state.
	 */
	uint32_t *delta;
	uint32_t out_first;
	uint32_t *out_idx;
	uint32_t *out_ids;
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
	b->lits = mt_xreallocarray(b->lits, b->nlits + 1, sizeof(*b->lits));
	l = &b->lits[b->nlits++];
	l->p = mt_xmalloc(len);
	for (size_t i = 0; i < len; i++)
		l->p[i] = (char)fold((uint8_t)lit[i]);
	l->len = len;
	l->id = id;
}

static uint32_t
goto_edge(const struct tnode *n, uint8_t cls)
{
	for (uint32_t i = 0; i < n->nedges; i++)
		if (n->edges[i].cls == cls)
			return n->edges[i].to;
	return UINT32_MAX;
}

/* Rows of n cells: row i becomes what row order[i] was, following each cycle once. */
static void
permute_rows(uint32_t *rows, const uint32_t *order, size_t nrows, uint32_t n)
{
	uint32_t *tmp = mt_xcalloc(n, sizeof(*tmp));
	bool *done = mt_xcalloc(nrows, sizeof(*done));

	for (size_t i = 0; i < nrows; i++) {
		size_t j = i;

		if (done[i] || order[i] == i)
			continue;
		memcpy(tmp, rows + i * n, n * sizeof(*tmp));
		for (;;) {
			size_t k = order[j];

			done[j] = true;
			if (k == i) {
				memcpy(rows + j * n, tmp, n * sizeof(*tmp));
				break;
			}
			memcpy(rows + j * n, rows + k * n, n * sizeof(*tmp));
			j = k;
		}
	}
	free(done);
	free(tmp);
}

struct mt_ac *
mt_ac_build(struct mt_ac_builder *b)
{
	struct mt_ac *ac = mt_xcalloc(1, sizeof(*ac));
	struct tnode *t;
	size_t nt = 1, alloc = 1;
	uint32_t *queue, *order, *newid, *dfa;
	size_t qh = 0, qt = 0, nout = 0, total_ids = 0;

	/* Byte classes: one per distinct (folded) byte used by a literal. */
	ac->nclasses = 1;
	for (size_t i = 0; i < b->nlits; i++)
		for (size_t j = 0; j < b->lits[i].len; j++) {
			uint8_t c = (uint8_t)b->lits[i].p[j];

			if (ac->cls[c] == 0)
				ac->cls[c] = (uint8_t)ac->nclasses++;
		}
	for (int c = 'A'; c <= 'Z'; c++)
		ac->cls[c] = ac->cls[c - 'A' + 'a'];

	for (size_t i = 0; i < b->nlits; i++)
		alloc += b->lits[i].len;
	t = mt_xcalloc(alloc, sizeof(*t));

	/* The trie. */
	for (size_t i = 0; i < b->nlits; i++) {
		uint32_t s = 0;

		for (size_t j = 0; j < b->lits[i].len; j++) {
			uint8_t c = ac->cls[(uint8_t)b->lits[i].p[j]];
			uint32_t nx = goto_edge(&t[s], c);

			if (nx == UINT32_MAX) {
				nx = (uint32_t)nt++;
				t[s].edges = mt_xreallocarray(t[s].edges, t[s].nedges + 1,
							      sizeof(*t[s].edges));
				t[s].edges[t[s].nedges++] = (struct edge){ c, nx };
			}
			s = nx;
		}
		t[s].ids = mt_xreallocarray(t[s].ids, t[s].nids + 1, sizeof(*t[s].ids));
		t[s].ids[t[s].nids++] = b->lits[i].id;
	}

	/*
	 * Breadth-first: failure links, inherited outputs, and the full DFA
	 * rows.  A node's row copies its failure node's row (already built,
	 * being shallower) and overrides its own edges.
	 */
	dfa = mt_xcalloc(nt * ac->nclasses, sizeof(*dfa));
	queue = mt_xcalloc(nt, sizeof(*queue));
	queue[qt++] = 0;
	while (qh < qt) {
		uint32_t s = queue[qh++];
		uint32_t *row = dfa + (size_t)s * ac->nclasses;

		if (s != 0) {
			const struct tnode *f = &t[t[s].fail];

			memcpy(row, dfa + (size_t)t[s].fail * ac->nclasses,
			       ac->nclasses * sizeof(*row));
			if (f->nids) {
				t[s].ids = mt_xreallocarray(t[s].ids, t[s].nids + f->nids,
							    sizeof(*t[s].ids));
				memcpy(t[s].ids + t[s].nids, f->ids, f->nids * sizeof(*f->ids));
				t[s].nids += f->nids;
			}
		}
		for (uint32_t e = 0; e < t[s].nedges; e++) {
			uint32_t child = t[s].edges[e].to;

			/* The failure of a child is where the parent's failure goes on c. */
			t[child].fail =
				s == 0 ? 0 :
					 dfa[(size_t)t[s].fail * ac->nclasses + t[s].edges[e].cls];
			row[t[s].edges[e].cls] = child;
			queue[qt++] = child;
		}
	}

	/* Renumber: states without output first, then those with output. */
	order = mt_xcalloc(nt, sizeof(*order));
	newid = mt_xcalloc(nt, sizeof(*newid));
	{
		size_t k = 0;

		for (size_t s = 0; s < nt; s++)
			if (t[s].nids == 0)
				order[k++] = (uint32_t)s;
		ac->out_first = (uint32_t)k;
		for (size_t s = 0; s < nt; s++)
			if (t[s].nids != 0) {
				order[k++] = (uint32_t)s;
				nout++;
				total_ids += t[s].nids;
			}
		for (size_t i = 0; i < nt; i++)
			newid[order[i]] = (uint32_t)i;
	}
	if ((uint64_t)nt * ac->nclasses >= UINT32_MAX)
		mt_panic("automaton too large: %zu states", nt);
	ac->nstates = (uint32_t)nt;
	/* The table is the catalog's largest: renumber its rows in place, not into a copy. */
	permute_rows(dfa, order, nt, ac->nclasses);
	for (size_t i = 0; i < nt * ac->nclasses; i++)
		dfa[i] = newid[dfa[i]] * ac->nclasses;
	ac->delta = dfa;
	dfa = NULL;
	ac->out_idx = mt_xcalloc(nout + 1, sizeof(*ac->out_idx));
	ac->out_ids = mt_xcalloc(total_ids ? total_ids : 1, sizeof(*ac->out_ids));
	{
		uint32_t pos = 0;

		for (size_t k = 0; k < nout; k++) {
			const struct tnode *n = &t[order[ac->out_first + k]];

			ac->out_idx[k] = pos;
			memcpy(ac->out_ids + pos, n->ids, n->nids * sizeof(*n->ids));
			pos += n->nids;
		}
		ac->out_idx[nout] = pos;
	}
	ac->out_first *= ac->nclasses;
	/* The root must stay state 0: it has no output, so it sorts first. */
	if (newid[0] != 0)
		mt_panic("root state renumbered");

	for (size_t s = 0; s < nt; s++) {
		free(t[s].edges);
		free(t[s].ids);
	}
	free(t);
	free(dfa);
	free(queue);
	free(order);
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
	free(ac->delta);
	free(ac->out_idx);
	free(ac->out_ids);
	free(ac);
	return NULL;
}

void
mt_ac_scan(const struct mt_ac *ac, const char *p, size_t len, mt_ac_hit_fn *hit, void *ctx)
{
	const uint8_t *cls = ac->cls;
	const uint32_t *delta = ac->delta;
	const uint8_t *s = (const uint8_t *)p, *end = s + len;
	uint32_t st = 0, out_first = ac->out_first;

	if (out_first >= ac->nstates * ac->nclasses)
		return; /* no literal at all */
	while (s < end) {
		st = delta[st + cls[*s++]];
		if (__builtin_expect(st >= out_first, 0)) {
			uint32_t k = (st - out_first) / ac->nclasses;

			for (uint32_t i = ac->out_idx[k]; i < ac->out_idx[k + 1]; i++)
				hit(ctx, ac->out_ids[i]);
		}
	}
}

size_t
mt_ac_states(const struct mt_ac *ac)
{
	return ac->nstates;
}

size_t
mt_ac_memory(const struct mt_ac *ac)
{
	return (size_t)ac->nstates * ac->nclasses * sizeof(uint32_t) +
	       (size_t)ac->out_idx[ac->nstates - ac->out_first / ac->nclasses] * sizeof(uint32_t);
}
