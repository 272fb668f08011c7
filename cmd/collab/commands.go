package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/display"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/store"
)

// Version is collab's release, set at build time with -ldflags "-X main.Version=…".
var Version = "0.1.0-dev"

// One row per command, a table peercmds.go's peerCommands continues:
// alike by design.
func commandList() []*command {
	return append([]*command{
		{name: "home", args: "", summary: "show the notes in the notebook", flags: addPeerFlags, run: cmdHome},
		{name: "new", args: "TITLE", summary: "create a note; prints its URL", run: cmdNew},
		{name: "ls", args: "[--json]", summary: "list notes, most recently changed first", flags: jsonFlag, run: cmdList},
		{name: "edit", args: "NOTE", summary: "open a note in the terminal editor", flags: addPeerFlags, run: cmdEdit},
		{name: "cat", args: "NOTE", summary: "print a note's text", run: cmdCat},
		{name: "write", args: "NOTE < FILE", summary: "replace a note's text with stdin (as a minimal edit)", run: cmdWrite},
		{name: "append", args: "NOTE [TEXT...]", summary: "append TEXT and a newline, or stdin as is", run: cmdAppend},
		{name: "log", args: "NOTE [--json]", summary: "show a note's history, newest first", flags: jsonFlag, run: cmdLog},
		{name: "rename", args: "NOTE TITLE", summary: "change a note's title", run: cmdRename},
		{name: "rm", args: "NOTE", summary: "move a note to the trash (see 'collab trash')", run: cmdRemove},
		{name: "trash", args: "[--empty | --restore ID]", summary: "list, restore or empty trashed notes", flags: trashFlags, run: cmdTrash},
		{name: "export", args: "NOTE [-o FILE] [--text]", summary: "write the note as an Automerge document (or plain text)", flags: exportFlags, run: cmdExport},
		{name: "import", args: "FILE [--id ID] [--title T]", summary: "add an Automerge document or a text file as a note", flags: importFlags, run: cmdImport},
		{name: "search", args: "QUERY [--json]", summary: "find notes whose title or text holds QUERY, with the matching lines", flags: jsonFlag, run: cmdSearch},
		{name: "compact", args: "NOTE", summary: "cut a note's history: it goes on from its text, the history before is archived", run: cmdCompact},
		{name: "merge", args: "NOTE FILE", summary: "merge another copy of the same note (offline sync)", run: cmdMerge},
		{name: "version", args: "", summary: "print collab's version", run: cmdVersion},
	}, peerCommands()...)
}

func commands() map[string]*command {
	m := map[string]*command{}
	for _, c := range commandList() {
		m[c.name] = c
	}
	return m
}

// Per-command flag values; each run parses a fresh FlagSet into them.
var (
	asJSON     bool
	outPath    string
	asText     bool
	importID   string
	importName string
	emptyTrash bool
	restoreID  string
)

func jsonFlag(fs *flag.FlagSet) { fs.BoolVar(&asJSON, "json", false, "print JSON") }

func exportFlags(fs *flag.FlagSet) {
	fs.StringVar(&outPath, "o", "", "write to FILE instead of stdout")
	fs.BoolVar(&asText, "text", false, "export plain text instead of the Automerge document")
}

func importFlags(fs *flag.FlagSet) {
	fs.StringVar(&importID, "id", "", "document ID to keep (default: taken from an ID in the file name, else new)")
	fs.StringVar(&importName, "title", "", "the note's title (default: an Automerge file's own title, a text file's name)")
}

func trashFlags(fs *flag.FlagSet) {
	fs.BoolVar(&emptyTrash, "empty", false, "delete trashed notes for good")
	fs.StringVar(&restoreID, "restore", "", "bring back the trashed note with this ID")
}

