#pragma once
/* The sub-commands of kvmforge-install, each in its own file: parse its options and run. Each
 * returns the process's exit status (EXIT_SUCCESS, EXIT_FAILURE or EXIT_USAGE). */

#define EXIT_USAGE 2

struct answer;
struct pipeline_result;

/* The end of an install in the live environment: the medium (mounted at medium) ejected when
 * the answer says so, the machine rebooted or powered off as it says. Returns only when that
 * failed (install-cmd.c). */
void cli_finish_live(const char *medium, const struct pipeline_result *res);

/* Fetches and reads the answer at src; its errors are printed and make it fail (answer-cli.c). */
int cli_load_answer(const char *src, struct answer *ret);

int fetch_answer_main(int argc, char **argv);   /* fetch-cmd.c */
int check_answer_main(int argc, char **argv);   /* check-cmd.c */
int plan_main(int argc, char **argv);           /* plan-cmd.c */
int prepare_disks_main(int argc, char **argv);  /* prepare-cmd.c */
int install_main(int argc, char **argv);        /* install-cmd.c */
int tui_main(int argc, char **argv);            /* tui.c */
int unpack_payload_main(int argc, char **argv); /* install-cmd.c */
