package main_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/latchauth/latch/internal/cli"
)

// knownVariable reports whether the binary reads name (or name without
// its _FILE suffix).
func knownVariable(name string) bool {
	return slices.Contains(cli.Variables(), strings.TrimSuffix(name, "_FILE"))
}

// Ensure compose.yaml parses, runs two latch instances on one PostgreSQL
// and one Redis, and names only LATCH_* variables the binary knows (a
// misspelt one would silently leave a setting at its default).
func TestComposeFile(t *testing.T) {
	raw, err := os.ReadFile("../../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Services map[string]struct {
			Build       any            `yaml:"build"`
			Image       string         `yaml:"image"`
			Environment map[string]any `yaml:"environment"`
			Secrets     []string       `yaml:"secrets"`
			DependsOn   map[string]any `yaml:"depends_on"`
		} `yaml:"services"`
		Secrets map[string]struct {
			File string `yaml:"file"`
		} `yaml:"secrets"`
	}
	var whole map[string]any
	if err := yaml.Unmarshal(raw, &whole); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for k := range whole {
		if !slices.Contains([]string{"name", "services", "secrets", "volumes", "networks", "configs"}, k) && !strings.HasPrefix(k, "x-") {
			t.Errorf("compose.yaml: unknown top-level key %q", k)
		}
	}
	if err := yaml.Unmarshal(raw, &compose); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	var latches []string
	for name, svc := range compose.Services {
		if svc.Build == nil {
			continue
		}
		latches = append(latches, name)
		for k, v := range svc.Environment {
			if strings.HasPrefix(k, "LATCH_") && !knownVariable(k) {
				t.Errorf("service %s sets %s, which latch does not read", name, k)
			}
			s, _ := v.(string)
			switch k {
			case "LATCH_DB":
				if !strings.HasPrefix(s, "postgres://") || !strings.Contains(s, "@postgres:") {
					t.Errorf("service %s: LATCH_DB %q is not the postgres service", name, s)
				}
			case "LATCH_REDIS_URL":
				if !strings.HasPrefix(s, "redis://redis:") {
					t.Errorf("service %s: LATCH_REDIS_URL %q is not the redis service", name, s)
				}
			}
			if strings.HasSuffix(k, "_FILE") && !strings.HasPrefix(s, "/run/secrets/") {
				t.Errorf("service %s: %s=%q is not a compose secret", name, k, s)
			}
		}
		for _, need := range []string{"LATCH_DB", "LATCH_REDIS_URL", "LATCH_SECRET_FILE", "LATCH_ISSUER", "LATCH_LISTEN"} {
			if _, ok := svc.Environment[need]; !ok {
				t.Errorf("service %s does not set %s", name, need)
			}
		}
		for _, sec := range svc.Secrets {
			if compose.Secrets[sec].File == "" {
				t.Errorf("service %s uses secret %s, which compose.yaml does not define", name, sec)
			}
		}
		for _, dep := range []string{"postgres", "redis"} {
			if _, ok := svc.DependsOn[dep]; !ok {
				t.Errorf("service %s does not wait for %s", name, dep)
			}
		}
	}
	if len(latches) != 2 {
		t.Errorf("latch services %v, want two instances", latches)
	}
	for _, svc := range []string{"postgres", "redis"} {
		if _, ok := compose.Services[svc]; !ok {
			t.Errorf("no %s service", svc)
		}
	}
}

// Ensure the Dockerfile builds what the module holds with the module's Go,
// statically, runs as a non-root user, checks health with a command the
// binary has, and sets only variables the binary knows.
func TestDockerfile(t *testing.T) {
	raw, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(raw)
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goVer := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	from := regexp.MustCompile(`(?m)^FROM golang:(\d+\.\d+)\S* AS build$`).FindStringSubmatch(df)
	if goVer == nil || from == nil || from[1] != string(goVer[1]) {
		t.Errorf("build stage golang:%v does not match go.mod's go %s", from, goVer)
	}
	build := regexp.MustCompile(`(?s)RUN (CGO_ENABLED=0 go build .*?) \./(\S+)`).FindStringSubmatch(df)
	if build == nil {
		t.Fatal("no `CGO_ENABLED=0 go build … ./PKG` in the Dockerfile")
	}
	if main, err := os.ReadFile(filepath.Join("../..", build[2], "main.go")); err != nil || !bytes.Contains(main, []byte("package main")) {
		t.Errorf("the Dockerfile builds ./%s, which is not the main package: %v", build[2], err)
	}
	for _, x := range regexp.MustCompile(`-X (\S+)\.(\w+)=`).FindAllStringSubmatch(build[1], -1) {
		if x[1] != "github.com/latchauth/latch/internal/cli" || (x[2] != "Version" && x[2] != "Commit") {
			t.Errorf("-X %s.%s sets nothing latch has", x[1], x[2])
		}
	}
	_, _ = cli.Version, cli.Commit // the variables -X sets
	user := regexp.MustCompile(`(?m)^USER (\S+)`).FindAllStringSubmatch(df, -1)
	if len(user) == 0 || slices.Contains([]string{"root", "0", "0:0", "root:root"}, user[len(user)-1][1]) {
		t.Errorf("the image does not run as a non-root user: %v", user)
	}
	hc := regexp.MustCompile(`(?m)^HEALTHCHECK .*CMD \["/latch", "([^"]+)"\]`).FindStringSubmatch(df)
	if hc == nil {
		t.Fatal("no HEALTHCHECK running /latch")
	}
	var out bytes.Buffer
	if err := cli.Run(context.Background(), []string{"latch", hc[1], "-h"}, func(string) string { return "" }, &out, &out); err != nil {
		t.Errorf("HEALTHCHECK runs `latch %s`, which is not a command: %v", hc[1], err)
	}
	for _, env := range regexp.MustCompile(`(?m)^ENV (.*)$`).FindAllStringSubmatch(df, -1) {
		for _, kv := range strings.Fields(env[1]) {
			if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "LATCH_") && !knownVariable(k) {
				t.Errorf("the Dockerfile sets %s, which latch does not read", k)
			}
		}
	}
}

// Ensure the README's configuration table lists every LATCH_* variable
// the binary reads, and names none it does not.
func TestREADMEListsEveryVariable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range cli.Variables() {
		if !bytes.Contains(readme, []byte("`"+v+"`")) {
			t.Errorf("README does not document %s", v)
		}
	}
	for _, m := range regexp.MustCompile("`(LATCH_[A-Z0-9_]+)").FindAllStringSubmatch(string(readme), -1) {
		if v := m[1]; !strings.HasPrefix(v, "LATCH_TEST_") && !knownVariable(v) && !strings.HasSuffix(v, "_") {
			t.Errorf("README names %s, which latch does not read", v)
		}
	}
}
