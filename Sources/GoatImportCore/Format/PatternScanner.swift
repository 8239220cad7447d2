import CIntrinsics
import CPCRE2

/// A matcher for the format patterns a single left-to-right scan decides: those made only of
/// literal bytes and a few runs that each stop at a byte they cannot contain (the Common and
/// Combined Log Formats). PCRE2 could never backtrack into such a pattern, so the scan finds
/// the match PCRE2 finds, with the same group offsets, in under half the JIT's time (the JIT
/// was about a third of a line's cost).
///
/// The pattern stays the definition: `init` reads the very text PCRE2 compiles and returns nil
/// for anything outside the pieces below, which then matches on PCRE2. `PatternScannerTests`
/// and the `regex` fuzz target hold the two to the same answer on every line.
///
/// Pieces (PCRE2 syntax, as the format files write them):
/// - a literal byte: a letter, digit or one of `"-:/,=@'`, an escaped punctuation byte (`\[`),
///   `[ ]`, or a space outside extended mode;
/// - `\S+`, `\S*`, `[^\]]+`, `[^\]]*`, `\d+`, `\d{3}`, `(?:\d+|-)`, and the escape-aware quoted
///   body `[^"\\]*(?:\\.[^"\\]*)*`;
/// - `(?<name>` … `)` or `(?:` … `)` around them, `^` first and `$` last (what the nginx and
///   Apache translators write for the default formats).
///
/// A run must be followed by a literal byte it cannot contain (the quoted body by `"`), or end
/// the pattern (with or without `$`): then its greedy end is the only one PCRE2 could choose.
struct PatternScanner {
    enum Step: Equatable {
        case byte(UInt8)
        case nonSpace(min: Int)            // \S+ or \S*
        case notBracket(min: Int)          // [^\]]+ or [^\]]*
        case digits(min: Int, max: Int)    // \d+, \d{3}
        case digitsOrDash                  // (?:\d+|-)
        case quoted                        // [^"\\]*(?:\\.[^"\\]*)*
        case open(Int)                     // group number
        case close(Int)
        case end                           // $: the end, or before a newline that ends the line
    }

    let steps: [Step]
    /// Capture groups, the whole match (group 0) included.
    let groupCount: Int

