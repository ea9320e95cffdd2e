/* syslog - our own non-blocking syslog datagrams: RFC 3164 text or JSON, RFC 5424. */
#include "sink/syslog.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util/json.h"
#include "util/xalloc.h"

/*
 * Caps on the pieces of a datagram, so that the text and RFC 5424 forms
 * always fit in MT_SYSLOG_DGRAM_MAX whatever the log line held; only the
 * alert JSON can be larger, and it has a shortened form.
 */
#define TITLE_MAX      300  /* catalog text in the summary */
#define FIELD_MAX      100  /* one parsed field in the summary */
#define FIX_MAX	       200  /* the first workaround in the summary */
#define PATH_MAX_SHOWN 300  /* the input file's name */
#define SD_VALUE_MAX   256  /* one PARAM-VALUE, cleaned, before escaping */
#define SHORT_LINE_MAX 2048 /* the raw line in the shortened JSON */
#define SHORT_TEXT_MAX 512  /* a catalog string in the shortened JSON */
/* RFC 5424 section 6: HOSTNAME, APP-NAME and MSGID lengths. */
#define HOSTNAME_MAX   255
#define APPNAME_MAX    48
#define MSGID_MAX      32

static const char utf8_bom[] = "\xef\xbb\xbf";

struct mt_syslog_sink {
	char *path; /* the socket, from the config */
	char *tag;
	int format, facility;
	char hostname[HOSTNAME_MAX + 1];
	long pid;
	int fd;		  /* connected datagram socket, -1 when not connected */
	bool unreachable; /* in an episode of failed sends, already warned */
	bool full;	  /* in an episode of dropped datagrams, already warned */
	uint64_t lost;	  /* alerts lost in the current episode */
	struct mt_buf dgram;
	struct mt_syslog_sink_stats stats;
};

static int
level_of(enum mt_severity s)
{
	switch (s) {
	case MT_SEV_CRITICAL:
		return LOG_CRIT;
	case MT_SEV_ERROR:
		return LOG_ERR;
	case MT_SEV_WARNING:
		return LOG_WARNING;
	case MT_SEV_INFO:
		return LOG_INFO;
	}
	return LOG_ERR;
}

static bool
printusascii(unsigned char c)
{
	return c >= 33 && c <= 126;
}

/*
 * An RFC 5424 header field (PRINTUSASCII, 1 to max bytes) or an RFC 3164
 * TAG: anything else becomes '_', so a strange hostname cannot break the
 * framing.  NILVALUE when empty.
 */
static int
put_token(struct mt_buf *b, const char *s, size_t max, const char *also_bad)
{
	size_t i;
	int r = 0;

	for (i = 0; s != NULL && s[i] != '\0' && i < max && r == 0; i++) {
		unsigned char c = (unsigned char)s[i];

		r = mt_buf_putc(b, printusascii(c) && strchr(also_bad, c) == NULL ? (char)c : '_');
	}
	if (r == 0 && i == 0)
		r = mt_buf_putc(b, '-');
	return r;
}

/* Length of p cut to at most max bytes without splitting a UTF-8 sequence. */
static size_t
utf8_cut(const char *p, size_t len, size_t max)
{
	if (len <= max)
		return len;
	len = max;
	while (len > 0 && ((unsigned char)p[len] & 0xc0) == 0x80 && max - len < 3)
		len--;
	return len;
}

static int
json_capped(struct mt_buf *b, const char *p, size_t len, size_t max)
{
	return mt_json_str(b, p, utf8_cut(p, len, max));
}

/*
 * The one-line summary: "[severity] title (id) relay_host=... queue_id=...;
 * fix (85%, estimate): ...; at file:line" (or "at file (offset N)").  Everything that
 * may come from outside (fields, the file name) is cleaned, and each piece
 * is capped, so the whole is a few KiB at most.
 */
