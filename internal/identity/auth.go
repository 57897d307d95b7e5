package identity

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/latchauth/latch/internal/ratelimit"
)

// Auth runs the login use cases of every dialect: password and device
// logins, refresh, token login, logout, the throttling around them, and
// the lookups the dialects make on the way (a tenant by id or API key, a
// user's organisations). Its fields are its dependencies; all must be set
// except Limiter and EventsWritten (New sets them from Deps).
type Auth struct {
	Runtime
	Tenants       TenantReader
	Users         LoginUsers
	Sessions      LoginSessions
	SecondFactors SecondFactorChecks
	APIKeys       APIKeyReader
	Organisations OrganisationReader
	TOTPSealer    Sealer
	Limiter       ratelimit.Limiter // nil: no rate limits or failure throttling
	Passwords     PasswordHasher
	Signer        AccessSigner
	Codec         OpaqueCodec
	Config        Config
	// EventsWritten, when set, is called after events were stored, to
	// wake the webhook dispatcher at once instead of at its next poll.
	EventsWritten func()
	// Upstream, Migrations and MigrationSealer run lazy migration (see
	// TenantMigration); with Upstream nil no login goes upstream.
	Upstream        Upstream
	Migrations      MigrationUsers
	MigrationSealer Sealer
}

func (a *Auth) eventsWritten() {
	if a.EventsWritten != nil {
		a.EventsWritten()
	}
}

// LoginRequest is a password login. Either TenantID or TenantAlias names
// the tenant; TenantID wins when both are set. Email or Login names the
// user.
type LoginRequest struct {
	TenantID    string
	TenantAlias string
	Email       string
	// Login, for dialects whose field takes an email or a user name, is
	// used instead of Email: with an '@' it
	// is looked up as an email, without as a user name (user names cannot
	// hold '@'). Errors about it name the field "login".
	Login                 string
	Password              string
	TwoFactorCode         string
	TwoFactorRecoveryCode string
	// Device names the client device; it is stored on the session.
	Device string
	// NoSecondFactor is set by dialects whose wire format has no field for
	// a second factor; users with two-factor on are refused there unless
	// the tenant allows single-factor dialects.
	NoSecondFactor bool
	Client         Client
}

// LoginResult is what a successful login or refresh yields.
type LoginResult struct {
	Tenant          *Tenant
	User            *User
	Session         *Session
	AccessToken     string
	AccessExpiresAt time.Time
	IssuedAt        time.Time // when the access token was signed, by the service's clock
	RefreshToken    string
	Grace           bool // a refresh answered from the grace window, no rotation
}

// errBadCredentials is the one answer to every credential failure: unknown
// tenant, unknown email, wrong password, disabled user. The log gets the
// detail; the caller never learns which it was.
func errBadCredentials() *Error {
	return &Error{Code: EUNAUTHENTICATED, Message: "the email or password is incorrect"}
}

func errTokenInvalid() *Error {
	return &Error{Code: ETOKENINVALID, Message: "the refresh token is invalid, expired or revoked"}
}

// check refuses what no store keeps (see ValidText), naming the field.
func (req *LoginRequest) check() error {
	for _, f := range []struct{ name, v string }{{"tenant_id", req.TenantID}, {"tenant_alias", req.TenantAlias},
		{"email", req.Email}, {"login", req.Login}, {"password", req.Password}, {"two_factor_code", req.TwoFactorCode},
		{"two_factor_recovery_code", req.TwoFactorRecoveryCode}, {"device_name", req.Device}} {
		if err := CheckText(f.name, f.v); err != nil {
			return err
		}
	}
	return nil
}

// loginName is the name the user gave, and whether it is a user name.
func (req *LoginRequest) loginName() (string, bool) {
	if req.Login != "" {
		return req.Login, !strings.Contains(req.Login, "@")
	}
	return req.Email, false
}

// Login checks a password and opens a session.
func (a *Auth) Login(ctx context.Context, req LoginRequest) (*LoginResult, error) {
	res, _, err := a.login(ctx, req, false)
	return res, err
}

