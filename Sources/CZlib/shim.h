#ifndef GOATIMPORT_CZLIB_SHIM_H
#define GOATIMPORT_CZLIB_SHIM_H
#include <zlib.h>

// inflateInit2 is a function-like macro, which Swift cannot import.
static inline int goat_inflateInit2(z_streamp strm, int windowBits) {
    return inflateInit2(strm, windowBits);
}
#endif
