package identity

import (
	"context"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/mfa"
)

// Sealer encrypts secrets for storage (package token).
type Sealer interface {
	Seal(plain, ad []byte) []byte
	Open(sealed, ad []byte) ([]byte, error)
}

// Second-factor guessing limits (DESIGN §5, issue "two-factor"): six digits
// fall to guessing without them. Attempts, not only failures, are counted
// before a code is checked, so concurrent guesses cannot overrun the limit;
// a success forgets the count.
const (
	SecondFactorWindow      = 5 * time.Minute
	SecondFactorMaxAttempts = 5
)

// Methods for the access token's amr claim (RFC 8176).
const (
	AMRPassword     = "pwd"
	AMROneTimeCode  = "otp"
	AMRRecoveryCode = "rc"
)

// TOTPEnrolment is what an admin hands to the user to set up an
// authenticator app.
type TOTPEnrolment struct {
	Secret     string
	OTPAuthURL string
	QRPNG      string // base64 PNG of the otpauth URL
}

// BeginTOTP starts (or restarts) a pending TOTP enrolment for the user. The
// issuer shown in the app is the tenant's name, the label the user's email.
func (s *Service) BeginTOTP(ctx context.Context, tenantID, userID string) (*TOTPEnrolment, error) {
	tenant, err := s.Tenants.GetTenant(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	user, err := s.Users.GetUser(ctx, tenantID, userID)
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
	c := &TOTPCredential{UserID: user.ID, TenantID: tenantID, SecretSealed: s.TOTPSealer.Seal([]byte(e.Secret), TOTPSealAD(user.ID)), CreatedAt: s.now()}
	if err := s.SecondFactors.PutPendingTOTP(ctx, c); err != nil {
		if ErrorCode(err) == ECONFLICT {
			return nil, errTwoFactorAlreadyOn()
		}
		return nil, err
	}
	return &TOTPEnrolment{Secret: e.Secret, OTPAuthURL: e.OTPAuthURL, QRPNG: e.QRPNG}, nil
}

func errTwoFactorAlreadyOn() *Error {
	return &Error{Code: ECONFLICT, Message: "two-factor authentication is already on for this user; turn it off first to enrol a new device"}
}

// ConfirmTOTP checks a code from the user's app against the pending
// enrolment. On a match two-factor is on, the code's time step counts as
// used, and the user's recovery codes are returned (the only time they are
// visible).
func (s *Service) ConfirmTOTP(ctx context.Context, tenantID, userID, code string) ([]string, error) {
	if len(code) != mfa.Digits || strings.Trim(code, "0123456789") != "" {
		return nil, Invalid("code", "must be the %d-digit code the authenticator app shows", mfa.Digits)
	}
	c, err := s.SecondFactors.GetTOTP(ctx, tenantID, userID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, &Error{Code: ENOTFOUND, Message: "no two-factor enrolment is pending for this user; start one first"}
	} else if err != nil {
		return nil, err
	}
	if c.Confirmed() {
		return nil, errTwoFactorAlreadyOn()
	}
	secret, err := s.totpSecret(c)
	if err != nil {
		return nil, err
	}
	step, ok, err := mfa.Match(secret, code, s.now())
	if err != nil {
		return nil, Internal(err)
	}
	if !ok {
		return nil, Invalid("code", "does not match the authenticator app; check that the device's clock is right and enter the current code")
	}
	codes, hashes := mfa.NewRecoveryCodes()
	if err := s.SecondFactors.ConfirmTOTP(ctx, tenantID, userID, step, hashes, s.now()); err != nil {
		return nil, err
	}
	s.log().InfoContext(ctx, "two-factor enabled", "user_id", userID, "tenant_id", tenantID)
	return codes, nil
}

// RegenerateRecoveryCodes replaces the user's recovery codes; the old ones
// stop working at once.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, tenantID, userID string) ([]string, error) {
	codes, hashes := mfa.NewRecoveryCodes()
	err := s.SecondFactors.ReplaceRecoveryCodes(ctx, tenantID, userID, hashes)
	if ErrorCode(err) == ENOTFOUND {
		return nil, &Error{Code: ENOTFOUND, Message: "two-factor authentication is not on for this user"}
	}
	return codes, err
}

