/*
 * common.h -- lab 4 (mq_pingpong, pshm_server, pshm_client, psem_alt): what the programs
 * need beyond the course's support library (support.h: get_time, the pingpong line,
 * say_errno, sleep_ms, ...): their command lines and the contract's lines and messages.
 * Written for you; your work is in the four programs' .c files.
 */
#ifndef POSIX_COMMON_H
#define POSIX_COMMON_H

#include "support.h"

/* A pingpong message is PING_INTS ints: 64 bytes (mq_msgsize). */
/* most messages a pingpong queue holds (mq_maxmsg) */
#define PING_MAXMSG 10
/* the shared-memory object: two ints, val[0] the run flag, val[1] the counter */
#define SHM_SIZE (2 * sizeof(int))

/* The command lines; each returns 0, or -1 after the usage message (exit 2 then). A NAME
 * is "/" and 1 to 200 characters without "/". */
int parse_pingpong_args(int argc, char **argv, const char **name, long *count);
int parse_server_args(int argc, char **argv, const char **name, long *tick_ms);
int parse_client_args(int argc, char **argv, const char **name, long *max);
int parse_alt_args(int argc, char **argv, const char **name, long *rounds, long *hold_ms);

/* "NAME" + suffix into buf (mq_pingpong's NAME.req and NAME.rep). */
void name_with_suffix(char *buf, size_t size, const char *name, const char *suffix);

/* "messages: COUNT" on stdout. */
void print_message_count(long count);

/* pshm: "ready" and "Val is N max is MAX" on stdout, flushed. */
void print_ready(void);
void print_value(int value, long max);
/* pshm_server: "pshm_server: removing stale NAME" on stderr. */
void say_stale(const char *name);
/* pshm_client: "pshm_client: shm_open NAME: strerror(errno) (is pshm_server running?)";
 * returns 1, the exit status. */
int say_no_server(const char *name);
/* pshm_client: "pshm_client: NAME is not sized yet (server not ready)"; returns 1. */
int say_not_ready(const char *name);

/* psem_alt's lines, on stdout, flushed. */
void print_parent_holding(void); /* "PARENT holding the sem" */
void print_child_holding(void);  /* "CHILD holding the sem" */
void print_child_done(void);     /* "Child: parent done" */

#endif
