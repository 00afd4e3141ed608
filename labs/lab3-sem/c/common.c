/*
 * common.c -- lab 3 (semalt, semhold, semcount): the command lines, sleeping, each
 * child's share of the increments. Written for you; it has no main: it is linked into
 * the three programs.
 */
#define _GNU_SOURCE /* program_invocation_short_name */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common.h"

/* Decimal, or hex after 0x (strtol's base 0 would read "010" as octal). */
static int parse_long(const char *s, long *out)
{
    const char *digits = (s[0] == '-') ? s + 1 : s;
    int base = (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X')) ? 16 : 10;
    char *end;

    errno = 0;
    *out = strtol(s, &end, base);
    if (errno != 0 || end == s || *end != '\0')
        return -1;
    return 0;
}

/* A number in [min, max]. */
static int parse_in(const char *s, long min, long max, long *out)
{
    return parse_long(s, out) == 0 && *out >= min && *out <= max ? 0 : -1;
}

static int usage(const char *text)
{
    fprintf(stderr, "usage: %s\n", text);
    return -1;
}

int parse_semalt_args(int argc, char **argv, long *rounds, long *hold_ms)
{
    *rounds = 5;
    *hold_ms = 1000;
    if (argc > 3 || (argc > 1 && parse_in(argv[1], 1, 1000000, rounds) != 0) ||
        (argc > 2 && parse_in(argv[2], 0, 3600000, hold_ms) != 0))
        return usage("semalt [ROUNDS [HOLD_MS]]");
    return 0;
}

int parse_semhold_args(int argc, char **argv, key_t *key, long *hold_ms)
{
    long k;

    *hold_ms = -1; /* forever */
    if (argc < 2 || argc > 3 || parse_in(argv[1], INT_MIN, UINT_MAX, &k) != 0 ||
        (argc == 3 && parse_in(argv[2], 0, 3600000, hold_ms) != 0))
        return usage("semhold KEY [HOLD_MS]   (KEY: decimal or 0x-hex)");
    *key = (key_t)(unsigned int)k;
    return 0;
}

int parse_semcount_args(int argc, char **argv, long *nprocs, long *total)
{
    if (argc != 3 || parse_in(argv[1], 1, 32, nprocs) != 0 ||
        parse_in(argv[2], 0, 100000000, total) != 0)
        return usage("semcount NPROCS TOTAL   (1 <= NPROCS <= 32)");
    return 0;
}

long share(long total, long nprocs, long i)
{
    return total / nprocs + (i < total % nprocs ? 1 : 0);
}

void sleep_ms(long ms)
{
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};

    while (nanosleep(&t, &t) == -1 && errno == EINTR)
        ;
}

void not_implemented(const char *file, const char *function)
{
    fflush(stdout);
    fprintf(stderr, "%s: not implemented yet: %s() in %s (complete its TODO)\n",
            program_invocation_short_name, function, file);
    exit(1);
}
