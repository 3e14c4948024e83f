// SPDX-License-Identifier: MIT
/* Temporary: subcommands whose implementation has not landed yet. */
#include <stdio.h>

#include "cli.h"

int cmd_tdx_caps(int argc, char **argv)
{
	fprintf(stderr, "merak tdx-caps: not implemented yet\n");
	return 1;
}
