/* xfer.h: what xfer_a and xfer_b agree on: the layout of the 1 MiB window file and the
 * synchronisation that lives in it. Both programs include it, so it is the one place to
 * describe the window. */
#ifndef XFER_H
#define XFER_H

#include "common.h"

/* TODO: your design. The window is WINDOW_BYTES long; data goes through it CHUNK_BYTES at
 * a time, in order. Describe here what A and B share: e.g. a header at the start (a
 * struct holding the synchronisation: process-shared semaphores initialised by A before
 * it publishes the window, a bounded buffer of "free" and "full" slots) followed by a ring
 * of slots, and small helpers both sides use (the address of slot i, waiting, signalling).
 * See sem_overview(7) and sem_init(3) on semaphores placed in shared memory. */

#endif
