/*
 * monotime: CLOCK_MONOTONIC deadlines (monotime.h).
 */
#include "monotime.h"

#include <math.h>

struct timespec
mt_after(double secs)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (!(secs > 0.0))
		return ts;
	double whole = floor(secs);
	ts.tv_sec += (time_t)whole;
	ts.tv_nsec += (long)((secs - whole) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}
