/* alert_group - names of notification events; owned notes (copy, merge, save, load). */
#include "alert/alert_group.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "alert/group.h"
#include "util/tokline.h"
#include "util/xalloc.h"

const char *
mt_group_event_name(enum mt_group_event e)
{
	switch (e) {
	case MT_GROUP_FIRST:
		return "first";
	case MT_GROUP_UPDATE:
		return "update";
	case MT_GROUP_REMINDER:
		return "reminder";
	case MT_GROUP_RESOLVED:
		return "resolved";
	case MT_GROUP_FLUSH:
		return "flush";
	}
	return "unknown"; /* not a value of the enum: a caller's bug, but printable */
}

static char *
dup_or_null(const char *s)
{
	return s ? mt_xstrdup(s) : NULL;
}

/* Point n->g at n's own storage. */
static void
note_link(struct mt_alert_note *n)
{
	n->g.key_name = n->key_name;
	n->g.key_value = n->key_name ? (n->key_value ? n->key_value : "") : NULL;
	n->g.hostname = n->hostname;
	n->g.log_host = n->log_host;
	n->g.file = n->file;
	n->g.examples = (const char *const *)n->examples;
	n->g.queue_ids = (const char *const *)n->queue_ids;
	n->g.fields = n->fields;
}

static struct mt_alert_note *
note_alloc(void)
{
	struct mt_alert_note *n = mt_xcalloc(1, sizeof(*n));

	n->examples = mt_xcalloc(MT_GROUP_EXAMPLES_MAX, sizeof(*n->examples));
	n->queue_ids = mt_xcalloc(MT_GROUP_IDS_MAX, sizeof(*n->queue_ids));
	n->fields = mt_xcalloc(MT_GROUP_FIELDS_MAX, sizeof(*n->fields));
	return n;
}

/* dst := copies of the newest (last) cap of src's n strings; how many that is. */
static size_t
copy_newest(char **dst, const char *const *src, size_t n, size_t cap)
{
	size_t kept = n < cap ? n : cap;

	for (size_t i = 0; i < kept; i++)
		dst[i] = mt_xstrdup(src[n - kept + i]);
	return kept;
}

/* n's fields := copies of src's first nsrc (at most MT_GROUP_FIELDS_MAX); n has none. */
static void
copy_fields(struct mt_alert_note *n, const struct mt_group_field *src, size_t nsrc)
{
	n->g.nfields = nsrc < MT_GROUP_FIELDS_MAX ? nsrc : MT_GROUP_FIELDS_MAX;
	for (size_t i = 0; i < n->g.nfields; i++) {
		n->fields[i].name = mt_xstrdup(src[i].name);
		n->fields[i].value = mt_xstrdup(src[i].value ? src[i].value : "");
	}
}

struct mt_alert_note *
mt_alert_note_new(const struct mt_alert_group *g)
{
	struct mt_alert_note *n = note_alloc();

	n->g = *g;
	n->key_name = dup_or_null(g->key_name);
	n->key_value = g->key_name ? mt_xstrdup(g->key_value ? g->key_value : "") : NULL;
	n->hostname = dup_or_null(g->hostname);
	n->log_host = dup_or_null(g->log_host);
	n->file = dup_or_null(g->file);
	n->g.nexamples = copy_newest(n->examples, g->examples, g->nexamples, MT_GROUP_EXAMPLES_MAX);
	n->g.nqueue_ids = copy_newest(n->queue_ids, g->queue_ids, g->nqueue_ids, MT_GROUP_IDS_MAX);
	copy_fields(n, g->fields, g->nfields);
	n->closed = g->event == MT_GROUP_RESOLVED || g->event == MT_GROUP_FLUSH;
	note_link(n);
	return n;
}

static void
free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
}

static void
free_fields(struct mt_alert_note *n)
{
	for (size_t i = 0; i < n->g.nfields; i++) {
		free((char *)n->fields[i].name);
		free((char *)n->fields[i].value);
	}
	n->g.nfields = 0;
}

void
mt_alert_note_free(struct mt_alert_note *n)
{
	if (n == NULL)
		return;
	free(n->key_name);
	free(n->key_value);
	free(n->hostname);
	free(n->log_host);
	free(n->file);
	free_strings(n->examples, n->g.nexamples);
	free_strings(n->queue_ids, n->g.nqueue_ids);
	free_fields(n);
	free(n->examples);
	free(n->queue_ids);
	free(n->fields);
	free(n);
}

