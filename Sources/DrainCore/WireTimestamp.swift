/// Converts PostgreSQL's ISO output of a UTC timestamptz (`2026-02-17 10:30:00.123456+00`,
/// the fraction optional) to the wire format `2026-02-17T10:30:00.123Z`: milliseconds,
/// truncated. Returns nil for anything else (another DateStyle or time zone).
public enum WireTimestamp {
    public static func fromPostgres(_ b: UnsafeBufferPointer<UInt8>, into out: inout [UInt8]) -> Bool {
        guard let space = b.firstIndex(of: 0x20), space >= 10, b.count >= space + 9 + 3,
              b[space + 3] == 0x3A, b[space + 6] == 0x3A else { return false }
        var i = space + 9
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: UnsafeBufferPointer(rebasing: b[0..<space]))
        out.append(UInt8(ascii: "T"))
        out.append(contentsOf: UnsafeBufferPointer(rebasing: b[(space + 1)..<(space + 9)]))
        out.append(UInt8(ascii: "."))
        var digits = 0
        if i < b.count && b[i] == 0x2E {
            i += 1
            while i < b.count && b[i] >= 0x30 && b[i] <= 0x39 {
                if digits < 3 { out.append(b[i]) }
                digits += 1
                i += 1
            }
        }
        for _ in min(digits, 3)..<3 { out.append(0x30) }
        // The offset must be UTC: "+00" (and nothing after it, such as " BC").
        guard b.count - i == 3, b[i] == 0x2B, b[i + 1] == 0x30, b[i + 2] == 0x30 else { return false }
        out.append(UInt8(ascii: "Z"))
        return true
    }
}