// DisableTOTP turns two-factor off: the enrolment, recovery codes and
// counted attempts are deleted. Turning it off when it is off is not an
// error, but an unknown user is.
func (s *Service) DisableTOTP(ctx context.Context, tenantID, userID string) error {
	if _, err := s.Users.GetUser(ctx, tenantID, userID); err != nil {
		return err
	}
	deleted, err := s.SecondFactors.DeleteTOTP(ctx, tenantID, userID)
	if deleted {
		s.log().InfoContext(ctx, "two-factor disabled", "user_id", userID, "tenant_id", tenantID)
	}
	return err
}

// TOTPStatus reports the user's enrolment, or ENOTFOUND when there is none.
func (s *Service) TOTPStatus(ctx context.Context, tenantID, userID string) (*TOTPCredential, error) {
	if _, err := s.Users.GetUser(ctx, tenantID, userID); err != nil {
		return nil, err
	}
	c, err := s.SecondFactors.GetTOTP(ctx, tenantID, userID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, &Error{Code: ENOTFOUND, Message: "no two-factor enrolment for this user"}
	}
	return c, err
}

func (s *Service) totpSecret(c *TOTPCredential) (string, error) {
	plain, err := s.TOTPSealer.Open(c.SecretSealed, TOTPSealAD(c.UserID))
	if err != nil {
		return "", Internal(err) // another LATCH_SECRET, or a tampered row
	}
	return string(plain), nil
}

// secondFactor runs after a correct password for a user with two-factor
// on. It returns the amr entry to add, or the error to answer with; every
// failure is recorded as account.login-failed with its reason.
func (s *Service) secondFactor(ctx context.Context, tenant *Tenant, user *User, req LoginRequest, pol Config) (string, error) {
	fail := func(reason string, err *Error) (string, error) {
		s.recordFailure(ctx, tenant.ID, user.ID, req.Client, reason)
		return "", err
	}
	if req.NoSecondFactor {
		if pol.AllowSingleFactorDialects {
			return "", nil
		}
		return fail("second_factor_unsupported", &Error{Code: ETWOFACTORREQUIRED,
			Message: "this account uses two-factor authentication, which this API cannot carry; sign in through the accounts-v3 API, or ask the operator to allow password-only logins for this tenant"})
	}
	if req.TwoFactorCode == "" && req.TwoFactorRecoveryCode == "" {
		return fail("second_factor_required", &Error{Code: ETWOFACTORREQUIRED,
			Message: "this account uses two-factor authentication: send twoFactorCode (or twoFactorRecoveryCode)"})
	}
	now := s.now()
	remaining, retryAt, ok, err := s.SecondFactors.TakeSecondFactorAttempt(ctx, user.ID, now, SecondFactorWindow, SecondFactorMaxAttempts)
	if err != nil {
		return "", err
	}
	if !ok {
		return fail("throttled", &Error{Code: ERATELIMITED, Field: "second_factor", RetryAfter: retryAt.Sub(now),
			Message: "too many two-factor attempts; try again later"})
	}
	method, reason, err := s.checkSecondFactor(ctx, user, req, now)
	if err != nil {
		return "", err
	}
	if reason != "" {
		if remaining == 0 {
			s.recordLock(ctx, tenant.ID, user.ID, req.Client, "second_factor", now.Add(SecondFactorWindow))
		}
		return fail(reason, &Error{Code: ETWOFACTORINVALID, Message: "the two-factor code is incorrect or was already used"})
	}
	if err := s.SecondFactors.ClearSecondFactorAttempts(ctx, user.ID); err != nil {
		s.log().WarnContext(ctx, "clear second-factor attempts", "user_id", user.ID, "err", err)
	}
	return method, nil
}

// checkSecondFactor returns the amr method on success, or the failure
// reason. A TOTP code is tried when both kinds are sent.
func (s *Service) checkSecondFactor(ctx context.Context, user *User, req LoginRequest, now time.Time) (method, reason string, err error) {
	if req.TwoFactorCode == "" {
		used, err := s.SecondFactors.UseRecoveryCode(ctx, user.ID, mfa.HashRecoveryCode(req.TwoFactorRecoveryCode), now)
		if err != nil || !used {
			return "", "recovery_code_invalid", err
		}
		s.log().InfoContext(ctx, "recovery code used", "user_id", user.ID)
		return AMRRecoveryCode, "", nil
	}
	c, err := s.SecondFactors.GetTOTP(ctx, user.TenantID, user.ID)
	if err != nil {
		return "", "", err
	}
	secret, err := s.totpSecret(c)
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
	if used, err := s.SecondFactors.UseTOTPStep(ctx, user.ID, step); err != nil {
		return "", "", err
	} else if !used {
		return "", "second_factor_replayed", nil
	}
	return AMROneTimeCode, "", nil
}
