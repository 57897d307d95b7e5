package identity

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/ratelimit"
)

// Default limits (DESIGN §6, §9): generous enough for an office behind one
// address, tight enough that one address cannot try many passwords.
var (
	DefaultIPLimit      = ratelimit.Limit{Count: 300, Period: time.Minute}
	DefaultAccountLimit = ratelimit.Limit{Count: 10, Period: time.Minute}
)

// Progressive throttling after failed logins, per account and client
// address: FreeFailures in a row cost nothing, then each further attempt
// must wait 1 s, 2 s, 4 s, … up to MaxFailureDelay after the last failure.
// A streak is forgotten after FailureMemory without failures, or at the
// next good login, or when an admin lifts it.
const (
	FreeFailures    = 5
	MaxFailureDelay = 5 * time.Minute
	FailureMemory   = time.Hour
)

// failureDelay is how long after the n-th failure in a row the next
// attempt must wait.
func failureDelay(n int) time.Duration {
	if n < FreeFailures {
		return 0
	}
	if n-FreeFailures >= 16 {
		return MaxFailureDelay
	}
	return min(time.Second<<(n-FreeFailures), MaxFailureDelay)
}

// Quota is the caller's standing against the tightest limit its request
// was counted against, for the dialects' rate-limit headers.
type Quota struct {
	Limit     ratelimit.Limit
	Remaining int
	Reset     time.Time // when the full allowance is back
}

func (q *Quota) update(r ratelimit.Result, now time.Time) {
	if q == nil || r.Limit.Off() {
		return
	}
	if q.Limit.Off() || r.Remaining < q.Remaining || (r.Remaining == q.Remaining && now.Add(r.ResetAfter).After(q.Reset)) {
		q.Limit, q.Remaining, q.Reset = r.Limit, r.Remaining, now.Add(r.ResetAfter)
	}
}

func errLimited(limit string, retry time.Duration) *Error {
	return &Error{Code: ERATELIMITED, Field: limit, RetryAfter: retry, Message: "too many requests; retry after the time in Retry-After"}
}

// allow counts one request under key against l and fills the caller's
// quota. A limiter that fails lets the request through: limits protect
// the service, and failing closed would turn a Redis outage into a login
// outage (ratelimit.Fallback normally answers from memory first).
func (s *Service) allow(ctx context.Context, c Client, name, key string, l ratelimit.Limit) (ratelimit.Result, error) {
	if s.Limiter == nil || l.Off() {
		return ratelimit.Result{Allowed: true}, nil
	}
	res, err := s.Limiter.Allow(ctx, key, l)
	if err != nil {
		s.log().WarnContext(ctx, "rate limiter failed; request let through", "limit", name, "err", err)
		return ratelimit.Result{Allowed: true}, nil
	}
	c.Quota.update(res, s.now())
	if !res.Allowed {
		return res, errLimited(name, res.RetryAfter)
	}
	return res, nil
}

// AdmitIP counts a request to a login route (action "login", "refresh",
// …) against the client address's limit. Dialects call it first, before
// reading the body, so that a flood costs no parsing and no hashing.
func (s *Service) AdmitIP(ctx context.Context, action string, c Client) error {
	_, err := s.allow(ctx, c, "ip", "ip:"+action+":"+c.IP, s.Config.IPLimit)
	return err
}

// accountRef names the account a login is for, whether or not the tenant
// and user exist, so that unknown accounts are limited exactly like known
// ones.
func accountRef(t *Tenant, req LoginRequest) string {
	ref := "?" + strings.ToLower(strings.TrimSpace(req.TenantID+"/"+req.TenantAlias))
	if t != nil {
		ref = t.ID
	}
	return ref + ":" + EmailKey(req.Email)
}

func failureKey(acct, ip string) string { return "fail:" + acct + "@" + ip }

