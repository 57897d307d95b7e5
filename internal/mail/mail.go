package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/latchauth/latch/internal/identity"
)

// Server is where mail goes, parsed from LATCH_SMTP_URL:
//
//	smtp://[user:password@]host[:port]?from=Sender <no-reply@example.com>
//
// smtp:// (port 587 by default) upgrades with STARTTLS whenever the
// server offers it and authenticates only over TLS (or to localhost);
// smtps:// (port 465) speaks TLS from the start. from is the default
// sender, which a tenant's mail_from replaces.
type Server struct {
	Host     string // host:port
	TLS      bool   // implicit TLS (smtps)
	User     string
	Password string
	From     string
	// TLSConfig, when set, replaces the system's roots (tests).
	TLSConfig *tls.Config
}

// ParseURL reads a LATCH_SMTP_URL. Its errors never repeat the password.
func ParseURL(raw string) (*Server, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL like smtp://user:password@mail.example.com:587?from=no-reply@example.com")
	}
	s := &Server{}
	switch u.Scheme {
	case "smtp":
	case "smtps":
		s.TLS = true
	default:
		return nil, fmt.Errorf("the scheme must be smtp or smtps, not %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return nil, errors.New("names no host")
	}
	port := u.Port()
	if port == "" {
		port = map[bool]string{false: "587", true: "465"}[s.TLS]
	}
	s.Host = net.JoinHostPort(u.Hostname(), port)
	if u.User != nil {
		s.User = u.User.Username()
		s.Password, _ = u.User.Password()
	}
	from := u.Query().Get("from")
	if from == "" {
		return nil, errors.New("needs ?from=, the default sender (like ?from=no-reply@example.com)")
	}
	a, err := mail.ParseAddress(from)
	if err != nil {
		return nil, fmt.Errorf("from=%q is not a mail address", from)
	}
	s.From = a.String()
	return s, nil
}

// Retry schedule: a mail server that is down for a while does not lose
// a mail; one that refuses it for half an hour does (logged and counted).
var retryDelays = []time.Duration{5 * time.Second, 30 * time.Second, 2 * time.Minute, 10 * time.Minute, 20 * time.Minute}

// Sender queues mails and sends them one at a time (identity.Mailer).
type Sender struct {
	server *Server
	log    *slog.Logger
	count  func(outcome string) // "sent", "retry", "failed"
	queue  chan job
	delays []time.Duration
	mu     sync.Mutex
	timers map[*time.Timer]struct{} // retries waiting for their turn
	closed bool
}

type job struct {
	m       identity.Mail
	attempt int
}

// QueueSize bounds the mails waiting to be sent; beyond it Send refuses.
const QueueSize = 1000

// NewSender returns a Sender for server; count, when set, is told the
// outcome of every attempt (metrics). Run sends.
func NewSender(server *Server, log *slog.Logger, count func(outcome string)) *Sender {
	if count == nil {
		count = func(string) {}
	}
	return &Sender{server: server, log: log, count: count, queue: make(chan job, QueueSize), delays: retryDelays,
		timers: map[*time.Timer]struct{}{}}
}

// Send implements identity.Mailer: it queues m and returns at once.
func (s *Sender) Send(m identity.Mail) error {
	if m.From == "" {
		m.From = s.server.From
	}
	return s.enqueue(job{m: m})
}

func (s *Sender) enqueue(j job) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("mail: the sender has stopped")
	}
	select {
	case s.queue <- j:
		return nil
	default:
		s.count("failed")
		return fmt.Errorf("mail: %d mails are waiting already", QueueSize)
	}
}

// Run sends queued mails until ctx ends, then stops; mails still queued
// or waiting for a retry are logged as lost (and counted as failed).
func (s *Sender) Run(ctx context.Context) {
	for {
		select {
		case j := <-s.queue:
			s.attempt(ctx, j)
		case <-ctx.Done():
			s.stop()
			return
		}
	}
}

func (s *Sender) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	lost := len(s.queue)
	for t := range s.timers {
		if t.Stop() {
			lost++
		}
	}
	if lost > 0 {
		for range lost {
			s.count("failed")
		}
		s.log.Error("mails not sent at shutdown", "count", lost)
	}
}

