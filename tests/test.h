/* test.h: a tiny test harness. Each test binary defines test functions and
 * calls them through RUN(); CHECK() records failures with file:line. The
 * binary's last line is "<name>: N passed, N failed[, N skipped]" and its exit
 * status is non-zero on any failure. */
#ifndef FERC_TEST_H
#define FERC_TEST_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int t_pass, t_fail, t_skip, t_cur_fail;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "  FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);   \
            t_cur_fail = 1;                                                      \
        }                                                                        \
    } while (0)

#define CHECKF(cond, ...)                                                        \
    do {                                                                         \
        if (!(cond)) {                                                           \
            fprintf(stderr, "  FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);   \
            fprintf(stderr, __VA_ARGS__);                                        \
            fputc('\n', stderr);                                                 \
            t_cur_fail = 1;                                                      \
        }                                                                        \
    } while (0)

/* |a-b| <= atol + rtol*|b| */
#define CHECK_CLOSE(a, b, atol, rtol)                                            \
    CHECKF(fabs((double)(a) - (double)(b)) <= (atol) + (rtol)*fabs((double)(b)), \
           "%.9g vs %.9g", (double)(a), (double)(b))

/* A test function returns 0 normally, or SKIP("why") to skip. */
#define SKIP(...)                                                                \
    do {                                                                         \
        printf("  skip: ");                                                      \
        printf(__VA_ARGS__);                                                     \
        printf("\n");                                                            \
        return 1;                                                                \
    } while (0)

#define RUN(fn)                                                                  \
    do {                                                                         \
        t_cur_fail = 0;                                                          \
        int t_r = fn();                                                          \
        if (t_r == 1) {                                                          \
            t_skip++;                                                            \
            printf("SKIP %s\n", #fn);                                            \
        } else if (t_cur_fail) {                                                 \
            t_fail++;                                                            \
            printf("FAIL %s\n", #fn);                                            \
        } else {                                                                 \
            t_pass++;                                                            \
            printf("ok   %s\n", #fn);                                            \
        }                                                                        \
        fflush(stdout);                                                          \
    } while (0)

#define TEST_DONE(name)                                                          \
    (printf("%s: %d passed, %d failed, %d skipped\n", name, t_pass, t_fail,      \
            t_skip),                                                             \
     t_fail ? 1 : 0)

#endif
