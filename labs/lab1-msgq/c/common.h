/*
 * common.h -- lab 1 (msgq): what msgq needs beyond the course's support library
 * (support.h: numbers, say_errno, timing, the pingpong line): its command line and the
 * contract's messages. Written for you; your work is in msgq.c.
 */
#ifndef MSGQ_COMMON_H
#define MSGQ_COMMON_H

#include "support.h"

/* Largest payload of one message here: the kernel's default MSGMAX. */
#define MTEXT_MAX 8192

/* The subcommands of msgq. */
enum command { CMD_FTOK, CMD_CREATE, CMD_PRIVATE, CMD_SEND, CMD_RECV, CMD_RM, CMD_PINGPONG };

/* One msgq command line, parsed and checked (only the fields of its command are set). */
struct args {
    enum command cmd;
    const char *path; /* ftok: the file */
    int proj;         /* ftok: the project id, 1..255 */
    key_t key;        /* create, send, recv, rm */
    long type;        /* send, recv: the message type as given (send must check it) */
    const char *text; /* private, send: the payload, at most MTEXT_MAX bytes */
    int nowait;       /* recv --nowait */
    int except;       /* recv --except */
    int count;        /* pingpong: messages, >= 1 */
};

/* Parses argv; on a usage error prints why and the usage on stderr and returns -1. */
int parse_args(int argc, char **argv, struct args *a);

/* "0x%08x\n": a key as the course prints it. */
void print_key(key_t key);

/* The contract's error messages, on stderr, each prefixed with "msgq: ". Every one returns
 * the exit status to leave with, so that a command can end with `return say_...(…);`. */
int say_exists(key_t key);                 /* create: the key is taken (EEXIST) */
int say_no_queue(key_t key);               /* no queue for the key (ENOENT) */
int say_bad_type(void);                    /* send: the type is not > 0 */
int say_no_message(long type);             /* recv --nowait: nothing matches (ENOMSG); 2 */
/* and support.h's say_errno: "msgq: CALL [ARG]: strerror(errno)" */

#endif
