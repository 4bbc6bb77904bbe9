# fmgate: GNU make. `make` builds build/fmgate; `make test` runs every test.
# Variables: CC, CFLAGS, LDFLAGS, PREFIX, DESTDIR, BUILD (output folder),
# SAN=1 (AddressSanitizer + UBSan build in build/asan).

VERSION  := $(shell cat VERSION)
PREFIX   ?= /usr/local
DESTDIR  ?=
SAN      ?=
ifeq ($(SAN),1)
BUILD    ?= build/asan
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
BUILD    ?= build
SANFLAGS :=
endif

CC       ?= cc
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Wformat=2 -Wshadow -Wpointer-arith -Wstrict-prototypes \
            -Wmissing-prototypes -Wvla -Werror=implicit-function-declaration
PKGS     := fcgi libcurl libcjson libxml-2.0
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
ALL_CPPFLAGS := -D_GNU_SOURCE -DFMGATE_VERSION='"$(VERSION)"' -iquote src $(PKG_CFLAGS) $(CPPFLAGS)
ALL_CFLAGS   := -std=c11 $(WARN) $(SANFLAGS) $(CFLAGS)
ALL_LDFLAGS  := $(SANFLAGS) $(LDFLAGS)
LDLIBS   := $(PKG_LIBS)

SRC      := $(wildcard src/*.c)
OBJ      := $(SRC:src/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/schema_blob.o
LIBOBJ   := $(filter-out $(BUILD)/obj/main.o,$(OBJ))
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)

.PHONY: all test unit deps clean install demo valgrind
all: $(BUILD)/fmgate

$(BUILD)/fmgate: $(OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/obj/%.o: src/%.c | $(BUILD)/obj
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# The RELAX NG schema is compiled into the binary, so a worker never depends on
# finding it on disk; the same file is installed for editors and xmllint.
$(BUILD)/obj/schema_blob.o: src/schema_blob.S schema/fmgate.rng | $(BUILD)/obj
	$(CC) -c -DSCHEMA_PATH='"schema/fmgate.rng"' -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIBOBJ) tests/unit/t.h | $(BUILD)/tests
	@echo "  LINK $@"
	@$(CC) $(ALL_CPPFLAGS) -iquote tests/unit $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBOBJ) $(LDLIBS)

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

unit: $(UNIT_BIN)

# Installs missing Debian packages (as root) or says which apt-get line to run.
deps:
	@sh scripts/deps.sh test

# A sub-make builds after `deps`, so that on a fresh machine pkg-config and the
# libraries it reports on are there when the Makefile is read again.
test: deps
	@$(MAKE) --no-print-directory -s all unit
	@BUILD=$(BUILD) bash tests/run.sh

# The unit programs and the CGI-mode suites under valgrind memcheck.
VALGRIND := valgrind -q --error-exitcode=97 --leak-check=full --errors-for-leak-kinds=definite
valgrind: deps
	@$(MAKE) --no-print-directory -s all unit
	@BUILD=$(BUILD) SUITES="unit cgi" FMGATE_WRAP="$(VALGRIND)" bash tests/run.sh

demo:
	@bash scripts/demo.sh

install: $(BUILD)/fmgate
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/fmgate \
	        $(DESTDIR)/etc/fmgate
	install -m 0755 $(BUILD)/fmgate $(DESTDIR)$(PREFIX)/bin/fmgate
	install -m 0644 schema/fmgate.rng $(DESTDIR)$(PREFIX)/share/fmgate/fmgate.rng
	install -m 0644 docs/forms.example.xml $(DESTDIR)$(PREFIX)/share/fmgate/forms.example.xml
	install -m 0644 apache-conf/fmgate.conf $(DESTDIR)$(PREFIX)/share/fmgate/apache-fmgate.conf
	test -e $(DESTDIR)/etc/fmgate/forms.xml || \
	  install -m 0644 docs/forms.example.xml $(DESTDIR)/etc/fmgate/forms.xml

clean:
	rm -rf build

-include $(OBJ:.o=.d)
