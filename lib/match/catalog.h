/*
 * catalog - the signature knowledge base, loaded from files.
 *
 * A signature file holds one record in the knowledge base's schema
 * (../shared/schema/signature-example.json), as YAML or JSON, plus fields of
 * mtalert's own (mta, severity, title, specificity, source_url, examples);
 * signatures/README.md documents them.  mt_catalog_load() reads every
 * *.yaml, *.yml and *.json under the given directories (or the given
 * files), in sorted path order, validates each record and compiles its
 * regex with PCRE2 (UTF, invalid UTF allowed, JIT where available).
 *
 * Every problem becomes a diagnostic naming file, line and column; a bad
 * record is skipped and the others still load.  Ids must be unique (the
 * later file is skipped).  The catalog is immutable once loaded and may be
 * shared; it holds no per-match scratch (see matcher).  Workarounds are
 * kept in rank order (success rate, highest first) with their translations;
 * dead ends likewise by fail rate.
 */
#ifndef MT_CATALOG_H
#define MT_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/diag.h"
#include "util/ydoc.h"

#define MT_CATALOG_MAX	   10000 /* signatures */
#define MT_CAPTURES_MAX	   16	 /* named captures per signature that become fields */
#define MT_SPECIFICITY_DEF 50

enum mt_severity {
	MT_SEV_INFO,
	MT_SEV_WARNING,
	MT_SEV_ERROR,
	MT_SEV_CRITICAL,
};

struct mt_workaround {
	char *action, *how, *condition; /* how, condition may be NULL */
	char *action_zh;		/* from workarounds_zh, may be NULL */
	double success_rate;		/* 0..1 */
	char **sources;
	size_t nsources;
	char *apply;	    /* mtalert's: the how text's commands as typed, may be NULL */
	char **verified_by; /* mtalert's: farm scenarios where applying it made mail flow */
	size_t nverified_by;
};

struct mt_dead_end {
	char *action, *why_fails, *condition;
	double fail_rate; /* 0..1 */
	char **sources;
	size_t nsources;
};

struct mt_version {
	char *version, *introduced, *deprecated, *removed, *behavior_change, *status;
};

struct mt_signature {
	/* The schema's fields.  Optional strings are NULL when absent or null. */
	char *id, *signature, *signature_zh, *regex;
	char *domain, *category, *subcategory;
	char *root_cause, *root_cause_type, *root_cause_zh;
	char *official_doc_url, *official_doc_section, *error_code;
	char *verification_tier, *resolvable, *first_seen, *last_confirmed, *last_updated;
	char *locale;
	double confidence, fix_success_rate; /* -1 when absent */
	long long evidence_count;	     /* -1 when absent */
	struct mt_version *versions;
	size_t nversions;
	struct mt_dead_end *dead_ends;
	size_t ndead_ends;
	struct mt_workaround *workarounds;
	size_t nworkarounds;
	char **tags, **aliases;
	size_t ntags, naliases;
	char **reproduced_by; /* mtalert's: farm scenarios whose real MTA wrote its lines */
	size_t nreproduced_by;
	const struct mt_ynode *os_specific;	 /* mapping, kept as read */
	const struct mt_ynode *transition_graph; /* mapping, kept as read */

	/* mtalert's own fields. */
	char *title;	   /* defaults to signature */
	char *source_url;  /* may be NULL */
	unsigned mta_mask; /* bit (1 << enum mt_mta); 0: every MTA */
	enum mt_severity severity;
	int specificity; /* 0..100: the higher wins an overlap */
	/* The line says a session failed, not why: the cause the same process
	 * logged for the same peer just before is the one to name (correlate). */
	bool session_outcome;
	char **ex_match, **ex_no_match;
	size_t nex_match, nex_no_match;

	/* Where it came from. */
	char *file;
	unsigned line;
	size_t index; /* position in the catalog */

	/* The compiled regex and its named groups (group number -> name). */
	void *code; /* pcre2_code_8 *, kept opaque so users need no pcre2.h */
	uint32_t ncaptures;
	char *capture_name[MT_CAPTURES_MAX + 1]; /* by group number; NULL if unnamed */
	bool jit;

	struct mt_ydoc *doc; /* the whole record as read */
};

struct mt_catalog;

/*
 * Load from paths (directories are walked recursively).  Always returns a
 * catalog, possibly empty; problems are in d (d->errors > 0: something was
 * skipped).
 */
struct mt_catalog *mt_catalog_load(const char *const *paths, size_t npaths, struct mt_diag *d);
/* One record from memory (fuzzing, tests); name stands for the file name. */
struct mt_catalog *mt_catalog_load_buffer(const char *name, const char *p, size_t len,
					  struct mt_diag *d);
struct mt_catalog *mt_catalog_free(struct mt_catalog *c);

/*
 * The same without what only diagnostics need: each record's YAML tree
 * (positions of fields) and the maps kept as read (os_specific and
 * transition_graph are NULL).  Every typed field is there.  The daemon
 * loads this way: freeing each tree as soon as its record is built keeps
 * the heap compact.
 */
struct mt_catalog *mt_catalog_load_lean(const char *const *paths, size_t npaths, struct mt_diag *d);

size_t mt_catalog_count(const struct mt_catalog *c);
const struct mt_signature *mt_catalog_get(const struct mt_catalog *c, size_t i);
const struct mt_signature *mt_catalog_find(const struct mt_catalog *c, const char *id);

const char *mt_severity_name(enum mt_severity s);
int mt_severity_parse(const char *s, enum mt_severity *ret);

#endif
