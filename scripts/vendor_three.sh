#!/usr/bin/env bash
# Vendor a pinned three.js release into dancemosaic/studio/static/vendor/three/ (the studio works
# offline and never loads a CDN). Re-running it reproduces that folder byte for byte.
#
# Since r186 the npm package no longer ships minified builds, so the readable ES modules are vendored:
# build/three.module.js imports ./three.core.js, and OrbitControls imports the bare specifier 'three',
# which a browser cannot resolve without an import map (Gradio owns the page, so we cannot add one):
# that single import is rewritten to ./three.module.js.
set -euo pipefail

VERSION=0.187.0
INTEGRITY="sha512-Qiu7R+Cmh8CstZsY1uJOSWnVlfo7ZtNLV7mF8Jltk3LB3AtDu9cRZlcnRKkAk8Y4z6KKw35z7Y7Urd7jWY8etA=="

cd "$(dirname "$0")/.."
dest=dancemosaic/studio/static/vendor/three
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "three@$VERSION" >/dev/null)
tarball="$tmp/three-$VERSION.tgz"
actual="sha512-$(openssl dgst -sha512 -binary "$tarball" | base64 -w0)"
if [[ "$actual" != "$INTEGRITY" ]]; then
    echo "three@$VERSION tarball integrity mismatch: $actual" >&2
    exit 1
fi
tar xzf "$tarball" -C "$tmp"
pkg="$tmp/package"

rm -rf "$dest"
mkdir -p "$dest"
cp "$pkg/build/three.module.js" "$pkg/build/three.core.js" "$pkg/LICENSE" "$dest/"
sed "s|^} from 'three';\$|} from './three.module.js';|" \
    "$pkg/examples/jsm/controls/OrbitControls.js" >"$dest/OrbitControls.js"
# Exactly one import must have been rewritten, and no bare specifier may remain.
if [[ $(grep -c "^} from './three.module.js';\$" "$dest/OrbitControls.js") != 1 ]] ||
    grep -q "^[^*]*from 'three'" "$dest/OrbitControls.js"; then
    echo "OrbitControls.js: the import of 'three' was not rewritten as expected" >&2
    exit 1
fi
chmod 644 "$dest"/*

checksums=$(cd "$dest" && sha256sum LICENSE OrbitControls.js three.core.js three.module.js)
cat >"$dest/VENDOR.md" <<EOF
# three.js $VERSION (vendored)

Fetched from npm as \`three@$VERSION\` ($INTEGRITY) by
\`scripts/vendor_three.sh\`; re-run that script to reproduce this folder exactly.

Licence: MIT, copyright three.js authors (see \`LICENSE\`, copied from the package).

| file | from the package |
| --- | --- |
| \`three.module.js\` | \`build/three.module.js\` (imports \`./three.core.js\`) |
| \`three.core.js\` | \`build/three.core.js\` |
| \`OrbitControls.js\` | \`examples/jsm/controls/OrbitControls.js\`, one line changed (below) |
| \`LICENSE\` | \`LICENSE\` |

three.js stopped shipping minified builds in r186, so the readable modules are vendored.

The one change: OrbitControls imports the bare specifier \`'three'\`, which a browser cannot resolve
without an import map (Gradio owns the page), so its import line \`} from 'three';\` is rewritten to
\`} from './three.module.js';\`.

SHA-256 of the vendored files:

\`\`\`
$checksums
\`\`\`
EOF
echo "vendored three@$VERSION into $dest"
