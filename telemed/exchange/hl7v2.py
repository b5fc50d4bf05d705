"""HL7 v2 text: decoding the bytes, parsing with the ``hl7`` package, reading fields, and
building acknowledgments and outbound messages. Pure functions, no database.

Character sets (MSH-18): ``UNICODE UTF-8`` (or ``UTF-8``) is UTF-8, ``GB 18030-2000`` (or
``GB18030``, ``GBK``, ``GB2312``) is GB18030, ``ASCII`` and ``8859/1`` are what they say. A
message without MSH-18 is decoded as UTF-8 and, when that fails, as GB18030: Chinese HIS
often leave the field empty and send their platform's code page, and GB18030 decodes any
byte sequence UTF-8 rejects only when it really is GB text, so the guess is safe in practice.
Both encodings keep ASCII as it is, so the header can be read before the text is decoded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import hl7
from django.utils.translation import gettext as _
from hl7.containers import Message

from telemed.core import clock

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c"
CARRIAGE_RETURN = b"\x0d"

CHARSETS = {
    "UNICODE UTF-8": "utf-8",
    "UTF-8": "utf-8",
    "UTF8": "utf-8",
    "GB 18030-2000": "gb18030",
    "GB18030": "gb18030",
    "GB 18030": "gb18030",
    "GBK": "gb18030",
    "GB2312": "gb18030",
    "ASCII": "ascii",
    "8859/1": "latin-1",
}
# HL7 table 0357 (message error condition codes) used in ERR-3.
REQUIRED_FIELD_MISSING = "101"
DATA_TYPE_ERROR = "102"
TABLE_VALUE_NOT_FOUND = "103"
UNSUPPORTED_MESSAGE_TYPE = "200"
UNSUPPORTED_EVENT = "201"
UNKNOWN_KEY = "204"
DUPLICATE_KEY = "205"
APPLICATION_ERROR = "207"

_DELIMITERS = re.compile(r"^MSH([^\w\s\r\n])([^\w\s\r\n]{4})")


class Unprocessable(Exception):
    """The bytes cannot be read as an HL7 v2 message (answered AR)."""

    def __init__(self, reason: str, code: str = APPLICATION_ERROR) -> None:
        super().__init__(reason)
        self.reason = reason
        self.code = code


@dataclass(frozen=True)
class Header:
    """What MSH says, enough to answer the message even when its body is bad."""

    field_separator: str
    encoding_characters: str
    sending_application: str
    sending_facility: str
    receiving_application: str
    receiving_facility: str
    message_code: str
    trigger_event: str
    control_id: str
    processing_id: str
    version: str
    charset: str

    @property
    def message_type(self) -> str:
        return (
            f"{self.message_code}^{self.trigger_event}" if self.trigger_event else self.message_code
        )


def _msh_fields(raw: bytes) -> tuple[str, str, list[str]]:
    """The separators and the MSH fields, read from the ASCII header before decoding."""
    text = raw.lstrip(b"\r\n ").decode("latin-1")
    match = _DELIMITERS.match(text)
    if match is None:
        if not text.startswith("MSH"):
            raise Unprocessable(_("the message does not start with an MSH segment"), "100")
        raise Unprocessable(_("MSH-1 and MSH-2 do not give valid delimiters"), DATA_TYPE_ERROR)
    separator, encoding_characters = match.group(1), match.group(2)
    if len(set(separator + encoding_characters)) != 5:
        raise Unprocessable(_("the delimiters in MSH-1 and MSH-2 repeat"), DATA_TYPE_ERROR)
    segment = re.split(r"[\r\n]", text, maxsplit=1)[0]
    # MSH-1 is the separator itself, so field n is element n-1 of the split.
    return separator, encoding_characters, segment.split(separator)


def read_header(raw: bytes) -> Header:
    """The MSH of a raw message; raises Unprocessable when there is no usable MSH."""
    separator, encoding_characters, parts = _msh_fields(raw)
    component = encoding_characters[0]

    def field(number: int, part: int = 0) -> str:
        value = parts[number - 1] if number - 1 < len(parts) else ""
        pieces = value.split(encoding_characters[1])[0].split(component)
        return pieces[part].strip() if part < len(pieces) else ""

    return Header(
        field_separator=separator,
        encoding_characters=encoding_characters,
        sending_application=field(3),
        sending_facility=field(4),
        receiving_application=field(5),
        receiving_facility=field(6),
        message_code=field(9).upper(),
        trigger_event=field(9, 1).upper(),
        control_id=field(10),
        processing_id=field(11),
        version=field(12),
        charset=field(18),
    )


def decode(raw: bytes, header: Header) -> str:
    """The message text, decoded by MSH-18 (see the module docstring for the rules)."""
    if header.charset:
        codec = CHARSETS.get(header.charset.upper())
        if codec is None:
            raise Unprocessable(
                _("character set %(charset)s in MSH-18 is not supported")
                % {"charset": repr(header.charset)},
                TABLE_VALUE_NOT_FOUND,
            )
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            raise Unprocessable(
                _("the message is not valid %(charset)s") % {"charset": header.charset},
                DATA_TYPE_ERROR,
            ) from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        raise Unprocessable(
            _("the message is neither UTF-8 nor GB18030 and MSH-18 names no character set"),
            DATA_TYPE_ERROR,
        ) from None


def parse(text: str) -> Message:
    """Parse decoded text; segments may end in CR, LF or CRLF."""
    if "\x00" in text:
        raise Unprocessable(_("the message contains NUL characters"), DATA_TYPE_ERROR)
    segments = [line for line in re.split(r"\r\n|\r|\n", text.strip()) if line.strip()]
    for line in segments:
        if not re.match(r"^[A-Z][A-Z0-9]{2}(\W|$)", line):
            raise Unprocessable(
                _("%(start)s is not an HL7 segment") % {"start": repr(line[:20])}, "100"
            )
    try:
        return hl7.parse("\r".join(segments))
    except Exception as exc:  # the parser raises bare errors on malformed structure
        raise Unprocessable(
            _("the message cannot be parsed: %(problem)s") % {"problem": exc}, "100"
        ) from None


def value(message: Message, key: str) -> str:
    """One element by accessor (``PID.F3.R2.C1``), unescaped (the accessor does it) and
    stripped; '' when absent."""
    try:
        found = message[key]
    except (IndexError, KeyError):
        return ""
    return str(found).strip()


def repetitions(message: Message, segment: str, field: int) -> int:
    try:
        return len(message.segment(segment)[field])
    except (IndexError, KeyError):
        return 0


def has_segment(message: Message, name: str) -> bool:
    try:
        message.segment(name)
    except KeyError:
        return False
    return True


def timestamp() -> str:
    return clock.now().strftime("%Y%m%d%H%M%S%z")


def escape(text: str, separator: str = "|", encoding: str = "^~\\&") -> str:
    """HL7 escaping of free text, with line breaks as ``\\.br\\``."""
    component, repetition, escape_char, subcomponent = tuple((encoding + "^~\\&")[:4])
    out = []
    for char in text:
        if char == escape_char:
            out.append(f"{escape_char}E{escape_char}")
        elif char == separator:
            out.append(f"{escape_char}F{escape_char}")
        elif char == component:
            out.append(f"{escape_char}S{escape_char}")
        elif char == repetition:
            out.append(f"{escape_char}R{escape_char}")
        elif char == subcomponent:
            out.append(f"{escape_char}T{escape_char}")
        elif char == "\n":
            out.append(f"{escape_char}.br{escape_char}")
        elif char == "\r":
            continue
        else:
            out.append(char)
    return "".join(out)


def acknowledgment(
    header: Header | None,
    code: str,
    *,
    control_id: str,
    error: str = "",
    error_code: str = "",
) -> str:
    """An ACK for ``header`` (MSA-1 ``code``), in the sender's delimiters, with an ERR
    segment when there is an error (ERR-3 the table 0357 code and text, ERR-4 severity,
    ERR-8 the whole reason). Without a readable header (garbage) it still follows HL7,
    with empty addressing."""
    sep, enc = (header.field_separator, header.encoding_characters) if header else ("|", "^~\\&")
    component = enc[0]

    def text(value: str) -> str:
        return escape(value, sep, enc)

    trigger = header.trigger_event if header else ""
    msh = [
        "MSH",
        enc,
        text(header.receiving_application if header else "TELEMED"),
        text(header.receiving_facility if header else ""),
        text(header.sending_application if header else ""),
        text(header.sending_facility if header else ""),
        timestamp(),
        "",
        f"ACK{component}{trigger}{component}ACK" if trigger else "ACK",
        control_id,
        (header.processing_id if header else "") or "P",
        (header.version if header else "") or "2.5",
        *[""] * 5,
        "UNICODE UTF-8",  # MSH-18
    ]
    segments = [
        sep.join(msh),
        sep.join(["MSA", code, text(header.control_id if header else ""), text(error[:80])]),
    ]
    if error:
        condition = component.join([error_code or APPLICATION_ERROR, text(error[:200]), "HL70357"])
        segments.append(sep.join(["ERR", "", "", condition, "E", "", "", "", text(error)]))
    return "\r".join(segments) + "\r"


def frame(text: str | bytes) -> bytes:
    body = text.encode("utf-8") if isinstance(text, str) else text
    return START_BLOCK + body + END_BLOCK + CARRIAGE_RETURN
