/* SPDX-License-Identifier: MIT */
#ifndef MERAK_CLI_CLI_H
#define MERAK_CLI_CLI_H

#include "util/err.h"
#include "vm/config.h"

/* Exit statuses of the merak binary. */
#define EXIT_USAGE 2	/* unknown or malformed option */

int cli_main(int argc, char **argv);

/* `merak [run] OPTIONS`: parses into cfg; -EINVAL with the message on bad input. */
int cli_parse_run(int argc, char **argv, struct vm_config *cfg, struct err *e);
/* vm_config_free is in vm/config.h. */

/*
 * The pieces `merak measure` shares with `merak`, so that both refuse the
 * same input: the defaults, --memory and --cpus values (a SIZE, a count),
 * and --platform's keys (arg is split in place).
 */
void cli_config_defaults(struct vm_config *cfg);
int cli_check_memory(const char *v, u64 *out, struct err *e);
int cli_check_cpus(const char *v, u32 *out, struct err *e);
int cli_parse_platform(char *arg, struct vm_config *cfg, struct err *e);

/* Subcommands, each in its own file; argv[0] is the subcommand name. */
int cmd_measure(int argc, char **argv);
int cmd_tdx_caps(int argc, char **argv);
int cmd_remote(int argc, char **argv);

#endif
