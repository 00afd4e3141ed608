/*
 * common.c -- lab 3 (semalt, semhold, semcount): the command lines, each child's share
 * of the increments. Written for you; it has no main: it is linked into the three
 * programs, with the course's support.c.
 */

#include "common.h"

int parse_semalt_args(int argc, char **argv, long *rounds, long *hold_ms)
{
    *rounds = 5;
    *hold_ms = 1000;
    if (argc > 3 || (argc > 1 && parse_in(argv[1], 1, 1000000, rounds) != 0) ||
        (argc > 2 && parse_in(argv[2], 0, 3600000, hold_ms) != 0))
        return usage_error("semalt [ROUNDS [HOLD_MS]]");
    return 0;
}

int parse_semhold_args(int argc, char **argv, key_t *key, long *hold_ms)
{
    *hold_ms = -1; /* forever */
    if (argc < 2 || argc > 3 || parse_key(argv[1], key) != 0 ||
        (argc == 3 && parse_in(argv[2], 0, 3600000, hold_ms) != 0))
        return usage_error("semhold KEY [HOLD_MS]   (KEY: decimal or 0x-hex)");
    return 0;
}

int parse_semcount_args(int argc, char **argv, long *nprocs, long *total)
{
    if (argc != 3 || parse_in(argv[1], 1, 32, nprocs) != 0 ||
        parse_in(argv[2], 0, 100000000, total) != 0)
        return usage_error("semcount NPROCS TOTAL   (1 <= NPROCS <= 32)");
    return 0;
}

long share(long total, long nprocs, long i)
{
    return total / nprocs + (i < total % nprocs ? 1 : 0);
}
