package webhook

import (
	"math/rand/v2"
	"time"
)

// GiveUpAfter is how long a delivery is retried before it is failed for good.
const GiveUpAfter = 72 * time.Hour

// maxDelay caps one wait between attempts, so that late retries still come
// several times a day rather than once.
const maxDelay = 12 * time.Hour

// NextAttempt says when to try a delivery again after its attempt-th
// failed attempt (1 for the first): base × 2^(attempt-1), capped at 12 h,
// with "equal jitter" (half fixed, half random) so that endpoints that fail
// together do not all retry together. ok is false once that would be more
// than GiveUpAfter after created: the delivery has failed.
func NextAttempt(created, now time.Time, attempt int, base time.Duration) (time.Time, bool) {
	d := maxDelay
	if attempt < 40 {
		if x := base << (attempt - 1); x > 0 && x < maxDelay {
			d = x
		}
	}
	d = d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
	next := now.Add(d)
	if next.Sub(created) > GiveUpAfter {
		return time.Time{}, false
	}
	return next, true
}
