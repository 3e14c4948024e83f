// SPDX-License-Identifier: MIT
#include "tdx/rtmr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tdx/tdshim.h"

static void not_predicted(struct td_rtmr_pred *p, const char *reason)
{
	p->predicted = false;
	snprintf(p->reason, sizeof(p->reason), "%s", reason);
}

static void add_event(struct td_rtmr_pred *p, const char *name, const u8 d[TD_DIGEST_SIZE])
{
	if (p->nev == TD_RTMR_MAX_EVENTS)
		return;
	p->ev[p->nev].name = name;
	memcpy(p->ev[p->nev].digest, d, TD_DIGEST_SIZE);
	p->nev++;
}

/* td-shim's Linux boot path (src/tdx/tdshim.h has the sources). */
static int predict_shim(const struct tdvf_info *fw, const struct td_section_inputs *in,
			struct td_rtmr_pred rt[TD_RTMRS], struct err *e)
{
	struct td_shim_rtmrs s;
	struct err e2;
	int r;

	not_predicted(&rt[2], "td-shim does not extend RTMR2; the guest OS may");
	not_predicted(&rt[3], "extended only by the guest OS and applications");
	err_clear(&e2);
	r = td_shim_predict(fw, in, &s, &e2);
	if (r == -ENOTSUP) {
		not_predicted(&rt[0], e2.msg);
		not_predicted(&rt[1], e2.msg);
		return 0;
	}
	if (r < 0) {
		*e = e2;
		return r;
	}
	if (s.have_rtmr0) {
		rt[0].predicted = true;
		memcpy(rt[0].value, s.rtmr[0], TD_DIGEST_SIZE);
		add_event(&rt[0], "TD HOB (EV_PLATFORM_CONFIG_FLAGS td_hob)", s.hob);
	} else {
		not_predicted(&rt[0], "depends on the TD HOB, i.e. on the memory size (--memory)");
	}
	add_event(&rt[0], "separator (EV_SEPARATOR)", s.separator);
	rt[1].predicted = true;
	memcpy(rt[1].value, s.rtmr[1], TD_DIGEST_SIZE);
	add_event(&rt[1], "separator (EV_SEPARATOR)", s.separator);
	if (s.payload_measured)
		add_event(&rt[1], "payload region (EV_EFI_PLATFORM_FIRMWARE_BLOB2 td_payload)",
			  s.payload);
	add_event(&rt[1], "payload parameter (EV_PLATFORM_CONFIG_FLAGS td_payload_info)", s.param);
	return 0;
}

/* RTMR0 under TDVF: the TD HOB and the CFV as OVMF measures them, and what else it reads. */
static int tdvf_rtmr0(const struct tdvf_info *fw, const struct td_section_inputs *in,
		      const struct td_rtmr_inputs *ri, struct td_rtmr_pred *p, struct err *e)
{
	const struct tdvf_section *cfv = tdvf_find(fw, TDVF_SECTION_CFV);
	u8 d[TD_DIGEST_SIZE];
	int r;

	not_predicted(p, "OVMF also measures the ACPI tables and UEFI variables it reads at boot, "
			 "which merak does not model; the event digests below are exact");
	if (in->hob) {
		r = td_hob_event_digest(in->hob, in->hob_len, d, e);
		if (r < 0)
			return r;
		add_event(p, "TD HOB (EV_EFI_HANDOFF_TABLES2)", d);
	} else if (tdvf_find(fw, TDVF_SECTION_TD_HOB)) {
		not_predicted(p, "depends on the TD HOB, i.e. on the memory size (--memory), and on "
				 "the ACPI tables and UEFI variables OVMF reads at boot");
	}
	if (cfv && ri->image && range_within(cfv->data_offset, cfv->raw_size, ri->image_len)) {
		td_sha384(ri->image + cfv->data_offset, cfv->raw_size, d);
		add_event(p, "CFV (EV_EFI_PLATFORM_FIRMWARE_BLOB2)", d);
	}
	return 0;
}

/* RTMR2 under TDVF: the Linux EFI stub measures the command line and the initrd. */
static int tdvf_rtmr2(const struct td_rtmr_inputs *ri, struct td_rtmr_pred *p, struct err *e)
{
	u8 d[TD_DIGEST_SIZE];

	if (!ri->cmdline && !ri->initrd) {
		not_predicted(p, "depends on the kernel command line (--cmdline) and initramfs "
				 "(--initramfs) as the Linux EFI stub measures them");
		return 0;
	}
	not_predicted(p, "depends on the load options the firmware passes to the Linux EFI stub; "
			 "the event digests below are exact for the inputs given");
	if (ri->cmdline) {
		size_t n = strlen(ri->cmdline);
		u8 *u = calloc(n + 1, 2);

		if (!u)
			return errf(e, -ENOMEM, "out of memory");
		/* UTF-16LE with the terminating NUL; ASCII command lines only. */
		for (size_t i = 0; i < n; i++)
			u[2 * i] = (u8)ri->cmdline[i];
		td_sha384(u, 2 * (n + 1), d);
		free(u);
		add_event(p, "LoadOptions (command line as UTF-16LE)", d);
	}
	if (ri->initrd) {
		td_sha384(ri->initrd, ri->initrd_len, d);
		add_event(p, "Linux initrd", d);
	}
	return 0;
}

int td_predict_rtmrs(const struct tdvf_info *fw, const struct td_section_inputs *in,
		     const struct td_rtmr_inputs *ri, struct td_rtmr_pred rt[TD_RTMRS],
		     struct err *e)
{
	int r;

	memset(rt, 0, sizeof(*rt) * TD_RTMRS);
	if (tdvf_find(fw, TDVF_SECTION_PAYLOAD))
		return predict_shim(fw, in, rt, e);
	r = tdvf_rtmr0(fw, in, ri, &rt[0], e);
	if (r < 0)
		return r;
	/* RTMR1: the kernel as the firmware loads it. */
	not_predicted(&rt[1], ri->have_kernel
				  ? "depends on the Authenticode digest of the kernel as the "
				    "firmware loads it and on firmware boot events; merak does "
				    "not model them"
				  : "depends on the kernel image (--kernel)");
	r = tdvf_rtmr2(ri, &rt[2], e);
	if (r < 0)
		return r;
	not_predicted(&rt[3], "extended only by the guest OS and applications");
	return 0;
}
