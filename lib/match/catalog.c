/* catalog - signature files (YAML or JSON) loaded, checked and compiled. */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "match/catalog.h"
#include "parse/logline.h"
#include "util/xalloc.h"

#define MAX_FILES MT_CATALOG_MAX

struct mt_catalog {
	struct mt_signature **sigs;
	size_t n;
};

/* One file being validated. */
struct check {
	const char *file;
	struct mt_diag *d;
	bool bad;
};

static void error_at(struct check *k, const struct mt_ynode *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
error_at(struct check *k, const struct mt_ynode *n, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mt_diag_addc(k->d, MT_DIAG_ERROR, k->file, n ? n->line : 0, n ? n->col : 0, "%s", msg);
	k->bad = true;
}

/* --- typed field readers: each reports its own errors ------------------- */

static char *
get_str(struct check *k, const struct mt_ynode *map, const char *key, bool required)
{
	const struct mt_ynode *n = mt_ynode_get(map, key);

	if (n == NULL || mt_ynode_is_null(n)) {
		if (required)
			error_at(k, n ? n : map, "missing required field '%s'", key);
		return NULL;
	}
	if (n->type != MT_Y_SCALAR) {
		error_at(k, n, "field '%s' must be a string, not a %s", key, mt_ynode_type_name(n));
		return NULL;
	}
	if (required && n->len == 0) {
		error_at(k, n, "field '%s' must not be empty", key);
		return NULL;
	}
	if (strlen(n->str) != n->len) {
		error_at(k, n, "field '%s' contains a NUL character", key);
		return NULL;
	}
	return mt_xstrndup(n->str, n->len);
}

/* A number in [lo, hi]; *ret unchanged when absent (unless required). */
static void
get_num(struct check *k, const struct mt_ynode *map, const char *key, double lo, double hi,
	bool required, double *ret)
{
	const struct mt_ynode *n = mt_ynode_get(map, key);
	double v;

	if (n == NULL || mt_ynode_is_null(n)) {
		if (required)
			error_at(k, n ? n : map, "missing required field '%s'", key);
		return;
	}
	if (mt_ynode_double(n, &v) < 0) {
		error_at(k, n, "field '%s' must be a number, not a %s", key, mt_ynode_type_name(n));
		return;
	}
	if (v < lo || v > hi) {
		error_at(k, n, "field '%s' is %g, must be between %g and %g", key, v, lo, hi);
		return;
	}
	*ret = v;
}

/* A boolean (true or false); *ret unchanged when absent. */
static void
get_bool(struct check *k, const struct mt_ynode *map, const char *key, bool *ret)
{
	const struct mt_ynode *n = mt_ynode_get(map, key);

	if (n == NULL || mt_ynode_is_null(n))
		return;
	if (n->type == MT_Y_SCALAR && strcmp(n->str, "true") == 0)
		*ret = true;
	else if (n->type == MT_Y_SCALAR && strcmp(n->str, "false") == 0)
		*ret = false;
	else
		error_at(k, n, "field '%s' must be true or false", key);
}

static char **
get_strlist(struct check *k, const struct mt_ynode *map, const char *key, size_t *ret_n)
{
	const struct mt_ynode *n = mt_ynode_get(map, key);
	char **v;

	*ret_n = 0;
	if (n == NULL || mt_ynode_is_null(n))
		return NULL;
	if (n->type != MT_Y_SEQ) {
		error_at(k, n, "field '%s' must be a list of strings, not a %s", key,
			 mt_ynode_type_name(n));
		return NULL;
	}
	v = mt_xcalloc(n->n + 1, sizeof(*v));
	for (size_t i = 0; i < n->n; i++) {
		const struct mt_ynode *it = n->items[i];

		if (it->type != MT_Y_SCALAR || mt_ynode_is_null(it)) {
			error_at(k, it, "'%s' item %zu must be a string, not a %s", key, i + 1,
				 mt_ynode_type_name(it));
			continue;
		}
		v[(*ret_n)++] = mt_xstrndup(it->str, it->len);
	}
	return v;
}

static void
free_strlist(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static const struct mt_ynode *
get_map(struct check *k, const struct mt_ynode *map, const char *key)
{
	const struct mt_ynode *n = mt_ynode_get(map, key);

	if (n == NULL || mt_ynode_is_null(n))
		return NULL;
	if (n->type != MT_Y_MAP) {
		error_at(k, n, "field '%s' must be a mapping, not a %s", key,
			 mt_ynode_type_name(n));
		return NULL;
	}
	return n;
}

/* Items of a list of mappings, checking the shape; NULL if absent. */
static const struct mt_ynode *
get_maplist(struct check *k, const struct mt_ynode *map, const char *key, bool required)
{
	const struct mt_ynode *n = mt_ynode_get(map, key);

	if (n == NULL || mt_ynode_is_null(n)) {
		if (required)
			error_at(k, n ? n : map, "missing required field '%s'", key);
		return NULL;
	}
	if (n->type != MT_Y_SEQ) {
		error_at(k, n, "field '%s' must be a list, not a %s", key, mt_ynode_type_name(n));
		return NULL;
	}
	for (size_t i = 0; i < n->n; i++)
		if (n->items[i]->type != MT_Y_MAP) {
			error_at(k, n->items[i], "'%s' item %zu must be a mapping, not a %s", key,
				 i + 1, mt_ynode_type_name(n->items[i]));
			return NULL;
		}
	return n;
}

/* --- the record -------------------------------------------------------- */

static const char *const known_keys[] = {
	/* the knowledge base's schema */
	"id",
	"signature",
	"signature_zh",
	"regex",
	"domain",
	"category",
	"subcategory",
	"root_cause",
	"root_cause_type",
	"root_cause_zh",
	"versions",
	"os_specific",
	"dead_ends",
	"workarounds",
	"workarounds_zh",
	"transition_graph",
	"official_doc_url",
	"official_doc_section",
	"error_code",
	"verification_tier",
	"confidence",
	"fix_success_rate",
	"resolvable",
	"first_seen",
	"last_confirmed",
	"last_updated",
	"evidence_count",
	"tags",
	"locale",
	"aliases",
	/* mtalert's own */
	"mta",
	"severity",
	"title",
	"specificity",
	"session_outcome",
	"source_url",
	"examples",
	"reproduced_by",
};

static void
free_versions(struct mt_version *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].version);
		free(v[i].introduced);
		free(v[i].deprecated);
		free(v[i].removed);
		free(v[i].behavior_change);
		free(v[i].status);
	}
	free(v);
}

