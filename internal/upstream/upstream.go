// Package upstream checks a password at the hosted login API a tenant is
// moving from (lazy migration, see identity.TenantMigration), speaking each
// API's own login route in its own wire format: the request and answer
// types are those of latch's dialect packages, which mirror the reference
// pages (accounts-v3's request, whose optional fields latch's decoder
// keeps as pointers, has a sending twin here).
package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/latchauth/latch/internal/httpapi/accountsv3"
	"github.com/latchauth/latch/internal/httpapi/appauth"
	"github.com/latchauth/latch/internal/httpapi/tokenlogin"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/webhook"
)

// Timeout bounds one upstream login, connection included.
const Timeout = 5 * time.Second

// maxAnswer bounds what is read of an answer: app-auth's user object is
// the largest, and far smaller.
const maxAnswer = 1 << 20

// Outcomes of an upstream call, as Client.Observe receives them.
const (
	OutcomeOK          = "ok"          // the upstream accepted the credentials
	OutcomeRejected    = "rejected"    // it refused them (401, 400, Authenticated false)
	OutcomeTimeout     = "timeout"     // no answer within the timeout
	OutcomeUnavailable = "unavailable" // refused connection, 5xx, 429, any other status or an unreadable answer
)

// Client is an identity.Upstream over HTTP.
type Client struct {
	HTTP *http.Client
	// Observe, when set, receives each call's dialect, outcome and duration.
	Observe func(dialect, outcome string, d time.Duration)
}

var _ identity.Upstream = (*Client)(nil)

// New returns a client that dials through the webhook target guard (an
// upstream URL is admin input, like a webhook URL: allowPrivate is
// LATCH_WEBHOOK_ALLOW_PRIVATE), follows no redirects, and gives each login
// timeout.
func New(allowPrivate bool, timeout time.Duration) *Client {
	return &Client{HTTP: webhook.Guard{AllowPrivate: allowPrivate}.Client(timeout)}
}

// accountsV3Request is accounts-v3's login body as the reference page
// lists it: accountId is required (empty when the alias names the
// account), the other optional fields are left out rather than sent as
// null, which a strict validator of "string" fields would refuse.
type accountsV3Request struct {
	AccountID    string `json:"accountId"`
	AccountAlias string `json:"accountAlias,omitempty"`
	Email        string `json:"email"`
	Password     string `json:"password"`
}

// tokenLoginRequest is token-login's Login body (the reference's
// Authentication/Login; latch's tokenlogin package decodes it field by field).
type tokenLoginRequest struct {
	UserName                      string `json:"userName"`
	Password                      string `json:"password"`
	GenerateReAuthenticationToken bool   `json:"generateReAuthenticationToken"`
}

// Authenticate implements identity.Upstream.
func (c *Client) Authenticate(ctx context.Context, m identity.TenantMigration, login, password string) (*identity.UpstreamUser, error) {
	start := time.Now()
	u, err := c.authenticate(ctx, m, login, password)
	if c.Observe != nil {
		c.Observe(m.Dialect, outcome(err), time.Since(start))
	}
	return u, err
}

func outcome(err error) string {
	var ne interface{ Timeout() bool }
	switch {
	case err == nil:
		return OutcomeOK
	case errors.Is(err, identity.ErrUpstreamRejected):
		return OutcomeRejected
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return OutcomeTimeout
	}
	return OutcomeUnavailable
}

