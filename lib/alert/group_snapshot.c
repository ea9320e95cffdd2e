/*
 * group_snapshot - save a grouper's groups as text and restore them.
 *
 * The line format is in group.h.  Loading parses a line into a struct snap
 * of views into the input (nothing allocated, every text checked against
 * its cap), checks it for consistency with itself and with the params, and
 * only then builds the group, which cannot fail.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alert/group.h"
#include "alert/group_internal.h"
#include "match/catalog.h"
#include "util/buf.h"
#include "util/tokline.h"
#include "util/xalloc.h"

#define SIG_ID_MAX 256 /* bytes of a signature id in a snapshot line */

static const char *const locale_names[] = { "en", "zh" };

/* What the group's next notification will be, as the line's next= says. */
static const char *
next_name(bool started, uint64_t pending, uint64_t nnotified)
{
	if (!started)
		return "pending";
	if (pending == 0)
		return "resolved";
	return nnotified == 0 ? "first" : nnotified == 1 ? "update" : "reminder";
}

/* A bitmap of distinct entries, as hex; nothing if it is empty. */
static void
w_bits(struct mt_tokline *w, const char *name, const uint8_t *bits)
{
	static const char hex[] = "0123456789abcdef";
	char out[DISTINCT_BYTES * 2 + 1];
	bool any = false;

	for (size_t i = 0; i < DISTINCT_BYTES; i++) {
		out[2 * i] = hex[bits[i] >> 4];
		out[2 * i + 1] = hex[bits[i] & 15];
		any |= bits[i] != 0;
	}
	out[sizeof(out) - 1] = '\0';
	if (!any || w->r != 0)
		return;
	w->r = mt_buf_printf(w->b, " %s=%s", name, out);
}

static void
save_group(struct mt_tokline *w, const struct mt_grouper *gr, const struct group *g)
{
	mt_tokline_puts(w, "group");
	mt_tokline_tok(w, "sig", g->sig->id);
	if (g->has_key) {
		mt_tokline_tok(w, "kn", g->key_name.s);
		mt_tokline_tok(w, "kv", g->key_value.s);
	}
	mt_tokline_num(w, "serial", g->serial);
	mt_tokline_num(w, "seq", g->seq);
	mt_tokline_num(w, "total", g->total);
	mt_tokline_num(w, "new", g->pending);
	mt_tokline_num(w, "notified", g->nnotified);
	mt_tokline_puts(w, " next=");
	mt_tokline_puts(w, next_name(g->started, g->pending, g->nnotified));
	mt_tokline_time(w, "first", g->first_seen);
	mt_tokline_time(w, "last", g->last_seen);
	mt_tokline_time(w, "notify", g->last_notify);
	mt_tokline_time(w, "due", g->due);
	if (!g->started) {
		mt_tokline_time(w, "tmax", g->times_max);
		for (size_t i = 0; i < g->tr.n; i++)
			mt_tokline_time(w, "t",
					g->times[grp_ring_slot(&g->tr, i, gr->p.min_count)]);
	}
	mt_tokline_puts(w, " sev=");
	mt_tokline_puts(w, mt_severity_name(g->severity));
	mt_tokline_puts(w, " loc=");
	mt_tokline_puts(w, locale_names[g->locale == MT_LOCALE_ZH]);
	if (g->has_hostname) {
		mt_tokline_tok(w, "host", g->hostname.s);
	}
	if (g->has_log_host) {
		mt_tokline_tok(w, "lhost", g->log_host.s);
	}
	mt_tokline_tok(w, "file", g->file.s);
	if (g->repeats > 0)
		mt_tokline_num(w, "rep", g->repeats);
	w_bits(w, "mb", g->mbits);
	w_bits(w, "db", g->dbits);
	if (g->dest.s != NULL) {
		mt_tokline_tok(w, "dest", g->dest.s);
	}
	for (size_t i = 0; i < g->exr.n; i++) {
		const struct stamped *e = &g->ex[grp_ring_slot(&g->exr, i, MT_GROUP_EXAMPLES_MAX)];

		mt_tokline_num(w, "ex", e->seq);
		mt_tokline_puts(w, ",");
		mt_tokline_text(w, e->t.s);
	}
	for (size_t i = 0; i < g->idr.n; i++) {
		const struct stamped *e = &g->ids[grp_ring_slot(&g->idr, i, MT_GROUP_IDS_MAX)];

		mt_tokline_num(w, "id", e->seq);
		mt_tokline_puts(w, ",");
		mt_tokline_text(w, e->t.s);
	}
	for (size_t i = 0; i < g->nfields; i++) {
		mt_tokline_tok(w, "f", g->fields[i].name.s);
		mt_tokline_puts(w, ",");
		mt_tokline_text(w, g->fields[i].value.s);
	}
	mt_tokline_puts(w, "\n");
}