static void
signature_free(struct mt_signature *s)
{
	if (s == NULL)
		return;
	char **strs[] = { &s->id,
			  &s->signature,
			  &s->signature_zh,
			  &s->regex,
			  &s->domain,
			  &s->category,
			  &s->subcategory,
			  &s->root_cause,
			  &s->root_cause_type,
			  &s->root_cause_zh,
			  &s->official_doc_url,
			  &s->official_doc_section,
			  &s->error_code,
			  &s->verification_tier,
			  &s->resolvable,
			  &s->first_seen,
			  &s->last_confirmed,
			  &s->last_updated,
			  &s->locale,
			  &s->title,
			  &s->source_url,
			  &s->file };
	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
		free(*strs[i]);
	free_versions(s->versions, s->nversions);
	for (size_t i = 0; i < s->ndead_ends; i++) {
		free(s->dead_ends[i].action);
		free(s->dead_ends[i].why_fails);
		free(s->dead_ends[i].condition);
		free_strlist(s->dead_ends[i].sources, s->dead_ends[i].nsources);
	}
	free(s->dead_ends);
	for (size_t i = 0; i < s->nworkarounds; i++) {
		free(s->workarounds[i].action);
		free(s->workarounds[i].how);
		free(s->workarounds[i].condition);
		free(s->workarounds[i].action_zh);
		free(s->workarounds[i].apply);
		free_strlist(s->workarounds[i].sources, s->workarounds[i].nsources);
		free_strlist(s->workarounds[i].verified_by, s->workarounds[i].nverified_by);
	}
	free(s->workarounds);
	free_strlist(s->tags, s->ntags);
	free_strlist(s->aliases, s->naliases);
	free_strlist(s->reproduced_by, s->nreproduced_by);
	free_strlist(s->ex_match, s->nex_match);
	free_strlist(s->ex_no_match, s->nex_no_match);
	for (size_t i = 0; i <= MT_CAPTURES_MAX; i++)
		free(s->capture_name[i]);
	pcre2_code_free(s->code);
	mt_ydoc_free(s->doc);
	free(s);
}