func cmdHome(e *env, args []string) error {
	if len(args) > 0 {
		return usagef("unknown command %q", args[0])
	}
	if handled, err := homeTUI(e); handled {
		return err
	}
	nb, notes, err := e.listNotes()
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "Notebook %s\n\n", nb.Dir())
	if len(notes) == 0 {
		fmt.Fprintln(e.stdout, "No notes yet. Create one with: collab new \"My first note\"")
	} else {
		printNotes(e.stdout, notes)
	}
	fmt.Fprintln(e.stdout, "\nRun 'collab help' for every command.")
	return nil
}

// listNotes opens the notebook and summarises its notes.
func (e *env) listNotes() (*notebook.Notebook, []notebook.Summary, error) {
	nb, err := e.openNotebookToRead()
	if err != nil {
		return nil, nil, err
	}
	notes, err := nb.List()
	return nb, notes, err
}

func printNotes(w io.Writer, notes []notebook.Summary) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTITLE\tCHANGED\tCHARS")
	for _, n := range notes {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", n.IDString, display.Title(n.Title), n.Modified.Local().Format("2006-01-02 15:04"), n.Chars)
	}
	tw.Flush()
}

func cmdNew(e *env, args []string) error {
	if err := wantArgs(args, 1, -1, "a TITLE"); err != nil {
		return err
	}
	nb, err := e.openNotebook()
	if err != nil {
		return err
	}
	n, err := nb.Create(strings.Join(args, " "))
	if err != nil {
		return err
	}
	if err := n.Close(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, n.URL())
	return nil
}

func cmdList(e *env, args []string) error {
	if err := wantArgs(args, 0, 0, "no arguments"); err != nil {
		return err
	}
	_, notes, err := e.listNotes()
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(e.stdout, notes)
	}
	if len(notes) > 0 {
		printNotes(e.stdout, notes)
	}
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// withNote opens the NOTE argument, runs f, and stores what f changed.
func withNote(e *env, arg string, f func(n *notebook.Note) error) error {
	return withNoteFrom(e, e.openNotebook, arg, f)
}

// readNote is withNote for commands that only read: the notebook is opened
// read-only, so they work where the user may only read.
func readNote(e *env, arg string, f func(n *notebook.Note) error) error {
	return withNoteFrom(e, e.openNotebookToRead, arg, f)
}

func withNoteFrom(e *env, open func() (*notebook.Notebook, error), arg string, f func(n *notebook.Note) error) error {
	nb, err := open()
	if err != nil {
		return err
	}
	n, err := e.openNote(nb, arg)
	if err != nil {
		return err
	}
	return runOnNote(e, n, f)
}

// withUnloadedNote is withNote with the note opened unloaded: its history
// stays on disk until something needs the document.
func withUnloadedNote(e *env, arg string, f func(n *notebook.Note) error) error {
	nb, err := e.openNotebook()
	if err != nil {
		return err
	}
	id, err := nb.Resolve(arg)
	if err != nil {
		return err
	}
	n, warnings, err := nb.OpenNoteUnloaded(id)
	e.warnRepaired(id, warnings)
	if err != nil {
		return err
	}
	return runOnNote(e, n, f)
}

func runOnNote(e *env, n *notebook.Note, f func(n *notebook.Note) error) error {
	ferr := f(n)
	// Close stores edits even when f failed halfway: nothing typed is dropped.
	cerr := n.Close()
	if ferr == nil && errors.Is(cerr, notebook.ErrHousekeeping) {
		// The edit is durably stored: a warning, not a failure.
		fmt.Fprintf(e.stderr, "collab: warning: %v\n", cerr)
		return nil
	}
	return errors.Join(ferr, cerr)
}

func cmdCat(e *env, args []string) error {
	if err := wantArgs(args, 1, 1, "one NOTE"); err != nil {
		return err
	}
	text, err := readText(e, args[0])
	if err != nil {
		return err
	}
	_, err = io.WriteString(e.stdout, text)
	return err
}

// readText is a note's text for commands that only print it: from the
// view cache when current, so a long history is not loaded to print it.
func readText(e *env, arg string) (string, error) {
	nb, err := e.openNotebookToRead()
	if err != nil {
		return "", err
	}
	id, err := nb.Resolve(arg)
	if err != nil {
		return "", err
	}
	_, text, warnings, err := nb.ReadText(id)
	e.warnRepaired(id, warnings)
	return text, err
}