int
mt_grouper_save(const struct mt_grouper *gr, struct mt_buf *out)
{
	struct mt_tokline w;

	mt_tokline_begin(&w, out);
	/* Oldest activity first: loading pushes each on the LRU head, rebuilding the order. */
	for (const struct group *g = gr->lru_tail; g != NULL && w.r == 0; g = g->lru_prev)
		save_group(&w, gr, g);
	return mt_tokline_end(&w);
}

struct view {
	const char *p;
	size_t len;
};

struct stamped_view {
	uint64_t seq;
	struct view v;
};

/* One parsed line: views into the input, every text already checked against its cap. */
struct snap {
	unsigned seen; /* bit per singular token */
	struct view sig, kn, kv, next, sev, loc, host, lhost, file;
	uint64_t serial, seq, total, pending, notified;
	double first, last, notify, due, tmax;
	uint64_t rep;		  /* repeats folded in */
	struct view mb, db, dest; /* distinct messages and destinations (hex), the first one */
	double t[MT_GROUP_MIN_COUNT_MAX];
	size_t nt;
	struct stamped_view ex[MT_GROUP_EXAMPLES_MAX], id[MT_GROUP_IDS_MAX];
	size_t nex, nid;
	struct view fname[MT_GROUP_FIELDS_MAX], fvalue[MT_GROUP_FIELDS_MAX];
	size_t nf;
};

enum tok_type {
	TOK_TEXT,
	TOK_NUM,
	TOK_TIME,
};

/* The singular tokens; max: the cap of a text, decoded. */
static const struct {
	const char *name;
	enum tok_type type;
	size_t off;
	size_t max;
	bool required;
} toks[] = {
	{ "sig", TOK_TEXT, offsetof(struct snap, sig), SIG_ID_MAX, true },
	{ "kn", TOK_TEXT, offsetof(struct snap, kn), MT_GROUP_NAME_MAX, false },
	{ "kv", TOK_TEXT, offsetof(struct snap, kv), MT_GROUP_TEXT_MAX, false },
	{ "serial", TOK_NUM, offsetof(struct snap, serial), 0, true },
	{ "seq", TOK_NUM, offsetof(struct snap, seq), 0, true },
	{ "total", TOK_NUM, offsetof(struct snap, total), 0, true },
	{ "new", TOK_NUM, offsetof(struct snap, pending), 0, true },
	{ "notified", TOK_NUM, offsetof(struct snap, notified), 0, true },
	{ "next", TOK_TEXT, offsetof(struct snap, next), 16, true },
	{ "first", TOK_TIME, offsetof(struct snap, first), 0, true },
	{ "last", TOK_TIME, offsetof(struct snap, last), 0, true },
	{ "notify", TOK_TIME, offsetof(struct snap, notify), 0, true },
	{ "due", TOK_TIME, offsetof(struct snap, due), 0, true },
	{ "tmax", TOK_TIME, offsetof(struct snap, tmax), 0, false },
	{ "sev", TOK_TEXT, offsetof(struct snap, sev), 16, true },
	{ "loc", TOK_TEXT, offsetof(struct snap, loc), 16, true },
	{ "host", TOK_TEXT, offsetof(struct snap, host), HOSTNAME_MAX, false },
	{ "lhost", TOK_TEXT, offsetof(struct snap, lhost), HOSTNAME_MAX, false },
	{ "file", TOK_TEXT, offsetof(struct snap, file), FILE_NAME_MAX, true },
	{ "rep", TOK_NUM, offsetof(struct snap, rep), 0, false },
	{ "mb", TOK_TEXT, offsetof(struct snap, mb), DISTINCT_BYTES * 2, false },
	{ "db", TOK_TEXT, offsetof(struct snap, db), DISTINCT_BYTES * 2, false },
	{ "dest", TOK_TEXT, offsetof(struct snap, dest), MT_GROUP_FIELD_MAX, false },
};

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Decode escaped text into dst (max + 1 bytes, NUL-terminated); dst NULL:
 * check only.  -EINVAL on a raw byte outside '!'..'~' or a raw '\\' or ',',
 * a bad escape, a NUL, or more than max bytes decoded.
 */
