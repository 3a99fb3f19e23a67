#!/usr/bin/env bash
# Rebuild static/vendor/codemirror/codemirror.min.js from npm (the committed bundle is what the pages load;
# nothing here runs at install or test time). Versions are locked in package-lock.json.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --silent
./node_modules/.bin/esbuild entry.js --bundle --minify --format=iife --target=es2019 \
  --outfile=../../static/vendor/codemirror/codemirror.min.js
rm -rf node_modules
