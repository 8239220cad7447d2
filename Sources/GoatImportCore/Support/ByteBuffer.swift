#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A growable byte buffer with pointer access, for the hot path.
///
/// Swift's `[UInt8]` pays for bounds checks, uniqueness checks and resizing on every append;
/// encoding millions of hits a second needs plain `memcpy` into memory that is reused
/// from one line to the next. The buffer is a class so that it can be handed around without
/// copies; it is not thread-safe.
public final class ByteBuffer {
    public private(set) var base: UnsafeMutablePointer<UInt8>
    public private(set) var capacity: Int
    public var count: Int = 0

    public init(capacity: Int = 64 * 1024) {
        self.capacity = max(capacity, 16)
        self.base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    @inline(__always)
    public func reserve(_ extra: Int) {
        if count + extra > capacity { grow(count + extra) }
    }

    @inline(never)
    private func grow(_ needed: Int) {
        var newCapacity = capacity * 2
        while newCapacity < needed { newCapacity *= 2 }
        let newBase = UnsafeMutablePointer<UInt8>.allocate(capacity: newCapacity)
        newBase.update(from: base, count: count)
        base.deallocate()
        base = newBase
        capacity = newCapacity
    }

    @inline(__always)
    public func append(_ byte: UInt8) {
        reserve(1)
        base[count] = byte
        count += 1
    }

    @inline(__always)
    public func append(_ pointer: UnsafePointer<UInt8>, count n: Int) {
        guard n > 0 else { return }
        reserve(n)
        (base + count).update(from: pointer, count: n)
        count += n
    }

    public func append(_ bytes: UnsafeRawBufferPointer) {
        guard let p = bytes.baseAddress, bytes.count > 0 else { return }
        append(p.assumingMemoryBound(to: UInt8.self), count: bytes.count)
    }

    /// Appends a static ASCII string (keys, punctuation).
    @inline(__always)
    public func append(_ string: StaticString) {
        append(string.utf8Start, count: string.utf8CodeUnitCount)
    }

    /// A `String`'s bytes. Labelled so that a literal goes to the `StaticString` overload:
    /// unlabelled, every key the encoder writes went through here (2.5 % of a run).
    public func append(utf8 string: String) {
        var s = string
        s.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    /// Appends a non-negative integer in decimal.
    public func appendDecimal(_ value: Int) {
        if value < 0 { append(UInt8(ascii: "-")); appendDecimal(-value); return }
        reserve(20)
        var digits = 0
        var v = value
        repeat { digits += 1; v /= 10 } while v > 0
        v = value
        var i = count + digits - 1
        repeat { base[i] = UInt8(truncatingIfNeeded: 48 + v % 10); v /= 10; i -= 1 } while v > 0
        count += digits
    }

    public func removeAll() { count = 0 }

    public var bytes: UnsafeBufferPointer<UInt8> { UnsafeBufferPointer(start: base, count: count) }

    public var string: String { String(decoding: bytes, as: UTF8.self) }

    /// Writes everything to a file descriptor, retrying short writes and EINTR.
    public func write(to fd: Int32) throws {
        var offset = 0
        while offset < count {
            let n = Glibc.write(fd, base + offset, count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError(errno: errno, context: "write")
            }
            offset += n
        }
        count = 0
    }
}
