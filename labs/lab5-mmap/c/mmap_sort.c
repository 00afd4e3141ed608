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

/* Maps the whole file, sorts it in the mapping, flushes it to the file, unmaps it. 0, or
 * -1 after a message. */
static int sort_file(int fd, size_t size)
{
    /* TODO: sort the SIZE / sizeof(int) ints of the file in place, in memory that *is*
     * the file: map all of it, readable, writable and shared (a private mapping is a
     * copy the file never sees), sort the ints there in ascending signed order (qsort(3)
     * with a comparator that cannot overflow: not x - y), make sure the file holds the
     * result before you unmap it, and unmap it. Never read(2) or write(2) the data, and
     * print nothing. On a failure: perror, return -1. See mmap(2), msync(2), munmap(2). */
    NOT_IMPLEMENTED();
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