/*
 * What only `check` and `show` read: the examples, the version table, the
 * aliases and the farm scenarios that reproduced the record.  They were
 * loaded and checked like every field; a daemon does not keep them (about
 * a third of a mebibyte for the shipped catalog).
 */
static void
drop_documentation(struct mt_signature *s)
{
	free_strlist(s->ex_match, s->nex_match);
	free_strlist(s->ex_no_match, s->nex_no_match);
	s->ex_match = s->ex_no_match = NULL;
	s->nex_match = s->nex_no_match = 0;
	free_versions(s->versions, s->nversions);
	s->versions = NULL;
	s->nversions = 0;
	free_strlist(s->aliases, s->naliases);
	s->aliases = NULL;
	s->naliases = 0;
	free_strlist(s->reproduced_by, s->nreproduced_by);
	s->reproduced_by = NULL;
	s->nreproduced_by = 0;
}

static bool
valid_id(const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len > 200 || id[0] == '/' || id[len - 1] == '/')
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '_' || *p == '.' || *p == '/'))
			return false;
	return true;
}

static void
load_versions(struct check *k, const struct mt_ynode *root, struct mt_signature *s)
{
	const struct mt_ynode *l = get_maplist(k, root, "versions", false);

	if (l == NULL)
		return;
	s->versions = mt_xcalloc(l->n ? l->n : 1, sizeof(*s->versions));
	for (size_t i = 0; i < l->n; i++) {
		const struct mt_ynode *m = l->items[i];
		struct mt_version *v = &s->versions[s->nversions++];

		v->version = get_str(k, m, "version", true);
		v->introduced = get_str(k, m, "introduced", false);
		v->deprecated = get_str(k, m, "deprecated", false);
		v->removed = get_str(k, m, "removed", false);
		v->behavior_change = get_str(k, m, "behavior_change", false);
		v->status = get_str(k, m, "status", false);
	}
}

static void
load_workarounds(struct check *k, const struct mt_ynode *root, struct mt_signature *s)
{
	const struct mt_ynode *l = get_maplist(k, root, "workarounds", true);
	const struct mt_ynode *zh = mt_ynode_get(root, "workarounds_zh");

	if (l == NULL)
		return;
	if (l->n == 0)
		error_at(k, l, "field 'workarounds' must list at least one workaround");
	if (zh != NULL && !mt_ynode_is_null(zh)) {
		if (zh->type != MT_Y_SEQ)
			error_at(k, zh, "field 'workarounds_zh' must be a list of strings");
		else if (zh->n != l->n)
			error_at(k, zh,
				 "field 'workarounds_zh' has %zu items, 'workarounds' has %zu",
				 zh->n, l->n);
	}
	s->workarounds = mt_xcalloc(l->n ? l->n : 1, sizeof(*s->workarounds));
	for (size_t i = 0; i < l->n; i++) {
		const struct mt_ynode *m = l->items[i];
		struct mt_workaround *w = &s->workarounds[s->nworkarounds++];

		w->success_rate = 0;
		w->action = get_str(k, m, "action", true);
		w->how = get_str(k, m, "how", false);
		w->condition = get_str(k, m, "condition", false);
		get_num(k, m, "success_rate", 0, 1, true, &w->success_rate);
		w->sources = get_strlist(k, m, "sources", &w->nsources);
		w->apply = get_str(k, m, "apply", false);
		w->verified_by = get_strlist(k, m, "verified_by", &w->nverified_by);
		if (w->nverified_by > 0 && w->apply == NULL)
			error_at(
				k, m,
				"a workaround with 'verified_by' must carry the 'apply' the farm ran");
		if (zh != NULL && zh->type == MT_Y_SEQ && i < zh->n) {
			const struct mt_ynode *z = zh->items[i];

			if (z->type == MT_Y_SCALAR && !mt_ynode_is_null(z))
				w->action_zh = mt_xstrndup(z->str, z->len);
			else
				error_at(k, z, "'workarounds_zh' item %zu must be a string", i + 1);
		}
	}
	/* Stable sort by rate: insertion sort, the lists are short. */
	for (size_t i = 1; i < s->nworkarounds; i++) {
		struct mt_workaround w = s->workarounds[i];
		size_t j = i;

		while (j > 0 && s->workarounds[j - 1].success_rate < w.success_rate) {
			s->workarounds[j] = s->workarounds[j - 1];
			j--;
		}
		s->workarounds[j] = w;
	}
}

