/*
 * common.h -- lab 6 (redir_ls, pipe_tac, minishell): everything around the lesson: the
 * shell's parser, pipe_tac's text, messages. Written for you; your work is in redir_ls.c,
 * pipe_tac.c and minishell.c.
 */
#ifndef PIPES_COMMON_H
#define PIPES_COMMON_H

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

/* "PROGRAM: WHAT: strerror(errno)" on stderr. */
void say_errno(const char *what);
/* minishell, in a child whose execvp failed: "minishell: CMD: command not found" when
 * errno is ENOENT, "minishell: CMD: strerror(errno)" otherwise. */
void say_exec_failed(const char *cmd);

/* What an untouched TODO does: says which function is not written yet, and exits 1. */
#define NOT_IMPLEMENTED() not_implemented(__FILE__, __func__)
void not_implemented(const char *file, const char *function) __attribute__((noreturn));

#endif
