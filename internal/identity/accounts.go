package identity

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/ratelimit"
)

// Prefixes of one-time account tokens: 32 random bytes, base64url, after
// a readable prefix that secret scanners can look for.
const (
	PrefixPasswordReset = "lpr1"
	PrefixVerification  = "lev1"
)

// Lifetimes of account tokens: a reset is urgent and powerful, a
// verification mail may wait in an inbox for a day.
const (
	PasswordResetTTL = time.Hour
	VerificationTTL  = 24 * time.Hour
)

// DefaultMailLimit bounds the mails a user can be sent on request
// (forgotten password, verification), per account and purpose, so that
// nobody can flood an inbox through latch.
var DefaultMailLimit = ratelimit.Limit{Count: 5, Period: time.Hour}

// Accounts runs what a user does with an account without being logged
// in: resetting a forgotten password and verifying an email address,
// both by a one-time token mailed to the user (or handed to the
// application through a webhook), and what an admin does to issue such
// tokens. Its fields are its dependencies; Mailer may be nil (no mail:
// the webhook events carry the tokens).
type Accounts struct {
	Runtime
	Auth      *Auth // the tenant lookups and the rate limits logins use
	Users     UserReader
	Tokens    AccountTokenStore
	Passwords PasswordHasher
	Mailer    Mailer
	// Sealer seals a token for the webhook delivery that carries it
	// (associated data AccountTokenSealAD).
	Sealer Sealer
	// PublicURL is the service's public base URL, which verification
	// links point at (LATCH_ISSUER).
	PublicURL string
	// MailLimit replaces DefaultMailLimit when set.
	MailLimit     ratelimit.Limit
	EventsWritten func()
}

// AccountTokenSealAD is the associated data of a sealed account token:
// the id of the event that announced it.
func AccountTokenSealAD(eventID string) []byte { return []byte("account-token:" + eventID) }

type tokenKind struct {
	purpose, prefix, event string
	ttl                    time.Duration
	mail                   MailTemplate
}

var (
	resetKind  = tokenKind{PurposePasswordReset, PrefixPasswordReset, EventPasswordResetRequested, PasswordResetTTL, defaultResetMail}
	verifyKind = tokenKind{PurposeEmailVerification, PrefixVerification, EventVerificationRequested, VerificationTTL, defaultVerificationMail}
)

// newAccountToken returns a fresh token and its hash.
func newAccountToken(prefix string) (string, []byte) {
	raw := make([]byte, 32)
	rand.Read(raw)
	tok := prefix + "_" + base64.RawURLEncoding.EncodeToString(raw)
	h := sha256.Sum256([]byte(tok))
	return tok, h[:]
}

func errAccountToken(kind string) *Error {
	return &Error{Code: ETOKENINVALID, Field: "token", Message: "the " + kind + " token is invalid, expired or already used"}
}

// issue creates a token of kind for u in one store write (which retires
// the user's older ones); with event, the event that announces it is
// written with it and the token is sealed for its webhook delivery. A nil
// u does the same work for a user that does not exist, and writes nothing.
func (ac *Accounts) issue(ctx context.Context, tenantID string, u *User, k tokenKind, event bool, c Client) (string, time.Time, error) {
	now := ac.now()
	tok, hash := newAccountToken(k.prefix)
	t := &AccountToken{Hash: hash, TenantID: tenantID, Purpose: k.purpose, CreatedAt: now, ExpiresAt: now.Add(k.ttl)}
	if u != nil {
		t.UserID, t.EmailKey = u.ID, EmailKey(u.Email)
	} else {
		t.UserID = NewID() // no such user: the store finds none and writes nothing
	}
	var events []Event
	if event {
		ev := ac.event(k.event, tenantID, t.UserID, "", now, c.eventData("expires_at", t.ExpiresAt.Format(time.RFC3339)))
		t.EventID, t.Sealed = ev.ID, ac.Sealer.Seal([]byte(tok), AccountTokenSealAD(ev.ID))
		events = append(events, ev)
	}
	if err := ac.Tokens.CreateAccountToken(ctx, t, events); err != nil {
		return "", time.Time{}, err
	}
	if event && ac.EventsWritten != nil {
		ac.EventsWritten()
	}
	return tok, t.ExpiresAt, nil
}

// IssuePasswordReset gives an admin a reset token for the user (it is
// not mailed: the caller hands it over), retiring the user's older ones.
func (ac *Accounts) IssuePasswordReset(ctx context.Context, tenantID, userID string) (string, time.Time, error) {
	return ac.adminIssue(ctx, tenantID, userID, resetKind, "password_reset_token")
}

