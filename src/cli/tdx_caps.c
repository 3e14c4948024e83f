// SPDX-License-Identifier: MIT
/*
 * `merak tdx-caps`: on a TDX host, what it offers TDs in words; elsewhere,
 * exactly what is missing, and exit status 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "hv/hv.h"
#include "hv/uapi/kvm_ext.h"
#include "hv/uapi/kvm_tdx.h"
#include "tdx/caps.h"

int cmd_tdx_caps(int argc, char **argv)
{
	struct merak_kvm_tdx_capabilities *caps = NULL;
	struct tdx_host_caps h;
	struct hv_vm hv;
	struct err e;
	char *report;
	int maxv;

	if (argc > 1) {
		if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
			printf("usage: merak tdx-caps\n"
			       "Reports whether this host can run Intel TDX Trust Domains and, if "
			       "so, the TD attributes, XFAM, configurable CPUID and TDVMCALL "
			       "services it offers. Exit status 1 when it cannot.\n");
			return 0;
		}
		fprintf(stderr, "merak tdx-caps: unexpected argument '%s'\n", argv[1]);
		return EXIT_USAGE;
	}
	if (hv_open(&hv, &e) < 0) {
		fprintf(stderr, "merak tdx-caps: this host cannot run TDs: %s\n", e.msg);
		return 1;
	}
	h = (struct tdx_host_caps){
		.vm_types = hv_check_extension(&hv, false, MERAK_KVM_CAP_VM_TYPES),
		.guest_memfd = hv_check_extension(&hv, false, MERAK_KVM_CAP_GUEST_MEMFD),
		.user_memory2 = hv_check_extension(&hv, false, MERAK_KVM_CAP_USER_MEMORY2),
		.memory_attributes = hv_check_extension(&hv, false, MERAK_KVM_CAP_MEMORY_ATTRIBUTES),
	};
	if (tdx_host_check(&h, &e) < 0) {
		fprintf(stderr, "merak tdx-caps: %s\n", e.msg);
		hv_close(&hv);
		return 1;
	}
	/* Capabilities are a VM ioctl: a TD VM is created and dropped unused. */
	if (hv_create_vm(&hv, MERAK_KVM_X86_TDX_VM, &e) < 0 ||
	    hv_tdx_capabilities(&hv, &caps, &e) < 0) {
		fprintf(stderr, "merak tdx-caps: KVM lists the TDX VM type but %s\n", e.msg);
		hv_close(&hv);
		return 1;
	}
	maxv = hv_check_extension(&hv, true, KVM_CAP_MAX_VCPUS);
	report = tdx_caps_report(caps, maxv > 0 ? maxv : -1);
	free(caps);
	hv_close(&hv);
	if (!report) {
		fprintf(stderr, "merak tdx-caps: out of memory\n");
		return 1;
	}
	fputs(report, stdout);
	free(report);
	return 0;
}
