/*
 * notify - the systemd notification protocol (sd_notify(3)), spoken
 * directly: one datagram to $NOTIFY_SOCKET per message.  systemd documents
 * this protocol as stable, so no libsystemd is needed for it.  Without
 * $NOTIFY_SOCKET every call does nothing.
 */
#ifndef MT_NOTIFY_H
#define MT_NOTIFY_H

#include <stdbool.h>

/* Send "READY=1", "STATUS=...", "RELOADING=1", "STOPPING=1", "WATCHDOG=1"... */
__attribute__((format(printf, 1, 2))) int notify_send(const char *fmt, ...);
/* Half of $WATCHDOG_USEC in seconds when the watchdog is meant for us, else 0. */
double notify_watchdog_interval(void);
bool notify_enabled(void);

#endif