static int
unescape(struct view v, char *dst, size_t max, size_t *ret_len)
{
	size_t n = 0;

	for (size_t i = 0; i < v.len; i++) {
		unsigned char c = (unsigned char)v.p[i];

		if (c == '\\') {
			int hi, lo;

			if (v.len - i < 4 || v.p[i + 1] != 'x' || (hi = hexval(v.p[i + 2])) < 0 ||
			    (lo = hexval(v.p[i + 3])) < 0 || (hi | lo) == 0)
				return -EINVAL;
			c = (unsigned char)(hi << 4 | lo);
			i += 3;
		} else if (c <= ' ' || c >= 0x7f || c == ',') {
			return -EINVAL;
		}
		if (n == max)
			return -EINVAL;
		if (dst != NULL)
			dst[n] = (char)c;
		n++;
	}
	if (dst != NULL)
		dst[n] = '\0';
	if (ret_len != NULL)
		*ret_len = n;
	return 0;
}

static bool
view_is(struct view v, const char *s)
{
	return v.len == strlen(s) && memcmp(v.p, s, v.len) == 0;
}

/* "N,TEXT": a number, a comma, then text checked against max. */
static int
parse_stamped(struct view v, size_t max, struct stamped_view *ret)
{
	const char *comma = memchr(v.p, ',', v.len);
	struct view num, text;

	if (comma == NULL)
		return -EINVAL;
	num = (struct view){ v.p, (size_t)(comma - v.p) };
	text = (struct view){ comma + 1, v.len - num.len - 1 };
	if (mt_tokline_parse_num(num.p, num.len, &ret->seq) < 0 ||
	    unescape(text, NULL, max, NULL) < 0)
		return -EINVAL;
	ret->v = text;
	return 0;
}

static int
parse_token(struct snap *s, struct view name, struct view v)
{
	for (size_t i = 0; i < sizeof(toks) / sizeof(toks[0]); i++) {
		char *field = (char *)s + toks[i].off;

		if (!view_is(name, toks[i].name))
			continue;
		if (s->seen & (1u << i))
			return -EINVAL; /* repeated */
		s->seen |= 1u << i;
		switch (toks[i].type) {
		case TOK_TEXT:
			if (unescape(v, NULL, toks[i].max, NULL) < 0)
				return -EINVAL;
			memcpy(field, &v, sizeof(v));
			return 0;
		case TOK_NUM:
			return mt_tokline_parse_num(v.p, v.len, (uint64_t *)(void *)field);
		case TOK_TIME:
			return mt_tokline_parse_time(v.p, v.len, (double *)(void *)field);
		}
		return -EINVAL;
	}
	if (view_is(name, "t")) {
		if (s->nt == MT_GROUP_MIN_COUNT_MAX)
			return -EINVAL;
		return mt_tokline_parse_time(v.p, v.len, &s->t[s->nt++]);
	}
	if (view_is(name, "ex")) {
		if (s->nex == MT_GROUP_EXAMPLES_MAX)
			return -EINVAL;
		return parse_stamped(v, MT_GROUP_TEXT_MAX, &s->ex[s->nex++]);
	}
	if (view_is(name, "id")) {
		if (s->nid == MT_GROUP_IDS_MAX)
			return -EINVAL;
		return parse_stamped(v, MT_GROUP_ID_MAX, &s->id[s->nid++]);
	}
	if (view_is(name, "f")) {
		const char *comma = memchr(v.p, ',', v.len);
		struct view fn, fv;

		if (comma == NULL || s->nf == MT_GROUP_FIELDS_MAX)
			return -EINVAL;
		fn = (struct view){ v.p, (size_t)(comma - v.p) };
		fv = (struct view){ comma + 1, v.len - fn.len - 1 };
		if (unescape(fn, NULL, MT_GROUP_NAME_MAX, NULL) < 0 ||
		    unescape(fv, NULL, MT_GROUP_FIELD_MAX, NULL) < 0)
			return -EINVAL;
		s->fname[s->nf] = fn;
		s->fvalue[s->nf++] = fv;
		return 0;
	}
	return -EINVAL; /* unknown */
}

