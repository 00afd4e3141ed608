/*
 * psem_alt /NAME [ROUNDS] [HOLD_MS] -- the slides' SysV semaphore alternation ported to a
 * POSIX named semaphore.
 *
 * How the child learns that the parent is done: TODO, your design, in a sentence or two
 * (see the README: sem_unlink wakes nobody). The command line and the lines are done in
 * common.c (see common.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

int main(int argc, char **argv)
{
    const char *name;
    long rounds, hold_ms;

    if (parse_alt_args(argc, argv, &name, &rounds, &hold_ms) != 0)
        return 2;

    /* TODO: the whole program. Make a new named semaphore NAME of value 1, mode 0600
     * (an existing one is an error), then fork. The parent, ROUNDS times: take the
     * semaphore, print_parent_holding(), hold it HOLD_MS ms (sleep_ms), give it back,
     * sleep HOLD_MS (the child's turn). The child, until it learns that the parent is
     * done: take, print_child_holding(), hold, give back, sleep HOLD_MS (the parent's
     * turn: sem_post hands the semaphore to nobody, and a child that asks again at once
     * takes it back and starves the parent); then print_child_done() and _exit(0). The parent then waits for
     * the child, closes the semaphore and removes its name (/dev/shm/sem.NAME). Removing
     * the name wakes no one and stops nothing: you need another way to tell the child
     * the parent is done; say which in the comment at the top. See sem_open(3),
     * sem_wait(3), sem_post(3), sem_close(3), sem_unlink(3), sem_overview(7). */
    NOT_IMPLEMENTED();
    return 0;
}
