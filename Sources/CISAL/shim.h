#ifndef GOATIMPORT_CISAL_SHIM_H
#define GOATIMPORT_CISAL_SHIM_H
// ISA-L's inflate (igzip): the same DEFLATE as zlib, two to four times as fast here.
#include <isa-l/igzip_lib.h>

// The decoded bytes inflate holds back in its own buffer (Swift does not import an array this
// large): after an error they are handed out from here.
static inline const uint8_t *goat_isal_held_output(const struct inflate_state *s) {
    return s->tmp_out_buffer + s->tmp_out_processed;
}
#endif