/* The tokens after "group ": NAME=VALUE separated by single spaces. */
static int
snap_parse(struct snap *s, const char *p, size_t len)
{
	const char *end = p + len;

	memset(s, 0, offsetof(struct snap, t));
	s->nt = s->nex = s->nid = s->nf = 0;
	while (p < end) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *te = sp != NULL ? sp : end;
		const char *eq = memchr(p, '=', (size_t)(te - p));

		if (eq == NULL || eq == p)
			return -EINVAL;
		if (parse_token(s, (struct view){ p, (size_t)(eq - p) },
				(struct view){ eq + 1, (size_t)(te - eq - 1) }) < 0)
			return -EINVAL;
		if (sp != NULL && sp + 1 == end)
			return -EINVAL; /* a trailing space */
		p = sp != NULL ? sp + 1 : end;
	}
	for (size_t i = 0; i < sizeof(toks) / sizeof(toks[0]); i++)
		if (toks[i].required && !(s->seen & (1u << i)))
			return -EINVAL;
	return 0;
}

static bool
snap_has(const struct snap *s, const char *name)
{
	for (size_t i = 0; i < sizeof(toks) / sizeof(toks[0]); i++)
		if (strcmp(toks[i].name, name) == 0)
			return (s->seen & (1u << i)) != 0;
	return false;
}

/* A bitmap token, if present: exactly DISTINCT_BYTES bytes in lower-case hex. */
static bool
bits_ok(const struct snap *s, const char *name, struct view v)
{
	if (!snap_has(s, name))
		return true;
	if (v.len != DISTINCT_BYTES * 2)
		return false;
	for (size_t i = 0; i < v.len; i++)
		if (hexval(v.p[i]) < 0 || (v.p[i] >= 'A' && v.p[i] <= 'F'))
			return false;
	return true;
}

static void
bits_load(uint8_t *bits, struct view v)
{
	for (size_t i = 0; i < DISTINCT_BYTES && v.len == DISTINCT_BYTES * 2; i++)
		bits[i] = (uint8_t)(hexval(v.p[2 * i]) << 4 | hexval(v.p[2 * i + 1]));
}

/* Stamps oldest first: increasing (examples strictly), within (lo, hi]. */
static bool
stamps_ok(const struct stamped_view *v, size_t n, uint64_t lo, uint64_t hi, bool strict)
{
	for (size_t i = 0; i < n; i++) {
		if (v[i].seq <= lo || v[i].seq > hi)
			return false;
		if (strict && i > 0 && v[i].seq <= v[i - 1].seq)
			return false;
	}
	return true;
}

/* Is the group consistent, with itself and with the params (things the code relies on)? */
static int
snap_check(const struct mt_grouper *gr, const struct snap *s, enum mt_severity *ret_sev,
	   enum mt_locale *ret_loc)
{
	bool started = !view_is(s->next, "pending");
	size_t i;

