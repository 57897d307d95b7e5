// Package smtptest starts a real SMTP server (github.com/emersion/go-smtp)
// on a loopback port for tests, like net/http/httptest does for HTTP: the
// mails latch sends are received over the wire and parsed, never caught
// by a stand-in for latch's own mailer.
package smtptest

import (
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// Message is one mail the server received.
type Message struct {
	From string
	To   []string
	// Header is the parsed header, Subject decoded.
	Header  mail.Header
	Subject string
	Text    string // the text/plain part, decoded
	HTML    string // the text/html part, decoded
}

// Server is a running SMTP server.
type Server struct {
	Addr     string       // host:port
	Messages chan Message // every mail received, in order
	// Refuse, while positive, makes the server refuse that many more
	// mails with a temporary error (451).
	Refuse atomic.Int32
}

// Start starts a server that the test's end stops.
func Start(tb testing.TB) *Server {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), Messages: make(chan Message, 100)}
	srv := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &session{srv: s}, nil }))
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = time.Minute, time.Minute
	go srv.Serve(ln)
	tb.Cleanup(func() { srv.Close() })
	return s
}

// URL is the LATCH_SMTP_URL of the server with the default sender from.
func (s *Server) URL(from string) string { return "smtp://" + s.Addr + "?from=" + from }

// Next waits up to d for the next mail.
func (s *Server) Next(tb testing.TB, d time.Duration) Message {
	tb.Helper()
	select {
	case m := <-s.Messages:
		return m
	case <-time.After(d):
		tb.Fatalf("no mail within %v", d)
		return Message{}
	}
}

type session struct {
	srv  *Server
	from string
	to   []string
}

func (s *session) Reset()        { s.from, s.to = "", nil }
func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	if s.srv.Refuse.Add(-1) >= 0 {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	m, err := parse(string(raw))
	if err != nil {
		return &smtp.SMTPError{Code: 554, Message: err.Error()}
	}
	m.From, m.To = s.from, s.to
	s.srv.Messages <- m
	return nil
}

func parse(raw string) (Message, error) {
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		return Message{}, err
	}
	out := Message{Header: msg.Header}
	out.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if err != nil {
		return out, err
	}
	typ, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || typ != "multipart/alternative" {
		return out, errors.New("not multipart/alternative")
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out, nil
		} else if err != nil {
			return out, err
		}
		// multipart.Reader decodes quoted-printable parts itself and
		// drops the header; decode explicitly only if it did not.
		var body io.Reader = p
		if p.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			body = quotedprintable.NewReader(p)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			return out, err
		}
		text := strings.ReplaceAll(string(b), "\r\n", "\n")
		switch ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct {
		case "text/plain":
			out.Text = text
		case "text/html":
			out.HTML = text
		}
	}
}
