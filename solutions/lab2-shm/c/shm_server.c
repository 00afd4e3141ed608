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
    const int flags = IPC_CREAT | IPC_EXCL | 0600;
    int shm = shmget(key, SEGMENT_SIZE, flags);

    if (shm >= 0 || errno != EEXIST)
        return shm;
    say_stale(key);
    int stale = shmget(key, 0, 0);
    if (stale < 0 || shmctl(stale, IPC_RMID, NULL) < 0)
        return -1;
    return shmget(key, SEGMENT_SIZE, flags);
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
    volatile int *val = shmat(shm, NULL, 0);
    if (val == (void *) -1) { /* shmat reports errors with (void *) -1, not NULL */
        say_errno("shmat", NULL);
        shmctl(shm, IPC_RMID, NULL);
        return 1;
    }

    /* starting values */
    val[0] = 1;
    val[1] = 0;

    while (val[0]) {
        sleep_ms(tick_ms);
        val[1]++;
    }

    /* Unmap segment */
    shmdt((const void *) val);
    /* Server marks the segment for deletion */
    if (shmctl(shm, IPC_RMID, NULL) < 0)
        return say_errno("shmctl", NULL);
    return 0;
}
