package console

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/metrics"
)

// The overview's series, read from the counters /metrics serves:
// successful password logins, failed ones (wrong credentials or second
// factor), requests refused by a rate limit, and logins shed because the
// hashing pool was saturated.
var seriesNames = [...]string{"Logins", "Failures", "Throttled", "Shed"}

type totals [len(seriesNames)]float64

type sample struct {
	at time.Time
	v  totals
}

// Sampler keeps the login counters of this process once a minute for the
// last hour, so that the overview can draw them per minute. Counters are
// per process: each instance of a deployment charts its own traffic.
type Sampler struct {
	m       *metrics.Metrics
	mu      sync.Mutex
	samples []sample // oldest first, one per minute, at most window+1
}

const window = 60 // minutes charted

// NewSampler returns a sampler of m's counters; call Run to start it.
func NewSampler(m *metrics.Metrics) *Sampler { return &Sampler{m: m} }

// Run samples now and then at each minute until ctx ends.
func (s *Sampler) Run(ctx context.Context) {
	s.Sample(time.Now())
	for {
		now := time.Now()
		t := time.NewTimer(now.Truncate(time.Minute).Add(time.Minute).Sub(now))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case at := <-t.C:
			s.Sample(at)
		}
	}
}

// Sample records the counters as they are, as the sample of at's minute.
func (s *Sampler) Sample(at time.Time) {
	v := s.read()
	s.mu.Lock()
	defer s.mu.Unlock()
	at = at.Truncate(time.Minute)
	if n := len(s.samples); n > 0 && !s.samples[n-1].at.Before(at) {
		return // this minute is sampled already
	}
	s.samples = append(s.samples, sample{at, v})
	if len(s.samples) > window+1 {
		s.samples = s.samples[len(s.samples)-window-1:]
	}
}

// read sums the counters of each series from the registry.
func (s *Sampler) read() totals {
	var t totals
	mfs, err := s.m.Registry.Gather()
	if err != nil {
		return t
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			v := m.GetCounter().GetValue()
			switch mf.GetName() {
			case "latch_logins_total":
				outcome := ""
				for _, l := range m.GetLabel() {
					if l.GetName() == "outcome" {
						outcome = l.GetValue()
					}
				}
				switch outcome {
				case "success":
					t[0] += v
				case "invalid_credentials", "two_factor":
					t[1] += v
				case "unavailable":
					t[3] += v
				}
			case "latch_rate_limited_total":
				t[2] += v
			}
		}
	}
	return t
}

// chart is the overview's SVG, computed here and drawn by the template
// from plain numbers and point lists.
type chart struct {
	Width, Height, Left, Top, PlotW, PlotH int
	Series                                 []chartSeries
	Max                                    float64
	Grid                                   []gridLine
	Since                                  time.Time // the oldest sample the totals start from
	Minutes                                int       // minutes the totals cover
	Empty                                  bool      // nothing happened in the window
}

type chartSeries struct {
	Name     string
	Class    string
	Total    float64
	Segments []string // SVG polyline points; a gap where a minute was not sampled
}

type gridLine struct {
	Y     int
	Label string
}

// chart draws the last hour at now: for each minute, the change of each
// series from the sample at its start to the sample at its end (the
// counters as they are now for the current minute).
func (s *Sampler) chart(now time.Time) *chart {
	live := s.read()
	s.mu.Lock()
	byMinute := map[time.Time]totals{}
	for _, x := range s.samples {
		byMinute[x.at] = x.v
	}
	var oldest *sample
	for i := range s.samples {
		if now.Sub(s.samples[i].at) <= window*time.Minute {
			oldest = &s.samples[i]
			break
		}
	}
	s.mu.Unlock()

	c := &chart{Width: 640, Height: 200, Left: 44, Top: 10, PlotW: 580, PlotH: 160}
	current := now.Truncate(time.Minute)
	var values [window][]float64 // nil: not sampled
	for k := range window {
		start := current.Add(time.Duration(k-window+1) * time.Minute)
		from, ok := byMinute[start]
		if !ok {
			continue
		}
		to, ok := live, k == window-1
		if !ok {
			to, ok = byMinute[start.Add(time.Minute)]
		}
		if !ok {
			continue
		}
		values[k] = make([]float64, len(seriesNames))
		for i := range seriesNames {
			values[k][i] = math.Max(0, to[i]-from[i])
			c.Max = math.Max(c.Max, values[k][i])
		}
	}
	c.Empty = c.Max == 0
	c.Max = niceMax(c.Max)
	for i := range 3 {
		v := c.Max * float64(i) / 2
		c.Grid = append(c.Grid, gridLine{Y: c.Top + c.PlotH - int(float64(c.PlotH)*v/c.Max), Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	for i, name := range seriesNames {
		cs := chartSeries{Name: name, Class: "s" + strconv.Itoa(i)}
		if oldest != nil {
			cs.Total = math.Max(0, live[i]-oldest.v[i])
		}
		var pts []string
		flush := func() {
			if len(pts) == 1 {
				pts = append(pts, pts[0]) // a lone minute: drawn as a dot (round caps)
			}
			if len(pts) > 0 {
				cs.Segments = append(cs.Segments, strings.Join(pts, " "))
			}
			pts = nil
		}
		for k := range window {
			if values[k] == nil {
				flush()
				continue
			}
			x := c.Left + c.PlotW*k/(window-1)
			y := c.Top + c.PlotH - int(math.Round(float64(c.PlotH)*values[k][i]/c.Max))
			pts = append(pts, fmt.Sprintf("%d,%d", x, y))
		}
		flush()
		c.Series = append(c.Series, cs)
	}
	if oldest != nil {
		c.Since, c.Minutes = oldest.at, int(now.Sub(oldest.at)/time.Minute)
	}
	return c
}

// niceMax rounds a chart's top up to 1, 2 or 5 times a power of ten (at
// least 2, so that the middle line has a whole label).
func niceMax(v float64) float64 {
	if v <= 2 {
		return 2
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if v <= m*p {
			return m * p
		}
	}
	return 10 * p
}

// overviewPage is the landing page: this instance's last hour, and the
// tenants.
func (c *Console) overviewPage(w http.ResponseWriter, r *http.Request, s *session) {
	ts, next, err := c.d.Service.Admin.ListTenants(r.Context(), identity.Page{Limit: 20})
	if err != nil {
		c.failErr(w, r, s, err)
		return
	}
	data := map[string]any{"Tenants": ts, "MoreTenants": next != ""}
	if c.d.Samples != nil {
		data["Chart"] = c.d.Samples.chart(c.d.Now())
	}
	c.show(w, r, s, "overview", &page{Title: "Overview", Data: data}, view{})
}
