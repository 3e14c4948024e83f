// SPDX-License-Identifier: MIT
#include <malloc.h>

#include "cli/cli.h"

int main(int argc, char **argv)
{
	/*
	 * One malloc arena for every thread: glibc would otherwise give the
	 * first malloc of each vCPU and device thread an arena of its own that
	 * keeps about 64 KiB resident for the life of the VM (4 MiB at 64
	 * vCPUs). merak's threads barely allocate once running, so they do not
	 * contend.
	 */
	mallopt(M_ARENA_MAX, 1);
	return cli_main(argc, argv);
}
