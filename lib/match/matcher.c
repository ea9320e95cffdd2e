/* matcher - a line against the catalog: prefilter, then PCRE2 JIT under limits. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "match/acmatch.h"
#include "match/literal.h"
#include "match/matcher.h"
#include "util/xalloc.h"

/* One prefilter literal of a signature, with the second one its alternative requires. */
struct lit {
	uint32_t sig;
	uint32_t also_id;      /* the second literal's index in alsos (shared by equal ones) */
	uint8_t len, also_len; /* also_len 0: no second literal */
	bool set2;	       /* the line must also hold one of the signature's set2 */
	char lit[MT_LITERAL_MAX];
	char also[MT_LITERAL_MAX];
};

struct mt_matcher {
	const struct mt_catalog *catalog;
	size_t nsigs;
	struct mt_ac *ac;
	/*
	 * Every signature's literals, one after the other: signature i has
	 * lits[first[i]] to lits[first[i + 1] - 1], and the automaton reports
	 * literal n as id n (at most MT_CATALOG_MAX * MT_LITERAL_ALTS, and as many
	 * set2 words after them: far below 2^32).
	 */
	struct lit *lits;
	uint32_t *first; /* nsigs + 1 */
	size_t nlits;
	/*
	 * The signatures' set2 words (literal.h), likewise: lits2[first2[i]] on;
	 * the automaton reports word n as id nlits + n.
	 */
	struct lit *lits2;
	uint32_t *first2;
	size_t nlits2;
	/*
	 * The distinct second literals: many records share one ("4.7." after
	 * "said: 4"), so a line is searched once for each, whatever the number
	 * of records that ask; also_gen[k] == gen: alsos[k] was looked for in
	 * this line, with the answer in also_found[k].  The first few are
	 * searched for one by one (memmem in a lower-case copy of the line);
	 * a line that asks for more (tens: the remote-x-* family on an Exim
	 * "SMTP error from remote mail server" line) is scanned once for all
	 * the second literals of first literals that many records share (only
	 * those can be asked for so often: a smaller automaton), also_ac.
	 */
	struct lit *alsos;
	size_t nalsos;
	struct mt_ac *also_ac;
	bool *also_in_ac;
	uint32_t *also_gen;
	bool *also_found;
	uint32_t *also_hit;	/* == gen: found by the automaton's scan */
	uint32_t also_scan_gen; /* == gen: the line has been scanned */
	uint32_t also_asked;	/* the line's searches so far */
	char *lower;		/* the line in lower case (ASCII) */
	size_t lower_cap;
	uint32_t lower_gen; /* == gen: lower holds this line */
	uint32_t *costly;   /* indexes of signatures without a literal */
	size_t ncostly;
	const char *line; /* the line being run, for the second literal's check */
	size_t len;

	/* Per-run scratch: candidates are deduplicated with a generation stamp. */
	uint32_t *stamp;
	uint32_t *also_stamp; /* per literal id: its second literal is not in this line */
	uint32_t *set2_stamp; /* per signature: one of its set2 is in this line */
	uint32_t *pend_stamp; /* per signature: in pend */
	uint32_t *pend;	      /* literal seen, waiting for the end of the line for set2 */
	size_t npend;
	uint32_t gen;
	uint32_t *cand;
	size_t ncand;

	pcre2_match_data *md;
	pcre2_match_context *mctx;
	pcre2_jit_stack *jit_stack;

	uint64_t *limit_hits; /* per signature */
	bool *disabled;	      /* per signature */
	struct mt_matcher_stats stats;
	bool naive;

	struct mt_match results[MT_MATCHES_MAX];
};

/* v with room for need elements: doubled (from first) when short. */
static void *
grow(void *v, size_t *cap, size_t need, size_t first, size_t size)
{
	if (need <= *cap)
		return v;
	*cap = *cap ? 2 * *cap : first;
	if (*cap < need)
		*cap = need;
	return mt_xreallocarray(v, *cap, size);
}

