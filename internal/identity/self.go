package identity

import (
	"context"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/mfa"
)

// Self runs the self-service use cases: a signed-in user, holding its own
// access token, manages its second factor and its sessions. It adds no
// security rule of its own: the access token is checked as any JWT
// client of latch checks it and its session as a refresh would
// (Auth.checkLive), codes are checked and throttled as at login
// (Auth.throttledCheck), enrolment is SecondFactor's, shared with the
// admin API. Its fields are its dependencies; all must be set.
type Self struct {
	Runtime
	Auth         *Auth
	SecondFactor *SecondFactor
	Sessions     UserSessions
}

// Caller is a user authenticated by an access token whose session is
// still live.
type Caller struct {
	Tenant  *Tenant
	User    *User
	Session *Session // the session the access token belongs to
	Client  Client
}

// errAccessToken is the one answer to every access token that does not
// authenticate: missing, malformed, forged, of another issuer, expired,
// or of a session that has ended (revoked, expired, idle, user disabled
// or deleted). The log gets the detail; the caller never learns which.
func errAccessToken() *Error {
	return &Error{Code: ETOKENINVALID, Field: "authorization",
		Message: "a valid access token is required (Authorization: Bearer <access token>); it may have expired or its session may have ended: log in or refresh"}
}

// Authenticate checks an access token (signature by a published key,
// issuer, expiry) and that its session is live, and returns the caller.
// Marked as the self-service surface, ctx makes the audit events the
// caller's use cases record name the user as the actor.
func (s *Self) Authenticate(ctx context.Context, accessToken string, client Client) (context.Context, *Caller, error) {
	client = client.clean()
	fail := func(why string, err error) (context.Context, *Caller, error) {
		s.log().DebugContext(ctx, "access token refused", "why", why, "err", err, "ip", client.IP)
		return ctx, nil, errAccessToken()
	}
	if accessToken == "" {
		return fail("missing", nil)
	}
	claims, err := s.Auth.Signer.VerifyAccess(accessToken)
	if err != nil {
		return fail("verify", err)
	}
	sid, err := wellFormed("session", claims.SessionID)
	if err != nil {
		return fail("session id", err)
	}
	sess, tenant, user, err := s.Auth.Sessions.GetSessionWithOwners(ctx, sid)
	if ErrorCode(err) == ENOTFOUND {
		return fail("session gone", err)
	} else if err != nil {
		return ctx, nil, err
	}
	if sess.Kind != SessionNormal || sess.TenantID != claims.TenantID || sess.UserID != claims.Subject {
		return fail("claims do not match the session", nil)
	}
	if _, err := s.Auth.checkLive(sess, tenant, user, s.now()); err != nil {
		return fail("session not live", err)
	}
	return Via(ctx, ViaSelfService), &Caller{Tenant: tenant, User: user, Session: sess, Client: client}, nil
}

// BeginTOTP starts (or restarts) a pending TOTP enrolment for the caller.
func (s *Self) BeginTOTP(ctx context.Context, c *Caller) (*TOTPEnrolment, error) {
	return s.SecondFactor.BeginTOTP(ctx, c.Tenant.ID, c.User.ID)
}

// ConfirmTOTP confirms the caller's pending enrolment with a code from
// its app and returns the recovery codes. Wrong codes count against the
// same guessing limits as at login.
func (s *Self) ConfirmTOTP(ctx context.Context, c *Caller, code string) ([]string, error) {
	if err := checkCodeFormat(code); err != nil {
		return nil, err
	}
	var codes []string
	_, _, err := s.Auth.throttledCheck(ctx, c.Tenant, c.User, c.Client, func(time.Time) (string, string, error) {
		var err error
		codes, err = s.SecondFactor.ConfirmTOTP(ctx, c.Tenant.ID, c.User.ID, code)
		if e := AsError(err); err != nil && e.Code == EINVALID && e.Field == "code" {
			return "", "second_factor_invalid", nil
		}
		return AMROneTimeCode, "", err
	})
	return codes, err
}

