/*
 * docker's time arguments (logs --since/--until): a Unix time
 * ("1136073600", "1136073600.5"), a Go duration before now ("10m",
 * "1h30m", "1.5s", "250ms"), or an RFC 3339 date and time, whole or in
 * part ("2006-01-02", "2006-01-02T15:04", "2006-01-02T15:04:05.999Z",
 * "2006-01-02T15:04:05+01:00"); without a zone, the local time.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "container/log_format.h"

#define NS 1000000000LL

/* Digits at *p, at most max of them (0: any), into *v; how many. */
static int digits(const char **p, int max, int64_t *v)
{
	int n = 0;

	*v = 0;
	while (isdigit((unsigned char)**p) && (!max || n < max)) {
		if (*v > (INT64_MAX - 9) / 10)
			return -1;
		*v = *v * 10 + (**p - '0');
		(*p)++, n++;
	}
	return n;
}

/* ".123" at *p: nanoseconds (digits past nine ignored). */
static int64_t fraction(const char **p)
{
	int64_t ns = 0, scale = NS;

	if (**p != '.')
		return 0;
	for ((*p)++; isdigit((unsigned char)**p); (*p)++)
		if (scale /= 10)
			ns += (**p - '0') * scale;
	return ns;
}

static int unix_time(const char *s, int64_t *ns)
{
	const char *p = s;
	int64_t sec;

	if (digits(&p, 0, &sec) <= 0 || sec > INT64_MAX / NS - 1)
		return -EINVAL;
	*ns = sec * NS + fraction(&p);
	return *p ? -EINVAL : 0;
}

static int64_t unit_ns(const char **p)
{
	static const struct {
		const char *name;
		int64_t ns;
	} units[] = {{"ns", 1},	      {"us", 1000},	{"\xc2\xb5s", 1000},
		     {"ms", 1000000}, {"h", 3600 * NS}, {"m", 60 * NS},
		     {"s", NS}};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (!strncmp(*p, units[i].name, strlen(units[i].name))) {
			*p += strlen(units[i].name);
			return units[i].ns;
		}
	return 0;
}

/* A Go duration ("1h30m", "1.5s"): its nanoseconds. */
static int duration(const char *s, int64_t *ns)
{
	const char *p = s;
	double total = 0;

	if (!*p)
		return -EINVAL;
	while (*p) {
		int64_t whole, unit;
		const char *num = p;
		double frac;

		if (digits(&p, 0, &whole) < 0)
			return -EINVAL;
		frac = (double)fraction(&p) / NS;
		if (p == num || !(unit = unit_ns(&p)))
			return -EINVAL;
		total += ((double)whole + frac) * (double)unit;
		if (total > (double)INT64_MAX / 2)
			return -ERANGE;
	}
	*ns = (int64_t)total;
	return 0;
}

/* "Z", "+01:00", "-0700" at *p: seconds east of UTC. */
static int zone(const char **p, long *east)
{
	int64_t h, m = 0;
	int sign;

	if (**p == 'Z' || **p == 'z') {
		(*p)++;
		*east = 0;
		return 0;
	}
	if (**p != '+' && **p != '-')
		return -EINVAL;
	sign = **p == '-' ? -1 : 1;
	(*p)++;
	if (digits(p, 2, &h) != 2 || h > 23)
		return -EINVAL;
	*p += **p == ':';
	if (**p && (digits(p, 2, &m) != 2 || m > 59))
		return -EINVAL;
	*east = sign * (long)(h * 3600 + m * 60);
	return 0;
}

/* One "-MM" or ":MM" field after its separator, in [lo, hi]. */
static int field(const char **p, char sep, int lo, int hi, int *out)
{
	int64_t v;

	if (**p != sep)
		return 0;
	(*p)++;
	if (digits(p, 2, &v) != 2 || v < lo || v > hi)
		return -EINVAL;
	*out = (int)v;
	return 1;
}

static int date_time(const char *s, int64_t *ns)
{
	struct tm tm = {.tm_mday = 1, .tm_isdst = -1};
	const char *p = s;
	int64_t year, frac = 0;
	long east = 0;
	bool zoned = false;
	time_t t;

	if (digits(&p, 4, &year) != 4 ||
	    field(&p, '-', 1, 12, &tm.tm_mon) != 1 ||
	    field(&p, '-', 1, 31, &tm.tm_mday) != 1)
		return -EINVAL;
	tm.tm_year = (int)year - 1900;
	tm.tm_mon--;
	if (*p == 'T' || *p == 't') {
		p++;
		int64_t h;

		if (digits(&p, 2, &h) != 2 || h > 23)
			return -EINVAL;
		tm.tm_hour = (int)h;
		if (field(&p, ':', 0, 59, &tm.tm_min) == 1 &&
		    field(&p, ':', 0, 60, &tm.tm_sec) == 1)
			frac = fraction(&p);
	}
	if (*p) {
		if (zone(&p, &east) || *p)
			return -EINVAL;
		zoned = true;
	}
	t = zoned ? timegm(&tm) - east : mktime(&tm);
	if (t == (time_t)-1 && errno == EOVERFLOW)
		return -ERANGE;
	*ns = (int64_t)t * NS + frac;
	return 0;
}

int ctr_log_time_arg(const char *s, int64_t now_ns, int64_t *ns)
{
	int64_t d;

	if (!s || !*s)
		return -EINVAL;
	if (!unix_time(s, ns))
		return 0;
	if (!duration(s, &d)) {
		*ns = now_ns - d;
		return 0;
	}
	return date_time(s, ns);
}
