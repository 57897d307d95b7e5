// Command latch is a self-hostable authentication server. See README.md.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/latchauth/latch/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := cli.Run(ctx, os.Args, os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !cli.IsReported(err) {
			fmt.Fprintln(os.Stderr, "latch:", err)
		}
		os.Exit(1)
	}
}
