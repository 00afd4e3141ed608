/* xfer.h: what xfer_a and xfer_b agree on. The 1 MiB window file holds a page of header
 * (two process-shared semaphores) then a ring of 64 KiB slots. free_slots counts the slots
 * B has emptied (A waits on it before filling one), full_slots the slots A has filled
 * (B waits on it before reading one): a bounded buffer, so neither side's speed matters. */
#ifndef XFER_H
#define XFER_H

#include <errno.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common.h"

#define HEADER_BYTES 4096
#define SLOTS ((WINDOW_BYTES - HEADER_BYTES) / CHUNK_BYTES)

struct header {
    sem_t free_slots;
    sem_t full_slots;
};

/* Slot i of the ring (i counts chunks; slots are reused modulo SLOTS). */
static inline unsigned char *slot(void *window, size_t i)
{
    return (unsigned char *)window + HEADER_BYTES + (i % SLOTS) * CHUNK_BYTES;
}

/* P: waits until the semaphore is positive and decrements it. */
static inline void take(sem_t *s)
{
    while (sem_wait(s) == -1) {
        if (errno != EINTR)
            die_errno("sem_wait");
    }
}

/* V: increments the semaphore, waking a waiter. */
static inline void give(sem_t *s)
{
    if (sem_post(s) == -1)
        die_errno("sem_post");
}

/* Maps the whole window file, shared, read-write. */
static inline void *map_window(int fd)
{
    void *w = mmap(NULL, WINDOW_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (w == MAP_FAILED)
        die_errno("mmap");
    return w;
}

#endif
