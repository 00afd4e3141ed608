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
    pid_t child = fork();
    if (child == -1) {
        perror("fork");
        return -1;
    }
    if (child == 0) {
        int out = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
        if (out == -1) {
            perror(path);
            _exit(1);
        }
        /* Replace stdout with the file, then drop the extra descriptor: ls needs only 1. */
        if (dup2(out, STDOUT_FILENO) == -1) {
            perror("dup2");
            _exit(1);
        }
        close(out);
        execvp(args[0], args);
        perror(args[0]);
        _exit(127);
    }
    if (waitpid(child, NULL, 0) == -1) {
        perror("waitpid");
        return -1;
    }
    return 0;
}

int main(void)
{
    char *args[] = {"ls", "-la", NULL};

    return run_into_file(args, "./out.dat") == 0 ? 0 : 1;
}
