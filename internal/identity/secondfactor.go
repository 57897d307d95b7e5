package identity

import (
	"context"
	"time"

	"github.com/latchauth/latch/internal/mfa"
)

// Sealer encrypts secrets for storage (package token).
type Sealer interface {
	Seal(plain, ad []byte) []byte
	Open(sealed, ad []byte) ([]byte, error)
}

// Second-factor guessing limits: six digits fall to guessing without
// them, and only someone who knows the password gets here. Per (user,
// client address): SecondFactorFree failed codes, then a lock-out of
// SecondFactorLockout that doubles with each further failure (up to a
// day). Per user: at most SecondFactorDailyCap failed codes a day from
// addresses not known for the user (see KnownAddressLifetime), so an
// attacker with the password gets about 50 guesses a day however many
// addresses it has, and still cannot lock the owner out of the second
// factor at the owner's usual addresses. Attempts, not only failures, are
// counted before a code is checked, so concurrent guesses cannot overrun
// the limits; a success forgets the address's attempts.
const (
	SecondFactorFree       = 5
	SecondFactorLockout    = 5 * time.Minute
	SecondFactorMaxLockout = 24 * time.Hour
	SecondFactorDailyCap   = 50
	secondFactorMemory     = 24 * time.Hour
)

// secondFactorLockout is how long after the n-th failed code from an
// address the next attempt from it must wait.
func secondFactorLockout(n int) time.Duration {
	if n < SecondFactorFree {
		return 0
	}
	if n-SecondFactorFree >= 9 {
		return SecondFactorMaxLockout
	}
	return min(SecondFactorLockout<<(n-SecondFactorFree), SecondFactorMaxLockout)
}

// secondFactorVerdict judges an attempt from addr at now against the
// user's attempts of the last day (oldest first): it returns when the
// attempt may be made (zero: now), how many of the attempts came from
// addr, and how many there are in all.
func secondFactorVerdict(history []SecondFactorAttempt, addr string, known bool, now time.Time) (retryAt time.Time, mine, all int) {
	var last time.Time
	for _, a := range history {
		if a.Address == addr {
			mine++
			last = a.At
		}
	}
	all = len(history)
	if until := last.Add(secondFactorLockout(mine)); mine >= SecondFactorFree && now.Before(until) {
		retryAt = until
	}
	if !known && all >= SecondFactorDailyCap {
		// Back under the cap when the cap-th newest attempt is a day old.
		if until := history[all-SecondFactorDailyCap].At.Add(secondFactorMemory); now.Before(until) && until.After(retryAt) {
			retryAt = until
		}
	}
	return retryAt, mine, all
}

// Methods for the access token's amr claim (RFC 8176).
const (
	AMRPassword     = "pwd"
	AMROneTimeCode  = "otp"
	AMRRecoveryCode = "rc"
)

// SecondFactor enrols users in two-factor authentication (TOTP and
// recovery codes), run by an admin and audited; Auth checks the codes at
// login. Its fields are its dependencies; all must be set.
type SecondFactor struct {
	Runtime
	Tenants       TenantReader
	Users         UserReader
	SecondFactors SecondFactorStore
	Sealer        Sealer // seals TOTP secrets at rest
}

// TOTPEnrolment is what an admin hands to the user to set up an
// authenticator app.
type TOTPEnrolment struct {
	Secret     string
	OTPAuthURL string
	QRPNG      string // base64 PNG of the otpauth URL
}

// BeginTOTP starts (or restarts) a pending TOTP enrolment for the user. The
// issuer shown in the app is the tenant's name, the label the user's email.
func (f *SecondFactor) BeginTOTP(ctx context.Context, tenantID, userID string) (*TOTPEnrolment, error) {
	tenant, err := getTenant(ctx, f.Tenants, tenantID)
	if err != nil {
		return nil, err
	}
	user, err := getUser(ctx, f.Users, tenantID, userID)
	if err != nil {
		return nil, err
	}
	if user.TwoFactorEnabled {
		return nil, errTwoFactorAlreadyOn()
	}
	e, err := mfa.Enrol(tenant.Name, user.Email)
	if err != nil {
		return nil, Internal(err)
	}
	c := &TOTPCredential{UserID: user.ID, TenantID: tenant.ID, SecretSealed: f.Sealer.Seal([]byte(e.Secret), TOTPSealAD(user.ID)), CreatedAt: f.now()}
	if err := f.SecondFactors.PutPendingTOTP(ctx, c); err != nil {
		if ErrorCode(err) == ECONFLICT {
			return nil, errTwoFactorAlreadyOn()
		}
		return nil, err
	}
	f.audit(ctx, tenant.ID, user.ID, "totp", "started", user.ID, nil)
	return &TOTPEnrolment{Secret: e.Secret, OTPAuthURL: e.OTPAuthURL, QRPNG: e.QRPNG}, nil
}