	if (snap_has(s, "kn") != snap_has(s, "kv"))
		return -EINVAL;
	if (!view_is(s->next, next_name(started, s->pending, s->notified)))
		return -EINVAL;
	for (i = 0; i < 4 && !view_is(s->sev, mt_severity_name((enum mt_severity)i)); i++)
		;
	if (i == 4)
		return -EINVAL;
	*ret_sev = (enum mt_severity)i;
	for (i = 0; i < 2 && !view_is(s->loc, locale_names[i]); i++)
		;
	if (i == 2)
		return -EINVAL;
	*ret_loc = i == 1 ? MT_LOCALE_ZH : MT_LOCALE_EN;
	if (s->seq < s->total || s->seq < s->nt || !bits_ok(s, "mb", s->mb) ||
	    !bits_ok(s, "db", s->db))
		return -EINVAL;
	if (!started) {
		/* Occurrences in window, fewer than min_count; nothing counted or scheduled. */
		if (gr->p.min_count <= 1 || s->nt == 0 || s->nt >= gr->p.min_count ||
		    !snap_has(s, "tmax") || s->total != 0 || s->notified != 0 || s->due >= 0)
			return -EINVAL;
		for (i = 0; i < s->nt; i++)
			if (s->t[i] > s->tmax)
				return -EINVAL;
		if (!stamps_ok(s->ex, s->nex, 0, s->seq, true) ||
		    !stamps_ok(s->id, s->nid, 0, s->seq, false))
			return -EINVAL;
		return 0;
	}
	/*
	 * Started: unnotified occurrences have a check scheduled (the FIRST among
	 * them), a group with resolve_after 0 always has one, and examples and
	 * ids are those of the unnotified occurrences.
	 */
	if (s->nt != 0 || snap_has(s, "tmax") || s->total == 0 || s->pending > s->total ||
	    (s->notified == 0 && s->pending != s->total) || (s->pending > 0 && s->due < 0) ||
	    (gr->p.resolve_after <= 0 && s->due < 0))
		return -EINVAL;
	if (!stamps_ok(s->ex, s->nex, s->seq - s->pending, s->seq, true) ||
	    !stamps_ok(s->id, s->nid, s->seq - s->pending, s->seq, false))
		return -EINVAL;
	return 0;
}

/* Set t from escaped text already checked against max. */
static void
text_load(struct text *t, struct view v, size_t max, char *scratch)
{
	size_t n;

	if (unescape(v, scratch, max, &n) < 0)
		mt_panic("snapshot text changed between check and load");
	grp_text_set(t, scratch, n, max);
}

/* Build the group; -ENOENT: unknown signature, -EEXIST: duplicate, -ENOSPC: table full. */
static int
restore(struct mt_grouper *gr, const struct mt_catalog *c, const struct snap *s,
	enum mt_severity sev, enum mt_locale loc)
{
	char id[SIG_ID_MAX + 1], name[MT_GROUP_NAME_MAX + 1], scratch[MT_GROUP_TEXT_MAX + 1];
	const struct mt_signature *sig;
	struct key k = { 0 };
	struct group *g;
	uint64_t h;

	if (unescape(s->sig, id, SIG_ID_MAX, NULL) < 0)
		mt_panic("snapshot text changed between check and load");
	if ((sig = mt_catalog_find(c, id)) == NULL)
		return -ENOENT;
	k.id = sig->id;
	if (snap_has(s, "kn")) {
		if (unescape(s->kn, name, MT_GROUP_NAME_MAX, &k.name_len) < 0 ||
		    unescape(s->kv, scratch, MT_GROUP_TEXT_MAX, &k.value_len) < 0)
			mt_panic("snapshot text changed between check and load");
		k.name = name;
		k.value = scratch;
	}
	h = grp_key_hash(gr, &k);
	if (grp_lookup(gr, h, &k) != NULL)
		return -EEXIST;
	if (gr->ngroups >= gr->p.max_groups)
		return -ENOSPC;

