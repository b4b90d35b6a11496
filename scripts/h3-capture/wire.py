"""Names and decoders for what the capture reads off the wire itself, beside aioquic.

aioquic parses the client's transport parameters but keeps only the ones it knows, and it skips
every HTTP/3 control frame but SETTINGS and MAX_PUSH_ID. The capture decodes the raw bytes again
here so that nothing the client sends is lost: unknown and GREASE ids are kept with their values.
"""

# RFC 9000 section 18.2, RFC 9221 (datagrams), RFC 9287 (grease_quic_bit), RFC 9368 (version
# information), draft-ietf-quic-ack-frequency (min_ack_delay); Google's ids from quiche's
# transport_parameters.cc.
TRANSPORT_PARAMS = {
    0x00: "original_destination_connection_id", 0x01: "max_idle_timeout",
    0x02: "stateless_reset_token", 0x03: "max_udp_payload_size", 0x04: "initial_max_data",
    0x05: "initial_max_stream_data_bidi_local", 0x06: "initial_max_stream_data_bidi_remote",
    0x07: "initial_max_stream_data_uni", 0x08: "initial_max_streams_bidi",
    0x09: "initial_max_streams_uni", 0x0a: "ack_delay_exponent", 0x0b: "max_ack_delay",
    0x0c: "disable_active_migration", 0x0d: "preferred_address",
    0x0e: "active_connection_id_limit", 0x0f: "initial_source_connection_id",
    0x10: "retry_source_connection_id", 0x11: "version_information",
    0x20: "max_datagram_frame_size", 0x2ab2: "grease_quic_bit",
    0xff04de1a: "min_ack_delay(ack-frequency draft)", 0xff04de1b: "min_ack_delay(ack-frequency draft)",
    0xff02de1a: "min_ack_delay(ack-frequency draft)",
    0x3127: "google_initial_rtt", 0x3128: "google_connection_options",
    0x3129: "google_user_agent_id", 0x4752: "google_quic_version",
    0x173e: "discard_length", 0x26ab: "google_handshake_message",
}
# Parameters whose value is a varint (the others are shown as hex).
VARINT_PARAMS = {0x01, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x0e, 0x20,
                 0xff04de1a, 0xff04de1b, 0xff02de1a, 0x3127}

# RFC 9114 section 7.2.4.1, RFC 9204 (QPACK), RFC 9220 (extended CONNECT), RFC 9297
# (H3_DATAGRAM), draft-ietf-webtrans-http3.
H3_SETTINGS = {
    0x01: "QPACK_MAX_TABLE_CAPACITY", 0x06: "MAX_FIELD_SECTION_SIZE",
    0x07: "QPACK_BLOCKED_STREAMS", 0x08: "ENABLE_CONNECT_PROTOCOL", 0x33: "H3_DATAGRAM",
    0xffd277: "H3_DATAGRAM(draft04)", 0x2b603742: "ENABLE_WEBTRANSPORT(draft02)",
    0xc671706a: "WEBTRANSPORT_MAX_SESSIONS", 0x2b603743: "WEBTRANSPORT_MAX_SESSIONS(draft)",
    0x4d44: "ENABLE_METADATA",
}
H3_FRAMES = {
    0x0: "DATA", 0x1: "HEADERS", 0x3: "CANCEL_PUSH", 0x4: "SETTINGS", 0x5: "PUSH_PROMISE",
    0x7: "GOAWAY", 0xd: "MAX_PUSH_ID", 0xf0700: "PRIORITY_UPDATE(request)",
    0xf0701: "PRIORITY_UPDATE(push)", 0x4d: "METADATA",
}
H3_STREAM_TYPES = {0x0: "control", 0x1: "push", 0x2: "qpack_encoder", 0x3: "qpack_decoder",
                   0x54: "webtransport"}
H3_ERRORS = {
    0x100: "H3_NO_ERROR", 0x101: "H3_GENERAL_PROTOCOL_ERROR", 0x102: "H3_INTERNAL_ERROR",
    0x103: "H3_STREAM_CREATION_ERROR", 0x104: "H3_CLOSED_CRITICAL_STREAM",
    0x105: "H3_FRAME_UNEXPECTED", 0x106: "H3_FRAME_ERROR", 0x107: "H3_EXCESSIVE_LOAD",
    0x108: "H3_ID_ERROR", 0x109: "H3_SETTINGS_ERROR", 0x10a: "H3_MISSING_SETTINGS",
    0x10b: "H3_REQUEST_REJECTED", 0x10c: "H3_REQUEST_CANCELLED", 0x10d: "H3_REQUEST_INCOMPLETE",
    0x10e: "H3_MESSAGE_ERROR", 0x10f: "H3_CONNECT_ERROR", 0x110: "H3_VERSION_FALLBACK",
    0x200: "QPACK_DECOMPRESSION_FAILED", 0x201: "QPACK_ENCODER_STREAM_ERROR",
    0x202: "QPACK_DECODER_STREAM_ERROR",
}
H3_ERROR_CODES = {v: k for k, v in H3_ERRORS.items()}


