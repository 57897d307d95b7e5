package password_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/password"
)

// Known answers produced by independent implementations: the argon2
// reference CLI (Debian package argon2), libxcrypt's bcrypt and Python's
// hashlib.scrypt.
var kats = []struct {
	name, password, hash string
}{
	{"argon2id-ref", "password", "$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk"},
	{"argon2i-ref", "password", "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"},
	{"argon2id-owasp-nfc", "P\u00e4ssw\u00f6rd", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$mrMxPtCODpEWm3XJuRC2RShkJZ1ymBtczcrPlB0sYKY"},
	{"bcrypt-2a", "U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
	{"bcrypt-2b", "correct horse battery staple", "$2b$04$abcdefghijklmnopqrstuu7EJV7kdjBBQxyb0HjTh9KS7.Lah/6CG"},
	{"scrypt", "correct horse battery staple", "$scrypt$ln=14,r=8,p=1$bGF0Y2gtc2NyeXB0LWthdA$lXuJ680jEMinxJGNVgR80ZVOCk1bbNYXZNp3/mc9mEU"},
}

func MustHasher(tb testing.TB, p password.Params) *password.Hasher {
	tb.Helper()
	h, err := password.New(p)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

// Ensure imported hashes from other implementations verify, reject a
// wrong password, and ask for a rehash to the current parameters.
func TestVerifyKnownAnswers(t *testing.T) {
	h := MustHasher(t, password.DefaultParams)
	for _, k := range kats {
		t.Run(k.name, func(t *testing.T) {
			if err := password.Check(k.hash); err != nil {
				t.Fatalf("Check: %v", err)
			}
			ok, rehash, err := h.Verify(k.password, k.hash)
			if err != nil || !ok {
				t.Fatalf("Verify(right) = %v, %v", ok, err)
			}
			wantRehash := k.name != "argon2id-owasp-nfc"
			if rehash != wantRehash {
				t.Errorf("rehash = %v, want %v", rehash, wantRehash)
			}
			ok, _, err = h.Verify(k.password+"x", k.hash)
			if err != nil || ok {
				t.Fatalf("Verify(wrong) = %v, %v", ok, err)
			}
		})
	}
}

// Ensure passwords are compared after NFC normalisation: the decomposed
// spelling of "Pässwörd" matches a hash made from the composed one.
func TestVerifyNFC(t *testing.T) {
	h := MustHasher(t, password.DefaultParams)
	decomposed := "Pa\u0308ssw\u006f\u0308rd"
	ok, _, err := h.Verify(decomposed, kats[2].hash)
	if err != nil || !ok {
		t.Fatalf("decomposed spelling did not verify: %v %v", ok, err)
	}
}

// Ensure a fresh hash is argon2id with the configured parameters, verifies,
// and needs no rehash.
func TestHashRoundTrip(t *testing.T) {
	p := password.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	h := MustHasher(t, p)
	enc, err := h.Hash("hunter2hunter2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("unexpected encoding %q", enc)
	}
	ok, rehash, err := h.Verify("hunter2hunter2", enc)
	if !ok || rehash || err != nil {
		t.Fatalf("Verify = %v %v %v", ok, rehash, err)
	}
	// A stronger deployment asks for the weaker hash to be upgraded.
	strong := MustHasher(t, password.Params{Memory: 2048, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if _, rehash, _ := strong.Verify("hunter2hunter2", enc); !rehash {
		t.Fatal("weaker parameters did not ask for a rehash")
	}
}

// Ensure over-long passwords are refused, never truncated.
func TestTooLong(t *testing.T) {
	h := MustHasher(t, password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if _, err := h.Hash(strings.Repeat("a", 257)); !errors.Is(err, password.ErrTooLong) {
		t.Fatalf("Hash(257 bytes) err = %v", err)
	}
	if _, err := h.Hash(strings.Repeat("a", 256)); err != nil {
		t.Fatalf("Hash(256 bytes) err = %v", err)
	}
	// Four 2-byte runes over the limit in bytes but not in characters.
	if _, err := h.Hash(strings.Repeat("\u00e4", 129)); !errors.Is(err, password.ErrTooLong) {
		t.Fatalf("Hash(258 bytes of ä) err = %v", err)
	}
}

// Ensure malformed hashes are errors, never matches.
func TestMalformed(t *testing.T) {
	h := MustHasher(t, password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	for _, bad := range []string{
		"", "plain", "$argon2id$", "$argon2id$v=19$m=x,t=1,p=1$c29tZXNhbHQ$aGFzaA",
		"$argon2id$v=18$m=64,t=1,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
		"$argon2id$v=19$m=64,t=1,p=1$!!$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
		"$argon2id$v=19$m=64,t=99999,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
		"$2b$04$short", "$scrypt$ln=99,r=8,p=1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA", "$md5$abc",
	} {
		if err := password.Check(bad); err == nil {
			t.Errorf("Check(%q) accepted", bad)
		}
		if ok, _, err := h.Verify("password", bad); ok || err == nil {
			t.Errorf("Verify(%q) = %v, %v; want error", bad, ok, err)
		}
	}
}

// Ensure the dummy verification costs about what a real one does, so that
// an unknown user cannot be told from a wrong password by timing. Compared
// as a ratio of medians measured in the same run.
func TestDummyCostsLikeReal(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	h := MustHasher(t, password.Params{Memory: 4096, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32})
	real, _ := h.Hash("the real password")
	ratio := medianRatio(15, func() { h.Verify("a wrong password", real) }, func() { h.VerifyDummy("a wrong password") })
	if ratio < 0.7 || ratio > 1.4 {
		t.Fatalf("dummy/real median time ratio %.2f, want within [0.7, 1.4]", ratio)
	}
}

func FuzzVerify(f *testing.F) {
	for _, k := range kats {
		f.Add(k.password, k.hash)
	}
	f.Add("x", "$argon2id$v=19$m=8,t=1,p=1$$")
	f.Add("x", "$scrypt$ln=1,r=1,p=1$$")
	h := MustHasher(f, password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	f.Fuzz(func(t *testing.T, pw, enc string) {
		if len(enc) > 512 {
			return
		}
		// Bound the cost a fuzzed hash may ask for; Check already caps it.
		if strings.Contains(enc, "m=") && !strings.Contains(enc, "m=8,") && !strings.Contains(enc, "m=64,") {
			return
		}
		if strings.HasPrefix(enc, "$scrypt$") && !strings.Contains(enc, "ln=1,") {
			return
		}
		if strings.HasPrefix(enc, "$2") {
			return // bcrypt's parser is x/crypto's and fuzzed there
		}
		ok, _, err := h.Verify(pw, enc)
		if ok && err != nil {
			t.Fatal("match reported together with an error")
		}
	})
}
