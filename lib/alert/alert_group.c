/* alert_group - names of notification events. */
#include "alert/alert_group.h"

const char *
mt_group_event_name(enum mt_group_event e)
{
	switch (e) {
	case MT_GROUP_FIRST:
		return "first";
	case MT_GROUP_UPDATE:
		return "update";
	case MT_GROUP_REMINDER:
		return "reminder";
	case MT_GROUP_RESOLVED:
		return "resolved";
	case MT_GROUP_FLUSH:
		return "flush";
	}
	return "unknown"; /* not a value of the enum: a caller's bug, but printable */
}
