/*
 * common.c -- lab 4 (mq_pingpong, pshm_server, pshm_client, psem_alt): the command lines,
 * the contract's lines and messages, timing. Written for you; it has no main: it is
 * linked into the four programs.
 */
#define _GNU_SOURCE /* program_invocation_short_name */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "common.h"

/* A decimal number in [min, max], or -1. */
static int parse_number(const char *s, long min, long max, long *out)
{
    char *end;

    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

/* "/" then 1 to 200 characters, none of them "/". */
static int valid_name(const char *s)
{
    size_t len = strlen(s);

    return s[0] == '/' && len >= 2 && len <= 201 && strchr(s + 1, '/') == NULL;
}

static int usage(const char *text)
{
    fprintf(stderr, "usage: %s   (NAME: /name)\n", text);
    return -1;
}

int parse_pingpong_args(int argc, char **argv, const char **name, long *count)
{
    *count = DEFAULT_PING_COUNT;
    if (argc < 2 || argc > 3 || !valid_name(argv[1]) ||
        (argc == 3 && parse_number(argv[2], 2, 1L << 30, count) < 0))
        return usage("mq_pingpong /NAME [COUNT]   (COUNT >= 2)");
    *name = argv[1];
    return 0;
}

int parse_server_args(int argc, char **argv, const char **name, long *tick_ms)
{
    if (argc != 3 || !valid_name(argv[1]) || parse_number(argv[2], 1, 3600000, tick_ms) < 0)
        return usage("pshm_server /NAME TICK_MS");
    *name = argv[1];
    return 0;
}

int parse_client_args(int argc, char **argv, const char **name, long *max)
{
    if (argc != 3 || !valid_name(argv[1]) || parse_number(argv[2], 0, 2147483647L, max) < 0)
        return usage("pshm_client /NAME MAX");
    *name = argv[1];
    return 0;
}

int parse_alt_args(int argc, char **argv, const char **name, long *rounds, long *hold_ms)
{
    *rounds = 5; /* the slides: 5 rounds, sleep(1) */
    *hold_ms = 1000;
    if (argc < 2 || argc > 4 || !valid_name(argv[1]) ||
        (argc > 2 && parse_number(argv[2], 1, 1000000, rounds) < 0) ||
        (argc > 3 && parse_number(argv[3], 0, 3600000, hold_ms) < 0))
        return usage("psem_alt /NAME [ROUNDS] [HOLD_MS]");
    *name = argv[1];
    return 0;
}

void name_with_suffix(char *buf, size_t size, const char *name, const char *suffix)
{
    snprintf(buf, size, "%s%s", name, suffix);
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

void print_message_count(long count)
{
    printf("messages: %ld\n", count);
}

static void line(const char *text)
{
    printf("%s\n", text);
    fflush(stdout);
}

void print_ready(void)
{
    line("ready");
}

void print_value(int value, long max)
{
    printf("Val is %d max is %ld\n", value, max);
    fflush(stdout);
}

void say_stale(const char *name)
{
    fprintf(stderr, "pshm_server: removing stale %s\n", name);
}

int say_no_server(const char *name)
{
    fprintf(stderr, "pshm_client: shm_open %s: %s (is pshm_server running?)\n", name,
            strerror(errno));
    return 1;
}

int say_not_ready(const char *name)
{
    fprintf(stderr, "pshm_client: %s is not sized yet (server not ready)\n", name);
    return 1;
}

void print_parent_holding(void)
{
    line("PARENT holding the sem");
}

void print_child_holding(void)
{
    line("CHILD holding the sem");
}

void print_child_done(void)
{
    line("Child: parent done");
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
