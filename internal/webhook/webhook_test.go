package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// Ensure a Standard Webhooks signature verifies with the reference library
// (github.com/standard-webhooks/standard-webhooks/libraries), and not with
// another secret or another body.
func TestStandardSignatureVerifiesWithReferenceLibrary(t *testing.T) {
	secret := NewSecret()
	body := []byte(`{"event":"account.logged-in","data":{"id":"u1"},"triggeredAt":"2026-11-24T10:00:00Z"}`)
	h, err := newSigner(SigningStandard, secret).sign("01a20d52-23de-705b-80e8-68db7b74bd2b", time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(body, h); err != nil {
		t.Fatalf("reference library refused the signature: %v (headers %v)", err, h)
	}
	other, _ := standardwebhooks.NewWebhook(NewSecret())
	if other.Verify(body, h) == nil {
		t.Fatal("another secret verified")
	}
	if wh.Verify(append(body, ' '), h) == nil {
		t.Fatal("a changed body verified")
	}
	old, _ := newSigner(SigningStandard, secret).sign("id", time.Now().Add(-time.Hour), body)
	if !errors.Is(wh.Verify(body, old), standardwebhooks.ErrMessageTooOld) {
		t.Fatal("an hour-old timestamp was not refused by the library")
	}
	if h.Get("Content-Type") != "application/json; charset=utf-8" {
		t.Fatalf("content type %q", h.Get("Content-Type"))
	}
}

// Ensure the accounts-v3 signature is the base64 HMAC-SHA256 of the body
// keyed with the whole secret string, as the reference API's receivers check.
func TestAccountsV3Signature(t *testing.T) {
	secret := NewSecret()
	body := []byte(`{"event":"account.logged-in"}`)
	h, err := newSigner(SigningAccountsV3, secret).sign("evt", time.Now(), body)
	if err != nil {
		t.Fatal(err)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	if want := base64.StdEncoding.EncodeToString(mac.Sum(nil)); h.Get("Webhook-Signature") != want || h.Get("webhook-id") != "evt" {
		t.Fatalf("headers %v, want signature %s", h, want)
	}
	if _, err := newSigner("md5", secret).sign("evt", time.Now(), body); err == nil {
		t.Fatal("unknown scheme accepted")
	}
	if _, err := newSigner(SigningStandard, "not-a-secret").sign("evt", time.Now(), body); !errors.Is(err, ErrSecret) {
		t.Fatalf("malformed secret: %v", err)
	}
}

func TestNewSecret(t *testing.T) {
	s := NewSecret()
	key, err := standardKey(s)
	if err != nil || len(key) != 32 || !strings.HasPrefix(s, "whsec_") || NewSecret() == s {
		t.Fatalf("secret %q: %d bytes, %v", s, len(key), err)
	}
}

// Ensure retries back off exponentially with jitter, never wait more than
// the cap, and stop three days after the event.
func TestNextAttempt(t *testing.T) {
	created := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	base := 5 * time.Second
	now := created
	var last time.Duration
	for attempt := 1; ; attempt++ {
		next, ok := NextAttempt(created, now, attempt, base, GiveUpAfter)
		if !ok {
			if now.Sub(created) < GiveUpAfter-maxDelay {
				t.Fatalf("gave up after %v (attempt %d), want close to %v", now.Sub(created), attempt, GiveUpAfter)
			}
			t.Logf("%d attempts over %v", attempt, now.Sub(created))
			break
		}
		d := next.Sub(now)
		want := min(base<<(attempt-1), maxDelay)
		if attempt > 40 {
			want = maxDelay
		}
		if d < want/2 || d > want {
			t.Fatalf("attempt %d: waits %v, want within [%v, %v]", attempt, d, want/2, want)
		}
		if attempt < 8 && d < last/2 {
			t.Fatalf("attempt %d: %v is not growing (previous %v)", attempt, d, last)
		}
		last, now = d, next
		if attempt > 200 {
			t.Fatal("never gives up")
		}
	}
	// Jitter: the same attempt does not always wait the same.
	seen := map[time.Duration]bool{}
	for range 20 {
		n, _ := NextAttempt(created, created, 3, base, GiveUpAfter)
		seen[n.Sub(created)] = true
	}
	if len(seen) < 2 {
		t.Fatal("no jitter")
	}
}

// Ensure the guard classifies special-purpose addresses.
func TestForbidden(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "::1": true, "10.1.2.3": true, "172.16.0.1": true, "192.168.1.1": true,
		"169.254.169.254": true, "fe80::1": true, "fc00::1": true, "fd00:ec2::254": true, "0.0.0.0": true,
		"::": true, "224.0.0.1": true, "ff02::1": true, "100.64.0.1": true, "255.255.255.255": true,
		"::ffff:127.0.0.1": true, "::ffff:10.0.0.1": true, "64:ff9b::a00:1": true,
		"93.184.216.34": false, "8.8.8.8": false, "2606:4700:4700::1111": false, "::ffff:8.8.8.8": false,
		// IPv4 inside IPv6, internal or public: the relay could forward anywhere.
		"::7f00:1": true, "::a00:1": true, "::808:808": true, // IPv4-compatible ::127.0.0.1, ::10.0.0.1, ::8.8.8.8
		"::ffff:0:7f00:1": true, "::ffff:0:808:808": true, // IPv4-translated
		"64:ff9b::7f00:1": true, "64:ff9b::808:808": true, "64:ff9b:1::a9fe:a9fe": true, // NAT64 127.0.0.1, 8.8.8.8, local-use 169.254.169.254
		"2002:7f00:1::1": true, "2002:a9fe:a9fe::": true, "2002:808:808::1": true, // 6to4 127.0.0.1, 169.254.169.254, 8.8.8.8
		"2001:0:4136:e378:8000:63bf:80ff:fffe": true, "2001::53aa:64c:80ff:fffe": true, // Teredo (client 127.0.0.1 obfuscated)
		// Next to those ranges, ordinary global addresses.
		"2001:4860:4860::8888": false, "2003::1": false, "2a00:1450:4001::1": false, "::1:7f00:1": false,
	} {
		if got := Forbidden(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Forbidden(%s) = %v, want %v", addr, got, want)
		}
	}
}

// Ensure the guarded client refuses loopback at dial time, by address and
// by a name that resolves to it, unless private targets are allowed, and
// never follows a redirect.
func TestGuardedClient(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.URL.Path == "/redirect" {
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	u, _ := url.Parse(srv.URL)
	byName := "http://localhost:" + u.Port() + "/"
	for _, target := range []string{srv.URL + "/", byName} {
		_, err := Guard{}.Client(2*time.Second).Post(target, "application/json", strings.NewReader("{}"))
		if !errors.Is(err, ErrForbiddenTarget) {
			t.Fatalf("%s: err = %v, want the guard's refusal", target, err)
		}
	}
	if hits.Load() != 0 {
		t.Fatalf("the guarded client reached the server %d times", hits.Load())
	}
	allowed := Guard{AllowPrivate: true}.Client(2 * time.Second)
	res, err := allowed.Post(srv.URL+"/", "application/json", strings.NewReader("{}"))
	if err != nil || res.StatusCode != http.StatusNoContent {
		t.Fatalf("allowed private target: %v %v", res, err)
	}
	res.Body.Close()
	if _, err := allowed.Post(srv.URL+"/redirect", "application/json", strings.NewReader("{}")); !errors.Is(err, ErrRedirect) {
		t.Fatalf("redirect: err = %v, want ErrRedirect", err)
	}
	if hits.Load() != 2 {
		t.Fatalf("%d requests reached the server, want 2 (the redirect not followed)", hits.Load())
	}
}
