#include "json.h"

void json_init(struct json *j, FILE *f)
{
        *j = (struct json){ .f = f };
}

static void put_escaped(FILE *f, const char *s)
{
        fputc('"', f);
        for (const unsigned char *p = (const unsigned char *) s; *p; p++) {
                switch (*p) {
                case '"':
                        fputs("\\\"", f);
                        break;
                case '\\':
                        fputs("\\\\", f);
                        break;
                case '\n':
                        fputs("\\n", f);
                        break;
                case '\r':
                        fputs("\\r", f);
                        break;
                case '\t':
                        fputs("\\t", f);
                        break;
                default:
                        if (*p < 0x20)
                                fprintf(f, "\\u%04x", *p);
                        else
                                fputc(*p, f);
                }
        }
        fputc('"', f);
}

static void prefix(struct json *j, const char *key)
{
        if (j->need_comma)
                fputc(',', j->f);
        if (j->depth)
                fputc('\n', j->f);
        for (unsigned i = 0; i < j->depth; i++)
                fputs("  ", j->f);
        if (key) {
                put_escaped(j->f, key);
                fputs(": ", j->f);
        }
        j->need_comma = true;
}

void json_begin_object(struct json *j, const char *key)
{
        prefix(j, key);
        fputc('{', j->f);
        j->depth++;
        j->need_comma = false;
}

static void end(struct json *j, char c)
{
        bool empty = !j->need_comma;

        j->depth--;
        if (!empty) {
                fputc('\n', j->f);
                for (unsigned i = 0; i < j->depth; i++)
                        fputs("  ", j->f);
        }
        fputc(c, j->f);
        j->need_comma = true;
        if (j->depth == 0)
                fputc('\n', j->f);
}

void json_end_object(struct json *j)
{
        end(j, '}');
}

void json_begin_array(struct json *j, const char *key)
{
        prefix(j, key);
        fputc('[', j->f);
        j->depth++;
        j->need_comma = false;
}

void json_end_array(struct json *j)
{
        end(j, ']');
}

void json_string(struct json *j, const char *key, const char *value)
{
        prefix(j, key);
        put_escaped(j->f, value);
}

void json_u64(struct json *j, const char *key, uint64_t value)
{
        prefix(j, key);
        fprintf(j->f, "%llu", (unsigned long long) value);
}

void json_bool(struct json *j, const char *key, bool value)
{
        prefix(j, key);
        fputs(value ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
        prefix(j, key);
        fputs("null", j->f);
}

void json_string_or_null(struct json *j, const char *key, const char *value)
{
        if (value)
                json_string(j, key, value);
        else
                json_null(j, key);
}