// maxInput bounds what write/append/import read, so a runaway pipe cannot
// exhaust memory: far above any note people write by hand.
const maxInput = 64 << 20

func readInput(r io.Reader) (string, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxInput+1))
	if err != nil {
		return "", fmt.Errorf("read input: %w", err)
	}
	if len(data) > maxInput {
		return "", fmt.Errorf("input is larger than %d MiB", maxInput>>20)
	}
	return toValidUTF8(data), nil
}

func toValidUTF8(b []byte) string { return string(bytes.ToValidUTF8(b, []byte("\uFFFD"))) }

func cmdWrite(e *env, args []string) error {
	if err := wantArgs(args, 1, 1, "one NOTE (the text comes on stdin)"); err != nil {
		return err
	}
	text, err := readInput(e.stdin)
	if err != nil {
		return err
	}
	// Unloaded: the edit is made in Go on the text model when it can be,
	// so a long history is not loaded in the core to change the text.
	return withUnloadedNote(e, args[0], func(n *notebook.Note) error {
		_, err := n.ReplaceText(text)
		return err
	})
}

func cmdAppend(e *env, args []string) error {
	if err := wantArgs(args, 1, -1, "a NOTE and the TEXT to append (or text on stdin)"); err != nil {
		return err
	}
	var text string
	if len(args) > 1 {
		text = strings.Join(args[1:], " ") + "\n"
	} else {
		var err error
		if text, err = readInput(e.stdin); err != nil {
			return err
		}
	}
	return withUnloadedNote(e, args[0], func(n *notebook.Note) error {
		return n.Append(text)
	})
}

func cmdCompact(e *env, args []string) error {
	if err := wantArgs(args, 1, 1, "one NOTE"); err != nil {
		return err
	}
	// Unloaded: the cut is made in Go from the stored history, which need
	// not fit in the core (notebook.StartEpoch).
	return withUnloadedNote(e, args[0], func(n *notebook.Note) error {
		ep, err := n.StartEpoch()
		if errors.Is(err, notebook.ErrShared) {
			return fmt.Errorf("%s keeps its one history: %w (an automerge-repo app or an older collab, which would be left with a copy nobody could merge with)", display.Line(n.Title()), err)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s: epoch %d begins with its text (%d characters); the history before it is archived in the notebook, and `collab log` still shows it\n",
			display.Line(n.Title()), ep.Number, n.Len())
		return nil
	})
}

type logEntry struct {
	Hash    string    `json:"hash"`
	Author  string    `json:"author"`
	Actor   string    `json:"actor"`
	Time    time.Time `json:"time"`
	Added   *int      `json:"added"`
	Removed *int      `json:"removed"`
	Message string    `json:"message"`
	// Epoch is the epoch of the note's history the change is in;
	// BeginsEpoch marks the change an epoch begins with.
	Epoch       uint64 `json:"epoch"`
	BeginsEpoch bool   `json:"beginsEpoch,omitempty"`
}

