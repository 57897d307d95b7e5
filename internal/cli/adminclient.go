package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// clientConfig is the connection to a running server that the admin
// commands (and healthcheck) share.
type clientConfig struct {
	s          *settings
	url, token *setting
	needsToken bool
}

func addClient(s *settings, needsToken bool) *clientConfig {
	c := &clientConfig{s: s, needsToken: needsToken}
	c.url = s.add("server", "LATCH_URL", "", "base URL of the server (default: http:// + LATCH_LISTEN, else http://127.0.0.1:8080)")
	if needsToken {
		c.token = s.add("admin-token", "LATCH_ADMIN_TOKEN", "", "the server's admin token")
	}
	return c
}

// baseURL is --url, else the local address of LATCH_LISTEN (so that
// `latch tenant list` and `latch healthcheck` inside a container or next
// to a server find it with the server's own settings).
func (c *clientConfig) baseURL() (string, error) {
	v := strings.TrimRight(*c.url.val, "/")
	if v == "" {
		return localURL(c.s.value("LATCH_LISTEN")), nil
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", c.url.badValue("must be an http:// or https:// URL, like http://127.0.0.1:8080")
	}
	return v, nil
}

// localURL turns a listen address into a URL this machine can call:
// a wildcard host (":8080", "0.0.0.0:8080", "[::]:8080") becomes loopback.
func localURL(listen string) string {
	if listen == "" {
		return "http://127.0.0.1:8080"
	}
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "http://" + listen
	}
	switch host {
	case "", "0.0.0.0":
		host = "127.0.0.1"
	case "::":
		host = "::1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

func (c *clientConfig) client() (*adminClient, error) {
	base, err := c.baseURL()
	if err != nil {
		return nil, err
	}
	ac := &adminClient{base: base, hc: &http.Client{Timeout: 30 * time.Second}}
	if c.needsToken {
		ac.token = *c.token.val
		if ac.token == "" {
			return nil, usagef("LATCH_ADMIN_TOKEN (--admin-token) is required: the admin token of the server at %s", base)
		}
	}
	return ac, nil
}

// adminClient calls latch's admin API.
type adminClient struct {
	base  string
	token string
	hc    *http.Client
}

// apiError is an error answer of the server, from its problem+json body.
type apiError struct {
	Status int
	Code   string
	Detail string
	Fields []struct{ Field, Message string }
}

func (e *apiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (HTTP %d", e.Detail, e.Status)
	if e.Code != "" {
		fmt.Fprintf(&b, ", %s", e.Code)
	}
	b.WriteString(")")
	for _, f := range e.Fields {
		if !strings.HasPrefix(e.Detail, f.Field+":") {
			fmt.Fprintf(&b, "\n  %s: %s", f.Field, f.Message)
		}
	}
	return b.String()
}

// do sends one request and returns the answer's body; an answer of 400 or
// more is an *apiError.
func (c *adminClient) do(ctx context.Context, method, path string, query url.Values, body any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	u := c.base + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "latch-cli/"+version())
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("cannot reach the server at %s (LATCH_URL): %w", c.base, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("read the answer of %s %s: %w", method, path, err)
	}
	if res.StatusCode < 400 {
		return raw, nil
	}
	e := &apiError{Status: res.StatusCode}
	var p struct {
		Detail string `json:"detail"`
		Code   string `json:"code"`
		Errors []struct {
			Field   string `json:"field"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(raw, &p) == nil && (p.Detail != "" || p.Code != "") {
		e.Detail, e.Code = p.Detail, p.Code
		for _, f := range p.Errors {
			e.Fields = append(e.Fields, struct{ Field, Message string }{f.Field, f.Message})
		}
	} else {
		e.Detail = http.StatusText(res.StatusCode)
		if s := strings.TrimSpace(string(raw)); s != "" {
			e.Detail += ": " + truncate(s, 200)
		}
	}
	return nil, e
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
