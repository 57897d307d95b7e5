package identity

import (
	"net/netip"
	"strings"
	"time"
)

// AddressKey is the one form in which a client address counts against
// limits, throttles and known addresses: an IPv4 address as it is, an
// IPv6 address as its /64. One IPv6 subscriber gets a /64 (often a /56 or
// a /48) and picks addresses in it freely, so keying on the /128 would
// give an attacker 2^64 fresh addresses. IPv4-mapped IPv6 counts as IPv4.
// What does not parse (a test's made-up name) is its own key.
func AddressKey(ip string) string {
	a, err := netip.ParseAddr(strings.TrimSpace(ip))
	if err != nil {
		return ip
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return a.String()
	}
	p, _ := a.Prefix(64)
	return p.String()
}

// A user's known addresses: where it logged in with its password in the
// last KnownAddressLifetime. The account-wide failure ceiling and the
// daily second-factor cap spare them, so that strangers failing on an
// account never lock its owner out of the places it uses.
const (
	KnownAddressLifetime  = 30 * 24 * time.Hour
	KnownAddressesPerUser = 20 // the most recent; older ones are forgotten
)
