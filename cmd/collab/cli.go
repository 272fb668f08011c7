package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/store"
	"github.com/collab-editor/collab/sync/engine"
)

// usageError makes the command exit 2, the conventional code for bad usage.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

// env is what a command runs with: its streams and parsed common flags.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	home           string
	name           string
}

// command is one subcommand.
type command struct {
	name    string
	args    string // synopsis after the name
	summary string
	// flags adds the command's own flags; run gets the positional arguments.
	flags func(fs *flag.FlagSet)
	run   func(e *env, args []string) error
}

// parse reads flags anywhere among the arguments (so `collab export NOTE -o
// FILE` works as people type it); "--" ends the flags.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// runCommand parses a subcommand's flags and runs it.
func runCommand(c *command, args []string, e *env) error {
	fs := flag.NewFlagSet("collab "+c.name, flag.ContinueOnError)
	// The flag package would print the usage itself on -help and on every
	// bad flag: the usage is printed here, once, on stdout when asked for;
	// a bad flag is one line on stderr (run adds the pointer to help).
	fs.SetOutput(io.Discard)
	fs.StringVar(&e.home, "home", "", "notebook directory (default $COLLAB_HOME, else $XDG_DATA_HOME/collab, else ~/.local/share/collab)")
	fs.StringVar(&e.name, "name", "", "your display name in note histories (default $COLLAB_NAME, else your login name)")
	if c.flags != nil {
		c.flags(fs)
	}
	fs.Usage = func() {}
	positional, err := parse(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(e.stdout, "usage: collab %s %s\n\n%s\n\nflags:\n", c.name, c.args, c.summary)
		fs.SetOutput(e.stdout)
		fs.PrintDefaults()
		return nil
	}
	if err != nil {
		return usageError{err.Error()}
	}
	return c.run(e, positional)
}

// openNotebook opens the notebook the --home flag and environment point at.
func (e *env) openNotebook() (*notebook.Notebook, error) {
	home, err := store.ResolveHome(e.home)
	if err != nil {
		return nil, err
	}
	return notebook.OpenWith(home, notebook.Options{Author: e.name, CompactAt: compactAtFromEnv()})
}

// openNotebookToRead opens the notebook read-only, for the commands that
// only read (cat, ls, log, export, search): they then work on a notebook
// the user may only read. A notebook that does not exist yet is created as
// by the other commands, so a first `collab ls` shows an empty notebook.
func (e *env) openNotebookToRead() (*notebook.Notebook, error) {
	home, err := store.ResolveHome(e.home)
	if err != nil {
		return nil, err
	}
	nb, err := notebook.OpenWith(home, notebook.Options{Author: e.name, ReadOnly: true})
	if errors.Is(err, store.ErrNotFound) {
		return e.openNotebook()
	}
	return nb, err
}

// compactAtFromEnv is COLLAB_COMPACT_AT, the log size past which notes are
// compacted (tests use a tiny value to compact constantly); 0 when unset.
func compactAtFromEnv() int64 {
	if v, err := strconv.ParseInt(os.Getenv("COLLAB_COMPACT_AT"), 10, 64); err == nil && v > 0 {
		return v
	}
	return 0
}

// openNote resolves a NOTE argument and opens it, reporting repaired damage
// on stderr.
func (e *env) openNote(nb *notebook.Notebook, arg string) (*notebook.Note, error) {
	id, err := nb.Resolve(arg)
	if err != nil {
		return nil, err
	}
	n, warnings, err := nb.OpenNote(id)
	e.warnRepaired(id, warnings)
	if errors.Is(err, crdt.ErrTooLong) {
		err = fmt.Errorf("%w; `collab compact %s` cuts its history, which it keeps, so the note loads at the cost of its text", err, id)
	}
	return n, err
}

// warnRepaired reports on stderr the damage opening a note met and repaired.
func (e *env) warnRepaired(id crdt.DocumentID, warnings []error) {
	for _, w := range warnings {
		fmt.Fprintf(e.stderr, "collab: warning: note %s: %v\n", id, w)
	}
}

// resolveOne opens the notebook and resolves the command's single NOTE argument.
func (e *env) resolveOne(args []string) (*notebook.Notebook, crdt.DocumentID, error) {
	if err := wantArgs(args, 1, 1, "one NOTE"); err != nil {
		return nil, crdt.DocumentID{}, err
	}
	nb, err := e.openNotebook()
	if err != nil {
		return nil, crdt.DocumentID{}, err
	}
	id, err := nb.Resolve(args[0])
	return nb, id, err
}

func wantArgs(args []string, min, max int, what string) error {
	if len(args) < min || (max >= 0 && len(args) > max) {
		return usagef("expected %s", what)
	}
	return nil
}

func main() {
	e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
	os.Exit(run(os.Args[1:], e))
}

// run is the whole program minus the process: it returns the exit code.
func run(args []string, e *env) int {
	err := dispatch(args, e)
	var usage usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &usage):
		fmt.Fprintf(e.stderr, "collab: %v\nRun 'collab help' for usage.\n", err)
		return 2
	default:
		fmt.Fprintf(e.stderr, "collab: %v\n", err)
		if strings.EqualFold(peerOpts.logLevel, "debug") {
			// The words above are for people; libp2p's are for debugging.
			for _, cause := range engine.RawCauses(err) {
				fmt.Fprintf(e.stderr, "collab: raw cause: %s\n", cause)
			}
		}
		return 1
	}
}

func dispatch(args []string, e *env) error {
	cmds := commands()
	if len(args) == 0 {
		return runCommand(cmds["home"], nil, e)
	}
	if strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-h", "-help", "--help":
			printHelp(e.stdout)
			return nil
		case "-version", "--version":
			return runCommand(cmds["version"], nil, e)
		}
		// Flags before any command belong to the default command.
		return runCommand(cmds["home"], args, e)
	}
	if args[0] == "help" {
		if len(args) > 1 {
			if c, ok := cmds[args[1]]; ok {
				return runCommand(c, []string{"--help"}, e)
			}
		}
		printHelp(e.stdout)
		return nil
	}
	c, ok := cmds[args[0]]
	if !ok || c.name == "home" {
		return usagef("unknown command %q", args[0])
	}
	return runCommand(c, args[1:], e)
}

func printHelp(w io.Writer) {
	fmt.Fprint(w, `collab — peer-to-peer collaborative notes in the terminal

usage: collab [command] [flags] [arguments]

With no command, collab shows the notes in your notebook.

commands:
`)
	for _, c := range commandList() {
		if c.name == "home" {
			continue
		}
		fmt.Fprintf(w, "  %-8s %-26s %s\n", c.name, c.args, c.summary)
	}
	fmt.Fprint(w, `
NOTE is an automerge URL, a note ID, a unique ID prefix or an exact title.
Every command takes --home DIR and --help. Exit status: 0 ok, 1 error, 2 usage.
`)
}
