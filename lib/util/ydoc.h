/*
 * ydoc - read one YAML (or JSON, which is YAML) document into a small tree.
 *
 * The tree keeps every node's 1-based line and column, so that loaders can
 * name the exact place of a problem.  It is the only module that talks to
 * libyaml.  Limits, all errors with file:line:col: document size
 * MT_YDOC_MAX_BYTES, nesting MT_YDOC_MAX_DEPTH, scalar length
 * MT_YDOC_MAX_SCALAR, node count MT_YDOC_MAX_NODES.  Anchors, aliases and
 * tags other than the core schema's are refused (they make a signature file
 * mean something other than what it looks like, and aliases allow "billion
 * laughs").  Duplicate keys are errors.  Only one document per file.
 *
 * The tree owns all its strings; a node is valid until mt_ydoc_free().  It
 * knows no key of any schema.
 */
#ifndef MT_YDOC_H
#define MT_YDOC_H

#include <stdbool.h>
#include <stddef.h>

#include "util/diag.h"

#define MT_YDOC_MAX_BYTES  (1024 * 1024)
#define MT_YDOC_MAX_DEPTH  32
#define MT_YDOC_MAX_SCALAR (64 * 1024)
#define MT_YDOC_MAX_NODES  100000

enum mt_ynode_type {
	MT_Y_SCALAR,
	MT_Y_SEQ,
	MT_Y_MAP,
};

struct mt_ynode {
	enum mt_ynode_type type;
	unsigned line, col; /* 1-based */
	/* scalars */
	char *str; /* NUL-terminated; may contain NULs from \0 escapes, see len */
	size_t len;
	bool quoted; /* written in quotes: never null, never a number */
	/* sequences: items[0..n); mappings: keys items[2i], values items[2i+1] */
	struct mt_ynode **items;
	size_t n;
};

struct mt_ydoc;

/* Parse; on error add diagnostics and return -EINVAL (nothing in *ret). */
int mt_ydoc_parse(const char *file, const char *p, size_t len, struct mt_diag *d,
		  struct mt_ydoc **ret);
/*
 * Read a whole file of at most MT_YDOC_MAX_BYTES into *ret_data (NUL-
 * terminated, the caller frees it): -errno, -EINVAL (not a regular file) or
 * -EFBIG, each with a diagnostic.
 */
int mt_ydoc_read_file(const char *path, struct mt_diag *d, char **ret_data, size_t *ret_len);
/* Read and parse a file (-errno and a diagnostic if it cannot be read). */
int mt_ydoc_load(const char *path, struct mt_diag *d, struct mt_ydoc **ret);
struct mt_ydoc *mt_ydoc_free(struct mt_ydoc *doc);

const struct mt_ynode *mt_ydoc_root(const struct mt_ydoc *doc);
const char *mt_ydoc_file(const struct mt_ydoc *doc);

/* Mapping lookup; NULL when absent or when map is not a mapping. */
const struct mt_ynode *mt_ynode_get(const struct mt_ynode *map, const char *key);
/* A plain scalar "null", "Null", "NULL", "~" or empty. */
bool mt_ynode_is_null(const struct mt_ynode *n);
/* A plain scalar that is a whole number / a finite number; -EINVAL otherwise. */
int mt_ynode_int(const struct mt_ynode *n, long long *ret);
int mt_ynode_double(const struct mt_ynode *n, double *ret);
/* A plain true/false (also True, TRUE, False, FALSE). */
int mt_ynode_bool(const struct mt_ynode *n, bool *ret);
const char *mt_ynode_type_name(
	const struct mt_ynode *n); /* "string", "list", "mapping", "null", "number", "boolean" */

#endif
