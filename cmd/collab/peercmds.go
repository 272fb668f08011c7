package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	manet "github.com/multiformats/go-multiaddr/net"

	"github.com/collab-editor/collab/crdt"
	"github.com/collab-editor/collab/internal/display"
	"github.com/collab-editor/collab/notebook"
	"github.com/collab-editor/collab/p2p"
	"github.com/collab-editor/collab/sync/engine"
)

// joinTimeout bounds how long join and share wait for the other peer.
const joinTimeout = 90 * time.Second

// peerCommands are the commands about peers and sharing.
func peerCommands() []*command {
	return []*command{
		{name: "serve", args: "[--listen ADDR]... [--mdns=false]", summary: "run headless: keep every note synced with its peers", flags: addPeerFlags, run: cmdServe},
		{name: "id", args: "", summary: "print this peer's ID and addresses, and how each collaborator is reached (or why not)", run: cmdID},
		{name: "peers", args: "[NOTE]", summary: "list the peers notes are shared with and whether each is connected", run: cmdPeers},
		{name: "invite", args: "NOTE", summary: "print a ticket another person can join the note with", run: cmdInvite},
		{name: "join", args: "TICKET | MULTIADDR URL", summary: "fetch a shared note from a peer and keep it synced; an unreachable peer is retried (--cancel URL gives up)", flags: joinFlags, run: cmdJoin},
		{name: "share", args: "NOTE MULTIADDR", summary: "offer a note to a running peer (it shows up as an invitation there)", flags: addPeerFlags, run: cmdShare},
		{name: "invites", args: "[--json]", summary: "list invitations waiting for an answer", flags: jsonFlag, run: cmdInvites},
		{name: "accept", args: "ID", summary: "accept an invitation: the note joins your notebook", flags: addPeerFlags, run: cmdAccept},
		{name: "decline", args: "ID", summary: "decline an invitation", run: cmdDecline},
		{name: "relay", args: "[on | off | allow PEER... | deny PEER...]", summary: "show or change whom collab serve relays for (your collaborators, and peers you allow)", run: cmdRelay},
	}
}

// A peerOp is one operation on this notebook's peer, written once: the
// collab process that runs the peer runs it for requests on its control
// socket, and a command run while none does starts a short-lived peer and
// runs the same function, so the output is the same either way.
type peerOp func(ctx context.Context, rt *peerRuntime, req controlRequest) (text string, result any, err error)

var peerOps = map[string]peerOp{
	"id":     opID,
	"invite": opInvite,
	"join":   opJoin,
	"share":  opShare,
	"accept": opAccept,
	"peers":  opPeers,
	"relay":  opRelay,
	// cancel-join goes to the running peer so that an attempt under way
	// stops too; with none running, cmdJoin edits the notebook itself.
	"cancel-join": opCancelJoin,
}

// controlHandlerFor answers other commands' requests to this process's peer.
func controlHandlerFor(rt *peerRuntime) controlHandler {
	return func(ctx context.Context, req controlRequest) (string, any, error) {
		op := peerOps[req.Op]
		if op == nil {
			return "", nil, fmt.Errorf("unknown request %q", req.Op)
		}
		return op(ctx, rt, req)
	}
}

func opID(_ context.Context, rt *peerRuntime, _ controlRequest) (string, any, error) {
	text := idText(rt.host.ID().String(), rt.host.Addrs(), true)
	if pm := rt.host.PortMapping(); pm.On {
		text += portMappingLine(pm) + "\n"
	}
	return text + collaboratorsText(rt.engine.Collaborators()), nil, nil
}

