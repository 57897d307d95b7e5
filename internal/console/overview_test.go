package console_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Ensure the overview counts this instance's last hour from the counters
// /metrics serves: logins, failures, refusals by a rate limit and logins
// shed, since the oldest sample in the hour, drawn per minute.
func TestOverview(t *testing.T) {
	e := start(t, options{adminToken: adminToken})
	tn := e.mustTenant(t, "acme")
	e.mustUser(t, tn.ID, "ada@example.com")
	b := e.browser(t).mustSignIn()
	// Twenty seconds into a minute: the test ends well before the next.
	e.Advance((20*time.Second - e.Now().Sub(e.Now().Truncate(time.Minute)) + time.Minute) % time.Minute)
	now := e.Now()

	e.login(t, tn.ID, "ada@example.com") // before the hour's oldest sample: not counted
	e.Samples.Sample(now.Add(-90 * time.Minute))
	e.Samples.Sample(now.Add(-3 * time.Minute))
	e.login(t, tn.ID, "ada@example.com")
	e.login(t, tn.ID, "ada@example.com")
	res, _ := http.Post(e.URL+"/v3/accounts/login", "application/json",
		strings.NewReader(`{"accountId":"`+tn.ID+`","email":"ada@example.com","password":"wrong password"}`))
	res.Body.Close()
	e.Samples.Sample(now.Add(-2 * time.Minute))
	e.login(t, tn.ID, "ada@example.com")
	e.Metrics.RateLimited("ip", "accounts-v3")
	e.Metrics.Login("app-auth", "unavailable")
	e.Metrics.Login("app-auth", "unavailable")
	e.Samples.Sample(now.Add(-time.Minute))

	r := b.get("/console/")
	wantStatus(t, "overview", r, http.StatusOK, "Last hour on this instance", "other instances count their own", "(3 min)")
	totals := map[string]string{}
	for _, m := range regexp.MustCompile(`<strong>(\d+)</strong> (\w+)</li>`).FindAllStringSubmatch(r.Body, -1) {
		totals[m[2]] = m[1]
	}
	if totals["Logins"] != "3" || totals["Failures"] != "1" || totals["Throttled"] != "1" || totals["Shed"] != "2" {
		t.Fatalf("totals %v", totals)
	}
	lines := regexp.MustCompile(`<polyline class="line (s\d)" points="([^"]+)">`).FindAllStringSubmatch(r.Body, -1)
	if len(lines) != 4 {
		t.Fatalf("%d lines, want one a series: %v", len(lines), lines)
	}
	for _, l := range lines {
		if n := len(strings.Fields(l[2])); n != 2 { // the two sampled minutes
			t.Errorf("series %s has %d points: %s", l[1], n, l[2])
		}
	}
	if !strings.Contains(r.Body, `role="img"`) || !strings.Contains(r.Body, "<title id=\"chart-title\">") {
		t.Error("the chart has no accessible name")
	}
}
