#!/usr/bin/env bash
# Builds the library crate against the oldest versions of its dependencies that Cargo.toml
# declares, so the declared minimums are the real ones (cargo's -Z minimal-versions needs a
# nightly toolchain, which these machines do not have). The library is copied out of the
# workspace, so the CLI's newer requirements do not hold these back.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# The minimums, as declared in crates/inflight/Cargo.toml.
declare -A MIN=(
  [tokio]=$(sed -n 's/^tokio = { version = "\([0-9.]*\)".*sync.*/\1/p' "$ROOT/crates/inflight/Cargo.toml")
  [futures-core]=$(sed -n 's/^futures-core = "\([0-9.]*\)"/\1/p' "$ROOT/crates/inflight/Cargo.toml")
  [pin-project-lite]=$(sed -n 's/^pin-project-lite = "\([0-9.]*\)"/\1/p' "$ROOT/crates/inflight/Cargo.toml")
)

cp -r "$ROOT/crates/inflight/src" "$WORK/"
# The package without its dev-dependencies (the tests and benches need newer ones) and with
# the workspace's inherited fields written out.
rust_version=$(sed -n 's/^rust-version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml")
cat > "$WORK/Cargo.toml" <<TOML
[package]
name = "inflight"
version = "0.0.0"
edition = "2021"
rust-version = "$rust_version"

[dependencies]
$(sed -n '/^\[dependencies\]/,/^\[/p' "$ROOT/crates/inflight/Cargo.toml" | sed '1d;/^\[/d')
TOML
cd "$WORK"
cargo generate-lockfile --quiet
# tokio first: it sets a floor of its own under pin-project-lite.
for crate in tokio futures-core pin-project-lite; do
  version=${MIN[$crate]}
  # A version like "1.47" means its first release, 1.47.0.
  while [[ $(tr -cd . <<<"$version" | wc -c) -lt 2 ]]; do version="$version.0"; done
  echo "$crate = $version"
  cargo update --quiet -p "$crate" --precise "$version"
done
CARGO_TARGET_DIR="$WORK/target" cargo check --quiet --lib
echo "the library builds with its declared minimum dependencies"
