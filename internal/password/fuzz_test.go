package password

import (
	"errors"
	"strings"
	"testing"
)

// Each parser is fuzzed on its own: it must never panic, must answer
// either a hash or a *HashError, and must never let a hash over a cost cap
// through. Seeds are the known answers of password_test.go and the corpus
// under testdata/fuzz, which `go test` runs as ordinary tests.
//
//	go test ./internal/password -run '^$' -fuzz FuzzParseArgon2 -fuzztime 30s

func checkErr(t *testing.T, s string, err error) {
	t.Helper()
	var he *HashError
	if err != nil && (!errors.As(err, &he) || (!errors.Is(err, ErrMalformedHash) && !errors.Is(err, ErrCostTooHigh))) {
		t.Fatalf("parse(%q): error %v is not a *HashError", s, err)
	}
	if got := Check(s); (got == nil) != (err == nil) {
		t.Fatalf("Check(%q) = %v, parser said %v", s, got, err)
	}
}

func scryptWithinCaps(t *testing.T, s string, h *scryptHash) {
	t.Helper()
	mem := uint64(128) << h.ln * uint64(h.r)
	if h.ln < 1 || h.r < 1 || h.p < 1 || mem > MaxScryptMemory || h.p > MaxScryptP || mem*uint64(h.p) > MaxScryptWork {
		t.Fatalf("%q parsed over the caps: %+v", s, h)
	}
}

func FuzzParseArgon2(f *testing.F) {
	f.Add("$argon2id$v=19$m=1024,t=2,p=1$c29tZXNhbHQ$7FfsnA6vUe7qLpL/3Kqc3uR48ZJyFbUVt7jWZlf0Htk")
	f.Add("$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG")
	f.Add("$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHQ$aGFzaA")
	f.Fuzz(func(t *testing.T, s string) {
		a, err := parseArgon2(s)
		checkErr(t, s, err)
		if err != nil {
			return
		}
		p := a.params
		if p.Memory > MaxArgon2Memory || p.Time > MaxArgon2Time || p.Threads > MaxArgon2Threads ||
			p.Time < 1 || p.Threads < 1 || p.Memory < 8*uint32(p.Threads) || len(a.salt) < 8 || len(a.key) < 4 {
			t.Fatalf("%q parsed to unusable or over-cap parameters %+v", s, p)
		}
		if p.Memory <= 64 && p.Time <= 2 {
			a.verify([]byte("password")) // cheap enough to run
		}
	})
}

func FuzzParseBcrypt(f *testing.F) {
	f.Add("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW")
	f.Add("$2b$31$abcdefghijklmnopqrstuu7EJV7kdjBBQxyb0HjTh9KS7.Lah/6CG")
	f.Add("$2y$04$abcdefghijklmnopqrstuu7EJV7kdjBBQxyb0HjTh9KS7.Lah/6C")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := parseBcrypt(s)
		if !strings.HasPrefix(s, "$2a$") && !strings.HasPrefix(s, "$2b$") && !strings.HasPrefix(s, "$2y$") {
			return // parse() routes only these here; Check would disagree
		}
		checkErr(t, s, err)
		if err != nil {
			return
		}
		if s[4:6] > "14" {
			t.Fatalf("%q parsed over the cost cap", s)
		}
		if s[4:6] <= "05" {
			b.verify([]byte("password"))
		}
	})
}

func FuzzParseScrypt(f *testing.F) {
	f.Add("$scrypt$ln=14,r=8,p=1$bGF0Y2gtc2NyeXB0LWthdA$lXuJ680jEMinxJGNVgR80ZVOCk1bbNYXZNp3/mc9mEU")
	f.Add("$scrypt$ln=10,r=4,p=2$bGF0Y2gtc2NyeXB0LWthdA==$+1v1f/KIv9QysBMEu3NHhC5fYFi5ncyci9ES5qQ18t0=")
	f.Add("$scrypt$ln=20,r=32,p=1$c2FsdA$aGFzaGhhc2hoYXNoaGFzaA")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseScrypt(s)
		if !strings.HasPrefix(s, "$scrypt$") {
			return
		}
		checkErr(t, s, err)
		if err != nil {
			return
		}
		scryptWithinCaps(t, s, h)
		if h.ln <= 4 && h.r*h.p <= 8 {
			h.verify([]byte("password"))
		}
	})
}

