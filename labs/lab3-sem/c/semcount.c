/* semcount NPROCS TOTAL — NPROCS processes share TOTAL increments of one counter in a
 * System V shared-memory segment, each increment inside P/V on a semaphore of value 1.
 * The parent waits for them all and prints "total=<counter>", which must be TOTAL.
 *
 * The increment is a read, a sched_yield(), then a write: the yield lets another process
 * run in the middle, so that without the semaphore updates are lost even on one CPU. The
 * command line and each child's share are in common.c (see common.h). */
#include <sys/types.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>

#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

/* A new private set of one semaphore, of value 1; its id, or -1 with errno set. */
static int create_sem(void)
{
    /* TODO: make a new set of one semaphore that has no key (only this process and its
     * children reach it), readable and writable by your user only, and give it the value 1
     * (a new semaphore's value is not set for you); if setting it fails, remove the set.
     * Return its id, or -1 with errno set. See semget(2) (IPC_PRIVATE) and semctl(2)
     * (SETALL, the slides' `unsigned short val = 1`). */
    NOT_IMPLEMENTED();
}

/* P, in a child: a failure ends it. */
static void sem_p(int sem)
{
    /* TODO: P: wait until the semaphore is positive and take one unit, in such a way
     * that the kernel gives the unit back if this process dies before its V. A failure ends the
     * child: perror then _exit(1). See semop(2): struct sembuf, sem_op,
     * sem_flg (the slides write IPC_UNDO; the flag's name is SEM_UNDO). */
    NOT_IMPLEMENTED();
}

/* V, in a child: a failure ends it. */
static void sem_v(int sem)
{
    /* TODO: V: give the unit back (with the same undo bookkeeping as sem_p). A failure ends the child. See semop(2). */
    NOT_IMPLEMENTED();
}

/* Removes the set. */
static int remove_sem(int sem)
{
    /* TODO: remove the set: unlike the segment, nothing else will. See semctl(2). */
    NOT_IMPLEMENTED();
}

/* One child's share of the work: `n` increments, each one inside the critical section */
static void count(int sem, volatile int *counter, long n)
{
    for (long i = 0; i < n; i++) {
        sem_p(sem);
        int seen = *counter;
        sched_yield(); /* invite another process in between the read and the write */
        *counter = seen + 1;
        sem_v(sem);
    }
}

int main(int argc, char **argv)
{
    long nprocs, total;

    if (parse_semcount_args(argc, argv, &nprocs, &total) != 0)
        return 2;

    int shm = shmget(IPC_PRIVATE, sizeof(int), IPC_CREAT | 0600);
    if (shm < 0) {
        perror("shmget");
        return 1;
    }
    volatile int *counter = (volatile int *) shmat(shm, NULL, 0);
    /* Marked for deletion now: it goes when the last process detaches, even on a crash */
    shmctl(shm, IPC_RMID, NULL);
    if (counter == (void *) -1) {
        perror("shmat");
        return 1;
    }
    *counter = 0;

    int sem = create_sem();
    if (sem < 0) {
        perror("semget");
        return 1;
    }

    int status = 0;
    for (long i = 0; i < nprocs; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            status = 1;
            break;
        }
        if (pid == 0) {
            count(sem, counter, share(total, nprocs, i));
            _exit(0);
        }
    }

    int child_status;
    while (wait(&child_status) > 0)
        if (!WIFEXITED(child_status) || WEXITSTATUS(child_status) != 0)
            status = 1;

    printf("total=%d\n", *counter);
    shmdt((const void *) counter);
    if (remove_sem(sem) < 0) {
        perror("semctl");
        status = 1;
    }
    return status;
}