#define ALSO_ONE_BY_ONE 2 /* second literals searched for one by one in a line */
#define ALSO_SHARED	4 /* records sharing a first literal: its second ones in also_ac */

static uint32_t
hash_lit(const char *p, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (uint8_t)p[i]) * 16777619u;
	return h;
}

/*
 * The slot of text p in an open-addressing table of indexes + 1 into pool
 * (mask + 1 slots, never full): where that text is, or the free slot where
 * it goes.
 */
static size_t
probe(const uint32_t *tab, size_t mask, const struct lit *pool, const char *p, size_t n)
{
	size_t h = hash_lit(p, n) & mask;

	while (tab[h] != 0 &&
	       (pool[tab[h] - 1].len != n || memcmp(pool[tab[h] - 1].lit, p, n) != 0))
		h = (h + 1) & mask;
	return h;
}

/*
 * Give every second literal the index of its text in m->alsos (equal texts
 * one index) and build the automaton of those whose first literal at least
 * ALSO_SHARED literals share.
 */
static void
index_alsos(struct mt_matcher *m)
{
	struct mt_ac_builder *b = mt_ac_builder_new();
	size_t nslots = 16;
	uint32_t *slot;	  /* index + 1 into alsos; 0: free */
	uint32_t *shared; /* by first literal: literal index + 1, then how many share it */
	uint32_t *nshare;

	while (nslots < 2 * m->nlits)
		nslots *= 2;
	slot = mt_xcalloc(nslots, sizeof(*slot));
	shared = mt_xcalloc(nslots, sizeof(*shared));
	nshare = mt_xcalloc(nslots, sizeof(*nshare));
	m->alsos = mt_xcalloc(m->nlits ? m->nlits : 1, sizeof(*m->alsos));
	m->also_in_ac = mt_xcalloc(m->nlits ? m->nlits : 1, sizeof(*m->also_in_ac));
	/* How many literals with a second one share each first literal's text. */
	for (size_t n = 0; n < m->nlits; n++) {
		const struct lit *t = &m->lits[n];
		size_t h;

		if (t->also_len == 0)
			continue;
		h = probe(shared, nslots - 1, m->lits, t->lit, t->len);
		if (shared[h] == 0)
			shared[h] = (uint32_t)n + 1;
		nshare[h]++;
	}
	for (size_t n = 0; n < m->nlits; n++) {
		struct lit *t = &m->lits[n];
		size_t h;

		if (t->also_len == 0)
			continue;
		h = probe(slot, nslots - 1, m->alsos, t->also, t->also_len);
		if (slot[h] == 0) {
			struct lit *a = &m->alsos[m->nalsos++];

			a->len = t->also_len;
			memcpy(a->lit, t->also, t->also_len);
			slot[h] = (uint32_t)m->nalsos;
		}
		t->also_id = slot[h] - 1;
		h = probe(shared, nslots - 1, m->lits, t->lit, t->len);
		if (nshare[h] >= ALSO_SHARED)
			m->also_in_ac[t->also_id] = true;
	}
	free(slot);
	free(shared);
	free(nshare);
	for (size_t k = 0; k < m->nalsos; k++)
		if (m->also_in_ac[k])
			mt_ac_builder_add(b, m->alsos[k].lit, m->alsos[k].len, (uint32_t)k);
	m->also_ac = mt_ac_build(b);
	m->also_gen = mt_xcalloc(m->nalsos ? m->nalsos : 1, sizeof(*m->also_gen));
	m->also_found = mt_xcalloc(m->nalsos ? m->nalsos : 1, sizeof(*m->also_found));
	m->also_hit = mt_xcalloc(m->nalsos ? m->nalsos : 1, sizeof(*m->also_hit));
}

