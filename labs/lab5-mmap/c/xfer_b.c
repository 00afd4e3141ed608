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
    /* TODO: map the window shared and writable, with the layout of xfer.h. For each chunk
     * of CHUNK_BYTES, in order: wait until A has filled the next slot, feed it to the
     * checksum (sum = fnv1a64_update(sum, bytes, len), starting from fnv1a64_start()),
     * give the slot back to A, then pace(delay_us). Unmap the window at the end and
     * return the checksum. See mmap(2), sem_wait(3), sem_post(3). */
    NOT_IMPLEMENTED();
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
