import Foundation

/// Parsing on a thread of its own, uploading on the caller's, joined by a bounded queue:
/// parsing runs a few batches ahead and waits when the network is the limit. With a site map
/// there is one lane (queue and uploader) per site, each on its own thread, so a site that is
/// rate-limited or failing does not hold the others back.
public enum UploadPipeline {
    public struct Outcome {
        public var summary: ImportSummary
        public var parseError: Error?
        /// Per lane, why its uploader stopped early (nil: it finished, or was stopped).
        public var uploadErrors: [Error?]
        public var uploadError: Error? { uploadErrors.lazy.compactMap { $0 }.first }
    }

    public struct Lane {
        public let uploader: Uploader
        public let queue: BatchQueue
        public init(uploader: Uploader, queue: BatchQueue) {
            self.uploader = uploader
            self.queue = queue
        }
    }

    public static func run(uploader: Uploader, queue: BatchQueue, threadName: String,
                           uploaderDone: @escaping () -> Void = {},
                           produce: @escaping () throws -> ImportSummary) -> Outcome {
        run(lanes: [Lane(uploader: uploader, queue: queue)], threadName: threadName, uploaderDone: uploaderDone, produce: produce)
    }

    /// `produce` parses into the lanes' sinks and returns its summary; it is stopped by the
    /// queues' cancellation when the uploaders end first.
    /// `uploaderDone` runs when every uploader has ended, before waiting for the parser: a
    /// follower that may sit waiting on a quiet log must be told to stop there.
    public static func run(lanes: [Lane], threadName: String, uploaderDone: @escaping () -> Void = {},
                           produce: @escaping () throws -> ImportSummary) -> Outcome {
        let parsed = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var summary = ImportSummary()
        nonisolated(unsafe) var parseError: Error?
        let parser = Thread {
            do { summary = try produce() } catch let stopped as ImportStopped {
                summary = stopped.summary
            } catch is BatchQueue.Cancelled {
                // The uploaders stopped first; their reasons are what matter.
            } catch {
                parseError = error
                for lane in lanes { lane.queue.close() }
            }
            parsed.signal()
        }
        parser.name = threadName
        parser.stackSize = 1 << 20
        parser.start()

        let errors = ErrorSlots(count: lanes.count)
        let uploaded = DispatchGroup()
        for (index, lane) in lanes.enumerated().dropFirst() {
            uploaded.enter()
            let thread = Thread {
                do { try lane.uploader.run(lane.queue) } catch { errors.set(index, error) }
                uploaded.leave()
            }
            thread.name = "goatimport-upload-\(index)"
            thread.start()
        }
        if let first = lanes.first {
            do { try first.uploader.run(first.queue) } catch { errors.set(0, error) }
        }
        uploaded.wait()
        uploaderDone()
        parsed.wait()
        return Outcome(summary: summary, parseError: parseError, uploadErrors: errors.all)
    }
}

/// Errors written by the uploader threads, read after they have ended.
private final class ErrorSlots: @unchecked Sendable {
    private let lock = NSLock()
    private var slots: [Error?]
    init(count: Int) { slots = [Error?](repeating: nil, count: count) }
    func set(_ index: Int, _ error: Error) { lock.lock(); slots[index] = error; lock.unlock() }
    var all: [Error?] { lock.lock(); defer { lock.unlock() }; return slots }
}
