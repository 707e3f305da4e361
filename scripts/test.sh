#!/usr/bin/env bash
# Runs every test suite on SQLite, then the integration suites again on PostgreSQL.
#   GATHER_TEST_PG  admin URL of the PostgreSQL server (default postgres://postgres@127.0.0.1:5432);
#                   each test server gets a fresh database there, dropped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

export GATHER_TEST_PG="${GATHER_TEST_PG:-postgres://postgres@127.0.0.1:5432}"

drop_test_databases() {
    command -v psql >/dev/null 2>&1 || return 0
    psql "$GATHER_TEST_PG/test" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 'gather_t_%'" 2>/dev/null |
        while read -r db; do psql "$GATHER_TEST_PG/test" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true; done
}
trap drop_test_databases EXIT

# PocketBase's official JS SDK for the framework's js_sdk tests (versions from the lock file).
if [ ! -d crates/framework/tests/sdk/node_modules/pocketbase ]; then
    npm ci --prefix crates/framework/tests/sdk --no-audit --no-fund --loglevel=error
fi

# The same SDK for the platform's chat test (tests/platform/chat.rs).
if [ ! -d tests/sdk/node_modules/pocketbase ]; then
    npm ci --prefix tests/sdk --no-audit --no-fund --loglevel=error
fi

# playwright-core for the dashboard's browser tests (admin_ui; chromium from apt).
if [ ! -d crates/framework/admin-ui/node_modules/playwright-core ]; then
    npm ci --prefix crates/framework/admin-ui --no-audit --no-fund --loglevel=error
fi

# playwright-core and axe-core for the pages' browser tests (tests/platform/pages.rs).
if [ ! -d gather-ui/node_modules/playwright-core ]; then
    npm ci --prefix gather-ui --no-audit --no-fund --loglevel=error
fi

# moto's S3-compatible server for the framework's files_s3 tests.
if ! python3 -c "import moto.server" >/dev/null 2>&1; then
    python3 -m pip install -q --disable-pip-version-check "moto[server]==5.2.5"
fi

# Schemathesis for tests/platform/openapi_conformance.rs (the OpenAPI document against the server).
if ! python3 -c "import schemathesis" >/dev/null 2>&1; then
    python3 -m pip install -q --disable-pip-version-check "schemathesis==4.32.5"
fi

echo "== unit and integration tests on SQLite =="
GATHER_TEST_DB=sqlite cargo test --workspace --all-targets
# The framework's documented example (crate docs) compiles.
cargo test --workspace --doc

echo "== integration tests on PostgreSQL ($GATHER_TEST_PG) =="
GATHER_TEST_DB=postgres cargo test --workspace --test '*'
