/* Tests for intern: sharing, reference counts, growth, and use from several threads. */
#include "intern.h"

#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

Test(intern, equal_strings_share_one_copy)
{
	struct intern *in = intern_new();
	char a[] = "cert-manager", b[] = "cert-manager";
	const char *x = intern_get(in, a);
	const char *y = intern_get(in, b);
	const char *z = intern_get(in, "cert-manager.io");
	cr_expect_eq(x, y);
	cr_expect_neq(x, z);
	cr_expect_neq((const void *)x, (const void *)a, "the table keeps its own copy");
	cr_expect_str_eq(x, "cert-manager");
	cr_expect_eq(intern_count(in), 2);
	/* getn stops at n bytes, or at a NUL before that. */
	cr_expect_eq(intern_getn(in, "cert-manager.io", 12), x);
	cr_expect_eq(intern_getn(in, "cert-manager\0junk", 17), x);
	cr_expect_null(intern_get(in, NULL));
	/* "" is a string like any other (the namespace of cluster-scoped objects). */
	const char *e = intern_get(in, "");
	cr_expect_str_eq(e, "");
	cr_expect_eq(intern_count(in), 3);
	intern_put(in, e);
	intern_put(in, z);
	cr_expect_eq(intern_count(in), 1);
	intern_put(in, NULL);
	/* x was taken four times (get, get, getn, getn). */
	for (int i = 0; i < 3; i++) {
		intern_put(in, x);
		cr_expect_eq(intern_count(in), 1);
	}
	intern_put(in, x);
	cr_expect_eq(intern_count(in), 0);
	intern_free(in);
	intern_free(NULL);
}

Test(intern, grows_and_finds_everything)
{
	struct intern *in = intern_new();
	const char *p[5000];
	char buf[32];
	for (int i = 0; i < 5000; i++) {
		snprintf(buf, sizeof buf, "ns-%d", i);
		p[i] = intern_get(in, buf);
	}
	cr_expect_eq(intern_count(in), 5000);
	for (int i = 0; i < 5000; i++) {
		snprintf(buf, sizeof buf, "ns-%d", i);
		const char *q = intern_get(in, buf);
		cr_expect_eq(q, p[i], "%s moved", buf);
		intern_put(in, q);
		intern_put(in, p[i]);
	}
	cr_expect_eq(intern_count(in), 0);
	intern_free(in);
}

static struct intern *shared;

static void *
worker(void *arg)
{
	long id = (long)arg;
	char buf[32];
	for (int r = 0; r < 2000; r++) {
		snprintf(buf, sizeof buf, "reason-%d", (int)((r + id) % 50));
		const char *s = intern_get(shared, buf);
		cr_expect_str_eq(s, buf);
		intern_put(shared, s);
	}
	return NULL;
}

Test(intern, threads)
{
	shared = intern_new();
	const char *keep = intern_get(shared, "reason-7");
	pthread_t t[4];
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, (void *)i);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	/* Only the string still held remains. */
	cr_expect_eq(intern_count(shared), 1);
	cr_expect_eq(intern_get(shared, "reason-7"), keep);
	intern_put(shared, keep);
	intern_put(shared, keep);
	cr_expect_eq(intern_count(shared), 0);
	intern_free(shared);
}
