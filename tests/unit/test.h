/*
 * Minimal unit-test harness. Each test binary defines tests with TEST(),
 * lists them in main() with RUN(), and ends with `return test_summary();`.
 * Output: one "PASS name", "FAIL name: why" or "SKIP name: why" line per
 * test, which tests/run counts. SKIP_TEST(why) ends a test that cannot run
 * here (a failed CHECK before it still makes it a FAIL).
 */
#ifndef SM_TEST_H
#define SM_TEST_H

#include <stdio.h>
#include <string.h>

static int test_failed_now;
static int test_skipped_now;
static int test_failures;
static char test_why[512];

#define TEST(name) static void name(void)

#define CHECK(cond)                                                      \
	do {                                                             \
		if (!(cond) && !test_failed_now) {                       \
			test_failed_now = 1;                             \
			snprintf(test_why, sizeof(test_why),             \
				 "%s:%d: CHECK(%s)", __FILE__, __LINE__, \
				 #cond);                                 \
		}                                                        \
	} while (0)

#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long _a = (long long)(a), _b = (long long)(b);            \
		if (_a != _b && !test_failed_now) {                            \
			test_failed_now = 1;                                   \
			snprintf(test_why, sizeof(test_why),                   \
				 "%s:%d: %s == %lld, expected %lld", __FILE__, \
				 __LINE__, #a, _a, _b);                        \
		}                                                              \
	} while (0)

#define CHECK_STR(a, b)                                                      \
	do {                                                                 \
		const char *_a = (a), *_b = (b);                             \
		if ((!_a || strcmp(_a, _b)) && !test_failed_now) {           \
			test_failed_now = 1;                                 \
			snprintf(test_why, sizeof(test_why),                 \
				 "%s:%d: %s == \"%s\", expected \"%s\"",     \
				 __FILE__, __LINE__, #a, _a ? _a : "(null)", \
				 _b);                                        \
		}                                                            \
	} while (0)

#define SKIP_TEST(why)                                                   \
	do {                                                             \
		if (!test_failed_now) {                                  \
			test_skipped_now = 1;                            \
			snprintf(test_why, sizeof(test_why), "%s", why); \
		}                                                        \
		return;                                                  \
	} while (0)

#define RUN(name)                                                 \
	do {                                                      \
		test_failed_now = 0;                              \
		test_skipped_now = 0;                             \
		name();                                           \
		if (test_failed_now) {                            \
			test_failures++;                          \
			printf("FAIL %s: %s\n", #name, test_why); \
		} else if (test_skipped_now) {                    \
			printf("SKIP %s: %s\n", #name, test_why); \
		} else {                                          \
			printf("PASS %s\n", #name);               \
		}                                                 \
		fflush(stdout);                                   \
	} while (0)

static inline int test_summary(void)
{
	return test_failures ? 1 : 0;
}

#endif