static int
summary(struct mt_buf *b, const struct mt_alert *a)
{
	static const enum mt_field shown[] = { MT_F_RELAY_HOST, MT_F_CLIENT_HOST, MT_F_CLIENT_IP,
					       MT_F_QUEUE_ID, MT_F_RECIPIENT };
	const struct mt_signature *s = a->match->sig;
	const char *title = mt_sig_title(s, a->locale), *file = a->file ? a->file : "-";
	int r;

#define TRY(x)                     \
	do {                       \
		if ((r = (x)) < 0) \
			return r;  \
	} while (0)

	TRY(mt_buf_printf(b, "[%s] ", mt_severity_name(mt_alert_severity(a))));
	TRY(mt_text_clean(b, title, strlen(title), TITLE_MAX));
	TRY(mt_buf_puts(b, " ("));
	TRY(mt_text_clean(b, s->id, strlen(s->id), TITLE_MAX));
	TRY(mt_buf_putc(b, ')'));
	for (size_t i = 0; a->rec && i < sizeof(shown) / sizeof(shown[0]); i++) {
		const struct mt_view *v = &a->rec->f[shown[i]];

		if (v->len == 0)
			continue;
		TRY(mt_buf_printf(b, " %s=", mt_field_name(shown[i])));
		TRY(mt_text_clean(b, v->p, v->len, FIELD_MAX));
	}
	if (s->nworkarounds) {
		const char *fix = mt_workaround_action(&s->workarounds[0], a->locale);

		TRY(mt_buf_printf(b, "; fix (%.0f%%, %s): ", s->workarounds[0].success_rate * 100,
				  s->workarounds[0].nverified_by > 0 ? "verified" : "estimate"));
		TRY(mt_text_clean(b, fix, strlen(fix), FIX_MAX));
	}
	TRY(mt_buf_puts(b, "; at "));
	TRY(mt_text_clean(b, file, strlen(file), PATH_MAX_SHOWN));
	/* A tailed file's line number is not known, its offset is. */
	if (a->lineno)
		TRY(mt_buf_printf(b, ":%llu", (unsigned long long)a->lineno));
	else
		TRY(mt_buf_printf(b, " (offset %llu)", (unsigned long long)a->offset));
#undef TRY
	return 0;
}

/*
 * The alert JSON cut down to what identifies it, for the rare alert whose
 * full JSON (workarounds, dead ends, a long line) does not fit in a
 * datagram: still one valid JSON object, marked "shortened": true, so a
 * consumer never has to cope with a cut-off document.
 */
static int
short_json(struct mt_buf *b, const struct mt_alert *a)
{
	static const enum mt_field kept[] = { MT_F_QUEUE_ID,   MT_F_SENDER,   MT_F_RECIPIENT,
					      MT_F_RELAY_HOST, MT_F_RELAY_IP, MT_F_CLIENT_HOST,
					      MT_F_CLIENT_IP,  MT_F_DSN,      MT_F_STATUS };
	const struct mt_signature *s = a->match->sig;
	const char *title = mt_sig_title(s, a->locale);
	bool first = true, f2 = true;
	int r;

#define TRY(x)                     \
	do {                       \
		if ((r = (x)) < 0) \
			return r;  \
	} while (0)
#define KV(key, val)                                                             \
	do {                                                                     \
		if ((val) != NULL) {                                             \
			TRY(mt_json_key(b, &first, key));                        \
			TRY(json_capped(b, (val), strlen(val), SHORT_TEXT_MAX)); \
		}                                                                \
	} while (0)

	TRY(mt_buf_putc(b, '{'));
	KV("id", s->id);
	KV("title", title);
	KV("severity", mt_severity_name(mt_alert_severity(a)));
	KV("domain", s->domain);
	KV("category", s->category);
	KV("error_code", s->error_code);
	if (a->rec != NULL) {
		TRY(mt_json_key(b, &first, "fields"));
		TRY(mt_buf_putc(b, '{'));
		for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
			const struct mt_view *v = &a->rec->f[kept[i]];

			if (v->len == 0)
				continue;
			TRY(mt_json_key(b, &f2, mt_field_name(kept[i])));
			TRY(json_capped(b, v->p, v->len, SD_VALUE_MAX));
		}
		TRY(mt_buf_putc(b, '}'));
	}
	KV("hostname", a->hostname);
	KV("file", a->file);
	TRY(mt_json_key(b, &first, "line_number"));
	TRY(mt_buf_printf(b, "%llu", (unsigned long long)a->lineno));
	TRY(mt_json_key(b, &first, "offset"));
	TRY(mt_buf_printf(b, "%llu", (unsigned long long)a->offset));
	TRY(mt_json_key(b, &first, "line"));
	TRY(json_capped(b, a->line, a->len, SHORT_LINE_MAX));
	TRY(mt_json_key(b, &first, "line_truncated"));
	TRY(mt_buf_puts(b, a->truncated || a->len > SHORT_LINE_MAX ? "true" : "false"));
	KV("doc_url", s->official_doc_url);
	TRY(mt_json_key(b, &first, "shortened"));
	TRY(mt_buf_puts(b, "true}"));
#undef KV
#undef TRY
	return 0;
}

