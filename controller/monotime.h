/*
 * monotime: deadlines on CLOCK_MONOTONIC for pthread_cond_timedwait, whose condition variables
 * in this project are all set to that clock (a wall-clock step must not stretch or cut a wait).
 */
#ifndef MONOTIME_H
#define MONOTIME_H

#include <time.h>

/* The moment secs (>= 0, fractions kept to the nanosecond) from now on CLOCK_MONOTONIC. */
struct timespec mt_after(double secs);

#endif
