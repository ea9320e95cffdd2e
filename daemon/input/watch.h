/*
 * watch - tell the daemon when something changed in a watched directory.
 *
 * One inotify descriptor, read through an ev_io.  Each directory of an
 * input is watched for what changes which file a path names (files created,
 * renamed, deleted, permissions: everything rotation does), and each
 * followed file for its content, so writes to other files of the same
 * directory wake nothing.  Events are coalesced per read: on_change is
 * called once per directory that saw anything, with no file name (the tails
 * of that directory decide for themselves by stat).  IN_Q_OVERFLOW reports
 * every directory.  Nothing runs while nothing happens.
 *
 * Where inotify cannot be had (no inotify, or the watch limit is reached),
 * the watcher falls back to a timer that reports every directory each
 * poll_interval seconds, and says so once in the log.  A directory that does
 * not exist yet is retried on a slow timer that runs only while such a
 * directory exists.
 */
#ifndef MT_WATCH_H
#define MT_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include <ev.h>

struct mt_watch;

typedef void mt_watch_fn(void *ctx, const char *dir);

struct mt_watch *mt_watch_new(struct ev_loop *loop, double poll_interval, mt_watch_fn *on_change,
			      void *ctx);
struct mt_watch *mt_watch_free(struct mt_watch *w);
/* Watch dir (idempotent).  A missing directory is retried later. */
void mt_watch_add(struct mt_watch *w, const char *dir);
/*
 * Also watch the file now at path (in the watched dir) for content changes,
 * reported as a change of dir.  The watch follows the inode, so a rotated
 * file keeps being reported while it is drained; call again after the path
 * names a new file (idempotent for the same inode).
 */
void mt_watch_add_file(struct mt_watch *w, const char *dir, const char *path);
/* Test hook and fallback switch: poll instead of inotify from now on. */
void mt_watch_force_polling(struct mt_watch *w, const char *why);
bool mt_watch_polling(const struct mt_watch *w);
uint64_t mt_watch_fallbacks(const struct mt_watch *w);

#endif
