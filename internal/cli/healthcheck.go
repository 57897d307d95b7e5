package cli

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// healthcheck asks a server whether it is ready (GET /readyz): the
// container health check of the Dockerfile, which has no curl.
func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	s := newSettings("healthcheck", getenv, stderr)
	s.about = "GET /readyz of the server at LATCH_URL (default: http:// + LATCH_LISTEN, as the server itself reads it)\n" +
		"and exit 0 when it answers 200, 1 otherwise: for container health checks and scripts."
	conn := addClient(s, false)
	timeout := s.add("timeout", "LATCH_HEALTHCHECK_TIMEOUT", "5s", "how long to wait for the answer")
	if err := s.parse(args); err != nil {
		return err
	}
	d, err := timeout.duration(100*time.Millisecond, time.Minute)
	if err != nil {
		return err
	}
	base, err := conn.baseURL()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/readyz", nil)
	if err != nil {
		return err
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("%s/readyz: %w", base, err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s/readyz answered %s", base, res.Status)
	}
	fmt.Fprintf(stdout, "%s is ready\n", base)
	return nil
}
