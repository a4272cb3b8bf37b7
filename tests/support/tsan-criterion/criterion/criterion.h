/*
 * A stand-in for <criterion/criterion.h>, used only by `make test-tsan`.
 *
 * Why: Criterion cannot start under ThreadSanitizer. Its sandbox (BoxFort) maps an arena at a
 * random fixed address between 0x2000'0000'0000 and 0x6000'0000'0000, which is TSan's shadow
 * and reserved space; TSan refuses the mapping and Criterion aborts with "Could not initialize
 * inheritable arena: Resource temporarily unavailable" before any test runs (Criterion issue
 * #274, open since 2018). The TSan build puts this folder first on the include path, so the
 * unit tests compile unchanged against the few macros below.
 *
 * What it keeps of Criterion: Test and TestSuite with .init, .fini and .timeout; cr_assert*
 * (fails and ends the test) and cr_expect* (fails, the test goes on) for the forms the tests
 * given to test-tsan use; every test in its own forked process, so a crash or a sanitizer
 * report (halt_on_error exits the process) is one test's CRASH; and Criterion's synthesis line,
 * which tests/run-unit.sh reads. Arguments (--jobs, --verbose) are accepted and ignored: tests
 * run one at a time. A macro missing here is a compile error in the TSan build, not a silent
 * pass.
 */
#ifndef CERTCAST_TSAN_CRITERION_H
#define CERTCAST_TSAN_CRITERION_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The options a Test or TestSuite may give (the leading int makes an empty list valid C). */
struct crs_opts {
	int o_unused;
	void (*init)(void);
	void (*fini)(void);
	double timeout; /* seconds; 0: none */
};

struct crs_test {
	const char *t_suite, *t_name;
	void (*t_fn)(void);
	const struct crs_opts *t_opts;
};

struct crs_suite {
	const char *s_name;
	const struct crs_opts *s_opts;
};

#define CRS_MAX 512
static struct crs_test crs_tests[CRS_MAX];
static size_t crs_ntests;
static struct crs_suite crs_suites[CRS_MAX];
static size_t crs_nsuites;
static int crs_failed; /* in the test's process: some expectation failed */

static inline void
crs_add_test(const char *suite, const char *name, void (*fn)(void), const struct crs_opts *o)
{
	if (crs_ntests == CRS_MAX) {
		fprintf(stderr, "tsan-criterion: more than %d tests\n", CRS_MAX);
		abort();
	}
	crs_tests[crs_ntests++] = (struct crs_test){suite, name, fn, o};
}

static inline void
crs_add_suite(const char *name, const struct crs_opts *o)
{
	if (crs_nsuites < CRS_MAX)
		crs_suites[crs_nsuites++] = (struct crs_suite){name, o};
}

