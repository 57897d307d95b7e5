//go:build !unix

package accountsv3_test

import "time"

// processCPU is 0 where getrusage is missing: the benchmarks then report
// no CPU time per operation worth reading.
func processCPU() time.Duration { return 0 }
