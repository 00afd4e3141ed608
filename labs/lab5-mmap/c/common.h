/*
 * common.h -- lab 5 (mmap_sort, xfer_a, xfer_b): what the programs need beyond the
 * course's support library (support.h: die, die_errno, ...): the command lines, the data
 * A sends, the checksum B prints, creating, publishing and finding the window file, the
 * pacing the grader asks for. Written for you; your work is in mmap_sort.c, xfer_a.c,
 * xfer_b.c and xfer.h.
 */
#ifndef MMAP_COMMON_H
#define MMAP_COMMON_H

#include <stdint.h>

#include "support.h"

/* One mebibyte (the unit of the MB arguments). */
#define MIB (1024 * 1024)
/* Size of the window file: 1 MiB, whatever header it holds included. */
#define WINDOW_BYTES MIB
/* Data moves in chunks of 64 KiB; DELAY_US is slept once per chunk. */
#define CHUNK_BYTES (64 * 1024)

/* The command lines; each prints the usage and exits 2 when they are wrong. */
void parse_sort_args(int argc, char **argv, const char **path);
void parse_xfer_a_args(int argc, char **argv, const char **path, size_t *bytes,
                       uint64_t *seed, long *delay_us);
void parse_xfer_b_args(int argc, char **argv, const char **path, size_t *bytes,
                       long *delay_us);

/* Process A's memory: `bytes` bytes (a multiple of 4), the ints of `seed` drawn as the
 * grader draws them (splitmix64, low 32 bits). Exits on failure. */
unsigned char *data_from_seed(uint64_t seed, size_t bytes);

/* FNV-1a 64 of the bytes B receives, fed chunk by chunk. */
typedef uint64_t fnv1a64;
fnv1a64 fnv1a64_start(void);
fnv1a64 fnv1a64_update(fnv1a64 sum, const unsigned char *bytes, size_t len);

/* A: creates PATH.tmp (mode 0600) of WINDOW_BYTES zero bytes and returns it open
 * read-write; its name goes into tmp (tmp_size bytes). Initialise what lives in the
 * window, then publish_window. Exits on failure. */
int create_window(const char *path, char *tmp, size_t tmp_size);
/* A: renames tmp to path, so B sees the window appear at once, fully initialised. */
void publish_window(const char *tmp, const char *path);
/* B: opens path read-write, waiting up to 5 s for A to publish it. Exits on failure. */
int open_window(const char *path);

/* Sleeps delay_us µs (nothing for 0): once per chunk, after handing it over. */
void pace(long delay_us);

/* "sent <bytes> bytes" and "received <bytes> bytes fnv1a64=<16 hex digits>", stdout. */
void print_sent(size_t bytes);
void print_received(size_t bytes, fnv1a64 sum);

#endif