static bool
str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

bool
mt_alert_note_same_group(const struct mt_alert_note *a, const struct mt_alert_note *b)
{
	return a->g.sig != NULL && b->g.sig != NULL && strcmp(a->g.sig->id, b->g.sig->id) == 0 &&
	       str_eq(a->key_name, b->key_name) && str_eq(a->key_value, b->key_value);
}

bool
mt_alert_note_mergeable(const struct mt_alert_note *older, const struct mt_alert_note *newer)
{
	return !older->closed && newer->g.event != MT_GROUP_FIRST &&
	       mt_alert_note_same_group(older, newer);
}

/* dst (n of cap) := the newest cap of dst followed by src; strings copied. */
static void
merge_list(char **dst, size_t *n, size_t cap, char *const *src, size_t nsrc, bool distinct)
{
	for (size_t i = 0; i < nsrc; i++) {
		size_t j = 0;

		if (distinct) {
			while (j < *n && strcmp(dst[j], src[i]) != 0)
				j++;
			if (j < *n) { /* seen again: it moves to the newest end */
				char *s = dst[j];

				memmove(dst + j, dst + j + 1, (*n - j - 1) * sizeof(*dst));
				dst[*n - 1] = s;
				continue;
			}
		}
		if (*n == cap) {
			free(dst[0]);
			memmove(dst, dst + 1, (cap - 1) * sizeof(*dst));
			(*n)--;
		}
		dst[(*n)++] = mt_xstrdup(src[i]);
	}
}

static void
replace_str(char **dst, const char *src)
{
	char *s = dup_or_null(src);

	free(*dst);
	*dst = s;
}

bool
mt_alert_note_merge(struct mt_alert_note *older, const struct mt_alert_note *newer)
{
	struct mt_alert_note *o = older;
	const struct mt_alert_group *n = &newer->g;

	if (!mt_alert_note_mergeable(older, newer))
		return false;
	if (n->event == MT_GROUP_RESOLVED || o->g.event != MT_GROUP_FIRST)
		o->g.event = n->event;
	o->closed = newer->closed;
	o->g.sig = n->sig;
	o->g.severity = n->severity;
	o->g.locale = n->locale;
	o->g.count_total = n->count_total;
	o->g.count_new += n->count_new;
	if (n->first_seen < o->g.first_seen)
		o->g.first_seen = n->first_seen;
	o->g.last_seen = n->last_seen;
	o->g.messages = n->messages;
	o->g.destinations = n->destinations;
	o->g.repeats = n->repeats;
	merge_list(o->examples, &o->g.nexamples, MT_GROUP_EXAMPLES_MAX, newer->examples,
		   n->nexamples, false);
	merge_list(o->queue_ids, &o->g.nqueue_ids, MT_GROUP_IDS_MAX, newer->queue_ids,
		   n->nqueue_ids, true);
	free_fields(o);
	copy_fields(o, n->fields, n->nfields);
	replace_str(&o->hostname, newer->hostname);
	replace_str(&o->log_host, newer->log_host);
	replace_str(&o->file, newer->file);
	note_link(o);
	return true;
}

int
mt_alert_note_save(const struct mt_alert_note *n, struct mt_buf *out)
{
	struct mt_tokline w;

	mt_tokline_begin(&w, out);
	mt_tokline_puts(&w, "note ev=");
	mt_tokline_puts(&w, mt_group_event_name(n->g.event));
	mt_tokline_num(&w, "closed", n->closed);
	mt_tokline_tok(&w, "sig", n->g.sig->id);
	if (n->key_name) {
		mt_tokline_tok(&w, "kn", n->key_name);
		mt_tokline_tok(&w, "kv", n->key_value ? n->key_value : "");
	}
	mt_tokline_num(&w, "total", n->g.count_total);
	mt_tokline_num(&w, "new", n->g.count_new);
	mt_tokline_num(&w, "msgs", n->g.messages);
	mt_tokline_num(&w, "dests", n->g.destinations);
	mt_tokline_num(&w, "reps", n->g.repeats);
	mt_tokline_time(&w, "first", n->g.first_seen);
	mt_tokline_time(&w, "last", n->g.last_seen);
	mt_tokline_tok(&w, "sev", mt_severity_name(n->g.severity));
	mt_tokline_tok(&w, "loc", n->g.locale == MT_LOCALE_ZH ? "zh" : "en");
	if (n->hostname)
		mt_tokline_tok(&w, "host", n->hostname);
	if (n->log_host)
		mt_tokline_tok(&w, "lhost", n->log_host);
	if (n->file)
		mt_tokline_tok(&w, "file", n->file);
	for (size_t i = 0; i < n->g.nexamples; i++)
		mt_tokline_tok(&w, "ex", n->examples[i]);
	for (size_t i = 0; i < n->g.nqueue_ids; i++)
		mt_tokline_tok(&w, "id", n->queue_ids[i]);
	for (size_t i = 0; i < n->g.nfields; i++) {
		mt_tokline_tok(&w, "f", n->fields[i].name);
		mt_tokline_puts(&w, ",");
		mt_tokline_text(&w, n->fields[i].value);
	}
	return mt_tokline_end(&w);
}

