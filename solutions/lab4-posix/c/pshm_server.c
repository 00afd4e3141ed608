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
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, SHM_MODE);
    if (fd < 0 && errno == EEXIST) {
        say_stale(name);
        if (shm_unlink(name) < 0) {
            say_errno("shm_unlink", name);
            return -1;
        }
        fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, SHM_MODE);
    }
    if (fd < 0)
        say_errno("shm_open", name);
    return fd;
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
    /* A new object is empty: give it its size before anyone maps it. */
    if (ftruncate(fd, SHM_SIZE) < 0) {
        say_errno("ftruncate", name);
        shm_unlink(name);
        return 1;
    }
    volatile int *val = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (val == MAP_FAILED) {
        say_errno("mmap", name);
        shm_unlink(name);
        return 1;
    }
    close(fd); /* the mapping keeps the object alive */

    val[0] = 1;
    val[1] = 0;
    print_ready();

    while (val[0]) {
        sleep_ms(tick_ms);
        val[1]++;
    }

    munmap((void *)val, SHM_SIZE);
    if (shm_unlink(name) < 0)
        return say_errno("shm_unlink", name);
    return 0;
}
