package identity

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/ratelimit"
)

// Default limits: generous enough for an office behind one address, tight
// enough that one address cannot try many passwords. The account limit is
// the account-wide failure ceiling (see admitLogin).
var (
	DefaultIPLimit      = ratelimit.Limit{Count: 300, Period: time.Minute}
	DefaultAccountLimit = ratelimit.Limit{Count: 10, Period: time.Minute}
)

// Progressive throttling after failed logins, per (account, client
// address): FreeFailures in a row cost nothing, then each further attempt
// from that address must wait 1 s, 2 s, 4 s, … up to MaxFailureDelay after
// the last failure. A streak is forgotten after FailureMemory without
// failures, at the next good login from the address, or when an admin
// lifts it.
const (
	FreeFailures    = 5
	MaxFailureDelay = 5 * time.Minute
	FailureMemory   = time.Hour
)

// Reasons of account.locked events.
const (
	LockFailedLogins = "failed_logins" // an address's failure streak started costing delay
	LockCeiling      = "rate_limit"    // the account-wide failure ceiling tripped
	LockSecondFactor = "second_factor" // an address's failed codes started a lock-out
	LockDailyCap     = "second_factor_daily_cap"
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

// Quota is the caller's standing against the tightest of its own
// per-address limits that its request was counted against, for the
// dialects' rate-limit headers. Nothing about an account ever shows in
// it: a stranger must not be able to watch when a user logs in.
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
	return &Error{Code: ERATELIMITED, Field: limit, RetryAfter: retry, Message: "too many requests"}
}

// allow counts one request under key against l; when perAddress, the
// caller's quota shows the result. A limiter that fails lets the request
// through: limits protect the service, and failing closed would turn a
// Redis outage into a login outage (ratelimit.Fallback normally answers
// from memory first).
func (a *Auth) allow(ctx context.Context, c Client, name, key string, l ratelimit.Limit, perAddress bool) (ratelimit.Result, error) {
	if a.Limiter == nil || l.Off() {
		return ratelimit.Result{Allowed: true}, nil
	}
	res, err := a.Limiter.Allow(ctx, key, l)
	if err != nil {
		a.log().WarnContext(ctx, "rate limiter failed; request let through", "limit", name, "err", err)
		return ratelimit.Result{Allowed: true}, nil
	}
	if perAddress {
		c.Quota.update(res, a.now())
	}
	if !res.Allowed {
		return res, errLimited(name, res.RetryAfter)
	}
	return res, nil
}

// AdmitIP counts a request to a login route (action "login", "refresh",
// …) against the client address's limit (IPv6 by /64). It runs first,
// before the body is read, so that a flood costs no parsing and no hashing.
func (a *Auth) AdmitIP(ctx context.Context, action string, c Client) error {
	_, err := a.allow(ctx, c, "ip", "ip:"+action+":"+AddressKey(c.IP), a.Config.IPLimit, true)
	return err
}

// accountRef names the account a login is for, whether or not the tenant
// and user exist, so that unknown accounts are limited exactly like known
// ones: the tenant (or what the caller sent for it) and the login name's
// key. An email and a user name are two names, so two refs.
func accountRef(t *Tenant, req LoginRequest, name string) string {
	ref := "?" + strings.ToLower(strings.TrimSpace(req.TenantID+"/"+req.TenantAlias))
	if t != nil {
		ref = t.ID
	}
	return ref + ":" + EmailKey(name)
}

func failureKey(acct, addr string) string { return "fail:" + acct + "@" + addr }
func ceilingKey(acct string) string       { return "acct:" + acct }

// admitLogin decides whether a password may be tried for the account from
// the client's address, before any hashing:
//   - the tenant's own per-address limit, when it sets one;
//   - the address's failure streak on this account (progressive delay);
//   - the account-wide failure ceiling, which binds only addresses not
//     known for the account: a flood of failures from strangers slows
//     strangers and never locks the owner out of the places it uses.
//
// Only failures fill the streak and the ceiling (countFailure): a
// successful login never uses up a limit. It returns the address's
// streak.
func (a *Auth) admitLogin(ctx context.Context, tenant *Tenant, user *User, acct string, req LoginRequest, pol Config) (int, error) {
	if a.Limiter == nil {
		return 0, nil
	}
	c := req.Client
	addr := AddressKey(c.IP)
	if tenant != nil && tenant.Settings.RateLimitIP != "" {
		if _, err := a.allow(ctx, c, "tenant_ip", "tip:"+tenant.ID+":"+addr, pol.IPLimit, true); err != nil {
			return 0, err
		}
	}
	n, last, err := a.Limiter.Failures(ctx, failureKey(acct, addr))
	if err != nil {
		a.log().WarnContext(ctx, "rate limiter failed; failure streak not checked", "err", err)
		return 0, nil
	}
	if wait := last.Add(failureDelay(n)).Sub(a.now()); n >= FreeFailures && wait > 0 {
		// Only on this (rare) path: has an admin lifted the throttle since?
		if _, lifted, err := a.Limiter.Failures(ctx, "lift:"+acct); err == nil && lifted.After(last) {
			a.Limiter.Reset(ctx, failureKey(acct, addr))
			n = 0
		} else {
			return n, errLimited("failed_logins", wait)
		}
	}
	if pol.AccountLimit.Off() {
		return n, nil
	}
	res, err := a.Limiter.Peek(ctx, ceilingKey(acct), pol.AccountLimit)
	if err != nil {
		a.log().WarnContext(ctx, "rate limiter failed; failure ceiling not checked", "err", err)
		return n, nil
	}
	if !res.Allowed && !a.knownAddress(ctx, user, addr) {
		return n, errLimited("account", res.RetryAfter)
	}
	return n, nil
}