static void
load_dead_ends(struct check *k, const struct mt_ynode *root, struct mt_signature *s)
{
	const struct mt_ynode *l = get_maplist(k, root, "dead_ends", false);

	if (l == NULL)
		return;
	s->dead_ends = mt_xcalloc(l->n ? l->n : 1, sizeof(*s->dead_ends));
	for (size_t i = 0; i < l->n; i++) {
		const struct mt_ynode *m = l->items[i];
		struct mt_dead_end *e = &s->dead_ends[s->ndead_ends++];

		e->action = get_str(k, m, "action", true);
		e->why_fails = get_str(k, m, "why_fails", false);
		e->condition = get_str(k, m, "condition", false);
		get_num(k, m, "fail_rate", 0, 1, true, &e->fail_rate);
		e->sources = get_strlist(k, m, "sources", &e->nsources);
	}
	for (size_t i = 1; i < s->ndead_ends; i++) {
		struct mt_dead_end e = s->dead_ends[i];
		size_t j = i;

		while (j > 0 && s->dead_ends[j - 1].fail_rate < e.fail_rate) {
			s->dead_ends[j] = s->dead_ends[j - 1];
			j--;
		}
		s->dead_ends[j] = e;
	}
}

static void
load_mta(struct check *k, const struct mt_ynode *root, struct mt_signature *s)
{
	const struct mt_ynode *n = mt_ynode_get(root, "mta");
	const struct mt_ynode *one[1];
	const struct mt_ynode *const *items = one;
	size_t count = 1;

	if (n == NULL || mt_ynode_is_null(n))
		return;
	if (n->type == MT_Y_SEQ) {
		items = (const struct mt_ynode *const *)n->items;
		count = n->n;
	} else if (n->type == MT_Y_SCALAR) {
		one[0] = n;
	} else {
		error_at(k, n, "field 'mta' must be a list of postfix, exim, sendmail");
		return;
	}
	for (size_t i = 0; i < count; i++) {
		const struct mt_ynode *it = items[i];
		int m;

		for (m = MT_MTA_POSTFIX; m < MT_MTA__COUNT; m++)
			if (it->type == MT_Y_SCALAR && strcmp(it->str, mt_mta_name(m)) == 0)
				break;
		if (m == MT_MTA__COUNT) {
			error_at(k, it, "unknown MTA '%.50s' in 'mta' (postfix, exim, sendmail)",
				 it->type == MT_Y_SCALAR ? it->str : "?");
			continue;
		}
		s->mta_mask |= 1u << m;
	}
}

static void
load_examples(struct check *k, const struct mt_ynode *root, struct mt_signature *s)
{
	const struct mt_ynode *ex = get_map(k, root, "examples");

	if (ex == NULL)
		return;
	for (size_t i = 0; i + 1 < ex->n; i += 2)
		if (strcmp(ex->items[i]->str, "match") && strcmp(ex->items[i]->str, "no_match"))
			error_at(k, ex->items[i],
				 "unknown key '%.50s' in 'examples' (match, no_match)",
				 ex->items[i]->str);
	s->ex_match = get_strlist(k, ex, "match", &s->nex_match);
	s->ex_no_match = get_strlist(k, ex, "no_match", &s->nex_no_match);
}