func (s *Sender) attempt(ctx context.Context, j job) {
	err := s.send(ctx, j.m)
	if err == nil {
		s.count("sent")
		s.log.Info("mail sent", "to", j.m.To, "subject", j.m.Subject, "attempt", j.attempt+1)
		return
	}
	if j.attempt >= len(s.delays) {
		s.count("failed")
		s.log.Error("mail not sent, giving up", "to", j.m.To, "subject", j.m.Subject, "attempts", j.attempt+1, "err", err)
		return
	}
	s.count("retry")
	delay := s.delays[j.attempt]
	s.log.Warn("mail not sent, will retry", "to", j.m.To, "attempt", j.attempt+1, "retry_in", delay, "err", err)
	j.attempt++
	s.mu.Lock()
	defer s.mu.Unlock()
	var t *time.Timer
	t = time.AfterFunc(delay, func() {
		s.mu.Lock()
		delete(s.timers, t)
		s.mu.Unlock()
		if err := s.enqueue(j); err != nil {
			s.log.Error("mail retry not queued", "to", j.m.To, "err", err)
		}
	})
	s.timers[t] = struct{}{}
}

// sendTimeout bounds one delivery attempt, connection to QUIT.
const sendTimeout = time.Minute

func (s *Sender) send(ctx context.Context, m identity.Mail) error {
	msg, err := Compose(m, time.Now())
	if err != nil {
		return err
	}
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return fmt.Errorf("sender %q: %w", m.From, err)
	}
	ctx, cancel := context.WithTimeout(ctx, sendTimeout)
	defer cancel()
	host, _, _ := net.SplitHostPort(s.server.Host)
	tlsConf := s.server.TLSConfig.Clone()
	if tlsConf == nil {
		tlsConf = &tls.Config{}
	}
	tlsConf.ServerName = host
	var conn net.Conn
	if s.server.TLS {
		conn, err = (&tls.Dialer{Config: tlsConf}).DialContext(ctx, "tcp", s.server.Host)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, "tcp", s.server.Host)
	}
	if err != nil {
		return err
	}
	deadline, _ := ctx.Deadline()
	conn.SetDeadline(deadline)
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if !s.server.TLS {
		if ok, _ := c.Extension("STARTTLS"); ok {
			if err := c.StartTLS(tlsConf); err != nil {
				return fmt.Errorf("STARTTLS: %w", err)
			}
		}
	}
	if s.server.User != "" {
		// PlainAuth itself refuses to send the password over a connection
		// that is neither TLS nor to localhost.
		if err := c.Auth(smtp.PlainAuth("", s.server.User, s.server.Password, host)); err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	if err := c.Mail(from.Address); err != nil {
		return err
	}
	if err := c.Rcpt(m.To); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

// Compose writes m as a MIME message: a multipart/alternative of the
// plain text and the HTML, both quoted-printable UTF-8.
func Compose(m identity.Mail, now time.Time) ([]byte, error) {
	for _, h := range []string{m.From, m.To, m.Subject} {
		if strings.ContainsAny(h, "\r\n") {
			return nil, errors.New("mail: a header holds a line break")
		}
	}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	id := make([]byte, 16)
	rand.Read(id)
	domain := "latch"
	if a, err := mail.ParseAddress(m.From); err == nil {
		if i := strings.LastIndexByte(a.Address, '@'); i >= 0 {
			domain = a.Address[i+1:]
		}
	}
	for _, h := range [][2]string{{"From", m.From}, {"To", m.To}, {"Subject", mime.QEncoding.Encode("utf-8", m.Subject)},
		{"Date", now.Format(time.RFC1123Z)}, {"Message-ID", "<" + hex.EncodeToString(id) + "@" + domain + ">"},
		{"MIME-Version", "1.0"}, {"Content-Type", "multipart/alternative; boundary=" + mw.Boundary()}} {
		b.WriteString(h[0] + ": " + h[1] + "\r\n")
	}
	b.WriteString("\r\n")
	for _, part := range []struct{ typ, body string }{{"text/plain", m.Text}, {"text/html", m.HTML}} {
		if part.body == "" {
			continue
		}
		pw, err := mw.CreatePart(textproto.MIMEHeader{"Content-Type": {part.typ + "; charset=utf-8"},
			"Content-Transfer-Encoding": {"quoted-printable"}})
		if err != nil {
			return nil, err
		}
		qw := quotedprintable.NewWriter(pw)
		if _, err := qw.Write([]byte(strings.ReplaceAll(part.body, "\n", "\r\n"))); err != nil {
			return nil, err
		}
		if err := qw.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
