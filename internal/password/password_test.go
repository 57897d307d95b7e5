package password_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/password"
)

// Known answers produced by independent implementations: the argon2
// reference CLI (Debian package argon2), libxcrypt's and crypt_blowfish's
// bcrypt, Python's hashlib (pbkdf2_hmac, scrypt, sha1/sha256/sha512) with
// the layouts Django, passlib, Kratos and OpenLDAP write, and Firebase's
// published example (firebase/scrypt README, also recomputed with Python's
// hashlib.scrypt and AES-CTR from the cryptography package).
var kats = []struct {
	name, password, hash string
}{
	{"argon2id-ref", "password", "$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk"},
	{"argon2i-ref", "password", "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG"},
	{"argon2id-owasp-nfc", "P\u00e4ssw\u00f6rd", "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$mrMxPtCODpEWm3XJuRC2RShkJZ1ymBtczcrPlB0sYKY"},
	{"bcrypt-2a", "U*U", "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
	{"bcrypt-2b", "correct horse battery staple", "$2b$04$abcdefghijklmnopqrstuu7EJV7kdjBBQxyb0HjTh9KS7.Lah/6CG"},
	// crypt_blowfish's test: bcrypt reads 72 bytes; the rest never counted.
	{"bcrypt-72", "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after 72 are ignored",
		"$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui"},
	{"scrypt", "correct horse battery staple", "$scrypt$ln=14,r=8,p=1$bGF0Y2gtc2NyeXB0LWthdA$lXuJ680jEMinxJGNVgR80ZVOCk1bbNYXZNp3/mc9mEU"},
	{"scrypt-passlib-default", "correct horse battery staple", "$scrypt$ln=16,r=8,p=1$bGF0Y2gtc2NyeXB0LWthdA$MhGeOsM02j4spngMZwzLIJttJWcolfxWuRVK7MsJYNU"},
	{"scrypt-padded-p2", "hunter2hunter2", "$scrypt$ln=10,r=4,p=2$bGF0Y2gtc2NyeXB0LWthdA==$+1v1f/KIv9QysBMEu3NHhC5fYFi5ncyci9ES5qQ18t0="},
	{"firebase-readme", "user1password", "$firescrypt$ln=14,r=8,p=1$42xEC+ixf3L2lw==$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==$Bw==$jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA=="},
	{"firebase-python", "correct horse battery staple", "$firescrypt$ln=14,r=8,p=1$bGF0Y2gtZmlyZWJhc2Utc2FsdA==$ymipwoMQl/6e4xewdKJtFgUD0NzmloNmbLiCIUhb73YZ15teZuqLpEsnvjhccpLpmxEIJyD3RJCtliPrJrjAig==$Bw==$jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA=="},
	{"django-pbkdf2-sha256", "correct horse battery staple", "pbkdf2_sha256$600000$sEaSaLt0123abcXY$htHBxT6NIpH2jFLxeiA40TPCkIKPUr3NnEI/OpZJZLY="},
	{"django-pbkdf2-sha512", "P\u00e4ssw\u00f6rd", "pbkdf2_sha512$210000$sEaSaLt0123abcXY$y1UqgYE41WMuAckyTjXeAo+fQ38EBhqMZjuwYlv4Gh0l3rSMOxxewPYds1ZBRgLKnooeteMGpQNZ6gbYdpMuEA=="},
	{"django-pbkdf2-sha1", "hunter2hunter2", "pbkdf2_sha1$260000$sEaSaLt0123abcXY$kzrNjV27ROdNXhQ7k1jmKwnpBxo="},
	{"passlib-pbkdf2-sha512", "correct horse battery staple", "$pbkdf2-sha512$25000$AQJsYXRjaC1wYXNzbGli/v8$htvLMzTEfoGcWeqpzcJnjHsKHu.2vTAvm5Vm1Jhd4dm2TAC5e6.bByTK0ICiryrjv55JIkBq6aJ8z1.sIcwbgA"},
	{"passlib-pbkdf2-sha1", "correct horse battery staple", "$pbkdf2$131000$AQJsYXRjaC1wYXNzbGli/v8$tVAPXHkcChoQr2DxTTHGiOkms1M"},
	{"kratos-pbkdf2-sha256", "correct horse battery staple", "$pbkdf2-sha256$i=100000,l=32$a3JhdG9zLXNhbHQtMTZieQ$+FO59EL92sWna94xPwTd70EXb/2KXcnZBoCLMtRe4jc"},
	{"kratos-pbkdf2-sha512", "correct horse battery staple", "$pbkdf2-sha512$i=100000,l=64$a3JhdG9zLXNhbHQtMTZieQ$qOT8F9HVsdzbhQmF/Cs1/XSsUV9ekEfp+9o9p4nScxS2zV+VL7MqsN2NU+V1Oys4i1miDdjl+jcbF0fuxqMDiA"},
	{"ldap-ssha", "secret", "{SSHA}G5R7cXnWLBpMtP/jP/wHeyXuYOuKGwL/"},
	{"ldap-ssha-lowercase", "secret", "{ssha}G5R7cXnWLBpMtP/jP/wHeyXuYOuKGwL/"},
	{"ldap-ssha256", "correct horse battery staple", "{SSHA256}CjjqPXPYGjVMmTRdzHN2UTPdg0XIYl0HWPy+0QwtTBRzYWx0c2FsdA=="},
	{"ldap-ssha512", "correct horse battery staple", "{SSHA512}pPbE/LK1Lwx8IRz/O6PIKtMRGmlRjkit5hO3fscb6dJf0fuft5Tf48PHF1NXZ1RoSWxNeuLUtwe+eLtC6pNijTAxMjM0NTY3ODlhYmNkZWY="},
}

func MustHasher(tb testing.TB, p password.Params) *password.Hasher {
	tb.Helper()
	h, err := password.New(p)
	if err != nil {
		tb.Fatal(err)
	}
	return h
}

var ctx = context.Background()

// Ensure imported hashes from other implementations verify, reject a
// wrong password, and ask for a rehash to the current parameters.
func TestVerifyKnownAnswers(t *testing.T) {
	h := MustHasher(t, password.DefaultParams)
	for _, k := range kats {
		t.Run(k.name, func(t *testing.T) {
			if err := password.Check(k.hash); err != nil {
				t.Fatalf("Check: %v", err)
			}
			ok, rehash, err := h.Verify(ctx, k.password, k.hash)
			if err != nil || !ok {
				t.Fatalf("Verify(right) = %v, %v", ok, err)
			}
			wantRehash := k.name != "argon2id-owasp-nfc"
			if rehash != wantRehash {
				t.Errorf("rehash = %v, want %v", rehash, wantRehash)
			}
			ok, _, err = h.Verify(ctx, "x"+k.password[1:], k.hash)
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
	ok, _, err := h.Verify(ctx, decomposed, kats[2].hash)
	if err != nil || !ok {
		t.Fatalf("decomposed spelling did not verify: %v %v", ok, err)
	}
}

// Ensure a fresh hash is argon2id with the configured parameters, verifies,
// and needs no rehash.
func TestHashRoundTrip(t *testing.T) {
	p := password.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	h := MustHasher(t, p)
	enc, err := h.Hash(ctx, "hunter2hunter2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("unexpected encoding %q", enc)
	}
	ok, rehash, err := h.Verify(ctx, "hunter2hunter2", enc)
	if !ok || rehash || err != nil {
		t.Fatalf("Verify = %v %v %v", ok, rehash, err)
	}
	// A stronger deployment asks for the weaker hash to be upgraded.
	strong := MustHasher(t, password.Params{Memory: 2048, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if _, rehash, _ := strong.Verify(ctx, "hunter2hunter2", enc); !rehash {
		t.Fatal("weaker parameters did not ask for a rehash")
	}
}

// Ensure over-long passwords are refused, never truncated.
func TestTooLong(t *testing.T) {
	h := MustHasher(t, password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if _, err := h.Hash(ctx, strings.Repeat("a", 257)); !errors.Is(err, password.ErrTooLong) {
		t.Fatalf("Hash(257 bytes) err = %v", err)
	}
	if _, err := h.Hash(ctx, strings.Repeat("a", 256)); err != nil {
		t.Fatalf("Hash(256 bytes) err = %v", err)
	}
	// Four 2-byte runes over the limit in bytes but not in characters.
	if _, err := h.Hash(ctx, strings.Repeat("\u00e4", 129)); !errors.Is(err, password.ErrTooLong) {
		t.Fatalf("Hash(258 bytes of ä) err = %v", err)
	}
}

// Ensure malformed hashes are errors, never matches.
func TestMalformed(t *testing.T) {
	h := MustHasher(t, password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	for _, bad := range []string{
		"", "plain", "$md5$abc", "$argon2d$v=19$m=64,t=1,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
		"$argon2id$", "$argon2id$v=19$m=x,t=1,p=1$c29tZXNhbHQ$aGFzaA",
		"$argon2id$v=18$m=64,t=1,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
		"$argon2id$v=19$m=64,t=1,p=1$!!$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
		"$argon2id$v=19$m=64,t=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
		"$argon2id$v=19$m=64,m=64,t=1,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
		"$argon2id$m=64,t=1,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk",
		"$2b$04$short", "$2b$04$abcdefghijklmnopqrstuu7EJV7kdjBBQxyb0HjTh9KS7.Lah/6C!",
		"$scrypt$ln=14,r=8$bGF0Y2g$lXuJ680jEMinxJGNVgR80ZVOCk1bbNYXZNp3/mc9mEU", "$scrypt$ln=0,r=8,p=1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA",
		"$firescrypt$ln=14,r=8,p=1$42xEC+ixf3L2lw==$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==$Bw==",
		"$firescrypt$ln=14,r=8,p=1$42xEC+ixf3L2lw==$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==$Bw==$c2hvcnQ=",
		"pbkdf2_sha256$0$salt$htHBxT6NIpH2jFLxeiA40TPCkIKPUr3NnEI/OpZJZLY=", "pbkdf2_md5$1000$salt$htHBxT6NIpH2jFLxeiA40TPCkIKPUr3NnEI/OpZJZLY=",
		"pbkdf2_sha256$1000$$htHBxT6NIpH2jFLxeiA40TPCkIKPUr3NnEI/OpZJZLY=", "pbkdf2_sha256$1000$salt$not base64",
		"$pbkdf2-sha256$i=1000,l=16$a3JhdG9zLXNhbHQtMTZieQ$+FO59EL92sWna94xPwTd70EXb/2KXcnZBoCLMtRe4jc",
		"$pbkdf2-sha256$l=32$a3JhdG9zLXNhbHQtMTZieQ$+FO59EL92sWna94xPwTd70EXb/2KXcnZBoCLMtRe4jc",
		"$pbkdf2-md5$1000$a3JhdG9z$+FO59EL92sWna94xPwTd70EXb/2KXcnZBoCLMtRe4jc",
		"{SSHA}", "{SSHA}G5R7cXnWLBpMtP/jP/wHeyXuYOs=", "{SHA}G5R7cXnWLBpMtP/jP/wHeyXuYOs=", "{SSHA512}AAAA",
		strings.Repeat("$", 2000),
	} {
		err := password.Check(bad)
		if !errors.Is(err, password.ErrMalformedHash) {
			t.Errorf("Check(%q) = %v, want ErrMalformedHash", bad, err)
		}
		if ok, _, err := h.Verify(ctx, "password", bad); ok || !errors.Is(err, password.ErrMalformedHash) {
			t.Errorf("Verify(%q) = %v, %v; want ErrMalformedHash", bad, ok, err)
		}
	}
}

// Ensure the cost caps hold for every format at import (Check, with a
// message naming the limit) and at login (Verify fails closed at once and
// computes only the cheap dummy; before the caps, the first of these held
// a worker for days). The values at the caps are accepted.
func TestCostCaps(t *testing.T) {
	h := MustHasher(t, password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	const salt, key = "c29tZXNhbHRzb21lc2FsdA", "7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk"
	const fbTail = "$42xEC+ixf3L2lw==$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==$Bw==$jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA=="
	for _, c := range []struct{ over, limit, at string }{
		{"$2a$31$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "bcrypt cost 31 is above the limit of 14",
			"$2a$14$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW"},
		{"$2b$15$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "bcrypt cost 15 is above the limit of 14", ""},
		{"$argon2id$v=19$m=4194304,t=1,p=1$" + salt + "$" + key, "argon2 memory (m, KiB) 4194304 is above the limit of 262144",
			"$argon2id$v=19$m=262144,t=10,p=16$" + salt + "$" + key},
		{"$argon2i$v=19$m=1024,t=11,p=1$" + salt + "$" + key, "argon2 time (t) 11 is above the limit of 10", ""},
		{"$argon2id$v=19$m=1024,t=1,p=17$" + salt + "$" + key, "argon2 parallelism (p) 17 is above the limit of 16", ""},
		{"$scrypt$ln=20,r=32,p=1$" + salt + "$" + key, "scrypt memory N·r·128 (bytes) 4294967296 is above the limit of 134217728",
			"$scrypt$ln=17,r=8,p=4$" + salt + "$" + key},
		{"$scrypt$ln=14,r=8,p=17$" + salt + "$" + key, "scrypt parallelism (p) 17 is above the limit of 16", ""},
		{"$scrypt$ln=17,r=8,p=5$" + salt + "$" + key, "scrypt work N·r·p·128 (bytes) 671088640 is above the limit of 536870912", ""},
		{"$scrypt$ln=99,r=8,p=1$" + salt + "$" + key, "scrypt ln (log2 N) 99 is above the limit of 20", ""},
		{"$firescrypt$ln=18,r=8,p=1" + fbTail, "firescrypt memory N·r·128 (bytes) 268435456 is above the limit of 134217728",
			"$firescrypt$ln=17,r=8,p=1" + fbTail},
		{"pbkdf2_sha256$5000001$salt$htHBxT6NIpH2jFLxeiA40TPCkIKPUr3NnEI/OpZJZLY=", "pbkdf2 iterations 5000001 is above the limit of 5000000",
			"pbkdf2_sha256$5000000$salt$htHBxT6NIpH2jFLxeiA40TPCkIKPUr3NnEI/OpZJZLY="},
		{"$pbkdf2-sha512$99999999999$AQJsYXRjaC1wYXNzbGli/v8$tVAPXHkcChoQr2DxTTHGiOkms1M", "pbkdf2 iterations 99999999999 is above the limit of 5000000", ""},
		{"$pbkdf2-sha256$i=6000000,l=32$a3JhdG9zLXNhbHQtMTZieQ$+FO59EL92sWna94xPwTd70EXb/2KXcnZBoCLMtRe4jc", "pbkdf2 iterations 6000000 is above the limit of 5000000", ""},
	} {
		err := password.Check(c.over)
		if !errors.Is(err, password.ErrCostTooHigh) || err.Error() != c.limit {
			t.Errorf("Check(%q) = %v, want %q", c.over, err, c.limit)
		}
		done := make(chan error, 1)
		go func() {
			ok, _, err := h.Verify(ctx, "password", c.over)
			if ok {
				err = errors.New("matched")
			}
			done <- err
		}()
		select {
		case err := <-done:
			if !errors.Is(err, password.ErrCostTooHigh) {
				t.Errorf("Verify(%q) = %v, want ErrCostTooHigh", c.over, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("Verify(%q) still computing after 30 s", c.over)
		}
		if c.at != "" {
			if err := password.Check(c.at); err != nil {
				t.Errorf("Check(%q) at the cap = %v", c.at, err)
			}
		}
	}
}

// Ensure a Firebase export's user hash and the project's parameters make a
// stored hash that verifies (the firebase/scrypt README's example).
func TestFirebaseProjectEncode(t *testing.T) {
	proj := password.FirebaseProject{
		SignerKey:     "jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==",
		SaltSeparator: "Bw==", Rounds: 8, MemCost: 14,
	}
	enc, err := proj.Encode("42xEC+ixf3L2lw==", "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==")
	if err != nil {
		t.Fatal(err)
	}
	if enc != kats[9].hash {
		t.Fatalf("Encode = %q, want %q", enc, kats[9].hash)
	}
	h := MustHasher(t, password.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	if ok, rehash, err := h.Verify(ctx, "user1password", enc); !ok || !rehash || err != nil {
		t.Fatalf("Verify = %v %v %v", ok, rehash, err)
	}
	proj.MemCost = 18
	if _, err := proj.Encode("42xEC+ixf3L2lw==", "lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ=="); !errors.Is(err, password.ErrCostTooHigh) {
		t.Fatalf("mem_cost 18: %v", err)
	}
	proj.MemCost = 14
	if _, err := proj.Encode("not base64!", "x"); !errors.Is(err, password.ErrMalformedHash) {
		t.Fatalf("bad salt: %v", err)
	}
}

// Ensure the deployment's own parameters obey the caps stored hashes do,
// or latch could write hashes it refuses to verify.
func TestParamsCapped(t *testing.T) {
	for _, p := range []password.Params{
		{Memory: 512 << 10, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 19456, Time: 11, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 19456, Time: 2, Threads: 17, SaltLen: 16, KeyLen: 32},
	} {
		if err := p.Validate(); err == nil {
			t.Errorf("Validate(%+v) accepted", p)
		}
	}
}

// The dummy verification costs what a real one does because it is the
// same computation (TestDummyIsARealHash); the clock only reports it here,
// since a wall-clock bound fails on a shared machine.
func TestDummyCostsLikeReal(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	h := MustHasher(t, password.Params{Memory: 4096, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32})
	real, _ := h.Hash(ctx, "the real password")
	ratio := minRatio(21, func() { h.Verify(ctx, "a wrong password", real) }, func() { h.VerifyDummy(ctx, "a wrong password") })
	t.Logf("dummy/real fastest-time ratio %.2f", ratio)
}

// Ensure a wrong password against an imported hash far cheaper than
// argon2id ({SSHA} takes microseconds) takes at least about as long as an
// unknown user's dummy verification, so timing does not reveal that the
// email has an account. Before, it answered ~1000× sooner.
func TestCheapImportedHashCostsLikeDummy(t *testing.T) {
	if testing.Short() {
		t.Skip("timing")
	}
	h := MustHasher(t, password.Params{Memory: 4096, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32})
	for _, k := range kats {
		if !strings.HasPrefix(k.hash, "{SSHA}") {
			continue
		}
		ratio := minRatio(21, func() { h.VerifyDummy(ctx, "a wrong password") }, func() { h.Verify(ctx, "a wrong password", k.hash) })
		if ratio < 0.7 {
			t.Fatalf("%s: fastest-time ratio to the dummy %.3f, want ≥ 0.7", k.name, ratio)
		}
	}
}
