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

    /* No O_CREAT: the server owns the object; without it there is nothing to read. */
    int fd = shm_open(name, O_RDWR, 0);
    if (fd < 0)
        return say_no_server(name);
    struct stat st;
    if (fstat(fd, &st) < 0 || (size_t)st.st_size < SHM_SIZE)
        return say_not_ready(name);
    volatile int *val = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (val == MAP_FAILED)
        return say_errno("mmap", name);
    close(fd);

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

    munmap((void *)val, SHM_SIZE);
    return 0;
}
