import Dispatch
import Foundation

/// SIGINT and SIGTERM delivered on a dispatch queue instead of killing the process, so the run
/// can finish the request in flight and report. A second signal ends the process at once, a hung
/// request included: that is safe because checkpoints only ever hold what the server has
/// acknowledged and every state file is replaced by an atomic rename, so the next run resends
/// at most the batch that was in flight.
final class SignalHandlers {
    private var sources: [DispatchSourceSignal] = []
    private let received = NSLock()
    private var count = 0

    init(_ handler: @escaping (Int32) -> Void) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [self, source] in
                // Two signals close together reach one call: `data` counts them.
                if self.isSecond(adding: Int(source.data)) {
                    printError("goatimport: \(sig == SIGINT ? "interrupted" : "terminated") again: stopping now; the next run resends at most the request that was in flight")
                    _exit(128 + sig)
                }
                handler(sig)
            }
            source.resume()
            sources.append(source)
        }
    }

    private func isSecond(adding signals: Int) -> Bool {
        received.lock(); defer { received.unlock() }
        count += max(1, signals)
        return count > 1
    }

    func cancel() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