/* One SD-PARAM, " name=\"value\"", the value cleaned to UTF-8 and escaped (RFC 5424 6.3.3). */
static int
sd_param(struct mt_buf *b, struct mt_buf *tmp, const char *name, const char *p, size_t len)
{
	int r;

	if (p == NULL || len == 0)
		return 0;
	mt_buf_reset(tmp);
	if ((r = mt_text_clean(tmp, p, len, SD_VALUE_MAX)) < 0)
		return r;
	if ((r = mt_buf_printf(b, " %s=\"", name)) < 0)
		return r;
	for (size_t i = 0; i < tmp->len; i++) {
		char c = tmp->data[i];

		if ((c == '"' || c == '\\' || c == ']') && (r = mt_buf_putc(b, '\\')) < 0)
			return r;
		if ((r = mt_buf_putc(b, c)) < 0)
			return r;
	}
	return mt_buf_putc(b, '"');
}

static int
sd_cparam(struct mt_buf *b, struct mt_buf *tmp, const char *name, const char *s)
{
	return s ? sd_param(b, tmp, name, s, strlen(s)) : 0;
}

static int
sd_fparam(struct mt_buf *b, struct mt_buf *tmp, const char *name, const struct mt_alert *a,
	  enum mt_field f)
{
	return a->rec ? sd_param(b, tmp, name, a->rec->f[f].p, a->rec->f[f].len) : 0;
}

/*
 * [mtalert@32473 id="..." severity="..." ...]: the SD-NAMEs are fixed
 * lowercase ASCII words, within RFC 5424's 1*32 PRINTUSASCII without '=',
 * SP, ']' and '"'.  Empty values are left out.
 */
static int
structured_data(struct mt_buf *b, const struct mt_alert *a)
{
	const struct mt_signature *s = a->match->sig;
	struct mt_buf tmp;
	int r;

	mt_buf_init(&tmp, 4 * SD_VALUE_MAX);
	if ((r = mt_buf_puts(b, "[" MT_SYSLOG_SD_ID)) < 0 ||
	    (r = sd_cparam(b, &tmp, "id", s->id)) < 0 ||
	    (r = sd_cparam(b, &tmp, "severity", mt_severity_name(mt_alert_severity(a)))) < 0 ||
	    (r = sd_cparam(b, &tmp, "category", s->category)) < 0 ||
	    (r = sd_fparam(b, &tmp, "relay", a, MT_F_RELAY_HOST)) < 0 ||
	    (r = sd_fparam(b, &tmp, "queue_id", a, MT_F_QUEUE_ID)) < 0 ||
	    (r = sd_fparam(b, &tmp, "client_ip", a, MT_F_CLIENT_IP)) < 0 ||
	    (r = sd_cparam(b, &tmp, "file", a->file)) < 0 ||
	    (r = sd_cparam(b, &tmp, "doc", s->official_doc_url)) < 0)
		goto out_fini;
	r = mt_buf_putc(b, ']');
out_fini:
	mt_buf_fini(&tmp);
	return r;
}

/* MSGID: the last part of the signature id, as a short PRINTUSASCII token. */
static int
msgid(struct mt_buf *b, const char *id)
{
	const char *slash = strrchr(id, '/');

	return put_token(b, slash && slash[1] ? slash + 1 : id, MSGID_MAX, "");
}

static void
split_time(double now, time_t *ret_sec, long *ret_usec)
{
	time_t sec = (time_t)now;
	long usec;

	if ((double)sec > now)
		sec--; /* before 1970: truncation went the wrong way */
	usec = (long)((now - (double)sec) * 1e6);
	*ret_sec = sec;
	*ret_usec = usec < 0 ? 0 : usec > 999999 ? 999999 : usec;
}

