/* metrics_stub - the Prometheus endpoint in a build without libmicrohttpd. */
#include "ctl/metrics.h"
#include "log.h"

struct mt_metrics *
mt_metrics_new(struct ev_loop *loop, const char *address, unsigned port, mt_metrics_fn *fn,
	       void *ctx)
{
	log_warnx("metrics.listen is set but this mtalertd was built without libmicrohttpd "
		  "(-Dmetrics=disabled): no Prometheus endpoint");
	return NULL;
}

struct mt_metrics *
mt_metrics_free(struct mt_metrics *m)
{
	return NULL;
}

bool
mt_metrics_available(void)
{
	return false;
}
