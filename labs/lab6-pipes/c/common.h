/*
 * common.h -- lab 6 (redir_ls, pipe_tac, minishell): what the programs need beyond the
 * course's support library (support.h: say_errno, die, ...): the shell's parser,
 * pipe_tac's text, minishell's message. Written for you; your work is in redir_ls.c,
 * pipe_tac.c and minishell.c.
 */
#ifndef PIPES_COMMON_H
#define PIPES_COMMON_H

#include "support.h"

/* One command of a pipeline: its words and its redirections. */
struct cmd {
    char **argv; /* NULL-terminated, argv[0] is the program */
    int argc;
    char *in;    /* `< FILE`, or NULL */
    char *out;   /* `> FILE` or `>> FILE`, or NULL */
    int append;  /* 1 for `>>` */
};

/* Splits a line (changed in place) into the commands of a pipeline `a | b | c`, with
 * their `<`, `>`, `>>`. Words are separated by blanks; no quoting. Returns how many
 * commands (0 for a blank line, -1 after a syntax error message) and, when > 0, the
 * commands in *cmds (free them with free_pipeline). */
int parse_line(char *line, struct cmd **cmds);
void free_pipeline(struct cmd *cmds);

/* "w1 w2 ... wn " (every word followed by one space); exits on lack of memory. */
char *join_words(int n, char **words);

/* minishell, in a child whose execvp failed: "minishell: CMD: command not found" when
 * errno is ENOENT, "minishell: CMD: strerror(errno)" otherwise. */
void say_exec_failed(const char *cmd);

#endif
