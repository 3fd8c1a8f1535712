#!/usr/bin/env bash
# Runs `guestpass conformance` against a freshly provisioned guestpass server,
# once per access-level set (chain; chain,location; client,chain,location),
# with every credential the kit can use. Builds nothing.
#
#   scripts/conformance.sh [BINARY] [sqlite|postgres]
#
# BINARY defaults to target/release/guestpass. For postgres, a fresh database
# gp_conf_<random> is created on the server GUESTPASS_TEST_POSTGRES_URL points
# at (e.g. postgres://postgres@127.0.0.1:5432/test) and dropped afterwards.
# Prints the kit's final line per run (the whole report when a run fails);
# exits non-zero when any run fails.
set -euo pipefail

BIN=${1:-target/release/guestpass}
BACKEND=${2:-sqlite}
LEVEL_SETS=("chain" "chain,location" "client,chain,location")

if [[ ! -x $BIN ]]; then
    echo "no executable at $BIN (build it first: cargo build --release)" >&2
    exit 2
fi

# Fixed, clearly fake credentials for a throwaway database.
CHAIN_A=conf-chain-a
CHAIN_A_SECRET=O4KoVq2775UMsorVnXUpUHfLsN6wrMQKhfcbCS5z
CHAIN_B=conf-chain-b
CHAIN_B_SECRET=XOTSDRlOm82WsevqcRkQOSnBzKAqDHzRxJ9OkDP7
LOC_A1=conf-a-1
LOC_A1_SECRET=GXwZqUlWDCkx6uQTghu3oju4O8IZ970wJ0IyHxyE
LOC_A2=conf-a-2
LOC_A2_SECRET=hY6JmnAkJdmv0AFvTAHm8vBjQRiyrQxL0YfcLpB5
LOC_B1=conf-b-1
LOC_B1_SECRET=Aiy4IV49JNjMJHeODIqR1czYVjw7dZIjbilF6ZKF
CLIENT=conf-client
CLIENT_SECRET=tXpn3Ydqe4wRIEKfaDJziEZfrwjKzHMQIV3MDhVC

WORK=$(mktemp -d)
SERVER_PID=""
PG_DB=""

stop_server() {
    if [[ -n $SERVER_PID ]]; then
        local rc=0
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || rc=$?
        SERVER_PID=""
        if [[ $rc -ne 0 ]]; then
            echo "warning: guestpass serve exited with $rc after SIGTERM" >&2
        fi
    fi
}

cleanup() {
    stop_server
    if [[ -n $PG_DB ]]; then
        psql "$GUESTPASS_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

case $BACKEND in
sqlite)
    export DATABASE_URL="$WORK/guestpass.db"
    ;;
postgres)
    : "${GUESTPASS_TEST_POSTGRES_URL:?set GUESTPASS_TEST_POSTGRES_URL, e.g. postgres://postgres@127.0.0.1:5432/test}"
    PG_DB="gp_conf_$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
    psql "$GUESTPASS_TEST_POSTGRES_URL" -qc "CREATE DATABASE $PG_DB" >/dev/null
    url=$GUESTPASS_TEST_POSTGRES_URL
    query=""
    if [[ $url == *\?* ]]; then
        query="?${url#*\?}"
        url=${url%%\?*}
    fi
    export DATABASE_URL="${url%/*}/$PG_DB$query"
    ;;
*)
    echo "backend must be sqlite or postgres, not '$BACKEND'" >&2
    exit 2
    ;;
esac

# Secrets go through the environment, never the command line (ps shows it).
admin() {
    local secret=$1 out rc=0
    shift
    out=$(GUESTPASS_SECRET=$secret "$BIN" admin "$@" 2>&1) || rc=$?
    if [[ $rc -ne 0 ]]; then
        echo "guestpass admin $* failed ($rc): ${out//$secret/<secret>}" >&2
        exit 1
    fi
}
"$BIN" migrate
admin "$CHAIN_A_SECRET" add-chain --id "$CHAIN_A"
admin "$CHAIN_B_SECRET" add-chain --id "$CHAIN_B"
admin "$LOC_A1_SECRET" add-location --chain "$CHAIN_A" --id "$LOC_A1"
admin "$LOC_A2_SECRET" add-location --chain "$CHAIN_A" --id "$LOC_A2"
admin "$LOC_B1_SECRET" add-location --chain "$CHAIN_B" --id "$LOC_B1"
admin "$CLIENT_SECRET" add-client --id "$CLIENT"

export GUESTPASS_CONFORMANCE_CLIENT_SECRET=$CLIENT_SECRET
export GUESTPASS_CONFORMANCE_CHAIN_SECRET=$CHAIN_A_SECRET
export GUESTPASS_CONFORMANCE_LOCATION_SECRET=$LOC_A1_SECRET
export GUESTPASS_CONFORMANCE_SECOND_LOCATION_SECRET=$LOC_A2_SECRET
export GUESTPASS_CONFORMANCE_OTHER_CHAIN_SECRET=$CHAIN_B_SECRET
export GUESTPASS_CONFORMANCE_OTHER_CHAIN_LOCATION_SECRET=$LOC_B1_SECRET

failed=0
for levels in "${LEVEL_SETS[@]}"; do
    log="$WORK/server-${levels//,/-}.log"
    report="$WORK/report-${levels//,/-}.txt"
    # Port 0: the server picks a free port and logs its base URL.
    RUST_LOG=info "$BIN" serve --bind 127.0.0.1:0 --rate-limit 0 --auth-levels "$levels" >"$log" 2>&1 &
    SERVER_PID=$!
    base_url=""
    for _ in $(seq 100); do
        base_url=$(grep -o 'listening on http://[^ ]*' "$log" | head -n1 | sed 's/^listening on //' || true)
        [[ -n $base_url ]] && break
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    if [[ -z $base_url ]]; then
        echo "$BACKEND $levels: the server did not start" >&2
        cat "$log" >&2
        exit 1
    fi
    if "$BIN" conformance --base-url "$base_url" --levels "$levels" \
        --client-id "$CLIENT" --chain-id "$CHAIN_A" --location-id "$LOC_A1" \
        --second-location-id "$LOC_A2" --other-chain-id "$CHAIN_B" \
        --other-chain-location-id "$LOC_B1" --output "$report"; then
        echo "$BACKEND $levels: $(tail -n1 "$report")"
    else
        echo "$BACKEND $levels: $(tail -n1 "$report") — FAILED:"
        cat "$report"
        failed=1
    fi
    stop_server
done
exit "$failed"
