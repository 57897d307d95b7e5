// Package cli is the latch command: Run parses the subcommand and its
// configuration and wires the store, keyring, identity service and HTTP
// server together. cmd/latch's main only calls Run.
package cli
