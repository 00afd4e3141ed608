/* xfer_a FILE MB SEED [DELAY_US]: process A. Sends MB MiB of its memory (the ints of SEED)
 * to process B through the 1 MiB window file FILE, 64 KiB at a time, sleeping DELAY_US µs
 * after handing over each chunk. Prints "sent <bytes> bytes". The command line, the data
 * and the window file's creation are done in common.c (see common.h). */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xfer.h"

/* Moves `total` bytes of `data` to B through the window `fd` (WINDOW_BYTES long, still
 * named `tmp`: publish it as `path` once its header is ready). */
static void send_data(int fd, const char *tmp, const char *path, const unsigned char *data,
                      size_t total, long delay_us)
{
    void *w = map_window(fd);
    struct header *h = w;
    if (sem_init(&h->free_slots, 1, SLOTS) == -1 || sem_init(&h->full_slots, 1, 0) == -1)
        die_errno("sem_init");
    /* Only now may B see the window: its semaphores are ready. */
    publish_window(tmp, path);
    for (size_t off = 0, i = 0; off < total; off += CHUNK_BYTES, i++) {
        size_t len = total - off < CHUNK_BYTES ? total - off : CHUNK_BYTES;
        take(&h->free_slots);
        memcpy(slot(w, i), data + off, len);
        give(&h->full_slots);
        pace(delay_us);
    }
    munmap(w, WINDOW_BYTES);
}

int main(int argc, char **argv)
{
    const char *path;
    size_t total;
    uint64_t seed;
    long delay_us;
    char tmp[4096];

    parse_xfer_a_args(argc, argv, &path, &total, &seed, &delay_us);
    unsigned char *data = data_from_seed(seed, total);
    int fd = create_window(path, tmp, sizeof(tmp));
    send_data(fd, tmp, path, data, total, delay_us);
    close(fd);
    free(data);
    print_sent(total);
    return 0;
}
