/* kvmforge-install fetch-answer: placeholder until the fetch chain lands. */
#include <stdio.h>

#include "cli.h"

int fetch_answer_main(int argc, char **argv)
{
        (void) argc;
        (void) argv;
        fprintf(stderr, "kvmforge-install: fetch-answer is not built yet\n");
        return EXIT_USAGE;
}
