/* Serial console (8250 UART) log with levels. */
#include "tv/abi.h"
#include "tv/cpu.h"
#include "tv/lib.h"
#include "tv/log.h"

static u16 uart_port;	/* 0: no console */
static enum log_level max_level = LOG_INFO;

static void uart_putc(char c);

/*
 * One line at a time from all CPUs.  The wait is bounded, so a CPU that
 * stopped holding the lock (a fault while printing) cannot silence the
 * panic path.
 */
static volatile u32 log_lock;

static void lock(void)
{
	for (u32 i = 0; i < 50000000 && __atomic_exchange_n(&log_lock, 1, __ATOMIC_ACQUIRE); i++)
		__builtin_ia32_pause();
}

static void unlock(void)
{
	__atomic_store_n(&log_lock, 0, __ATOMIC_RELEASE);
}

static const char *const level_tag[] = { "error: ", "warning: ", "", "debug: " };

void log_init(enum console_kind console, bool debug)
{
	static const u16 ports[] = { [CONSOLE_COM1] = 0x3F8, [CONSOLE_COM2] = 0x2F8, [CONSOLE_NONE] = 0 };

	uart_port = ports[console];
	max_level = debug ? LOG_DEBUG : LOG_INFO;
	if (!uart_port)
		return;
	outb(uart_port + 1, 0x00);	/* no interrupts */
	outb(uart_port + 3, 0x80);	/* DLAB */
	outb(uart_port + 0, 0x01);	/* 115200 baud */
	outb(uart_port + 1, 0x00);
	outb(uart_port + 3, 0x03);	/* 8N1 */
	outb(uart_port + 2, 0xC7);	/* FIFO on, cleared */
	outb(uart_port + 4, 0x0B);	/* DTR, RTS, OUT2 */
	static bool started;
	if (!started) {
		uart_putc('\r');	/* start on a line of our own */
		uart_putc('\n');
		started = true;
	}
}

static void uart_putc(char c)
{
	for (unsigned i = 0; i < 1000000 && !(inb(uart_port + 5) & 0x20); i++)
		;
	outb(uart_port, (u8)c);
}

void log_drain(void)
{
	if (!uart_port)
		return;
	for (unsigned i = 0; i < 1000000 && !(inb(uart_port + 5) & 0x40); i++)
		;
}

void log_printf(enum log_level level, const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	if (level > max_level || !uart_port)
		return;
	int n = tv_snprintf(buf, sizeof(buf), "thinvisor: %s", level_tag[level]);
	va_start(ap, fmt);
	tv_vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	log_raw(buf);
}

void log_raw(const char *s)
{
	lock();
	for (; uart_port && *s; s++) {
		if (*s == '\n')
			uart_putc('\r');
		uart_putc(*s);
	}
	unlock();
}

int log_getc(void)
{
	if (!uart_port)
		panic("a passphrase is needed but there is no console (console=none)\n");
	while (!(inb(uart_port + 5) & 0x01))
		__asm__ volatile("pause");
	return inb(uart_port);
}
