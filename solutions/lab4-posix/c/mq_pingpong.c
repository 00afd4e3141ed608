/*
 * mq_pingpong /NAME [COUNT] -- the slides' SysV pingpong ported to POSIX queues.
 *
 * POSIX queues have no message types, so the replies cannot be addressed by type as
 * in the SysV version: the parent sends on NAME.req and the child replies on NAME.rep.
 * The command line, timing and the result lines are done in common.c (see common.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

#define SIZE PING_INTS

/* Creates queue `name` for PING_MAXMSG messages of SIZE ints; (mqd_t)-1 after a message. */
static mqd_t open_queue(const char *name)
{
    struct mq_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.mq_maxmsg = PING_MAXMSG;
    attr.mq_msgsize = SIZE * sizeof(int);
    mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    if (q == (mqd_t)-1) {
        say_errno("mq_open", name);
        if (errno == EEXIST)
            fprintf(stderr, "mq_pingpong: stale queue, remove it with: rm /dev/mqueue%s\n", name);
    }
    return q;
}

/* The child: echoes every request until the stop message (data[0] == 0), which it echoes
 * too. Returns its exit status. */
static int child(mqd_t req, mqd_t rep)
{
    int data[SIZE];
    for (;;) {
        if (mq_receive(req, (char *)data, sizeof(data), NULL) < 0)
            return say_errno("mq_receive", NULL);
        if (mq_send(rep, (const char *)data, sizeof(data), 0) < 0)
            return say_errno("mq_send", NULL);
        if (data[0] == 0)
            return 0;
    }
}

/* The parent's half of one round trip: sends `data` (adding the time mq_send took to
 * *total_time) and waits for its echo. 0, or -1 after a message. */
static int send_and_wait(mqd_t req, mqd_t rep, int *data, double *total_time)
{
    int sent = data[0];
    double start = get_time();
    if (mq_send(req, (const char *)data, SIZE * sizeof(int), 0) < 0) {
        say_errno("mq_send", NULL);
        return -1;
    }
    *total_time += get_time() - start;
    if (mq_receive(rep, (char *)data, SIZE * sizeof(int), NULL) < 0) {
        say_errno("mq_receive", NULL);
        return -1;
    }
    if (data[0] != sent) {
        fprintf(stderr, "mq_pingpong: sent %d, got %d back\n", sent, data[0]);
        return -1;
    }
    return 0;
}

/* The parent: data[0] = 2, 3, ..., count, then 0 (stop). */
static int parent(mqd_t req, mqd_t rep, long count, double *total_time)
{
    int data[SIZE];
    memset(data, 0, sizeof(data));
    for (int i = 2; i <= count; i++) {
        data[0] = i;
        if (send_and_wait(req, rep, data, total_time) < 0)
            return -1;
    }
    data[0] = 0; /* tells the child to stop */
    return send_and_wait(req, rep, data, total_time);
}

int main(int argc, char **argv)
{
    const char *name;
    long count;

    if (parse_pingpong_args(argc, argv, &name, &count) != 0)
        return 2;
    char req_name[300], rep_name[300];
    name_with_suffix(req_name, sizeof(req_name), name, ".req");
    name_with_suffix(rep_name, sizeof(rep_name), name, ".rep");

    mqd_t req = open_queue(req_name);
    if (req == (mqd_t)-1)
        return 1;
    mqd_t rep = open_queue(rep_name);
    if (rep == (mqd_t)-1) {
        mq_close(req);
        mq_unlink(req_name);
        return 1;
    }

    pid_t pid = fork();
    if (pid < 0)
        return say_errno("fork", NULL);
    if (pid == 0) {
        int rc = child(req, rep);
        mq_close(req);
        mq_close(rep);
        _exit(rc);
    }

    double total_time = 0.0;
    int rc = parent(req, rep, count, &total_time);
    if (rc < 0)
        kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);

    mq_close(req);
    mq_close(rep);
    mq_unlink(req_name);
    mq_unlink(rep_name);
    if (rc < 0)
        return 1;

    print_pingpong_line(count, total_time);
    print_message_count(count);
    return 0;
}
