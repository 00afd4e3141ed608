/*
 * psem_alt /NAME [ROUNDS] [HOLD_MS] -- the slides' SysV semaphore alternation ported to a
 * POSIX named semaphore.
 *
 * How the child learns that the parent is done: sem_unlink does not wake a process
 * blocked in sem_wait (IPC_RMID did), so the parent says so through a flag in a shared
 * anonymous mapping, set while it holds the semaphore for the last time: the child sees
 * it at its next sem_wait and leaves. Nor does sem_post hand the semaphore to the
 * process it wakes (SysV's semop did): whoever reaches sem_wait first takes it, so a side
 * that posted and waited again at once would take it back and starve the other. Each
 * side, once it has posted, sleeps HOLD_MS before it asks again. The command line and the lines are done in
 * common.c (see common.h).
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

#include "common.h"

static int child(sem_t *sem, volatile int *done, long hold_ms)
{
    for (;;) {
        if (sem_wait(sem) < 0)
            return say_errno("sem_wait", NULL);
        if (*done) {
            sem_post(sem);
            print_child_done();
            return 0;
        }
        print_child_holding();
        sleep_ms(hold_ms);
        sem_post(sem);
        sleep_ms(hold_ms); /* the parent's turn: posting woke it, it has to run */
    }
}

static void parent(sem_t *sem, volatile int *done, long rounds, long hold_ms)
{
    for (long i = 0; i < rounds; i++) {
        sem_wait(sem);
        print_parent_holding();
        sleep_ms(hold_ms);
        if (i == rounds - 1)
            *done = 1; /* set while holding: the child reads it after its sem_wait */
        sem_post(sem);
        if (i < rounds - 1)
            sleep_ms(hold_ms); /* the child's turn */
    }
}

int main(int argc, char **argv)
{
    const char *name;
    long rounds, hold_ms;

    if (parse_alt_args(argc, argv, &name, &rounds, &hold_ms) != 0)
        return 2;

    volatile int *done = mmap(NULL, sizeof(int), PROT_READ | PROT_WRITE,
                              MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (done == MAP_FAILED)
        return say_errno("mmap", NULL);
    *done = 0;

    sem_t *sem = sem_open(name, O_CREAT | O_EXCL, 0600, 1);
    if (sem == SEM_FAILED)
        return say_errno("sem_open", name);

    pid_t pid = fork();
    if (pid < 0) {
        say_errno("fork", NULL);
        sem_close(sem);
        sem_unlink(name);
        return 1;
    }
    if (pid == 0) {
        int rc = child(sem, done, hold_ms);
        sem_close(sem);
        _exit(rc);
    }

    parent(sem, done, rounds, hold_ms);
    wait(NULL);
    sem_close(sem);
    sem_unlink(name);
    return 0;
}
