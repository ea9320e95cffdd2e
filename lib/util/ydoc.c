/* ydoc - YAML/JSON documents into a bounded tree with 1-based positions. */
#include "util/ydoc.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "util/xalloc.h"

struct mt_ydoc {
	char *file;
	struct mt_ynode *root;
};

/* Parse state: one pass over libyaml's events with an explicit stack. */
struct reader {
	yaml_parser_t parser;
	const char *text; /* the document, for positions libyaml gives as offsets */
	size_t len;
	const char *file;
	struct mt_diag *d;
	size_t nodes;
	int depth;
};

static struct mt_ynode *
node_free(struct mt_ynode *n)
{
	if (n == NULL)
		return NULL;
	for (size_t i = 0; i < n->n; i++)
		node_free(n->items[i]);
	free(n->items);
	free(n->str);
	free(n);
	return NULL;
}

static void
err_at(struct reader *r, const yaml_mark_t *m, const char *msg)
{
	mt_diag_addc(r->d, MT_DIAG_ERROR, r->file, (unsigned)m->line + 1, (unsigned)m->column + 1,
		     "%s", msg);
}

static void
push_item(struct mt_ynode *parent, struct mt_ynode *child)
{
	/* Grow by doubling; n is bounded by MT_YDOC_MAX_NODES. */
	if ((parent->n & (parent->n - 1)) == 0)
		parent->items = mt_xreallocarray(parent->items, parent->n ? parent->n * 2 : 1,
						 sizeof(*parent->items));
	parent->items[parent->n++] = child;
}

static bool
same_key(const struct mt_ynode *a, const struct mt_ynode *b)
{
	return a->type == MT_Y_SCALAR && b->type == MT_Y_SCALAR && a->len == b->len &&
	       memcmp(a->str, b->str, a->len) == 0;
}

/* Reject what would make a file mean more than it shows. */
static bool
check_event(struct reader *r, const yaml_event_t *ev, const yaml_char_t *anchor,
	    const yaml_char_t *tag)
{
	if (anchor != NULL) {
		err_at(r, &ev->start_mark, "YAML anchors are not allowed");
		return false;
	}
	if (tag != NULL && strcmp((const char *)tag, YAML_STR_TAG) != 0 &&
	    strcmp((const char *)tag, YAML_INT_TAG) != 0 &&
	    strcmp((const char *)tag, YAML_FLOAT_TAG) != 0 &&
	    strcmp((const char *)tag, YAML_BOOL_TAG) != 0 &&
	    strcmp((const char *)tag, YAML_NULL_TAG) != 0 &&
	    strcmp((const char *)tag, YAML_SEQ_TAG) != 0 &&
	    strcmp((const char *)tag, YAML_MAP_TAG) != 0) {
		err_at(r, &ev->start_mark, "YAML tags are not allowed");
		return false;
	}
	return true;
}

static struct mt_ynode *parse_node(struct reader *r, yaml_event_t *ev);

