/// Malformed lines read one after the other, not yet handed to the sink as skipped: if they go
/// on long enough the format has stopped matching the log, and no checkpoint may pass them.
struct MalformedRun {
    private(set) var count = 0
    private(set) var file = ""
    private(set) var firstLine = 0
    /// The last of them: the progress to hand on when the run turns out to be scattered lines.
    private(set) var last: LinePosition?

    /// Adds a line; returns the length of the run.
    mutating func add(_ position: LinePosition, file: String) -> Int {
        if count == 0 {
            self.file = file
            firstLine = position.line
        }
        count += 1
        last = position
        return count
    }

    /// A good line: the run was scattered lines, and the good line's progress covers them.
    @inline(__always)
    mutating func clear() {
        if count != 0 { self = MalformedRun() }
    }

    /// The end of an input: the last line held back, to hand on as skipped.
    mutating func reset() -> LinePosition? {
        defer { self = MalformedRun() }
        return last
    }
}

/// A long run of lines that do not match the format (`Importer.Options.stopAfterMalformedInARow`):
/// most likely the log's format changed or the wrong `--format` was given.
public struct FormatStoppedMatching: Error, CustomStringConvertible {
    public let file: String
    public let line: Int
    public let count: Int
    public let format: String

    public var description: String {
        "\(file):\(line): \(counted(count, "line")) in a row do not match the format \(format): stopped before the checkpoint passes them; "
            + "see what matches with `goatimport check \(file)` and rerun with the right --format (the rerun sends them)"
    }
}