// collaboratorsText is `collab id`'s section on the collaborators: how each
// is reached (direct (LAN), direct (internet), relayed via NAME) or why it
// cannot be, in plain words with what to do. It follows the addresses, so
// the ID and the first address stay the first two fields of the output.
func collaboratorsText(peers []engine.PeerStatus) string {
	if len(peers) == 0 {
		return "collaborators: none yet (share a note with `collab invite NOTE`, or join one with `collab join TICKET`)\n"
	}
	var b strings.Builder
	b.WriteString("collaborators:\n")
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, p := range peers {
		fmt.Fprintf(tw, "  %s\t%s\n", display.Name(p.Name, p.ID), collaboratorState(p))
	}
	tw.Flush()
	return b.String()
}

// collaboratorState says how one collaborator stands, for people.
func collaboratorState(p engine.PeerStatus) string {
	switch {
	case p.Connected && p.Path != "" && p.Path != p2p.PathNone.String():
		return display.Line(p.Path)
	case p.Connected:
		return "connected"
	case p.Problem != "":
		return "unreachable: " + display.Line(p.Problem)
	}
	return "not connected (not tried yet)"
}

// noCollaboratorsLine is what `collab id` says of collaborators when no
// collab process runs the peer: nobody is dialled to find out.
const noCollaboratorsLine = "collaborators: not known while no collab process runs here (run collab or collab serve; collab peers lists who they are)\n"

// portMappingLine says what --nat achieved, in plain words.
func portMappingLine(pm p2p.PortMapping) string {
	const advice = "forward port 4747 to this machine by hand, or use a relay (collab serve --relay on a public machine)"
	switch {
	case len(pm.Mapped) > 0:
		return fmt.Sprintf("port mapping: the router at %s forwards %s to this peer (NAT-PMP)", pm.Gateway, pm.Mapped[0])
	case len(pm.UPnPMapped) > 0:
		return fmt.Sprintf("port mapping: the router forwards %s to this peer (UPnP)", pm.UPnPMapped[0])
	case pm.UPnPRouter:
		return "port mapping: a router answered UPnP but maps no public port to this peer yet (NAT-PMP: " + orAsking(pm.Problem) + "); if it stays so, " + advice
	case pm.Problem != "" && !pm.UPnPAsking:
		return "port mapping: nothing mapped (NAT-PMP: " + pm.Problem + "; UPnP: no router answered); " + advice
	}
	return "port mapping: asking the router (NAT-PMP, UPnP)"
}

func orAsking(problem string) string {
	if problem == "" {
		return "asking"
	}
	return problem
}

func opInvite(_ context.Context, rt *peerRuntime, req controlRequest) (string, any, error) {
	id, err := crdt.ParseDocumentID(req.Note)
	if err != nil {
		return "", nil, err
	}
	t, err := inviteTicket(rt, id)
	if err != nil {
		return "", nil, err
	}
	return t.String(), nil, nil
}

// inviteTicket is the ticket that lets another peer join note id here.
func inviteTicket(rt *peerRuntime, id crdt.DocumentID) (ticket, error) {
	addrs := rt.host.Addrs()
	if len(addrs) == 0 {
		return ticket{}, errors.New("this peer has no address others can dial")
	}
	return ticket{Doc: id, Addrs: addrs}, nil
}

func opJoin(ctx context.Context, rt *peerRuntime, req controlRequest) (string, any, error) {
	id, err := joinTicket(ctx, rt, strings.Fields(req.Ticket))
	var pending *engine.PendingError
	if errors.As(err, &pending) {
		return "", nil, pendingJoinError(rt, pending)
	}
	if err != nil {
		return "", nil, err
	}
	return id.URL(), nil, nil
}

// joinTicket joins the note that `TICKET` or `MULTIADDR URL` names.
func joinTicket(ctx context.Context, rt *peerRuntime, args []string) (crdt.DocumentID, error) {
	t, err := parseJoinArgs(args)
	if err != nil {
		return crdt.DocumentID{}, err
	}
	return t.Doc, rt.engine.Join(ctx, t.Doc, t.Addrs)
}

// plainError is a message for people over an error that keeps the raw
// causes (engine.RawCauses) and sentinels behind it.
type plainError struct {
	msg   string
	cause error
}

func (e *plainError) Error() string { return e.msg }

