/*
 * pshm_client NAME MAX -- the slides' SysV shm client ported to POSIX shared memory.
 *
 * Prints the counter val[1] on every change and clears the run flag val[0] at MAX.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHM_SIZE (2 * sizeof(int))

/* A decimal number in [min, max], or -1. */
static int parse_number(const char *s, long min, long max, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int main(int argc, char **argv)
{
    long max;
    if (argc != 3 || argv[1][0] != '/' || parse_number(argv[2], 0, 2147483647L, &max) < 0) {
        fprintf(stderr, "usage: pshm_client /NAME MAX\n");
        return 2;
    }
    const char *name = argv[1];

    /* No O_CREAT: the server owns the object; without it there is nothing to read. */
    int fd = shm_open(name, O_RDWR, 0);
    if (fd < 0) {
        fprintf(stderr, "pshm_client: shm_open %s: %s (is pshm_server running?)\n", name,
                strerror(errno));
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || (size_t)st.st_size < SHM_SIZE) {
        fprintf(stderr, "pshm_client: %s is not sized yet (server not ready)\n", name);
        return 1;
    }
    volatile int *val = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (val == MAP_FAILED) {
        perror("mmap");
        return 1;
    }
    close(fd);

    int last_val = -1;
    while (1) {
        int now = val[1];
        if (now != last_val) {
            printf("Val is %d max is %ld\n", now, max);
            fflush(stdout);
            last_val = now;
            if (max <= now) {
                val[0] = 0; /* stops the server */
                break;
            }
        } else {
            usleep(1000);
        }
    }

    munmap((void *)val, SHM_SIZE);
    return 0;
}
