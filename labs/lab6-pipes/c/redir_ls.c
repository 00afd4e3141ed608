/* redir_ls: the shell's `ls -la > out.dat` by hand (slides "Redirection de sortie dans un
 * fichier"): a child opens ./out.dat (mode 0600), puts it in place of its standard output
 * with dup2, and becomes `ls -la`; the parent waits for it. */
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

/* Runs `args` in a child whose standard output is the file `path`, and waits for it. 0,
 * or -1 after a message. */
static int run_into_file(char **args, const char *path)
{
    /* TODO: run ARGS in a child process whose standard output is the file PATH (created
     * if missing, emptied if not, mode 0600: readable by you only), and wait for it. The
     * child arranges its descriptors before becoming the program, which inherits them;
     * it keeps no descriptor the program does not need. If the program cannot be
     * started, the child says so (perror) and _exit(127)s: it must never return into
     * main. On a failure in the parent: perror, return -1. See fork(2), open(2) (the
     * mode argument), dup2(2), close(2), execvp(3), waitpid(2). */
    NOT_IMPLEMENTED();
}

int main(void)
{
    char *args[] = {"ls", "-la", NULL};

    return run_into_file(args, "./out.dat") == 0 ? 0 : 1;
}
