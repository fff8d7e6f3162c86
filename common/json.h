#pragma once
/* A small streaming JSON writer for --json output: keys and values in call order, commas and
 * indentation handled here, strings escaped. Errors of the stream are the caller's to check. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct json {
        FILE *f;
        unsigned depth;
        bool need_comma;
};

void json_init(struct json *j, FILE *f);
void json_begin_object(struct json *j, const char *key);
void json_end_object(struct json *j);
void json_begin_array(struct json *j, const char *key);
void json_end_array(struct json *j);
void json_string(struct json *j, const char *key, const char *value);
void json_u64(struct json *j, const char *key, uint64_t value);
void json_bool(struct json *j, const char *key, bool value);
void json_null(struct json *j, const char *key);
/* A string, or null when value is NULL. */
void json_string_or_null(struct json *j, const char *key, const char *value);
