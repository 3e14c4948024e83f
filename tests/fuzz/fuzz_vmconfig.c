// SPDX-License-Identifier: MIT
/*
 * Cloud Hypervisor's request bodies on arbitrary bytes: vm.create's VmConfig,
 * then each device body added to it. A configuration vm.create took must come
 * back from its vm.info form (vmconfig_json) as well.
 */
#include <string.h>

#include "control/vmconfig.h"

int LLVMFuzzerTestOneInput(const u8 *data, size_t len)
{
	const char *body = (const char *)data;
	struct vm_config cfg, again;
	struct disk_config d;
	struct net_config n;
	struct vsock_config v;
	char id[VM_ID_MAX];
	struct err e;

	if (vmconfig_parse(body, len, &cfg, &e) == 0) {
		json_object *j = vmconfig_json(&cfg);
		const char *out = json_object_to_json_string_ext(j, JSON_C_TO_STRING_PLAIN);

		if (strlen(out) <= VMCONFIG_MAX_BODY) {
			if (vmconfig_parse(out, strlen(out), &again, &e) != 0)
				__builtin_trap();
			vm_config_free(&again);
		}
		json_object_put(j);
	} else {
		/* A VmConfig of the bytes' defaults, to add the bodies to. */
		static const char base[] = "{\"payload\": {\"kernel\": \"k\"}}";

		if (vmconfig_parse(base, sizeof(base) - 1, &cfg, &e) != 0)
			__builtin_trap();
	}
	if (vmconfig_parse_disk(body, len, &d, &e) == 0 && vmconfig_add_disk(&cfg, &d, &e) < 0)
		vmconfig_disk_free(&d);
	if (vmconfig_parse_net(body, len, &n, &e) == 0 && vmconfig_add_net(&cfg, &n, &e) < 0)
		vmconfig_net_free(&n);
	if (vmconfig_parse_vsock(body, len, &v, &e) == 0 && vmconfig_add_vsock(&cfg, &v, &e) < 0)
		vmconfig_vsock_free(&v);
	if (vmconfig_parse_remove(body, len, id, &e) == 0)
		vmconfig_remove(&cfg, id, &e);
	vm_config_free(&cfg);
	return 0;
}
