/// Deterministic recipients that trigger the providers' documented cases. Recipients `+1 202-555-01xx`
/// (Plum: `20255501xx`); the last two digits pick the case. Every other number is delivered.
///
/// | xx | Plum                                                                  | Restcomm                                             |
/// |----|-----------------------------------------------------------------------|------------------------------------------------------|
/// | 00–09 | delivered                                                          | delivered                                            |
/// | 10 | failure "Invalid 'to' phone number" (HTTP 200)                        | HTTP 400 code 21211 (invalid 'To' number)            |
/// | 11 | failure "Attempt to send to unsubscribed recipient"                   | HTTP 400 code 21610 (unsubscribed recipient)         |
/// | 12 | failure "To number: +12025550112, is not a mobile number"             | accepted, then undelivered 30006                     |
/// | 13 | accepted, sent, delivery_status undelivered                           | accepted, sent, undelivered 30003 (unreachable)      |
/// | 14 | accepted, sent, undelivered                                           | undelivered 30005 (unknown destination)              |
/// | 15 | accepted, sent, undelivered                                           | undelivered 30006 (landline/unreachable carrier)     |
/// | 16 | accepted, status failed                                               | failed 30004 (blocked) at the sent event, no delivery event |
/// | 17 | accepted, status failed                                               | failed 30002 (account suspended: halt)               |
/// | 18 | accepted, sent, delivery_status unconfirmed                           | sent, never a delivery event                         |
/// | 19 | accepted, sent, undelivered                                           | undelivered 30007 (carrier violation)                |
/// | 20 | accepted, sent, undelivered                                           | undelivered 30008 (unknown error)                    |
/// | 21 | accepted, status failed                                               | failed 30010 (price exceeds max price: halt)         |
///
/// Bodies over 1600 characters: Plum failure "Message body too long", Restcomm 400 code 21617.
/// Wrong credentials: Plum 401 failure "Unauthorized access to sms service"; Restcomm 401 code 20003.
public enum SandboxTestNumbers {
    /// What happens to a message.
    public enum Fate: Sendable, Equatable {
        /// Refused at send time (Plum failure text / Restcomm request error code).
        case refused(plumText: String?, restcommCode: Int?)
        case delivered
        case undelivered(restcommCode: Int)
        /// Fails at the sent stage (Restcomm `failed` + code, Plum status `failed`).
        case failed(restcommCode: Int)
        case unconfirmed
    }

    public static let prefix = "+120255501"

    /// The fate of a message to `e164` through Plum (`plum: true`) or Restcomm.
    public static func fate(to e164: String, plum: Bool) -> Fate {
        guard e164.hasPrefix(prefix), e164.count == prefix.count + 2, let xx = Int(e164.suffix(2)) else { return .delivered }
        switch xx {
        case 10: return plum ? .refused(plumText: "Invalid 'to' phone number", restcommCode: nil) : .refused(plumText: nil, restcommCode: 21211)
        case 11: return plum ? .refused(plumText: "Attempt to send to unsubscribed recipient", restcommCode: nil) : .refused(plumText: nil, restcommCode: 21610)
        case 12: return plum ? .refused(plumText: "To number: \(e164), is not a mobile number", restcommCode: nil) : .undelivered(restcommCode: 30006)
        case 13: return .undelivered(restcommCode: 30003)
        case 14: return .undelivered(restcommCode: 30005)
        case 15: return .undelivered(restcommCode: 30006)
        case 16: return .failed(restcommCode: 30004)
        case 17: return .failed(restcommCode: 30002)
        case 18: return .unconfirmed
        case 19: return .undelivered(restcommCode: 30007)
        case 20: return .undelivered(restcommCode: 30008)
        case 21: return .failed(restcommCode: 30010)
        default: return .delivered
        }
    }

    /// Human text of Restcomm codes (its documented SMS error codes), for `error_message`.
    public static func restcommMessage(_ code: Int) -> String {
        switch code {
        case 30001: "Queue overflow"
        case 30002: "Account suspended"
        case 30003: "Unreachable destination handset"
        case 30004: "Message blocked"
        case 30005: "Unknown destination handset"
        case 30006: "Landline or unreachable carrier"
        case 30007: "Carrier violation"
        case 30008: "Unknown error"
        case 30009: "Missing segment"
        case 30010: "Message price exceeds max price"
        case 30090: "No Response received for SMPP Request"
        case 21211: "The 'To' number is not a valid phone number"
        case 21610: "Attempt to send to unsubscribed recipient"
        case 21617: "The concatenated message body exceeds the 1600 character limit"
        case 20003: "Authenticate"
        default: "Error \(code)"
        }
    }
}
