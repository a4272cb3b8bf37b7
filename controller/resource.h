/*
 * resource: the table of Kubernetes resources certcast lists and watches.
 *
 * One descriptor per reflector. Two descriptors may feed the same store kind (Events are watched
 * twice, once per cert-manager API group, because a field selector cannot express "either").
 */
#ifndef RESOURCE_H
#define RESOURCE_H

#include <stddef.h>

enum res_kind {
	RES_CERTIFICATE = 0,
	RES_CERTIFICATEREQUEST,
	RES_ISSUER,
	RES_CLUSTERISSUER,
	RES_ORDER,
	RES_CHALLENGE,
	RES_EVENT,
	RES_POD,
	RES_KIND_COUNT
};

struct res_desc {
	int rd_id;                 /* index in the table; records remember which reflector fed them */
	enum res_kind rd_kind;     /* what the store makes of the objects */
	const char *rd_name;       /* short name for logs and metric labels, e.g. "certificates" */
	const char *rd_group;      /* "" for the core group */
	const char *rd_version;    /* "v1" */
	const char *rd_plural;     /* URL resource name */
	const char *rd_list_kind;  /* e.g. "CertificateList", to validate list responses */
	int rd_namespaced;         /* 0 for cluster-scoped resources */
	const char *rd_field_selector; /* server-side filter, or NULL */
};

/* The descriptors, RES_DESC_COUNT of them, in a fixed order. */
#define RES_DESC_COUNT 9
const struct res_desc *res_table(void);

/* Name of a store kind ("Certificate", ...); never NULL. */
const char *res_kind_name(enum res_kind k);

/* True when s is a DNS-1123 label, as Kubernetes requires of namespace names. */
int res_dns_label_ok(const char *s);
/*
 * True when s is a DNS-1123 subdomain (at most 253 characters, dot-separated labels of
 * [a-z0-9-] that start and end alphanumeric), as Kubernetes requires of most object names,
 * Certificates' among them.
 */
int res_dns_subdomain_ok(const char *s);
/* Look a kind up by its Kubernetes Kind string; returns -1 when certcast does not track it. */
int res_kind_from_name(const char *kind);

/*
 * Write the collection path for d into out: /apis/GROUP/VERSION[/namespaces/NS]/PLURAL, or
 * /api/v1/... for the core group. ns may be NULL or "" for all namespaces; it is ignored for
 * cluster-scoped resources. For RES_POD, ns is replaced by pod_ns (cert-manager's namespace)
 * when pod_ns is non-NULL. Returns CC_OK or CC_ERR_TOOBIG.
 */
int res_collection_path(const struct res_desc *d, const char *ns, const char *pod_ns, char *out,
    size_t outsz);

#endif
