#!/bin/sh
# Renders the menu icon PNGs from gimp-diffusion.svg (run once after editing the SVG; the
# PNGs are committed). Needs rsvg-convert (apt-get install librsvg2-bin).
set -eu
cd "$(dirname "$0")"
for s in 16 24 32 48 64; do
  rsvg-convert -w "$s" -h "$s" -o "gimp-diffusion-$s.png" gimp-diffusion.svg
done