static bool
next_event(struct reader *r, yaml_event_t *ev)
{
	if (yaml_parser_parse(&r->parser, ev))
		return true;
	{
		char msg[512];
		yaml_mark_t m = r->parser.problem_mark;

		/*
		 * The reader (encoding errors, such as a byte that is not UTF-8)
		 * gives a byte offset, not a mark: count lines and characters
		 * up to it so the error points at the byte.
		 */
		if (r->parser.error == YAML_READER_ERROR) {
			size_t end = r->parser.problem_offset < r->len ? r->parser.problem_offset :
									 r->len;

			/*
			 * At the start of a bad sequence, not inside it: a bad
			 * trailing octet is reported at its own offset, after
			 * the lead byte and the good continuation bytes.
			 */
			while (end > 0 && end < r->len &&
			       ((unsigned char)r->text[end] & 0xC0) == 0x80)
				end--;
			if (r->parser.problem != NULL && strstr(r->parser.problem, "trailing")) {
				size_t k = end;

				while (k > 0 && ((unsigned char)r->text[k - 1] & 0xC0) == 0x80)
					k--;
				if (k > 0 && (unsigned char)r->text[k - 1] >= 0xC0)
					end = k - 1;
			}
			memset(&m, 0, sizeof(m));
			for (size_t i = 0; i < end; i++) {
				if (r->text[i] == '\n') {
					m.line++;
					m.column = 0;
				} else if (((unsigned char)r->text[i] & 0xC0) != 0x80) {
					m.column++; /* a character starts here */
				}
			}
		}

		if (r->parser.context)
			(void)snprintf(msg, sizeof(msg), "YAML syntax error: %s %s",
				       r->parser.problem ? r->parser.problem : "error",
				       r->parser.context);
		else
			(void)snprintf(msg, sizeof(msg), "YAML syntax error: %s",
				       r->parser.problem ? r->parser.problem : "error");
		err_at(r, &m, msg);
	}
	return false;
}

/* Parse the children of a sequence or mapping until its end event. */
static bool
parse_children(struct reader *r, struct mt_ynode *n, yaml_event_type_t end)
{
	for (;;) {
		yaml_event_t ev;
		struct mt_ynode *child;

		if (!next_event(r, &ev))
			return false;
		if (ev.type == end) {
			yaml_event_delete(&ev);
			break;
		}
		child = parse_node(r, &ev);
		yaml_event_delete(&ev);
		if (child == NULL)
			return false;
		if (n->type == MT_Y_MAP && (n->n % 2) == 0) {
			if (child->type != MT_Y_SCALAR) {
				mt_diag_addc(r->d, MT_DIAG_ERROR, r->file, child->line, child->col,
					     "mapping keys must be plain strings");
				node_free(child);
				return false;
			}
			for (size_t i = 0; i < n->n; i += 2) {
				if (same_key(n->items[i], child)) {
					mt_diag_addc(r->d, MT_DIAG_ERROR, r->file, child->line,
						     child->col,
						     "duplicate key '%.100s' (first at line %u)",
						     child->str, n->items[i]->line);
					node_free(child);
					return false;
				}
			}
		}
		push_item(n, child);
	}
	return true;
}

static struct mt_ynode *
parse_node(struct reader *r, yaml_event_t *ev)
{
	struct mt_ynode *n;

	if (++r->nodes > MT_YDOC_MAX_NODES) {
		err_at(r, &ev->start_mark, "document has too many nodes");
		return NULL;
	}
	switch (ev->type) {
	case YAML_ALIAS_EVENT:
		err_at(r, &ev->start_mark, "YAML aliases are not allowed");
		return NULL;
	case YAML_SCALAR_EVENT:
		if (!check_event(r, ev, ev->data.scalar.anchor, ev->data.scalar.tag))
			return NULL;
		if (ev->data.scalar.length > MT_YDOC_MAX_SCALAR) {
			err_at(r, &ev->start_mark, "string is too long");
			return NULL;
		}
		n = mt_xcalloc(1, sizeof(*n));
		n->type = MT_Y_SCALAR;
		n->str = mt_xstrndup((const char *)ev->data.scalar.value, ev->data.scalar.length);
		n->len = ev->data.scalar.length;
		n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE;
		break;
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		bool seq = ev->type == YAML_SEQUENCE_START_EVENT;

		if (!check_event(r, ev,
				 seq ? ev->data.sequence_start.anchor :
				       ev->data.mapping_start.anchor,
				 seq ? ev->data.sequence_start.tag : ev->data.mapping_start.tag))
			return NULL;
		if (r->depth >= MT_YDOC_MAX_DEPTH) {
			err_at(r, &ev->start_mark, "document is nested too deeply");
			return NULL;
		}
		n = mt_xcalloc(1, sizeof(*n));
		n->type = seq ? MT_Y_SEQ : MT_Y_MAP;
		n->line = (unsigned)ev->start_mark.line + 1;
		n->col = (unsigned)ev->start_mark.column + 1;
		r->depth++;
		if (!parse_children(r, n, seq ? YAML_SEQUENCE_END_EVENT : YAML_MAPPING_END_EVENT)) {
			r->depth--;
			return node_free(n);
		}
		r->depth--;
		return n;
	}
	default:
		err_at(r, &ev->start_mark, "unexpected YAML event");
		return NULL;
	}
	n->line = (unsigned)ev->start_mark.line + 1;
	n->col = (unsigned)ev->start_mark.column + 1;
	return n;
}

