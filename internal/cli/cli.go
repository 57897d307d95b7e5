package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
)

// Version is set at build time with -ldflags "-X github.com/latchauth/latch/internal/cli.Version=…";
// otherwise it comes from the module build info.
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

const usage = `latch: a self-hostable authentication server

Usage:
  latch serve [--dev] [flags]   run the server (--dev: local demo setup)
  latch migrate [flags]         apply database migrations and exit
  latch keys rotate [flags]     add a new access-token signing key
  latch webhook test --tenant ID --webhook ID
                                send a signed ping to a webhook endpoint and show the answer
  latch bench [flags]           load a running server: logins or refreshes, 16 clients
  latch version                 print the version

Run 'latch <command> -h' for the flags of a command. Every flag can also be
set by its LATCH_* environment variable; the flag wins.
`

// errUsage marks errors already explained to the user on stderr.
var errUsage = errors.New("usage")

// Run runs the latch command line. It returns nil on success; on failure
// the error has been printed or is to be printed by the caller.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) < 2 {
		fmt.Fprint(stderr, usage)
		return errUsage
	}
	cmd, rest := args[1], args[2:]
	switch cmd {
	case "serve":
		return serve(ctx, rest, getenv, stdout, stderr)
	case "migrate":
		return migrate(ctx, rest, getenv, stdout, stderr)
	case "keys":
		if len(rest) == 0 || rest[0] != "rotate" {
			fmt.Fprintln(stderr, "usage: latch keys rotate [--activate-in DURATION]")
			return errUsage
		}
		return rotateKeys(ctx, rest[1:], getenv, stdout, stderr)
	case "bench":
		return runBench(ctx, rest, getenv, stdout, stderr)
	case "webhook":
		if len(rest) == 0 || rest[0] != "test" {
			fmt.Fprintln(stderr, "usage: latch webhook test --tenant ID --webhook ID")
			return errUsage
		}
		return testWebhook(ctx, rest[1:], getenv, stdout, stderr)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "latch", version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprintf(stderr, "latch: unknown command %q\n\n%s", cmd, usage)
	return errUsage
}

// IsReported tells main whether err was already printed.
func IsReported(err error) bool { return errors.Is(err, errUsage) }
