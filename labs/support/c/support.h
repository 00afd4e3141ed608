/*
 * support.h -- the course's support library, shared by every C lab: numbers and keys
 * from the command line, the usage and error messages, sleeping and timing, the slides'
 * pingpong line, and what an unfinished TODO does. Nothing here is about IPC: each lab's
 * common.h includes this file and adds what only that lab needs.
 *
 * Written for you. The grader builds every submission with the course's own copy of this
 * directory (`make SUPPORT=...`), so editing it changes nothing in your grade.
 */
#ifndef COURSE_SUPPORT_H
#define COURSE_SUPPORT_H

#include <stddef.h>
#include <sys/types.h>

/* ints in one pingpong message (the slides' SIZE): 64 bytes */
#define PING_INTS 16
/* messages of a pingpong without COUNT (the slides' NUM_MSG) */
#define DEFAULT_PING_COUNT 65536

/* ---- the command line ----------------------------------------------------------- */

/* A number in decimal, or in hex after 0x ("010" is ten: never octal). 0, or -1. */
int parse_long(const char *s, long *out);
/* parse_long, and the number in [min, max]. 0, or -1. */
int parse_in(const char *s, long min, long max, long *out);
/* A System V key: decimal or 0x-hex, any 32-bit pattern (ftok keys may have the top bit
 * set). 0, or -1. */
int parse_key(const char *s, key_t *key);
/* "usage: TEXT" on stderr; returns -1, so that a parser can `return usage_error(...);`. */
int usage_error(const char *text);

/* ---- messages, on stderr, each prefixed with the program's name ------------------- */

/* "PROGRAM: CALL ARG: strerror(errno)" (no " ARG" when arg is NULL), perror-style;
 * returns 1, the exit status of a failed call: `return say_errno("msgget", NULL);`. */
int say_errno(const char *call, const char *arg);
/* "PROGRAM: WHAT: strerror(errno)", then exit(1). */
void die_errno(const char *what) __attribute__((noreturn));
/* "PROGRAM: WHAT: WHY", then exit(1). */
void die(const char *what, const char *why) __attribute__((noreturn));

/* ---- output ---------------------------------------------------------------------- */

/* TEXT and a newline on stdout, flushed (a line another process waits for). */
void print_line(const char *text);

/* ---- time ------------------------------------------------------------------------ */

/* Sleeps `ms` milliseconds, `us` microseconds (nothing for 0), through signals;
 * async-signal-safe: fine in a forked child. */
void sleep_ms(long ms);
void sleep_us(long us);
/* Seconds since the epoch, with microseconds (the slides' get_time). */
double get_time(void);
/* The slides' result line, on stderr: "Pingpong takes %g usec Bandwidth is %g MB/s : "
 * for `count` messages of PING_INTS ints that took `total_time` seconds to send. */
void print_pingpong_line(long count, double total_time);

/* ---- your TODOs ------------------------------------------------------------------ */

/* What an untouched TODO does: says which function is not written yet, and exits 1. */
#define NOT_IMPLEMENTED() not_implemented(__FILE__, __func__)
void not_implemented(const char *file, const char *function) __attribute__((noreturn));

#endif
