/* minishell: reads commands on stdin, one per line, and runs them with fork/execvp.
 * Supports `<`, `>`, `>>`, pipelines `a | b | c` of any length, and the builtins `cd [DIR]`
 * and `exit [N]`. A prompt is printed on stderr only when stdin is a terminal. The parser
 * is given in common.c (see common.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common.h"

/* Runs a pipeline: one pipe between each pair of neighbours, every child forked before
 * any is waited for, then every child waited for. Returns the last command's status. */
static int run_pipeline(struct cmd *cmds, int ncmd)
{
    /* TODO: run cmds[0] | cmds[1] | ... | cmds[ncmd - 1], each in a child process: each
     * command's standard output goes into the next one's standard input through a pipe,
     * and a command's own redirections win over the pipe (`< FILE` read-only; `> FILE`
     * created 0644 or emptied; `>> FILE` created 0644 or appended to, see c->append).
     * Every command starts with exactly descriptors 0, 1 and 2 open: close what you
     * put in place, and close in the shell each pipe end once the child that needs it is
     * forked (a write end left open anywhere keeps the reader waiting for end-of-file).
     * Fork every command first, then wait for every one. A command that cannot be
     * started: its child calls say_exec_failed(argv[0]) and _exit(127), and the shell
     * goes on. Return the last command's exit status. See pipe(2), fork(2), open(2),
     * dup2(2), close(2), execvp(3), waitpid(2). */
    NOT_IMPLEMENTED();
}

/* The `cd [DIR]` builtin ($HOME without DIR). */
static void builtin_cd(struct cmd *c)
{
    const char *dir = c->argc > 1 ? c->argv[1] : getenv("HOME");
    if (dir == NULL) {
        fprintf(stderr, "minishell: cd: HOME not set\n");
        return;
    }
    /* TODO: change the shell's own working directory to DIR; on failure print
     * "minishell: cd: DIR: <strerror>" on stderr. Why cd must be a builtin: a child's
     * working directory is the child's own. See chdir(2). */
    NOT_IMPLEMENTED();
}

/* Runs one line; returns 1 when the shell must exit (with *code). */
static int run_line(char *line, int *code)
{
    struct cmd *cmds;
    int ncmd = parse_line(line, &cmds);
    int quit = 0;
    if (ncmd == 1 && strcmp(cmds[0].argv[0], "exit") == 0) {
        quit = 1;
        *code = cmds[0].argc > 1 ? atoi(cmds[0].argv[1]) : 0;
    } else if (ncmd == 1 && strcmp(cmds[0].argv[0], "cd") == 0) {
        builtin_cd(&cmds[0]);
    } else if (ncmd > 0) {
        run_pipeline(cmds, ncmd);
    }
    free_pipeline(cmds);
    return quit;
}

int main(void)
{
    int interactive = isatty(STDIN_FILENO);
    char *line = NULL;
    size_t cap = 0;
    int code = 0;
    for (;;) {
        if (interactive)
            fprintf(stderr, "minishell$ ");
        if (getline(&line, &cap, stdin) == -1)
            break;
        if (run_line(line, &code))
            break;
    }
    free(line);
    return code;
}
