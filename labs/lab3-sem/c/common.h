/*
 * common.h -- lab 3 (semalt, semhold, semcount): what the three programs need beyond the
 * course's support library (support.h: sleep_ms, say_errno, ...): their command lines and
 * each child's share of the increments. Written for you; your work is in semalt.c,
 * semhold.c and semcount.c.
 */
#ifndef SEM_COMMON_H
#define SEM_COMMON_H

#include "support.h"

/* semalt [ROUNDS [HOLD_MS]] (defaults 5 and 1000: the slides' program). 0, or -1 after
 * the usage message (exit 2 then). */
int parse_semalt_args(int argc, char **argv, long *rounds, long *hold_ms);
/* semhold KEY [HOLD_MS]; *hold_ms is -1 without HOLD_MS (hold until killed). */
int parse_semhold_args(int argc, char **argv, key_t *key, long *hold_ms);
/* semcount NPROCS TOTAL, 1 <= NPROCS <= 32. */
int parse_semcount_args(int argc, char **argv, long *nprocs, long *total);

/* Child i of NPROCS makes TOTAL / NPROCS increments, plus one if i < TOTAL % NPROCS. */
long share(long total, long nprocs, long i);

#endif