def is_grease(ident):
    """Reserved ids of the form 0x1f * N + 0x21 (HTTP/3) or 31 * N + 27 (QUIC)."""
    return ident >= 0x21 and (ident - 0x21) % 0x1f == 0 or ident >= 27 and (ident - 27) % 31 == 0


def name_of(table, ident):
    if ident in table:
        return table[ident]
    return "GREASE(0x%x)" % ident if is_grease(ident) else "unknown(0x%x)" % ident


def error_name(code):
    return H3_ERRORS.get(code, "0x%x" % code)


def parse_error_code(text):
    """An H3 error code by name (H3_REQUEST_REJECTED) or number (0x10b, 267)."""
    return H3_ERROR_CODES[text] if text in H3_ERROR_CODES else int(text, 0)


def varint(buf, pos):
    """(value, next position) of the QUIC variable-length integer at `pos`, or (None, pos)."""
    if pos >= len(buf):
        return None, pos
    n = 1 << (buf[pos] >> 6)
    if pos + n > len(buf):
        return None, pos
    v = buf[pos] & 0x3f
    for b in buf[pos + 1:pos + n]:
        v = (v << 8) | b
    return v, pos + n


def encode_varint(v):
    for n, top in ((1, 0x00), (2, 0x40), (4, 0x80), (8, 0xc0)):
        if v < 1 << (8 * n - 2):
            return (v | (top << (8 * n - 8))).to_bytes(n, "big")
    raise ValueError(v)


def transport_params(raw):
    """The client's transport parameters in wire order: [(id, name, value)]."""
    out, pos = [], 0
    while pos < len(raw):
        ident, pos = varint(raw, pos)
        length, pos = varint(raw, pos)
        if ident is None or length is None:
            break
        value = raw[pos:pos + length]
        pos += length
        if ident in VARINT_PARAMS:
            shown, _ = varint(value, 0)
        elif ident in (0x0c, 0x2ab2):
            shown = True  # zero-length flags
        elif ident in (0x3128, 0x3129):
            shown = value.decode("latin-1")
        elif ident == 0x11:
            shown = ["0x%08x" % int.from_bytes(value[i:i + 4], "big") for i in range(0, len(value), 4)]
        else:
            shown = value.hex() if len(value) <= 32 else "%d bytes" % len(value)
        out.append((ident, name_of(TRANSPORT_PARAMS, ident), shown))
    return out


def settings(payload):
    """An HTTP/3 SETTINGS frame's payload: [(id, name, value)] in wire order."""
    out, pos = [], 0
    while pos < len(payload):
        ident, pos = varint(payload, pos)
        value, pos = varint(payload, pos)
        if ident is None or value is None:
            break
        out.append((ident, name_of(H3_SETTINGS, ident), value))
    return out


class FrameScanner:
    """Splits one client stream's bytes into HTTP/3 frames: (type, payload) as they complete.

    A unidirectional stream starts with its stream type; only the control stream carries
    frames (the QPACK streams carry instructions, counted in bytes only)."""

    def __init__(self, uni):
        self.uni = uni
        self.stream_type = None
        self.buf = b""
        self.bytes = 0

    def feed(self, data):
        self.bytes += len(data)
        self.buf += data
        frames = []
        if self.uni and self.stream_type is None:
            self.stream_type, pos = varint(self.buf, 0)
            if self.stream_type is None:
                return frames
            self.buf = self.buf[pos:]
        if self.uni and self.stream_type != 0:
            self.buf = b""
            return frames
        while True:
            ftype, pos = varint(self.buf, 0)
            flen, pos = varint(self.buf, pos)
            if ftype is None or flen is None or pos + flen > len(self.buf):
                return frames
            if ftype == 0x0:  # DATA payloads are not needed; keep only the frame
                frames.append((ftype, b""))
            else:
                frames.append((ftype, self.buf[pos:pos + flen]))
            self.buf = self.buf[pos + flen:]


def describe_control_frame(ftype, payload):
    """What the log shows of a control-stream frame."""
    d = {"frame": name_of(H3_FRAMES, ftype), "type": "0x%x" % ftype, "length": len(payload)}
    if ftype == 0x4:
        d["settings"] = [[("0x%x" % i), n, v] for i, n, v in settings(payload)]
    elif ftype in (0x7, 0xd, 0x3):
        d["id"], _ = varint(payload, 0)
    elif ftype in (0xf0700, 0xf0701):
        elem, pos = varint(payload, 0)
        d["element_id"] = elem
        d["priority_field"] = payload[pos:].decode("latin-1")
    return d
