#!/usr/bin/env bash
# Runs the standalone conformance kit (guestpass-conformance) against a
# freshly provisioned guestpass server:
#   - once per access-level set (chain; chain,location; client,chain,location),
#     plain http, rate limit off, every credential the kit can use;
#   - once as a vendor would certify the demo: `serve --demo` over https with
#     a throwaway CA and the server's default rate limit, the kit with only
#     `--demo --ca-cert` (at most 3 checks may be skipped: the 500, the 503
#     and /health's 503); and once without `--ca-cert`, which must stop at
#     once with exit status 2.
# Builds nothing.
#
#   scripts/conformance.sh [SERVER_BINARY] [sqlite|postgres] [KIT_BINARY]
#
# SERVER_BINARY defaults to target/release/guestpass, KIT_BINARY to
# guestpass-conformance beside it (cargo build --release --workspace). For
# postgres, a fresh database gp_conf_<random> is created on the server
# GUESTPASS_TEST_POSTGRES_URL points at (e.g.
# postgres://postgres@127.0.0.1:5432/test) and dropped afterwards.
# Prints the kit's final line per run (the whole report when a run fails);
# exits non-zero when any run fails, or when a server does not exit 0 on SIGTERM.
set -euo pipefail

BIN=${1:-target/release/guestpass}
BACKEND=${2:-sqlite}
KIT=${3:-$(dirname "$BIN")/guestpass-conformance}
LEVEL_SETS=("chain" "chain,location" "client,chain,location")
MAX_DEMO_SKIPS=3
# Checks of the 2026-11-29 contract additions that this branch's server does
# not implement yet (they are being built on main); a failure of any other
# check fails the run. Empty this list once main's server implements them.
PENDING_ON_MAIN=""

for exe in "$BIN" "$KIT"; do
    if [[ ! -x $exe ]]; then
        echo "no executable at $exe (build both first: cargo build --release --workspace)" >&2
        exit 2
    fi
done

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
failed=0

# Stops the server; a server that does not exit 0 on SIGTERM fails the run
# (graceful shutdown is part of the contract).
stop_server() {
    if [[ -n $SERVER_PID ]]; then
        local rc=0
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || rc=$?
        SERVER_PID=""
        if [[ $rc -ne 0 ]]; then
            echo "FAILED: guestpass serve exited with $rc after SIGTERM; its log:" >&2
            cat "$SERVER_LOG" >&2 || true
            failed=1
        fi
    fi
}

