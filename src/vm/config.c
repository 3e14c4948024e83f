// SPDX-License-Identifier: MIT
/*
 * The rules a struct vm_config follows whoever filled it: the command line
 * (src/cli/options.c) or Cloud Hypervisor's VmConfig over the API
 * (src/control/vmconfig.c). Pure: errors come back in a struct err.
 */
#include "vm/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/file.h"

bool vm_cpus_valid(u64 n)
{
	return n >= 1 && n <= MAX_VCPUS;
}

bool vm_mem_size_valid(u64 size)
{
	return size >= VM_MEM_MIN && size <= VM_MEM_MAX && IS_ALIGNED(size, MiB);
}

bool vm_vsock_cid_valid(u64 cid)
{
	return cid >= VSOCK_CID_MIN && cid <= VSOCK_CID_MAX;
}

int vm_parse_mac(const char *v, u8 mac[6])
{
	unsigned b[6];
	char tail;

	if (sscanf(v, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &tail) != 6 ||
	    strlen(v) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (u8)b[i];
	/* A multicast address cannot be a NIC's own. */
	return (mac[0] & 1) ? -EINVAL : 0;
}

int vm_parse_irqchip(const char *v, enum irqchip_mode *out)
{
	if (!strcmp(v, "kernel"))
		*out = IRQCHIP_KERNEL;
	else if (!strcmp(v, "split"))
		*out = IRQCHIP_SPLIT;
	else
		return -EINVAL;
	return 0;
}

int vm_parse_hex48(const char *what, const char *v, u8 out[48], struct err *e)
{
	static const char hex[] = "0123456789abcdefABCDEF";

	if (!v || strlen(v) != 96)
		return errf(e, -EINVAL, "%s must be 96 hex digits (48 bytes)", what);
	for (int i = 0; i < 48; i++) {
		unsigned b;

		if (!strchr(hex, v[2 * i]) || !strchr(hex, v[2 * i + 1]) ||
		    sscanf(v + 2 * i, "%2x", &b) != 1)
			return errf(e, -EINVAL, "%s: '%c%c' is not a hex byte", what, v[2 * i],
				    v[2 * i + 1]);
		out[i] = (u8)b;
	}
	return 0;
}

int vm_check_quote_socket(const char *what, const char *v, struct err *e)
{
	u64 cid, port;
	char *colon;

	if (!strncmp(v, "unix:", 5) && v[5])
		return 0;
	if (!strncmp(v, "vsock:", 6)) {
		char buf[64];

		snprintf(buf, sizeof(buf), "%s", v + 6);
		colon = strchr(buf, ':');
		if (colon) {
			*colon = '\0';
			if (!parse_u64(buf, &cid) && !parse_u64(colon + 1, &port) &&
			    cid <= 0xffffffffULL && port <= 0xffffffffULL)
				return 0;
		}
	}
	return errf(e, -EINVAL, "%s='%s': expected unix:PATH or vsock:CID:PORT", what, v);
}

bool vm_config_id_used(const struct vm_config *cfg, const char *id, char *owner, size_t n)
{
	char dummy[32];

	if (!owner) {
		owner = dummy;
		n = sizeof(dummy);
	}
	if (!id[0])
		return false;
	for (unsigned i = 0; i < cfg->n_disks; i++)
		if (!strcmp(cfg->disks[i].id, id))
			return snprintf(owner, n, "disks[%u]", i), true;
	for (unsigned i = 0; i < cfg->n_nets; i++)
		if (!strcmp(cfg->nets[i].id, id))
			return snprintf(owner, n, "net[%u]", i), true;
	if (cfg->vsock.enabled && !strcmp(cfg->vsock.id, id))
		return snprintf(owner, n, "vsock"), true;
	if (cfg->rng && !strcmp(cfg->rng_id, id))
		return snprintf(owner, n, "rng"), true;
	if (cfg->console.mode != CHARDEV_OFF && !strcmp(cfg->console.id, id))
		return snprintf(owner, n, "console"), true;
	return false;
}

/* Cloud Hypervisor's naming: one counter for every prefix, skipping names in use. */
void vm_config_new_id(struct vm_config *cfg, const char *prefix, char out[VM_ID_MAX])
{
	char id[VM_ID_MAX];

	/* Built aside: out may be the id field of a device already in cfg. */
	do
		snprintf(id, sizeof(id), "%s%u", prefix, cfg->next_dev_id++);
	while (vm_config_id_used(cfg, id, NULL, 0));
	memcpy(out, id, VM_ID_MAX);
}

/* Each rule has the command line's wording and the API's. */
#define SAY(cli, api) (o == CONFIG_CLI ? (cli) : (api))

int vm_config_check(const struct vm_config *cfg, enum config_origin o, struct err *e)
{
	const struct tdx_config *t = &cfg->tdx;

	if (!cfg->kernel && !cfg->firmware)
		return errf(
		    e, -EINVAL, "%s",
		    SAY("nothing to boot: give --kernel or --firmware",
			"payload: nothing to boot: give payload.kernel or payload.firmware"));
	if (cfg->initramfs && !cfg->kernel)
		return errf(
		    e, -EINVAL, "%s",
		    SAY("--initramfs needs --kernel", "payload.initramfs needs payload.kernel"));
	if (cfg->cmdline && !cfg->kernel)
		return errf(
		    e, -EINVAL, "%s",
		    SAY("--cmdline needs --kernel", "payload.cmdline needs payload.kernel"));
	if (cfg->max_cpus && cfg->max_cpus < cfg->cpus)
		return errf(e, -EINVAL, "%s: %u is below the %u boot vCPUs",
			    SAY("--cpus max", "cpus.max_vcpus"), cfg->max_cpus, cfg->cpus);
	if (cfg->serial.mode == CHARDEV_TTY && cfg->console.mode == CHARDEV_TTY)
		return errf(e, -EINVAL, "%s",
			    SAY("--serial and --console cannot both use the terminal (tty)",
				"serial and console cannot both use the terminal (mode Tty)"));
	if (cfg->vsock.enabled && cfg->api_socket && !strcmp(cfg->vsock.socket, cfg->api_socket))
		return errf(e, -EINVAL, "%s'%s' is also the %s path: each needs its own",
			    SAY("--vsock socket=", "vsock.socket "), cfg->api_socket,
			    SAY("--api-socket", "API socket's"));
	/* A kernel with firmware reaches the firmware through fw_cfg. */
	if (t->enabled) {
		if (cfg->irqchip_set && cfg->irqchip == IRQCHIP_KERNEL)
			return errf(
			    e, -EINVAL,
			    "%s: a TD needs the split irqchip (the TDX module requires "
			    "KVM's local APICs with a userspace IOAPIC)",
			    SAY("--platform irqchip=kernel", "platform.irqchip \"kernel\""));
		if (!cfg->firmware)
			return errf(e, -EINVAL,
				    "%s (TDVF or TD-Shim): a TD boots only from measured firmware, "
				    "merak cannot set its registers",
				    SAY("--platform tdx=on needs --firmware",
					"platform.tdx needs payload.firmware"));
	} else if (t->debug || t->has_mrconfigid || t->has_mrowner || t->has_mrownerconfig ||
		   t->quote_socket || t->tsc_khz) {
		return errf(e, -EINVAL, "%s",
			    SAY("--platform: TD options given without tdx=on",
				"platform: TD options (debug, mrconfigid, mrowner, mrownerconfig, "
				"quote-socket, tsc-khz) given without tdx: true"));
	}
	return 0;
}

void vm_config_finalize(struct vm_config *cfg)
{
	/*
	 * Split unless asked otherwise: KVM's PIC/IOAPIC/PIT cost 10-30 ms of a
	 * start-up (mostly at teardown, bench/floor) and Linux needs none of them.
	 * Firmware keeps them: OVMF's timer is the 8254 through the 8259.
	 */
	if (cfg->tdx.enabled)
		cfg->irqchip = IRQCHIP_SPLIT;
	else if (!cfg->irqchip_set)
		cfg->irqchip = cfg->firmware ? IRQCHIP_KERNEL : IRQCHIP_SPLIT;
	if (cfg->max_cpus < cfg->cpus)
		cfg->max_cpus = cfg->cpus;
	/* Cloud Hypervisor's order at boot: disks, nets, rng, vsock; the console is fixed. */
	for (unsigned i = 0; i < cfg->n_disks; i++)
		if (!cfg->disks[i].id[0])
			vm_config_new_id(cfg, "_disk", cfg->disks[i].id);
	for (unsigned i = 0; i < cfg->n_nets; i++)
		if (!cfg->nets[i].id[0])
			vm_config_new_id(cfg, "_net", cfg->nets[i].id);
	if (cfg->rng && !cfg->rng_id[0])
		snprintf(cfg->rng_id, sizeof(cfg->rng_id), "__rng");
	if (cfg->console.mode != CHARDEV_OFF && !cfg->console.id[0])
		snprintf(cfg->console.id, sizeof(cfg->console.id), "__console");
	if (cfg->vsock.enabled && !cfg->vsock.id[0])
		vm_config_new_id(cfg, "_vsock", cfg->vsock.id);
}

void vm_config_free(struct vm_config *cfg)
{
	free(cfg->kernel);
	free(cfg->initramfs);
	free(cfg->cmdline);
	free(cfg->firmware);
	free(cfg->serial.path);
	free(cfg->console.path);
	free(cfg->serial.socket);
	free(cfg->console.socket);
	for (unsigned i = 0; i < cfg->n_disks; i++)
		free(cfg->disks[i].path);
	for (unsigned i = 0; i < cfg->n_nets; i++)
		for (unsigned j = 0; j < cfg->nets[i].n_fds && j < NET_MAX_FDS; j++)
			close(cfg->nets[i].fds[j]);
	free(cfg->rng_src);
	free(cfg->vsock.socket);
	free(cfg->tdx.quote_socket);
	free(cfg->api_socket);
	free(cfg->log_file);
	free(cfg->event_monitor);
	memset(cfg, 0, sizeof(*cfg));
}

int vm_config_set_rng_src(struct vm_config *cfg, const char *what, const char *src, struct err *e)
{
	char *copy;

	if (strcmp(src, "/dev/urandom") && strcmp(src, "/dev/random"))
		return errf(e, -EINVAL,
			    "%s: '%.64s' is not supported by merak (only /dev/urandom or /dev/random: "
			    "its virtio-rng is fed from getrandom(2))",
			    what, src);
	copy = strcmp(src, "/dev/urandom") ? strdup(src) : NULL;
	if (strcmp(src, "/dev/urandom") && !copy)
		return errf(e, -ENOMEM, "out of memory");
	free(cfg->rng_src);
	cfg->rng_src = copy;
	return 0;
}
