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
    /* TODO: create the queue NAME, new (an existing one is an error: a previous run left
     * it), readable and writable, mode 0600, holding up to PING_MAXMSG messages of SIZE
     * ints each (the queue's attributes). On failure report it with say_errno and return
     * (mqd_t)-1. See mq_open(3) and mq_overview(7). */
    NOT_IMPLEMENTED();
}

/* The child: echoes every request until the stop message (data[0] == 0), which it echoes
 * too. Returns its exit status. */
static int child(mqd_t req, mqd_t rep)
{
    /* TODO: receive each message of the request queue and send it back, unchanged, on the
     * reply queue, the stop message (data[0] == 0) included; then return 0. A receive
     * buffer smaller than the queue's message size is refused. Report a failure with
     * say_errno and return 1. See mq_receive(3), mq_send(3). */
    NOT_IMPLEMENTED();
}

/* The parent's half of one round trip: sends `data` (adding the time mq_send took to
 * *total_time) and waits for its echo. 0, or -1 after a message. */
static int send_and_wait(mqd_t req, mqd_t rep, int *data, double *total_time)
{
    /* TODO: send data (SIZE ints) on the request queue, timing only the send (get_time()
     * before and after; add it to *total_time, as the slides time msgsnd), then wait for
     * the echo on the reply queue and check it carries the same data[0]. Report a failure
     * with say_errno and return -1; 0 when the echo came back. See mq_send(3),
     * mq_receive(3). */
    NOT_IMPLEMENTED();
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
        /* TODO: close the request queue made above and remove it: nothing may be left
         * behind. Then return 1. */
        NOT_IMPLEMENTED();
    }

    pid_t pid = fork();
    if (pid < 0)
        return say_errno("fork", NULL);
    if (pid == 0) {
        int rc = child(req, rep);
        /* TODO: close the child's descriptors of both queues. See mq_close(3). */
        NOT_IMPLEMENTED();
        _exit(rc);
    }

    double total_time = 0.0;
    int rc = parent(req, rep, count, &total_time);
    if (rc < 0)
        kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);

    /* TODO: close both queues and remove them from the system: a POSIX queue outlives
     * every process until its name is unlinked (see `ls /dev/mqueue`). See mq_close(3),
     * mq_unlink(3). */
    NOT_IMPLEMENTED();
    if (rc < 0)
        return 1;

    print_pingpong_line(count, total_time);
    print_message_count(count);
    return 0;
}
