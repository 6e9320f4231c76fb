#!/usr/bin/env bash
# `make install` into a DESTDIR, then build examples/run_echo.c against the
# installed header and library through pkg-config only, as a user of the
# library would; the shared library exports nothing but sm_*.
set -u
top=${SM_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${SM_BUILD:-$top/build}
d=$(mktemp -d /tmp/sm-install-test.XXXXXX)
trap 'rm -rf "$d"' EXIT
failures=0
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; failures=$((failures + 1)); }

rel=$(realpath --relative-to="$top" "$build")
make_args=(BUILD="$rel")
san=()
if [ "$(basename "$build")" = build-san ]; then
	make_args+=(SANITIZE=1)
	san=(-fsanitize=address,undefined)
fi
if ! make -s -C "$top" install DESTDIR="$d/root" PREFIX=/usr "${make_args[@]}" >"$d/make.log" 2>&1; then
	fail install_runs "make install failed: $(tail -c 400 "$d/make.log")"
	exit 1
fi
pass install_runs

r=$d/root/usr
missing=
for f in bin/supermachine bin/supermachine-oci lib/libsupermachine.a lib/libsupermachine.so.0 \
	lib/libsupermachine.so include/supermachine.h lib/pkgconfig/supermachine.pc \
	share/supermachine/vmlinux share/supermachine/initramfs.cpio; do
	[ -e "$r/$f" ] || missing="$missing $f"
done
if [ -z "$missing" ]; then pass install_files; else fail install_files "missing:$missing"; fi

pc=$r/lib/pkgconfig/supermachine.pc
if grep -qx 'prefix=/usr' "$pc" && grep -qx 'Version: 0\.[0-9]*\.[0-9]*' "$pc" && ! grep -q @ "$pc"; then
	pass install_pkgconfig_filled
else
	fail install_pkgconfig_filled "$(tr '\n' ' ' <"$pc")"
fi

# pkg-config as a cross/staged build sees it: sysroot-prefixed paths.
export PKG_CONFIG_SYSROOT_DIR=$d/root PKG_CONFIG_PATH=$r/lib/pkgconfig
cp "$top/examples/run_echo.c" "$d/"
cflags=$(pkg-config --cflags supermachine) libs=$(pkg-config --libs supermachine)
if cc -std=gnu11 -Wall -Werror "${san[@]}" $cflags -o "$d/run_echo" "$d/run_echo.c" $libs >"$d/cc.log" 2>&1; then
	pass install_example_builds_with_pkgconfig
else
	fail install_example_builds_with_pkgconfig "cc $cflags ... $libs: $(head -c 400 "$d/cc.log")"
fi
case "$cflags" in *"$top/include"*) fail install_uses_installed_header "cflags name the source tree: $cflags" ;;
*) pass install_uses_installed_header ;; esac

# It runs against the installed .so: usage, then a real library call
# (a registry on a closed loopback port: the pull fails, status 125).
LD_LIBRARY_PATH=$r/lib "$d/run_echo" >"$d/out" 2>&1
rc=$?
lib=$(LD_LIBRARY_PATH=$r/lib ldd "$d/run_echo" | sed -n 's/.*libsupermachine.so.0 => \([^ ]*\).*/\1/p')
if [ $rc = 2 ] && grep -q usage "$d/out" && [ "$lib" = "$r/lib/libsupermachine.so.0" ]; then
	pass install_example_links_installed_lib
else
	fail install_example_links_installed_lib "status $rc, libsupermachine from '${lib:-none}'"
fi
SUPERMACHINE_ROOT=$d/store LD_LIBRARY_PATH=$r/lib timeout 120 "$d/run_echo" 127.0.0.1:1/none:1 hi >"$d/out" 2>&1
rc=$?
if [ $rc = 125 ] && grep -q '^run_echo: .*127.0.0.1:1' "$d/out"; then
	pass install_example_reports_library_error
else
	fail install_example_reports_library_error "status $rc: $(head -c 300 "$d/out")"
fi

# The static archive: Requires.private must name every library it needs
# (linked against the shared system libraries: Debian ships few static
# ones for curl's own dependencies, so no `pkg-config --static`).
slibs="$(pkg-config --libs $(pkg-config --print-requires-private supermachine)) -lpthread -lm"
if cc -std=gnu11 "${san[@]}" $cflags -o "$d/run_echo_static" "$d/run_echo.c" \
	"$r/lib/libsupermachine.a" $slibs >"$d/cc.log" 2>&1; then
	pass install_static_link
else
	fail install_static_link "$(head -c 400 "$d/cc.log")"
fi

# Only the public API is exported.
syms=$(nm -D --defined-only "$r/lib/libsupermachine.so.0" | awk '{ print $NF }')
others=$(echo "$syms" | grep -v '^sm_' | grep -v '^$' | head -5 | tr '\n' ' ')
if [ -z "$others" ] && echo "$syms" | grep -qx sm_run && echo "$syms" | grep -qx sm_version; then
	pass install_exports_only_sm_symbols
else
	fail install_exports_only_sm_symbols "non-sm_ exports: ${others:-none}; sm_run present: $(echo "$syms" | grep -cx sm_run)"
fi
# The static library too: its internal symbols are local, so an
# embedder's program may define its own of the same names.
ssyms=$(nm -g --defined-only "$r/lib/libsupermachine.a" 2>/dev/null | awk 'NF == 3 { print $3 }')
sothers=$(echo "$ssyms" | grep -v '^sm_' | grep -v '^$' | head -5 | tr '\n' ' ')
if [ -z "$sothers" ] && echo "$ssyms" | grep -qx sm_run; then
	pass install_static_exports_only_sm_symbols
else
	fail install_static_exports_only_sm_symbols "non-sm_ globals: ${sothers:-none}"
fi
[ "$failures" = 0 ]
