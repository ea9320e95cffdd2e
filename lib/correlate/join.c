/* join - Exim multi-line entries to one record (see join.h). */
#include "correlate/join.h"

#include <stdlib.h>
#include <string.h>

#include "parse/logline.h"
#include "util/buf.h"
#include "util/xalloc.h"

#define FILE_MAX 4096

struct mt_join {
	size_t max_bytes, max_lines;
	mt_join_fn fn;
	void *ctx;
	bool pending;
	bool cut; /* the held record reached a bound */
	struct mt_buf text; /* the held record */
	char file[FILE_MAX];
	struct mt_join_rec rec;
	struct mt_join_stats st;
};

struct mt_join *
mt_join_new(size_t max_bytes, size_t max_lines, mt_join_fn fn, void *ctx)
{
	struct mt_join *j = mt_xcalloc(1, sizeof(*j));

	j->max_bytes = max_bytes < 64 ? 64 : max_bytes;
	j->max_lines = max_lines < 1 ? 1 : max_lines;
	j->fn = fn;
	j->ctx = ctx;
	mt_buf_init(&j->text, j->max_bytes);
	return j;
}

struct mt_join *
mt_join_free(struct mt_join *j)
{
	if (j == NULL)
		return NULL;
	mt_buf_fini(&j->text);
	free(j);
	return NULL;
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

bool
mt_join_exim_head(const char *p, size_t len)
{
	static const char shape[] = "dddd-dd-dd dd:dd:dd";

	if (len < sizeof(shape) - 1)
		return false;
	for (size_t i = 0; i < sizeof(shape) - 1; i++)
		if (shape[i] == 'd' ? !is_digit(p[i]) : p[i] != shape[i])
			return false;
	return true;
}

void
mt_join_flush(struct mt_join *j)
{
	if (!j->pending)
		return;
	j->pending = false;
	j->rec.p = j->text.data;
	j->rec.len = j->text.len;
	j->st.records++;
	if (j->rec.nlines > 1)
		j->st.joined++;
	j->fn(j->ctx, &j->rec);
}

/* A line with no framing of its own, after an Exim head of the same file. */
static bool
continues(const struct mt_join *j, const char *file, const char *p, size_t len)
{
	struct mt_logrec rec;

	if (!j->pending || strcmp(file, j->file) != 0 || mt_join_exim_head(p, len))
		return false;
	if (len > 0 && (p[0] == ' ' || p[0] == '\t'))
		return true;
	/* Not a headerless excerpt of some MTA either (fixtures mix formats). */
	mt_logline_parse(p, len, &rec);
	return rec.fmt == MT_FMT_NONE && rec.mta == MT_MTA_UNKNOWN;
}

void
mt_join_line(struct mt_join *j, const char *file, const char *p, size_t len, bool truncated,
	     uint64_t offset, uint64_t lineno)
{
	if (continues(j, file, p, len)) {
		j->st.cont_lines++;
		if (truncated)
			j->rec.truncated = true;
		if (j->rec.nlines >= j->max_lines || j->text.len + 1 + len > j->max_bytes) {
			/* Keep what fits of the first line that does not, then nothing more. */
			if (!j->cut) {
				j->cut = true;
				j->st.cut_records++;
				if (j->rec.nlines < j->max_lines && j->text.len + 1 < j->max_bytes) {
					(void)mt_buf_putc(&j->text, '\n');
					(void)mt_buf_append_trunc(&j->text, p, len);
					j->rec.nlines++;
				}
			}
			j->rec.truncated = true;
			return;
		}
		(void)mt_buf_putc(&j->text, '\n');
		(void)mt_buf_append(&j->text, p, len);
		j->rec.nlines++;
		return;
	}
	mt_join_flush(j);
	if (!mt_join_exim_head(p, len)) {
		struct mt_join_rec r = {
			.file = file,
			.p = p,
			.len = len,
			.truncated = truncated,
			.offset = offset,
			.lineno = lineno,
			.nlines = 1,
		};

		j->st.records++;
		j->fn(j->ctx, &r);
		return;
	}
	mt_buf_reset(&j->text);
	(void)mt_buf_append_trunc(&j->text, p, len);
	mt_strlcpy(j->file, file, sizeof(j->file));
	j->rec = (struct mt_join_rec){
		.file = j->file,
		.truncated = truncated || len > j->max_bytes,
		.offset = offset,
		.lineno = lineno,
		.nlines = 1,
	};
	j->cut = false;
	j->pending = true;
}

bool
mt_join_pending(const struct mt_join *j)
{
	return j->pending;
}

const struct mt_join_stats *
mt_join_stats(const struct mt_join *j)
{
	return &j->st;
}
