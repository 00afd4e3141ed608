/* mmap_sort FILE: sorts a file of native-endian ints in place, in a shared mapping.
 * Prints nothing on success. The command line and the messages are done in common.c
 * (see common.h). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common.h"

static int compare_ints(const void *a, const void *b)
{
    int x = *(const int *)a;
    int y = *(const int *)b;
    return (x > y) - (x < y); /* x - y would overflow for far-apart ints */
}

/* Maps the whole file, sorts it in the mapping, flushes it to the file, unmaps it. 0, or
 * -1 after a message. */
static int sort_file(int fd, size_t size)
{
    int *ints = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (ints == MAP_FAILED) {
        perror("mmap");
        return -1;
    }
    qsort(ints, size / sizeof(int), sizeof(int), compare_ints);
    if (msync(ints, size, MS_SYNC) == -1) {
        perror("msync");
        return -1;
    }
    if (munmap(ints, size) == -1) {
        perror("munmap");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *path;

    parse_sort_args(argc, argv, &path);
    int fd = open(path, O_RDWR);
    if (fd == -1)
        die_errno(path);
    struct stat st;
    if (fstat(fd, &st) == -1)
        die_errno(path);
    if (st.st_size % sizeof(int) != 0)
        die(path, "its size is not a multiple of 4");
    /* An empty file has nothing to sort (and mmap refuses a zero length). */
    if (st.st_size > 0 && sort_file(fd, st.st_size) == -1)
        return 1;
    close(fd);
    return 0;
}
