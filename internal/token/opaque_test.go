package token_test

import (
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/token"
)

var id = [16]byte{0x01, 0x93, 0x5a, 0x7e, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}

// Ensure tokens round-trip and carry their readable prefix.
func TestCodecRoundTrip(t *testing.T) {
	c := token.NewCodec([]byte("a test secret of reasonable length!"))
	for _, gen := range []uint64{0, 1, 127, 128, 1 << 40} {
		tok := c.Encode(identity.PrefixRefresh, id, gen)
		if !strings.HasPrefix(tok, "lrt1.") || len(tok) > token.MaxOpaqueLen {
			t.Fatalf("token %q", tok)
		}
		gotID, gotGen, err := c.Decode(identity.PrefixRefresh, tok)
		if err != nil || gotID != id || gotGen != gen {
			t.Fatalf("Decode = %x %d %v", gotID, gotGen, err)
		}
	}
}

// Ensure a token is refused under another prefix, another secret, or with
// any byte changed.
func TestCodecRejects(t *testing.T) {
	c := token.NewCodec([]byte("secret one, long enough for tests"))
	other := token.NewCodec([]byte("secret two, long enough for tests"))
	tok := c.Encode(identity.PrefixRefresh, id, 3)
	if _, _, err := c.Decode(identity.PrefixSession, tok); err == nil {
		t.Fatal("accepted under the session prefix")
	}
	if _, _, err := other.Decode(identity.PrefixRefresh, tok); err == nil {
		t.Fatal("accepted under another secret")
	}
	for i := range len(tok) {
		b := []byte(tok)
		b[i] ^= 0x01
		if _, _, err := c.Decode(identity.PrefixRefresh, string(b)); err == nil {
			t.Fatalf("accepted with byte %d flipped: %q", i, b)
		}
	}
	for _, bad := range []string{"", "lrt1", "lrt1.", "lrt1..", "lrt1.AAAA.AAAA", strings.Repeat("x", 300)} {
		if _, _, err := c.Decode(identity.PrefixRefresh, bad); err == nil {
			t.Fatalf("accepted %q", bad)
		}
	}
}

// FuzzDecode checks that no input makes Decode panic, and that whatever it
// accepts re-encodes to the same token (there is exactly one spelling).
func FuzzDecode(f *testing.F) {
	c := token.NewCodec([]byte("fuzzing secret, long enough here"))
	f.Add(c.Encode(identity.PrefixRefresh, id, 0))
	f.Add(c.Encode(identity.PrefixRefresh, id, 1<<62))
	f.Add("lrt1.AAAAAAAAAAAAAAAAAAAAAAA.AAAA")
	f.Add("lrt1...")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		gotID, gen, err := c.Decode(identity.PrefixRefresh, s)
		if err != nil {
			return
		}
		if again := c.Encode(identity.PrefixRefresh, gotID, gen); again != s {
			t.Fatalf("accepted %q which re-encodes as %q", s, again)
		}
	})
}
