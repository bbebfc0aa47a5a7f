#!/bin/sh
# scripts/deps.sh - make sure the build dependencies of zipc are installed.
# As root: installs what is missing with apt-get (Debian/Ubuntu).
# Otherwise: prints the exact command to run and exits with status 1.
set -eu

# pkg-config module -> Debian package
MODULES="liburing:liburing-dev numa:libnuma-dev hwloc:libhwloc-dev criterion:libcriterion-dev json-c:libjson-c-dev"
# command -> Debian package
COMMANDS="pkg-config:pkg-config cc:gcc make:make"

missing=""
for pair in $COMMANDS; do
	cmd=${pair%%:*}; pkg=${pair#*:}
	command -v "$cmd" >/dev/null 2>&1 || missing="$missing $pkg"
done
if command -v pkg-config >/dev/null 2>&1; then
	for pair in $MODULES; do
		mod=${pair%%:*}; pkg=${pair#*:}
		pkg-config --exists "$mod" || missing="$missing $pkg"
	done
else
	for pair in $MODULES; do missing="$missing ${pair#*:}"; done
fi
# optional extras used by the tests / tools
for pair in ${ZIPC_EXTRA_DEPS:-}; do
	cmd=${pair%%:*}; pkg=${pair#*:}
	command -v "$cmd" >/dev/null 2>&1 || missing="$missing $pkg"
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "zipc: missing build dependencies:$missing" >&2
	echo "zipc: install them with:  sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "zipc: installing build dependencies:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
# shellcheck disable=SC2086
if ! apt-get install -y -q $missing >/dev/null; then
	apt-get update -q >/dev/null
	apt-get install -y -q $missing >/dev/null
fi
