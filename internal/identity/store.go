package identity

import (
	"context"
	"time"
)

// Page selects a window of a list. Cursor is opaque to callers; it is
// returned as the next cursor of the previous page.
type Page struct {
	Limit  int
	Cursor string
}

// UserFilter narrows ListUsers.
type UserFilter struct {
	Email       string // exact match after EmailKey
	Username    string // exact match after UsernameKey
	EmailPrefix string // the EmailKey starts with EmailKey(EmailPrefix)
}

// EventFilter narrows ListEvents.
type EventFilter struct {
	ID     string // the one event with this id
	Type   string
	UserID string
	Since  time.Time // created at or after; zero: no bound
	Until  time.Time // created before; zero: no bound
}

// The aggregate interfaces (TenantStore, UserStore, …) are what a store
// implements and what the conformance suite checks. Each is the union of
// the narrow interfaces the use cases consume (TenantReader, LoginSessions,
// …), so that a use case depends only on the methods it calls, as fosite's
// flows each name their own small storage interface.

// TenantReader finds tenants.
type TenantReader interface {
	// GetTenant returns the tenant with id, or ENOTFOUND.
	GetTenant(ctx context.Context, id string) (*Tenant, error)
	// GetTenantByAlias returns the tenant with alias, or ENOTFOUND.
	GetTenantByAlias(ctx context.Context, alias string) (*Tenant, error)
}

// TenantStore persists tenants.
type TenantStore interface {
	TenantReader
	// CreateTenant inserts t. ECONFLICT when the alias is taken.
	CreateTenant(ctx context.Context, t *Tenant) error
	// UpdateTenant replaces name, alias and settings. ENOTFOUND, ECONFLICT.
	UpdateTenant(ctx context.Context, t *Tenant) error
	// DeleteTenant removes the tenant and everything it owns. ENOTFOUND.
	DeleteTenant(ctx context.Context, id string) error
	// ListTenants returns tenants in creation order and the next cursor ("" at the end).
	ListTenants(ctx context.Context, p Page) ([]*Tenant, string, error)
}

// UserReader finds users.
type UserReader interface {
	// GetUser returns a user of the tenant, or ENOTFOUND.
	GetUser(ctx context.Context, tenantID, id string) (*User, error)
	// GetUserByEmail looks the user up by EmailKey(email), or ENOTFOUND.
	GetUserByEmail(ctx context.Context, tenantID, email string) (*User, error)
	// GetUserByUsername looks the user up by UsernameKey(name), or ENOTFOUND.
	GetUserByUsername(ctx context.Context, tenantID, name string) (*User, error)
}

// LoginUsers is what logins read of users: the users, and the addresses
// each logged in from.
type LoginUsers interface {
	UserReader
	// KnownAddress reports whether the user logged in from address (a
	// limit key, see AddressKey) at or after since. An unknown user ("")
	// has no known address.
	KnownAddress(ctx context.Context, userID, address string, since time.Time) (bool, error)
}

// UserStore persists users.
type UserStore interface {
	LoginUsers
	// CreateUser inserts u. ECONFLICT (Field "email" or "username") when
	// the email or user name is taken in the tenant, ENOTFOUND when an
	// organisation id does not exist in it. The user writes append
	// events in their own transaction: the change and its record commit
	// together or not at all.
	CreateUser(ctx context.Context, u *User, events ...Event) error
	// UpdateUser replaces every mutable field of u. ENOTFOUND, ECONFLICT.
	// When u is disabled or its password hash changes, every live session
	// of the user is revoked in the same transaction.
	UpdateUser(ctx context.Context, u *User, events ...Event) error
	// DeleteUser removes the user and its sessions. ENOTFOUND.
	DeleteUser(ctx context.Context, tenantID, id string, events ...Event) error
	// ListUsers returns the tenant's users in creation order; with an
	// EmailPrefix, in the order of their EmailKey (byte by byte), so that
	// a page of a search reads one page of an index however many users
	// match.
	ListUsers(ctx context.Context, tenantID string, f UserFilter, p Page) ([]*User, string, error)
	// ImportUsers inserts new users of one tenant, a batch, in one
	// transaction, and says for each what it did (see ImportOutcome): a
	// user who cannot be inserted is left out, never the batch.
	ImportUsers(ctx context.Context, tenantID string, users []*User) ([]ImportOutcome, error)
	// CountUsers returns how many users the tenant has, and how many of
	// them lazy migration created (MigratedFrom set).
	CountUsers(ctx context.Context, tenantID string) (total, migrated int, err error)
}

