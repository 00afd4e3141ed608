/*
 * msgq -- lab 1, System V message queues (reference solution in C).
 *
 *   msgq ftok PATH PROJ
 *   msgq create KEY
 *   msgq private TEXT
 *   msgq send KEY TYPE TEXT
 *   msgq recv KEY TYPE [--nowait] [--except]
 *   msgq rm KEY
 *   msgq pingpong [COUNT]
 *
 * Keys are read in decimal or 0x-hex and printed as 0x%08x.
 * Build: gcc -static -O2 -Wall -o msgq msgq.c
 */
#define _GNU_SOURCE /* MSG_EXCEPT */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Largest payload of one message here: the kernel's default MSGMAX. */
#define MTEXT_MAX 8192

/* A text message: the long type first (always > 0), then the payload. */
struct message {
    long mtype;
    char mtext[MTEXT_MAX];
};

static int usage(void)
{
    fprintf(stderr,
            "usage: msgq ftok PATH PROJ\n"
            "       msgq create KEY\n"
            "       msgq private TEXT\n"
            "       msgq send KEY TYPE TEXT\n"
            "       msgq recv KEY TYPE [--nowait] [--except]\n"
            "       msgq rm KEY\n"
            "       msgq pingpong [COUNT]\n");
    return 1;
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

static int parse_key(const char *s, key_t *key)
{
    long v;

    if (parse_long(s, &v) != 0 || v < INT_MIN || v > (long)UINT_MAX) {
        fprintf(stderr, "msgq: bad key `%s` (decimal or 0x-hex)\n", s);
        return -1;
    }
    *key = (key_t)(unsigned int)v;
    return 0;
}

static int parse_type(const char *s, long *type)
{
    if (parse_long(s, type) != 0) {
        fprintf(stderr, "msgq: bad message type `%s`\n", s);
        return -1;
    }
    return 0;
}

/* msgget(key, 0): the existing queue of the key, or -1 with a message. */
static int open_queue(key_t key)
{
    int q = msgget(key, 0);

    if (q < 0) {
        if (errno == ENOENT)
            fprintf(stderr, "msgq: no queue for key 0x%08x\n", (unsigned int)key);
        else
            perror("msgget");
    }
    return q;
}

/* Error path of a parent: removing the queue wakes a child blocked in msgrcv (EIDRM),
 * so waiting for it cannot hang. */
static void remove_and_reap(int q, pid_t pid)
{
    msgctl(q, IPC_RMID, NULL);
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

static int cmd_ftok(const char *path, const char *proj_arg)
{
    long proj;
    key_t key;

    if (parse_long(proj_arg, &proj) != 0 || proj < 1 || proj > 255) {
        fprintf(stderr, "msgq: bad project id `%s` (1..255)\n", proj_arg);
        return 1;
    }
    key = ftok(path, (int)proj);
    if (key == -1) {
        fprintf(stderr, "msgq: ftok %s: %s\n", path, strerror(errno));
        return 1;
    }
    printf("0x%08x\n", (unsigned int)key);
    return 0;
}

static int cmd_create(const char *key_arg)
{
    key_t key;
    int q;

    if (parse_key(key_arg, &key) != 0)
        return 1;
    q = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
    if (q < 0) {
        if (errno == EEXIST)
            fprintf(stderr, "msgq: a queue already exists for key 0x%08x\n",
                    (unsigned int)key);
        else
            perror("msgget");
        return 1;
    }
    printf("created id=%d\n", q);
    return 0;
}

static int cmd_private(const char *text)
{
    struct message m;
    size_t len = strlen(text);
    ssize_t n;
    pid_t pid;
    int q;

    if (len > MTEXT_MAX) {
        fprintf(stderr, "msgq: a message carries at most %d bytes\n", MTEXT_MAX);
        return 1;
    }
    q = msgget(IPC_PRIVATE, 0600);
    if (q < 0) {
        perror("msgget");
        return 1;
    }
    m.mtype = 1;
    memcpy(m.mtext, text, len);

    pid = fork();
    if (pid < 0) {
        perror("fork");
        remove_and_reap(q, pid);
        return 1;
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
        perror("msgrcv");
        remove_and_reap(q, pid);
        return 1;
    }
    waitpid(pid, NULL, 0);
    if (msgctl(q, IPC_RMID, NULL) < 0) {
        perror("msgctl");
        return 1;
    }
    printf("received %.*s\n", (int)n, m.mtext);
    return 0;
}

static int cmd_send(const char *key_arg, const char *type_arg, const char *text)
{
    struct message m;
    size_t len = strlen(text);
    key_t key;
    long type;
    int q;

    if (parse_key(key_arg, &key) != 0 || parse_type(type_arg, &type) != 0)
        return 1;
    q = open_queue(key);
    if (q < 0)
        return 1;
    if (type <= 0) {
        fprintf(stderr, "msgq: message type must be > 0\n");
        return 1;
    }
    if (len > MTEXT_MAX) {
        fprintf(stderr, "msgq: a message carries at most %d bytes\n", MTEXT_MAX);
        return 1;
    }
    m.mtype = type;
    memcpy(m.mtext, text, len);
    if (msgsnd(q, &m, len, 0) < 0) {
        perror("msgsnd");
        return 1;
    }
    printf("sent type=%ld size=%zu\n", type, len);
    return 0;
}

static int cmd_recv(int argc, char **argv)
{
    struct message m;
    int flags = 0;
    key_t key;
    long type;
    ssize_t n;
    int q;
    int i;

    for (i = 4; i < argc; i++) {
        if (strcmp(argv[i], "--nowait") == 0)
            flags |= IPC_NOWAIT;
        else if (strcmp(argv[i], "--except") == 0)
            flags |= MSG_EXCEPT;
        else
            return usage();
    }
    if (parse_key(argv[2], &key) != 0 || parse_type(argv[3], &type) != 0)
        return 1;
    q = open_queue(key);
    if (q < 0)
        return 1;

    /* The type goes to the kernel as given: it applies the 0 / > 0 / < 0 rule. */
    n = msgrcv(q, &m, MTEXT_MAX, type, flags);
    if (n < 0) {
        if (errno == ENOMSG) {
            fprintf(stderr, "msgq: no message of type %ld (ENOMSG)\n", type);
            return 2;
        }
        perror("msgrcv");
        return 1;
    }
    printf("type=%ld text=%.*s\n", m.mtype, (int)n, m.mtext);
    return 0;
}

static int cmd_rm(const char *key_arg)
{
    key_t key;
    int q;

    if (parse_key(key_arg, &key) != 0)
        return 1;
    q = open_queue(key);
    if (q < 0)
        return 1;
    if (msgctl(q, IPC_RMID, NULL) < 0) {
        perror("msgctl");
        return 1;
    }
    printf("removed id=%d\n", q);
    return 0;
}

/* ---- pingpong: the slides' program, NUM_MSG given on the command line ---- */

double get_time(void)
{
    struct timeval val;
    gettimeofday(&val, NULL);
    return (double)val.tv_sec + 1e-6 * val.tv_usec;
}

#define SIZE 16

struct msg_t {
    long type;
    int data[SIZE];
};

#define NUM_MSG 65536

static int pingpong(int count)
{
    int file = msgget(IPC_PRIVATE, IPC_CREAT | 0600);

    if (file < 0) {
        perror("msgget");
        return 1;
    }

    int i;
    struct msg_t m;
    memset(&m, 0, sizeof(m));
    m.type = 1;

    int pid = fork();

    if (pid < 0) {
        perror("fork");
        remove_and_reap(file, pid);
        return 1;
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

    double total_time = 0.0;

    for (i = 2; i <= count; i++) {
        m.data[0] = i;
        m.type = i;

        double start = get_time();
        int ret = msgsnd(file, &m, SIZE * sizeof(int), 0);

        if (ret < 0) {
            perror("msgsend");
            remove_and_reap(file, pid);
            return 1;
        }

        double end = get_time();
        total_time += end - start;

        msgrcv(file, &m, SIZE * sizeof(int), 1, 0);
    }

    /* Notify end: data[0] == 0 stops the child */
    m.data[0] = 0;
    msgsnd(file, &m, SIZE * sizeof(int), 0);

    wait(NULL);

    msgctl(file, IPC_RMID, NULL);

    fprintf(stderr, "Pingpong takes %g usec Bandwidth is %g MB/s : \n",
            total_time / count * 1e6,
            (double)(SIZE * count * sizeof(int)) /
                (total_time * 1024.0 * 1024.0));

    return 0;
}

static int cmd_pingpong(const char *count_arg)
{
    long count = NUM_MSG;

    if (count_arg != NULL &&
        (parse_long(count_arg, &count) != 0 || count < 1 || count > INT_MAX)) {
        fprintf(stderr, "msgq: bad message count `%s`\n", count_arg);
        return 1;
    }
    if (pingpong((int)count) != 0)
        return 1;
    printf("messages: %ld\n", count);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *cmd = argv[1];

    if (strcmp(cmd, "ftok") == 0 && argc == 4)
        return cmd_ftok(argv[2], argv[3]);
    if (strcmp(cmd, "create") == 0 && argc == 3)
        return cmd_create(argv[2]);
    if (strcmp(cmd, "private") == 0 && argc == 3)
        return cmd_private(argv[2]);
    if (strcmp(cmd, "send") == 0 && argc == 5)
        return cmd_send(argv[2], argv[3], argv[4]);
    if (strcmp(cmd, "recv") == 0 && argc >= 4)
        return cmd_recv(argc, argv);
    if (strcmp(cmd, "rm") == 0 && argc == 3)
        return cmd_rm(argv[2]);
    if (strcmp(cmd, "pingpong") == 0 && argc <= 3)
        return cmd_pingpong(argc == 3 ? argv[2] : NULL);
    return usage();
}
