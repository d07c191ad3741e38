"""How forumsync's mails are serialised: policy.SMTP (CRLF) with two repairs of CPython's
header folding, and a header type for values compose already encoded."""
from __future__ import annotations

import re
from email import policy
from email.header import Header
from email.headerregistry import UnstructuredHeader

_ADDRESS_HEADERS = {"from", "to", "cc", "bcc", "reply-to", "sender"}
# What makes a display name a quoted-string (RFC 5322 3.2.3 specials, and DQUOTE / backslash)
_QUOTED = re.compile(r'[()<>\[\]:;@\\,."]')


class VerbatimHeader(UnstructuredHeader):
    """A header whose value compose already encoded (RFC 2047 words, quoted strings):
    written as given, folded at its spaces, never decoded and re-encoded by the policy
    (which would turn « =?utf-8?b?…?= <…> » back into the bare « Marie <admin@…>, "x <…> »)."""

    @classmethod
    def parse(cls, value, kwds):
        super().parse(value, kwds)
        kwds["verbatim"] = " ".join(str(value).split())

    def init(self, name, *, verbatim, **kw):
        super().init(name, **kw)
        self._verbatim = verbatim

    def fold(self, *, policy):
        lines, line = [], f"{self.name}:"
        for word in self._verbatim.split(" "):
            if len(line) + 1 + len(word) > 76 and line.strip() and not line.endswith(":"):
                lines.append(line)
                line = ""
            line += " " + word
        lines.append(line)
        return policy.linesep.join(lines) + policy.linesep


class _SafeFoldingPolicy(policy.EmailPolicy):
    """policy.SMTP, except that non-ASCII headers are folded by ``email.header.Header``.

    CPython 3.11's folder drops the space between two RFC 2047 encoded words when it has to
    fold a long accented subject (« réception électronique » → « réceptionélectronique ») and
    splits display names mid-word; Header's older algorithm keeps them intact.
    """

    def _fold_non_ascii(self, name, value) -> str | None:
        text = str(value)
        if isinstance(value, VerbatimHeader):
            return None
        addresses = getattr(value, "addresses", None) if name.lower() in _ADDRESS_HEADERS else None
        # A quoted display name that has to be folded loses its quotes in CPython 3.11's folder:
        # « "mallory - Bureau: a chez b.fr, c chez d.fr; (via Bistro)" <bistro@…> », longer
        # than a line, went out bare, a group « mallory - Bureau: » of two addresses, then
        # more: no parser read the bridge's address alone, and a receiving server may refuse
        # a From it cannot read (red team, 47th pass). Such a name is written as encoded words.
        if text.isascii() and not any(self._unquoted_when_folded(name, a) for a in addresses or ()):
            return None
        if addresses:
            parts = []
            for address in value.addresses:
                if address.display_name and (not address.display_name.isascii()
                                             or self._unquoted_when_folded(name, address)):
                    label = Header(address.display_name, "utf-8", header_name=name).encode(
                        linesep=self.linesep)
                    last_line = label.rsplit(self.linesep, 1)[-1]
                    glue = self.linesep + " " if len(last_line) + len(address.addr_spec) + 3 > 76 else " "
                    parts.append(f"{label}{glue}<{address.addr_spec}>")
                else:
                    parts.append(str(address))
            body = ("," + self.linesep + " ").join(parts)
        else:
            body = Header(text, "utf-8", header_name=name).encode(linesep=self.linesep)
        return f"{name}: {body}{self.linesep}"

    def _unquoted_when_folded(self, name, address) -> bool:
        """Whether ADDRESS's display name is a quoted-string too long for the first line of
        header NAME: CPython then splits it and writes its words without the quotes."""
        display = address.display_name or ""
        if not _QUOTED.search(display):
            return False
        quoted = '"' + display.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return len(name) + 2 + len(quoted) > self.max_line_length

    def fold(self, name, value):
        return self._fold_non_ascii(name, value) or super().fold(name, value)

    def fold_binary(self, name, value):
        folded = self._fold_non_ascii(name, value)
        if folded is None:
            return super().fold_binary(name, value)
        return folded.encode("ascii")


POLICY = _SafeFoldingPolicy(linesep="\r\n")
POLICY.header_factory.map_to_type("x-original-from", VerbatimHeader)
