/*
 * mq_pingpong NAME [COUNT] -- the slides' SysV pingpong ported to POSIX queues.
 *
 * POSIX queues have no message types, so the replies cannot be addressed by type as
 * in the SysV version: the parent sends on NAME.req and the child replies on NAME.rep.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define SIZE 16
#define NUM_MSG 65536
#define MAXMSG 10

/* A decimal number in [min, max], or -1. */
static int parse_number(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static double get_time(void)
{
    struct timeval val;
    gettimeofday(&val, NULL);
    return (double)val.tv_sec + 1e-6 * val.tv_usec;
}

static mqd_t open_queue(const char *name)
{
    struct mq_attr attr;
    memset(&attr, 0, sizeof(attr));
    attr.mq_maxmsg = MAXMSG;
    attr.mq_msgsize = SIZE * sizeof(int);
    mqd_t q = mq_open(name, O_CREAT | O_EXCL | O_RDWR, 0600, &attr);
    if (q == (mqd_t)-1) {
        fprintf(stderr, "mq_pingpong: mq_open %s: %s\n", name, strerror(errno));
        if (errno == EEXIST)
            fprintf(stderr, "mq_pingpong: stale queue, remove it with: rm /dev/mqueue%s\n", name);
    }
    return q;
}

/* Echoes every request until the stop message (data[0] == 0), which it echoes too. */
static int child(mqd_t req, mqd_t rep)
{
    int data[SIZE];
    for (;;) {
        if (mq_receive(req, (char *)data, sizeof(data), NULL) < 0) {
            perror("mq_receive");
            return 1;
        }
        if (mq_send(rep, (const char *)data, sizeof(data), 0) < 0) {
            perror("mq_send");
            return 1;
        }
        if (data[0] == 0)
            return 0;
    }
}

static int send_and_wait(mqd_t req, mqd_t rep, int *data, double *total_time)
{
    int sent = data[0];
    double start = get_time();
    if (mq_send(req, (const char *)data, SIZE * sizeof(int), 0) < 0) {
        perror("mq_send");
        return -1;
    }
    *total_time += get_time() - start;
    if (mq_receive(rep, (char *)data, SIZE * sizeof(int), NULL) < 0) {
        perror("mq_receive");
        return -1;
    }
    if (data[0] != sent) {
        fprintf(stderr, "mq_pingpong: sent %d, got %d back\n", sent, data[0]);
        return -1;
    }
    return 0;
}

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
    long count = NUM_MSG;
    if (argc < 2 || argc > 3 || argv[1][0] != '/'
        || (argc == 3 && parse_number(argv[2], 2, 1L << 30, &count) < 0)) {
        fprintf(stderr, "usage: mq_pingpong /NAME [COUNT]   (COUNT >= 2)\n");
        return 2;
    }
    char req_name[300], rep_name[300];
    snprintf(req_name, sizeof(req_name), "%s.req", argv[1]);
    snprintf(rep_name, sizeof(rep_name), "%s.rep", argv[1]);

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
    if (pid < 0) {
        perror("fork");
        return 1;
    }
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

    fprintf(stderr, "Pingpong takes %g usec Bandwidth is %g MB/s : \n",
            total_time / count * 1e6,
            (double)(SIZE * (double)count * sizeof(int)) / (total_time * 1024.0 * 1024.0));
    printf("messages: %ld\n", count);
    return 0;
}
