#pragma once
/* The sub-commands of kvmforge-install, each in its own file: parse its options and run. Each
 * returns the process's exit status (EXIT_SUCCESS, EXIT_FAILURE or EXIT_USAGE). */

#define EXIT_USAGE 2

struct answer;

/* Fetches and reads the answer at src; its errors are printed and make it fail (answer-cli.c). */
int cli_load_answer(const char *src, struct answer *ret);

int fetch_answer_main(int argc, char **argv);   /* fetch-cmd.c */
int check_answer_main(int argc, char **argv);   /* check-cmd.c */
int plan_main(int argc, char **argv);           /* plan-cmd.c */
int prepare_disks_main(int argc, char **argv);  /* prepare-cmd.c */
int install_main(int argc, char **argv);        /* install-cmd.c */
int unpack_payload_main(int argc, char **argv); /* install-cmd.c */
