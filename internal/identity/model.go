package identity

import (
	"slices"
	"strings"
	"time"
)

// User statuses.
const (
	StatusActive   = "active"
	StatusDisabled = "disabled"
)

// Event types, as delivered to webhooks.
const (
	EventLoggedIn           = "account.logged-in"
	EventLoginFailed        = "account.login-failed"
	EventRefreshTokenReused = "account.refresh-token-reused"
	EventLocked             = "account.locked"
	EventLoggedOut          = "account.logged-out"
	// EventPasswordResetRequested is recorded when a reset token is
	// issued, to the user's request or an admin's; a webhook delivery of
	// it carries the token, so that an application can send its own mail.
	EventPasswordResetRequested = "user.password-reset-requested"
	// EventVerificationRequested is recorded when an email verification
	// token is issued; a webhook delivery of it carries the token.
	EventVerificationRequested = "user.email-verification-requested"
	// EventEmailVerified is recorded when a verification token was followed.
	EventEmailVerified = "user.email-verified"
)

// Lifecycle event types: latch's own, about an account's life rather than
// a login. Their webhook payload is latch's lifecycle shape (user id,
// tenant id, email; docs/wire-contract.md), not the accounts-v3 user.
const (
	EventUserCreated     = "user.created"
	EventUserUpdated     = "user.updated"
	EventUserDeleted     = "user.deleted"
	EventPasswordChanged = "password.changed"
	EventPasswordReset   = "password.reset"
	EventMFAEnabled      = "mfa.enabled"
	EventMFADisabled     = "mfa.disabled"
	EventSessionRevoked  = "session.revoked"
)

// LifecycleEventTypes lists the lifecycle event types.
var LifecycleEventTypes = []string{EventUserCreated, EventUserUpdated, EventUserDeleted, EventPasswordChanged,
	EventPasswordReset, EventMFAEnabled, EventMFADisabled, EventSessionRevoked}

// EventTypes lists every event type latch records (and webhooks may
// subscribe to): the login events, the account-token events (in the
// login events' shape, with the token), then the lifecycle events.
var EventTypes = append([]string{EventLoggedIn, EventLoginFailed, EventRefreshTokenReused, EventLocked, EventLoggedOut,
	EventPasswordResetRequested, EventVerificationRequested, EventEmailVerified, EventMigrated}, LifecycleEventTypes...)

// IsLifecycleEvent reports whether typ is one of LifecycleEventTypes.
func IsLifecycleEvent(typ string) bool { return slices.Contains(LifecycleEventTypes, typ) }

// Tenant is an isolated user pool: its own users, organisations, API keys,
// webhooks and settings.
type Tenant struct {
	ID        string
	Name      string
	Alias     string // unique across tenants, lower case; "" when unset
	Settings  TenantSettings
	CreatedAt time.Time
	UpdatedAt time.Time
}

