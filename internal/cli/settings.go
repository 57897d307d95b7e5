package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// setting is one configuration value: a flag, its LATCH_* variable and a
// default. The flag wins over the variable, the variable over the config
// file, the file over the default. Each variable may instead name a file
// holding the value (LATCH_SECRET_FILE=/run/secrets/latch_secret), for
// secrets that should not sit in the environment.
type setting struct {
	flag, env, def, help string
	val                  *string
	isBool               bool
	source               string // "flag", "env", "config file" or "default", once parsed
}

// String, Set and IsBoolFlag make a setting its own flag.Value.
func (st *setting) String() string {
	if st == nil || st.val == nil {
		return ""
	}
	return *st.val
}

func (st *setting) Set(v string) error { *st.val = v; return nil }

func (st *setting) IsBoolFlag() bool { return st.isBool }

// explicit reports whether the operator chose the value (flag, variable
// or config file) rather than getting the default.
func (st *setting) explicit() bool { return st.source != "default" }

// on is the value of a boolean setting (checked by parse).
func (st *setting) on() bool { b, _ := strconv.ParseBool(*st.val); return b }

// settings is the flag set of one command and the settings it reads.
type settings struct {
	fs       *flag.FlagSet
	name     string // "serve", "keys rotate"
	list     []*setting
	getenv   func(string) string
	config   *string
	usage    string            // "latch serve [--dev] [flags]"
	about    string            // what the command does, for -h
	file     map[string]string // the config file's values, once parsed
	readFile func(string) ([]byte, error)
	order    []string // flag names in declaration order, for -h
	stderr   io.Writer
}

func newSettings(name string, getenv func(string) string, stderr io.Writer) *settings {
	fs := flag.NewFlagSet("latch "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	s := &settings{fs: fs, name: name, getenv: getenv, usage: "latch " + name + " [flags]", readFile: os.ReadFile}
	// The flag package prints what is wrong; parseArgs adds a hint, and
	// the full help goes to stdout on -h only.
	fs.Usage = func() {}
	s.stderr = stderr
	s.config = fs.String("config", "", "read settings from this YAML file (keys are the LATCH_* names; env LATCH_CONFIG)")
	return s
}

// add declares a setting; one line per setting keeps the list readable.
func (s *settings) add(flagName, env, def, help string) *setting {
	st := &setting{flag: flagName, env: env, def: def, help: help, val: new(string)}
	s.fs.Var(st, flagName, help)
	s.list = append(s.list, st)
	s.order = append(s.order, flagName)
	return st
}

// addBool declares an on/off setting: `--flag` alone turns it on,
// `--flag=false` off; its variable takes true/false/1/0.
func (s *settings) addBool(flagName, env, def, help string) *setting {
	st := s.add(flagName, env, def, help)
	st.isBool = true
	return st
}

// helpRequest is what parse returns for -h: Run prints the text to stdout
// and exits 0.
type helpRequest struct {
	text string
	vars []string // the LATCH_* names the command reads
}

func (h *helpRequest) Error() string { return "help requested" }

// parse parses a command line that takes no positional arguments.
func (s *settings) parse(args []string) error {
	_, err := s.parseArgs(args, 0, 0)
	return err
}

// parseArgs parses flags, which may come before or after the positional
// arguments (`latch tenant get acme --json`), checks that there are
// between lo and hi positional arguments (hi < 0: any number), and
// resolves every setting.
func (s *settings) parseArgs(args []string, lo, hi int) ([]string, error) {
	var pos []string
	for {
		if err := s.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, &helpRequest{text: s.helpText(), vars: s.vars()}
			}
			fmt.Fprintf(s.stderr, "Run 'latch %s -h' for help.\n", s.name)
			return nil, errUsage
		}
		rest := s.fs.Args()
		if len(rest) == 0 {
			break
		}
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	switch {
	case len(pos) < lo:
		return nil, usagef("missing argument (usage: %s)", s.usage)
	case hi >= 0 && len(pos) > hi:
		return nil, usagef("unexpected argument %q (usage: %s)", pos[hi], s.usage)
	}
	if err := s.resolve(); err != nil {
		return nil, err
	}
	return pos, nil
}

// resolve gives every setting not set by a flag its value from the
// environment, the config file or the default.
func (s *settings) resolve() error {
	set := map[string]bool{}
	s.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	file, err := s.loadConfig(set["config"])
	if err != nil {
		return err
	}
	s.file = file
	for _, st := range s.list {
		if set[st.flag] {
			st.source = "flag"
		} else {
			v, src, err := s.lookup(st.env, file)
			if err != nil {
				return err
			}
			if src == "" {
				v, src = st.def, "default"
			}
			*st.val, st.source = v, src
		}
		if st.isBool {
			if _, err := strconv.ParseBool(*st.val); err != nil {
				return st.badValue("must be true or false")
			}
		}
	}
	return nil
}

