package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
)

// runFunc is one leaf command.
type runFunc func(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error

// command is a node of the command tree: a leaf (run) or a group (sub).
type command struct {
	name    string
	summary string
	section string // heading in `latch help`; groups' children inherit it
	run     runFunc
	sub     []*command
}

const (
	sectionServer = "Server and database (LATCH_DB)"
	sectionAdmin  = "Admin API of a running server (LATCH_URL, LATCH_ADMIN_TOKEN)"
	sectionOther  = "Other"
)

// commands is the command tree. A group's subcommands are its list:
// `latch user import` joins users' by appending a &command{name: "import",
// …} there. A leaf parses its flags with newSettings and s.parse first, so
// that -h works and Variables can list what it reads.
func commands() []*command {
	return []*command{
		{name: "serve", section: sectionServer, summary: "run the server (--dev: a local demo set-up)", run: serve},
		{name: "migrate", section: sectionServer, summary: "apply database migrations and exit", run: migrate},
		{name: "keys", section: sectionServer, summary: "access-token signing keys", sub: []*command{
			{name: "rotate", summary: "publish a new signing key that signs after --activate-in", run: rotateKeys},
		}},
		{name: "migration", section: sectionServer, summary: "lazy migration from a hosted API", sub: []*command{
			{name: "status", summary: "how many of a tenant's users first logins migrated, from the database (LATCH_DB)", run: migrationStatus},
		}},
		{name: "healthcheck", section: sectionServer, summary: "exit 0 when the server at LATCH_URL (or LATCH_LISTEN) is ready", run: healthcheck},
		{name: "tenant", section: sectionAdmin, summary: "tenants", sub: resourceCommands(tenants)},
		{name: "user", section: sectionAdmin, summary: "users of a tenant", sub: append(resourceCommands(users),
			&command{name: "import", summary: "import users from NDJSON or CSV, into the database (LATCH_DB)", run: importUsers},
			&command{name: "export", summary: "write a tenant's users as NDJSON, from the database (LATCH_DB)", run: exportUsers})},
		{name: "apikey", section: sectionAdmin, summary: "API keys of a tenant (token-login dialect)", sub: resourceCommands(apiKeys)},
		{name: "org", section: sectionAdmin, summary: "organisations of a tenant", sub: resourceCommands(orgs)},
		{name: "webhook", section: sectionAdmin, summary: "webhook endpoints of a tenant", sub: append(resourceCommands(webhooks),
			&command{name: "test", summary: "send a signed ping to an endpoint, from the database (LATCH_DB)", run: testWebhook})},
		{name: "bench", section: sectionOther, summary: "load a running server: logins or refreshes", run: runBench},
		{name: "version", section: sectionOther, summary: "print the version and commit", run: printVersion},
	}
}

// errUsage marks errors already explained to the user on stderr (exit 2).
var errUsage = errors.New("usage")

// usageError is a mistake in the command line or the configuration: the
// message is printed and the exit status is 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{fmt.Sprintf(format, args...)} }

// reported marks a runtime failure already printed (exit 1).
type reported struct{ err error }

func (r *reported) Error() string { return r.err.Error() }
func (r *reported) Unwrap() error { return r.err }

// ExitCode is the process exit status for Run's result: 0 success, 1 a
// runtime failure, 2 a usage or configuration error.
func ExitCode(err error) int {
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.As(err, &ue):
		return 2
	}
	return 1
}

// Run runs the latch command line: args[0] is the program name. Errors are
// printed to stderr ("latch: …") and returned; ExitCode maps them to the
// exit status. -h and --help print to stdout and return nil.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		args = args[1:]
	}
	err := dispatch(ctx, args, getenv, stdout, stderr)
	var h *helpRequest
	if errors.As(err, &h) {
		fmt.Fprint(stdout, h.text)
		return nil
	}
	var r *reported
	if err != nil && !errors.Is(err, errUsage) && !errors.As(err, &r) {
		fmt.Fprintln(stderr, "latch:", err)
	}
	return err
}

