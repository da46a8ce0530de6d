#!/bin/sh
# Regenerates data/TSCharacters.txt and data/TSPhrases.txt from the OpenCC
# dictionaries installed by Debian's libopencc-data (apt-get install opencc
# libopencc-data). Run from this directory (go generate does).
set -eu
dir=${OPENCC_DIR:-/usr/share/opencc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for d in TSCharacters TSPhrases; do
	opencc_dict -i "$dir/$d.ocd2" -o "$tmp/$d.txt" -f ocd2 -t text
	LC_ALL=C sort "$tmp/$d.txt" >"data/$d.txt"
done
