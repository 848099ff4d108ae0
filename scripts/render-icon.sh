#!/usr/bin/env bash
# Renders the marketplace icon (media/icon.png, 128×128, committed) from its drawing, media/icon.svg.
# Run it after changing the drawing; it needs Debian's rsvg-convert (apt-get install librsvg2-bin).
set -euo pipefail
cd "$(dirname "$0")/.."
rsvg-convert --width 128 --height 128 --keep-aspect-ratio media/icon.svg --output media/icon.png
