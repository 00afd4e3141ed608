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
    return msgget(key, 0);
}

/* What a failed open_queue means, as the contract words it. */
static int open_failed(key_t key)
{
    return errno == ENOENT ? say_no_queue(key) : say_errno("msgget", NULL);
}

/* Error path of a parent: removing the queue wakes a child blocked in msgrcv (EIDRM),
 * so waiting for it cannot hang. */
static void remove_and_reap(int q, pid_t pid)
{
    msgctl(q, IPC_RMID, NULL);
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

/* msgq ftok PATH PROJ */
static int cmd_ftok(const char *path, int proj)
{
    key_t key = ftok(path, proj);

    if (key == -1)
        return say_errno("ftok", path);
    print_key(key);
    return 0;
}

/* msgq create KEY */
static int cmd_create(key_t key)
{
    int q = msgget(key, IPC_CREAT | IPC_EXCL | 0600);

    if (q < 0)
        return errno == EEXIST ? say_exists(key) : say_errno("msgget", NULL);
    printf("created id=%d\n", q);
    return 0;
}

/* msgq private TEXT */
static int cmd_private(const char *text)
{
    struct message m;
    size_t len = strlen(text);
    ssize_t n = -1;
    int q = msgget(IPC_PRIVATE, 0600);

    if (q < 0)
        return say_errno("msgget", NULL);
    m.mtype = 1;
    memcpy(m.mtext, text, len);

    pid_t pid = fork();
    if (pid < 0) {
        remove_and_reap(q, pid);
        return say_errno("fork", NULL);
    }
    if (pid == 0) {
        /* The size is the text's: no NUL, never the long. */
        if (msgsnd(q, &m, len, 0) < 0)
            _exit(1);
        _exit(0);
    }
    /* Blocks until the child's message arrives. */
    n = msgrcv(q, &m, MTEXT_MAX, 1, 0);
    if (n < 0) {
        say_errno("msgrcv", NULL);
        remove_and_reap(q, pid);
        return 1;
    }
    waitpid(pid, NULL, 0);
    if (msgctl(q, IPC_RMID, NULL) < 0)
        return say_errno("msgctl", NULL);

    printf("received %.*s\n", (int)n, m.mtext);
    return 0;
}

/* msgq send KEY TYPE TEXT */
static int cmd_send(key_t key, long type, const char *text)
{
    struct message m;
    size_t len = strlen(text);
    int q = open_queue(key);

    if (q < 0)
        return open_failed(key);
    if (type <= 0)
        return say_bad_type();
    m.mtype = type;
    memcpy(m.mtext, text, len);
    if (msgsnd(q, &m, len, 0) < 0)
        return say_errno("msgsnd", NULL);
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
    /* The type goes to the kernel as given: it applies the 0 / > 0 / < 0 rule. */
    int flags = (nowait ? IPC_NOWAIT : 0) | (except ? MSG_EXCEPT : 0);
    n = msgrcv(q, &m, MTEXT_MAX, type, flags);
    if (n < 0)
        return errno == ENOMSG ? say_no_message(type) : say_errno("msgrcv", NULL);
    printf("type=%ld text=%.*s\n", m.mtype, (int)n, m.mtext);
    return 0;
}

/* msgq rm KEY */
static int cmd_rm(key_t key)
{
    int q = open_queue(key);

    if (q < 0)
        return open_failed(key);
    if (msgctl(q, IPC_RMID, NULL) < 0)
        return say_errno("msgctl", NULL);
    printf("removed id=%d\n", q);
    return 0;
}

/* The slides' pingpong with NUM_MSG = count; adds the time spent in the parent's msgsnd
 * calls to *total_time. 0, or 1 after a message. */
static int pingpong(int count, double *total_time)
{
    int file = msgget(IPC_PRIVATE, IPC_CREAT | 0600);

    if (file < 0)
        return say_errno("msgget", NULL);

    int i;
    struct msg_t m;
    memset(&m, 0, sizeof(m));
    m.type = 1;

    int pid = fork();

    if (pid < 0) {
        remove_and_reap(file, pid);
        return say_errno("fork", NULL);
    }

    if (pid == 0) {
        int stop = 0;

        while (!stop) {
            /* Fails only if the parent removed the queue: it gave up. */
            if (msgrcv(file, &m, SIZE * sizeof(int), 0, 0) < 0)
                _exit(1);
            /* Notify end */
            if (m.data[0] == 0)
                stop = 1;
            m.type = 1;
            msgsnd(file, &m, SIZE * sizeof(int), 0);
        }
        _exit(0);
    }

    for (i = 2; i <= count; i++) {
        m.data[0] = i;
        m.type = i;

        double start = get_time();
        int ret = msgsnd(file, &m, SIZE * sizeof(int), 0);

        if (ret < 0) {
            say_errno("msgsnd", NULL);
            remove_and_reap(file, pid);
            return 1;
        }

        double end = get_time();
        *total_time += end - start;

        msgrcv(file, &m, SIZE * sizeof(int), 1, 0);
    }

    /* Notify end: data[0] == 0 stops the child */
    m.data[0] = 0;
    msgsnd(file, &m, SIZE * sizeof(int), 0);

    wait(NULL);

    msgctl(file, IPC_RMID, NULL);
    return 0;
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
