/*
 * acmatch - Aho-Corasick automaton over byte strings, without case.
 *
 * Built once from a set of (literal, id) pairs, then immutable and shareable.
 * mt_ac_scan() walks a text once, in time linear in its length whatever the
 * number of literals, and calls back with the id of every literal that
 * occurs (an id may be reported more than once per text; callers dedupe).
 *
 * The automaton is a full DFA over the literals' first 16 bytes: a byte is
 * mapped to an equivalence class (bytes that appear in no such prefix share
 * class 0; ASCII letters fold to lower case), and one table lookup per byte
 * gives the next state.  States that report something are numbered last, so
 * the scan loop tests a single comparison per byte; where a literal's prefix
 * ends, the rest of the literal is compared with the text that follows.
 * Memory: states * classes * 2 bytes (4 bytes past 65,536 states).
 */
#ifndef MT_ACMATCH_H
#define MT_ACMATCH_H

#include <stddef.h>
#include <stdint.h>

struct mt_ac_builder;
struct mt_ac;

struct mt_ac_builder *mt_ac_builder_new(void);
/* Add a literal (any bytes, compared without ASCII case) reported as id. */
void mt_ac_builder_add(struct mt_ac_builder *b, const char *lit, size_t len, uint32_t id);
/* Build the automaton and free the builder. */
struct mt_ac *mt_ac_build(struct mt_ac_builder *b);
struct mt_ac *mt_ac_free(struct mt_ac *ac);

typedef void mt_ac_hit_fn(void *ctx, uint32_t id);
void mt_ac_scan(const struct mt_ac *ac, const char *p, size_t len, mt_ac_hit_fn *hit, void *ctx);

size_t mt_ac_states(const struct mt_ac *ac);
size_t mt_ac_entry_size(const struct mt_ac *ac); /* bytes per table entry: 2 or 4 */
size_t mt_ac_memory(const struct mt_ac *ac);	 /* bytes held by the tables */

#endif
