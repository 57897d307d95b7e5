package password

import (
	"context"
	"strings"
	"testing"
)

// Ensure the dummy verification an unknown user gets is the very
// computation a wrong password gets: argon2id at the hasher's own
// parameters (memory, passes, lanes, salt and key length), so that timing
// cannot tell the two apart. Checked by what is computed, not by a clock:
// the wall-clock version of this test (the fastest of 21 runs of each
// within [0.7, 1.4]) failed at 1.48 with other work on the machine.
func TestDummyIsARealHash(t *testing.T) {
	for _, p := range []Params{
		{Memory: 4096, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 8192, Time: 3, Threads: 2, SaltLen: 24, KeyLen: 48},
	} {
		h, err := New(p)
		if err != nil {
			t.Fatal(err)
		}
		real, err := h.Hash(context.Background(), "the real password")
		if err != nil {
			t.Fatal(err)
		}
		// $argon2id$v=19$m=…,t=…,p=…$salt$key
		r, d := strings.Split(real, "$"), strings.Split(h.dummyEncoded(), "$")
		if len(r) != 6 || len(d) != 6 || strings.Join(r[:4], "$") != strings.Join(d[:4], "$") ||
			len(r[4]) != len(d[4]) || len(r[5]) != len(d[5]) {
			t.Errorf("%+v: dummy %q is not computed like a real hash %q", p, h.dummyEncoded(), real)
		}
		// An unknown user's verification goes through the dummy, and no
		// password matches it.
		if ok, _, err := h.Verify(context.Background(), "the real password", ""); ok || err == nil {
			t.Errorf("%+v: Verify against no hash = %v, %v", p, ok, err)
		}
		if err := h.VerifyDummy(context.Background(), "the real password"); err != nil {
			t.Errorf("%+v: VerifyDummy = %v", p, err)
		}
	}
}
