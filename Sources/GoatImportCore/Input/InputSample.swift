/// The first lines of the inputs, for format detection, taken without losing them for the
/// import: files are opened again from their start; what was read from a stream (standard
/// input, a FIFO) is kept by `StreamInputs` and read again first by the import.
public struct InputSample {
    /// Lines in input order, `#` directive lines included (a W3C parser learns its columns
    /// from them) but not counted towards `maxLines`.
    public var lines: [[UInt8]] = []
    /// The inputs the lines came from.
    public var inputs: [String] = []

    /// Reads up to `maxLines` lines that are not directives, from the first input and, if it
    /// is shorter, the next ones. Inputs that cannot be read are left to the import to report.
    public static func read(_ paths: [String], maxLines: Int = 50, maxLineLength: Int = 64 * 1024) -> InputSample {
        var sample = InputSample()
        var counted = 0
        for path in paths where counted < maxLines {
            do {
                let source: ByteSource
                if StreamInputs.isStream(path) {
                    source = try InputOpener.open(source: StreamInputs.shared.sampling(path))
                } else {
                    source = try InputOpener.open(path: path)
                }
                let reader = LineReader(source: source, readSize: 1 << 16, maxLineLength: maxLineLength)
                sample.inputs.append(path)
                var directives = 0
                while counted < maxLines, directives < maxLines, let line = try reader.next() {
                    let bytes = Array(UnsafeBufferPointer(start: line.base, count: line.count))
                    if bytes.first == UInt8(ascii: "#") { directives += 1 } else { counted += 1 }
                    sample.lines.append(bytes)
                }
            } catch {
                // A truncated gzip or an unreadable file: the lines so far are the sample.
            }
        }
        return sample
    }
}

/// Keeps a copy of every byte read through it.
final class RecordingSource: ByteSource {
    let inner: ByteSource
    private(set) var bytes: [UInt8] = []

    init(inner: ByteSource) { self.inner = inner }

    var name: String { inner.name }

    func read(into buffer: UnsafeMutableRawPointer, capacity: Int) throws -> Int {
        let n = try inner.read(into: buffer, capacity: capacity)
        bytes.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: n))
        return n
    }
}
