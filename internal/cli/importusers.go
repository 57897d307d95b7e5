package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/latchauth/latch/internal/httpapi/wire"
	"github.com/latchauth/latch/internal/identity"
	"github.com/latchauth/latch/internal/password"
)

// maxLine bounds one line of an import file: a user with 100 metadata
// items of 4 KiB fits.
const maxLine = 1 << 20

// importLine is one line of an import file as read, before validation.
type importLine struct {
	n   int    // line number in the file (1-based)
	raw []byte // the line as it was, for --rejects
	rec []byte // the record as JSON (a CSV row is converted)
	err error  // the line could not even be read as a record
}

// importRecord is a line's JSON: a user record, and a Firebase export's
// salt beside its password_hash.
type importRecord struct {
	identity.UserRecord
	Salt *string `json:"salt"`
}

// prepared is a line after validation.
type prepared struct {
	line importLine
	rec  identity.UserRecord
	user *identity.User
	err  error
}

// importer runs one `latch user import`.
type importer struct {
	admin    *identity.Admin
	tenantID string
	update   bool
	firebase *password.FirebaseProject
	workers  int
	stderr   io.Writer
	rejects  io.Writer // nil: not kept
	header   []byte    // a CSV file's header row, written before its first reject

	counts         identity.ImportCounts
	progressEvery  time.Duration
	lastProgress   time.Time
	start          time.Time
	bar            *progressbar.ProgressBar
	rejectsStarted bool
}

func importUsers(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	s := newSettings("user import", getenv, stderr)
	s.usage = "latch user import --tenant ID|ALIAS [flags] FILE|-"
	s.about = `Import users into a tenant, straight into the database (LATCH_DB; servers may be running).
FILE (or - for stdin) holds one user per line as JSON (NDJSON), or with --format csv a header row
naming the columns. Each user is checked like an admin API create: the admin API's user fields, with
"password" (hashed with the deployment's argon2id) or "password_hash" (bcrypt, argon2, scrypt,
Firebase scrypt, PBKDF2, {SSHA}). A user whose email the tenant has is skipped (--on-conflict).
A bad line is reported with its line number and the rest imported; exit status 1 when any was.`
	store := addStore(s, "sqlite:latch.db")
	argon := addArgon(s)
	tenant := s.add("tenant", "LATCH_TENANT", "", "the tenant, by id or alias")
	format := s.fs.String("format", "ndjson", "ndjson (default: one JSON object per line) or csv (a header row, then a user per row)")
	onConflict := s.fs.String("on-conflict", "skip", "a user whose email exists: skip (default), or update (the line's fields replace the user's)")
	rejects := s.fs.String("rejects", "", "write the rejected lines, as they were, to this file (fix it and import it again)")
	batch := s.fs.Int("batch", 1000, "users per transaction, 1-10000 (default 1000)")
	every := s.fs.Duration("progress-every", 5*time.Second, "when stderr is not a terminal, print a progress line this often (default 5s; 0: after each batch)")
	fbKey := s.fs.String("firebase-signer-key", "", "Firebase scrypt: the project's base64_signer_key (lines carry password_hash and salt)")
	fbSep := s.fs.String("firebase-salt-separator", "", "Firebase scrypt: the project's base64_salt_separator")
	fbRounds := s.fs.Int("firebase-rounds", 8, "Firebase scrypt: the project's rounds (default 8)")
	fbMem := s.fs.Int("firebase-mem-cost", 14, "Firebase scrypt: the project's mem_cost (default 14)")
	pos, err := s.parseArgs(args, 1, 1)
	if err != nil {
		return err
	}
	switch {
	case *tenant.val == "":
		return usagef("--tenant (or LATCH_TENANT) is required: the tenant's id or alias")
	case *format != "ndjson" && *format != "csv":
		return usagef("--format must be ndjson or csv")
	case *onConflict != "skip" && *onConflict != "update":
		return usagef("--on-conflict must be skip or update")
	case *batch < 1 || *batch > 10000:
		return usagef("--batch must be from 1 to 10000")
	case (*fbKey == "") != (*fbSep == ""):
		return usagef("Firebase scrypt needs both --firebase-signer-key and --firebase-salt-separator")
	}
	params, err := argon.params()
	if err != nil {
		return err
	}
	imp := &importer{update: *onConflict == "update", workers: runtime.GOMAXPROCS(0), stderr: stderr, progressEvery: *every}
	if *fbKey != "" {
		imp.firebase = &password.FirebaseProject{SignerKey: *fbKey, SaltSeparator: *fbSep, Rounds: *fbRounds, MemCost: *fbMem}
		// The parameters are the same for every line: check them once, with
		// a stand-in user hash of the signer key's length.
		if _, err := imp.firebase.Encode("AA==", *fbKey); err != nil {
			return usagef("the --firebase-* parameters: %v", err)
		}
	}
	in, size, err := openInput(pos[0])
	if err != nil {
		return err
	}
	defer in.Close()
	if *rejects != "" {
		f, err := os.Create(*rejects)
		if err != nil {
			return usagef("--rejects: %v", err)
		}
		defer f.Close()
		w := bufio.NewWriter(f)
		defer w.Flush()
		imp.rejects = w
	}
	db, _, err := store.open(ctx)
	if err != nil {
		return err
	}
	defer db.Close()
	// Every core hashes: one worker per CPU, each fed by its own
	// goroutine, so nobody waits in the hashing queue.
	hasher, err := password.NewPool(params, password.Pool{Workers: imp.workers})
	if err != nil {
		return err
	}
	imp.admin = &identity.Admin{
		Runtime: identity.Runtime{Events: db, Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))},
		Tenants: db, Users: db, Passwords: hasher,
	}
	t, err := findTenant(ctx, db, *tenant.val)
	if err != nil {
		return err
	}
	imp.tenantID = t.ID
	if f, ok := stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		imp.bar = newBar(f, size, *format)
	}
	lines := make(chan importLine, 4*(*batch))
	readErr := make(chan error, 1)
	go func() {
		defer close(lines)
		if *format == "csv" {
			readErr <- imp.readCSV(in, lines)
		} else {
			readErr <- readNDJSON(in, lines)
		}
	}()
	imp.start = time.Now()
	err = imp.run(identity.Via(ctx, "cli"), lines, *batch)
	if rerr := <-readErr; err == nil && rerr != nil {
		err = fmt.Errorf("read %s: %w", pos[0], rerr)
	}
	if imp.bar != nil {
		imp.bar.Finish()
		fmt.Fprintln(stderr)
	}
	c := imp.counts
	if c.Imported+c.Updated > 0 || err == nil {
		imp.admin.AuditImport(identity.Via(context.WithoutCancel(ctx), "cli"), imp.tenantID, c)
	}
	fmt.Fprintf(stdout, "imported %d, updated %d, skipped %d, rejected %d in %.1f s\n", c.Imported, c.Updated, c.Skipped, c.Rejected, time.Since(imp.start).Seconds())
	if err != nil {
		return err
	}
	if c.Rejected > 0 {
		return &reported{fmt.Errorf("%d lines rejected", c.Rejected)}
	}
	return nil
}