/* Decode [p, p+len) into a new string of at most max bytes; NULL if malformed. */
static char *
unescape(const char *p, size_t len, size_t max)
{
	char *s = mt_xmalloc(len + 1);
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\\') {
			int hi, lo;

			if (len - i < 4 || p[i + 1] != 'x' ||
			    (hi = mt_tokline_hexval(p[i + 2])) < 0 ||
			    (lo = mt_tokline_hexval(p[i + 3])) < 0 || (hi | lo) == 0)
				goto bad;
			c = (unsigned char)(hi << 4 | lo);
			i += 3;
		} else if (c <= ' ' || c >= 0x7f || c == ',' || c == '=') {
			goto bad;
		}
		if (n == max)
			goto bad;
		s[n++] = (char)c;
	}
	s[n] = '\0';
	return s;
bad:
	free(s);
	return NULL;
}

static int
parse_event(const char *p, size_t len, enum mt_group_event *ret)
{
	for (int e = MT_GROUP_FIRST; e <= MT_GROUP_FLUSH; e++) {
		const char *name = mt_group_event_name((enum mt_group_event)e);

		if (strlen(name) == len && memcmp(name, p, len) == 0) {
			*ret = (enum mt_group_event)e;
			return 0;
		}
	}
	return -EINVAL;
}

/* Set *dst to the decoded text if it is not set yet; -EINVAL if it was or it is malformed. */
static int
set_once(char **dst, const char *p, size_t len, size_t max)
{
	if (*dst != NULL)
		return -EINVAL;
	*dst = unescape(p, len, max);
	return *dst ? 0 : -EINVAL;
}

/* Append the decoded text to v (n of cap); -EINVAL if v is full or the text malformed. */
static int
push_text(char **v, size_t *n, size_t cap, const char *p, size_t len, size_t max)
{
	int r = *n == cap ? -EINVAL : set_once(&v[*n], p, len, max);

	if (r == 0)
		(*n)++;
	return r;
}

