package webhook

import (
	"math/rand/v2"
	"time"
)

// GiveUpAfter is how long a delivery is retried before it is failed for
// good (longer when endpoints are suspended later than that).
const GiveUpAfter = 72 * time.Hour

// maxDelay caps one wait between attempts, so that late retries still come
// several times a day rather than once.
const maxDelay = 12 * time.Hour

// Backoff is the wait after the attempt-th failure in a row (1 for the
// first): base × 2^(attempt-1), capped at 12 h, with "equal jitter" (half
// fixed, half random) so that endpoints that fail together do not all
// retry together.
func Backoff(attempt int, base time.Duration) time.Duration {
	d := maxDelay
	if attempt < 40 {
		if x := base << max(attempt-1, 0); x > 0 && x < maxDelay {
			d = x
		}
	}
	return d/2 + time.Duration(rand.Int64N(int64(d/2)+1))
}

// NextAttempt says when to try a delivery again after its attempt-th
// failed attempt: now + Backoff. ok is false once that would be more than
// giveUp after created: the delivery has failed.
func NextAttempt(created, now time.Time, attempt int, base, giveUp time.Duration) (time.Time, bool) {
	next := now.Add(Backoff(attempt, base))
	if next.Sub(created) > giveUp {
		return time.Time{}, false
	}
	return next, true
}