// ImportOutcome is what UserStore.ImportUsers did with one user: inserted
// it (both fields empty), or left it out because another user of the
// tenant, stored or earlier in the batch, has its email (Existing is that
// user's id), or for Err: ECONFLICT when its user name or id is taken,
// ENOTFOUND when one of its organisations does not exist, EINVALID when
// its text is not storable.
type ImportOutcome struct {
	Existing string
	Err      error
}

// OrganisationReader finds organisations.
type OrganisationReader interface {
	// GetOrganisation returns an organisation of the tenant, or ENOTFOUND.
	GetOrganisation(ctx context.Context, tenantID, id string) (*Organisation, error)
}

// OrganisationStore persists organisations.
type OrganisationStore interface {
	OrganisationReader
	// CreateOrganisation inserts o. ENOTFOUND when ParentID is unknown.
	CreateOrganisation(ctx context.Context, o *Organisation) error
	// UpdateOrganisation replaces the mutable fields. ENOTFOUND.
	UpdateOrganisation(ctx context.Context, o *Organisation) error
	// DeleteOrganisation removes o; its children lose their parent and
	// its members their membership. ENOTFOUND.
	DeleteOrganisation(ctx context.Context, tenantID, id string) error
	// ListOrganisations returns the tenant's organisations in creation order.
	ListOrganisations(ctx context.Context, tenantID string, p Page) ([]*Organisation, string, error)
}

// SessionWrite is what a successful login writes besides the session
// itself, in the same transaction.
type SessionWrite struct {
	Events []Event
	// Checked is the user as the login verified it. When set, everything
	// is written only if the user is still active with Checked's password
	// hash; otherwise nothing is written and the store answers ECONFLICT.
	// So a login that raced a password change or a disable never leaves a
	// session the change did not revoke, nor writes an old hash back.
	Checked *User
	// NewPasswordHash, when set, replaces the checked hash (rehash on
	// login); it needs Checked.
	NewPasswordHash string
	// KnownAddress, when set, is remembered as an address the user
	// logged in from at the session's CreatedAt; the store keeps the
	// KnownAddressesPerUser most recent ones.
	KnownAddress string
	// Grant, when set, is a re-authentication grant written with the
	// session (token-login).
	Grant *Session
}

// SessionRevoker finds a session and ends it: logouts do, and admins
// ending one session of a user.
type SessionRevoker interface {
	// GetSession returns the session, or ENOTFOUND.
	GetSession(ctx context.Context, id string) (*Session, error)
	// RevokeSession marks the session revoked (if it is not already) and
	// appends events in one transaction. ENOTFOUND.
	RevokeSession(ctx context.Context, id string, now time.Time, reason string, events []Event) error
}

// LoginSessions is what the login use cases do with sessions. Rotation is
// a compare-and-swap on the generation, so that concurrent refreshes on
// any number of instances advance a session at most once per generation.
type LoginSessions interface {
	SessionRevoker
	// CreateSession inserts s, sets the user's last login and last seen to
	// s.CreatedAt, and writes w, all in one transaction. A grant (a
	// session of kind SessionReauth, as s or as w.Grant) revokes the
	// user's live grant for the same device in that transaction: a user
	// has at most one live grant per device, whatever runs concurrently.
	CreateSession(ctx context.Context, s *Session, w SessionWrite) error
	// GetSessionWithOwners returns the session, its tenant and its user
	// in one read (a refresh needs all three, and those reads are most of
	// its cost), or ENOTFOUND when any is missing.
	GetSessionWithOwners(ctx context.Context, id string) (*Session, *Tenant, *User, error)
	// AdvanceSession moves the session from generation from to from+1,
	// sets RotatedAt and LastSeenAt to now (and the user's last seen, when
	// that is more than a minute older: a user's sessions must not queue on
	// the user's row) and appends events, in one transaction, only if the
	// session is live and still at generation from; otherwise ECONFLICT and
	// nothing is written.
	AdvanceSession(ctx context.Context, id string, from int64, now time.Time, events []Event) error
	// RevokeDeviceSessions revokes the user's live sessions of kind with
	// the device name and returns how many it revoked.
	RevokeDeviceSessions(ctx context.Context, tenantID, userID, device, kind string, now time.Time, reason string) (int, error)
}

