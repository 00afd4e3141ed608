/* semhold KEY [HOLD_MS] — takes the semaphore of KEY and holds it.
 *
 * The set (one semaphore) is created with value 1 by the first semhold for KEY, and
 * opened by the next ones. P is done with SEM_UNDO: if this process dies while holding
 * it, the kernel gives the unit back, so the others do not wait forever. Prints "holding"
 * once it has the semaphore. Without HOLD_MS it then holds it until killed; with HOLD_MS
 * it holds it that long, releases it, prints "released", and removes the set. The command
 * line is read in common.c (see common.h). */
#include <sys/types.h>
#include <sys/ipc.h>
#include <sys/sem.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common.h"

/* P (delta -1) or V (delta +1), undone by the kernel if we die */
static int sem_change(int sem, short delta)
{
    struct sembuf op = { 0, delta, SEM_UNDO };

    return semop(sem, &op, 1);
}

/* IPC_EXCL tells whether we are the creator: only the creator sets the value to 1 */
static int open_or_create(key_t key)
{
    int sem = semget(key, 1, IPC_CREAT | IPC_EXCL | 0600);

    if (sem >= 0) {
        unsigned short one = 1;
        if (semctl(sem, 0, SETALL, &one) < 0) {
            semctl(sem, 0, IPC_RMID);
            return -1;
        }
        return sem;
    }
    if (errno != EEXIST)
        return -1;
    return semget(key, 1, 0);
}

/* Removes the set. */
static int remove_sem(int sem)
{
    return semctl(sem, 0, IPC_RMID);
}

int main(int argc, char **argv)
{
    key_t key;
    long hold_ms;

    if (parse_semhold_args(argc, argv, &key, &hold_ms) != 0)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);

    int sem = open_or_create(key);
    if (sem < 0) {
        perror("semget");
        return 1;
    }
    if (sem_change(sem, -1) < 0) {
        perror("semop");
        return 1;
    }
    printf("holding\n");

    if (hold_ms < 0)
        for (;;)
            pause();

    sleep_ms(hold_ms);
    if (sem_change(sem, +1) < 0) {
        perror("semop");
        return 1;
    }
    printf("released\n");
    if (remove_sem(sem) < 0) {
        perror("semctl");
        return 1;
    }
    return 0;
}
