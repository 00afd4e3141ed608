/*
 * common.c -- lab 6 (redir_ls, pipe_tac, minishell): the shell's parser, pipe_tac's text,
 * minishell's message. Written for you; it has no main: it is linked into the three
 * programs, with the course's support.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

static void *alloc(size_t n, size_t size)
{
    void *p = calloc(n, size);
    if (p == NULL)
        die_errno("calloc");
    return p;
}

/* Splits a line into words and operators (`|`, `<`, `>`, `>>`), in place: operators get
 * their own token even when glued to a word. Returns the number of tokens. */
static int tokenize(char *line, char **tokens, char *ops)
{
    int n = 0;
    char *p = line;
    while (*p) {
        if (*p == ' ' || *p == '\t' || *p == '\n') {
            *p++ = '\0';
            continue;
        }
        if (*p == '|' || *p == '<' || *p == '>') {
            ops[n] = *p;
            if (p[0] == '>' && p[1] == '>')
                ops[n] = 'a';
            tokens[n++] = NULL;
            *p = '\0';
            p += ops[n - 1] == 'a' ? 2 : 1;
            continue;
        }
        ops[n] = 0;
        tokens[n++] = p;
        while (*p && !strchr(" \t\n|<>", *p))
            p++;
    }
    return n;
}

static int syntax_error(const char *near)
{
    fprintf(stderr, "minishell: syntax error near `%s'\n", near);
    return -1;
}

/* Groups tokens into commands; returns how many, or -1 after a syntax error message. */
static int group(char **tokens, char *ops, int n, struct cmd *cmds)
{
    static const char *names[] = {['|'] = "|", ['<'] = "<", ['>'] = ">", ['a'] = ">>"};
    int ncmd = 0;
    struct cmd *c = &cmds[0];
    memset(c, 0, sizeof *c);
    c->argv = &tokens[0];
    for (int i = 0; i < n; i++) {
        if (ops[i] == 0) {
            c->argv[c->argc++] = tokens[i];
            continue;
        }
        if (ops[i] == '|') {
            if (c->argc == 0)
                return syntax_error("|");
            c->argv[c->argc] = NULL;
            c = &cmds[++ncmd];
            memset(c, 0, sizeof *c);
            c->argv = &tokens[i + 1];
            continue;
        }
        if (i + 1 >= n || ops[i + 1] != 0)
            return syntax_error(i + 1 >= n ? "newline" : names[(int)ops[i + 1]]);
        if (ops[i] == '<')
            c->in = tokens[++i];
        else {
            c->append = ops[i] == 'a';
            c->out = tokens[++i];
        }
    }
    if (c->argc == 0)
        return ncmd == 0 && c->in == NULL && c->out == NULL ? 0 : syntax_error("newline");
    c->argv[c->argc] = NULL;
    return ncmd + 1;
}

int parse_line(char *line, struct cmd **cmds)
{
    size_t len = strlen(line) + 1;
    char **tokens = alloc(len + 1, sizeof *tokens);
    char *ops = alloc(len + 1, 1);
    *cmds = alloc(len + 1, sizeof **cmds);
    int ncmd = group(tokens, ops, tokenize(line, tokens, ops), *cmds);
    free(ops);
    if (ncmd <= 0) {
        free(tokens);
        free(*cmds);
        *cmds = NULL;
    }
    return ncmd;
}

void free_pipeline(struct cmd *cmds)
{
    if (cmds != NULL) {
        free(cmds[0].argv); /* every command's words live in the first one's array */
        free(cmds);
    }
}

char *join_words(int n, char **words)
{
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += strlen(words[i]) + 1;
    char *text = alloc(len, 1);
    for (int i = 0; i < n; i++) {
        strcat(text, words[i]);
        strcat(text, " ");
    }
    return text;
}

void say_exec_failed(const char *cmd)
{
    if (errno == ENOENT)
        fprintf(stderr, "minishell: %s: command not found\n", cmd);
    else
        fprintf(stderr, "minishell: %s: %s\n", cmd, strerror(errno));
}