// DisableTOTP turns the caller's two-factor off. With two-factor on it
// takes a current code (or an unused recovery code), checked and
// throttled as at login, so that a stolen access token alone cannot turn
// it off; a pending enrolment is cancelled without one.
func (s *Self) DisableTOTP(ctx context.Context, c *Caller, code, recoveryCode string) error {
	if c.User.TwoFactorEnabled {
		if err := s.checkCurrent(ctx, c, code, recoveryCode); err != nil {
			return err
		}
	}
	return s.SecondFactor.DisableTOTP(ctx, c.Tenant.ID, c.User.ID)
}

// RegenerateRecoveryCodes replaces the caller's recovery codes, given a
// current code from its app (or an unused recovery code).
func (s *Self) RegenerateRecoveryCodes(ctx context.Context, c *Caller, code, recoveryCode string) ([]string, error) {
	if !c.User.TwoFactorEnabled {
		return nil, &Error{Code: ECONFLICT, Message: "two-factor authentication is not on: enrol and confirm an authenticator app first"}
	}
	if err := s.checkCurrent(ctx, c, code, recoveryCode); err != nil {
		return nil, err
	}
	return s.SecondFactor.RegenerateRecoveryCodes(ctx, c.Tenant.ID, c.User.ID)
}

// checkCurrent checks a current TOTP code (once each, as at login) or a
// recovery code, counted against the second-factor guessing limits.
func (s *Self) checkCurrent(ctx context.Context, c *Caller, code, recoveryCode string) error {
	switch {
	case code == "" && recoveryCode == "":
		return Invalid("code", "is required: the current %d-digit code from the authenticator app (or a recovery code as recovery_code)", mfa.Digits)
	case code != "":
		if err := checkCodeFormat(code); err != nil {
			return err
		}
	default:
		if err := CheckText("recovery_code", recoveryCode); err != nil {
			return err
		}
	}
	req := LoginRequest{TwoFactorCode: code, TwoFactorRecoveryCode: recoveryCode}
	_, _, err := s.Auth.throttledCheck(ctx, c.Tenant, c.User, c.Client, func(now time.Time) (string, string, error) {
		return s.Auth.checkSecondFactor(ctx, c.User, req, now)
	})
	return err
}

// checkCodeFormat refuses what cannot be a TOTP code before it is
// counted as an attempt.
func checkCodeFormat(code string) error {
	if len(code) != mfa.Digits || strings.Trim(code, "0123456789") != "" {
		return Invalid("code", "must be the %d-digit code the authenticator app shows", mfa.Digits)
	}
	return nil
}

// selfSessionsMax bounds the sessions a user is shown: the live ones
// among its newest.
const selfSessionsMax = 500

// ListSessions returns the caller's live sessions (re-authentication grants
// included: each is a device that can sign in), newest first.
func (s *Self) ListSessions(ctx context.Context, c *Caller) ([]*Session, error) {
	all, _, err := s.Sessions.ListUserSessions(ctx, c.Tenant.ID, c.User.ID, Page{Limit: selfSessionsMax})
	if err != nil {
		return nil, err
	}
	now := s.now()
	live := []*Session{}
	for _, sess := range all {
		if _, err := s.Auth.checkLive(sess, c.Tenant, c.User, now); err == nil {
			live = append(live, sess)
		}
	}
	return live, nil
}

// RevokeSession ends one of the caller's sessions (its current one
// included: that is a logout), recording session.revoked. Another user's
// session is ENOTFOUND, exactly as an unknown one.
func (s *Self) RevokeSession(ctx context.Context, c *Caller, sessionID string) error {
	sid, err := wellFormed("session", sessionID)
	if err != nil {
		return err
	}
	revoked, err := revokeOwnSession(ctx, &s.Runtime, s.Sessions, c.User, sid, "revoked by the user")
	if revoked {
		s.log().InfoContext(ctx, "session revoked by its user", "user_id", c.User.ID, "session_id", sid)
	}
	return err
}
