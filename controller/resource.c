/* resource: descriptors of the watched resources and their URL paths. */
#include "resource.h"

#include "cc_err.h"
#include "records.h"

#include <stdio.h>
#include <string.h>

static const struct res_desc res_descs[RES_DESC_COUNT] = {
	{0, RES_CERTIFICATE, "certificates", "cert-manager.io", "v1", "certificates",
	    "CertificateList", 1, NULL},
	{1, RES_CERTIFICATEREQUEST, "certificaterequests", "cert-manager.io", "v1",
	    "certificaterequests", "CertificateRequestList", 1, NULL},
	{2, RES_ISSUER, "issuers", "cert-manager.io", "v1", "issuers", "IssuerList", 1, NULL},
	{3, RES_CLUSTERISSUER, "clusterissuers", "cert-manager.io", "v1", "clusterissuers",
	    "ClusterIssuerList", 0, NULL},
	{4, RES_ORDER, "orders", "acme.cert-manager.io", "v1", "orders", "OrderList", 1, NULL},
	{5, RES_CHALLENGE, "challenges", "acme.cert-manager.io", "v1", "challenges",
	    "ChallengeList", 1, NULL},
	/*
	 * Events about cert-manager objects only, selected by the API server, without certcast's
	 * own: the field "source" is source.component, or reportingComponent when that is empty
	 * (as in every events.k8s.io/v1 Event). The store drops them too, for any server that
	 * does not (store.h says why).
	 */
	{6, RES_EVENT, "events-cert-manager", "", "v1", "events", "EventList", 1,
	    "involvedObject.apiVersion=cert-manager.io/v1,source!=" REC_OWN_COMPONENT},
	{7, RES_EVENT, "events-acme", "", "v1", "events", "EventList", 1,
	    "involvedObject.apiVersion=acme.cert-manager.io/v1,source!=" REC_OWN_COMPONENT},
	{8, RES_POD, "pods", "", "v1", "pods", "PodList", 1, NULL},
};

static const char *const res_kind_names[RES_KIND_COUNT] = {
	"Certificate", "CertificateRequest", "Issuer", "ClusterIssuer",
	"Order", "Challenge", "Event", "Pod",
};

const struct res_desc *
res_table(void)
{
	return res_descs;
}

const char *
res_kind_name(enum res_kind k)
{
	if ((int)k < 0 || k >= RES_KIND_COUNT)
		return "Unknown";
	return res_kind_names[k];
}

int
res_kind_from_name(const char *kind)
{
	for (int i = 0; kind && i < RES_KIND_COUNT; i++)
		if (strcmp(kind, res_kind_names[i]) == 0)
			return i;
	return -1;
}

int
res_collection_path(const struct res_desc *d, const char *ns, const char *pod_ns, char *out,
    size_t outsz)
{
	char prefix[128];
	int n;
	if (d->rd_group[0] == '\0')
		n = snprintf(prefix, sizeof prefix, "/api/%s", d->rd_version);
	else
		n = snprintf(prefix, sizeof prefix, "/apis/%s/%s", d->rd_group, d->rd_version);
	if (n < 0 || (size_t)n >= sizeof prefix)
		return CC_ERR_TOOBIG;
	if (d->rd_kind == RES_POD && pod_ns != NULL)
		ns = pod_ns;
	if (d->rd_namespaced && ns != NULL && ns[0] != '\0')
		n = snprintf(out, outsz, "%s/namespaces/%s/%s", prefix, ns, d->rd_plural);
	else
		n = snprintf(out, outsz, "%s/%s", prefix, d->rd_plural);
	if (n < 0 || (size_t)n >= outsz)
		return CC_ERR_TOOBIG;
	return CC_OK;
}

int
res_dns_label_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 63 || s[0] == '-' || s[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return 0;
	return 1;
}

int
res_dns_subdomain_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 253)
		return 0;
	/*
	 * Kubernetes' rule: labels of [a-z0-9-] joined by single dots, each starting and ending
	 * with a letter or digit. Unlike a namespace, a label here has no 63-character limit.
	 */
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		int edge = i == 0 || i == n - 1 || s[i - 1] == '.' || s[i + 1] == '.';
		if (alnum)
			continue;
		if (edge || (c != '-' && c != '.'))
			return 0;
	}
	return 1;
}
