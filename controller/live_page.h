/*
 * live_page: the HTML of the live page (GET /), one self-contained document that reads the
 * WebSocket feed of live.h.
 */
#ifndef LIVE_PAGE_H
#define LIVE_PAGE_H

extern const char live_page_html[];
extern const unsigned long live_page_len; /* without the terminating NUL */

#endif