// openInput opens FILE, or stdin for -, and says how many lines it has
// when that is cheap to know (a regular file): the progress bar's total.
func openInput(name string) (io.ReadCloser, int64, error) {
	if name == "-" {
		return io.NopCloser(stdin), -1, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, usagef("%v", err)
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return f, -1, nil
	}
	n, err := countLines(f)
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, n, nil
}

func countLines(r io.Reader) (int64, error) {
	buf := make([]byte, 1<<20)
	var n int64
	for {
		k, err := r.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if errors.Is(err, io.EOF) {
			return n, nil
		} else if err != nil {
			return 0, err
		}
	}
}

func newBar(w io.Writer, lines int64, format string) *progressbar.ProgressBar {
	if lines > 0 && format == "csv" {
		lines-- // the header
	}
	return progressbar.NewOptions64(lines, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription("importing"),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("users"),
		progressbar.OptionSetPredictTime(true), progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionFullWidth())
}

// findTenant resolves --tenant against the database: an id, or an alias.
func findTenant(ctx context.Context, db Store, ref string) (*identity.Tenant, error) {
	if identity.WellFormedID(ref) {
		t, err := db.GetTenant(ctx, strings.ToLower(ref))
		if err == nil || identity.ErrorCode(err) != identity.ENOTFOUND {
			return t, err
		}
	}
	t, err := db.GetTenantByAlias(ctx, strings.ToLower(strings.TrimSpace(ref)))
	if identity.ErrorCode(err) == identity.ENOTFOUND {
		return nil, fmt.Errorf("no tenant with id or alias %q", ref)
	}
	return t, err
}