// knownAddress reports whether the user logged in from addr recently. It
// asks the store for unknown accounts too (user nil), so that the answer
// takes the same time whether the account exists or not.
func (a *Auth) knownAddress(ctx context.Context, user *User, addr string) bool {
	id := ""
	if user != nil {
		id = user.ID
	}
	known, err := a.Users.KnownAddress(ctx, id, addr, a.now().Add(-KnownAddressLifetime))
	if err != nil {
		// Unknown is the safe answer: the ceiling still binds.
		a.log().WarnContext(ctx, "known addresses not read", "err", err)
		return false
	}
	return known && user != nil
}

// countFailure extends the address's failure streak on the account and
// fills the account's failure ceiling. account.locked is recorded when
// the streak starts costing delay and when the ceiling trips.
func (a *Auth) countFailure(ctx context.Context, tenant *Tenant, user *User, acct string, c Client, pol Config) {
	if a.Limiter == nil {
		return
	}
	n, err := a.Limiter.Fail(ctx, failureKey(acct, AddressKey(c.IP)), FailureMemory)
	if err != nil {
		a.log().WarnContext(ctx, "rate limiter failed; failure not counted", "err", err)
	}
	if n == FreeFailures && user != nil {
		a.recordLock(ctx, tenant.ID, user.ID, c, LockFailedLogins, a.now().Add(failureDelay(n)))
	}
	if pol.AccountLimit.Off() {
		return
	}
	res, err := a.Limiter.Allow(ctx, ceilingKey(acct), pol.AccountLimit)
	if err != nil {
		a.log().WarnContext(ctx, "rate limiter failed; failure not counted against the ceiling", "err", err)
		return
	}
	if user == nil || (res.Allowed && res.Remaining > 0) {
		return
	}
	// Tripped: strangers are refused from now on. Record it once per
	// period, not at every further failure.
	once, err := a.Limiter.Allow(ctx, "locked:"+user.ID, ratelimit.Limit{Count: 1, Period: pol.AccountLimit.Period})
	if err != nil || !once.Allowed {
		return
	}
	until := a.now().Add(pol.AccountLimit.Interval())
	if p, err := a.Limiter.Peek(ctx, ceilingKey(acct), pol.AccountLimit); err == nil {
		until = a.now().Add(p.RetryAfter)
	}
	a.recordLock(ctx, tenant.ID, user.ID, c, LockCeiling, until)
}

// LiftThrottle forgets the user's failure streaks (from every address),
// failure ceiling and second-factor attempts, so that the user can log in
// at once (admin).
func (a *Auth) LiftThrottle(ctx context.Context, tenantID, userID string) error {
	user, err := getUser(ctx, a.Users, tenantID, userID)
	if err != nil {
		return err
	}
	if err := a.SecondFactors.ClearSecondFactorAttempts(ctx, user.ID, ""); err != nil {
		return err
	}
	if a.Limiter != nil {
		names := []string{user.Email}
		if user.Username != "" {
			names = append(names, user.Username)
		}
		errs := []error{a.Limiter.Reset(ctx, "locked:"+user.ID)}
		for _, name := range names {
			acct := user.TenantID + ":" + EmailKey(name)
			errs = append(errs, a.Limiter.Reset(ctx, ceilingKey(acct)))
			// Failure streaks are kept per address, and resetting every
			// address's key would need a scan; instead the lift is
			// recorded, and a streak whose last failure is older than the
			// lift no longer delays.
			_, err := a.Limiter.Fail(ctx, "lift:"+acct, FailureMemory)
			errs = append(errs, err)
		}
		if err := errors.Join(errs...); err != nil {
			return Internal(err)
		}
	}
	a.log().InfoContext(ctx, "throttle lifted by admin", "user_id", user.ID, "tenant_id", user.TenantID)
	a.audit(ctx, user.TenantID, user.ID, "throttle", "lifted", user.ID, nil)
	return nil
}

// busy turns a hashing pool's overload error into EUNAVAILABLE, and so a
// request whose client went away while it waited for a hashing worker
// (Err keeps context.Canceled or DeadlineExceeded for the logs): neither
// is a failed login attempt.
func busy(err error) (*Error, bool) {
	var ov interface{ RetryAfter() time.Duration }
	if errors.As(err, &ov) {
		return &Error{Code: EUNAVAILABLE, RetryAfter: ov.RetryAfter(), Message: "the server is busy", Err: err}, true
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return &Error{Code: EUNAVAILABLE, RetryAfter: time.Second, Message: "the request ended while it waited for the server", Err: err}, true
	}
	return nil, false
}