// UserSessions is what an admin does with a user's sessions.
type UserSessions interface {
	SessionRevoker
	// RevokeUserSessions revokes every live session of the user and
	// returns how many it revoked. When events is not nil, what it
	// returns for that number is appended in the same transaction.
	RevokeUserSessions(ctx context.Context, tenantID, userID string, now time.Time, reason string, events func(revoked int) []Event) (int, error)
	// ListUserSessions returns a page of the user's sessions, revoked and
	// expired ones included, newest first, and the next cursor ("" at
	// the end).
	ListUserSessions(ctx context.Context, tenantID, userID string, p Page) ([]*Session, string, error)
}

// SessionStore persists sessions.
type SessionStore interface {
	LoginSessions
	UserSessions
}

// EventAppender records events that are not part of another write.
type EventAppender interface {
	// AppendEvents inserts events in one transaction.
	AppendEvents(ctx context.Context, events ...Event) error
}

// EventLister reads a tenant's events (its audit log).
type EventLister interface {
	// ListEvents returns the tenant's events, newest first.
	ListEvents(ctx context.Context, tenantID string, f EventFilter, p Page) ([]*Event, string, error)
}

// EventStore persists events.
type EventStore interface {
	EventAppender
	EventLister
}

// APIKeyReader finds API keys.
type APIKeyReader interface {
	// GetAPIKeyByHash returns the key with the hash, or ENOTFOUND.
	GetAPIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
}

// APIKeyStore persists API keys.
type APIKeyStore interface {
	APIKeyReader
	// CreateAPIKey inserts k.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// ListAPIKeys returns the tenant's keys, revoked ones included.
	ListAPIKeys(ctx context.Context, tenantID string) ([]*APIKey, error)
	// RevokeAPIKey marks the key revoked. ENOTFOUND.
	RevokeAPIKey(ctx context.Context, tenantID, id string, now time.Time) error
}

// SecondFactorChecks is what logins do with second factors: check a
// code once, and count the attempts against guessing. Each method is one
// transaction, so two instances never accept the same code twice.
type SecondFactorChecks interface {
	// GetTOTP returns the user's enrolment, pending or confirmed, or ENOTFOUND.
	GetTOTP(ctx context.Context, tenantID, userID string) (*TOTPCredential, error)
	// UseTOTPStep records step as used when it is newer than the last used
	// step of a confirmed enrolment, and reports whether it did; false
	// means the code was replayed.
	UseTOTPStep(ctx context.Context, userID string, step int64) (bool, error)
	// UseRecoveryCode marks the unused recovery code with hash as used at
	// now and reports whether there was one.
	UseRecoveryCode(ctx context.Context, userID string, hash []byte, now time.Time) (bool, error)
	// TakeSecondFactorAttempt forgets the user's attempts older than
	// since, then calls admit with the rest (oldest first) and, when it
	// returns true, counts an attempt from address at now. admit runs in
	// the transaction that counts, which serialises the user's attempts,
	// so concurrent guesses on any instances are judged one after the
	// other. It reports whether the attempt was counted. ENOTFOUND when
	// the user does not exist.
	TakeSecondFactorAttempt(ctx context.Context, userID, address string, now, since time.Time, admit func(history []SecondFactorAttempt) bool) (bool, error)
	// ClearSecondFactorAttempts forgets the user's counted attempts from
	// address, or from every address when address is "".
	ClearSecondFactorAttempts(ctx context.Context, userID, address string) error
}

