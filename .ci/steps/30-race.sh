#!/usr/bin/env bash
# Race detector (issue 14) over the code that runs goroutines, on the tests that drive it
# at small sizes (the detector slows code 5-20×):
#   tensor    parallel kernels (Parallel, the shared-panel sgemm, conv taps); the block-edge
#             sweep of every gemm path is left out (25 s under -race, serial per shape)
#   data      the prefetching loader (whole package, fuzz seeds included)
#   pipeline  the grid's run pool (TestGridResume), the cache writer goroutine and the
#             concurrent reverse chains of reconstruct (TestReconstructResume, cache tests),
#             hierarchical mode's concurrent segments, explain's workers
# About 3 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/../.."

export GORACE="halt_on_error=1"
go test -race -count=1 ./tensor -skip '^TestSgemmPathsBlockEdges$'
go test -race -count=1 ./data
go test -race -count=1 ./pipeline \
  -run '^(TestGridResume|TestReconstructResume|TestCacheResumeNoLossNoDuplicate|TestCacheChecksManifestAndShards|TestPostTrainSameBits|TestHierarchical.*|TestExplainEndToEnd)$'
