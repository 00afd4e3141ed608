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
    /* TODO: map the window shared and writable, and lay it out as you chose in xfer.h
     * (e.g. a header that holds the synchronisation, then slots of CHUNK_BYTES). Get the
     * header ready, and only then publish_window(tmp, path) so that B can open it. Then,
     * for each chunk of CHUNK_BYTES of data, in order: wait until there is a slot B has
     * emptied, copy the chunk into it, tell B it is full, then pace(delay_us). Unmap the
     * window at the end. Sleeping is not synchronising: the grader makes A the slow side
     * in one run and B in another. See mmap(2), sem_init(3) (pshared), sem_wait(3),
     * sem_post(3). */
    NOT_IMPLEMENTED();
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
