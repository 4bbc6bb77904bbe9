/*
 * clock.h: the two clocks fmgate reads, one name each, in milliseconds.
 *
 * clock_wall_ms(): the time of day (CLOCK_REALTIME), for what is compared
 * with times other processes or files hold (spool schedules, rate-limit
 * windows, the drain's holds) and which may jump when the clock is set.
 * clock_mono_ms(): time that only moves forward (CLOCK_MONOTONIC), for
 * deadlines and durations inside one process (the body-read timeout, the
 * delivery budget, a request's elapsed time).
 */
#ifndef FMGATE_CLOCK_H
#define FMGATE_CLOCK_H

#include <stdint.h>

int64_t clock_wall_ms(void);
int64_t clock_mono_ms(void);

#endif
