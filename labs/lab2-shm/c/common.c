/*
 * common.c -- lab 2 (shm_server, shm_client): the command lines and the contract's
 * lines. Written for you; it has no main: it is linked into both programs, with the
 * course's support.c.
 */
#include <limits.h>
#include <stdio.h>

#include "common.h"

int parse_server_args(int argc, char **argv, key_t *key, long *tick_ms)
{
    if (argc != 3 || parse_key(argv[1], key) != 0 || parse_in(argv[2], 1, 3600000, tick_ms) != 0)
        return usage_error("shm_server KEY TICK_MS   (KEY: decimal or 0x-hex)");
    return 0;
}

int parse_client_args(int argc, char **argv, key_t *key, int *max)
{
    long v;

    if (argc != 3 || parse_key(argv[1], key) != 0 || parse_in(argv[2], 0, INT_MAX, &v) != 0)
        return usage_error("shm_client KEY MAX   (KEY: decimal or 0x-hex)");
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
