/*
 * Tests of controller/log: a message stays on its one line whatever it quotes, JSON lines parse
 * back to the message, bytes that are not UTF-8 are escaped in both formats, credentials are
 * redacted, and the level filter holds.
 */
#include <criterion/criterion.h>

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Log one message in fmt and return what was written (caller frees). */
static char *
tl_capture(enum log_format fmt, enum log_level min, enum log_level lvl, const char *msg)
{
	FILE *f = tmpfile();
	cr_assert_not_null(f);
	log_setup(fmt, min);
	log_set_fd(fileno(f));
	log_write(lvl, "tl_func", "%s", msg);
	log_set_fd(-1);
	log_setup(LOG_FORMAT_TEXT, LOG_INFO);
	cr_assert_geq(fseek(f, 0, SEEK_END), 0);
	long n = ftell(f);
	cr_assert_geq(n, 0);
	char *out = calloc(1, (size_t)n + 1);
	cr_assert_not_null(out);
	rewind(f);
	cr_assert_eq(fread(out, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return out;
}

static size_t
tl_count(const char *s, char c)
{
	size_t n = 0;
	for (; *s; s++)
		n += *s == c;
	return n;
}

Test(log, text_stays_on_one_line)
{
	const struct {
		const char *name, *msg, *want;
	} cases[] = {
		{"newline", "order failed\nFAKE error forged line", "order failed\\nFAKE error forged line"},
		{"carriage return", "a\rb", "a\\rb"},
		{"tab", "a\tb", "a\\tb"},
		{"escape byte", "a\x1b[31mred", "a\\x1b[31mred"},
		{"delete", "a\x7f", "a\\x7f"},
		{"backslash (so escapes are unambiguous)", "C:\\path", "C:\\\\path"},
		{"stray byte", "shop\xff\xfe", "shop\\xff\\xfe"},
		{"truncated sequence", "caf\xc3", "caf\\xc3"},
		{"overlong slash", "\xc0\xaf", "\\xc0\\xaf"},
		{"surrogate", "\xed\xa0\x80", "\\xed\\xa0\\x80"},
		{"valid UTF-8 kept", "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x94\x92",
		    "caf\xc3\xa9 \xe2\x9c\x93 \xf0\x9f\x94\x92"},
		{"quotes kept", "name \"x\"", "name \"x\""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *out = tl_capture(LOG_FORMAT_TEXT, LOG_INFO, LOG_WARN, cases[i].msg);
		cr_expect_eq(tl_count(out, '\n'), 1, "%s: one line, got %s", cases[i].name, out);
		cr_expect_not_null(strstr(out, " warn  tl_func: "), "%s: %s", cases[i].name, out);
		const char *m = strstr(out, "tl_func: ");
		cr_assert_not_null(m);
		m += strlen("tl_func: ");
		cr_expect_eq(strncmp(m, cases[i].want, strlen(cases[i].want)), 0, "%s: got %s", cases[i].name, m);
		cr_expect_eq(m[strlen(cases[i].want)], '\n', "%s: got %s", cases[i].name, m);
		free(out);
	}
}

Test(log, json_parses_back)
{
	const struct {
		const char *name, *msg, *want;
	} cases[] = {
		{"plain", "hello", "hello"},
		{"quotes and backslash", "say \"hi\" \\ there", "say \"hi\" \\ there"},
		{"newline and control", "a\nb\x01", "a\nb\x01"},
		{"valid UTF-8", "caf\xc3\xa9", "caf\xc3\xa9"},
		{"stray bytes become U+FFFD", "x\xff" "y", "x\xef\xbf\xbdy"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *out = tl_capture(LOG_FORMAT_JSON, LOG_INFO, LOG_ERROR, cases[i].msg);
		cr_expect_eq(tl_count(out, '\n'), 1, "%s: one line", cases[i].name);
		cJSON *j = cJSON_Parse(out);
		cr_assert_not_null(j, "%s: not JSON: %s", cases[i].name, out);
		cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "msg")), cases[i].want, "%s",
		    cases[i].name);
		cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "level")), "error");
		cr_expect_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "func")), "tl_func");
		cJSON_Delete(j);
		free(out);
	}
}

Test(log, credentials_redacted)
{
	char *out = tl_capture(LOG_FORMAT_TEXT, LOG_INFO, LOG_INFO,
	    "request failed: Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.secret-part rest");
	cr_expect_null(strstr(out, "eyJhbGciOiJSUzI1NiJ9"), "token leaked: %s", out);
	cr_expect_not_null(strstr(out, "Bearer [redacted] rest"), "%s", out);
	free(out);
	out = tl_capture(LOG_FORMAT_JSON, LOG_INFO, LOG_INFO,
	    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\n-----END PRIVATE KEY-----");
	cr_expect_null(strstr(out, "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"), "key leaked: %s", out);
	cr_expect_not_null(strstr(out, "[redacted]"), "%s", out);
	free(out);
}

Test(log, level_filter)
{
	char *out = tl_capture(LOG_FORMAT_TEXT, LOG_INFO, LOG_DEBUG, "quiet");
	cr_expect_str_eq(out, "", "debug written at info: %s", out);
	free(out);
	out = tl_capture(LOG_FORMAT_TEXT, LOG_DEBUG, LOG_DEBUG, "loud");
	cr_expect_not_null(strstr(out, " debug tl_func: loud\n"), "%s", out);
	free(out);
}
