#ifndef GOATIMPORT_CSYSTEMD_SHIM_H
#define GOATIMPORT_CSYSTEMD_SHIM_H
#include <systemd/sd-journal.h>
#endif
