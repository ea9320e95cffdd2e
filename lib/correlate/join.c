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
	bool cut;	    /* the held record reached a bound */
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
	/* "YYYY-MM-DD HH:MM:SS": digits everywhere but at 4, 7, 10, 13 and 16. */
	if (len < 19 || !is_digit(p[0]))
		return false; /* most lines, at once */
	return p[4] == '-' && p[7] == '-' && p[10] == ' ' && p[13] == ':' && p[16] == ':' &&
	       is_digit(p[1]) && is_digit(p[2]) && is_digit(p[3]) && is_digit(p[5]) &&
	       is_digit(p[6]) && is_digit(p[8]) && is_digit(p[9]) && is_digit(p[11]) &&
	       is_digit(p[12]) && is_digit(p[14]) && is_digit(p[15]) && is_digit(p[17]) &&
	       is_digit(p[18]);
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
continues(const struct mt_join *j, const char *file, const char *p, size_t len, bool head)
{
	struct mt_logrec rec;

	if (!j->pending || head || strcmp(file, j->file) != 0)
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
	bool head = mt_join_exim_head(p, len);

	if (continues(j, file, p, len, head)) {
		j->st.cont_lines++;
		if (truncated)
			j->rec.truncated = true;
		if (j->rec.nlines >= j->max_lines || j->text.len + 1 + len > j->max_bytes) {
			/* Keep what fits of the first line that does not, then nothing more. */
			if (!j->cut) {
				j->cut = true;
				j->st.cut_records++;
				if (j->rec.nlines < j->max_lines &&
				    j->text.len + 1 < j->max_bytes) {
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
	if (!head) {
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
