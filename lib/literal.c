#include "literal.h"

#include <stdbool.h>
#include <string.h>

/* The best literal of one alternative, built as we go. */
struct branch {
	char run[MT_LITERAL_MAX];
	size_t run_len;
	char best[MT_LITERAL_MAX];
	size_t best_len;
};

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static void
end_run(struct branch *b)
{
	/* Longest wins: a longer literal is rarer in mail logs, as a rule. */
	if (b->run_len > b->best_len) {
		memcpy(b->best, b->run, b->run_len);
		b->best_len = b->run_len;
	}
	b->run_len = 0;
}

static void
add_char(struct branch *b, char c)
{
	if (b->run_len == MT_LITERAL_MAX) {
		end_run(b);
		return;
	}
	b->run[b->run_len++] = lower(c);
}

/* Skip a character class starting at p[i] == '['; returns the index after ']'. */
static size_t
skip_class(const char *p, size_t len, size_t i)
{
	i++;
	if (i < len && p[i] == '^')
		i++;
	if (i < len && p[i] == ']') /* a leading ']' is literal */
		i++;
	while (i < len && p[i] != ']') {
		if (p[i] == '\\')
			i++;
		else if (p[i] == '[' && i + 1 < len && p[i + 1] == ':') {
			const char *e = memchr(p + i + 2, ']', len - i - 2);

			if (e != NULL)
				i = (size_t)(e - p);
		}
		i++;
	}
	return i < len ? i + 1 : len;
}

/* Skip a group starting at p[i] == '('; returns the index after its ')'. */
static size_t
skip_group(const char *p, size_t len, size_t i)
{
	int depth = 0;

	while (i < len) {
		if (p[i] == '\\') {
			i += 2;
			continue;
		}
		if (p[i] == '[') {
			i = skip_class(p, len, i);
			continue;
		}
		if (p[i] == '(')
			depth++;
		else if (p[i] == ')' && --depth == 0)
			return i + 1;
		i++;
	}
	return len;
}

/* Length of a quantifier at p[i] ("?", "*", "+", "{n}", "{n,m}" plus lazy/possessive). */
static size_t
quantifier(const char *p, size_t len, size_t i, bool *ret_optional)
{
	size_t j = i;

	if (i >= len)
		return 0;
	if (p[i] == '?' || p[i] == '*') {
		*ret_optional = true;
		j = i + 1;
	} else if (p[i] == '+') {
		*ret_optional = false;
		j = i + 1;
	} else if (p[i] == '{') {
		size_t k = i + 1;

		if (k >= len || p[k] < '0' || p[k] > '9')
			return 0; /* a literal '{' */
		*ret_optional = true;
		while (k < len && p[k] == '0')
			k++;
		if (k < len && p[k] >= '1' && p[k] <= '9')
			*ret_optional = false;
		while (k < len && ((p[k] >= '0' && p[k] <= '9') || p[k] == ','))
			k++;
		if (k >= len || p[k] != '}')
			return 0;
		j = k + 1;
	} else {
		return 0;
	}
	if (j < len && (p[j] == '?' || p[j] == '+'))
		j++;
	return j - i;
}

void
mt_literal_extract(const char *p, size_t len, struct mt_literals *ret)
{
	struct branch b = { 0 };
	size_t i = 0;
	bool usable = true;

	memset(ret, 0, sizeof(*ret));
	while (i < len) {
		char c = p[i];
		bool opt = false;
		size_t q;

		switch (c) {
		case '|':
			/* Top level only: groups are skipped whole. */
			end_run(&b);
			if (b.best_len < MT_LITERAL_MIN || ret->count == MT_LITERAL_ALTS) {
				usable = false;
			} else {
				memcpy(ret->lit[ret->count], b.best, b.best_len);
				ret->len[ret->count++] = b.best_len;
			}
			memset(&b, 0, sizeof(b));
			i++;
			continue;
		case '(':
			/* Extended mode changes what whitespace means: give up. */
			if (i + 2 < len && p[i + 1] == '?' && p[i + 2] != ':' && p[i + 2] != '<' &&
			    p[i + 2] != '=' && p[i + 2] != '!' && p[i + 2] != '>' &&
			    p[i + 2] != '#') {
				size_t e = skip_group(p, len, i);

				if (memchr(p + i, 'x', e - i) != NULL &&
				    memchr(p + i, ':', e - i) == NULL) {
					ret->count = 0;
					return;
				}
			}
			end_run(&b);
			i = skip_group(p, len, i);
			q = quantifier(p, len, i, &opt);
			i += q;
			continue;
		case '[':
			end_run(&b);
			i = skip_class(p, len, i);
			i += quantifier(p, len, i, &opt);
			continue;
		case '.':
		case '^':
		case '$':
			end_run(&b);
			i++;
			i += quantifier(p, len, i, &opt);
			continue;
		case '\\':
			if (i + 1 >= len) {
				i++;
				continue;
			}
			c = p[i + 1];
			if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			    (c >= '0' && c <= '9')) {
				/* \d, \s, \b, \x.., \Q, back-references: not a plain byte. */
				end_run(&b);
				i += 2;
				if (c == 'Q') { /* skip \Q...\E entirely */
					while (i + 1 < len && !(p[i] == '\\' && p[i + 1] == 'E'))
						i++;
					i += 2;
				}
				i += quantifier(p, len, i, &opt);
				continue;
			}
			i += 2;
			break; /* escaped punctuation is that byte */
		default:
			i++;
			break;
		}
		/* c is one literal byte; a quantifier after it may make it optional. */
		q = quantifier(p, len, i, &opt);
		if (q == 0) {
			add_char(&b, c);
		} else if (opt) {
			end_run(&b);
		} else {
			add_char(&b, c);
			end_run(&b);
		}
		i += q;
	}
	end_run(&b);
	if (!usable || b.best_len < MT_LITERAL_MIN || ret->count == MT_LITERAL_ALTS) {
		ret->count = 0;
		return;
	}
	memcpy(ret->lit[ret->count], b.best, b.best_len);
	ret->len[ret->count++] = b.best_len;
}
