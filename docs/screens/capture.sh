#!/usr/bin/env bash
# Captures docs/screens/*.txt (plain text) and *.png (with colours) from the
# real collab binary driven in tmux: two people, ann and bob, on loopback,
# plus carol who offers ann a note. Run from the repository root:
#
#   docs/screens/capture.sh
#
# Peer IDs, ports and tickets differ on every run.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=docs/screens
work=$(mktemp -d)
sock=$work/tmux.sock
trap 'tmux -S "$sock" kill-server 2>/dev/null || true; sleep 1; rm -rf "$work"' EXIT

go build -o "$work/collab" ./cmd/collab
bin=$work/collab
peer=(--listen /ip4/127.0.0.1/tcp/0 --mdns=false)
c() { # c HOME NAME ARGS... runs a one-off command
	local home=$1 name=$2
	shift 2
	COLLAB_NAME=$name "$bin" "$@" --home "$home"
}
T() { tmux -S "$sock" "$@"; }
screen() { T capture-pane -p -t "$1"; }
waitfor() { # waitfor SESSION TEXT...
	local s=$1
	shift
	for _ in $(seq 300); do
		local scr ok=1
		scr=$(screen "$s")
		for w in "$@"; do [[ $scr == *"$w"* ]] || ok=0; done
		((ok)) && return 0
		sleep 0.1
	done
	echo "screen $s never showed $*:" >&2
	screen "$s" >&2
	exit 1
}
waitgone() {
	for _ in $(seq 300); do
		[[ $(screen "$1") == *"$2"* ]] || return 0
		sleep 0.1
	done
	echo "screen $1 still shows $2" >&2
	exit 1
}
# PNGs need ImageMagick (apt-get install imagemagick) and python3.
convert=${CONVERT:-/usr/bin/convert}
png=0
if [[ -x $convert ]] && "$convert" -version 2>/dev/null | grep -q ImageMagick && command -v python3 >/dev/null; then
	png=1
fi
save() { # save SESSION NAME: NAME.txt (plain), NAME.png (colours, cursor)
	screen "$1" | sed -e 's/[[:space:]]*$//' >"$out/$2.txt"
	echo "captured $out/$2.txt"
	if ((png)); then
		T capture-pane -p -e -N -t "$1" >"$work/$2.ans"
		# capture-pane leaves the terminal's cursor out: draw it when shown.
		read -r shown cx cy < <(T display -p -t "$1" '#{cursor_flag} #{cursor_x} #{cursor_y}')
		cursor=()
		((shown)) && cursor=("$cx" "$cy")
		CONVERT=$convert python3 docs/screens/render.py "$work/$2.ans" "$out/$2.png" "${cursor[@]}"
		echo "rendered $out/$2.png"
	fi
}
start() { # start SESSION NAME HOME
	T new-session -d -x 100 -y 30 -s "$1" \
		"env COLLAB_NAME=$2 TERM=xterm-256color LANG=C.UTF-8 $bin --home $3 ${peer[*]}; sleep 600"
}

ann=$work/ann bob=$work/bob carol=$work/carol
mkdir -p "$ann" "$bob" "$carol"

# ann's notebook: three notes.
c "$ann" ann new "Reading list" >/dev/null
printf '%s\n' "Piranesi — Susanna Clarke" "The Dispossessed — Ursula K. Le Guin" "A Psalm for the Wild-Built" | c "$ann" ann write "Reading list"
c "$ann" ann new "Standup notes" >/dev/null
printf '%s\n' "Mon: sync engine benchmarks" "Tue: terminal UI review" | c "$ann" ann write "Standup notes"
c "$ann" ann new "Trip to Lisbon" >/dev/null
# Markdown, as people write notes: the editor styles it (the text stays as typed).
printf '%s\n' "# Trip to Lisbon, 12–16 May" "" "Flights: TP 1351, lands 10:40" "Stay: Alfama, near the Sé" "" "## To do" \
	"- [x] book the flights" "- [ ] pastéis de nata in *Belém*" "- [ ] tram 28 early, before the queues" \
	"- [ ] fado: ask for \`Tasca do Chico\`" "" "> **Tip:** coins for the ticket machines" | c "$ann" ann write "Trip to Lisbon"
c "$carol" carol new "Recipes for the trip" >/dev/null
c "$carol" carol append "Recipes for the trip" "Bacalhau à Brás" >/dev/null

T -f /dev/null new-session -d -x 100 -y 30 -s idle "sleep 600"
start ann ann "$ann"
start bob bob "$bob"
waitfor ann "3 notes · online"
waitfor bob "No notes yet"

# ann opens the trip note.
T send-keys -t ann Home Enter
waitfor ann " Trip to Lisbon " "tram 28" "saved"
ticket=$(c "$ann" ann invite "Trip to Lisbon")

# bob: join dialog with the ticket pasted.
T send-keys -t bob j
waitfor bob "Join a shared note" "Ticket:"
printf %s "$ticket" | T load-buffer -b tk -
T paste-buffer -p -d -b tk -t bob
waitfor bob "${ticket: -12}"
save bob join
T send-keys -t bob Enter
waitfor bob " Trip to Lisbon " "tram 28" "● ann"
waitfor ann "● bob"

# bob pastes a line at the end; ann moves to the flights line.
T send-keys -t bob C-End
printf %s "- bob: book the fado place for Thursday" | T load-buffer -b line -
T paste-buffer -p -d -b line -t bob
T send-keys -t ann C-Home Down Down End
waitfor ann "fado place for Thursday  bob" "in sync"
waitfor bob "TP 1351, lands 10:40  ann" "in sync"
sleep 0.5
save ann editor
save bob editor-bob

# ann: invite dialog (ctrl+s).
T send-keys -t ann C-s
waitfor ann "Invite someone" "automerge:" "esc close"
save ann invite
T send-keys -t ann Escape
waitgone ann "Invite someone"

# ann: history (ctrl+r).
# Down steps back one change: the note as ann left it, before bob's line.
T send-keys -t ann C-r
waitfor ann "History" "bob"
T send-keys -t ann Down
waitfor ann "by ann ──"
sleep 0.5
save ann history
T send-keys -t ann Escape
waitfor ann "^Q close"

# ann: every key (F1).
T send-keys -t ann F1
waitfor ann " Keys" "Notes list"
save ann help
T send-keys -t ann Escape
waitfor ann "^Q close"

# ann: back to the list, bob online on the shared note.
T send-keys -t ann C-q
waitfor ann "3 notes" "Trip to Lisbon" "bob"
sleep 0.5
save ann list

# ann: search every note (ctrl+f on the list).
T send-keys -t ann C-f
waitfor ann "Search all notes"
T send-keys -t ann -l "tram"
waitfor ann "1 match in 1 note"
sleep 0.5
save ann search
T send-keys -t ann Escape
waitfor ann "3 notes"

# carol offers ann a note: it pops up on ann's list.
addr=$(c "$ann" ann id | grep /ip4/127.0.0.1/ | head -1)
c "$carol" carol share "${peer[@]}" "Recipes for the trip" "$addr" >/dev/null 2>&1
waitfor ann "New invitation" "Recipes for the trip"
save ann invitation

T send-keys -t ann Escape
T send-keys -t ann q
T send-keys -t bob C-q
waitfor bob "1 note"
T send-keys -t bob q
