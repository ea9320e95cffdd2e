/* session - the cause of a failed SMTP session, for its outcome lines (see session.h). */
#include "correlate/session.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/correlate.h"
#include "util/xalloc.h"

#define PEER_MAX 46 /* an IPv6 address in text */
#define QID_MAX	 MT_CORRELATE_ID_MAX

struct slot {
	uint64_t key; /* 0: empty */
	uint32_t last, since;
	const struct mt_signature *cause; /* NULL: none logged yet */
	uint8_t peerlen, qidlen;
	char peer[PEER_MAX];
	char qid[QID_MAX]; /* the cause's message, if its line named one */
};

struct mt_session {
	uint8_t key[16];
	struct slot slot[MT_SESSION_SLOTS];
};

struct mt_session *
mt_session_new(const uint8_t key[16])
{
	struct mt_session *s = mt_xcalloc(1, sizeof(*s));

	memcpy(s->key, key, sizeof(s->key));
	return s;
}

struct mt_session *
mt_session_free(struct mt_session *s)
{
	free(s);
	return NULL;
}

void
mt_session_clear(struct mt_session *s)
{
	memset(s->slot, 0, sizeof(s->slot));
}

size_t
mt_session_bytes(void)
{
	return sizeof(struct mt_session);
}

/* The process: host, program and pid, each length-prefixed so no two differ only in a cut. */
static uint64_t
process_key(const struct mt_session *s, const struct mt_logrec *rec)
{
	static const int part[] = { MT_F_HOST, MT_F_PROGRAM, MT_F_PID };
	char buf[3 * 65];
	size_t n = 0;
	uint64_t h;

	for (size_t i = 0; i < sizeof(part) / sizeof(part[0]); i++) {
		const struct mt_view *v = &rec->f[part[i]];
		size_t len = v->len < 64 ? v->len : 64;

		buf[n++] = (char)len;
		if (len > 0) /* an absent field's pointer may be NULL */
			memcpy(buf + n, v->p, len);
		n += len;
	}
	h = mt_correlate_hash(s->key, buf, n);
	return h != 0 ? h : 1;
}

/* The peer a line names: the relay's address, else the client's; may be empty. */
static const struct mt_view *
peer_of(const struct mt_logrec *rec)
{
	const struct mt_view *v = &rec->f[MT_F_RELAY_IP];

	if (v->len == 0)
		v = &rec->f[MT_F_CLIENT_IP];
	return v->len <= PEER_MAX ? v : NULL;
}

/*
 * The outcome is the cause's: both of one domain (a TLS failure and the TLS
 * error that explains it), or both lines about one message (Sendmail's
 * "dsn=4.4.3, stat=queued" after the map error that deferred it).
 */
static bool
related(const struct slot *sl, const struct mt_logrec *rec, const struct mt_signature *sig)
{
	const struct mt_view *q = &rec->f[MT_F_QUEUE_ID];

	if (sl->cause->domain != NULL && sig->domain != NULL &&
	    strcmp(sl->cause->domain, sig->domain) == 0)
		return true;
	return q->len > 0 && q->len == sl->qidlen && memcmp(q->p, sl->qid, q->len) == 0;
}

const struct mt_signature *
mt_session_cause(struct mt_session *s, const struct mt_logrec *rec, const struct mt_signature *sig,
		 uint32_t t, uint32_t *since)
{
	const struct mt_view *peer;
	struct slot *sl;
	uint64_t key;
	bool same;

	if (sig == NULL || rec->f[MT_F_PID].len == 0)
		return NULL;
	key = process_key(s, rec);
	sl = &s->slot[key % MT_SESSION_SLOTS];
	peer = peer_of(rec);
	same = sl->key == key && t >= sl->last && t - sl->last <= MT_SESSION_WINDOW;
	/* The process moved on to another peer: a new session. */
	if (same && peer != NULL && peer->len > 0 && sl->peerlen > 0 &&
	    (peer->len != sl->peerlen || memcmp(peer->p, sl->peer, peer->len) != 0))
		same = false;
	if (!same) {
		memset(sl, 0, sizeof(*sl));
		sl->key = key;
	}
	sl->last = t;
	if (sl->peerlen == 0 && peer != NULL && peer->len > 0) {
		memcpy(sl->peer, peer->p, peer->len);
		sl->peerlen = (uint8_t)peer->len;
	}
	if (!sig->session_outcome) {
		if (sl->cause == NULL) {
			const struct mt_view *q = &rec->f[MT_F_QUEUE_ID];

			sl->cause = sig;
			sl->since = t;
			if (q->len > 0 && q->len <= QID_MAX) {
				memcpy(sl->qid, q->p, q->len);
				sl->qidlen = (uint8_t)q->len;
			}
		}
		return NULL;
	}
	if (sl->cause == NULL || !related(sl, rec, sig))
		return NULL;
	*since = sl->since;
	return sl->cause;
}