struct mt_matcher *
mt_matcher_new(const struct mt_catalog *c)
{
	struct mt_matcher *m = mt_xcalloc(1, sizeof(*m));
	struct mt_ac_builder *b = mt_ac_builder_new();
	struct mt_literals *l = mt_xmalloc(sizeof(*l)); /* about 13 KiB: not on the stack */
	size_t cap = 0, cap2 = 0;
	uint32_t max_groups = 0;

	m->catalog = c;
	m->nsigs = mt_catalog_count(c);
	m->first = mt_xcalloc(m->nsigs + 1, sizeof(*m->first));
	m->first2 = mt_xcalloc(m->nsigs + 1, sizeof(*m->first2));
	m->set2_stamp = mt_xcalloc(m->nsigs ? m->nsigs : 1, sizeof(*m->set2_stamp));
	m->pend_stamp = mt_xcalloc(m->nsigs ? m->nsigs : 1, sizeof(*m->pend_stamp));
	m->pend = mt_xcalloc(m->nsigs ? m->nsigs : 1, sizeof(*m->pend));
	m->costly = mt_xcalloc(m->nsigs ? m->nsigs : 1, sizeof(*m->costly));
	m->stamp = mt_xcalloc(m->nsigs ? m->nsigs : 1, sizeof(*m->stamp));
	m->cand = mt_xcalloc(m->nsigs ? m->nsigs : 1, sizeof(*m->cand));
	m->limit_hits = mt_xcalloc(m->nsigs ? m->nsigs : 1, sizeof(*m->limit_hits));
	m->disabled = mt_xcalloc(m->nsigs ? m->nsigs : 1, sizeof(*m->disabled));
	for (size_t i = 0; i < m->nsigs; i++) {
		const struct mt_signature *s = mt_catalog_get(c, i);

		m->first[i] = (uint32_t)m->nlits;
		m->first2[i] = (uint32_t)m->nlits2;
		mt_literal_extract(s->regex, strlen(s->regex), l);
		if (l->count == 0)
			m->costly[m->ncostly++] = (uint32_t)i;
		m->lits = grow(m->lits, &cap, m->nlits + l->count, 256, sizeof(*m->lits));
		for (size_t j = 0; j < l->count; j++) {
			struct lit *t = &m->lits[m->nlits];

			t->sig = (uint32_t)i;
			t->len = (uint8_t)l->len[j];
			memcpy(t->lit, l->lit[j], l->len[j]);
			t->also_len = (uint8_t)l->also_len[j];
			memcpy(t->also, l->also[j], l->also_len[j]);
			t->set2 = l->also_set[j] && l->set2_count > 0;
			m->nlits++;
		}
		m->lits2 = grow(m->lits2, &cap2, m->nlits2 + l->set2_count, 64, sizeof(*m->lits2));
		for (size_t j = 0; j < l->set2_count; j++) {
			struct lit *t = &m->lits2[m->nlits2++];

			memset(t, 0, sizeof(*t));
			t->sig = (uint32_t)i;
			t->len = (uint8_t)l->set2_len[j];
			memcpy(t->lit, l->set2[j], l->set2_len[j]);
		}
		if (s->ncaptures > max_groups)
			max_groups = s->ncaptures;
	}
	m->first[m->nsigs] = (uint32_t)m->nlits;
	m->first2[m->nsigs] = (uint32_t)m->nlits2;
	free(l);
	for (size_t n = 0; n < m->nlits; n++)
		mt_ac_builder_add(b, m->lits[n].lit, m->lits[n].len, (uint32_t)n);
	for (size_t n = 0; n < m->nlits2; n++)
		mt_ac_builder_add(b, m->lits2[n].lit, m->lits2[n].len, (uint32_t)(m->nlits + n));
	m->also_stamp = mt_xcalloc(m->nlits ? m->nlits : 1, sizeof(*m->also_stamp));
	index_alsos(m);
	m->ac = mt_ac_build(b);
	m->md = pcre2_match_data_create(max_groups + 1, NULL);
	m->mctx = pcre2_match_context_create(NULL);
	m->jit_stack = pcre2_jit_stack_create(32 * 1024, MT_JIT_STACK_MAX, NULL);
	if (m->md == NULL || m->mctx == NULL || m->jit_stack == NULL)
		mt_panic("pcre2: out of memory");
	(void)pcre2_set_match_limit(m->mctx, MT_MATCH_LIMIT);
	(void)pcre2_set_depth_limit(m->mctx, MT_DEPTH_LIMIT);
	(void)pcre2_set_heap_limit(m->mctx, MT_HEAP_LIMIT_KIB);
	pcre2_jit_stack_assign(m->mctx, NULL, m->jit_stack);
	return m;
}