    /// The scanner for `pattern`, or nil when it has a piece the scanner does not decide alone.
    init?(pattern: String, extended: Bool) {
        // `.` in the quoted body stops at the newline PCRE2 was built with; the scan knows LF.
        var newline: UInt32 = 0
        guard pcre2_config_8(UInt32(PCRE2_CONFIG_NEWLINE), &newline) >= 0, newline == UInt32(PCRE2_NEWLINE_LF) else { return nil }
        var text = Substring(pattern)
        guard text.hasPrefix("^") else { return nil }
        text = text.dropFirst()
        var steps: [Step] = []
        var open: [Int] = []
        var groups = 1
        let runs: [(String, Step)] = [
            (#"[^"\\]*(?:\\.[^"\\]*)*"#, .quoted),
            (#"(?:\d+|-)"#, .digitsOrDash),
            (#"[^\]]+"#, .notBracket(min: 1)),
            (#"[^\]]*"#, .notBracket(min: 0)),
            (#"\S+"#, .nonSpace(min: 1)),
            (#"\S*"#, .nonSpace(min: 0)),
            (#"\d{3}"#, .digits(min: 3, max: 3)),
            (#"\d+"#, .digits(min: 1, max: Int.max)),
            ("[ ]", .byte(0x20)),
        ]
        scanning: while let c = text.first {
            if extended && (c == " " || c == "\n" || c == "\t" || c == "\r") { text = text.dropFirst(); continue }
            for (piece, step) in runs where text.hasPrefix(piece) {
                steps.append(step)
                text = text.dropFirst(piece.count)
                continue scanning
            }
            if text.hasPrefix("(?:") {
                open.append(0)
                text = text.dropFirst(3)
                continue
            }
            if text.hasPrefix("(?<") {
                guard let end = text.firstIndex(of: ">") else { return nil }
                open.append(groups)
                steps.append(.open(groups))
                groups += 1
                text = text[text.index(after: end)...]
                continue
            }
            if c == "$" && text.dropFirst().allSatisfy({ extended && $0.isWhitespace }) {
                steps.append(.end)
                text = text.dropFirst()
                continue
            }
            if c == ")" {
                guard let group = open.popLast() else { return nil }
                if group > 0 { steps.append(.close(group)) }
                text = text.dropFirst()
                continue
            }
            guard c.isASCII, let byte = c.asciiValue else { return nil }
            if c == "\\" {
                let next = text.dropFirst().first
                guard let next, next.isASCII, !next.isLetter, !next.isNumber, let escaped = next.asciiValue else { return nil }
                steps.append(.byte(escaped))
                text = text.dropFirst(2)
                continue
            }
            guard c.isLetter || c.isNumber || "\"-:/,=@' ".contains(c) else { return nil }
            steps.append(.byte(byte))
            text = text.dropFirst()
        }
        guard open.isEmpty, Self.decides(steps) else { return nil }
        self.steps = steps
        groupCount = groups
    }

    /// Whether each run is followed by a byte it cannot take, or by the end of the pattern.
    private static func decides(_ steps: [Step]) -> Bool {
        for (index, step) in steps.enumerated() {
            var next: UInt8?
            var atEnd = true
            for later in steps[(index + 1)...] {
                if case .byte(let b) = later { next = b; atEnd = false; break }
                if case .open = later { continue }
                if case .close = later { continue }
                if case .end = later { break }
                atEnd = false
                break
            }
            switch step {
            case .byte, .open, .close, .end:
                continue
            case .digits(let min, let max) where min == max:
                continue
            case .nonSpace:
                guard atEnd || next.map(isSpace) == true else { return false }
            case .notBracket:
                guard atEnd || next == UInt8(ascii: "]") else { return false }
            case .digits, .digitsOrDash:
                guard atEnd || next.map({ !isDigit($0) }) == true else { return false }
            case .quoted:
                guard atEnd || next == UInt8(ascii: "\"") else { return false }
            }
        }
        return true
    }

    @inline(__always) static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c &- 9 < 5 }
    @inline(__always) static func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }
}

/// A compiled `PatternScanner`: matches a line and writes where its groups start and end
/// straight into the caller's slots (a parser's field spans), with no ovector in between. Every
/// group of a scanned pattern takes part in every match, so each slot it maps is written.
///
/// The steps are fused into ops of one run each, with the group edges around it and the literal
/// bytes after it: about ten dispatches a line instead of thirty (one dispatch per step was half
/// the scan's time). The ops run in C (`goat_scan`), where the SSE2 byte scans inline.
final class PatternScan {
    private let ops: UnsafeMutableBufferPointer<goat_scan_op>

    /// `slot` maps a group's start (2 × group) and end (2 × group + 1), as in PCRE2's ovector, to
    /// the caller's slot, or to nil where the caller does not want it.
    init(_ scanner: PatternScanner, slot: (Int) -> Int?) {
        var fused: [goat_scan_op] = []
        var op = Self.empty
        func flush() { fused.append(op); op = Self.empty }
        func edge(_ slot: Int) {
            if op.literal_count > 0 { flush() }
            if op.run == Int64(GOAT_RUN_NONE) {
                if op.before >= 0 { flush() }
                op.before = Int64(slot)
            } else if op.after >= 0 {
                flush()
                op.before = Int64(slot)
            } else {
                op.after = Int64(slot)
            }
        }
        func run(_ kind: Int, min: Int = 0, max: Int = Int.max) {
            if op.run != Int64(GOAT_RUN_NONE) || op.literal_count > 0 || op.after >= 0 { flush() }
            op.run = Int64(kind)
            op.min = Int64(min)
            op.max = Int64(max)
        }
        for step in scanner.steps {
            switch step {
            case .byte(let b):
                if op.literal_count == 8 { flush() }
                op.literal |= UInt64(b) << (8 * op.literal_count)
                op.literal_count += 1
            case .nonSpace(let min): run(GOAT_RUN_NON_SPACE, min: min)
            case .notBracket(let min): run(GOAT_RUN_NOT_BRACKET, min: min)
            case .digits(let min, let max): run(GOAT_RUN_DIGITS, min: min, max: max)
            case .digitsOrDash: run(GOAT_RUN_DIGITS_OR_DASH)
            case .quoted: run(GOAT_RUN_QUOTED)
            case .open(let g): if let slot = slot(2 * g) { edge(slot) }
            case .close(let g): if let slot = slot(2 * g + 1) { edge(slot) }
            case .end: op.end = 1
            }
        }
        if op.run != Int64(GOAT_RUN_NONE) || op.before >= 0 || op.after >= 0 || op.literal_count > 0 || op.end != 0 {
            fused.append(op)
        }
        ops = .allocate(capacity: fused.count)
        _ = ops.initialize(from: fused)
    }

    private static let empty = goat_scan_op(run: Int64(GOAT_RUN_NONE), min: 0, max: 0, before: -1, after: -1,
                                            literal: 0, literal_count: 0, end: 0)

    deinit { ops.deallocate() }

    /// Where the match ends, or -1 when the line does not match. On a match each mapped slot
    /// holds its group's offset; without one, the slots are left in any state.
    @inline(__always)
    func match(_ p: UnsafePointer<UInt8>, _ n: Int, into slots: UnsafeMutablePointer<Int>) -> Int {
        goat_scan(ops.baseAddress, ops.count, p, n, slots)
    }
}
