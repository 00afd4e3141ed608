/*
 * pshm_server NAME TICK_MS -- the slides' SysV shm server ported to POSIX shared memory.
 *
 * val[0] is the run flag (the client clears it), val[1] the counter bumped every TICK_MS.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SHM_SIZE (2 * sizeof(int))
#define SHM_MODE 0600 /* only the owner may read or stop the counter */

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

/* A stale object (left by a crashed run) is removed once, then created anew. */
static int create_object(const char *name)
{
    int fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, SHM_MODE);
    if (fd < 0 && errno == EEXIST) {
        fprintf(stderr, "pshm_server: removing stale %s\n", name);
        if (shm_unlink(name) < 0) {
            perror("shm_unlink");
            return -1;
        }
        fd = shm_open(name, O_CREAT | O_EXCL | O_RDWR, SHM_MODE);
    }
    if (fd < 0)
        fprintf(stderr, "pshm_server: shm_open %s: %s\n", name, strerror(errno));
    return fd;
}

int main(int argc, char **argv)
{
    long tick_ms;
    if (argc != 3 || argv[1][0] != '/' || parse_number(argv[2], 1, 3600000, &tick_ms) < 0) {
        fprintf(stderr, "usage: pshm_server /NAME TICK_MS\n");
        return 2;
    }
    const char *name = argv[1];

    int fd = create_object(name);
    if (fd < 0)
        return 1;
    /* A new object is empty: give it its size before anyone maps it. */
    if (ftruncate(fd, SHM_SIZE) < 0) {
        perror("ftruncate");
        shm_unlink(name);
        return 1;
    }
    volatile int *val = mmap(NULL, SHM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (val == MAP_FAILED) {
        perror("mmap");
        shm_unlink(name);
        return 1;
    }
    close(fd); /* the mapping keeps the object alive */

    val[0] = 1;
    val[1] = 0;
    printf("ready\n");
    fflush(stdout);

    while (val[0]) {
        usleep((useconds_t)tick_ms * 1000);
        val[1]++;
    }

    munmap((void *)val, SHM_SIZE);
    if (shm_unlink(name) < 0) {
        perror("shm_unlink");
        return 1;
    }
    return 0;
}