static void
compile_regex(struct check *k, const struct mt_ynode *root, struct mt_signature *s)
{
	const struct mt_ynode *n = mt_ynode_get(root, "regex");
	PCRE2_SIZE erroff;
	int errcode;
	pcre2_code *code;
	uint32_t count, entry;
	PCRE2_SPTR table;

	if (s->regex == NULL)
		return;
	code = pcre2_compile((PCRE2_SPTR)s->regex, PCRE2_ZERO_TERMINATED,
			     PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &errcode, &erroff, NULL);
	if (code == NULL) {
		PCRE2_UCHAR msg[256];

		(void)pcre2_get_error_message(errcode, msg, sizeof(msg));
		error_at(k, n, "regex does not compile: at offset %zu: %s", (size_t)erroff,
			 (const char *)msg);
		return;
	}
	s->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
	(void)pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &s->ncaptures);
	(void)pcre2_pattern_info(code, PCRE2_INFO_NAMECOUNT, &count);
	(void)pcre2_pattern_info(code, PCRE2_INFO_NAMEENTRYSIZE, &entry);
	(void)pcre2_pattern_info(code, PCRE2_INFO_NAMETABLE, &table);
	for (uint32_t i = 0; i < count; i++) {
		const PCRE2_UCHAR *e = table + (size_t)i * entry;
		uint32_t group = ((uint32_t)e[0] << 8) | e[1];

		if (group > MT_CAPTURES_MAX) {
			error_at(k, n, "regex: named group '%s' is group %u; at most %d groups",
				 (const char *)(e + 2), group, MT_CAPTURES_MAX);
			continue;
		}
		s->capture_name[group] = mt_xstrdup((const char *)(e + 2));
	}
	s->code = code;
}

static struct mt_signature *
load_record(struct check *k, struct mt_ydoc *doc)
{
	const struct mt_ynode *root = mt_ydoc_root(doc);
	struct mt_signature *s;
	const struct mt_ynode *n;
	double num;

	if (root->type != MT_Y_MAP) {
		error_at(k, root, "a signature file must hold one mapping, not a %s",
			 mt_ynode_type_name(root));
		return NULL;
	}
	s = mt_xcalloc(1, sizeof(*s));
	s->doc = doc;
	s->file = mt_xstrdup(k->file);
	s->line = root->line;
	s->confidence = s->fix_success_rate = -1;
	s->evidence_count = -1;
	s->specificity = MT_SPECIFICITY_DEF;
	s->severity = MT_SEV_ERROR;

	for (size_t i = 0; i + 1 < root->n; i += 2) {
		const struct mt_ynode *key = root->items[i];
		size_t j;

		for (j = 0; j < sizeof(known_keys) / sizeof(known_keys[0]); j++)
			if (strcmp(key->str, known_keys[j]) == 0)
				break;
		if (j == sizeof(known_keys) / sizeof(known_keys[0]))
			mt_diag_addc(k->d, MT_DIAG_WARNING, k->file, key->line, key->col,
				     "unknown field '%.60s' (kept, not used)", key->str);
	}

	s->id = get_str(k, root, "id", true);
	if (s->id != NULL && !valid_id(s->id))
		error_at(k, mt_ynode_get(root, "id"),
			 "id '%.100s' may hold only a-z, 0-9, '-', '_', '.' and '/'", s->id);
	s->signature = get_str(k, root, "signature", true);
	s->signature_zh = get_str(k, root, "signature_zh", false);
	s->regex = get_str(k, root, "regex", true);
	s->domain = get_str(k, root, "domain", true);
	s->category = get_str(k, root, "category", true);
	s->subcategory = get_str(k, root, "subcategory", false);
	s->root_cause = get_str(k, root, "root_cause", true);
	s->root_cause_type = get_str(k, root, "root_cause_type", false);
	s->root_cause_zh = get_str(k, root, "root_cause_zh", false);
	s->official_doc_url = get_str(k, root, "official_doc_url", false);
	s->official_doc_section = get_str(k, root, "official_doc_section", false);
	n = mt_ynode_get(root, "error_code");
	if (n != NULL && n->type == MT_Y_SCALAR && !mt_ynode_is_null(n))
		s->error_code = mt_xstrndup(n->str, n->len); /* 421 or "421": both fine */
	else
		s->error_code = get_str(k, root, "error_code", false);
	s->verification_tier = get_str(k, root, "verification_tier", false);
	s->resolvable = get_str(k, root, "resolvable", false);
	s->first_seen = get_str(k, root, "first_seen", false);
	s->last_confirmed = get_str(k, root, "last_confirmed", false);
	s->last_updated = get_str(k, root, "last_updated", false);
	s->locale = get_str(k, root, "locale", false);
	get_num(k, root, "confidence", 0, 1, false, &s->confidence);
	get_num(k, root, "fix_success_rate", 0, 1, false, &s->fix_success_rate);
	num = -1;
	get_num(k, root, "evidence_count", 0, 1e12, false, &num);
	s->evidence_count = (long long)num;
	s->tags = get_strlist(k, root, "tags", &s->ntags);
	s->aliases = get_strlist(k, root, "aliases", &s->naliases);
	s->reproduced_by = get_strlist(k, root, "reproduced_by", &s->nreproduced_by);
	s->os_specific = get_map(k, root, "os_specific");
	s->transition_graph = get_map(k, root, "transition_graph");
	load_versions(k, root, s);
	load_dead_ends(k, root, s);
	load_workarounds(k, root, s);

	s->title = get_str(k, root, "title", false);
	if (s->title == NULL && s->signature != NULL)
		s->title = mt_xstrdup(s->signature);
	s->source_url = get_str(k, root, "source_url", false);
	load_mta(k, root, s);
	n = mt_ynode_get(root, "severity");
	if (n != NULL && (n->type != MT_Y_SCALAR || mt_severity_parse(n->str, &s->severity) < 0))
		error_at(k, n, "field 'severity' must be info, warning, error or critical");
	num = MT_SPECIFICITY_DEF;
	get_num(k, root, "specificity", 0, 100, false, &num);
	s->specificity = (int)num;
	get_bool(k, root, "session_outcome", &s->session_outcome);
	load_examples(k, root, s);
	compile_regex(k, root, s);

	if (k->bad) {
		s->doc = NULL; /* the caller still owns doc on failure */
		signature_free(s);
		return NULL;
	}
	return s;
}

