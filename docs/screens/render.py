#!/usr/bin/env python3
"""Renders a tmux pane captured with `capture-pane -p -e` as a PNG through
ImageMagick (Python standard library only).

    render.py PANE.ans OUT.png [CURSOR_X CURSOR_Y]

Each cell is drawn on a fixed grid with DejaVu Sans Mono, colours and
bold/italic/underline/strikethrough/reverse/faint from the SGR sequences
tmux writes (the Markdown styling of the editor uses them all); the terminal's
own cursor (which capture-pane leaves out) is drawn as a block when given.
"""
import os
import re
import subprocess
import sys
import tempfile
import unicodedata

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
ITALIC = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Oblique.ttf"
BOLD_ITALIC = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-BoldOblique.ttf"
SIZE = 15  # points at 72 dpi: pixels
CW, CH = SIZE * 0.6021, SIZE * 1.25  # DejaVu Sans Mono advance, line height
PAD = 10
FG, BG = (0xD0, 0xD0, 0xD0), (0x1C, 0x1C, 0x24)
CONVERT = os.environ.get("CONVERT", "/usr/bin/convert")

BASE16 = [
    (0x00, 0x00, 0x00), (0xCD, 0x31, 0x31), (0x0D, 0xBC, 0x79), (0xE5, 0xE5, 0x10),
    (0x24, 0x72, 0xC8), (0xBC, 0x3F, 0xBC), (0x11, 0xA8, 0xCD), (0xE5, 0xE5, 0xE5),
    (0x66, 0x66, 0x66), (0xF1, 0x4C, 0x4C), (0x23, 0xD1, 0x8B), (0xF5, 0xF5, 0x43),
    (0x3B, 0x8E, 0xEA), (0xD6, 0x70, 0xD6), (0x29, 0xB8, 0xDB), (0xFF, 0xFF, 0xFF),
]