cleanup() {
    local rc=$?
    stop_server
    if [[ -n $PG_DB ]]; then
        psql "$GUESTPASS_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null || true
    fi
    rm -rf "$WORK"
    if [[ $rc -eq 0 && $failed -ne 0 ]]; then
        exit 1
    fi
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

# Starts `guestpass serve ARGS…` on a free port; sets SERVER_PID and BASE_URL.
start_server() {
    SERVER_LOG="$WORK/server-$(date +%s%N).log"
    : >"$SERVER_LOG"
    RUST_LOG=info "$BIN" serve --bind 127.0.0.1:0 "$@" >"$SERVER_LOG" 2>&1 &
    SERVER_PID=$!
    BASE_URL=""
    for _ in $(seq 100); do
        BASE_URL=$(grep -o 'listening on https\?://[^ ]*' "$SERVER_LOG" | head -n1 | sed 's/^listening on //' || true)
        [[ -n $BASE_URL ]] && break
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    if [[ -z $BASE_URL ]]; then
        echo "$BACKEND: the server did not start (serve $*)" >&2
        cat "$SERVER_LOG" >&2
        exit 1
    fi
}

# Runs the kit with ARGS… (JSON report in REPORT); prints its counts, or
# every failed check when one failed that PENDING_ON_MAIN does not name.
run_kit() {
    local label=$1 report=$2 rc=0
    shift 2
    "$KIT" "$@" --format json --output "$report" || rc=$?
    if [[ $rc -eq 2 || ! -s $report ]]; then
        echo "$BACKEND $label: FAILED: the kit could not run (exit $rc)"
        failed=1
        return
    fi
    if ! python3 - "$report" "$BACKEND $label" "$PENDING_ON_MAIN" <<'PY'; then
import json, sys
report, label, pending = json.load(open(sys.argv[1])), sys.argv[2], set(sys.argv[3].split())
s = report["summary"]
failed = [r for r in report["results"] if r["status"] == "failed"]
unexpected = [r for r in failed if r["id"] not in pending]
line = f'{s["passed"]} passed, {s["failed"]} failed, {s["skipped"]} skipped, {s["notApplicable"]} not applicable'
if failed and not unexpected:
    line += f' (all failures pending on main: {" ".join(sorted(r["id"] for r in failed))})'
print(f"{label}: {line}")
for r in unexpected:
    print(json.dumps(r, indent=2))
sys.exit(1 if unexpected else 0)
PY
        failed=1
    fi
}

export GUESTPASS_CONFORMANCE_CLIENT_SECRET=$CLIENT_SECRET
export GUESTPASS_CONFORMANCE_CHAIN_SECRET=$CHAIN_A_SECRET
export GUESTPASS_CONFORMANCE_LOCATION_SECRET=$LOC_A1_SECRET
export GUESTPASS_CONFORMANCE_SECOND_LOCATION_SECRET=$LOC_A2_SECRET
export GUESTPASS_CONFORMANCE_OTHER_CHAIN_SECRET=$CHAIN_B_SECRET
export GUESTPASS_CONFORMANCE_OTHER_CHAIN_LOCATION_SECRET=$LOC_B1_SECRET

for levels in "${LEVEL_SETS[@]}"; do
    start_server --rate-limit 0 --auth-levels "$levels"
    run_kit "$levels" "$WORK/report-${levels//,/-}.json" \
        --base-url "$BASE_URL" --levels "$levels" --max-rps 0 --idempotency on \
        --client-id "$CLIENT" --chain-id "$CHAIN_A" --location-id "$LOC_A1" \
        --second-location-id "$LOC_A2" --other-chain-id "$CHAIN_B" \
        --other-chain-location-id "$LOC_B1"
    stop_server
done
unset "${!GUESTPASS_CONFORMANCE_@}"

# The demo as a vendor would certify it: https with a throwaway CA, the
# server's default rate limit, the kit's default pace, nothing but --demo
# (and --idempotency on: our contract has §8 whatever the served spec says yet).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/CN=guestpass CI throwaway CA" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$WORK/ca.key" -out "$WORK/ca.pem" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=127.0.0.1" \
    -keyout "$WORK/key.pem" -out "$WORK/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$WORK/server.ext"
openssl x509 -req -in "$WORK/server.csr" -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -CAcreateserial \
    -days 2 -extfile "$WORK/server.ext" -out "$WORK/cert.pem" 2>/dev/null

start_server --demo --tls-cert "$WORK/cert.pem" --tls-key "$WORK/key.pem"
if [[ $BASE_URL != https://* ]]; then
    echo "FAILED: serve --tls-cert printed $BASE_URL, not an https URL" >&2
    failed=1
fi
demo_json="$WORK/report-demo.json"
run_kit "demo over https, default limits" "$demo_json" \
    --base-url "$BASE_URL" --demo --ca-cert "$WORK/ca.pem" --idempotency on
skips=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["summary"]["skipped"])' "$demo_json" 2>/dev/null || echo unknown)
if [[ $skips == unknown || $skips -gt $MAX_DEMO_SKIPS ]]; then
    echo "FAILED: $skips checks skipped against the demo (at most $MAX_DEMO_SKIPS may be)" >&2
    failed=1
else
    echo "$BACKEND demo: $skips skipped (at most $MAX_DEMO_SKIPS)"
fi

# Without the CA the certificate does not verify: exit 2 within seconds, one line.
started=$(date +%s)
rc=0
err=$("$KIT" --base-url "$BASE_URL" --demo 2>&1 >/dev/null) || rc=$?
elapsed=$(($(date +%s) - started))
if [[ $rc -ne 2 || $elapsed -gt 10 || $err != *UnknownIssuer* ]]; then
    echo "FAILED: without --ca-cert the kit should exit 2 at once naming the certificate problem; got $rc after ${elapsed}s: $err" >&2
    failed=1
else
    echo "$BACKEND demo without --ca-cert: exit 2 in ${elapsed}s: $err"
fi
stop_server
exit "$failed"
