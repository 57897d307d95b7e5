package upstream_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/upstream"
	"github.com/latchauth/latch/internal/upstream/upstreamtest"
)

var dialects = []string{identity.UpstreamAccountsV3, identity.UpstreamAppAuth, identity.UpstreamTokenLogin}

// observed collects what Client.Observe receives.
type observed struct {
	mu       sync.Mutex
	outcomes []string
}

func (o *observed) observe(dialect, outcome string, _ time.Duration) {
	o.mu.Lock()
	o.outcomes = append(o.outcomes, dialect+":"+outcome)
	o.mu.Unlock()
}

func client(timeout time.Duration) (*upstream.Client, *observed) {
	c, o := upstream.New(true, timeout), &observed{}
	c.Observe = o.observe
	return c, o
}

// Ensure each dialect's login is asked in the reference request shape
// (route, method, body keys, the APIKey header) and its answer read: the
// profile fields it carries land in the upstream user.
func TestAuthenticateSpeaksEachDialect(t *testing.T) {
	want := map[string]struct {
		path string
		keys []string
		user identity.UpstreamUser
	}{
		identity.UpstreamAccountsV3: {"/v3/accounts/login", []string{"accountId", "email", "password"},
			identity.UpstreamUser{Email: upstreamtest.Email}},
		identity.UpstreamAppAuth: {"/api/v1/" + upstreamtest.AppID + "/auth/login", []string{"email", "password"},
			identity.UpstreamUser{ID: upstreamtest.UserID, Email: "Grace@Example.com", EmailVerified: true, FirstName: "Grace", LastName: "Hopper", Tags: []string{"vip"}}},
		identity.UpstreamTokenLogin: {"/api/v1/Authentication/Login", []string{"generateReAuthenticationToken", "password", "userName"},
			identity.UpstreamUser{ID: upstreamtest.UserID, FirstName: "Grace", LastName: "Hopper"}},
	}
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			up := upstreamtest.New(t, d)
			c, o := client(upstream.Timeout)
			u, err := c.Authenticate(context.Background(), up.Migration(), upstreamtest.Email, upstreamtest.Password)
			if err != nil {
				t.Fatal(err)
			}
			w := want[d]
			last := up.Last()
			var keys []string
			for k := range last.Body {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			if last.Method != http.MethodPost || last.Path != w.path || !slices.Equal(keys, w.keys) || last.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("request %s %s %v %v", last.Method, last.Path, keys, last.Header)
			}
			if d == identity.UpstreamTokenLogin && (last.Header.Get("APIKey") != upstreamtest.APIKey || last.Body["userName"] != upstreamtest.Email) {
				t.Fatalf("token-login request: %v %v", last.Header, last.Body)
			}
			if u.ID != w.user.ID || u.Email != w.user.Email || u.EmailVerified != w.user.EmailVerified || u.FirstName != w.user.FirstName ||
				u.LastName != w.user.LastName || !slices.Equal(u.Tags, w.user.Tags) {
				t.Fatalf("user %+v, want %+v", u, w.user)
			}
			if o.outcomes[0] != d+":ok" {
				t.Fatalf("observed %v", o.outcomes)
			}
		})
	}
}

// Ensure app-auth's profile fields are kept under the keys latch's app-auth
// dialect reads, and token-login's image under image_url.
func TestAuthenticateKeepsProfile(t *testing.T) {
	c, _ := client(upstream.Timeout)
	up := upstreamtest.New(t, identity.UpstreamAppAuth)
	u, err := c.Authenticate(context.Background(), up.Migration(), upstreamtest.Email, upstreamtest.Password)
	if err != nil {
		t.Fatal(err)
	}
	addr, _ := u.Profile["address"].(map[string]any)
	if u.Profile["language"] != "en" || u.Profile["market"] != "us" || u.Profile["phone_number"] != "+1 555 0100" || addr["city"] != "Arlington" {
		t.Fatalf("profile %v", u.Profile)
	}
	for _, k := range []string{"id", "email", "first_name", "organisations", "files", "store_group"} {
		if _, ok := u.Profile[k]; ok {
			t.Errorf("profile keeps %q (a typed field, or empty)", k)
		}
	}
	tl := upstreamtest.New(t, identity.UpstreamTokenLogin)
	if u, err = c.Authenticate(context.Background(), tl.Migration(), upstreamtest.UserName, upstreamtest.Password); err != nil ||
		u.Profile["image_url"] != "https://img.example/grace.png" {
		t.Fatalf("token-login profile %v, %v", u, err)
	}
}

// Ensure refusals (401, 400, a wrong password) are ErrUpstreamRejected,
// and a 5xx, a 429, a redirect, a closed port and a timeout are
// ErrUpstreamUnavailable, each counted under its outcome.
func TestAuthenticateOutcomes(t *testing.T) {
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			up := upstreamtest.New(t, d)
			c, o := client(upstream.Timeout)
			ask := func(m identity.TenantMigration, pw string) error {
				_, err := c.Authenticate(context.Background(), m, upstreamtest.Email, pw)
				return err
			}
			wantIs := func(what string, err, target error) {
				t.Helper()
				if !errors.Is(err, target) {
					t.Errorf("%s: %v, want %v", what, err, target)
				}
			}
			wantIs("wrong password", ask(up.Migration(), "wrong password 1"), identity.ErrUpstreamRejected)
			for _, st := range []int{http.StatusBadRequest, http.StatusUnauthorized} {
				up.Fail(st)
				wantIs(http.StatusText(st), ask(up.Migration(), upstreamtest.Password), identity.ErrUpstreamRejected)
			}
			for _, st := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusTooManyRequests, http.StatusFound, http.StatusNotFound} {
				up.Fail(st)
				wantIs(http.StatusText(st), ask(up.Migration(), upstreamtest.Password), identity.ErrUpstreamUnavailable)
			}
			up.Fail(0)
			down := up.Migration()
			down.BaseURL = upstreamtest.ClosedURL(t)
			wantIs("closed port", ask(down, upstreamtest.Password), identity.ErrUpstreamUnavailable)

			up.Block()
			short, so := client(100 * time.Millisecond) // the handler never answers in time: it waits for Release
			_, err := short.Authenticate(context.Background(), up.Migration(), upstreamtest.Email, upstreamtest.Password)
			wantIs("timeout", err, identity.ErrUpstreamUnavailable)
			up.Release()
			if !slices.Equal(so.outcomes, []string{d + ":timeout"}) {
				t.Errorf("timeout observed as %v", so.outcomes)
			}
			want := []string{"rejected", "rejected", "rejected", "unavailable", "unavailable", "unavailable", "unavailable", "unavailable", "unavailable"}
			for i := range want {
				want[i] = d + ":" + want[i]
			}
			if !slices.Equal(o.outcomes, want) {
				t.Errorf("observed %v, want %v", o.outcomes, want)
			}
		})
	}
}

// Ensure the upstream is dialled through the webhook target guard: a
// loopback upstream is refused unless private targets are allowed, and
// is never even reached.
func TestAuthenticateGuarded(t *testing.T) {
	up := upstreamtest.New(t, identity.UpstreamAccountsV3)
	_, err := upstream.New(false, upstream.Timeout).Authenticate(context.Background(), up.Migration(), upstreamtest.Email, upstreamtest.Password)
	if !errors.Is(err, identity.ErrUpstreamUnavailable) || up.Hits() != 0 {
		t.Fatalf("guarded: %v, %d hits", err, up.Hits())
	}
}
