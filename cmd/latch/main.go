// Command latch is a self-hostable authentication server. See README.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/latchauth/latch/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.Run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(cli.ExitCode(err))
}
