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
    /* TODO: P (delta -1) or V (delta +1) on the set's one semaphore, in such a way that
     * the kernel undoes this process's operations when it dies, however it dies (killed
     * with SIGKILL included): otherwise a holder that is killed keeps the unit forever.
     * Returns 0, or -1 with errno set. See semop(2): sem_flg. */
    NOT_IMPLEMENTED();
}

/* IPC_EXCL tells whether we are the creator: only the creator sets the value to 1 */
static int open_or_create(key_t key)
{
    /* TODO: the set of one semaphore for KEY (mode 0600): create it if the key has no set
     * yet, and then only, set its value to 1; if a set exists already, open it as it is
     * (setting it to 1 again would let this process in while another holds it). The
     * creation must tell you whether you are the creator. Return the id, or -1 with errno
     * set. See semget(2) (IPC_CREAT, IPC_EXCL, EEXIST) and semctl(2) (SETALL). */
    NOT_IMPLEMENTED();
}

/* Removes the set. */
static int remove_sem(int sem)
{
    /* TODO: remove the set, so that nothing is left once the run is over. See semctl(2). */
    NOT_IMPLEMENTED();
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