func (c *Client) authenticate(ctx context.Context, m identity.TenantMigration, login, password string) (*identity.UpstreamUser, error) {
	switch m.Dialect {
	case identity.UpstreamAccountsV3:
		var ans accountsv3.TokenResponse
		err := c.post(ctx, m.BaseURL+"/v3/accounts/login", nil,
			accountsV3Request{AccountID: m.AccountID, AccountAlias: m.AccountAlias, Email: login, Password: password}, &ans)
		if err != nil {
			return nil, err
		}
		if ans.AccessToken == "" {
			return nil, fmt.Errorf("%w: accounts-v3 answered 200 without an accessToken", identity.ErrUpstreamUnavailable)
		}
		// The answer is tokens only: the user is known by the email it
		// logged in with.
		return &identity.UpstreamUser{Email: login}, nil
	case identity.UpstreamAppAuth:
		var ans appauth.TokenResponse
		err := c.post(ctx, m.BaseURL+"/api/v1/"+url.PathEscape(m.AppID)+"/auth/login", nil,
			appauth.LoginRequest{Email: &login, Password: &password}, &ans)
		if err != nil {
			return nil, err
		}
		if ans.AccessToken == "" {
			return nil, fmt.Errorf("%w: app-auth answered 200 without an access_token", identity.ErrUpstreamUnavailable)
		}
		return appAuthUser(ans.User), nil
	case identity.UpstreamTokenLogin:
		var ans tokenlogin.LoginData
		err := c.post(ctx, m.BaseURL+"/api/v1/Authentication/Login", http.Header{"APIKey": {m.APIKey}},
			tokenLoginRequest{UserName: login, Password: password}, &ans)
		if err != nil {
			return nil, err
		}
		if !ans.Authenticated {
			// What an upstream called with suppressResponseCodes, or one
			// that says no with a 200, answers.
			return nil, fmt.Errorf("%w: token-login answered Authenticated false", identity.ErrUpstreamRejected)
		}
		u := &identity.UpstreamUser{ID: ans.Me.ID, FirstName: ans.Me.FirstName, LastName: ans.Me.LastName}
		if ans.Me.ImageURL != "" {
			u.Profile = map[string]any{"image_url": ans.Me.ImageURL}
		}
		return u, nil
	}
	return nil, fmt.Errorf("%w: unknown dialect %q", identity.ErrUpstreamUnavailable, m.Dialect)
}

// post sends body as JSON and decodes a 200 answer into ans. 400 and 401
// are the upstream refusing the credentials (its own validation included:
// a password it would never accept); anything else is the upstream being
// unavailable, since the password may be right.
func (c *Client) post(ctx context.Context, target string, h http.Header, body, ans any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("%w: %v", identity.ErrUpstreamUnavailable, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("%w: %v", identity.ErrUpstreamUnavailable, err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "latch-migration")
	res, err := c.HTTP.Do(req)
	if err != nil {
		// The URL (never a secret: the API key travels in a header) says
		// which upstream; err says how it failed.
		return fmt.Errorf("%w: %w", identity.ErrUpstreamUnavailable, err)
	}
	defer res.Body.Close()
	switch {
	case res.StatusCode == http.StatusUnauthorized, res.StatusCode == http.StatusBadRequest:
		io.Copy(io.Discard, io.LimitReader(res.Body, maxAnswer))
		return fmt.Errorf("%w: status %d", identity.ErrUpstreamRejected, res.StatusCode)
	case res.StatusCode != http.StatusOK:
		io.Copy(io.Discard, io.LimitReader(res.Body, maxAnswer))
		return fmt.Errorf("%w: %s answered status %d", identity.ErrUpstreamUnavailable, req.URL.Redacted(), res.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, maxAnswer)).Decode(ans); err != nil {
		return fmt.Errorf("%w: %s answered 200 with a body that is not the login answer: %w", identity.ErrUpstreamUnavailable, req.URL.Redacted(), err)
	}
	return nil
}

// appAuthUser keeps what app-auth's user object says: the typed fields
// where latch has them, every other key in the profile under its own
// name, where latch's app-auth dialect reads it back (language, market,
// address, phone_number, …). Organisations are not carried over: they are
// the tenant's, created by an admin or an import.
func appAuthUser(au appauth.User) *identity.UpstreamUser {
	u := &identity.UpstreamUser{ID: au.ID, Email: au.Email, EmailVerified: au.EmailVerified, FirstName: au.FirstName, LastName: au.LastName}
	for _, t := range au.Tags {
		if name := t.Name; name != "" {
			u.Tags = append(u.Tags, name)
		}
	}
	b, _ := json.Marshal(au)
	json.Unmarshal(b, &u.Profile)
	for _, k := range []string{"id", "email", "email_verified", "first_name", "last_name", "tags", "app_id", "organisations",
		"created_at", "updated_at", "last_login_at", "status"} {
		delete(u.Profile, k)
	}
	for k, v := range u.Profile {
		if empty(v) {
			delete(u.Profile, k) // the renderer shows a missing key as its zero value anyway
		}
	}
	return u
}

// empty reports whether a decoded JSON value holds nothing but zero values.
func empty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case bool:
		return !x
	case []any:
		return len(x) == 0
	case map[string]any:
		for _, e := range x {
			if !empty(e) {
				return false
			}
		}
		return true
	}
	return false
}
