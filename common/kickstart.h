#pragma once
/* The kickstart file format, below its meaning: commands split into words the way Anaconda's
 * pykickstart splits them (POSIX shell quoting, '#' comments at the start of a word, CRLF, a
 * missing final newline), and sections (%pre, %post, %packages, ESXi's %firstboot, ...) kept as
 * their header words and body text. Every word carries its line and column so that the
 * validator can point at it. The text comes from strangers: sizes and counts are bounded. */

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define KICKSTART_MAX_BYTES (1u << 20)
#define KICKSTART_MAX_LINES 100000u
#define KICKSTART_MAX_WORDS 512u /* in one command */

struct kickstart_word {
        char *text;         /* unquoted */
        unsigned line, col; /* 1-based, where the word starts */
};

struct kickstart_command {
        struct kickstart_word *words; /* words[0] is the command's name */
        size_t n_words;
};

struct kickstart_section {
        struct kickstart_word *words; /* words[0] is the header, "%post" */
        size_t n_words;
        char *body;         /* the lines between the header and its end, verbatim (LF endings) */
        unsigned body_line; /* line of the body's first line */
        bool ended;         /* closed by %end; ESXi's sections end at the next header instead */
};

struct kickstart {
        struct kickstart_command *commands;
        size_t n_commands;
        struct kickstart_section *sections;
        size_t n_sections;
        char *version; /* from a "#version=..." comment, or NULL */
};

/* Splits text (len bytes; NUL bytes are refused) into commands and sections. file names the
 * text in messages ("ks.cfg:12:7: unterminated double quote"). */
int kickstart_parse(const char *text, size_t len, const char *file, struct kickstart *ret,
                    struct err *err);
void kickstart_release(struct kickstart *ks);

/* True for the section headers this dialect knows (Anaconda's and ESXi's). */
bool kickstart_is_section(const char *word);
