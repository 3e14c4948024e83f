// SPDX-License-Identifier: MIT
/*
 * merak's entry point: subcommand dispatch and `merak run`. This is the one
 * place that prints errors; everything below returns them in a struct err.
 */
#include "cli/cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "control/api.h"
#include "util/file.h"
#include "util/log.h"
#include "vm/vm.h"

static void print_group(void *arg, const char *name)
{
	*(const char **)arg = name;
}

static void print_counter(void *arg, const char *key, u64 value)
{
	log_debug("  %s.%s = %llu", *(const char **)arg, key, (unsigned long long)value);
}

/* --log-level debug: what the VM cost, exit by exit kind and device by device. */
static void print_counters(struct vm *vm)
{
	static const struct vm_counter_visitor v = {print_group, print_counter};
	const char *group = "";

	vm_walk_counters(vm, &v, &group);
}

/* Input files are checked before anything else, so a typo is named first. */
static int check_inputs(const struct vm_config *cfg, struct err *e)
{
	const struct {
		const char *what, *path;
	} files[] = {
		{"kernel", cfg->kernel},
		{"initramfs", cfg->initramfs},
		{"firmware", cfg->firmware},
	};

	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (files[i].path && access(files[i].path, R_OK) < 0)
			return errf_sys(e, -errno, "%s '%s': cannot read", files[i].what,
					files[i].path);
	for (unsigned i = 0; i < cfg->n_disks; i++) {
		struct stat st;

		if (access(cfg->disks[i].path, cfg->disks[i].readonly ? R_OK : R_OK | W_OK) < 0)
			return errf_sys(e, -errno, "disk '%s': cannot open%s", cfg->disks[i].path,
					cfg->disks[i].readonly ? "" : " for writing");
		/* The same image twice (by any name) would otherwise read as "in use". */
		if (stat(cfg->disks[i].path, &st) < 0)
			continue;
		for (unsigned j = 0; j < i; j++) {
			struct stat o;

			if (stat(cfg->disks[j].path, &o) == 0 && o.st_dev == st.st_dev &&
			    o.st_ino == st.st_ino)
				return errf(e, -EINVAL, "disk '%s' is given twice (also as '%s')",
					    cfg->disks[i].path, cfg->disks[j].path);
		}
	}
	return 0;
}

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
	struct vm_config cfg;
	struct new_files new_files;
	struct api_server *api = NULL;
	struct vm *vm = NULL;
	struct err e;
	int r, status;

	err_clear(&e);
	r = cli_parse_run(argc, argv, &cfg, &e);
	if (r == 1) {
		vm_config_free(&cfg);
		return 0;
	}
	if (r < 0) {
		fprintf(stderr, "merak: %s\n", e.msg);
		vm_config_free(&cfg);
		return EXIT_USAGE;
	}
	if (cfg.log_file) {
		int fd;

		if (file_open_output(cfg.log_file, "log file", &fd, &e) < 0) {
			fprintf(stderr, "merak: %s\n", e.msg);
			vm_config_free(&cfg);
			return 1;
		}
		log_set_fd(fd);
	}
	note_new_files(&cfg, &new_files);
	r = check_inputs(&cfg, &e);
	/* Before merak opens fds of its own: N must be one the caller passed down. */
	if (r == 0 && cfg.api_fd >= 0 && api_listen_fd_check(cfg.api_fd, &e) < 0)
		r = -1;
	if (r == 0)
		r = vm_create(&cfg, &vm, &e);
	if (r == 0 && (cfg.api_socket || cfg.api_fd >= 0))
		r = api_server_start(vm, cfg.api_socket, cfg.api_fd, &api, &e);
	if (r < 0) {
		fprintf(stderr, "merak: %s\n", e.msg);
		vm_destroy(vm);
		remove_new_files(&new_files);
		vm_config_free(&cfg);
		return 1;
	}
	status = vm_run(vm, &e);
	api_server_stop(api);
	if (log_get_level() >= LOG_DEBUG) {
		log_debug("counters:");
		print_counters(vm);
	}
	if (status < 0) {
		fprintf(stderr, "merak: %s\n", e.msg);
		status = 1;
	} else {
		const char *reason;

		/* A reset is not a clean power-off: say so even at exit status 0. */
		if (vm_stop_cause(vm, NULL, &reason) == VM_STOP_RESET || status != 0)
			fprintf(stderr, "merak: %s (exit status %d)\n", reason, status);
		else
			log_info("%s", reason);
	}
	vm_destroy(vm);
	vm_config_free(&cfg);
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
