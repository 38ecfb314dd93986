import Support
import Jobs
import Store

/// The sending half of `compliance`: `quiet_hours` and `frequency_cap` (docs/configuration.md).
extension ConfigReader {
    /// The keys of `compliance` this half reads.
    static let sendingComplianceKeys: Set<String> = ["quiet_hours", "frequency_cap"]

    /// Reads `quiet_hours` and `frequency_cap` from the members of `compliance`; other members
    /// are left to their readers.
    func sendingCompliance(_ members: [JSONMember]) throws(ConfigurationError) -> SendingCompliance {
        var result = SendingCompliance.none
        for m in members {
            switch m.key {
            case "quiet_hours":
                let s = try string(m.value, "compliance.quiet_hours")
                guard let policy = QuietHoursPolicy(rawValue: s) else {
                    throw fail("compliance.quiet_hours", "must be \"us-federal\" or \"us-strict\"")
                }
                result.quietHours = policy
            case "frequency_cap":
                result.frequencyCap = try frequencyCap(m.value)
            default:
                continue
            }
        }
        return result
    }

    /// `{"max": N, "per": "sender"|"all", "action": "defer"|"suppress"}`: `max` is required,
    /// `per` defaults to `sender`, `action` to `defer`.
    func frequencyCap(_ value: JSONValue) throws(ConfigurationError) -> FrequencyCap {
        let path = "compliance.frequency_cap"
        var max: Int?
        var per = FrequencyCap.Scope.sender
        var action = FrequencyCap.Action.defer
        for m in try object(value, path, allowed: ["max", "per", "action"]) {
            switch m.key {
            case "max": max = try integer(m.value, "\(path).max", min: 1)
            case "per":
                guard let scope = FrequencyCap.Scope(rawValue: try string(m.value, "\(path).per")) else {
                    throw fail("\(path).per", "must be \"sender\" or \"all\"")
                }
                per = scope
            default:
                guard let a = FrequencyCap.Action(rawValue: try string(m.value, "\(path).action")) else {
                    throw fail("\(path).action", "must be \"defer\" or \"suppress\"")
                }
                action = a
            }
        }
        guard let max else { throw fail("\(path).max", "is required (messages per recipient per 24 hours, at least 1)") }
        return FrequencyCap(max: max, per: per, action: action)
    }
}