// admitLogin applies the per-tenant address limit (when the tenant sets
// one), the per-account limit and the failure streak's delay.
func (s *Service) admitLogin(ctx context.Context, tenant *Tenant, acct string, req LoginRequest, pol Config) (failures int, err error) {
	if s.Limiter == nil {
		return 0, nil
	}
	c := req.Client
	if tenant != nil && tenant.Settings.RateLimitIP != "" {
		if _, err := s.allow(ctx, c, "tenant_ip", "tip:"+tenant.ID+":"+c.IP, pol.IPLimit); err != nil {
			return 0, err
		}
	}
	if res, err := s.allow(ctx, c, "account", "acct:"+acct, pol.AccountLimit); err != nil {
		s.lockedByRate(ctx, tenant, req, res)
		return 0, err
	}
	n, last, err := s.Limiter.Failures(ctx, failureKey(acct, c.IP))
	if err != nil {
		s.log().WarnContext(ctx, "rate limiter failed; failure streak not checked", "err", err)
		return 0, nil
	}
	if wait := last.Add(failureDelay(n)).Sub(s.now()); n >= FreeFailures && wait > 0 {
		// Only on this (rare) path: has an admin lifted the throttle since?
		if _, lifted, err := s.Limiter.Failures(ctx, "lift:"+acct); err == nil && lifted.After(last) {
			s.Limiter.Reset(ctx, failureKey(acct, c.IP))
			return 0, nil
		}
		return n, errLimited("failed_logins", wait)
	}
	return n, nil
}

// lockedByRate records account.locked when an existing account's limit
// starts refusing, at most once per limit period.
func (s *Service) lockedByRate(ctx context.Context, tenant *Tenant, req LoginRequest, res ratelimit.Result) {
	if tenant == nil || res.Limit.Off() {
		return
	}
	user, err := s.Users.GetUserByEmail(ctx, tenant.ID, req.Email)
	if err != nil {
		return
	}
	once, err := s.Limiter.Allow(ctx, "locked:"+user.ID, ratelimit.Limit{Count: 1, Period: res.Limit.Period})
	if err == nil && once.Allowed {
		s.recordLock(ctx, tenant.ID, user.ID, req.Client, "rate_limit", s.now().Add(res.RetryAfter))
	}
}

// countFailure extends the account's failure streak from this address and
// records account.locked when the streak starts costing delay.
func (s *Service) countFailure(ctx context.Context, tenant *Tenant, userID, acct string, c Client) {
	if s.Limiter == nil {
		return
	}
	n, err := s.Limiter.Fail(ctx, failureKey(acct, c.IP), FailureMemory)
	if err != nil {
		s.log().WarnContext(ctx, "rate limiter failed; failure not counted", "err", err)
		return
	}
	if n == FreeFailures && tenant != nil && userID != "" {
		s.recordLock(ctx, tenant.ID, userID, c, "failed_logins", s.now().Add(failureDelay(n)))
	}
}

// LiftThrottle forgets the user's failure streaks (from every address),
// account limit and second-factor attempts, so that the user can log in at
// once (admin).
func (s *Service) LiftThrottle(ctx context.Context, tenantID, userID string) error {
	user, err := s.Users.GetUser(ctx, tenantID, userID)
	if err != nil {
		return err
	}
	if err := s.SecondFactors.ClearSecondFactorAttempts(ctx, userID); err != nil {
		return err
	}
	if s.Limiter == nil {
		return nil
	}
	acct := tenantID + ":" + EmailKey(user.Email)
	if err := errors.Join(s.Limiter.Reset(ctx, "acct:"+acct), s.Limiter.Reset(ctx, "locked:"+userID)); err != nil {
		return Internal(err)
	}
	// Failure streaks are kept per address, and resetting every address's
	// key would need a scan; instead the lift is recorded, and a streak
	// whose last failure is older than the lift no longer delays.
	if _, err := s.Limiter.Fail(ctx, "lift:"+acct, FailureMemory); err != nil {
		return Internal(err)
	}
	s.log().InfoContext(ctx, "throttle lifted by admin", "user_id", userID, "tenant_id", tenantID)
	return nil
}

// busy turns a hashing pool's overload error into EUNAVAILABLE.
func busy(err error) (*Error, bool) {
	var ov interface{ RetryAfter() time.Duration }
	if errors.As(err, &ov) {
		return &Error{Code: EUNAVAILABLE, RetryAfter: ov.RetryAfter(), Message: "the server is busy; retry after the time in Retry-After", Err: err}, true
	}
	return nil, false
}
