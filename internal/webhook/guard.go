package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"time"
)

// Guard keeps deliveries off addresses an outsider must not reach through
// latch: loopback, private, link-local (cloud metadata lives there),
// multicast and other special-purpose ranges. It checks the address the
// connection is actually made to, after DNS resolution, so a name that
// resolves (or later re-resolves) to an internal address is refused too.
type Guard struct {
	AllowPrivate bool // LATCH_WEBHOOK_ALLOW_PRIVATE: for tests and closed networks
}

// ErrForbiddenTarget is the error of a refused connection.
var ErrForbiddenTarget = errors.New("webhook: target address is loopback, private, link-local or otherwise internal; set LATCH_WEBHOOK_ALLOW_PRIVATE=true to allow it")

var specialRanges = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),     // "this network"
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT
	netip.MustParsePrefix("192.0.0.0/24"),  // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),   // reserved, and broadcast
	// Ranges that carry an IPv4 address inside an IPv6 one, and that a
	// relay or translator may forward to that IPv4 address, internal ones
	// included: refused whatever they embed (a real receiver has a native
	// address; ::ffff:0:0/96, IPv4-mapped, is checked as the IPv4 address).
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (deprecated), and :: and ::1
	netip.MustParsePrefix("::ffff:0:0:0/96"), // IPv4-translated (SIIT)
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64, well-known prefix
	netip.MustParsePrefix("64:ff9b:1::/48"),  // NAT64, local use
	netip.MustParsePrefix("2002::/16"),       // 6to4
	netip.MustParsePrefix("2001::/32"),       // Teredo
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fd00:ec2::/32"),   // AWS IPv6 metadata (also in fc00::/7)
	netip.MustParsePrefix("169.254.0.0/16"),  // link-local, cloud metadata (also IsLinkLocalUnicast)
}

// Forbidden reports whether a delivery may not connect to a.
func Forbidden(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() {
		return true
	}
	for _, p := range specialRanges {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// control runs after resolution, before connecting.
func (g Guard) control(_, address string, _ syscall.RawConn) error {
	if g.AllowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("webhook: unexpected dial address %q: %w", address, err)
	}
	if Forbidden(ap.Addr()) {
		return fmt.Errorf("%w (%s)", ErrForbiddenTarget, ap.Addr())
	}
	return nil
}

// ErrRedirect is the error of a delivery answered with a redirect: it is
// not followed, since it could point anywhere.
var ErrRedirect = errors.New("webhook: the endpoint answered with a redirect, which is not followed")

// Client returns the HTTP client deliveries use: guarded dialing, no
// environment proxy (it would dial for us, past the guard), no redirects,
// and timeout for the whole exchange.
func (g Guard) Client(timeout time.Duration) *http.Client {
	d := &net.Dialer{Timeout: timeout, Control: g.control}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           func(ctx context.Context, n, a string) (net.Conn, error) { return d.DialContext(ctx, n, a) },
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
			// Sends to one host reuse connections: several endpoints may
			// share a receiver, each with a few sends in flight.
			MaxIdleConns:        1024,
			MaxIdleConnsPerHost: 64,
			IdleConnTimeout:     90 * time.Second,
			ForceAttemptHTTP2:   true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return ErrRedirect },
	}
}
