package identity

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/latchauth/latch/internal/ratelimit"
)

// PasswordHasher hashes and verifies passwords (package password). When it
// sheds load, its error has a RetryAfter() time.Duration method; the
// caller answers EUNAVAILABLE. A caller whose ctx ends while it waits for
// a hashing worker gets ctx's error (wrapped) and no hash is computed.
type PasswordHasher interface {
	Hash(ctx context.Context, pw string) (string, error)
	Verify(ctx context.Context, pw, encoded string) (ok, rehash bool, err error)
	VerifyDummy(ctx context.Context, pw string) error
	Check(encoded string) error
}

// AccessClaims are what the core puts into an access token; the signer adds
// iss, iat, nbf, exp and jti.
type AccessClaims struct {
	Subject   string
	TenantID  string
	SessionID string
	Email     string
	Roles     []string
	AMR       []string
}

// AccessSigner signs access tokens, and verifies them for the
// self-service routes, which take a user's own access token (package
// token).
type AccessSigner interface {
	SignAccess(c AccessClaims) (token string, expires time.Time, err error)
	// VerifyAccess checks the signature, issuer and expiry of an access
	// token and returns its claims.
	VerifyAccess(token string) (*AccessClaims, error)
}

// OpaqueCodec encodes and authenticates opaque tokens (package token).
type OpaqueCodec interface {
	Encode(prefix string, id [16]byte, gen uint64) string
	Decode(prefix, tok string) (id [16]byte, gen uint64, err error)
}

// Prefixes of opaque tokens. A readable prefix lets secret scanners find
// leaked tokens and lets a server refuse a token of the wrong kind at once.
const (
	PrefixRefresh = "lrt1" // refresh tokens
	PrefixSession = "lst1" // session tokens (a device's session, presented to log out)
	PrefixReauth  = "lra1" // re-authentication tokens (token-login)
)

// Config holds the deployment-wide session policy; a tenant's settings
// override it field by field.
type Config struct {
	SessionLifetime    time.Duration // absolute; default 30 days
	SessionIdleTimeout time.Duration // inactivity; default 7 days
	RefreshGrace       time.Duration // default 10 s
	// AllowSingleFactorDialects lets users with two-factor on log in with
	// a password alone through dialects that cannot carry a code.
	AllowSingleFactorDialects bool
	// IPLimit bounds requests to login routes per client address, and
	// refreshes per session; AccountLimit is each account's failure
	// ceiling: failed logins from all addresses together, binding the
	// addresses not known for the account (see admitLogin). The zero Limit
	// is no limit; they apply only when Auth has a Limiter.
	IPLimit      ratelimit.Limit
	AccountLimit ratelimit.Limit
}

// DefaultConfig is the default session policy.
var DefaultConfig = Config{SessionLifetime: 30 * 24 * time.Hour, SessionIdleTimeout: 7 * 24 * time.Hour, RefreshGrace: 10 * time.Second}

// Runtime is what every use case shares: the clock that stamps what it
// records, the log it writes to, and the event log (the audit log) its
// outcomes are appended to.
type Runtime struct {
	Events EventAppender
	Logger *slog.Logger     // nil: slog.Default()
	Now    func() time.Time // nil: time.Now
	// Wake, when set, is called after events were stored outside a
	// login, to wake the webhook dispatcher (Deps.EventsWritten).
	Wake func()
}

func (r *Runtime) wake() {
	if r.Wake != nil {
		r.Wake()
	}
}

func (r *Runtime) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Runtime) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.Default()
}

func (r *Runtime) event(typ, tenantID, userID, sessionID string, at time.Time, data map[string]any) Event {
	return Event{ID: NewID(), TenantID: tenantID, UserID: userID, SessionID: sessionID, Type: typ, CreatedAt: at, Data: data}
}

// Service holds the use cases, each over the narrow store interfaces it
// needs: the dialects use Auth, the admin API all four but Console, the
// operator console Console and the admin API's.
type Service struct {
	Auth         *Auth
	Admin        *Admin
	SecondFactor *SecondFactor
	Webhooks     *Webhooks
	Console      *Console
	Self         *Self
	Accounts     *Accounts
}

