/* kvmforge-install check-answer: placeholder until the validator lands. */
#include <stdio.h>

#include "cli.h"

int check_answer_main(int argc, char **argv)
{
        (void) argc;
        (void) argv;
        fprintf(stderr, "kvmforge-install: check-answer is not built yet\n");
        return EXIT_USAGE;
}