int
mt_ydoc_parse(const char *file, const char *p, size_t len, struct mt_diag *d, struct mt_ydoc **ret)
{
	struct reader r = { .file = file, .d = d };
	struct mt_ynode *root = NULL;
	yaml_event_t ev;
	bool ok = false;

	if (len > MT_YDOC_MAX_BYTES) {
		mt_diag_add(d, MT_DIAG_ERROR, file, 0, "file is larger than %d bytes",
			    MT_YDOC_MAX_BYTES);
		return -EFBIG;
	}
	if (!yaml_parser_initialize(&r.parser))
		mt_panic("yaml_parser_initialize failed");
	yaml_parser_set_input_string(&r.parser, (const unsigned char *)p, len);
	r.text = p;
	r.len = len;

	/* STREAM-START, DOCUMENT-START, node, DOCUMENT-END, then STREAM-END. */
	if (!next_event(&r, &ev))
		goto out;
	yaml_event_delete(&ev);
	if (!next_event(&r, &ev))
		goto out;
	if (ev.type == YAML_STREAM_END_EVENT) {
		mt_diag_add(d, MT_DIAG_ERROR, file, 0, "file is empty");
		yaml_event_delete(&ev);
		goto out;
	}
	yaml_event_delete(&ev);
	if (!next_event(&r, &ev))
		goto out;
	root = parse_node(&r, &ev);
	yaml_event_delete(&ev);
	if (root == NULL)
		goto out;
	if (!next_event(&r, &ev)) /* DOCUMENT-END */
		goto out;
	yaml_event_delete(&ev);
	if (!next_event(&r, &ev))
		goto out;
	if (ev.type != YAML_STREAM_END_EVENT) {
		err_at(&r, &ev.start_mark, "only one YAML document per file is allowed");
		yaml_event_delete(&ev);
		goto out;
	}
	yaml_event_delete(&ev);
	ok = true;
out:
	yaml_parser_delete(&r.parser);
	if (!ok) {
		node_free(root);
		return -EINVAL;
	}
	*ret = mt_xcalloc(1, sizeof(**ret));
	(*ret)->file = mt_xstrdup(file);
	(*ret)->root = root;
	return 0;
}

int
mt_ydoc_read_file(const char *path, struct mt_diag *d, char **ret_data, size_t *ret_len)
{
	struct stat st;
	char *data;
	size_t got = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		mt_diag_add(d, MT_DIAG_ERROR, path, 0, "cannot open: %s", strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		mt_diag_add(d, MT_DIAG_ERROR, path, 0, "not a regular file");
		(void)close(fd);
		return -EINVAL;
	}
	if (st.st_size > MT_YDOC_MAX_BYTES) {
		mt_diag_add(d, MT_DIAG_ERROR, path, 0, "file is larger than %d bytes",
			    MT_YDOC_MAX_BYTES);
		(void)close(fd);
		return -EFBIG;
	}
	data = mt_xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, data + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			mt_diag_add(d, MT_DIAG_ERROR, path, 0, "cannot read: %s", strerror(-r));
			free(data);
			(void)close(fd);
			return r;
		}
		if (n == 0)
			break; /* it shrank meanwhile: parse what is there */
		got += (size_t)n;
	}
	(void)close(fd);
	data[got] = '\0';
	*ret_data = data;
	*ret_len = got;
	return 0;
}