// Deps are what New wires the use cases with; all must be set except
// Limiter, Logger, Now, EventsWritten, AdminToken, Mailer, PublicURL and Upstream.
type Deps struct {
	Store         Store             // one database holds everything
	Limiter       ratelimit.Limiter // nil: no rate limits or failure throttling
	Passwords     PasswordHasher
	Signer        AccessSigner
	Codec         OpaqueCodec
	TOTPSealer    Sealer // seals TOTP secrets at rest
	WebhookSealer Sealer // seals webhook endpoint secrets at rest
	// MigrationSealer seals the lazy-migration upstream's API key at rest.
	MigrationSealer Sealer
	// Upstream checks first logins of migrating tenants (see
	// TenantMigration); nil: no login goes upstream.
	Upstream Upstream
	Config   Config
	Logger   *slog.Logger
	Now      func() time.Time
	// EventsWritten, when set, is called after a login, refresh or logout
	// stored events, or a delivery was made due again, to wake the webhook
	// dispatcher at once instead of at its next poll.
	EventsWritten func()
	// AdminToken signs operators in to the console (LATCH_ADMIN_TOKEN);
	// "": nobody signs in.
	AdminToken string
	// Mailer sends the mails of password resets and email verification;
	// nil: latch sends no mail (the webhook events carry the tokens).
	Mailer Mailer
	// PublicURL is the service's public base URL (LATCH_ISSUER), which
	// verification links point at.
	PublicURL string
}

// New wires every use case over d.Store: the one place where they are
// put together, for the server and for tests.
func New(d Deps) *Service {
	rt := Runtime{Events: d.Store, Logger: d.Logger, Now: d.Now, Wake: d.EventsWritten}
	auth := &Auth{Runtime: rt, Tenants: d.Store, Users: d.Store, Sessions: d.Store, SecondFactors: d.Store,
		APIKeys: d.Store, Organisations: d.Store, TOTPSealer: d.TOTPSealer, Limiter: d.Limiter, Passwords: d.Passwords,
		Signer: d.Signer, Codec: d.Codec, Config: d.Config, EventsWritten: d.EventsWritten,
		Upstream: d.Upstream, Migrations: d.Store, MigrationSealer: d.MigrationSealer}
	sf := &SecondFactor{Runtime: rt, Tenants: d.Store, Users: d.Store, SecondFactors: d.Store, Sealer: d.TOTPSealer}
	return &Service{
		Auth: auth,
		Admin: &Admin{Runtime: rt, Tenants: d.Store, Users: d.Store, Organisations: d.Store, Sessions: d.Store,
			AuditLog: d.Store, APIKeys: d.Store, Passwords: d.Passwords, Sealer: d.MigrationSealer},
		SecondFactor: sf,
		Webhooks: &Webhooks{Runtime: rt, Tenants: d.Store, Users: d.Store, Organisations: d.Store, Endpoints: d.Store, AuditLog: d.Store,
			Deliveries: d.Store, Sealer: d.WebhookSealer, AccountTokens: d.Store, EventsWritten: d.EventsWritten},
		Console: &Console{Runtime: rt, Sessions: d.Store, Logins: auth, AdminToken: d.AdminToken},
		Self:    &Self{Runtime: rt, Auth: auth, SecondFactor: sf, Sessions: d.Store},
		Accounts: &Accounts{Runtime: rt, Auth: auth, Users: d.Store, Tokens: d.Store, Passwords: d.Passwords, Mailer: d.Mailer,
			Sealer: d.WebhookSealer, PublicURL: d.PublicURL, EventsWritten: d.EventsWritten},
	}
}

// Client describes who is calling, for the session and the audit log.
type Client struct {
	Dialect   string
	IP        string
	UserAgent string
	Origin    string
	// Quota, when set, receives the caller's standing against the
	// tightest rate limit its request was counted against.
	Quota *Quota
}

// clean makes the header-derived values safe to keep (see Printable):
// they are recorded, never refused.
func (c Client) clean() Client {
	c.Dialect, c.IP = Printable(c.Dialect, 64), Printable(c.IP, 64)
	c.UserAgent, c.Origin = Printable(c.UserAgent, 512), Printable(c.Origin, 512)
	return c
}

func (c Client) eventData(extra ...any) map[string]any {
	m := map[string]any{"dialect": c.Dialect, "ip": c.IP, "user_agent": c.UserAgent}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i].(string)] = extra[i+1]
	}
	return m
}

// NewID returns a time-ordered UUID (v7) for any latch record, so that ids
// sort by creation.
func NewID() string { return uuid.Must(uuid.NewV7()).String() }
