// SPDX-License-Identifier: MIT
#include <errno.h>

#include "arch/x86/layout.h"
#include "boot/boot.h"

int boot_check_firmware(size_t len, struct err *e)
{
	if (!len)
		return errf(e, -EINVAL, "the image is empty");
	if (!IS_ALIGNED((u64)len, PAGE_SIZE))
		return errf(e, -EINVAL, "size %zu bytes is not a multiple of 4 KiB", len);
	if (len > LAYOUT_FIRMWARE_MAX)
		return errf(e, -EFBIG, "size %zu bytes exceeds the %llu MiB flash window", len,
			    (unsigned long long)(LAYOUT_FIRMWARE_MAX >> 20));
	return 0;
}