// lookup finds the value of a LATCH_* name that was not given as a flag:
// the variable, then NAME_FILE, then the config file (NAME, then
// NAME_FILE). src is "" when none has it.
func (s *settings) lookup(env string, file map[string]string) (v, src string, err error) {
	direct, fromFile := s.getenv(env), s.getenv(env+"_FILE")
	switch {
	case direct != "" && fromFile != "":
		return "", "", usagef("both %s and %s_FILE are set; set one", env, env)
	case direct != "":
		return direct, "env", nil
	case fromFile != "":
		v, err := s.secretFile(env+"_FILE", fromFile)
		return v, "env", err
	}
	direct, fromFile = file[env], file[env+"_FILE"]
	switch {
	case direct != "" && fromFile != "":
		return "", "", usagef("the config file sets both %s and %s_FILE; set one", env, env)
	case direct != "":
		return direct, "config file", nil
	case fromFile != "":
		v, err := s.secretFile(env+"_FILE", fromFile)
		return v, "config file", err
	}
	return "", "", nil
}

// value resolves a LATCH_* name this command has no flag for (the admin
// commands read LATCH_LISTEN to find a local server). Call after parse.
func (s *settings) value(env string) string {
	v, _, _ := s.lookup(env, s.file)
	return v
}

// secretFile reads a NAME_FILE value: the file's content without the
// trailing newline that editors and `echo` add.
func (s *settings) secretFile(name, path string) (string, error) {
	b, err := s.readFile(path)
	if err != nil {
		return "", usagef("%s: %v", name, err)
	}
	v := strings.TrimRight(string(b), "\r\n")
	if v == "" {
		return "", usagef("%s: %s is empty", name, path)
	}
	return v, nil
}

// loadConfig reads --config (or LATCH_CONFIG). fromFlag says the flag was
// given, so an empty value is a mistake rather than "no file".
func (s *settings) loadConfig(fromFlag bool) (map[string]string, error) {
	path := *s.config
	if !fromFlag {
		path = s.getenv("LATCH_CONFIG")
	}
	if path == "" {
		if fromFlag {
			return nil, usagef("--config needs a file name")
		}
		return nil, nil
	}
	b, err := s.readFile(path)
	if err != nil {
		return nil, usagef("config file: %v", err)
	}
	return parseConfigFile(path, b, Variables())
}

// badValue names the setting both ways, since the operator may have used
// either; a bad value is a usage error (exit 2).
func (st *setting) badValue(format string, args ...any) error {
	v := *st.val
	if strings.HasSuffix(st.env, "SECRET") || strings.HasSuffix(st.env, "TOKEN") {
		v = "…" // never echo a secret
	}
	return usagef("invalid %s (--%s) %q: %s", st.env, st.flag, v, fmt.Sprintf(format, args...))
}

func (st *setting) duration(lo, hi time.Duration) (time.Duration, error) {
	d, err := time.ParseDuration(*st.val)
	if err != nil {
		return 0, st.badValue("not a duration (like 15m or 1h)")
	}
	if d < lo || d > hi {
		return 0, st.badValue("must be between %v and %v", lo, hi)
	}
	return d, nil
}

func (st *setting) uint(lo, hi uint64) (uint64, error) {
	n, err := strconv.ParseUint(*st.val, 10, 32)
	if err != nil || n < lo || n > hi {
		return 0, st.badValue("must be a whole number from %d to %d", lo, hi)
	}
	return n, nil
}

// vars lists the LATCH_* names the command reads.
func (s *settings) vars() []string {
	var out []string
	for _, st := range s.list {
		out = append(out, st.env)
	}
	return out
}

// helpText is the -h text: usage, what the command does, and each flag
// with its variable and default.
func (s *settings) helpText() string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: %s\n", s.usage)
	if s.about != "" {
		fmt.Fprintf(&b, "\n%s\n", strings.TrimSpace(s.about))
	}
	b.WriteString("\nFlags:\n")
	tw := tabwriter.NewWriter(&b, 0, 8, 2, ' ', 0)
	byFlag := map[string]*setting{}
	for _, st := range s.list {
		byFlag[st.flag] = st
	}
	var names []string
	s.fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	// Declaration order reads better than the alphabetical VisitAll: the
	// flags declared through settings first, then the others, --config last.
	slices.SortStableFunc(names, func(a, b string) int { return s.rank(a) - s.rank(b) })
	for _, name := range names {
		f := s.fs.Lookup(name)
		if st := byFlag[name]; st != nil {
			arg := " VALUE"
			if st.isBool {
				arg = ""
			}
			def := st.def
			if def == "" {
				def = "none"
			}
			fmt.Fprintf(tw, "  --%s%s\t%s [%s; default %s]\n", name, arg, st.help, st.env, def)
			continue
		}
		arg := " VALUE"
		if bf, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && bf.IsBoolFlag() {
			arg = ""
		}
		fmt.Fprintf(tw, "  --%s%s\t%s\n", name, arg, f.Usage)
	}
	tw.Flush()
	b.WriteString("\nA flag wins over its LATCH_* variable, the variable over the config file.\n" +
		"Each variable may name a file holding the value instead: LATCH_SECRET_FILE=/run/secrets/latch_secret.\n")
	return b.String()
}

func (s *settings) rank(name string) int {
	if name == "config" {
		return 1 << 20
	}
	if i := slices.Index(s.order, name); i >= 0 {
		return i
	}
	return len(s.order)
}
