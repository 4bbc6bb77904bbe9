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
PKGS     := fcgi libcurl libcjson libxml-2.0 libcrypto libseccomp
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

# sandbox.c skips its filter under valgrind when valgrind's header was there
# at build time: installing valgrind (make valgrind does) rebuilds it.
$(BUILD)/obj/sandbox.o: $(wildcard /usr/include/valgrind/valgrind.h)

$(BUILD)/tests/%: tests/unit/%.c $(LIBOBJ) $(wildcard tests/unit/*.h) | $(BUILD)/tests
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

# ---- fuzzing ------------------------------------------------------------------
# `make fuzz` builds the libFuzzer harnesses of tests/fuzz/ with clang, ASan and
# UBSan into $(BUILD)/fuzz/ and runs each for FUZZ_SECONDS with its seeds and
# dictionary; a crash, a leak or an input slower than FUZZ_TIMEOUT seconds fails
# it. What libFuzzer finds goes to a scratch corpus there, never into the seeds.
# `make fuzz-build` only builds.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TIMEOUT ?= 10
FUZZ_NAMES   ?= urlencoded multipart cookie mapping request spool fmapi fcgi_head
FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c11 $(WARN) -O1 -g $(FUZZ_SAN)
FUZZ_OBJ     := $(filter-out $(FUZZ_DIR)/obj/main.o,$(SRC:src/%.c=$(FUZZ_DIR)/obj/%.o)) \
                $(FUZZ_DIR)/obj/schema_blob.o
FUZZ_BIN     := $(FUZZ_NAMES:%=$(FUZZ_DIR)/fuzz_%)
.PHONY: fuzz fuzz-build

fuzz-build: $(FUZZ_BIN)

fuzz:
	@sh scripts/deps.sh fuzz
	@$(MAKE) --no-print-directory -s fuzz-build
	@sh tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_TIMEOUT) $(FUZZ_NAMES)

$(FUZZ_DIR)/obj/%.o: src/%.c | $(FUZZ_DIR)/obj
	$(FUZZ_CC) $(ALL_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/obj/schema_blob.o: src/schema_blob.S schema/fmgate.rng | $(FUZZ_DIR)/obj
	$(FUZZ_CC) -c -DSCHEMA_PATH='"schema/fmgate.rng"' -o $@ $<

# An archive, so each harness links only the modules it reaches.
$(FUZZ_DIR)/libfmgate.a: $(FUZZ_OBJ)
	rm -f $@ && ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_DIR)/libfmgate.a
	$(FUZZ_CC) $(ALL_CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
	  $(FUZZ_DIR)/libfmgate.a $(LDLIBS)

$(FUZZ_DIR)/obj:
	mkdir -p $@

-include $(FUZZ_OBJ:.o=.d)

# The benchmark (bench/run.sh, bench/RESULTS.md): fmgate against two ceilings
# behind the same Apache; and its instruction count per submission (callgrind).
BENCH_BIN := $(BUILD)/bench/ceiling_bare $(BUILD)/bench/ceiling_upstream \
             $(BUILD)/bench/spoolrate $(BUILD)/bench/instr
.PHONY: bench bench-instr bench-build

bench-build: $(BUILD)/fmgate $(BENCH_BIN)

$(BUILD)/bench/%: bench/%.c | $(BUILD)/bench
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LDLIBS)

# The in-process path links fmgate's own modules.
$(BUILD)/bench/instr: bench/instr.c $(LIBOBJ) | $(BUILD)/bench
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< $(LIBOBJ) $(LDLIBS)

$(BUILD)/bench:
	mkdir -p $@

bench:
	@sh scripts/deps.sh bench
	@$(MAKE) --no-print-directory -s bench-build
	@BUILD=$(BUILD) bash bench/run.sh

bench-instr:
	@sh scripts/deps.sh bench
	@$(MAKE) --no-print-directory -s bench-build
	@BUILD=$(BUILD) bash bench/instr.sh

# Debian's layout (docs/deploy.md): the binary in PREFIX/bin; schema, example
# mapping and the web servers' configurations in PREFIX/share/fmgate; the
# visitor assets (fmgate-forms.js and the error pages it fills in, with their
# type map; the rest of www/ is the demo site) in PREFIX/share/fmgate/www; the man
# page; systemd units in /lib/systemd/system; /etc/fmgate/forms.xml only when
# absent; the spool /var/spool/fmgate (0700), handed to www-data when installing
# as root onto this machine. The binary's path in configurations and units
# follows PREFIX.
VISITOR_ASSETS := www/fmgate-forms.js $(wildcard www/error*.html) www/error.var
install: $(BUILD)/fmgate
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/fmgate/www \
	        $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)/lib/systemd/system $(DESTDIR)/etc/fmgate
	install -d -m 0700 $(DESTDIR)/var/spool/fmgate
	install -m 0755 $(BUILD)/fmgate $(DESTDIR)$(PREFIX)/bin/fmgate
	install -m 0644 schema/fmgate.rng $(DESTDIR)$(PREFIX)/share/fmgate/fmgate.rng
	install -m 0644 docs/forms.example.xml $(DESTDIR)$(PREFIX)/share/fmgate/forms.example.xml
	install -m 0644 $(VISITOR_ASSETS) $(DESTDIR)$(PREFIX)/share/fmgate/www/
	set -e; for f in apache-conf/fmgate.conf:apache lighttpd-conf/fmgate.conf:lighttpd \
	                 nginx-conf/fmgate.conf:nginx; do \
	  to=$(DESTDIR)$(PREFIX)/share/fmgate/$${f#*:}-fmgate.conf; \
	  sed 's|/usr/bin/fmgate|$(PREFIX)/bin/fmgate|g' $${f%:*} >$$to; chmod 0644 $$to; \
	done
	set -e; for u in $(wildcard systemd/*.service systemd/*.socket systemd/*.timer); do \
	  to=$(DESTDIR)/lib/systemd/system/$${u#systemd/}; \
	  sed 's|/usr/bin/fmgate|$(PREFIX)/bin/fmgate|g' $$u >$$to; chmod 0644 $$to; \
	done
	sed '/^\.TH/s/"fmgate [^"]*"/"fmgate $(VERSION)"/' man/fmgate.1 | gzip -9n \
	  >$(DESTDIR)$(PREFIX)/share/man/man1/fmgate.1.gz
	chmod 0644 $(DESTDIR)$(PREFIX)/share/man/man1/fmgate.1.gz
	test -e $(DESTDIR)/etc/fmgate/forms.xml || \
	  install -m 0644 docs/forms.example.xml $(DESTDIR)/etc/fmgate/forms.xml
	if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && id www-data >/dev/null 2>&1; then \
	  chown www-data:www-data /var/spool/fmgate; fi

clean:
	rm -rf build

-include $(OBJ:.o=.d)
