/// How an SMS body is encoded on the air.
public enum SMSEncoding: String, Sendable, Hashable, CustomStringConvertible {
    /// The GSM 03.38 7-bit default alphabet (with its extension table).
    case gsm7 = "GSM-7"
    /// UCS-2, i.e. UTF-16 code units.
    case ucs2 = "UCS-2"

    public var description: String { rawValue }
}

/// The size of an SMS body: its encoding, how many segments (parts) it takes and how
/// many units it uses (septets for GSM-7, where an extension character counts two;
/// UTF-16 code units for UCS-2, where an emoji counts two).
public struct SegmentCount: Sendable, Hashable {
    public var encoding: SMSEncoding
    public var segments: Int
    public var units: Int

    public init(encoding: SMSEncoding, segments: Int, units: Int) {
        self.encoding = encoding
        self.segments = segments
        self.units = units
    }

    /// GSM-7: 160 septets in one message, 153 per part when concatenated.
    public static let gsm7Single = 160, gsm7Part = 153
    /// UCS-2: 70 code units in one message, 67 per part.
    public static let ucs2Single = 70, ucs2Part = 67

    /// Counts `body` the way handset and carrier encoders do: GSM-7 when every character
    /// is in the default alphabet or its extension table, else UCS-2. When splitting,
    /// a two-septet extension character or a surrogate pair is never cut between parts:
    /// it moves whole to the next part (leaving one unit of the previous part unused).
    public init(body: String) {
        var gsm = true
        var costs: [Int] = []
        costs.reserveCapacity(body.unicodeScalars.count)
        for scalar in body.unicodeScalars {
            if GSM7.basic.contains(scalar) {
                costs.append(1)
            } else if GSM7.extension.contains(scalar) {
                costs.append(2)
            } else {
                gsm = false
                break
            }
        }
        if gsm {
            self.init(encoding: .gsm7, costs: costs, single: Self.gsm7Single, part: Self.gsm7Part)
        } else {
            let ucs = body.unicodeScalars.map { $0.utf16.count }
            self.init(encoding: .ucs2, costs: ucs, single: Self.ucs2Single, part: Self.ucs2Part)
        }
    }

    private init(encoding: SMSEncoding, costs: [Int], single: Int, part: Int) {
        let units = costs.reduce(0, +)
        var segments = 1
        if units > single {
            var used = 0
            for cost in costs {
                if used + cost > part {
                    segments += 1
                    used = cost
                } else {
                    used += cost
                }
            }
        }
        self.init(encoding: encoding, segments: units == 0 ? 1 : segments, units: units)
    }
}

/// The GSM 03.38 default alphabet and extension table, as Unicode scalars.
enum GSM7 {
    static let basic: Set<Unicode.Scalar> = {
        let chars = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
            + "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
        return Set(chars.unicodeScalars)
    }()

    /// Characters sent as ESC + one septet: two septets each.
    static let `extension`: Set<Unicode.Scalar> = Set("\u{0C}^{}\\[~]|€".unicodeScalars)
}