// IssueVerification gives an admin an email verification token for the
// user (not mailed either), retiring the user's older ones.
func (ac *Accounts) IssueVerification(ctx context.Context, tenantID, userID string) (string, time.Time, error) {
	return ac.adminIssue(ctx, tenantID, userID, verifyKind, "email_verification_token")
}

func (ac *Accounts) adminIssue(ctx context.Context, tenantID, userID string, k tokenKind, resource string) (string, time.Time, error) {
	u, err := getUser(ctx, ac.Users, tenantID, userID)
	if err != nil {
		return "", time.Time{}, err
	}
	tok, exp, err := ac.issue(ctx, u.TenantID, u, k, false, Client{})
	if err != nil {
		return "", time.Time{}, err
	}
	ac.audit(ctx, u.TenantID, u.ID, resource, "created", u.ID, nil)
	return tok, exp, nil
}

// ForgotPassword mails the user with email a reset token, when there is
// such an active user, and records user.password-reset-requested (whose
// webhook delivery carries the token). The answer and the work are the
// same whether or not the user exists: only a malformed email, an unknown
// tenant or a rate limit make it fail.
func (ac *Accounts) ForgotPassword(ctx context.Context, tenantID, email string, c Client) error {
	return ac.request(ctx, tenantID, email, resetKind, c, func(u *User) bool { return u.Status == StatusActive })
}

// SendVerification mails the user with email a verification link, when
// there is such an active user whose email is not verified yet, and
// records user.email-verification-requested; like ForgotPassword, it
// answers the same whatever the case.
func (ac *Accounts) SendVerification(ctx context.Context, tenantID, email string, c Client) error {
	return ac.request(ctx, tenantID, email, verifyKind, c, func(u *User) bool { return u.Status == StatusActive && !u.EmailVerified })
}

func (ac *Accounts) request(ctx context.Context, tenantID, email string, k tokenKind, c Client, wanted func(*User) bool) error {
	if err := CheckText("email", email); err != nil {
		return err
	}
	email = strings.TrimSpace(email)
	if !ValidEmail(email) {
		return Invalid("email", "must be an email address of at most %d characters", maxText)
	}
	c = c.clean()
	t, err := ac.Auth.Tenant(ctx, tenantID)
	if err != nil {
		return err
	}
	limit := ac.MailLimit
	if limit.Off() {
		limit = DefaultMailLimit
	}
	// Counted per address the mail would go to, whether or not a user
	// has it, so that the limit tells nothing either.
	if _, err := ac.Auth.allow(ctx, c, "account", "mail:"+k.purpose+":"+t.ID+":"+EmailKey(email), limit, false); err != nil {
		return err
	}
	u, err := ac.Users.GetUserByEmail(ctx, t.ID, email)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return err
	}
	if u != nil && !wanted(u) {
		u = nil
	}
	tok, exp, err := ac.issue(ctx, t.ID, u, k, true, c)
	if u == nil {
		if ErrorCode(err) != ENOTFOUND {
			ac.log().WarnContext(ctx, "account token for nobody was written", "err", err)
		}
		ac.log().InfoContext(ctx, "account mail not sent", "purpose", k.purpose, "reason", "no such active user", "tenant_id", t.ID, "ip", c.IP)
		return nil
	}
	if err != nil {
		return err
	}
	ac.mail(ctx, t, u, k, tok, exp)
	return nil
}

// link is what the mail of a token asks the user to open: the tenant's
// reset page, or latch's own verification route.
func (ac *Accounts) link(t *Tenant, k tokenKind, tok string) string {
	if k.purpose == PurposeEmailVerification {
		return strings.TrimSuffix(ac.PublicURL, "/") + "/auth/v1/" + t.ID + "/verify?token=" + url.QueryEscape(tok)
	}
	if t.Settings.PasswordResetURL == "" {
		return ""
	}
	return strings.ReplaceAll(t.Settings.PasswordResetURL, "{token}", url.QueryEscape(tok))
}

// mail queues the token's mail, when latch sends mail. A mail that cannot
// be queued or rendered is logged (the mailer counts it): the user can
// ask again, and the webhook event is written either way.
func (ac *Accounts) mail(ctx context.Context, t *Tenant, u *User, k tokenKind, tok string, exp time.Time) {
	if ac.Mailer == nil {
		return
	}
	tpl := t.Settings.PasswordResetMail
	if k.purpose == PurposeEmailVerification {
		tpl = t.Settings.VerificationMail
	}
	d := MailData{TenantName: t.Name, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, Token: tok,
		Link: ac.link(t, k, tok), ExpiresAt: exp, ValidFor: hours(k.ttl)}
	subject, text, html, err := tpl.render(k.mail, d)
	if err == nil {
		err = ac.Mailer.Send(Mail{From: t.Settings.MailFrom, To: u.Email, Subject: subject, Text: text, HTML: html})
	}
	if err != nil {
		ac.log().ErrorContext(ctx, "account mail not queued", "purpose", k.purpose, "tenant_id", t.ID, "user_id", u.ID, "err", err)
	}
}