#define TestSuite(suite, ...)                                                              \
	static const struct crs_opts crs_suite_opts_##suite = {0, __VA_ARGS__};               \
	__attribute__((constructor)) static void crs_suite_reg_##suite(void)                  \
	{                                                                                      \
		crs_add_suite(#suite, &crs_suite_opts_##suite);                                \
	}                                                                                      \
	extern int crs_suite_semicolon_##suite

#define Test(suite, name, ...)                                                             \
	static void crs_test_##suite##_##name(void);                                           \
	static const struct crs_opts crs_test_opts_##suite##_##name = {0, __VA_ARGS__};       \
	__attribute__((constructor)) static void crs_test_reg_##suite##_##name(void)          \
	{                                                                                      \
		crs_add_test(#suite, #name, crs_test_##suite##_##name,                         \
		    &crs_test_opts_##suite##_##name);                                          \
	}                                                                                      \
	static void crs_test_##suite##_##name(void)

__attribute__((format(printf, 5, 6))) static inline void
crs_fail(int fatal, const char *file, int line, const char *what, const char *fmt, ...)
{
	fprintf(stderr, "[----] %s:%d: %s\n[----]   %s\n[----]  ", file, line,
	    fatal ? "Assertion Failed" : "Expectation Failed", what);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	crs_failed = 1;
	if (fatal) {
		fflush(NULL);
		_exit(1);
	}
}

/* The message is optional: " " keeps the format string from being empty. */
#define crs_check(fatal, cond, what, ...)                                                  \
	do {                                                                                   \
		if (!(cond))                                                                   \
			crs_fail(fatal, __FILE__, __LINE__, what, " " __VA_ARGS__);            \
	} while (0)

#define cr_assert(cond, ...) crs_check(1, cond, #cond, __VA_ARGS__)
#define cr_expect(cond, ...) crs_check(0, cond, #cond, __VA_ARGS__)
#define cr_assert_eq(a, b, ...) crs_check(1, (a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_expect_eq(a, b, ...) crs_check(0, (a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) crs_check(1, (a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_expect_neq(a, b, ...) crs_check(0, (a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_assert_not_null(p, ...) crs_check(1, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_expect_not_null(p, ...) crs_check(0, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) crs_check(1, strcmp((a), (b)) == 0, #a " == " #b, __VA_ARGS__)
#define cr_expect_str_eq(a, b, ...) crs_check(0, strcmp((a), (b)) == 0, #a " == " #b, __VA_ARGS__)
#define cr_expect_str_neq(a, b, ...) crs_check(0, strcmp((a), (b)) != 0, #a " != " #b, __VA_ARGS__)
#define cr_assert_null(p, ...) crs_check(1, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_expect_null(p, ...) crs_check(0, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_expect_not(cond, ...) crs_check(0, !(cond), "!(" #cond ")", __VA_ARGS__)
#define cr_assert_gt(a, b, ...) crs_check(1, (a) > (b), #a " > " #b, __VA_ARGS__)
#define cr_expect_gt(a, b, ...) crs_check(0, (a) > (b), #a " > " #b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) crs_check(1, (a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_expect_geq(a, b, ...) crs_check(0, (a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) crs_check(1, (a) < (b), #a " < " #b, __VA_ARGS__)
#define cr_expect_lt(a, b, ...) crs_check(0, (a) < (b), #a " < " #b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) crs_check(1, (a) <= (b), #a " <= " #b, __VA_ARGS__)
#define cr_expect_leq(a, b, ...) crs_check(0, (a) <= (b), #a " <= " #b, __VA_ARGS__)
/* Criterion's float_eq: |a - b| <= eps */
#define cr_assert_float_eq(a, b, eps, ...)                                                 \
	crs_check(1, ((a) - (b) <= (eps)) && ((b) - (a) <= (eps)), #a " ~= " #b, __VA_ARGS__)
#define cr_expect_float_eq(a, b, eps, ...)                                                 \
	crs_check(0, ((a) - (b) <= (eps)) && ((b) - (a) <= (eps)), #a " ~= " #b, __VA_ARGS__)
#define cr_assert_fail(...) crs_check(1, 0, "cr_assert_fail", __VA_ARGS__)
#define cr_log_info(...) (fprintf(stderr, "[----] " __VA_ARGS__), fputc('\n', stderr))
#define cr_log_warn(...) (fprintf(stderr, "[WARN] " __VA_ARGS__), fputc('\n', stderr))

/* The test in this process, as Criterion runs it: suite init, test init, body, finis. */
static inline void
crs_run_child(const struct crs_test *t)
{
	const struct crs_opts *so = NULL;
	for (size_t i = 0; i < crs_nsuites; i++)
		if (strcmp(crs_suites[i].s_name, t->t_suite) == 0)
			so = crs_suites[i].s_opts;
	double timeout = t->t_opts->timeout > 0 ? t->t_opts->timeout : so ? so->timeout : 0;
	if (timeout > 0)
		alarm((unsigned)timeout + 1);
	if (so && so->init)
		so->init();
	if (t->t_opts->init)
		t->t_opts->init();
	t->t_fn();
	if (t->t_opts->fini)
		t->t_opts->fini();
	if (so && so->fini)
		so->fini();
	fflush(NULL);
	_exit(crs_failed ? 1 : 0);
}

int
main(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	size_t passed = 0, failed = 0, crashed = 0;
	fprintf(stderr, "[====] Running %zu tests (tsan-criterion stand-in):\n", crs_ntests);
	for (size_t i = 0; i < crs_ntests; i++) {
		const struct crs_test *t = &crs_tests[i];
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0) {
			perror("fork");
			return 2;
		}
		if (pid == 0)
			crs_run_child(t);
		int st = 0;
		while (waitpid(pid, &st, 0) < 0)
			;
		const char *verdict;
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
			passed++;
			verdict = "PASS";
		} else if (WIFEXITED(st) && WEXITSTATUS(st) == 1) {
			failed++;
			verdict = "FAIL";
		} else {
			crashed++;
			verdict = "CRASH";
		}
		fprintf(stderr, "[%s] %s::%s", verdict, t->t_suite, t->t_name);
		if (WIFSIGNALED(st))
			fprintf(stderr, " (signal %d)", WTERMSIG(st));
		else if (WIFEXITED(st) && WEXITSTATUS(st) > 1)
			fprintf(stderr, " (exit %d)", WEXITSTATUS(st));
		fputc('\n', stderr);
	}
	fprintf(stderr, "[====] Synthesis: Tested: %zu | Passing: %zu | Failing: %zu | Crashing: %zu \n",
	    crs_ntests, passed, failed, crashed);
	return failed || crashed ? 1 : 0;
}

#endif
