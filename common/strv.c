#include "strv.h"

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
