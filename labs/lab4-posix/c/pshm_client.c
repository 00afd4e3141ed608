/*
 * pshm_client /NAME MAX -- the slides' SysV shm client ported to POSIX shared memory.
 *
 * Prints the counter val[1] on every change and clears the run flag val[0] at MAX. The
 * command line and the messages are done in common.c (see common.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

int main(int argc, char **argv)
{
    const char *name;
    long max;

    if (parse_client_args(argc, argv, &name, &max) != 0)
        return 2;

    volatile int *val = NULL;

    /* TODO: open the server's object NAME read-write, and never create one: when there is
     * none the call fails with errno ENOENT, and `return say_no_server(name);`. An object
     * smaller than SHM_SIZE is one the server has not sized yet (touching it would kill
     * you with SIGBUS): `return say_not_ready(name);`. Then map it shared and writable
     * (val points to its two ints; on failure `return say_errno("mmap", name);`); the
     * descriptor is not needed once mapped. See shm_open(3), fstat(2), mmap(2). */
    NOT_IMPLEMENTED();

    int last_val = -1;
    while (1) {
        int now = val[1];
        if (now != last_val) {
            print_value(now, max);
            last_val = now;
            if (max <= now) {
                val[0] = 0; /* stops the server */
                break;
            }
        } else {
            sleep_ms(1);
        }
    }

    /* TODO: unmap the object (the server removes it). See munmap(2). */
    NOT_IMPLEMENTED();
    return 0;
}
