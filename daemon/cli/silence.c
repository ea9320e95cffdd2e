/* silence - `mtalertd silence add|list|expire`: the silences file in the state directory. */
#include "alert/silence.h"

#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "config/config.h"
#include "ctl/ctl.h"
#include "log.h"
#include "util/json.h"
#include "util/xalloc.h"
#include "util/ydoc.h"

#define KEEP_EXPIRED (7 * 86400.) /* ended silences stay listed this long */

struct paths {
	char file[MT_CONFIG_PATH_MAX + 32], tmp[MT_CONFIG_PATH_MAX + 32],
		lock[MT_CONFIG_PATH_MAX + 32];
	const char *dir, *socket;
};

static double
now_wall(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Read the set; a missing file is an empty set.  -EINVAL after printing why. */
static int
load(const struct paths *p, struct mt_silences *s)
{
	struct mt_diag d;
	char *data;
	size_t len;
	int r;

	mt_diag_init(&d);
	r = mt_ydoc_read_file(p->file, &d, &data, &len);
	if (r == -ENOENT) {
		mt_diag_fini(&d);
		return 0;
	}
	if (r == 0) {
		r = mt_silences_parse(p->file, data, len, &d, s);
		free(data);
	}
	for (size_t i = 0; i < d.n; i++) {
		char line[1400];

		mt_diag_format(&d, i, line, sizeof(line));
		log_error("%s", line);
	}
	mt_diag_fini(&d);
	return r;
}

/* Write the set atomically (temp, fsync, rename, fsync of the directory). */
static int
save(const struct paths *p, const struct mt_silences *s)
{
	struct mt_buf b;
	struct stat dst;
	int fd, dfd, r = 0;
	size_t off = 0;

	mt_buf_init(&b, MT_SILENCE_FILE_MAX);
	if (mt_silences_render(&b, s) < 0) {
		mt_buf_fini(&b);
		log_error("the silences do not fit in %d bytes", MT_SILENCE_FILE_MAX);
		return -ENOBUFS;
	}
	fd = open(p->tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		r = -errno;
		log_error("cannot write %s: %s", p->tmp, strerror(errno));
		mt_buf_fini(&b);
		return r;
	}
	/* root writes for the daemon's user: the file belongs to whoever owns the directory. */
	if (geteuid() == 0 && stat(p->dir, &dst) == 0)
		(void)fchown(fd, dst.st_uid, dst.st_gid);
	while (off < b.len && r == 0) {
		ssize_t n = write(fd, b.data + off, b.len - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			r = -errno;
		else
			off += (size_t)n;
	}
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	if (r == 0 && rename(p->tmp, p->file) < 0)
		r = -errno;
	mt_buf_fini(&b);
	if (r < 0) {
		log_error("cannot write %s: %s", p->file, strerror(-r));
		(void)unlink(p->tmp);
		return r;
	}
	dfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		(void)close(dfd);
	}
	return 0;
}

/* Tell a running daemon at once (it also watches the file). */
static void
poke(const struct paths *p)
{
	struct mt_buf out;
	int r;

	mt_buf_init(&out, 256);
	r = mt_ctl_request(p->socket, "silences reload", 5., &out);
	if (r < 0)
		fprintf(stderr,
			"mtalertd: note: no daemon answered on %s (%s); a running one "
			"picks the change up from the file\n",
			p->socket, strerror(-r));
	else if (out.len < 3 || memcmp(out.data, "ok ", 3) != 0)
		fprintf(stderr, "mtalertd: the daemon did not take the change: %.*s",
			(int)(out.len > 200 ? 200 : out.len), out.data ? out.data : "");
	mt_buf_fini(&out);
}

static void
random_id(char *dst, size_t size)
{
	unsigned char r[8] = { 0 };
	FILE *f = fopen("/dev/urandom", "re");

	if (f == NULL || fread(r, 1, sizeof(r), f) != sizeof(r))
		fatalx(EX_OSERR, "cannot read /dev/urandom");
	(void)fclose(f);
	(void)snprintf(dst, size, "%02x%02x%02x%02x%02x%02x%02x%02x", r[0], r[1], r[2], r[3], r[4],
		       r[5], r[6], r[7]);
}

static void
who(char *dst, size_t size)
{
	const char *u = getenv("SUDO_USER");
	struct passwd *pw;

	if (u == NULL || *u == '\0') {
		pw = getpwuid(getuid());
		u = pw ? pw->pw_name : "?";
	}
	(void)snprintf(dst, size, "%s", u);
}

static void
when(char *dst, size_t size, double t)
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (localtime_r(&tt, &tm) == NULL || strftime(dst, size, "%Y-%m-%d %H:%M %Z", &tm) == 0)
		(void)snprintf(dst, size, "?");
}