func cmdLog(e *env, args []string) error {
	if err := wantArgs(args, 1, 1, "one NOTE"); err != nil {
		return err
	}
	return readNote(e, args[0], func(n *notebook.Note) error {
		hist, err := n.History()
		if err != nil {
			return err
		}
		entries := make([]logEntry, 0, len(hist))
		for i := len(hist) - 1; i >= 0; i-- {
			h := hist[i]
			le := logEntry{Hash: h.Hash.String(), Author: h.Author, Actor: h.Actor, Time: h.Time, Message: h.Message,
				Epoch: h.Epoch, BeginsEpoch: h.BeginsEpoch}
			if h.Known {
				le.Added, le.Removed = &h.Added, &h.Removed
			}
			entries = append(entries, le)
		}
		if asJSON {
			return writeJSON(e.stdout, entries)
		}
		tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
		for _, le := range entries {
			who, stats := display.Line(le.Author), "?"
			if who == "" {
				who = "actor " + display.ID(le.Actor)
			}
			if le.BeginsEpoch {
				fmt.Fprintf(tw, "%s\t\t%s\n", le.Hash[:12], fmt.Sprintf("epoch %d begins (the text as it was then); the history before it:", le.Epoch))
				continue
			}
			if le.Added != nil {
				stats = fmt.Sprintf("+%d -%d", *le.Added, *le.Removed)
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", le.Hash[:12], le.Time.Local().Format("2006-01-02 15:04:05"), who, stats)
		}
		return tw.Flush()
	})
}

func cmdRename(e *env, args []string) error {
	if err := wantArgs(args, 2, -1, "a NOTE and its new TITLE"); err != nil {
		return err
	}
	return withNote(e, args[0], func(n *notebook.Note) error {
		return n.SetTitle(strings.Join(args[1:], " "))
	})
}

func cmdRemove(e *env, args []string) error {
	nb, id, err := e.resolveOne(args)
	if err != nil {
		return err
	}
	if err := nb.Trash(id); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "moved %s to the trash; bring it back with: collab trash --restore %s\n", id, id)
	return nil
}

