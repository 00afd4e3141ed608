/*
 * common.c -- lab 1 (msgq): the command line and the contract's messages. Written for
 * you; it has no main: it is linked into msgq, with the course's support.c.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

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

static int parse_msgq_key(const char *s, key_t *key)
{
    return parse_key(s, key) == 0 ? 0 : usage("bad key (decimal or 0x-hex):", s);
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

    if (parse_in(argv[3], 1, 255, &proj) != 0)
        return usage("bad project id (1..255):", argv[3]);
    a->path = argv[2];
    a->proj = (int)proj;
    return 0;
}

static int parse_send(char **argv, struct args *a)
{
    if (parse_msgq_key(argv[2], &a->key) != 0)
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
    if (parse_msgq_key(argv[2], &a->key) != 0)
        return -1;
    if (parse_long(argv[3], &a->type) != 0)
        return usage("bad message type", argv[3]);
    return 0;
}

static int parse_count(const char *s, struct args *a)
{
    long count = DEFAULT_PING_COUNT;

    if (s != NULL && parse_in(s, 1, INT_MAX, &count) != 0)
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
        return parse_msgq_key(argv[2], &a->key);
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
        return parse_msgq_key(argv[2], &a->key);
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