/*
 * Whether a signature id or category names something in the catalog (-s,
 * else the configured directories, else the installed catalog): a typo
 * would silence nothing and look as if it worked.  0 known, -ENOENT not,
 * -EIO when the catalog cannot be read (then nothing is checked).
 */
static int
check_known(const struct cli *o, const struct mt_config *c, const struct mt_silence *sl)
{
	const char *def[1];
	const char *const *paths = o->sig_paths;
	size_t npaths = o->nsig_paths;
	struct mt_catalog *cat;
	struct mt_diag d;
	int r = -ENOENT;

	if (sl->kind == MT_SILENCE_MATCH)
		return 0;
	if (npaths == 0 && c->signatures.ndirectories > 0) {
		paths = (const char *const *)c->signatures.directories;
		npaths = c->signatures.ndirectories;
	} else if (npaths == 0) {
		def[0] = cli_default_signatures();
		paths = def;
		npaths = 1;
	}
	mt_diag_init(&d);
	cat = mt_catalog_load_lean(paths, npaths, &d);
	mt_diag_fini(&d);
	if (mt_catalog_count(cat) == 0)
		r = -EIO;
	for (size_t i = 0; r == -ENOENT && i < mt_catalog_count(cat); i++) {
		const struct mt_signature *s = mt_catalog_get(cat, i);

		if (sl->kind == MT_SILENCE_SIGNATURE ?
			    strcmp(s->id, sl->value) == 0 :
			    (s->category && !strcmp(s->category, sl->value)))
			r = 0;
	}
	mt_catalog_free(cat);
	return r;
}

static int
usage(void)
{
	log_error("usage: mtalertd silence add (--signature ID | --category NAME | --match "
		  "KEY=GLOB) --for DURATION --comment TEXT [--force]\n"
		  "       mtalertd silence list [--all] [--json]\n"
		  "       mtalertd silence expire ID\n"
		  "options: -c FILE, --state-dir DIR, --socket PATH");
	return EX_USAGE;
}

