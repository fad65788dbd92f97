#!/bin/sh
# Property-based check of a running node against its own OpenAPI description, with
# Schemathesis (https://schemathesis.readthedocs.io). Optional; not part of CI.
#
#   pip install schemathesis
#   allmende run --http 127.0.0.1:8080 &          # a node with some data
#   scripts/schemathesis.sh http://127.0.0.1:8080
#   TOKEN=$(cat "$ALLMENDE_DATA_DIR/admin.token") scripts/schemathesis.sh http://127.0.0.1:8080
#
# Without TOKEN only reads are exercised (writes would be answered 401). With TOKEN the
# writes run too and store generated records in that node: use a throwaway data directory.
set -eu
url=${1:-http://127.0.0.1:8080}
[ $# -gt 0 ] && shift
if [ -n "${TOKEN:-}" ]; then
    exec schemathesis run "$url/api/v1/openapi.json" --url "$url" \
        --header "Authorization: Bearer $TOKEN" --checks all "$@"
fi
exec schemathesis run "$url/api/v1/openapi.json" --url "$url" --include-method GET --checks all "$@"