func (e *plainError) Unwrap() error { return e.cause }

// pendingJoinError says that a join could not reach the inviter, why, and
// who will retry it: this process while it runs, or (a peer started for
// the command) the collab that runs later.
func pendingJoinError(rt *peerRuntime, pending *engine.PendingError) error {
	url := pending.Note.URL()
	retry := fmt.Sprintf("The join is pending: this collab keeps trying in the background (next try %s, then less and less often, at least every %s).",
		inDuration(time.Until(pending.NextTry)), shortDuration(engine.DefaultJoinRetryMax))
	if rt.shortLived {
		retry = "The join is pending: it is tried again when collab runs here (collab, or collab serve)."
	}
	return &plainError{
		msg:   fmt.Sprintf("%v\n%s\n`collab peers` shows how it goes; `collab join --cancel %s` gives up.", pending, retry, url),
		cause: pending,
	}
}

func opCancelJoin(_ context.Context, rt *peerRuntime, req controlRequest) (string, any, error) {
	id, err := crdt.ParseDocumentID(req.Note)
	if err != nil {
		return "", nil, err
	}
	if err := rt.engine.CancelJoin(id); err != nil {
		return "", nil, err
	}
	return "cancelled the join of " + id.URL(), nil, nil
}

// joinCancel is join's --cancel flag.
var joinCancel bool

func joinFlags(fs *flag.FlagSet) {
	addPeerFlags(fs)
	joinCancel = false
	fs.BoolVar(&joinCancel, "cancel", false, "give up a pending join (URL, or the ticket you joined with): it is no longer retried")
}

func opShare(ctx context.Context, rt *peerRuntime, req controlRequest) (string, any, error) {
	id, err := crdt.ParseDocumentID(req.Note)
	if err != nil {
		return "", nil, err
	}
	addr, err := ma.NewMultiaddr(req.Addr)
	if err != nil {
		return "", nil, err
	}
	if err := rt.engine.Share(ctx, id, addr); err != nil {
		return "", nil, err
	}
	return fmt.Sprintf("offered %s to %s", id, req.Addr), nil, nil
}

func opAccept(ctx context.Context, rt *peerRuntime, req controlRequest) (string, any, error) {
	id, err := crdt.ParseDocumentID(req.Note)
	if err != nil {
		return "", nil, err
	}
	if err := rt.engine.Accept(ctx, id); err != nil {
		return "", nil, err
	}
	return id.URL(), nil, nil
}

func opPeers(_ context.Context, rt *peerRuntime, req controlRequest) (string, any, error) {
	id, err := crdt.ParseDocumentID(req.Note)
	if err != nil {
		return "", nil, err
	}
	return "", rt.engine.Peers(id), nil
}

func idText(id string, addrs []ma.Multiaddr, running bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", id)
	for _, a := range addrs {
		fmt.Fprintf(&b, "%s\n", a)
	}
	if !running {
		fmt.Fprintf(&b, "(no collab process is running for this notebook: these are the addresses 'collab serve' would use)\n")
	}
	return b.String()
}

func cmdServe(e *env, args []string) error {
	if err := wantArgs(args, 0, 0, "no arguments"); err != nil {
		return err
	}
	opts := peerOpts
	logger, err := newLogger(e.stderr, opts.logLevel)
	if err != nil {
		return err
	}
	nb, err := e.openNotebook()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rt, err := startPeer(ctx, nb, opts, logger)
	if err != nil {
		return err
	}
	for _, n := range rt.host.Notices() {
		logger.Warn(n)
	}
	addrs := make([]string, 0)
	for _, a := range rt.host.LibP2P().Addrs() {
		addrs = append(addrs, a.String())
	}
	logger.Info("serving notebook", "dir", nb.Dir(), "peer", rt.host.ID().String(), "listening", strings.Join(addrs, " "), "mdns", opts.mdns)
	ctlErr := make(chan error, 1)
	go func() { ctlErr <- serveControl(ctx, nb.Dir(), controlHandlerFor(rt)) }()
	select {
	case <-ctx.Done():
	case err := <-ctlErr:
		if err != nil {
			logger.Error("control socket failed", "err", err)
		}
	case err := <-rt.done:
		// The engine stopped by itself: report it, then shut down the rest.
		rt.done <- err
		stop()
	}
	stop()
	logger.Info("shutting down: storing every note")
	err = rt.stop()
	<-ctlErr
	if err != nil {
		return err
	}
	logger.Info("stopped")
	return nil
}