// login is Login, and with grant also the device's re-authentication
// grant, written in the session's transaction.
func (a *Auth) login(ctx context.Context, req LoginRequest, grant bool) (*LoginResult, *Session, error) {
	if err := req.check(); err != nil {
		return nil, nil, err
	}
	req.Client = req.Client.clean()
	tenant, err := a.findTenant(ctx, req.TenantID, req.TenantAlias)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return nil, nil, err
	}
	pol := a.policy(tenant)
	name, byUsername := req.loginName()
	acct := accountRef(tenant, req, name)
	var user *User
	if tenant != nil {
		if byUsername {
			user, err = a.Users.GetUserByUsername(ctx, tenant.ID, name)
		} else {
			user, err = a.Users.GetUserByEmail(ctx, tenant.ID, name)
		}
		if err != nil && ErrorCode(err) != ENOTFOUND {
			return nil, nil, err
		}
	}
	// A refusal here records no event: under attack that would be a
	// database write per refused request. account.locked marks the start.
	streak, err := a.admitLogin(ctx, tenant, user, acct, req, pol)
	if err != nil {
		return nil, nil, err
	}
	// A name the tenant does not have goes to the upstream it migrates
	// from, once admitted by the limits above; a user that exists (with or
	// without a password, migrated, imported or created) never does.
	migrated := false
	if user == nil && a.migrating(tenant) {
		if user, migrated, err = a.migrate(ctx, tenant, name, byUsername, req); err != nil {
			return nil, nil, err
		}
	}
	if user == nil || user.PasswordHash == "" {
		// The same work as a real verification, so timing tells nothing;
		// shed under load exactly like a real one. After an upstream
		// refusal too: that answer then costs the upstream's round trip
		// plus what a known user's wrong password costs.
		if e, ok := busy(a.Passwords.VerifyDummy(ctx, req.Password)); ok {
			return nil, nil, e
		}
		a.countFailure(ctx, tenant, nil, acct, req.Client, pol)
		a.log().InfoContext(ctx, "login failed", "reason", "unknown tenant or user", "dialect", req.Client.Dialect, "ip", req.Client.IP)
		return nil, nil, errBadCredentials()
	}
	// A user just migrated was created with a hash of this very password,
	// which the upstream accepted: hashing it was this login's verification.
	ok, rehash := migrated, false
	if !migrated {
		ok, rehash, err = a.Passwords.Verify(ctx, req.Password, user.PasswordHash)
	}
	if e, isBusy := busy(err); isBusy {
		return nil, nil, e
	} else if err != nil {
		a.log().ErrorContext(ctx, "stored password hash unusable", "user_id", user.ID, "err", err)
		ok = false
	}
	if !ok || user.Status != StatusActive {
		reason := "password"
		if ok {
			reason = "disabled"
		}
		a.recordFailure(ctx, tenant.ID, user.ID, req.Client, reason)
		a.countFailure(ctx, tenant, user, acct, req.Client, pol)
		return nil, nil, errBadCredentials()
	}
	if streak > 0 {
		a.Limiter.Reset(ctx, failureKey(acct, AddressKey(req.Client.IP)))
	}
	if tenant.Settings.RequireVerifiedEmail && !user.EmailVerified {
		// Said only to whoever knows the password.
		a.recordFailure(ctx, tenant.ID, user.ID, req.Client, "email_unverified")
		return nil, nil, &Error{Code: EEMAILUNVERIFIED, Message: "the email address is not verified yet: follow the link in the verification mail first"}
	}
	amr := []string{AMRPassword}
	if user.TwoFactorEnabled {
		method, err := a.secondFactor(ctx, tenant, user, req, pol)
		if err != nil {
			return nil, nil, err
		}
		if method != "" {
			amr = append(amr, method)
		}
	}
	now := a.now()
	sess := &Session{
		ID: NewID(), TenantID: tenant.ID, UserID: user.ID, Generation: 0,
		CreatedAt: now, ExpiresAt: now.Add(pol.SessionLifetime), LastSeenAt: now, RotatedAt: now,
		UserAgent: req.Client.UserAgent, Origin: req.Client.Origin, IP: req.Client.IP,
		Dialect: req.Client.Dialect, AMR: amr, DeviceName: req.Device,
	}
	// The write is conditional on the user being as checked: a password
	// change or a disable that committed meanwhile wins, and this login
	// answers as if the password were wrong (it is, now).
	w := SessionWrite{Checked: user, KnownAddress: AddressKey(req.Client.IP),
		Events: []Event{a.event(EventLoggedIn, tenant.ID, user.ID, sess.ID, now, req.Client.eventData("method", "password", "amr", amr))}}
	if rehash {
		if h, err := a.Passwords.Hash(ctx, req.Password); err == nil {
			w.NewPasswordHash = h
		}
	}
	if grant {
		w.Grant = &Session{
			ID: NewID(), TenantID: tenant.ID, UserID: user.ID, Kind: SessionReauth, DeviceName: req.Device,
			CreatedAt: now, ExpiresAt: now.Add(ReauthLifetime), LastSeenAt: now, RotatedAt: now,
			UserAgent: req.Client.UserAgent, IP: req.Client.IP, Dialect: req.Client.Dialect, AMR: amr,
		}
	}
	err = a.Sessions.CreateSession(ctx, sess, w)
	if ErrorCode(err) == ECONFLICT {
		// The user changed between the check and the write. A password
		// change or a disable must win; another login's rehash of this
		// same password must not fail this one. So check the password
		// once more, against the user as it is now.
		if fresh, ferr := a.Users.GetUser(ctx, tenant.ID, user.ID); ferr == nil && fresh.Status == StatusActive && fresh.PasswordHash != "" {
			ok, _, verr := a.Passwords.Verify(ctx, req.Password, fresh.PasswordHash)
			if e, isBusy := busy(verr); isBusy {
				return nil, nil, e
			}
			if ok && verr == nil {
				w.Checked, w.NewPasswordHash, user = fresh, "", fresh
				err = a.Sessions.CreateSession(ctx, sess, w)
			}
		}
	}
	if ErrorCode(err) == ECONFLICT {
		a.log().InfoContext(ctx, "login failed", "reason", "the user changed while the login was checked", "user_id", user.ID, "ip", req.Client.IP)
		return nil, nil, errBadCredentials()
	} else if err != nil {
		return nil, nil, err
	}
	a.eventsWritten()
	user.LastLoginAt, user.LastSeenAt = now, now
	res, err := a.issue(tenant, user, sess)
	return res, w.Grant, err
}

