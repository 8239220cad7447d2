import Foundation

/// Parsing on a thread of its own, uploading on the caller's, joined by a bounded queue:
/// parsing runs a few batches ahead and waits when the network is the limit.
public enum UploadPipeline {
    public struct Outcome {
        public var summary: ImportSummary
        public var parseError: Error?
        public var uploadError: Error?
    }

    /// `produce` parses into the queue's sink and returns its summary; it is stopped by the
    /// queue's cancellation when the uploader ends first.
    /// `uploaderDone` runs when the uploader has ended, before waiting for the parser: a
    /// follower that may sit waiting on a quiet log must be told to stop there.
    public static func run(uploader: Uploader, queue: BatchQueue, threadName: String,
                           uploaderDone: () -> Void = {},
                           produce: @escaping () throws -> ImportSummary) -> Outcome {
        let parsed = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var summary = ImportSummary()
        nonisolated(unsafe) var parseError: Error?
        let parser = Thread {
            do { summary = try produce() } catch is BatchQueue.Cancelled {
                // The uploader stopped first; its reason is what matters.
            } catch { parseError = error; queue.close() }
            parsed.signal()
        }
        parser.name = threadName
        parser.stackSize = 1 << 20
        parser.start()
        var uploadError: Error?
        do { try uploader.run(queue) } catch { uploadError = error }
        uploaderDone()
        parsed.wait()
        return Outcome(summary: summary, parseError: parseError, uploadError: uploadError)
    }
}
