#include "strv.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *array_grow(void *arrayp, size_t *n, size_t size)
{
        void **a = arrayp;
        uint8_t *p = reallocarray(*a, *n + 1, size);

        if (!p)
                return NULL;
        *a = p;
        memset(p + *n * size, 0, size);
        return p + (*n)++ * size;
}

int strv_vaddf(char ***v, size_t *n, const char *fmt, va_list ap)
{
        char **slot = array_grow(v, n, sizeof(char *));

        if (!slot)
                return -ENOMEM;
        if (vasprintf(slot, fmt, ap) < 0) {
                *slot = NULL;
                (*n)--;
                return -ENOMEM;
        }
        return 0;
}

int strv_addf(char ***v, size_t *n, const char *fmt, ...)
{
        va_list ap;
        int r;

        va_start(ap, fmt);
        r = strv_vaddf(v, n, fmt, ap);
        va_end(ap);
        return r;
}

void strv_free(char ***v, size_t *n)
{
        for (size_t i = 0; i < *n; i++)
                free((*v)[i]);
        free(*v);
        *v = NULL;
        *n = 0;
}

/* Optimal string alignment distance: Levenshtein plus the swap of two neighbours, the
 * commonest typo ("modle"), case-insensitive. UINT32_MAX for words too long to bother with. */
static unsigned distance(const char *a, const char *b)
{
        size_t la = strnlen(a, 64), lb = strnlen(b, 64);
        unsigned d[64][64];

        if (la >= 64 || lb >= 64)
                return UINT32_MAX;
        for (size_t i = 0; i <= la; i++)
                d[i][0] = (unsigned) i;
        for (size_t j = 0; j <= lb; j++)
                d[0][j] = (unsigned) j;
        for (size_t i = 1; i <= la; i++)
                for (size_t j = 1; j <= lb; j++) {
                        int ca = tolower((unsigned char) a[i - 1]);
                        int cb = tolower((unsigned char) b[j - 1]);
                        unsigned v = d[i - 1][j - 1] + (ca != cb);
                        if (d[i - 1][j] + 1 < v)
                                v = d[i - 1][j] + 1;
                        if (d[i][j - 1] + 1 < v)
                                v = d[i][j - 1] + 1;
                        if (i > 1 && j > 1 && ca == tolower((unsigned char) b[j - 2]) &&
                            cb == tolower((unsigned char) a[i - 2]) && d[i - 2][j - 2] + 1 < v)
                                v = d[i - 2][j - 2] + 1;
                        d[i][j] = v;
                }
        return d[la][lb];
}

const char *strv_closest(const char *word, const char *const *cands, size_t n)
{
        /* Within one edit up to four letters, two beyond: else "size" would suggest "name". */
        size_t len = strnlen(word, 64);
        unsigned best = len <= 4 ? 2 : 3;
        const char *found = NULL;

        for (size_t i = 0; i < n; i++) {
                size_t lc = strnlen(cands[i], 64);
                unsigned d;
                /* The length difference alone costs that many edits. */
                if ((lc > len ? lc - len : len - lc) >= best)
                        continue;
                d = distance(word, cands[i]);
                if (d < best) {
                        found = cands[i];
                        best = d;
                }
        }
        return found;
}

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

void strv_sort_unique(char **v, size_t *n)
{
        size_t k = 0;

        if (*n == 0)
                return;
        qsort(v, *n, sizeof(*v), cmp_str);
        for (size_t i = 0; i < *n; i++)
                if (k && strcmp(v[k - 1], v[i]) == 0)
                        free(v[i]);
                else
                        v[k++] = v[i];
        *n = k;
}
