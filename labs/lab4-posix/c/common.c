/*
 * common.c -- lab 4 (mq_pingpong, pshm_server, pshm_client, psem_alt): the command lines,
 * the contract's lines and messages. Written for you; it has no main: it is linked into
 * the four programs, with the course's support.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common.h"

/* "/" then 1 to 200 characters, none of them "/". */
static int valid_name(const char *s)
{
    size_t len = strlen(s);

    return s[0] == '/' && len >= 2 && len <= 201 && strchr(s + 1, '/') == NULL;
}

/* Every usage line ends with what a NAME is. */
#define usage(text) usage_error(text "   (NAME: /name)")

int parse_pingpong_args(int argc, char **argv, const char **name, long *count)
{
    *count = DEFAULT_PING_COUNT;
    if (argc < 2 || argc > 3 || !valid_name(argv[1]) ||
        (argc == 3 && parse_in(argv[2], 2, 1L << 30, count) < 0))
        return usage("mq_pingpong /NAME [COUNT]   (COUNT >= 2)");
    *name = argv[1];
    return 0;
}

int parse_server_args(int argc, char **argv, const char **name, long *tick_ms)
{
    if (argc != 3 || !valid_name(argv[1]) || parse_in(argv[2], 1, 3600000, tick_ms) < 0)
        return usage("pshm_server /NAME TICK_MS");
    *name = argv[1];
    return 0;
}

int parse_client_args(int argc, char **argv, const char **name, long *max)
{
    if (argc != 3 || !valid_name(argv[1]) || parse_in(argv[2], 0, 2147483647L, max) < 0)
        return usage("pshm_client /NAME MAX");
    *name = argv[1];
    return 0;
}

int parse_alt_args(int argc, char **argv, const char **name, long *rounds, long *hold_ms)
{
    *rounds = 5; /* the slides: 5 rounds, sleep(1) */
    *hold_ms = 1000;
    if (argc < 2 || argc > 4 || !valid_name(argv[1]) ||
        (argc > 2 && parse_in(argv[2], 1, 1000000, rounds) < 0) ||
        (argc > 3 && parse_in(argv[3], 0, 3600000, hold_ms) < 0))
        return usage("psem_alt /NAME [ROUNDS] [HOLD_MS]");
    *name = argv[1];
    return 0;
}

void name_with_suffix(char *buf, size_t size, const char *name, const char *suffix)
{
    snprintf(buf, size, "%s%s", name, suffix);
}

void print_message_count(long count)
{
    printf("messages: %ld\n", count);
}

void print_ready(void)
{
    print_line("ready");
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
    print_line("PARENT holding the sem");
}

void print_child_holding(void)
{
    print_line("CHILD holding the sem");
}

void print_child_done(void)
{
    print_line("Child: parent done");
}
