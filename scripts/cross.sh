# Cross-platform builds on this Linux machine (sourced, not run): Windows
# (x86_64-pc-windows-gnu, tests run under Wine) and a macOS type-check
# (x86_64-apple-darwin, nothing linked). Used by scripts/windows-test.sh and
# scripts/macos-check.sh.
#
# The route: Debian's rustc-web/cargo-web (1.96, from bookworm-security) with
# rust-web-src, the std source of exactly that compiler, so that `-Zbuild-std` builds std
# for a target rustup has not installed; mingw-w64 links, Wine runs the tests.

CROSS_DIR=${CROSS_DIR:-$PWD/target/cross}

# Installs the Debian packages (refreshing the index first: rustc-web 1.96 is only in
# bookworm-security) and checks the compiler is new enough for the workspace.
cross_install() {
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo=sudo; fi
    export DEBIAN_FRONTEND=noninteractive
    local packages=(rustc-web cargo-web rust-web-src gcc-mingw-w64-x86-64 wine64 clang)
    if ! dpkg -s "${packages[@]}" >/dev/null 2>&1 || ! /usr/bin/rustc --version | grep -q ' 1\.9[6-9]\.'; then
        echo "== installing ${packages[*]} from Debian"
        $sudo apt-get update -qq
        $sudo apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
    fi
    if ! /usr/bin/rustc --version | grep -Eq ' 1\.(9[6-9]|[1-9][0-9]{2})\.'; then
        echo "cross: /usr/bin/rustc is $(/usr/bin/rustc --version); 1.96 or later is needed" >&2
        echo "cross: is bookworm-security in the apt sources? (apt-cache policy rustc-web)" >&2
        return 1
    fi
}

# The environment for `cargo -Zbuild-std`: Debian's compiler (not rustup's shims, whose
# toolchain has no std source for these targets), a target dir of its own, mingw as the
# linker and C compiler, Wine as the runner.
cross_env() {
    mkdir -p "$CROSS_DIR"
    export PATH="/usr/bin:$PATH" RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc CARGO=/usr/bin/cargo
    unset RUSTUP_TOOLCHAIN
    export RUSTC_BOOTSTRAP=1
    export CARGO_TARGET_DIR="$CROSS_DIR/target"
    export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER=x86_64-w64-mingw32-gcc
    export CC_x86_64_pc_windows_gnu=x86_64-w64-mingw32-gcc
    export AR_x86_64_pc_windows_gnu=x86_64-w64-mingw32-ar
    export CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER=/usr/lib/wine/wine64
    export WINEPREFIX="$CROSS_DIR/wineprefix" WINEDEBUG=-all WINEARCH=win64
    cross_wine_prefix
    cross_darwin_cc
}

# Wine 8 has no bcryptprimitives.dll, from which Rust's std imports ProcessPrng: without
# it every .exe exits with code 53 before main. A one-function DLL built with mingw
# (ProcessPrng through RtlGenRandom) goes into the prefix's system32.
cross_wine_prefix() {
    local dll="$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll"
    [ -f "$dll" ] && return 0
    cat > "$CROSS_DIR/processprng.c" <<'C'
#include <windows.h>
#include <ntsecapi.h>
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE out, SIZE_T len) {
    while (len > 0) {
        ULONG chunk = len > 0x10000000 ? 0x10000000 : (ULONG)len;
        if (!RtlGenRandom(out, chunk)) return FALSE;
        out += chunk;
        len -= chunk;
    }
    return TRUE;
}
C
    printf 'LIBRARY bcryptprimitives.dll\nEXPORTS\nProcessPrng\n' > "$CROSS_DIR/processprng.def"
    x86_64-w64-mingw32-gcc -O2 -shared -s -o "$CROSS_DIR/bcryptprimitives.dll" \
        "$CROSS_DIR/processprng.c" "$CROSS_DIR/processprng.def" -ladvapi32
    /usr/lib/wine/wine64 wineboot -i >/dev/null 2>&1 || true
    cp "$CROSS_DIR/bcryptprimitives.dll" "$dll"
}

# macOS: no SDK or linker here. Build scripts that compile C (ring) get empty Mach-O
# objects from this stand-in, so `cargo check` type-checks the Rust code for real.
cross_darwin_cc() {
    cat > "$CROSS_DIR/darwin-cc" <<'SH'
#!/bin/sh
out=; prev=; compile=
for a in "$@"; do [ "$prev" = "-o" ] && out=$a; [ "$a" = "-c" ] && compile=1; prev=$a; done
if [ -n "$compile" ] && [ -n "$out" ]; then
    exec clang --target=x86_64-apple-darwin -c -x c /dev/null -o "$out"
fi
exec clang --target=x86_64-apple-darwin -ffreestanding "$@"
SH
    chmod +x "$CROSS_DIR/darwin-cc"
    export CC_x86_64_apple_darwin="$CROSS_DIR/darwin-cc"
}