/* "Mmm dd hh:mm:ss", local time, English months whatever the locale (RFC 3164 4.1.2). */
static int
time_3164(struct mt_buf *b, double now)
{
	static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	time_t t;
	long usec;

	split_time(now, &t, &usec);
	if (localtime_r(&t, &tm) == NULL) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_mday = 1;
	}
	return mt_buf_printf(b, "%s %2d %02d:%02d:%02d", months[tm.tm_mon % 12], tm.tm_mday,
			     tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* RFC 3339 as RFC 5424 6.2.3 narrows it: local time, microseconds, the offset. */
static int
time_5424(struct mt_buf *b, double now)
{
	struct tm tm;
	time_t t;
	long usec, off, aoff;

	split_time(now, &t, &usec);
	if (localtime_r(&t, &tm) == NULL)
		return mt_buf_putc(b, '-');
	off = tm.tm_gmtoff / 60;
	aoff = off < 0 ? -off : off;
	if (off == 0)
		return mt_buf_printf(b, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
				     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
				     usec);
	return mt_buf_printf(b, "%04d-%02d-%02dT%02d:%02d:%02d.%06ld%c%02ld:%02ld",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			     tm.tm_sec, usec, off < 0 ? '-' : '+', aoff / 60, aoff % 60);
}

static bool
has_non_ascii(const struct mt_buf *b)
{
	for (size_t i = 0; i < b->len; i++)
		if ((unsigned char)b->data[i] >= 0x80)
			return true;
	return false;
}

int
mt_syslog_format(struct mt_buf *out, const struct mt_alert *a, int format, int facility,
		 const char *tag, const char *hostname, long pid, double now)
{
	int pri = (facility & LOG_FACMASK) | level_of(mt_alert_severity(a));
	size_t start = out->len, room;
	struct mt_buf msg;
	int r, shortened = 0;

	if (format != MT_SYSLOG_TEXT && format != MT_SYSLOG_JSON && format != MT_SYSLOG_RFC5424)
		return -EINVAL;
	if (out->cap - out->len < MT_SYSLOG_DGRAM_MAX)
		return -ENOBUFS;

	/* The header is at most a few hundred bytes: every part of it is capped. */
	if (format == MT_SYSLOG_RFC5424) {
		(void)mt_buf_printf(out, "<%d>1 ", pri);
		(void)time_5424(out, now);
		(void)mt_buf_putc(out, ' ');
		(void)put_token(out, hostname, HOSTNAME_MAX, "");
		(void)mt_buf_putc(out, ' ');
		(void)put_token(out, tag, APPNAME_MAX, "");
		(void)mt_buf_printf(out, " %ld ", pid);
		(void)msgid(out, a->match->sig->id);
		(void)mt_buf_putc(out, ' ');
		if ((r = structured_data(out, a)) < 0)
			goto out_cut;
	} else {
		(void)mt_buf_printf(out, "<%d>", pri);
		(void)time_3164(out, now);
		(void)mt_buf_putc(out, ' ');
		(void)put_token(out, tag, MT_CONFIG_SYSLOG_TAG_MAX, "[]:");
		(void)mt_buf_printf(out, "[%ld]:", pid);
	}
	room = MT_SYSLOG_DGRAM_MAX - (out->len - start);

	mt_buf_init(&msg, format == MT_SYSLOG_JSON ? MT_ALERT_JSON_MAX : MT_SYSLOG_DGRAM_MAX);
	if (format == MT_SYSLOG_JSON) {
		r = mt_alert_json(&msg, a);
		if (r < 0 || msg.len + 1 > room) {
			mt_buf_reset(&msg);
			r = short_json(&msg, a);
			shortened = 1;
		}
	} else {
		r = summary(&msg, a);
	}
	if (r < 0 && format == MT_SYSLOG_JSON) {
		/* Cut JSON would not parse; only a catalog with huge ids gets here. */
		mt_buf_fini(&msg);
		r = -EMSGSIZE;
		goto out_cut;
	}
	/*
	 * RFC 5424 6.4: a UTF-8 MSG starts with a BOM.  A pure ASCII
	 * summary is also valid MSG-ANY, and receivers that do not strip
	 * the BOM then show nothing strange.
	 */
	if (format == MT_SYSLOG_RFC5424 && has_non_ascii(&msg) && room > sizeof(utf8_bom)) {
		(void)mt_buf_putc(out, ' ');
		(void)mt_buf_append(out, utf8_bom, sizeof(utf8_bom) - 1);
		room -= sizeof(utf8_bom);
	} else {
		(void)mt_buf_putc(out, ' ');
		room--;
	}
	/* The text forms are capped piece by piece; this cut is a last resort. */
	(void)mt_buf_append(out, msg.data, utf8_cut(msg.data, msg.len, room));
	mt_buf_fini(&msg);
	return shortened;
out_cut:
	/* Leave out as it was: mt_buf has no truncate, and this is its documented layout. */
	out->len = start;
	out->data[start] = '\0';
	return r;
}

/* (Re)connect to the socket; -errno when the syslog daemon is not there. */
static int
reconnect(struct mt_syslog_sink *s)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	size_t len = strlen(s->path);
	int fd, r;

	if (s->fd >= 0)
		(void)close(s->fd);
	s->fd = -1;
	if (len >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	memcpy(sun.sun_path, s->path, len + 1);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (const struct sockaddr *)&sun, sizeof(sun)) < 0) {
		r = -errno;
		(void)close(fd);
		return r;
	}
	s->fd = fd;
	return 0;
}

