/* Serial console log with levels, and the panic path. */
#ifndef TV_LOG_H
#define TV_LOG_H

#include "tv/config.h"

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_init(enum console_kind console, bool debug);
void log_printf(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Text without prefix or level (prompts). */
void log_raw(const char *s);
/* Read one character from the console, waiting for it. */
int log_getc(void);
/* Wait until the UART has sent everything (before stopping the machine). */
void log_drain(void);

#define log_err(...) log_printf(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_printf(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_printf(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_printf(LOG_DEBUG, __VA_ARGS__)

/*
 * Stop the machine: message, register dump of the current guest CPU (if
 * any) and its exit counters, then QEMU's debug-exit with TV_EXIT_PANIC
 * and a halt.  'status' lets the guest-death path use its own exit code.
 */
__attribute__((noreturn, format(printf, 2, 3))) void hv_stop(u32 status, const char *fmt, ...);
#define panic(...) hv_stop(TV_EXIT_PANIC, __VA_ARGS__)

#endif
