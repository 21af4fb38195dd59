#!/usr/bin/env bash
# Kill anywhere (issue 14): frpt train, reconstruct and posttrain run as real processes on
# MNIST, are killed with SIGKILL at 10 seeded random moments each (and their reruns at
# another), rerun to completion, and must leave the files of an uninterrupted run: the
# same checkpoint and shard bytes, the same results per run key, no temporary files.
# About 2 minutes on 2 cores; plain `go test ./...` skips it (FRPT_KILL_TEST unset).
set -euo pipefail
cd "$(dirname "$0")/../.."

FRPT_KILL_TEST=1 go test ./cmd/frpt -run '^TestKillAnywhere$' -count=1 -v -timeout 15m
