/*
 * shm_server KEY TICK_MS -- the slides' SHM server (AISE, "Les Segments SHM"), with the
 * key and the tick as parameters and the stale-segment case handled.
 *
 * Creates a segment of two ints (val[0] = run flag, val[1] = counter), adds 1 to val[1]
 * every TICK_MS milliseconds while val[0] is set, then detaches and removes the segment.
 * The command line and the messages are done in common.c (see common.h).
 */
#include <sys/ipc.h>
#include <sys/shm.h>

#include <errno.h>
#include <stdio.h>

#include "common.h"

/* A new segment for KEY (IPC_EXCL makes shmget fail with EEXIST when the key is taken:
 * here that can only be a segment left by a server that died before its IPC_RMID, so it
 * is removed and the segment made afresh). Its id, or -1 with errno set. */
static int create_segment(key_t key)
{
    /* TODO: create a segment of SEGMENT_SIZE bytes for KEY that only your user may read
     * and write, and make sure it is a new one: creating must fail when the key is taken.
     * A taken key here means a server died before removing its segment (IPC objects
     * outlive processes): announce it with say_stale(key), remove that old segment, and
     * create afresh. Return the id, or -1 with errno set. See shmget(2) (the creation
     * flags, EEXIST, and how to find an existing segment) and shmctl(2). */
    NOT_IMPLEMENTED();
}

int main(int argc, char **argv)
{
    key_t key;
    long tick_ms;

    if (parse_server_args(argc, argv, &key, &tick_ms) != 0)
        return 2;

    int shm = create_segment(key);
    if (shm < 0)
        return say_errno("shmget", NULL);

    /* volatile: the client changes val[0] behind our back */
    volatile int *val = NULL;

    /* TODO: map the segment into this process (val points to its two ints). On failure
     * report it with say_errno, remove the segment and return 1: the error value is not
     * NULL, read what the call returns. See shmat(2). */
    NOT_IMPLEMENTED();

    /* starting values */
    val[0] = 1;
    val[1] = 0;

    while (val[0]) {
        sleep_ms(tick_ms);
        val[1]++;
    }

    /* TODO: unmap the segment from this process, then remove it: a segment stays in the
     * system after every process has ended until someone removes it ("PENSEZ à
     * SUPPRIMER VOS Segments !!!"). See shmdt(2), shmctl(2). */
    NOT_IMPLEMENTED();
    return 0;
}
