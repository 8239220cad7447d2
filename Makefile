# make install [PREFIX=/usr/local] [DESTDIR=/tmp/stage]   build (release) and install
# make uninstall                                           remove what install put there
# make install BINARY=path/to/goatimport                   install a binary built elsewhere (no build)
# make install-strip                                       the same, the binary without debug symbols
#
# Paths follow systemd's and Debian's conventions: with the default PREFIX the units go to
# /usr/local/lib/systemd/system ("installed by the administrator", searched by systemd);
# a package uses PREFIX=/usr. /etc/systemd/system is left to the administrator's own units and
# overrides. Override any *DIR below when a system differs.

PREFIX        ?= /usr/local
DESTDIR       ?=
BINDIR        ?= $(PREFIX)/bin
MANDIR        ?= $(PREFIX)/share/man/man1
DOCDIR        ?= $(PREFIX)/share/doc/goatimport
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
BASHCOMPDIR   ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR    ?= $(PREFIX)/share/zsh/site-functions
FISHCOMPDIR   ?= $(PREFIX)/share/fish/vendor_completions.d

SWIFT         ?= swift
# The Swift runtime and Foundation linked in: otherwise the binary needs the toolchain's
# libraries at the path it was built with (RUNPATH /opt/swift/...), which a server lacks.
SWIFT_FLAGS   ?= --static-swift-stdlib
INSTALL       ?= install

UNITS = goatimport.service goatimport.timer goatimport-follow.service
# The binary that install copies: the release build unless BINARY names one.
BIN = $(or $(BINARY),$(shell $(SWIFT) build -c release $(SWIFT_FLAGS) --show-bin-path)/goatimport)

.PHONY: all build install install-strip uninstall

all: build

build:
	$(SWIFT) build -c release $(SWIFT_FLAGS)

# The completions and the page's version come from the binary itself, so they cannot disagree
# with it. The page's FILES name PREFIX/…: each becomes the directory install really used. Units get ExecStart= pointing at BINDIR (without DESTDIR: that is where it will run).
install: $(if $(BINARY),,build)
	@set -e; bin="$(BIN)"; \
	test -x "$$bin" || { echo "make: $$bin: no such binary" >&2; exit 1; }; \
	version=$$("$$bin" --version); \
	$(INSTALL) -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)" "$(DESTDIR)$(SYSTEMDUNITDIR)" \
	    "$(DESTDIR)$(DOCDIR)/examples" "$(DESTDIR)$(BASHCOMPDIR)" "$(DESTDIR)$(ZSHCOMPDIR)" \
	    "$(DESTDIR)$(FISHCOMPDIR)"; \
	$(INSTALL) -m 0755 $(INSTALL_STRIP_FLAG) "$$bin" "$(DESTDIR)$(BINDIR)/goatimport"; \
	sed -e "s|^\.Os .*|.Os goatimport $$version|" \
	    -e "s|PREFIX/lib/systemd/system|$(SYSTEMDUNITDIR)|g" -e "s|PREFIX/share/doc/goatimport|$(DOCDIR)|g" \
	    -e "s|PREFIX/share/bash-completion/completions|$(BASHCOMPDIR)|g" \
	    -e "s|PREFIX/share/zsh/site-functions|$(ZSHCOMPDIR)|g" \
	    -e "s|PREFIX/share/fish/vendor_completions.d|$(FISHCOMPDIR)|g" -e "s|PREFIX/bin|$(BINDIR)|g" \
	    docs/goatimport.1 >"$(DESTDIR)$(MANDIR)/goatimport.1"; \
	chmod 0644 "$(DESTDIR)$(MANDIR)/goatimport.1"; \
	for unit in $(UNITS); do \
	    sed "s|/usr/local/bin/goatimport|$(BINDIR)/goatimport|g" "examples/systemd/$$unit" \
	        >"$(DESTDIR)$(SYSTEMDUNITDIR)/$$unit"; \
	    chmod 0644 "$(DESTDIR)$(SYSTEMDUNITDIR)/$$unit"; \
	done; \
	$(INSTALL) -m 0644 examples/systemd/logrotate-nginx "$(DESTDIR)$(DOCDIR)/examples/logrotate-nginx"; \
	"$$bin" --generate-completion-script bash >"$(DESTDIR)$(BASHCOMPDIR)/goatimport"; \
	"$$bin" --generate-completion-script zsh >"$(DESTDIR)$(ZSHCOMPDIR)/_goatimport"; \
	"$$bin" --generate-completion-script fish >"$(DESTDIR)$(FISHCOMPDIR)/goatimport.fish"; \
	chmod 0644 "$(DESTDIR)$(BASHCOMPDIR)/goatimport" "$(DESTDIR)$(ZSHCOMPDIR)/_goatimport" \
	    "$(DESTDIR)$(FISHCOMPDIR)/goatimport.fish"; \
	echo "installed goatimport $$version under $(DESTDIR)$(PREFIX)"

# automake's name and flag: a package's own tools usually strip, a hand install may want it.
install-strip:
	$(MAKE) install INSTALL_STRIP_FLAG=-s

# Removes only the files install wrote; directories shared with other software stay.
uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/goatimport" "$(DESTDIR)$(MANDIR)/goatimport.1" \
	    $(foreach unit,$(UNITS),"$(DESTDIR)$(SYSTEMDUNITDIR)/$(unit)") \
	    "$(DESTDIR)$(BASHCOMPDIR)/goatimport" "$(DESTDIR)$(ZSHCOMPDIR)/_goatimport" \
	    "$(DESTDIR)$(FISHCOMPDIR)/goatimport.fish" \
	    "$(DESTDIR)$(DOCDIR)/examples/logrotate-nginx"
	rmdir "$(DESTDIR)$(DOCDIR)/examples" "$(DESTDIR)$(DOCDIR)" 2>/dev/null || true
