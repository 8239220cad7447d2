import ArgumentParser
import Foundation

/// The allowed range of a numeric option, checked when the command line is parsed. Out of range
/// (or not finite), a value would trap in a conversion, abort on an allocation or make every
/// request fail long after the run started; here it is one line naming the range.
struct NumberRange<Value: Comparable & CustomStringConvertible> {
    let flag: String
    let range: ClosedRange<Value>
    let unit: String

    func check(_ value: Value) throws {
        // NaN compares false with everything, so `contains` refuses it along with ±inf.
        guard range.contains(value) else {
            throw ValidationError("\(flag) \(show(value)): must be from \(show(range.lowerBound)) to \(show(range.upperBound))\(unit.isEmpty ? "" : " " + unit)")
        }
    }

    /// 3600, not 3600.0; inf, nan and 1e+300 as themselves.
    private func show(_ value: Value) -> String {
        if let double = value as? Double { return String(format: "%g", double) }
        return value.description
    }

    func check(_ value: Value?) throws {
        if let value { try check(value) }
    }
}

extension NumberRange<Double> {
    static let timeout = NumberRange(flag: "--timeout", range: 0.1...3600, unit: "seconds")
    static let retryFor = NumberRange(flag: "--retry-for", range: 0...604_800, unit: "seconds")
    static let retryDelay = NumberRange(flag: "--retry-delay", range: 0.001...3600, unit: "seconds")
    static let sessionGap = NumberRange(flag: "--session-gap", range: 0.01...8784, unit: "hours")
    static let exportTimeout = NumberRange(flag: "--export-timeout", range: 1...86400, unit: "seconds")
}

extension NumberRange<Int> {
    static let maxLineLength = NumberRange(flag: "--max-line-length", range: 64...(64 << 20), unit: "bytes")
    static let threads = NumberRange(flag: "--threads", range: 1...64, unit: "threads")
    static let batchSize = NumberRange(flag: "--batch-size", range: 1...500, unit: "hits (500 is the server's limit)")
    static let show = NumberRange(flag: "--show", range: 0...100_000, unit: "lines")
    static let exportId = NumberRange(flag: "--export-id", range: 1...Int.max, unit: "")
}