// SecondFactorStore persists TOTP enrolments, recovery codes and the
// attempts counted against second-factor guessing.
type SecondFactorStore interface {
	SecondFactorChecks
	// PutPendingTOTP stores c as the user's pending enrolment, replacing a
	// pending one. ECONFLICT when a confirmed enrolment exists; ENOTFOUND
	// when the user does not.
	PutPendingTOTP(ctx context.Context, c *TOTPCredential) error
	// ConfirmTOTP confirms the pending enrolment at now, records step as
	// used, and replaces the recovery codes with hashes. ENOTFOUND when
	// nothing is pending; ECONFLICT when it is already confirmed. The
	// events are appended in the same transaction.
	ConfirmTOTP(ctx context.Context, tenantID, userID string, step int64, recoveryHashes [][]byte, now time.Time, events ...Event) error
	// ReplaceRecoveryCodes discards the user's recovery codes and stores
	// hashes instead. ENOTFOUND without a confirmed enrolment.
	ReplaceRecoveryCodes(ctx context.Context, tenantID, userID string, hashes [][]byte) error
	// DeleteTOTP removes the enrolment, its recovery codes and counted
	// attempts, and reports whether there was an enrolment; only then
	// are the events appended, in the same transaction.
	DeleteTOTP(ctx context.Context, tenantID, userID string, events ...Event) (bool, error)
}

// SecondFactorAttempt is one second-factor attempt a store counted.
type SecondFactorAttempt struct {
	Address string // the limit key of the client address (AddressKey)
	At      time.Time
}

// AccountTokenStore persists one-time account tokens. Spending one is a
// compare-and-swap: of concurrent uses of a token on any number of
// instances, exactly one succeeds.
type AccountTokenStore interface {
	// CreateAccountToken stores t, retires the user's unspent tokens of
	// t.Purpose, forgets the user's expired ones and appends events, in
	// one transaction. ENOTFOUND (and nothing written) when the user does
	// not exist in the tenant: a caller does the same work for an unknown
	// user as for a known one.
	CreateAccountToken(ctx context.Context, t *AccountToken, events []Event) error
	// GetAccountToken returns the token with hash, or ENOTFOUND.
	GetAccountToken(ctx context.Context, hash []byte) (*AccountToken, error)
	// SealedAccountToken returns the sealed token the event announced, or
	// ENOTFOUND when there is none (any more: spent tokens lose it).
	SealedAccountToken(ctx context.Context, eventID string) ([]byte, error)
	// SpendAccountToken spends the token with hash and purpose in one
	// transaction, only if it is unspent and unexpired at now and its
	// user still exists with the token's email; else ENOTFOUND and nothing
	// is written. A password reset then sets the user's password hash to
	// newHash, revokes every live session of the user (re-authentication
	// grants included) and retires the user's other reset tokens; an
	// email verification marks the email verified. events are appended.
	SpendAccountToken(ctx context.Context, hash []byte, purpose string, now time.Time, newHash string, events []Event) error
}

// KeyStore persists access-token signing keys, shared by every instance
// (package token reads and writes them).
type KeyStore interface {
	// InsertSigningKey stores k. ECONFLICT when the id exists.
	InsertSigningKey(ctx context.Context, k *SigningKey) error
	// InsertFirstSigningKey inserts k unless a key of k.Alg is already
	// active at k.ActivateAt, and reports whether it did. Of concurrent
	// callers on any number of instances, at most one inserts.
	InsertFirstSigningKey(ctx context.Context, k *SigningKey) (bool, error)
	// ListSigningKeys returns every key, oldest first.
	ListSigningKeys(ctx context.Context) ([]*SigningKey, error)
}

// Store is everything a full deployment needs; each store package
// implements it, and the conformance suite in store/storetest checks it.
type Store interface {
	TenantStore
	UserStore
	OrganisationStore
	SessionStore
	EventStore
	APIKeyStore
	SecondFactorStore
	WebhookStore
	KeyStore
	ConsoleSessionStore
	AccountTokenStore
	// Ping reports whether the database answers.
	Ping(ctx context.Context) error
	// Close releases the connections.
	Close() error
}
