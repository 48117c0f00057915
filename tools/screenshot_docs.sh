#!/usr/bin/env bash
# Screenshots of the built documentation with headless Chromium, to look at how pages read.
#
#   tools/screenshot_docs.sh [OUT_DIR]     # default: a new folder under /tmp; never the checkout
#
# Needs a built site (python -m sphinx -b html docs docs/_build/html) and Debian's chromium.
# Writes home.png, user_guide_nmf.png, gallery.png, example.png, api.png (1400 px wide, full
# first screen and a tall capture of each page) and prints the folder.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
HTML="${MATFIT_DOCS_HTML:-$ROOT/docs/_build/html}"  # or a build elsewhere
OUT="${1:-$(mktemp -d "${TMPDIR:-/tmp}/matfit-docs-shots.XXXXXX")}"
case "$(cd "$(dirname "$OUT")" 2>/dev/null && pwd)/" in "$ROOT"/*) echo "screenshot_docs: OUT_DIR must be outside the checkout"; exit 2;; esac
mkdir -p "$OUT"
[ -f "$HTML/index.html" ] || { echo "screenshot_docs: build the docs first ($HTML missing)"; exit 2; }
BROWSER="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$BROWSER" ] || { echo "screenshot_docs: needs chromium (apt-get install chromium)"; exit 2; }
PROFILE="$(mktemp -d)"
trap 'rm -rf "$PROFILE"' EXIT

shot() {  # name, page relative to the site, height
    # the background-networking flags keep Chromium from dialling out (the machine has no network)
    "$BROWSER" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --user-data-dir="$PROFILE" --window-size="1400,$3" \
        --virtual-time-budget=3000 --screenshot="$OUT/$1.png" "file://$HTML/$2" >/dev/null 2>&1
    [ -s "$OUT/$1.png" ] || { echo "screenshot_docs: no screenshot of $2"; exit 1; }
}
shot home index.html 1100
shot user_guide_nmf user_guide/nmf.html 2400
shot gallery auto_examples/index.html 2000
shot example auto_examples/factorisation_and_separation/nmf_basics.html 2600
shot api api/factorize.html 1100
shot user_guide_ratings user_guide/ratings.html 1600
shot user_guide_shapes user_guide/shapes.html 2600
echo "$OUT"
