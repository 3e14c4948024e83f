// SPDX-License-Identifier: MIT
/*
 * merak's entry point: subcommand dispatch and `merak run`. This is the one
 * place that prints errors; everything below returns them in a struct err.
 */
#include "cli/cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/api.h"
#include "control/event_monitor.h"
#include "control/vmm.h"
#include "util/file.h"
#include "util/log.h"
#include "vm/vm.h"

/*
 * The serial and console output files this run would create: a start that
 * fails removes them again if they are still empty, so a typo leaves no
 * litter. Files that existed before are never touched.
 */
struct new_files {
	const char *path[2];
};

static void note_new_files(const struct vm_config *cfg, struct new_files *nf)
{
	const struct chardev_config *devs[2] = {&cfg->serial, &cfg->console};
	struct stat st;

	for (int i = 0; i < 2; i++)
		nf->path[i] = devs[i]->mode == CHARDEV_FILE && devs[i]->path &&
				      lstat(devs[i]->path, &st) < 0 && errno == ENOENT
				  ? devs[i]->path
				  : NULL;
}

static void remove_new_files(const struct new_files *nf)
{
	struct stat st;

	for (int i = 0; i < 2; i++)
		if (nf->path[i] && lstat(nf->path[i], &st) == 0 && S_ISREG(st.st_mode) &&
		    st.st_size == 0)
			unlink(nf->path[i]);
}

static int cmd_run(int argc, char **argv)
{
	struct vm_config *cfg = calloc(1, sizeof(*cfg));
	struct new_files new_files;
	struct api_server *api = NULL;
	struct vmm *vmm = NULL;
	enum vm_stop_cause cause;
	const char *reason;
	bool api_mode;
	struct err e;
	int r, status;

	err_clear(&e);
	if (!cfg) {
		fprintf(stderr, "merak: out of memory\n");
		return 1;
	}
	r = cli_parse_run(argc, argv, cfg, &e);
	if (r != 0) {
		if (r < 0)
			fprintf(stderr, "merak: %s\n", e.msg);
		vm_config_free(cfg);
		free(cfg);
		return r == 1 ? 0 : EXIT_USAGE;
	}
	if (cfg->log_file) {
		int fd;

		if (file_open_output(cfg->log_file, "log file", &fd, &e) < 0) {
			fprintf(stderr, "merak: %s\n", e.msg);
			vm_config_free(cfg);
			free(cfg);
			return 1;
		}
		log_set_fd(fd);
	}
	note_new_files(cfg, &new_files);
	api_mode = cfg->api_socket || cfg->api_fd >= 0;
	/* Before merak opens fds of its own: N must be one the caller passed down. */
	r = cfg->api_fd >= 0 ? api_listen_fd_check(cfg->api_fd, &e) : 0;
	if (r >= 0) {
		struct event_monitor *events = NULL;
		char *path = cfg->api_socket;
		int fd = cfg->api_fd;

		cfg->api_socket = NULL;	/* the VMM's from now on, not the VM's */
		r = cfg->event_monitor ? event_monitor_open(cfg->event_monitor, &events, &e) : 0;
		if (r == 0) {
			r = vmm_new(cfg, api_mode, &vmm, &e);
		} else {
			vm_config_free(cfg);
			free(cfg);
		}
		if (r == 0)
			vmm_set_event_monitor(vmm, events);
		else
			event_monitor_close(events);
		if (r == 0 && api_mode)
			r = api_server_start(vmm, path, fd, &api, &e);
		free(path);
	} else {
		vm_config_free(cfg);
		free(cfg);
	}
	if (r >= 0)
		r = vmm_run(vmm, &e);
	api_server_stop(api);
	if (r < 0) {
		fprintf(stderr, "merak: %s\n", e.msg);
		remove_new_files(&new_files);
		vmm_free(vmm);
		return 1;
	}
	status = r;
	cause = vmm_exit_reason(vmm, &reason);
	/* A reset is not a clean power-off: say so even at exit status 0. */
	if (cause == VM_STOP_RESET || status != 0)
		fprintf(stderr, "merak: %s (exit status %d)\n", reason, status);
	else
		log_info("%s", reason);
	vmm_free(vmm);
	return status;
}

int cli_main(int argc, char **argv)
{
	/* A peer that goes away (console pipe, API client) is an error to handle, not a kill. */
	signal(SIGPIPE, SIG_IGN);
	if (argc > 1 && !strcmp(argv[1], "measure"))
		return cmd_measure(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "tdx-caps"))
		return cmd_tdx_caps(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "remote"))
		return cmd_remote(argc - 1, argv + 1);
	if (argc > 1 && !strcmp(argv[1], "run"))
		return cmd_run(argc - 1, argv + 1);
	return cmd_run(argc, argv);
}
