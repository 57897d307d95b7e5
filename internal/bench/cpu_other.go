//go:build !unix

package bench

import "time"

// ownCPU is not measured here: the CPU figures are left out.
func ownCPU() time.Duration { return 0 }
