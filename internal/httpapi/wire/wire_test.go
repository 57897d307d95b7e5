package wire

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// Ensure the client address is the socket peer unless the peer is a
// trusted proxy, and then the right-most X-Forwarded-For hop that is not.
func TestClientIP(t *testing.T) {
	c := &ClientResolver{Trusted: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}
	for _, tc := range []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"untrusted peer, header ignored", "203.0.113.9:5000", []string{"198.51.100.1"}, "203.0.113.9"},
		{"no header", "10.1.2.3:5000", nil, "10.1.2.3"},
		{"trusted peer", "10.1.2.3:5000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"spoofed left hops are ignored", "10.1.2.3:5000", []string{"1.1.1.1, 198.51.100.1"}, "198.51.100.1"},
		{"chain of proxies", "10.1.2.3:5000", []string{"198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"repeated headers join", "10.1.2.3:5000", []string{"198.51.100.7", "10.9.9.9"}, "198.51.100.7"},
		{"garbage hop stops the walk", "10.1.2.3:5000", []string{"198.51.100.1, nonsense"}, "10.1.2.3"},
		{"all trusted", "10.1.2.3:5000", []string{"10.4.4.4"}, "10.4.4.4"},
		{"mapped IPv6 peer", "[::ffff:203.0.113.9]:5000", nil, "203.0.113.9"},
		{"IPv6 peer", "[2001:db8::1]:5000", []string{"198.51.100.1"}, "2001:db8::1"},
	} {
		r := httptest.NewRequest("POST", "/", nil)
		r.RemoteAddr = tc.peer
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := c.IP(r); got != tc.want {
			t.Errorf("%s: got %s, want %s", tc.name, got, tc.want)
		}
	}
	var none *ClientResolver
	r := httptest.NewRequest("POST", "/", nil)
	r.RemoteAddr = "10.1.2.3:1"
	r.Header.Set("X-Forwarded-For", "198.51.100.1")
	if got := none.IP(r); got != "10.1.2.3" {
		t.Errorf("nil resolver trusted a header: %s", got)
	}
}
