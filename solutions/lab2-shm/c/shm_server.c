/* shm_server KEY TICK_MS — the slides' SHM server (AISE, "Les Segments SHM"), with the key
 * and the tick as parameters and the stale-segment case handled.
 *
 * Creates a 2-int segment (val[0] = run flag, val[1] = counter), bumps val[1] every
 * TICK_MS milliseconds while val[0] is set, then detaches and removes the segment. */
#include <sys/ipc.h>
#include <sys/shm.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int parse_args(int argc, char **argv, key_t *key, long *tick_ms)
{
    char *end;

    if (argc != 3)
        return -1;
    *key = (key_t) strtol(argv[1], &end, 0);
    if (*end != '\0' || end == argv[1])
        return -1;
    *tick_ms = strtol(argv[2], &end, 10);
    if (*end != '\0' || end == argv[2] || *tick_ms <= 0)
        return -1;
    return 0;
}

/* IPC_EXCL makes shmget fail with EEXIST when the key is taken: here that can only be a
 * segment left by a server that died before its IPC_RMID. Remove it and start afresh. */
static int create_segment(key_t key)
{
    const int flags = IPC_CREAT | IPC_EXCL | 0600;
    int shm = shmget(key, 2 * sizeof(int), flags);

    if (shm >= 0 || errno != EEXIST)
        return shm;
    fprintf(stderr, "shm_server: removing stale segment for key 0x%08x\n", (unsigned) key);
    int stale = shmget(key, 0, 0);
    if (stale < 0 || shmctl(stale, IPC_RMID, NULL) < 0)
        return -1;
    return shmget(key, 2 * sizeof(int), flags);
}

int main(int argc, char **argv)
{
    key_t key;
    long tick_ms;

    if (parse_args(argc, argv, &key, &tick_ms) < 0) {
        fprintf(stderr, "usage: shm_server KEY TICK_MS\n");
        return 2;
    }

    int shm = create_segment(key);
    if (shm < 0) {
        perror("shmget");
        return 1;
    }

    /* volatile: the client changes val[0] behind our back */
    volatile int *val = (volatile int *) shmat(shm, NULL, 0);
    if (val == (void *) -1) { /* shmat reports errors with (void *) -1, not NULL */
        perror("shmat");
        shmctl(shm, IPC_RMID, NULL);
        return 1;
    }

    /* starting values */
    val[0] = 1;
    val[1] = 0;

    while (val[0]) {
        usleep(tick_ms * 1000);
        val[1]++;
    }

    /* Unmap segment */
    shmdt((const void *) val);
    /* Server marks the segment for deletion */
    if (shmctl(shm, IPC_RMID, NULL) < 0) {
        perror("shmctl");
        return 1;
    }
    return 0;
}