struct mt_matcher *
mt_matcher_free(struct mt_matcher *m)
{
	if (m == NULL)
		return NULL;
	mt_ac_free(m->ac);
	pcre2_match_data_free(m->md);
	pcre2_match_context_free(m->mctx);
	pcre2_jit_stack_free(m->jit_stack);
	free(m->lits);
	free(m->first);
	free(m->lits2);
	free(m->first2);
	free(m->set2_stamp);
	free(m->pend_stamp);
	free(m->pend);
	free(m->costly);
	free(m->stamp);
	free(m->also_stamp);
	free(m->alsos);
	mt_ac_free(m->also_ac);
	free(m->also_in_ac);
	free(m->also_gen);
	free(m->also_found);
	free(m->also_hit);
	free(m->lower);
	free(m->cand);
	free(m->limit_hits);
	free(m->disabled);
	free(m);
	return NULL;
}

/* dst = src with ASCII A-Z in lower case, 8 bytes at a time. */
static void
lower_ascii(char *dst, const char *src, size_t n)
{
	const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x, low7, ge_a, gt_z, upper;

		memcpy(&x, src + i, 8);
		/* Per byte, on its low 7 bits (no carry across bytes): >= 'A', > 'Z'. */
		low7 = x & ~high;
		ge_a = low7 + (0x80 - 'A') * ones;
		gt_z = low7 + (0x80 - 'Z' - 1) * ones;
		upper = ge_a & ~gt_z & ~x & high; /* and the byte is ASCII */
		x |= upper >> 2;		  /* 0x80 >> 2 == 0x20: the lower-case bit */
		memcpy(dst + i, &x, 8);
	}
	for (; i < n; i++)
		dst[i] = src[i] >= 'A' && src[i] <= 'Z' ? (char)(src[i] - 'A' + 'a') : src[i];
}

static void
on_also(void *ctx, uint32_t id)
{
	struct mt_matcher *m = ctx;

	m->also_hit[id] = m->gen;
}

/* Whether the line holds second literal k (lower-case ASCII) in any case. */
static bool
has_also(struct mt_matcher *m, uint32_t k)
{
	if (m->also_gen[k] == m->gen)
		return m->also_found[k];
	if (m->also_in_ac[k]) {
		if (m->also_scan_gen != m->gen && m->also_asked >= ALSO_ONE_BY_ONE) {
			m->also_scan_gen = m->gen;
			mt_ac_scan(m->also_ac, m->line, m->len, on_also, m);
		}
		if (m->also_scan_gen == m->gen)
			return m->also_hit[k] == m->gen;
	}
	m->also_asked++;
	if (m->lower_gen != m->gen) {
		m->lower = grow(m->lower, &m->lower_cap, m->len ? m->len : 1, 256, 1);
		lower_ascii(m->lower, m->line, m->len);
		m->lower_gen = m->gen;
	}
	m->also_gen[k] = m->gen;
	m->also_found[k] = memmem(m->lower, m->len, m->alsos[k].lit, m->alsos[k].len) != NULL;
	return m->also_found[k];
}

static void
add_candidate(struct mt_matcher *m, uint32_t sig)
{
	if (m->stamp[sig] != m->gen) {
		m->stamp[sig] = m->gen;
		m->cand[m->ncand++] = sig;
	}
}

