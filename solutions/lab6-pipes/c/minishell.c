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

/* In a child: opens FILE and puts it in place of fd `to` (and closes the extra copy). */
static void redirect(const char *file, int flags, int to)
{
    int fd = open(file, flags, 0644);
    if (fd == -1) {
        say_errno(file, NULL);
        _exit(1);
    }
    if (dup2(fd, to) == -1) {
        say_errno("dup2", NULL);
        _exit(1);
    }
    close(fd);
}

/* In a child: sets up fds 0 and 1 (pipe ends `in`/`out`, or -1 to keep them), applies
 * the redirections, and becomes the command. Never returns. */
static void child(struct cmd *c, int in, int out, int unused)
{
    if (in != -1) {
        dup2(in, STDIN_FILENO);
        close(in);
    }
    if (out != -1) {
        dup2(out, STDOUT_FILENO);
        close(out);
    }
    if (unused != -1)
        close(unused); /* the next command's read end: not ours */
    if (c->in)
        redirect(c->in, O_RDONLY, STDIN_FILENO);
    if (c->out)
        redirect(c->out, O_WRONLY | O_CREAT | (c->append ? O_APPEND : O_TRUNC), STDOUT_FILENO);
    execvp(c->argv[0], c->argv);
    say_exec_failed(c->argv[0]);
    _exit(127);
}

/* Runs a pipeline: one pipe between each pair of neighbours, every child forked before
 * any is waited for, then every child waited for. Returns the last command's status. */
static int run_pipeline(struct cmd *cmds, int ncmd)
{
    pid_t *pids = calloc(ncmd, sizeof *pids);
    if (pids == NULL) {
        say_errno("calloc", NULL);
        return 1;
    }
    int prev = -1; /* read end of the pipe from the previous command */
    int started = 0;
    for (int i = 0; i < ncmd; i++) {
        int pp[2] = {-1, -1};
        if (i + 1 < ncmd && pipe(pp) == -1) {
            say_errno("pipe", NULL);
            break;
        }
        pid_t pid = fork();
        if (pid == -1) {
            say_errno("fork", NULL);
            close(pp[0]);
            close(pp[1]);
            break;
        }
        if (pid == 0)
            child(&cmds[i], prev, pp[1], pp[0]);
        pids[started++] = pid;
        /* The parent keeps only the read end the next command needs: a write end left
         * open here would keep the reader from ever seeing end-of-file. */
        if (prev != -1)
            close(prev);
        if (pp[1] != -1)
            close(pp[1]);
        prev = pp[0];
    }
    if (prev != -1)
        close(prev);
    int status = 0;
    for (int i = 0; i < started; i++) {
        while (waitpid(pids[i], &status, 0) == -1 && errno == EINTR)
            ;
    }
    free(pids);
    if (started < ncmd)
        return 1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The `cd [DIR]` builtin ($HOME without DIR). */
static void builtin_cd(struct cmd *c)
{
    const char *dir = c->argc > 1 ? c->argv[1] : getenv("HOME");
    if (dir == NULL) {
        fprintf(stderr, "minishell: cd: HOME not set\n");
        return;
    }
    if (chdir(dir) == -1)
        fprintf(stderr, "minishell: cd: %s: %s\n", dir, strerror(errno));
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