static int
do_add(const struct cli *o, const struct mt_config *c, const struct paths *p, struct mt_silences *s,
       int argc, char **argv)
{
	bool force = false;
	struct mt_silence sl;
	const char *what = NULL, *dur = NULL;
	double seconds;
	char why[160];
	int n = 0, r;

	memset(&sl, 0, sizeof(sl));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--force")) {
			force = true;
			continue;
		}
		if (i + 1 >= argc)
			return usage();
		if (!strcmp(a, "--signature") || !strcmp(a, "--category")) {
			sl.kind = a[2] == 's' ? MT_SILENCE_SIGNATURE : MT_SILENCE_CATEGORY;
			what = argv[++i];
			n++;
		} else if (!strcmp(a, "--match")) {
			const char *eq = strchr(argv[i + 1], '=');

			what = argv[++i];
			if (eq == NULL || (size_t)(eq - what) > MT_SILENCE_KEY_MAX) {
				log_error(
					"--match takes KEY=GLOB, such as recipient_domain=gmail.com");
				return EX_USAGE;
			}
			memcpy(sl.key, what, (size_t)(eq - what));
			what = eq + 1;
			sl.kind = MT_SILENCE_MATCH;
			n++;
		} else if (!strcmp(a, "--for")) {
			dur = argv[++i];
		} else if (!strcmp(a, "--comment")) {
			if (strlen(argv[i + 1]) > MT_SILENCE_COMMENT_MAX) {
				log_error("--comment: at most %d bytes", MT_SILENCE_COMMENT_MAX);
				return EX_USAGE;
			}
			(void)snprintf(sl.comment, sizeof(sl.comment), "%s", argv[++i]);
		} else {
			return usage();
		}
	}
	if (n != 1 || dur == NULL || sl.comment[0] == '\0') {
		log_error("silence add needs one of --signature, --category or --match, and --for "
			  "and --comment (say why, for whoever reads `silence list` next)");
		return EX_USAGE;
	}
	if (mt_parse_duration(dur, &seconds) < 0 || seconds <= 0 || seconds > 366 * 86400.) {
		log_error("--for takes a duration such as 30m, 2h or 168h (at most a year)");
		return EX_USAGE;
	}
	if (strlen(what) > MT_SILENCE_VALUE_MAX) {
		log_error("the value is longer than %d bytes", MT_SILENCE_VALUE_MAX);
		return EX_USAGE;
	}
	(void)snprintf(sl.value, sizeof(sl.value), "%s", what);
	r = force ? 0 : check_known(o, c, &sl);
	if (r == -ENOENT) {
		log_error("no signature %s '%.200s' in the catalog (see `mtalertd list`); "
			  "--force adds the silence anyway",
			  sl.kind == MT_SILENCE_SIGNATURE ? "has the id" : "is in the category",
			  sl.value);
		return EX_DATAERR;
	}
	if (r == -EIO)
		fprintf(stderr,
			"mtalertd: note: the catalog could not be read; '%s' is not "
			"checked\n",
			sl.value);
	random_id(sl.id, sizeof(sl.id));
	who(sl.created_by, sizeof(sl.created_by));
	sl.starts = floor(now_wall());
	sl.ends = sl.starts + ceil(seconds);
	if (mt_silence_check(&sl, why, sizeof(why)) < 0) {
		log_error("%s", why);
		return EX_USAGE;
	}
	(void)mt_silences_prune(s, now_wall(), KEEP_EXPIRED);
	r = mt_silences_add(s, &sl);
	if (r == -ENOSPC) {
		log_error("there are already %d silences; expire some first", MT_SILENCE_MAX);
		return EX_CANTCREAT;
	}
	if (r < 0 || save(p, s) < 0)
		return EX_CANTCREAT;
	printf("%s\n", sl.id);
	poke(p);
	return 0;
}

static int
do_list(const struct mt_silences *s, bool all, bool json)
{
	double now = now_wall();
	struct mt_buf b;

	mt_buf_init(&b, MT_SILENCE_FILE_MAX);
	if (json) {
		(void)mt_silences_render(&b, s);
		(void)fwrite(b.data, 1, b.len, stdout);
		mt_buf_fini(&b);
		return 0;
	}
	printf("%-16s %-8s %-20s %-20s %-12s %s\n", "ID", "STATE", "STARTS", "ENDS", "BY",
	       "MATCHES / COMMENT");
	for (size_t i = 0; i < s->n; i++) {
		const struct mt_silence *sl = &s->v[i];
		const char *state = mt_silence_active(sl, now) ? "active" :
				    sl->starts > now	       ? "pending" :
								 "expired";
		char a[64], e[64];

		if (!all && strcmp(state, "expired") == 0)
			continue;
		when(a, sizeof(a), sl->starts);
		when(e, sizeof(e), sl->ends);
		mt_buf_reset(&b);
		if (sl->kind == MT_SILENCE_MATCH)
			(void)mt_buf_printf(&b, "%s=", sl->key);
		else
			(void)mt_buf_printf(&b, "%s=", mt_silence_kind_name(sl->kind));
		(void)mt_text_clean(&b, sl->value, strlen(sl->value), MT_SILENCE_VALUE_MAX);
		(void)mt_buf_puts(&b, " / ");
		(void)mt_text_clean(&b, sl->comment, strlen(sl->comment), MT_SILENCE_COMMENT_MAX);
		(void)mt_buf_putc(&b, '\0');
		printf("%-16s %-8s %-20s %-20s %-12.12s %s\n", sl->id, state, a, e, sl->created_by,
		       b.data);
	}
	mt_buf_fini(&b);
	return 0;
}

