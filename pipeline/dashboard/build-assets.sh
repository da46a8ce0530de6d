#!/bin/sh
# Installs the dashboard's browser libraries from the npm registry (exact
# versions pinned in package.json / package-lock.json) and copies the built
# bundles and their licences into static/vendor, which is committed: the
# dashboard is embedded in the iwom binary and must work on an offline
# network, so nothing is fetched at run time.
#
#   sh pipeline/dashboard/build-assets.sh      (node >= 18, npm)
set -eu
cd "$(dirname "$0")"
npm ci --no-audit --no-fund

ec=node_modules/echarts
wc=node_modules/echarts-wordcloud
out=static/vendor
mkdir -p "$out"

cp "$ec/dist/echarts.min.js" "$out/echarts.min.js"
cp "$ec/LICENSE" "$out/LICENSE-echarts"
cp "$ec/NOTICE" "$out/NOTICE-echarts"
cp "$ec/licenses/LICENSE-d3" "$out/LICENSE-echarts-d3"

cp "$wc/dist/echarts-wordcloud.min.js" "$out/echarts-wordcloud.min.js"
if [ -f "$wc/LICENSE" ]; then
	cp "$wc/LICENSE" "$out/LICENSE-echarts-wordcloud"
else
	# The npm tarball of echarts-wordcloud 2.1.0 has no LICENSE file (and
	# the .LICENSE.txt its min.js points to is not published): record what
	# the package itself states, verbatim, rather than invent a text.
	{
		echo "echarts-wordcloud $(node -p "require('./$wc/package.json').version") (npm registry, https://github.com/ecomfe/echarts-wordcloud)"
		echo "The published package contains no LICENSE file. Its package.json declares:"
		echo "  \"license\": \"$(node -p "require('./$wc/package.json').license")\""
		echo
		echo "It bundles wordcloud2.js; the notice in its source ($wc/src/layout.js) reads:"
		sed -n '1,/\*\//p' "$wc/src/layout.js"
	} >"$out/LICENSE-echarts-wordcloud"
fi

echo "$out: echarts $(node -p "require('./$ec/package.json').version"), echarts-wordcloud $(node -p "require('./$wc/package.json').version")"