// hours says how long a token lives, in whole hours, for a mail.
func hours(d time.Duration) string {
	if d <= time.Hour {
		return "1 hour"
	}
	return fmt.Sprintf("%d hours", d/time.Hour)
}

// spendable reads the token tok of kind k for the tenant and checks it
// can be spent now.
func (ac *Accounts) spendable(ctx context.Context, tenantID, tok string, k tokenKind, what string) (*Tenant, *AccountToken, error) {
	if err := CheckText("token", tok); err != nil {
		return nil, nil, err
	}
	t, err := ac.Auth.Tenant(ctx, tenantID)
	if err != nil {
		return nil, nil, err
	}
	tok = strings.TrimSpace(tok)
	if !strings.HasPrefix(tok, k.prefix+"_") || len(tok) > 128 {
		return nil, nil, errAccountToken(what)
	}
	h := sha256.Sum256([]byte(tok))
	at, err := ac.Tokens.GetAccountToken(ctx, h[:])
	switch {
	case ErrorCode(err) == ENOTFOUND:
		return nil, nil, errAccountToken(what)
	case err != nil:
		return nil, nil, err
	case at.TenantID != t.ID || at.Purpose != k.purpose || !at.SpentAt.IsZero() || !ac.now().Before(at.ExpiresAt):
		return nil, nil, errAccountToken(what)
	}
	return t, at, nil
}

// ResetPassword sets the password of the reset token's user, revokes
// every session and re-authentication token of the user, spends the
// token (and the user's other reset tokens) and records password.reset,
// all in one store transaction: of concurrent resets with one token,
// exactly one succeeds. A used, expired, retired or forged token, or one
// whose user is gone or has another email since, is ETOKENINVALID (field
// "token").
func (ac *Accounts) ResetPassword(ctx context.Context, tenantID, tok, password string, c Client) error {
	if err := CheckText("password", password); err != nil {
		return err
	}
	// The cheap checks before the token is read: a password refused
	// leaves the token usable for the retry.
	if err := checkNewPassword(password); err != nil {
		return err
	}
	c = c.clean()
	t, at, err := ac.spendable(ctx, tenantID, tok, resetKind, "reset")
	if err != nil {
		return err
	}
	h, err := newPasswordHash(ctx, ac.Passwords, password)
	if err != nil {
		return err
	}
	now := ac.now()
	ev := ac.event(EventPasswordReset, t.ID, at.UserID, "", now, c.eventData())
	if err := ac.Tokens.SpendAccountToken(ctx, at.Hash, at.Purpose, now, h, []Event{ev}); ErrorCode(err) == ENOTFOUND {
		return errAccountToken("reset")
	} else if err != nil {
		return err
	}
	ac.log().InfoContext(ctx, "password reset", "tenant_id", t.ID, "user_id", at.UserID, "ip", c.IP)
	if ac.EventsWritten != nil {
		ac.EventsWritten()
	}
	return nil
}

// VerifyEmail marks the verification token's user's email verified
// (spending the token) and records user.email-verified. It returns the
// tenant, also when the token is refused (nil when the tenant is
// unknown), so that the caller can send the browser to the tenant's page
// either way.
func (ac *Accounts) VerifyEmail(ctx context.Context, tenantID, tok string, c Client) (*Tenant, error) {
	c = c.clean()
	t, at, err := ac.spendable(ctx, tenantID, tok, verifyKind, "verification")
	if err != nil {
		if ErrorCode(err) == ETOKENINVALID {
			t, _ = ac.Auth.Tenant(ctx, tenantID)
		}
		return t, err
	}
	now := ac.now()
	ev := ac.event(EventEmailVerified, t.ID, at.UserID, "", now, c.eventData())
	if err := ac.Tokens.SpendAccountToken(ctx, at.Hash, at.Purpose, now, "", []Event{ev}); ErrorCode(err) == ENOTFOUND {
		return t, errAccountToken("verification")
	} else if err != nil {
		return t, err
	}
	if ac.EventsWritten != nil {
		ac.EventsWritten()
	}
	return t, nil
}
