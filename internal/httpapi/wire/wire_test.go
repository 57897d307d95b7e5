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
		{"hop with a port", "10.1.2.3:5000", []string{"203.0.113.7:5555"}, "203.0.113.7"},
		{"bracketed IPv6 hop with a port", "10.1.2.3:5000", []string{"[2001:db8::1]:443"}, "2001:db8::1"},
		{"bracketed IPv6 hop", "10.1.2.3:5000", []string{" [2001:db8::2] "}, "2001:db8::2"},
		{"trusted hop with a port is skipped", "10.1.2.3:5000", []string{"198.51.100.1, 10.9.9.9:8080"}, "198.51.100.1"},
		{"mapped hop", "10.1.2.3:5000", []string{"[::ffff:198.51.100.3]:1"}, "198.51.100.3"},
		{"zoned hop", "10.1.2.3:5000", []string{"fe80::1%eth0"}, "fe80::1"},
		{"port without brackets on IPv6 is garbage", "10.1.2.3:5000", []string{"2001:db8::1:443:x"}, "10.1.2.3"},
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
