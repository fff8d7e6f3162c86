#pragma once
/* Growable arrays and lists of strings, for the warnings and notes that plans carry. */

#include <stdarg.h>
#include <stddef.h>

/* Grows the array *arrayp of *n elements of size bytes by one zeroed element; returns it, or
 * NULL (the array unchanged) when out of memory. */
void *array_grow(void *arrayp, size_t *n, size_t size);

/* Appends a formatted string to the list *v of *n strings: 0 or -ENOMEM. */
int strv_addf(char ***v, size_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int strv_vaddf(char ***v, size_t *n, const char *fmt, va_list ap)
        __attribute__((format(printf, 3, 0)));
/* Sorts the list (strcmp order) and drops repeated strings: *n becomes the count kept. */
void strv_sort_unique(char **v, size_t *n);
/* Frees every string and the list, and empties it. */
void strv_free(char ***v, size_t *n);

/* The candidate closest to word, for "did you mean ...?" (case-insensitive; at most one edit
 * for words of up to four letters, two beyond), or NULL when none is close. */
const char *strv_closest(const char *word, const char *const *cands, size_t n);
