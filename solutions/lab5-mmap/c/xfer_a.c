/* xfer_a FILE MB SEED [DELAY_US]: process A. Sends MB MiB of its memory (the ints of SEED)
 * to process B through the 1 MiB window file FILE, 64 KiB at a time. */
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include "xfer.h"

/* splitmix64, low 32 bits: the grader's generator, so it can check what B receives. */
static unsigned char *make_data(uint64_t seed, size_t bytes)
{
    int *ints = malloc(bytes);
    if (ints == NULL) {
        perror("malloc");
        exit(1);
    }
    uint64_t state = seed;
    for (size_t i = 0; i < bytes / sizeof(int); i++) {
        state += 0x9E3779B97F4A7C15ULL;
        uint64_t z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        ints[i] = (int)(uint32_t)(z ^ (z >> 31));
    }
    return (unsigned char *)ints;
}

/* Creates FILE.tmp with the semaphores ready, then renames it to FILE: B never sees a
 * half-initialised window. */
static void *create_window(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_CREAT | O_RDWR | O_TRUNC, 0600);
    if (fd == -1 || ftruncate(fd, WINDOW_BYTES) == -1) {
        perror(tmp);
        exit(1);
    }
    void *w = map_window(fd);
    close(fd); /* the mapping stays */
    struct header *h = w;
    if (sem_init(&h->free_slots, 1, SLOTS) == -1 || sem_init(&h->full_slots, 1, 0) == -1) {
        perror("sem_init");
        exit(1);
    }
    if (rename(tmp, path) == -1) {
        perror("rename");
        exit(1);
    }
    return w;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: xfer_a FILE MB SEED [DELAY_US]\n");
        return 2;
    }
    size_t total = strtoul(argv[2], NULL, 10) * MIB;
    uint64_t seed = strtoull(argv[3], NULL, 10);
    long delay_us = argc == 5 ? strtol(argv[4], NULL, 10) : 0;
    unsigned char *data = make_data(seed, total);
    void *w = create_window(argv[1]);
    struct header *h = w;
    for (size_t off = 0, i = 0; off < total; off += CHUNK_BYTES, i++) {
        size_t len = total - off < CHUNK_BYTES ? total - off : CHUNK_BYTES;
        take(&h->free_slots);
        memcpy(slot(w, i), data + off, len);
        give(&h->full_slots);
        pace(delay_us);
    }
    munmap(w, WINDOW_BYTES);
    free(data);
    printf("sent %zu bytes\n", total);
    return 0;
}
