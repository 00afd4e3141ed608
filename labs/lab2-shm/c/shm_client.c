/*
 * shm_client KEY MAX -- the slides' SHM client (AISE, "Les Segments SHM"), with the key
 * and the stop value as parameters.
 *
 * Attaches the server's segment, prints "Val is N max is MAX" each time val[1] changes and
 * clears the run flag val[0] once val[1] reaches MAX, then detaches. The command line and
 * the messages are done in common.c (see common.h).
 */
#include <sys/ipc.h>
#include <sys/shm.h>

#include <errno.h>
#include <stdio.h>

#include "common.h"

int main(int argc, char **argv)
{
    key_t key;
    int max;

    if (parse_client_args(argc, argv, &key, &max) != 0)
        return 2;

    int shm = -1;

    /* TODO: find the segment the server made for KEY, and never create one: when there is
     * none the call fails with errno ENOENT (say_no_segment then tells the user to start
     * the server). See shmget(2): which size and flags only look a segment up? */
    NOT_IMPLEMENTED();
    if (shm < 0)
        return errno == ENOENT ? say_no_segment(key) : say_errno("shmget", NULL);

    volatile int *val = NULL;

    /* TODO: map the segment into this process (val points to its two ints); on failure
     * `return say_errno("shmat", NULL);` (the error value is not NULL). See shmat(2). */
    NOT_IMPLEMENTED();

    int last_val = -1;
    while (1) {
        int cur = val[1]; /* read once: the server may bump it between two reads */
        if (cur != last_val) {
            print_value(cur, max);
            last_val = cur;

            /* Stop condition */
            if (max <= cur) {
                val[0] = 0;
                break;
            }
        } else {
            sleep_ms(1);
        }
    }

    /* TODO: unmap the segment from this process (the server removes it). See shmdt(2). */
    NOT_IMPLEMENTED();
    return 0;
}
