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
static inline void goat_prefetch(const void *p) {
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
static inline size_t goat_find_space(const uint8_t *p, size_t from, size_t n) {
    GOAT_SCAN(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')),
                           _mm_cmpeq_epi8(_mm_min_epu8(_mm_sub_epi8(v, _mm_set1_epi8(9)), _mm_set1_epi8(4)),
                                          _mm_sub_epi8(v, _mm_set1_epi8(9)))))
    while (i < n && p[i] != ' ' && (uint8_t)(p[i] - 9) > 4) i++;
    return i;
}

static inline size_t goat_find_byte(const uint8_t *p, size_t from, size_t n, uint8_t a) {
    GOAT_SCAN(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)a)))
    while (i < n && p[i] != a) i++;
    return i;
}

static inline size_t goat_find_either(const uint8_t *p, size_t from, size_t n, uint8_t a, uint8_t b) {
    GOAT_SCAN(_mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8((char)a)), _mm_cmpeq_epi8(v, _mm_set1_epi8((char)b))))
    while (i < n && p[i] != a && p[i] != b) i++;
    return i;
}
#undef GOAT_SCAN
#endif
