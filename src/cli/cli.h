/* SPDX-License-Identifier: Apache-2.0 */
/* The crac command: one function per subcommand, dispatched from main.c.
 * Each gets argv with argv[0] = the subcommand's name and returns the exit
 * status: 0 success, 1 failure, 2 usage error. */
#ifndef CRAC_CLI_H
#define CRAC_CLI_H

int crac__cmd_resume(int argc, char **argv);  /* cmd_resume.c */
int crac__cmd_restore(int argc, char **argv); /* src/restore/cmd_restore.c */
int crac__cmd_image(int argc, char **argv);   /* cmd_image.c: info, verify */

int crac__cmd_run(int argc, char **argv);        /* cmd_run.c */
int crac__cmd_checkpoint(int argc, char **argv); /* cmd_checkpoint.c */
int crac__cmd_check(int argc, char **argv);      /* cmd_check.c */
int crac__cmd_status(int argc, char **argv);     /* cmd_status.c */

#endif