// dispatch walks the command tree.
func dispatch(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, topHelp())
		return errUsage
	}
	switch args[0] {
	case "-h", "--help", "-help":
		return &helpRequest{text: topHelp()}
	case "help":
		if len(args) == 1 {
			return &helpRequest{text: topHelp()}
		}
		return dispatch(ctx, append(slices.Clone(args[1:]), "-h"), getenv, stdout, stderr)
	case "--version", "-v":
		args = []string{"version"}
	}
	cmds, path := commands(), []string{}
	for {
		i := slices.IndexFunc(cmds, func(c *command) bool { return c.name == args[0] })
		if i < 0 {
			if len(path) == 0 {
				fmt.Fprintf(stderr, "latch: unknown command %q\n\n%s", args[0], topHelp())
			} else {
				fmt.Fprintf(stderr, "latch %s: unknown command %q\n\n%s", strings.Join(path, " "), args[0], groupHelp(path, cmds))
			}
			return errUsage
		}
		c := cmds[i]
		path, args = append(path, c.name), args[1:]
		if c.run != nil {
			return c.run(ctx, args, getenv, stdout, stderr)
		}
		if len(args) == 0 {
			fmt.Fprint(stderr, groupHelp(path, c.sub))
			return errUsage
		}
		if args[0] == "-h" || args[0] == "--help" || args[0] == "-help" || args[0] == "help" {
			return &helpRequest{text: groupHelp(path, c.sub)}
		}
		cmds = c.sub
	}
}

func topHelp() string {
	var b strings.Builder
	b.WriteString("latch: a self-hostable authentication server\n\nUsage: latch <command> [flags]\n")
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	section := ""
	for _, c := range commands() {
		if c.section != section {
			section = c.section
			fmt.Fprintf(tw, "\n%s:\n", section)
		}
		name := c.name
		if len(c.sub) > 0 {
			var subs []string
			for _, s := range c.sub {
				subs = append(subs, s.name)
			}
			name += " " + strings.Join(subs, "|")
		}
		fmt.Fprintf(tw, "  %s\t%s\n", name, c.summary)
	}
	tw.Flush()
	b.WriteString(`
Run 'latch <command> -h' for a command's flags. Every setting is a flag and
a LATCH_* environment variable (the flag wins), may be read from a file
(LATCH_SECRET_FILE=…), and may sit in a YAML config file (--config FILE or
LATCH_CONFIG; keys are the variable names).

Exit status: 0 success, 1 failure, 2 usage or configuration error.
`)
	return b.String()
}

func groupHelp(path []string, sub []*command) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: latch %s <command> [flags]\n\nCommands:\n", strings.Join(path, " "))
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	for _, c := range sub {
		fmt.Fprintf(tw, "  %s\t%s\n", c.name, c.summary)
	}
	tw.Flush()
	fmt.Fprintf(&b, "\nRun 'latch %s <command> -h' for its flags.\n", strings.Join(path, " "))
	return b.String()
}

// Variables returns every LATCH_* variable some command reads (not the
// _FILE forms, which every variable has), sorted: what a config file or a
// deployment file may set.
func Variables() []string {
	known.once.Do(func() { known.list = collectVariables() })
	return known.list
}

var known struct {
	once sync.Once
	list []string
}

func collectVariables() []string {
	set := map[string]bool{"LATCH_CONFIG": true}
	var walk func(path []string, cmds []*command)
	walk = func(path []string, cmds []*command) {
		for _, c := range cmds {
			p := append(slices.Clone(path), c.name)
			if c.run == nil {
				walk(p, c.sub)
				continue
			}
			err := c.run(context.Background(), []string{"-h"}, func(string) string { return "" }, io.Discard, io.Discard)
			var h *helpRequest
			if errors.As(err, &h) {
				for _, v := range h.vars {
					set[v] = true
				}
			}
		}
	}
	walk(nil, commands())
	out := make([]string, 0, len(set))
	for v := range set {
		out = append(out, v)
	}
	slices.Sort(out)
	return out
}
