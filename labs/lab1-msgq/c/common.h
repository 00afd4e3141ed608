/*
 * common.h -- lab 1 (msgq): everything that is not about message queues: the command
 * line, the contract's messages and the pingpong's result line. Written for you; your
 * work is in msgq.c.
 */
#ifndef MSGQ_COMMON_H
#define MSGQ_COMMON_H

#include <sys/types.h>

/* Largest payload of one message here: the kernel's default MSGMAX. */
#define MTEXT_MAX 8192
/* ints in one pingpong message (the slides' SIZE) */
#define PING_INTS 16
/* messages of a pingpong without COUNT (the slides' NUM_MSG) */
#define DEFAULT_PING_COUNT 65536

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
int say_errno(const char *call, const char *arg); /* "msgq: CALL [ARG]: strerror(errno)" */

/* Seconds since the epoch, with microseconds (the slides' get_time). */
double get_time(void);

/* The slides' result line, on stderr: "Pingpong takes %g usec Bandwidth is %g MB/s : "
 * for `count` messages of PING_INTS ints that took `total_time` seconds to send. */
void print_pingpong_line(int count, double total_time);

/* What an untouched TODO does: says which function is not written yet, and exits 1. */
#define NOT_IMPLEMENTED() not_implemented(__FILE__, __func__)
void not_implemented(const char *file, const char *function) __attribute__((noreturn));

#endif
