/*
 * common.c -- lab 5 (mmap_sort, xfer_a, xfer_b): the command lines, error messages, the
 * data A sends, the checksum B prints, the window file's life, pacing. Written for you;
 * it has no main: it is linked into the three programs, with the course's support.c.
 */
#define _GNU_SOURCE /* program_invocation_short_name */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common.h"

static void usage(const char *text) __attribute__((noreturn));
static void usage(const char *text)
{
    fprintf(stderr, "usage: %s\n", text);
    exit(2);
}

/* A decimal number >= 0, or a usage error naming it. */
static unsigned long long number(const char *s, const char *name, const char *usage_text)
{
    char *end;

    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-') {
        fprintf(stderr, "%s: %s must be a number, not \"%s\"\n",
                program_invocation_short_name, name, s);
        usage(usage_text);
    }
    return v;
}

void parse_sort_args(int argc, char **argv, const char **path)
{
    if (argc != 2)
        usage("mmap_sort FILE");
    *path = argv[1];
}

void parse_xfer_a_args(int argc, char **argv, const char **path, size_t *bytes,
                       uint64_t *seed, long *delay_us)
{
    static const char text[] = "xfer_a FILE MB SEED [DELAY_US]";

    if (argc < 4 || argc > 5)
        usage(text);
    *path = argv[1];
    *bytes = number(argv[2], "MB", text) * MIB;
    *seed = number(argv[3], "SEED", text);
    *delay_us = argc == 5 ? (long)number(argv[4], "DELAY_US", text) : 0;
}

void parse_xfer_b_args(int argc, char **argv, const char **path, size_t *bytes,
                       long *delay_us)
{
    static const char text[] = "xfer_b FILE MB [DELAY_US]";

    if (argc < 3 || argc > 4)
        usage(text);
    *path = argv[1];
    *bytes = number(argv[2], "MB", text) * MIB;
    *delay_us = argc == 4 ? (long)number(argv[3], "DELAY_US", text) : 0;
}

unsigned char *data_from_seed(uint64_t seed, size_t bytes)
{
    int *ints = malloc(bytes > 0 ? bytes : 1);
    if (ints == NULL)
        die_errno("malloc");
    uint64_t state = seed;
    for (size_t i = 0; i < bytes / sizeof(int); i++) {
        state += 0x9E3779B97F4A7C15ULL;
        uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        ints[i] = (int)(uint32_t)(z ^ (z >> 31));
    }
    return (unsigned char *)ints;
}

fnv1a64 fnv1a64_start(void)
{
    return 0xcbf29ce484222325ULL;
}

fnv1a64 fnv1a64_update(fnv1a64 sum, const unsigned char *bytes, size_t len)
{
    for (size_t k = 0; k < len; k++)
        sum = (sum ^ bytes[k]) * 0x100000001b3ULL;
    return sum;
}

int create_window(const char *path, char *tmp, size_t tmp_size)
{
    snprintf(tmp, tmp_size, "%s.tmp", path);
    int fd = open(tmp, O_CREAT | O_RDWR | O_TRUNC, 0600);
    if (fd == -1 || ftruncate(fd, WINDOW_BYTES) == -1)
        die_errno(tmp);
    return fd;
}

void publish_window(const char *tmp, const char *path)
{
    if (rename(tmp, path) == -1)
        die_errno(path);
}

/* Polling is fine for this one-time rendezvous; the data itself must be synchronised
 * through the window. */
int open_window(const char *path)
{
    for (int tries = 0; tries < 1000; tries++) {
        int fd = open(path, O_RDWR);
        if (fd != -1)
            return fd;
        if (errno != ENOENT)
            break;
        usleep(5000);
    }
    die_errno(path);
}

void pace(long delay_us)
{
    sleep_us(delay_us);
}

void print_sent(size_t bytes)
{
    printf("sent %zu bytes\n", bytes);
}

void print_received(size_t bytes, fnv1a64 sum)
{
    printf("received %zu bytes fnv1a64=%016llx\n", bytes, (unsigned long long)sum);
}
