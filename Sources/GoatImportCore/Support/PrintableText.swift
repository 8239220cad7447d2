/// Log bytes as they may be shown on a terminal: a log line is written by whoever sent the
/// request, and an escape sequence in it (ESC, CSI, BEL…) must not reach the terminal as one.
/// Control characters (C0, DEL, C1) become `\xHH` or `\u{HHHH}` (the forms nginx and Apache
/// write themselves); invalid UTF-8 becomes U+FFFD.
public enum PrintableText {
    public static func from(_ bytes: UnsafeBufferPointer<UInt8>) -> String {
        escaping(String(decoding: bytes, as: UTF8.self))
    }

    public static func escaping(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: needsEscape) else { return text }
        var out = ""
        for scalar in text.unicodeScalars {
            if !needsEscape(scalar) { out.unicodeScalars.append(scalar); continue }
            let hex = String(scalar.value, radix: 16, uppercase: true)
            out += scalar.value < 0x80 ? "\\x" + (hex.count < 2 ? "0" : "") + hex : "\\u{" + hex + "}"
        }
        return out
    }

    private static func needsEscape(_ s: Unicode.Scalar) -> Bool {
        s.value < 0x20 || (0x7F...0x9F).contains(s.value)
    }
}