	g = mt_xcalloc(1, sizeof(*g));
	g->hash = h;
	g->serial = s->serial;
	g->heap_i = NO_HEAP;
	g->sig = sig;
	g->has_key = k.name != NULL;
	if (g->has_key) {
		grp_text_set(&g->key_name, k.name, k.name_len, MT_GROUP_NAME_MAX);
		grp_text_set(&g->key_value, k.value, k.value_len, MT_GROUP_TEXT_MAX);
	}
	g->started = !view_is(s->next, "pending");
	if (!g->started) {
		g->times = mt_xreallocarray(NULL, gr->p.min_count, sizeof(*g->times));
		memcpy(g->times, s->t, s->nt * sizeof(*g->times));
		g->tr.n = s->nt;
		g->times_max = s->tmax;
	}
	g->seq = s->seq;
	g->total = s->total;
	g->pending = s->pending;
	g->nnotified = s->notified;
	g->first_seen = s->first;
	g->last_seen = s->last;
	g->last_notify = s->notify;
	g->due = s->due;
	g->severity = sev;
	g->locale = loc;
	g->has_hostname = snap_has(s, "host");
	if (g->has_hostname)
		text_load(&g->hostname, s->host, HOSTNAME_MAX, scratch);
	g->has_log_host = snap_has(s, "lhost");
	if (g->has_log_host)
		text_load(&g->log_host, s->lhost, HOSTNAME_MAX, scratch);
	text_load(&g->file, s->file, FILE_NAME_MAX, scratch);
	g->repeats = s->rep;
	if (snap_has(s, "mb"))
		bits_load(g->mbits, s->mb);
	if (snap_has(s, "db"))
		bits_load(g->dbits, s->db);
	if (snap_has(s, "dest"))
		text_load(&g->dest, s->dest, MT_GROUP_FIELD_MAX, scratch);
	for (size_t i = 0; i < s->nf; i++) {
		text_load(&g->fields[i].name, s->fname[i], MT_GROUP_NAME_MAX, scratch);
		text_load(&g->fields[i].value, s->fvalue[i], MT_GROUP_FIELD_MAX, scratch);
	}
	g->nfields = s->nf;
	for (size_t i = 0; i < s->nex; i++) {
		text_load(&g->ex[i].t, s->ex[i].v, MT_GROUP_TEXT_MAX, scratch);
		g->ex[i].seq = s->ex[i].seq;
	}
	g->exr.n = s->nex;
	for (size_t i = 0; i < s->nid; i++) {
		text_load(&g->ids[i].t, s->id[i].v, MT_GROUP_ID_MAX, scratch);
		g->ids[i].seq = s->id[i].seq;
	}
	g->idr.n = s->nid;

	/* New groups must sort after every restored one in heap ties, as they did before. */
	if (g->serial >= gr->serial)
		gr->serial = g->serial < UINT64_MAX ? g->serial + 1 : UINT64_MAX;
	grp_link(gr, g);
	grp_heap_update(gr, g);
	return 0;
}

size_t
mt_grouper_load(struct mt_grouper *gr, const struct mt_catalog *c, const char *p, size_t len,
		double now, size_t *ret_bad, size_t *ret_unknown)
{
	const char *end = p + len;
	size_t n = 0, bad = 0, unknown = 0;
	struct snap *s;

	if (gr->emitting)
		mt_panic("emit callback called back into the grouper");
	if (gr->ngroups != 0)
		mt_panic("load into a grouper that has groups");
	if (!isfinite(now))
		mt_panic("time is not finite");
	s = mt_xcalloc(1, sizeof(*s));
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = (size_t)((nl != NULL ? nl : end) - p);

		if (ll >= 6 && memcmp(p, "group ", 6) == 0) {
			enum mt_severity sev = MT_SEV_ERROR;
			enum mt_locale loc = MT_LOCALE_EN;
			int r = ll > MT_GROUP_SAVE_LINE_MAX ? -EINVAL :
							      snap_parse(s, p + 6, ll - 6);

			if (r == 0)
				r = snap_check(gr, s, &sev, &loc);
			if (r == 0)
				r = restore(gr, c, s, sev, loc);
			if (r == 0)
				n++;
			else if (r == -ENOENT)
				unknown++;
			else
				bad++;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	free(s);
	grp_burst_restore(gr);
	if (ret_bad != NULL)
		*ret_bad = bad;
	if (ret_unknown != NULL)
		*ret_unknown = unknown;
	return n;
}
