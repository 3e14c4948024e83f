// SPDX-License-Identifier: MIT
#include "cli.h"

#include <stdio.h>
#include <string.h>

int cli_main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "measure"))
		return cmd_measure(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "tdx-caps"))
		return cmd_tdx_caps(argc - 1, argv + 1);
	fprintf(stderr, "merak: run not implemented yet\n");
	return 1;
}
