/* journal.h without libsystemd: the journal input is not available. */
#include "input/journal.h"
#include "log.h"

struct mt_journal *
mt_journal_new(struct ev_loop *loop, const struct mt_config_journal *conf,
	       const struct mt_cursor *cursor, mt_journal_line_fn *on_line, void *ctx)
{
	log_warnx("journal input requested, but mtalertd was built without libsystemd");
	return NULL;
}

struct mt_journal *
mt_journal_free(struct mt_journal *j)
{
	return NULL;
}

bool
mt_journal_cursor(struct mt_journal *j, struct mt_cursor *ret)
{
	return false;
}
