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

    /// The wire format of a timestamptz straight from its binary form, microseconds since
    /// 2000-01-01 00:00 UTC, for years 1 to 9999 (the caller takes PostgreSQL's text for any
    /// other): the bytes `fromPostgres` makes of PostgreSQL's text, milliseconds truncated, so
    /// a binary read delivers what a text one does without printing and parsing the text. The
    /// calendar is proleptic Gregorian, as PostgreSQL's.
    public static func wire(microsecondsSince2000 us: Int64, into out: inout [UInt8]) {
        let microsecondsPerDay: Int64 = 86_400_000_000
        var days = us / microsecondsPerDay
        var time = us % microsecondsPerDay
        if time < 0 { time += microsecondsPerDay; days -= 1 }
        // Days to a civil date (H. Hinnant's algorithm), from 0000-03-01; 2000-01-01 is day
        // 10957 after 1970-01-01, which is day 719468 after 0000-03-01.
        let z = days + 10957 + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        let seconds = time / 1_000_000
        let milliseconds = time % 1_000_000 / 1000
        // Constant divisors only (a multiply each): this runs for every line of a firehose.
        @inline(__always) func digit(_ value: Int64) -> UInt8 { 0x30 + UInt8(truncatingIfNeeded: value % 10) }
        out.removeAll(keepingCapacity: true)
        out.append(digit(year / 1000)); out.append(digit(year / 100)); out.append(digit(year / 10)); out.append(digit(year))
        out.append(UInt8(ascii: "-")); out.append(digit(month / 10)); out.append(digit(month))
        out.append(UInt8(ascii: "-")); out.append(digit(day / 10)); out.append(digit(day))
        out.append(UInt8(ascii: "T")); out.append(digit(seconds / 36000)); out.append(digit(seconds / 3600))
        out.append(UInt8(ascii: ":")); out.append(digit(seconds / 600 % 6)); out.append(digit(seconds / 60))
        out.append(UInt8(ascii: ":")); out.append(digit(seconds % 60 / 10)); out.append(digit(seconds % 60))
        out.append(UInt8(ascii: ".")); out.append(digit(milliseconds / 100)); out.append(digit(milliseconds / 10))
        out.append(digit(milliseconds))
        out.append(UInt8(ascii: "Z"))
    }
}
