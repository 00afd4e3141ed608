/*
 * msgq -- lab 1, System V message queues: the queue work of each subcommand.
 *
 *   msgq ftok PATH PROJ | create KEY | private TEXT | send KEY TYPE TEXT
 *   msgq recv KEY TYPE [--nowait] [--except] | rm KEY | pingpong [COUNT]
 *
 * The command line, the contract's messages and the pingpong's result line are done in
 * common.c (see common.h). Build: make (or gcc -static -O2 -Wall -o msgq msgq.c common.c).
 */
#define _GNU_SOURCE /* MSG_EXCEPT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

/* A text message as the kernel lays it out: the long type first (always > 0 in a message
 * you send), then the payload. Sizes given to msgsnd/msgrcv count the payload only. */
struct message {
    long mtype;
    char mtext[MTEXT_MAX];
};

/* A pingpong message: the slides' struct msg_t. */
#define SIZE PING_INTS
struct msg_t {
    long type;
    int data[SIZE];
};

/* The queue that already exists for KEY, or -1 with errno set (ENOENT: there is none). */
static int open_queue(key_t key)
{
    /* TODO: find the queue that already exists for KEY, and never create one: when the
     * key has no queue the call must fail with errno ENOENT (open_failed then prints the
     * contract's "no queue for key"). See msgget(2): what the flags ask for, and 0. */
    NOT_IMPLEMENTED();
}

/* What a failed open_queue means, as the contract words it. */
static int open_failed(key_t key)
{
    return errno == ENOENT ? say_no_queue(key) : say_errno("msgget", NULL);
}

/* msgq ftok PATH PROJ */
static int cmd_ftok(const char *path, int proj)
{
    key_t key = -1;

    /* TODO: compute the System V key of the file PATH for project PROJ: every program that
     * names the same existing file and project gets the same key, and so finds the same
     * queue. A missing file makes the computation fail (errno set as stat(2) sets it):
     * leave key at -1 then. See ftok(3). */
    NOT_IMPLEMENTED();

    if (key == -1)
        return say_errno("ftok", path);
    print_key(key);
    return 0;
}

/* msgq create KEY */
static int cmd_create(key_t key)
{
    int q = -1;

    /* TODO: create a new queue for KEY that only your user may read and write, in such a
     * way that creating it a second time fails (errno EEXIST) instead of quietly handing
     * back the queue that is there. See msgget(2): the creation flags, and the permission
     * bits they carry (without them the queue gets mode 000). */
    NOT_IMPLEMENTED();

    if (q < 0)
        return errno == EEXIST ? say_exists(key) : say_errno("msgget", NULL);
    printf("created id=%d\n", q);
    return 0;
}

/* msgq private TEXT */
static int cmd_private(const char *text)
{
    struct message m;
    ssize_t n = -1;

    /* TODO: make a queue that has no key (only this process and the children it forks can
     * reach it); start a child that sends TEXT to the parent as one message of type 1 and
     * ends; in the parent, receive that message into m (n: the payload's size), wait for
     * the child, and remove the queue: a keyless queue outlives its processes too. After
     * fork the child only makes system calls and ends with _exit (prepare the message
     * before forking). Report failures with say_errno. See msgget(2) (IPC_PRIVATE),
     * fork(2), msgsnd(2), msgrcv(2), waitpid(2), msgctl(2). */
    NOT_IMPLEMENTED();

    printf("received %.*s\n", (int)n, m.mtext);
    return 0;
}

/* msgq send KEY TYPE TEXT */
static int cmd_send(key_t key, long type, const char *text)
{
    size_t len = strlen(text);
    int q = open_queue(key);

    if (q < 0)
        return open_failed(key);
    /* TODO: send TEXT as one message (a struct message) of type TYPE whose size is the
     * text's bytes exactly: no terminating NUL, and never the long that holds the type. A
     * type must be > 0: refuse any other with `return say_bad_type();` before sending
     * anything. See msgsnd(2). */
    NOT_IMPLEMENTED();
    printf("sent type=%ld size=%zu\n", type, len);
    return 0;
}

/* msgq recv KEY TYPE [--nowait] [--except] */
static int cmd_recv(key_t key, long type, int nowait, int except)
{
    struct message m;
    ssize_t n = -1;
    int q = open_queue(key);

    if (q < 0)
        return open_failed(key);
    /* TODO: receive one message into m (n: its payload's size), chosen by TYPE as the
     * kernel defines it: 0 = the first message, > 0 = the first of that type (with
     * --except: the first of any other type), < 0 = the first of the lowest type <= |TYPE|.
     * With --nowait, do not wait when nothing matches: the call fails with errno ENOMSG,
     * and `return say_no_message(type);`. See msgrcv(2): msgtyp and the flags. */
    NOT_IMPLEMENTED();
    printf("type=%ld text=%.*s\n", m.mtype, (int)n, m.mtext);
    return 0;
}

/* msgq rm KEY */
static int cmd_rm(key_t key)
{
    int q = open_queue(key);

    if (q < 0)
        return open_failed(key);
    /* TODO: remove the queue, so that the key has no queue any more (the messages it
     * still holds go with it). See msgctl(2). */
    NOT_IMPLEMENTED();

    printf("removed id=%d\n", q);
    return 0;
}

/* The slides' pingpong with NUM_MSG = count; adds the time spent in the parent's msgsnd
 * calls to *total_time. 0, or 1 after a message. */
static int pingpong(int count, double *total_time)
{
    /* TODO: the slides' program. One keyless queue, shared by parent and child (fork).
     * The parent sends messages (struct msg_t) whose type and data[0] are i = 2, 3, ...,
     * COUNT, then a last one whose data[0] is 0, and after each waits for the reply of
     * type 1; it times only its sends (get_time() before and after each) and adds that
     * time to *total_time. The child takes the messages whatever their type, answers each
     * with a message of type 1, and ends after answering the one whose data[0] is 0. At
     * the end the parent waits for the child and removes the queue ("PENSEZ à SUPPRIMER
     * VOS FILES !!!"). */
    NOT_IMPLEMENTED();
}

/* msgq pingpong [COUNT] */
static int cmd_pingpong(int count)
{
    double total_time = 0.0;

    if (pingpong(count, &total_time) != 0)
        return 1;
    print_pingpong_line(count, total_time);
    printf("messages: %d\n", count);
    return 0;
}

int main(int argc, char **argv)
{
    struct args a;

    if (parse_args(argc, argv, &a) != 0)
        return 1;
    switch (a.cmd) {
    case CMD_FTOK:
        return cmd_ftok(a.path, a.proj);
    case CMD_CREATE:
        return cmd_create(a.key);
    case CMD_PRIVATE:
        return cmd_private(a.text);
    case CMD_SEND:
        return cmd_send(a.key, a.type, a.text);
    case CMD_RECV:
        return cmd_recv(a.key, a.type, a.nowait, a.except);
    case CMD_RM:
        return cmd_rm(a.key);
    case CMD_PINGPONG:
        return cmd_pingpong(a.count);
    }
    return 1;
}