// Refresh exchanges a refresh token for a new access token and the next
// refresh token (rotation). Within the grace window the previous token
// yields the same successor; anything older is reuse, which revokes the
// session and is answered with ETOKENREUSED.
func (a *Auth) Refresh(ctx context.Context, refreshToken string, client Client) (*LoginResult, error) {
	return a.RefreshIn(ctx, "", refreshToken, client)
}

// RefreshIn is Refresh for dialects whose routes name the tenant: a token
// of another tenant is invalid there, before anything moves.
func (a *Auth) RefreshIn(ctx context.Context, tenantID, refreshToken string, client Client) (*LoginResult, error) {
	client = client.clean()
	id, gen, err := a.Codec.Decode(PrefixRefresh, refreshToken)
	if err != nil {
		return nil, errTokenInvalid()
	}
	sid := uuid.UUID(id).String()
	for attempt := 0; ; attempt++ {
		sess, tenant, user, err := a.Sessions.GetSessionWithOwners(ctx, sid)
		if ErrorCode(err) == ENOTFOUND {
			return nil, errTokenInvalid()
		} else if err != nil {
			return nil, err
		}
		if (tenantID != "" && sess.TenantID != tenantID) || sess.Kind != SessionNormal {
			return nil, errTokenInvalid()
		}
		now := a.now()
		pol, err := a.checkLive(sess, tenant, user, now)
		if err != nil {
			return nil, err
		}
		if attempt == 0 {
			// One session is one client, so it gets the address limit.
			if _, err := a.allow(ctx, client, "session", "sess:"+sess.ID, pol.IPLimit, false); err != nil {
				return nil, err
			}
		}
		switch {
		case int64(gen) == sess.Generation:
			ev := a.event(EventLoggedIn, sess.TenantID, sess.UserID, sess.ID, now, client.eventData("method", "refresh_token"))
			err := a.Sessions.AdvanceSession(ctx, sess.ID, sess.Generation, now, []Event{ev})
			if ErrorCode(err) == ECONFLICT && attempt == 0 {
				continue // a concurrent refresh won; re-read and take the grace path
			} else if err != nil {
				if ErrorCode(err) == ECONFLICT {
					return nil, errTokenInvalid()
				}
				return nil, err
			}
			a.eventsWritten()
			sess.Generation++
			sess.RotatedAt, sess.LastSeenAt, user.LastSeenAt = now, now, now
			return a.issue(tenant, user, sess)
		case int64(gen) == sess.Generation-1 && now.Sub(sess.RotatedAt) <= pol.RefreshGrace:
			// The client retried or raced itself: hand out the same
			// successor, with a fresh access token.
			res, err := a.issue(tenant, user, sess)
			if res != nil {
				res.Grace = true
			}
			return res, err
		case int64(gen) < sess.Generation:
			ev := a.event(EventRefreshTokenReused, sess.TenantID, sess.UserID, sess.ID, now,
				client.eventData("presented_generation", gen, "current_generation", sess.Generation))
			if err := a.Sessions.RevokeSession(ctx, sess.ID, now, "refresh token reused", []Event{ev}); err != nil {
				return nil, err
			}
			a.eventsWritten()
			a.log().WarnContext(ctx, "refresh token reuse: session revoked", "session_id", sess.ID, "user_id", sess.UserID, "ip", client.IP)
			return nil, &Error{Code: ETOKENREUSED, Message: "the refresh token was already used; the session has been revoked"}
		default:
			// A generation from the future can only come from a forged
			// token; treat it as garbage.
			return nil, errTokenInvalid()
		}
	}
}

