/*
 * common.h -- lab 2 (shm_server, shm_client): what the two programs need beyond the
 * course's support library (support.h: say_errno, sleep_ms, ...): their command lines
 * and the contract's lines. Written for you; your work is in shm_server.c and
 * shm_client.c.
 */
#ifndef SHM_COMMON_H
#define SHM_COMMON_H

#include "support.h"

/* The segment: two ints. val[0] is the run flag (the server counts while it is not 0; the
 * client sets it to 0 to stop it), val[1] the counter (the server adds 1 every tick). */
#define SEGMENT_SIZE (2 * sizeof(int))

/* shm_server KEY TICK_MS: 0, or -1 after the usage message (exit 2 then). */
int parse_server_args(int argc, char **argv, key_t *key, long *tick_ms);
/* shm_client KEY MAX: 0, or -1 after the usage message (exit 2 then). */
int parse_client_args(int argc, char **argv, key_t *key, int *max);

/* "Val is N max is MAX" on stdout, flushed. */
void print_value(int value, int max);

/* The contract's messages, on stderr. Each returns the exit status to leave with. */
void say_stale(key_t key);      /* "shm_server: removing stale segment for key 0x…" */
int say_no_segment(key_t key);  /* "shm_client: no segment for key 0x… (is the server running?)" */

#endif