struct mt_alert_note *
mt_alert_note_load(const char *p, size_t len, const struct mt_catalog *c)
{
	struct mt_alert_note *n;
	const char *end = p + len, *q;
	char *sig = NULL, *sev = NULL, *loc = NULL;
	unsigned seen = 0;
	int r = 0;

	if (len < 5 || memcmp(p, "note ", 5) != 0)
		return NULL;
	n = note_alloc();
	for (q = p + 4; r == 0 && q < end;) {
		const char *tok, *eq, *tend;
		size_t nlen, vlen;

		if (*q++ != ' ' || q >= end) {
			r = -EINVAL;
			break;
		}
		tok = q;
		tend = memchr(q, ' ', (size_t)(end - q));
		if (tend == NULL)
			tend = end;
		q = tend;
		eq = memchr(tok, '=', (size_t)(tend - tok));
		if (eq == NULL) {
			r = -EINVAL;
			break;
		}
		nlen = (size_t)(eq - tok);
		vlen = (size_t)(tend - eq - 1);
#define IS(s)	  (nlen == sizeof(s) - 1 && memcmp(tok, s, nlen) == 0)
#define ONCE(bit) (seen & (1u << (bit)) ? -EINVAL : (seen |= 1u << (bit), 0))
		if (IS("ev"))
			r = ONCE(0) ?: parse_event(eq + 1, vlen, &n->g.event);
		else if (IS("closed")) {
			uint64_t v = 0;

			r = ONCE(1) ?: mt_tokline_parse_num(eq + 1, vlen, &v);
			r = r ?: (v > 1 ? -EINVAL : 0);
			n->closed = v == 1;
		} else if (IS("sig"))
			r = set_once(&sig, eq + 1, vlen, MT_NOTE_SIG_ID_MAX);
		else if (IS("kn"))
			r = set_once(&n->key_name, eq + 1, vlen, MT_GROUP_NAME_MAX);
		else if (IS("kv")) {
			r = vlen == 0 ?
				    (n->key_value ? -EINVAL : (n->key_value = mt_xstrdup(""), 0)) :
				    set_once(&n->key_value, eq + 1, vlen, MT_GROUP_TEXT_MAX);
		} else if (IS("total"))
			r = ONCE(2) ?: mt_tokline_parse_num(eq + 1, vlen, &n->g.count_total);
		else if (IS("new"))
			r = ONCE(3) ?: mt_tokline_parse_num(eq + 1, vlen, &n->g.count_new);
		else if (IS("msgs"))
			r = ONCE(4) ?: mt_tokline_parse_num(eq + 1, vlen, &n->g.messages);
		else if (IS("dests"))
			r = ONCE(5) ?: mt_tokline_parse_num(eq + 1, vlen, &n->g.destinations);
		else if (IS("reps"))
			r = ONCE(6) ?: mt_tokline_parse_num(eq + 1, vlen, &n->g.repeats);
		else if (IS("first"))
			r = ONCE(7) ?: mt_tokline_parse_time(eq + 1, vlen, &n->g.first_seen);
		else if (IS("last"))
			r = ONCE(8) ?: mt_tokline_parse_time(eq + 1, vlen, &n->g.last_seen);
		else if (IS("sev"))
			r = set_once(&sev, eq + 1, vlen, 16);
		else if (IS("loc"))
			r = set_once(&loc, eq + 1, vlen, 16);
		else if (IS("host"))
			r = set_once(&n->hostname, eq + 1, vlen, MT_GROUP_FIELD_MAX);
		else if (IS("lhost"))
			r = set_once(&n->log_host, eq + 1, vlen, MT_GROUP_FIELD_MAX);
		else if (IS("file"))
			r = set_once(&n->file, eq + 1, vlen, MT_GROUP_TEXT_MAX);
		else if (IS("ex"))
			r = push_text(n->examples, &n->g.nexamples, MT_GROUP_EXAMPLES_MAX, eq + 1,
				      vlen, MT_GROUP_TEXT_MAX);
		else if (IS("id"))
			r = push_text(n->queue_ids, &n->g.nqueue_ids, MT_GROUP_IDS_MAX, eq + 1,
				      vlen, MT_GROUP_ID_MAX);
		else if (IS("f")) {
			const char *comma = memchr(eq + 1, ',', vlen);
			char *fname = NULL, *fvalue = NULL;

			r = comma == NULL || n->g.nfields == MT_GROUP_FIELDS_MAX ? -EINVAL : 0;
			if (r == 0)
				r = set_once(&fname, eq + 1, (size_t)(comma - eq - 1),
					     MT_GROUP_NAME_MAX);
			if (r == 0 && comma + 1 == tend)
				fvalue = mt_xstrdup("");
			else if (r == 0)
				r = set_once(&fvalue, comma + 1, (size_t)(tend - comma - 1),
					     MT_GROUP_FIELD_MAX);
			if (r == 0) {
				n->fields[n->g.nfields].name = fname;
				n->fields[n->g.nfields++].value = fvalue;
			} else {
				free(fname);
				free(fvalue);
			}
		} else
			r = -EINVAL;
#undef IS
#undef ONCE
	}
	/* ev, closed, total, new, first, last, sig, sev, loc: required. */
	if (r == 0 && ((seen & 0x18f) != 0x18f || sig == NULL || sev == NULL || loc == NULL ||
		       (n->key_name == NULL) != (n->key_value == NULL)))
		r = -EINVAL;
	if (r == 0 && mt_severity_parse(sev, &n->g.severity) < 0)
		r = -EINVAL;
	if (r == 0 && strcmp(loc, "en") != 0 && strcmp(loc, "zh") != 0)
		r = -EINVAL;
	if (r == 0)
		n->g.locale = strcmp(loc, "zh") == 0 ? MT_LOCALE_ZH : MT_LOCALE_EN;
	if (r == 0 && (n->g.sig = mt_catalog_find(c, sig)) == NULL)
		r = -ENOENT;
	free(sig);
	free(sev);
	free(loc);
	if (r < 0) {
		mt_alert_note_free(n);
		return NULL;
	}
	note_link(n);
	return n;
}