func cmdID(e *env, args []string) error {
	if err := wantArgs(args, 0, 0, "no arguments"); err != nil {
		return err
	}
	nb, err := e.openNotebook()
	if err != nil {
		return err
	}
	text, _, err := answerOrPredict(nb, controlRequest{Op: "id"}, func(id peer.ID, addrs []ma.Multiaddr) string {
		return idText(id.String(), addrs, false) + noCollaboratorsLine
	})
	if err != nil {
		return err
	}
	fmt.Fprint(e.stdout, text)
	return nil
}

// answerOrPredict is what req's operation answers on this notebook's
// running peer (asked through its control socket), or, when no collab
// process runs the peer (running false), what predicted makes of the
// identity and addresses a peer with the defaults would have. It never
// starts a peer.
func answerOrPredict(nb *notebook.Notebook, req controlRequest, predicted func(peer.ID, []ma.Multiaddr) string) (text string, running bool, err error) {
	text, err = callControl(context.Background(), nb.Dir(), req, nil)
	if !errors.Is(err, errNoPeerProcess) {
		return text, err == nil, err
	}
	id, addrs, err := predictedIdentity(nb)
	if err != nil {
		return "", false, err
	}
	return predicted(id, addrs), false, nil
}

// predictedIdentity is this notebook's peer ID and the addresses a peer
// with the default listen addresses would have, for when none is running.
func predictedIdentity(nb *notebook.Notebook) (peer.ID, []ma.Multiaddr, error) {
	key, err := p2p.LoadOrCreateIdentity(filepath.Join(nb.Dir(), identityName))
	if err != nil {
		return "", nil, err
	}
	id, err := peer.IDFromPrivateKey(key)
	if err != nil {
		return "", nil, fmt.Errorf("peer id: %w", err)
	}
	ifaces, err := manet.InterfaceMultiaddrs()
	if err != nil {
		return "", nil, fmt.Errorf("interface addresses: %w", err)
	}
	var out, loop []ma.Multiaddr
	self := ma.StringCast("/p2p/" + id.String())
	for _, ip := range ifaces {
		if manet.IsIP6LinkLocal(ip) {
			continue
		}
		for _, suffix := range []string{fmt.Sprintf("/tcp/%d", p2p.DefaultPort), fmt.Sprintf("/udp/%d/quic-v1", p2p.DefaultPort)} {
			a := ip.Encapsulate(ma.StringCast(suffix)).Encapsulate(self)
			if manet.IsIPLoopback(ip) {
				loop = append(loop, a)
			} else {
				out = append(out, a)
			}
		}
	}
	return id, append(out, loop...), nil
}

