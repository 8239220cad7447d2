#ifndef GOATIMPORT_CPREFETCH_SHIM_H
#define GOATIMPORT_CPREFETCH_SHIM_H

// A hint that `p` will be read and written soon. Unlike a load, it never holds up the
// instructions after it, so the cache miss it starts overlaps with whatever work comes next.
static inline void goat_prefetch(const void *p) {
    __builtin_prefetch(p, 1, 3);
}
#endif
