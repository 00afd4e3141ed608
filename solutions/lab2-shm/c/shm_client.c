/* shm_client KEY MAX — the slides' SHM client (AISE, "Les Segments SHM"), with the key and
 * the stop value as parameters.
 *
 * Attaches the server's segment, prints "Val is N max is MAX" each time val[1] changes and
 * clears the run flag val[0] once val[1] reaches MAX, then detaches. */
#include <sys/ipc.h>
#include <sys/shm.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static int parse_args(int argc, char **argv, key_t *key, int *max)
{
    char *end;

    if (argc != 3)
        return -1;
    *key = (key_t) strtol(argv[1], &end, 0);
    if (*end != '\0' || end == argv[1])
        return -1;
    *max = (int) strtol(argv[2], &end, 10);
    if (*end != '\0' || end == argv[2] || *max < 0)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    key_t key;
    int max;

    if (parse_args(argc, argv, &key, &max) < 0) {
        fprintf(stderr, "usage: shm_client KEY MAX\n");
        return 2;
    }

    /* size 0 and no IPC_CREAT: only look the segment up, never create one */
    int shm = shmget(key, 0, 0);
    if (shm < 0) {
        if (errno == ENOENT)
            fprintf(stderr, "shm_client: no segment for key 0x%08x (is the server running?)\n",
                    (unsigned) key);
        else
            perror("shmget");
        return 1;
    }

    volatile int *val = (volatile int *) shmat(shm, NULL, 0);
    if (val == (void *) -1) {
        perror("shmat");
        return 1;
    }

    int last_val = -1;
    while (1) {
        int cur = val[1]; /* read once: the server may bump it between two reads */
        if (cur != last_val) {
            printf("Val is %d max is %d\n", cur, max);
            last_val = cur;

            /* Stop condition */
            if (max <= cur) {
                val[0] = 0;
                break;
            }
        } else {
            usleep(1000);
        }
    }

    /* Unmap segment */
    shmdt((const void *) val);
    return 0;
}
