#ifndef GOATIMPORT_CPCRE2_SHIM_H
#define GOATIMPORT_CPCRE2_SHIM_H
// pcre2.h refuses to compile without a code unit width; goatimport works on bytes.
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#endif