// Logout revokes the session a refresh token belongs to. An already
// revoked or unknown session is not an error; a token that does not
// authenticate is.
func (a *Auth) Logout(ctx context.Context, refreshToken string, client Client) error {
	return a.LogoutIn(ctx, "", refreshToken, client)
}

// LogoutIn is Logout for dialects whose routes name the tenant.
func (a *Auth) LogoutIn(ctx context.Context, tenantID, refreshToken string, client Client) error {
	return a.logout(ctx, tenantID, PrefixRefresh, refreshToken, client)
}

// logout revokes the session an opaque token of prefix names; for a
// device's session it also revokes the device's re-authentication grant.
func (a *Auth) logout(ctx context.Context, tenantID, prefix, tok string, client Client) error {
	client = client.clean()
	invalid := errTokenInvalid()
	if prefix == PrefixSession {
		invalid = &Error{Code: ETOKENINVALID, Field: "session_token", Message: "the session token is not one this server issued"}
	}
	id, _, err := a.Codec.Decode(prefix, tok)
	if err != nil {
		return invalid
	}
	sess, err := a.Sessions.GetSession(ctx, uuid.UUID(id).String())
	if ErrorCode(err) == ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if (tenantID != "" && sess.TenantID != tenantID) || sess.Kind != SessionNormal {
		return invalid
	}
	now := a.now()
	if sess.DeviceName != "" {
		if _, err := a.Sessions.RevokeDeviceSessions(ctx, sess.TenantID, sess.UserID, sess.DeviceName, SessionReauth, now, "logout"); err != nil {
			return err
		}
	}
	if sess.Revoked() {
		return nil
	}
	ev := a.event(EventLoggedOut, sess.TenantID, sess.UserID, sess.ID, now, client.eventData())
	if err := a.Sessions.RevokeSession(ctx, sess.ID, now, "logout", []Event{ev}); err != nil {
		return err
	}
	a.eventsWritten()
	return nil
}

// checkLive reports whether the session may still be used at now, and
// returns the tenant's session policy.
func (a *Auth) checkLive(sess *Session, tenant *Tenant, user *User, now time.Time) (Config, error) {
	if sess.Revoked() || user.Status != StatusActive {
		return Config{}, errTokenInvalid()
	}
	pol := a.policy(tenant)
	idle := sess.Kind == SessionNormal && now.Sub(sess.LastSeenAt) > pol.SessionIdleTimeout
	if !now.Before(sess.ExpiresAt) || idle {
		return Config{}, errTokenInvalid()
	}
	return pol, nil
}

func (a *Auth) issue(t *Tenant, u *User, sess *Session) (*LoginResult, error) {
	issued := a.now()
	at, exp, err := a.Signer.SignAccess(AccessClaims{
		Subject: u.ID, TenantID: t.ID, SessionID: sess.ID, Email: u.Email, Roles: u.Roles, AMR: sess.AMR,
	})
	if err != nil {
		return nil, Internal(err)
	}
	return &LoginResult{
		Tenant: t, User: u, Session: sess, AccessToken: at, AccessExpiresAt: exp, IssuedAt: issued,
		RefreshToken: a.Codec.Encode(PrefixRefresh, uuid.MustParse(sess.ID), uint64(sess.Generation)),
	}, nil
}

func (a *Auth) findTenant(ctx context.Context, id, alias string) (*Tenant, error) {
	switch {
	case id != "":
		return a.Tenant(ctx, id)
	case alias != "":
		return a.Tenants.GetTenantByAlias(ctx, strings.ToLower(strings.TrimSpace(alias)))
	}
	return nil, Invalid("tenant_id", "a tenant id or alias is required")
}

func (a *Auth) recordFailure(ctx context.Context, tenantID, userID string, c Client, reason string) {
	now := a.now()
	ev := a.event(EventLoginFailed, tenantID, userID, "", now, c.eventData("reason", reason))
	if err := a.Events.AppendEvents(ctx, ev); err == nil {
		a.eventsWritten()
	} else if !errors.Is(err, context.Canceled) {
		a.log().ErrorContext(ctx, "record login failure", "err", err)
	}
	a.log().InfoContext(ctx, "login failed", "reason", reason, "user_id", userID, "dialect", c.Dialect, "ip", c.IP)
}

// recordLock records that the account has started being throttled.
func (a *Auth) recordLock(ctx context.Context, tenantID, userID string, c Client, reason string, until time.Time) {
	ev := a.event(EventLocked, tenantID, userID, "", a.now(), c.eventData("reason", reason, "until", until.Format(time.RFC3339)))
	if err := a.Events.AppendEvents(ctx, ev); err == nil {
		a.eventsWritten()
	} else if !errors.Is(err, context.Canceled) {
		a.log().ErrorContext(ctx, "record account lock", "err", err)
	}
	a.log().WarnContext(ctx, "account throttled", "reason", reason, "user_id", userID, "until", until, "ip", c.IP)
}

// policy merges the tenant's overrides into the deployment defaults.
func (a *Auth) policy(t *Tenant) Config {
	c := a.Config
	if c.SessionLifetime == 0 {
		c.SessionLifetime = DefaultConfig.SessionLifetime
	}
	if c.SessionIdleTimeout == 0 {
		c.SessionIdleTimeout = DefaultConfig.SessionIdleTimeout
	}
	if c.RefreshGrace == 0 {
		c.RefreshGrace = DefaultConfig.RefreshGrace
	}
	if t != nil {
		if v := t.Settings.SessionLifetimeSeconds; v > 0 {
			c.SessionLifetime = time.Duration(v) * time.Second
		}
		if v := t.Settings.SessionIdleTimeoutSeconds; v > 0 {
			c.SessionIdleTimeout = time.Duration(v) * time.Second
		}
		if v := t.Settings.RefreshGraceSeconds; v > 0 {
			c.RefreshGrace = time.Duration(v) * time.Second
		}
		if t.Settings.AllowSingleFactorDialects {
			c.AllowSingleFactorDialects = true
		}
		// Validated when the settings were written; a value that no longer
		// parses keeps the deployment's limit.
		if l, err := ratelimit.Parse(t.Settings.RateLimitIP); err == nil && t.Settings.RateLimitIP != "" {
			c.IPLimit = l
		}
		if l, err := ratelimit.Parse(t.Settings.RateLimitAccount); err == nil && t.Settings.RateLimitAccount != "" {
			c.AccountLimit = l
		}
	}
	return c
}
