// SPDX-License-Identifier: MIT
/*
 * Cloud Hypervisor's VmConfig and device bodies into struct vm_config and
 * back (vmconfig.h). Table-driven: each object of the schema has one table
 * with a row per property, saying what merak does with it; the walker
 * refuses any property without a row, so a new property in the schema is
 * refused until someone decides about it.
 */
#include "control/vmconfig.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "virtio/blk.h"

#define PATH_LEN       160  /* a field path in a message: "disks[7].rate_limiter_config" */
#define MAX_STR	       4096 /* a path, a socket */
#define NET_QUEUE_SIZE 256  /* what src/virtio/net.c offers */
#define MAX_PCI_SEGS   96   /* Cloud Hypervisor's limit on platform.num_pci_segments */
#define VIRTQ_MAX      32768
#define MAX_MAX_VCPUS  8192 /* Cloud Hypervisor's limit on cpus.max_vcpus (KVM, x86-64) */

/* One walk over one body: the error, and what checks across an object's fields need. */
struct walk {
	struct err *e;
	bool topo_given;
	u64 topo[4]; /* threads_per_core, cores_per_die (0: max_vcpus), dies_per_package... */
	bool mergeable;
};

struct field;
struct table;
typedef int (*set_fn)(struct walk *w, const struct field *f, const char *path, json_object *v,
		      void *obj);
typedef int (*check_fn)(struct walk *w, const char *path, void *obj);

enum policy {
	HONOURED,     /* merak does what it says */
	HINT,	      /* checked, accepted, no effect (merak's behaviour is within its meaning) */
	DEFAULT_ONLY, /* absent, null or the default; anything else is refused */
};

enum dflt { D_ABSENT, D_BOOL, D_INT, D_STR, D_EMPTY_LIST, D_OBJECT };

struct field {
	const char *name;
	enum policy policy;
	bool required;
	set_fn set;		 /* a value; NULL: walk sub with obj + arg */
	size_t arg;		 /* set's argument: an offset in obj, an index */
	enum dflt dflt;		 /* DEFAULT_ONLY */
	long long dint;		 /* D_BOOL, D_INT */
	const char *dstr;	 /* D_STR; for set_id, the reserved id the device may have */
	const struct table *sub; /* the object (or a list's items) under this one */
	bool list;		 /* sub describes the items of a list */
	const char *note;
};

struct table {
	const char *name; /* the schema's, for messages about the body itself */
	const struct field *fields;
	size_t n;
	check_fn check; /* across the object's fields, after them all */
};

#define OFF(type, member) offsetof(struct type, member)
#define HONOUR(n, fn, a, nt)                                                                       \
	{                                                                                          \
		.name = n, .policy = HONOURED, .set = fn, .arg = a, .note = nt                     \
	}
#define REQUIRED(n, fn, a, nt)                                                                     \
	{                                                                                          \
		.name = n, .policy = HONOURED, .required = true, .set = fn, .arg = a, .note = nt   \
	}
#define OBJECT(n, t, a, nt)                                                                        \
	{                                                                                          \
		.name = n, .policy = HONOURED, .sub = &t, .arg = a, .note = nt                     \
	}
#define LIST(n, fn, t, nt)                                                                         \
	{                                                                                          \
		.name = n, .policy = HONOURED, .set = fn, .sub = &t, .list = true, .note = nt      \
	}
#define HINTED(n, fn, a, nt)                                                                       \
	{                                                                                          \
		.name = n, .policy = HINT, .set = fn, .arg = a, .note = nt                         \
	}
#define ABSENT(n, nt)                                                                              \
	{                                                                                          \
		.name = n, .policy = DEFAULT_ONLY, .dflt = D_ABSENT, .note = nt                    \
	}
#define ONLY_BOOL(n, b, nt)                                                                        \
	{                                                                                          \
		.name = n, .policy = DEFAULT_ONLY, .dflt = D_BOOL, .dint = b, .note = nt           \
	}
#define ONLY_INT(n, i, nt)                                                                         \
	{                                                                                          \
		.name = n, .policy = DEFAULT_ONLY, .dflt = D_INT, .dint = i, .note = nt            \
	}
#define ONLY_STR(n, s, nt)                                                                         \
	{                                                                                          \
		.name = n, .policy = DEFAULT_ONLY, .dflt = D_STR, .dstr = s, .note = nt            \
	}
#define EMPTY_LIST(n, nt)                                                                          \
	{                                                                                          \
		.name = n, .policy = DEFAULT_ONLY, .dflt = D_EMPTY_LIST, .note = nt                \
	}
#define ONLY_OBJECT(n, t, nt)                                                                      \
	{                                                                                          \
		.name = n, .policy = DEFAULT_ONLY, .dflt = D_OBJECT, .sub = &t, .note = nt         \
	}
#define TABLE(var, sname, chk)                                                                     \
	static const struct table var = {sname, var##_f, ARRAY_SIZE(var##_f), chk}

/* ---- values ---- */

static const char *type_name(json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "a boolean";
	case json_type_double:
		return "a number with a fraction or exponent";
	case json_type_int:
		return "an integer";
	case json_type_object:
		return "an object";
	case json_type_array:
		return "an array";
	case json_type_string:
		return "a string";
	}
	return "something else";
}

static int type_error(struct walk *w, const char *path, const char *want, json_object *v)
{
	return errf(w->e, -EINVAL, "%s: expected %s, got %s", path, want, type_name(v));
}

static void join(char *out, const char *path, const char *name)
{
	snprintf(out, PATH_LEN, "%s%s%.64s", path, path[0] ? "." : "", name);
}

