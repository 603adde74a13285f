"""Labelled documents: text built from pieces, some of them gold values.

A piece is a plain string or a `P` (an entity and its parts, which may be
pieces again, so a URL can hold a labelled SSN). Offsets are UTF-8 bytes.
"""


class P:
    """A labelled piece: `P("SSN", "219-09-9999")`."""

    __slots__ = ("ent", "parts")

    def __init__(self, ent, *parts):
        self.ent = ent
        self.parts = parts

    def text(self):
        return "".join(p if isinstance(p, str) else p.text() for p in self.parts)

    def __str__(self):
        return self.text()


def text_of(piece):
    return piece if isinstance(piece, str) else piece.text()


class Doc:
    """A document under construction: its pieces and their labels."""

    def __init__(self, genre, template, fmt="text", ext="txt"):
        self.genre = genre
        self.template = template
        self.format = fmt
        self.ext = ext
        self.chunks = []
        self.labels = []
        self.len = 0

    def add(self, *pieces):
        for p in pieces:
            self._add(p)
        return self

    def _add(self, p):
        if p is None:
            return
        if isinstance(p, (int, float)):
            p = str(p)
        if isinstance(p, str):
            b = p.encode()
            self.chunks.append(p)
            self.len += len(b)
            return
        if isinstance(p, (list, tuple)):
            for q in p:
                self._add(q)
            return
        start = self.len
        for q in p.parts:
            self._add(q)
        if p.ent is not None and self.len > start:
            self.labels.append({"entity": p.ent, "start": start, "end": self.len})

    def f(self, fmt, *args):
        """`fmt` with each `{}` replaced by the next argument (a piece)."""
        parts = fmt.split("{}")
        assert len(parts) == len(args) + 1, (fmt, len(args))
        for i, part in enumerate(parts):
            self.add(part)
            if i < len(args):
                self.add(args[i])
        return self

    def text(self):
        return "".join(self.chunks)

    def json(self, i):
        return {
            "id": i,
            "genre": self.genre,
            "template": self.template,
            "format": self.format,
            "ext": self.ext,
            "text": self.text(),
            "labels": sorted(self.labels, key=lambda l: (l["start"], -l["end"])),
        }
