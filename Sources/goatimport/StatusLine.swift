import Dispatch
import Foundation
import GoatImportCore

/// The one line that says how a run is going, redrawn every second (a wait counts down): in
/// place on a terminal, cut to the terminal's width as it is now (asked at every draw, so a
/// resized window is followed), and as `STATUS=` to systemd. Nowhere else: output that is not
/// a terminal gets no control characters. Messages go above it (`printAbove`).
final class StatusLine: @unchecked Sendable {
    static let shared = StatusLine()

    /// What to show: the bar's fill (nil: no bar), the text, and a shorter text for a narrow
    /// terminal (systemd gets the full text).
    typealias Content = (fraction: Double?, text: String, short: String)

    let isTerminal = isatty(STDERR_FILENO) == 1
    let notifier = ServiceNotifier()
    private let lock = NSRecursiveLock()
    private var content: (() -> Content)?
    private var timer: DispatchSourceTimer?
    private var drawn = false
    private var lastStatus = ""

    /// Whether anyone sees the line.
    var isShown: Bool { isTerminal || notifier != nil }

    /// Shows `content()` now and every second until `stop()`.
    func start(_ content: @escaping () -> Content) {
        lock.lock(); defer { lock.unlock() }
        guard isShown else { return }
        self.content = content
        let timer = DispatchSource.makeTimerSource(queue: .global())
        timer.schedule(deadline: .now() + 1, repeating: 1)
        timer.setEventHandler { [weak self] in self?.refresh() }
        timer.resume()
        self.timer = timer
        refresh()
    }

    /// Draws the current content again (after a change that should not wait for the tick).
    func refresh() {
        lock.lock(); defer { lock.unlock() }
        guard let content else { return }
        let (fraction, text, short) = content()
        if isTerminal {
            FileHandle.standardError.write(Data(("\r" + Self.fit(text, short: short, fraction: fraction, width: Self.width()) + "\u{1B}[K").utf8))
            drawn = true
        }
        if let notifier, text != lastStatus {
            lastStatus = text
            notifier.status(text)
        }
    }

    /// Ends the ticking and removes the line from the terminal.
    func stop() {
        lock.lock(); defer { lock.unlock() }
        timer?.cancel()
        timer = nil
        content = nil
        erase()
    }

    /// Writes `message` (ending in a newline) above the line, which is drawn again below it.
    func printAbove(_ message: String) {
        lock.lock(); defer { lock.unlock() }
        let wasDrawn = drawn
        erase()
        FileHandle.standardError.write(Data(message.utf8))
        if wasDrawn { refresh() }
    }

    private func erase() {
        guard isTerminal, drawn else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
        drawn = false
    }

    /// The terminal's columns now (80 when it does not say).
    static func width() -> Int {
        var size = winsize()
        guard ioctl(STDERR_FILENO, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return 80 }
        return Int(size.ws_col)
    }

    /// The line for a terminal `width` columns wide, one column short of it (a character in the
    /// last column makes some terminals wrap): the bar and the text when they fit, else the bar
    /// and the short text, else the text alone, cut when even the short one is too long.
    static func fit(_ text: String, short: String, fraction: Double?, width: Int) -> String {
        let room = max(1, width - 1)
        let barRoom = 8   // "[" + at least five marks + "] "
        if let fraction {
            for t in [text, short] where t.count + barRoom <= room {
                let marks = min(24, room - t.count - 3)
                let filled = Int(min(1, max(0, fraction)) * Double(marks))
                return "[" + String(repeating: "#", count: filled) + String(repeating: "-", count: marks - filled) + "] " + t
            }
        }
        if text.count <= room { return text }
        return short.count <= room ? short : String(short.prefix(room))
    }
}