/* --- files and directories -------------------------------------------- */

struct pathlist {
	char **v;
	size_t n;
};

static bool
is_signature_file(const char *name)
{
	size_t len = strlen(name);

	if (name[0] == '.')
		return false;
	return (len > 5 && strcmp(name + len - 5, ".yaml") == 0) ||
	       (len > 4 && strcmp(name + len - 4, ".yml") == 0) ||
	       (len > 5 && strcmp(name + len - 5, ".json") == 0);
}

static void
collect(const char *path, int depth, struct pathlist *out, struct mt_diag *d)
{
	struct stat st;
	DIR *dir;
	struct dirent *de;

	if (stat(path, &st) < 0) {
		mt_diag_add(d, MT_DIAG_ERROR, path, 0, "cannot read: %s", strerror(errno));
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (out->n >= MAX_FILES) {
			mt_diag_add(d, MT_DIAG_ERROR, path, 0,
				    "more than %d signature files, skipping", MAX_FILES);
			return;
		}
		out->v = mt_xreallocarray(out->v, out->n + 1, sizeof(*out->v));
		out->v[out->n++] = mt_xstrdup(path);
		return;
	}
	if (depth > 8) {
		mt_diag_add(d, MT_DIAG_ERROR, path, 0, "directories nested too deeply, skipping");
		return;
	}
	dir = opendir(path);
	if (dir == NULL) {
		mt_diag_add(d, MT_DIAG_ERROR, path, 0, "cannot open directory: %s",
			    strerror(errno));
		return;
	}
	while ((de = readdir(dir)) != NULL) {
		char sub[4096];
		struct stat sst;
		int len;

		if (de->d_name[0] == '.')
			continue;
		len = snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (len < 0 || (size_t)len >= sizeof(sub))
			continue;
		if (stat(sub, &sst) < 0)
			continue;
		if (S_ISDIR(sst.st_mode))
			collect(sub, depth + 1, out, d);
		else if (S_ISREG(sst.st_mode) && is_signature_file(de->d_name))
			collect(sub, depth + 1, out, d);
	}
	(void)closedir(dir);
}

