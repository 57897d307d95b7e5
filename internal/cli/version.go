package cli

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// Version and Commit may be set at build time, for builds without module
// or VCS information (a Docker build without .git):
//
//	go build -ldflags "-X github.com/latchauth/latch/internal/cli.Version=v1.2.0 -X github.com/latchauth/latch/internal/cli.Commit=$(git rev-parse HEAD)" ./cmd/latch
var (
	Version = ""
	Commit  = ""
)

// build describes the running binary.
type build struct {
	version  string // module version, or "devel"
	commit   string // VCS revision, or "unknown"
	time     string // commit time, when known
	modified bool   // built from a work tree with uncommitted changes
	goVer    string
}

// buildInfo reads the module version and VCS stamp that `go build` records
// (debug.ReadBuildInfo); the -X variables win when set.
func buildInfo() build {
	b := build{version: "devel", commit: "unknown", goVer: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			b.version = v
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.commit = s.Value
			case "vcs.time":
				b.time = s.Value
			case "vcs.modified":
				b.modified = s.Value == "true"
			}
		}
	}
	if Version != "" {
		b.version = Version
	}
	if Commit != "" {
		b.commit = Commit
	}
	return b
}

func version() string { return buildInfo().version }

func printVersion(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	s := newSettings("version", getenv, stderr)
	s.about = "Print latch's module version, the VCS commit it was built from, and the Go version."
	if err := s.parse(args); err != nil {
		return err
	}
	b := buildInfo()
	commit := b.commit
	if b.modified {
		commit += " (modified)"
	}
	if b.time != "" {
		commit += " " + b.time
	}
	fmt.Fprintf(stdout, "latch %s\ncommit %s\n%s\n", b.version, commit, b.goVer)
	return nil
}