int
cmd_silence(struct cli *o, int argc, char **argv)
{
	struct paths p;
	struct mt_config *c;
	struct mt_silences s;
	const char *state_dir = o->state_dir, *socket = NULL;
	bool all = false, json = false;
	char *rest[16];
	int nrest = 0, r, lock;

	/* Common options anywhere; the rest goes to the subcommand. */
	for (int i = 1; i < argc; i++) {
		int k = cli_common_option(o, argc, argv, &i);

		if (k < 0)
			return EX_USAGE;
		if (k > 0)
			continue;
		if (!strcmp(argv[i], "--state-dir") && i + 1 < argc)
			state_dir = argv[++i];
		else if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			socket = argv[++i];
		else if (!strcmp(argv[i], "--all"))
			all = true;
		else if (!strcmp(argv[i], "--json"))
			json = true;
		else if (nrest < 16)
			rest[nrest++] = argv[i];
		else
			return usage();
	}
	if (nrest == 0)
		return usage();
	c = cli_load_config(o);
	if (c == NULL)
		return EX_CONFIG;
	if (state_dir == NULL)
		state_dir = c->state_directory;
	if (socket == NULL)
		socket = c->control.socket;
	p.dir = state_dir;
	p.socket = socket;
	if ((size_t)snprintf(p.file, sizeof(p.file), "%s/silences.json", state_dir) >=
		    sizeof(p.file) ||
	    (size_t)snprintf(p.tmp, sizeof(p.tmp), "%s/.silences.json.tmp", state_dir) >=
		    sizeof(p.tmp) ||
	    (size_t)snprintf(p.lock, sizeof(p.lock), "%s/.silences.lock", state_dir) >=
		    sizeof(p.lock)) {
		mt_config_free(c);
		return EX_USAGE;
	}
	/* One writer at a time: two admins adding at once must not lose one. */
	lock = open(p.lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (lock < 0 && strcmp(rest[0], "list") != 0) {
		log_error("cannot open %s: %s (run as root or the daemon's user)", p.lock,
			  strerror(errno));
		mt_config_free(c);
		return EX_NOPERM;
	}
	if (lock >= 0) {
		struct stat dst;

		if (geteuid() == 0 && stat(state_dir, &dst) == 0)
			(void)fchown(lock, dst.st_uid, dst.st_gid);
		(void)flock(lock, LOCK_EX);
	}
	mt_silences_init(&s);
	if (load(&p, &s) < 0) {
		r = EX_DATAERR;
	} else if (!strcmp(rest[0], "add")) {
		r = do_add(o, c, &p, &s, nrest, rest);
	} else if (!strcmp(rest[0], "list") && nrest == 1) {
		r = do_list(&s, all, json);
	} else if (!strcmp(rest[0], "expire") && nrest == 2) {
		if (mt_silences_expire(&s, rest[1], floor(now_wall())) < 0) {
			log_error(
				"no silence has the id '%.40s' (see `mtalertd silence list --all`)",
				rest[1]);
			r = EX_DATAERR;
		} else {
			(void)mt_silences_prune(&s, now_wall(), KEEP_EXPIRED);
			r = save(&p, &s) < 0 ? EX_CANTCREAT : 0;
			if (r == 0) {
				printf("expired %s\n", rest[1]);
				poke(&p);
			}
		}
	} else {
		r = usage();
	}
	mt_silences_fini(&s);
	if (lock >= 0)
		(void)close(lock);
	mt_config_free(c);
	return r;
}