static int
cmp_path(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static struct mt_catalog *load_paths(const char *const *paths, size_t npaths, struct mt_diag *d,
				     bool keep_documents);

struct mt_catalog *
mt_catalog_load(const char *const *paths, size_t npaths, struct mt_diag *d)
{
	return load_paths(paths, npaths, d, true);
}

struct mt_catalog *
mt_catalog_load_lean(const char *const *paths, size_t npaths, struct mt_diag *d)
{
	return load_paths(paths, npaths, d, false);
}

static struct mt_catalog *
load_paths(const char *const *paths, size_t npaths, struct mt_diag *d, bool keep_documents)
{
	struct mt_catalog *c = mt_xcalloc(1, sizeof(*c));
	struct pathlist files = { 0 };

	for (size_t i = 0; i < npaths; i++)
		collect(paths[i], 0, &files, d);
	qsort(files.v, files.n, sizeof(*files.v), cmp_path);
	c->sigs = mt_xcalloc(files.n ? files.n : 1, sizeof(*c->sigs));
	for (size_t i = 0; i < files.n; i++) {
		struct check k = { .file = files.v[i], .d = d };
		struct mt_ydoc *doc;
		struct mt_signature *s;
		const struct mt_signature *dup;

		if (mt_ydoc_load(files.v[i], d, &doc) < 0)
			continue;
		s = load_record(&k, doc);
		if (s == NULL) {
			mt_ydoc_free(doc);
			continue;
		}
		dup = mt_catalog_find(c, s->id);
		if (dup != NULL) {
			const struct mt_ynode *idn = mt_ynode_get(mt_ydoc_root(doc), "id");

			mt_diag_addc(d, MT_DIAG_ERROR, k.file, idn->line, idn->col,
				     "duplicate id '%s' (first in %s:%u), skipping", s->id,
				     dup->file, dup->line);
			signature_free(s);
			continue;
		}
		s->index = c->n;
		c->sigs[c->n++] = s;
		if (!keep_documents) {
			/* Freed now, the tree's memory serves the next record. */
			s->os_specific = NULL;
			s->transition_graph = NULL;
			s->doc = mt_ydoc_free(s->doc);
			drop_documentation(s);
		}
	}
	for (size_t i = 0; i < files.n; i++)
		free(files.v[i]);
	free(files.v);
	return c;
}

struct mt_catalog *
mt_catalog_load_buffer(const char *name, const char *p, size_t len, struct mt_diag *d)
{
	struct mt_catalog *c = mt_xcalloc(1, sizeof(*c));
	struct check k = { .file = name, .d = d };
	struct mt_ydoc *doc;
	struct mt_signature *s;

	c->sigs = mt_xcalloc(1, sizeof(*c->sigs));
	if (mt_ydoc_parse(name, p, len, d, &doc) < 0)
		return c;
	s = load_record(&k, doc);
	if (s == NULL) {
		mt_ydoc_free(doc);
		return c;
	}
	c->sigs[c->n++] = s;
	return c;
}

struct mt_catalog *
mt_catalog_free(struct mt_catalog *c)
{
	if (c == NULL)
		return NULL;
	for (size_t i = 0; i < c->n; i++)
		signature_free(c->sigs[i]);
	free(c->sigs);
	free(c);
	return NULL;
}

size_t
mt_catalog_count(const struct mt_catalog *c)
{
	return c->n;
}

const struct mt_signature *
mt_catalog_get(const struct mt_catalog *c, size_t i)
{
	return i < c->n ? c->sigs[i] : NULL;
}

const struct mt_signature *
mt_catalog_find(const struct mt_catalog *c, const char *id)
{
	/* Linear: used at load and by `show`, never per line. */
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->sigs[i]->id, id) == 0)
			return c->sigs[i];
	return NULL;
}

static const char *const severity_names[] = { "info", "warning", "error", "critical" };

const char *
mt_severity_name(enum mt_severity s)
{
	return (unsigned)s < 4 ? severity_names[s] : "error";
}

int
mt_severity_parse(const char *s, enum mt_severity *ret)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, severity_names[i]) == 0) {
			*ret = (enum mt_severity)i;
			return 0;
		}
	return -EINVAL;
}
