/* SPDX-License-Identifier: MIT */
#ifndef MERAK_ARCH_X86_AML_H
#define MERAK_ARCH_X86_AML_H

/*
 * A tiny emitter of AML byte code (ACPI spec chapter 20), enough for merak's
 * DSDT: names, scopes, devices, methods, packages, buffers, integers,
 * strings, resource templates, operation regions and fields, and the few
 * statements its methods use (Store, And, If, Notify, method calls). Pure: everything goes into a growable
 * byte buffer. Allocation failure is sticky: later calls do nothing and
 * aml_failed() reports it once at the end, so callers need not check each
 * step.
 *
 * Blocks that carry a PkgLength (Scope, Device, Method, Package, Buffer) are
 * opened with aml_*_begin(), which returns a handle, and closed with
 * aml_end(), which inserts the PkgLength in the shortest encoding once the
 * body size is known.
 */
#include "util/types.h"

struct aml {
	u8 *buf;
	size_t len, cap;
	bool failed; /* out of memory, bad name or bad nesting */
};

void aml_init(struct aml *a);
void aml_free(struct aml *a);
static inline bool aml_failed(const struct aml *a)
{
	return a->failed;
}

void aml_byte(struct aml *a, u8 b);
void aml_bytes(struct aml *a, const void *p, size_t n);

/* Data objects. */
void aml_integer(struct aml *a, u64 v); /* ZeroOp, OneOp, OnesOp or the shortest prefix */
void aml_string(struct aml *a, const char *s);
/*
 * A NameString: "\\_SB.PCI0", "^FOO", "COM1". Segments shorter than four
 * characters are padded with '_'. Invalid names set the failure flag.
 */
void aml_namestring(struct aml *a, const char *name);

/* Name(name, <object emitted next>) */
void aml_name(struct aml *a, const char *name);
/* Return(<object emitted next>) */
void aml_return(struct aml *a);

/* Blocks; each returns a handle for aml_end(). */
size_t aml_scope_begin(struct aml *a, const char *name);
size_t aml_device_begin(struct aml *a, const char *name);
size_t aml_method_begin(struct aml *a, const char *name, unsigned nargs, bool serialized);
size_t aml_package_begin(struct aml *a, u8 nelems);
/* Buffer(){bytes}: complete in one call. */
void aml_buffer(struct aml *a, const void *data, size_t len);
void aml_end(struct aml *a, size_t handle);

/* ---- method bodies ---------------------------------------------------------
 * An operator is emitted first and its operands next, in the order the spec
 * gives them: aml_store(a); <source>; <target>. A call of a method is its
 * name (aml_namestring) followed by its arguments.
 */
void aml_local(struct aml *a, unsigned n);	/* Local0..Local7 */
void aml_arg(struct aml *a, unsigned n);	/* Arg0..Arg6 */
void aml_store(struct aml *a);			/* Store(<source>, <target>) */
void aml_and(struct aml *a);			/* And(<operand>, <operand>, <target>) */
void aml_notify(struct aml *a);			/* Notify(<object>, <value>) */
/* The "no target" of an operator that returns its result (NullName). */
void aml_no_target(struct aml *a);
/* If(<predicate emitted next>) { <body> }, closed with aml_end(). */
size_t aml_if_begin(struct aml *a);

/* ---- operation regions and fields --------------------------------------- */
#define AML_SPACE_SYSTEM_MEMORY 0
#define AML_SPACE_SYSTEM_IO	1
/* Field flags: access type (bits 3:0), lock rule (bit 4), update rule (bits 6:5). */
#define AML_FIELD_ANY_ACC	 0x00
#define AML_FIELD_BYTE_ACC	 0x01
#define AML_FIELD_WORD_ACC	 0x02
#define AML_FIELD_DWORD_ACC	 0x03
#define AML_FIELD_LOCK		 0x10
#define AML_FIELD_PRESERVE	 0x00
#define AML_FIELD_WRITE_AS_ONES	 0x20
#define AML_FIELD_WRITE_AS_ZEROS 0x40

/* OperationRegion(name, space, offset, len) */
void aml_operation_region(struct aml *a, const char *name, u8 space, u64 offset, u64 len);
/* Field(region, flags) { units }: aml_field_unit() for each, then aml_end(). */
size_t aml_field_begin(struct aml *a, const char *region, u8 flags);
/* A named unit of bits bits (name is one NameSeg), or with name NULL that many unused bits. */
void aml_field_unit(struct aml *a, const char *name, u32 bits);

/* The number of bytes a PkgLength for a body of len bytes takes (1..4), 0 if too long. */
unsigned aml_pkglength_size(size_t len);
/* Encodes the PkgLength of a body of len bytes into out[4]; returns the size, 0 if too long. */
unsigned aml_pkglength_encode(size_t len, u8 out[4]);

/*
 * EISA ID compression of a 7-character PNP ID such as "PNP0A08" into the
 * 32-bit integer _HID expects. Returns false for a malformed ID.
 */
bool aml_eisaid(const char *id, u32 *out);

/* ---- resource templates (ACPI spec 6.4) ----------------------------------
 * Build the descriptors into their own struct aml, finish with
 * aml_res_end_tag(), then emit it as a Buffer with aml_buffer().
 */
#define AML_RES_PRODUCER 0 /* general flag bit 0 clear: the device produces the range */
#define AML_RES_CONSUMER 1

void aml_res_io(struct aml *r, u16 min, u16 max, u8 align, u8 len);
void aml_res_irq_noflags(struct aml *r, u16 irq_mask);
/* Extended interrupt descriptor (Interrupt()) for one GSI. */
void aml_res_ext_irq(struct aml *r, bool consumer, bool level, bool active_low, bool shared,
		     u32 gsi);
void aml_res_word_bus(struct aml *r, u16 min, u16 max);
void aml_res_word_io(struct aml *r, u16 min, u16 max);
void aml_res_dword_mem(struct aml *r, bool cacheable, u32 min, u32 max);
void aml_res_qword_mem(struct aml *r, bool cacheable, u64 min, u64 max);
/* End tag with a checksum that makes the template's bytes sum to zero. */
void aml_res_end_tag(struct aml *r);

#endif