func cmdPeers(e *env, args []string) error {
	// Starts as cmdID does: each command checks its own arguments, then opens
	// the notebook.
	if err := wantArgs(args, 0, 1, "at most one NOTE"); err != nil {
		return err
	}
	nb, err := e.openNotebook()
	if err != nil {
		return err
	}
	var ids []crdt.DocumentID
	if len(args) == 1 {
		id, err := nb.Resolve(args[0])
		if pid, perr := crdt.ParseDocumentID(args[0]); errors.Is(err, notebook.ErrNotFound) && perr == nil {
			if j, jerr := nb.PendingJoin(pid); jerr == nil { // not a note yet
				_, cerr := callControl(context.Background(), nb.Dir(), controlRequest{Op: "id"}, nil)
				tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
				printPendingJoins(tw, []notebook.PendingJoin{j}, cerr == nil, time.Now())
				return tw.Flush()
			}
		}
		if err != nil {
			return err
		}
		ids = []crdt.DocumentID{id}
	} else {
		notes, err := nb.List()
		if err != nil {
			return err
		}
		for _, n := range notes {
			ids = append(ids, n.ID)
		}
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	shown := 0
	running := true
	for _, id := range ids {
		var live []engine.PeerStatus
		if running {
			_, err := callControl(context.Background(), nb.Dir(), controlRequest{Op: "peers", Note: id.String()}, &live)
			if errors.Is(err, errNoPeerProcess) {
				running = false
			} else if err != nil {
				return err
			}
		}
		known, err := nb.PeersOf(id)
		if err != nil {
			return err
		}
		for _, k := range known {
			if !slices.ContainsFunc(live, func(p engine.PeerStatus) bool { return p.ID == k.ID }) {
				live = append(live, engine.PeerStatus{ID: k.ID, Name: k.Name, LastSeen: k.LastSeen})
			}
		}
		for _, p := range live {
			state, why := "not connected", ""
			switch {
			case !running:
				state = "not connected (no collab process running)"
			case !p.Connected && p.Problem != "":
				state, why = "unreachable", "\t"+display.Line(p.Problem)
			case p.Connected:
				// In the note: they have it open (their cursor shows);
				// online: connected for it, the note not open.
				where := "online"
				if p.InNote {
					where = "in the note"
				}
				state = "connected, " + where + ", " + syncWords(p)
				if p.Path != "" { // direct (LAN), direct (internet), relayed via NAME
					state += "; " + display.Line(p.Path)
				}
			}
			seen := "never"
			if !p.LastSeen.IsZero() {
				seen = p.LastSeen.Local().Format("2006-01-02 15:04")
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\tlast seen %s%s\n", id, p.ID, orDash(display.Line(p.Name)), state, seen, why)
			shown++
		}
	}
	if len(args) == 0 {
		joins, err := nb.PendingJoins()
		if err != nil {
			fmt.Fprintf(e.stderr, "collab: warning: %v\n", err)
		}
		if len(joins) > 0 {
			if shown > 0 {
				fmt.Fprintln(tw)
			}
			if len(ids) == 0 { // running was not asked
				_, err := callControl(context.Background(), nb.Dir(), controlRequest{Op: "id"}, nil)
				running = err == nil
			}
			printPendingJoins(tw, joins, running, time.Now())
			shown += len(joins)
		}
	}
	if shown == 0 {
		fmt.Fprintln(tw, "No peers yet: a note is shared with `collab invite NOTE` (ctrl+s in the editor) and `collab join`.")
	}
	if running && len(args) == 0 {
		// A relay's users need not share a note with us (collab relay
		// allow): they are listed apart.
		var uses []relayUse
		if _, err := callControl(context.Background(), nb.Dir(), controlRequest{Op: "relay"}, &uses); err == nil && len(uses) > 0 {
			tw.Flush()
			printRelayUses(e.stdout, uses)
		}
	}
	return nil
}

// printPendingJoins lists joins waiting for their inviter: the note, who
// invited, what happens next, and why the last try failed (plain words, as
// the engine put them, made safe to show).
func printPendingJoins(w io.Writer, joins []notebook.PendingJoin, running bool, now time.Time) {
	fmt.Fprintln(w, "Pending joins (collab join --cancel URL gives up one):")
	for _, j := range joins {
		state := "waiting for collab to run here"
		switch {
		case j.Failed:
			state = "not retried"
		case running && !j.NextTry.IsZero():
			state = "next try " + inDuration(j.NextTry.Sub(now))
		case running:
			state = "trying now"
		}
		tries := "1 try"
		if j.Attempts != 1 {
			tries = fmt.Sprintf("%d tries", j.Attempts)
		}
		if !j.LastTry.IsZero() {
			tries += ", last " + j.LastTry.Local().Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(w, "%s\tfrom %s\t%s (%s)\t%s\n", j.DocumentID.URL(), inviterOf(j), state, tries, orDash(display.Line(j.LastError)))
	}
}

// inviterOf names the peer a pending join waits for: the end of the peer
// ID of its ticket's first address (a ticket carries no name).
func inviterOf(j notebook.PendingJoin) string {
	for _, s := range j.Addrs {
		if a, err := ma.NewMultiaddr(s); err == nil {
			if info, err := peer.AddrInfoFromP2pAddr(a); err == nil {
				return "the peer " + display.ID(info.ID.String())
			}
		}
	}
	return "-"
}

// inDuration says when something happens, for people: "in 40 s", "in 3
// min", "in a moment".
func inDuration(d time.Duration) string {
	if d < time.Second {
		return "in a moment"
	}
	return "in " + shortDuration(d)
}

// shortDuration is d rounded for people: "40 s", "3 min", "2 h".
func shortDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Round(time.Second)/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Round(time.Minute)/time.Minute))
	}
	return fmt.Sprintf("%d h", int(d.Round(time.Hour)/time.Hour))
}

