#ifndef GOATIMPORT_CINTRINSICS_SHIM_H
#define GOATIMPORT_CINTRINSICS_SHIM_H
// Compiler builtins and SIMD for the hot path, which Swift does not reach on its own. Header
// only: each function inlines into its Swift caller.
#include <stddef.h>
#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

// A hint that `p` will be read and written soon. Unlike a load, it never holds up the
// instructions after it, so the cache miss it starts overlaps with whatever work comes next.
static inline __attribute__((always_inline)) void goat_prefetch(const void *p) {
    __builtin_prefetch(p, 1, 3);
}

// Where the pattern scanner's runs end: the first index in [from, n) whose byte is in a class,
// or n. Sixteen bytes to a compare, which spares a branch (and its misprediction) per byte. A
// stretch shorter than sixteen is read as the sixteen bytes that end at n: never past the line.
#if defined(__SSE2__)
#define GOAT_SCAN(MASK)                                                                  \
    size_t i = from;                                                                     \
    while (n - i >= 16) {                                                                \
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));                           \
        unsigned m = (unsigned)_mm_movemask_epi8(MASK);                                  \
        if (m) return i + (size_t)__builtin_ctz(m);                                      \
        i += 16;                                                                         \
    }                                                                                    \
    if (i < n && n >= 16) {                                                              \
        __m128i v = _mm_loadu_si128((const __m128i *)(p + n - 16));                      \
        unsigned m = (unsigned)_mm_movemask_epi8(MASK) >> (16 - (n - i));                \
        return m ? i + (size_t)__builtin_ctz(m) : n;                                     \
    }
#else
#define GOAT_SCAN(MASK) size_t i = from;
#endif

// PCRE2's \s without UTF: space, \t \n \v \f \r.
static inline __attribute__((always_inline)) size_t goat_find_space(const uint8_t *p, size_t from, size_t n) {
    GOAT_SCAN(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')),
                           _mm_cmpeq_epi8(_mm_min_epu8(_mm_sub_epi8(v, _mm_set1_epi8(9)), _mm_set1_epi8(4)),
                                          _mm_sub_epi8(v, _mm_set1_epi8(9)))))
    while (i < n && p[i] != ' ' && (uint8_t)(p[i] - 9) > 4) i++;
    return i;
}

static inline __attribute__((always_inline)) size_t goat_find_byte(const uint8_t *p, size_t from, size_t n, uint8_t a) {
    GOAT_SCAN(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)a)))
    while (i < n && p[i] != a) i++;
    return i;
}

static inline __attribute__((always_inline)) size_t goat_find_either(const uint8_t *p, size_t from, size_t n, uint8_t a, uint8_t b) {
    GOAT_SCAN(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)a)), _mm_cmpeq_epi8(v, _mm_set1_epi8((char)b))))
    while (i < n && p[i] != a && p[i] != b) i++;
    return i;
}
// JSON strings: a byte the encoder must look at (a control byte, '"', '\\', or the start or
// middle of a multi-byte sequence). As signed bytes, both controls and bytes >= 0x80 are < 0x20.
static inline __attribute__((always_inline)) size_t goat_find_json_special(const uint8_t *p, size_t from, size_t n) {
    GOAT_SCAN(_mm_or_si128(_mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                           _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\\')))))
    while (i < n && p[i] >= 0x20 && p[i] < 0x80 && p[i] != '"' && p[i] != '\\') i++;
    return i;
}
#undef GOAT_SCAN

// The pattern scanner's ops (PatternScan builds them; see PatternScanner.swift for what each run
// means and why a greedy scan is PCRE2's answer). Run here, in C, so that the byte scans above
// inline into the loop: Swift calls them out of line (their SSE2 target features differ).
enum { GOAT_RUN_NONE, GOAT_RUN_NON_SPACE, GOAT_RUN_NOT_BRACKET, GOAT_RUN_DIGITS, GOAT_RUN_DIGITS_OR_DASH, GOAT_RUN_QUOTED };

typedef struct {
    int64_t run;
    int64_t min, max;          // the run's least and most bytes
    int64_t before, after;     // the caller's slots for the positions around the run; -1: none
    uint64_t literal;          // up to eight literal bytes after the run, low byte first
    int64_t literal_count;
    int64_t end;               // `$` after the literal: the end, or before a last newline
} goat_scan_op;

// Where the match ends, or -1. On a match, each op's slots hold its positions.
static inline ptrdiff_t goat_scan(const goat_scan_op *ops, size_t count, const uint8_t *p, size_t n, intptr_t *slots) {
    size_t i = 0;
    for (const goat_scan_op *op = ops; op < ops + count; op++) {
        if (op->before >= 0) slots[op->before] = (intptr_t)i;
        size_t s = i;
        switch (op->run) {
        case GOAT_RUN_NON_SPACE:
            i = goat_find_space(p, i, n);
            if ((int64_t)(i - s) < op->min) return -1;
            break;
        case GOAT_RUN_NOT_BRACKET:
            i = goat_find_byte(p, i, n, ']');
            if ((int64_t)(i - s) < op->min) return -1;
            break;
        case GOAT_RUN_DIGITS:
            while (i < n && (int64_t)(i - s) < op->max && (uint8_t)(p[i] - '0') < 10) i++;
            if ((int64_t)(i - s) < op->min) return -1;
            break;
        case GOAT_RUN_DIGITS_OR_DASH:
            if (i < n && p[i] == '-') { i++; break; }
            while (i < n && (uint8_t)(p[i] - '0') < 10) i++;
            if (i == s) return -1;
            break;
        case GOAT_RUN_QUOTED:
            // A backslash takes the byte after it, unless that is the end or a newline (PCRE2's
            // `.`): then the body ends before the backslash.
            for (;;) {
                i = goat_find_either(p, i, n, '"', '\\');
                if (i + 1 < n && p[i] == '\\' && p[i + 1] != '\n') i += 2; else break;
            }
            break;
        default:
            break;
        }
        if (op->after >= 0) slots[op->after] = (intptr_t)i;
        if ((int64_t)(n - i) < op->literal_count) return -1;
        uint64_t literal = op->literal;
        for (int64_t k = 0; k < op->literal_count; k++, i++, literal >>= 8) {
            if (p[i] != (uint8_t)literal) return -1;
        }
        if (op->end && !(i == n || (i == n - 1 && p[i] == '\n'))) return -1;
    }
    return (ptrdiff_t)i;
}
#endif
