/*
 * pshm_server /NAME TICK_MS -- the slides' SysV shm server ported to POSIX shared memory.
 *
 * val[0] is the run flag (the client clears it), val[1] the counter bumped every TICK_MS.
 * The command line and the messages are done in common.c (see common.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"

#define SHM_MODE 0600 /* only the owner may read or stop the counter */

/* A new object NAME, open read-write: a stale one (left by a crashed run) is removed once,
 * then created anew. Its descriptor, or -1 after a message. */
static int create_object(const char *name)
{
    /* TODO: create the object NAME, readable and writable, mode SHM_MODE, and make sure it
     * is a new one: creating must fail when the name is taken. A taken name means a
     * server died before removing its object (it would keep its old size and mode):
     * announce it with say_stale(name), remove the name, and create afresh, once. Return
     * the descriptor, or -1 after say_errno. See shm_open(3) (O_CREAT, O_EXCL, EEXIST)
     * and shm_unlink(3). */
    NOT_IMPLEMENTED();
}

int main(int argc, char **argv)
{
    const char *name;
    long tick_ms;

    if (parse_server_args(argc, argv, &name, &tick_ms) != 0)
        return 2;

    int fd = create_object(name);
    if (fd < 0)
        return 1;
    volatile int *val = NULL;

    /* TODO: a new object is empty (0 bytes): give it its SHM_SIZE bytes, then map it
     * shared and writable (val points to its two ints), so that the client's changes
     * reach you. On a failure: say_errno, remove the name, return 1. The descriptor is
     * not needed once mapped. See ftruncate(2), mmap(2) (MAP_SHARED; the error value is
     * MAP_FAILED). */
    NOT_IMPLEMENTED();

    val[0] = 1;
    val[1] = 0;
    print_ready();

    while (val[0]) {
        sleep_ms(tick_ms);
        val[1]++;
    }

    /* TODO: unmap the object, then remove its name: a POSIX object outlives every
     * process until then (see `ls /dev/shm`). See munmap(2), shm_unlink(3). */
    NOT_IMPLEMENTED();
    return 0;
}