// readNDJSON sends each non-blank line of r.
func readNDJSON(r io.Reader, out chan<- importLine) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		line, err := readLine(br)
		if len(bytes.TrimSpace(line)) > 0 {
			l := importLine{n: n, raw: line, rec: line}
			if len(line) > maxLine {
				l = importLine{n: n, raw: line, err: identity.Invalid("", "the line is longer than %d bytes", maxLine)}
			}
			out <- l
		}
		if errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return err
		}
	}
}

// readLine reads one line without its end (\n or \r\n).
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		if len(line) <= maxLine {
			line = append(line, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), err
	}
}

// csvLists are the CSV columns that hold lists, comma-separated in their
// cell; csvJSON those that hold JSON; csvBools those that hold true/false.
var (
	csvLists = []string{"roles", "tags", "organisation_ids"}
	csvJSON  = []string{"metadata", "profile"}
	csvBools = []string{"email_verified"}
	// csvColumns are the columns a CSV file may have: the user record's
	// fields.
	csvColumns = []string{"id", "created_at", "email", "username", "email_verified", "password", "password_hash", "salt", "first_name",
		"last_name", "role", "roles", "status", "tags", "metadata", "profile", "organisation_ids"}
)

// readCSV sends each row of r as the JSON record it stands for; an empty
// cell is an absent field.
func (imp *importer) readCSV(r io.Reader, out chan<- importLine) error {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil
	} else if err != nil {
		return fmt.Errorf("the header row: %w", err)
	}
	for i, h := range header {
		header[i] = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if !slices.Contains(csvColumns, header[i]) {
			return fmt.Errorf("the header row names %q, which is not a user field (%s)", h, strings.Join(csvColumns, ", "))
		}
	}
	imp.header = csvRow(header)
	cr.FieldsPerRecord = len(header)
	for {
		row, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		n, _ := cr.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return err
			}
			out <- importLine{n: pe.StartLine, raw: csvRow(row), err: identity.Invalid("", "%v", pe.Err)}
			continue
		}
		l := importLine{n: n, raw: csvRow(row)}
		l.rec, l.err = csvRecord(header, row)
		out <- l
	}
}

func csvRow(row []string) []byte {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	w.Write(row)
	w.Flush()
	return bytes.TrimRight(b.Bytes(), "\r\n")
}

// csvRecord turns a CSV row into the JSON object a line of NDJSON is.
func csvRecord(header, row []string) ([]byte, error) {
	rec := map[string]any{}
	for i, v := range row {
		k := header[i]
		if v == "" {
			continue
		}
		switch {
		case slices.Contains(csvLists, k):
			rec[k] = splitList(v)
		case slices.Contains(csvJSON, k):
			if !json.Valid([]byte(v)) {
				return nil, identity.Invalid(k, "must be JSON")
			}
			rec[k] = json.RawMessage(v)
		case slices.Contains(csvBools, k):
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, identity.Invalid(k, "must be true or false")
			}
			rec[k] = b
		default:
			rec[k] = v
		}
	}
	return json.Marshal(rec)
}

// run validates the lines in batches, on every core, and stores each
// batch while the next is being validated.
func (imp *importer) run(ctx context.Context, lines <-chan importLine, size int) error {
	batches := make(chan []prepared, 1)
	stored := make(chan error, 1)
	ctx, stop := context.WithCancel(ctx) // a failed write stops the validation too
	defer stop()
	go func() {
		var err error
		for b := range batches {
			if err == nil {
				if err = imp.store(ctx, b); err != nil {
					stop()
				}
			}
		}
		stored <- err
	}()
	var err error
	for err == nil {
		b := make([]importLine, 0, size)
		for l := range lines {
			if b = append(b, l); len(b) == size {
				break
			}
		}
		if len(b) == 0 {
			break
		}
		batches <- imp.prepare(ctx, b)
		err = ctx.Err()
	}
	close(batches)
	if serr := <-stored; serr != nil {
		err = serr
	}
	for range lines { // let the reader finish
	}
	return err
}

