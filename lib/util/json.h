/*
 * json - write JSON values into an mt_buf, escaping untrusted text.
 *
 * Log text comes from remote servers and may hold any bytes.  Strings are
 * written as valid JSON whatever the input: '"', '\\' and control
 * characters (including DEL, U+2028 and U+2029) are escaped; well-formed
 * UTF-8 passes through; every byte that is not part of well-formed UTF-8
 * is written as the four characters \xHH (JSON "\\xHH"), so nothing is lost
 * and nothing invalid is emitted.
 *
 * mt_text_clean() does the same for text meant for a terminal or a log:
 * printable ASCII and well-formed UTF-8 pass, everything else becomes \xHH
 * (control characters as \n, \r, \t, \e or \xHH).
 *
 * All return 0 or -ENOBUFS when the buffer's cap is reached (the buffer then
 * holds a prefix; callers size caps so this means "input too large").
 */
#ifndef MT_JSON_H
#define MT_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

int mt_json_str(struct mt_buf *b, const char *p, size_t len);
int mt_json_cstr(struct mt_buf *b, const char *s);		 /* NULL is written as null */
int mt_json_num(struct mt_buf *b, double v);			 /* up to 3 decimals */
int mt_json_key(struct mt_buf *b, bool *first, const char *key); /* [,]"key": */

/*
 * Append at most max bytes of p, cleaned, cut at a character boundary;
 * returns 1 when p was cut, 0 when whole, -ENOBUFS past the buffer cap.
 */
int mt_text_clean(struct mt_buf *b, const char *p, size_t len, size_t max);

/* Length of the well-formed UTF-8 sequence at p (1..4), or 0 if ill-formed. */
size_t mt_utf8_seq(const unsigned char *p, size_t len);

#endif
