/*
 * psem_alt NAME [ROUNDS] [HOLD_MS] -- the slides' SysV semaphore alternation ported to a
 * POSIX named semaphore.
 *
 * sem_unlink does not wake a process blocked in sem_wait (IPC_RMID did), so the parent
 * says it is done through a flag in a shared anonymous mapping, set while it holds the
 * semaphore for the last time: the child sees it at its next sem_wait and leaves.
 */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

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

static int child(sem_t *sem, volatile int *done, useconds_t hold_us)
{
    for (;;) {
        if (sem_wait(sem) < 0) {
            perror("sem_wait");
            return 1;
        }
        if (*done) {
            sem_post(sem);
            printf("Child: parent done\n");
            fflush(stdout);
            return 0;
        }
        printf("CHILD holding the sem\n");
        fflush(stdout);
        usleep(hold_us);
        sem_post(sem);
    }
}

static void parent(sem_t *sem, volatile int *done, long rounds, useconds_t hold_us)
{
    for (long i = 0; i < rounds; i++) {
        sem_wait(sem);
        printf("PARENT holding the sem\n");
        fflush(stdout);
        usleep(hold_us);
        if (i == rounds - 1)
            *done = 1; /* set while holding: the child reads it after its sem_wait */
        sem_post(sem);
    }
}

int main(int argc, char **argv)
{
    long rounds = 5, hold_ms = 1000; /* the slides: 5 rounds, sleep(1) */
    if (argc < 2 || argc > 4 || argv[1][0] != '/'
        || (argc > 2 && parse_number(argv[2], 1, 1000000, &rounds) < 0)
        || (argc > 3 && parse_number(argv[3], 0, 3600000, &hold_ms) < 0)) {
        fprintf(stderr, "usage: psem_alt /NAME [ROUNDS] [HOLD_MS]\n");
        return 2;
    }
    const char *name = argv[1];
    useconds_t hold_us = (useconds_t)hold_ms * 1000;

    volatile int *done = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (done == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    *done = 0;

    sem_t *sem = sem_open(name, O_CREAT | O_EXCL, 0600, 1);
    if (sem == SEM_FAILED) {
        fprintf(stderr, "psem_alt: sem_open %s: %s\n", name, strerror(errno));
        return 1;
    }

    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        sem_close(sem);
        sem_unlink(name);
        return 1;
    }
    if (pid == 0) {
        int rc = child(sem, done, hold_us);
        sem_close(sem);
        _exit(rc);
    }

    parent(sem, done, rounds, hold_us);
    wait(NULL);
    sem_close(sem);
    sem_unlink(name);
    return 0;
}