static int get_int(struct walk *w, const char *path, json_object *v, u64 lo, u64 hi, u64 *out)
{
	int64_t n;

	if (!json_object_is_type(v, json_type_int))
		return errf(w->e, -EINVAL, "%s: expected an integer from %llu to %llu, got %s",
			    path, (unsigned long long)lo, (unsigned long long)hi, type_name(v));
	n = json_object_get_int64(v);
	if (n < 0 || (u64)n < lo || (u64)n > hi)
		return errf(w->e, -EINVAL, "%s: expected an integer from %llu to %llu, got %.40s",
			    path, (unsigned long long)lo, (unsigned long long)hi,
			    json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	*out = (u64)n;
	return 0;
}

static int get_bool(struct walk *w, const char *path, json_object *v, bool *out)
{
	if (!json_object_is_type(v, json_type_boolean))
		return type_error(w, path, "true or false", v);
	*out = json_object_get_boolean(v);
	return 0;
}

/* A string without NUL bytes, of at most max bytes, empty only with allow_empty. */
static int get_str(struct walk *w, const char *path, json_object *v, size_t max, bool allow_empty,
		   const char **out)
{
	const char *s;
	size_t len;

	if (!json_object_is_type(v, json_type_string))
		return type_error(w, path, "a string", v);
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (strlen(s) != len)
		return errf(w->e, -EINVAL, "%s: contains a NUL byte", path);
	if (!len && !allow_empty)
		return errf(w->e, -EINVAL, "%s: empty", path);
	if (len > max)
		return errf(w->e, -EINVAL, "%s: longer than %zu bytes", path, max);
	*out = s;
	return 0;
}

static int dup_into(struct walk *w, char **dst, const char *s)
{
	char *copy = strdup(s);

	if (!copy)
		return errf(w->e, -ENOMEM, "out of memory");
	free(*dst);
	*dst = copy;
	return 0;
}

#define AT(obj, off, type) ((type *)((char *)(obj) + (off)))

/* ---- setters: one value into obj (f->arg is where, mostly) ---- */

static int set_bool(struct walk *w, const struct field *f, const char *path, json_object *v,
		    void *obj)
{
	return get_bool(w, path, v, AT(obj, f->arg, bool));
}

static int set_path(struct walk *w, const struct field *f, const char *path, json_object *v,
		    void *obj)
{
	const char *s;
	int r = get_str(w, path, v, MAX_STR, false, &s);

	return r < 0 ? r : dup_into(w, AT(obj, f->arg, char *), s);
}

static int set_text(struct walk *w, const struct field *f, const char *path, json_object *v,
		    void *obj)
{
	const char *s;
	int r = get_str(w, path, v, VMCONFIG_MAX_BODY, true, &s);

	return r < 0 ? r : dup_into(w, AT(obj, f->arg, char *), s);
}

/* A count from 1 to hi into the u32 at f->arg. */
static int set_count(struct walk *w, const struct field *f, const char *path, json_object *v,
		     void *obj, u64 hi)
{
	u64 n;
	int r = get_int(w, path, v, 1, hi, &n);

	if (r == 0)
		*AT(obj, f->arg, u32) = (u32)n;
	return r;
}

static int set_vcpus(struct walk *w, const struct field *f, const char *path, json_object *v,
		     void *obj)
{
	return set_count(w, f, path, v, obj, MAX_VCPUS);
}

/* Only recorded: Kata asks for the host's CPU count, often more than merak runs. */
static int set_max_vcpus(struct walk *w, const struct field *f, const char *path, json_object *v,
			 void *obj)
{
	return set_count(w, f, path, v, obj, MAX_MAX_VCPUS);
}

static int set_mem_size(struct walk *w, const struct field *f, const char *path, json_object *v,
			void *obj)
{
	u64 n;

	if (!json_object_is_type(v, json_type_int))
		return type_error(w, path, "an integer (bytes)", v);
	n = (u64)json_object_get_int64(v);
	if (json_object_get_int64(v) < 0 || !vm_mem_size_valid(n))
		return errf(w->e, -EINVAL,
			    "%s: must be a multiple of 1 MiB from 8 MiB to 1 TiB, got %.40s", path,
			    json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
	*AT(obj, f->arg, u64) = n;
	return 0;
}

/* An id: Cloud Hypervisor keeps names starting with "__" for its own devices. */
static int set_id(struct walk *w, const struct field *f, const char *path, json_object *v,
		  void *obj)
{
	const char *s;
	int r = get_str(w, path, v, VM_ID_MAX - 1, false, &s);

	if (r < 0)
		return r;
	if (!strncmp(s, "__", 2) && !(f->dstr && !strcmp(s, f->dstr)))
		return errf(w->e, -EINVAL, "%s: '%.64s': ids starting with \"__\" are reserved",
			    path, s);
	snprintf(AT(obj, f->arg, char), VM_ID_MAX, "%s", s);
	return 0;
}

static int set_serial(struct walk *w, const struct field *f, const char *path, json_object *v,
		      void *obj)
{
	struct disk_config *d = obj;
	const char *s;
	int r = get_str(w, path, v, DISK_SERIAL_MAX, true, &s);

	if (r == 0)
		snprintf(d->serial, sizeof(d->serial), "%s", s);
	return r;
}

/* num_queues: 1 to MAX_VCPUS accepted (a queue per vCPU), more than merak serves capped. */
static int set_disk_queues(struct walk *w, const struct field *f, const char *path, json_object *v,
			   void *obj)
{
	u64 n;
	int r = get_int(w, path, v, 1, MAX_VCPUS, &n);

	if (r == 0)
		((struct disk_config *)obj)->num_queues = (u16)MIN(n, (u64)DISK_MAX_QUEUES);
	return r;
}

/* A virtqueue size: a power of two from min to VIRTQ_MAX. */
static int get_queue_size(struct walk *w, const char *path, json_object *v, u64 min, u64 *n)
{
	int r = get_int(w, path, v, min, VIRTQ_MAX, n);

	if (r == 0 && (*n & (*n - 1)))
		return errf(w->e, -EINVAL, "%s: %llu is not a power of two", path,
			    (unsigned long long)*n);
	return r;
}

/* queue_size: f->arg the smallest; above what the walker takes, capped. */
static int set_disk_queue_size(struct walk *w, const struct field *f, const char *path,
			       json_object *v, void *obj)
{
	u64 n;
	int r = get_queue_size(w, path, v, f->arg, &n);

	if (r == 0)
		((struct disk_config *)obj)->queue_size = (u16)MIN(n, (u64)DISK_QUEUE_SIZE_MAX);
	return r;
}

/* Cloud Hypervisor's testing switch: true is preadv/pwritev; false the default choice. */
static int set_disable_io_uring(struct walk *w, const struct field *f, const char *path,
				json_object *v, void *obj)
{
	bool b = false;
	int r = get_bool(w, path, v, &b);

	if (r == 0)
		((struct disk_config *)obj)->backend = b ? DISK_BACKEND_PREADV : DISK_BACKEND_AUTO;
	return r;
}

static int set_poll_queue(struct walk *w, const struct field *f, const char *path,
			  json_object *v, void *obj)
{
	bool b = true;
	int r = get_bool(w, path, v, &b);

	if (r == 0)
		((struct disk_config *)obj)->no_poll = !b;
	return r;
}

static int set_image_type(struct walk *w, const struct field *f, const char *path, json_object *v,
			  void *obj)
{
	const char *s;
	int r = get_str(w, path, v, 32, false, &s);

	if (r < 0)
		return r;
	if (!strcmp(s, "Raw") || !strcmp(s, "Unknown"))
		return 0;
	if (!strcmp(s, "FixedVhd") || !strcmp(s, "Qcow2") || !strcmp(s, "Vhdx"))
		return errf(w->e, -EINVAL, "%s: \"%s\" is not supported by merak (only Raw)", path,
			    s);
	return errf(w->e, -EINVAL, "%s: expected Raw, Unknown, FixedVhd, Qcow2 or Vhdx, got \"%s\"",
		    path, s);
}

static int set_tap(struct walk *w, const struct field *f, const char *path, json_object *v,
		   void *obj)
{
	struct net_config *n = obj;
	const char *s;
	int r = get_str(w, path, v, sizeof(n->tap) - 1, false, &s);

	if (r == 0)
		snprintf(n->tap, sizeof(n->tap), "%s", s);
	return r;
}

static int set_mac(struct walk *w, const struct field *f, const char *path, json_object *v,
		   void *obj)
{
	struct net_config *n = obj;
	const char *s;
	int r = get_str(w, path, v, 32, false, &s);

	if (r < 0)
		return r;
	if (vm_parse_mac(s, n->mac) < 0)
		return errf(w->e, -EINVAL,
			    "%s: '%s' is not a unicast MAC address like 52:54:00:12:34:56", path,
			    s);
	n->has_mac = true;
	return 0;
}

static int set_cid(struct walk *w, const struct field *f, const char *path, json_object *v,
		   void *obj)
{
	struct vsock_config *vs = obj;
	u64 cid;
	int r = get_int(w, path, v, VSOCK_CID_MIN, VSOCK_CID_MAX, &cid);

	if (r == 0)
		vs->cid = (u32)cid;
	return r;
}

/* merak's virtio-rng reads getrandom(2), which is what both devices give. */
static int set_rng_src(struct walk *w, const struct field *f, const char *path, json_object *v,
		       void *obj)
{
	struct vm_config *cfg = obj;
	const char *s;
	int r = get_str(w, path, v, MAX_STR, false, &s);

	if (r < 0)
		return r;
	return vm_config_set_rng_src(cfg, path, s, w->e);
}

static int set_chardev_mode(struct walk *w, const struct field *f, const char *path, json_object *v,
			    void *obj)
{
	static const struct {
		const char *name;
		enum chardev_mode mode;
	} modes[] = {
	    {"Off", CHARDEV_OFF},
	    {"Null", CHARDEV_NULL},
	    {"Tty", CHARDEV_TTY},
	    {"File", CHARDEV_FILE},
	    {"Pty", CHARDEV_PTY},
	    {"Socket", CHARDEV_SOCKET},
	};
	struct chardev_config *c = obj;
	const char *s;
	int r = get_str(w, path, v, 32, false, &s);

	if (r < 0)
		return r;
	for (size_t i = 0; i < ARRAY_SIZE(modes); i++)
		if (!strcmp(s, modes[i].name)) {
			c->mode = modes[i].mode;
			return 0;
		}
	return errf(w->e, -EINVAL,
		    "%s: expected Off, Null, Tty, File, Pty or Socket, got \"%.32s\"", path, s);
}

static int set_hex48(struct walk *w, const struct field *f, const char *path, json_object *v,
		     void *obj)
{
	struct tdx_config *t = &((struct vm_config *)obj)->tdx;
	u8 *dst[] = {t->mrconfigid, t->mrowner, t->mrownerconfig};
	bool *has[] = {&t->has_mrconfigid, &t->has_mrowner, &t->has_mrownerconfig};
	const char *s;
	int r = get_str(w, path, v, 96, false, &s);

	if (r == 0)
		r = vm_parse_hex48(path, s, dst[f->arg], w->e);
	if (r == 0)
		*has[f->arg] = true;
	return r;
}

static int set_quote_socket(struct walk *w, const struct field *f, const char *path, json_object *v,
			    void *obj)
{
	struct vm_config *cfg = obj;
	const char *s;
	int r = get_str(w, path, v, MAX_STR, false, &s);

	if (r == 0)
		r = vm_check_quote_socket(path, s, w->e);
	return r < 0 ? r : dup_into(w, &cfg->tdx.quote_socket, s);
}

static int set_tsc_khz(struct walk *w, const struct field *f, const char *path, json_object *v,
		       void *obj)
{
	struct vm_config *cfg = obj;

	return get_int(w, path, v, 1, 0xffffffffULL, &cfg->tdx.tsc_khz);
}

static int set_irqchip(struct walk *w, const struct field *f, const char *path, json_object *v,
		       void *obj)
{
	struct vm_config *cfg = obj;
	const char *s;
	int r = get_str(w, path, v, 32, false, &s);

	if (r < 0)
		return r;
	if (vm_parse_irqchip(s, &cfg->irqchip) < 0)
		return errf(w->e, -EINVAL, "%s: expected \"kernel\" or \"split\", got \"%.32s\"",
			    path, s);
	cfg->irqchip_set = true;
	return 0;
}

static int set_remove_id(struct walk *w, const struct field *f, const char *path, json_object *v,
			 void *obj)
{
	const char *s;
	int r = get_str(w, path, v, VM_ID_MAX - 1, false, &s);

	if (r == 0)
		snprintf(obj, VM_ID_MAX, "%s", s);
	return r;
}

/* ---- hints: checked as Cloud Hypervisor would, then dropped ---- */

static int hint_bool(struct walk *w, const struct field *f, const char *path, json_object *v,
		     void *obj)
{
	bool b;

	return get_bool(w, path, v, &b);
}

static int hint_bytes(struct walk *w, const struct field *f, const char *path, json_object *v,
		      void *obj)
{
	u64 n;

	return get_int(w, path, v, 0, INT64_MAX, &n);
}

static int hint_mergeable(struct walk *w, const struct field *f, const char *path, json_object *v,
			  void *obj)
{
	return get_bool(w, path, v, &w->mergeable);
}

/* A virtqueue size merak does not use: checked only; f->arg is the smallest. */
static int hint_queue_size(struct walk *w, const struct field *f, const char *path, json_object *v,
			   void *obj)
{
	u64 n;

	return get_queue_size(w, path, v, f->arg, &n);
}

static int hint_lock_granularity(struct walk *w, const struct field *f, const char *path,
				 json_object *v, void *obj)
{
	const char *s;
	int r = get_str(w, path, v, 32, false, &s);

	if (r == 0 && strcmp(s, "ByteRange") && strcmp(s, "Full"))
		return errf(w->e, -EINVAL, "%s: expected ByteRange or Full, got \"%.32s\"", path,
			    s);
	return r;
}

static int hint_fds(struct walk *w, const struct field *f, const char *path, json_object *v,
		    void *obj)
{
	if (!json_object_is_type(v, json_type_array))
		return type_error(w, path, "an array of integers", v);
	for (size_t i = 0; i < json_object_array_length(v); i++)
		if (!json_object_is_type(json_object_array_get_idx(v, i), json_type_int))
			return errf(w->e, -EINVAL, "%s[%zu]: expected an integer, got %s", path, i,
				    type_name(json_object_array_get_idx(v, i)));
	return 0;
}

static int hint_pci_segments(struct walk *w, const struct field *f, const char *path,
			     json_object *v, void *obj)
{
	u64 n;

	return get_int(w, path, v, 1, MAX_PCI_SEGS, &n);
}

static int set_topo(struct walk *w, const struct field *f, const char *path, json_object *v,
		    void *obj)
{
	return get_int(w, path, v, 1, 65535, &w->topo[f->arg]);
}

static int walk_object(struct walk *w, const char *path, json_object *v, const struct table *t,
		       void *obj);
static const struct table topology_t;

static int hint_topology(struct walk *w, const struct field *f, const char *path, json_object *v,
			 void *obj)
{
	w->topo_given = true;
	w->topo[0] = w->topo[2] = w->topo[3] = 1;
	w->topo[1] = 0;
	return walk_object(w, path, v, &topology_t, NULL);
}

/* ---- lists of devices ---- */

static const struct table disk_t, net_t;

static int set_disks(struct walk *w, const struct field *f, const char *path, json_object *v,
		     void *obj)
{
	struct vm_config *cfg = obj;
	size_t n;

	if (!json_object_is_type(v, json_type_array))
		return type_error(w, path, "an array", v);
	n = json_object_array_length(v);
	if (n > MAX_DISKS)
		return errf(w->e, -EINVAL, "%s: merak takes at most %d disks, got %zu", path,
			    MAX_DISKS, n);
	for (size_t i = 0; i < n; i++) {
		struct disk_config *d = &cfg->disks[cfg->n_disks];
		char item[PATH_LEN];
		int r;

		snprintf(item, sizeof(item), "%s[%zu]", path, i);
		memset(d, 0, sizeof(*d));
		r = walk_object(w, item, json_object_array_get_idx(v, i), &disk_t, d);
		if (r < 0) {
			vmconfig_disk_free(d);
			return r;
		}
		cfg->n_disks++;
	}
	return 0;
}

static int set_nets(struct walk *w, const struct field *f, const char *path, json_object *v,
		    void *obj)
{
	struct vm_config *cfg = obj;
	size_t n;

	if (!json_object_is_type(v, json_type_array))
		return type_error(w, path, "an array", v);
	n = json_object_array_length(v);
	if (n > MAX_NETS)
		return errf(w->e, -EINVAL, "%s: merak takes at most %d network devices, got %zu",
			    path, MAX_NETS, n);
	for (size_t i = 0; i < n; i++) {
		struct net_config *nc = &cfg->nets[cfg->n_nets];
		char item[PATH_LEN];
		int r;

		snprintf(item, sizeof(item), "%s[%zu]", path, i);
		memset(nc, 0, sizeof(*nc));
		r = walk_object(w, item, json_object_array_get_idx(v, i), &net_t, nc);
		if (r < 0)
			return r;
		cfg->n_nets++;
	}
	return 0;
}

/* ---- checks across one object's fields ---- */

static int cpus_check(struct walk *w, const char *path, void *obj)
{
	struct vm_config *cfg = obj;
	u64 cores;

	if (cfg->max_cpus < cfg->cpus)
		return errf(w->e, -EINVAL, "%s.max_vcpus: %u is below boot_vcpus (%u)", path,
			    cfg->max_cpus, cfg->cpus);
	if (!w->topo_given)
		return 0;
	cores = w->topo[1] ? w->topo[1] : cfg->max_cpus;
	if (w->topo[0] != 1 || w->topo[2] != 1 || w->topo[3] != 1 || cores != cfg->max_cpus)
		return errf(w->e, -EINVAL,
			    "%s.topology: not supported by merak (its vCPUs are cores of one "
			    "package, one thread each: only threads_per_core 1, cores_per_die %u "
			    "(max_vcpus), dies_per_package 1, packages 1)",
			    path, cfg->max_cpus);
	return 0;
}

static int memory_check(struct walk *w, const char *path, void *obj)
{
	struct vm_config *cfg = obj;

	if (cfg->mem_shared && w->mergeable)
		return errf(w->e, -EINVAL, "%s.mergeable: cannot be true with shared true", path);
	return 0;
}

static int chardev_check(struct walk *w, const char *path, void *obj)
{
	struct chardev_config *c = obj;

	if (c->mode == CHARDEV_FILE && !c->path)
		return errf(w->e, -EINVAL, "%s.file: required with mode File", path);
	if (c->mode != CHARDEV_FILE && c->path)
		return errf(w->e, -EINVAL, "%s.file: only with mode File", path);
	if (c->mode == CHARDEV_SOCKET && !c->socket)
		return errf(w->e, -EINVAL, "%s.socket: required with mode Socket", path);
	if (c->mode != CHARDEV_SOCKET && c->socket)
		return errf(w->e, -EINVAL, "%s.socket: only with mode Socket", path);
	return 0;
}

static int rng_check(struct walk *w, const char *path, void *obj)
{
	((struct vm_config *)obj)->rng = true;
	return 0;
}

static int vsock_check(struct walk *w, const char *path, void *obj)
{
	((struct vsock_config *)obj)->enabled = true;
	return 0;
}

/* ---- the tables: Cloud Hypervisor's schema, object by object ---- */

static const struct field topology_t_f[] = {
    HINTED("threads_per_core", set_topo, 0, "must be 1"),
    HINTED("cores_per_die", set_topo, 1, "must be max_vcpus"),
    HINTED("dies_per_package", set_topo, 2, "must be 1"),
    HINTED("packages", set_topo, 3, "must be 1"),
};
TABLE(topology_t, "CpuTopology", NULL);

static const struct field features_t_f[] = {
    ONLY_BOOL("amx", 0, NULL),
};
TABLE(features_t, "CpuFeatures", NULL);

static const struct field cpus_t_f[] = {
    REQUIRED("boot_vcpus", set_vcpus, OFF(vm_config, cpus), "1 to 64"),
    REQUIRED("max_vcpus", set_max_vcpus, OFF(vm_config, max_cpus),
	     "boot_vcpus to 8192 (Kata sends the host's CPU count); recorded and shown, no CPU "
	     "hotplug: boot_vcpus run"),
    {.name = "topology",
     .policy = HINT,
     .set = hint_topology,
     .sub = &topology_t,
     .note = "only the shape merak gives its vCPUs: one package, one die, one thread per "
	     "core, max_vcpus cores"},
    ONLY_BOOL("kvm_hyperv", 0, "no Hyper-V enlightenments"),
    ONLY_INT("max_phys_bits", 46, "Cloud Hypervisor's default; merak shows the host's"),
    ONLY_BOOL("nested", 1, NULL),
    EMPTY_LIST("affinity", "no vCPU pinning"),
    ONLY_OBJECT("features", features_t, NULL),
    ONLY_STR("core_scheduling", "Vm", NULL),
};
TABLE(cpus_t, "CpusConfig", cpus_check);

static const struct field memory_t_f[] = {
    REQUIRED("size", set_mem_size, OFF(vm_config, mem_size),
	     "a multiple of 1 MiB from 8 MiB to 1 TiB"),
    HINTED("hotplug_size", hint_bytes, 0,
	   "accepted (Kata sends the host's RAM), not shown: no memory hotplug"),
    ABSENT("hotplugged_size", NULL),
    HINTED("mergeable", hint_mergeable, 0,
	   "accepted, not done (no KSM advice); refused with shared true, as Cloud Hypervisor "
	   "does"),
    ONLY_STR("hotplug_method", "Acpi", NULL),
    HONOUR("shared", set_bool, OFF(vm_config, mem_shared),
	   "recorded and shown; guest RAM is a private anonymous mapping today (no "
	   "vhost-user backend needs it shared)"),
    ONLY_BOOL("hugepages", 0, NULL),
    ABSENT("hugepage_size", NULL),
    ONLY_BOOL("prefault", 0, NULL),
    ONLY_BOOL("reserve", 0, NULL),
    HINTED("thp", hint_bool, 0, "accepted; transparent huge pages follow the host's setting"),
    EMPTY_LIST("zones", NULL),
};
TABLE(memory_t, "MemoryConfig", memory_check);

static const struct field payload_t_f[] = {
    HONOUR("firmware", set_path, OFF(vm_config, firmware), NULL),
    HONOUR("kernel", set_path, OFF(vm_config, kernel),
	   "with firmware too: handed to the firmware through fw_cfg"),
    HONOUR("cmdline", set_text, OFF(vm_config, cmdline), "needs kernel"),
    HONOUR("initramfs", set_path, OFF(vm_config, initramfs), "needs kernel"),
    ABSENT("igvm", NULL),
    ABSENT("host_data", "SEV-SNP"),
};
TABLE(payload_t, "PayloadConfig", NULL);

static const struct field disk_t_f[] = {
    REQUIRED("path", set_path, OFF(disk_config, path), "required by merak (no vhost-user)"),
    HONOUR("readonly", set_bool, OFF(disk_config, readonly), NULL),
    HONOUR("direct", set_bool, OFF(disk_config, direct),
	   "O_DIRECT; guest buffers must suit the host's block size; picks io_uring"),
    ONLY_BOOL("iommu", 0, NULL),
    HONOUR("num_queues", set_disk_queues, 0,
	   "1 to 64 accepted; up to 8 request queues (VIRTIO_BLK_F_MQ), more capped at 8"),
    HONOUR("queue_size", set_disk_queue_size, 4,
	   "a power of two from 4 to 32768 accepted; offered up to 1024; absent: 256"),
    HONOUR("disable_io_uring", set_disable_io_uring, 0,
	   "true: preadv/pwritev; false/absent: io_uring with direct, else preadv"),
    HONOUR("poll_queue", set_poll_queue, 0,
	   "true/absent: the worker polls the queues for up to 256 us after a request"),
    ONLY_BOOL("vhost_user", 0, NULL),
    ABSENT("vhost_socket", NULL),
    ABSENT("rate_limiter_config", NULL),
    ONLY_INT("pci_segment", 0, NULL),
    ABSENT("pci_device_id", NULL),
    HONOUR("id", set_id, OFF(disk_config, id), "made up (_diskN) when absent"),
    HONOUR("serial", set_serial, 0, "up to 20 bytes"),
    ABSENT("rate_limit_group", NULL),
    EMPTY_LIST("queue_affinity", NULL),
    ONLY_BOOL("backing_files", 0, NULL),
    ONLY_BOOL("sparse", 1, NULL),
    HONOUR("image_type", set_image_type, 0, "Raw, or Unknown (read as raw); others refused"),
    HINTED("lock_granularity", hint_lock_granularity, 0,
	   "ByteRange or Full accepted; merak flock(2)s the whole image"),
};
TABLE(disk_t, "DiskConfig", NULL);

static const struct field net_t_f[] = {
    HONOUR("tap", set_tap, 0,
	   "an existing tap's name (created if missing, not addressed); or the fd sent "
	   "with vm.add-net"),
    ONLY_STR("ip", "192.168.249.1", "merak does not address the tap"),
    ONLY_STR("mask", "255.255.255.0", NULL),
    HONOUR("mac", set_mac, 0, "unicast; absent: 52:54:00:12:34:(56+index)"),
    ABSENT("host_mac", NULL),
    ABSENT("mtu", NULL),
    ONLY_BOOL("iommu", 0, NULL),
    ONLY_INT("num_queues", 2, "one queue pair"),
    HINTED("queue_size", hint_queue_size, 2,
	   "a power of two from 2 to 32768 accepted; merak offers 256"),
    ONLY_BOOL("vhost_user", 0, NULL),
    ABSENT("vhost_socket", NULL),
    ONLY_STR("vhost_mode", "Client", NULL),
    HONOUR("id", set_id, OFF(net_config, id), "made up (_netN) when absent"),
    ONLY_INT("pci_segment", 0, NULL),
    ABSENT("pci_device_id", NULL),
    ABSENT("rate_limiter_config", NULL),
    ONLY_BOOL("offload_tso", 1, "offloads follow what the guest and the tap accept"),
    ONLY_BOOL("offload_ufo", 1, NULL),
    ONLY_BOOL("offload_csum", 1, NULL),
    HINTED("fds", hint_fds, 0,
	   "not in the schema, Cloud Hypervisor's own: numbers ignored, the tap fd comes with "
	   "the request (SCM_RIGHTS), at most one"),
};
TABLE(net_t, "NetConfig", NULL);

static const struct field rng_t_f[] = {
    REQUIRED("src", set_rng_src, 0,
	     "/dev/urandom or /dev/random; merak's virtio-rng reads getrandom(2)"),
    {.name = "id",
     .policy = HONOURED,
     .set = set_id,
     .arg = OFF(vm_config, rng_id),
     .dstr = "__rng",
     .note = "\"__rng\" when absent"},
    ONLY_BOOL("iommu", 0, NULL),
    ONLY_INT("pci_segment", 0, NULL),
    ABSENT("pci_device_id", NULL),
};
TABLE(rng_t, "RngConfig", rng_check);

static const struct field serial_t_f[] = {
    HONOUR("file", set_path, OFF(chardev_config, path), "with mode File, and only then"),
    HONOUR("socket", set_path, OFF(chardev_config, socket), "with mode Socket, and only then"),
    REQUIRED("mode", set_chardev_mode, 0, "Off, Null, Tty, File, Pty or Socket"),
    ONLY_BOOL("iommu", 0,
	      "not in the schema's SerialConfig: Kata's client sends serial as a ConsoleConfig"),
};
TABLE(serial_t, "SerialConfig", chardev_check);

static const struct field console_t_f[] = {
    HONOUR("file", set_path, OFF(chardev_config, path), "with mode File, and only then"),
    HONOUR("socket", set_path, OFF(chardev_config, socket), "with mode Socket, and only then"),
    REQUIRED("mode", set_chardev_mode, 0, "Off, Null, Tty, File, Pty or Socket"),
    ONLY_BOOL("iommu", 0, NULL),
    {.name = "id",
     .policy = HONOURED,
     .set = set_id,
     .arg = OFF(chardev_config, id),
     .dstr = "__console",
     .note = "\"__console\" when absent"},
    ONLY_INT("pci_segment", 0, NULL),
    ABSENT("pci_device_id", NULL),
};
TABLE(console_t, "ConsoleConfig", chardev_check);

static const struct field debug_console_t_f[] = {
    ABSENT("file", NULL),
    {.name = "mode", .policy = DEFAULT_ONLY, .required = true, .dflt = D_STR, .dstr = "Off"},
    ONLY_INT("iobase", 0xe9, NULL),
};
TABLE(debug_console_t, "DebugConsoleConfig", NULL);

static const struct field vsock_t_f[] = {
    REQUIRED("cid", set_cid, 0, "3 to 4294967294"),
    REQUIRED("socket", set_path, OFF(vsock_config, socket),
	     "the host side: a unix socket at this path"),
    ONLY_BOOL("iommu", 0, NULL),
    ONLY_INT("pci_segment", 0, NULL),
    ABSENT("pci_device_id", NULL),
    HONOUR("id", set_id, OFF(vsock_config, id), "made up (_vsockN) when absent"),
};
TABLE(vsock_t, "VsockConfig", vsock_check);

static const struct field platform_t_f[] = {
    HINTED("num_pci_segments", hint_pci_segments, 0,
	   "1 to 96 accepted (Kata asks for 2); merak has one PCI segment"),
    EMPTY_LIST("iommu_segments", NULL),
    ONLY_INT("iommu_address_width_bits", 64, NULL),
    ABSENT("system_serial_number", "no SMBIOS tables"),
    ABSENT("serial_number", NULL),
    ABSENT("system_uuid", NULL),
    ABSENT("uuid", NULL),
    EMPTY_LIST("oem_strings", NULL),
    ABSENT("system_manufacturer", NULL),
    ABSENT("system_product_name", NULL),
    ABSENT("system_version", NULL),
    ABSENT("system_family", NULL),
    ABSENT("system_sku_number", NULL),
    ABSENT("chassis_asset_tag", NULL),
    HONOUR("tdx", set_bool, OFF(vm_config, tdx.enabled), "a TD; needs payload.firmware"),
    ONLY_BOOL("sev_snp", 0, NULL),
    ONLY_BOOL("iommufd", 0, NULL),
    ONLY_BOOL("vfio_p2p_dma", 1, NULL),
    /* merak's own, spelled as --platform's keys. */
    HONOUR("debug", set_bool, OFF(vm_config, tdx.debug), "merak's own: a debug TD"),
    HONOUR("sept-ve-disable", set_bool, OFF(vm_config, tdx.sept_ve_disable),
	   "merak's own; default true"),
    HONOUR("mrconfigid", set_hex48, 0, "merak's own: 96 hex digits"),
    HONOUR("mrowner", set_hex48, 1, "merak's own: 96 hex digits"),
    HONOUR("mrownerconfig", set_hex48, 2, "merak's own: 96 hex digits"),
    HONOUR("quote-socket", set_quote_socket, 0, "merak's own: unix:PATH or vsock:CID:PORT"),
    HONOUR("tsc-khz", set_tsc_khz, 0, "merak's own: the TD's TSC frequency"),
    HONOUR("irqchip", set_irqchip, 0,
	   "merak's own: \"kernel\" or \"split\" (a TD is always split)"),
};
TABLE(platform_t, "PlatformConfig", NULL);

static const struct field vmconfig_t_f[] = {
    OBJECT("cpus", cpus_t, 0, "absent: 1 vCPU"),
    OBJECT("memory", memory_t, 0, "absent: 512 MiB"),
    {.name = "payload",
     .policy = HONOURED,
     .required = true,
     .sub = &payload_t,
     .note = "kernel or firmware"},
    EMPTY_LIST("rate_limit_groups", NULL),
    LIST("disks", set_disks, disk_t, "up to 8"),
    LIST("net", set_nets, net_t, "up to 4"),
    OBJECT("rng", rng_t, 0, "always present, as in Cloud Hypervisor"),
    ABSENT("balloon", NULL),
    EMPTY_LIST("fs", "no virtio-fs"),
    EMPTY_LIST("generic_vhost_user", NULL),
    EMPTY_LIST("pmem", NULL),
    OBJECT("serial", serial_t, OFF(vm_config, serial), "absent: mode Null"),
    OBJECT("console", console_t, OFF(vm_config, console), "absent: mode Tty"),
    ONLY_OBJECT("debug_console", debug_console_t, "mode Off"),
    EMPTY_LIST("devices", "no VFIO"),
    EMPTY_LIST("user_devices", NULL),
    EMPTY_LIST("vdpa", NULL),
    OBJECT("vsock", vsock_t, OFF(vm_config, vsock), "at most one"),
    EMPTY_LIST("numa", NULL),
    ONLY_BOOL("iommu", 0, NULL),
    ONLY_BOOL("watchdog", 0, NULL),
    ABSENT("rtc", NULL),
    ONLY_BOOL("pvpanic", 0, NULL),
    EMPTY_LIST("pci_segments", NULL),
    OBJECT("platform", platform_t, 0, NULL),
    ABSENT("tpm", NULL),
    ONLY_BOOL("landlock_enable", 0, NULL),
    EMPTY_LIST("landlock_rules", NULL),
};
TABLE(vmconfig_t, "VmConfig", NULL);

static const struct field remove_t_f[] = {
    REQUIRED("id", set_remove_id, 0, NULL),
};
TABLE(remove_t, "VmRemoveDevice", NULL);

/* vm.resize: what is asked for; -1 (all ones) for what is not. */
struct resize_req {
	u64 vcpus, ram, balloon;
};

static int set_resize_u64(struct walk *w, const struct field *f, const char *path, json_object *v,
			  void *obj)
{
	u64 *slot = (u64 *)((char *)obj + f->arg);

	return get_int(w, path, v, 0, INT64_MAX, slot);
}

static const struct field resize_t_f[] = {
    HONOUR("desired_vcpus", set_resize_u64, OFF(resize_req, vcpus),
	   "only the vCPU count the VM has: no CPU hotplug"),
    HONOUR("desired_ram", set_resize_u64, OFF(resize_req, ram),
	   "only the memory the VM has: no memory hotplug"),
    HONOUR("desired_balloon", set_resize_u64, OFF(resize_req, balloon), "only 0: no balloon"),
};
TABLE(resize_t, "VmResize", NULL);

/* ---- the walker ---- */

static const struct field *find_field(const struct table *t, const char *name)
{
	for (size_t i = 0; i < t->n; i++)
		if (!strcmp(t->fields[i].name, name))
			return &t->fields[i];
	return NULL;
}

static int check_default(struct walk *w, const struct field *f, const char *path, json_object *v)
{
	switch (f->dflt) {
	case D_ABSENT:
		break;
	case D_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			return type_error(w, path, "true or false", v);
		if (json_object_get_boolean(v) == (f->dint != 0))
			return 0;
		return errf(w->e, -EINVAL, "%s: merak supports only %s", path,
			    f->dint ? "true" : "false");
	case D_INT:
		if (!json_object_is_type(v, json_type_int))
			return type_error(w, path, "an integer", v);
		if (json_object_get_int64(v) == f->dint)
			return 0;
		return errf(w->e, -EINVAL, "%s: merak supports only %lld", path, f->dint);
	case D_STR:
		if (!json_object_is_type(v, json_type_string))
			return type_error(w, path, "a string", v);
		if (!strcmp(json_object_get_string(v), f->dstr))
			return 0;
		return errf(w->e, -EINVAL, "%s: merak supports only \"%s\"", path, f->dstr);
	case D_EMPTY_LIST:
		if (!json_object_is_type(v, json_type_array))
			return type_error(w, path, "an array", v);
		if (json_object_array_length(v) == 0)
			return 0;
		break;
	case D_OBJECT:
		return walk_object(w, path, v, f->sub, NULL);
	}
	return errf(w->e, -EINVAL, "%s: not supported by merak", path);
}

static int walk_object(struct walk *w, const char *path, json_object *v, const struct table *t,
		       void *obj)
{
	if (!json_object_is_type(v, json_type_object))
		return type_error(w, path[0] ? path : t->name, "an object", v);
	json_object_object_foreach(v, key, val)
	{
		const struct field *f = find_field(t, key);
		char sub[PATH_LEN];
		int r;

		if (!f)
			return errf(w->e, -EINVAL, "unknown field '%.64s' in %s", key,
				    path[0] ? path : t->name);
		if (!val)
			continue; /* null: as if absent */
		join(sub, path, key);
		if (f->policy == DEFAULT_ONLY)
			r = check_default(w, f, sub, val);
		else if (f->set)
			r = f->set(w, f, sub, val, obj);
		else
			r = walk_object(w, sub, val, f->sub, AT(obj, f->arg, char));
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < t->n; i++) {
		json_object *x;
		char sub[PATH_LEN];

		if (!t->fields[i].required)
			continue;
		if (json_object_object_get_ex(v, t->fields[i].name, &x) && x)
			continue;
		join(sub, path, t->fields[i].name);
		return errf(w->e, -EINVAL, "%s: required", sub);
	}
	return t->check ? t->check(w, path, obj) : 0;
}

/* The body as JSON: strict, bounded in size and depth, one object and nothing after it. */
static int parse_body(const char *json, size_t len, const struct table *t, json_object **out,
		      struct err *e)
{
	struct json_tokener *tok;
	enum json_tokener_error jerr;
	json_object *root;
	size_t end;

	if (!json || !len)
		return errf(e, -EINVAL, "empty body: expected a %s object", t->name);
	if (len > VMCONFIG_MAX_BODY)
		return errf(e, -EINVAL, "body of %zu bytes: over the limit of %d", len,
			    VMCONFIG_MAX_BODY);
	if (memchr(json, '\0', len))
		return errf(e, -EINVAL, "body: contains a NUL byte");
	tok = json_tokener_new_ex(VMCONFIG_MAX_DEPTH);
	if (!tok)
		return errf(e, -ENOMEM, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, json, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	if (jerr == json_tokener_continue) {
		/* A bare number or literal only ends at the end of the input: say so. */
		root = json_tokener_parse_ex(tok, "", 1);
		jerr = json_tokener_get_error(tok);
		end = len;
	}
	json_tokener_free(tok);
	if (jerr == json_tokener_error_depth) {
		json_object_put(root);
		return errf(e, -EINVAL, "body: JSON nested deeper than %d levels",
			    VMCONFIG_MAX_DEPTH);
	}
	if (jerr == json_tokener_continue || jerr == json_tokener_error_parse_eof) {
		json_object_put(root);
		return errf(e, -EINVAL, "body: JSON ends too early");
	}
	if (jerr != json_tokener_success) {
		json_object_put(root);
		return errf(e, -EINVAL, "body: malformed JSON near byte %zu: %s", end,
			    json_tokener_error_desc(jerr));
	}
	for (; end < len; end++)
		if (!strchr(" \t\r\n", json[end])) {
			json_object_put(root);
			return errf(e, -EINVAL, "body: something after the JSON value, at byte %zu",
				    end);
		}
	if (!json_object_is_type(root, json_type_object)) {
		int r = errf(e, -EINVAL, "body: expected a %s object, got %s", t->name,
			     root ? type_name(root) : "null");

		json_object_put(root);
		return r;
	}
	*out = root;
	return 0;
}

static int parse_with(const char *json, size_t len, const struct table *t, void *obj,
		      struct walk *w)
{
	json_object *root;
	int r = parse_body(json, len, t, &root, w->e);

	if (r < 0)
		return r;
	r = walk_object(w, "", root, t, obj);
	json_object_put(root);
	return r;
}

/* ---- vm.create ---- */

/* Cloud Hypervisor's defaults (vmm/src/vm_config.rs), and merak's for what it alone has. */
static void api_defaults(struct vm_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->cpus = 1;
	cfg->max_cpus = 1;
	cfg->mem_size = 512 * MiB;
	cfg->serial.mode = CHARDEV_NULL;
	cfg->console.mode = CHARDEV_TTY;
	cfg->rng = true; /* rng_src NULL: /dev/urandom */
	cfg->irqchip = IRQCHIP_KERNEL;
	cfg->tdx.sept_ve_disable = true;
	cfg->seccomp = 1;
	cfg->api_fd = -1;
}

struct idref {
	const char *id;
	char owner[24];
};

static unsigned list_ids(const struct vm_config *cfg, struct idref *out)
{
	unsigned n = 0;

	for (unsigned i = 0; i < cfg->n_disks; i++) {
		out[n].id = cfg->disks[i].id;
		snprintf(out[n++].owner, sizeof(out->owner), "disks[%u]", i);
	}
	for (unsigned i = 0; i < cfg->n_nets; i++) {
		out[n].id = cfg->nets[i].id;
		snprintf(out[n++].owner, sizeof(out->owner), "net[%u]", i);
	}
	if (cfg->rng) {
		out[n].id = cfg->rng_id;
		snprintf(out[n++].owner, sizeof(out->owner), "rng");
	}
	if (cfg->console.mode != CHARDEV_OFF) {
		out[n].id = cfg->console.id;
		snprintf(out[n++].owner, sizeof(out->owner), "console");
	}
	if (cfg->vsock.enabled) {
		out[n].id = cfg->vsock.id;
		snprintf(out[n++].owner, sizeof(out->owner), "vsock");
	}
	return n;
}

/* Ids given in one body are unique across devices, and no image is two disks. */
static int check_unique(const struct vm_config *cfg, struct err *e)
{
	struct idref ids[MAX_DISKS + MAX_NETS + 3];
	unsigned n = list_ids(cfg, ids);

	for (unsigned i = 0; i < n; i++)
		for (unsigned j = 0; j < i && ids[i].id[0]; j++)
			if (!strcmp(ids[i].id, ids[j].id))
				return errf(e, -EINVAL, "%s.id: '%s' is also the id of %s",
					    ids[i].owner, ids[i].id, ids[j].owner);
	for (unsigned i = 0; i < cfg->n_disks; i++)
		for (unsigned j = 0; j < i; j++)
			if (!strcmp(cfg->disks[i].path, cfg->disks[j].path))
				return errf(e, -EINVAL, "disks[%u].path: '%s' is also disks[%u]", i,
					    cfg->disks[i].path, j);
	return 0;
}

int vmconfig_parse(const char *json, size_t len, struct vm_config *cfg, struct err *e)
{
	struct walk w = {.e = e};
	int r;

	api_defaults(cfg);
	r = parse_with(json, len, &vmconfig_t, cfg, &w);
	if (r == 0)
		r = check_unique(cfg, e);
	if (r == 0)
		r = vm_config_check(cfg, CONFIG_API, e);
	if (r < 0) {
		vm_config_free(cfg);
		return r;
	}
	vm_config_finalize(cfg);
	return 0;
}

/* ---- the device bodies ---- */

void vmconfig_disk_free(struct disk_config *d)
{
	free(d->path);
	memset(d, 0, sizeof(*d));
}

void vmconfig_net_free(struct net_config *n)
{
	for (unsigned i = 0; i < n->n_fds && i < NET_MAX_FDS; i++)
		close(n->fds[i]);
	memset(n, 0, sizeof(*n));
}

void vmconfig_vsock_free(struct vsock_config *v)
{
	free(v->socket);
	memset(v, 0, sizeof(*v));
}

/* A device's body into obj (zeroed first); on failure free_fn leaves it empty again. */
static int parse_device(const char *json, size_t len, const struct table *t, void *obj, size_t size,
			void (*free_fn)(void *), struct err *e)
{
	struct walk w = {.e = e};
	int r;

	memset(obj, 0, size);
	r = parse_with(json, len, t, obj, &w);
	if (r < 0)
		free_fn(obj);
	return r;
}

int vmconfig_parse_disk(const char *json, size_t len, struct disk_config *d, struct err *e)
{
	return parse_device(json, len, &disk_t, d, sizeof(*d), (void (*)(void *))vmconfig_disk_free,
			    e);
}

int vmconfig_parse_net(const char *json, size_t len, struct net_config *n, struct err *e)
{
	return parse_device(json, len, &net_t, n, sizeof(*n), (void (*)(void *))vmconfig_net_free, e);
}

int vmconfig_parse_vsock(const char *json, size_t len, struct vsock_config *v, struct err *e)
{
	return parse_device(json, len, &vsock_t, v, sizeof(*v),
			    (void (*)(void *))vmconfig_vsock_free, e);
}

int vmconfig_parse_remove(const char *json, size_t len, char id[VM_ID_MAX], struct err *e)
{
	struct walk w = {.e = e};

	id[0] = '\0';
	return parse_with(json, len, &remove_t, id, &w);
}

int vmconfig_check_resize(const char *json, size_t len, const struct vm_config *cfg,
			  struct err *e)
{
	struct resize_req q = {UINT64_MAX, UINT64_MAX, UINT64_MAX};
	struct walk w = {.e = e};
	int r = parse_with(json, len, &resize_t, &q, &w);

	if (r < 0)
		return r;
	if (!cfg)
		return errf(e, -ENOENT, "no VM is created");
	if (q.vcpus != UINT64_MAX && q.vcpus != cfg->cpus)
		return errf(e, -ENOTSUP,
			    "desired_vcpus: %llu asked, the VM has %u: merak has no CPU hotplug",
			    (unsigned long long)q.vcpus, cfg->cpus);
	if (q.ram != UINT64_MAX && q.ram != cfg->mem_size)
		return errf(e, -ENOTSUP,
			    "desired_ram: %llu asked, the VM has %llu: merak has no memory hotplug",
			    (unsigned long long)q.ram, (unsigned long long)cfg->mem_size);
	if (q.balloon != UINT64_MAX && q.balloon != 0)
		return errf(e, -ENOTSUP, "desired_balloon: merak has no balloon device");
	return 0;
}

int vmconfig_net_set_fds(struct net_config *n, const int *fds, unsigned count, struct err *e)
{
	if (count > NET_MAX_FDS)
		return errf(e, -EINVAL,
			    "net: %u tap fds came with the request: merak's virtio-net has one "
			    "queue pair and takes one",
			    count);
	for (unsigned i = 0; i < count; i++)
		if (fds[i] <= 2)
			return errf(e, -EINVAL, "net: fd %d cannot be a tap (0-2 are stdio)",
				    fds[i]);
	if (!count)
		return 0;
	for (unsigned i = 0; i < n->n_fds && i < NET_MAX_FDS; i++)
		close(n->fds[i]);
	for (unsigned i = 0; i < count; i++)
		n->fds[i] = fds[i];
	n->n_fds = count;
	return 0;
}

/* ---- adding and removing ---- */

static int check_new_id(const struct vm_config *cfg, const char *id, struct err *e)
{
	char owner[32];

	if (id[0] && vm_config_id_used(cfg, id, owner, sizeof(owner)))
		return errf(e, -EEXIST, "id '%s' is already %s's", id, owner);
	return 0;
}

int vmconfig_add_disk(struct vm_config *cfg, struct disk_config *d, struct err *e)
{
	struct disk_config *slot;
	int r;

	if (!d->path || !d->path[0])
		return errf(e, -EINVAL, "path: required");
	r = check_new_id(cfg, d->id, e);
	if (r < 0)
		return r;
	for (unsigned i = 0; i < cfg->n_disks; i++)
		if (!strcmp(cfg->disks[i].path, d->path))
			return errf(e, -EEXIST, "path '%s' is already a disk (id '%s')", d->path,
				    cfg->disks[i].id);
	if (cfg->n_disks >= MAX_DISKS)
		return errf(e, -ENOSPC, "merak takes at most %d disks, and this VM has them",
			    MAX_DISKS);
	slot = &cfg->disks[cfg->n_disks];
	*slot = *d;
	if (!slot->id[0])
		vm_config_new_id(cfg, "_disk", slot->id);
	cfg->n_disks++;
	memset(d, 0, sizeof(*d));
	return 0;
}

int vmconfig_add_net(struct vm_config *cfg, struct net_config *n, struct err *e)
{
	struct net_config *slot;
	int r;

	if (!n->tap[0] && !n->n_fds)
		return errf(e, -EINVAL,
			    "tap: required unless the tap's fd comes with the request (merak does "
			    "not make up and address a tap)");
	r = check_new_id(cfg, n->id, e);
	if (r < 0)
		return r;
	if (cfg->n_nets >= MAX_NETS)
		return errf(e, -ENOSPC,
			    "merak takes at most %d network devices, and this VM has them",
			    MAX_NETS);
	slot = &cfg->nets[cfg->n_nets];
	*slot = *n;
	if (!slot->id[0])
		vm_config_new_id(cfg, "_net", slot->id);
	cfg->n_nets++;
	memset(n, 0, sizeof(*n));
	return 0;
}

int vmconfig_add_vsock(struct vm_config *cfg, struct vsock_config *v, struct err *e)
{
	int r;

	if (!v->socket || !vm_vsock_cid_valid(v->cid))
		return errf(e, -EINVAL, "cid and socket: required");
	if (cfg->api_socket && !strcmp(v->socket, cfg->api_socket))
		return errf(e, -EINVAL,
			    "socket: '%s' is also the API socket's path: each needs its own",
			    v->socket);
	r = check_new_id(cfg, v->id, e);
	if (r < 0)
		return r;
	if (cfg->vsock.enabled)
		return errf(e, -ENOSPC,
			    "merak takes one vsock device, and this VM has one (id '%s')",
			    cfg->vsock.id);
	cfg->vsock = *v;
	cfg->vsock.enabled = true;
	if (!cfg->vsock.id[0])
		vm_config_new_id(cfg, "_vsock", cfg->vsock.id);
	memset(v, 0, sizeof(*v));
	return 0;
}

int vmconfig_remove(struct vm_config *cfg, const char *id, struct err *e)
{
	if (!id || !id[0])
		return errf(e, -EINVAL, "id: required");
	for (unsigned i = 0; i < cfg->n_disks; i++)
		if (!strcmp(cfg->disks[i].id, id)) {
			vmconfig_disk_free(&cfg->disks[i]);
			memmove(&cfg->disks[i], &cfg->disks[i + 1],
				(cfg->n_disks - i - 1) * sizeof(cfg->disks[0]));
			memset(&cfg->disks[--cfg->n_disks], 0, sizeof(cfg->disks[0]));
			return 0;
		}
	for (unsigned i = 0; i < cfg->n_nets; i++)
		if (!strcmp(cfg->nets[i].id, id)) {
			vmconfig_net_free(&cfg->nets[i]);
			memmove(&cfg->nets[i], &cfg->nets[i + 1],
				(cfg->n_nets - i - 1) * sizeof(cfg->nets[0]));
			memset(&cfg->nets[--cfg->n_nets], 0, sizeof(cfg->nets[0]));
			return 0;
		}
	if (cfg->vsock.enabled && !strcmp(cfg->vsock.id, id)) {
		vmconfig_vsock_free(&cfg->vsock);
		return 0;
	}
	if ((cfg->rng && !strcmp(cfg->rng_id, id)) ||
	    (cfg->console.mode != CHARDEV_OFF && !strcmp(cfg->console.id, id)))
		return errf(e, -ENOENT,
			    "'%s' is the %s, which merak cannot remove (it removes disks, net "
			    "devices and the vsock device)",
			    id, cfg->rng && !strcmp(cfg->rng_id, id) ? "rng" : "console");
	return errf(e, -ENOENT, "no device has id '%.64s'", id);
}

/* ---- back to JSON ---- */

static void put_bool(json_object *o, const char *k, bool v)
{
	json_object_object_add(o, k, json_object_new_boolean(v));
}

static void put_int(json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void put_str(json_object *o, const char *k, const char *v)
{
	if (v)
		json_object_object_add(o, k, json_object_new_string(v));
}

static void put_hex48(json_object *o, const char *k, const u8 b[48])
{
	char hex[97];

	for (int i = 0; i < 48; i++)
		snprintf(hex + 2 * i, 3, "%02x", b[i]);
	put_str(o, k, hex);
}

static const char *chardev_mode_name(enum chardev_mode m)
{
	switch (m) {
	case CHARDEV_NULL:
		return "Null";
	case CHARDEV_TTY:
		return "Tty";
	case CHARDEV_FILE:
		return "File";
	case CHARDEV_PTY:
		return "Pty";
	case CHARDEV_SOCKET:
		return "Socket";
	case CHARDEV_OFF:
		break;
	}
	return "Off";
}

static json_object *chardev_json(const struct chardev_config *c, bool pci)
{
	json_object *o = json_object_new_object();

	put_str(o, "mode", chardev_mode_name(c->mode));
	put_str(o, "file", c->path);
	put_str(o, "socket", c->socket);
	if (pci) {
		if (c->mode != CHARDEV_OFF && c->id[0])
			put_str(o, "id", c->id);
		put_bool(o, "iommu", false);
	}
	return o;
}

static json_object *disk_json(const struct disk_config *d)
{
	json_object *o = json_object_new_object();

	put_str(o, "path", d->path);
	put_bool(o, "readonly", d->readonly);
	put_bool(o, "direct", d->direct);
	put_bool(o, "iommu", false);
	put_int(o, "num_queues", d->num_queues ? d->num_queues : 1);
	put_int(o, "queue_size", d->queue_size ? d->queue_size : VIRTIO_BLK_QUEUE_SIZE);
	if (d->backend == DISK_BACKEND_PREADV)
		put_bool(o, "disable_io_uring", true);
	put_bool(o, "poll_queue", !d->no_poll);
	put_bool(o, "vhost_user", false);
	put_int(o, "pci_segment", 0);
	if (d->id[0])
		put_str(o, "id", d->id);
	if (d->serial[0])
		put_str(o, "serial", d->serial);
	put_bool(o, "backing_files", false);
	put_bool(o, "sparse", true);
	put_str(o, "image_type", "Raw");
	return o;
}

static json_object *net_json(const struct net_config *n)
{
	json_object *o = json_object_new_object();

	if (n->tap[0])
		put_str(o, "tap", n->tap);
	if (n->has_mac) {
		char mac[18];

		snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", n->mac[0], n->mac[1],
			 n->mac[2], n->mac[3], n->mac[4], n->mac[5]);
		put_str(o, "mac", mac);
	}
	put_bool(o, "iommu", false);
	put_int(o, "num_queues", 2);
	put_int(o, "queue_size", NET_QUEUE_SIZE);
	put_bool(o, "vhost_user", false);
	put_str(o, "vhost_mode", "Client");
	if (n->id[0])
		put_str(o, "id", n->id);
	put_int(o, "pci_segment", 0);
	put_bool(o, "offload_tso", true);
	put_bool(o, "offload_ufo", true);
	put_bool(o, "offload_csum", true);
	return o;
}

static json_object *platform_json(const struct vm_config *cfg)
{
	const struct tdx_config *t = &cfg->tdx;
	json_object *o = json_object_new_object();

	put_int(o, "num_pci_segments", 1);
	put_bool(o, "tdx", t->enabled);
	put_bool(o, "sev_snp", false);
	/* merak's own keys, where they say more than their defaults. */
	if (t->enabled || t->debug)
		put_bool(o, "debug", t->debug);
	if (t->enabled || !t->sept_ve_disable)
		put_bool(o, "sept-ve-disable", t->sept_ve_disable);
	if (t->has_mrconfigid)
		put_hex48(o, "mrconfigid", t->mrconfigid);
	if (t->has_mrowner)
		put_hex48(o, "mrowner", t->mrowner);
	if (t->has_mrownerconfig)
		put_hex48(o, "mrownerconfig", t->mrownerconfig);
	put_str(o, "quote-socket", t->quote_socket);
	if (t->tsc_khz)
		put_int(o, "tsc-khz", (int64_t)t->tsc_khz);
	if (cfg->irqchip_set)
		put_str(o, "irqchip", cfg->irqchip == IRQCHIP_SPLIT ? "split" : "kernel");
	return o;
}

json_object *vmconfig_json(const struct vm_config *cfg)
{
	json_object *root = json_object_new_object(), *o;

	if (!root)
		return NULL;
	o = json_object_new_object();
	put_int(o, "boot_vcpus", cfg->cpus);
	put_int(o, "max_vcpus", MAX(cfg->max_cpus, cfg->cpus));
	put_bool(o, "kvm_hyperv", false);
	json_object_object_add(root, "cpus", o);

	o = json_object_new_object();
	put_int(o, "size", (int64_t)cfg->mem_size);
	put_bool(o, "mergeable", false);
	put_str(o, "hotplug_method", "Acpi");
	put_bool(o, "shared", cfg->mem_shared);
	put_bool(o, "hugepages", false);
	put_bool(o, "prefault", false);
	put_bool(o, "reserve", false);
	put_bool(o, "thp", true);
	json_object_object_add(root, "memory", o);

	o = json_object_new_object();
	put_str(o, "firmware", cfg->firmware);
	put_str(o, "kernel", cfg->kernel);
	put_str(o, "cmdline", cfg->cmdline);
	put_str(o, "initramfs", cfg->initramfs);
	json_object_object_add(root, "payload", o);

	if (cfg->n_disks) {
		o = json_object_new_array();
		for (unsigned i = 0; i < cfg->n_disks; i++)
			json_object_array_add(o, disk_json(&cfg->disks[i]));
		json_object_object_add(root, "disks", o);
	}
	if (cfg->n_nets) {
		o = json_object_new_array();
		for (unsigned i = 0; i < cfg->n_nets; i++)
			json_object_array_add(o, net_json(&cfg->nets[i]));
		json_object_object_add(root, "net", o);
	}
	if (cfg->rng) {
		o = json_object_new_object();
		put_str(o, "src", cfg->rng_src ? cfg->rng_src : "/dev/urandom");
		if (cfg->rng_id[0])
			put_str(o, "id", cfg->rng_id);
		put_bool(o, "iommu", false);
		json_object_object_add(root, "rng", o);
	}
	json_object_object_add(root, "serial", chardev_json(&cfg->serial, false));
	json_object_object_add(root, "console", chardev_json(&cfg->console, true));
	if (cfg->vsock.enabled) {
		o = json_object_new_object();
		put_int(o, "cid", cfg->vsock.cid);
		put_str(o, "socket", cfg->vsock.socket);
		put_bool(o, "iommu", false);
		put_int(o, "pci_segment", 0);
		if (cfg->vsock.id[0])
			put_str(o, "id", cfg->vsock.id);
		json_object_object_add(root, "vsock", o);
	}
	put_bool(root, "iommu", false);
	put_bool(root, "watchdog", false);
	put_bool(root, "pvpanic", false);
	json_object_object_add(root, "platform", platform_json(cfg));
	return root;
}

/* ---- the policy, for the documentation ---- */

static void describe(const struct table *t, const char *prefix, vmconfig_describe_fn fn, void *ctx)
{
	for (size_t i = 0; i < t->n; i++) {
		const struct field *f = &t->fields[i];
		char path[PATH_LEN], dflt[64] = "";
		const char *policy;

		snprintf(path, sizeof(path), "%s%s%s%s", prefix, prefix[0] ? "." : "", f->name,
			 f->list ? "[]" : "");
		if (f->policy == DEFAULT_ONLY) {
			policy = "default only";
			switch (f->dflt) {
			case D_ABSENT:
				snprintf(dflt, sizeof(dflt), "absent");
				break;
			case D_BOOL:
				snprintf(dflt, sizeof(dflt), "%s", f->dint ? "true" : "false");
				break;
			case D_INT:
				snprintf(dflt, sizeof(dflt), "%lld", f->dint);
				break;
			case D_STR:
				snprintf(dflt, sizeof(dflt), "\"%s\"", f->dstr);
				break;
			case D_EMPTY_LIST:
				snprintf(dflt, sizeof(dflt), "[]");
				break;
			case D_OBJECT:
				snprintf(dflt, sizeof(dflt), "its fields at default");
				break;
			}
		} else if (f->policy == HINT) {
			policy = f->required ? "hint, required" : "hint";
		} else {
			policy = f->required ? "honoured, required" : "honoured";
		}
		if (f->policy == DEFAULT_ONLY && f->required)
			policy = "default only, required";
		fn(ctx, path, policy, dflt[0] ? dflt : NULL, f->note);
		if (f->sub)
			describe(f->sub, path, fn, ctx);
	}
}

void vmconfig_describe(vmconfig_describe_fn fn, void *ctx)
{
	describe(&vmconfig_t, "", fn, ctx);
	describe(&remove_t, "VmRemoveDevice", fn, ctx);
	describe(&resize_t, "VmResize", fn, ctx);
}
