/* pipe_tac [WORD...]: the shell's `printf "Salut Tout Le Monde " | tac -s " "` by hand
 * (slides "Chainer deux Commandes"): one pipe, two children, each end put in place with
 * dup2. With words on the command line, they replace the slides' text (each followed by a
 * space), so tac prints them in reverse order. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

/* Runs `writer | reader` and waits for both. 0, or -1 after a message. */
static int pipe_through(char **writer_args, char **reader_args)
{
    /* TODO: run WRITER | READER: one pipe, and two children, the writer with the pipe as
     * its standard output, the reader with the pipe as its standard input; then wait for
     * both. A reader sees end-of-file only once every copy of the pipe's write end is
     * closed, in every process (the children and this one): a copy left open anywhere
     * and tac waits forever. If a program cannot be started, its child says so (perror)
     * and _exit(127)s. On a failure: perror, return -1. See pipe(2), fork(2), dup2(2),
     * close(2), execvp(3), waitpid(2). */
    NOT_IMPLEMENTED();
}

int main(int argc, char **argv)
{
    char *text = argc > 1 ? join_words(argc - 1, argv + 1) : "Salut Tout Le Monde ";
    char *writer_args[] = {"printf", "%s", text, NULL};
    char *reader_args[] = {"tac", "-s", " ", NULL};

    return pipe_through(writer_args, reader_args) == 0 ? 0 : 1;
}
