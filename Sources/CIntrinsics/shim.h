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
// SipHash-2-4, the keyed hash of visitors and visit ids (SessionTracker.swift says why keyed).
// In C because the same loop in Swift ran at about two thirds of this speed, and every hit
// hashes its IP and user agent. Messages are absorbed in pieces; each piece's words are shifted
// into the pending tail, so a piece that starts mid-word costs no byte-by-byte loop.
typedef struct { uint64_t v0, v1, v2, v3, tail, tail_bytes, length; } goat_sip;

#define GOAT_ROTL(x, b) (((x) << (b)) | ((x) >> (64 - (b))))
#define GOAT_SIPROUND                                                              \
    do {                                                                           \
        v0 += v1; v1 = GOAT_ROTL(v1, 13); v1 ^= v0; v0 = GOAT_ROTL(v0, 32);        \
        v2 += v3; v3 = GOAT_ROTL(v3, 16); v3 ^= v2;                                \
        v0 += v3; v3 = GOAT_ROTL(v3, 21); v3 ^= v0;                                \
        v2 += v1; v1 = GOAT_ROTL(v1, 17); v1 ^= v2; v2 = GOAT_ROTL(v2, 32);        \
    } while (0)
#define GOAT_SIP_COMPRESS(m) do { uint64_t m_ = (m); v3 ^= m_; GOAT_SIPROUND; GOAT_SIPROUND; v0 ^= m_; } while (0)

static inline __attribute__((always_inline)) void goat_sip_init(goat_sip *s, uint64_t k0, uint64_t k1) {
    s->v0 = k0 ^ 0x736f6d6570736575ULL;
    s->v1 = k1 ^ 0x646f72616e646f6dULL;
    s->v2 = k0 ^ 0x6c7967656e657261ULL;
    s->v3 = k1 ^ 0x7465646279746573ULL;
    s->tail = 0;
    s->tail_bytes = 0;
    s->length = 0;
}

static inline __attribute__((always_inline)) uint64_t goat_load_le64(const uint8_t *p) {
    uint64_t w;
    __builtin_memcpy(&w, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    w = __builtin_bswap64(w);
#endif
    return w;
}

static inline __attribute__((always_inline)) void goat_sip_add(goat_sip *s, const uint8_t *p, size_t n) {
    uint64_t v0 = s->v0, v1 = s->v1, v2 = s->v2, v3 = s->v3, tail = s->tail, held = s->tail_bytes;
    size_t i = 0;
    if (held == 0) {
        for (; i + 8 <= n; i += 8) GOAT_SIP_COMPRESS(goat_load_le64(p + i));
    } else {
        unsigned shift = (unsigned)(8 * held);
        for (; i + 8 <= n; i += 8) {
            uint64_t w = goat_load_le64(p + i);
            GOAT_SIP_COMPRESS(tail | w << shift);
            tail = w >> (64 - shift);
        }
    }
    for (; i < n; i++) {
        tail |= (uint64_t)p[i] << (8 * held);
        if (++held == 8) { GOAT_SIP_COMPRESS(tail); tail = 0; held = 0; }
    }
    s->v0 = v0; s->v1 = v1; s->v2 = v2; s->v3 = v3; s->tail = tail; s->tail_bytes = held;
    s->length += n;
}

static inline __attribute__((always_inline)) uint64_t goat_sip_finish(const goat_sip *s) {
    uint64_t v0 = s->v0, v1 = s->v1, v2 = s->v2, v3 = s->v3;
    GOAT_SIP_COMPRESS(s->length << 56 | s->tail);
    v2 ^= 0xff;
    GOAT_SIPROUND; GOAT_SIPROUND; GOAT_SIPROUND; GOAT_SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}
#undef GOAT_SIP_COMPRESS
#undef GOAT_SIPROUND
#undef GOAT_ROTL
#endif
