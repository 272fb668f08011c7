package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"

	"github.com/libp2p/go-libp2p/core/peer"
	"github.com/libp2p/go-libp2p/gologshim"

	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/p2p"
	"github.com/collab-editor/collab/sync/engine"
	"github.com/collab-editor/collab/tui"
)

// identityName is the peer's private key inside the notebook (0600).
const identityName = "identity.key"

// peerFlags are the flags of every command that runs a peer.
type peerFlags struct {
	listen       multiFlag
	mdns         bool
	nat          bool
	relay        bool
	reachability string
	logLevel     string
	// shortLived is no flag: the peer runs for one command (withPeer), so
	// it leaves pending joins to the collab that runs for longer.
	shortLived bool
}

type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(s string) error { *m = append(*m, s); return nil }

var peerOpts peerFlags

func addPeerFlags(fs *flag.FlagSet) {
	peerOpts = peerFlags{}
	fs.Var(&peerOpts.listen, "listen", "multiaddr to listen on, repeatable (default: TCP and QUIC on port 4747, IPv4 and IPv6, all interfaces)")
	fs.BoolVar(&peerOpts.mdns, "mdns", true, "find peers on the local network by multicast DNS")
	fs.BoolVar(&peerOpts.nat, "nat", false, "ask the router to forward a port (UPnP / NAT-PMP)")
	fs.BoolVar(&peerOpts.relay, "relay", false, "relay for your collaborators (run it on a machine with a public address): peers behind NATs reach each other through it")
	fs.StringVar(&peerOpts.reachability, "reachability", "auto", "auto, public or private: override what collaborators observe about this peer's NAT")
	fs.StringVar(&peerOpts.logLevel, "log-level", "info", "log detail on stderr: debug, info, warn, error")
}

// newLogger logs to w at the given level; libp2p's own logs and the mDNS
// library's go through it at warn and above so they cannot flood a screen.
func newLogger(w io.Writer, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: l}))
	gologshim.SetDefaultHandler(slog.NewTextHandler(w, &slog.HandlerOptions{Level: max(l, slog.LevelWarn)}))
	log.SetOutput(w)
	return logger, nil
}

// peerRuntime is a running peer: its host and sync engine.
type peerRuntime struct {
	host       *p2p.Host
	engine     *engine.Engine
	shortLived bool // started for one command (see peerFlags.shortLived)
	lock       *peerLock
	done       chan error // the engine's Run result
	cancel     context.CancelFunc
}

// startPeer runs this notebook's peer until stop is called. It refuses when
// another process already runs it.
func startPeer(ctx context.Context, nb *notebook.Notebook, opts peerFlags, logger *slog.Logger) (*peerRuntime, error) {
	lock, err := lockPeer(nb.Dir())
	if err != nil {
		return nil, err
	}
	reach, ok := p2p.ParseReachability(opts.reachability)
	if !ok {
		lock.release()
		return nil, usagef("--reachability: %q is not auto, public or private", opts.reachability)
	}
	// The host trusts the engine's known peers (collaborators); the
	// engine exists only once the host does.
	var known atomic.Pointer[engine.Engine]
	relaySettings, err := nb.RelaySettings()
	if err != nil {
		// A damaged settings file must not keep the notes offline.
		logger.Warn("ignoring the relay settings (collab relay rewrites them)", "err", err)
	}
	allowList := &relayAllowList{nb: nb}
	isKnown := func(p peer.ID) bool {
		e := known.Load()
		return e != nil && e.IsKnownPeer(p)
	}
	host, err := p2p.New(ctx, p2p.Config{
		IdentityPath: filepath.Join(nb.Dir(), identityName),
		ListenAddrs:  opts.listen,
		MDNS:         opts.mdns,
		NATPortMap:   opts.nat,
		Logger:       logger,
		Trusted:      isKnown,
		RelayService: opts.relay || relaySettings.On,
		RelayAllowed: func(p peer.ID) bool { return isKnown(p) || allowList.has(p) },
		Reachability: reach,
	})
	if err != nil {
		lock.release()
		return nil, fmt.Errorf("start peer: %w", err)
	}
	eng, err := engine.New(engine.Config{
		Host: host, Notebook: nb, Logger: logger,
		Name: nb.Author(), Color: tui.ColorFor(host.ID().String()),
		NoJoinRetries: opts.shortLived,
	})
	if err != nil {
		host.Close()
		lock.release()
		return nil, fmt.Errorf("start sync: %w", err)
	}
	known.Store(eng)
	runCtx, cancel := context.WithCancel(context.Background())
	rt := &peerRuntime{host: host, engine: eng, shortLived: opts.shortLived, lock: lock, done: make(chan error, 1), cancel: cancel}
	go func() { rt.done <- eng.Run(runCtx) }()
	// Run sets itself up on its goroutine; Join and friends need it running.
	select {
	case <-eng.Ready():
		return rt, nil
	case err := <-rt.done:
		cancel()
		host.Close()
		lock.release()
		return nil, fmt.Errorf("start sync: %w", err)
	case <-ctx.Done():
		rt.stop()
		return nil, fmt.Errorf("start sync: %w", ctx.Err())
	}
}

// stop ends the engine (which flushes every note) and the host.
func (rt *peerRuntime) stop() error {
	rt.cancel()
	err := <-rt.done
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	err = errors.Join(err, rt.host.Close())
	rt.lock.release()
	return err
}
