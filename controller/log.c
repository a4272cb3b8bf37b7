/* log: the process's single writer of diagnostic lines. */
#include "log.h"

#include "cc_err.h"
#include "utf8.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static enum log_format log_fmt = LOG_FORMAT_TEXT;
static enum log_level log_min = LOG_INFO;
static int log_fd = 2;

static const char *const log_names[] = {"debug", "info", "warn", "error"};

void
log_setup(enum log_format fmt, enum log_level min)
{
	log_fmt = fmt;
	log_min = min;
}

void
log_set_fd(int fd)
{
	log_fd = fd < 0 ? 2 : fd;
}

int
log_parse_format(const char *s, enum log_format *out)
{
	if (s && strcmp(s, "text") == 0)
		*out = LOG_FORMAT_TEXT;
	else if (s && strcmp(s, "json") == 0)
		*out = LOG_FORMAT_JSON;
	else
		return CC_ERR_INVAL;
	return CC_OK;
}

int
log_parse_level(const char *s, enum log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (s && strcmp(s, log_names[i]) == 0) {
			*out = (enum log_level)i;
			return CC_OK;
		}
	}
	return CC_ERR_INVAL;
}

/*
 * Blank out anything after "Bearer " and whole PEM private-key blocks. Callers are not meant to
 * log such things; this only stops an accident from leaking a credential into log storage.
 */
static void
log_redact(char *s)
{
	char *p;
	while ((p = strstr(s, "Bearer ")) != NULL) {
		char *v = p + 7;
		size_t n = strcspn(v, " \t\r\n\"'");
		const char *r = "[redacted]";
		size_t rl = strlen(r);
		if (n < rl) {
			memset(v, '*', n);
		} else {
			memcpy(v, r, rl);
			memmove(v + rl, v + n, strlen(v + n) + 1);
		}
		s = v + (n < rl ? n : rl);
	}
	while ((p = strstr(s, "PRIVATE KEY-----")) != NULL) {
		char *end = strstr(p + 16, "-----END");
		char *stop = end ? end : p + strlen(p);
		char *from = p + 16;
		const char *r = "[redacted]";
		size_t rl = strlen(r);
		if ((size_t)(stop - from) >= rl) {
			memcpy(from, r, rl);
			memmove(from + rl, stop, strlen(stop) + 1);
		}
		s = from + rl <= from + strlen(from) ? from + rl : from;
		if (end == NULL)
			break;
	}
}

/*
 * Write s so that it stays on its line and is valid UTF-8: a quoted newline must not forge a
 * log line of its own, and a log shipper must not choke on a stray byte. JSON gets its escapes
 * (a byte that is not UTF-8 becomes U+FFFD); text gets \n, \r, \t, \\ and \xNN for other
 * control bytes and for bytes that are not UTF-8.
 */
static void
log_escape(FILE *f, const char *str, int json)
{
	const unsigned char *s = (const unsigned char *)str;
	while (*s) {
		unsigned char c = *s;
		size_t n = utf8_len(s);
		if (n > 1) {
			fwrite(s, 1, n, f);
			s += n;
			continue;
		}
		s++;
		if (n == 0) {
			if (json)
				fputs("\\ufffd", f);
			else
				fprintf(f, "\\x%02x", c);
		} else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\r')
			fputs("\\r", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c == '\\')
			fputs("\\\\", f);
		else if (json && c == '"')
			fputs("\\\"", f);
		else if (c < 0x20 || c == 0x7f) {
			if (json)
				fprintf(f, "\\u%04x", c);
			else
				fprintf(f, "\\x%02x", c);
		} else
			fputc(c, f);
	}
}

/* printf-checked through its callers; the attribute says so to compilers that follow va_list */
__attribute__((format(printf, 3, 0))) static void
log_vwrite(enum log_level lvl, const char *func, const char *fmt, va_list ap)
{
	char msg[4096];
	vsnprintf(msg, sizeof msg, fmt, ap);
	log_redact(msg);

	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct tm tm;
	gmtime_r(&ts.tv_sec, &tm);
	char when[96]; /* sized for the widest int fields so the format can never truncate */
	snprintf(when, sizeof when, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
	    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
	    (int)(ts.tv_nsec / 1000000));

	char *line = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&line, &len);
	if (f == NULL)
		return;
	if (log_fmt == LOG_FORMAT_JSON) {
		fprintf(f, "{\"ts\":\"%s\",\"level\":\"%s\",\"func\":\"", when, log_names[lvl]);
		log_escape(f, func, 1);
		fputs("\",\"msg\":\"", f);
		log_escape(f, msg, 1);
		fputs("\"}\n", f);
	} else {
		fprintf(f, "%s %-5s %s: ", when, log_names[lvl], func);
		log_escape(f, msg, 0);
		fputc('\n', f);
	}
	fclose(f);

	pthread_mutex_lock(&log_mu);
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(log_fd, line + off, len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	pthread_mutex_unlock(&log_mu);
	free(line);
}

void
log_write(enum log_level lvl, const char *func, const char *fmt, ...)
{
	if (lvl < log_min)
		return;
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(lvl, func, fmt, ap);
	va_end(ap);
}

void
log_fatal(const char *func, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(LOG_ERROR, func, fmt, ap);
	va_end(ap);
	abort();
}
