/*
 * common.c -- lab 2 (shm_server, shm_client): the command lines, the contract's messages,
 * the pause between two ticks. Written for you; it has no main: it is linked into both
 * programs.
 */
#define _GNU_SOURCE /* program_invocation_short_name */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Any 32-bit pattern: ftok keys may have the top bit set. */
static int parse_key(const char *s, key_t *key)
{
    long v;

    if (parse_long(s, &v) != 0 || v < INT_MIN || v > (long)UINT_MAX)
        return -1;
    *key = (key_t)(unsigned int)v;
    return 0;
}

int parse_server_args(int argc, char **argv, key_t *key, long *tick_ms)
{
    if (argc != 3 || parse_key(argv[1], key) != 0 || parse_long(argv[2], tick_ms) != 0 ||
        *tick_ms <= 0 || *tick_ms > 3600000) {
        fprintf(stderr, "usage: shm_server KEY TICK_MS   (KEY: decimal or 0x-hex)\n");
        return -1;
    }
    return 0;
}

int parse_client_args(int argc, char **argv, key_t *key, int *max)
{
    long v;

    if (argc != 3 || parse_key(argv[1], key) != 0 || parse_long(argv[2], &v) != 0 || v < 0 ||
        v > INT_MAX) {
        fprintf(stderr, "usage: shm_client KEY MAX   (KEY: decimal or 0x-hex)\n");
        return -1;
    }
    *max = (int)v;
    return 0;
}

void print_value(int value, int max)
{
    printf("Val is %d max is %d\n", value, max);
    fflush(stdout);
}

void say_stale(key_t key)
{
    fprintf(stderr, "shm_server: removing stale segment for key 0x%08x\n", (unsigned int)key);
}

int say_no_segment(key_t key)
{
    fprintf(stderr, "shm_client: no segment for key 0x%08x (is the server running?)\n",
            (unsigned int)key);
    return 1;
}

int say_errno(const char *call)
{
    fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, call, strerror(errno));
    return 1;
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
