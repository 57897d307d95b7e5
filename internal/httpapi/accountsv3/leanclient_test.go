package accountsv3_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"testing"
)

// leanConn is a minimal keep-alive HTTP/1.1 client on one connection: the
// load generator of the refresh-to-pgbench ratio. pgbench is a lean C
// client that spends nothing on HTTP; net/http's client, in the server's
// own process, cost 6–10 % of that process's CPU, which the ratio counted
// against latch. This one writes a fixed request and reads the answer with
// one buffered reader, allocating only the body it returns. It reads
// exactly what net/http's server sends these routes (a Content-Length,
// no chunking) and fails on anything else.
type leanConn struct {
	c    net.Conn
	r    *bufio.Reader
	head []byte // request line and headers up to "Content-Length: "
	req  []byte
}

// dialLean connects to the server at base ("http://127.0.0.1:port") for
// POSTs of JSON to path.
func dialLean(tb testing.TB, base, path string) *leanConn {
	tb.Helper()
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	head := "POST " + path + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUser-Agent: Go-http-client/1.1\r\nContent-Type: application/json\r\nContent-Length: "
	return &leanConn{c: c, r: bufio.NewReaderSize(c, 4096), head: []byte(head)}
}

// post sends body and returns the answer's body, or an error for any
// status but 200.
func (l *leanConn) post(body []byte) ([]byte, error) {
	l.req = append(l.req[:0], l.head...)
	l.req = strconv.AppendInt(l.req, int64(len(body)), 10)
	l.req = append(l.req, "\r\n\r\n"...)
	l.req = append(l.req, body...)
	if _, err := l.c.Write(l.req); err != nil {
		return nil, err
	}
	line, err := l.r.ReadSlice('\n')
	if err != nil {
		return nil, err
	}
	ok := bytes.HasPrefix(line, []byte("HTTP/1.1 200 "))
	status := string(bytes.TrimSpace(line))
	n := -1
	for {
		h, err := l.r.ReadSlice('\n')
		if err != nil {
			return nil, err
		}
		if len(h) <= 2 {
			break
		}
		if k, v, found := bytes.Cut(h, []byte(":")); found && bytes.EqualFold(k, []byte("Content-Length")) {
			if n, err = strconv.Atoi(string(bytes.TrimSpace(v))); err != nil {
				return nil, fmt.Errorf("lean client: Content-Length %q", v)
			}
		}
	}
	if n < 0 {
		return nil, fmt.Errorf("lean client: %s without Content-Length", status)
	}
	out := make([]byte, n)
	if _, err := io.ReadFull(l.r, out); err != nil {
		return nil, err
	}
	if !ok {
		return nil, fmt.Errorf("lean client: %s: %s", status, out)
	}
	return out, nil
}

// refreshTokenOf returns the refreshToken of a TokenResponse body
// ({"accessToken":"…","refreshToken":"…"}): the token's alphabet has no
// character JSON escapes, so it is the text between the quotes.
func refreshTokenOf(body []byte) (string, error) {
	const key = `"refreshToken":"`
	i := bytes.Index(body, []byte(key))
	if i < 0 {
		return "", fmt.Errorf("lean client: no refreshToken in %s", body)
	}
	rest := body[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return "", fmt.Errorf("lean client: no refreshToken in %s", body)
	}
	return string(rest[:j]), nil
}