/* A literal of a signature is in the line: a candidate if its second one is too. */
static void
on_hit(void *ctx, uint32_t id)
{
	struct mt_matcher *m = ctx;
	const struct lit *l;
	uint32_t sig;

	if (id >= m->nlits) { /* a set2 word: its literal may come before or after it */
		m->set2_stamp[m->lits2[id - m->nlits].sig] = m->gen;
		return;
	}
	l = &m->lits[id];
	sig = l->sig;
	if (m->stamp[sig] == m->gen || m->also_stamp[id] == m->gen)
		return;
	/* Checked once per line and literal: a line that repeats it costs one search. */
	if (l->also_len > 0 && !has_also(m, l->also_id)) {
		m->also_stamp[id] = m->gen;
		m->stats.second_literal_misses++;
		return;
	}
	if (l->set2 && m->set2_stamp[sig] != m->gen) {
		if (m->pend_stamp[sig] != m->gen) {
			m->pend_stamp[sig] = m->gen;
			m->pend[m->npend++] = sig;
		}
		return;
	}
	add_candidate(m, sig);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* Confirm signature i; fill the next result on a match. */
static void
confirm(struct mt_matcher *m, uint32_t i, const char *line, size_t len, enum mt_mta mta,
	size_t *nres)
{
	const struct mt_signature *s = mt_catalog_get(m->catalog, i);
	struct mt_match *r;
	PCRE2_SIZE *ov;
	uint32_t pairs;
	int rc;

	if (m->disabled[i])
		return;
	if (mta != MT_MTA_UNKNOWN && s->mta_mask != 0 && !(s->mta_mask & (1u << mta)))
		return;
	m->stats.regex_runs++;
	/*
	 * The JIT's fast path skips pcre2_match()'s checks (about a hundred
	 * instructions a run); it does not check UTF, which the patterns do not
	 * need (PCRE2_MATCH_INVALID_UTF: catalog.c), and keeps the match limit.
	 */
	rc = s->jit ? pcre2_jit_match(s->code, (PCRE2_SPTR)line, len, 0, 0, m->md, m->mctx) :
		      pcre2_match(s->code, (PCRE2_SPTR)line, len, 0, 0, m->md, m->mctx);
	if (rc == PCRE2_ERROR_NOMATCH)
		return;
	if (rc < 0) {
		if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
		    rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT) {
			m->stats.limit_hits++;
			m->limit_hits[i]++;
		} else {
			m->stats.errors++;
		}
		return;
	}
	m->stats.matches++;
	if (*nres == MT_MATCHES_MAX) {
		m->stats.overflow++;
		return;
	}
	r = &m->results[(*nres)++];
	r->sig = s;
	r->ncaptures = 0;
	ov = pcre2_get_ovector_pointer(m->md);
	pairs = pcre2_get_ovector_count(m->md);
	for (uint32_t g = 1; g <= s->ncaptures && g <= MT_CAPTURES_MAX && g < pairs; g++) {
		if (s->capture_name[g] == NULL || ov[2 * g] == PCRE2_UNSET)
			continue;
		r->captures[r->ncaptures].name = s->capture_name[g];
		r->captures[r->ncaptures].v.p = line + ov[2 * g];
		r->captures[r->ncaptures].v.len = ov[2 * g + 1] - ov[2 * g];
		r->ncaptures++;
	}
}

