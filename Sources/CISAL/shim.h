#ifndef GOATIMPORT_CISAL_SHIM_H
#define GOATIMPORT_CISAL_SHIM_H
// ISA-L's inflate (igzip): the same DEFLATE as zlib, two to four times as fast here.
#include <isa-l/igzip_lib.h>
#endif