func cmdTrash(e *env, args []string) error {
	if err := wantArgs(args, 0, 0, "no arguments"); err != nil {
		return err
	}
	if emptyTrash && restoreID != "" {
		return usagef("--empty and --restore exclude each other")
	}
	nb, err := e.openNotebook()
	if err != nil {
		return err
	}
	switch {
	case emptyTrash:
		return nb.EmptyTrash()
	case restoreID != "":
		id, err := crdt.ParseDocumentID(restoreID)
		if err != nil {
			return err
		}
		return nb.Restore(id)
	}
	trashed, err := nb.Trashed()
	if err != nil {
		return err
	}
	if len(trashed) == 0 {
		fmt.Fprintln(e.stdout, "The trash is empty.")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTITLE\tTRASHED")
	for _, t := range trashed {
		title := "(title unknown)"
		if t, err := nb.TrashedTitle(t); err == nil {
			title = display.Title(t)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", t.ID, title, t.TrashedAt.Local().Format("2006-01-02 15:04"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "\nBring one back with: collab trash --restore ID")
	return nil
}

func cmdExport(e *env, args []string) error {
	if err := wantArgs(args, 1, 1, "one NOTE"); err != nil {
		return err
	}
	if outPath == "" && !asText && isTerminal(e.stdout) {
		return usagef("an Automerge document is binary: give -o FILE, redirect stdout, or use --text")
	}
	var data []byte
	if asText {
		text, err := readText(e, args[0])
		if err != nil {
			return err
		}
		data = []byte(text)
	} else {
		err := readNote(e, args[0], func(n *notebook.Note) (err error) {
			data, err = n.Save()
			return err
		})
		if err != nil {
			return err
		}
	}
	if outPath == "" {
		_, err := e.stdout.Write(data)
		return err
	}
	// Never a half-written export where a good file was.
	if err := store.WriteFile(outPath, data); err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}

// idInName finds a document ID in a file name such as "Notes.<id>.automerge".
var idInName = regexp.MustCompile(`[1-9A-HJ-NP-Za-km-z]{20,30}`)

func cmdImport(e *env, args []string) error {
	if err := wantArgs(args, 1, 1, "one FILE"); err != nil {
		return err
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	nb, err := e.openNotebook()
	if err != nil {
		return err
	}
	var n *notebook.Note
	if crdt.IsAutomerge(data) {
		id, err := importedID(args[0])
		if err != nil {
			return err
		}
		if n, err = nb.Import(id, data); err != nil {
			if errors.Is(err, store.ErrExists) {
				return fmt.Errorf("note %s is already in the notebook; to combine the copies use: collab merge %s %s", id, id, args[0])
			}
			return err
		}
		if importName != "" {
			if err := n.SetTitle(importName); err != nil {
				n.Close()
				return err
			}
		}
	} else {
		if len(data) > maxInput {
			return fmt.Errorf("import: %s is larger than %d MiB", args[0], maxInput>>20)
		}
		title := importName
		if title == "" {
			title = strings.TrimSuffix(filepath.Base(args[0]), filepath.Ext(args[0]))
		}
		if n, err = nb.Create(title); err != nil {
			return err
		}
		if err := n.Splice(0, 0, toValidUTF8(data)); err != nil {
			n.Close()
			return err
		}
	}
	// Ends as cmdNew does (close, print the URL): three lines, plainer inline.
	if err := n.Close(); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, n.URL())
	return nil
}

func cmdSearch(e *env, args []string) error {
	if err := wantArgs(args, 1, -1, "a QUERY"); err != nil {
		return err
	}
	query := strings.Join(args, " ")
	nb, err := e.openNotebookToRead()
	if err != nil {
		return err
	}
	res, err := nb.Search(query, notebook.SearchOptions{})
	if err != nil {
		return err
	}
	if asJSON {
		if res == nil {
			res = []notebook.SearchResult{}
		}
		return writeJSON(e.stdout, res)
	}
	if len(res) == 0 {
		fmt.Fprintf(e.stdout, "No note holds %q.\n", query)
		return nil
	}
	for i, r := range res {
		if i > 0 {
			fmt.Fprintln(e.stdout)
		}
		what := fmt.Sprintf("%d matches", r.Matches)
		switch {
		case r.Matches == 1:
			what = "1 match"
		case r.Matches == 0:
			what = "title"
		}
		fmt.Fprintf(e.stdout, "%s  %s  (%s)\n", r.IDString, display.Title(r.Title), what)
		for _, l := range r.Lines {
			fmt.Fprintf(e.stdout, "%6d: %s\n", l.Line, printable(l.Text))
		}
	}
	return nil
}

// printable makes a line of note text safe for a terminal: control
// characters (which a peer may have typed) are shown in caret notation,
// tabs kept.
func printable(s string) string {
	if !strings.ContainsFunc(s, isControl) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '\t':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			b.WriteByte('^')
			b.WriteByte(byte(r) ^ 0x40)
		case isControl(r):
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isControl covers C0, DEL and C1 (which terminals act on, e.g. CSI).
func isControl(r rune) bool { return r < 0x20 || (r >= 0x7f && r < 0xa0) }

func importedID(path string) (crdt.DocumentID, error) {
	if importID != "" {
		id, err := crdt.ParseDocumentID(importID)
		if err != nil {
			return id, usagef("--id: %v", err)
		}
		return id, nil
	}
	for _, m := range idInName.FindAllString(filepath.Base(path), -1) {
		if id, err := crdt.ParseDocumentID(m); err == nil {
			return id, nil
		}
	}
	return crdt.DocumentID{}, nil
}

func cmdMerge(e *env, args []string) error {
	if err := wantArgs(args, 2, 2, "a NOTE and a FILE"); err != nil {
		return err
	}
	data, err := os.ReadFile(args[1])
	if err != nil {
		return fmt.Errorf("merge: %w", err)
	}
	return withNote(e, args[0], func(n *notebook.Note) error {
		added, err := n.Merge(data)
		if errors.Is(err, crdt.ErrDifferentDoc) {
			return fmt.Errorf("%s is a different note than %s: they share no history, so merging would make one text hide the other; import it as its own note instead (collab import %s)", args[1], n.ID, args[1])
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "merged %d new changes into %s\n", added, n.ID)
		return nil
	})
}

func cmdVersion(e *env, args []string) error {
	am := "unknown"
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, d := range info.Deps {
			if d.Path == "github.com/automerge/automerge-go" {
				am = d.Version
			}
		}
	}
	fmt.Fprintf(e.stdout, "collab %s (automerge-go %s, %s %s/%s)\n", Version, am, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