func errTwoFactorAlreadyOn() *Error {
	return &Error{Code: ECONFLICT, Message: "two-factor authentication is already on for this user; turn it off first to enrol a new device"}
}

// ConfirmTOTP checks a code from the user's app against the pending
// enrolment. On a match two-factor is on, the code's time step counts as
// used, and the user's recovery codes are returned (the only time they are
// visible).
func (f *SecondFactor) ConfirmTOTP(ctx context.Context, tenantID, userID, code string) ([]string, error) {
	if err := checkCodeFormat(code); err != nil {
		return nil, err
	}
	user, err := getUser(ctx, f.Users, tenantID, userID)
	if err != nil {
		return nil, err
	}
	c, err := f.SecondFactors.GetTOTP(ctx, user.TenantID, user.ID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, &Error{Code: ENOTFOUND, Message: "no two-factor enrolment is pending for this user; start one first"}
	} else if err != nil {
		return nil, err
	}
	if c.Confirmed() {
		return nil, errTwoFactorAlreadyOn()
	}
	secret, err := openTOTPSecret(f.Sealer, c)
	if err != nil {
		return nil, err
	}
	step, ok, err := mfa.Match(secret, code, f.now())
	if err != nil {
		return nil, Internal(err)
	}
	if !ok {
		return nil, Invalid("code", "does not match the authenticator app; check that the device's clock is right and enter the current code")
	}
	codes, hashes := mfa.NewRecoveryCodes()
	events := []Event{
		f.auditEvent(ctx, user.TenantID, user.ID, "totp", "confirmed", user.ID, nil),
		f.lifecycleEvent(ctx, EventMFAEnabled, user, "method", "totp"),
	}
	if err := f.SecondFactors.ConfirmTOTP(ctx, user.TenantID, user.ID, step, hashes, f.now(), events...); err != nil {
		return nil, err
	}
	f.written(ctx, events...)
	return codes, nil
}

// RegenerateRecoveryCodes replaces the user's recovery codes; the old ones
// stop working at once.
func (f *SecondFactor) RegenerateRecoveryCodes(ctx context.Context, tenantID, userID string) ([]string, error) {
	user, err := getUser(ctx, f.Users, tenantID, userID)
	if err != nil {
		return nil, err
	}
	codes, hashes := mfa.NewRecoveryCodes()
	err = f.SecondFactors.ReplaceRecoveryCodes(ctx, user.TenantID, user.ID, hashes)
	if ErrorCode(err) == ENOTFOUND {
		return nil, &Error{Code: ENOTFOUND, Message: "two-factor authentication is not on for this user"}
	} else if err != nil {
		return nil, err
	}
	f.audit(ctx, user.TenantID, user.ID, "recovery_codes", "regenerated", user.ID, nil)
	return codes, nil
}

// DisableTOTP turns two-factor off: the enrolment, recovery codes and
// counted attempts are deleted. Turning it off when it is off is not an
// error, but an unknown user is.
func (f *SecondFactor) DisableTOTP(ctx context.Context, tenantID, userID string) error {
	user, err := getUser(ctx, f.Users, tenantID, userID)
	if err != nil {
		return err
	}
	events := []Event{f.auditEvent(ctx, user.TenantID, user.ID, "totp", "disabled", user.ID, nil)}
	// Cancelling a pending enrolment turns nothing off.
	if user.TwoFactorEnabled {
		events = append(events, f.lifecycleEvent(ctx, EventMFADisabled, user, "method", "totp"))
	}
	deleted, err := f.SecondFactors.DeleteTOTP(ctx, user.TenantID, user.ID, events...)
	if deleted && err == nil {
		f.written(ctx, events...)
	}
	return err
}

// TOTPStatus reports the user's enrolment, or ENOTFOUND when there is none.
func (f *SecondFactor) TOTPStatus(ctx context.Context, tenantID, userID string) (*TOTPCredential, error) {
	user, err := getUser(ctx, f.Users, tenantID, userID)
	if err != nil {
		return nil, err
	}
	c, err := f.SecondFactors.GetTOTP(ctx, user.TenantID, user.ID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, &Error{Code: ENOTFOUND, Message: "no two-factor enrolment for this user"}
	}
	return c, err
}

// openTOTPSecret opens an enrolment's sealed secret.
func openTOTPSecret(sealer Sealer, c *TOTPCredential) (string, error) {
	plain, err := sealer.Open(c.SecretSealed, TOTPSealAD(c.UserID))
	if err != nil {
		return "", Internal(err) // another LATCH_SECRET, or a tampered row
	}
	return string(plain), nil
}