/* Whether err means "nobody is at the socket" rather than "it is busy". */
static bool
peer_gone(int err)
{
	return err == ECONNREFUSED || err == ENOENT || err == ENOTCONN || err == ECONNRESET ||
	       err == EPIPE || err == EDESTADDRREQ;
}

static int
transmit(struct mt_syslog_sink *s)
{
	int r = 0;

	/*
	 * Two tries: a syslog daemon that restarted has a new socket at the
	 * same path, and our connected socket still points at the old one
	 * (ECONNREFUSED), so one reconnect is part of a normal send.
	 */
	for (int attempt = 0; attempt < 2; attempt++) {
		ssize_t n;

		if (s->fd < 0 && (r = reconnect(s)) < 0)
			return r;
		do
			n = send(s->fd, s->dgram.data, s->dgram.len, MSG_DONTWAIT | MSG_NOSIGNAL);
		while (n < 0 && errno == EINTR);
		if (n >= 0)
			return 0;
		r = -errno;
		if (!peer_gone(-r))
			return r;
		(void)close(s->fd);
		s->fd = -1;
	}
	return r;
}

struct mt_syslog_sink *
mt_syslog_sink_new(const struct mt_config_syslog *conf)
{
	struct mt_syslog_sink *s = mt_xcalloc(1, sizeof(*s));
	int r;

	s->path = mt_xstrdup(conf->socket ? conf->socket : "/dev/log");
	s->tag = mt_xstrdup(conf->tag ? conf->tag : "mtalert");
	s->format = conf->format;
	s->facility = conf->facility;
	s->pid = (long)getpid();
	s->fd = -1;
	if (gethostname(s->hostname, sizeof(s->hostname) - 1) < 0)
		s->hostname[0] = '\0';
	mt_buf_init(&s->dgram, MT_SYSLOG_DGRAM_MAX);
	/* Connect now, as openlog(LOG_NDELAY) did, so a wrong path shows at start. */
	if ((r = reconnect(s)) < 0) {
		s->unreachable = true;
		errno = -r;
		log_warn("syslog socket %s not reachable yet, retrying at each alert (lost alerts "
			 "are counted, see SIGUSR1)",
			 s->path);
	}
	return s;
}

struct mt_syslog_sink *
mt_syslog_sink_free(struct mt_syslog_sink *s)
{
	if (s == NULL)
		return NULL;
	if (s->fd >= 0)
		(void)close(s->fd);
	mt_buf_fini(&s->dgram);
	free(s->path);
	free(s->tag);
	free(s);
	return NULL;
}

int
mt_syslog_sink_send(struct mt_syslog_sink *s, const struct mt_alert *a)
{
	struct timespec ts;
	int r;

	(void)clock_gettime(CLOCK_REALTIME, &ts);
	mt_buf_reset(&s->dgram);
	r = mt_syslog_format(&s->dgram, a, s->format, s->facility, s->tag, s->hostname, s->pid,
			     (double)ts.tv_sec + (double)ts.tv_nsec / 1e9);
	if (r < 0) {
		s->stats.dropped++;
		log_warnx("syslog: alert for %s cannot be formatted (%s), skipping",
			  a->match->sig->id, strerror(-r));
		return r;
	}
	if (r == 1)
		s->stats.shortened++;

	r = transmit(s);
	if (r == 0) {
		s->stats.sent++;
		if (s->unreachable || s->full)
			log_info("syslog socket %s takes alerts again (%llu lost meanwhile)",
				 s->path, (unsigned long long)s->lost);
		s->unreachable = s->full = false;
		s->lost = 0;
		return 0;
	}
	s->lost++;
	errno = -r;
	if (r == -EAGAIN || r == -ENOBUFS || r == -EMSGSIZE) {
		/* The receiver is behind; waiting would block the loop.  EWOULDBLOCK is EAGAIN. */
		s->stats.dropped++;
		if (!s->full)
			log_warn("syslog socket %s cannot take the alert for %s, dropping alerts "
				 "until it can (counted, see SIGUSR1)",
				 s->path, a->match->sig->id);
		s->full = true;
	} else {
		s->stats.failed++;
		if (!s->unreachable)
			log_warn("cannot send alerts to syslog socket %s, retrying at each alert "
				 "(lost alerts are counted, see SIGUSR1)",
				 s->path);
		s->unreachable = true;
	}
	return r;
}

const struct mt_syslog_sink_stats *
mt_syslog_sink_stats(const struct mt_syslog_sink *s)
{
	return &s->stats;
}
