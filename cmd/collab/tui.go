package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"syscall"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/term"
	ma "github.com/multiformats/go-multiaddr"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/tui"
)

// interactive reports whether stdin and stdout are a terminal, so the full
// screen app can run (scripts and pipes get plain output instead).
func (e *env) interactive() bool {
	in, ok := e.stdin.(*os.File)
	out, ok2 := e.stdout.(*os.File)
	return ok && ok2 && term.IsTerminal(in.Fd()) && term.IsTerminal(out.Fd())
}

// runTUI runs the terminal app on nb until the user quits. net is the sync
// engine (nil: offline); open, when set, opens that note directly.
// Whatever happens (a signal, a panic) the open note is stored and the
// terminal restored before it returns.
func runTUI(e *env, nb *notebook.Notebook, net tui.Network, open *crdt.DocumentID, reach string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("collab crashed: %v\n%s", r, debug.Stack())
		}
	}()
	// A closed terminal or a kill ends the app cleanly: edits are stored.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGHUP, syscall.SIGTERM)
	defer stop()
	var opts []tea.ProgramOption
	if in, ok := e.stdin.(*os.File); ok {
		opts = append(opts, tea.WithInput(in))
	}
	opts = append(opts, tea.WithOutput(e.stdout))
	err = tui.Run(ctx, nb, tui.Options{Network: net, Open: open, NoColor: tui.NoColor(), Reach: reach}, opts...)
	if errors.Is(err, tea.ErrProgramKilled) && ctx.Err() != nil {
		return nil
	}
	return err
}

// homeTUI runs the app for `collab` with no command when on a terminal;
// handled is false when the plain list should be printed instead.
func homeTUI(e *env) (handled bool, err error) {
	if !e.interactive() {
		return false, nil
	}
	nb, err := e.openNotebook()
	if err != nil {
		return true, err
	}
	return true, runTUIWithPeer(e, nb, nil)
}

// runTUIWithPeer runs the app with this notebook's peer. When another
// process (say `collab serve`) already runs the peer, the app runs without
// one: its edits still reach peers through that process, which picks up
// what this one stores.
func runTUIWithPeer(e *env, nb *notebook.Notebook, open *crdt.DocumentID) error {
	net, reach, stop, err := startTUIPeer(nb)
	if err != nil {
		return err
	}
	err = runTUI(e, nb, net, open, reach)
	return errors.Join(err, stop())
}

// tuiLogName is where the app's peer logs, since the screen is the app's.
const tuiLogName = "collab.log"

func startTUIPeer(nb *notebook.Notebook) (tui.Network, string, func() error, error) {
	opts := peerOpts
	f, err := openRotatingLog(filepath.Join(nb.Dir(), tuiLogName), maxLogSize)
	if err != nil {
		return nil, "", nil, fmt.Errorf("log file: %w", err)
	}
	logger, err := newLogger(f, opts.logLevel)
	if err != nil {
		f.Close()
		return nil, "", nil, err
	}
	rt, err := startPeer(context.Background(), nb, opts, logger)
	if errors.Is(err, errPeerRunning) {
		f.Close()
		return nil, "", func() error { return nil }, nil
	}
	if err != nil {
		f.Close()
		return nil, "", nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	ctlDone := make(chan error, 1)
	go func() { ctlDone <- serveControl(ctx, nb.Dir(), controlHandlerFor(rt)) }()
	adapter := newNetAdapter(rt)
	return adapter, reachOf(rt, opts), func() error {
		adapter.close()
		cancel()
		err := errors.Join(<-ctlDone, rt.stop())
		f.Close()
		return err
	}, nil
}

// cmdEdit opens a note in the terminal app.
func cmdEdit(e *env, args []string) error {
	nb, id, err := e.resolveOne(args)
	if err != nil {
		return err
	}
	if !e.interactive() {
		return errors.New("collab edit needs a terminal (use cat, write or append in scripts)")
	}
	return runTUIWithPeer(e, nb, &id)
}

// reachOf says briefly what the peer listens on, for the title bar: it
// listens and multicasts only as configured, and says so.
func reachOf(rt *peerRuntime, opts peerFlags) string {
	ports := map[string]bool{}
	for _, a := range rt.host.LibP2P().Addrs() {
		for _, p := range []int{ma.P_TCP, ma.P_UDP} {
			if v, err := a.ValueForProtocol(p); err == nil {
				ports[v] = true
			}
		}
	}
	parts := []string{"port " + strings.Join(slices.Sorted(maps.Keys(ports)), ",")}
	if len(opts.listen) == 0 {
		parts = append(parts, "all interfaces")
	}
	if opts.mdns {
		parts = append(parts, "mDNS")
	}
	return strings.Join(parts, ", ")
}
