/// The `{token}` of a message's callback URL, `ID.TOKEN`: the message's outbox id, then its
/// random `callback_token` (144 bits, URL-safe base64). The id finds the message by its
/// primary key — no index on the token, which every update of a message would otherwise
/// write to — and the token proves the caller got the URL from us.
public struct CallbackKey: Sendable, Equatable, CustomStringConvertible {
    public var messageID: Int64
    public var token: String

    public init(messageID: Int64, token: String) {
        self.messageID = messageID
        self.token = token
    }

    /// `ID.TOKEN`, as it goes into the URL.
    public var description: String { "\(messageID).\(token)" }

    /// Parses a URL's `{token}`: a positive decimal id (at most 18 digits), a dot, then
    /// 16–64 URL-safe base64 characters. Anything else is not one of ours: nil.
    public init?(_ text: String) {
        let bytes = Array(text.utf8)
        guard let dot = bytes.firstIndex(of: UInt8(ascii: ".")), dot >= 1, dot <= 18 else { return nil }
        var id: Int64 = 0
        for b in bytes[..<dot] {
            guard b >= 48 && b <= 57 else { return nil }
            id = id * 10 + Int64(b - 48)
        }
        let token = bytes[(dot + 1)...]
        guard id > 0, token.count >= 16, token.count <= 64,
              token.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 })
        else { return nil }
        self.messageID = id
        self.token = String(decoding: token, as: UTF8.self)
    }
}
