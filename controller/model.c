/* model: the shared learned model, its ledger of learned outcomes, and its checkpoint file. */
#include "model.h"
#include "hash.h"

#include "cc_err.h"
#include "ledger.h"
#include "log.h"
#include "scoring.h"
#include "xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MDL_LEDGER_DEFAULT 65536
#define MDL_MAGIC "certcast-state"
#define MDL_SUM_LINE 25 /* "fnv1a64 " + 16 hex digits + "\n" */

struct mdl {
	pthread_mutex_t m_mu;
	struct lm_model m_lm;
	struct ldg *m_ldg;
	uint64_t m_unsaved;      /* outcomes learned since the last save or load */
};

struct mdl *
mdl_new(size_t ledger_max)
{
	struct mdl *m = xcalloc(1, sizeof *m);
	pthread_mutex_init(&m->m_mu, NULL);
	lm_init(&m->m_lm, NULL);
	m->m_ldg = ldg_new(ledger_max ? ledger_max : MDL_LEDGER_DEFAULT);
	return m;
}

void
mdl_free(struct mdl *m)
{
	if (m == NULL)
		return;
	ldg_free(m->m_ldg);
	pthread_mutex_destroy(&m->m_mu);
	free(m);
}

int
mdl_is_learned(struct mdl *m, const char *id, int64_t when)
{
	pthread_mutex_lock(&m->m_mu);
	int r = ldg_has(m->m_ldg, id, when);
	pthread_mutex_unlock(&m->m_mu);
	return r;
}

int
mdl_learn(struct mdl *m, const char *id, int64_t when, const struct lm_features *f, int failed)
{
	pthread_mutex_lock(&m->m_mu);
	int fresh = !ldg_has(m->m_ldg, id, when);
	if (fresh) {
		lm_update(&m->m_lm, f, failed != 0);
		(void)ldg_add(m->m_ldg, id, when);
		m->m_unsaved++;
	}
	pthread_mutex_unlock(&m->m_mu);
	return fresh;
}

void
mdl_snapshot(struct mdl *m, struct lm_model *out)
{
	pthread_mutex_lock(&m->m_mu);
	*out = m->m_lm;
	pthread_mutex_unlock(&m->m_mu);
}

void
mdl_calibration(struct mdl *m, struct lm_calibration *cal, uint64_t *failed, uint64_t *succeeded)
{
	pthread_mutex_lock(&m->m_mu);
	lm_calibration(&m->m_lm, cal);
	pthread_mutex_unlock(&m->m_mu);
	/* with no forgetting (the default) both are whole counts kept as doubles */
	double n = cal->cal_n > 0 ? cal->cal_n : 0, pos = llround(cal->cal_base_rate * n);
	if (pos > n)
		pos = n;
	if (failed)
		*failed = (uint64_t)pos;
	if (succeeded)
		*succeeded = (uint64_t)llround(n - pos);
}

uint64_t
mdl_unsaved(struct mdl *m)
{
	pthread_mutex_lock(&m->m_mu);
	uint64_t n = m->m_unsaved;
	pthread_mutex_unlock(&m->m_mu);
	return n;
}

/* Encode with the lock held. */
static int
mdl_encode_locked(struct mdl *m, struct buf *out)
{
	size_t start = out->b_len, need = 0;
	char *lm = NULL;
	struct buf lb;
	buf_init(&lb, MDL_FILE_MAX);
	int rc = CC_ERR_TOOBIG;
	(void)lm_serialize(&m->m_lm, NULL, 0, &need);
	lm = xmalloc(need + 1);
	if (lm_serialize(&m->m_lm, lm, need + 1, NULL) != SC_OK)
		goto out;
	if (ldg_format(m->m_ldg, &lb) != CC_OK)
		goto out;
	if (buf_printf(out, "%s %d\nmodel %zu\n", MDL_MAGIC, MDL_FORMAT_VERSION, need) != CC_OK ||
	    buf_append(out, lm, need) != CC_OK ||
	    buf_printf(out, "ledger %zu\n", lb.b_len) != CC_OK ||
	    buf_append(out, lb.b_data ? lb.b_data : "", lb.b_len) != CC_OK)
		goto out;
	uint64_t sum = hash_fnv1a(HASH_FNV_INIT, out->b_data + start, out->b_len - start);
	if (buf_printf(out, "fnv1a64 %016" PRIx64 "\n", sum) != CC_OK)
		goto out;
	rc = CC_OK;
out:
	free(lm);
	buf_free(&lb);
	return rc;
}

int
mdl_encode(struct mdl *m, struct buf *out)
{
	pthread_mutex_lock(&m->m_mu);
	int rc = mdl_encode_locked(m, out);
	pthread_mutex_unlock(&m->m_mu);
	return rc;
}

static int
mdl_bad(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
mdl_bad(char *err, size_t errsz, const char *fmt, ...)
{
	if (errsz) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errsz, fmt, ap);
		va_end(ap);
	}
	return CC_ERR_PARSE;
}