size_t
mt_matcher_run(struct mt_matcher *m, const char *line, size_t len, enum mt_mta mta,
	       const struct mt_match **ret)
{
	size_t nres = 0;

	m->stats.lines++;
	m->ncand = 0;
	if (m->naive) {
		for (size_t i = 0; i < m->nsigs; i++)
			m->cand[m->ncand++] = (uint32_t)i;
	} else {
		if (++m->gen == 0) { /* wrapped: stamps from 4G lines ago could collide */
			memset(m->stamp, 0, m->nsigs * sizeof(*m->stamp));
			memset(m->also_stamp, 0, m->nlits * sizeof(*m->also_stamp));
			memset(m->set2_stamp, 0, m->nsigs * sizeof(*m->set2_stamp));
			memset(m->pend_stamp, 0, m->nsigs * sizeof(*m->pend_stamp));
			memset(m->also_gen, 0, m->nalsos * sizeof(*m->also_gen));
			memset(m->also_hit, 0, m->nalsos * sizeof(*m->also_hit));
			m->also_scan_gen = 0;
			m->lower_gen = 0;
			m->gen = 1;
		}
		m->line = line;
		m->len = len;
		m->npend = 0;
		m->also_asked = 0;
		mt_ac_scan(m->ac, line, len, on_hit, m);
		for (size_t i = 0; i < m->npend; i++)
			if (m->set2_stamp[m->pend[i]] == m->gen)
				add_candidate(m, m->pend[i]);
		for (size_t i = 0; i < m->ncostly; i++)
			add_candidate(m, m->costly[i]);
		if (m->ncand > 16)
			qsort(m->cand, m->ncand, sizeof(*m->cand), cmp_u32);
		else /* the usual few: an insertion sort costs less than qsort's call */
			for (size_t i = 1; i < m->ncand; i++) {
				uint32_t v = m->cand[i];
				size_t j = i;

				for (; j > 0 && m->cand[j - 1] > v; j--)
					m->cand[j] = m->cand[j - 1];
				m->cand[j] = v;
			}
	}
	m->stats.candidates += m->ncand;
	for (size_t i = 0; i < m->ncand; i++)
		confirm(m, m->cand[i], line, len, mta, &nres);

	/* Most specific first; insertion sort keeps catalog order among equals. */
	for (size_t i = 1; i < nres; i++) {
		struct mt_match r = m->results[i];
		size_t j = i;

		while (j > 0 && m->results[j - 1].sig->specificity < r.sig->specificity) {
			m->results[j] = m->results[j - 1];
			j--;
		}
		m->results[j] = r;
	}
	*ret = m->results;
	return nres;
}

uint64_t
mt_matcher_limit_hits(const struct mt_matcher *m, size_t i)
{
	return i < m->nsigs ? m->limit_hits[i] : 0;
}

const struct mt_matcher_stats *
mt_matcher_stats(const struct mt_matcher *m)
{
	return &m->stats;
}

bool
mt_matcher_is_costly(const struct mt_matcher *m, size_t i)
{
	return i < m->nsigs && m->first[i] == m->first[i + 1];
}

void
mt_matcher_literals(const struct mt_matcher *m, size_t i, struct mt_literals *ret)
{
	memset(ret, 0, sizeof(*ret));
	for (uint32_t n = i < m->nsigs ? m->first[i] : 0; i < m->nsigs && n < m->first[i + 1];
	     n++) {
		const struct lit *t = &m->lits[n];
		size_t k = ret->count++;

		ret->len[k] = t->len;
		memcpy(ret->lit[k], t->lit, t->len);
		ret->also_len[k] = t->also_len;
		memcpy(ret->also[k], t->also, t->also_len);
		ret->also_set[k] = t->set2;
	}
	for (uint32_t n = i < m->nsigs ? m->first2[i] : 0; i < m->nsigs && n < m->first2[i + 1];
	     n++) {
		const struct lit *t = &m->lits2[n];
		size_t k = ret->set2_count++;

		ret->set2_len[k] = t->len;
		memcpy(ret->set2[k], t->lit, t->len);
	}
}

size_t
mt_matcher_memory(const struct mt_matcher *m)
{
	/*
	 * Per signature: first, first2, costly, stamp, set2_stamp, pend_stamp,
	 * pend, cand, limit_hits, disabled.
	 */
	return mt_ac_memory(m->ac) + mt_ac_memory(m->also_ac) +
	       m->nalsos * (sizeof(*m->alsos) + 2 * sizeof(uint32_t) + 2 * sizeof(bool)) +
	       m->nlits * (sizeof(*m->lits) + sizeof(*m->also_stamp)) +
	       m->nlits2 * sizeof(*m->lits2) +
	       m->nsigs * (9 * sizeof(uint32_t) + sizeof(uint64_t) + sizeof(bool));
}

void
mt_matcher_set_enabled(struct mt_matcher *m, size_t i, bool enabled)
{
	if (i < m->nsigs)
		m->disabled[i] = !enabled;
}

void
mt_matcher_set_naive(struct mt_matcher *m, bool naive)
{
	m->naive = naive;
}
