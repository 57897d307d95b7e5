package mail

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/mail/smtptest"
)

func TestParseURL(t *testing.T) {
	for _, tc := range []struct {
		in, host, from, err string
		tls                 bool
	}{
		{in: "smtp://mail.example.com?from=no-reply@example.com", host: "mail.example.com:587", from: "<no-reply@example.com>"},
		{in: "smtps://u:secret@mail.example.com?from=Example%20%3Cno-reply@example.com%3E", host: "mail.example.com:465", tls: true, from: `"Example" <no-reply@example.com>`},
		{in: "smtp://127.0.0.1:2525?from=a@b.c", host: "127.0.0.1:2525", from: "<a@b.c>"},
		{in: "http://mail.example.com?from=a@b.c", err: "scheme"},
		{in: "smtp://mail.example.com", err: "from="},
		{in: "smtp://u:hunter2@mail.example.com?from=nope", err: "not a mail address"},
		{in: "smtp://?from=a@b.c", err: "no host"},
	} {
		s, err := ParseURL(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("ParseURL(%q) = %v, want an error about %q without the password", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || s.Host != tc.host || s.TLS != tc.tls || s.From != tc.from {
			t.Errorf("ParseURL(%q) = %+v, %v", tc.in, s, err)
		}
	}
}

type counts struct {
	mu sync.Mutex
	m  map[string]int
}

func (c *counts) add(o string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[o]++
}

func (c *counts) get(o string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[o]
}

// await polls until outcome was counted n times, with a generous deadline.
func (c *counts) await(tb testing.TB, outcome string, n int) {
	tb.Helper()
	for deadline := time.Now().Add(30 * time.Second); c.get(outcome) < n && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if got := c.get(outcome); got != n {
		tb.Fatalf("%s counted %d times, want %d (%v)", outcome, got, n, c.m)
	}
}

// Ensure a queued mail reaches a real SMTP server as a multipart text and
// HTML message from the default sender, and a mail the server refuses
// for a while is retried until it is taken, each attempt counted.
func TestSenderDeliversAndRetries(t *testing.T) {
	srv := smtptest.Start(t)
	server, err := ParseURL(srv.URL("Latch <no-reply@example.com>"))
	if err != nil {
		t.Fatal(err)
	}
	c := &counts{m: map[string]int{}}
	s := NewSender(server, slog.New(slog.NewTextHandler(io.Discard, nil)), c.add)
	s.delays = []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Run(ctx)

	if err := s.Send(identity.Mail{To: "ada@example.com", Subject: "Réinitialiser", Text: "code: lpr1_x\n", HTML: "<p>code</p>\n"}); err != nil {
		t.Fatal(err)
	}
	m := srv.Next(t, 30*time.Second)
	if m.From != "no-reply@example.com" || len(m.To) != 1 || m.To[0] != "ada@example.com" || m.Subject != "Réinitialiser" ||
		m.Text != "code: lpr1_x\n" || m.HTML != "<p>code</p>\n" || m.Header.Get("From") != `"Latch" <no-reply@example.com>` {
		t.Fatalf("received %+v", m)
	}

	srv.Refuse.Store(2)
	if err := s.Send(identity.Mail{From: "tenant@example.org", To: "bob@example.com", Subject: "again", Text: "x"}); err != nil {
		t.Fatal(err)
	}
	m = srv.Next(t, 30*time.Second)
	if m.From != "tenant@example.org" || m.To[0] != "bob@example.com" {
		t.Fatalf("received %+v", m)
	}
	// The sender counts once the server answered QUIT, after it took the mail.
	c.await(t, "sent", 2)
	if c.get("retry") != 2 {
		t.Fatalf("counts = %v, want 2 retries", c.m)
	}

	// Refused past the last retry: given up, counted as failed.
	srv.Refuse.Store(100)
	s.Send(identity.Mail{To: "carol@example.com", Subject: "lost", Text: "x"})
	c.await(t, "failed", 1)
}

// Ensure a header cannot smuggle a line break into the message.
func TestComposeRefusesHeaderInjection(t *testing.T) {
	if _, err := Compose(identity.Mail{From: "a@b.c", To: "x@y.z\r\nBcc: evil@example.com", Subject: "s", Text: "t"}, time.Now()); err == nil {
		t.Fatal("a line break in To was accepted")
	}
}
