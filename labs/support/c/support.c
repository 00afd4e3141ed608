/*
 * support.c -- the course's support library (see support.h): it has no main; every
 * lab's programs are linked with it.
 */
#define _GNU_SOURCE /* program_invocation_short_name */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "support.h"

int parse_long(const char *s, long *out)
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

int parse_in(const char *s, long min, long max, long *out)
{
    long v;

    if (parse_long(s, &v) != 0 || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int parse_key(const char *s, key_t *key)
{
    long v;

    if (parse_in(s, INT_MIN, (long)UINT_MAX, &v) != 0)
        return -1;
    *key = (key_t)(unsigned int)v;
    return 0;
}

int usage_error(const char *text)
{
    fprintf(stderr, "usage: %s\n", text);
    return -1;
}

int say_errno(const char *call, const char *arg)
{
    const char *why = strerror(errno);

    if (arg != NULL)
        fprintf(stderr, "%s: %s %s: %s\n", program_invocation_short_name, call, arg, why);
    else
        fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, call, why);
    return 1;
}

void die_errno(const char *what)
{
    die(what, strerror(errno));
}

void die(const char *what, const char *why)
{
    fflush(stdout);
    fprintf(stderr, "%s: %s: %s\n", program_invocation_short_name, what, why);
    exit(1);
}

void print_line(const char *text)
{
    printf("%s\n", text);
    fflush(stdout);
}

static void sleep_for(struct timespec t)
{
    while (nanosleep(&t, &t) == -1 && errno == EINTR)
        ;
}

void sleep_ms(long ms)
{
    sleep_for((struct timespec){ms / 1000, (ms % 1000) * 1000000L});
}

void sleep_us(long us)
{
    if (us > 0)
        sleep_for((struct timespec){us / 1000000, (us % 1000000) * 1000L});
}

double get_time(void)
{
    struct timeval val;

    gettimeofday(&val, NULL);
    return (double)val.tv_sec + 1e-6 * val.tv_usec;
}

void print_pingpong_line(long count, double total_time)
{
    fprintf(stderr, "Pingpong takes %g usec Bandwidth is %g MB/s : \n",
            total_time / count * 1e6,
            (double)(PING_INTS * (double)count * sizeof(int)) / (total_time * 1024.0 * 1024.0));
}

void not_implemented(const char *file, const char *function)
{
    fflush(stdout);
    fprintf(stderr, "%s: not implemented yet: %s() in %s (complete its TODO)\n",
            program_invocation_short_name, function, file);
    exit(1);
}
