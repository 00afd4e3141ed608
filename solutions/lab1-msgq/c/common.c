/*
 * common.c -- lab 1 (msgq): the command line, the contract's messages, the pingpong's
 * result line. Written for you; it has no main: it is linked into msgq.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "common.h"

static const char usage_text[] =
    "usage: msgq ftok PATH PROJ\n"
    "       msgq create KEY\n"
    "       msgq private TEXT\n"
    "       msgq send KEY TYPE TEXT\n"
    "       msgq recv KEY TYPE [--nowait] [--except]\n"
    "       msgq rm KEY\n"
    "       msgq pingpong [COUNT]\n"
    "KEY: decimal or 0x-hex; PROJ: 1..255\n";

static int usage(const char *why, const char *arg)
{
    if (arg != NULL)
        fprintf(stderr, "msgq: %s `%s`\n", why, arg);
    else
        fprintf(stderr, "msgq: %s\n", why);
    fputs(usage_text, stderr);
    return -1;
}

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
        return usage("bad key (decimal or 0x-hex):", s);
    *key = (key_t)(unsigned int)v;
    return 0;
}

static int parse_text(const char *s, const char **text)
{
    if (strlen(s) > MTEXT_MAX) {
        fprintf(stderr, "msgq: a message carries at most %d bytes, this one has %zu\n",
                MTEXT_MAX, strlen(s));
        return -1;
    }
    *text = s;
    return 0;
}

static int parse_ftok(char **argv, struct args *a)
{
    long proj;

    if (parse_long(argv[3], &proj) != 0 || proj < 1 || proj > 255)
        return usage("bad project id (1..255):", argv[3]);
    a->path = argv[2];
    a->proj = (int)proj;
    return 0;
}

static int parse_send(char **argv, struct args *a)
{
    if (parse_key(argv[2], &a->key) != 0)
        return -1;
    if (parse_long(argv[3], &a->type) != 0)
        return usage("bad message type", argv[3]);
    return parse_text(argv[4], &a->text);
}

static int parse_recv(int argc, char **argv, struct args *a)
{
    int i;

    for (i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--nowait") == 0)
            a->nowait = 1;
        else if (strcmp(argv[i], "--except") == 0)
            a->except = 1;
        else
            return usage("unknown option", argv[i]);
    }
    if (parse_key(argv[2], &a->key) != 0)
        return -1;
    if (parse_long(argv[3], &a->type) != 0)
        return usage("bad message type", argv[3]);
    return 0;
}

static int parse_count(const char *s, struct args *a)
{
    long count = DEFAULT_PING_COUNT;

    if (s != NULL && (parse_long(s, &count) != 0 || count < 1 || count > INT_MAX))
        return usage("bad message count", s);
    a->count = (int)count;
    return 0;
}

int parse_args(int argc, char **argv, struct args *a)
{
    const char *cmd = argc > 1 ? argv[1] : "";

    memset(a, 0, sizeof(*a));
    if (strcmp(cmd, "ftok") == 0 && argc == 4) {
        a->cmd = CMD_FTOK;
        return parse_ftok(argv, a);
    }
    if (strcmp(cmd, "create") == 0 && argc == 3) {
        a->cmd = CMD_CREATE;
        return parse_key(argv[2], &a->key);
    }
    if (strcmp(cmd, "private") == 0 && argc == 3) {
        a->cmd = CMD_PRIVATE;
        return parse_text(argv[2], &a->text);
    }
    if (strcmp(cmd, "send") == 0 && argc == 5) {
        a->cmd = CMD_SEND;
        return parse_send(argv, a);
    }
    if (strcmp(cmd, "recv") == 0 && argc >= 4) {
        a->cmd = CMD_RECV;
        return parse_recv(argc, argv, a);
    }
    if (strcmp(cmd, "rm") == 0 && argc == 3) {
        a->cmd = CMD_RM;
        return parse_key(argv[2], &a->key);
    }
    if (strcmp(cmd, "pingpong") == 0 && argc <= 3) {
        a->cmd = CMD_PINGPONG;
        return parse_count(argc == 3 ? argv[2] : NULL, a);
    }
    return usage("unknown command or wrong number of arguments", NULL);
}

void print_key(key_t key)
{
    printf("0x%08x\n", (unsigned int)key);
}

int say_exists(key_t key)
{
    fprintf(stderr, "msgq: a queue already exists for key 0x%08x\n", (unsigned int)key);
    return 1;
}

int say_no_queue(key_t key)
{
    fprintf(stderr, "msgq: no queue for key 0x%08x\n", (unsigned int)key);
    return 1;
}

int say_bad_type(void)
{
    fprintf(stderr, "msgq: message type must be > 0\n");
    return 1;
}

int say_no_message(long type)
{
    fprintf(stderr, "msgq: no message of type %ld (ENOMSG)\n", type);
    return 2;
}

int say_errno(const char *call, const char *arg)
{
    const char *why = strerror(errno);

    if (arg != NULL)
        fprintf(stderr, "msgq: %s %s: %s\n", call, arg, why);
    else
        fprintf(stderr, "msgq: %s: %s\n", call, why);
    return 1;
}

double get_time(void)
{
    struct timeval val;

    gettimeofday(&val, NULL);
    return (double)val.tv_sec + 1e-6 * val.tv_usec;
}

void print_pingpong_line(int count, double total_time)
{
    fprintf(stderr, "Pingpong takes %g usec Bandwidth is %g MB/s : \n",
            total_time / count * 1e6,
            (double)(PING_INTS * count * sizeof(int)) / (total_time * 1024.0 * 1024.0));
}

void not_implemented(const char *file, const char *function)
{
    fflush(stdout);
    fprintf(stderr, "msgq: not implemented yet: %s() in %s (complete its TODO)\n", function,
            file);
    exit(1);
}
