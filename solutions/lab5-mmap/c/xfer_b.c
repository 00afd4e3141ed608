/* xfer_b FILE MB [DELAY_US]: process B. Receives MB MiB from process A through the 1 MiB
 * window file FILE, 64 KiB at a time, sleeping DELAY_US µs after consuming each chunk,
 * and prints their FNV-1a 64 checksum. The command line, finding the window and the
 * checksum are done in common.c (see common.h). */
#include <sys/mman.h>
#include <unistd.h>

#include "xfer.h"

/* Receives `total` bytes from A through the window `fd` (already initialised by A),
 * feeding each chunk, in order, to the checksum; returns it. */
static fnv1a64 receive_data(int fd, size_t total, long delay_us)
{
    void *w = map_window(fd);
    struct header *h = w;
    fnv1a64 sum = fnv1a64_start();
    for (size_t off = 0, i = 0; off < total; off += CHUNK_BYTES, i++) {
        size_t len = total - off < CHUNK_BYTES ? total - off : CHUNK_BYTES;
        take(&h->full_slots);
        sum = fnv1a64_update(sum, slot(w, i), len);
        give(&h->free_slots);
        pace(delay_us);
    }
    munmap(w, WINDOW_BYTES);
    return sum;
}

int main(int argc, char **argv)
{
    const char *path;
    size_t total;
    long delay_us;

    parse_xfer_b_args(argc, argv, &path, &total, &delay_us);
    int fd = open_window(path);
    fnv1a64 sum = receive_data(fd, total, delay_us);
    close(fd);
    print_received(total, sum);
    return 0;
}