// secondFactor runs after a correct password for a user with two-factor
// on. It returns the amr entry to add, or the error to answer with; every
// failure is recorded as account.login-failed with its reason.
func (a *Auth) secondFactor(ctx context.Context, tenant *Tenant, user *User, req LoginRequest, pol Config) (string, error) {
	fail := func(reason string, err *Error) (string, error) {
		a.recordFailure(ctx, tenant.ID, user.ID, req.Client, reason)
		return "", err
	}
	if req.NoSecondFactor {
		if pol.AllowSingleFactorDialects {
			return "", nil
		}
		return fail("second_factor_unsupported", &Error{Code: ETWOFACTORREQUIRED,
			Message: "this account uses two-factor authentication, which this login cannot carry; ask the operator to allow password-only logins for this tenant"})
	}
	if req.TwoFactorCode == "" && req.TwoFactorRecoveryCode == "" {
		return fail("second_factor_required", &Error{Code: ETWOFACTORREQUIRED,
			Message: "this account uses two-factor authentication: a two-factor code or a recovery code is required"})
	}
	method, reason, err := a.throttledCheck(ctx, tenant, user, req.Client, func(now time.Time) (string, string, error) {
		return a.checkSecondFactor(ctx, user, req, now)
	})
	if reason != "" {
		a.recordFailure(ctx, tenant.ID, user.ID, req.Client, reason)
	}
	return method, err
}

// throttledCheck counts a second-factor attempt of user from client
// against the guessing limits (see SecondFactorFree) and, when it is
// admitted, runs check, which returns the amr method on success or the
// failure reason. A failure that starts a lock-out is recorded as
// account.locked; a success forgets the address's attempts. It returns
// the method, or the failure reason ("throttled" or check's) with the
// error to answer; a store error comes back with no reason. Logins and
// the self-service routes that take a code share it, so a code is as
// hard to guess through either.
func (a *Auth) throttledCheck(ctx context.Context, tenant *Tenant, user *User, client Client, check func(now time.Time) (method, reason string, err error)) (string, string, error) {
	now := a.now()
	addr := AddressKey(client.IP)
	known := a.knownAddress(ctx, user, addr)
	var retryAt time.Time
	var mine, all int
	ok, err := a.SecondFactors.TakeSecondFactorAttempt(ctx, user.ID, addr, now, now.Add(-secondFactorMemory), func(h []SecondFactorAttempt) bool {
		retryAt, mine, all = secondFactorVerdict(h, addr, known, now)
		return retryAt.IsZero()
	})
	if err != nil {
		return "", "", err
	}
	if !ok {
		return "", "throttled", &Error{Code: ERATELIMITED, Field: "second_factor", RetryAfter: retryAt.Sub(now),
			Message: "too many two-factor attempts"}
	}
	method, reason, err := check(now)
	if err != nil {
		return "", "", err
	}
	if reason != "" {
		// The attempt just counted is a failure: does it start a lock-out?
		if n := mine + 1; n >= SecondFactorFree {
			a.recordLock(ctx, tenant.ID, user.ID, client, LockSecondFactor, now.Add(secondFactorLockout(n)))
		} else if !known && all+1 == SecondFactorDailyCap {
			a.recordLock(ctx, tenant.ID, user.ID, client, LockDailyCap, now.Add(secondFactorMemory))
		}
		return "", reason, &Error{Code: ETWOFACTORINVALID, Message: "the two-factor code is incorrect or was already used"}
	}
	if err := a.SecondFactors.ClearSecondFactorAttempts(ctx, user.ID, addr); err != nil {
		a.log().WarnContext(ctx, "clear second-factor attempts", "user_id", user.ID, "err", err)
	}
	return method, "", nil
}

// checkSecondFactor returns the amr method on success, or the failure
// reason. A TOTP code is tried when both kinds are sent.
func (a *Auth) checkSecondFactor(ctx context.Context, user *User, req LoginRequest, now time.Time) (method, reason string, err error) {
	if req.TwoFactorCode == "" {
		used, err := a.SecondFactors.UseRecoveryCode(ctx, user.ID, mfa.HashRecoveryCode(req.TwoFactorRecoveryCode), now)
		if err != nil || !used {
			return "", "recovery_code_invalid", err
		}
		a.log().InfoContext(ctx, "recovery code used", "user_id", user.ID)
		return AMRRecoveryCode, "", nil
	}
	c, err := a.SecondFactors.GetTOTP(ctx, user.TenantID, user.ID)
	if err != nil {
		return "", "", err
	}
	secret, err := openTOTPSecret(a.TOTPSealer, c)
	if err != nil {
		return "", "", err
	}
	step, ok, err := mfa.Match(secret, req.TwoFactorCode, now)
	if err != nil {
		return "", "", Internal(err)
	}
	if !ok {
		return "", "second_factor_invalid", nil
	}
	if used, err := a.SecondFactors.UseTOTPStep(ctx, user.ID, step); err != nil {
		return "", "", err
	} else if !used {
		return "", "second_factor_replayed", nil
	}
	return AMROneTimeCode, "", nil
}
