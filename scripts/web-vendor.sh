#!/usr/bin/env bash
# Refresh the dashboard's vendored scripts from the npm registry (issue 6):
# the pinned versions below, copied from the packages' own dist files into
# internal/web/static/vendor, with their licences. The dashboard loads
# nothing from a CDN; these files are embedded in the binary.
set -euo pipefail
cd "$(dirname "$0")/.."
HTMX_VERSION=2.0.11
UPLOT_VERSION=1.6.32
out=internal/web/static/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm init -y >/dev/null && npm install --no-audit --no-fund --ignore-scripts --silent \
  "htmx.org@$HTMX_VERSION" "uplot@$UPLOT_VERSION")
mkdir -p "$out"
cp "$tmp/node_modules/htmx.org/dist/htmx.min.js" "$out/htmx.min.js"
cp "$tmp/node_modules/htmx.org/LICENSE" "$out/htmx.LICENSE"
cp "$tmp/node_modules/uplot/dist/uPlot.iife.min.js" "$out/uPlot.iife.min.js"
cp "$tmp/node_modules/uplot/dist/uPlot.min.css" "$out/uPlot.min.css"
cp "$tmp/node_modules/uplot/LICENSE" "$out/uPlot.LICENSE"
{
  echo "htmx.org $HTMX_VERSION"
  echo "uplot $UPLOT_VERSION"
} > "$out/VERSIONS"
sha256sum "$out"/*.js "$out"/*.css
