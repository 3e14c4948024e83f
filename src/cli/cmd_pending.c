// SPDX-License-Identifier: MIT
/* Temporary home of subcommands whose implementation has not landed yet (none now). */
#include "cli.h"