/*
 * The section header "NAME BYTES\n" at *p (before end); on success *p moves past it and *n
 * holds BYTES, which fit before end.
 */
static int
mdl_section(const char **p, const char *end, const char *name, size_t *n)
{
	size_t nl = strlen(name), avail = (size_t)(end - *p);
	if (avail < nl + 3 || memcmp(*p, name, nl) != 0 || (*p)[nl] != ' ')
		return -1;
	const char *d = *p + nl + 1, *eol = memchr(d, '\n', (size_t)(end - d));
	if (eol == NULL || eol == d || eol - d > 9)
		return -1;
	size_t v = 0;
	for (const char *q = d; q < eol; q++) {
		if (*q < '0' || *q > '9')
			return -1;
		v = v * 10 + (size_t)(*q - '0');
	}
	if (v > (size_t)(end - (eol + 1)))
		return -1;
	*p = eol + 1;
	*n = v;
	return 0;
}

int
mdl_decode(struct mdl *m, const char *text, size_t len, char *err, size_t errsz)
{
	char why[256] = "";
	size_t ml = strlen(MDL_MAGIC);
	/* the version first: a newer file deserves that message, not a checksum complaint */
	if (len == 0)
		return mdl_bad(err, errsz, "empty file");
	if (len < ml + 1 || memcmp(text, MDL_MAGIC " ", ml + 1) != 0)
		return mdl_bad(err, errsz, "not a certcast state file (line 1 is not \"%s %d\")",
		    MDL_MAGIC, MDL_FORMAT_VERSION);
	const char *v = text + ml + 1, *eol = memchr(v, '\n', len - (ml + 1));
	if (eol == NULL)
		return mdl_bad(err, errsz, "truncated in line 1");
	long ver = 0;
	int digits = 0;
	for (const char *q = v; q < eol; q++, digits++) {
		if (*q < '0' || *q > '9' || digits > 8)
			return mdl_bad(err, errsz, "line 1: malformed version");
		ver = ver * 10 + (*q - '0');
	}
	if (digits == 0)
		return mdl_bad(err, errsz, "line 1: malformed version");
	if (ver != MDL_FORMAT_VERSION)
		return mdl_bad(err, errsz, "unsupported version %ld (this certcast reads version %d)",
		    ver, MDL_FORMAT_VERSION);
	/* then the checksum over everything before its own line */
	if (len < MDL_SUM_LINE || text[len - 1] != '\n' ||
	    memcmp(text + len - MDL_SUM_LINE, "fnv1a64 ", 8) != 0)
		return mdl_bad(err, errsz, "truncated: the checksum line at the end is missing");
	char hex[17];
	memcpy(hex, text + len - MDL_SUM_LINE + 8, 16);
	hex[16] = '\0';
	if (strspn(hex, "0123456789abcdef") != 16)
		return mdl_bad(err, errsz, "malformed checksum line");
	uint64_t want = strtoull(hex, NULL, 16);
	size_t body = len - MDL_SUM_LINE;
	if (hash_fnv1a(HASH_FNV_INIT, text, body) != want)
		return mdl_bad(err, errsz, "checksum mismatch: the file is damaged");
	/* the sections */
	const char *p = eol + 1, *end = text + body;
	size_t nm, nl;
	if (mdl_section(&p, end, "model", &nm) != 0)
		return mdl_bad(err, errsz, "line 2: expected \"model BYTES\" within the file");
	const char *mt = p;
	p += nm;
	if (mdl_section(&p, end, "ledger", &nl) != 0)
		return mdl_bad(err, errsz, "expected \"ledger BYTES\" after the model section");
	const char *lt = p;
	if (lt + nl != end)
		return mdl_bad(err, errsz, "%zu unexpected bytes after the ledger section",
		    (size_t)(end - (lt + nl)));
	struct lm_model t;
	if (lm_deserialize(&t, mt, nm, why, sizeof why) != SC_OK)
		return mdl_bad(err, errsz, "model section: %s", why);
	pthread_mutex_lock(&m->m_mu);
	int rc = ldg_parse(m->m_ldg, lt, nl, why, sizeof why);
	if (rc == CC_OK) {
		m->m_lm = t;
		m->m_unsaved = 0;
	}
	pthread_mutex_unlock(&m->m_mu);
	if (rc != CC_OK)
		return mdl_bad(err, errsz, "%s", why);
	return CC_OK;
}

static int
mdl_io(char *err, size_t errsz, const char *path, const char *what, int e)
{
	if (errsz)
		snprintf(err, errsz, "%s: %s: %s", path, what, strerror(e));
	return CC_ERR_IO;
}

