/*
 * scan: the `certcast scan -f FILE|-` command, status on a saved
 * `kubectl get certificates,certificaterequests,events,issuers,clusterissuers -A -o json`.
 */
#ifndef SCAN_H
#define SCAN_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "status.h"

struct store;

struct scan_opts {
	const char *sc_file;         /* path, or "-" for standard input */
	const char *sc_namespace;    /* -n, or NULL for every namespace in the file */
	enum status_output sc_output;/* -o */
	int64_t sc_now;              /* the time to score at (--now, else the clock) */
};

struct scan_stats {
	size_t ss_loaded;  /* items stored */
	size_t ss_ignored; /* items of kinds certcast does not track (Secrets, ...) */
	size_t ss_bad;     /* items that failed to decode; each reported on errf */
};

/*
 * Load a kubectl JSON List (or one object) from text (len bytes, NUL-terminated at text[len];
 * file names it in messages) into st. Bytes after the JSON value are an error. Items of untracked kinds are counted and ignored; a malformed item is reported on
 * errf with its index, kind and name, and skipped. Returns CC_OK, or CC_ERR_PARSE when text is
 * not a JSON object at all.
 */
int scan_load(struct store *st, const char *text, size_t len, const char *file, FILE *errf,
    struct scan_stats *stats);

/* The command; in is standard input for "-". Returns the exit code (0, 1, or 3 as status). */
int scan_run(const struct scan_opts *o, FILE *in, FILE *out, FILE *errf);

#endif
