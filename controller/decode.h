/*
 * decode: one Kubernetes object as cJSON -> one compact record (records.h).
 *
 * Unknown fields are ignored and JSON null counts as absent, as in Go. A field of the wrong type,
 * a bad time or duration, a missing metadata.name or a bad status.certificate is an error whose
 * message names the JSON path, e.g. "status.notAfter: not an RFC 3339 time: \"soon\"". Values
 * quoted in messages are cut short and stripped of control characters.
 *
 * Thread-safe (the intern table locks itself). obj is borrowed; on success the caller owns the
 * record and frees it with rec_free(in, rec).
 */
#ifndef DECODE_H
#define DECODE_H

#include "intern.h"
#include "records.h"
#include "resource.h"

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

/* The identity of an object, borrowed from its JSON (valid while obj lives). */
struct dec_key {
	const char *k_ns;    /* metadata.namespace; "" for cluster-scoped kinds */
	const char *k_name;  /* metadata.name */
	const char *k_rv;    /* metadata.resourceVersion, "" when absent */
};

/*
 * Read only the identity of obj, an object of kind. Returns CC_OK; CC_ERR_PARSE when metadata,
 * metadata.name, or (for namespaced kinds) metadata.namespace is missing, of the wrong type or
 * too long; CC_ERR_INVAL when obj.kind is present and names another kind. err gets the message.
 */
int dec_key(enum res_kind kind, const cJSON *obj, struct dec_key *key, char *err, size_t errlen);

/*
 * Decode obj as a record of kind (RES_CERTIFICATE ... RES_POD). On success *out is a new record
 * (struct rec_cert *, struct rec_cr *, ... as kind says) with m_desc -1 and m_seen 0. On failure
 * returns CC_ERR_PARSE or CC_ERR_INVAL, leaves *out NULL and writes "path: problem" into err.
 */
int dec_record(struct intern *in, enum res_kind kind, const cJSON *obj, void **out, char *err,
    size_t errlen);

/*
 * Decode the text of status.certificate (base64 of a PEM bundle) into concatenated DER.
 * On success *der is a new buffer of *len bytes (freed with free) holding *ncerts certificates.
 * Errors (CC_ERR_PARSE) say what was wrong without a path; dec_record adds it.
 */
int dec_cert_bundle(const char *b64, unsigned char **der, size_t *len, uint32_t *ncerts,
    char *err, size_t errlen);

/*
 * Helpers for messages about JSON input, shared by every reader of API objects (decode, lease).
 * dec_quote: a short printable copy of s (control bytes, quotes and backslashes become '?'; past
 * DEC_QUOTE_MAX bytes it ends in "..."); buf needs DEC_QUOTE_MAX + 4 bytes to hold the most.
 * dec_type_name: "a string", "a number", ... for "want X, got Y" messages.
 * dec_child: the member key of obj, or NULL when obj is NULL, has none, or it is JSON null (Go
 * reads null as absent).
 */
#define DEC_QUOTE_MAX 40
void dec_quote(const char *s, char *buf, size_t len);
const char *dec_type_name(const cJSON *v);
const cJSON *dec_child(const cJSON *obj, const char *key);

#endif