/* Write all of p[0..n) to fd. 0, or -1 with errno set. */
static int
mdl_write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
mdl_save(struct mdl *m, const char *path, char *err, size_t errsz)
{
	struct buf b;
	buf_init(&b, MDL_FILE_MAX);
	pthread_mutex_lock(&m->m_mu);
	uint64_t written = m->m_unsaved;
	int rc = mdl_encode_locked(m, &b);
	pthread_mutex_unlock(&m->m_mu);
	if (rc != CC_OK) {
		buf_free(&b);
		if (errsz)
			snprintf(err, errsz, "%s: the state is larger than %u bytes", path,
			    MDL_FILE_MAX);
		return CC_ERR_TOOBIG;
	}
	/* same folder as the target, so that rename() replaces it in one step */
	char *tmp = xasprintf("%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		rc = mdl_io(err, errsz, path, "cannot create a temporary file beside it", errno);
		free(tmp);
		buf_free(&b);
		return rc;
	}
	if (mdl_write_all(fd, b.b_data, b.b_len) != 0) {
		rc = mdl_io(err, errsz, path, "cannot write", errno);
	} else if (fsync(fd) != 0) {
		rc = mdl_io(err, errsz, path, "cannot sync", errno);
	}
	if (close(fd) != 0 && rc == CC_OK)
		rc = mdl_io(err, errsz, path, "cannot close", errno);
	if (rc == CC_OK && rename(tmp, path) != 0)
		rc = mdl_io(err, errsz, path, "cannot replace", errno);
	if (rc != CC_OK) {
		(void)unlink(tmp);
	} else {
		/* the rename itself reaches the disk with the folder */
		char *dir = xstrdup(path), *slash = strrchr(dir, '/');
		if (slash == dir)
			slash[1] = '\0';
		else if (slash)
			*slash = '\0';
		int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
		free(dir);
		pthread_mutex_lock(&m->m_mu);
		/* outcomes learned while writing stay unsaved */
		m->m_unsaved = m->m_unsaved >= written ? m->m_unsaved - written : 0;
		pthread_mutex_unlock(&m->m_mu);
	}
	free(tmp);
	buf_free(&b);
	return rc;
}

int
mdl_load(struct mdl *m, const char *path, char *err, size_t errsz)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		if (e == ENOENT) {
			if (errsz)
				snprintf(err, errsz, "%s: no such file", path);
			return CC_ERR_NOTFOUND;
		}
		return mdl_io(err, errsz, path, "cannot open", e);
	}
	struct stat sb;
	if (fstat(fd, &sb) != 0) {
		int e = errno;
		close(fd);
		return mdl_io(err, errsz, path, "cannot stat", e);
	}
	if (!S_ISREG(sb.st_mode)) {
		close(fd);
		if (errsz)
			snprintf(err, errsz, "%s: not a regular file", path);
		return CC_ERR_IO;
	}
	if (sb.st_size > (off_t)MDL_FILE_MAX) {
		close(fd);
		if (errsz)
			snprintf(err, errsz, "%s: larger than %u bytes, not a certcast state file",
			    path, MDL_FILE_MAX);
		return CC_ERR_TOOBIG;
	}
	size_t cap = (size_t)sb.st_size + 1, n = 0;
	char *text = xmalloc(cap);
	for (;;) {
		if (n == cap) { /* grew since fstat */
			free(text);
			close(fd);
			if (errsz)
				snprintf(err, errsz, "%s: changed while being read", path);
			return CC_ERR_IO;
		}
		ssize_t r = read(fd, text + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			free(text);
			close(fd);
			return mdl_io(err, errsz, path, "cannot read", e);
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	char why[320] = "";
	int rc = mdl_decode(m, text, n, why, sizeof why);
	free(text);
	if (rc != CC_OK && errsz)
		snprintf(err, errsz, "%s: %s", path, why);
	return rc;
}

void
mdl_restore(struct mdl *m, const char *path)
{
	char err[512] = "";
	int rc = mdl_load(m, path, err, sizeof err);
	if (rc == CC_OK) {
		struct lm_calibration cal;
		uint64_t nf = 0, ns = 0;
		mdl_calibration(m, &cal, &nf, &ns);
		log_info("state file %s: learned model restored (%llu outcomes, %llu of them failures)",
		    path, (unsigned long long)(nf + ns), (unsigned long long)nf);
		return;
	}
	if (rc == CC_ERR_NOTFOUND) {
		log_info("state file %s does not exist yet; the learned model starts fresh", path);
		return;
	}
	if (rc == CC_ERR_PARSE || rc == CC_ERR_TOOBIG) {
		char *bad = xasprintf("%s.bad", path);
		int moved = rename(path, bad) == 0;
		log_error("state file %s; the learned model starts fresh%s%s", err,
		    moved ? ", the unusable file is kept as " : "", moved ? bad : "");
		free(bad);
		return;
	}
	log_error("state file %s; the learned model starts fresh", err);
}

int
mdl_checkpoint(struct mdl *m, const char *path)
{
	if (mdl_unsaved(m) == 0)
		return CC_OK;
	char err[512] = "";
	int rc = mdl_save(m, path, err, sizeof err);
	if (rc != CC_OK)
		log_error("state file %s; will try again", err);
	else
		log_debug("state file %s written", path);
	return rc;
}
