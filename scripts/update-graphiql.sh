#!/usr/bin/env bash
# Vendors the GraphQL playground's assets into internal/playground/static/vendor
# from the npm packages at the versions pinned below, with their licences.
# The binary serves them itself, so the playground works offline.
# Change a version, run this script, check the playground
# (go test ./internal/tests/frontend -run Playground) and commit the result.
set -euo pipefail
GRAPHIQL=3.8.3   # the last GraphiQL with a self-contained browser build (UMD)
REACT=18.3.1     # GraphiQL 3 needs React 16.8 to 18, as UMD builds

cd "$(dirname "$0")/.."
out=internal/playground/static/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "graphiql@$GRAPHIQL" "react@$REACT" "react-dom@$REACT" >/dev/null)
for p in graphiql react react-dom; do
  mkdir -p "$tmp/$p"
  tar xzf "$tmp"/"$p"-[0-9]*.tgz -C "$tmp/$p" --strip-components=1
done

rm -rf "$out"
mkdir -p "$out"
cp "$tmp/graphiql/graphiql.min.js" "$tmp/graphiql/graphiql.min.css" "$out/"
cp "$tmp/graphiql/LICENSE" "$out/LICENSE.graphiql"
cp "$tmp/react/umd/react.production.min.js" "$out/"
cp "$tmp/react/LICENSE" "$out/LICENSE.react"
cp "$tmp/react-dom/umd/react-dom.production.min.js" "$out/"
cp "$tmp/react-dom/LICENSE" "$out/LICENSE.react-dom"
# The minified files carry no source map comment to a file we do not ship.
sed -i 's|//# sourceMappingURL=.*||' "$out"/*.js
sed -i 's|/\*# sourceMappingURL=.*\*/||' "$out"/*.css
cat > "$out/VERSIONS" <<VERSIONS
graphiql $GRAPHIQL (npm: graphiql.min.js, graphiql.min.css; MIT, LICENSE.graphiql;
  the bundle includes its dependencies, e.g. graphql-js and CodeMirror 5, MIT)
react $REACT (npm: umd/react.production.min.js; MIT, LICENSE.react)
react-dom $REACT (npm: umd/react-dom.production.min.js; MIT, LICENSE.react-dom)
Updated by scripts/update-graphiql.sh.
VERSIONS
ls -l "$out"