func FuzzParseFirebase(f *testing.F) {
	f.Add("$firescrypt$ln=14,r=8,p=1$42xEC+ixf3L2lw==$lSrfV15cpx95/sZS2W9c9Kp6i/LVgQNDNC/qzrCnh1SAyZvqmZqAjTdn3aoItz+VHjoZilo78198JAdRuid5lQ==$Bw==$jxspr8Ki0RYycVU8zykbdLGjFQ3McFUH0uiiTvC8pVMXAn210wjLNmdZJzxUECKbm0QsEmYUSDzZvpjeJ9WmXA==")
	f.Add("$firescrypt$ln=2,r=1,p=1$AA==$AAAAAAAAAAAAAAAAAAAAAA==$$AAAAAAAAAAAAAAAAAAAAAA==")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := parseFirebase(s)
		if !strings.HasPrefix(s, "$firescrypt$") {
			return
		}
		checkErr(t, s, err)
		if err != nil {
			return
		}
		scryptWithinCaps(t, s, &h.scryptHash)
		if len(h.signerKey) != len(h.key) {
			t.Fatalf("%q: signer key and hash differ in length", s)
		}
		if h.ln <= 4 && h.r*h.p <= 8 {
			h.verify([]byte("password"))
		}
	})
}

func FuzzParsePBKDF2(f *testing.F) {
	f.Add("pbkdf2_sha256$600000$sEaSaLt0123abcXY$htHBxT6NIpH2jFLxeiA40TPCkIKPUr3NnEI/OpZJZLY=")
	f.Add("$pbkdf2-sha512$25000$AQJsYXRjaC1wYXNzbGli/v8$htvLMzTEfoGcWeqpzcJnjHsKHu.2vTAvm5Vm1Jhd4dm2TAC5e6.bByTK0ICiryrjv55JIkBq6aJ8z1.sIcwbgA")
	f.Add("$pbkdf2$131000$AQJsYXRjaC1wYXNzbGli/v8$tVAPXHkcChoQr2DxTTHGiOkms1M")
	f.Add("$pbkdf2-sha256$i=100000,l=32$a3JhdG9zLXNhbHQtMTZieQ$+FO59EL92sWna94xPwTd70EXb/2KXcnZBoCLMtRe4jc")
	f.Fuzz(func(t *testing.T, s string) {
		var h *pbkdf2Hash
		var err error
		switch {
		case strings.HasPrefix(s, "pbkdf2_"):
			h, err = parseDjangoPBKDF2(s)
		case strings.HasPrefix(s, "$pbkdf2$") || strings.HasPrefix(s, "$pbkdf2-"):
			h, err = parsePHCPBKDF2(s)
		default:
			return
		}
		checkErr(t, s, err)
		if err != nil {
			return
		}
		if h.iter < 1 || h.iter > MaxPBKDF2Iterations || len(h.key) < 16 {
			t.Fatalf("%q parsed to %d iterations, %d-byte key", s, h.iter, len(h.key))
		}
		if h.iter <= 1000 {
			h.verify([]byte("password"))
		}
	})
}

func FuzzParseSSHA(f *testing.F) {
	f.Add("{SSHA}G5R7cXnWLBpMtP/jP/wHeyXuYOuKGwL/")
	f.Add("{ssha256}CjjqPXPYGjVMmTRdzHN2UTPdg0XIYl0HWPy+0QwtTBRzYWx0c2FsdA==")
	f.Add("{SSHA512}AAAA")
	f.Fuzz(func(t *testing.T, s string) {
		if !isSSHA(s) {
			return
		}
		h, err := parseSSHA(s)
		checkErr(t, s, err)
		if err != nil {
			return
		}
		if len(h.salt) == 0 || len(h.sum) != h.digest().Size() {
			t.Fatalf("%q: salt %d bytes, sum %d bytes", s, len(h.salt), len(h.sum))
		}
		h.verify([]byte("password"))
	})
}
