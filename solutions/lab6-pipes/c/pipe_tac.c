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

/* Forks a child that runs args with `from` as fd `to`; both pipe ends closed in it. */
static pid_t spawn(char **args, int pp[2], int from, int to)
{
    pid_t pid = fork();
    if (pid == -1) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        if (dup2(from, to) == -1) {
            perror("dup2");
            _exit(1);
        }
        /* The copies made by pipe() are not needed any more: an open write end left in
         * the reader would keep tac from ever seeing end-of-file. */
        close(pp[0]);
        close(pp[1]);
        execvp(args[0], args);
        perror(args[0]);
        _exit(127);
    }
    return pid;
}

/* Runs `writer | reader` and waits for both. 0, or -1 after a message. */
static int pipe_through(char **writer_args, char **reader_args)
{
    int pp[2];
    if (pipe(pp) == -1) {
        perror("pipe");
        return -1;
    }
    pid_t writer = spawn(writer_args, pp, pp[1], STDOUT_FILENO);
    pid_t reader = spawn(reader_args, pp, pp[0], STDIN_FILENO);
    /* The parent uses neither end: close both, or tac waits for us forever. */
    close(pp[0]);
    close(pp[1]);
    if (waitpid(writer, NULL, 0) == -1 || waitpid(reader, NULL, 0) == -1) {
        perror("waitpid");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    char *text = argc > 1 ? join_words(argc - 1, argv + 1) : "Salut Tout Le Monde ";
    char *writer_args[] = {"printf", "%s", text, NULL};
    char *reader_args[] = {"tac", "-s", " ", NULL};

    return pipe_through(writer_args, reader_args) == 0 ? 0 : 1;
}