// TenantSettings override deployment defaults for one tenant. A zero value
// means "use the deployment default".
type TenantSettings struct {
	SessionLifetimeSeconds    int64 `json:"session_lifetime_seconds"`
	SessionIdleTimeoutSeconds int64 `json:"session_idle_timeout_seconds"`
	RefreshGraceSeconds       int64 `json:"refresh_grace_seconds"`
	// AllowSingleFactorDialects lets users with two-factor on log in with
	// their password alone through the dialects that have no field for a
	// code (app-auth, token-login). Off by default.
	AllowSingleFactorDialects bool `json:"allow_single_factor_dialects"`
	// RateLimitAccount replaces LATCH_RATE_LIMIT_ACCOUNT for this tenant
	// ("10/m"); RateLimitIP adds a per-address limit on this tenant's
	// logins. "" keeps the deployment's.
	RateLimitIP      string `json:"rate_limit_ip"`
	RateLimitAccount string `json:"rate_limit_account"`
	// RotateReauthTokens makes every TokenLogin (token-login dialect)
	// return a new re-authentication token and retire the one presented.
	RotateReauthTokens bool `json:"rotate_reauthentication_tokens"`
	// CORSOrigins are browser origins ("https://app.example.com") allowed
	// to call this tenant's dialect routes, besides the deployment's
	// LATCH_CORS_ORIGINS. Stored normalised (see ParseOrigin).
	CORSOrigins []string `json:"cors_origins,omitempty"`
	// RequireVerifiedEmail refuses password logins of users whose email
	// is not verified (after the password was checked).
	RequireVerifiedEmail bool `json:"require_verified_email"`
	// MailFrom is the sender of the mail latch sends for this tenant
	// ("Example <no-reply@example.com>"); "" keeps the deployment's.
	MailFrom string `json:"mail_from,omitempty"`
	// PasswordResetURL is the page of the application where a user sets
	// a new password; "{token}" in it is replaced by the reset token
	// (URL-escaped). "": the mail carries the token alone.
	PasswordResetURL string `json:"password_reset_url,omitempty"`
	// EmailVerifiedURL is where GET /auth/v1/{tid}/verify sends the
	// browser (303) after following a verification link, with
	// ?status=verified or ?status=invalid added. "": latch answers with a
	// short page of its own.
	EmailVerifiedURL string `json:"email_verified_url,omitempty"`
	// PasswordResetMail and VerificationMail replace the default mails;
	// each part left "" keeps the default's.
	PasswordResetMail *MailTemplate `json:"password_reset_mail,omitempty"`
	VerificationMail  *MailTemplate `json:"verification_mail,omitempty"`
	// Migration, when set, sends password logins for names the tenant
	// does not have to the hosted API it is moving from (see
	// TenantMigration); nil when the tenant is not migrating.
	Migration *TenantMigration `json:"migration,omitempty"`
}

// Clone returns a copy of s that shares nothing mutable with it (a store
// hands out copies of the settings it decoded once).
func (s TenantSettings) Clone() TenantSettings {
	s.CORSOrigins = slices.Clone(s.CORSOrigins)
	if m := s.PasswordResetMail; m != nil {
		c := *m
		s.PasswordResetMail = &c
	}
	if m := s.VerificationMail; m != nil {
		c := *m
		s.VerificationMail = &c
	}
	if m := s.Migration; m != nil {
		c := *m
		c.APIKeySealed = slices.Clone(m.APIKeySealed)
		s.Migration = &c
	}
	return s
}

// Purposes of account tokens.
const (
	PurposePasswordReset     = "password_reset"
	PurposeEmailVerification = "email_verification"
)

// AccountToken is a one-time token mailed to a user (password reset,
// email verification). Only its SHA-256 is kept; Sealed, while set, is
// the token encrypted for a webhook delivery that has to carry it.
type AccountToken struct {
	Hash      []byte
	TenantID  string
	UserID    string
	Purpose   string
	EmailKey  string // the user's address when issued: a verification proves only that one
	CreatedAt time.Time
	ExpiresAt time.Time
	SpentAt   time.Time // used, or retired by a newer token or a password change; zero while usable
	EventID   string    // the event that announced it, "" when none
	Sealed    []byte
}

