/* status - `mtalertd status`: ask the running daemon over its control socket. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>

#include "cli/cli.h"
#include "config/config.h"
#include "ctl/ctl.h"
#include "log.h"
#include "util/buf.h"

struct mt_config *
cli_load_config(const struct cli *o)
{
	const char *path = o->config_path ? o->config_path : cli_default_config();
	struct mt_config *c = NULL;
	struct mt_diag d;

	if (path == NULL)
		return mt_config_default(NULL);
	mt_diag_init(&d);
	if (mt_config_load(path, NULL, &d, &c) < 0) {
		for (size_t i = 0; i < d.n; i++) {
			char line[1400];

			mt_diag_format(&d, i, line, sizeof(line));
			log_error("%s", line);
		}
		c = NULL;
	}
	mt_diag_fini(&d);
	return c;
}

int
cli_ctl_exit(const char *path, int r)
{
	switch (r) {
	case -ENOENT:
	case -ECONNREFUSED:
		log_error("no mtalertd listens on %s (is it running? control.socket in the "
			  "configuration says where)",
			  path);
		return EX_UNAVAILABLE;
	case -EACCES:
	case -EPERM:
		log_error("%s: permission denied (root or the mtalert group may ask)", path);
		return EX_NOPERM;
	default:
		log_error("%s: %s", path, strerror(-r));
		return EX_TEMPFAIL;
	}
}

int
cmd_status(struct cli *o, int argc, char **argv)
{
	const char *socket = NULL;
	bool json = false;
	struct mt_config *c = NULL;
	struct mt_buf out;
	int r, i;

	for (i = 1; i < argc; i++) {
		int k = cli_common_option(o, argc, argv, &i);

		if (k < 0)
			return EX_USAGE;
		if (k > 0)
			continue;
		if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			socket = argv[++i];
		} else {
			log_error("usage: mtalertd status [--json] [-c FILE] [--socket PATH]");
			return EX_USAGE;
		}
	}
	if (socket == NULL) {
		c = cli_load_config(o);
		if (c == NULL)
			return EX_CONFIG;
		socket = c->control.socket;
	}
	mt_buf_init(&out, MT_CTL_RESPONSE_MAX);
	r = mt_ctl_request(socket, json ? "status json" : "status", 10., &out);
	if (r < 0) {
		r = cli_ctl_exit(socket, r);
	} else if (out.len == 0) {
		log_error("%s: the daemon closed the connection without an answer", socket);
		r = EX_PROTOCOL;
	} else {
		(void)fwrite(out.data, 1, out.len, stdout);
		r = fflush(stdout) == 0 ? 0 : EX_IOERR;
	}
	mt_buf_fini(&out);
	mt_config_free(c);
	return r;
}