// syncWords says how a connected peer's copy stands: "in sync" only for
// equal heads, and a divergence in plain words, never silently.
func syncWords(p engine.PeerStatus) string {
	switch {
	case p.Diverged != "":
		return "DIVERGED: " + display.Line(p.Diverged)
	case p.InSync && p.LastDivergence != "":
		return "in sync (diverged earlier, recovered: " + display.Line(p.LastDivergence) + ")"
	case p.InSync:
		return "in sync"
	}
	return "syncing"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func cmdInvite(e *env, args []string) error {
	nb, id, err := e.resolveOne(args)
	if err != nil {
		return err
	}
	text, running, err := answerOrPredict(nb, controlRequest{Op: "invite", Note: id.String()}, func(_ peer.ID, addrs []ma.Multiaddr) string {
		return ticket{Doc: id, Addrs: addrs}.String()
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, text)
	if !running {
		fmt.Fprintln(e.stderr, "collab: no collab process is running for this notebook; start 'collab serve' (or collab) so the ticket's addresses answer")
	}
	return nil
}

// parseJoinArgs reads `TICKET` or `MULTIADDR URL`.
func parseJoinArgs(args []string) (ticket, error) {
	switch len(args) {
	case 1:
		return parseTicket(args[0])
	case 2:
		addr, url := args[0], args[1]
		if strings.HasPrefix(addr, crdt.URLPrefix) {
			addr, url = url, addr
		}
		return parseTicket(url + "#" + addr)
	}
	return ticket{}, usagef("expected a TICKET, or a MULTIADDR and a URL")
}

func cmdJoin(e *env, args []string) error {
	if joinCancel {
		return cancelJoin(e, args)
	}
	if _, err := parseJoinArgs(args); err != nil {
		return usageError{err.Error()}
	}
	return withPeer(e, controlRequest{Op: "join", Ticket: strings.Join(args, " ")})
}

// cancelJoin gives up the pending join a URL (or the ticket) names: through
// the running peer, so an attempt under way stops, else in the notebook.
func cancelJoin(e *env, args []string) error {
	if err := wantArgs(args, 1, 2, "the URL of a pending join (see collab peers)"); err != nil {
		return err
	}
	id, err := crdt.ParseDocumentID(args[0])
	if err != nil {
		t, terr := parseJoinArgs(args)
		if terr != nil {
			return usagef("--cancel: %v", err)
		}
		id = t.Doc
	}
	nb, err := e.openNotebook()
	if err != nil {
		return err
	}
	text, err := callControl(context.Background(), nb.Dir(), controlRequest{Op: "cancel-join", Note: id.String()}, nil)
	if errors.Is(err, errNoPeerProcess) {
		if err := nb.RemovePendingJoin(id); err != nil {
			return err
		}
		text = "cancelled the join of " + id.URL()
	} else if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, text)
	return nil
}

func cmdShare(e *env, args []string) error {
	if err := wantArgs(args, 2, 2, "a NOTE and the MULTIADDR of a running peer"); err != nil {
		return err
	}
	addr, err := ma.NewMultiaddr(args[1])
	if err != nil {
		return usagef("MULTIADDR: %v", err)
	}
	if _, err := addr.ValueForProtocol(ma.P_P2P); err != nil {
		return usagef("MULTIADDR must end in /p2p/<peer ID>")
	}
	nb, err := e.openNotebook()
	if err != nil {
		return err
	}
	id, err := nb.Resolve(args[0])
	if err != nil {
		return err
	}
	return withPeer(e, controlRequest{Op: "share", Note: id.String(), Addr: args[1]})
}

// withPeer runs the peer operation req names on this notebook's peer: the
// running collab process if there is one (through its control socket), else
// a peer started for the command and stopped after it. It prints what the
// operation says it did.
func withPeer(e *env, req controlRequest) error {
	nb, err := e.openNotebook()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, joinTimeout)
	defer cancel()
	text, err := callControl(ctx, nb.Dir(), req, nil)
	if errors.Is(err, errNoPeerProcess) {
		text, err = withShortLivedPeer(ctx, e, nb, req)
	}
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, text)
	return nil
}

