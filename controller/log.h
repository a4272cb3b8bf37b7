/*
 * log: one line per message, to stderr, as text or JSON.
 *
 * Every line names the function that logged it (the macros pass __func__), so a line can be
 * grepped back to its source. Safe to call from any thread. Callers must never pass tokens,
 * keys or whole request headers; as a safety net, text that looks like a bearer token or a PEM
 * private key is replaced by "[redacted]" before it is written.
 */
#ifndef LOG_H
#define LOG_H

enum log_level { LOG_DEBUG = 0, LOG_INFO = 1, LOG_WARN = 2, LOG_ERROR = 3 };
enum log_format { LOG_FORMAT_TEXT = 0, LOG_FORMAT_JSON = 1 };

/* Set format and the lowest level written. Defaults: text, info. */
void log_setup(enum log_format fmt, enum log_level min);
/* Parse "json"/"text"; returns 0 or CC_ERR_INVAL. */
int log_parse_format(const char *s, enum log_format *out);
/* Parse "debug"/"info"/"warn"/"error"; returns 0 or CC_ERR_INVAL. */
int log_parse_level(const char *s, enum log_level *out);
/* Send output to fd instead of stderr (tests capture it); -1 restores stderr. */
void log_set_fd(int fd);

void log_write(enum log_level lvl, const char *func, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(...) log_write(LOG_DEBUG, __func__, __VA_ARGS__)
#define log_info(...) log_write(LOG_INFO, __func__, __VA_ARGS__)
#define log_warn(...) log_write(LOG_WARN, __func__, __VA_ARGS__)
#define log_error(...) log_write(LOG_ERROR, __func__, __VA_ARGS__)

/* Print a message and abort: for broken invariants only, never for bad input. */
void log_fatal(const char *func, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
#define fatalx(...) log_fatal(__func__, __VA_ARGS__)

#endif
