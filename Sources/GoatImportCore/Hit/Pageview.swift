/// What one log line says about one request, as spans into the line: the step between the
/// format's fields and the hit. Filters read it; the hit encoder writes it out.
public struct Pageview {
    public var method = Span.none
    public var path = Span.none       // path without the query
    public var query = Span.none      // query without '?'
    public var status = 0             // 0: the format has no status
    public var ip = Span.none
    public var time = Int.min         // UTC seconds; Int.min: the format has no time
    public var userAgent = Span.none
    public var referer = Span.none
    public var host = Span.none

    public init() {}
}

/// A byte range in the current line; `start < 0` means absent.
public struct Span: Equatable {
    public var start: Int
    public var end: Int
    public static let none = Span(start: -1, end: -1)
    @inline(__always) public var isPresent: Bool { start >= 0 }
    @inline(__always) public var count: Int { end - start }
    @inline(__always) public init(start: Int, end: Int) { self.start = start; self.end = end }
}

/// Why a line could not become a pageview although the format matched.
public enum LineProblem: String, Sendable {
    case badRequest = "request line is not METHOD /path PROTOCOL"
    case badTime = "time is not in a known layout"
    case badStatus = "status is not a number"
    case noTime = "line has no time"
}