// withShortLivedPeer starts this notebook's peer, runs req's operation on
// it and stops it, with everything stored.
func withShortLivedPeer(ctx context.Context, e *env, nb *notebook.Notebook, req controlRequest) (string, error) {
	opts := peerOpts
	logger, err := newLogger(e.stderr, opts.logLevel)
	if err != nil {
		return "", err
	}
	if len(opts.listen) == 0 {
		// A one-off command only dials out; it listens on a free port so
		// it never takes 4747 from the collab that runs later.
		opts.listen = []string{"/ip4/0.0.0.0/tcp/0", "/ip4/0.0.0.0/udp/0/quic-v1"}
	}
	opts.shortLived = true
	rt, err := startPeer(ctx, nb, opts, logger)
	if err != nil {
		return "", err
	}
	text, _, err := peerOps[req.Op](ctx, rt, req)
	return text, errors.Join(err, rt.stop())
}

func cmdInvites(e *env, args []string) error {
	if err := wantArgs(args, 0, 0, "no arguments"); err != nil {
		return err
	}
	nb, err := e.openNotebook()
	if err != nil {
		return err
	}
	invs, warnings, err := nb.Invitations()
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintf(e.stderr, "collab: warning: %v\n", w)
	}
	if asJSON {
		return writeJSON(e.stdout, invs)
	}
	if len(invs) == 0 {
		fmt.Fprintln(e.stdout, "No invitations waiting.")
		return nil
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	for _, inv := range invs {
		fmt.Fprintf(tw, "%s\t%s\tfrom %s\t%s\n", inv.ID, display.Title(inv.Title), display.Name(inv.FromName, inv.FromPeer), inv.Received.Local().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

func cmdAccept(e *env, args []string) error {
	id, err := invitationArg(args)
	if err != nil {
		return err
	}
	return withPeer(e, controlRequest{Op: "accept", Note: id.String()})
}

// cmdDecline needs no peer: an invitation is a file in the notebook, and
// declining it tells nobody.
func cmdDecline(e *env, args []string) error {
	id, err := invitationArg(args)
	if err != nil {
		return err
	}
	nb, err := e.openNotebook()
	if err != nil {
		return err
	}
	if err := nb.DeclineInvitation(id); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "declined", id)
	return nil
}

func invitationArg(args []string) (crdt.DocumentID, error) {
	if err := wantArgs(args, 1, 1, "one invitation ID (see collab invites)"); err != nil {
		return crdt.DocumentID{}, err
	}
	return crdt.ParseDocumentID(args[0])
}
