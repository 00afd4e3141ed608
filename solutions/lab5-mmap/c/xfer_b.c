/* xfer_b FILE MB [DELAY_US]: process B. Receives MB MiB from process A through the 1 MiB
 * window file FILE and prints their FNV-1a 64 checksum. */
#include <fcntl.h>
#include <stdint.h>
#include "xfer.h"

/* Opens the window, waiting up to 5 s for A to publish it. Polling is fine for this
 * one-time rendezvous; the data itself is synchronised by the semaphores. */
static int open_window(const char *path)
{
    for (int tries = 0; tries < 1000; tries++) {
        int fd = open(path, O_RDWR);
        if (fd != -1 || errno != ENOENT)
            return fd;
        usleep(5000);
    }
    errno = ENOENT;
    return -1;
}

int main(int argc, char **argv)
{
    if (argc < 3 || argc > 4) {
        fprintf(stderr, "usage: xfer_b FILE MB [DELAY_US]\n");
        return 2;
    }
    size_t total = strtoul(argv[2], NULL, 10) * MIB;
    long delay_us = argc == 4 ? strtol(argv[3], NULL, 10) : 0;
    int fd = open_window(argv[1]);
    if (fd == -1) {
        perror(argv[1]);
        return 1;
    }
    void *w = map_window(fd);
    close(fd);
    struct header *h = w;
    uint64_t sum = 0xcbf29ce484222325ULL;
    for (size_t off = 0, i = 0; off < total; off += CHUNK_BYTES, i++) {
        size_t len = total - off < CHUNK_BYTES ? total - off : CHUNK_BYTES;
        take(&h->full_slots);
        const unsigned char *s = slot(w, i);
        for (size_t k = 0; k < len; k++)
            sum = (sum ^ s[k]) * 0x100000001b3ULL;
        give(&h->free_slots);
        pace(delay_us);
    }
    munmap(w, WINDOW_BYTES);
    printf("received %zu bytes fnv1a64=%016llx\n", total, (unsigned long long)sum);
    return 0;
}
