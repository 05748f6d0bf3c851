/* SPDX-License-Identifier: MIT */
/* COM1 output and a small printf. */
#include "tg.h"

#define COM1 0x3F8
#define UART_THR 0 /* transmit holding (DLAB = 0) */
#define UART_DLL 0 /* divisor latch low (DLAB = 1) */
#define UART_IER 1
#define UART_DLM 1
#define UART_FCR 2
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define LSR_THRE (1u << 5) /* holding register empty: may write */
#define LSR_TEMT (1u << 6) /* transmitter completely empty */

/*
 * Every wait on the UART is bounded: a missing or wedged UART (reads as
 * 0xFF, or never drains) must not stop a guest from reaching its exit port.
 */
#define UART_SPIN_LIMIT 1000000

void serial_init(void)
{
	outb(COM1 + UART_IER, 0x00); /* no interrupts */
	outb(COM1 + UART_LCR, 0x80); /* DLAB on */
	outb(COM1 + UART_DLL, 1);    /* 115200 = 115200 / 1 */
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, 0x03); /* 8N1, DLAB off */
	outb(COM1 + UART_FCR, 0xC7); /* FIFO on, cleared, 14-byte threshold */
	outb(COM1 + UART_MCR, 0x03); /* DTR, RTS */
}

static void uart_wait(uint8_t bit)
{
	for (int i = 0; i < UART_SPIN_LIMIT; i++)
		if (inb(COM1 + UART_LSR) & bit)
			return;
}

void serial_putc(char c)
{
	if (c == '\n')
		serial_putc('\r');
	uart_wait(LSR_THRE);
	outb(COM1 + UART_THR, (uint8_t)c);
}

void serial_drain(void)
{
	uart_wait(LSR_TEMT);
}

/* ---- formatting ---- */

struct sink {
	char *buf; /* NULL: write to COM1 */
	size_t size, len;
};

static void put(struct sink *s, char c)
{
	if (!s->buf)
		serial_putc(c);
	else if (s->len + 1 < s->size)
		s->buf[s->len] = c;
	s->len++;
}

/* 64-by-32 division without libgcc: divide the high half first, then the
 * remainder:low pair with DIV, whose quotient then always fits 32 bits. */
static uint64_t udiv64(uint64_t n, uint32_t d, uint32_t *rem)
{
	uint32_t hi = (uint32_t)(n >> 32), lo = (uint32_t)n;
	uint32_t qhi = hi / d, r = hi % d, qlo;
	__asm__("divl %4" : "=a"(qlo), "=d"(r) : "a"(lo), "d"(r), "rm"(d));
	*rem = r;
	return ((uint64_t)qhi << 32) | qlo;
}

static void put_num(struct sink *s, uint64_t v, unsigned base, int upper,
		    int neg, int width, int zero, int left)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int n = 0;

	do {
		uint32_t r;
		v = udiv64(v, base, &r);
		tmp[n++] = digits[r];
	} while (v);

	int pad = width - n - (neg ? 1 : 0);
	if (!left && !zero)
		for (; pad > 0; pad--)
			put(s, ' ');
	if (neg)
		put(s, '-');
	if (!left && zero)
		for (; pad > 0; pad--)
			put(s, '0');
	while (n)
		put(s, tmp[--n]);
	for (; left && pad > 0; pad--)
		put(s, ' ');
}

static void format(struct sink *s, const char *fmt, va_list ap)
{
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(s, *fmt);
			continue;
		}
		fmt++;
		int zero = 0, left = 0, width = 0, ll = 0;
		for (;; fmt++) {
			if (*fmt == '0')
				zero = 1;
			else if (*fmt == '-')
				left = 1;
			else
				break;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + (*fmt++ - '0');
		while (*fmt == 'l') {
			ll += 1;
			fmt++;
		}

		uint64_t u;
		switch (*fmt) {
		case 'd': {
			int64_t v = ll >= 2 ? va_arg(ap, int64_t) : va_arg(ap, int32_t);
			int neg = v < 0;
			put_num(s, neg ? -(uint64_t)v : (uint64_t)v, 10, 0, neg,
				width, zero, left);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
			u = ll >= 2 ? va_arg(ap, uint64_t) : va_arg(ap, uint32_t);
			put_num(s, u, *fmt == 'u' ? 10 : 16, *fmt == 'X', 0, width,
				zero, left);
			break;
		case 'p':
			put(s, '0');
			put(s, 'x');
			put_num(s, (uintptr_t)va_arg(ap, void *), 16, 0, 0, 8, 1, 0);
			break;
		case 'c':
			put(s, (char)va_arg(ap, int));
			break;
		case 's': {
			const char *str = va_arg(ap, const char *);
			if (!str)
				str = "(null)";
			int n = (int)strlen(str);
			if (!left)
				for (int i = n; i < width; i++)
					put(s, ' ');
			while (*str)
				put(s, *str++);
			if (left)
				for (int i = n; i < width; i++)
					put(s, ' ');
			break;
		}
		case '%':
			put(s, '%');
			break;
		case '\0':
			return;
		default: /* unknown conversion: show it rather than guess */
			put(s, '%');
			put(s, *fmt);
			break;
		}
	}
}

int vprintf(const char *fmt, va_list ap)
{
	struct sink s = { 0 };
	format(&s, fmt, ap);
	return (int)s.len;
}

int printf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vprintf(fmt, ap);
	va_end(ap);
	return n;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct sink s = { buf, size, 0 };
	format(&s, fmt, ap);
	if (size)
		buf[s.len < size ? s.len : size - 1] = '\0';
	return (int)s.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
