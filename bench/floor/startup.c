// SPDX-License-Identifier: MIT
/*
 * Exec-to-exit of commands, interleaved round by round so that a noisy host
 * hurts each alike: wall and CPU (user + system) time of each run, medians
 * over RUNS rounds; then one more run of each, traced, for its peak RSS.
 *
 *   startup [--no-peak] RUNS NAME=CMD [NAME=CMD ...]
 *
 * CMD is split on spaces; its output goes to /dev/null. A run counts when
 * the command exits 0. Prints per NAME: "NAME wall_ms cpu_ms peak_kib ok/runs
 * anon_kib", the last the anonymous memory still mapped when it exits.
 *
 * The peak is the command's own VmHWM, read from /proc when it exits
 * (PTRACE_EVENT_EXIT: its memory is still mapped then). wait4's ru_maxrss
 * cannot say this: it also counts the process that exec'ed the command.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CMDS 16
#define MAX_ARGS 64
#define MAX_RUNS 1000

struct cmd {
	char *name;
	char *argv[MAX_ARGS];
	double wall[MAX_RUNS], cpu[MAX_RUNS];
	int ok;
	long peak_kib, anon_kib;
};

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void quiet_exec(char **argv, int traced)
{
	int null = open("/dev/null", O_RDWR);

	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	if (traced)
		ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	execv(argv[0], argv);
	_exit(127);
}

static void timed_run(struct cmd *c)
{
	struct rusage ru;
	double t0 = now_ms();
	int status;
	pid_t pid = fork();

	if (pid == 0)
		quiet_exec(c->argv, 0);
	if (pid < 0 || wait4(pid, &status, 0, &ru) < 0)
		return;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return;
	c->wall[c->ok] = now_ms() - t0;
	c->cpu[c->ok] = (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
			(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
	c->ok++;
}

/* The "key: N kB" line of a /proc/PID file, in KiB; -1 when absent. */
static long proc_kib(pid_t pid, const char *file, const char *key)
{
	char path[64], line[256];
	size_t n = strlen(key);
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/%s", pid, file);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			kib = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return kib;
}

/* The peak, and the private memory still mapped at the exit (c->anon_kib). */
static long traced_peak(struct cmd *c)
{
	long peak = -1;
	int status;
	pid_t pid, leader = fork();

	if (leader == 0)
		quiet_exec(c->argv, 1);
	if (leader < 0 || waitpid(leader, &status, 0) < 0 || !WIFSTOPPED(status))
		return -1;
	/* From the exec stop on: thread starts, exits, and signals to pass on. */
	ptrace(PTRACE_SETOPTIONS, leader, NULL,
	       (void *)(long)(PTRACE_O_TRACEEXIT | PTRACE_O_EXITKILL | PTRACE_O_TRACECLONE));
	ptrace(PTRACE_CONT, leader, NULL, NULL);
	while ((pid = waitpid(-1, &status, __WALL)) >= 0 || errno == EINTR) {
		int sig = 0;

		if (pid < 0)
			continue;
		if (WIFEXITED(status) || WIFSIGNALED(status)) {
			if (pid == leader)
				break;
			continue;
		}
		if (status >> 8 == (SIGTRAP | (PTRACE_EVENT_EXIT << 8))) {
			long kib = proc_kib(pid, "status", "VmHWM");

			if (kib > peak) {
				peak = kib;
				c->anon_kib = proc_kib(pid, "smaps_rollup", "Anonymous");
			}
		} else if (WSTOPSIG(status) != SIGTRAP && WSTOPSIG(status) != SIGSTOP) {
			sig = WSTOPSIG(status);
		}
		ptrace(PTRACE_CONT, pid, NULL, (void *)(long)sig);
	}
	return peak;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, n, sizeof(*v), by_value);
	return n ? v[(n - 1) / 2] : -1;
}

int main(int argc, char **argv)
{
	static struct cmd cmds[MAX_CMDS];
	/* --no-peak: no traced run (a long guest under ptrace gains nothing). */
	int peak = !(argc > 1 && !strcmp(argv[1], "--no-peak"));
	int runs, n;

	argv += !peak;
	argc -= !peak;
	n = argc - 2;
	if (argc < 3 || n > MAX_CMDS || (runs = atoi(argv[1])) < 1 || runs > MAX_RUNS) {
		fprintf(stderr,
			"usage: startup [--no-peak] RUNS NAME=CMD [NAME=CMD ...] (at most %d)\n",
			MAX_CMDS);
		return 2;
	}
	for (int i = 0; i < n; i++) {
		char *eq = strchr(argv[i + 2], '='), *save = NULL;
		int k = 0;

		if (!eq) {
			fprintf(stderr, "startup: '%s': expected NAME=CMD\n", argv[i + 2]);
			return 2;
		}
		*eq = 0;
		cmds[i].name = argv[i + 2];
		for (char *t = strtok_r(eq + 1, " ", &save); t && k < MAX_ARGS - 1;
		     t = strtok_r(NULL, " ", &save))
			cmds[i].argv[k++] = t;
	}
	for (int r = 0; r < runs; r++)
		for (int i = 0; i < n; i++)
			timed_run(&cmds[i]);
	for (int i = 0; i < n; i++) {
		struct cmd *c = &cmds[i];

		c->peak_kib = peak ? traced_peak(c) : -1;
		printf("%s %.2f %.2f %ld %d/%d %ld\n", c->name, median(c->wall, c->ok),
		       median(c->cpu, c->ok), c->peak_kib, c->ok, runs, c->anon_kib);
	}
	return 0;
}
