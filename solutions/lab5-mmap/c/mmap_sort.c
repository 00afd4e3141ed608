/* mmap_sort FILE: sorts a file of native-endian ints in place, in a shared mapping.
 * Prints nothing on success. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int compare_ints(const void *a, const void *b)
{
    int x = *(const int *)a;
    int y = *(const int *)b;
    return (x > y) - (x < y); /* x - y would overflow for far-apart ints */
}

/* Maps the whole file, sorts it in the mapping, flushes it to the file, unmaps it. */
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
    if (argc != 2) {
        fprintf(stderr, "usage: mmap_sort FILE\n");
        return 2;
    }
    int fd = open(argv[1], O_RDWR);
    if (fd == -1) {
        perror(argv[1]);
        return 1;
    }
    struct stat st;
    if (fstat(fd, &st) == -1) {
        perror("fstat");
        return 1;
    }
    if (st.st_size % sizeof(int) != 0) {
        fprintf(stderr, "mmap_sort: %s: size %lld is not a multiple of %zu\n", argv[1],
                (long long)st.st_size, sizeof(int));
        return 1;
    }
    /* An empty file has nothing to sort (and mmap refuses a zero length). */
    if (st.st_size > 0 && sort_file(fd, st.st_size) == -1)
        return 1;
    close(fd);
    return 0;
}
