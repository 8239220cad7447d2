import Dispatch
import Foundation

/// SIGINT and SIGTERM delivered on a dispatch queue instead of killing the process, so the run
/// can finish the request in flight and report.
final class SignalHandlers {
    private var sources: [DispatchSourceSignal] = []

    init(_ handler: @escaping (Int32) -> Void) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { handler(sig) }
            source.resume()
            sources.append(source)
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