// MetadataItem is one key/value pair on a user, shaped after the
// accounts-v3 metadata objects.
type MetadataItem struct {
	ID              string    `json:"id"`
	Key             string    `json:"key"`
	Value           string    `json:"value"`
	ViewPermissions []string  `json:"view_permissions"`
	Visible         bool      `json:"visible"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// User belongs to exactly one tenant. Email is unique per tenant, compared
// case-insensitively after trimming (see EmailKey).
type User struct {
	ID               string
	TenantID         string
	Email            string
	Username         string // optional login name, unique per tenant (see UsernameKey); "" when none
	EmailVerified    bool
	PasswordHash     string // PHC or modular crypt string; "" means password login is impossible
	FirstName        string
	LastName         string
	Role             string
	Roles            []string
	Status           string
	TwoFactorEnabled bool // a confirmed TOTP enrolment exists; read-only, derived by the store
	Tags             []string
	Metadata         []MetadataItem
	Profile          map[string]any // dialect-specific extras, read by key
	OrganisationIDs  []string
	// MigratedFrom is the upstream dialect a lazy migration created the
	// user from ("" for every other user); set at creation only.
	MigratedFrom string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	LastLoginAt  time.Time // zero when never
	LastSeenAt   time.Time // zero when never
}

// Organisation groups users inside a tenant; ParentID makes it a child
// (accounts-v3 renders the parent as the reseller).
type Organisation struct {
	ID          string
	TenantID    string
	Name        string
	Email       string
	Description string
	ParentID    string
	Tags        []string
	Profile     map[string]any
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Session is created by every successful password login. Every opaque
// token hangs off a session; revoking it kills them all. Generation counts
// refresh rotations: the current refresh token encodes Generation, its
// predecessor Generation-1.
type Session struct {
	ID           string
	TenantID     string
	UserID       string
	Generation   int64
	CreatedAt    time.Time
	ExpiresAt    time.Time // absolute end of life
	LastSeenAt   time.Time // for the inactivity timeout
	RotatedAt    time.Time // when Generation last advanced
	RevokedAt    time.Time // zero while live
	RevokeReason string
	UserAgent    string
	Origin       string
	IP           string
	Dialect      string
	AMR          []string
	DeviceName   string
	Kind         string // SessionNormal, or SessionReauth for a device's re-authentication grant
}

// Session kinds. A re-authentication grant (token-login dialect) is a
// session that only mints new sessions for its device: it lives 30 days,
// has no inactivity timeout, and never carries an access token itself.
const (
	SessionNormal = ""
	SessionReauth = "reauth"
)

// ReasonGrantReplaced is the revoke reason of a re-authentication grant
// that a newer grant for the same device replaced.
const ReasonGrantReplaced = "replaced by a new re-authentication token"

// Revoked reports whether the session has been revoked.
func (s *Session) Revoked() bool { return !s.RevokedAt.IsZero() }

// Event is something that happened to an account. Events are persisted in
// the same transaction as the change they describe and are the source of
// webhook deliveries.
type Event struct {
	ID        string
	TenantID  string
	UserID    string
	SessionID string
	Type      string
	CreatedAt time.Time
	Data      map[string]any // dialect, ip, user_agent, reason; never a secret
}

// APIKey identifies an application of a tenant (token-login dialect). Only
// a hash of the key is stored.
type APIKey struct {
	ID         string
	TenantID   string
	Name       string
	Hash       []byte
	Prefix     string // the first characters, to recognise a key in lists
	CreatedAt  time.Time
	LastUsedAt time.Time
	RevokedAt  time.Time
}

// TOTPCredential is a user's authenticator-app enrolment. It is pending
// until a code confirms it; only a confirmed one turns two-factor on.
type TOTPCredential struct {
	UserID       string
	TenantID     string
	SecretSealed []byte    // the base32 secret, sealed with the TOTP key (associated data: TOTPSealAD)
	CreatedAt    time.Time // when enrolment began
	ConfirmedAt  time.Time // zero while pending
	LastStep     int64     // newest time step accepted; a code for it or an earlier one is a replay
	RecoveryLeft int       // unused recovery codes
}

// Confirmed reports whether the enrolment has been confirmed.
func (c *TOTPCredential) Confirmed() bool { return !c.ConfirmedAt.IsZero() }

// TOTPSealAD is the associated data a user's TOTP secret is sealed with,
// so that a sealed secret copied onto another user does not open.
func TOTPSealAD(userID string) []byte { return []byte("totp:" + userID) }

// SigningKey is one access-token signing key. The private key is stored
// encrypted with a key derived from LATCH_SECRET.
type SigningKey struct {
	ID         string // the JWT kid
	Alg        string // EdDSA, ES256 or RS256
	PrivateEnc []byte
	PublicDER  []byte // PKIX
	CreatedAt  time.Time
	ActivateAt time.Time // signing starts here; published from CreatedAt
}

// RevokeReason says why updating a user from a row whose password hash was
// oldHash must revoke the user's sessions, or "" when it must not: a
// disabled user or a new password ends every session, so a stolen refresh
// token dies with the old credentials. Stores apply it in the update's
// own transaction.
func RevokeReason(u *User, oldHash string) string {
	switch {
	case u.Status != StatusActive:
		return "user disabled"
	case u.PasswordHash != oldHash:
		return "password changed"
	}
	return ""
}

// EmailKey is the form in which emails are compared: trimmed and lower-cased.
func EmailKey(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// UsernameKey is the form in which user names are compared: trimmed and
// lower-cased, like emails.
func UsernameKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }
