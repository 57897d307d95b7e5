package identity

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"time"
)

// ConsoleSessionLifetime is how long a console sign-in lasts, whatever
// the operator does: the console is signed in with the deployment's most
// powerful secret, so a forgotten tab must not stay signed in for days.
const ConsoleSessionLifetime = 12 * time.Hour

// ConsoleSession is an operator signed in to the web console with the
// admin token. The session id lives only in the operator's cookie; the
// store keeps its hash, so a copy of the database signs nobody in.
type ConsoleSession struct {
	IDHash []byte // SHA-256 of the session id
	// TokenMAC is HMAC-SHA256 keyed with the session id over the admin
	// token it was started with: when LATCH_ADMIN_TOKEN changes, every
	// console session ends, and the row says nothing about the token to
	// whoever reads it without the id.
	TokenMAC  []byte
	CreatedAt time.Time
	ExpiresAt time.Time
	IP        string
	UserAgent string
}

// ConsoleSessionStore persists console sessions, shared by every instance
// of a deployment.
type ConsoleSessionStore interface {
	// CreateConsoleSession inserts s. ECONFLICT when the hash exists.
	CreateConsoleSession(ctx context.Context, s *ConsoleSession) error
	// GetConsoleSession returns the session whose id hashes to idHash,
	// expired or not, or ENOTFOUND.
	GetConsoleSession(ctx context.Context, idHash []byte) (*ConsoleSession, error)
	// DeleteConsoleSession removes the session; one already gone is not
	// an error.
	DeleteConsoleSession(ctx context.Context, idHash []byte) error
	// DeleteExpiredConsoleSessions removes the sessions that expired at or
	// before now and returns how many.
	DeleteExpiredConsoleSessions(ctx context.Context, now time.Time) (int, error)
}

// Console signs operators in to the web console and checks their
// sessions. The console's other actions are the admin use cases (Admin,
// SecondFactor, Webhooks, Auth's LiftThrottle), called with a context
// marked by Via. Its fields are its dependencies; all must be set.
type Console struct {
	Runtime
	Sessions ConsoleSessionStore
	// Logins is the login use case whose address limit and limiter count
	// sign-ins, as they count password logins.
	Logins     *Auth
	AdminToken string // "": the console is off and nobody signs in
}

// consoleFailureKey counts an address's wrong admin tokens, as failureKey
// counts its wrong passwords on an account.
func consoleFailureKey(addr string) string { return "console-fail:" + addr }

func errConsoleSignIn() *Error {
	return &Error{Code: EUNAUTHENTICATED, Message: "the admin token is incorrect"}
}

// SignIn checks presented against the admin token in constant time and
// starts a console session, returning its id (for the cookie, never
// stored). Sign-in attempts are limited like password logins: every
// attempt counts against the address's request limit (IPv6 by /64), and
// after FreeFailures wrong tokens in a row each further attempt from the
// address waits 1 s, 2 s, 4 s, … up to MaxFailureDelay (ERATELIMITED
// with RetryAfter). A right token clears the address's streak.
func (c *Console) SignIn(ctx context.Context, presented string, client Client) (string, *ConsoleSession, error) {
	client = client.clean()
	if c.AdminToken == "" {
		return "", nil, errConsoleSignIn()
	}
	if err := c.Logins.AdmitIP(ctx, "console", client); err != nil {
		return "", nil, err
	}
	addr := AddressKey(client.IP)
	limiter := c.Logins.Limiter
	if limiter != nil {
		n, last, err := limiter.Failures(ctx, consoleFailureKey(addr))
		if err != nil {
			c.log().WarnContext(ctx, "rate limiter failed; console sign-in streak not checked", "err", err)
		} else if wait := last.Add(failureDelay(n)).Sub(c.now()); n >= FreeFailures && wait > 0 {
			return "", nil, errLimited("console_sign_in", wait)
		}
	}
	// Hashing both sides first makes the comparison's time independent
	// of the lengths too.
	want, got := sha256.Sum256([]byte(c.AdminToken)), sha256.Sum256([]byte(presented))
	if subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
		if limiter != nil {
			if _, err := limiter.Fail(ctx, consoleFailureKey(addr), FailureMemory); err != nil {
				c.log().WarnContext(ctx, "rate limiter failed; console sign-in failure not counted", "err", err)
			}
		}
		c.log().WarnContext(ctx, "console sign-in failed", "reason", "wrong admin token", "ip", client.IP)
		return "", nil, errConsoleSignIn()
	}
	if limiter != nil {
		limiter.Reset(ctx, consoleFailureKey(addr))
	}
	raw := make([]byte, 32)
	rand.Read(raw)
	id := base64.RawURLEncoding.EncodeToString(raw)
	now := c.now()
	sess := &ConsoleSession{IDHash: consoleIDHash(id), TokenMAC: consoleTokenMAC(id, c.AdminToken),
		CreatedAt: now, ExpiresAt: now.Add(ConsoleSessionLifetime), IP: client.IP, UserAgent: client.UserAgent}
	// Sign-ins are rare: clearing out expired sessions here keeps the
	// table small without a job of its own.
	if _, err := c.Sessions.DeleteExpiredConsoleSessions(ctx, now); err != nil {
		c.log().WarnContext(ctx, "delete expired console sessions", "err", err)
	}
	if err := c.Sessions.CreateConsoleSession(ctx, sess); err != nil {
		return "", nil, err
	}
	c.log().InfoContext(ctx, "console sign-in", "ip", client.IP, "expires_at", sess.ExpiresAt)
	return id, sess, nil
}

// Session returns the live console session with id: ETOKENINVALID when
// there is none, it has expired, the admin token it was started with is
// no longer the admin token, or the console is off.
func (c *Console) Session(ctx context.Context, id string) (*ConsoleSession, error) {
	invalid := &Error{Code: ETOKENINVALID, Message: "the console session is invalid or has expired; sign in again"}
	if c.AdminToken == "" || id == "" || len(id) > 100 {
		return nil, invalid
	}
	sess, err := c.Sessions.GetConsoleSession(ctx, consoleIDHash(id))
	if ErrorCode(err) == ENOTFOUND {
		return nil, invalid
	} else if err != nil {
		return nil, err
	}
	if !c.now().Before(sess.ExpiresAt) || !hmac.Equal(sess.TokenMAC, consoleTokenMAC(id, c.AdminToken)) {
		return nil, invalid
	}
	return sess, nil
}

// SignOut ends the console session with id; an unknown one is not an error.
func (c *Console) SignOut(ctx context.Context, id string) error {
	if id == "" || len(id) > 100 {
		return nil
	}
	if err := c.Sessions.DeleteConsoleSession(ctx, consoleIDHash(id)); err != nil {
		return err
	}
	c.log().InfoContext(ctx, "console sign-out")
	return nil
}

func consoleIDHash(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

func consoleTokenMAC(id, adminToken string) []byte {
	m := hmac.New(sha256.New, []byte(id))
	m.Write([]byte(adminToken))
	return m.Sum(nil)
}

type viaKey struct{}

// Via marks ctx as carrying an admin action made through surface (the
// console: "console") rather than the admin API; the action's audit event
// records it as data.via.
func Via(ctx context.Context, surface string) context.Context {
	return context.WithValue(ctx, viaKey{}, surface)
}

// via is the surface Via set on ctx, or "".
func via(ctx context.Context) string {
	v, _ := ctx.Value(viaKey{}).(string)
	return v
}