// prepare decodes and validates a batch of lines on imp.workers goroutines.
func (imp *importer) prepare(ctx context.Context, lines []importLine) []prepared {
	out := make([]prepared, len(lines))
	var wg sync.WaitGroup
	next := make(chan int)
	for range imp.workers {
		wg.Go(func() {
			for i := range next {
				out[i] = imp.prepareLine(ctx, lines[i])
			}
		})
	}
	for i := range lines {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

func (imp *importer) prepareLine(ctx context.Context, l importLine) prepared {
	p := prepared{line: l, err: l.err}
	if p.err != nil {
		return p
	}
	var rec importRecord
	// The admin API's decoder: the same errors for the same mistakes.
	if err := wire.Unmarshal(l.rec, &rec); err != nil {
		p.err = err
		return p
	}
	if rec.Salt != nil {
		if imp.firebase == nil || rec.PasswordHash == nil {
			p.err = identity.Invalid("salt", "is for Firebase scrypt hashes: give password_hash and the project's --firebase-* flags")
			return p
		}
		h, err := imp.firebase.Encode(*rec.Salt, *rec.PasswordHash)
		if err != nil {
			p.err = identity.Invalid("password_hash", "%v", err)
			return p
		}
		rec.PasswordHash = &h
	}
	p.rec = rec.UserRecord
	p.user, p.err = imp.admin.PrepareImport(ctx, imp.tenantID, rec.UserRecord)
	return p
}

// store writes a batch's valid users and reports every line's outcome.
func (imp *importer) store(ctx context.Context, batch []prepared) error {
	var recs []identity.UserRecord
	var users []*identity.User
	var at []int
	for i, p := range batch {
		if p.err == nil {
			recs, users, at = append(recs, p.rec), append(users, p.user), append(at, i)
		}
	}
	if len(users) > 0 {
		res, err := imp.admin.ImportUsers(ctx, imp.tenantID, recs, users, imp.update)
		if err != nil {
			return fmt.Errorf("store lines %d to %d: %w", batch[0].line.n, batch[len(batch)-1].line.n, err)
		}
		for j, r := range res {
			batch[at[j]].err = r.Err
			switch r.Outcome {
			case identity.Imported:
				imp.counts.Imported++
			case identity.Updated:
				imp.counts.Updated++
			case identity.Skipped:
				imp.counts.Skipped++
			}
		}
	}
	for _, p := range batch {
		if p.err != nil {
			imp.counts.Rejected++
			fmt.Fprintf(imp.stderr, "line %d: %s\n", p.line.n, reason(p.err))
			if err := imp.reject(p.line); err != nil {
				return err
			}
		}
	}
	imp.progress(len(batch), batch[len(batch)-1].line.n)
	return nil
}

// reason is what was wrong with a line, as the admin API words it.
func reason(err error) string {
	var e *identity.Error
	if errors.As(err, &e) && e.Field != "" {
		return e.Field + ": " + e.Message
	} else if errors.As(err, &e) {
		return e.Message
	}
	var be *wire.BodyError
	if errors.As(err, &be) {
		msg := strings.Replace(be.Message, "the request body", "the line", 1)
		if be.Field != "" {
			return be.Field + ": " + msg
		}
		return msg
	}
	return err.Error()
}

func (imp *importer) reject(l importLine) error {
	if imp.rejects == nil {
		return nil
	}
	if !imp.rejectsStarted && imp.header != nil {
		if _, err := fmt.Fprintf(imp.rejects, "%s\n", imp.header); err != nil {
			return fmt.Errorf("--rejects: %w", err)
		}
	}
	imp.rejectsStarted = true
	if _, err := fmt.Fprintf(imp.rejects, "%s\n", l.raw); err != nil {
		return fmt.Errorf("--rejects: %w", err)
	}
	return nil
}

// progress moves the bar on a terminal; elsewhere (a log, CI) it prints
// a plain line at most every progressEvery.
func (imp *importer) progress(n, line int) {
	if imp.bar != nil {
		imp.bar.Add(n)
		return
	}
	now := time.Now()
	if now.Sub(imp.lastProgress) < imp.progressEvery {
		return
	}
	imp.lastProgress = now
	c := imp.counts
	done := c.Imported + c.Updated + c.Skipped + c.Rejected
	rate := float64(done) / max(now.Sub(imp.start).Seconds(), 1e-3)
	fmt.Fprintf(imp.stderr, "progress: line %d, %d users (imported %d, updated %d, skipped %d, rejected %d), %.0f users/s\n",
		line, done, c.Imported, c.Updated, c.Skipped, c.Rejected, rate)
}
