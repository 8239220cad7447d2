/// With a site map: each site gets its own `BatchingSink` (its own batches, queue and
/// uploader), and each site's progress moves past the lines that went elsewhere, so every
/// site's checkpoint can advance on its own.
///
/// Progress is handed to a site lazily (before its next hit, and to every site when the import
/// ends or the log goes quiet) rather than per line, so a line costs one call whatever the
/// number of sites.
///
/// A site whose uploader has stopped (its queue cancelled: the server refused the key for that
/// site, or failures lasted too long) is dropped from the run; its checkpoint stays where the
/// server left it, so a rerun sends what it missed. The other sites go on. When every site has
/// stopped, the run stops.
public final class SiteRoutingSink: FollowingSink {
    public let sinks: [BatchingSink]
    public private(set) var stopped: [Bool]
    private var lastSeen: LinePosition?
    private var lastMark: CheckpointMark?
    /// Where the checkpoint after the line being processed goes (noted before the line is).
    private var pendingMark: CheckpointMark?
    /// Lines seen, and per site the count it has been told about: a quiet log must not ship
    /// an empty batch per site at every flush.
    private var seen = 0
    private var told: [Int]
    private let discard = ByteBuffer(capacity: 4096)

    public init(sinks: [BatchingSink]) {
        self.sinks = sinks
        stopped = [Bool](repeating: false, count: sinks.count)
        told = [Int](repeating: 0, count: sinks.count)
    }

    /// Hands `site` the progress of the lines it has not been told about.
    private func catchUp(_ site: Int) throws {
        guard let lastSeen, told[site] < seen else { return }
        try sinks[site].advance(to: lastSeen, mark: lastMark)
        told[site] = seen
    }

    public func bufferForNextHit(at position: LinePosition) throws -> ByteBuffer {
        let site = position.site
        if !stopped[site], let buffer = try guarded(site, {
            try catchUp(site)
            return try sinks[site].bufferForNextHit(at: position)
        }) {
            return buffer
        }
        discard.removeAll()
        return discard
    }

    public func didEncodeHit(at position: LinePosition) throws {
        lastSeen = position
        lastMark = pendingMark
        seen += 1
        told[position.site] = seen
        if !stopped[position.site] {
            try guarded(position.site) {
                if let pendingMark { sinks[position.site].note(mark: pendingMark) }
                try sinks[position.site].didEncodeHit(at: position)
            }
        }
    }

    public func didSkipLine(at position: LinePosition, reason: SkipReason) throws {
        lastSeen = position
        lastMark = pendingMark
        seen += 1
    }

    public func note(mark: CheckpointMark) {
        pendingMark = mark
    }


    /// Every site's batch covers the input to its end (batches run on into the next input).
    public func didFinishInput(_ input: Int) throws {
        for site in sinks.indices where !stopped[site] { _ = try guarded(site) { try catchUp(site) } }
    }

    public func flush() throws {
        for site in sinks.indices where !stopped[site] {
            try guarded(site) {
                try catchUp(site)
                try sinks[site].flush()
            }
        }
    }

    /// Every site gets the progress of the last lines, then its last batch.
    public func finish() throws {
        for site in sinks.indices where !stopped[site] {
            _ = try guarded(site) {
                try catchUp(site)
                try sinks[site].finish()
            }
        }
    }

    /// Runs one site's step; a cancelled queue stops that site only, until none is left.
    private func guarded<T>(_ site: Int, _ body: () throws -> T) throws -> T? {
        do { return try body() } catch is BatchQueue.Cancelled {
            stopped[site] = true
            if !stopped.contains(false) { throw BatchQueue.Cancelled() }
            return nil
        }
    }
}