def xterm256(n):
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return steps[n // 36], steps[(n // 6) % 6], steps[n % 6]
    v = 8 + (n - 232) * 10
    return v, v, v


def extended(params, i):
    """Reads 5;N or 2;R;G;B after a 38/48; returns (colour, next index)."""
    if i < len(params) and params[i] == 5 and i + 1 < len(params):
        return xterm256(params[i + 1]), i + 2
    if i < len(params) and params[i] == 2 and i + 3 < len(params):
        return tuple(params[i + 1:i + 4]), i + 4
    return None, len(params)


class Attr:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = self.bg = None
        self.bold = self.under = self.rev = self.dim = self.italic = self.strike = False

    def sgr(self, text):
        # "4:3" (a curly underline) is one parameter with a sub-parameter.
        params = []
        for p in (text.split(";") if text else ["0"]):
            head, _, sub = p.partition(":")
            if head in ("38", "48") and sub:
                params.extend(int(x) if x else 0 for x in p.split(":") if x != "")
            else:
                params.append(int(head) if head else 0)
        i = 0
        while i < len(params):
            p = params[i]
            i += 1
            if p == 0:
                self.reset()
            elif p == 1:
                self.bold = True
            elif p == 2:
                self.dim = True
            elif p == 3:
                self.italic = True
            elif p == 4:
                self.under = True
            elif p == 7:
                self.rev = True
            elif p == 9:
                self.strike = True
            elif p == 22:
                self.bold = self.dim = False
            elif p == 23:
                self.italic = False
            elif p == 24:
                self.under = False
            elif p == 27:
                self.rev = False
            elif p == 29:
                self.strike = False
            elif 30 <= p <= 37:
                self.fg = BASE16[p - 30]
            elif 90 <= p <= 97:
                self.fg = BASE16[p - 90 + 8]
            elif p == 39:
                self.fg = None
            elif 40 <= p <= 47:
                self.bg = BASE16[p - 40]
            elif 100 <= p <= 107:
                self.bg = BASE16[p - 100 + 8]
            elif p == 49:
                self.bg = None
            elif p in (38, 48):
                c, i = extended(params, i)
                if p == 38:
                    self.fg = c
                else:
                    self.bg = c

    def colours(self):
        fg, bg = self.fg or FG, self.bg or BG
        if self.rev:
            fg, bg = bg, fg
        if self.dim:
            fg = tuple((a + b) // 2 for a, b in zip(fg, BG))
        return fg, bg


class Style:
    def __init__(self, bold=False, italic=False, under=False, strike=False):
        self.bold, self.italic, self.under, self.strike = bold, italic, under, strike


def width(ch):
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def cells(path, cols):
    """Yields (row, col, char, fg, bg, attr) for every cell drawn, attr a
    Style (bold, italic, under, strike).

    capture-pane leaves out the cells at a line's end that the program
    erased rather than wrote, also when it erased them with a background
    colour. A line that starts on a background (a bar, the selected row, a
    banner) and ends on one is taken to keep that background to the edge.
    """
    attr = Attr()
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for row, line in enumerate(lines):
        col, first_bg = 0, None
        for m in re.finditer(r"\x1b\[([0-9;:]*)m|\x1b[^m]*m?|(.)", line):
            if m.group(2) is None:
                if m.group(1) is not None:
                    attr.sgr(m.group(1))
                continue
            ch = m.group(2)
            if unicodedata.combining(ch):
                continue
            fg, bg = attr.colours()
            if col == 0:
                first_bg = bg
            yield row, col, ch, fg, bg, Style(attr.bold, attr.italic, attr.under, attr.strike)
            col += width(ch)
        fg, bg = attr.colours()
        if first_bg not in (None, BG) and bg != BG:
            for c in range(col, cols):
                yield row, c, " ", fg, bg, Style()


# Box-drawing characters are drawn as lines so borders join across cells:
# which of the cell's left, right, up and down halves each one has.
BOX = {"─": "lr", "│": "ud", "╭": "rd", "╮": "ld", "╰": "ru", "╯": "lu",
       "┌": "rd", "┐": "ld", "└": "ru", "┘": "lu", "├": "udr", "┤": "udl",
       "┬": "lrd", "┴": "lru", "┼": "lrud"}


def box(ch, x, y, cw, fg):
    cx, cy = x + cw / 2, y + CH / 2
    ends = {"l": (x, cy), "r": (x + cw, cy), "u": (cx, y), "d": (cx, y + CH)}
    lines = " ".join(f"line {cx:.2f},{cy:.2f} {ends[e][0]:.2f},{ends[e][1]:.2f}" for e in BOX[ch])
    return f"push graphic-context stroke '{hexc(fg)}' stroke-width 1.2 stroke-linecap square {lines} pop graphic-context"


def hexc(c):
    return "#%02x%02x%02x" % tuple(c)


def mvg_text(s):
    return s.replace("\\", "\\\\").replace("'", "\\'").replace("%", "%%")


def render(src, dst, cursor=None, cols=100, rows=30):
    w, h = int(PAD * 2 + cols * CW + 0.5), int(PAD * 2 + rows * CH + 0.5)
    out = [f"viewbox 0 0 {w} {h}", f"fill '{hexc(BG)}'", f"rectangle 0,0 {w},{h}", f"font-size {SIZE}"]
    text = []
    for row, col, ch, fg, bg, st in cells(src, cols):
        x, y = PAD + col * CW, PAD + row * CH
        cw = CW * width(ch)
        if cursor == (col, row):
            fg, bg = BG, FG
        if bg != BG:
            out.append(f"fill '{hexc(bg)}' rectangle {x:.2f},{y:.2f} {x + cw:.2f},{y + CH:.2f}")
        if st.under:
            out.append(f"fill '{hexc(fg)}' rectangle {x:.2f},{y + CH - 2:.2f} {x + cw:.2f},{y + CH - 1:.2f}")
        if st.strike:
            out.append(f"fill '{hexc(fg)}' rectangle {x:.2f},{y + CH * 0.55 - 0.5:.2f} {x + cw:.2f},{y + CH * 0.55 + 0.5:.2f}")
        if ch in BOX:
            out.append(box(ch, x, y, cw, fg))
        elif ch != " ":
            text.append(((st.bold, st.italic), f"fill '{hexc(fg)}' text {x:.2f},{y + SIZE:.2f} '{mvg_text(ch)}'"))
    if cursor is not None:
        # A cursor past the text (or on an empty row) has no cell drawn.
        x, y = PAD + cursor[0] * CW, PAD + cursor[1] * CH
        out.append(f"fill '{hexc(FG)}' fill-opacity 0.85 rectangle {x:.2f},{y:.2f} {x + CW:.2f},{y + CH:.2f} fill-opacity 1")
    fonts = {(False, False): FONT, (True, False): BOLD, (False, True): ITALIC, (True, True): BOLD_ITALIC}
    for key, font in fonts.items():
        out.append(f"font '{font}'")
        out.extend(t for k, t in text if k == key)
    with tempfile.NamedTemporaryFile("w", suffix=".mvg", delete=False, encoding="utf-8") as f:
        f.write("\n".join(out) + "\n")
        mvg = f.name
    try:
        subprocess.run([CONVERT, "-size", f"{w}x{h}", f"mvg:{mvg}", "-strip", dst], check=True)
    finally:
        os.remove(mvg)


if __name__ == "__main__":
    cur = (int(sys.argv[3]), int(sys.argv[4])) if len(sys.argv) == 5 else None
    render(sys.argv[1], sys.argv[2], cur)