int
mt_ydoc_load(const char *path, struct mt_diag *d, struct mt_ydoc **ret)
{
	char *data;
	size_t len;
	int r = mt_ydoc_read_file(path, d, &data, &len);

	if (r < 0)
		return r;
	r = mt_ydoc_parse(path, data, len, d, ret);
	free(data);
	return r;
}

struct mt_ydoc *
mt_ydoc_free(struct mt_ydoc *doc)
{
	if (doc == NULL)
		return NULL;
	node_free(doc->root);
	free(doc->file);
	free(doc);
	return NULL;
}

const struct mt_ynode *
mt_ydoc_root(const struct mt_ydoc *doc)
{
	return doc->root;
}

const char *
mt_ydoc_file(const struct mt_ydoc *doc)
{
	return doc->file;
}

const struct mt_ynode *
mt_ynode_get(const struct mt_ynode *map, const char *key)
{
	size_t klen = strlen(key);

	if (map == NULL || map->type != MT_Y_MAP)
		return NULL;
	for (size_t i = 0; i + 1 < map->n; i += 2) {
		const struct mt_ynode *k = map->items[i];

		if (k->len == klen && memcmp(k->str, key, klen) == 0)
			return map->items[i + 1];
	}
	return NULL;
}

bool
mt_ynode_is_null(const struct mt_ynode *n)
{
	if (n == NULL || n->type != MT_Y_SCALAR || n->quoted)
		return false;
	return n->len == 0 || strcmp(n->str, "~") == 0 || strcmp(n->str, "null") == 0 ||
	       strcmp(n->str, "Null") == 0 || strcmp(n->str, "NULL") == 0;
}

int
mt_ynode_int(const struct mt_ynode *n, long long *ret)
{
	char *end;
	long long v;

	if (n == NULL || n->type != MT_Y_SCALAR || n->quoted || n->len == 0)
		return -EINVAL;
	errno = 0;
	v = strtoll(n->str, &end, 10);
	if (errno != 0 || *end != '\0' || end != n->str + n->len)
		return -EINVAL;
	*ret = v;
	return 0;
}

int
mt_ynode_double(const struct mt_ynode *n, double *ret)
{
	char *end;
	double v;

	if (n == NULL || n->type != MT_Y_SCALAR || n->quoted || n->len == 0)
		return -EINVAL;
	/* strtod also takes "inf", "nan" and hex: refuse anything but digits. */
	for (size_t i = 0; i < n->len; i++)
		if (strchr("0123456789.eE+-", n->str[i]) == NULL)
			return -EINVAL;
	errno = 0;
	v = strtod(n->str, &end);
	if (errno != 0 || end != n->str + n->len || !isfinite(v))
		return -EINVAL;
	*ret = v;
	return 0;
}

int
mt_ynode_bool(const struct mt_ynode *n, bool *ret)
{
	if (n == NULL || n->type != MT_Y_SCALAR || n->quoted)
		return -EINVAL;
	if (!strcmp(n->str, "true") || !strcmp(n->str, "True") || !strcmp(n->str, "TRUE")) {
		*ret = true;
		return 0;
	}
	if (!strcmp(n->str, "false") || !strcmp(n->str, "False") || !strcmp(n->str, "FALSE")) {
		*ret = false;
		return 0;
	}
	return -EINVAL;
}

const char *
mt_ynode_type_name(const struct mt_ynode *n)
{
	double dv;
	bool bv;

	if (n->type == MT_Y_SEQ)
		return "list";
	if (n->type == MT_Y_MAP)
		return "mapping";
	if (mt_ynode_is_null(n))
		return "null";
	if (mt_ynode_double(n, &dv) == 0)
		return "number";
	if (mt_ynode_bool(n, &bv) == 0)
		return "boolean";
	return "string";
}
